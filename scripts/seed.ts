/**
 * npm run seed [-- --count 10000 --seed 42 --if-empty]
 * Loads reference data and `count` deterministic demo cases into the four databases.
 * --if-empty keeps existing cases (used by `npm start` so a restart keeps your data).
 */
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../shared/config.js';
import type { Types } from 'mongoose';
import { clearCollection, connectDatabase } from '../shared/mongo.js';
import { createRedis } from '../shared/redis.js';
import { ALL_TAG, bumpCacheTags } from '../shared/cache-tags.js';
import { caseIdOf, casesModels } from '../subgraphs/cases/case/models.js';
import { resetStatisticsCheckpoint } from '../subgraphs/cases/statistics/projector.js';
import { ledgerModels } from '../subgraphs/finance/ledger/models.js';
import { resetFinanceCheckpoint } from '../subgraphs/finance/ledger/projector.js';
import { rebuildWorklist, worklistModel, worklistThresholds } from '../subgraphs/cases/worklist/store.js';
import { seedCases, seedMonitoring, seedReferenceData } from './seed-data.js';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishCaseEvents } from '../shared/case-events/index.js';
import { loadInstrument } from '../subgraphs/cases/monitoring/instrument.js';
import { seedIndicators } from '../subgraphs/cases/indicators/background.js';

const USAGE = 'usage: npm run seed -- [--count N (0-1000000)] [--seed N] [--if-empty]';
function parseArguments() {
  try {
    return parseArgs({
      options: {
        count: { type: 'string', default: process.env.SEED_COUNT ?? '10000' },
        seed: { type: 'string', default: process.env.SEED_VALUE ?? '20240301' },
        'if-empty': { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
}
const { values } = parseArguments();
// seed writes the four databases directly: run it while the system is quiet.
const count = Number(values.count);
const seed = Number(values.seed);
if (!Number.isInteger(count) || count < 0 || count > 1_000_000) {
  process.stderr.write(`--count must be an integer from 0 to 1000000, got ${JSON.stringify(values.count)}\n`);
  process.exit(2);
}
if (!Number.isInteger(seed)) {
  process.stderr.write(`--seed must be an integer, got ${JSON.stringify(values.seed)}\n`);
  process.exit(2);
}

const config = loadConfigOrExit();
const [cases, partners, coverage, finance] = await Promise.all(
  (['cases', 'partners', 'coverage', 'finance'] as const).map((name) => connectDatabase(config, name)),
);
const db = { cases: cases!, partners: partners!, coverage: coverage!, finance: finance! };
try {
  await seedReferenceData(db);
  const existing = await casesModels(db.cases).Case.estimatedDocumentCount();
  // Data written before the read models existed is incomplete: reload it rather than keep it.
  const statistics = await casesModels(db.cases).Statistics.findOne({ _id: 'all' }, { _id: 1 }).lean().exec();
  if (values['if-empty'] && existing > 0 && !statistics) {
    process.stdout.write(
      `seed: the ${existing} stored cases have no statistics read model (older data): reloading the demo data\n`,
    );
  }
  // Ids are keyed hashes of (Member State, reference) with CASE_ID_KEY: cases stored under
  // another key (or the older unkeyed ids) would be duplicated by the next feed.
  const sample = await casesModels(db.cases)
    .Case.findOne({}, { memberState: 1, caseReference: 1 })
    .lean<{ _id: Types.ObjectId; memberState: string; caseReference: string }>()
    .exec();
  const idsMatch = !sample || caseIdOf(sample.memberState, sample.caseReference, config.CASE_ID_KEY).equals(sample._id);
  if (values['if-empty'] && existing > 0 && !idsMatch) {
    // Never delete stored cases unasked: they may be real. The operator decides (a wrong key, or demo data to reload).
    process.stderr.write(
      `seed: the ${existing} stored cases have ids derived without this CASE_ID_KEY (a different key, or data ` +
        `from before ids were keyed).\n` +
        'seed: nothing was changed. Set the CASE_ID_KEY the data was written with, or, for demo data, reload ' +
        'it with `npm run seed`.\n',
    );
    process.exitCode = 65;
  } else if (values['if-empty'] && existing > 0 && statistics) {
    process.stdout.write(`seed: reference data loaded; keeping the ${existing} cases already stored\n`);
  } else {
    const started = Date.now();
    const written = await seedCases(db, {
      count,
      seed,
      caseIdKey: config.CASE_ID_KEY,
      onProgress: (n) => process.stdout.write(`\rseed: ${n}/${count} cases`),
    });
    process.stdout.write(
      `\nseed: ${written} cases in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${seed})\n`,
    );
    const instrument = loadInstrument(resolve(fileURLToPath(new URL('..', import.meta.url)), config.INSTRUMENT_FILE));
    const today = new Date().toISOString().slice(0, 10);
    const monitoring = await seedMonitoring(db, { seed, today, instrument });
    process.stdout.write(
      `seed: ${monitoring.assessments} sustainability assessments, ${monitoring.feedback} feedback, ` +
        `${monitoring.complaints} complaints, ${monitoring.visits} monitoring visits\n`,
    );
    const redis = createRedis(config, 'seed');
    try {
      // The read models were written with the cases: projectors continue from the stream's end.
      await resetStatisticsCheckpoint(casesModels(db.cases), redis, config.QUEUE_PREFIX);
      await resetFinanceCheckpoint(ledgerModels(db.finance), redis, config.QUEUE_PREFIX);
      // The worklist from the seeded cases, so the cases subgraph starts with it in place.
      const Worklist = worklistModel(db.cases);
      await clearCollection(Worklist);
      await Worklist.createIndexes();
      await rebuildWorklist(casesModels(db.cases), Worklist, worklistThresholds(config), redis, config.QUEUE_PREFIX);
      process.stdout.write('seed: statistics, finance and worklist read models written\n');
      // Indicators (#16): rebuilt from the demo cases; the minimums some scopes miss are raised as breaches.
      const indicators = await seedIndicators(config, db.cases, redis);
      process.stdout.write(
        `seed: indicator values for ${indicators.documents} scope-periods, ${indicators.breaches} open breaches\n`,
      );
      // The monitoring records' events, after the checkpoints moved: indicator read models fold them in as live ones.
      for (let i = 0; i < monitoring.events.length; i += 500)
        await publishCaseEvents(redis, config.QUEUE_PREFIX, monitoring.events.slice(i, i + 500));
      process.stdout.write(`seed: ${monitoring.events.length} monitoring events published\n`);
    } finally {
      redis.disconnect();
    }
  }
  // The reference data (and the read models) were written directly, even when the cases are kept:
  // no answer the gateway cached before stays current (gateway/cache/).
  const redis = createRedis(config, 'seed-cache');
  try {
    const bumped = bumpCacheTags(redis, config.QUEUE_PREFIX, [ALL_TAG], (error) =>
      process.stderr.write(`seed: the gateway's cache was not invalidated: ${String(error)}\n`),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), 5_000);
    });
    if ((await Promise.race([bumped, late])) === 'late')
      process.stderr.write(
        `seed: Redis did not answer within 5 s: the gateway's cache may serve the previous reference data ` +
          `for up to GATEWAY_CACHE_TTL_SECONDS\n`,
      );
    clearTimeout(timer);
  } finally {
    redis.disconnect();
  }
} finally {
  await Promise.all(Object.values(db).map((c) => c.close()));
}
