import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { GatewayCache, type GatewayCacheConfig } from '../../gateway/cache/index.js';
import { SUPERGRAPH_FILE } from '../../gateway/compose.js';
import type { Principal } from '../../shared/auth.js';

const supergraphSdl = readFileSync(SUPERGRAPH_FILE, 'utf8');
const config: GatewayCacheConfig = {
  QUEUE_PREFIX: 'unit',
  GATEWAY_CACHE: false,
  GATEWAY_DEDUP: true,
  GATEWAY_CACHE_TTL_SECONDS: 300,
  GATEWAY_CACHE_MAX_ENTRY_BYTES: 1_000_000,
  GATEWAY_CACHE_MAX_KEYS: 1_000,
  GATEWAY_CACHE_TIMEOUT_MS: 100,
};
const admin: Principal = { subject: 'admin-1', role: 'ADMIN' };
const other: Principal = { subject: 'admin-2', role: 'ADMIN' };

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

describe('in-flight merging around a mutation', () => {
  it('never hands a read that starts after a mutation answered the answer of a call started before it', async () => {
    const cache = new GatewayCache({ config, supergraphSdl });
    const before = deferred<GatewayGraphQLResponse>();
    let calls = 0;
    // A read in flight since before the write (another admin's dashboard polling the countries).
    const early = cache.fetch('coverage', { query: '{countriesOfOrigin{code}}' }, { principal: other }, () => {
      calls += 1;
      return before.promise;
    });
    // The write, answered (stored) by the subgraph.
    await cache.fetch(
      'coverage',
      { query: 'mutation{addCountryOfOrigin(input:{code:"XK"}){code}}' },
      { principal: admin },
      async () => ({ data: { addCountryOfOrigin: { code: 'XK' } } }),
    );
    // The writer reads its own write: it must not join the call made before the write.
    const late = cache.fetch('coverage', { query: '{countriesOfOrigin{code}}' }, { principal: admin }, async () => {
      calls += 1;
      return { data: { countriesOfOrigin: [{ code: 'AL' }, { code: 'XK' }] } };
    });
    before.resolve({ data: { countriesOfOrigin: [{ code: 'AL' }] } });
    expect((await late).data).toEqual({ countriesOfOrigin: [{ code: 'AL' }, { code: 'XK' }] });
    expect((await early).data).toEqual({ countriesOfOrigin: [{ code: 'AL' }] });
    expect(calls).toBe(2);
  });

  it('still merges reads of other subgraphs across a mutation, and identical reads after it', async () => {
    const cache = new GatewayCache({ config, supergraphSdl });
    const gate = deferred<GatewayGraphQLResponse>();
    let calls = 0;
    const call = () => {
      calls += 1;
      return gate.promise;
    };
    const first = cache.fetch('partners', { query: '{partners{id}}' }, { principal: other }, call);
    await cache.fetch(
      'coverage',
      { query: 'mutation{addMemberState(input:{code:"XX"}){code}}' },
      { principal: admin },
      async () => ({
        data: { addMemberState: { code: 'XX' } },
      }),
    );
    const second = cache.fetch('partners', { query: '{partners{id}}' }, { principal: admin }, call);
    gate.resolve({ data: { partners: [{ id: 'p1' }] } });
    expect((await first).data).toEqual((await second).data);
    expect(calls).toBe(1);
  });
});
