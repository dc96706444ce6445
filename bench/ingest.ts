/**
 * npm run bench:ingest [-- --records 50000 --feed-size 10000 --no-updates]
 * Pushes `records` canonical records through the push API and the ingestion worker (real
 * processes) and, in the same run and store, a raw insertMany of the same documents.
 * Prints records/s for both, the ratio, and the worker's peak memory (VmHWM).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mintToken } from '../shared/auth.js';
import { loadConfig } from '../shared/config.js';
import { BENCH_SUBGRAPHS, benchDatabases, benchEnv, processStarter } from './env.js';
import { connectDatabase, retryOnContention } from '../shared/mongo.js';
import { generateCases } from '../scripts/demo/generate.js';
import { casesModels } from '../subgraphs/cases/case/models.js';
import type { mongo } from 'mongoose';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '50000' },
    'feed-size': { type: 'string', default: '10000' },
    updates: { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const RECORDS = Number(values.records);
const FEED_SIZE = Number(values['feed-size']);
const base = 4900;
// A new store per run (dropping databases can crash FerretDB 1.24 while it still maps them).
const env = benchEnv(`benchingest${Date.now().toString(36)}`, base, {
  // The subgraphs' metrics servers on free ports: a development system or a test may hold the defaults.
  CASES_METRICS_PORT: '0',
  PARTNERS_METRICS_PORT: '0',
  COVERAGE_METRICS_PORT: '0',
  FINANCE_METRICS_PORT: '0',
});
const config = loadConfig(env);

// A clean store with reference data.
const { db, close } = await benchDatabases(config);

const records = [...generateCases({ count: RECORDS, seed: 99 })].map((c, i) => ({
  memberState: 'BE',
  caseReference: `BE-BENCH-${i}`,
  recordVersion: 1,
  returnType: c.returnType,
  charterFlight: c.charterFlight,
  packages: c.packages,
  countryOfOrigin: c.countryOfOrigin,
  departureDate: c.departureDate,
  mainApplicant: c.mainApplicant,
  familyMembers: c.familyMembers,
  eligibility: { requestDate: c.departureDate, applicationSigned: true },
}));

// Raw: the same documents straight into the same store.
const raw = db.cases.db!.collection('rawInsertBench');
const rawStarted = performance.now();
for (let i = 0; i < records.length; i += 1_000)
  await raw.insertMany(records.slice(i, i + 1_000).map((r) => ({ ...r })));
const rawSeconds = (performance.now() - rawStarted) / 1000;
await raw.drop();
await close();

const start = processStarter(env);
// All four: the gateway is ready only when every subgraph is.
await Promise.all(BENCH_SUBGRAPHS.map((n, i) => start(`subgraphs/${n}/main.ts`, base + 1 + i)));
const worker = await start('subgraphs/cases/worker.ts', base + 10);
await start('gateway/main.ts', base);

const token = await mintToken({ subject: 'bench', role: 'MEMBER_STATE', memberState: 'BE' }, config);

/** Pushes every record in feeds of FEED_SIZE (NDJSON) and waits for their reports; returns seconds and counts. */
async function pushAll(version: number): Promise<{ seconds: number; counts: Record<string, number> }> {
  const started = performance.now();
  const feedIds: string[] = [];
  for (let i = 0; i < records.length; i += FEED_SIZE) {
    const body = records
      .slice(i, i + FEED_SIZE)
      .map((r) =>
        JSON.stringify({ ...r, recordVersion: version, ...(version > 1 ? { arrivalDate: r.departureDate } : {}) }),
      )
      .join('\n');
    const response = await fetch(`http://127.0.0.1:${base}/ingest/v1/feeds`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${token}` },
      body,
    });
    if (response.status !== 202) throw new Error(`push refused: ${response.status} ${await response.text()}`);
    feedIds.push(((await response.json()) as { feedId: string }).feedId);
  }
  const counts: Record<string, number> = {};
  for (const feedId of feedIds) {
    for (;;) {
      const report = (await (
        await fetch(`http://127.0.0.1:${base}/ingest/v1/feeds/${feedId}`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()) as {
        status: string;
        counts: Record<string, number>;
      };
      if (['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(report.status)) {
        for (const [k, v] of Object.entries(report.counts)) counts[k] = (counts[k] ?? 0) + v;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { seconds: (performance.now() - started) / 1000, counts };
}

const created = await pushAll(1);
const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${worker.pid}/status`, 'utf8'))?.[1] ?? 0);
process.stdout.write(`new cases: ${created.counts.created ?? 0} created in ${created.seconds.toFixed(1)} s\n`);
const updated = values.updates ? await pushAll(2) : undefined;
if (updated)
  process.stdout.write(`same cases again: ${updated.counts.updated ?? 0} updated in ${updated.seconds.toFixed(1)} s\n`);

// The store's own ceiling for what the pipeline writes: the stored case documents, inserted
// raw into a collection with the cases collection's indexes.
const cases = await connectDatabase(config, 'cases');
const stored = await cases.db!.collection('cases').find({}).limit(RECORDS).toArray();
const ceiling = cases.db!.collection('rawCaseBench');
// The projectors may still be writing what the run published: SQLite's single writer can refuse for a moment.
await retryOnContention(() =>
  ceiling.createIndexes(
    casesModels(cases)
      .Case.schema.indexes()
      .map(([key, options]) => ({ key, ...options }) as mongo.IndexDescription),
  ),
);
const ceilingStarted = performance.now();
for (let i = 0; i < stored.length; i += 500)
  await retryOnContention(() =>
    ceiling.insertMany(
      stored
        .slice(i, i + 500)
        .map(({ _id: _ignored, ...doc }) => ({ ...doc, caseReference: `${doc.caseReference as string}-raw` })),
    ),
  );
const ceilingSeconds = (performance.now() - ceilingStarted) / 1000;
await cases.close();

const rate = (n: number, s: number) => n / s;
const rawRate = rate(RECORDS, rawSeconds);
const e2eRate = rate(created.counts.created ?? 0, created.seconds);
const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(46)}${value}\n`);
process.stdout.write(
  `\ningestion benchmark: ${RECORDS} canonical records in feeds of ${FEED_SIZE} (NDJSON), ${config.MONGO_URL}\n`,
);
line('raw insertMany, canonical records', `${rawRate.toFixed(0).padStart(8)} records/s  (${rawSeconds.toFixed(1)} s)`);
line(
  'raw insertMany, stored case documents+indexes',
  `${rate(stored.length, ceilingSeconds).toFixed(0).padStart(8)} records/s  (${ceilingSeconds.toFixed(1)} s, ` +
    `${stored.length} documents)`,
);
line(
  'end to end (API → worker → store), new cases',
  `${e2eRate.toFixed(0).padStart(8)} records/s  (${created.seconds.toFixed(1)} s, ` +
    `${created.counts.created ?? 0} created)`,
);
if (updated) {
  const updateRate = rate(updated.counts.updated ?? 0, updated.seconds);
  line(
    'end to end, same cases at a new version',
    `${updateRate.toFixed(0).padStart(8)} records/s  (${updated.seconds.toFixed(1)} s, ` +
      `${updated.counts.updated ?? 0} updated)`,
  );
  line('ratio updates / new cases', `${(updateRate / e2eRate).toFixed(2)}  (goal >= 0.5)`);
}
line('ratio end-to-end / raw canonical', `${(e2eRate / rawRate).toFixed(2)}  (goal >= 0.5)`);
line('ratio end-to-end / raw stored documents', `${(e2eRate / rate(stored.length, ceilingSeconds)).toFixed(2)}`);
line('worker peak memory (VmHWM)', `${(peakKb / 1024).toFixed(0)} MB  (goal < 300 MB)`);
process.exit(created.counts.created === RECORDS && (!updated || updated.counts.updated === RECORDS) ? 0 : 1);
