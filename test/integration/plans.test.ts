import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, type Principal } from '../../shared/auth.js';
import type { Package, ReturnType } from '../../shared/domain.js';
import { casesModels, type EligibilityDoc } from '../../subgraphs/cases/case/models.js';
import { ledgerModels } from '../../subgraphs/finance/ledger/models.js';
import { startTestSystem, type GraphQLBody, type TestSystem } from '../helpers/system.js';

const PLAN_FIELDS =
  'id status version reintegrationPlan { version totalCents services { category amountCents } lines { lineId ' +
  'package category description budgetCents provider status deliveredOn deliveries { date provider ' +
  'evidenceReference } } } reintegrationPlanVersions { version decidedAt lines { lineId budgetCents status } }';

interface LineView {
  lineId: string;
  package: string;
  category: string;
  description: string | null;
  budgetCents: number;
  provider: string | null;
  status: string;
  deliveredOn: string | null;
  deliveries: Array<{ date: string; provider: string; evidenceReference: string }>;
}
interface PlanCase {
  id: string;
  status: string;
  version: number;
  reintegrationPlan: {
    version: number;
    totalCents: number;
    services: Array<{ category: string; amountCents: number }>;
    lines: LineView[];
  } | null;
  reintegrationPlanVersions: Array<{
    version: number;
    decidedAt: string | null;
    lines: Array<{ lineId: string; budgetCents: number; status: string }>;
  }>;
}

describe('itemised plans within the entitlement, amendments, delivery and money per line, through the gateway', () => {
  let system: TestSystem;
  const tokens: Record<string, string> = {};
  const principals: Record<string, Principal> = {
    belgium: { subject: 'be-officer', role: 'MEMBER_STATE', memberState: 'BE' },
    weldo: { subject: 'weldo-case-worker', role: 'PARTNER', partnerId: 'weldo' },
    irara: { subject: 'irara-case-worker', role: 'PARTNER', partnerId: 'irara' },
  };

  const settle = async () => {
    const last = (
      await system.redis.xrevrange(`${system.config.QUEUE_PREFIX}:case-events`, '+', '-', 'COUNT', 1)
    )[0]?.[0];
    const projection = ledgerModels(system.connections.finance).Projection;
    for (let i = 0; i < 200 && last; i++) {
      if ((await projection.findOne({ _id: 'finance' }).lean().exec())?.lastEventId === last) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  async function newCase(
    over: {
      packages?: Package[];
      returnType?: ReturnType;
      charterFlight?: boolean;
      familySize?: number;
      eligibility?: EligibilityDoc;
    } = {},
  ): Promise<string> {
    const { Case } = casesModels(system.connections.cases);
    const doc = await Case.create({
      memberState: 'BE',
      caseReference: `BE-P-${Math.random().toString(36).slice(2, 10)}`,
      returnType: over.returnType ?? 'FORCED',
      charterFlight: over.charterFlight ?? false,
      packages: over.packages ?? ['POST_ARRIVAL', 'POST_RETURN'],
      countryOfOrigin: 'AF',
      partnerId: 'weldo',
      status: 'SUBMITTED',
      mainApplicant: { name: 'Ahmad Rahimi', dateOfBirth: '1990-01-01', sex: 'MALE' },
      familySize: over.familySize ?? 1,
      departureDate: '2024-03-01',
      ...(over.eligibility ? { eligibility: over.eligibility } : {}),
    });
    return doc._id.toHexString();
  }

  const as = async <T = Record<string, PlanCase>>(
    who: string,
    query: string,
    variables: Record<string, unknown>,
  ): Promise<GraphQLBody<T>> =>
    (await system.graphql<T>(query, variables, { authorization: `Bearer ${tokens[who]}` })).body;

  const accept = `mutation($id: ID!) { acceptCase(caseId: $id) { status } }`;
  const arrive =
    `mutation($id: ID!) { reportArrival(caseId: $id, report: { arrivalDate: "2024-03-02", ` +
    `postArrivalServices: [AIRPORT_RECEPTION] }) { status } }`;
  const planStep = (name: string) =>
    `mutation($id: ID!, $p: ReintegrationPlanInput!) { ${name}(caseId: $id, plan: $p) { ${PLAN_FIELDS} } }`;
  const submit = planStep('submitReintegrationPlan');
  const amend = planStep('amendReintegrationPlan');
  const approve = `mutation($id: ID!) { approveReintegrationPlan(caseId: $id) { ${PLAN_FIELDS} } }`;
  const deliver =
    `mutation($id: ID!, $d: ServiceDeliveryInput!) { reportServiceDelivery(caseId: $id, delivery: $d) ` +
    `{ ${PLAN_FIELDS} } }`;
  const pay =
    `mutation($id: ID!, $p: Package!, $l: ID, $d: Date!, $a: Cents!) { recordDisbursement(caseId: $id, kind: CASH, ` +
    `package: $p, planLineId: $l, date: $d, amountCents: $a) { seq planLineId amountCents } }`;
  const money =
    `query($id: ID!) { case(id: $id) { status entitlement { totalCents noEntitlementReason lines { package ` +
    `amountCents } } commitment { amountCents } disbursedCents paidByPlanLine { lineId paidCents } ` +
    `reintegrationPlan { lines { lineId budgetCents deliveredOn } } } }`;
  interface MoneyView {
    case: {
      status: string;
      entitlement: { totalCents: number; noEntitlementReason: string | null };
      commitment: { amountCents: number } | null;
      disbursedCents: number;
      paidByPlanLine: Array<{ lineId: string; paidCents: number }>;
      reintegrationPlan: { lines: Array<{ lineId: string; budgetCents: number; deliveredOn: string | null }> } | null;
    };
  }
  const committedThisYear = async () =>
    (
      await as<{ financeSummary: { committedCents: number } }>(
        'desk',
        `query($y: Int!) { financeSummary(year: $y) { committedCents } }`,
        { y: new Date().getUTCFullYear() },
      )
    ).data!.financeSummary.committedCents;

  beforeAll(async () => {
    system = await startTestSystem();
    for (const [key, principal] of Object.entries(principals)) tokens[key] = await mintToken(principal, system.config);
    tokens.desk = await mintToken({ subject: 'desk', role: 'SUPPORT_DESK' }, system.config);
  });
  afterAll(async () => {
    await system?.stop();
  });

  /** A forced single returner's case (1,000 EUR post-return, 615 EUR post-arrival), accepted and arrived. */
  async function arrivedCase(): Promise<string> {
    const id = await newCase();
    expect((await as('weldo', accept, { id })).errors).toBeUndefined();
    expect((await as('weldo', arrive, { id })).errors).toBeUndefined();
    return id;
  }

  const line = (over: Record<string, unknown> = {}) => ({
    package: 'POST_RETURN',
    category: 'BUSINESS_START_UP',
    description: 'Shop equipment',
    budgetCents: 60_000,
    provider: 'weldo',
    ...over,
  });

  it('plans amended at full size stay within what the store holds: refused by name, never a failure', async () => {
    const id = await arrivedCase();
    // 50 lines of 1,000 three-byte characters, every line new each time (the previous ones kept, cancelled).
    const full = { lines: Array.from({ length: 50 }, () => line({ budgetCents: 1, description: '界'.repeat(1_000) })) };
    let refused: Record<string, unknown> | undefined;
    for (let version = 1; version <= 20 && !refused; version++) {
      const body = await as('weldo', version === 1 ? submit : amend, { id, p: full });
      if (body.errors) {
        refused = body.errors[0]!.extensions;
        break;
      }
      expect((await as('belgium', approve, { id })).errors).toBeUndefined();
    }
    expect(refused).toMatchObject({ code: 'BAD_USER_INPUT', field: 'plan' });
    // The case still reads, and its partner can still amend within the bound.
    const view = await as('weldo', `query($id: ID!) { case(id: $id) { status reintegrationPlan { version } } }`, {
      id,
    });
    expect(view.errors).toBeUndefined();
    expect(view.data!.case!.status).toBe('PLAN_APPROVED');
  }, 120_000);

  it('refuses plans over a package entitlement, for a package the case lacks, or malformed', async () => {
    const id = await arrivedCase();
    // The demo's forced single-person plan: 1,500 EUR on a 1,000 EUR entitlement.
    const over = await as('weldo', submit, { id, p: { lines: [line({ budgetCents: 150_000 })] } });
    expect(over.errors![0]!.extensions).toMatchObject({
      code: 'PLAN_EXCEEDS_ENTITLEMENT',
      package: 'POST_RETURN',
      entitlementCents: 100_000,
      plannedCents: 150_000,
    });
    expect(over.errors![0]!.message).toMatch(/POST_RETURN lines total 150000 cents, above .* 100000/);
    // Post-arrival money is not post-return money: 615 EUR, one cent more is refused.
    const arrival = await as('weldo', submit, {
      id,
      p: { lines: [line(), line({ package: 'POST_ARRIVAL', category: 'CASH', budgetCents: 61_501 })] },
    });
    expect(arrival.errors![0]!.extensions).toMatchObject({ code: 'PLAN_EXCEEDS_ENTITLEMENT', package: 'POST_ARRIVAL' });
    // The legacy input is a POST_RETURN line too, and checked the same way.
    const legacy = await as('weldo', submit, {
      id,
      p: { services: [{ category: 'CASH', description: 'Cash', amountCents: 100_001 }] },
    });
    expect(legacy.errors![0]!.extensions!.code).toBe('PLAN_EXCEEDS_ENTITLEMENT');
    const charter = await as('weldo', submit, {
      id,
      p: { lines: [line({ package: 'CHARTER_ARRIVAL', category: 'CASH', budgetCents: 100 })] },
    });
    expect(charter.errors![0]!.extensions).toMatchObject({ code: 'PACKAGE_NOT_REQUESTED', package: 'CHARTER_ARRIVAL' });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ lines: [] }, 'plan.lines'],
      [{ lines: Array.from({ length: 51 }, () => line({ budgetCents: 1 })) }, 'plan.lines'],
      [{ lines: [line({ budgetCents: 0 })] }, 'plan.lines.0.budgetCents'],
      [{ lines: [line({ description: 'x'.repeat(1_001) })] }, 'plan.lines.0.description'],
      [{ lines: [line({ provider: 'p'.repeat(201) })] }, 'plan.lines.0.provider'],
      [{ lines: [line({ category: '{"$ne":null}' })] }, 'plan.lines.0.category'],
      [{ lines: [line()], services: [] }, 'plan'],
      [{}, 'plan'],
    ];
    for (const [plan, field] of cases) {
      const body = await as('weldo', submit, { id, p: plan });
      expect(body.errors![0]!.extensions, JSON.stringify(plan).slice(0, 80)).toMatchObject({
        code: 'BAD_USER_INPUT',
        field,
      });
    }
    const { Case } = casesModels(system.connections.cases);
    const stored = await Case.findById(id).lean().exec();
    expect(stored!.status).toBe('ARRIVED');
    expect(stored!.reintegrationPlan).toBeNull();
  });

  it('a valid itemised plan → approved (KM2) → delivery per line in its window → paid per line, capped', async () => {
    const id = await arrivedCase();
    const submitted = await as('weldo', submit, {
      id,
      p: {
        lines: [
          line({ budgetCents: 70_000 }),
          line({ category: 'JOB_PLACEMENT', description: 'Coaching', budgetCents: 30_000, provider: 'Kabul Jobs' }),
          line({ package: 'POST_ARRIVAL', category: 'TEMPORARY_ACCOMMODATION', budgetCents: 61_500, provider: null }),
        ],
      },
    });
    expect(submitted.errors).toBeUndefined();
    const plan = submitted.data!.submitReintegrationPlan!.reintegrationPlan!;
    expect(submitted.data!.submitReintegrationPlan!.status).toBe('PLAN_SUBMITTED');
    expect(plan.version).toBe(1);
    expect(plan.totalCents).toBe(161_500);
    expect(plan.lines.map((l) => [l.lineId, l.package, l.budgetCents, l.status])).toEqual([
      ['L1', 'POST_RETURN', 70_000, 'PLANNED'],
      ['L2', 'POST_RETURN', 30_000, 'PLANNED'],
      ['L3', 'POST_ARRIVAL', 61_500, 'PLANNED'],
    ]);
    // The deprecated view: the post-return lines as services.
    expect(plan.services).toEqual([
      { category: 'BUSINESS_START_UP', amountCents: 70_000 },
      { category: 'JOB_PLACEMENT', amountCents: 30_000 },
    ]);
    // No delivery before the Member State approved the plan.
    const early = await as('weldo', deliver, {
      id,
      d: { lineId: 'L1', date: '2024-04-01', provider: 'weldo', evidenceReference: 'INV-1' },
    });
    expect(early.errors![0]!.extensions!.code).toBe('ILLEGAL_TRANSITION');
    expect((await as('belgium', approve, { id })).data!.approveReintegrationPlan!.status).toBe('PLAN_APPROVED');

    const late = await as('weldo', deliver, {
      id,
      d: { lineId: 'L1', date: '2025-03-02', provider: 'weldo', evidenceReference: 'INV-1' },
    });
    expect(late.errors![0]!.extensions).toMatchObject({
      code: 'POST_RETURN_WINDOW_CLOSED',
      boundary: '2025-03-01',
      field: 'date',
    });
    const lateArrival = await as('weldo', deliver, {
      id,
      d: { lineId: 'L3', date: '2024-03-05', provider: 'weldo', evidenceReference: 'R-1' },
    });
    expect(lateArrival.errors![0]!.extensions).toMatchObject({ code: 'POST_ARRIVAL_WINDOW_CLOSED' });
    const unknown = await as('weldo', deliver, {
      id,
      d: { lineId: 'L7', date: '2024-04-01', provider: 'weldo', evidenceReference: 'INV-1' },
    });
    expect(unknown.errors![0]!.extensions).toMatchObject({ code: 'PLAN_LINE_NOT_FOUND', lineId: 'L7' });
    const hostile = await as('weldo', deliver, {
      id,
      d: { lineId: 'L1', date: '2024-04-01', provider: 'weldo', evidenceReference: 'e'.repeat(201) },
    });
    expect(hostile.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'evidenceReference' });
    const other = await as('irara', deliver, {
      id,
      d: { lineId: 'L1', date: '2024-04-01', provider: 'irara', evidenceReference: 'INV-1' },
    });
    expect(other.errors![0]!.extensions!.code).toBe('NOT_FOUND');

    const delivered = await as('weldo', deliver, {
      id,
      d: { lineId: 'L1', date: '2024-04-01', provider: 'weldo', evidenceReference: 'INV-2024-17' },
    });
    expect(delivered.errors).toBeUndefined();
    const l1 = delivered.data!.reportServiceDelivery!.reintegrationPlan!.lines[0]!;
    expect(l1).toMatchObject({
      status: 'DELIVERED',
      deliveredOn: '2024-04-01',
      deliveries: [{ date: '2024-04-01', provider: 'weldo', evidenceReference: 'INV-2024-17' }],
    });
    expect(delivered.data!.reportServiceDelivery!.status).toBe('PLAN_APPROVED');
    await as('weldo', deliver, {
      id,
      d: { lineId: 'L3', date: '2024-03-04', provider: 'Hotel Kabul', evidenceReference: 'R-9' },
    });
    await settle();

    // Money: a post-return payment names its line; each line and each package is capped.
    const payAs = (who: string, p: string, l: string | null, a: number, d = '2024-04-02') =>
      as<{ recordDisbursement: { seq: number; planLineId: string | null } }>(who, pay, { id, p, l, d, a });
    expect((await payAs('weldo', 'POST_RETURN', null, 100)).errors![0]!.extensions!.code).toBe('PLAN_LINE_REQUIRED');
    expect((await payAs('weldo', 'POST_RETURN', 'L1', 100, '2025-03-02')).errors![0]!.extensions!.code).toBe(
      'POST_RETURN_WINDOW_CLOSED',
    );
    expect((await payAs('weldo', 'POST_RETURN', 'L1', 60_000)).data!.recordDisbursement.planLineId).toBe('L1');
    expect((await payAs('weldo', 'POST_RETURN', 'L1', 10_001)).errors![0]!.extensions).toMatchObject({
      code: 'PLAN_LINE_BUDGET_EXCEEDED',
      lineId: 'L1',
      budgetCents: 70_000,
      paidCents: 60_000,
    });
    expect((await payAs('weldo', 'POST_RETURN', 'L1', 10_000)).errors).toBeUndefined();
    // The plan itemises post-arrival too: that money names its line, and stays in its 3 days.
    expect((await payAs('weldo', 'POST_ARRIVAL', null, 100, '2024-03-03')).errors![0]!.extensions!.code).toBe(
      'PLAN_LINE_REQUIRED',
    );
    expect((await payAs('weldo', 'POST_ARRIVAL', 'L3', 100, '2024-03-05')).errors![0]!.extensions!.code).toBe(
      'POST_ARRIVAL_WINDOW_CLOSED',
    );
    expect((await payAs('weldo', 'POST_ARRIVAL', 'L3', 61_500, '2024-03-03')).errors).toBeUndefined();
    expect((await payAs('weldo', 'POST_ARRIVAL', 'L3', 1, '2024-03-03')).errors![0]!.extensions!.code).toBe(
      'PLAN_LINE_BUDGET_EXCEEDED',
    );

    // The Member State sees budgeted, delivered and paid per line.
    const view = await as<MoneyView>('belgium', money, { id });
    expect(view.errors).toBeUndefined();
    expect(view.data!.case.reintegrationPlan!.lines).toEqual([
      { lineId: 'L1', budgetCents: 70_000, deliveredOn: '2024-04-01' },
      { lineId: 'L2', budgetCents: 30_000, deliveredOn: null },
      { lineId: 'L3', budgetCents: 61_500, deliveredOn: '2024-03-04' },
    ]);
    expect(view.data!.case.paidByPlanLine).toEqual([
      { lineId: 'L1', paidCents: 70_000 },
      { lineId: 'L3', paidCents: 61_500 },
    ]);
    // Delivery is an event like any other step, for subscribers and webhooks.
    const entries = await system.redis.xrange(`${system.config.QUEUE_PREFIX}:case-events`, '-', '+');
    const types = entries
      .map(([, fields]) => JSON.parse(fields[fields.indexOf('event') + 1]!) as { caseId: string; publicType?: string })
      .filter((e) => e.caseId === id)
      .map((e) => e.publicType);
    expect(types.filter((t) => t === 'SERVICE_DELIVERED')).toHaveLength(2);
  });

  it('an amendment becomes version 2, keeps delivered lines, and is approved again', async () => {
    const id = await arrivedCase();
    await as('weldo', submit, {
      id,
      p: { lines: [line({ budgetCents: 50_000 }), line({ category: 'CASH', budgetCents: 20_000 })] },
    });
    await as('belgium', approve, { id });
    await as('weldo', deliver, {
      id,
      d: { lineId: 'L1', date: '2024-05-01', provider: 'weldo', evidenceReference: 'INV-5' },
    });
    const dropped = await as('weldo', amend, { id, p: { lines: [line({ lineId: 'L2', category: 'CASH' })] } });
    expect(dropped.errors![0]!.extensions).toMatchObject({ code: 'PLAN_LINE_DELIVERED', lineId: 'L1' });
    const cut = await as('weldo', amend, { id, p: { lines: [line({ lineId: 'L1', budgetCents: 10 })] } });
    expect(cut.errors![0]!.extensions).toMatchObject({ code: 'PLAN_LINE_DELIVERED', lineId: 'L1' });
    const tooMuch = await as('weldo', amend, {
      id,
      p: {
        lines: [
          line({ lineId: 'L1', budgetCents: 50_000 }),
          line({ category: 'VOCATIONAL_TRAINING', budgetCents: 50_001 }),
        ],
      },
    });
    expect(tooMuch.errors![0]!.extensions!.code).toBe('PLAN_EXCEEDS_ENTITLEMENT');

    const amended = await as('weldo', amend, {
      id,
      p: {
        lines: [
          line({ lineId: 'L1', budgetCents: 60_000 }),
          line({ category: 'VOCATIONAL_TRAINING', description: 'Welding course', budgetCents: 40_000 }),
        ],
      },
    });
    expect(amended.errors).toBeUndefined();
    const v2 = amended.data!.amendReintegrationPlan!;
    expect(v2.status).toBe('PLAN_SUBMITTED');
    expect(v2.reintegrationPlan!.version).toBe(2);
    expect(v2.reintegrationPlan!.lines.map((l) => [l.lineId, l.budgetCents, l.status])).toEqual([
      ['L1', 60_000, 'DELIVERED'],
      ['L3', 40_000, 'PLANNED'],
      ['L2', 20_000, 'CANCELLED'],
    ]);
    expect(v2.reintegrationPlanVersions.map((v) => [v.version, v.decidedAt !== null, v.lines.length])).toEqual([
      [1, true, 2],
    ]);
    // While the amendment waits, money follows the approved version 1: L3 does not exist yet.
    await settle();
    const payL3 = await as('weldo', pay, { id, p: 'POST_RETURN', l: 'L3', d: '2024-06-01', a: 100 });
    expect(payL3.errors![0]!.extensions!.code).toBe('PLAN_LINE_NOT_FOUND');
    const again = await as('belgium', approve, { id });
    expect(again.data!.approveReintegrationPlan!.status).toBe('PLAN_APPROVED');
    await settle();
    expect(
      (await as('weldo', pay, { id, p: 'POST_RETURN', l: 'L3', d: '2024-06-01', a: 40_000 })).errors,
    ).toBeUndefined();
    // L2 was cancelled: nothing more is paid on it.
    const payL2 = await as('weldo', pay, { id, p: 'POST_RETURN', l: 'L2', d: '2024-06-01', a: 100 });
    expect(payL2.errors![0]!.extensions!.code).toBe('PLAN_LINE_NOT_FOUND');
  });

  it('an ineligible case shows no entitlement and refuses money; a withdrawal releases what was not paid', async () => {
    const before = await committedThisYear();
    const ineligible = await newCase({
      eligibility: {
        outcome: 'INELIGIBLE',
        reasons: ['TEMPORARY_PROTECTION'],
        requestDate: '2024-02-01',
        assessedAt: new Date(),
        requestWindowMonths: 6,
      },
    });
    await as('weldo', accept, { id: ineligible });
    await settle();
    const view = await as<MoneyView>('belgium', money, { id: ineligible });
    expect(view.data!.case.entitlement).toMatchObject({ totalCents: 0, noEntitlementReason: 'INELIGIBLE' });
    expect(view.data!.case.commitment).toBeNull();
    const refused = await as('weldo', pay, { id: ineligible, p: 'POST_ARRIVAL', l: null, d: '2024-03-01', a: 100 });
    expect(refused.errors![0]!.extensions).toMatchObject({ code: 'NO_ENTITLEMENT', reason: 'INELIGIBLE' });

    const withdrawn = await arrivedCase();
    await settle();
    expect((await as<MoneyView>('belgium', money, { id: withdrawn })).data!.case.commitment!.amountCents).toBe(161_500);
    expect(await committedThisYear()).toBe(before + 161_500);
    await as('weldo', pay, { id: withdrawn, p: 'POST_ARRIVAL', l: null, d: '2024-03-02', a: 1_500 });
    await system.graphql(
      `mutation($id: ID!) { withdrawCase(caseId: $id, reason: "Returnee re-migrated") { status } }`,
      { id: withdrawn },
      { authorization: `Bearer ${tokens.belgium}` },
    );
    await settle();
    const after = await as<MoneyView>('belgium', money, { id: withdrawn });
    expect(after.data!.case.entitlement).toMatchObject({ totalCents: 0, noEntitlementReason: 'WITHDRAWN' });
    expect(after.data!.case.commitment!.amountCents).toBe(1_500);
    expect(await committedThisYear()).toBe(before + 1_500);
    const more = await as('weldo', pay, { id: withdrawn, p: 'POST_ARRIVAL', l: null, d: '2024-03-02', a: 100 });
    expect(more.errors![0]!.extensions).toMatchObject({ code: 'NO_ENTITLEMENT', reason: 'WITHDRAWN' });
  });

  it('a charter-only case is committed once the partner accepts it', async () => {
    const before = await committedThisYear();
    const id = await newCase({ packages: ['CHARTER_ARRIVAL'], charterFlight: true, familySize: 3 });
    await settle();
    expect((await as<MoneyView>('belgium', money, { id })).data!.case.commitment).toBeNull();
    await as('weldo', accept, { id });
    await settle();
    const view = await as<MoneyView>('belgium', money, { id });
    expect(view.data!.case.commitment!.amountCents).toBe(3 * 20_500);
    expect(await committedThisYear()).toBe(before + 3 * 20_500);
    // Accepted but not arrived: charter-arrival assistance cannot be paid yet, whatever the date.
    const early = await as('weldo', pay, { id, p: 'CHARTER_ARRIVAL', l: null, d: '2024-03-01', a: 20_500 });
    expect(early.errors![0]!.extensions).toMatchObject({ code: 'BEFORE_WINDOW_OPENS', package: 'CHARTER_ARRIVAL' });
  });
});
