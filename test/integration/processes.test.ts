import type { ChildProcess } from 'node:child_process';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '../../shared/mongo.js';
import { createRedis } from '../../shared/redis.js';
import { casesModels } from '../../subgraphs/cases/case/models.js';
import { INGEST_QUEUE, type ChunkReport, type IngestChunkJob } from '../../subgraphs/cases/ingestion/index.js';
import { spawnEntry, waitForReady } from '../../scripts/processes.js';
import { seedReferenceDatabases, testConfig } from '../helpers/system.js';

/** The real entry points as separate processes: readiness, structured logs, SIGTERM, bad config. */
describe('system processes', () => {
  const config = testConfig({
    CASES_PORT: '4901',
    COVERAGE_PORT: '4903',
    COVERAGE_URL: 'http://127.0.0.1:4903/graphql',
    WORKER_PORT: '4910',
    WORKER_METRICS_PORT: '4911',
    LOG_LEVEL: 'info',
  });
  const env = {
    ...process.env,
    ...Object.fromEntries(
      Object.entries(config)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, String(v)]),
    ),
  };
  const output = new Map<ChildProcess, string>();
  const start = (entry: string, extraEnv: Record<string, string> = {}) => {
    const child = spawnEntry(entry, { ...env, ...extraEnv }, 'pipe');
    output.set(child, '');
    child.stdout?.on('data', (chunk: Buffer) => output.set(child, output.get(child) + chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.set(child, output.get(child) + chunk.toString()));
    return child;
  };
  const exited = (child: ChildProcess) =>
    new Promise<number | null>((resolve) =>
      child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code)),
    );
  let worker: ChildProcess;
  let coverage: ChildProcess;
  const queueName = INGEST_QUEUE;

  beforeAll(async () => {
    // The worker asks coverage which partner takes a new case: reference data and the coverage subgraph first.
    await seedReferenceDatabases(config);
    coverage = start('subgraphs/coverage/main.ts');
    await waitForReady(
      `http://127.0.0.1:${config.COVERAGE_PORT}/health/ready`,
      60_000,
      () => coverage.exitCode === null,
    );
    worker = start('subgraphs/cases/worker.ts');
    await waitForReady(`http://127.0.0.1:${config.WORKER_PORT}/health/ready`, 60_000, () => worker.exitCode === null);
  });
  afterAll(async () => {
    if (worker.exitCode === null) worker.kill('SIGKILL');
    coverage.kill('SIGTERM');
    await exited(coverage);
    // Databases are left in place: see test/helpers/system.ts.
  });

  it('a subgraph process answers readiness, logs JSON lines, and exits 0 on SIGTERM', async () => {
    // Production mode: Apollo's own signal handling is on there unless we turn it off.
    const child = start('subgraphs/cases/main.ts', {
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: 'p'.repeat(40),
      INTERNAL_SIGNING_KEY: config.INTERNAL_SIGNING_KEY + '-production',
      PSEUDONYM_KEY: 'k'.repeat(40),
      CASE_ID_KEY: 'i'.repeat(40),
    });
    await waitForReady(`http://127.0.0.1:${config.CASES_PORT}/health/ready`, 60_000, () => child.exitCode === null);
    const ready = (await (await fetch(`http://127.0.0.1:${config.CASES_PORT}/health/ready`)).json()) as unknown;
    // Called directly, without the gateway's signed principal, the subgraph answers nothing.
    const direct = await fetch(`http://127.0.0.1:${config.CASES_PORT}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ cases { totalCount } }' }),
    });
    expect(direct.status).toBe(401);
    expect(ready).toEqual({ status: 'ready', service: 'cases-subgraph', checks: { mongo: 'ok' } });
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    const lines = output
      .get(child)!
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; service: string; level: number });
    expect(lines.every((l) => l.service === 'cases-subgraph')).toBe(true);
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['cases-subgraph listening', 'cases-subgraph shutting down', 'cases-subgraph stopped']),
    );
  });

  it('production refuses the public development secrets', async () => {
    const child = start('subgraphs/finance/main.ts', {
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: '',
      INTERNAL_SIGNING_KEY: '',
    });
    expect(await exited(child)).toBe(78);
    expect(output.get(child)).toContain('AUTH_JWT_SECRET: must be set in production');
    expect(output.get(child)).toContain('INTERNAL_SIGNING_KEY: must be set in production');
  });

  it('a malformed variable stops the process at start-up with a message naming it', async () => {
    const child = start('gateway/main.ts', { GATEWAY_PORT: 'eighty', REDIS_URL: 'localhost:6379' });
    expect(await exited(child)).toBe(78);
    expect(output.get(child)).toContain('GATEWAY_PORT');
    expect(output.get(child)).toContain('REDIS_URL: must be a URL starting with redis://');
  });

  it('the ingestion worker stores a queued chunk, reports bad records, and is idempotent on replay', async () => {
    const redis = createRedis(config, 'test-producer');
    const queue = new Queue<IngestChunkJob, ChunkReport>(queueName, { connection: redis, prefix: config.QUEUE_PREFIX });
    const events = new QueueEvents(queueName, {
      connection: createRedis(config, 'test-events'),
      prefix: config.QUEUE_PREFIX,
    });
    await events.waitUntilReady();
    const record = (ref: string, extra: Record<string, unknown> = {}) => ({
      memberState: 'NL',
      caseReference: ref,
      recordVersion: 1,
      returnType: 'FORCED',
      charterFlight: true,
      packages: ['CHARTER_ARRIVAL'],
      countryOfOrigin: 'GE',
      mainApplicant: { name: 'Giorgi Beridze', dateOfBirth: '1988-03-04', sex: 'MALE' },
      ...extra,
    });
    const data: IngestChunkJob = {
      feedId: `feed-${config.MONGO_DB_PREFIX}`,
      memberState: 'NL',
      firstPosition: 0,
      records: [
        record(`${config.MONGO_DB_PREFIX}-1`),
        record(`${config.MONGO_DB_PREFIX}-2`, { countryOfOrigin: 'ge' }),
        record(`${config.MONGO_DB_PREFIX}-3`, { memberState: 'BE' }),
      ],
    };
    try {
      const first = await (await queue.add('chunk', data)).waitUntilFinished(events, 30_000);
      expect(first.counts).toEqual({ created: 1, updated: 0, unchanged: 0, stale: 0, rejected: 2 });
      expect(first.rejected).toEqual([
        expect.objectContaining({ position: 1, path: 'countryOfOrigin', caseReference: `${config.MONGO_DB_PREFIX}-2` }),
        expect.objectContaining({
          position: 2,
          path: 'memberState',
          message: expect.stringContaining('may only send its own cases'),
        }),
      ]);
      // The same chunk of the same feed again (a replay): it reports what it did the first
      // time, and stores nothing twice.
      const replay = await (await queue.add('chunk', data)).waitUntilFinished(events, 30_000);
      expect(replay.counts).toEqual({ created: 1, updated: 0, unchanged: 0, stale: 0, rejected: 2 });
      // Pushed again as another feed, the record is unchanged.
      const again = await (
        await queue.add('chunk', { ...data, feedId: `${data.feedId}-again` })
      ).waitUntilFinished(events, 30_000);
      expect(again.counts).toEqual({ created: 0, updated: 0, unchanged: 1, stale: 0, rejected: 2 });
      // Metrics are on the worker's internal metrics port, not its health port.
      expect((await fetch(`http://127.0.0.1:${config.WORKER_PORT}/metrics`)).status).toBe(404);
      const metrics = await (await fetch(`http://127.0.0.1:${config.WORKER_METRICS_PORT}/metrics`)).text();
      expect(metrics).toMatch(
        /avrr_ingest_records_total\{member_state="NL",outcome="created",service="ingest-worker"\} 2/,
      );
      expect(metrics).toMatch(
        /avrr_ingest_records_total\{member_state="NL",outcome="unchanged",service="ingest-worker"\} 1/,
      );
      expect(metrics).toMatch(
        /avrr_ingest_records_total\{member_state="NL",outcome="rejected",service="ingest-worker"\} 6/,
      );
      const connection = await connectDatabase(config, 'cases');
      const stored = await casesModels(connection)
        .Case.find({ caseReference: { $regex: `^${config.MONGO_DB_PREFIX}-` } })
        .lean();
      await connection.close();
      expect(stored).toHaveLength(1);
      // Assigned by coverage: ETTC serves Georgia.
      expect(stored[0]).toMatchObject({
        memberState: 'NL',
        status: 'SUBMITTED',
        familySize: 1,
        packages: ['CHARTER_ARRIVAL'],
        partnerId: 'ettc',
      });
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      await events.close();
      redis.disconnect();
    }
  });

  it('the worker finishes and exits 0 on SIGTERM', async () => {
    worker.kill('SIGTERM');
    expect(await exited(worker)).toBe(0);
  });
});
