/**
 * npm run bench:reads [-- --cases 100000 --calls 200 --warm-up 10]
 *
 * Every read shape the graph offers to dashboards and ministry tools, timed through the
 * gateway (production mode, real processes, the principal's scope applied as in
 * production) and straight against the store with the same Mongo query the cases
 * subgraph sends, so the gateway's share is visible. Each shape is printed with its p50
 * and p99 next to the baseline of the same run (an unfiltered page read in `_id` order,
 * which the store answers from its primary key) and the ratio of the two.
 *
 * The cases are the read benchmarks' shared ones (bench/seed.ts: `bench<N>_*`, seeded once
 * and kept; a seed that was interrupted is cleared and done again), with this bench's feed
 * reports added once under a mark of their own.
 */
import { parseArgs } from 'node:util';
import { parse, type FieldNode, type OperationDefinitionNode } from 'graphql';
import type { FilterQuery } from 'mongoose';
import { loadConfig } from '../shared/config.js';
import { mintToken, type Principal } from '../shared/auth.js';
import { BENCH_SUBGRAPHS, benchDatabases, benchEnv, processStarter } from './env.js';
import { casesModels, type CaseDoc } from '../subgraphs/cases/case/models.js';
import { feedModels } from '../subgraphs/cases/ingestion/index.js';
import { caseFilterToQuery, type CaseFilterInput } from '../subgraphs/cases/case/resolvers.js';
import { CaseAccess } from '../subgraphs/cases/case/access.js';
import { personalDataGrantModel } from '../subgraphs/cases/data-protection/support-access.js';
import { clearCollection } from '../shared/mongo.js';
import { casePageProjection } from '../subgraphs/cases/case/projection.js';
import { benchCasesPrefix, ensureBenchCases, ensureBenchExtra } from './seed.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '10000' },
    calls: { type: 'string', default: '200' },
    'warm-up': { type: 'string', default: '10' },
    only: { type: 'string' },
  },
});
const CASES = Number(values.cases);
const CALLS = Number(values.calls);
const WARM_UP = Number(values['warm-up']);
if (!Number.isInteger(CASES) || CASES < 1000) throw new Error('--cases must be a whole number of at least 1000');
if (!Number.isInteger(CALLS) || CALLS < 5) throw new Error('--calls must be a whole number of at least 5');
if (!Number.isInteger(WARM_UP) || WARM_UP < 1) throw new Error('--warm-up must be a whole number of at least 1');
const base = 4850;
// The shared cases of this size (bench/seed.ts); its queue keys are its own.
const env = benchEnv(`benchreads${CASES}`, base, {
  MONGO_DB_PREFIX: benchCasesPrefix(CASES),
  // Sequential calls from a handful of principals would meet the per-principal rate limit.
  RATE_LIMIT_PER_MINUTE: '0',
});
const config = loadConfig(env);

// ---- seed once -------------------------------------------------------------------------
// The cases are the read benchmarks' shared ones (bench/seed.ts); the feed reports are this bench's own extra.
await ensureBenchCases(config, CASES);
const { db, close } = await benchDatabases(config);
const models = casesModels(db.cases);
const feeds = feedModels(db.cases);
await ensureBenchExtra(config, CASES, {
  name: 'feed-reports',
  version: 1,
  add: async () => {
    // Feed reports for `ingestionFeeds`: a few hundred pushes per Member State, as years of weekly feeds would leave.
    await clearCollection(feeds.Feed);
    await clearCollection(feeds.FeedChunk);
    const memberStates = ['DE', 'NL', 'BE', 'FR', 'SE', 'AT'];
    const feedDocs = Array.from({ length: 1200 }, (_, i) => ({
      _id: `feed_bench_${String(i).padStart(5, '0')}`,
      memberState: memberStates[i % memberStates.length]!,
      received: 500,
      totalChunks: 1,
      createdAt: new Date(Date.UTC(2022, 3, 1) + i * 3_600_000 * 13),
    }));
    await feeds.Feed.collection.insertMany(feedDocs as never[]);
    await feeds.FeedChunk.collection.insertMany(
      feedDocs.map((f) => ({
        _id: `${f._id}:0`,
        feedId: f._id,
        chunkIndex: 0,
        counts: { created: 490, updated: 0, unchanged: 0, stale: 0, rejected: 10 },
        rejected: [],
        failed: false,
        error: null,
        completedAt: f.createdAt,
      })) as never[],
    );
  },
});

// ---- the shapes --------------------------------------------------------------------------
const MS: Principal = { subject: 'bench-ms', role: 'MEMBER_STATE', memberState: 'DE' };
const PARTNER: Principal = { subject: 'bench-partner', role: 'PARTNER', partnerId: 'weldo' };
const ADMIN: Principal = { subject: 'bench-admin', role: 'ADMIN' };
const ANALYST: Principal = { subject: 'bench-analyst', role: 'EU_ANALYST' };

const FIELDS: Record<string, CaseFilterInput> = {
  memberStates: { memberStates: ['NL', 'DE'] },
  countriesOfOrigin: { countriesOfOrigin: ['IQ'] },
  partners: { partners: ['irara'] },
  statuses: { statuses: ['PLAN_APPROVED', 'ARRIVED'] },
  returnTypes: { returnTypes: ['FORCED'] },
  packages: { packages: ['CHARTER_ARRIVAL'] },
  eligibilityOutcomes: { eligibilityOutcomes: ['ELIGIBILITY_LETTER_ONLY'] },
  departure: { departureFrom: '2023-03-01', departureTo: '2023-06-30' },
  created: { createdFrom: new Date('2023-01-01T00:00:00Z'), createdTo: new Date('2023-07-01T00:00:00Z') },
};
const FIELD_NAMES = Object.keys(FIELDS);

interface Shape {
  name: string;
  principal: Principal;
  query: string;
  variables?: Record<string, unknown>;
  /** The same read straight against the store (what the cases subgraph sends), if it is one. */
  store?: () => Promise<unknown>;
}

const PAGE =
  `query($f: CaseFilter, $after: String, $first: Int) { cases(filter: $f, first: $first, after: ` +
  `$after) { edges { node { id status countryOfOrigin { code } } } pageInfo { hasNextPage endCursor } } }`;
const COUNT = `query($f: CaseFilter) { cases(filter: $f, first: 1) { totalCount } }`;

// The scope applied exactly as the cases subgraph applies it.
const grants = personalDataGrantModel(db.cases);
const restrictFor = (principal: Principal, filter: FilterQuery<CaseDoc>) =>
  new CaseAccess(principal, grants, config.PSEUDONYM_KEY).restrict(filter);
const storeQuery = (principal: Principal, f: CaseFilterInput) => restrictFor(principal, caseFilterToQuery(f));
// The paths the cases subgraph reads for PAGE's selection (subgraphs/cases/case/projection.ts).
const pageOperation = parse(PAGE).definitions[0] as OperationDefinitionNode;
const PAGE_PROJECTION = casePageProjection(pageOperation.selectionSet.selections as FieldNode[], {});
const storePage =
  (principal: Principal, f: CaseFilterInput, first = 50) =>
  () =>
    models.Case.find(storeQuery(principal, f), PAGE_PROJECTION)
      .sort({ _id: 1 })
      .limit(first + 1)
      .batchSize(first + 1)
      .lean()
      .exec();
const storeCount = (principal: Principal, f: CaseFilterInput) => () =>
  models.Case.countDocuments(storeQuery(principal, f)).exec();

const shapes: Shape[] = [];
const baseline: Shape = {
  name: 'baseline: first page in _id order (admin)',
  principal: ADMIN,
  query: PAGE,
  variables: { first: 50 },
  store: storePage(ADMIN, {}),
};
shapes.push(baseline);
const scopes: Array<[string, Principal]> = [
  ['admin', ADMIN],
  ['member state DE', MS],
  ['partner weldo', PARTNER],
];
for (const [i, name] of FIELD_NAMES.entries()) {
  const f = FIELDS[name]!;
  const other = FIELDS[FIELD_NAMES[(i + 3) % FIELD_NAMES.length]!]!;
  for (const [scopeName, principal] of scopes) {
    shapes.push({
      name: `${name} | ${scopeName} | page`,
      principal,
      query: PAGE,
      variables: { f, first: 50 },
      store: storePage(principal, f),
    });
    shapes.push({
      name: `${name} | ${scopeName} | totalCount`,
      principal,
      query: COUNT,
      variables: { f },
      store: storeCount(principal, f),
    });
  }
  const both = { ...f, ...other };
  shapes.push({
    name: `${name} + ${FIELD_NAMES[(i + 3) % FIELD_NAMES.length]} | admin | page`,
    principal: ADMIN,
    query: PAGE,
    variables: { f: both, first: 50 },
    store: storePage(ADMIN, both),
  });
  shapes.push({
    name: `${name} + ${FIELD_NAMES[(i + 3) % FIELD_NAMES.length]} | member state DE | totalCount`,
    principal: MS,
    query: COUNT,
    variables: { f: both },
    store: storeCount(MS, both),
  });
}
for (const [scopeName, principal] of scopes) {
  shapes.push({
    name: `no filter | ${scopeName} | totalCount`,
    principal,
    query: COUNT,
    variables: {},
    store: storeCount(principal, {}),
  });
}
shapes.push({
  name: `no filter | EU analyst | page + totalCount`,
  principal: ANALYST,
  query: `query { cases(first: 50) { totalCount edges { node { id caseReference } } } }`,
  store: storeCount(ANALYST, {}),
});

// Deep keyset pages: the cursors are found first (untimed), then page 50 and the last page are timed.
async function cursorsOf(principal: Principal, f: CaseFilterInput, first: number): Promise<string[]> {
  const cursors: string[] = [];
  let after: string | null = null;
  for (;;) {
    const body = (await call(principal, PAGE, { f, first, after })) as {
      data: { cases: { pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
    };
    const info = body.data.cases.pageInfo;
    if (!info.hasNextPage || !info.endCursor) return cursors;
    cursors.push(info.endCursor);
    after = info.endCursor;
  }
}

const REFERENCE_CASE = await models.Case.findOne({ memberState: 'DE' }).sort({ _id: 1 }).lean<CaseDoc>().exec();
if (!REFERENCE_CASE) throw new Error('no DE case seeded');
shapes.push({
  name: 'caseByReference | member state DE',
  principal: MS,
  query: `query($r: String!) { caseByReference(memberState: "DE", caseReference: $r) { id status } }`,
  variables: { r: REFERENCE_CASE.caseReference },
  store: () =>
    models.Case.findOne(restrictFor(MS, { memberState: 'DE', caseReference: REFERENCE_CASE.caseReference }))
      .lean()
      .exec(),
});
shapes.push({
  name: 'Partner.cases with filter | admin',
  principal: ADMIN,
  query:
    `query { partners { id cases(first: 20, filter: { statuses: [ACCEPTED, PLAN_APPROVED] }) { ` +
    `totalCount edges { node { id } } } } }`,
});
shapes.push({
  name: 'Partner.cases | partner weldo',
  principal: PARTNER,
  query:
    `query { partner(id: "weldo") { cases(first: 20, filter: { countriesOfOrigin: ["GE", "AM"] }) { ` +
    `totalCount edges { node { id } } } } }`,
});
shapes.push({
  name: 'ingestionFeeds(memberState) | admin',
  principal: ADMIN,
  query: `query { ingestionFeeds(memberState: "NL", first: 20) { id status counts { received rejected } } }`,
  store: () => feeds.Feed.find({ memberState: 'NL' }).sort({ createdAt: -1 }).limit(20).lean().exec(),
});
shapes.push({
  name: 'ingestionFeeds | member state DE',
  principal: MS,
  query: `query { ingestionFeeds(first: 20) { id status } }`,
});
// The README's own examples, as its readers send them.
const BE: Principal = { subject: 'bench-ms-be', role: 'MEMBER_STATE', memberState: 'BE' };
shapes.push({
  name: 'README first query | member state BE',
  principal: BE,
  query:
    `{ cases(first: 3) { totalCount edges { node { caseReference sendingMemberState { name } ` +
    `countryOfOrigin { name } partner { name } entitlement { totalEur } } } } }`,
});
shapes.push({
  name: 'README federated page of 50 | admin',
  principal: ADMIN,
  query:
    `{ cases(first: 50, filter: { countriesOfOrigin: ["IQ"], returnTypes: [VOLUNTARY] }) { totalCount ` +
    `pageInfo { hasNextPage endCursor }
    edges { node { caseReference status familySize packages departureDate sendingMemberState { code name } ` +
    `countryOfOrigin { name coverage { partner { name } validFrom } }
    partner { name } entitlement { totalCents totalEur lines { package component persons unitCents ` +
    `amountCents } } } } } }`,
});
shapes.push({
  name: 'tariffs(on) | analyst',
  principal: ANALYST,
  query: `query { tariffs(on: "2024-06-01") { package component amountCents } }`,
});
shapes.push({
  name: 'financeSummary(year) | admin',
  principal: ADMIN,
  query: `query { financeSummary(year: 2024) { peopleSupported committedCents disbursedCents } }`,
});
shapes.push({
  name: 'partners spend(year) | admin',
  principal: ADMIN,
  query: `query { partners { id spend(year: 2024) { committedCents } } }`,
});
shapes.push({
  name: 'countries coverage + spend(year) | admin',
  principal: ADMIN,
  query:
    `query { countriesOfOrigin { code name coverage { partner { id } packages } spend(year: 2024) { ` +
    `committedCents } } }`,
});

// ---- the system ----------------------------------------------------------------------------
const start = processStarter(env);
await Promise.all(BENCH_SUBGRAPHS.map((n, i) => start(`subgraphs/${n}/main.ts`, base + 1 + i)));
await start('gateway/main.ts', base);

const tokens = new Map<string, string>();
async function call(principal: Principal, query: string, variables: Record<string, unknown> = {}): Promise<unknown> {
  let token = tokens.get(principal.subject);
  if (!token) tokens.set(principal.subject, (token = await mintToken(principal, config)));
  const response = await fetch(`http://127.0.0.1:${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { errors?: unknown };
  if (body.errors) throw new Error(`${JSON.stringify(body.errors).slice(0, 500)}\nquery: ${query}`);
  return body;
}

for (const [label, principal, f] of [
  ['countriesOfOrigin IQ | member state DE', MS, FIELDS.countriesOfOrigin!],
  ['statuses | admin', ADMIN, FIELDS.statuses!],
  ['no filter | partner weldo', PARTNER, {}],
] as const) {
  const cursors = await cursorsOf(principal, f, 20);
  const page50 = cursors[Math.min(48, cursors.length - 1)];
  const last = cursors.at(-1);
  if (page50)
    shapes.push({
      name: `${label} | page 50 (of ${cursors.length + 1}, 20 a page)`,
      principal,
      query: PAGE,
      variables: { f, first: 20, after: page50 },
    });
  if (last)
    shapes.push({ name: `${label} | last page`, principal, query: PAGE, variables: { f, first: 20, after: last } });
}

// ---- timing --------------------------------------------------------------------------------
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
async function time(
  run: () => Promise<unknown>,
): Promise<{ p50: number; p99: number; max: number; errors: number; error?: string }> {
  let errors = 0;
  let error: string | undefined;
  const attempt = async () => {
    try {
      await run();
    } catch (e) {
      errors++;
      error ??= (e as Error).message.split('\n')[0];
    }
  };
  // Warm-up per shape (its first calls compile plans, fill caches): not timed.
  for (let i = 0; i < WARM_UP; i++) await attempt();
  // A shape that fails (e.g. past the store's deadline) is reported, not timed further.
  if (errors === WARM_UP) return { p50: NaN, p99: NaN, max: NaN, errors, error };
  const times: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const started = performance.now();
    await attempt();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: pct(times, 50), p99: pct(times, 99), max: times.at(-1)!, errors, error };
}

const selected = values.only ? shapes.filter((s) => s === baseline || s.name.includes(values.only!)) : shapes;
const target = CASES >= 100_000 ? 100 : 50;
type Timing = Awaited<ReturnType<typeof time>>;
const rows: Array<{ name: string; gw: Timing; store?: Timing }> = [];
for (const shape of selected) {
  const gw = await time(() => call(shape.principal, shape.query, shape.variables));
  const store = shape.store ? await time(shape.store) : undefined;
  rows.push({ name: shape.name, gw, store });
}
const baseRow = rows[0]!;
const f1 = (n: number) => n.toFixed(1).padStart(7);
process.stdout.write(
  `\nreads at ${CASES.toLocaleString('en')} cases, ${CALLS} sequential calls per shape after ${WARM_UP} ` +
    `untimed, through the gateway (production mode) and straight against the store\n`,
);
// Nearest rank: with fewer than 100 calls, p99 is the slowest call (one pause decides it).
const p99Rank = Math.ceil(0.99 * CALLS);
process.stdout.write(
  `target: p99 under ${target} ms through the gateway; p99 is the ${p99Rank === CALLS ? 'slowest' : `${p99Rank}th`} ` +
    `of ${CALLS} calls${p99Rank === CALLS ? ' (use --calls 200 or more for a p99 that is not the maximum)' : ''}\n\n`,
);
process.stdout.write(`${'shape'.padEnd(64)}  gw p50  gw p99  gw max  ratio p99  store p50  store p99\n`);
let misses = 0;
for (const row of rows) {
  const ratio = row.gw.p99 / baseRow.gw.p99;
  const miss = !(row.gw.p99 < target) || row.gw.errors > 0;
  if (miss) misses++;
  const failed = row.gw.errors > 0 ? `   ${row.gw.errors} FAILED: ${row.gw.error}` : '';
  process.stdout.write(
    `${row.name.slice(0, 64).padEnd(64)} ${f1(row.gw.p50)} ${f1(row.gw.p99)} ${f1(row.gw.max)}  ` +
      `${ratio.toFixed(2).padStart(8)}x ` +
      `${row.store ? f1(row.store.p50) + '   ' + f1(row.store.p99) : '        -          -'}` +
      `${miss ? '   OVER TARGET' : ''}${failed.slice(0, 160)}\n`,
  );
}
const worst = rows.reduce((a, b) => (!(b.gw.p99 <= a.gw.p99) ? b : a));
process.stdout.write(
  `\n${rows.length} shapes; worst p99 ${worst.gw.p99.toFixed(1)} ms (${worst.name}); ` +
    `${misses === 0 ? `every shape under ${target} ms` : `${misses} shape(s) at or over ${target} ms`}\n` +
    `over target: ${misses} of ${rows.length} shapes (p99 of ${CALLS} calls each, ${WARM_UP} warm-up calls first)\n`,
);
await close();
process.exit(0);
