/**
 * npm run bench:limits [-- --only csv-4m,family-200k --timeout 60]
 *
 * Sends the hostile inputs of the README's "Limits on feeds" through the push API to real
 * processes (gateway, cases and coverage subgraphs, one ingestion worker with its bounded
 * heap) and prints, for each: the push's answer and how long it took, the longest the
 * gateway's event loop stalled (a /health/live probe every 10 ms), the gateway's and the
 * worker's peak resident memory while it ran (VmHWM, reset before each input), what the
 * worker did (report, or how often it died), and whether a small feed of another Member
 * State pushed right after it completed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { mintToken } from '../shared/auth.js';
import { loadConfig } from '../shared/config.js';
import { createRedis } from '../shared/redis.js';
import { NODE_ARGS, ROOT, waitForReady } from '../scripts/processes.js';
import { INGEST_QUEUE } from '../subgraphs/cases/ingestion/index.js';
import { benchDatabases, benchEnv } from './env.js';
import { canonicalRecord } from '../test/helpers/records.js';

const { values } = parseArgs({ options: { only: { type: 'string' }, timeout: { type: 'string', default: '60' } } });
const TIMEOUT_MS = Number(values.timeout) * 1000;
const base = 4700;
const env = benchEnv(`benchlimits${Date.now().toString(36)}`, base, { LOG_LEVEL: 'error', INGEST_LOCK_MS: '2000' });
const config = loadConfig(env);
const { close } = await benchDatabases(config);
await close();

const sparseCsv = (index: number) => `memberState,caseReference,familyMembers.${index}.name\nBE,BE-2024-1,A\n`;
// Elements as small as JSON allows (`0`, two bytes each): 500,000 of them fit in one record of about 1 MB.
const bigFamily = (n: number) =>
  JSON.stringify(canonicalRecord('BE', `BE-FAM-${n}`)).replace(
    /}$/,
    `,"familyMembers":[${Array(n).fill('0').join(',')}]}`,
  );

const INPUTS: Array<{ name: string; contentType: string; body: () => string }> = [
  { name: 'csv-4m', contentType: 'text/csv', body: () => sparseCsv(4_000_000) },
  { name: 'csv-1m', contentType: 'text/csv', body: () => sparseCsv(1_000_000) },
  { name: 'family-200k', contentType: 'application/json', body: () => `[${bigFamily(200_000)}]` },
  { name: 'family-500k', contentType: 'application/x-ndjson', body: () => `${bigFamily(500_000)}\n` },
  { name: 'csv-100m', contentType: 'text/csv', body: () => sparseCsv(100_000_000) },
];
const chosen = values.only ? INPUTS.filter((i) => values.only!.split(',').includes(i.name)) : INPUTS;

// Processes: output kept (the last lines say why a process died).
const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
const tails = new Map<ChildProcess, string>();
async function start(entry: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...(NODE_ARGS[entry] ?? []), '--import', 'tsx', entry], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  tails.set(child, '');
  const keep = (chunk: Buffer) => tails.set(child, (tails.get(child)! + chunk.toString()).slice(-4_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  await waitForReady(
    `http://127.0.0.1:${port}/health/ready`,
    60_000,
    () => child.exitCode === null && child.signalCode === null,
  );
  return child;
}
const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
const status = (pid: number, field: 'VmHWM' | 'VmRSS') => {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return NaN;
  }
};
/** Resets a process's peak resident memory (Linux: `5` to clear_refs), so VmHWM is this input's peak. */
const resetPeak = (pid: number) => {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    /* not Linux: the peak then covers the whole run */
  }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A worker started again; one that dies before it is ready (it took a poison job at once) is returned dead. */
async function restartWorker(): Promise<ChildProcess> {
  try {
    return await start('subgraphs/cases/worker.ts', base + 10);
  } catch {
    return children.at(-1)!;
  }
}

await start('subgraphs/cases/main.ts', base + 1);
await start('subgraphs/coverage/main.ts', base + 3);
let gateway = await start('gateway/main.ts', base);
let worker = await start('subgraphs/cases/worker.ts', base + 10);
const redis = createRedis(config, 'bench-limits');
const queue = new Queue(INGEST_QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
const tokens = {
  BE: await mintToken({ subject: 'bench-be', role: 'MEMBER_STATE', memberState: 'BE' }, config),
  DE: await mintToken({ subject: 'bench-de', role: 'MEMBER_STATE', memberState: 'DE' }, config),
};
const url = `http://127.0.0.1:${base}`;

async function reportOf(feedId: string, token: string) {
  const response = await fetch(`${url}/ingest/v1/feeds/${feedId}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(5_000),
  });
  return (await response.json()) as {
    status: string;
    counts: Record<string, number>;
    rejected: Array<{ path: string; message: string }>;
    errors: string[];
    rejectedOmitted?: number;
  };
}

const rows: string[][] = [];
let other = 0;
for (const input of chosen) {
  const body = input.body();
  resetPeak(gateway.pid!);
  resetPeak(worker.pid!);
  const gatewayRssBefore = status(gateway.pid!, 'VmRSS');
  // The gateway's event loop: a liveness probe every 10 ms; its slowest answer is the longest stall.
  let stall = 0;
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const t = performance.now();
      await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(TIMEOUT_MS + 5_000) })
        .then((r) => r.arrayBuffer())
        .catch(() => undefined);
      stall = Math.max(stall, performance.now() - t);
      await sleep(10);
    }
  })();
  const pushed = performance.now();
  let answer = '';
  let feedId: string | undefined;
  let staged = '';
  try {
    const response = await fetch(`${url}/ingest/v1/feeds`, {
      method: 'POST',
      headers: { 'content-type': input.contentType, authorization: `Bearer ${tokens.BE}` },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const json = (await response.json()) as { feedId?: string; error?: { code: string; message: string } };
    answer = `${response.status} ${json.error ? `${json.error.code}: ${json.error.message}` : 'QUEUED'}`;
    feedId = json.feedId;
    if (feedId)
      staged = `${((await redis.strlen(`${config.QUEUE_PREFIX}:feed-chunk:${feedId}:0`)) / 1e6).toFixed(1)} MB staged`;
  } catch (error) {
    answer = `no answer within ${TIMEOUT_MS / 1000} s (${(error as Error).name})`;
  }
  const pushMs = performance.now() - pushed;
  probing = false;
  // A gateway still blocked after the timeout is killed (and started again for the next input).
  const gatewayPeak = status(gateway.pid!, 'VmHWM');
  const gatewayRssAfter = status(gateway.pid!, 'VmRSS');
  if (answer.startsWith('no answer')) {
    gateway.kill('SIGKILL');
    stall = Math.max(stall, pushMs);
  } else await probe;

  // Another Member State's small feed, pushed right after.
  let otherFeed: string | undefined;
  if (alive(gateway)) {
    try {
      const response = await fetch(`${url}/ingest/v1/feeds`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.DE}` },
        body: JSON.stringify([
          canonicalRecord('DE', `DE-OTHER-${++other}`),
          canonicalRecord('DE', `DE-OTHER-${++other}`),
        ]),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      otherFeed = ((await response.json()) as { feedId?: string }).feedId;
    } catch (error) {
      await sleep(200);
      const died =
        /heap out of memory|Invalid string length|ERR[^\n]{0,80}|RangeError[^\n]{0,80}/.exec(
          tails.get(gateway) ?? '',
        )?.[0] ?? `exit ${gateway.exitCode ?? gateway.signalCode}`;
      answer +=
        `; then the gateway ${alive(gateway) ? 'did not answer' : `died (${died})`}: ` + `${(error as Error).message}`;
    }
  }

  // The worker: until both reports are final, or the timeout; a dead worker is started again (as a supervisor would).
  let deaths = 0;
  let outcome = feedId ? 'pending' : '-';
  let otherOutcome = otherFeed ? 'pending' : 'not pushed';
  let workerPeak = 0;
  const started = performance.now();
  let workerMs = 0;
  while (performance.now() - started < TIMEOUT_MS) {
    workerPeak = Math.max(workerPeak, status(worker.pid!, 'VmHWM') || 0);
    if (!alive(worker)) {
      deaths++;
      const why =
        /heap out of memory|Allocation failed[^\n]*/.exec(tails.get(worker) ?? '')?.[0] ??
        `exit ${worker.exitCode ?? worker.signalCode}`;
      outcome = `worker died ×${deaths} (${why})`;
      if (deaths >= 4) break;
      worker = await restartWorker();
    }
    if (feedId && outcome === 'pending') {
      const report = await reportOf(feedId, tokens.BE).catch(() => undefined);
      if (report && ['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(report.status)) {
        workerMs = performance.now() - started;
        const first = report.rejected[0];
        outcome =
          `${report.status} in ${(workerMs / 1000).toFixed(1)} s, ${report.rejected.length} problems listed` +
          `${report.rejectedOmitted ? ` (+${report.rejectedOmitted} not listed)` : ''}` +
          `${first ? `, first: ${first.path}: ${first.message}` : report.errors[0] ? `: ${report.errors[0]}` : ''}`;
      }
    }
    if (otherFeed && otherOutcome === 'pending') {
      const report = await reportOf(otherFeed, tokens.DE).catch(() => undefined);
      if (report && ['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(report.status))
        otherOutcome = `${report.status} in ${((performance.now() - started) / 1000).toFixed(1)} s`;
    }
    if (
      (!feedId || !outcome.startsWith('pending')) &&
      !otherOutcome.startsWith('pending') &&
      !outcome.startsWith('worker died')
    )
      break;
    if (outcome.startsWith('worker died') && !otherOutcome.startsWith('pending') && deaths >= 3) break;
    await sleep(50);
  }
  if (otherOutcome === 'pending') otherOutcome = `not done after ${TIMEOUT_MS / 1000} s`;
  // A job that keeps killing workers is removed so that the next input starts clean.
  if (deaths > 0 || outcome === 'pending') {
    await queue.obliterate({ force: true }).catch(() => undefined);
    if (!alive(worker)) worker = await restartWorker();
    if (!alive(worker)) worker = await start('subgraphs/cases/worker.ts', base + 10);
  }
  if (!alive(gateway)) gateway = await start('gateway/main.ts', base);
  rows.push([
    input.name,
    `${(Buffer.byteLength(body) / 1e3).toFixed(1)} kB`,
    `${answer.slice(0, 160)}${staged ? ` (${staged})` : ''}`,
    `${(pushMs / 1000).toFixed(2)} s`,
    `${stall.toFixed(0)} ms`,
    `${gatewayPeak.toFixed(0)} MB (RSS ${gatewayRssBefore.toFixed(0)}→${gatewayRssAfter.toFixed(0)})`,
    `${workerPeak.toFixed(0)} MB`,
    outcome.slice(0, 220),
    otherOutcome,
  ]);
  process.stdout.write(`${rows.at(-1)!.join(' | ')}\n`);
}

process.stdout.write(
  `\nhostile inputs through the push API (real processes; worker heap ` +
    `${NODE_ARGS['subgraphs/cases/worker.ts']?.join(' ')})\n\n`,
);
process.stdout.write(
  '| input | body | answer | push took | longest gateway stall | gateway peak memory | worker peak memory | ' +
    "worker | another Member State's feed |\n|---|---|---|---|---|---|---|---|---|\n",
);
for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
await queue.close();
redis.disconnect();
process.exit(0);
