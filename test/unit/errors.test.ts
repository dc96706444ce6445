import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  badInputField,
  badRequest,
  badUserInput,
  caseFetchFailed,
  caseNotFound,
  CLIENT_ERROR_CODES,
  codedError,
  entitlementExceeded,
  ERROR_DEFINITIONS,
  internalError,
  isErrorCode,
  maskError,
  notConnected,
  notFound,
  operationNotInSafelist,
  parseFailed,
  principalRequired,
  rateLimited,
  rebuiltError,
  resumePointExpired,
  serviceUnavailable,
  subgraphUnavailable,
  subscriberTooSlow,
  tariffNotFound,
  tooManySubscriptions,
  transitionRefused,
  unauthenticated,
  validationFailed,
  type ErrorExtensions,
} from '../../shared/errors.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/**
 * Every error code literal the code emits: `code: 'X'` in error extensions and refusals,
 * `codedError('X'`, and the codes of plain HTTP answers (`sendGraphQLError(res, 400, 'X'`,
 * the push API's `problem(res, 400, 'X'`).
 */
function emittedCodes(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const patterns = [
    /\bcode: '([A-Z][A-Z0-9_]*)'/g,
    /codedError\(\s*'([A-Z][A-Z0-9_]*)'/g,
    /(?:sendGraphQLError|problem)\(\s*res,\s*\d{3},\s*'([A-Z][A-Z0-9_]*)'/g,
  ];
  for (const file of ['gateway', 'shared', 'subgraphs'].flatMap((dir) => sources(join(ROOT, dir)))) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of patterns) {
      for (const match of text.matchAll(pattern)) {
        const code = match[1]!;
        // Two-letter codes are country and Member State codes (shared/domain.ts), not errors.
        if (code.length <= 2) continue;
        found.set(code, [...(found.get(code) ?? []), relative(ROOT, file)]);
      }
    }
  }
  return found;
}

/** The README's error table as (code, when) rows, in the order it lists them. */
function readmeErrorTable(): Array<[string, string]> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Errors\n');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| (.*) \|$/gm)].map((m) => [m[1]!, m[2]!]);
}

/** Codes that are not answers to clients: a Node error code a DNS lookup callback passes on (webhook delivery). */
const NOT_ERROR_RESPONSES = new Set(['EBLOCKED']);

describe('the error vocabulary (shared/errors.ts)', () => {
  it('registers every error code the gateway, the subgraphs and the shared code emit', () => {
    const emitted = emittedCodes();
    // The scan sees the codes it must (a sanity check of the scan itself).
    for (const code of [
      'NOT_FOUND',
      'FORBIDDEN',
      'OPERATION_NOT_IN_SAFELIST',
      'RATE_LIMITED',
      'SUBGRAPH_UNAVAILABLE',
      'ILLEGAL_TRANSITION',
      'MALFORMED_FEED',
    ])
      expect(emitted.has(code), code).toBe(true);
    const unregistered = [...emitted]
      .filter(([code]) => !NOT_ERROR_RESPONSES.has(code) && !(code in ERROR_DEFINITIONS))
      .map(([code, files]) => `${code} (${[...new Set(files)].join(', ')})`);
    expect(unregistered, 'register these codes in ERROR_DEFINITIONS').toEqual([]);
  });

  it('builds every GraphQL error with the constructors of shared/errors.ts', () => {
    const byHand = ['gateway', 'shared', 'subgraphs']
      .flatMap((dir) => sources(join(ROOT, dir)))
      .map((file) => relative(ROOT, file))
      .filter((file) => file !== join('shared', 'errors.ts'))
      .filter((file) => readFileSync(join(ROOT, file), 'utf8').includes('new GraphQLError('));
    expect(byHand, 'build these errors with the constructors of shared/errors.ts').toEqual([]);
  });

  it("the README's error table lists every code with the meaning its definition gives", () => {
    const rows = readmeErrorTable();
    const expected = Object.entries(ERROR_DEFINITIONS).map(([code, definition]) => [code, definition.description]);
    const table = expected.map(([code, when]) => `| \`${code}\` | ${when} |`).join('\n');
    expect(rows, `README.md, "## Errors", should hold these rows:\n${table}\n`).toEqual(expected);
    // Exactly the client-facing codes, and each other code says that clients get it masked.
    const listed = rows.map(([code]) => code);
    expect(listed.filter((code) => CLIENT_ERROR_CODES.has(code))).toEqual([...CLIENT_ERROR_CODES]);
    for (const [code, when] of rows.filter(([c]) => !CLIENT_ERROR_CODES.has(c))) expect(when, code).toMatch(/masked/);
  });

  it('derives client-facing codes from the definitions: safelist and rate-limit refusals reach clients', () => {
    expect(CLIENT_ERROR_CODES).toEqual(
      new Set(
        Object.entries(ERROR_DEFINITIONS)
          .filter(([, d]) => d.client)
          .map(([c]) => c),
      ),
    );
    for (const code of [
      'OPERATION_NOT_IN_SAFELIST',
      'RATE_LIMITED',
      'SUBGRAPH_UNAVAILABLE',
      'NOT_FOUND',
      'UNAUTHENTICATED',
      'RESUME_POINT_EXPIRED',
    ])
      expect(CLIENT_ERROR_CODES.has(code), code).toBe(true);
    for (const code of ['INTERNAL_SERVER_ERROR', 'SUBGRAPH_ERROR'])
      expect(CLIENT_ERROR_CODES.has(code), code).toBe(false);
  });

  it('in production keeps client-facing messages without "Did you mean" suggestions, and masks the rest', () => {
    const production = maskError(true);
    const safelist = operationNotInSafelist();
    expect(production({ message: safelist.message, extensions: { code: 'OPERATION_NOT_IN_SAFELIST' } })).toEqual({
      message: safelist.message,
      extensions: { code: 'OPERATION_NOT_IN_SAFELIST' },
    });
    const enumValue =
      'Variable "$s" got invalid value "SUBMITED" at "s[0]"; Value "SUBMITED" does not exist in "CaseStatus" ' +
      'enum. Did you mean the enum value "SUBMITTED"?';
    expect(production({ message: enumValue, extensions: { code: 'BAD_USER_INPUT' } }).message).toBe(
      'Variable "$s" got invalid value "SUBMITED" at "s[0]"; Value "SUBMITED" does not exist in "CaseStatus" enum.',
    );
    const field = 'Cannot query field "casez" on type "Query". Did you mean "case", "cases", or "caseEvents"?';
    expect(production({ message: field, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }).message).toBe(
      'Cannot query field "casez" on type "Query".',
    );
    expect(
      production({
        message: 'connect ECONNREFUSED 10.0.0.7:27017',
        path: ['cases'],
        extensions: { code: 'SOMETHING_ELSE' },
      }),
    ).toEqual({
      message: 'Internal server error',
      path: ['cases'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(
      production({ message: 'Subgraph "cases" failed: HTTP 502', extensions: { code: 'SUBGRAPH_ERROR' } }).extensions,
    ).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    // Outside production nothing changes.
    expect(maskError(false)({ message: field, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }).message).toBe(field);
  });

  it('binds each constructor to its code, with the message and extensions clients have always read', () => {
    const parts = (error: ReturnType<typeof codedError>) => ({ message: error.message, extensions: error.extensions });
    expect(parts(caseNotFound('6b04'))).toEqual({
      message: 'Case 6b04 was not found',
      extensions: { code: 'NOT_FOUND', caseId: '6b04' },
    });
    expect(parts(notFound('Delivery', 'd1'))).toEqual({
      message: 'Delivery d1 was not found',
      extensions: { code: 'NOT_FOUND' },
    });
    expect(parts(badUserInput('bad', 'after'))).toEqual({
      message: 'bad',
      extensions: { code: 'BAD_USER_INPUT', argumentName: 'after' },
    });
    expect(badUserInput('bad').extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(badInputField('bad', 'plan').extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'plan' });
    expect(principalRequired('setAnnualBudget').message).toBe('setAnnualBudget needs an authenticated principal');
    expect(principalRequired('Case data', true).message).toBe(
      'Case data needs an authenticated principal (Authorization: Bearer <token>)',
    );
    // Inside a subgraph no HTTP status; at the door, 401.
    expect(principalRequired('x').extensions).toEqual({ code: 'UNAUTHENTICATED' });
    expect(unauthenticated('expired').extensions).toEqual({ code: 'UNAUTHENTICATED', http: { status: 401 } });
    const refusal = { code: 'ILLEGAL_TRANSITION' as const, message: 'no', currentStatus: 'CLOSED', allowed: [] };
    expect(parts(transitionRefused(refusal))).toEqual({
      message: 'no',
      extensions: { code: 'ILLEGAL_TRANSITION', currentStatus: 'CLOSED', allowed: [] },
    });
    expect(tariffNotFound('none', 'POST_RETURN', '1999-01-01').extensions).toEqual({
      code: 'TARIFF_NOT_FOUND',
      package: 'POST_RETURN',
      date: '1999-01-01',
    });
    expect(entitlementExceeded('over', 100, 90).extensions).toEqual({
      code: 'ENTITLEMENT_EXCEEDED',
      entitlementCents: 100,
      disbursedCents: 90,
    });
    expect(internalError('x').extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(rateLimited(60, 7).extensions).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterSeconds: 7,
      http: { status: 429 },
    });
  });

  it('puts the code first and never lets an extension replace it', () => {
    const error = codedError('FORBIDDEN', 'no', { code: 'NOT_FOUND', reason: 'x' } as unknown as ErrorExtensions);
    expect(error.extensions).toEqual({ code: 'FORBIDDEN', reason: 'x' });
    expect(Object.keys(error.extensions)[0]).toBe('code');
    expect(isErrorCode('FORBIDDEN')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
  });

  it('names an unavailable subgraph without where it is', () => {
    expect(subgraphUnavailable('partners').message).toBe('Subgraph "partners" is unavailable');
    expect(subgraphUnavailable('partners').extensions).toEqual({
      code: 'SUBGRAPH_UNAVAILABLE',
      serviceName: 'partners',
    });
  });

  it("builds the gateway's own refusals (documents, subscriptions) with the codes and extensions clients read", () => {
    const parts = (error: ReturnType<typeof codedError>) => ({ message: error.message, extensions: error.extensions });
    expect(parts(parseFailed('Syntax Error: Unexpected <EOF>.'))).toEqual({
      message: 'Syntax Error: Unexpected <EOF>.',
      extensions: { code: 'GRAPHQL_PARSE_FAILED' },
    });
    expect(parts(badRequest('The connection closed'))).toEqual({
      message: 'The connection closed',
      extensions: { code: 'BAD_REQUEST' },
    });
    // No HTTP status: these answer a WebSocket subscribe, which has none.
    expect(parts(notConnected())).toEqual({ message: 'Not connected', extensions: { code: 'UNAUTHENTICATED' } });
    expect(parts(serviceUnavailable('limits could not be checked'))).toEqual({
      message: 'limits could not be checked',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    expect(parts(tooManySubscriptions('too many', 50))).toEqual({
      message: 'too many',
      extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: 50 },
    });
    expect(parts(resumePointExpired('1700000000000-0'))).toEqual({
      message:
        'Events before 1700000000000-0 are no longer kept; read the current state with a query and subscribe ' +
        'again without after',
      extensions: { code: 'RESUME_POINT_EXPIRED', oldestKept: '1700000000000-0' },
    });
    expect(parts(subscriberTooSlow(10, '5-1'))).toEqual({
      message: 'More than 10 events were waiting for this subscriber; resume with after: "5-1"',
      extensions: { code: 'SUBSCRIBER_TOO_SLOW', resumeAfter: '5-1' },
    });
  });

  it('points a validation error at the nodes graphql-js names, so clients get its locations', () => {
    const document = parse('query Q {\n  casez\n}');
    const field = (document.definitions[0] as OperationDefinitionNode).selectionSet.selections[0]!;
    const error = validationFailed('Cannot query field "casez" on type "Query".', [field]);
    expect(error.toJSON()).toEqual({
      message: 'Cannot query field "casez" on type "Query".',
      locations: [{ line: 2, column: 3 }],
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    expect(validationFailed('x').locations).toBeUndefined();
  });

  it("names why an event's case was not fetched: the cause's code or the reason given, and its subgraph", () => {
    const unavailable = {
      message: 'Subgraph "cases" is unavailable',
      extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'cases' },
    };
    expect(caseFetchFailed(unavailable).toJSON()).toEqual({
      message: 'The case could not be fetched: Subgraph "cases" is unavailable',
      extensions: { code: 'CASE_FETCH_FAILED', reason: 'SUBGRAPH_UNAVAILABLE', serviceName: 'cases' },
    });
    expect(caseFetchFailed({ message: 'busy' }, 'SUBSCRIPTION_FETCHES_IN_FLIGHT').extensions).toEqual({
      code: 'CASE_FETCH_FAILED',
      reason: 'SUBSCRIPTION_FETCHES_IN_FLIGHT',
    });
    // A cause without a code, or with a serviceName that is not a name, is an internal failure of no subgraph.
    expect(caseFetchFailed({ message: 'x', extensions: { serviceName: 7 } }).extensions).toEqual({
      code: 'CASE_FETCH_FAILED',
      reason: 'INTERNAL_SERVER_ERROR',
    });
  });

  it('rebuilds an error with its message and extensions, placed only where it is told', () => {
    const field = (parse('{ case }').definitions[0] as OperationDefinitionNode).selectionSet.selections[0]!;
    // A subgraph's error as it came (a formatted error: its path is the subgraph's, not ours).
    const fromSubgraph = { message: 'Case 1 was not found', path: ['case'], extensions: { code: 'NOT_FOUND' } };
    const passedOn = rebuiltError(fromSubgraph);
    expect(passedOn.toJSON()).toEqual({ message: 'Case 1 was not found', extensions: { code: 'NOT_FOUND' } });
    expect(passedOn.path).toBeUndefined();
    const placed = rebuiltError(fromSubgraph, { nodes: [field], path: ['caseEvents', 'case'] });
    expect(placed.toJSON()).toEqual({
      message: 'Case 1 was not found',
      locations: [{ line: 1, column: 3 }],
      path: ['caseEvents', 'case'],
      extensions: { code: 'NOT_FOUND' },
    });
    // Extensions given replace the error's own (a refusal without its HTTP status, a subgraph's error named).
    const limited = rateLimited(60, 7);
    const { http: _http, ...overWebSocket } = limited.extensions;
    expect(rebuiltError(limited, { extensions: overWebSocket }).extensions).toEqual({
      code: 'RATE_LIMITED',
      retryAfterSeconds: 7,
    });
    expect(rebuiltError({ message: 'no extensions' }).extensions).toEqual({});
  });
});
