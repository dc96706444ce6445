import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { rebuildStatistics } from '../../subgraphs/cases/statistics/rebuild.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

const QUERY = /* GraphQL */ `
  query ($filter: StatisticsFilter) {
    statistics(filter: $filter) {
      scope
      totalCases
      totalReturnees
      adults
      minors
      averageMainApplicantAge
      averageFamilyComposition
      casesByMemberState {
        key
        count
      }
      casesPerMonth {
        key
        count
      }
      casesByReturnType {
        key
        count
      }
      casesByPackage {
        key
        count
      }
      casesByCountryOfOrigin {
        key
        count
      }
      casesByPartner {
        key
        count
      }
      casesByStatus {
        key
        count
      }
      milestoneDurations {
        milestone
        cases
        averageDays
        medianDays
      }
    }
  }
`;

interface Count {
  key: string;
  count: number;
}
interface Stats {
  scope: string;
  totalCases: number;
  totalReturnees: number;
  adults: number;
  minors: number;
  averageMainApplicantAge: number | null;
  averageFamilyComposition: number | null;
  casesByMemberState: Count[];
  casesPerMonth: Count[];
  casesByReturnType: Count[];
  casesByPackage: Count[];
  casesByCountryOfOrigin: Count[];
  casesByPartner: Count[];
  casesByStatus: Count[];
  milestoneDurations: Array<{
    milestone: string;
    cases: number;
    averageDays: number | null;
    medianDays: number | null;
  }>;
}

/** Every published figure, computed here straight from the stored cases (independently of the read model's code). */
function expectedFrom(cases: CaseDoc[]) {
  const years = (dob: string, on: string) => {
    const b = new Date(`${dob}T00:00:00Z`);
    const o = new Date(`${on}T00:00:00Z`);
    let age = o.getUTCFullYear() - b.getUTCFullYear();
    if (o.getUTCMonth() < b.getUTCMonth() || (o.getUTCMonth() === b.getUTCMonth() && o.getUTCDate() < b.getUTCDate()))
      age--;
    return age;
  };
  const tally = (keys: string[]) => {
    const map = new Map<string, number>();
    for (const key of keys) map.set(key, (map.get(key) ?? 0) + 1);
    return map;
  };
  const asSet = (counts: Count[]) => new Map(counts.map((c) => [c.key, c.count]));
  const ref = (c: CaseDoc) => c.departureDate ?? new Date(c.createdAt).toISOString().slice(0, 10);
  let minors = 0;
  let returnees = 0;
  let ageSum = 0;
  for (const c of cases) {
    returnees += c.familySize;
    for (const p of [c.mainApplicant, ...c.familyMembers]) if (years(p.dateOfBirth, ref(c)) < 18) minors++;
    ageSum += years(c.mainApplicant.dateOfBirth, ref(c));
  }
  const spanDays = (from: Date | string | null | undefined, to: Date | string | null | undefined) =>
    from && to ? Math.max(0, Math.round((new Date(to).getTime() - new Date(from).getTime()) / 86_400_000)) : null;
  const durations = (pick: (c: CaseDoc) => number | null) => {
    const values = cases
      .map(pick)
      .filter((v): v is number => v !== null)
      .sort((a, b) => a - b);
    const n = values.length;
    return {
      cases: n,
      averageDays: n ? values.reduce((a, b) => a + b, 0) / n : null,
      medianDays: n ? (values[Math.floor((n - 1) / 2)]! + values[Math.floor(n / 2)]!) / 2 : null,
    };
  };
  return {
    totalCases: cases.length,
    totalReturnees: returnees,
    minors,
    adults: returnees - minors,
    averageMainApplicantAge: cases.length ? ageSum / cases.length : null,
    averageFamilyComposition: cases.length ? returnees / cases.length : null,
    byMemberState: tally(cases.map((c) => c.memberState)),
    perMonth: tally(cases.map((c) => ref(c).slice(0, 7))),
    byReturnType: tally(cases.map((c) => c.returnType)),
    byPackage: tally(cases.flatMap((c) => [...new Set(c.packages)])),
    byCountry: tally(cases.map((c) => c.countryOfOrigin)),
    byPartner: tally(cases.map((c) => c.partnerId ?? 'UNASSIGNED')),
    byStatus: tally(cases.map((c) => c.status)),
    durations: [
      // KM1 is the application (accepted by the partner); the arrival report is its own step.
      { milestone: 'INSERTION_TO_KM1', ...durations((c) => spanDays(c.createdAt, c.milestones?.km1At)) },
      { milestone: 'DEPARTURE_TO_ARRIVAL', ...durations((c) => spanDays(c.departureDate, c.milestones?.arrivedAt)) },
      { milestone: 'KM1_TO_KM2', ...durations((c) => spanDays(c.milestones?.km1At, c.milestones?.km2At)) },
      { milestone: 'ARRIVAL_TO_KM2', ...durations((c) => spanDays(c.milestones?.arrivedAt, c.milestones?.km2At)) },
      { milestone: 'KM2_TO_KM3', ...durations((c) => spanDays(c.milestones?.km2At, c.milestones?.km3At)) },
    ],
    asSet,
  };
}

function expectMatches(actual: Stats, cases: CaseDoc[]) {
  const e = expectedFrom(cases);
  expect(actual.totalCases).toBe(e.totalCases);
  expect(actual.totalReturnees).toBe(e.totalReturnees);
  expect(actual.minors).toBe(e.minors);
  expect(actual.adults).toBe(e.adults);
  expect(actual.averageMainApplicantAge).toBeCloseTo(e.averageMainApplicantAge!, 9);
  expect(actual.averageFamilyComposition).toBeCloseTo(e.averageFamilyComposition!, 9);
  expect(e.asSet(actual.casesByMemberState)).toEqual(e.byMemberState);
  expect(e.asSet(actual.casesPerMonth)).toEqual(e.perMonth);
  expect(e.asSet(actual.casesByReturnType)).toEqual(e.byReturnType);
  expect(e.asSet(actual.casesByPackage)).toEqual(e.byPackage);
  expect(e.asSet(actual.casesByCountryOfOrigin)).toEqual(e.byCountry);
  expect(e.asSet(actual.casesByPartner)).toEqual(e.byPartner);
  expect(e.asSet(actual.casesByStatus)).toEqual(e.byStatus);
  for (const expected of e.durations) {
    const got = actual.milestoneDurations.find((d) => d.milestone === expected.milestone)!;
    expect(got.cases).toBe(expected.cases);
    if (expected.averageDays === null) expect(got.averageDays).toBeNull();
    else expect(got.averageDays).toBeCloseTo(expected.averageDays, 9);
    expect(got.medianDays).toBe(expected.medianDays);
  }
  expect(actual.casesPerMonth.map((c) => c.key)).toEqual([...actual.casesPerMonth.map((c) => c.key)].sort());
}

describe('programme statistics from the incrementally updated read model', () => {
  let system: TestSystem;
  const stats = async (filter?: Record<string, string>) =>
    (await system.graphql<{ statistics: Stats }>(QUERY, { filter })).body;
  const allCases = () => casesModels(system.connections.cases).Case.find().lean<CaseDoc[]>().exec();
  /** Waits until the projector has applied every event in the stream. */
  const settle = async () => {
    const last = (
      await system.redis.xrevrange(`${system.config.QUEUE_PREFIX}:case-events`, '+', '-', 'COUNT', 1)
    )[0]?.[0];
    for (let i = 0; i < 100 && last && (await system.projector.checkpoint()) !== last; i++)
      await new Promise((r) => setTimeout(r, 50));
  };

  beforeAll(async () => {
    system = await startTestSystem({ cases: 400, seed: 11 });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('reproduces every published figure from the raw cases after seeding', async () => {
    const body = await stats();
    expect(body.errors).toBeUndefined();
    expect(body.data!.statistics.scope).toBe('all');
    expectMatches(body.data!.statistics, await allCases());
  });

  it('per Member State, country and partner scopes match their raw subsets', async () => {
    const cases = await allCases();
    for (const [filter, subset] of [
      [{ memberState: 'DE' }, cases.filter((c) => c.memberState === 'DE')],
      [{ countryOfOrigin: 'IQ' }, cases.filter((c) => c.countryOfOrigin === 'IQ')],
      [{ partner: 'ettc' }, cases.filter((c) => c.partnerId === 'ettc')],
    ] as const) {
      const body = await stats(filter);
      expect(body.errors).toBeUndefined();
      expectMatches(body.data!.statistics, subset);
    }
  });

  it('stays exact after lifecycle transitions and ingested creations and updates', async () => {
    const { Case } = casesModels(system.connections.cases);
    // KM3 on cases with an approved plan: status, milestone and duration figures all move.
    const approved = await Case.find({ status: 'PLAN_APPROVED' }).limit(3).lean<CaseDoc[]>().exec();
    expect(approved.length).toBeGreaterThan(0);
    for (const c of approved) {
      const partner = await mintToken({ subject: 'pw', role: 'PARTNER', partnerId: c.partnerId! }, system.config);
      const officer = await mintToken(
        { subject: 'ms', role: 'MEMBER_STATE', memberState: c.memberState },
        system.config,
      );
      const id = c._id.toHexString();
      const reported = await system.graphql(
        `mutation($id: ID!) { reportCompletion(caseId: $id) { status } }`,
        { id },
        { authorization: `Bearer ${partner}` },
      );
      expect(reported.body.errors).toBeUndefined();
      const done = await system.graphql(
        `mutation($id: ID!) { approveCompletion(caseId: $id) { status } }`,
        { id },
        { authorization: `Bearer ${officer}` },
      );
      expect(done.body.errors).toBeUndefined();
    }
    const record = (ref: string, extra: Record<string, unknown> = {}) => ({
      memberState: 'AT',
      caseReference: ref,
      recordVersion: 1,
      returnType: 'VOLUNTARY',
      packages: ['POST_ARRIVAL', 'POST_RETURN'],
      countryOfOrigin: 'GE',
      departureDate: '2024-05-10',
      mainApplicant: { name: 'Nino Beridze', dateOfBirth: '1980-05-11', sex: 'FEMALE' },
      familyMembers: [{ name: 'Levan Beridze', dateOfBirth: '2012-02-02', sex: 'MALE', relationship: 'CHILD' }],
      eligibility: { applicationSigned: true },
      ...extra,
    });
    const first = await system.ingest('AT', [record('AT-S-1'), record('AT-S-2')]);
    expect(first.counts.created).toBe(2);
    // A newer version moves the case to another country and changes the family.
    const second = await system.ingest('AT', [
      record('AT-S-1', { recordVersion: 2, countryOfOrigin: 'AM', familyMembers: [] }),
    ]);
    expect(second.counts.updated).toBe(1);
    await settle();
    const cases = await allCases();
    expectMatches((await stats()).data!.statistics, cases);
    expectMatches(
      (await stats({ countryOfOrigin: 'GE' })).data!.statistics,
      cases.filter((c) => c.countryOfOrigin === 'GE'),
    );
    expectMatches(
      (await stats({ countryOfOrigin: 'AM' })).data!.statistics,
      cases.filter((c) => c.countryOfOrigin === 'AM'),
    );
  });

  it('replaying events already applied does not count them twice', async () => {
    const before = (await stats()).data!.statistics;
    // Rewind the checkpoint: the projector re-reads the stream, and every scope skips what it saw.
    await casesModels(system.connections.cases)
      .Projection.updateOne({ _id: 'statistics' }, { $set: { lastEventId: '0-0' } })
      .exec();
    await system.projector.catchUp();
    expect((await stats()).data!.statistics).toEqual(before);
  });

  it('a full rebuild from the cases gives the same figures as the incremental read model', async () => {
    const before = (await stats()).data!.statistics;
    await system.projector.stop();
    await rebuildStatistics(casesModels(system.connections.cases), system.redis, system.config.QUEUE_PREFIX);
    system.projector.start();
    expect((await stats()).data!.statistics).toEqual(before);
  });

  it('refuses a filter on two dimensions, and answers zeros for an empty scope', async () => {
    const body = await stats({ memberState: 'BE', partner: 'weldo' });
    expect(body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(body.errors![0]!.message).toMatch(/at most one of memberState, countryOfOrigin, partner/);
    const empty = (await stats({ countryOfOrigin: 'ZZ' })).data!.statistics;
    expect(empty).toMatchObject({
      scope: 'country:ZZ',
      totalCases: 0,
      averageMainApplicantAge: null,
      casesByStatus: [],
    });
    const hostile = await stats({ memberState: '{"$gt":""}' });
    expect(hostile.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });
});
