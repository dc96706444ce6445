import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

describe('eligibility at ingestion, per-Member-State rules, and case filters', () => {
  let system: TestSystem;
  const ingest = (memberState: string, records: unknown[]) => system.ingest(memberState, records);
  const record = (ref: string, extra: Record<string, unknown> = {}) => ({
    memberState: 'FI',
    caseReference: ref,
    recordVersion: 1,
    returnType: 'VOLUNTARY',
    packages: ['POST_ARRIVAL', 'POST_RETURN'],
    countryOfOrigin: 'IQ',
    departureDate: '2024-01-10',
    mainApplicant: { name: 'Ali Hussein', dateOfBirth: '1985-03-03', sex: 'MALE' },
    eligibility: { requestDate: '2024-02-01', applicationSigned: true },
    ...extra,
  });

  beforeAll(async () => {
    system = await startTestSystem({ cases: 150, seed: 3 });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('stores outcomes: eligible, eligibility letter only, ineligible with reasons (closed, not assigned)', async () => {
    const report = await ingest('FI', [
      record('FI-E-1'),
      record('FI-E-2', {
        packages: ['POST_ARRIVAL'],
        eligibility: { applicationSigned: false, requestDate: '2024-02-01' },
      }),
      record('FI-E-3', { eligibility: { temporaryProtection: true, requestDate: '2024-09-01' } }),
      record('FI-E-4', { eligibility: { applicationSigned: false, requestDate: '2024-02-01' } }),
    ]);
    expect(report.counts).toMatchObject({ created: 3, rejected: 1 });
    expect(report.rejected[0]).toMatchObject({
      position: 3,
      path: 'packages',
      message: expect.stringContaining('support after arrival only'),
    });
    const { body } = await system.graphql<{
      cases: {
        edges: Array<{
          node: {
            caseReference: string;
            status: string;
            closingReason: string | null;
            eligibility: { outcome: string; reasons: string[]; requestWindowMonths: number };
          };
        }>;
      };
    }>(
      `{ cases(first: 10, filter: { memberStates: ["FI"] }) { edges { node { caseReference status ` +
        `closingReason eligibility { outcome reasons requestWindowMonths } } } } }`,
      undefined,
      // The owning Member State: the closing reason is free text, personal data.
      await system.as({ subject: 'fi-officer', role: 'MEMBER_STATE', memberState: 'FI' }),
    );
    const byRef = new Map(body.data!.cases.edges.map((e) => [e.node.caseReference, e.node]));
    expect(byRef.get('FI-E-1')).toMatchObject({
      status: 'SUBMITTED',
      eligibility: { outcome: 'ELIGIBLE', reasons: [], requestWindowMonths: 6 },
    });
    expect(byRef.get('FI-E-2')).toMatchObject({
      status: 'SUBMITTED',
      eligibility: { outcome: 'ELIGIBILITY_LETTER_ONLY' },
    });
    expect(byRef.get('FI-E-3')).toMatchObject({
      status: 'CLOSED',
      closingReason: 'Ineligible: TEMPORARY_PROTECTION, REQUEST_AFTER_WINDOW',
      eligibility: { outcome: 'INELIGIBLE', reasons: ['TEMPORARY_PROTECTION', 'REQUEST_AFTER_WINDOW'] },
    });
  });

  it('applies the request window the Member State configured: narrower, never wider than 6 months', async () => {
    // Departed 2024-01-10, requested 2024-05-01: inside the programme's 6 months, outside 3.
    const late = record('NL-W-1', {
      memberState: 'NL',
      eligibility: { requestDate: '2024-05-01', applicationSigned: true },
    });
    expect((await ingest('NL', [late])).counts.created).toBe(1);
    const officer = await mintToken({ subject: 'nl', role: 'MEMBER_STATE', memberState: 'NL' }, system.config);
    const other = await mintToken({ subject: 'be', role: 'MEMBER_STATE', memberState: 'BE' }, system.config);
    const set =
      `mutation($m: Int!) { setEligibilityRules(memberState: "NL", requestWindowMonths: $m) { ` +
      `memberState requestWindowMonths } }`;
    expect(
      (await system.graphql(set, { m: 3 }, { authorization: `Bearer ${other}` })).body.errors![0]!.extensions!.code,
    ).toBe('FORBIDDEN');
    expect((await system.graphql(set, { m: 3 }, { authorization: '' })).body.errors![0]!.extensions!.code).toBe(
      'UNAUTHENTICATED',
    );
    // Wider than the programme's 6 months: refused, naming the limit.
    for (const months of [7, 12, 99]) {
      const wide = await system.graphql(set, { m: months }, { authorization: `Bearer ${officer}` });
      expect(wide.body.errors![0]).toMatchObject({
        message: expect.stringContaining('wider than the programme allows: assistance may be requested up to 6 months'),
        extensions: { code: 'BAD_USER_INPUT', reason: 'REQUEST_WINDOW_TOO_WIDE', limit: 6 },
      });
    }
    const zero = await system.graphql(set, { m: 0 }, { authorization: `Bearer ${officer}` });
    expect(zero.body.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'REQUEST_WINDOW_TOO_NARROW',
    });
    expect((await system.graphql(`{ eligibilityRules(memberState: "NL") { requestWindowMonths } }`)).body.data).toEqual(
      { eligibilityRules: { requestWindowMonths: 6 } },
    );
    const ok = await system.graphql(set, { m: 3 }, { authorization: `Bearer ${officer}` });
    expect(ok.body.data).toEqual({ setEligibilityRules: { memberState: 'NL', requestWindowMonths: 3 } });
    expect((await system.graphql(`{ eligibilityRules(memberState: "NL") { requestWindowMonths } }`)).body.data).toEqual(
      { eligibilityRules: { requestWindowMonths: 3 } },
    );
    // The same request is ineligible under NL's 3 months.
    expect((await ingest('NL', [{ ...late, caseReference: 'NL-W-2' }])).counts.created).toBe(1);
    // A wider value stored by an earlier version (12 months) does not widen the window: it counts as 6.
    const { Case, MemberStateRules } = casesModels(system.connections.cases);
    await MemberStateRules.updateOne({ _id: 'NL' }, { $set: { requestWindowMonths: 12 } }).exec();
    const wider = {
      ...late,
      caseReference: 'NL-W-3',
      eligibility: { requestDate: '2024-09-01', applicationSigned: true },
    };
    expect((await ingest('NL', [wider])).counts.created).toBe(1);
    const stored = await Case.find({ memberState: 'NL', caseReference: { $in: ['NL-W-1', 'NL-W-2', 'NL-W-3'] } })
      .lean<CaseDoc[]>()
      .exec();
    const outcome = new Map(
      stored.map((c) => [c.caseReference, [c.eligibility?.outcome, c.eligibility?.requestWindowMonths]]),
    );
    expect(outcome.get('NL-W-1')).toEqual(['ELIGIBLE', 6]);
    expect(outcome.get('NL-W-2')).toEqual(['INELIGIBLE', 3]);
    expect(outcome.get('NL-W-3')).toEqual(['INELIGIBLE', 6]);
    expect((await system.graphql(`{ eligibilityRules(memberState: "NL") { requestWindowMonths } }`)).body.data).toEqual(
      { eligibilityRules: { requestWindowMonths: 6 } },
    );
    await MemberStateRules.deleteOne({ _id: 'NL' }).exec();
  });

  it('refuses birth and request dates in the future', async () => {
    const report = await ingest('FI', [
      record('FI-F-1', { mainApplicant: { name: 'X', dateOfBirth: '2999-01-01', sex: 'MALE' } }),
      record('FI-F-2', { eligibility: { requestDate: '2999-01-01', applicationSigned: true } }),
    ]);
    expect(report.rejected.map((r) => [r.path, r.message])).toEqual([
      ['mainApplicant.dateOfBirth', 'must not be in the future'],
      ['eligibility.requestDate', 'must not be in the future'],
    ]);
  });

  it('filters by package and date ranges, matching the store', async () => {
    const { Case } = casesModels(system.connections.cases);
    const expected = await Case.countDocuments({
      packages: 'CHARTER_ARRIVAL',
      departureDate: { $gte: '2023-01-01', $lte: '2023-12-31' },
    }).exec();
    expect(expected).toBeGreaterThan(0);
    const { body } = await system.graphql<{
      cases: { totalCount: number; edges: Array<{ node: { packages: string[]; departureDate: string } }> };
    }>(
      `{ cases(first: 200, filter: { packages: [CHARTER_ARRIVAL], departureFrom: "2023-01-01", departureTo: ` +
        `"2023-12-31" }) { totalCount edges { node { packages departureDate } } } }`,
    );
    expect(body.data!.cases.totalCount).toBe(expected);
    for (const { node } of body.data!.cases.edges) {
      expect(node.packages).toContain('CHARTER_ARRIVAL');
      expect(node.departureDate >= '2023-01-01' && node.departureDate <= '2023-12-31').toBe(true);
    }
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const recent = await system.graphql<{ cases: { totalCount: number } }>(
      `query($s: DateTime) { cases(filter: { createdFrom: $s }) { totalCount } }`,
      { s: since },
    );
    expect(recent.body.data!.cases.totalCount).toBe(
      await Case.countDocuments({ createdAt: { $gte: new Date(since) } }).exec(),
    );
    const inverted = await system.graphql(
      `{ cases(filter: { departureFrom: "2024-01-01", departureTo: "2023-01-01" }) { totalCount } }`,
    );
    expect(inverted.body.errors![0]!.message).toBe('filter.departureFrom is after filter.departureTo');
    const badDate = await system.graphql(`{ cases(filter: { departureFrom: "2024-02-30" }) { totalCount } }`);
    expect(badDate.body.errors![0]!.extensions!.code).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
  });
});

/** The demo data stores each case's eligibility: the filter finds the seeded cases by it (issue #15). */
describe('seeded demo cases and the eligibility filter', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({ cases: 400, seed: 11 });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('filtering on each outcome finds the seeded cases that show it, and they add up to all of them', async () => {
    const stored = await casesModels(system.connections.cases).Case.find().lean<CaseDoc[]>().exec();
    const count = async (outcomes: string[] | null) => {
      const filter = outcomes ? { eligibilityOutcomes: outcomes } : {};
      const { body } = await system.graphql<{ cases: { totalCount: number } }>(
        `query($filter: CaseFilter) { cases(first: 1, filter: $filter) { totalCount } }`,
        { filter },
      );
      expect(body.errors).toBeUndefined();
      return body.data!.cases.totalCount;
    };
    const eligible = await count(['ELIGIBLE']);
    expect(eligible).toBe(stored.filter((c) => c.eligibility?.outcome === 'ELIGIBLE').length);
    expect(eligible).toBeGreaterThan(stored.length * 0.85);
    const ineligible = await count(['INELIGIBLE']);
    expect(ineligible).toBeGreaterThan(0);
    const letter = await count(['ELIGIBILITY_LETTER_ONLY']);
    expect(eligible + ineligible + letter).toBe(await count(null));
    // The ineligible are closed without a partner, and finance owes them nothing.
    for (const c of stored.filter((x) => x.eligibility?.outcome === 'INELIGIBLE')) {
      expect(c.status).toBe('CLOSED');
      expect(c.partnerId).toBeNull();
    }
  });
});
