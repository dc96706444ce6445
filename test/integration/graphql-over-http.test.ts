import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { startTestSystem, testConfig, type TestSystem } from '../helpers/system.js';

const GRAPHQL_RESPONSE = 'application/graphql-response+json';

/**
 * GraphQL over HTTP as its current draft has it (README, "GraphQL over HTTP"): a client that accepts
 * `application/graphql-response+json` gets it, with 4xx for a request that fails before execution (not
 * JSON, not a GraphQL request, not parsable or valid, refused by a limit) and 200 once it executes; a
 * client that accepts only `application/json` keeps getting it. The gateway's own answers (body too
 * large, body not JSON, rate limited, a bad token) follow the same negotiation as Apollo Server's.
 */
describe('GraphQL over HTTP: media types and status codes', () => {
  let system: TestSystem;
  let url: string;
  let token: string;

  async function post(
    body: string,
    accept: string | undefined,
    headers: Record<string, string> = {},
  ): Promise<{
    status: number;
    type: string;
    body: { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };
  }> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}), ...headers },
      body,
    });
    const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    return { status: response.status, type, body: (await response.json()) as never };
  }
  const code = (answer: Awaited<ReturnType<typeof post>>) => answer.body.errors?.[0]?.extensions?.code;

  beforeAll(async () => {
    system = await startTestSystem({
      config: testConfig({ MAX_BODY_BYTES: '4096', RATE_LIMIT_PER_MINUTE: '30' }),
    });
    url = system.gatewayUrl;
    token = await mintToken({ subject: 'analyst', role: 'EU_ANALYST' }, system.config);
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('answers the media type the client accepts; 200 with data once it executes', async () => {
    const query = JSON.stringify({ query: '{ __typename }' });
    const modern = await post(query, GRAPHQL_RESPONSE);
    expect([modern.status, modern.type, modern.body.data]).toEqual([200, GRAPHQL_RESPONSE, { __typename: 'Query' }]);
    const preferred = await post(query, `${GRAPHQL_RESPONSE}, application/json;q=0.9`);
    expect(preferred.type).toBe(GRAPHQL_RESPONSE);
    const legacy = await post(query, 'application/json');
    expect([legacy.status, legacy.type]).toEqual([200, 'application/json']);
    const none = await post(query, undefined);
    expect(none.type).toBe('application/json');
    const any = await post(query, '*/*');
    expect(any.type).toBe('application/json');
  });

  it('a media type it cannot answer: 406', async () => {
    const answer = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/html' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(answer.status).toBe(406);
  });

  it('request errors are 4xx in application/graphql-response+json, with no data', async () => {
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['{"query": "{ __typename', {}, 400, 'BAD_REQUEST'],
      [JSON.stringify({ query: '{ __typename ' }), {}, 400, 'GRAPHQL_PARSE_FAILED'],
      [JSON.stringify({ query: '{ noSuchField }' }), {}, 400, 'GRAPHQL_VALIDATION_FAILED'],
      [JSON.stringify({ notAQuery: 1 }), {}, 400, 'BAD_REQUEST'],
      [JSON.stringify({ query: `{ __typename }`, pad: 'x'.repeat(8_000) }), {}, 413, 'PAYLOAD_TOO_LARGE'],
      [JSON.stringify({ query: '{ __typename }' }), { authorization: 'Bearer not.a.jwt' }, 401, 'UNAUTHENTICATED'],
    ];
    for (const [body, headers, status, expected] of cases) {
      const answer = await post(body, GRAPHQL_RESPONSE, headers);
      expect([answer.status, answer.type, code(answer)], body.slice(0, 60)).toEqual([
        status,
        GRAPHQL_RESPONSE,
        expected,
      ]);
      expect(answer.body.data, body.slice(0, 60)).toBeUndefined();
    }
  });

  it('the same refusals keep application/json for a legacy client', async () => {
    const tooLarge = await post(
      JSON.stringify({ query: '{ __typename }', pad: 'x'.repeat(8_000) }),
      'application/json',
    );
    expect([tooLarge.status, tooLarge.type, code(tooLarge)]).toEqual([413, 'application/json', 'PAYLOAD_TOO_LARGE']);
    const notJson = await post('{"query": ', undefined);
    expect([notJson.status, notJson.type, code(notJson)]).toEqual([400, 'application/json', 'BAD_REQUEST']);
  });

  it('an error once executing is 200 with the data entry and the error', async () => {
    const answer = await post(
      JSON.stringify({ query: '{ cases(after: "not-a-cursor") { totalCount } }' }),
      GRAPHQL_RESPONSE,
      {
        authorization: `Bearer ${token}`,
      },
    );
    expect([answer.status, answer.type]).toEqual([200, GRAPHQL_RESPONSE]);
    expect(answer.body).toHaveProperty('data');
    expect(code(answer)).toBe('BAD_USER_INPUT');
  });

  it('rate limited: 429 with Retry-After in the media type asked for, without data', async () => {
    const limitedToken = await mintToken({ subject: 'busy-analyst', role: 'EU_ANALYST' }, system.config);
    let limited: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 40 && !limited; i++) {
      const answer = await post(JSON.stringify({ query: '{ __typename }' }), GRAPHQL_RESPONSE, {
        authorization: `Bearer ${limitedToken}`,
      });
      if (answer.status === 429) limited = answer;
    }
    expect(limited).toBeDefined();
    expect([limited!.type, code(limited!)]).toEqual([GRAPHQL_RESPONSE, 'RATE_LIMITED']);
    expect(limited!.body.data).toBeUndefined();
  });

  it('a mutation over GET is refused 405', async () => {
    const answer = await fetch(`${url}?query=${encodeURIComponent('mutation { __typename }')}`, {
      headers: { accept: GRAPHQL_RESPONSE, 'apollo-require-preflight': 'true' },
    });
    expect(answer.status).toBe(405);
  });
});
