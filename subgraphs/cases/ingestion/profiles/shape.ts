/** The shape of a profile file, each construct validated on its own (schema.ts adds the checks across them). */
import { z } from 'zod';
import { MAX_FAMILY_MEMBERS } from '../record.js';
import { fieldKind, PERSON_FIELDS } from './fields.js';
import { groupCount, unsafePattern } from './patterns.js';
import { boundedMap, dateSpecSchema, transformSchema, transformsSchema } from './transforms.js';

/**
 * A national system's CSV dialect, as a configuration file (README, "Profiles"): which column
 * is which canonical field and how its cells are read. A ministry adds its own by dropping a
 * JSON file in `profiles/` (or PROFILES_DIR). Every construct is checked here, and a profile
 * that would lose data (two columns on one field without a join, a required field no column
 * fills) is refused when loaded, naming the column and the field.
 */

/** Most columns a profile may describe: national exports have a few dozen. */
export const MAX_PROFILE_COLUMNS = 500;

const scalar = z.union([z.string().max(200), z.number(), z.boolean()]);
const header = z.string().min(1).max(200);

const fieldPath = z
  .string()
  .max(80)
  .superRefine((path, ctx) => {
    if (fieldKind(path) === null)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message:
          `"${path.slice(0, 80)}" is not a canonical field (e.g. caseReference, mainApplicant.name, ` +
          `familyMembers.0.sex, eligibility.requestDate, familySize)`,
      });
  });

const personField = z.enum(Object.keys(PERSON_FIELDS) as [string, ...string[]], {
  errorMap: () => ({ message: `must be a person's field: ${Object.keys(PERSON_FIELDS).join(', ')}` }),
});

const pattern = z.string().superRefine((source, ctx) => {
  const why = unsafePattern(source);
  if (why) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `pattern ${why}` });
});

const target = z.union([fieldPath, z.object({ field: fieldPath, transforms: transformsSchema.default([]) }).strict()]);
const personTarget = z.union([
  personField,
  z.object({ field: personField, transforms: transformsSchema.default([]) }).strict(),
]);

const split = z
  .object({
    separator: z.string().min(1).max(5).optional(),
    pattern: pattern.optional(),
    into: z.array(target).min(2).max(10),
  })
  .strict()
  .superRefine((s, ctx) => {
    if ((s.separator === undefined) === (s.pattern === undefined))
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a split has either a separator or a pattern' });
    else if (s.pattern !== undefined && groupCount(s.pattern) >= 0 && groupCount(s.pattern) !== s.into.length)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['pattern'],
        message: `has ${groupCount(s.pattern)} groups for ${s.into.length} fields in "into": one group per field`,
      });
  });

const members = z
  .object({
    separator: z.string().min(1).max(5),
    fieldSeparator: z.string().min(1).max(5).optional(),
    fields: z.array(personTarget).min(1).max(5),
  })
  .strict()
  .refine((m) => m.fields.length === 1 || m.fieldSeparator !== undefined, {
    message: 'several fields per member need a fieldSeparator',
    path: ['fieldSeparator'],
  });

const columnSpec = z.union(
  [
    fieldPath,
    z.object({ field: fieldPath, transforms: transformsSchema.default([]) }).strict(),
    z.object({ transforms: transformsSchema.default([]), split }).strict(),
    z.object({ transforms: transformsSchema.default([]), members }).strict(),
  ],
  {
    errorMap: () => ({
      message: 'must be a canonical field, or {"field", "transforms"}, {"split": ...} or {"members": ...}',
    }),
  },
);

const memberGroup = z
  .object({
    header: z
      .string()
      .min(3)
      .max(100)
      .refine((h) => h.includes('{n}') && h.includes('{field}'), 'must contain {n} and {field}'),
    from: z.number().int().min(0).max(99).default(1),
    count: z.number().int().min(1).max(MAX_FAMILY_MEMBERS),
    fields: z
      .record(z.string().min(1).max(60), personTarget)
      .refine((f) => Object.keys(f).length >= 1 && Object.keys(f).length <= 10, 'must have 1-10 fields'),
    constants: z.record(personField, scalar).default({}),
  })
  .strict();

export const profileShape = z
  .object({
    name: z.string().regex(/^[a-z0-9-]{2,40}$/, 'must be 2-40 lowercase letters, digits or -'),
    description: z.string().min(1).max(500),
    /** The Member State whose system writes this dialect (feeds of others may not use it). */
    memberState: z
      .string()
      .regex(/^[A-Z]{2}$/)
      .optional(),
    /** `auto`: sniffed from the header line (the most frequent of , ; tab |). */
    delimiter: z.enum([',', ';', '\t', '|', 'auto']),
    /** `auto`: a byte-order mark, else UTF-8 when the start is valid UTF-8, else Windows-1252. */
    encoding: z.enum(['utf-8', 'windows-1252', 'iso-8859-1', 'utf-16le', 'auto']),
    /** The line of the header (1-based; lines above it are skipped), or `none`: columns are `#1`, `#2`, ... */
    headerLine: z.union([z.number().int().min(1).max(100), z.literal('none')]).default(1),
    /** Without a header: the first line of data (1-based). */
    firstDataLine: z.number().int().min(1).max(100).optional(),
    /** Dates in every date field that has no `date` transform of its own; cells that do not fit are left as written. */
    dateFormat: z.enum(['yyyy-mm-dd', 'dd/mm/yyyy', 'dd.mm.yyyy', 'dd-mm-yyyy', 'mm/dd/yyyy']).default('yyyy-mm-dd'),
    /** Overrides dateFormat: formats tried in order; a cell none fits is reported. */
    dates: dateSpecSchema.optional(),
    /** National column header (or `#n` without a header) → canonical field, or a construct. */
    columns: boundedMap(columnSpec, MAX_PROFILE_COLUMNS),
    /** Several columns in one field: the columns in order and what goes between them. */
    joins: boundedMap(
      z.object({ columns: z.array(header).min(2).max(10), separator: z.string().max(5).default(' ') }).strict(),
      20,
    ).default({}),
    /** Family members as repeated column groups (`Barn{n} {field}`). */
    memberGroups: z.array(memberGroup).max(5).default([]),
    /** Columns no one needs: by exact name, or by pattern (case-insensitive). */
    ignoreColumns: z.array(header).max(MAX_PROFILE_COLUMNS).default([]),
    ignoreColumnPatterns: z.array(pattern).max(20).default([]),
    /** A column that is neither mapped nor ignored: refuse the feed (default, naming it) or ignore it. */
    unknownColumns: z.enum(['refuse', 'ignore']).default('refuse'),
    /** Separator inside multi-valued cells (packages, vulnerabilities). */
    multiValueSeparator: z.string().min(1).max(3).default('|'),
    /** Per canonical field: national value → canonical value (case-insensitive). */
    codeLists: boundedMap(boundedMap(scalar, 2_000), 50).default({}),
    /** How country cells are written besides the code lists: ISO alpha-2, alpha-3, or English names. */
    countryCodes: z.enum(['alpha2', 'alpha3', 'name']).default('alpha2'),
    /** Canonical values for fields the national system does not send (or leaves empty). */
    constants: boundedMap(scalar, 50).default({}),
  })
  .strict();

export type FeedProfile = z.infer<typeof profileShape>;
export type ColumnSpec = z.infer<typeof columnSpec>;
export type MemberGroup = z.infer<typeof memberGroup>;
export { transformSchema };
