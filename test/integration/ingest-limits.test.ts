import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { spawnEntry, waitForReady } from '../../scripts/processes.js';
import { MAX_FAMILY_MEMBERS } from '../../subgraphs/cases/ingestion/record.js';
import { startTestSystem, testConfig, type TestSystem } from '../helpers/system.js';
import { canonicalRecord } from '../helpers/records.js';

/**
 * Bounded work for every input (README, "Limits on feeds"): each hostile input at full
 * size through the push API, with a real ingestion worker process on its bounded heap.
 * Each test prints the memory the input cost (gateway: this process; worker: its peak).
 */
interface Report {
  status: string;
  counts: Record<string, number>;
  rejected: Array<{ position: number; path: string; message: string }>;
  rejectedOmitted: number;
  errors: string[];
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MB = 1024 * 1024;
/** Peak and current resident memory of a process (Linux), in bytes; `5` to clear_refs resets the peak. */
const memoryOf = (pid: number | 'self') => {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)![1]) * 1024;
  return { peak: kb('VmHWM'), rss: kb('VmRSS') };
};
const resetPeak = (pid: number | 'self') => writeFileSync(`/proc/${pid}/clear_refs`, '5');

function workerEnv(
  system: TestSystem,
  port: number,
  coverageUrl: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...Object.fromEntries(
      Object.entries(system.config)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, String(v)]),
    ),
    COVERAGE_URL: coverageUrl,
    WORKER_PORT: String(port),
    LOG_LEVEL: 'silent',
    ...extra,
  };
}

async function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  // The worker's production command: its bounded heap (scripts/processes.ts NODE_ARGS).
  const child = spawnEntry('subgraphs/cases/worker.ts', env, 'pipe');
  child.stdout?.resume();
  child.stderr?.resume();
  await waitForReady(
    `http://127.0.0.1:${env.WORKER_PORT}/health/ready`,
    60_000,
    () => child.exitCode === null && child.signalCode === null,
  );
  return child;
}

describe('bounded work for every input (push API, real worker process)', () => {
  let system: TestSystem;
  let worker: ChildProcess;
  const tokens: Record<string, string> = {};
  let otherRefs = 0;
  const push = (body: string, contentType: string, token = tokens.BE!) =>
    fetch(`${system.gateway.url}/ingest/v1/feeds`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: `Bearer ${token}` },
      body,
    });
  const report = async (feedId: string, token: string): Promise<Report> =>
    (await (
      await fetch(`${system.gateway.url}/ingest/v1/feeds/${feedId}`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as Report;
  const finished = async (feedId: string, token: string, timeoutMs = 30_000): Promise<Report> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const body = await report(feedId, token);
      if (['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(body.status)) return body;
      await sleep(50);
    }
    throw new Error(
      `feed ${feedId} did not finish in ${timeoutMs} ms ` +
        `(worker ${worker.exitCode === null && worker.signalCode === null ? 'alive' : 'dead'})`,
    );
  };
  /** Another Member State's small feed, pushed at the same time as a hostile one: it must complete. */
  const otherFeed = async () => {
    const response = await push(
      JSON.stringify([canonicalRecord('DE', `DE-LIM-${++otherRefs}`), canonicalRecord('DE', `DE-LIM-${++otherRefs}`)]),
      'application/json',
      tokens.DE,
    );
    expect(response.status).toBe(202);
    return ((await response.json()) as { feedId: string }).feedId;
  };
  const expectOtherCompletes = async (feedId: string) => {
    const done = await finished(feedId, tokens.DE!);
    expect(done.status).toBe('DONE');
    expect(done.counts.created).toBe(2);
  };

  beforeAll(async () => {
    system = await startTestSystem({ config: testConfig({ INGEST_LOCK_MS: '2000' }) });
    tokens.BE = await mintToken({ subject: 'be-system', role: 'MEMBER_STATE', memberState: 'BE' }, system.config);
    tokens.DE = await mintToken({ subject: 'de-system', role: 'MEMBER_STATE', memberState: 'DE' }, system.config);
    worker = await startWorker(workerEnv(system, 24_720, `${system.subgraphs.coverage.url}/graphql`));
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    if (worker) await exited(worker);
    await system?.stop();
  });

  for (const index of [4_000_000, 1_000_000, 100_000_000]) {
    it(`CSV column familyMembers.${index}.name: 400 at the header naming it, nothing staged, no stall`, async () => {
      const body = `memberState,caseReference,familyMembers.${index}.name\nBE,BE-2024-1,A\n`;
      const other = await otherFeed();
      const stagedBefore = await system.redis.keys(`${system.config.QUEUE_PREFIX}:feed-chunk:*`);
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      resetPeak('self');
      const before = memoryOf('self');
      const started = performance.now();
      const response = await push(body, 'text/csv');
      const ms = performance.now() - started;
      loop.disable();
      const after = memoryOf('self');
      const answer = (await response.json()) as {
        error: { code: string; message: string; line: number; column: string };
      };
      console.log(
        `CSV familyMembers.${index}.name (${Buffer.byteLength(body)} bytes): ` +
          `${response.status} in ${ms.toFixed(0)} ms, ` +
          `longest event-loop stall ${(loop.max / 1e6).toFixed(0)} ms, ` +
          `gateway process peak RSS +${((after.peak - before.rss) / MB).toFixed(1)} MB`,
      );
      expect(response.status).toBe(400);
      expect(answer.error.code).toBe('MALFORMED_FEED');
      expect(answer.error.message).toContain(`"familyMembers.${index}.name"`);
      expect(answer.error.message).toContain(`at most ${MAX_FAMILY_MEMBERS} family members`);
      expect(answer.error).toMatchObject({ line: 1, column: `familyMembers.${index}.name` });
      // Nothing of it was staged (the other feed's chunk may be staged still, or done).
      const stagedAfter = await system.redis.keys(`${system.config.QUEUE_PREFIX}:feed-chunk:*`);
      expect(stagedAfter.filter((key) => !stagedBefore.includes(key))).toEqual([]);
      expect(loop.max / 1e6).toBeLessThan(250);
      expect(after.peak - before.rss).toBeLessThan(32 * MB);
      await expectOtherCompletes(other);
    });
  }

  it(`the largest family a CSV may describe (familyMembers.${MAX_FAMILY_MEMBERS - 1}) is still taken`, async () => {
    const columns = Array.from({ length: MAX_FAMILY_MEMBERS }, (_, i) => [
      `familyMembers.${i}.name`,
      `familyMembers.${i}.dateOfBirth`,
      `familyMembers.${i}.sex`,
    ]).flat();
    const header = [
      'memberState',
      'caseReference',
      'recordVersion',
      'returnType',
      'packages',
      'countryOfOrigin',
      'departureDate',
      'mainApplicant.name',
      'mainApplicant.dateOfBirth',
      'mainApplicant.sex',
      'eligibility.requestDate',
      ...columns,
    ];
    const row = [
      'BE',
      'BE-CSV-FAM-15',
      '1',
      'VOLUNTARY',
      'POST_ARRIVAL',
      'MA',
      '2024-04-02',
      'A B',
      '1980-01-01',
      'MALE',
      '2024-04-10',
      ...Array.from({ length: MAX_FAMILY_MEMBERS }, () => ['C D', '2010-01-01', 'FEMALE']).flat(),
    ];
    const response = await push(`${header.join(',')}\n${row.join(',')}\n`, 'text/csv');
    expect(response.status).toBe(202);
    const done = await finished(((await response.json()) as { feedId: string }).feedId, tokens.BE!);
    expect(done.counts).toMatchObject({ created: 1, rejected: 0 });
  });

  const families: Array<[string, string, () => string]> = [
    [
      'JSON, 200,000 family members',
      'application/json',
      () =>
        `[${JSON.stringify(canonicalRecord('BE', 'BE-FAM-200K')).replace(
          /}$/,
          `,"familyMembers":[${Array(200_000).fill('0').join(',')}]}`,
        )}]`,
    ],
    [
      'NDJSON, 500,000 family members (about 1 MB)',
      'application/x-ndjson',
      () =>
        `${JSON.stringify(canonicalRecord('BE', 'BE-FAM-500K')).replace(
          /}$/,
          `,"familyMembers":[${Array(500_000).fill('0').join(',')}]}`,
        )}\n`,
    ],
    [
      'JSON, 340,000 empty objects as family members (the most objects 1 MB can hold)',
      'application/json',
      () =>
        `[${JSON.stringify(canonicalRecord('BE', 'BE-FAM-OBJ')).replace(
          /}$/,
          `,"familyMembers":[${Array(340_000).fill('{}').join(',')}]}`,
        )}]`,
    ],
  ];
  for (const [name, contentType, body] of families) {
    it(`a family array of ${name}: rejected with one problem, worker memory bounded, worker stays up`, async () => {
      const text = body();
      expect(Buffer.byteLength(text)).toBeLessThan(1024 * 1024);
      const other = otherFeed();
      resetPeak(worker.pid!);
      const before = memoryOf(worker.pid!);
      const started = performance.now();
      const response = await push(text, contentType);
      expect(response.status).toBe(202);
      const done = await finished(((await response.json()) as { feedId: string }).feedId, tokens.BE!);
      const ms = performance.now() - started;
      const after = memoryOf(worker.pid!);
      console.log(
        `${name} (${(Buffer.byteLength(text) / 1e6).toFixed(2)} MB): ${done.status} in ${ms.toFixed(0)} ms, ` +
          `worker peak RSS +${((after.peak - before.rss) / MB).toFixed(1)} MB ` +
          `(peak ${(after.peak / MB).toFixed(0)} MB)`,
      );
      expect(done.status).toBe('DONE_WITH_ERRORS');
      expect(done.counts.rejected).toBe(1);
      expect(done.rejected).toHaveLength(1);
      expect(done.rejected[0]).toMatchObject({ position: 0, path: 'familyMembers' });
      expect(done.rejected[0]!.message).toMatch(
        new RegExp(`^must have at most ${MAX_FAMILY_MEMBERS} elements \\(got \\d+\\)$`),
      );
      expect(worker.exitCode).toBeNull();
      expect(worker.signalCode).toBeNull();
      expect(after.peak - before.rss).toBeLessThan(48 * MB);
      expect(ms).toBeLessThan(5_000);
      await expectOtherCompletes(await other);
    });
  }

  it('problems are capped per record and per report, with the count of the rest', async () => {
    const bad = { name: '', dateOfBirth: 'soon', sex: 'X', relationship: '', vulnerabilities: [''] };
    // 2,500 records, each with far more problems than a record keeps.
    const records = Array.from({ length: 2_500 }, (_, i) =>
      canonicalRecord('BE', `BE-CAP-${i}`, {
        countryOfOrigin: 'ZZ',
        familyMembers: Array(MAX_FAMILY_MEMBERS).fill(bad),
      }),
    );
    const other = otherFeed();
    const response = await push(JSON.stringify(records), 'application/json');
    expect(response.status).toBe(202);
    const done = await finished(((await response.json()) as { feedId: string }).feedId, tokens.BE!, 60_000);
    console.log(
      `2,500 records with ${done.rejected.filter((r) => r.position === 0).length} listed problems each: ` +
        `report lists ${done.rejected.length}, ${done.rejectedOmitted} not listed`,
    );
    expect(done.counts.rejected).toBe(2_500);
    expect(done.rejected).toHaveLength(1_000);
    // Per record: 20 problems and one line counting the rest.
    const first = done.rejected.filter((r) => r.position === 0);
    expect(first).toHaveLength(21);
    expect(first.at(-1)).toMatchObject({ path: '(record)' });
    expect(first.at(-1)!.message).toMatch(/^and \d+ more problems in this record \(the first 20 are listed\)$/);
    // Per report: the first 1,000 entries in feed order, and how many more there are.
    expect(done.rejected.map((r) => r.position)).toEqual(
      [...done.rejected.map((r) => r.position)].sort((a, b) => a - b),
    );
    expect(done.rejectedOmitted).toBe(2_500 * 21 - 1_000);
    await expectOtherCompletes(await other);
  });
});

describe('a poison job (one that takes its worker down) ends FAILED with its reason; no worker goes down again', () => {
  let system: TestSystem;
  let proxy: Server;
  const workers: ChildProcess[] = [];
  /** Coverage requests for the poison feed's country are held: the test kills the worker then, as a crash would. */
  const held: Array<() => void> = [];
  let onHeld: () => void = () => undefined;

  beforeAll(async () => {
    system = await startTestSystem({ config: testConfig({ INGEST_LOCK_MS: '1000', INGEST_CONCURRENCY: '2' }) });
    const coverage = `${system.subgraphs.coverage.url}/graphql`;
    proxy = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const body = Buffer.concat(parts);
        if (body.includes('"AF"')) {
          held.push(() => res.destroy());
          onHeld();
          return;
        }
        void fetch(coverage, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('x-'))) as Record<
              string,
              string
            >),
          },
          body,
        })
          .then(async (r) => {
            res.writeHead(r.status, { 'content-type': 'application/json' });
            res.end(Buffer.from(await r.arrayBuffer()));
          })
          .catch(() => res.destroy());
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await Promise.all(workers.map(exited));
    held.forEach((release) => release());
    proxy?.close();
    await system?.stop();
  });

  it('killed twice on one chunk: it ends FAILED naming why; a third worker stays up, other feeds finish', async () => {
    const { port } = proxy.address() as AddressInfo;
    const env = workerEnv(system, 24_730, `http://127.0.0.1:${port}/graphql`, {
      INGEST_LOCK_MS: '1000',
      INGEST_CONCURRENCY: '2',
      SUBGRAPH_TIMEOUT_MS: '60000',
    });
    const be = await mintToken({ subject: 'be-system', role: 'MEMBER_STATE', memberState: 'BE' }, system.config);
    const de = await mintToken({ subject: 'de-system', role: 'MEMBER_STATE', memberState: 'DE' }, system.config);
    const pushFeed = async (token: string, records: unknown[]) => {
      const response = await fetch(`${system.gateway.url}/ingest/v1/feeds`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(records),
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { feedId: string }).feedId;
    };
    const reportOf = async (feedId: string, token: string) =>
      (await (
        await fetch(`${system.gateway.url}/ingest/v1/feeds/${feedId}`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()) as Report;
    const until = async (feedId: string, token: string, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await reportOf(feedId, token);
        if (['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(r.status) || Date.now() > deadline) return r;
        await sleep(100);
      }
    };

    workers.push(await startWorker(env));
    const poison = await pushFeed(be, [canonicalRecord('BE', 'BE-POISON-1', { countryOfOrigin: 'AF' })]);
    const other = await pushFeed(de, [
      canonicalRecord('DE', 'DE-POISON-OTHER-1'),
      canonicalRecord('DE', 'DE-POISON-OTHER-2'),
    ]);
    // Each time a worker reaches the poison chunk's work, it is killed (as an out-of-memory abort would).
    for (let kill = 1; kill <= 2; kill++) {
      await new Promise<void>((resolve) => {
        if (held.length >= kill) return resolve();
        onHeld = () => held.length >= kill && resolve();
      });
      if (kill === 1) expect((await until(other, de, 30_000)).status).toBe('DONE');
      const current = workers.at(-1)!;
      current.kill('SIGKILL');
      await exited(current);
      workers.push(await startWorker(env));
    }
    const third = workers.at(-1)!;
    const failed = await until(poison, be, 30_000);
    console.log(`poison chunk after 2 worker deaths: ${failed.status}: ${failed.errors.join('; ')}`);
    expect(failed.status).toBe('FAILED');
    expect(failed.errors).toHaveLength(1);
    expect(failed.errors[0]).toMatch(
      /^chunk 0: this chunk stopped the worker storing it 2 times \(killed or out of memory\); it is not tried again/,
    );
    // The third worker never started the chunk's work, and is still up, taking other feeds.
    expect(held).toHaveLength(2);
    const later = await pushFeed(de, [
      canonicalRecord('DE', 'DE-POISON-OTHER-3'),
      canonicalRecord('DE', 'DE-POISON-OTHER-4'),
    ]);
    expect((await until(later, de, 30_000)).status).toBe('DONE');
    expect(held).toHaveLength(2);
    expect(third.exitCode).toBeNull();
    expect(third.signalCode).toBeNull();
  });
});
