import { describe, expect, it } from 'vitest';
import type { Package } from '../../shared/domain.js';
import {
  approvedPlanLines,
  checkPlanLines,
  deliveryProblem,
  entitlementByPackage,
  linesOf,
  nextPlanLines,
  PLAN_MAX_STORED_BYTES,
  planExceedsEntitlement,
  planStorageProblem,
  planTotalCents,
  servicesOf,
  versionLimitProblem,
  type PlanLineDoc,
  type PlanLineInput,
} from '../../subgraphs/cases/case/plan.js';
import { computeEntitlement, PROGRAMME_TARIFFS } from '../../subgraphs/finance/tariffs/rules.js';

const line = (over: Partial<PlanLineInput> = {}): PlanLineInput => ({
  package: 'POST_RETURN',
  category: 'BUSINESS_START_UP',
  description: 'Shop equipment',
  budgetCents: 50_000,
  provider: 'weldo',
  ...over,
});
const stored = (over: Partial<PlanLineDoc> = {}): PlanLineDoc => ({
  lineId: 'L1',
  package: 'POST_RETURN',
  category: 'BUSINESS_START_UP',
  description: 'Shop equipment',
  budgetCents: 50_000,
  provider: 'weldo',
  status: 'PLANNED',
  deliveries: [],
  ...over,
});
const delivered = { date: '2024-04-01', provider: 'weldo', evidenceReference: 'INV-1', recordedAt: new Date(0) };

describe('plan lines: shape and bounds', () => {
  const both: Package[] = ['POST_ARRIVAL', 'POST_RETURN'];
  it.each<[string, PlanLineInput[], string | null, string | undefined]>([
    ['one valid line', [line()], null, undefined],
    [
      'a post-arrival line with a post-arrival service',
      [line({ package: 'POST_ARRIVAL', category: 'AIRPORT_RECEPTION' })],
      null,
      undefined,
    ],
    ['no lines', [], 'BAD_USER_INPUT', 'plan.lines'],
    ['51 lines', Array.from({ length: 51 }, () => line({ budgetCents: 1 })), 'BAD_USER_INPUT', 'plan.lines'],
    ['a zero budget', [line({ budgetCents: 0 })], 'BAD_USER_INPUT', 'plan.lines.0.budgetCents'],
    ['a negative budget', [line({ budgetCents: -5 })], 'BAD_USER_INPUT', 'plan.lines.0.budgetCents'],
    ['a fractional budget', [line({ budgetCents: 10.5 })], 'BAD_USER_INPUT', 'plan.lines.0.budgetCents'],
    ['a huge budget', [line({ budgetCents: 1e12 })], 'BAD_USER_INPUT', 'plan.lines.0.budgetCents'],
    ['a blank description', [line({ description: '   ' })], 'BAD_USER_INPUT', 'plan.lines.0.description'],
    [
      'a 1001-character description',
      [line({ description: 'x'.repeat(1001) })],
      'BAD_USER_INPUT',
      'plan.lines.0.description',
    ],
    ['a 201-character provider', [line({ provider: 'p'.repeat(201) })], 'BAD_USER_INPUT', 'plan.lines.0.provider'],
    [
      'a post-arrival service on post-return',
      [line({ category: 'AIRPORT_RECEPTION' })],
      'BAD_USER_INPUT',
      'plan.lines.0.category',
    ],
    ['an operator as category', [line({ category: '{"$gt":""}' })], 'BAD_USER_INPUT', 'plan.lines.0.category'],
    ['a malformed lineId', [line({ lineId: 'L1; drop' })], 'BAD_USER_INPUT', 'plan.lines.0.lineId'],
    ['a lineId twice', [line({ lineId: 'L1' }), line({ lineId: 'L1' })], 'BAD_USER_INPUT', 'plan.lines.1.lineId'],
    [
      'a package the case did not request',
      [line({ package: 'CHARTER_ARRIVAL', category: 'CASH' })],
      'PACKAGE_NOT_REQUESTED',
      'plan.lines.0.package',
    ],
  ])('%s → %s', (_name, lines, code, field) => {
    const problem = checkPlanLines(lines, both);
    expect(problem?.code ?? null).toBe(code);
    expect(problem?.field).toBe(field);
  });
});

describe('a plan within its entitlement, package by package', () => {
  // A forced single returner: 1,000 EUR post-return, 615 EUR post-arrival.
  const forcedSingle = entitlementByPackage(
    computeEntitlement(
      { packages: ['POST_ARRIVAL', 'POST_RETURN'], returnType: 'FORCED', familySize: 1, referenceDate: '2024-05-01' },
      PROGRAMME_TARIFFS,
    ).lines,
  );
  it.each<
    [string, Array<Partial<PlanLineDoc>>, null | { package: string; entitlementCents: number; plannedCents: number }]
  >([
    ['exactly the entitlement', [{ budgetCents: 100_000 }], null],
    [
      '1,500 EUR on a 1,000 EUR entitlement',
      [{ budgetCents: 150_000 }],
      { package: 'POST_RETURN', entitlementCents: 100_000, plannedCents: 150_000 },
    ],
    [
      'two lines one cent over',
      [{ budgetCents: 60_000 }, { budgetCents: 40_001 }],
      { package: 'POST_RETURN', entitlementCents: 100_000, plannedCents: 100_001 },
    ],
    ['a cancelled line does not count', [{ budgetCents: 100_000 }, { budgetCents: 90_000, status: 'CANCELLED' }], null],
    // Post-arrival money is not post-return money: each package on its own.
    [
      'post-arrival over its own 615 EUR',
      [{ budgetCents: 100_000 }, { package: 'POST_ARRIVAL', budgetCents: 61_501 }],
      { package: 'POST_ARRIVAL', entitlementCents: 61_500, plannedCents: 61_501 },
    ],
    [
      'a package without entitlement',
      [{ package: 'CHARTER_ARRIVAL', budgetCents: 1 }],
      { package: 'CHARTER_ARRIVAL', entitlementCents: 0, plannedCents: 1 },
    ],
  ])('%s', (_name, lines, exceeded) => {
    const problem = planExceedsEntitlement(
      lines.map((l) => stored(l)),
      forcedSingle,
    );
    expect(problem?.details ?? null).toEqual(exceeded);
    if (exceeded) {
      expect(problem!.code).toBe('PLAN_EXCEEDS_ENTITLEMENT');
      expect(problem!.message).toContain(String(exceeded.entitlementCents));
    }
  });
});

describe('amendments: versions keep line ids; delivered lines stay', () => {
  it('a first plan numbers its lines L1, L2, ...', () => {
    const next = nextPlanLines([line(), line({ category: 'JOB_PLACEMENT' })], null);
    expect('lines' in next && next.lines.map((l) => [l.lineId, l.status])).toEqual([
      ['L1', 'PLANNED'],
      ['L2', 'PLANNED'],
    ]);
  });

  const previous = [stored({ lineId: 'L1', deliveries: [delivered], status: 'DELIVERED' }), stored({ lineId: 'L2' })];
  it.each<[string, PlanLineInput[], string | null, Array<[string, string, number]> | null]>([
    [
      'keeps a delivered line, raises its budget, drops an undelivered one (cancelled), adds a new one',
      [line({ lineId: 'L1', budgetCents: 60_000 }), line({ category: 'CASH', budgetCents: 1_000 })],
      null,
      [
        ['L1', 'DELIVERED', 60_000],
        ['L3', 'PLANNED', 1_000],
        ['L2', 'CANCELLED', 50_000],
      ],
    ],
    ['removing a delivered line', [line({ lineId: 'L2' })], 'PLAN_LINE_DELIVERED', null],
    [
      'cutting a delivered line',
      [line({ lineId: 'L1', budgetCents: 49_999 }), line({ lineId: 'L2' })],
      'PLAN_LINE_DELIVERED',
      null,
    ],
    [
      'moving a delivered line to another package',
      [line({ lineId: 'L1', package: 'POST_ARRIVAL', category: 'CASH' }), line({ lineId: 'L2' })],
      'PLAN_LINE_DELIVERED',
      null,
    ],
    ['naming a line the plan does not have', [line({ lineId: 'L9' })], 'PLAN_LINE_NOT_FOUND', null],
  ])('%s', (_name, submitted, code, expected) => {
    const next = nextPlanLines(submitted, previous);
    if (code) {
      expect('problem' in next && next.problem.code).toBe(code);
    } else {
      expect('lines' in next && next.lines.map((l) => [l.lineId, l.status, l.budgetCents])).toEqual(expected);
      // Deliveries travel with their line.
      expect('lines' in next && next.lines[0]!.deliveries).toEqual([delivered]);
    }
  });

  it.each([
    [0, false, null],
    [18, true, null],
    [19, true, 'BAD_USER_INPUT'],
    [25, true, 'BAD_USER_INPUT'],
  ])('with %i earlier versions (current: %s) a new version is %s', (kept, current, code) => {
    expect(versionLimitProblem(kept, current)?.code ?? null).toBe(code);
  });

  it('totals and the legacy services view leave cancelled lines out', () => {
    const lines = [
      stored({ budgetCents: 10 }),
      stored({ lineId: 'L2', budgetCents: 20, status: 'CANCELLED' }),
      stored({ lineId: 'L3', package: 'POST_ARRIVAL', category: 'CASH', budgetCents: 5 }),
    ];
    expect(planTotalCents(lines)).toBe(15);
    expect(servicesOf(lines)).toEqual([
      { category: 'BUSINESS_START_UP', description: 'Shop equipment', amountCents: 10 },
    ]);
  });

  it('a plan stored before lines existed reads as POST_RETURN lines', () => {
    expect(
      linesOf({ services: [{ category: 'CASH', description: 'd', amountCents: 7 }] }).map((l) => [l.lineId, l.package]),
    ).toEqual([['L1', 'POST_RETURN']]);
  });

  it('money follows the last approved version while an amendment waits or after it was rejected', () => {
    const v1 = { lines: [stored()], decidedAt: new Date(1), rejectionReason: null };
    const pending = { lines: [stored({ budgetCents: 1 })], decidedAt: null, rejectionReason: null };
    const rejected = { ...pending, decidedAt: new Date(2), rejectionReason: 'no' };
    expect(approvedPlanLines(v1, [])?.[0]?.budgetCents).toBe(50_000);
    expect(approvedPlanLines(pending, [v1])?.[0]?.budgetCents).toBe(50_000);
    expect(approvedPlanLines(rejected, [v1])?.[0]?.budgetCents).toBe(50_000);
    expect(approvedPlanLines(pending, [])).toBeNull();
    expect(approvedPlanLines(null, null)).toBeNull();
  });
});

describe('service delivery on a line, inside its window', () => {
  const lines = [
    stored(),
    stored({ lineId: 'L2', package: 'POST_ARRIVAL', category: 'AIRPORT_RECEPTION' }),
    stored({ lineId: 'L3', status: 'CANCELLED' }),
  ];
  const facts = {
    departureDate: '2024-03-01',
    arrivalDate: '2024-03-02',
    charterFlight: false,
    requestWindowMonths: 6,
  };
  const ok = { lineId: 'L1', date: '2024-06-01', provider: 'weldo', evidenceReference: 'INV-7' };
  it.each<[string, Partial<typeof ok>, string | null]>([
    ['a post-return line inside 12 months', {}, null],
    ['on the last post-return day', { date: '2025-03-01' }, null],
    ['a day after 12 months', { date: '2025-03-02' }, 'POST_RETURN_WINDOW_CLOSED'],
    ['before departure', { date: '2024-02-28' }, 'BEFORE_WINDOW_OPENS'],
    ['post-arrival on its third day', { lineId: 'L2', date: '2024-03-04' }, null],
    ['post-arrival on its fourth day', { lineId: 'L2', date: '2024-03-05' }, 'POST_ARRIVAL_WINDOW_CLOSED'],
    ['a cancelled line', { lineId: 'L3' }, 'PLAN_LINE_NOT_FOUND'],
    ['an unknown line', { lineId: 'L99' }, 'PLAN_LINE_NOT_FOUND'],
    ['in the future', { date: '2030-01-01' }, 'BAD_USER_INPUT'],
    ['not a date', { date: '2024-02-30' }, 'BAD_USER_INPUT'],
    ['no evidence', { evidenceReference: ' ' }, 'BAD_USER_INPUT'],
    ['oversized evidence', { evidenceReference: 'e'.repeat(201) }, 'BAD_USER_INPUT'],
    ['oversized provider', { provider: 'p'.repeat(201) }, 'BAD_USER_INPUT'],
  ])('%s → %s', (_name, over, code) => {
    expect(deliveryProblem({ ...ok, ...over }, lines, facts, '2026-01-01')?.code ?? null).toBe(code);
  });

  it('a charter arrival has one day', () => {
    const charter = { ...facts, charterFlight: true };
    const input = { ...ok, lineId: 'L2', date: '2024-03-03' };
    expect(deliveryProblem(input, lines, charter, '2026-01-01')).toMatchObject({
      code: 'POST_ARRIVAL_WINDOW_CLOSED',
      details: { boundary: '2024-03-02' },
    });
  });
});

describe("what a case's plans take in the store", () => {
  it('refuses past PLAN_MAX_STORED_BYTES, by name, on the plan', () => {
    expect(planStorageProblem(PLAN_MAX_STORED_BYTES)).toBeNull();
    expect(planStorageProblem(PLAN_MAX_STORED_BYTES + 1)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'plan' });
  });
});
