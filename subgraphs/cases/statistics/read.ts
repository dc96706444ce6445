import { badUserInput } from '../../../shared/errors.js';
import type { StatisticsDoc } from '../case/models.js';
import type { StatisticsFigures } from './csv.js';
import { isSmall, suppressCounts, type Shown } from './suppression.js';

export interface StatisticsFilter {
  memberState?: string | null;
  countryOfOrigin?: string | null;
  partner?: string | null;
  /** The whole programme, whatever the caller's own scope (alone). */
  programme?: boolean | null;
}

/** Whether a filter names a scope (else the caller's own scope is read). */
export function namesScope(filter: StatisticsFilter | null | undefined): boolean {
  return Object.entries(filter ?? {}).some(
    ([key, value]) => value != null && value !== '' && !(key === 'programme' && value === false),
  );
}

/** The read-model document that answers a filter: one dimension at most, or the whole programme. */
export function scopeForFilter(filter: StatisticsFilter | null | undefined): string {
  const { programme, ...dimensions } = filter ?? {};
  const given = Object.entries(dimensions).filter(([, value]) => value != null && value !== '');
  if (programme === true) {
    if (given.length > 0)
      throw badUserInput(
        `filter.programme is the whole programme: not with ${given.map(([k]) => k).join(', ')}`,
        'filter',
      );
    return 'all';
  }
  if (given.length > 1) {
    throw badUserInput(
      `statistics takes at most one of memberState, countryOfOrigin, partner; got ${given.map(([k]) => k).join(', ')}`,
      'filter',
    );
  }
  if (given.length === 0) return 'all';
  const [key, value] = given[0]!;
  if (typeof value !== 'string' || !/^[A-Za-z0-9-]{1,40}$/.test(value)) {
    throw badUserInput(`filter.${key} is not a valid code`, 'filter');
  }
  const dimension = { memberState: 'memberState', countryOfOrigin: 'country', partner: 'partner' }[key];
  if (!dimension) throw badUserInput(`filter.${key} is not a statistics dimension`, 'filter');
  return `${dimension}:${value}`;
}

type Counters = Record<string, number>;
const num = (value: unknown) => (typeof value === 'number' ? value : 0);
const counts = (value: unknown) =>
  Object.entries((value ?? {}) as Counters)
    .filter(([, count]) => count > 0)
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));

/** Median from a histogram {day: count}. */
export function medianFromHistogram(histogram: Record<string, number>): number | null {
  const entries = Object.entries(histogram)
    .map(([day, count]) => [Number(day), count] as const)
    .filter(([, count]) => count > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return null;
  // Lower and upper middle for even totals, averaged.
  const lowerRank = Math.floor((total - 1) / 2);
  const upperRank = Math.floor(total / 2);
  let seen = 0;
  let lower: number | null = null;
  for (const [day, count] of entries) {
    if (lower === null && seen + count > lowerRank) lower = day;
    if (seen + count > upperRank) return (lower! + day) / 2;
    seen += count;
  }
  return lower;
}

/** The spans of a case's life (MilestoneSpan) and their counters in the read model (facts.ts, contribution). */
export const MILESTONE_SPANS = [
  ['INSERTION_TO_KM1', 'insertionToKm1'],
  ['DEPARTURE_TO_ARRIVAL', 'departureToArrival'],
  ['KM1_TO_KM2', 'acceptedToKm2'],
  ['ARRIVAL_TO_KM2', 'arrivalToKm2'],
  ['KM2_TO_KM3', 'km2ToKm3'],
] as const;

/** Shapes a read-model document (or none: an empty scope) into the GraphQL `Statistics`. */
export function presentStatistics(scope: string, doc: StatisticsDoc | null) {
  const d = (doc ?? {}) as Record<string, unknown>;
  const cases = num(d.cases);
  const durations = (d.durations ?? {}) as Record<
    string,
    { sum?: number; count?: number; days?: Record<string, number> }
  >;
  return {
    scope,
    totalCases: cases,
    totalReturnees: num(d.returnees),
    adults: num(d.adults),
    minors: num(d.minors),
    averageMainApplicantAge:
      num(d.mainApplicantAgeCount) > 0 ? num(d.mainApplicantAgeSum) / num(d.mainApplicantAgeCount) : null,
    averageFamilyComposition: cases > 0 ? num(d.returnees) / cases : null,
    casesByMemberState: counts(d.byMemberState),
    casesPerMonth: counts(d.byMonth).sort((a, b) => a.key.localeCompare(b.key)),
    casesByReturnType: counts(d.byReturnType),
    casesByPackage: counts(d.byPackage),
    casesByCountryOfOrigin: counts(d.byCountry),
    casesByPartner: counts(d.byPartner),
    casesByStatus: counts(d.byStatus),
    casesByVulnerability: counts(d.byVulnerability),
    milestoneDurations: MILESTONE_SPANS.map(([milestone, key]) => {
      const entry = durations[key] ?? {};
      const reached = num(entry.count);
      return {
        milestone,
        cases: reached,
        averageDays: reached > 0 ? num(entry.sum) / reached : null,
        medianDays: medianFromHistogram(entry.days ?? {}),
      };
    }),
    updatedAt: doc?.updatedAt ?? null,
  };
}

type ShownCount = { key: string; count: Shown; suppressed: boolean };
const BREAKDOWNS = [
  'casesByMemberState',
  'casesPerMonth',
  'casesByReturnType',
  'casesByPackage',
  'casesByCountryOfOrigin',
  'casesByPartner',
  'casesByStatus',
] as const;
/** Breakdowns whose counts add up to the number of cases (a case has several packages, or none). */
const ADD_UP_TO_CASES = new Set<string>(BREAKDOWNS.filter((name) => name !== 'casesByPackage'));

export type PresentedStatistics = Omit<ReturnType<typeof presentStatistics>, keyof StatisticsFigures> &
  StatisticsFigures & { [K in (typeof BREAKDOWNS)[number]]: ShownCount[] } & {
    casesByVulnerability: ShownCount[];
    suppressed: boolean;
    milestoneDurations: Array<StatisticsFigures['milestoneDurations'][number] & { suppressed: boolean }>;
  };

/**
 * The statistics a caller is served: exact (`threshold` null) or with small cells withheld
 * (suppression.ts; `known`: the reader's own Member State or partner, whose counts it knows).
 * Suppressed, each breakdown goes through suppressCounts with its total; the number of cases
 * is shown only when no breakdown that adds up to it withheld it; adults and minors go through
 * suppressCounts with the returnees as their total; averages and durations over fewer than
 * `threshold` cases are withheld.
 */
export function servedStatistics(
  scope: string,
  doc: StatisticsDoc | null,
  threshold: number | null,
  known: { memberState?: string | null; partner?: string | null } = {},
) {
  const exact = presentStatistics(scope, doc);
  const flag = (counts: Array<{ key: string; count: number }>): ShownCount[] =>
    counts.map((c) => ({ ...c, suppressed: false }));
  if (threshold === null) {
    const served: PresentedStatistics = {
      ...exact,
      suppressionApplied: false,
      threshold: null,
      suppressed: false,
      milestoneDurations: exact.milestoneDurations.map((m) => ({ ...m, suppressed: false })),
      ...(Object.fromEntries(BREAKDOWNS.map((name) => [name, flag(exact[name])])) as {
        [K in (typeof BREAKDOWNS)[number]]: ShownCount[];
      }),
      casesByVulnerability: flag(exact.casesByVulnerability),
    };
    return served;
  }
  const d = (doc ?? {}) as Record<string, unknown>;
  let casesShown = !isSmall(exact.totalCases, threshold);
  let withheld = casesShown ? 0 : 1;
  const breakdowns = {} as { [K in (typeof BREAKDOWNS)[number]]: ShownCount[] };
  for (const name of BREAKDOWNS) {
    const list = exact[name];
    // The reader's own Member State's or partner's count is known to it: it protects nothing.
    const own = name === 'casesByMemberState' ? known.memberState : name === 'casesByPartner' ? known.partner : null;
    const shown = suppressCounts(
      list.map((c) => c.count),
      threshold,
      new Set(own ? list.flatMap((c, i) => (c.key === own ? [i] : [])) : []),
    );
    if (ADD_UP_TO_CASES.has(name) && list.length > 0 && shown.total === null) casesShown = false;
    withheld += shown.withheld;
    breakdowns[name] = list.map((c, i) => ({
      key: c.key,
      count: shown.counts[i]!,
      suppressed: shown.counts[i] === null,
    }));
  }
  // Vulnerability codes (special-category data) do not add up to the cases: each code stands with
  // the cases without it, so a count is withheld when it, or the rest of the cases, is small.
  const vulnerability = exact.casesByVulnerability.map((c) => {
    const hide = isSmall(c.count, threshold) || isSmall(exact.totalCases - c.count, threshold);
    return { key: c.key, count: hide ? null : c.count, suppressed: hide };
  });
  withheld += vulnerability.filter((c) => c.suppressed).length;
  const people = suppressCounts([exact.adults, exact.minors], threshold);
  withheld += people.withheld;
  const enough = (n: number) => n >= threshold;
  const served: PresentedStatistics = {
    ...exact,
    ...breakdowns,
    casesByVulnerability: vulnerability,
    suppressionApplied: true,
    threshold,
    suppressed: withheld > 0 || !casesShown,
    totalCases: casesShown ? exact.totalCases : null,
    totalReturnees: people.total,
    adults: people.counts[0]!,
    minors: people.counts[1]!,
    averageMainApplicantAge: enough(num(d.mainApplicantAgeCount)) ? exact.averageMainApplicantAge : null,
    averageFamilyComposition: casesShown && people.total !== null ? exact.averageFamilyComposition : null,
    milestoneDurations: exact.milestoneDurations.map((m) =>
      isSmall(m.cases, threshold)
        ? { ...m, cases: null, averageDays: null, medianDays: null, suppressed: true }
        : { ...m, suppressed: false },
    ),
  };
  return served;
}
