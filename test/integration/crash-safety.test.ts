import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { caseEventStream, publishCaseEvents } from '../../shared/case-events/index.js';
import { spawnEntry, waitForReady } from '../../scripts/processes.js';
import { feedModels } from '../../subgraphs/cases/ingestion/feeds.js';
import { processIngestChunk } from '../../subgraphs/cases/ingestion/processor.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { startTestSystem, testConfig, type TestSystem } from '../helpers/system.js';

/**
 * Crash safety with real processes: a worker killed with SIGKILL in the middle of a feed,
 * and Redis restarted during a feed. Either way the feed completes with every record
 * stored once, exact counts in its report, and each case event published once.
 */
const FEED = 3_000;

const record = (ref: string) => ({
  memberState: 'BE',
  caseReference: ref,
  recordVersion: 1,
  returnType: 'VOLUNTARY',
  packages: ['POST_ARRIVAL', 'POST_RETURN'],
  countryOfOrigin: 'GE',
  departureDate: '2024-04-02',
  mainApplicant: { name: 'Гиорги Бериძე', dateOfBirth: '1988-03-04', sex: 'MALE' },
  familyMembers: [{ name: 'Nino', dateOfBirth: '2014-01-01', sex: 'FEMALE', relationship: 'CHILD' }],
  eligibility: { requestDate: '2024-04-10', applicationSigned: true },
});

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );

function workerEnv(system: TestSystem, port: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...Object.fromEntries(
      Object.entries(system.config)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, String(v)]),
    ),
    COVERAGE_URL: `${system.subgraphs.coverage.url}/graphql`,
    WORKER_PORT: String(port),
    // A killed worker's chunk goes to another worker after this long.
    INGEST_LOCK_MS: '1500',
    INGEST_CONCURRENCY: '2',
    LOG_LEVEL: 'silent',
  };
}

async function startWorker(system: TestSystem, port: number): Promise<ChildProcess> {
  const child = spawnEntry('subgraphs/cases/worker.ts', workerEnv(system, port), 'pipe');
  child.stdout?.resume();
  child.stderr?.resume();
  await waitForReady(`http://127.0.0.1:${port}/health/ready`, 60_000, () => child.exitCode === null);
  return child;
}

async function pushFeed(system: TestSystem, prefix: string): Promise<string> {
  const token = await mintToken({ subject: 'be-system', role: 'MEMBER_STATE', memberState: 'BE' }, system.config);
  const body = Array.from({ length: FEED }, (_, i) => JSON.stringify(record(`${prefix}-${i}`))).join('\n');
  const response = await fetch(`${system.gateway.url}/ingest/v1/feeds`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${token}` },
    body,
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { feedId: string }).feedId;
}

/** Chunks of the feed whose reports are written (read from the store: works while Redis is down). */
const chunksDone = (system: TestSystem, feedId: string) =>
  feedModels(system.connections.cases).FeedChunk.countDocuments({ feedId }).exec();

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function reportOf(system: TestSystem, feedId: string) {
  const result = await system.graphql<{ ingestionFeed: { status: string; counts: Record<string, number> } }>(
    'query($id: ID!) { ingestionFeed(id: $id) { status counts { received created updated unchanged stale ' +
      'rejected } } }',
    { id: feedId },
    { authorization: `Bearer ${await mintToken({ subject: 'desk', role: 'SUPPORT_DESK' }, system.config)}` },
  );
  return result.body.data!.ingestionFeed;
}

/** Every record once in the store, exact counts, and one `case.created` event per case. */
async function expectExactlyOnce(system: TestSystem, redis: Redis, feedId: string, prefix: string): Promise<void> {
  const report = await reportOf(system, feedId);
  expect(report.status).toBe('DONE');
  expect(report.counts).toEqual({ received: FEED, created: FEED, updated: 0, unchanged: 0, stale: 0, rejected: 0 });
  const cases = casesModels(system.connections.cases).Case;
  expect(await cases.countDocuments({ caseReference: { $regex: `^${prefix}-` } }).exec()).toBe(FEED);
  const ids = new Set(
    (
      await cases
        .find({ caseReference: { $regex: `^${prefix}-` } }, { _id: 1 })
        .lean()
        .exec()
    ).map((d) => String(d._id)),
  );
  const created = new Map<string, number>();
  let from = '-';
  for (;;) {
    const entries = await redis.xrange(caseEventStream(system.config.QUEUE_PREFIX), from, '+', 'COUNT', 5_000);
    for (const [, fields] of entries) {
      const event = JSON.parse(fields[1]!) as { type: string; caseId: string };
      if (event.type === 'case.created' && ids.has(event.caseId))
        created.set(event.caseId, (created.get(event.caseId) ?? 0) + 1);
    }
    if (entries.length < 5_000) break;
    from = `(${entries.at(-1)![0]}`;
  }
  expect(created.size).toBe(FEED);
  expect([...created.values()].every((n) => n === 1)).toBe(true);
}

describe('ingestion crash safety (real worker processes)', () => {
  let system: TestSystem;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    system = await startTestSystem({ config: testConfig({ INGEST_CHUNK_SIZE: '50' }) });
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await Promise.all(workers.map(exited));
    await system?.stop();
  });

  it('a retried chunk reports what its first attempt wrote and publishes its events once', async () => {
    const models = casesModels(system.connections.cases);
    const publish = (events: Parameters<typeof publishCaseEvents>[2], onceKey?: string) =>
      publishCaseEvents(system.redis, system.config.QUEUE_PREFIX, events, onceKey);
    const existing = { ...record('BE-RETRY-OLD'), recordVersion: 1 };
    await processIngestChunk(
      { feedId: 'feed-earlier', memberState: 'BE', firstPosition: 0, records: [existing] },
      models,
      publish,
      system.assignPartners,
      system.config.CASE_ID_KEY,
    );
    const stream = caseEventStream(system.config.QUEUE_PREFIX);
    const before = await system.redis.xlen(stream);
    const chunk = {
      feedId: 'feed-retried',
      memberState: 'BE',
      chunkIndex: 0,
      firstPosition: 0,
      records: [record('BE-RETRY-NEW'), { ...existing, recordVersion: 2, arrivalDate: '2024-04-03' }, existing],
    };
    // First attempt "dies" after writing only its first record: run it on that record alone.
    await processIngestChunk(
      { ...chunk, records: chunk.records.slice(0, 1) },
      models,
      async () => undefined,
      system.assignPartners,
      system.config.CASE_ID_KEY,
    );
    const retried = await processIngestChunk(chunk, models, publish, system.assignPartners, system.config.CASE_ID_KEY);
    expect(retried.counts).toEqual({ created: 1, updated: 1, unchanged: 0, stale: 0, rejected: 1 });
    expect(retried.rejected[0]!.message).toMatch(/duplicate in this feed/);
    expect(await system.redis.xlen(stream)).toBe(before + 2);
    // A third attempt (the second died after publishing) changes nothing and publishes nothing.
    const again = await processIngestChunk(chunk, models, publish, system.assignPartners, system.config.CASE_ID_KEY);
    expect(again.counts).toEqual(retried.counts);
    expect(await system.redis.xlen(stream)).toBe(before + 2);
    expect((await models.Case.findOne({ caseReference: 'BE-RETRY-OLD' }).lean().exec())?.version).toBe(1);
  });

  it("a case moved between the chunk's read and write is decided again; writes keep event and history", async () => {
    const models = casesModels(system.connections.cases);
    const publish = (events: Parameters<typeof publishCaseEvents>[2], onceKey?: string) =>
      publishCaseEvents(system.redis, system.config.QUEUE_PREFIX, events, onceKey);
    const a = { ...record('BE-RACE-A'), recordVersion: 1 };
    const b = { ...record('BE-RACE-B'), recordVersion: 1 };
    await processIngestChunk(
      { feedId: 'feed-race-1', memberState: 'BE', firstPosition: 0, records: [a, b] },
      models,
      publish,
      system.assignPartners,
      system.config.CASE_ID_KEY,
    );
    const idA = (await models.Case.findOne({ caseReference: 'BE-RACE-A' }).lean<CaseDoc>().exec())!._id;
    // A lifecycle step lands on case A right before the feed's write (as another process would).
    let interfered = false;
    const racing = {
      ...models,
      // Ingestion's bulk update goes straight to the driver's collection: the race is staged there.
      Case: new Proxy(models.Case, {
        get(model, modelProperty, modelReceiver) {
          if (modelProperty !== 'collection') return Reflect.get(model, modelProperty, modelReceiver) as unknown;
          const target = model.collection;
          return new Proxy(target, {
            get(collection, property, receiver) {
              if (property !== 'bulkWrite') return Reflect.get(collection, property, receiver) as unknown;
              return async (...args: Parameters<typeof target.bulkWrite>) => {
                if (!interfered) {
                  interfered = true;
                  await target.updateOne(
                    { _id: idA },
                    {
                      $set: {
                        status: 'ACCEPTED',
                        'history.0': {
                          version: 1,
                          transition: 'acceptCase',
                          from: 'SUBMITTED',
                          to: 'ACCEPTED',
                          at: new Date(),
                          actor: { role: 'PARTNER', subject: 'p' },
                        },
                      },
                      $inc: { version: 1 },
                    },
                  );
                }
                return target.bulkWrite(...args);
              };
            },
          });
        },
      }),
    };
    const stream = caseEventStream(system.config.QUEUE_PREFIX);
    const before = await system.redis.xlen(stream);
    const report = await processIngestChunk(
      {
        feedId: 'feed-race-2',
        memberState: 'BE',
        firstPosition: 0,
        records: [
          {
            ...a,
            recordVersion: 2,
            familyMembers: [
              ...a.familyMembers,
              { name: 'X Y', dateOfBirth: '2015-01-01', sex: 'FEMALE', relationship: 'CHILD' },
            ],
          },
          { ...b, recordVersion: 2, departureDate: '2024-04-05' },
        ],
      },
      racing,
      publish,
      system.assignPartners,
      system.config.CASE_ID_KEY,
    );
    expect(interfered).toBe(true);
    expect(report.counts).toMatchObject({ updated: 2, rejected: 0 });
    const storedA = (await models.Case.findOne({ _id: idA }).lean<CaseDoc>().exec())!;
    expect(storedA).toMatchObject({ version: 2, status: 'ACCEPTED', familySize: 3 });
    expect(storedA.history.map((h) => h.transition)).toEqual(['acceptCase', 'ingested']);
    const events = (await system.redis.xrange(stream, '-', '+')).slice(before).map(
      ([, fields]) =>
        JSON.parse(fields[1]!) as {
          caseId: string;
          version: number;
          before: { returnees: number; status: string };
          after: { returnees: number };
        },
    );
    expect(events).toHaveLength(2);
    // A's event starts from what was stored when it landed (accepted), not from the first read (submitted).
    expect(events.find((e) => e.caseId === idA.toHexString())).toMatchObject({
      version: 2,
      before: { returnees: 2, status: 'ACCEPTED' },
      after: { returnees: 3 },
    });
  });

  it('SIGKILL of a worker mid-feed: another worker completes it, every record stored exactly once', async () => {
    const first = await startWorker(system, 24_710);
    workers.push(first);
    const feedId = await pushFeed(system, 'BE-KILL');
    const total = FEED / 50;
    await waitFor(async () => (await chunksDone(system, feedId)) >= 3, 60_000, 'the first chunks');
    first.kill('SIGKILL');
    await exited(first);
    const done = await chunksDone(system, feedId);
    expect(done).toBeLessThan(total);
    workers.push(await startWorker(system, 24_711));
    await waitFor(async () => (await chunksDone(system, feedId)) === total, 120_000, 'the feed to complete');
    await expectExactlyOnce(system, system.redis, feedId, 'BE-KILL');
  });
});

describe('ingestion across a Redis restart (real worker process, real redis-server)', () => {
  const port = 24_000 + Math.floor(Math.random() * 600);
  const dir = mkdtempSync(join(tmpdir(), 'avrr-redis-'));
  const startRedis = async () => {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    );
    const { Redis } = await import('ioredis');
    await waitFor(
      async () => {
        const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => undefined); // refused until the server listens
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      },
      20_000,
      'redis-server',
    );
    return child;
  };
  let redisServer: ChildProcess;
  let system: TestSystem;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    redisServer = await startRedis();
    system = await startTestSystem({
      config: testConfig({ INGEST_CHUNK_SIZE: '50', REDIS_URL: `redis://127.0.0.1:${port}` }),
    });
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    if (worker) await exited(worker);
    await system?.stop().catch(() => undefined);
    redisServer.kill('SIGKILL');
    await exited(redisServer);
  });

  it('Redis restarts during a feed: the worker reconnects and the feed completes exactly once', async () => {
    worker = await startWorker(system, 24_712);
    const feedId = await pushFeed(system, 'BE-REDIS');
    await waitFor(async () => (await chunksDone(system, feedId)) >= 3, 60_000, 'the first chunks');
    // A clean stop (AOF written), a pause, and the same server back with its data.
    redisServer.kill('SIGTERM');
    await exited(redisServer);
    const doneWhileDown = await chunksDone(system, feedId);
    expect(doneWhileDown).toBeLessThan(FEED / 50);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    redisServer = await startRedis();
    await waitFor(async () => (await chunksDone(system, feedId)) === FEED / 50, 120_000, 'the feed to complete');
    expect(worker.exitCode).toBeNull();
    await expectExactlyOnce(system, system.redis, feedId, 'BE-REDIS');
  });
});
