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
