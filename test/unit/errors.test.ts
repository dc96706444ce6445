import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLIENT_ERROR_CODES, ERROR_DEFINITIONS, maskError, operationNotInSafelist, subgraphUnavailable } from '../../shared/errors.js';

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
  const patterns = [/\bcode: '([A-Z][A-Z0-9_]*)'/g, /codedError\(\s*'([A-Z][A-Z0-9_]*)'/g, /(?:sendGraphQLError|problem)\(\s*res,\s*\d{3},\s*'([A-Z][A-Z0-9_]*)'/g];
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

/** Codes that are not answers to clients: a Node error code a DNS lookup callback passes on (webhook delivery). */
const NOT_ERROR_RESPONSES = new Set(['EBLOCKED']);

describe('the error vocabulary (shared/errors.ts)', () => {
  it('registers every error code the gateway, the subgraphs and the shared code emit', () => {
    const emitted = emittedCodes();
    // The scan sees the codes it must (a sanity check of the scan itself).
    for (const code of ['NOT_FOUND', 'FORBIDDEN', 'OPERATION_NOT_IN_SAFELIST', 'RATE_LIMITED', 'SUBGRAPH_UNAVAILABLE', 'ILLEGAL_TRANSITION', 'MALFORMED_FEED']) expect(emitted.has(code), code).toBe(true);
    const unregistered = [...emitted].filter(([code]) => !NOT_ERROR_RESPONSES.has(code) && !(code in ERROR_DEFINITIONS)).map(([code, files]) => `${code} (${[...new Set(files)].join(', ')})`);
    expect(unregistered, 'register these codes in ERROR_DEFINITIONS').toEqual([]);
  });

  it('derives the client-facing codes from the definitions: safelist refusals and rate limits reach clients, internal failures do not', () => {
    expect(CLIENT_ERROR_CODES).toEqual(new Set(Object.entries(ERROR_DEFINITIONS).filter(([, d]) => d.client).map(([c]) => c)));
    for (const code of ['OPERATION_NOT_IN_SAFELIST', 'RATE_LIMITED', 'SUBGRAPH_UNAVAILABLE', 'NOT_FOUND', 'UNAUTHENTICATED', 'RESUME_POINT_EXPIRED']) expect(CLIENT_ERROR_CODES.has(code), code).toBe(true);
    for (const code of ['INTERNAL_SERVER_ERROR', 'SUBGRAPH_ERROR']) expect(CLIENT_ERROR_CODES.has(code), code).toBe(false);
  });

  it('in production keeps client-facing messages without "Did you mean" suggestions, and masks the rest', () => {
    const production = maskError(true);
    const safelist = operationNotInSafelist();
    expect(production({ message: safelist.message, extensions: { code: 'OPERATION_NOT_IN_SAFELIST' } })).toEqual({ message: safelist.message, extensions: { code: 'OPERATION_NOT_IN_SAFELIST' } });
    const enumValue = 'Variable "$s" got invalid value "SUBMITED" at "s[0]"; Value "SUBMITED" does not exist in "CaseStatus" enum. Did you mean the enum value "SUBMITTED"?';
    expect(production({ message: enumValue, extensions: { code: 'BAD_USER_INPUT' } }).message).toBe('Variable "$s" got invalid value "SUBMITED" at "s[0]"; Value "SUBMITED" does not exist in "CaseStatus" enum.');
    const field = 'Cannot query field "casez" on type "Query". Did you mean "case", "cases", or "caseEvents"?';
    expect(production({ message: field, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }).message).toBe('Cannot query field "casez" on type "Query".');
    expect(production({ message: 'connect ECONNREFUSED 10.0.0.7:27017', path: ['cases'], extensions: { code: 'SOMETHING_ELSE' } })).toEqual({
      message: 'Internal server error',
      path: ['cases'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(production({ message: 'Subgraph "cases" failed: HTTP 502', extensions: { code: 'SUBGRAPH_ERROR' } }).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    // Outside production nothing changes.
    expect(maskError(false)({ message: field, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }).message).toBe(field);
  });

  it('names an unavailable subgraph without where it is', () => {
    expect(subgraphUnavailable('partners').message).toBe('Subgraph "partners" is unavailable');
    expect(subgraphUnavailable('partners').extensions).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'partners' });
  });
});
