import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { ledgerModels } from '../../subgraphs/finance/ledger/models.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

/** Whether the case has money at all: an ineligible or withdrawn case has none to pay (docs/domain.md). */
const hasMoney = (c: CaseDoc) => c.eligibility?.outcome !== 'INELIGIBLE' && c.status !== 'WITHDRAWN';

/**
 * What the demo data's partners paid a completed case, by the year of each payment's date: each
 * arrival package's entitlement on the arrival day, and the post-return package per delivered
 * plan line on the day it was delivered (never post-arrival money as post-return).
 */
function paidInYearCents(c: CaseDoc, year: number): number {
  if (c.status !== 'COMPLETED' || !c.partnerId || !hasMoney(c)) return 0;
  const inYear = (date: string | null | undefined) => !!date && date.startsWith(String(year));
  const arrival = inYear(c.arrivalDate)
    ? entitlementCents({ ...c, packages: c.packages.filter((p) => p !== 'POST_RETURN') })
    : 0;
  const lines = c.reintegrationPlan?.lines ?? [];
  const delivered = lines
    .filter((l) => l.status === 'DELIVERED' && inYear(l.deliveries.at(-1)?.date))
    .reduce((n, l) => n + l.budgetCents, 0);
  return arrival + delivered;
}

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

  it('the yearly summary matches the raw cases: people of cases with money, commitments, disbursements', async () => {
    const cases = await casesModels(system.connections.cases).Case.find().lean<CaseDoc[]>().exec();
    const stepYear = (c: CaseDoc, transition: string) => {
      const step = c.history.find((h) => h.transition === transition);
      return step ? new Date(step.at).getUTCFullYear() : null;
    };
    expect(cases.some((c) => !hasMoney(c))).toBe(true);
    for (const year of [2023, 2024]) {
      const s = await summary(year);
      const people = cases
        .filter((c) => hasMoney(c) && c.departureDate!.startsWith(String(year)))
        .reduce((n, c) => n + c.familySize, 0);
      // An eligible case commits its entitlement in the year the partner accepts it; a withdrawal
      // releases it (nothing of a withdrawn case was paid) in the year of the withdrawal.
      const committed = cases
        .filter((c) => c.eligibility?.outcome !== 'INELIGIBLE')
        .reduce((n, c) => {
          const accepted = stepYear(c, 'acceptCase');
          if (accepted === null) return n;
          const withdrawn = stepYear(c, 'withdrawCase');
          return n + (accepted === year ? entitlementCents(c) : 0) - (withdrawn === year ? entitlementCents(c) : 0);
        }, 0);
      const disbursed = cases.reduce((n, c) => n + paidInYearCents(c, year), 0);
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

  it('financeYears: the years with spend or a budget, most recent first, for those who read aggregates', async () => {
    const budget2031 = `mutation { setAnnualBudget(year: 2031, amountCents: 100) { year } }`;
    const years = async (headers?: Record<string, string>) =>
      system.graphql<{ financeYears: number[] }>('{ financeYears }', undefined, headers);
    await settle();
    const spendYears = (await ledgerModels(system.connections.finance).Spend.find({}, { _id: 1 }).lean().exec())
      .map((d) => Number(d._id))
      .sort((a, b) => b - a);
    expect(spendYears.length).toBeGreaterThan(0);
    const before = (await years()).body.data!.financeYears;
    expect(before).toEqual([...new Set([...spendYears, 2024])].sort((a, b) => b - a));
    // A budget set for a year without spend adds that year.
    expect(
      (await system.graphql(budget2031, undefined, { authorization: `Bearer ${tokens.desk}` })).body.errors,
    ).toBeUndefined();
    expect((await years()).body.data!.financeYears[0]).toBe(2031);
    // An analyst reads aggregates; anonymous callers do not.
    const analyst = await mintToken({ subject: 'a', role: 'EU_ANALYST' }, system.config);
    expect((await years({ authorization: `Bearer ${analyst}` })).body.data!.financeYears[0]).toBe(2031);
    const anonymous = await years({ authorization: '' });
    expect(anonymous.body.data ?? null).toBeNull();
    expect(anonymous.body.errors![0]!.extensions!.code).toMatch(/UNAUTHENTICATED|FORBIDDEN|PRINCIPAL_REQUIRED/);
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
