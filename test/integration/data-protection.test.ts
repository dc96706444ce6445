import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/processes.js';
import { erasureModel } from '../../subgraphs/cases/data-protection/erasure.js';
import { feedModels } from '../../subgraphs/cases/ingestion/feeds.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { dataProtectionDeps, runRetention } from '../../subgraphs/cases/data-protection/retention.js';
import { rebuildStatistics } from '../../subgraphs/cases/statistics/rebuild.js';
import { personalDataGrantModel } from '../../subgraphs/cases/data-protection/support-access.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

const STATS =
  `query($f: StatisticsFilter) { statistics(filter: $f) { scope totalCases totalReturnees adults ` +
  `minors averageMainApplicantAge averageFamilyComposition casesByStatus { key count } } }`;

/** Erasure on request, justified support-desk access, and the retention job, on real storage. */
describe('data subject rights: erasure, justified access, retention', () => {
  let system: TestSystem;
  const owner = { subject: 'fr-officer', role: 'MEMBER_STATE' as const, memberState: 'FR' };
  let headers: Record<string, Record<string, string>>;
  const models = () => casesModels(system.connections.cases);
  const record = (ref: string, extra: Record<string, unknown> = {}) => ({
    memberState: 'FR',
    caseReference: ref,
    recordVersion: 1,
    returnType: 'VOLUNTARY',
    packages: ['POST_ARRIVAL', 'POST_RETURN'],
    countryOfOrigin: 'IQ',
    departureDate: '2024-01-10',
    mainApplicant: { name: 'Samir Haddad', dateOfBirth: '1980-02-02', sex: 'MALE' },
    familyMembers: [{ name: 'Mira Haddad', dateOfBirth: '2012-06-06', sex: 'FEMALE', relationship: 'CHILD' }],
    eligibility: { requestDate: '2024-02-01', applicationSigned: true },
    ...extra,
  });
  const settle = async () => {
    const last = (
      await system.redis.xrevrange(`${system.config.QUEUE_PREFIX}:case-events`, '+', '-', 'COUNT', 1)
    )[0]?.[0];
    for (let i = 0; i < 200 && last && (await system.projector.checkpoint()) !== last; i++)
      await new Promise((r) => setTimeout(r, 50));
  };
  const newCase = async (ref: string) => {
    const report = await system.ingest('FR', [record(ref)]);
    expect(report.counts.created, JSON.stringify(report.rejected)).toBe(1);
    return (await models().Case.findOne({ caseReference: ref }).lean<CaseDoc>().exec())!;
  };
  const erase = (id: string, requestReference = 'CNIL-2024-0042', who = headers.owner!) =>
    system.graphql<{
      erasePersonalData: {
        id: string;
        caseId: string;
        kind: string;
        caseFields: string[];
        transitionLogEntries: number;
        feedReportEntries: number;
        stagedRecords: number;
      };
    }>(
      'mutation($id: ID!, $r: String!) { erasePersonalData(caseId: $id, requestReference: $r) { id caseId ' +
        'kind caseFields transitionLogEntries feedReportEntries stagedRecords } }',
      { id, r: requestReference },
      who,
    );

  beforeAll(async () => {
    system = await startTestSystem({ cases: 40, seed: 5 });
    headers = {
      owner: await system.as(owner),
      otherMs: await system.as({ subject: 'de', role: 'MEMBER_STATE', memberState: 'DE' }),
      desk: await system.as({ subject: 'desk-7', role: 'SUPPORT_DESK' }),
      dpo: await system.as({ subject: 'dpo', role: 'DATA_PROTECTION_OFFICER' }),
    };
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('erases a case everywhere (case, transition log, feed reports, staged chunks), recorded; stats stay', async () => {
    const target = await newCase('FR-ERASE-1');
    const id = target._id.toHexString();
    const partner = await system.as({ subject: 'p', role: 'PARTNER', partnerId: target.partnerId! });
    for (const mutation of [
      'mutation($id: ID!) { acceptCase(caseId: $id) { id } }',
      'mutation($id: ID!) { reportArrival(caseId: $id, report: { arrivalDate: "2024-01-11", ' +
        'postArrivalServices: [CASH] }) { id } }',
      'mutation($id: ID!) { submitReintegrationPlan(caseId: $id, plan: { services: [{ category: ' +
        'JOB_PLACEMENT, description: "Job at Samir\'s uncle\'s bakery", amountCents: 100000 }] }) { id } }',
    ])
      expect((await system.graphql(mutation, { id }, partner)).body.errors).toBeUndefined();
    const close = await system.graphql(
      'mutation($id: ID!) { closeCase(caseId: $id, reason: "Samir moved to Erbil, unreachable") { id } }',
      { id },
      headers.owner,
    );
    expect(close.body.errors).toBeUndefined();
    // An ingestion report naming the case (a rejected update), of this Member State and of another.
    const feeds = feedModels(system.connections.cases);
    await feeds.Feed.collection.insertMany([
      { _id: 'feed_fr-1' as never, memberState: 'FR', received: 1, totalChunks: 1, createdAt: new Date() },
      { _id: 'feed_de-1' as never, memberState: 'DE', received: 1, totalChunks: 1, createdAt: new Date() },
    ]);
    const rejected = {
      position: 0,
      line: 1,
      caseReference: 'FR-ERASE-1',
      path: 'mainApplicant.dateOfBirth',
      message: 'Samir Haddad: "1980-13-02" is not a date',
    };
    await feeds.FeedChunk.collection.insertMany([
      {
        _id: 'feed_fr-1:0' as never,
        feedId: 'feed_fr-1',
        chunkIndex: 0,
        counts: {},
        rejected: [rejected],
        failed: false,
        error: null,
        completedAt: new Date(),
      },
      {
        _id: 'feed_de-1:0' as never,
        feedId: 'feed_de-1',
        chunkIndex: 0,
        counts: {},
        rejected: [rejected],
        failed: false,
        error: null,
        completedAt: new Date(),
      },
    ]);
    // A failed chunk waiting in Redis for a replay, holding the case's record and another one.
    const stagedKey = `${system.config.QUEUE_PREFIX}:feed-chunk:feed_fr-1:0`;
    await system.redis.set(
      stagedKey,
      JSON.stringify({ records: [record('FR-ERASE-1'), record('FR-KEEP-1')], lines: [1, 2] }),
      'EX',
      3600,
    );
    await settle();
    const before = await Promise.all(
      [{}, { memberState: 'FR' }, { countryOfOrigin: 'IQ' }].map(
        async (f) => (await system.graphql(STATS, { f })).body.data,
      ),
    );

    const first = await erase(id);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data!.erasePersonalData).toMatchObject({
      caseId: id,
      kind: 'REQUEST',
      feedReportEntries: 1,
      stagedRecords: 1,
    });
    // the plan and the closing reason
    expect(first.body.data!.erasePersonalData.transitionLogEntries).toBeGreaterThanOrEqual(2);
    expect(first.body.data!.erasePersonalData.caseFields).toEqual(
      expect.arrayContaining(['mainApplicant', 'familyMembers', 'closingReason']),
    );

    // The case: metadata kept, personal data gone, even for the owner.
    const view = await system.graphql<{ case: Record<string, unknown> }>(
      'query($id: ID!) { case(id: $id) { caseReference status familySize mainApplicant { name } familyMembers ' +
        '{ name } closingReason history { reason } reintegrationPlan { totalCents services { description } } ' +
        'erasure { kind at } } }',
      { id },
      headers.owner,
    );
    expect(view.body.data!.case).toMatchObject({
      caseReference: 'FR-ERASE-1',
      status: 'CLOSED',
      familySize: 2,
      mainApplicant: null,
      familyMembers: [],
      closingReason: null,
      reintegrationPlan: { totalCents: 100_000, services: [{ description: '' }] },
      erasure: { kind: 'REQUEST' },
    });
    expect(
      (view.body.data!.case.history as Array<{ reason: string | null }>).every((h) => h === null || h.reason === null),
    ).toBe(true);
    // The erasure is a step of the transition log: a lifecycle step racing it from the same version gets CONFLICT.
    const erasedDoc = (await models().Case.findOne({ _id: target._id }).lean<CaseDoc>().exec())!;
    expect(
      await models()
        .CaseEvent.findOne({ _id: `${id}:${erasedDoc.version}` })
        .lean()
        .exec(),
    ).toMatchObject({ transition: 'erasePersonalData', to: 'CLOSED' });
    expect(erasedDoc.history[erasedDoc.version - 1]).toMatchObject({
      transition: 'erasePersonalData',
      actor: { subject: 'fr-officer' },
    });
    expect(erasedDoc.erasure).toMatchObject({ kind: 'REQUEST', complete: true });
    // Storage itself holds none of it: case document, transition log, reports, staged chunk.
    const stored = JSON.stringify(await models().Case.findOne({ _id: target._id }).lean().exec());
    const log = JSON.stringify(await models().CaseEvent.find({ caseId: id }).lean().exec());
    for (const text of ['Samir', 'Mira', '1980-02-02', 'Erbil', 'bakery']) {
      expect(stored, text).not.toContain(text);
      expect(log, text).not.toContain(text);
    }
    const reports = await feeds.FeedChunk.find({}).sort({ _id: 1 }).lean().exec();
    expect(reports.find((r) => r.feedId === 'feed_fr-1')!.rejected[0]).toMatchObject({
      caseReference: null,
      path: 'mainApplicant.dateOfBirth',
      message: expect.not.stringContaining('Samir'),
    });
    // Another Member State's report is not touched by FR's erasure.
    expect(reports.find((r) => r.feedId === 'feed_de-1')!.rejected[0]!.caseReference).toBe('FR-ERASE-1');
    const staged = JSON.parse((await system.redis.get(stagedKey))!) as {
      records: Array<{ caseReference: string } | null>;
    };
    expect(staged.records.map((r) => r?.caseReference ?? null)).toEqual([null, 'FR-KEEP-1']);
    expect(await system.redis.ttl(stagedKey)).toBeGreaterThan(3000);

    // Statistics: the same figures, incrementally and after a full rebuild.
    await settle();
    const after = await Promise.all(
      [{}, { memberState: 'FR' }, { countryOfOrigin: 'IQ' }].map(
        async (f) => (await system.graphql(STATS, { f })).body.data,
      ),
    );
    expect(after).toEqual(before);
    await rebuildStatistics(models(), system.redis, system.config.QUEUE_PREFIX);
    const rebuilt = await Promise.all(
      [{}, { memberState: 'FR' }, { countryOfOrigin: 'IQ' }].map(
        async (f) => (await system.graphql(STATS, { f })).body.data,
      ),
    );
    expect(rebuilt).toEqual(before);

    // Recorded; idempotent; readable by the owner and the DPO, not by another Member State.
    const again = await erase(id, 'CNIL-2024-0043');
    expect(again.body.data!.erasePersonalData.id).toBe(first.body.data!.erasePersonalData.id);
    expect(await erasureModel(system.connections.cases).countDocuments({ caseId: id })).toBe(1);
    const list = '{ personalDataErasures { caseId requestReference actorSubject kind } }';
    expect((await system.graphql(list, undefined, headers.owner)).body.data).toEqual({
      personalDataErasures: [
        { caseId: id, requestReference: 'CNIL-2024-0042', actorSubject: 'fr-officer', kind: 'REQUEST' },
      ],
    });
    expect(
      (await system.graphql<{ personalDataErasures: unknown[] }>(list, undefined, headers.dpo)).body.data!
        .personalDataErasures,
    ).toHaveLength(1);
    expect(
      (await system.graphql<{ personalDataErasures: unknown[] }>(list, undefined, headers.otherMs)).body.data!
        .personalDataErasures,
    ).toEqual([]);

    // A later feed (or a replay) cannot bring the data back.
    const refeed = await system.ingest('FR', [record('FR-ERASE-1', { recordVersion: 2 })]);
    expect(refeed.counts).toMatchObject({ rejected: 1, updated: 0 });
    expect(refeed.rejected[0]).toMatchObject({
      caseReference: 'FR-ERASE-1',
      path: 'caseReference',
      message: expect.stringContaining('erased'),
    });
    expect(JSON.stringify(await models().Case.findOne({ _id: target._id }).lean().exec())).not.toContain('Samir');
  });

  it('an erased case goes on through its lifecycle, but no new free text is stored on it', async () => {
    const doc = await newCase('FR-AFTER-1');
    const id = doc._id.toHexString();
    expect((await erase(id, 'REQ-AFTER-1')).body.errors).toBeUndefined();
    const withdrawn = await system.graphql<{ withdrawCase: { status: string } }>(
      'mutation($id: ID!) { withdrawCase(caseId: $id, reason: "Samir moved to his cousin in Mosul") { status } }',
      { id },
      headers.owner,
    );
    expect(withdrawn.body.data?.withdrawCase.status).toBe('WITHDRAWN');
    expect(JSON.stringify(await models().Case.findOne({ _id: doc._id }).lean().exec())).not.toContain('Mosul');
    expect(JSON.stringify(await models().CaseEvent.find({ caseId: id }).lean().exec())).not.toContain('Mosul');
  });

  it('refuses hostile or malformed erasure requests and erasure by anyone but the owner, erasing nothing', async () => {
    const target = await newCase('FR-ERASE-2');
    const id = target._id.toHexString();
    for (const reference of [
      '',
      'x'.repeat(101),
      '{"$ne": null}',
      '<script>alert(1)</script>',
      'REQ\u0000-1',
      'a\nb',
    ]) {
      const result = await erase(id, reference);
      expect(result.body.errors?.[0]?.extensions, JSON.stringify(reference)).toMatchObject({
        code: 'BAD_USER_INPUT',
        argumentName: 'requestReference',
      });
    }
    expect((await erase(id, 'REQ-1', headers.otherMs)).body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await erase(id, 'REQ-1', headers.desk)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await erase('not-an-id', 'REQ-1')).body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await models().Case.findOne({ _id: target._id }).lean<CaseDoc>().exec())!.mainApplicant.name).toBe(
      'Samir Haddad',
    );
  });

  it('the support desk reads personal data only through a justified, time-limited, recorded access', async () => {
    const target = await newCase('FR-DESK-1');
    const id = target._id.toHexString();
    const read = async () =>
      (
        await system.graphql<{ case: { mainApplicant: { name: string | null } | null } }>(
          'query($id: ID!) { case(id: $id) { mainApplicant { name } } }',
          { id },
          headers.desk,
        )
      ).body.data!.case;
    const open = (justification: string) =>
      system.graphql<{ openPersonalDataAccess: { id: string; expiresAt: string; openedAt: string; subject: string } }>(
        'mutation($id: ID!, $j: String!) { openPersonalDataAccess(caseId: $id, justification: $j) { id ' +
          'subject openedAt expiresAt } }',
        { id, j: justification },
        headers.desk,
      );
    expect((await read()).mainApplicant).toBeNull();
    for (const justification of ['', 'because', ' '.repeat(50), 'x'.repeat(2_001)]) {
      expect(
        (await open(justification)).body.errors?.[0]?.extensions,
        JSON.stringify(justification.slice(0, 10)),
      ).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'justification' });
    }
    expect((await read()).mainApplicant).toBeNull();
    const granted = await open('Ticket 9912: ministry reports a wrong birth date for this case');
    expect(granted.body.errors).toBeUndefined();
    const grant = granted.body.data!.openPersonalDataAccess;
    expect(new Date(grant.expiresAt).getTime() - new Date(grant.openedAt).getTime()).toBe(
      system.config.SUPPORT_ACCESS_MINUTES * 60_000,
    );
    expect((await read()).mainApplicant).toEqual({ name: 'Samir Haddad' });
    // Only for that case.
    const other = (await models()
      .Case.findOne({ memberState: { $ne: 'FR' } })
      .lean<CaseDoc>()
      .exec())!;
    const otherRead = await system.graphql<{ case: { mainApplicant: unknown } }>(
      'query($id: ID!) { case(id: $id) { mainApplicant { name } } }',
      { id: other._id.toHexString() },
      headers.desk,
    );
    expect(otherRead.body.data!.case.mainApplicant).toBeNull();
    // Recorded, and visible to the DPO with its justification.
    const grants = await system.graphql<{
      personalDataAccessGrants: Array<{ id: string; justification: string; subject: string }>;
    }>('query($c: ID) { personalDataAccessGrants(caseId: $c) { id justification subject } }', { c: id }, headers.dpo);
    expect(grants.body.data!.personalDataAccessGrants).toEqual([
      {
        id: grant.id,
        justification: 'Ticket 9912: ministry reports a wrong birth date for this case',
        subject: 'desk-7',
      },
    ]);
    // Expired: nothing personal any more.
    await personalDataGrantModel(system.connections.cases).collection.updateOne(
      { caseId: id },
      { $set: { expiresAt: new Date(Date.now() - 1_000) } },
    );
    expect((await read()).mainApplicant).toBeNull();
  });

  it('retention: a dry run lists what is due, a later run purges it after the notice period; all logged', async () => {
    const ended = await newCase('FR-RETAIN-1');
    const recent = await newCase('FR-RETAIN-2');
    const longAgo = new Date('2018-05-01T00:00:00Z');
    const { Case } = models();
    for (const doc of [ended, recent]) {
      const at = doc === ended ? longAgo : new Date();
      await Case.collection.updateOne(
        { _id: doc._id },
        {
          $set: {
            status: 'CLOSED',
            updatedAt: at,
            history: [
              ...doc.history,
              {
                version: 1,
                transition: 'closeCase',
                from: 'SUBMITTED',
                to: 'CLOSED',
                at,
                actor: { role: 'MEMBER_STATE', subject: 'x' },
                reason: 'Samir left',
              },
            ],
          },
        },
      );
    }
    const deps = dataProtectionDeps(system.connections.cases, system.redis, system.config.QUEUE_PREFIX);
    const settings = { retentionDays: 365 * 5, noticeHours: 24 };
    const now = new Date();
    const dry = await runRetention(deps, settings, { dryRun: true, now });
    const mine = (run: typeof dry) =>
      run.cases.filter((c) => c.caseId === ended._id.toHexString() || c.caseId === recent._id.toHexString());
    expect(mine(dry)).toEqual([
      expect.objectContaining({ caseId: ended._id.toHexString(), action: 'LISTED', status: 'CLOSED' }),
    ]);
    const first = await runRetention(deps, settings, { dryRun: false, now });
    expect(mine(first).map((c) => c.action)).toEqual(['LISTED']);
    expect((await Case.findOne({ _id: ended._id }).lean<CaseDoc>().exec())!.mainApplicant.name).toBe('Samir Haddad');
    const later = new Date(now.getTime() + 25 * 3_600_000);
    const dryLater = await runRetention(deps, settings, { dryRun: true, now: later });
    expect(mine(dryLater).map((c) => c.action)).toEqual(['WOULD_PURGE']);
    expect((await Case.findOne({ _id: ended._id }).lean<CaseDoc>().exec())!.erasure).toBeUndefined();
    const purge = await runRetention(deps, settings, { dryRun: false, now: later });
    expect(mine(purge).map((c) => c.action)).toEqual(['PURGED']);
    const purged = (await Case.findOne({ _id: ended._id }).lean<CaseDoc>().exec())!;
    expect(purged.erasure).toMatchObject({ kind: 'RETENTION', actor: { role: 'SYSTEM', subject: 'retention-job' } });
    expect(JSON.stringify(purged)).not.toContain('Samir');
    expect((await Case.findOne({ _id: recent._id }).lean<CaseDoc>().exec())!.mainApplicant.name).toBe('Samir Haddad');
    // Nothing left due: a new run purges nothing more.
    expect(mine(await runRetention(deps, settings, { dryRun: false, now: later }))).toEqual([]);
    const runs = await system.graphql<{ retentionRuns: Array<{ dryRun: boolean; purged: number }> }>(
      '{ retentionRuns(first: 10) { dryRun purged due awaitingNotice cases { caseId action } } }',
      undefined,
      headers.dpo,
    );
    // Dry runs leave no record.
    expect(runs.body.data!.retentionRuns.map((r) => r.dryRun)).toEqual([false, false, false]);
  });

  it('the next retention run finishes an erasure interrupted after marking the case, whatever its age', async () => {
    const doc = await newCase('FR-HALF-1');
    const id = doc._id.toHexString();
    const { Case } = models();
    // As if the process died right after marking: personal data still in the transition log and a report.
    await Case.collection.updateOne(
      { _id: doc._id },
      {
        $set: {
          status: 'CLOSED',
          mainApplicant: null,
          familyMembers: [],
          erasure: {
            at: new Date(),
            actor: { role: 'MEMBER_STATE', subject: 'fr-officer' },
            kind: 'REQUEST',
            retained: { adults: 1, minors: 1, mainApplicantAge: 43 },
            complete: false,
          },
        },
      },
    );
    await models().CaseEvent.collection.insertOne({
      _id: `${id}:9` as never,
      caseId: id,
      version: 9,
      transition: 'closeCase',
      from: 'SUBMITTED',
      to: 'CLOSED',
      at: new Date(),
      actor: { role: 'MEMBER_STATE', subject: 'x' },
      reason: 'Samir went to Basra',
      changes: [{ path: 'closingReason', value: 'Samir went to Basra' }],
    });
    const deps = dataProtectionDeps(system.connections.cases, system.redis, system.config.QUEUE_PREFIX);
    const run = await runRetention(deps, { retentionDays: 365 * 5, noticeHours: 0 }, { dryRun: false });
    expect(run.cases.filter((c) => c.caseId === id).map((c) => c.action)).toEqual(['PURGED']);
    expect(JSON.stringify(await models().CaseEvent.find({ caseId: id }).lean().exec())).not.toContain('Basra');
    expect((await Case.findOne({ _id: doc._id }).lean<CaseDoc>().exec())!.erasure).toMatchObject({
      kind: 'REQUEST',
      complete: true,
    });
    expect(await erasureModel(system.connections.cases).countDocuments({ caseId: id })).toBe(1);
  });

  it('npm run retention: a dry run prints the report and changes nothing; bad options are refused', async () => {
    const Run = dataProtectionDeps(system.connections.cases, system.redis, system.config.QUEUE_PREFIX).retention.Run;
    const runsBefore = await Run.countDocuments({}).exec();
    const env = {
      ...process.env,
      MONGO_DB_PREFIX: system.config.MONGO_DB_PREFIX,
      QUEUE_PREFIX: system.config.QUEUE_PREFIX,
      RETENTION_DAYS: '1',
      LOG_LEVEL: 'silent',
    };
    const dry = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/retention.ts', '--dry-run'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: cases ended before \S+ \(1 days\) still holding personal data: \d+/);
    expect(dry.stdout).toMatch(/\nerasures interrupted midway, a real run finishes: \d+\n/);
    // Not even a run record.
    expect(await Run.countDocuments({}).exec()).toBe(runsBefore);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/retention.ts', '--purge-everything'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(bad.status).toBe(64);
    expect(bad.stderr).toMatch(/Unknown option '--purge-everything'[\s\S]*usage: npm run retention/);
    const badConfig = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/retention.ts', '--dry-run'], {
      cwd: ROOT,
      env: { ...env, RETENTION_DAYS: 'forever' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(badConfig.status).toBe(78);
    expect(badConfig.stderr).toMatch(/RETENTION_DAYS/);
  });
});
