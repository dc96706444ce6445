/**
 * Data quality per Member State (docs/domain.md, "Monitoring": better data quality at input), as
 * pure rules: which fields of a feed record were missing or took a default, and what one chunk
 * adds to its Member State's counters. The read model (model.ts) keeps the sums; nothing here
 * reads a case.
 */

/** Facts a record may leave out that stay missing on the case (null), by their feed path. */
export const MISSING_FIELDS = ['eligibility.requestDate', 'eligibility.applicationSigned'] as const;
/** Facts a record may leave out that take the programme's default (counted: the default may hide a fact). */
export const DEFAULTED_FIELDS = ['eligibility.legalStay', 'eligibility.temporaryProtection', 'charterFlight'] as const;

export type MissingField = (typeof MISSING_FIELDS)[number];
export type DefaultedField = (typeof DEFAULTED_FIELDS)[number];

export interface RecordGaps {
  missing: MissingField[];
  defaulted: DefaultedField[];
}

/** The value at a dotted path of a raw (unvalidated) record; undefined when any step is absent. */
function at(raw: unknown, path: string): unknown {
  let value: unknown = raw;
  for (const key of path.split('.')) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Which fields a raw feed record left out (absent or null), as the record came in. */
export function recordGaps(raw: unknown): RecordGaps {
  return {
    missing: MISSING_FIELDS.filter((path) => at(raw, path) == null),
    defaulted: DEFAULTED_FIELDS.filter((path) => at(raw, path) == null),
  };
}

/** What one chunk tells about its Member State's data. */
export interface ChunkQuality {
  /** Records in the chunk. */
  received: number;
  /** Records refused (invalid, refused by a rule, erased case, no partner). */
  rejected: number;
  /** The gaps of each record that passed validation. */
  gaps: readonly RecordGaps[];
  /** Cases this chunk created after their request window had closed. */
  lateInsertions: number;
}

/** Field paths are stored with `:` for `.`, so each is one key of the counters (`missing.eligibility:requestDate`). */
export const fieldKey = (path: string) => path.replace(/\./g, ':');
export const fieldPath = (key: string) => key.replace(/:/g, '.');

/** The `$inc` one chunk adds to its Member State's data-quality document (zero entries dropped). */
export function qualityIncrement(chunk: ChunkQuality): Record<string, number> {
  const inc: Record<string, number> = {};
  const add = (key: string, n = 1) => {
    if (n !== 0) inc[key] = (inc[key] ?? 0) + n;
  };
  add('received', chunk.received);
  add('rejected', chunk.rejected);
  add('lateInsertions', chunk.lateInsertions);
  for (const gaps of chunk.gaps) {
    if (gaps.missing.length + gaps.defaulted.length > 0) add('recordsWithGaps');
    for (const path of gaps.missing) add(`missing.${fieldKey(path)}`);
    for (const path of gaps.defaulted) add(`defaulted.${fieldKey(path)}`);
  }
  return inc;
}

/** A share, rounded to 4 decimals; 0 of 0 is 0. */
export const share = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0);

export interface FieldQuality {
  field: string;
  kind: 'MISSING' | 'DEFAULTED';
  records: number;
  share: number;
}

/** The per-field figures of a stored document, every known field listed (zero when never seen). */
export function fieldFigures(
  received: number,
  missing: Readonly<Record<string, number>> | undefined,
  defaulted: Readonly<Record<string, number>> | undefined,
): FieldQuality[] {
  const row = (field: string, kind: FieldQuality['kind'], records: number) => ({
    field,
    kind,
    records,
    share: share(records, received),
  });
  return [
    ...MISSING_FIELDS.map((f) => row(f, 'MISSING', missing?.[fieldKey(f)] ?? 0)),
    ...DEFAULTED_FIELDS.map((f) => row(f, 'DEFAULTED', defaulted?.[fieldKey(f)] ?? 0)),
  ];
}
