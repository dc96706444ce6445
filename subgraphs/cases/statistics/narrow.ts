import { PACKAGES } from '../../../shared/domain.js';
import { badUserInput } from '../../../shared/errors.js';
import type { StatisticsDoc } from '../case/models.js';
import { keySegment, pairOf, type StatisticsDimension } from './crosstab.js';
import { servedStatistics } from './read.js';

/**
 * Statistics narrowed to a period of departure months and/or a package, summed exactly from the
 * read model's pair counters (crosstab.ts: `x.c.<pair>.<a>.<b>` cases, `x.r...` returnees) of the
 * scope's one document. Only what the pairs hold can be narrowed: the totals, returnees, family
 * composition and the breakdowns; adults, minors, ages, durations and vulnerability are kept for
 * whole scopes only (null or empty here). With a period AND a package (a triple the pairs do not
 * hold), only the totals, the months and the package are given; the other breakdowns are empty and
 * named in `unavailable`. Small cells are withheld after summing, exactly as for `statistics`.
 */

/** The `narrow` argument as the graph receives it. */
export interface StatisticsNarrowingInput {
  fromMonth?: string | null;
  toMonth?: string | null;
  package?: string | null;
}

/** A checked narrowing: months inclusive (YYYY-MM), a package; null each when not given. */
export interface Narrowing {
  fromMonth: string | null;
  toMonth: string | null;
  package: string | null;
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** Checks the `narrow` argument: null when it narrows nothing. */
export function parseNarrowing(input: unknown): Narrowing | null {
  if (input === null || input === undefined) return null;
  if (typeof input !== 'object' || Array.isArray(input)) throw badUserInput('narrow must be an object', 'narrow');
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw))
    if (!['fromMonth', 'toMonth', 'package'].includes(key))
      throw badUserInput(`narrow.${key.slice(0, 40)} is not a narrowing (fromMonth, toMonth, package)`, 'narrow');
  const month = (key: 'fromMonth' | 'toMonth'): string | null => {
    const value = raw[key];
    if (value === null || value === undefined || value === '') return null;
    if (typeof value !== 'string' || !MONTH.test(value))
      throw badUserInput(`narrow.${key} must be a month YYYY-MM, got ${JSON.stringify(value).slice(0, 40)}`, 'narrow');
    return value;
  };
  const fromMonth = month('fromMonth');
  const toMonth = month('toMonth');
  if (fromMonth && toMonth && fromMonth > toMonth)
    throw badUserInput(`narrow.fromMonth ${fromMonth} is after narrow.toMonth ${toMonth}`, 'narrow');
  const pkg = raw.package;
  if (pkg !== null && pkg !== undefined && (typeof pkg !== 'string' || !(PACKAGES as readonly string[]).includes(pkg)))
    throw badUserInput(`narrow.package must be one of ${PACKAGES.join(', ')}`, 'narrow');
  const narrowing = { fromMonth, toMonth, package: typeof pkg === 'string' ? pkg : null };
  return narrowing.fromMonth || narrowing.toMonth || narrowing.package ? narrowing : null;
}

type Nested = Record<string, Record<string, unknown>>;

/** One pair's counters oriented `first` → `second` → count (cases `c` or returnees `r`). */
export function pairCounts(
  doc: Record<string, unknown> | null,
  measure: 'c' | 'r',
  first: StatisticsDimension,
  second: StatisticsDimension,
): Map<string, Map<string, number>> {
  const { pair, transposed } = pairOf(first, second);
  const stored = ((((doc ?? {}) as Nested).x?.[measure] ?? {}) as Nested)[pair] ?? {};
  const out = new Map<string, Map<string, number>>();
  for (const [outer, inner] of Object.entries(stored as Nested))
    for (const [innerKey, value] of Object.entries(inner ?? {})) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) continue;
      const [a, b] = transposed ? [innerKey, outer] : [outer, innerKey];
      const row = out.get(a) ?? new Map<string, number>();
      row.set(b, (row.get(b) ?? 0) + value);
      out.set(a, row);
    }
  return out;
}

/** The breakdowns of `statistics` and the dimension each counts by (the read model's counter names). */
const BREAKDOWN_COUNTERS: ReadonlyArray<[StatisticsDimension, string]> = [
  ['MEMBER_STATE', 'byMemberState'],
  ['COUNTRY_OF_ORIGIN', 'byCountry'],
  ['PARTNER', 'byPartner'],
  ['RETURN_TYPE', 'byReturnType'],
  ['STATUS', 'byStatus'],
  ['MONTH', 'byMonth'],
  ['PACKAGE', 'byPackage'],
];

/**
 * An in-memory statistics document holding the narrowed counts (what `servedStatistics` reads), and
 * the dimensions that could not be narrowed. `doc` must hold the pair counters (`x`).
 */
export function narrowedDocument(
  doc: Record<string, unknown> | null,
  narrowing: Narrowing,
): { doc: Record<string, unknown>; unavailable: StatisticsDimension[] } {
  const inPeriod = (month: string) =>
    (!narrowing.fromMonth || month >= narrowing.fromMonth) && (!narrowing.toMonth || month <= narrowing.toMonth);
  const periodGiven = Boolean(narrowing.fromMonth || narrowing.toMonth);
  const pkg = narrowing.package ? keySegment(narrowing.package) : null;
  const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);
  // Cases (or returnees) in the period with the package: MONTH × (PACKAGE, or RETURN_TYPE, which every case has once).
  const total = (measure: 'c' | 'r') => {
    const byMonth = pairCounts(doc, measure, 'MONTH', pkg ? 'PACKAGE' : 'RETURN_TYPE');
    let n = 0;
    for (const [month, row] of byMonth) if (inPeriod(month)) n += pkg ? (row.get(pkg) ?? 0) : sum(row.values());
    return n;
  };
  const cases = total('c');
  const returnees = total('r');
  const out: Record<string, unknown> = { cases, returnees, adults: returnees, minors: 0 };
  const unavailable: StatisticsDimension[] = [];
  for (const [dimension, counter] of BREAKDOWN_COUNTERS) {
    const counts: Record<string, number> = {};
    if (dimension === 'PACKAGE' && pkg) {
      if (cases > 0) counts[pkg] = cases;
    } else if (dimension === 'MONTH') {
      for (const [month, row] of pairCounts(doc, 'c', 'MONTH', pkg ? 'PACKAGE' : 'RETURN_TYPE'))
        if (inPeriod(month)) counts[month] = pkg ? (row.get(pkg) ?? 0) : sum(row.values());
    } else if (pkg && periodGiven) {
      unavailable.push(dimension);
      continue;
    } else if (pkg) {
      for (const [key, row] of pairCounts(doc, 'c', dimension, 'PACKAGE')) counts[key] = row.get(pkg) ?? 0;
    } else {
      for (const [key, row] of pairCounts(doc, 'c', dimension, 'MONTH'))
        counts[key] = sum([...row].filter(([month]) => inPeriod(month)).map(([, n]) => n));
    }
    out[counter] = counts;
  }
  return { doc: out, unavailable };
}

/** `statistics` narrowed (see the file's comment): exact, or with small cells withheld after summing. */
export function servedNarrowedStatistics(
  scope: string,
  doc: StatisticsDoc | null,
  narrowing: Narrowing,
  threshold: number | null,
  known: { memberState?: string | null; partner?: string | null } = {},
) {
  const narrowed = narrowedDocument(doc, narrowing);
  const served = servedStatistics(
    scope,
    { ...narrowed.doc, _id: scope, lastEventId: '', updatedAt: doc?.updatedAt } as StatisticsDoc,
    threshold,
    known,
  );
  // Kept for whole scopes only: not given narrowed (adults stood in for the returnees above).
  return {
    ...served,
    adults: null,
    minors: null,
    averageMainApplicantAge: null,
    casesByVulnerability: [],
    milestoneDurations: [],
    narrowing,
    unavailable: narrowed.unavailable,
  };
}

/** The projection that reads the pair counters a narrowing needs (and nothing else of the document). */
export function narrowProjection(narrowing: Narrowing): Record<string, 1> {
  const by: StatisticsDimension = narrowing.package ? 'PACKAGE' : 'MONTH';
  const paths: Record<string, 1> = { updatedAt: 1 };
  const add = (measure: 'c' | 'r', a: StatisticsDimension, b: StatisticsDimension) =>
    (paths[`x.${measure}.${pairOf(a, b).pair}`] = 1);
  add('c', 'MONTH', narrowing.package ? 'PACKAGE' : 'RETURN_TYPE');
  add('r', 'MONTH', narrowing.package ? 'PACKAGE' : 'RETURN_TYPE');
  for (const [dimension] of BREAKDOWN_COUNTERS) if (dimension !== by) add('c', dimension, by);
  return paths;
}
