import { describe, expect, it } from 'vitest';
import type { Package } from '../../shared/domain.js';
import {
  countsTowardObjective,
  disbursementRefusal,
  noEntitlementReason,
  paidByLine,
  targetCommitmentCents,
  type DisbursementCase,
  type DisbursementRequest,
  type PaidSoFar,
} from '../../subgraphs/finance/ledger/rules.js';

describe('who has an entitlement, what is committed, who counts towards the objective', () => {
  it.each<[string, string | null, boolean, string | null, number, boolean]>([
    // status, eligibility, accepted → no-entitlement reason, committed (entitlement 1000, paid 300), counts
    ['SUBMITTED', 'ELIGIBLE', false, null, 0, true],
    ['ACCEPTED', 'ELIGIBLE', true, null, 1_000, true],
    ['ACCEPTED', null, true, null, 1_000, true], // older events: no outcome, read as eligible
    ['ACCEPTED', 'ELIGIBILITY_LETTER_ONLY', true, null, 1_000, true],
    ['PLAN_APPROVED', 'ELIGIBLE', true, null, 1_000, true],
    ['CLOSED', 'INELIGIBLE', false, 'INELIGIBLE', 300, false],
    ['ACCEPTED', 'INELIGIBLE', true, 'INELIGIBLE', 300, false],
    ['WITHDRAWN', 'ELIGIBLE', true, 'WITHDRAWN', 300, false],
  ])('%s, %s, accepted %s', (status, eligibilityOutcome, accepted, reason, committed, counts) => {
    const facts = { status, eligibilityOutcome, accepted };
    expect(noEntitlementReason(facts)).toBe(reason);
    expect(targetCommitmentCents(facts, 1_000, 300)).toBe(committed);
    expect(countsTowardObjective(facts)).toBe(counts);
  });

  it('never commits less than was paid', () => {
    expect(targetCommitmentCents({ status: 'ACCEPTED', accepted: true }, 500, 700)).toBe(700);
  });
});

describe('a disbursement: per package, per line, in its window, for a case with an entitlement', () => {
  const base: DisbursementCase = {
    status: 'PLAN_APPROVED',
    eligibilityOutcome: 'ELIGIBLE',
    packages: ['POST_ARRIVAL', 'POST_RETURN'],
    entitlementByPackage: new Map<Package, number>([
      ['POST_ARRIVAL', 61_500],
      ['POST_RETURN', 100_000],
    ]),
    planLines: [
      { lineId: 'L1', package: 'POST_RETURN', budgetCents: 70_000, status: 'PLANNED' },
      { lineId: 'L2', package: 'POST_RETURN', budgetCents: 30_000, status: 'PLANNED' },
      { lineId: 'L3', package: 'POST_RETURN', budgetCents: 5_000, status: 'CANCELLED' },
    ],
    departureDate: '2024-03-01',
    arrivalDate: '2024-03-02',
    charterFlight: false,
  };
  const paid: PaidSoFar[] = [
    { package: 'POST_RETURN', planLineId: 'L1', amountCents: 60_000 },
    { package: 'POST_ARRIVAL', planLineId: null, amountCents: 60_000 },
  ];
  const req = (over: Partial<DisbursementRequest>): DisbursementRequest => ({
    package: 'POST_RETURN',
    planLineId: 'L1',
    date: '2024-05-01',
    amountCents: 1_000,
    ...over,
  });
  it.each<[string, Partial<DisbursementCase>, Partial<DisbursementRequest>, string | null, Record<string, unknown>?]>([
    ['within the line and the package', {}, {}, null],
    ['the rest of a line exactly', {}, { amountCents: 10_000 }, null],
    [
      'one cent over the line',
      {},
      { amountCents: 10_001 },
      'PLAN_LINE_BUDGET_EXCEEDED',
      { lineId: 'L1', budgetCents: 70_000, paidCents: 60_000 },
    ],
    ['post-return without a line', {}, { planLineId: null }, 'PLAN_LINE_REQUIRED'],
    [
      'a line of another package',
      {},
      { package: 'POST_ARRIVAL', planLineId: 'L1', date: '2024-03-02' },
      'PLAN_LINE_NOT_FOUND',
    ],
    ['a cancelled line', {}, { planLineId: 'L3' }, 'PLAN_LINE_NOT_FOUND'],
    ['no approved plan', { planLines: null }, {}, 'PLAN_LINE_NOT_FOUND'],
    // Post-arrival money is capped by its own package: the plan does not itemise it here.
    [
      'post-arrival rest',
      {},
      { package: 'POST_ARRIVAL', planLineId: null, date: '2024-03-04', amountCents: 1_500 },
      null,
    ],
    [
      'post-arrival over its package',
      {},
      { package: 'POST_ARRIVAL', planLineId: null, date: '2024-03-04', amountCents: 1_501 },
      'ENTITLEMENT_EXCEEDED',
      { package: 'POST_ARRIVAL', entitlementCents: 61_500, paidCents: 60_000 },
    ],
    [
      'post-arrival after its 3 days',
      {},
      { package: 'POST_ARRIVAL', planLineId: null, date: '2024-03-05' },
      'POST_ARRIVAL_WINDOW_CLOSED',
    ],
    ['post-return after 12 months', {}, { date: '2025-03-02' }, 'POST_RETURN_WINDOW_CLOSED'],
    ['before departure', {}, { date: '2024-02-01' }, 'BEFORE_WINDOW_OPENS'],
    // Assistance after arrival cannot be paid before the arrival is reported: its window has not opened.
    [
      'post-arrival before the arrival is reported',
      { status: 'ACCEPTED', arrivalDate: null, planLines: null },
      { package: 'POST_ARRIVAL', planLineId: null, date: '2024-03-02' },
      'BEFORE_WINDOW_OPENS',
      { package: 'POST_ARRIVAL', boundary: null },
    ],
    [
      'charter arrival before the arrival is reported',
      {
        status: 'SUBMITTED',
        packages: ['CHARTER_ARRIVAL'],
        planLines: null,
        charterFlight: true,
        arrivalDate: null,
        entitlementByPackage: new Map<Package, number>([['CHARTER_ARRIVAL', 20_500]]),
      },
      { package: 'CHARTER_ARRIVAL', planLineId: null, date: '2024-03-02', amountCents: 20_500 },
      'BEFORE_WINDOW_OPENS',
    ],
    [
      'post-return before the departure is recorded',
      { departureDate: null },
      {},
      'BEFORE_WINDOW_OPENS',
      { package: 'POST_RETURN', boundary: null },
    ],
    [
      'a package the case did not request',
      {},
      { package: 'CHARTER_ARRIVAL', planLineId: null },
      'PACKAGE_NOT_REQUESTED',
    ],
    ['an ineligible case', { eligibilityOutcome: 'INELIGIBLE' }, {}, 'NO_ENTITLEMENT', { reason: 'INELIGIBLE' }],
    ['a withdrawn case', { status: 'WITHDRAWN' }, {}, 'NO_ENTITLEMENT', { reason: 'WITHDRAWN' }],
    [
      'a charter-only case without a plan, by package',
      {
        packages: ['CHARTER_ARRIVAL'],
        planLines: null,
        charterFlight: true,
        entitlementByPackage: new Map<Package, number>([['CHARTER_ARRIVAL', 20_500]]),
      },
      { package: 'CHARTER_ARRIVAL', planLineId: null, date: '2024-03-02', amountCents: 20_500 },
      null,
    ],
  ])('%s → %s', (_name, over, request, code, details) => {
    const refusal = disbursementRefusal({ ...base, ...over }, req(request), paid);
    expect(refusal?.code ?? null).toBe(code);
    if (details) expect(refusal).toMatchObject(details);
  });

  it('paid per line, in line order', () => {
    expect(
      paidByLine([
        { package: 'POST_RETURN', planLineId: 'L10', amountCents: 1 },
        { package: 'POST_RETURN', planLineId: 'L2', amountCents: 2 },
        { package: 'POST_RETURN', planLineId: 'L2', amountCents: 3 },
        { package: 'POST_ARRIVAL', planLineId: null, amountCents: 4 },
      ]),
    ).toEqual([
      { lineId: 'L2', paidCents: 5 },
      { lineId: 'L10', paidCents: 1 },
    ]);
  });
});
