/**
 * npm run bench:stats [-- --cases 1000000 --calls 500]
 * Seeds `cases` demo cases (kept between runs in the `benchstats` databases), rebuilds the
 * statistics read model, starts the four subgraphs and the gateway, and calls `statistics`
 * repeatedly through the gateway, whole programme and per dimension. Prints p50/p99.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../shared/config.js';
import { BENCH_SUBGRAPHS, benchAuthorization, benchDatabases, benchEnv, processStarter } from './env.js';
import { createRedis } from '../shared/redis.js';
import { casesModels } from '../subgraphs/cases/case/models.js';
import { resetStatisticsCheckpoint } from '../subgraphs/cases/statistics/projector.js';
import { seedCases } from '../scripts/seed-data.js';

const { values } = parseArgs({
  options: { cases: { type: 'string', default: '1000000' }, calls: { type: 'string', default: '500' } },
});
const CASES = Number(values.cases);
const CALLS = Number(values.calls);
const base = 4800;
const env = benchEnv('benchstats', base);
const config = loadConfig(env);

const { db, close } = await benchDatabases(config);
const models = casesModels(db.cases);
// The read model says how many cases were seeded (a count over a million documents would scan them all).
const stored =
  ((await models.Statistics.findOne({ _id: 'all' }).lean().exec()) as { cases?: number } | null)?.cases ?? 0;
if (stored !== CASES) {
  const started = Date.now();
  process.stdout.write(`seeding ${CASES} cases (once; kept in the benchstats databases)...\n`);
  await seedCases(db, {
    count: CASES,
    seed: 20240301,
    caseIdKey: config.CASE_ID_KEY,
    batchSize: 2_000,
    onProgress: (n) => n % 100_000 === 0 && process.stdout.write(`  ${n}\n`),
  });
  const redis = createRedis(config, 'bench-stats');
  await resetStatisticsCheckpoint(models, redis, config.QUEUE_PREFIX);
  redis.disconnect();
  process.stdout.write(`seeded with its read model in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
await close();

const start = processStarter(env);
await Promise.all(BENCH_SUBGRAPHS.map((n, i) => start(`subgraphs/${n}/main.ts`, base + 1 + i)));
await start('gateway/main.ts', base);

const QUERY =
  `query($f: StatisticsFilter) { statistics(filter: $f) { totalCases totalReturnees adults minors ` +
  `averageMainApplicantAge averageFamilyComposition
  casesByMemberState { key count } casesPerMonth { key count } casesByReturnType { key count } casesByPackage ` +
  `{ key count }
  casesByCountryOfOrigin { key count } casesByPartner { key count } milestoneDurations { milestone cases ` +
  `averageDays medianDays } } }`;
const filters = [undefined, { memberState: 'DE' }, { countryOfOrigin: 'IQ' }, { partner: 'weldo' }];
const authorization = await benchAuthorization(env);
const call = async (f: unknown) => {
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authorization },
    body: JSON.stringify({ query: QUERY, variables: { f } }),
  });
  const body = (await response.json()) as { errors?: unknown; data?: { statistics: { totalCases: number } } };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return { ms: performance.now() - started, total: body.data!.statistics.totalCases };
};
for (let i = 0; i < 20; i++) await call(filters[i % filters.length]); // warm-up
const times: number[] = [];
let total = 0;
for (let i = 0; i < CALLS; i++) {
  const r = await call(filters[i % filters.length]);
  times.push(r.ms);
  if (i === 0) total = r.total;
}
times.sort((a, b) => a - b);
const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!;
process.stdout.write(
  `\nstatistics through the gateway at ${total.toLocaleString('en')} cases (${CALLS} sequential calls, 4 scopes):\n`,
);
process.stdout.write(
  `p50 ${pct(50).toFixed(1)} ms   p99 ${pct(99).toFixed(1)} ms   max ${times.at(-1)!.toFixed(1)} ms   target ` +
    `< 50 ms: ${pct(99) < 50 ? 'met' : 'NOT met'}\n`,
);
process.exit(0);
