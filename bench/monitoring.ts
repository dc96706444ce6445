/**
 * npm run bench:monitoring [-- --cases 100000 --calls 300]
 *
 * The comparable figures through the gateway (production mode, real processes): cross-tabs
 * (exact for a Member State's own scope, suppressed programme-wide for an EU analyst and a
 * Member State, with their CSV), the suppressed programme-wide `statistics`, and the indicator
 * values and breaches. Prints p50 and p99 per shape; target p99 < 100 ms.
 *
 * The cases are the read benchmarks' shared ones (bench/seed.ts: `bench<N>_*`), seeded once
 * with their read models (statistics with pair counters, worklist, indicators) and kept: a
 * later run of the same size starts at once.
 */
import { parseArgs } from 'node:util';
import { mintToken, type Principal } from '../shared/auth.js';
import { loadConfig } from '../shared/config.js';
import { BENCH_SUBGRAPHS, benchEnv, processStarter } from './env.js';
import { benchCasesPrefix, ensureBenchCases } from './seed.js';

const { values } = parseArgs({
  options: { cases: { type: 'string', default: '10000' }, calls: { type: 'string', default: '300' } },
});
const CASES = Number(values.cases);
const CALLS = Number(values.calls);
if (!Number.isSafeInteger(CASES) || CASES < 1 || !Number.isSafeInteger(CALLS) || CALLS < 10)
  throw new Error('--cases must be a positive integer and --calls at least 10');
const base = 4950;
// The shared cases of this size; the queue keys (and the gateway's cache) are this bench's own.
const env = benchEnv(`benchmon${CASES}`, base, {
  MONGO_DB_PREFIX: benchCasesPrefix(CASES),
  RATE_LIMIT_PER_MINUTE: '0',
});
const config = loadConfig(env);

// The read benchmarks' shared cases of this size (bench/seed.ts), with their statistics read model
// (pair counters included) and the read models the cases process builds at start, so it starts
// within its readiness timeout; nothing here writes to them.
await ensureBenchCases(config, CASES);

const start = processStarter(env);
await Promise.all(BENCH_SUBGRAPHS.map((n, i) => start(`subgraphs/${n}/main.ts`, base + 1 + i)));
await start('gateway/main.ts', base);

const headers = async (principal: Principal) => ({
  'content-type': 'application/json',
  authorization: `Bearer ${await mintToken(principal, config)}`,
});
const analyst = await headers({ subject: 'bench-analyst', role: 'EU_ANALYST' });
const memberState = await headers({ subject: 'bench-ms', role: 'MEMBER_STATE', memberState: 'DE' });

const XTAB = `query($r: StatisticsDimension!, $c: StatisticsDimension!, $m: StatisticsMeasure, $f: StatisticsFilter) {
  crossTabulation(rows: $r, columns: $c, measure: $m, filter: $f) {
    columnKeys rows { key cells { count suppressed } total } columnTotals { count } total withheld csv } }`;
const STATS = `query($f: StatisticsFilter) { statistics(filter: $f) { totalCases totalReturnees adults minors
  casesByMemberState { key count suppressed } casesPerMonth { key count suppressed }
  casesByCountryOfOrigin { key count suppressed } casesByPartner { key count suppressed }
  milestoneDurations { milestone cases medianDays } csv } }`;

const VALUES = `query($i: ID, $p: IndicatorScopeKind, $k: ID, $period: String, $first: Int) {
  indicatorValues(indicator: $i, perspective: $p, key: $k, period: $period, first: $first) {
    indicatorId scope { perspective key } period value numerator denominator casesCounted status } }`;
const BREACHES = `query($open: Boolean, $first: Int) { indicatorBreaches(open: $open, first: $first) {
  id indicatorId scope { perspective key } period value casesCounted } }`;

interface Shape {
  name: string;
  headers: Record<string, string>;
  query: string;
  variables: Record<string, unknown>;
}
const shapes: Shape[] = [
  {
    name: 'analyst: MS × country, programme, suppressed',
    headers: analyst,
    query: XTAB,
    variables: { r: 'MEMBER_STATE', c: 'COUNTRY_OF_ORIGIN' },
  },
  {
    name: 'analyst: country × month, programme, suppressed',
    headers: analyst,
    query: XTAB,
    variables: { r: 'COUNTRY_OF_ORIGIN', c: 'MONTH' },
  },
  {
    name: 'analyst: MS × month, returnees, suppressed',
    headers: analyst,
    query: XTAB,
    variables: { r: 'MEMBER_STATE', c: 'MONTH', m: 'RETURNEES' },
  },
  {
    name: 'Member State: country × month, own, exact',
    headers: memberState,
    query: XTAB,
    variables: { r: 'COUNTRY_OF_ORIGIN', c: 'MONTH' },
  },
  {
    name: 'Member State: MS × country, programme, suppressed',
    headers: memberState,
    query: XTAB,
    variables: { r: 'MEMBER_STATE', c: 'COUNTRY_OF_ORIGIN', f: { programme: true } },
  },
  {
    name: 'Member State: statistics, programme, suppressed',
    headers: memberState,
    query: STATS,
    variables: { f: { programme: true } },
  },
  // Indicators (from their own read model): every value of one indicator per Member State for an
  // analyst (withheld where small, across the scopes of the kind), a Member State's own values of
  // every indicator (exact), and the open breaches.
  {
    name: 'analyst: every indicator, every MS, one year, suppr.',
    headers: analyst,
    query: VALUES,
    variables: { p: 'MEMBER_STATE', period: '2024', first: 500 },
  },
  {
    name: 'analyst: completion rate, every MS, every period, suppr.',
    headers: analyst,
    query: VALUES,
    variables: { i: 'completion-rate', p: 'MEMBER_STATE', first: 500 },
  },
  {
    name: 'Member State: every indicator, own scope, exact',
    headers: memberState,
    query: VALUES,
    variables: { p: 'MEMBER_STATE', k: 'DE', first: 500 },
  },
  {
    name: 'analyst: open breaches, newest 100',
    headers: analyst,
    query: BREACHES,
    variables: { open: true, first: 100 },
  },
];

const call = async (shape: Shape) => {
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${base}/graphql`, {
    method: 'POST',
    headers: shape.headers,
    body: JSON.stringify({ query: shape.query, variables: shape.variables }),
  });
  const body = (await response.json()) as { errors?: unknown; data?: Record<string, { total?: number | null }> };
  if (body.errors) throw new Error(`${shape.name}: ${JSON.stringify(body.errors)}`);
  return { ms: performance.now() - started, data: body.data! };
};

const pct = (times: number[], p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!;
process.stdout.write(
  `\ncomparable figures through the gateway at ${CASES.toLocaleString('en')} cases ` +
    `(${CALLS} sequential calls per shape, after 10 warm-up calls):\n`,
);
let worst = 0;
for (const shape of shapes) {
  for (let i = 0; i < 10; i++) await call(shape);
  const times: number[] = [];
  let cells = 0;
  for (let i = 0; i < CALLS; i++) {
    const r = await call(shape);
    times.push(r.ms);
    if (i === 0) {
      const x = r.data.crossTabulation as { rows?: Array<{ cells: unknown[] }> } | undefined;
      cells = x?.rows ? x.rows.reduce((n, row) => n + row.cells.length, 0) : 0;
    }
  }
  times.sort((a, b) => a - b);
  worst = Math.max(worst, pct(times, 99));
  process.stdout.write(
    `  ${shape.name.padEnd(52)} ${cells ? `${String(cells).padStart(5)} cells` : '          '}  ` +
      `p50 ${pct(times, 50).toFixed(1).padStart(6)} ms   p99 ${pct(times, 99).toFixed(1).padStart(6)} ms\n`,
  );
}
process.stdout.write(`worst p99 ${worst.toFixed(1)} ms; target < 100 ms: ${worst < 100 ? 'met' : 'NOT met'}\n`);
process.exit(0);
