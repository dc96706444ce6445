import { badUserInput } from '../../../shared/errors.js';
import type { StatisticsDoc } from '../case/models.js';

export interface StatisticsFilter {
  memberState?: string | null;
  countryOfOrigin?: string | null;
  partner?: string | null;
}

/** The read-model document that answers a filter: one dimension at most, or the whole programme. */
export function scopeForFilter(filter: StatisticsFilter | null | undefined): string {
  const given = Object.entries(filter ?? {}).filter(([, value]) => value != null && value !== '');
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
