/**
 * npm run bench:ingest [-- --records 50000 --feed-size 10000]
 * Pushes `records` canonical records through the push API and the ingestion worker (real
 * processes) and, in the same run and store, a raw insertMany of the same documents.
 * Prints records/s for both, the ratio, and the worker's peak memory (VmHWM).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mintToken } from '../shared/auth.js';
import { loadConfig } from '../shared/config.js';
import { benchEnv, processStarter } from './env.js';
import { connectDatabase } from '../shared/mongo.js';
import { generateCases } from '../scripts/demo/generate.js';
import { seedReferenceData } from '../scripts/seed-data.js';

const { values } = parseArgs({ options: { records: { type: 'string', default: '50000' }, 'feed-size': { type: 'string', default: '10000' } } });
const RECORDS = Number(values.records);
const FEED_SIZE = Number(values['feed-size']);
const base = 4900;
// A new store per run (dropping databases can crash FerretDB 1.24 while it still maps them).
const env = benchEnv(`benchingest${Date.now().toString(36)}`, base);
const config = loadConfig(env);

// A clean store with reference data.
const names = ['cases', 'partners', 'coverage', 'finance'] as const;
const connections = await Promise.all(names.map((n) => connectDatabase(config, n)));
await seedReferenceData({ cases: connections[0]!, partners: connections[1]!, coverage: connections[2]!, finance: connections[3]! });

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
  eligibility: { requestDate: c.departureDate },
}));

// Raw: the same documents straight into the same store.
const raw = connections[0]!.db!.collection('rawInsertBench');
const rawStarted = performance.now();
for (let i = 0; i < records.length; i += 1_000) await raw.insertMany(records.slice(i, i + 1_000).map((r) => ({ ...r })));
const rawSeconds = (performance.now() - rawStarted) / 1000;
await raw.drop();
await Promise.all(connections.map((c) => c.close()));

const start = processStarter(env);
await start('subgraphs/cases/main.ts', base + 1);
await start('subgraphs/coverage/main.ts', base + 3);
const worker = await start('subgraphs/cases/ingestion/worker.ts', base + 10);
await start('gateway/main.ts', base);

const token = await mintToken({ subject: 'bench', role: 'MEMBER_STATE', memberState: 'BE' }, config);
const started = performance.now();
const feedIds: string[] = [];
for (let i = 0; i < records.length; i += FEED_SIZE) {
  const body = records.slice(i, i + FEED_SIZE).map((r) => JSON.stringify(r)).join('\n');
  const response = await fetch(`http://127.0.0.1:${base}/ingest/v1/feeds`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${token}` }, body });
  if (response.status !== 202) throw new Error(`push refused: ${response.status} ${await response.text()}`);
  feedIds.push(((await response.json()) as { feedId: string }).feedId);
}
let stored = 0;
for (const feedId of feedIds) {
  for (;;) {
    const report = (await (await fetch(`http://127.0.0.1:${base}/ingest/v1/feeds/${feedId}`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      status: string;
      counts: { created: number; rejected: number };
    };
    if (['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(report.status)) {
      stored += report.counts.created;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
const e2eSeconds = (performance.now() - started) / 1000;
const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${worker.pid}/status`, 'utf8'))?.[1] ?? 0);

const rate = (n: number, s: number) => (n / s).toFixed(0);
process.stdout.write(`\ningestion benchmark: ${RECORDS} canonical records in feeds of ${FEED_SIZE} (NDJSON), FerretDB ${config.MONGO_URL}\n`);
process.stdout.write(`raw insertMany      ${rate(RECORDS, rawSeconds).padStart(8)} records/s  (${rawSeconds.toFixed(1)} s)\n`);
process.stdout.write(`end to end (API)    ${rate(stored, e2eSeconds).padStart(8)} records/s  (${e2eSeconds.toFixed(1)} s, ${stored} stored)\n`);
process.stdout.write(`ratio end-to-end/raw ${(stored / e2eSeconds / (RECORDS / rawSeconds)).toFixed(2)}  (goal >= 0.5)\n`);
process.stdout.write(`worker peak memory  ${(peakKb / 1024).toFixed(0)} MB  (goal < 300 MB)\n`);
process.exit(stored === RECORDS ? 0 : 1);
