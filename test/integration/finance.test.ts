import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { ledgerModels } from '../../subgraphs/finance/ledger/models.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

/** Entitlement from docs/domain.md's table, computed here independently of the finance code. */
function entitlementCents(c: Pick<CaseDoc, 'packages' | 'returnType' | 'familySize'>): number {
  let total = 0;
  if (c.packages.includes('POST_ARRIVAL')) total += 615_00 * c.familySize;
  if (c.packages.includes('CHARTER_ARRIVAL')) total += 205_00 * c.familySize;
  if (c.packages.includes('POST_RETURN'))
    total += (c.returnType === 'VOLUNTARY' ? 2_000_00 : 1_000_00) + 1_000_00 * (c.familySize - 1);
  return total;
}

interface Summary {
  year: number;
  objectivePeople: number;
  peopleSupported: number;
  objectiveShare: number;
  budgetCents: number | null;
  committedCents: number;
  disbursedCents: number;
  availableCents: number | null;
  byMemberState: Array<{ key: string; people: number; committedCents: number; disbursedCents: number }>;
  byPackage: Array<{ key: string; committedCents: number; disbursedCents: number }>;
}

const SUMMARY =
  `query($y: Int!) { financeSummary(year: $y) { year objectivePeople peopleSupported ` +
  `objectiveShare budgetCents committedCents disbursedCents availableCents
  byMemberState { key people committedCents disbursedCents } byPackage { key committedCents disbursedCents } } }`;

describe('finance: commitments, disbursements within the entitlement, budget against the objective', () => {
  let system: TestSystem;
  const tokens: Record<string, string> = {};
  const summary = async (year: number) =>
    (await system.graphql<{ financeSummary: Summary }>(SUMMARY, { y: year })).body.data!.financeSummary;
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

  beforeAll(async () => {
    system = await startTestSystem({ cases: 250, seed: 21 });
    tokens.desk = await mintToken({ subject: 'desk', role: 'SUPPORT_DESK' }, system.config);
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('the yearly summary matches the raw cases: eligible people, commitments from acceptance, payments', async () => {
    const cases = await casesModels(system.connections.cases).Case.find().lean<CaseDoc[]>().exec();
    const yearOf = (at: Date | string) => new Date(at).getUTCFullYear();
    const ineligible = (c: CaseDoc) => c.eligibility?.outcome === 'INELIGIBLE';
    // What the demo's partners paid a completed case, per payment date: each arrival package on the
    // arrival day, the post-return package per delivered plan line on its delivery day.
    const payments = (c: CaseDoc): Array<{ date: string; cents: number }> => {
      if (c.status !== 'COMPLETED' || ineligible(c)) return [];
      const out = c.packages
        .filter((p) => p !== 'POST_RETURN')
        .map((p) => ({ date: c.arrivalDate!, cents: entitlementCents({ ...c, packages: [p] }) }));
      const lines = (c.reintegrationPlan?.lines ?? []) as Array<{
        status: string;
        budgetCents: number;
        deliveries: Array<{ date: string }>;
      }>;
      for (const l of lines)
        if (l.status === 'DELIVERED') out.push({ date: l.deliveries.at(-1)!.date, cents: l.budgetCents });
      return out;
    };
    for (const year of [2023, 2024]) {
      const s = await summary(year);
      // The objective counts the people of eligible cases that were not withdrawn (issue #15).
      const people = cases
        .filter((c) => c.departureDate!.startsWith(String(year)) && !ineligible(c) && c.status !== 'WITHDRAWN')
        .reduce((n, c) => n + c.familySize, 0);
      // An eligible case commits its entitlement when the partner accepts it; a withdrawal releases what was not paid.
      let committed = 0;
      for (const c of cases) {
        if (ineligible(c)) continue;
        const accepted = c.history.find((h) => h.transition === 'acceptCase');
        if (!accepted) continue;
        if (yearOf(accepted.at) === year) committed += entitlementCents(c);
        const withdrawn = c.history.find((h) => h.transition === 'withdrawCase');
        const paid = payments(c).reduce((n, p) => n + p.cents, 0);
        if (withdrawn && yearOf(withdrawn.at) === year) committed -= entitlementCents(c) - paid;
      }
      const disbursed = cases
        .flatMap(payments)
        .filter((p) => p.date.startsWith(String(year)))
        .reduce((n, p) => n + p.cents, 0);
      expect(s).toMatchObject({
        year,
        objectivePeople: 7_000,
        peopleSupported: people,
        committedCents: committed,
        disbursedCents: disbursed,
        budgetCents: null,
      });
      expect(s.objectiveShare).toBeCloseTo(people / 7_000, 9);
      expect(s.byMemberState.reduce((n, l) => n + l.people, 0)).toBe(people);
      expect(s.byPackage.reduce((n, l) => n + l.committedCents, 0)).toBe(committed);
    }
  });

  it('an accepted case stays committed at plan approval; a plan line is paid up to its cap, never beyond', async () => {
    const { Case } = casesModels(system.connections.cases);
    const c = (await Case.findOne({ status: 'PLAN_SUBMITTED' }).lean<CaseDoc>().exec())!;
    expect(c).toBeTruthy();
    const id = c._id.toHexString();
    const year = new Date().getUTCFullYear();
    const before = await summary(year);
    const { CaseFinance } = ledgerModels(system.connections.finance);
    const committedBefore = (await CaseFinance.findOne({ _id: id }).lean().exec())?.committedCents ?? 0;
    const officer = await mintToken({ subject: 'o', role: 'MEMBER_STATE', memberState: c.memberState }, system.config);
    const partner = await mintToken({ subject: 'p', role: 'PARTNER', partnerId: c.partnerId! }, system.config);
    const otherPartner = await mintToken(
      { subject: 'x', role: 'PARTNER', partnerId: c.partnerId === 'weldo' ? 'irara' : 'weldo' },
      system.config,
    );
    const approved = await system.graphql(
      `mutation($id: ID!) { approveReintegrationPlan(caseId: $id) { status } }`,
      { id },
      { authorization: `Bearer ${officer}` },
    );
    expect(approved.body.errors).toBeUndefined();
    await settle();
    const entitlement = entitlementCents(c);
    const view = await system.graphql<{
      case: {
        entitlement: { totalCents: number; lines: Array<{ package: string; amountCents: number }> };
        commitment: { amountCents: number } | null;
      };
    }>(
      `query($id: ID!) { case(id: $id) { entitlement { totalCents lines { package amountCents } } ` +
        `commitment { amountCents committedAt } } }`,
      { id },
    );
    // The case was accepted (it has a plan): its whole entitlement is committed, once.
    expect(view.body.data!.case.commitment!.amountCents).toBe(entitlement);
    expect(view.body.data!.case.entitlement.totalCents).toBe(entitlement);
    expect((await summary(year)).committedCents).toBe(before.committedCents + entitlement - committedBefore);

    // A post-return payment names its plan line; it is capped by the line's budget and the package's entitlement.
    const postReturn = view.body
      .data!.case.entitlement.lines.filter((l) => l.package === 'POST_RETURN')
      .reduce((n, l) => n + l.amountCents, 0);
    const budget = c.reintegrationPlan!.services[0]!.amountCents;
    const cap = Math.min(budget, postReturn);
    const disburse =
      `mutation($id: ID!, $a: Cents!, $d: Date!, $l: ID) { recordDisbursement(caseId: $id, kind: CASH, ` +
      `package: POST_RETURN, planLineId: $l, date: $d, amountCents: $a) { seq amountCents cumulativeCents ` +
      `planLineId } }`;
    const date = c.departureDate!;
    const as = (token: string, amount: number, on = date, line: string | null = 'L1') =>
      system.graphql<{ recordDisbursement: { seq: number; cumulativeCents: number } }>(
        disburse,
        { id, a: amount, d: on, l: line },
        { authorization: `Bearer ${token}` },
      );
    expect((await as(otherPartner, 100)).body.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    expect((await as(officer, 100)).body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect((await as(partner, 100, '2999-01-01')).body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect((await as(partner, -5)).body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect((await as(partner, 100, date, null)).body.errors![0]!.extensions!.code).toBe('PLAN_LINE_REQUIRED');
    expect((await as(partner, 100, date, 'L99')).body.errors![0]!.extensions!.code).toBe('PLAN_LINE_NOT_FOUND');
    const first = Math.max(1, Math.floor(cap / 4));
    const paid = await as(partner, first);
    expect(paid.body.data!.recordDisbursement).toEqual({
      seq: 1,
      amountCents: first,
      cumulativeCents: first,
      planLineId: 'L1',
    });
    const over = await as(partner, cap);
    // The line is checked first, then its package.
    expect(over.body.errors![0]!.extensions).toMatchObject(
      first + cap > budget
        ? { code: 'PLAN_LINE_BUDGET_EXCEEDED', lineId: 'L1', budgetCents: budget, paidCents: first }
        : { code: 'ENTITLEMENT_EXCEEDED', package: 'POST_RETURN', entitlementCents: postReturn, disbursedCents: first },
    );

    // Concurrent reports: together they exceed what is left; the line's total never does.
    const left = cap - first;
    const share = Math.floor(left / 3) + 1;
    const results = await Promise.all(Array.from({ length: 4 }, () => as(partner, share)));
    const accepted = results.filter((r) => !r.body.errors);
    expect(accepted.length).toBe(2);
    const disbursements = await ledgerModels(system.connections.finance)
      .Disbursement.find({ caseId: id })
      .lean()
      .exec();
    expect(disbursements.reduce((n, d) => n + d.amountCents, 0)).toBeLessThanOrEqual(cap);
    expect(disbursements.map((d) => d.seq).sort()).toEqual([1, 2, 3]);
    await settle();
    const after = await summary(year);
    const paidYear = Number(date.slice(0, 4)) === year ? first + 2 * share : 0;
    expect(after.disbursedCents).toBe(before.disbursedCents + paidYear);
    const listed = await system.graphql<{
      case: {
        disbursedCents: number;
        disbursements: Array<{ seq: number }>;
        paidByPlanLine: Array<{ lineId: string; paidCents: number }>;
      };
    }>(
      `query($id: ID!) { case(id: $id) { disbursedCents disbursements { seq kind package amountCents ` +
        `cumulativeCents } paidByPlanLine { lineId paidCents } } }`,
      { id },
    );
    expect(listed.body.data!.case.disbursedCents).toBe(first + 2 * share);
    expect(listed.body.data!.case.disbursements.map((d) => d.seq)).toEqual([1, 2, 3]);
    expect(listed.body.data!.case.paidByPlanLine).toEqual([{ lineId: 'L1', paidCents: first + 2 * share }]);
  });

  it('the support desk sets the yearly budget; available is budget minus commitments', async () => {
    const set =
      `mutation { setAnnualBudget(year: 2024, amountCents: 2000000000, objectivePeople: 7000) { ` +
      `budgetCents committedCents availableCents } }`;
    const partner = await mintToken({ subject: 'p', role: 'PARTNER', partnerId: 'weldo' }, system.config);
    expect(
      (await system.graphql(set, undefined, { authorization: `Bearer ${partner}` })).body.errors![0]!.extensions!.code,
    ).toBe('FORBIDDEN');
    const { body } = await system.graphql<{
      setAnnualBudget: { budgetCents: number; committedCents: number; availableCents: number };
    }>(set, undefined, { authorization: `Bearer ${tokens.desk}` });
    expect(body.data!.setAnnualBudget.budgetCents).toBe(2_000_000_000);
    expect(body.data!.setAnnualBudget.availableCents).toBe(2_000_000_000 - body.data!.setAnnualBudget.committedCents);
    const badYear = await system.graphql(`{ financeSummary(year: 1066) { year } }`);
    expect(badYear.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('partners and countries carry their spend for a year', async () => {
    const s = await summary(2024);
    const { body } = await system.graphql<{
      partners: Array<{ id: string; spend: { committedCents: number } }>;
      countriesOfOrigin: Array<{ spend: { people: number } }>;
    }>(
      `{ partners { id spend(year: 2024) { people committedCents disbursedCents } } countriesOfOrigin { code ` +
        `spend(year: 2024) { people } } }`,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.partners.reduce((n, p) => n + p.spend.committedCents, 0)).toBe(s.committedCents);
    expect(body.data!.countriesOfOrigin.reduce((n, c) => n + c.spend.people, 0)).toBe(s.peopleSupported);
  });
});
