import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { asGateway, startTestSystem, type TestSystem } from '../helpers/system.js';

/** Hostile and broken requests to the gateway and a subgraph: clear coded errors, and the process keeps serving. */
describe('bad input to the GraphQL endpoints', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({ cases: 20 });
  });
  afterAll(async () => {
    await system?.stop();
  });

  // Subgraphs answer only requests signed by the gateway; sign ours as it would.
  const post = async (url: string, body: string | Buffer, contentType = 'application/json') => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': contentType, ...asGateway(system.config) },
      body,
    });
    const text = await response.text();
    return {
      status: response.status,
      json: JSON.parse(text) as { errors?: Array<{ message: string; extensions?: { code?: string } }>; data?: unknown },
    };
  };

  async function stillServes(url: string) {
    const { status, json } = await post(url, JSON.stringify({ query: '{ __typename }' }));
    expect(status).toBe(200);
    expect(json.data).toEqual({ __typename: 'Query' });
  }

  const endpoints = () =>
    [
      ['gateway', system.gatewayUrl],
      ['cases subgraph', `${system.subgraphs.cases.url}/graphql`],
    ] as const;

  it('malformed GraphQL gets GRAPHQL_PARSE_FAILED with the location', async () => {
    for (const [, url] of endpoints()) {
      const { status, json } = await post(url, JSON.stringify({ query: '{ cases(first: 1) { edges { node { id } }' }));
      expect(status).toBe(400);
      expect(json.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
      expect(json.errors?.[0]?.message).toMatch(/Syntax Error/);
      await stillServes(url);
    }
  });

  it('an unknown field gets GRAPHQL_VALIDATION_FAILED naming the field', async () => {
    const { status, json } = await post(
      system.gatewayUrl,
      JSON.stringify({ query: '{ cases { edges { node { passportNumber } } } }' }),
    );
    expect(status).toBe(400);
    expect(json.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(json.errors?.[0]?.message).toContain('passportNumber');
    await stillServes(system.gatewayUrl);
  });

  it('a body that is not JSON gets 400 BAD_REQUEST', async () => {
    for (const [, url] of endpoints()) {
      const { status, json } = await post(url, '{"query": "{ __typename }"');
      expect(status).toBe(400);
      expect(json.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
      expect(json.errors?.[0]?.message).toMatch(/not valid JSON/);
      await stillServes(url);
    }
  });

  it('an oversized body gets 413 PAYLOAD_TOO_LARGE without being read whole', async () => {
    const huge = JSON.stringify({
      query: `{ __typename }`,
      variables: { padding: 'x'.repeat(system.config.MAX_BODY_BYTES + 10) },
    });
    for (const [, url] of endpoints()) {
      const { status, json } = await post(url, huge);
      expect(status).toBe(413);
      expect(json.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
      await stillServes(url);
    }
  });

  it('an empty or non-GraphQL body is refused with a code', async () => {
    const empty = await post(system.gatewayUrl, '');
    expect(empty.status).toBe(400);
    expect(empty.json.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    const wrongShape = await post(system.gatewayUrl, JSON.stringify({ query: 42 }));
    expect(wrongShape.status).toBe(400);
    expect(wrongShape.json.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    await stillServes(system.gatewayUrl);
  });

  it('operator injection in variables is refused by input coercion, not passed to the store', async () => {
    const { status, json } = await post(
      system.gatewayUrl,
      JSON.stringify({
        query: 'query($f: CaseFilter) { cases(filter: $f) { totalCount } }',
        variables: { f: { memberStates: [{ $gt: '' }] } },
      }),
    );
    expect(status).toBe(400);
    expect(json.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const byRef = await post(
      system.gatewayUrl,
      JSON.stringify({
        query: 'query($r: String!) { caseByReference(memberState: "BE", caseReference: $r) { id } }',
        variables: { r: { $ne: null } },
      }),
    );
    expect(byRef.status).toBe(400);
  });

  it('out-of-range page sizes and forged cursors get BAD_USER_INPUT naming the argument', async () => {
    const big = await system.graphql('{ cases(first: 201) { totalCount } }');
    expect(big.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(big.body.errors?.[0]?.message).toMatch(/"first" must be between 1 and 200/);
    // Far larger pages are refused by the gateway's cost limit before any subgraph is asked.
    const huge = await system.graphql('{ cases(first: 100000) { totalCount } }');
    expect(huge.status).toBe(400);
    expect(huge.body.errors?.[0]?.message).toMatch(/Query Cost limit of \d+ exceeded/);
    const forged = await system.graphql('{ cases(after: "eyIkZ3QiOiIifQ") { totalCount } }');
    expect(forged.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(forged.body.errors?.[0]?.message).toMatch(/"after" is not a cursor/);
    await stillServes(system.gatewayUrl);
  });

  it('a malformed, forged or expired bearer token gets 401 UNAUTHENTICATED, not anonymous access', async () => {
    const expired = await mintToken({ subject: 'x', role: 'ADMIN' }, system.config, -5);
    const forged = await mintToken(
      { subject: 'x', role: 'ADMIN' },
      { ...system.config, AUTH_JWT_SECRET: 'x'.repeat(40) },
    );
    for (const authorization of [
      'Basic YWRtaW46YWRtaW4=',
      'Bearer',
      `Bearer ${'a'.repeat(5000)}`,
      `Bearer ${expired}`,
      `Bearer ${forged}`,
    ]) {
      const response = await fetch(system.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ query: '{ partners { id } }' }),
      });
      expect(response.status).toBe(401);
      const body = (await response.json()) as { data?: unknown; errors: Array<{ extensions: { code: string } }> };
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      expect(body.data).toBeUndefined();
    }
    const valid = await mintToken({ subject: 'analyst', role: 'EU_ANALYST' }, system.config);
    const ok = await system.graphql<{ partners: unknown[] }>('{ partners { id } }', undefined, {
      authorization: `Bearer ${valid}`,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.data!.partners).toHaveLength(5);
  });

  it('subgraphs called directly without the gateway signature answer 401 and no data', async () => {
    for (const name of ['cases', 'partners', 'coverage', 'finance'] as const) {
      for (const headers of [{}, { 'x-avrr-principal': 'forged.signature' }] as Array<Record<string, string>>) {
        const response = await fetch(`${system.subgraphs[name].url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ query: '{ _service { sdl } }' }),
        });
        expect(response.status).toBe(401);
        const body = (await response.json()) as { data?: unknown; errors: Array<{ extensions: { code: string } }> };
        expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
        expect(body.data).toBeUndefined();
      }
    }
  });

  it('unknown paths get 404 and health endpoints answer', async () => {
    expect((await fetch(`${system.gateway.url}/nope`)).status).toBe(404);
    const ready = await fetch(`${system.gateway.url}/health/ready`);
    expect(ready.status).toBe(200);
    const subgraphReady = (await (await fetch(`${system.subgraphs.finance.url}/health/ready`)).json()) as {
      checks: Record<string, string>;
    };
    expect(subgraphReady.checks).toEqual({ mongo: 'ok' });
  });
});
