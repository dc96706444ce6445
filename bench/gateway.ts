/**
 * npm run bench:gateway [-- --cases 1000 --requests 200 --connections 8 --rounds 2 --warmup 20 --seed 7
 *                          --only page,reference,statistics,distinct --cpu-prof <dir>]
 *
 * Three gateways in one run, on the same four subgraph processes (production mode) and the
 * same supergraph: ours (gateway/main.ts), a plain @apollo/gateway (bench/plain-gateway.ts)
 * and Hive Gateway 2.15 (bench/hive-gateway.ts), the two others signing the same principal
 * header to the subgraphs as ours does for the bench's token. Two workloads: identical
 * concurrent queries (every client sends the same query: a page of 50 cases with country,
 * partner and entitlement; reference data; statistics), and all-distinct pages from a
 * seeded generator (no two alike, none repeated across gateways or rounds). The answers
 * are compared before anything is timed. Alternating rounds (autocannon) after a warm-up
 * round; prints req/s, p50 and p99 per gateway and workload, ours/Hive and ours/plain, and
 * the targets. `--cpu-prof <dir>` then runs ours once more in a child process under
 * `--cpu-prof` through the identical-query workload and prints where its time goes.
 *
 * The cases are the read benchmarks' shared ones (bench/seed.ts: `bench<N>_*`), seeded once and kept.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { loadConfig } from '../shared/config.js';
import { assertPortsFree, BENCH_SUBGRAPHS, benchAuthorization, benchEnv, processStarter } from './env.js';
import { benchCasesPrefix, ensureBenchCases } from './seed.js';
import { ROOT, TELEMETRY_ARGS, waitForReady } from '../scripts/processes.js';
import {
  comparableAnswer,
  DISTINCT_CAPACITY,
  distinctRequests,
  IDENTICAL_QUERIES,
  summariseProfile,
  type BenchRequest,
  type CpuProfile,
  type IdenticalWorkload,
} from './gateway-workloads.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    connections: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '20' },
    cases: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '7' },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const whole = (name: string, min: number, max: number) => {
  const value = Number(values[name as keyof typeof values]);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`--${name} must be a whole number from ${min} to ${max} (got ${String(values[name as 'seed'])})`);
  return value;
};
const REQUESTS = whole('requests', 1, 100_000);
const CONNECTIONS = whole('connections', 1, 1_000);
const ROUNDS = whole('rounds', 1, 50);
const WARMUP = whole('warmup', 0, 10_000);
const CASES = whole('cases', 100, 10_000_000);
const SEED = whole('seed', 0, 2 ** 31);
const CPU_PROF = values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined;

type Workload = IdenticalWorkload | 'distinct';
const SHORT: Record<string, Workload> = {
  page: 'page of 50 cases',
  reference: 'reference data',
  statistics: 'statistics',
  distinct: 'distinct',
};
const WORKLOADS: Workload[] = values.only
  ? values.only.split(',').map((name) => {
      const workload = SHORT[name.trim()];
      if (!workload) throw new Error(`--only: unknown workload ${name} (one of ${Object.keys(SHORT).join(', ')})`);
      return workload;
    })
  : (Object.values(SHORT) as Workload[]);
const distinctNeeded = WORKLOADS.includes('distinct') ? 3 * (WARMUP + REQUESTS * ROUNDS) + 10 : 0;
if (distinctNeeded > DISTINCT_CAPACITY)
  throw new Error(`the distinct workload has ${DISTINCT_CAPACITY} requests; fewer --requests, --rounds or --warmup`);

const base = 4600;
const env = benchEnv(`benchgw${CASES}`, base, {
  // The shared cases of this size; the queue keys (and the gateway's cache) are this bench's own.
  MONGO_DB_PREFIX: benchCasesPrefix(CASES),
  // FerretDB scans; give ours the same patience the others have (none).
  SUBGRAPH_TIMEOUT_MS: '60000',
  // One principal sends every request: the per-principal rate limit would time it, not the gateway.
  RATE_LIMIT_PER_MINUTE: '0',
});
const urls = {
  cases: `http://127.0.0.1:${base + 1}/graphql`,
  partners: `http://127.0.0.1:${base + 2}/graphql`,
  coverage: `http://127.0.0.1:${base + 3}/graphql`,
  finance: `http://127.0.0.1:${base + 4}/graphql`,
};
const config = loadConfig(env);

// ---- seed once ----------------------------------------------------------------------------
// The read benchmarks' shared cases of this size (bench/seed.ts), kept; nothing here writes to them.
await ensureBenchCases(config, CASES);

// ---- the processes ------------------------------------------------------------------------
// Ours at base, the subgraphs at base+1..4, plain at base+20, Hive at base+30, the profiled one at base+40.
const PLAIN_PORT = base + 20;
const HIVE_PORT = base + 30;
const PROFILED_PORT = base + 40;
await assertPortsFree([base, base + 1, base + 2, base + 3, base + 4, PLAIN_PORT, HIVE_PORT, PROFILED_PORT]);
const start = processStarter(env);
await Promise.all(BENCH_SUBGRAPHS.map((n, i) => start(`subgraphs/${n}/main.ts`, base + 1 + i)));
const others = { BENCH_SUBGRAPH_URLS: JSON.stringify(urls) };
await Promise.all([
  start('gateway/main.ts', base),
  // Apollo's standalone server has no health route: a GET query with the CSRF header stands in.
  start(
    'bench/plain-gateway.ts',
    PLAIN_PORT,
    '/?query=%7B__typename%7D',
    { 'apollo-require-preflight': '1' },
    {
      ...others,
      BENCH_PORT: String(PLAIN_PORT),
    },
  ),
  start('bench/hive-gateway.ts', HIVE_PORT, '/healthcheck', {}, { ...others, BENCH_PORT: String(HIVE_PORT) }),
]);
process.stdout.write('processes ready\n');

const GATEWAYS = ['ours', 'plain', 'hive'] as const;
type Gateway = (typeof GATEWAYS)[number];
const targets: Record<Gateway, string> = {
  ours: `http://127.0.0.1:${base}/graphql`,
  plain: `http://127.0.0.1:${PLAIN_PORT}/graphql`,
  hive: `http://127.0.0.1:${HIVE_PORT}/graphql`,
};
// The others ignore the token: they sign the same principal themselves.
const headers = { 'content-type': 'application/json', ...(await benchAuthorization(env)) };

const post = async (url: string, request: BenchRequest) => {
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(request) });
  return response.text();
};

// ---- equal answers before timing ----------------------------------------------------------
const nextDistinct = distinctRequests(SEED);
const checks: Array<[string, BenchRequest]> = [
  ...WORKLOADS.filter((w): w is IdenticalWorkload => w !== 'distinct').map((w): [string, BenchRequest] => [
    w,
    IDENTICAL_QUERIES[w],
  ]),
  ...(WORKLOADS.includes('distinct')
    ? Array.from({ length: 5 }, (_, i): [string, BenchRequest] => [`distinct #${i + 1}`, nextDistinct()])
    : []),
];
for (const [name, request] of checks) {
  const answers = await Promise.all(GATEWAYS.map((g) => post(targets[g], request)));
  const comparable = answers.map(comparableAnswer);
  const failed = comparable.findIndex((a) => !a.startsWith('{"data":{'));
  const differs = comparable.findIndex((a) => a !== comparable[0]);
  if (failed >= 0 || differs >= 0) {
    const shown = GATEWAYS.map((g, i) => `${g}: ${answers[i]!.slice(0, 300)}`).join('\n');
    throw new Error(`${name}: the gateways ${failed >= 0 ? 'fail' : 'disagree'}:\n${shown}`);
  }
  if (comparable[0]!.includes('"errors":["')) throw new Error(`${name}: every gateway answers with errors`);
}
process.stdout.write(`the three gateways agree on ${checks.length} queries; loading\n`);

// ---- load ---------------------------------------------------------------------------------
interface Measured {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}
const run = async (url: string, workload: Workload, amount: number): Promise<Measured> => {
  const identical = workload === 'distinct' ? undefined : JSON.stringify(IDENTICAL_QUERIES[workload]);
  // Bodies made before the clock starts: the generator is not timed.
  const bodies = identical ? [] : Array.from({ length: amount }, () => JSON.stringify(nextDistinct()));
  let sent = 0;
  // The clock: from the call to the last response. autocannon ends a run (and sets its `finish`
  // and `duration`) on its once-a-second tick, so a round of a second or two would round to it.
  const started = performance.now();
  let lastResponse = started;
  const result = await new Promise<autocannon.Result>((resolveRun, rejectRun) => {
    const instance = autocannon(
      {
        url,
        method: 'POST',
        headers,
        // autocannon refuses more connections than requests (a short warm-up).
        connections: Math.min(CONNECTIONS, amount),
        amount,
        timeout: 60,
        ...(identical
          ? { body: identical }
          : {
              requests: [
                {
                  setupRequest: (request) => ({ ...request, body: bodies[sent++ % bodies.length] }),
                },
              ],
            }),
      },
      (error: unknown, done: autocannon.Result) => (error ? rejectRun(error) : resolveRun(done)),
    );
    instance.on('response', () => {
      lastResponse = performance.now();
    });
  });
  return {
    rps: result.requests.total / Math.max((lastResponse - started) / 1000, 0.001),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = new Map<Workload, Record<Gateway, Measured>>();
for (const workload of WORKLOADS) {
  if (WARMUP > 0) for (const g of GATEWAYS) await run(targets[g], workload, WARMUP); // JIT, plans, pools
  const rounds: Record<Gateway, Measured[]> = { ours: [], plain: [], hive: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Each gateway goes first, middle and last in turn: drift on a shared machine hits all alike.
    const order = GATEWAYS.map((_, i) => GATEWAYS[(i + round) % GATEWAYS.length]!);
    for (const g of order) rounds[g].push(await run(targets[g], workload, REQUESTS));
  }
  const of = (g: Gateway): Measured => ({
    rps: median(rounds[g].map((r) => r.rps)),
    p50: median(rounds[g].map((r) => r.p50)),
    p99: median(rounds[g].map((r) => r.p99)),
    errors: rounds[g].reduce((s, r) => s + r.errors, 0),
  });
  summary.set(workload, { ours: of('ours'), plain: of('plain'), hive: of('hive') });
  process.stdout.write(`  ${workload}: done\n`);
}

// ---- report -------------------------------------------------------------------------------
const out = (line: string) => process.stdout.write(`${line}\n`);
out(
  `\ngateway benchmark at ${CASES.toLocaleString('en')} cases: ${REQUESTS} requests x ${ROUNDS} rounds per ` +
    `gateway and workload, ${CONNECTIONS} connections, medians of the rounds (a shared machine: indicative)`,
);
out(
  `${'workload'.padEnd(18)} ${'gateway'.padEnd(6)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ` +
    `${'p99 ms'.padStart(8)} ${'errors'.padStart(7)}`,
);
for (const [workload, byGateway] of summary) {
  for (const g of GATEWAYS) {
    const s = byGateway[g];
    out(
      `${workload.padEnd(18)} ${g.padEnd(6)} ${s.rps.toFixed(1).padStart(8)} ${s.p50.toFixed(0).padStart(8)} ` +
        `${s.p99.toFixed(0).padStart(8)} ${String(s.errors).padStart(7)}`,
    );
  }
}
out('\nratios (req/s; p50, p99 as latency ratios, lower is better) and targets');
let allErrors = 0;
for (const [workload, { ours, plain, hive }] of summary) {
  allErrors += ours.errors + plain.errors + hive.errors;
  const vsHive = ours.rps / hive.rps;
  const vsPlain = ours.rps / plain.rps;
  const target =
    workload === 'distinct'
      ? `ours >= 1.0x hive: ${vsHive >= 1 ? 'met' : 'NOT met'}`
      : `ours >= 1.0x hive: ${vsHive >= 1 ? 'met' : 'NOT met'}; ours >= 2x plain: ${vsPlain >= 2 ? 'met' : 'NOT met'}`;
  out(
    `${workload.padEnd(18)} ours/hive ${vsHive.toFixed(2)}x (p50 ${(ours.p50 / hive.p50).toFixed(2)}, p99 ` +
      `${(ours.p99 / hive.p99).toFixed(2)})  ours/plain ${vsPlain.toFixed(2)}x (p50 ` +
      `${(ours.p50 / plain.p50).toFixed(2)}, p99 ${(ours.p99 / plain.p99).toFixed(2)})  ${target}`,
  );
}

// ---- where ours spends a request's time ---------------------------------------------------
if (CPU_PROF) {
  mkdirSync(CPU_PROF, { recursive: true });
  const startedAt = Date.now();
  // Its own process (not the one timed above), so the profile holds this workload only.
  const port = PROFILED_PORT;
  const spawnedAt = Date.now();
  const profiled: ChildProcess = spawn(
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`, '--import', 'tsx', ...TELEMETRY_ARGS, 'gateway/main.ts'],
    { cwd: ROOT, env: { ...env, GATEWAY_PORT: String(port) }, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  process.on('exit', () => profiled.kill('SIGTERM'));
  await waitForReady(`http://127.0.0.1:${port}/health/ready`, 60_000, () => profiled.exitCode === null);
  const url = `http://127.0.0.1:${port}/graphql`;
  const identical = WORKLOADS.filter((w): w is IdenticalWorkload => w !== 'distinct');
  for (const workload of identical) await run(url, workload, WARMUP);
  // Only what follows is summarised (the profile starts about when the process does).
  const measuredFromUs = (Date.now() - spawnedAt) * 1000;
  for (const workload of identical) await run(url, workload, REQUESTS);
  // The profile is written when the process exits.
  await new Promise<void>((done) => {
    profiled.once('exit', () => done());
    profiled.kill('SIGTERM');
  });
  const written = existsSync(CPU_PROF)
    ? readdirSync(CPU_PROF)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(CPU_PROF, f))
        .filter((f) => statSync(f).mtimeMs >= startedAt)
        .sort((a, b) => statSync(b).size - statSync(a).size)
    : [];
  if (written.length === 0) throw new Error(`--cpu-prof: no .cpuprofile was written to ${CPU_PROF}`);
  // The gateway's own profile is the largest written since it started (tsx's loader writes a small one too).
  const profile = summariseProfile(
    JSON.parse(readFileSync(written[0]!, 'utf8')) as CpuProfile,
    15,
    ROOT,
    measuredFromUs,
  );
  out(
    `\nCPU profile of ours through the identical-query workload (${identical.join(', ')}): ${written[0]}\n` +
      `after the warm-up: busy ${(profile.busyMs / 1000).toFixed(1)} s, ` +
      `idle ${(profile.idleMs / 1000).toFixed(1)} s; self time by area:`,
  );
  for (const a of profile.areas)
    out(`  ${(a.share * 100).toFixed(1).padStart(5)}%  ${a.ms.toFixed(0).padStart(7)} ms  ${a.name}`);
  out('top functions by self time:');
  for (const f of profile.functions)
    out(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}`);
}
process.exit(allErrors > 0 ? 1 : 0);
