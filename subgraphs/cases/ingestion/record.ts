import { z } from 'zod';
import { PACKAGES, RETURN_TYPES, SEXES } from '../../../shared/domain.js';
import { isCalendarDate } from '../../../shared/scalars.js';
import {
  VULNERABILITY_CODES,
  vulnerabilityAgeProblems,
  type CodedPerson,
  type VulnerabilityCode,
} from '../../../shared/vulnerability.js';
import { RELEASED_REFERENCE_LISTS } from '../reference/index.js';

/** The largest family the programme's forms take (main applicant + 14). */
export const MAX_FAMILY_MEMBERS = 14;

/**
 * An array whose length is checked before its elements: zod's own `.max()` adds its issue and
 * then still validates every element, so 500,000 of them cost seconds and one issue each.
 * Too long here is one problem and no element is looked at. The JSON Schema is the array's.
 */
export function boundedArray<T extends z.ZodTypeAny>(element: T, max: number, min = 0) {
  return z.preprocess(
    (value, ctx) => {
      if (Array.isArray(value) && value.length > max) {
        ctx.addIssue({
          code: z.ZodIssueCode.too_big,
          type: 'array',
          maximum: max,
          inclusive: true,
          exact: false,
          message: `must have at most ${max} elements (got ${value.length})`,
          fatal: true,
        });
        return [];
      }
      return value;
    },
    (min > 0 ? z.array(element).min(min) : z.array(element)).max(max),
  );
}

const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    // Control characters never belong in names or references (they break CSV exports and logs).
    .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must not contain control characters');

const calendarDate = z.string().refine(isCalendarDate, 'must be a calendar date YYYY-MM-DD');
const today = () => new Date().toISOString().slice(0, 10);
/** A day that has happened: birth dates, request dates. */
const pastDate = calendarDate
  .refine((d) => d <= today(), 'must not be in the future')
  .refine((d) => d >= '1900-01-01', 'must not be before 1900');

const vulnerabilityCode = z.enum(VULNERABILITY_CODES, {
  errorMap: (_issue, ctx) => ({
    message:
      `${JSON.stringify(typeof ctx.data === 'string' ? ctx.data.slice(0, 60) : ctx.data)} is not a vulnerability ` +
      `code (one of ${VULNERABILITY_CODES.join(', ')})`,
  }),
});

const person = z
  .object({
    name: text(200),
    dateOfBirth: pastDate,
    sex: z.enum(SEXES),
    relationship: text(40).optional(),
    /** Free text (personal detail, special category). */
    vulnerabilities: boundedArray(text(60), 20).default([]),
    /**
     * The coded list (shared/vulnerability.ts); a code given twice is kept once. Absent means none
     * (and is not written, so records and cases from before the codes compare as they did).
     */
    vulnerabilityCodes: boundedArray(vulnerabilityCode, VULNERABILITY_CODES.length * 2)
      .transform((codes: VulnerabilityCode[]) => VULNERABILITY_CODES.filter((c) => codes.includes(c)))
      .optional(),
  })
  .strict();

/**
 * A family member the national system only counts (a family-size column): no name, birth
 * date or sex, but a member of the family all the same, for its size and the entitlement.
 */
const memberWithUnknownDetails = z
  .object({
    detailsUnknown: z.literal(true),
    relationship: text(40).optional(),
  })
  .strict();

export type PersonRecord = z.infer<typeof person>;
export type FamilyMemberRecord = PersonRecord | z.infer<typeof memberWithUnknownDetails>;

/** True for a family member whose details the record has (not only counted). */
export const hasDetails = (member: FamilyMemberRecord): member is PersonRecord => !('detailsUnknown' in member);

const ALPHA2 = /^[A-Z]{2}$/;
const MEMBER_STATE_MESSAGE = 'must be a participating Member State, ISO 3166-1 alpha-2 in capitals';
const COUNTRY_MESSAGE = 'must be a country of origin the programme covers, ISO 3166-1 alpha-2 in capitals';

/** The reference lists a record is checked against (subgraphs/cases/reference: the stored copy, or as released). */
export interface RecordReference {
  memberStates: ReadonlySet<string>;
  countriesOfOrigin: ReadonlySet<string>;
}

/** A valid record's Member State and country against the reference lists in force. */
export function referenceProblems(
  record: Pick<CanonicalRecord, 'memberState' | 'countryOfOrigin'>,
  lists: RecordReference,
): RecordProblem[] {
  const problems: RecordProblem[] = [];
  if (!lists.memberStates.has(record.memberState))
    problems.push({ path: 'memberState', message: MEMBER_STATE_MESSAGE });
  if (!lists.countriesOfOrigin.has(record.countryOfOrigin))
    problems.push({ path: 'countryOfOrigin', message: COUNTRY_MESSAGE });
  return problems;
}

/**
 * The canonical case record that national feeds are mapped to. `.strict()` refuses unknown
 * keys, which also refuses `$`-operators and `__proto__` smuggled in as keys.
 */
export const canonicalRecordSchema = z
  .object({
    // The format here; whether it is a participating Member State, against the stored lists (referenceProblems).
    memberState: z.string().regex(ALPHA2, MEMBER_STATE_MESSAGE),
    caseReference: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9/_.-]{0,63}$/,
        'must be 1-64 letters, digits, / _ . - starting with a letter or digit',
      ),
    recordVersion: z.number().int().min(1).max(2_147_483_647),
    returnType: z.enum(RETURN_TYPES),
    charterFlight: z.boolean().default(false),
    packages: boundedArray(z.enum(PACKAGES), PACKAGES.length, 1),
    countryOfOrigin: z.string().regex(ALPHA2, COUNTRY_MESSAGE),
    departureDate: calendarDate.nullable().default(null),
    arrivalDate: calendarDate.nullable().default(null),
    mainApplicant: person,
    familyMembers: boundedArray(z.union([memberWithUnknownDetails, person]), MAX_FAMILY_MEMBERS).default([]),
    /**
     * Facts the eligibility rules need (docs/domain.md). Without a protection status the record
     * counts as having none (defaulted, counted in data quality). A missing signature or request
     * date stays missing (null): an unknown signature grants post-arrival support only, and the
     * request window is checked against the insertion day instead.
     */
    eligibility: z
      .object({
        legalStay: z.boolean().default(false),
        temporaryProtection: z.boolean().default(false),
        applicationSigned: z.boolean().nullable().default(null),
        requestDate: pastDate.nullable().default(null),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((record, ctx) => {
    if (new Set(record.packages).size !== record.packages.length) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['packages'], message: 'must not repeat a package' });
    }
    if (record.packages.includes('CHARTER_ARRIVAL') && !(record.returnType === 'FORCED' && record.charterFlight)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['packages'],
        message: 'CHARTER_ARRIVAL is only for forced returns by charter flight',
      });
    }
    if (record.departureDate && record.arrivalDate && record.arrivalDate < record.departureDate) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['arrivalDate'], message: 'must not be before departureDate' });
    }
    // Codes consistent with age on the reference day (the departure day, else today: the insertion day).
    const coded = (path: string, p: PersonRecord): CodedPerson => ({
      path,
      dateOfBirth: p.dateOfBirth,
      vulnerabilityCodes: p.vulnerabilityCodes ?? [],
    });
    const persons: CodedPerson[] = [coded('mainApplicant', record.mainApplicant)];
    record.familyMembers.forEach((member, i) => {
      if (hasDetails(member)) persons.push(coded(`familyMembers.${i}`, member));
    });
    if (persons.some((p) => p.vulnerabilityCodes.length > 0))
      for (const problem of vulnerabilityAgeProblems(persons, record.departureDate ?? today()))
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: problem.path.split('.'), message: problem.message });
  });

export type CanonicalRecord = z.infer<typeof canonicalRecordSchema>;

export interface RecordProblem {
  path: string;
  message: string;
}

/** Problems kept per record by default (README, "Limits on feeds"); the rest are counted. */
export const MAX_PROBLEMS_PER_RECORD = 20;
/** Unknown fields named in one problem; the rest are counted. */
const UNKNOWN_KEYS_NAMED = 10;

/**
 * Validates one record; problems name the field path (`mainApplicant.dateOfBirth`). At most
 * `maxProblems` are kept, then one more saying how many were left out.
 */
export function validateRecord(
  input: unknown,
  maxProblems = MAX_PROBLEMS_PER_RECORD,
  lists: RecordReference = RELEASED_REFERENCE_LISTS,
): { ok: true; record: CanonicalRecord } | { ok: false; problems: RecordProblem[] } {
  const mapped = mappingProblemsOf(input, maxProblems);
  if (mapped) return { ok: false, problems: mapped };
  const result = canonicalRecordSchema.safeParse(input);
  if (result.success) {
    const problems = referenceProblems(result.data, lists);
    return problems.length > 0 ? { ok: false, problems } : { ok: true, record: result.data };
  }
  const issues = withReferenceIssues(
    result.error.issues.flatMap((issue) => memberIssues(issue, input)),
    input,
    lists,
  );
  const problems = issues.slice(0, maxProblems).map((issue): RecordProblem => {
    if (issue.code !== 'unrecognized_keys') return { path: issue.path.join('.') || '(record)', message: issue.message };
    const named = issue.keys.slice(0, UNKNOWN_KEYS_NAMED).map((k) => k.slice(0, 64));
    const more = issue.keys.length > named.length ? ` and ${issue.keys.length - named.length} more` : '';
    const prefix = issue.path.join('.');
    return { path: prefix || named.join(','), message: `unknown field(s): ${named.join(', ')}${more}` };
  });
  if (issues.length > maxProblems)
    problems.push({
      path: '(record)',
      message: `and ${issues.length - maxProblems} more problems in this record (the first ${maxProblems} are listed)`,
    });
  return { ok: false, problems };
}

/**
 * An invalid record's codes that have the right format but are not in the lists: listed too,
 * each in the place of its field among the record's other problems.
 */
function withReferenceIssues(issues: z.ZodIssue[], input: unknown, lists: RecordReference): z.ZodIssue[] {
  if (!input || typeof input !== 'object') return issues;
  const { memberState, countryOfOrigin } = input as Record<string, unknown>;
  const found = referenceProblems(
    {
      memberState: typeof memberState === 'string' && ALPHA2.test(memberState) ? memberState : 'ok',
      countryOfOrigin: typeof countryOfOrigin === 'string' && ALPHA2.test(countryOfOrigin) ? countryOfOrigin : 'ok',
    },
    {
      memberStates: new Set([...lists.memberStates, 'ok']),
      countriesOfOrigin: new Set([...lists.countriesOfOrigin, 'ok']),
    },
  );
  const order = Object.keys(canonicalRecordSchema.innerType().shape);
  const rank = (issue: z.ZodIssue) => order.indexOf(String(issue.path[0] ?? ''));
  const merged = [...issues];
  for (const problem of found) {
    const issue: z.ZodIssue = { code: z.ZodIssueCode.custom, path: [problem.path], message: problem.message };
    const at = merged.findIndex((other) => rank(other) > rank(issue));
    merged.splice(at < 0 ? merged.length : at, 0, issue);
  }
  return merged;
}

/**
 * A family member is a person or a member with unknown details: a member that is neither
 * is described as the one it claims to be (`detailsUnknown` or not), field by field.
 */
function memberIssues(issue: z.ZodIssue, input: unknown): z.ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.path[0] !== 'familyMembers' || issue.path.length !== 2) return [issue];
  const members = (input as { familyMembers?: unknown } | null)?.familyMembers;
  const member = Array.isArray(members) ? (members[Number(issue.path[1])] as unknown) : undefined;
  const unknown = !!member && typeof member === 'object' && 'detailsUnknown' in member;
  return issue.unionErrors[unknown ? 0 : 1]?.issues ?? [issue];
}

/**
 * What a profile could not map (README, "Profiles", no silent loss): the mapping leaves its
 * problems on the record, each naming its column, and such a record is never stored.
 */
function mappingProblemsOf(input: unknown, maxProblems: number): RecordProblem[] | null {
  if (!input || typeof input !== 'object' || !('mappingProblems' in input)) return null;
  const listed = (input as { mappingProblems: unknown }).mappingProblems;
  if (!Array.isArray(listed) || listed.length === 0) return null;
  const text = (value: unknown, fallback: string) => (typeof value === 'string' ? value.slice(0, 500) : fallback);
  const problems = listed.slice(0, maxProblems).map((p: unknown) => {
    const problem = (p && typeof p === 'object' ? p : {}) as { path?: unknown; message?: unknown };
    return { path: text(problem.path, '(record)'), message: text(problem.message, 'could not be mapped') };
  });
  if (listed.length > maxProblems)
    problems.push({ path: '(record)', message: `and ${listed.length - maxProblems} more problems in this record` });
  return problems;
}
