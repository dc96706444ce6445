import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';

/**
 * Indicators as configuration (docs/domain.md, "Monitoring"): what an indicator
 * counts is chosen from a closed set of measure kinds this module implements; the file names
 * which, with the minimum standard and the target. No code in the file.
 */

/** Where a value is computed and whose scope a breach belongs to. */
export const SCOPE_KINDS = ['PROGRAMME', 'MEMBER_STATE', 'COUNTRY_OF_ORIGIN', 'PARTNER'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

/** Whose view an indicator takes (the expert conference's four perspectives). */
export const PERSPECTIVES = ['RETURNEE', 'COUNTRY_OF_ORIGIN', 'MEMBER_STATE', 'PARTNER'] as const;
export type Perspective = (typeof PERSPECTIVES)[number];

/** Spans between key moments whose day histograms the read model keeps. */
export const SPANS = ['INSERTION_TO_KM1', 'KM1_TO_KM2', 'KM2_TO_KM3'] as const;
export type Span = (typeof SPANS)[number];

/** Rates the read model counts: each a fixed numerator over a fixed denominator. */
export const RATES = {
  /** Cases accepted by the partner (KM1) over cases. */
  ACCEPTANCE: { numerator: 'accepted', denominator: 'cases' },
  /** Completed cases over cases that ended (completed, withdrawn or closed). */
  COMPLETION: { numerator: 'completed', denominator: 'ended' },
  /** Withdrawn cases over cases. */
  WITHDRAWAL: { numerator: 'withdrawn', denominator: 'cases' },
  /** Cases whose plan was approved without a rejection over cases with a plan decision. */
  PLAN_APPROVED_FIRST_TIME: { numerator: 'planApprovedFirstTime', denominator: 'planDecided' },
  /** Complaints still open over complaints recorded. */
  OPEN_COMPLAINTS: { numerator: 'complaintsOpen', denominator: 'complaints' },
} as const;
export type RateName = keyof typeof RATES;

export const DIMENSIONS = ['economic', 'social', 'psychosocial', 'overall'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export const FOLLOW_UPS = [3, 6, 12] as const;
export type FollowUp = (typeof FOLLOW_UPS)[number];

/** Histograms of days are capped (a longer span counts as 730). */
export const MAX_DAYS = 730;

const followUp = z.union([z.literal(3), z.literal(6), z.literal(12)]);

export const measureSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('MEDIAN_DAYS'), span: z.enum(SPANS) }).strict(),
  z.object({ kind: z.literal('RATE'), rate: z.enum(Object.keys(RATES) as [RateName, ...RateName[]]) }).strict(),
  z
    .object({
      kind: z.literal('SHARE_OF_SCORES_AT_LEAST'),
      dimension: z.enum(DIMENSIONS),
      followUpMonths: followUp,
      // Scores are kept in hundredths: a threshold finer than that could not be answered.
      threshold: z
        .number()
        .min(0)
        .max(1)
        .refine((t) => Math.abs(Math.round(t * 100) - t * 100) < 1e-9, 'must be a multiple of 0.01'),
    })
    .strict(),
  z
    .object({ kind: z.literal('MEAN_SCORE'), dimension: z.enum(DIMENSIONS), followUpMonths: followUp.optional() })
    .strict(),
  z.object({ kind: z.literal('MEAN_SATISFACTION') }).strict(),
]);
export type Measure = z.infer<typeof measureSchema>;
export type MeasureKind = Measure['kind'];

/** What a value is in: the bounds a minimum standard and a target must keep. */
export function unitOf(measure: Measure): {
  unit: 'DAYS' | 'SHARE' | 'SCORE' | 'SATISFACTION';
  min: number;
  max: number;
} {
  switch (measure.kind) {
    case 'MEDIAN_DAYS':
      return { unit: 'DAYS', min: 0, max: MAX_DAYS };
    case 'RATE':
    case 'SHARE_OF_SCORES_AT_LEAST':
      return { unit: 'SHARE', min: 0, max: 1 };
    case 'MEAN_SCORE':
      return { unit: 'SCORE', min: 0, max: 1 };
    case 'MEAN_SATISFACTION':
      return { unit: 'SATISFACTION', min: 1, max: 5 };
  }
}

const text = (max: number) => z.string().trim().min(1).max(max);

export const definitionSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be lower-case letters, digits and dashes (at most 64)'),
    version: z.number().int().min(1).max(1_000_000),
    name: text(120),
    description: text(2_000),
    perspective: z.enum(PERSPECTIVES),
    /** The scopes its minimum standard applies to (where breaches are raised). */
    appliesTo: z
      .array(z.enum(SCOPE_KINDS))
      .min(1)
      .max(SCOPE_KINDS.length)
      .refine((kinds) => new Set(kinds).size === kinds.length, 'lists a scope twice'),
    direction: z.enum(['HIGHER_IS_BETTER', 'LOWER_IS_BETTER']),
    measure: measureSchema,
    minimumStandard: z.number().finite(),
    target: z.number().finite(),
    /** A value over fewer cases than this is not judged (no breach): too few to say anything. */
    minimumCases: z.number().int().min(1).max(100_000).default(5),
  })
  .strict()
  .superRefine((d, ctx) => {
    const { unit, min, max } = unitOf(d.measure);
    for (const key of ['minimumStandard', 'target'] as const) {
      if (d[key] < min || d[key] > max)
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: `must be within ${min}..${max} (${unit})` });
    }
    const ordered = d.direction === 'HIGHER_IS_BETTER' ? d.target >= d.minimumStandard : d.target <= d.minimumStandard;
    if (!ordered)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['target'],
        message: `must be at least as good as the minimum standard (${d.direction})`,
      });
  });
export type IndicatorDefinition = z.infer<typeof definitionSchema>;

export const MAX_INDICATORS = 100;
export const MAX_INDICATOR_FILE_BYTES = 256 * 1024;

export const indicatorFileSchema = z
  .object({
    version: z.number().int().min(1).max(1_000_000),
    indicators: z.array(definitionSchema).min(1).max(MAX_INDICATORS),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.indicators.forEach((d, i) => {
      if (seen.has(d.id))
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['indicators', i, 'id'],
          message: `${d.id} is defined twice`,
        });
      seen.add(d.id);
    });
  });
export type IndicatorFile = z.infer<typeof indicatorFileSchema>;

/** A malformed indicators file: the process refuses to start, naming the file and the fault. */
export class IndicatorFileError extends Error {
  override readonly name = 'IndicatorFileError';
}

/** Parses an indicators file's text; `where` names it in errors. */
export function parseIndicatorFile(source: string, where: string): IndicatorFile {
  if (Buffer.byteLength(source, 'utf8') > MAX_INDICATOR_FILE_BYTES)
    throw new IndicatorFileError(`${where}: larger than ${MAX_INDICATOR_FILE_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch (error) {
    throw new IndicatorFileError(`${where}: not JSON (${(error as Error).message})`);
  }
  const parsed = indicatorFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.length > 0 ? issue.path.join('.') : '(file)';
    throw new IndicatorFileError(`${where}: ${path}: ${issue.message}`);
  }
  return parsed.data;
}

/** Reads and validates an indicators file (INDICATORS_FILE). */
export function loadIndicatorFile(path: string): IndicatorFile {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    throw new IndicatorFileError(`${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (size > MAX_INDICATOR_FILE_BYTES)
    throw new IndicatorFileError(`${path}: larger than ${MAX_INDICATOR_FILE_BYTES} bytes`);
  return parseIndicatorFile(readFileSync(path, 'utf8'), path);
}

/** The shipped file, relative to the repository root. */
export const DEFAULT_INDICATORS_FILE = 'subgraphs/cases/indicators/indicators.v1.json';
