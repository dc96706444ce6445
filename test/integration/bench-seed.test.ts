import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBenchCases, ensureBenchExtra, seedLockKey } from '../../bench/seed.js';
import { BENCH_SUBGRAPHS } from '../../bench/env.js';
import { connectDatabase } from '../../shared/mongo.js';
import { createRedis } from '../../shared/redis.js';
import { testConfig } from '../helpers/system.js';

// The shared bench seed on the real store and Redis: once per size, a half-filled seed done
// again from nothing, extras under their own marks, one seeding process at a time.
const id = randomBytes(4).toString('hex');
const config = testConfig({ MONGO_DB_PREFIX: `benchtest${id}`, QUEUE_PREFIX: `benchtest${id}` });
const CASES = 120;
const quiet = () => undefined;

async function withCases<T>(run: (c: Awaited<ReturnType<typeof connectDatabase>>) => Promise<T>): Promise<T> {
  const connection = await connectDatabase(config, 'cases');
  try {
    return await run(connection);
  } finally {
    await connection.close();
  }
}

afterAll(async () => {
  for (const name of BENCH_SUBGRAPHS) {
    const connection = await connectDatabase(config, name);
    await connection.dropDatabase();
    await connection.close();
  }
});

describe('ensureBenchCases', () => {
  it('seeds the cases, the ledger and the read models once, and a second call returns at once', async () => {
    const seconds = await ensureBenchCases(config, CASES, { log: quiet });
    expect(seconds).toEqual(expect.any(Number));
    const counts = await withCases(async (c) => ({
      cases: await c.collection('cases').countDocuments(),
      statistics: await c.collection('statistics').findOne({ _id: 'all' as never }),
      projections: await c.collection('projections').countDocuments(),
    }));
    expect(counts.cases).toBe(CASES);
    expect((counts.statistics as { cases?: number } | null)?.cases).toBe(CASES);
    // Statistics, worklist and indicators checkpoints: the cases process starts without rebuilding.
    expect(counts.projections).toBeGreaterThanOrEqual(3);
    const finance = await connectDatabase(config, 'finance');
    try {
      // Every seeded case has its ledger row (the finance subgraph's spend and entitlements).
      expect(await finance.collection('caseFinance').countDocuments()).toBe(CASES);
    } finally {
      await finance.close();
    }
    expect(await ensureBenchCases(config, CASES, { log: quiet })).toBeNull();
  }, 120_000);

  it('adds an extra once under its own mark, and again only at a new version', async () => {
    let runs = 0;
    const extra = (version: number) => ({
      name: 'probe',
      version,
      add: async (c: Awaited<ReturnType<typeof connectDatabase>>) => {
        runs++;
        await c.collection('benchprobe').deleteMany({});
        await c.collection('benchprobe').insertOne({ version });
      },
    });
    expect(await ensureBenchExtra(config, CASES, extra(1))).toBe(true);
    expect(await ensureBenchExtra(config, CASES, extra(1))).toBe(false);
    expect(await ensureBenchExtra(config, CASES, extra(2))).toBe(true);
    expect(runs).toBe(2);
    expect(await withCases((c) => c.collection('benchprobe').countDocuments())).toBe(1);
  }, 60_000);

  it('drops a half-filled seed (no mark) with its extras and seeds again', async () => {
    await withCases(async (c) => {
      await c.collection('benchmeta').deleteOne({ _id: 'cases' as never });
      await c.collection('cases').deleteMany({ memberState: 'DE' }); // as if interrupted
    });
    expect(await ensureBenchCases(config, CASES, { log: quiet })).toEqual(expect.any(Number));
    const after = await withCases(async (c) => ({
      cases: await c.collection('cases').countDocuments(),
      probe: await c.collection('benchprobe').countDocuments(),
      extraMark: await c.collection('benchmeta').findOne({ _id: 'extra:probe' as never }),
    }));
    expect(after).toEqual({ cases: CASES, probe: 0, extraMark: null });
  }, 120_000);

  it('a different size is a different seed: it is done again, never mixed', async () => {
    expect(await ensureBenchCases(config, CASES + 30, { log: quiet })).toEqual(expect.any(Number));
    expect(await withCases((c) => c.collection('cases').countDocuments())).toBe(CASES + 30);
  }, 120_000);

  it('waits for another process seeding the same databases, then says which key holds it', async () => {
    await withCases((c) => c.collection('benchmeta').deleteOne({ _id: 'cases' as never }));
    const redis = createRedis(config, 'bench-seed-test');
    await redis.set(seedLockKey(config.MONGO_DB_PREFIX), 'someone-else', 'PX', 30_000);
    const lines: string[] = [];
    try {
      await expect(ensureBenchCases(config, CASES, { log: (line) => lines.push(line), waitMs: 2_500 })).rejects.toThrow(
        /another process is seeding the benchtest\w+_\* databases \(Redis key .*bench-seed-lock\)/,
      );
      expect(lines.some((l) => l.includes('waiting'))).toBe(true);
      // Not ours: left alone.
      expect(await redis.get(seedLockKey(config.MONGO_DB_PREFIX))).toBe('someone-else');
    } finally {
      await redis.del(seedLockKey(config.MONGO_DB_PREFIX));
      redis.disconnect();
    }
  }, 30_000);

  it('refuses sizes out of range before touching the store', async () => {
    for (const bad of [0, -1, 2.5, Number.NaN, 1e12])
      await expect(ensureBenchCases(config, bad, { log: quiet })).rejects.toThrow(/bench cases: .* not a whole number/);
  });
});

describe('the drop guard', () => {
  it('never drops databases whose prefix is not a bench', async () => {
    const other = testConfig(); // prefix t<hex>
    await expect(ensureBenchCases(other, CASES, { log: quiet })).rejects.toThrow(/refusing to drop .* not a bench's/);
  });
});
