import { ApolloServer, HeaderMap } from '@apollo/server';
import { buildSchema, GraphQLError, type ValidationRule } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import { operationNotInSafelist, rateLimited } from '../../shared/errors.js';
import type { GatewayContext } from '../../gateway/datasource.js';
import { Guards, type Caller, type Guard } from '../../gateway/guards.js';

const schema = buildSchema('type Query { hello: String secret: String } type Subscription { ticks: Int secret: Int }');
const analyst: Principal = { subject: 'dashboard', role: 'EU_ANALYST' };

/** A guard that records each step it takes, with the transport it was asked over. */
function recording(name: string, log: string[], extra: Partial<Guard> = {}): Guard {
  return {
    name,
    admit: async (caller: Caller) => void log.push(`${name}.admit ${caller.transport}`),
    allow: (operation, caller) => void log.push(`${name}.allow ${caller.transport} ${operation.source}`),
    ...extra,
  };
}

const anyone: Guard = { name: 'authentication', authenticate: async () => analyst };

/** No field named `secret`: stands in for graphql-armor's rules. */
const noSecrets: ValidationRule = (context) => ({
  Field: (node) => {
    if (node.name.value === 'secret') context.reportError(new GraphQLError('secret is over a limit', { nodes: node }));
  },
});

/** Both transports for one guard list: Apollo Server with its options (HTTP), and `check` (WebSocket). */
async function transports(guards: Guards) {
  const server = new ApolloServer<GatewayContext>({ schema, ...guards.apolloOptions() });
  await server.start();
  const http = async (query: string, context: GatewayContext = { principal: analyst, clientAddress: '192.0.2.7' }) => {
    const headers = new HeaderMap([['content-type', 'application/json']]);
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers, search: '', body: { query } },
      // As gateway/server.ts builds it: who asks and whether admitted, before the document is read.
      context: async () => ({
        ...context,
        principal: await guards.admitHttp('Bearer token', context.clientAddress),
      }),
    });
    const body = response.body.kind === 'complete' ? JSON.parse(response.body.string) : undefined;
    return { status: response.status ?? 200, headers: response.headers, body: body as { errors?: GraphQLError[] } };
  };
  const ws = (query: string, production = false) =>
    guards.check(schema, { transport: 'ws', principal: analyst }, { query }, { production });
  return { server, http, ws };
}

describe('one list of guards for HTTP and WebSocket', () => {
  const log: string[] = [];
  const guards = new Guards([anyone, recording('first', log), recording('second', log)]);
  let both: Awaited<ReturnType<typeof transports>>;
  beforeAll(async () => {
    both = await transports(guards);
  });
  afterAll(async () => {
    await both.server.stop();
  });

  it('runs every guard on both transports: all admits, then all allows, each in the order of the list', async () => {
    log.length = 0;
    expect((await both.http('{ hello }')).status).toBe(200);
    expect(log).toEqual([
      'first.admit http',
      'second.admit http',
      'first.allow http { hello }',
      'second.allow http { hello }',
    ]);
    log.length = 0;
    const checked = await both.ws('subscription { ticks }');
    expect(Array.isArray(checked)).toBe(false);
    expect(log).toEqual([
      'first.admit ws',
      'second.admit ws',
      'first.allow ws subscription { ticks }',
      'second.allow ws subscription { ticks }',
    ]);
  });

  it('admits before the document is read (a syntax error is admitted too), allows only a valid operation', async () => {
    log.length = 0;
    const broken = await both.http('{ hello ');
    expect(broken.status).toBe(400);
    expect(broken.body.errors![0]!.extensions!.code).toBe('GRAPHQL_PARSE_FAILED');
    const invalid = await both.ws('subscription { nope }');
    expect((invalid as GraphQLError[])[0]!.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(log).toEqual(['first.admit http', 'second.admit http', 'first.admit ws', 'second.admit ws']);
  });

  it("leaves the gateway's own per-event queries (internal) uncounted and unlisted", async () => {
    log.length = 0;
    const result = await both.server.executeOperation(
      { query: '{ hello }' },
      { contextValue: { principal: analyst, internal: true } },
    );
    expect(result.body.kind === 'single' && result.body.singleResult.errors).toBeFalsy();
    expect(log).toEqual([]);
  });

  it('asks exactly one guard who is asking', async () => {
    expect(await guards.authenticate('Bearer whatever')).toEqual(analyst);
    expect(() => new Guards([recording('first', log)])).toThrow(/exactly one guard must authenticate; found 0/);
    expect(() => new Guards([anyone, anyone])).toThrow(/found 2/);
  });
});

describe('a refusal reads the same on both transports', () => {
  it('admit: 429 with Retry-After over HTTP, the same code over WebSocket without the HTTP parts', async () => {
    const log: string[] = [];
    const limited: Guard = {
      name: 'rate limit',
      admit: async () => {
        throw rateLimited(8, 30);
      },
    };
    const both = await transports(new Guards([anyone, limited, recording('after', log)]));
    try {
      const refused = await both.http('{ hello }');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('30');
      expect(refused.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 30 });
      const overWs = (await both.ws('subscription { ticks }')) as GraphQLError[];
      expect(overWs.map((e) => e.extensions)).toEqual([{ code: 'RATE_LIMITED', retryAfterSeconds: 30 }]);
      expect(overWs[0]!.message).toBe(refused.body.errors![0]!.message);
      expect(log).toEqual([]);
      // Refused before its document is read: a malformed one costs no parsing either.
      const malformed = await both.http('{ hello ');
      expect([malformed.status, malformed.body.errors![0]!.extensions!.code]).toEqual([429, 'RATE_LIMITED']);
      const malformedWs = (await both.ws('subscription { ticks ')) as GraphQLError[];
      expect(malformedWs[0]!.extensions.code).toBe('RATE_LIMITED');
    } finally {
      await both.server.stop();
    }
  });

  it('allow: 400 OPERATION_NOT_IN_SAFELIST over HTTP, the same code and message over WebSocket', async () => {
    const listed = new Set(['{ hello }', 'subscription { ticks }']);
    const safelist: Guard = {
      name: 'safelist',
      allow: ({ source }) => {
        if (!listed.has(source)) throw operationNotInSafelist();
      },
    };
    const both = await transports(new Guards([anyone, safelist]));
    try {
      expect((await both.http('{ hello }')).status).toBe(200);
      const refused = await both.http('{  hello }');
      expect(refused.status).toBe(400);
      expect(refused.body.errors![0]!.extensions!.code).toBe('OPERATION_NOT_IN_SAFELIST');
      expect(Array.isArray(await both.ws('subscription { ticks }'))).toBe(false);
      const overWs = (await both.ws('subscription {  ticks }')) as GraphQLError[];
      expect(overWs.map((e) => [e.message, e.extensions])).toEqual([
        [refused.body.errors![0]!.message, { code: 'OPERATION_NOT_IN_SAFELIST' }],
      ]);
    } finally {
      await both.server.stop();
    }
  });

  it("limits: a guard's token limit and validation rules hold on both; the lowest token limit wins", async () => {
    const limits: Guard = { name: 'operation limits', parseOptions: { maxTokens: 6 }, validationRules: [noSecrets] };
    const looser: Guard = { name: 'looser', parseOptions: { maxTokens: 1000 } };
    const guards = new Guards([anyone, looser, limits]);
    expect(guards.parseOptions).toEqual({ maxTokens: 6 });
    const both = await transports(guards);
    try {
      const long = await both.http('{ hello hello hello hello hello }');
      expect([long.status, long.body.errors![0]!.extensions!.code]).toEqual([400, 'GRAPHQL_PARSE_FAILED']);
      const longWs = (await both.ws('subscription { ticks ticks ticks ticks }')) as GraphQLError[];
      expect(longWs[0]!.extensions.code).toBe('GRAPHQL_PARSE_FAILED');
      expect(longWs[0]!.message).toMatch(/token/i);
      const secret = await both.http('{ secret }');
      expect([secret.status, secret.body.errors![0]!.message]).toEqual([400, 'secret is over a limit']);
      const secretWs = (await both.ws('subscription { secret }')) as GraphQLError[];
      expect(secretWs.map((e) => [e.message, e.extensions.code])).toEqual([
        ['secret is over a limit', 'GRAPHQL_VALIDATION_FAILED'],
      ]);
    } finally {
      await both.server.stop();
    }
  });
});

describe('what only the WebSocket transport adds', () => {
  const guards = new Guards([anyone]);
  const caller: Caller = { transport: 'ws', principal: analyst };

  it('refuses what the transport does not accept once the operation is known, before validating it', async () => {
    const accept = (operation: { operation: string }) =>
      operation.operation === 'subscription'
        ? undefined
        : new GraphQLError('Only subscriptions', { extensions: { code: 'BAD_REQUEST' } });
    const refused = (await guards.check(
      schema,
      caller,
      { query: '{ nope }' },
      { production: false, accept },
    )) as GraphQLError[];
    expect(refused.map((e) => e.message)).toEqual(['Only subscriptions']);
    const unnamed = await guards.check(
      schema,
      caller,
      { query: 'subscription A { ticks } subscription B { ticks }' },
      { production: false },
    );
    expect((unnamed as GraphQLError[])[0]!.extensions.code).toBe('BAD_REQUEST');
    const named = await guards.check(
      schema,
      caller,
      { query: 'subscription A { ticks } subscription B { ticks }', operationName: 'B' },
      { production: false },
    );
    expect(Array.isArray(named) ? named : named.operation.name?.value).toBe('B');
  });

  it('leaves out "Did you mean" suggestions in production only', async () => {
    const query = 'subscription { tick }';
    const dev = (await guards.check(schema, caller, { query }, { production: false })) as GraphQLError[];
    const prod = (await guards.check(schema, caller, { query }, { production: true })) as GraphQLError[];
    expect(dev[0]!.message).toMatch(/Did you mean "ticks"\?/);
    expect(prod[0]!.message).toBe('Cannot query field "tick" on type "Subscription".');
  });
});
