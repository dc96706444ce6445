import { describe, expect, it } from 'vitest';
import {
  areaOf,
  comparableAnswer,
  DISTINCT_CAPACITY,
  distinctRequests,
  seededRandom,
  summariseProfile,
  type CpuProfile,
} from '../../bench/gateway-workloads.js';
import { withSubgraphUrls } from '../../bench/hive-gateway-urls.js';

/** Issue #18: what the three-way gateway bench sends and how it reads a CPU profile. */
describe('bench:gateway workloads', () => {
  it('the distinct generator gives the same sequence for a seed, another for another seed, and never repeats', () => {
    const take = (seed: number, n: number) => {
      const next = distinctRequests(seed);
      return Array.from({ length: n }, () => JSON.stringify(next().variables));
    };
    const a = take(7, 500);
    expect(take(7, 500)).toEqual(a);
    expect(take(8, 500)).not.toEqual(a);
    const all = take(7, DISTINCT_CAPACITY);
    expect(new Set(all).size).toBe(DISTINCT_CAPACITY);
    // Page sizes and filters both vary.
    const sizes = new Set(all.map((v) => (JSON.parse(v) as { first: number }).first));
    expect(Math.min(...sizes)).toBe(1);
    expect(Math.max(...sizes)).toBe(100);
  });

  it('the distinct generator refuses to repeat past its capacity and refuses a seed that is not whole', () => {
    const next = distinctRequests(1);
    for (let i = 0; i < DISTINCT_CAPACITY; i++) next();
    expect(() => next()).toThrow(/all \d+ distinct requests are used/);
    expect(() => distinctRequests(1.5)).toThrow(/whole number/);
    expect(() => distinctRequests(Number.NaN)).toThrow(/whole number/);
  });

  it('seededRandom stays within [0, 1)', () => {
    const random = seededRandom(2 ** 31);
    for (let i = 0; i < 10_000; i++) {
      const x = random();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });

  it('answers compare by data and sorted error messages; malformed answers are named', () => {
    expect(comparableAnswer('{"data":{"a":1},"extensions":{"x":1}}')).toBe(comparableAnswer('{"data":{"a":1}}'));
    expect(comparableAnswer('{"data":{"a":1}}')).not.toBe(comparableAnswer('{"data":{"a":2}}'));
    expect(comparableAnswer('{"data":null,"errors":[{"message":"b"},{"message":"a"}]}')).toBe(
      comparableAnswer('{"errors":[{"message":"a"},{"message":"b","path":["x"]}]}'),
    );
    expect(() => comparableAnswer('<html>502</html>')).toThrow(/not JSON: <html>/);
    expect(() => comparableAnswer('[1,2]')).toThrow(/not a GraphQL response object/);
    expect(() => comparableAnswer('null')).toThrow(/not a GraphQL response object/);
    expect(() => comparableAnswer('x'.repeat(1_000_000))).toThrow(/not JSON/);
  });

  it("a profile's self time is summed per function and per area, idle and samples before `fromUs` left out", () => {
    const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)') },
        { id: 2, callFrame: frame('(idle)') },
        { id: 3, callFrame: frame('executeQueryPlan', 'file:///r/node_modules/@apollo/gateway/dist/x.js', 9) },
        { id: 4, callFrame: frame('willSendRequest', 'file:///app/gateway/datasource.ts', 93) },
        { id: 5, callFrame: frame('(garbage collector)') },
        { id: 6, callFrame: frame('writev', 'node:internal/stream_base_commons', 1) },
      ],
      samples: [3, 3, 2, 4, 5, 6, 3],
      timeDeltas: [1000, 3000, 5000, 2000, 1000, 1000, 2000],
    };
    const all = summariseProfile(profile, 10, '/app/');
    expect(all.idleMs).toBe(5);
    expect(all.busyMs).toBe(10);
    expect(all.functions[0]).toEqual({
      name: 'executeQueryPlan (@apollo/gateway/dist/x.js:10)',
      ms: 6,
      share: 0.6,
    });
    expect(all.functions.map((f) => f.name)).toContain('willSendRequest (gateway/datasource.ts:94)');
    expect(all.areas.map((a) => a.name)).toEqual([
      '@apollo/gateway',
      'project: gateway/datasource.ts',
      'garbage collection',
      'node internals',
    ]);
    // From 9 ms on: the first three samples (1 + 3 + 5 ms) are startup.
    const later = summariseProfile(profile, 10, '/app/', 9_000);
    expect(later.idleMs).toBe(0);
    expect(later.busyMs).toBe(6);
    expect(summariseProfile(profile, 1).functions).toHaveLength(1);
  });

  it('a file that is not a CPU profile is refused with what is missing', () => {
    expect(() => summariseProfile({} as CpuProfile)).toThrow(/nodes, samples and timeDeltas/);
    expect(() => summariseProfile(null as unknown as CpuProfile)).toThrow(/not a V8 CPU profile/);
    expect(() => summariseProfile({ nodes: [], samples: [1], timeDeltas: [] })).toThrow(/differ in length/);
    // Hostile deltas (negative, not numbers) count as nothing.
    const odd = summariseProfile({
      nodes: [{ id: 1, callFrame: { functionName: 'f', url: '', lineNumber: 0 } }],
      samples: [1, 1, 9],
      timeDeltas: [-5, Number.NaN, 4],
    });
    expect(odd.busyMs).toBe(0);
  });

  it('areas: packages (scoped or not), node internals, wasm, the project', () => {
    expect(areaOf('file:///x/node_modules/graphql/execution/execute.js', 'f')).toBe('graphql');
    expect(areaOf('file:///x/node_modules/@apollo/server/dist/a.js', 'f')).toBe('@apollo/server');
    expect(areaOf('node:internal/streams', 'f')).toBe('node internals');
    expect(areaOf('wasm://wasm/abc', 'f')).toMatch(/^wasm/);
    expect(areaOf('file:///app/shared/auth.ts', 'f', '/app/')).toBe('project: shared/auth.ts');
    expect(areaOf('', '(program)')).toBe('V8 / native (program)');
  });

  it("Hive Gateway's supergraph points every subgraph at the bench's URL, and a missing one is named", () => {
    const sdl =
      'enum join__Graph {\n  CASES @join__graph(name: "cases", url: "http://cases.subgraph.invalid/graphql")\n' +
      '  PARTNERS @join__graph(name: "partners", url: "http://partners.subgraph.invalid/graphql")\n}';
    const rewritten = withSubgraphUrls(sdl, { cases: 'http://127.0.0.1:1/graphql', partners: 'http://h:2/g' });
    expect(rewritten).toContain('@join__graph(name: "cases", url: "http://127.0.0.1:1/graphql")');
    expect(rewritten).toContain('@join__graph(name: "partners", url: "http://h:2/g")');
    expect(rewritten).not.toContain('invalid');
    expect(() => withSubgraphUrls(sdl, { cases: 'http://127.0.0.1:1/graphql' })).toThrow(
      /no URL for subgraph partners/,
    );
    expect(() => withSubgraphUrls(sdl, { cases: 'http://a/"x', partners: 'http://b' })).toThrow(/not a URL/);
  });
});
