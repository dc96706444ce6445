import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { GatewayCache, gatewayCacheMetrics, MAX_CACHED_VARIABLES_CHARS } from '../../gateway/cache/index.js';
import { SUPERGRAPH_FILE } from '../../gateway/compose.js';
import { ALL_TAG, bumpCacheTags } from '../../shared/cache-tags.js';
import type { Principal } from '../../shared/auth.js';
import { createRedis } from '../../shared/redis.js';
import { testConfig } from '../helpers/system.js';

/** The shared cache against the real Redis, with the subgraph call replaced by a counter. */
const supergraphSdl = readFileSync(SUPERGRAPH_FILE, 'utf8');
const be: Principal = { subject: 'be-1', role: 'MEMBER_STATE', memberState: 'BE' };
const de: Principal = { subject: 'de-1', role: 'MEMBER_STATE', memberState: 'DE' };
const STATISTICS = '{statistics{scope totalCases}}';

let redis: Redis;
const opened: Redis[] = [];

function setup(overrides: Record<string, string> = {}, url?: string) {
  const config = testConfig({ QUEUE_PREFIX: `gwc${randomBytes(4).toString('hex')}`, ...overrides });
  const connection = url ? createRedis({ REDIS_URL: url }, 'test-dead-cache') : redis;
  if (url) opened.push(connection);
  const registry = new Registry();
  const metrics = gatewayCacheMetrics(registry);
  const cache = new GatewayCache({ config, supergraphSdl, redis: connection, metrics });
  let calls = 0;
  const answer = (data: Record<string, unknown>) => async (): Promise<GatewayGraphQLResponse> => {
    calls += 1;
    return { data };
  };
  return { config, cache, metrics, registry, calls: () => calls, answer };
}

const metric = async (registry: Registry, name: string, labels: Record<string, string>) => {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (found?.values ?? []) as Array<{ value: number; labels: Record<string, string> }>;
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
};

beforeAll(async () => {
  redis = createRedis(testConfig(), 'test-gateway-cache');
  await redis.ping();
});

afterAll(() => {
  redis.disconnect();
  for (const connection of opened) connection.disconnect();
});

describe('the shared cache in Redis', () => {
  it('serves a stored answer to the same rights class only, and counts hits and misses', async () => {
    const { cache, registry, calls, answer } = setup();
    const first = await cache.fetch('cases', { query: STATISTICS }, { principal: be }, answer({ scope: 'BE' }));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the write is not awaited by the request
    const again = await cache.fetch(
      'cases',
      { query: STATISTICS },
      { principal: { ...be, subject: 'be-2' } },
      answer({ scope: 'x' }),
    );
    expect(again).toEqual(first);
    const other = await cache.fetch('cases', { query: STATISTICS }, { principal: de }, answer({ scope: 'DE' }));
    expect(other.data).toEqual({ scope: 'DE' });
    expect(calls()).toBe(2);
    expect(await metric(registry, 'avrr_gateway_cache_lookups_total', { result: 'hit' })).toBe(1);
    expect(await metric(registry, 'avrr_gateway_cache_lookups_total', { result: 'miss' })).toBe(2);
  });

  it('an answer read before a change, stored after the bump, is never served as current', async () => {
    const { cache, config, calls } = setup();
    // The read starts (generation read), the projector applies an event and bumps, then the read's answer arrives.
    const stale = cache.fetch('cases', { query: STATISTICS }, { principal: be }, async () => {
      await bumpCacheTags(redis, config.QUEUE_PREFIX, ['proj:statistics-projector']);
      return { data: { totalCases: 1 } };
    });
    expect((await stale).data).toEqual({ totalCases: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const next = await cache.fetch('cases', { query: STATISTICS }, { principal: be }, async () => ({
      data: { totalCases: 2 },
    }));
    expect(next.data).toEqual({ totalCases: 2 });
    expect(calls()).toBe(0);
  });

  it('errors and mutations are never cached; a mutation invalidates its subgraph', async () => {
    const { cache, calls, answer } = setup();
    const failing = async (): Promise<GatewayGraphQLResponse> => ({ data: null, errors: [{ message: 'no' }] });
    await cache.fetch('partners', { query: '{partners{id}}' }, { principal: be }, failing);
    await cache.fetch('partners', { query: '{partners{id}}' }, { principal: be }, answer({ partners: [1] }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await cache.fetch('partners', { query: '{partners{id}}' }, { principal: be }, answer({ partners: [2] }));
    expect(calls()).toBe(1);
    const mutation = 'mutation{addMemberState(input:{code:"IE",name:"Ireland",joinedOn:"2024-05-01"}){code}}';
    await cache.fetch('coverage', { query: mutation }, { principal: be }, answer({ addMemberState: { code: 'IE' } }));
    await cache.fetch('coverage', { query: mutation }, { principal: be }, answer({ addMemberState: { code: 'IE' } }));
    expect(calls()).toBe(3);
    const states = '{memberStates{code}}';
    await cache.fetch('coverage', { query: states }, { principal: be }, answer({ memberStates: ['BE'] }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await cache.fetch('coverage', { query: mutation }, { principal: be }, answer({ addMemberState: { code: 'IE' } }));
    const after = await cache.fetch('coverage', { query: states }, { principal: be }, answer({ memberStates: ['IE'] }));
    expect(after.data).toEqual({ memberStates: ['IE'] });
    expect(calls()).toBe(6);
  });

  it('stays within its bounds: entry size, entries per window, huge variables', async () => {
    const { cache, config, calls, answer, registry } = setup({
      GATEWAY_CACHE_MAX_KEYS: '5',
      GATEWAY_CACHE_MAX_ENTRY_BYTES: '2048',
    });
    // Many distinct queries (hostile variables): at most 5 stored.
    const query = 'query($c:ID!){countryOfOrigin(code:$c){code}}';
    for (let i = 0; i < 40; i++) {
      await cache.fetch('coverage', { query, variables: { c: `C${i}` } }, { principal: be }, answer({ i }));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const keys = await redis.keys(`${config.QUEUE_PREFIX}:gwcache:e:*`);
    expect(keys.length).toBe(5);
    expect(await metric(registry, 'avrr_gateway_cache_writes_total', { result: 'refused' })).toBe(35);
    // Too big to store.
    const big = 'y'.repeat(4_096);
    await cache.fetch('partners', { query: '{partners{id}}' }, { principal: de }, answer({ big }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await redis.keys(`${config.QUEUE_PREFIX}:gwcache:e:*`)).length).toBe(5);
    // Variables over the limit: answered, never looked up.
    const huge = { c: 'Z'.repeat(MAX_CACHED_VARIABLES_CHARS + 1) };
    const before = calls();
    const answered = await cache.fetch('coverage', { query, variables: huge }, { principal: be }, answer({ ok: 1 }));
    expect(answered.data).toEqual({ ok: 1 });
    expect(calls() - before).toBe(1);
  });

  it('a dead Redis means no cache, never an error nor a wait', async () => {
    const { cache, calls, answer, registry } = setup({ GATEWAY_CACHE_TIMEOUT_MS: '50' }, 'redis://127.0.0.1:1');
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      const response = await cache.fetch('cases', { query: STATISTICS }, { principal: be }, answer({ n: i }));
      expect(response.data).toEqual({ n: i });
    }
    // A mutation's invalidation waits at most the cache deadline.
    const mutation = 'mutation{setAnnualBudget(year:2024,amountCents:1){year}}';
    await cache.fetch('finance', { query: mutation }, { principal: be }, answer({ ok: true }));
    expect(calls()).toBe(4);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await metric(registry, 'avrr_gateway_cache_lookups_total', { result: 'error' })).toBe(3);
  });

  it('a checkpoint reset or rebuild (ref:all) makes every cached answer stale', async () => {
    const { cache, config, calls, answer } = setup();
    await cache.fetch('partners', { query: '{partners{id}}' }, { principal: be }, answer({ partners: [1] }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await bumpCacheTags(redis, config.QUEUE_PREFIX, [ALL_TAG]);
    const after = await cache.fetch(
      'partners',
      { query: '{partners{id}}' },
      { principal: be },
      answer({ partners: [2] }),
    );
    expect(after.data).toEqual({ partners: [2] });
    expect(calls()).toBe(2);
  });

  it('with GATEWAY_CACHE=false nothing is read or written', async () => {
    const { cache, config, calls, answer } = setup({ GATEWAY_CACHE: 'false' });
    await cache.fetch('cases', { query: STATISTICS }, { principal: be }, answer({ n: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await cache.fetch('cases', { query: STATISTICS }, { principal: be }, answer({ n: 2 }));
    expect(calls()).toBe(2);
    expect(await redis.keys(`${config.QUEUE_PREFIX}:gwcache:e:*`)).toEqual([]);
  });
});
