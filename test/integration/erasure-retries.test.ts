import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Types } from 'mongoose';
import { connectDatabase, ensureIndexes } from '../../shared/mongo.js';
import {
  DUPLICATE_ERASURES_COLLECTION,
  eraseCase,
  erasureModel,
} from '../../subgraphs/cases/data-protection/erasure.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import {
  dataProtectionDeps,
  retentionStep,
  runRetention,
  type RetentionRunDoc,
} from '../../subgraphs/cases/data-protection/retention.js';
import { startTestSystem, testConfig, type TestSystem } from '../helpers/system.js';

/** Erasure asked again and again, at once and after an attempt whose caller gave up; dry runs of retention. */
describe('erasure under retries and timeouts, and retention dry runs', () => {
  let system: TestSystem;
  let owner: Record<string, string>;
  const models = () => casesModels(system.connections.cases);
  const deps = () => dataProtectionDeps(system.connections.cases, system.redis, system.config.QUEUE_PREFIX);
  const settings = { retentionDays: 1_825, noticeHours: 24 };
  const who = {
    actor: { role: 'MEMBER_STATE' as const, subject: 'fr-officer', memberState: 'FR' },
    kind: 'REQUEST' as const,
    requestReference: 'CNIL-1',
    requestId: null,
  };
  const newCase = async (ref: string) => {
    const report = await system.ingest('FR', [
      {
        memberState: 'FR',
        caseReference: ref,
        recordVersion: 1,
        returnType: 'VOLUNTARY',
        packages: ['POST_ARRIVAL'],
        countryOfOrigin: 'IQ',
        departureDate: '2024-01-10',
        mainApplicant: { name: 'Samir Haddad', dateOfBirth: '1980-02-02', sex: 'MALE' },
        familyMembers: [],
        eligibility: { requestDate: '2024-02-01', applicationSigned: true },
      },
    ]);
    expect(report.counts.created, JSON.stringify(report.rejected)).toBe(1);
    return (await models().Case.findOne({ caseReference: ref }).lean<CaseDoc>().exec())!;
  };
  const erase = (id: string) =>
    system.graphql<{ erasePersonalData: { id: string } }>(
      'mutation($id: ID!) { erasePersonalData(caseId: $id, requestReference: "CNIL-1") { id } }',
      { id },
      owner,
    );
  const records = (caseId: string) => deps().erasures.countDocuments({ caseId }).exec();
  const erasedEvents = async (caseId: string) =>
    (await system.redis.xrange(`${system.config.QUEUE_PREFIX}:case-events`, '-', '+')).filter(([, fields]) =>
      fields.some((f) => f.includes('"case.erased"') && f.includes(caseId)),
    ).length;
  /** As if an attempt died (or its caller's deadline cancelled it) right after marking the case. */
  const markOnly = (caseId: Types.ObjectId) =>
    models().Case.collection.updateOne(
      { _id: caseId },
      { $set: { erasure: { at: new Date(), actor: who.actor, kind: 'REQUEST', retained: {}, complete: false } } },
    );

  beforeAll(async () => {
    system = await startTestSystem({ cases: 2, seed: 11 });
    owner = await system.as({ subject: 'fr-officer', role: 'MEMBER_STATE', memberState: 'FR' });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('concurrent and repeated requests leave one erasure record, one event, and all answer it', async () => {
    const doc = await newCase('FR-RETRY-1');
    const id = doc._id.toHexString();
    const answers = await Promise.all([
      erase(id),
      erase(id),
      erase(id),
      eraseCase(deps(), doc._id, who).then((r) => ({ body: { data: { erasePersonalData: { id: String(r._id) } } } })),
    ]);
    const ids = answers.map((a) => a.body.data!.erasePersonalData.id);
    expect(new Set(ids).size).toBe(1);
    expect((await erase(id)).body.data!.erasePersonalData.id).toBe(ids[0]);
    expect(await records(id)).toBe(1);
    expect(await erasedEvents(id)).toBe(1);
  });

  it('an attempt cut off after marking, finished by retries and retention at once, is recorded once', async () => {
    const doc = await newCase('FR-RETRY-2');
    const id = doc._id.toHexString();
    await markOnly(doc._id);
    const [a, b, run] = await Promise.all([
      erase(id),
      eraseCase(deps(), doc._id, who),
      runRetention(deps(), settings, { dryRun: false }),
    ]);
    expect(a.body.errors).toBeUndefined();
    expect(a.body.data!.erasePersonalData.id).toBe(String(b._id));
    expect(run.cases.find((c) => c.caseId === id)?.action).toMatch(/PURGED|FAILED/);
    expect(await records(id)).toBe(1);
    expect((await models().Case.findOne({ _id: doc._id }).lean<CaseDoc>().exec())!.erasure!.complete).toBe(true);
  });

  it('a dry run writes nothing, lists no erased case, reports interrupted ones apart from the cutoff', async () => {
    const { Case } = models();
    const Run = deps().retention.Run;
    // Erased, but the flag write was cut off: the record exists.
    const flagless = await newCase('FR-DRY-1');
    await eraseCase(deps(), flagless._id, who);
    await Case.collection.updateOne({ _id: flagless._id }, { $set: { 'erasure.complete': false } });
    // Erased minutes ago, completely.
    const erased = await newCase('FR-DRY-2');
    await eraseCase(deps(), erased._id, who);
    // Marked, nothing else: its erasure is to be finished.
    const half = await newCase('FR-DRY-3');
    await markOnly(half._id);

    const runsBefore = await Run.countDocuments({}).exec();
    const now = new Date('2026-06-01T12:00:00Z');
    const dry = await runRetention(deps(), settings, { dryRun: true, now });
    expect(await Run.countDocuments({}).exec()).toBe(runsBefore);
    expect(dry.cutoff.toISOString()).toBe(new Date(now.getTime() - 1_825 * 86_400_000).toISOString());
    const listed = dry.cases.map((c) => c.caseId);
    expect(listed).not.toContain(flagless._id.toHexString());
    expect(listed).not.toContain(erased._id.toHexString());
    expect(dry.cases.find((c) => c.caseId === half._id.toHexString())?.action).toBe('WOULD_PURGE');
    expect(dry.unfinished).toBe(1);
    expect(dry.due).toBe(0);
    // Nothing changed: the flag is still missing, the marked case still holds its data, no notice started.
    expect((await Case.findOne({ _id: flagless._id }).lean<CaseDoc>().exec())!.erasure!.complete).toBe(false);
    expect((await Case.findOne({ _id: half._id }).lean<CaseDoc>().exec())!.mainApplicant).not.toBeNull();
    expect(await deps().retention.Notice.countDocuments({}).exec()).toBe(0);

    const real = await runRetention(deps(), settings, { dryRun: false, now });
    expect(await Run.countDocuments({}).exec()).toBe(runsBefore + 1);
    expect(real.cases.map((c) => c.caseId)).toEqual([half._id.toHexString()]);
    expect((await Case.findOne({ _id: flagless._id }).lean<CaseDoc>().exec())!.erasure!.complete).toBe(true);
    expect(await records(flagless._id.toHexString())).toBe(1);
    expect(await records(half._id.toHexString())).toBe(1);
    const dpo = await system.as({ subject: 'dpo', role: 'DATA_PROTECTION_OFFICER' });
    const runs = await system.graphql<{ retentionRuns: Array<{ dryRun: boolean; due: number; unfinished: number }> }>(
      '{ retentionRuns(first: 1) { dryRun due unfinished } }',
      undefined,
      dpo,
    );
    expect(runs.body.errors).toBeUndefined();
    expect(runs.body.data!.retentionRuns).toEqual([{ dryRun: false, due: 0, unfinished: 1 }]);
  });

  it('the scheduled step records the lease fence it ran under on its run', async () => {
    const runs: RetentionRunDoc[] = [];
    await retentionStep(deps(), { ...settings, intervalMs: 0 }, (run) => runs.push(run))({ fence: 42 });
    expect(runs.map((r) => r.fence)).toEqual([42]);
    const stored = await deps().retention.Run.findOne({ _id: runs[0]!._id }).lean<RetentionRunDoc>().exec();
    expect(stored!.fence).toBe(42);
  });

  it('a store of an earlier version upgrades: old index replaced, repeated records moved aside, not lost', async () => {
    const connection = await connectDatabase(testConfig(), 'cases');
    try {
      const raw = connection.db!.collection('personalDataErasures');
      await raw.createIndex({ caseId: 1 }, { name: 'caseId' });
      const [first, second, third, other] = [1, 2, 3, 4].map(() => new Types.ObjectId());
      await raw.insertMany([
        { _id: first, caseId: 'c1', kind: 'REQUEST' },
        { _id: second, caseId: 'c1', kind: 'REQUEST' },
        { _id: third, caseId: 'c1', kind: 'RETENTION' },
        { _id: other, caseId: 'c2', kind: 'REQUEST' },
      ]);
      erasureModel(connection);
      await ensureIndexes(connection);
      expect((await raw.find({}).sort({ _id: 1 }).toArray()).map((d) => String(d._id))).toEqual(
        [first, other].map(String),
      );
      const moved = await connection.db!.collection(DUPLICATE_ERASURES_COLLECTION).find({}).sort({ _id: 1 }).toArray();
      expect(moved.map((d) => [String(d._id), d.caseId])).toEqual([
        [String(second), 'c1'],
        [String(third), 'c1'],
      ]);
      const names = (await raw.listIndexes().toArray()).map((i) => i.name);
      expect(names).toContain('caseId_unique');
      expect(names).not.toContain('caseId');
      await expect(raw.insertOne({ caseId: 'c2' })).rejects.toMatchObject({ code: 11000 });
      // A second start changes nothing.
      await ensureIndexes(connection);
      expect(await raw.countDocuments({})).toBe(2);
    } finally {
      await connection.dropDatabase();
      await connection.close();
    }
  });
});
