/**
 * The demo cases the read benchmarks measure, seeded once per size and kept.
 *
 * bench:reads, bench:gateway, bench:dashboard and bench:monitoring read the same cases
 * (seedCases with BENCH_CASES_SEED), so they share one set of databases per size
 * (`bench<N>_*`, see benchCasesPrefix): the cases, the finance ledger, the statistics read
 * model (with its pair counters), the worklist and indicator read models. A bench that needs
 * more (bench:reads' feed reports) adds it under a mark of its own (ensureBenchExtra).
 *
 * The marks live in the cases database's `benchmeta` collection. The cases mark is written
 * last, after everything it stands for: a seed that was interrupted leaves none, and the next
 * run drops the half-filled databases and seeds again. A mark of an older version (a seed that
 * wrote something else) is treated the same way.
 */
import type { Connection } from 'mongoose';
import type { Config } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { connectDatabase } from '../shared/mongo.js';
import { createRedis } from '../shared/redis.js';
import { seedCases } from '../scripts/seed-data.js';
import { casesModels } from '../subgraphs/cases/case/models.js';
import { resetStatisticsCheckpoint } from '../subgraphs/cases/statistics/projector.js';
import { prepareReadModels } from '../subgraphs/cases/worklist/background.js';
import { BENCH_SUBGRAPHS, benchDatabases } from './env.js';

/** The generator's seed every read benchmark's cases come from. */
export const BENCH_CASES_SEED = 20240301;
/** Bumped when what a cases seed writes changes: databases with an older mark are seeded again. */
export const CASES_MARK_VERSION = 1;
const CASES_MARK_ID = 'cases';
const META = 'benchmeta';
/** The most cases a bench may ask for (about 5.5 GB in FerretDB at 1,000,000). */
export const MAX_BENCH_CASES = 10_000_000;

/** How long a seed's lock lives without renewal (renewed every quarter of it while seeding). */
const SEED_LOCK_MS = 120_000;
/** How long a bench waits for another's seed of the same databases (1,000,000 cases take about 10 min). */
const SEED_WAIT_MS = 60 * 60_000;

/** The Redis key that lets one process at a time seed the databases of `prefix`. */
export function seedLockKey(prefix: string): string {
  return `${prefix}:bench-seed-lock`;
}

/** What a seed leaves in `benchmeta` once it has finished. */
export interface SeedMark {
  _id: string;
  version: number;
  cases: number;
  seed: number;
  at: Date;
}

/** The database prefix the read benchmarks share at `cases` cases (`bench<N>`; MONGO_DB_PREFIX). */
export function benchCasesPrefix(cases: number): string {
  if (!Number.isSafeInteger(cases) || cases < 1 || cases > MAX_BENCH_CASES)
    throw new Error(`bench cases: ${String(cases)} is not a whole number from 1 to ${MAX_BENCH_CASES}`);
  return `bench${cases}`;
}

/** The `_id` of an extra's mark (`extra:<name>`); names are short words so marks stay readable. */
export function extraMarkId(name: string): string {
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(name))
    throw new Error(`bench extra: name ${JSON.stringify(name).slice(0, 60)} must be lower-case letters, digits, -`);
  return `extra:${name}`;
}

/** True if `mark` (as read from `benchmeta`) says the seed it stands for is complete for `cases` at `version`. */
export function markIsCurrent(mark: unknown, cases: number, version: number): boolean {
  if (typeof mark !== 'object' || mark === null) return false;
  const m = mark as Partial<SeedMark>;
  return m.version === version && m.cases === cases && m.seed === BENCH_CASES_SEED;
}

const markOf = (id: string, cases: number, version: number): SeedMark => ({
  _id: id,
  version,
  cases,
  seed: BENCH_CASES_SEED,
  at: new Date(),
});

async function dropBenchDatabases(config: Config): Promise<void> {
  if (!config.MONGO_DB_PREFIX.startsWith('bench'))
    throw new Error(`refusing to drop databases of prefix ${config.MONGO_DB_PREFIX}: not a bench's`);
  for (const name of BENCH_SUBGRAPHS) {
    const connection = await connectDatabase(config, name);
    try {
      await connection.dropDatabase();
    } finally {
      await connection.close();
    }
  }
}

const write = (line: string) => void process.stdout.write(`${line}\n`);

/**
 * Makes the databases of `config.MONGO_DB_PREFIX` hold exactly `cases` demo cases with their
 * read models, seeding them if they do not (once; a later call of the same size returns at
 * once). Returns the seconds a seed took, or null if the databases were already complete.
 * A seed prepares the read models the cases process builds at start (worklist, indicators,
 * statistics pair counters) before writing its mark, so that process is ready within its
 * readiness timeout; a read model added later needs CASES_MARK_VERSION bumped.
 */
export async function ensureBenchCases(
  config: Config,
  cases: number,
  options: { log?: (line: string) => void; waitMs?: number } = {},
): Promise<number | null> {
  benchCasesPrefix(cases); // validates the size
  const log = options.log ?? write;
  const redis = createRedis(config, 'bench-seed');
  const lockKey = seedLockKey(config.MONGO_DB_PREFIX);
  const token = `${process.pid}:${Date.now()}:${Math.random()}`;
  let renew: NodeJS.Timeout | undefined;
  try {
    // Two benches of one size started together: one seeds, the other waits for its mark.
    const deadline = Date.now() + (options.waitMs ?? SEED_WAIT_MS);
    let waiting = false;
    for (;;) {
      const current = await withCases(config, (c) => c.collection(META).findOne({ _id: CASES_MARK_ID as never }));
      // The read models were prepared before the mark was written; the cases process checks them again at start.
      if (markIsCurrent(current, cases, CASES_MARK_VERSION)) return null;
      if ((await redis.set(lockKey, token, 'PX', SEED_LOCK_MS, 'NX')) === 'OK') break;
      if (Date.now() > deadline)
        throw new Error(
          `another process is seeding the ${config.MONGO_DB_PREFIX}_* databases (Redis key ${lockKey}) and did ` +
            `not finish in ${Math.round((options.waitMs ?? SEED_WAIT_MS) / 1000)} s; if none runs, delete the key`,
        );
      if (!waiting) log(`another bench is seeding the ${config.MONGO_DB_PREFIX}_* databases; waiting for it...`);
      waiting = true;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    renew = setInterval(() => void redis.pexpire(lockKey, SEED_LOCK_MS).catch(() => undefined), SEED_LOCK_MS / 4);
    const started = Date.now();
    log(`seeding ${cases.toLocaleString('en')} cases (once; kept in the ${config.MONGO_DB_PREFIX}_* databases)...`);
    // A half-filled or older seed: nothing of it is kept (read models, checkpoints, extras).
    await dropBenchDatabases(config);
    const { db, close } = await benchDatabases(config);
    try {
      await seedCases(db, {
        count: cases,
        seed: BENCH_CASES_SEED,
        caseIdKey: config.CASE_ID_KEY,
        batchSize: 2_000,
        onProgress: (n) => n % 20_000 === 0 && log(`  ${n.toLocaleString('en')}`),
      });
      await resetStatisticsCheckpoint(casesModels(db.cases), redis, config.QUEUE_PREFIX);
    } finally {
      await close();
    }
    await prepareReadModels(config, (service) => createLogger(service, config));
    await withCases(config, (c) =>
      c.collection(META).insertOne(markOf(CASES_MARK_ID, cases, CASES_MARK_VERSION) as never),
    );
    const seconds = (Date.now() - started) / 1000;
    log(`seeded with its read models in ${seconds.toFixed(0)} s`);
    return seconds;
  } finally {
    if (renew) {
      clearInterval(renew);
      // Released only if still ours (it may have expired and been taken by another seed).
      if ((await redis.get(lockKey)) === token) await redis.del(lockKey);
    }
    redis.disconnect();
  }
}

/**
 * Adds a bench's own data to the shared databases once, under the mark `extra:<name>` at
 * `version`: `add` runs when the mark is missing or older, and must itself be idempotent
 * (clear what it writes first), since an interrupted `add` leaves no mark and runs again.
 * Call after ensureBenchCases (a new cases seed drops every extra with the databases).
 */
export async function ensureBenchExtra(
  config: Config,
  cases: number,
  extra: { name: string; version: number; add: (cases: Connection) => Promise<void> },
): Promise<boolean> {
  const id = extraMarkId(extra.name);
  return withCases(config, async (connection) => {
    const mark = await connection.collection(META).findOne({ _id: id as never });
    if (markIsCurrent(mark, cases, extra.version)) return false;
    await connection.collection(META).deleteOne({ _id: id as never });
    await extra.add(connection);
    await connection.collection(META).insertOne(markOf(id, cases, extra.version) as never);
    return true;
  });
}

async function withCases<T>(config: Config, run: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await connectDatabase(config, 'cases');
  try {
    return await run(connection);
  } finally {
    await connection.close();
  }
}
