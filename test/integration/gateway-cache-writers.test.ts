import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheStore } from '../../gateway/cache/index.js';
import { analyseFetch, personalFieldIndex } from '../../gateway/cache/policy.js';
import { SUPERGRAPH_FILE } from '../../gateway/compose.js';
import { connectDatabase } from '../../shared/mongo.js';
import { createRedis } from '../../shared/redis.js';
import { ROOT } from '../../scripts/processes.js';
import { casesModels } from '../../subgraphs/cases/case/models.js';
import { indicatorsOf } from '../../subgraphs/cases/indicators/background.js';
import { indicatorModels, rebuildIndicators } from '../../subgraphs/cases/indicators/store.js';
import { partnersProcess } from '../../subgraphs/partners/subgraph.js';
import { createLogger } from '../../shared/logger.js';
import { startSubgraphProcess } from '../../shared/subgraph.js';
import { testConfig } from '../helpers/system.js';

/**
 * Writers outside the graph and its projectors that change what the gateway caches: each must leave
 * no cached answer current (gateway/cache/). An entry is stored as the gateway stores it, under the
 * generations a lookup read, and must be a miss once the writer has run.
 */
let redis: Redis;

beforeAll(async () => {
  redis = createRedis(testConfig(), 'test-cache-writers');
  await redis.ping();
});

afterAll(() => redis.disconnect());

const storeFor = (prefix: string) =>
  new CacheStore(redis, { prefix, ttlSeconds: 300, maxEntryBytes: 100_000, maxKeys: 100, timeoutMs: 2_000 });

/** Caches an answer for `query` of `subgraph` as the gateway would, and returns a check that it is still served. */
async function cached(prefix: string, subgraph: string, query: string): Promise<() => Promise<boolean>> {
  const tags = analyseFetch(subgraph, query, personalFieldIndex(readFileSync(SUPERGRAPH_FILE, 'utf8'))).tags;
  expect(tags, `${subgraph} ${query} is cacheable`).not.toBeNull();
  const store = storeFor(prefix);
  const key = `${subgraph}:${query}`;
  const found = await store.lookup(key, tags!);
  expect(found.hit).toBe(false);
  if (found.hit) throw new Error('unreachable');
  expect(await store.store(key, found.generations!, '{"data":{"cached":true}}')).toBe(true);
  expect((await store.lookup(key, tags!)).hit).toBe(true);
  return async () => (await store.lookup(key, tags!)).hit;
}

describe('writers outside the graph leave no cached answer current', () => {
  it('rebuilding the indicator read model (start on a store without one, npm run seed)', async () => {
    const config = testConfig();
    const connection = await connectDatabase(config, 'cases');
    try {
      const stillServed = await cached(config.QUEUE_PREFIX, 'cases', '{indicatorValues{indicatorId value}}');
      await rebuildIndicators(
        casesModels(connection),
        indicatorModels(connection),
        indicatorsOf(config).indicators,
        redis,
        config.QUEUE_PREFIX,
      );
      expect(await stillServed()).toBe(false);
    } finally {
      await connection.dropDatabase();
      await connection.close();
    }
  });

  it('a subgraph that starts (other code, or another SUPPRESSION_THRESHOLD or INDICATORS_FILE)', async () => {
    const config = testConfig();
    const stillServed = await cached(config.QUEUE_PREFIX, 'partners', '{partners{id name}}');
    const silent = createLogger('test', { LOG_LEVEL: 'silent' });
    const running = await startSubgraphProcess(partnersProcess, { config, loggerFor: () => silent, port: 0 });
    try {
      expect(await stillServed()).toBe(false);
    } finally {
      await running.connection.dropDatabase();
      await running.service.shutdown('test over');
    }
  });

  it('npm run seed -- --if-empty rewriting the reference data while keeping the cases (npm start)', async () => {
    const config = testConfig();
    const env = { ...process.env, MONGO_DB_PREFIX: config.MONGO_DB_PREFIX, QUEUE_PREFIX: config.QUEUE_PREFIX };
    const seed = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', ...args], {
        cwd: ROOT,
        env,
        encoding: 'utf8',
        timeout: 90_000,
      });
    expect(seed(['--count', '5', '--seed', '7']).status).toBe(0);
    const partners = await cached(config.QUEUE_PREFIX, 'partners', '{partners{id capacity}}');
    const coverage = await cached(config.QUEUE_PREFIX, 'coverage', '{countriesOfOrigin{code}}');
    const again = seed(['--count', '5', '--if-empty']);
    expect(again.stdout).toMatch(/keeping the 5 cases already stored/);
    expect(await partners()).toBe(false);
    expect(await coverage()).toBe(false);
    for (const name of ['cases', 'partners', 'coverage', 'finance'] as const) {
      const connection = await connectDatabase(config, name);
      await connection.dropDatabase();
      await connection.close();
    }
  }, 120_000);
});
