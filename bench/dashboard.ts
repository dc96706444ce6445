/**
 * npm run bench:dashboard [-- --cases 100000 --loads 10]
 *
 * Each dashboard view in Debian's chromium against the real system in production mode (child
 * processes, as bench:monitoring starts them): per view, the first meaningful paint (the
 * `avrr:ready:<view>` mark the page sets when the view's figures are on screen, read from the
 * browser's own performance timeline) and p50/p99 of each of its graph queries (the browser's
 * resource timing entries for `/graphql?op=<Operation>`), against the targets: 1.5 s paint,
 * 100 ms p99 per query. Each view is loaded `--loads` times per principal (a full page load each).
 *
 * Production mode refuses the development sign-in: the bench mints tokens itself and hands them
 * to the page as a completed OIDC sign-in leaves them (the oidc-client-ts user in sessionStorage),
 * so the page runs the same code path. The page is served by the gateway's own /dashboard/ route
 * (the built dashboard/dist; the gateway is configured for OpenID Connect sign-in, whose issuer is
 * never contacted: the stored sign-in is complete). The cases are the read benchmarks' shared ones
 * (bench/seed.ts: `bench<N>_*`), seeded once and kept: a later run of the same size starts at once.
 */
import { parseArgs } from 'node:util';
import { mintToken, type Principal } from '../shared/auth.js';
import { loadConfig } from '../shared/config.js';
import { casesModels } from '../subgraphs/cases/case/models.js';
import { launchChromium, requireDashboardBuild } from '../test/browser/harness.js';
import { BENCH_SUBGRAPHS, benchDatabases, benchEnv, processStarter } from './env.js';
import { benchCasesPrefix, ensureBenchCases } from './seed.js';

const { values } = parseArgs({
  options: { cases: { type: 'string', default: '100000' }, loads: { type: 'string', default: '10' } },
});
const CASES = Number(values.cases);
const LOADS = Number(values.loads);
if (!Number.isSafeInteger(CASES) || CASES < 1 || CASES > 2_000_000)
  throw new Error(`--cases must be an integer from 1 to 2,000,000 (got ${values.cases})`);
if (!Number.isSafeInteger(LOADS) || LOADS < 1 || LOADS > 200)
  throw new Error(`--loads must be an integer from 1 to 200 (got ${values.loads})`);
const PAINT_TARGET_MS = 1_500;
const QUERY_P99_TARGET_MS = 100;
const base = 5050;
const ISSUER = 'https://id.bench.invalid/realms/avrr';
const CLIENT_ID = 'avrr-dashboard';
requireDashboardBuild();
// The shared cases of this size; the queue keys (and the gateway's cache) are this bench's own.
const env = benchEnv(`benchdash${CASES}`, base, {
  MONGO_DB_PREFIX: benchCasesPrefix(CASES),
  RATE_LIMIT_PER_MINUTE: '0',
  OIDC_ISSUER: ISSUER,
  OIDC_CLIENT_ID: CLIENT_ID,
});
const config = loadConfig(env);

// The read benchmarks' shared cases of this size (bench/seed.ts), with their read models; the
// views only read (the live view subscribes, nothing publishes).
await ensureBenchCases(config, CASES);
const { db, close } = await benchDatabases(config);
const models = casesModels(db.cases);
const busiest = (
  await models.Case.aggregate<{ _id: string }>([
    { $group: { _id: '$memberState', n: { $sum: 1 } } },
    { $sort: { n: -1 } },
    { $limit: 1 },
  ]).exec()
)[0]?._id;
await close();

const start = processStarter(env);
await Promise.all(BENCH_SUBGRAPHS.map((n, i) => start(`subgraphs/${n}/main.ts`, base + 1 + i)));
await start('gateway/main.ts', base);

const origin = `http://127.0.0.1:${base}`;
const browser = await launchChromium();

const VIEWS = ['overview', 'budget', 'quality', 'sustainability', 'worklist', 'live', 'data-quality'] as const;
const principals: Array<[string, Principal]> = [
  ['EU analyst', { subject: 'bench-analyst', role: 'EU_ANALYST' }],
  [`Member State ${busiest ?? 'DE'}`, { subject: 'bench-ms', role: 'MEMBER_STATE', memberState: busiest ?? 'DE' }],
];

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
const ms = (n: number) => `${n.toFixed(0).padStart(5)} ms`;
let failures = 0;

try {
  for (const [label, principal] of principals) {
    const token = await mintToken(principal, config);
    // What oidc-client-ts stores after a completed sign-in (User.toStorageString), in this tab's sessionStorage.
    const user = JSON.stringify({
      access_token: token,
      token_type: 'Bearer',
      scope: 'openid profile',
      profile: { sub: principal.subject, iss: ISSUER, aud: CLIENT_ID, exp: 0, iat: 0 },
      expires_at: Math.floor(Date.now() / 1000) + 3600,
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(
      ([key, value]) =>
        (
          globalThis as unknown as { sessionStorage: { setItem: (k: string, v: string) => void } }
        ).sessionStorage.setItem(key, value),
      [`oidc.user:${ISSUER}:${CLIENT_ID}`, user] as const,
    );
    const page = await context.newPage();
    process.stdout.write(`\n${label} (${CASES.toLocaleString('en')} cases, ${LOADS} loads per view)\n`);
    for (const view of VIEWS) {
      const paints: number[] = [];
      const queries = new Map<string, number[]>();
      for (let i = 0; i < LOADS; i++) {
        // The budget view as users open it: the graph names the latest year with data (FinanceYears, then Budget).
        await page.goto(`${origin}/dashboard/?load=${i}#/${view}`);
        await page.waitForFunction((v) => performance.getEntriesByName(`avrr:ready:${v}`).length > 0, view, {
          timeout: 30_000,
        });
        const entries = await page.evaluate((v) => {
          const mark = performance.getEntriesByName(`avrr:ready:${v}`)[0];
          const resources = performance
            .getEntriesByType('resource')
            .filter((e) => new URL(e.name).pathname === '/graphql')
            .map((e) => ({ op: new URL(e.name).searchParams.get('op') ?? '(unnamed)', duration: e.duration }));
          return { paint: mark?.startTime ?? Number.NaN, resources };
        }, view);
        if (i === 0 && LOADS > 1) continue; // the first load warms the browser's and the graph's caches
        paints.push(entries.paint);
        for (const r of entries.resources) queries.set(r.op, [...(queries.get(r.op) ?? []), r.duration]);
      }
      paints.sort((a, b) => a - b);
      const paint = quantile(paints.length ? paints : [Number.NaN], 0.5);
      const worst = paints[paints.length - 1] ?? Number.NaN;
      const paintOk = worst < PAINT_TARGET_MS;
      if (!paintOk) failures++;
      process.stdout.write(
        `  ${view.padEnd(15)} first meaningful paint p50 ${ms(paint)} max ${ms(worst)} ` +
          `(target ${PAINT_TARGET_MS} ms) ${paintOk ? 'ok' : 'OVER'}\n`,
      );
      for (const [op, durations] of queries) {
        durations.sort((a, b) => a - b);
        const p99 = quantile(durations, 0.99);
        const ok = p99 < QUERY_P99_TARGET_MS;
        if (!ok) failures++;
        process.stdout.write(
          `    ${op.padEnd(24)} n=${String(durations.length).padStart(3)} p50 ${ms(quantile(durations, 0.5))} ` +
            `p99 ${ms(p99)} (target ${QUERY_P99_TARGET_MS} ms) ${ok ? 'ok' : 'OVER'}\n`,
        );
      }
    }
    await context.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(`\n${failures === 0 ? 'all within target' : `${failures} figure(s) over target`}\n`);
process.exit(0);
