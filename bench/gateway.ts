/**
 * npm run bench:gateway [-- --requests 200 --connections 4 --rounds 2 --cases 1000]
 * Starts the four subgraphs (real processes) over demo data, then this gateway and a plain
 * @apollo/gateway, and loads each with the same query, request count and concurrency,
 * alternating rounds so drift on a shared machine hits both alike.
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { loadConfig } from '../shared/config.js';
import { BENCH_SUBGRAPHS, benchAuthorization, benchDatabases, benchEnv, processStarter } from './env.js';
import { casesModels } from '../subgraphs/cases/case/models.js';
import { seedCases } from '../scripts/seed-data.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    connections: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '20' },
    cases: { type: 'string', default: '1000' },
  },
});
const REQUESTS = Number(values.requests);
const CONNECTIONS = Number(values.connections);
const ROUNDS = Number(values.rounds);
const QUERY =
  `{ cases(first: 50) { edges { node { id caseReference countryOfOrigin { name } partner { name } ` +
  `entitlement { totalCents } } } } }`;

const base = 4600;
const env = benchEnv('bench', base, {
  // FerretDB scans; give ours the same patience the plain gateway has (none).
  SUBGRAPH_TIMEOUT_MS: '60000',
});
const urls = {
  cases: `http://127.0.0.1:${base + 1}/graphql`,
  partners: `http://127.0.0.1:${base + 2}/graphql`,
  coverage: `http://127.0.0.1:${base + 3}/graphql`,
  finance: `http://127.0.0.1:${base + 4}/graphql`,
};
const config = loadConfig(env);

// Demo data, loaded once and kept between bench runs.
const { db, close } = await benchDatabases(config);
if ((await casesModels(db.cases).Case.estimatedDocumentCount()) !== Number(values.cases)) {
  await seedCases(db, { count: Number(values.cases), seed: 20240301, caseIdKey: config.CASE_ID_KEY });
}
await close();

const start = processStarter(env);

await Promise.all(BENCH_SUBGRAPHS.map((n, i) => start(`subgraphs/${n}/main.ts`, base + 1 + i)));
await start('gateway/main.ts', base);
// Apollo's standalone server has no health route: a GET query with the CSRF header stands in.
await start(
  'bench/plain-gateway.ts',
  base + 100,
  '/?query=%7B__typename%7D',
  { 'apollo-require-preflight': '1' },
  {
    BENCH_PORT: String(base + 100),
    BENCH_SUBGRAPH_URLS: JSON.stringify(urls),
  },
);

process.stdout.write('processes ready\n');
const authorization = await benchAuthorization(env);
const targets = { ours: `http://127.0.0.1:${base}/graphql`, plain: `http://127.0.0.1:${base + 100}/graphql` };

// Both must give the same answer before we time them.
const answers = await Promise.all(
  Object.values(targets).map(async (url) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authorization },
      body: JSON.stringify({ query: QUERY }),
    });
    return response.text();
  }),
);
if (answers[0] !== answers[1] || answers[0]!.includes('"errors"'))
  throw new Error(`gateways disagree or fail:\n${answers[0]!.slice(0, 300)}\n${answers[1]!.slice(0, 300)}`);

process.stdout.write('both gateways agree; loading\n');
const run = (url: string, amount: number) =>
  autocannon({
    url,
    method: 'POST',
    // The plain gateway ignores the token: it signs the same principal itself.
    headers: { 'content-type': 'application/json', ...authorization },
    body: JSON.stringify({ query: QUERY }),
    connections: CONNECTIONS,
    amount,
    timeout: 60,
  });

const results: Record<'ours' | 'plain', Array<{ rps: number; p50: number; p99: number; errors: number }>> = {
  ours: [],
  plain: [],
};
for (const url of Object.values(targets)) await run(url, Number(values.warmup)); // warm-up: JIT, plan cache, pools
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? (['ours', 'plain'] as const) : (['plain', 'ours'] as const);
  for (const name of order) {
    const r = await run(targets[name], REQUESTS);
    results[name].push({
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      errors: r.errors + r.non2xx,
    });
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = Object.fromEntries(
  Object.entries(results).map(([name, rs]) => [
    name,
    {
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      errors: rs.reduce((s, r) => s + r.errors, 0),
    },
  ]),
) as Record<'ours' | 'plain', { rps: number; p50: number; p99: number; errors: number }>;

process.stdout.write(
  `\ngateway benchmark: page of 50 cases with country, partner, entitlement; ${REQUESTS} requests x ${ROUNDS} ` +
    `rounds, ${CONNECTIONS} connections\n`,
);
process.stdout.write(
  `${'gateway'.padEnd(8)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ` +
    `${'errors'.padStart(7)}\n`,
);
for (const name of ['ours', 'plain'] as const) {
  const s = summary[name];
  process.stdout.write(
    `${name.padEnd(8)} ${s.rps.toFixed(0).padStart(8)} ${s.p50.toFixed(1).padStart(8)} ` +
      `${s.p99.toFixed(1).padStart(8)} ${String(s.errors).padStart(7)}\n`,
  );
}
process.stdout.write(
  `ratio ours/plain: req/s ${(summary.ours.rps / summary.plain.rps).toFixed(2)}, p50 ` +
    `${(summary.ours.p50 / summary.plain.p50).toFixed(2)}, p99 ` +
    `${(summary.ours.p99 / summary.plain.p99).toFixed(2)}\n`,
);
process.exit(summary.ours.errors + summary.plain.errors > 0 ? 1 : 0);
