import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { startTestSystem, testConfig, type TestSystem } from '../helpers/system.js';

/** What one request may ask of the gateway: depth, aliases, cost, tokens, batching and rate. */
describe('gateway hardening: operation limits and per-principal rate limits', () => {
  let system: TestSystem;
  const post = (body: unknown, token?: string) =>
    fetch(system.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const analyst = (subject: string) => mintToken({ subject, role: 'EU_ANALYST' }, system.config);

  beforeAll(async () => {
    system = await startTestSystem({
      config: testConfig({
        GRAPHQL_MAX_DEPTH: '8',
        GRAPHQL_MAX_ALIASES: '3',
        GRAPHQL_MAX_COST: '200',
        GRAPHQL_MAX_TOKENS: '300',
        RATE_LIMIT_PER_MINUTE: '8',
      }),
    });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('refuses operations deeper than the limit, also through fragments, before any subgraph is asked', async () => {
    const token = await analyst('depth');
    const ok = await post({ query: '{ partners { name countriesServed { name } } }' }, token);
    expect(ok.status).toBe(200);
    const deep =
      '{ partners { countriesServed { coverage { partner { countriesServed { coverage { partner { ' +
      'countriesServed { name } } } } } } } } }';
    const refused = await post({ query: deep }, token);
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { errors: Array<{ message: string }> };
    expect(body.errors[0]!.message).toMatch(/depth/i);
    const viaFragment =
      `query { partners { ...P } } fragment P on Partner { countriesServed { coverage { ` +
      `partner { countriesServed { coverage { partner { countriesServed { name } } } } } } } }`;
    expect((await post({ query: viaFragment }, token)).status).toBe(400);
  });

  it('refuses alias bombs, oversized cost and token floods', async () => {
    const token = await analyst('shape');
    const aliases = await post(
      {
        query:
          '{ a: partners { name } b: partners { name } c: partners { name } d: partners { name } e: partners ' +
          '{ name } }',
      },
      token,
    );
    expect(aliases.status).toBe(400);
    expect(((await aliases.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toMatch(/alias/i);
    const costly = await post(
      { query: `{ partners { ${Array.from({ length: 40 }, () => 'countriesServed { name code }').join(' ')} } }` },
      token,
    );
    expect(costly.status).toBe(400);
    expect(JSON.stringify(await costly.json())).toMatch(/cost|token/i);
    const tokens = await post({ query: `{ ${Array.from({ length: 400 }, () => '__typename').join(' ')} }` }, token);
    expect(tokens.status).toBe(400);
    expect(JSON.stringify(await tokens.json())).toMatch(/token/i);
  });

  it('refuses batched requests (a JSON array of operations)', async () => {
    const token = await analyst('batch');
    const batched = await post([{ query: '{ partners { name } }' }, { query: '{ partners { name } }' }], token);
    expect(batched.status).toBe(400);
  });

  it('limits requests per principal per minute, in Redis, with Retry-After; other principals unaffected', async () => {
    const token = await analyst('busy-dashboard');
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await post({ query: '{ partners { name } }' }, token)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const limited = await post({ query: '{ partners { name } }' }, token);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(
      ((await limited.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code,
    ).toBe('RATE_LIMITED');
    expect((await post({ query: '{ partners { name } }' }, await analyst('another-dashboard'))).status).toBe(200);
    // The count lives in Redis (shared by every gateway instance), under the principal.
    const keys = await system.redis.keys(`${system.config.QUEUE_PREFIX}:rate*EU_ANALYST:busy-dashboard`);
    expect(keys).toHaveLength(1);
  });
});

describe('the rate limit when Redis does not answer', () => {
  it('refuses within its 3 s deadline: 503 SERVICE_UNAVAILABLE, Retry-After; over WebSocket an error', async () => {
    const { Redis } = await import('ioredis');
    const { rateLimit } = await import('../../gateway/hardening.js');
    const { Guards } = await import('../../gateway/guards.js');
    const { buildSchema } = await import('graphql');
    // Nothing listens on port 1: commands wait for a connection that never comes (as while Redis is away).
    const away = new Redis({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: null, lazyConnect: false });
    away.on('error', () => undefined);
    try {
      const config = testConfig({ RATE_LIMIT_PER_MINUTE: '60' });
      const guard = rateLimit(config, away);
      const started = Date.now();
      const refusal = (await guard.admit!({ transport: 'http', principal: { subject: 'a', role: 'ADMIN' } }).then(
        () => null,
        (error: unknown) => error,
      )) as { extensions?: { code?: string; http?: { status?: number; headers?: Map<string, string> } } } | null;
      const waited = Date.now() - started;
      expect(refusal?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect(refusal?.extensions?.http?.status).toBe(503);
      expect(refusal?.extensions?.http?.headers?.get('retry-after')).toBe('5');
      expect(waited).toBeLessThan(10_000);
      // Over WebSocket: the subscription gets the error; the socket is not torn down by a thrown exception.
      const guards = new Guards([{ name: 'authentication', authenticate: async () => null }, guard]);
      const schema = buildSchema('type Query { a: Int } type Subscription { ticks: Int }');
      const checked = await guards.check(
        schema,
        { transport: 'ws', principal: { subject: 'a', role: 'ADMIN' } },
        { query: 'subscription { ticks }' },
        { production: true },
      );
      expect(Array.isArray(checked) && checked.map((e) => e.extensions.code)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(Array.isArray(checked) && 'http' in checked[0]!.extensions).toBe(false);
    } finally {
      away.disconnect();
    }
  });
});
