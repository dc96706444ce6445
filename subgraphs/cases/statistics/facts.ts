import type { CaseEventFacts } from '../../../shared/case-events/index.js';
import type { CaseStatus } from '../../../shared/domain.js';
import type { CaseDoc, HistoryEntry, MilestonesDoc, PersonDoc } from '../case/models.js';
import { approvedPlanLines } from '../case/plan.js';
import { caseVulnerabilityCodes } from '../../../shared/vulnerability.js';
import { crossTabContribution } from './crosstab.js';

/**
 * What a case contributes to the programme statistics: the facts every case event carries
 * (shared/case-events/contract.ts). The statistics read model is the sum of every case's contribution.
 */
export type StatsFacts = CaseEventFacts;

const DAY = 86_400_000;
const PAST_ACCEPTANCE: ReadonlySet<CaseStatus> = new Set([
  'ACCEPTED',
  'ARRIVED',
  'PLAN_SUBMITTED',
  'PLAN_REJECTED',
  'PLAN_APPROVED',
  'COMPLETION_REPORTED',
  'COMPLETED',
]);

/** Whole years between a birth date and a day, both YYYY-MM-DD. */
export function ageOn(dateOfBirth: string, on: string): number {
  const [by, bm, bd] = dateOfBirth.split('-').map(Number) as [number, number, number];
  const [oy, om, od] = on.split('-').map(Number) as [number, number, number];
  return oy - by - (om < bm || (om === bm && od < bd) ? 1 : 0);
}

const days = (from: Date | string | null | undefined, to: Date | string | null | undefined) =>
  from && to ? Math.max(0, Math.round((new Date(to).getTime() - new Date(from).getTime()) / DAY)) : null;

/** When the case reached `status`: the last step that changed it (insertion when none did). */
export function statusSince(
  history: ReadonlyArray<Pick<HistoryEntry, 'from' | 'to' | 'at'>>,
  status: CaseStatus,
  createdAt: Date,
): Date {
  for (let i = history.length - 1; i >= 0; i--) {
    const entry = history[i]!;
    if (entry.to !== status) break;
    if (entry.from !== entry.to) return new Date(entry.at);
  }
  return createdAt;
}

export function factsOf(
  doc: Pick<
    CaseDoc,
    | 'memberState'
    | 'countryOfOrigin'
    | 'partnerId'
    | 'status'
    | 'returnType'
    | 'packages'
    | 'departureDate'
    | 'createdAt'
    | 'mainApplicant'
    | 'familyMembers'
    | 'familySize'
    | 'milestones'
    | 'history'
  > &
    Partial<
      Pick<
        CaseDoc,
        | 'erasure'
        | 'windowFlags'
        | 'eligibility'
        | 'arrivalDate'
        | 'charterFlight'
        | 'reintegrationPlan'
        | 'reintegrationPlanVersions'
      >
    >,
): StatsFacts {
  const reference = doc.departureDate ?? new Date(doc.createdAt ?? Date.now()).toISOString().slice(0, 10);
  const people: PersonDoc[] = [doc.mainApplicant, ...(doc.familyMembers ?? [])].filter((p): p is PersonDoc =>
    Boolean(p?.dateOfBirth),
  );
  // After erasure the facts kept with it stand in for the birth dates, so statistics do not move.
  const retained = doc.erasure?.retained;
  const minors = retained ? retained.minors : people.filter((p) => ageOn(p.dateOfBirth, reference) < 18).length;
  const returnees = Math.max(doc.familySize, people.length);
  const milestones: Partial<MilestonesDoc> = doc.milestones ?? {};
  // Entries can be missing (null) in cases stored before feed updates were recorded in the history.
  const history = (doc.history ?? []).filter((h): h is NonNullable<typeof h> => h != null);
  const createdAt = new Date(doc.createdAt ?? Date.now());
  return {
    memberState: doc.memberState,
    countryOfOrigin: doc.countryOfOrigin,
    partnerId: doc.partnerId ?? null,
    status: doc.status,
    returnType: doc.returnType,
    packages: [...new Set(doc.packages)],
    month: reference.slice(0, 7),
    departureDate: doc.departureDate ?? null,
    returnees,
    adults: returnees - minors,
    minors,
    mainApplicantAge: retained
      ? retained.mainApplicantAge
      : doc.mainApplicant?.dateOfBirth
        ? ageOn(doc.mainApplicant.dateOfBirth, reference)
        : null,
    accepted: PAST_ACCEPTANCE.has(doc.status) || history.some((h) => h.transition === 'acceptCase'),
    daysToKm1: days(createdAt, milestones.km1At),
    daysKm1ToKm2: days(milestones.km1At, milestones.km2At),
    daysKm2ToKm3: days(milestones.km2At, milestones.km3At),
    daysToArrival: days(doc.departureDate, milestones.arrivedAt),
    daysArrivalToKm2: days(milestones.arrivedAt, milestones.km2At),
    arrivalDate: doc.arrivalDate ?? null,
    charterFlight: doc.charterFlight ?? false,
    insertedOn: createdAt.toISOString().slice(0, 10),
    statusSince: statusSince(history, doc.status, createdAt).toISOString(),
    requestWindowMonths: doc.eligibility?.requestWindowMonths ?? null,
    planRejections: history.filter((h) => h.transition === 'rejectReintegrationPlan').length,
    planApprovals: history.filter((h) => h.transition === 'approveReintegrationPlan').length,
    windowFlags: (doc.windowFlags ?? []).map((flag) => flag.code),
    eligibilityOutcome: doc.eligibility?.outcome ?? null,
    planLines: approvedPlanLines(doc.reintegrationPlan, doc.reintegrationPlanVersions),
    // Vulnerability codes (#16): distinct per case. Special-category data: erasure removes them with the
    // persons and keeps none, so an erased case no longer counts under any code (the one figure erasure moves).
    vulnerabilityCodes: caseVulnerabilityCodes([doc.mainApplicant, ...(doc.familyMembers ?? [])]),
  };
}

/** The counters a case adds to a statistics document (paths for `$inc`). */
export function contribution(facts: StatsFacts): Record<string, number> {
  const c: Record<string, number> = {
    cases: 1,
    returnees: facts.returnees,
    adults: facts.adults,
    minors: facts.minors,
    [`byMemberState.${facts.memberState}`]: 1,
    [`byCountry.${facts.countryOfOrigin}`]: 1,
    [`byMonth.${facts.month}`]: 1,
    [`byReturnType.${facts.returnType}`]: 1,
    [`byStatus.${facts.status}`]: 1,
    [`byPartner.${facts.partnerId ?? 'UNASSIGNED'}`]: 1,
    accepted: facts.accepted ? 1 : 0,
    planRejections: facts.planRejections,
    planApprovals: facts.planApprovals,
    completed: facts.status === 'COMPLETED' ? 1 : 0,
  };
  for (const pkg of facts.packages) c[`byPackage.${pkg}`] = 1;
  // Cases with each vulnerability code (#16): distinct codes per case, absent in older events.
  for (const code of new Set(facts.vulnerabilityCodes ?? [])) c[`byVulnerability.${code}`] = 1;
  // Window flags (late reports), per code: the data-quality figure reads them per Member State.
  for (const code of facts.windowFlags ?? []) c[`windowFlags.${code}`] = (c[`windowFlags.${code}`] ?? 0) + 1;
  if (facts.mainApplicantAge !== null) {
    c.mainApplicantAgeSum = facts.mainApplicantAge;
    c.mainApplicantAgeCount = 1;
  }
  // Counter names of spans whose meaning changed with the key moments (KM1 = the application)
  // are new: `toKm1` and `km1ToKm2` of earlier versions measured from arrival (upgradeKeyMoments rebuilds).
  for (const [name, value] of [
    ['insertionToKm1', facts.daysToKm1],
    ['acceptedToKm2', facts.daysKm1ToKm2],
    ['km2ToKm3', facts.daysKm2ToKm3],
    ['departureToArrival', facts.daysToArrival],
    ['arrivalToKm2', facts.daysArrivalToKm2],
  ] as const) {
    if (value === null || value === undefined) continue;
    c[`durations.${name}.sum`] = value;
    c[`durations.${name}.count`] = 1;
    // Histogram by day (capped at 730) for medians.
    c[`durations.${name}.days.${Math.min(value, 730)}`] = 1;
  }
  // Pair counters for cross tabulation (crosstab.ts): every pair of dimensions, cases and returnees.
  Object.assign(c, crossTabContribution(facts));
  return c;
}

/** The statistics documents a case counts in: the whole programme and its three dimensions. */
export function scopesOf(facts: StatsFacts): string[] {
  return [
    'all',
    `memberState:${facts.memberState}`,
    `country:${facts.countryOfOrigin}`,
    ...(facts.partnerId ? [`partner:${facts.partnerId}`] : []),
  ];
}

/** `$inc` per scope that turns the contribution of `before` into that of `after` (zero entries dropped). */
export function statisticsDelta(
  before: StatsFacts | null,
  after: StatsFacts | null,
): Map<string, Record<string, number>> {
  const result = new Map<string, Record<string, number>>();
  const add = (facts: StatsFacts, sign: 1 | -1) => {
    const counters = contribution(facts);
    for (const scope of scopesOf(facts)) {
      const inc = result.get(scope) ?? {};
      for (const [path, value] of Object.entries(counters)) inc[path] = (inc[path] ?? 0) + sign * value;
      result.set(scope, inc);
    }
  };
  if (before) add(before, -1);
  if (after) add(after, 1);
  for (const [scope, inc] of result) {
    for (const [path, value] of Object.entries(inc)) if (value === 0) delete inc[path];
    if (Object.keys(inc).length === 0) result.delete(scope);
  }
  return result;
}

/** Adds counters into a plain nested document (for building read models in memory). */
export function addInto(target: Record<string, unknown>, inc: Record<string, number>): void {
  for (const [path, value] of Object.entries(inc)) {
    const parts = path.split('.');
    let node = target;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    const leaf = parts.at(-1)!;
    node[leaf] = ((node[leaf] as number | undefined) ?? 0) + value;
  }
}
