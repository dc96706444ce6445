/**
 * npm run bench:subscriptions [-- --subscribers 1000 --events 40 --principals 10 --cases 1000 --warmup-events 20]
 *   [--cpu-prof-dir DIR]  (CPU profiles of the gateway and the four subgraphs, written to DIR when the run ends)
 * Starts the four subgraphs and the gateway (production mode), opens `subscribers`
 * graphql-ws connections (spread over `principals` tokens: operations dashboards, EU analysts, partner tools and
 * Member State tools; each receives only the events of cases it may see), publishes
 * `events` case events to the stream, and prints delivery latency (publish to receipt)
 * p50/p99 for two selections side by side in one run, event fields only, and the case with
 * fields from every subgraph, plus the gateway's resident memory per connection.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { mintToken, type Principal } from '../shared/auth.js';
import { canSeeCase } from '../shared/access.js';
import { loadConfig } from '../shared/config.js';
import { caseEventStream, publishCaseEvents } from '../shared/case-events/index.js';
import { createRedis } from '../shared/redis.js';
import { casesModels, type CaseDoc } from '../subgraphs/cases/case/models.js';
import { factsOf } from '../subgraphs/cases/statistics/facts.js';
import { NODE_ARGS } from '../scripts/processes.js';
import { assertPortsFree, BENCH_SUBGRAPHS, benchDatabases, benchEnv, processStarter } from './env.js';
import { ensureBenchCases } from './seed.js';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000' },
    events: { type: 'string', default: '40' },
    principals: { type: 'string', default: '10' },
    'interval-ms': { type: 'string', default: '100' },
    cases: { type: 'string', default: '1000' },
    'warmup-events': { type: 'string', default: '20' },
    'cpu-prof-dir': { type: 'string' },
  },
});
const SUBSCRIBERS = Number(values.subscribers);
const EVENTS = Number(values.events);
const PRINCIPALS = Number(values.principals);
const INTERVAL_MS = Number(values['interval-ms']);
const CASES = Number(values.cases);
const WARMUP_EVENTS = Number(values['warmup-events']);
const whole = (name: string, value: number, min: number, max: number) => {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`--${name} must be a whole number from ${min} to ${max} (got ${String(value)})`);
};
whole('subscribers', SUBSCRIBERS, 1, 20_000);
whole('events', EVENTS, 1, 10_000);
whole('principals', PRINCIPALS, 1, 1_000);
whole('interval-ms', INTERVAL_MS, 0, 60_000);
whole('cases', CASES, 100, 1_000_000);
whole('warmup-events', WARMUP_EVENTS, 0, 1_000);

// Its own block of ports (bench:ingest has 4900, bench:monitoring 4950).
const base = 5150;
// Each principal here stands for a whole class of clients (every ops dashboard, every partner
// tool): its sockets and subscriptions are allowed past the per-principal defaults.
const perPrincipal = String(Math.max(1, Math.ceil(SUBSCRIBERS / PRINCIPALS)));
// Its own databases, named after the size, seeded once and kept (a run of the same size starts at once).
const env = benchEnv(`benchsubs${CASES}`, base, {
  WS_MAX_CONNECTIONS_PER_PRINCIPAL: perPrincipal,
  WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL: perPrincipal,
});
const config = loadConfig(env);
// The state the figures depend on is set up here, not left to whatever a database holds:
// exactly CASES seeded cases (bench/seed.ts; a seed that was interrupted is cleared and done
// again), and the sample of events read in _id order. This bench publishes case events, which
// its projectors apply (worklist entries of the sampled cases move to the events' times): it
// keeps databases of its own (`benchsubs<N>_*`), not the read benchmarks' shared `bench<N>_*`.
await ensureBenchCases(config, CASES);
const { db, close } = await benchDatabases(config);
const models = casesModels(db.cases);
const sample = await models.Case.find({}).sort({ _id: 1 }).limit(50).lean<CaseDoc[]>().exec();
await close();

const profileDir = values['cpu-prof-dir'];
if (profileDir !== undefined) {
  // Node refuses --cpu-prof in NODE_OPTIONS: the flag goes on each child's own command line.
  for (const entry of ['gateway/main.ts', ...BENCH_SUBGRAPHS.map((n) => `subgraphs/${n}/main.ts`)])
    NODE_ARGS[entry] = [...(NODE_ARGS[entry] ?? []), '--cpu-prof', `--cpu-prof-dir=${resolvePath(profileDir)}`];
}
await assertPortsFree([base, base + 1, base + 2, base + 3, base + 4]);
const start = processStarter(env);
await Promise.all(BENCH_SUBGRAPHS.map((n, i) => start(`subgraphs/${n}/main.ts`, base + 1 + i)));
const gateway = await start('gateway/main.ts', base);
const redis = createRedis(config, 'bench-subscriptions');
const url = `ws://127.0.0.1:${base}/graphql`;

/** Resident memory of a process, from /proc (Linux). */
const rssOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const settleMemory = async () => {
  await new Promise((r) => setTimeout(r, 1_500));
  return rssOf(gateway.pid!);
};

const SELECTIONS = {
  'event fields': 'subscription { caseEvents { id type at caseId status } }',
  'case from 4 subgraphs':
    'subscription { caseEvents { id type at caseId case { caseReference status sendingMemberState { name } ' +
    'countryOfOrigin { name } partner { name } entitlement { totalCents } } } }',
} as const;

// A realistic mix: operations dashboards, EU analysts, partner tools, Member State tools.
const partnersOf = [...new Set(sample.map((d) => d.partnerId).filter((p): p is string => p !== null))];
const memberStatesOf = [...new Set(sample.map((d) => d.memberState))];
const principals: Principal[] = Array.from({ length: PRINCIPALS }, (_, i): Principal => {
  switch (i % 4) {
    case 0:
      return { subject: `ops-dashboard-${i}`, role: 'ADMIN' };
    case 1:
      return { subject: `eu-analyst-${i}`, role: 'EU_ANALYST' };
    case 2:
      return { subject: `partner-tool-${i}`, role: 'PARTNER', partnerId: partnersOf[i % partnersOf.length]! };
    default:
      return {
        subject: `ministry-tool-${i}`,
        role: 'MEMBER_STATE',
        memberState: memberStatesOf[i % memberStatesOf.length]!,
      };
  }
});
const tokens = await Promise.all(principals.map((p) => mintToken(p, config)));
/** How many of `events` published events subscriber `i` may see. */
const expectedFor = (i: number, events: number) =>
  Array.from({ length: events }, (_, e) => sample[e % sample.length]!).filter((doc) =>
    canSeeCase(principals[i % PRINCIPALS]!, doc),
  ).length;

async function round(name: keyof typeof SELECTIONS, subscribers = SUBSCRIBERS, events = EVENTS) {
  const latencies: number[] = [];
  const published = new Map<string, number>();
  let received = 0;
  let failures = 0;
  const clients: Client[] = [];
  const before = await settleMemory();
  let connected = 0;
  await Promise.all(
    Array.from({ length: subscribers }, async (_, i) => {
      const client = createClient({
        url,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${tokens[i % PRINCIPALS]}` },
        onNonLazyError: () => failures++,
      });
      clients.push(client);
      await new Promise<void>((resolve) => {
        client.on('connected', () => {
          connected++;
          resolve();
        });
        client.on('closed', () => resolve());
      });
      client.subscribe<{ caseEvents: { at: string; case?: unknown } }>(
        { query: SELECTIONS[name] },
        {
          next: (value) => {
            if (value.errors || !value.data) {
              failures++;
              return;
            }
            received++;
            latencies.push(Date.now() - Date.parse(value.data.caseEvents.at));
          },
          error: () => failures++,
          complete: () => undefined,
        },
      );
    }),
  );
  await new Promise((r) => setTimeout(r, 1_000)); // every subscription registered
  const after = await settleMemory();
  for (let i = 0; i < events; i++) {
    const doc = sample[i % sample.length]!;
    const facts = factsOf(doc);
    const at = new Date();
    await publishCaseEvents(redis, config.QUEUE_PREFIX, [
      {
        type: 'case.updated',
        caseId: doc._id.toHexString(),
        version: i,
        at: at.toISOString(),
        before: facts,
        after: facts,
      },
    ]);
    published.set(String(i), at.getTime());
    await new Promise((r) => setTimeout(r, INTERVAL_MS));
  }
  const deadline = Date.now() + 60_000;
  const expected = Array.from({ length: subscribers }, (_, i) => expectedFor(i, events)).reduce((a, b) => a + b, 0);
  while (received + failures < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await Promise.all(clients.map((c) => c.dispose()));
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return {
    name,
    connected,
    received,
    expected,
    failures,
    p50: pct(50),
    p99: pct(99),
    max: latencies.at(-1) ?? NaN,
    perConnection: (after - before) / Math.max(connected, 1),
  };
}

process.stdout.write(
  `processes ready; ${SUBSCRIBERS} subscribers over ${PRINCIPALS} principals ` +
    `(${principals.map((p) => p.role).join(', ')}), ${EVENTS} events every ${INTERVAL_MS} ms\n`,
);
if (WARMUP_EVENTS > 0) {
  // Warm-up, not measured: JIT, query plans of every batch size, connection pools, store caches.
  const warm = await round('case from 4 subgraphs', Math.min(SUBSCRIBERS, 100), WARMUP_EVENTS);
  process.stdout.write(
    `warm-up: ${warm.received}/${warm.expected} delivered, p50 ${warm.p50} ms, p99 ${warm.p99} ms (not counted)\n`,
  );
}
const results = [];
for (const name of Object.keys(SELECTIONS) as Array<keyof typeof SELECTIONS>) results.push(await round(name));
await redis.del(caseEventStream(config.QUEUE_PREFIX));
redis.disconnect();

process.stdout.write(
  `\nsubscription benchmark (gateway pid ${gateway.pid}, 2 cores): delivery latency from publish to receipt\n`,
);
process.stdout.write(
  'selection                 connected  delivered/expected  failures  p50 ms  p99 ms  max ms  gateway memory ' +
    'per connection\n',
);
for (const r of results) {
  process.stdout.write(
    `${r.name.padEnd(24)}  ${String(r.connected).padStart(9)}  ${`${r.received}/${r.expected}`.padStart(18)}  ` +
      `${String(r.failures).padStart(8)}  ${String(r.p50).padStart(6)}  ${String(r.p99).padStart(6)}  ` +
      `${String(r.max).padStart(6)}  ${(r.perConnection / 1024).toFixed(1)} KiB\n`,
  );
}
const [light, federated] = results;
process.stdout.write(
  `ratio federated/event-only: p50 ${(federated!.p50 / Math.max(light!.p50, 1)).toFixed(2)}, p99 ` +
    `${(federated!.p99 / Math.max(light!.p99, 1)).toFixed(2)}\n`,
);
const complete = results.every((r) => r.received === r.expected && r.failures === 0);
process.stdout.write(
  `every expected delivery arrived: ${complete ? 'yes' : 'NO'}; target: federated p99 under 200 ms: ` +
    `${federated!.p99 < 200 ? 'met' : 'NOT met'} (${federated!.p99} ms)\n`,
);
process.exit(complete ? 0 : 1);
