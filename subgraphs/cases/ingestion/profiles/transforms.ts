import { z } from 'zod';
import { compileDateFormat, hasTwoDigitYear, parseDate, type CompiledDateFormat } from './dates.js';
import { compilePattern, MAX_PATTERN_INPUT, unsafePattern, type ProfilePattern } from './patterns.js';
import { MAX_CODE_MAP_ENTRIES, mapNationalCodes, VULNERABILITY_CODES } from '../../../../shared/vulnerability.js';

/** A value on its way from a cell to a canonical field. */
export type Scalar = string | number | boolean;

const scalar = z.union([z.string().max(200), z.number(), z.boolean()]);
const word = z.string().min(1).max(60);

const pattern = z.string().superRefine((source, ctx) => {
  const why = unsafePattern(source);
  if (why) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `pattern ${why}` });
});

const dateFormat = z.string().superRefine((format, ctx) => {
  const compiled = compileDateFormat(format);
  if (typeof compiled === 'string') ctx.addIssue({ code: z.ZodIssueCode.custom, message: `date format ${compiled}` });
});

/** Date formats tried in order; a two-digit year needs a pivot. */
export const dateSpecSchema = z
  .object({ formats: z.array(dateFormat).min(1).max(10), pivot: z.number().int().min(0).max(99).optional() })
  .strict()
  .refine(
    (d) => d.pivot !== undefined || !d.formats.some(hasTwoDigitYear),
    'a format with a two-digit year (yy) needs a pivot: years up to it are 20yy, above it 19yy',
  );

/** Languages whose number words (zero to twenty) the `number` transform knows. */
export const NUMBER_WORD_LANGUAGES = ['en', 'de', 'fr', 'nl', 'sv', 'pl', 'it', 'es'] as const;

/**
 * A map keyed by up to 200 characters whose size is checked before its entries, so a hostile
 * profile of a million keys is one issue, not a million.
 */
export function boundedMap<T extends z.ZodTypeAny>(value: T, max: number) {
  return z.preprocess(
    (input, ctx) => {
      if (input && typeof input === 'object' && !Array.isArray(input) && Object.keys(input).length > max) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `must have at most ${max} entries (got ${Object.keys(input).length})`,
          fatal: true,
        });
        return {};
      }
      return input;
    },
    z.record(z.string().min(1).max(200), value),
  );
}

/**
 * The per-column transforms (README, "Profiles"), applied in order: each takes the value the
 * previous one made. A transform that cannot apply reports the cell instead of guessing.
 */
export const transformSchema = z.union(
  [
    z.enum(['trim', 'upper', 'lower', 'title']),
    z.object({ extract: pattern, group: z.number().int().min(0).max(9).default(1) }).strict(),
    z.object({ map: boundedMap(scalar, 2_000), default: scalar.optional() }).strict(),
    z.object({ number: z.object({ words: z.enum(NUMBER_WORD_LANGUAGES).optional() }).strict() }).strict(),
    z
      .object({
        boolean: z
          .object({ true: z.array(word).min(1).max(30), false: z.array(word).min(1).max(30) })
          .strict()
          .refine(
            (b) => !b.true.some((t) => b.false.some((f) => f.toLowerCase() === t.toLowerCase())),
            'a word cannot be both true and false',
          ),
      })
      .strict(),
    z.object({ date: dateSpecSchema }).strict(),
    /**
     * National vulnerability codes → the coded list (shared/vulnerability.ts): the cell is split on
     * `separator` (the profile's multiValueSeparator, default `|`); every national code must be in
     * the map, else the cell is reported naming the code. For `vulnerabilityCodes` fields only (plan.ts).
     */
    z
      .object({
        codeMap: boundedMap(
          z.enum(VULNERABILITY_CODES, {
            errorMap: () => ({ message: `must be a vulnerability code (${VULNERABILITY_CODES.join(', ')})` }),
          }),
          MAX_CODE_MAP_ENTRIES,
        ).refine((map) => Object.keys(map).length > 0, 'must map at least one national code'),
        separator: z.string().min(1).max(3).optional(),
      })
      .strict(),
  ],
  {
    errorMap: () => ({
      message:
        'must be "trim", "upper", "lower", "title", or one of {"extract"}, {"map"}, {"number"}, {"boolean"}, ' +
        '{"date"}, {"codeMap"}',
    }),
  },
);

export type Transform = z.infer<typeof transformSchema>;
/** What a codeMap splits cells on without a `separator`: the profile's default multiValueSeparator. */
export const CODE_MAP_SEPARATOR = '|';
export const transformsSchema = z.array(transformSchema).max(20);

export type TransformResult = { ok: true; value: Scalar } | { ok: false; message: string };

const NUMBER_WORDS: Record<(typeof NUMBER_WORD_LANGUAGES)[number], string> = {
  en:
    'zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen ' +
    'seventeen eighteen nineteen twenty',
  de:
    'null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn fünfzehn sechzehn ' +
    'siebzehn achtzehn neunzehn zwanzig',
  fr:
    'zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize dix-sept ' +
    'dix-huit dix-neuf vingt',
  nl:
    'nul een twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien vijftien zestien ' +
    'zeventien achttien negentien twintig',
  sv:
    'noll ett två tre fyra fem sex sju åtta nio tio elva tolv tretton fjorton femton sexton sjutton arton ' +
    'nitton tjugo',
  pl:
    'zero jeden dwa trzy cztery pięć sześć siedem osiem dziewięć dziesięć jedenaście dwanaście trzynaście ' +
    'czternaście piętnaście szesnaście siedemnaście osiemnaście dziewiętnaście dwadzieścia',
  it:
    'zero uno due tre quattro cinque sei sette otto nove dieci undici dodici tredici quattordici quindici ' +
    'sedici diciassette diciotto diciannove venti',
  es:
    'cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis ' +
    'diecisiete dieciocho diecinueve veinte',
};
/** Other spellings of one and two (gender, accents). */
const EXTRA_WORDS: Record<string, Record<string, number>> = {
  de: { ein: 1, eine: 1, zwo: 2 },
  fr: { une: 1 },
  nl: { één: 1 },
  sv: { en: 1, aderton: 18 },
  pl: { jedna: 1, jedno: 1, dwie: 2 },
  it: { una: 1 },
  es: { un: 1, una: 1 },
};
const WORDS = new Map(
  Object.entries(NUMBER_WORDS).map(([lang, words]) => [
    lang,
    new Map([...words.split(' ').map((w, i) => [w, i] as const), ...Object.entries(EXTRA_WORDS[lang] ?? {})]),
  ]),
);

// Compiled once per transform object: profiles are parsed once and their transforms reused for every row.
const compiled = new WeakMap<object, ProfilePattern | Map<string, Scalar> | CompiledDateFormat[]>();
function cached<T extends ProfilePattern | Map<string, Scalar> | CompiledDateFormat[]>(key: object, make: () => T): T {
  let value = compiled.get(key) as T | undefined;
  if (!value) compiled.set(key, (value = make()));
  return value;
}

const quote = (value: Scalar) => JSON.stringify(typeof value === 'string' ? value.slice(0, 60) : value);
const words = (list: string[]) => list.map((w) => `"${w}"`).join(', ');

/** Applies one transform to a value. Pure: the same value and transform always give the same result. */
export function applyTransform(value: Scalar, transform: Transform): TransformResult {
  if (typeof transform === 'string') {
    if (typeof value !== 'string') return { ok: true, value };
    if (transform === 'trim') return { ok: true, value: value.trim().replace(/\s+/g, ' ') };
    if (transform === 'upper') return { ok: true, value: value.toLocaleUpperCase() };
    if (transform === 'lower') return { ok: true, value: value.toLocaleLowerCase() };
    return {
      ok: true,
      value: value.toLocaleLowerCase().replace(/(^|[\s\-'’])(\p{L})/gu, (_, p, c) => p + c.toUpperCase()),
    };
  }
  const text = String(value);
  if ('extract' in transform) {
    if (text.length > MAX_PATTERN_INPUT)
      return { ok: false, message: `is longer than ${MAX_PATTERN_INPUT} characters, too long to match a pattern` };
    const match = cached(transform, () => compilePattern(transform.extract)).exec(text);
    if (!match || match[transform.group] === undefined)
      return { ok: false, message: `${quote(value)} does not match the pattern ${transform.extract}` };
    return { ok: true, value: match[transform.group]!.trim() };
  }
  if ('map' in transform) {
    const map = cached(
      transform,
      () => new Map(Object.entries(transform.map).map(([k, v]) => [k.normalize('NFC').toLowerCase(), v])),
    );
    const hit = map.get(text.normalize('NFC').toLowerCase());
    if (hit !== undefined) return { ok: true, value: hit };
    return { ok: true, value: transform.default ?? value };
  }
  if ('codeMap' in transform) {
    const separator = transform.separator ?? CODE_MAP_SEPARATOR;
    const result = mapNationalCodes(text, transform.codeMap, separator);
    return result.ok ? { ok: true, value: result.codes.join(separator) } : result;
  }
  if ('number' in transform) {
    if (typeof value === 'number') return { ok: true, value };
    const trimmed = text.trim();
    if (/^\d{1,9}$/.test(trimmed)) return { ok: true, value: Number(trimmed) };
    const lang = transform.number.words;
    const n = lang ? WORDS.get(lang)!.get(trimmed.normalize('NFC').toLowerCase()) : undefined;
    if (n !== undefined) return { ok: true, value: n };
    return {
      ok: false,
      message: `${quote(value)} is not a whole number${lang ? ` nor a number word (${lang}, zero to twenty)` : ''}`,
    };
  }
  if ('boolean' in transform) {
    if (typeof value === 'boolean') return { ok: true, value };
    const key = text.trim().normalize('NFC').toLowerCase();
    if (transform.boolean.true.some((w) => w.normalize('NFC').toLowerCase() === key)) return { ok: true, value: true };
    if (transform.boolean.false.some((w) => w.normalize('NFC').toLowerCase() === key))
      return { ok: true, value: false };
    return {
      ok: false,
      message:
        `${quote(value)} is neither true (${words(transform.boolean.true)}) ` +
        `nor false (${words(transform.boolean.false)})`,
    };
  }
  const formats = cached(transform, () =>
    transform.date.formats
      .map((f) => compileDateFormat(f))
      .filter((f): f is CompiledDateFormat => typeof f !== 'string'),
  );
  const iso = parseDate(text, formats, transform.date.pivot);
  if (iso === null)
    return {
      ok: false,
      message: `${quote(value)} is not a date in any of the formats ${words(transform.date.formats)}`,
    };
  return { ok: true, value: iso };
}

/** Applies a column's transforms in order; the first that cannot apply stops with its message. */
export function applyTransforms(value: Scalar, transforms: readonly Transform[]): TransformResult {
  let current: Scalar = value;
  for (const transform of transforms) {
    const result = applyTransform(current, transform);
    if (!result.ok) return result;
    current = result.value;
  }
  return { ok: true, value: current };
}
