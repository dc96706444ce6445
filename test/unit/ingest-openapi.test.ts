import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ingestRouteOf, INGEST_ROUTES } from '../../gateway/ingest.js';
import { OPENAPI_FILE, openApiText } from '../../gateway/openapi/index.js';
import { problemDetails, problemTitle } from '../../shared/problem-details.js';

describe('the push API OpenAPI document and problem details', () => {
  it('docs/ingest-openapi.json is the document the gateway serves (regenerate: scripts/openapi.ts)', () => {
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(openApiText());
  });

  it('problem details: RFC 9457 members, the named code, the earlier body kept', () => {
    const problem = problemDetails(400, 'MALFORMED_FEED', 'line 2: unexpected }', {
      instance: '/ingest/v1/feeds',
      extra: { line: 2, column: 7 },
    });
    expect(problem).toEqual({
      type: 'https://avrr.example/problems/MALFORMED_FEED',
      title: 'Malformed feed',
      status: 400,
      detail: 'line 2: unexpected }',
      instance: '/ingest/v1/feeds',
      code: 'MALFORMED_FEED',
      line: 2,
      column: 7,
      error: { code: 'MALFORMED_FEED', message: 'line 2: unexpected }', line: 2, column: 7 },
    });
    expect(problemTitle('TOO_MANY_PUSHES_IN_FLIGHT')).toBe('Too many pushes in flight');
  });

  it('an extension member cannot replace a member the RFC or the project defines', () => {
    const problem = problemDetails(404, 'NOT_FOUND', 'Feed x was not found', {
      extra: { status: 200, type: 'about:blank', code: 'OK', error: null, detail: '', field: 'id' },
    });
    expect(problem).toMatchObject({ status: 404, code: 'NOT_FOUND', detail: 'Feed x was not found', field: 'id' });
    expect(problem.type).toBe('https://avrr.example/problems/NOT_FOUND');
    expect(problem.error).toEqual({ code: 'NOT_FOUND', message: 'Feed x was not found', field: 'id' });
  });

  it('routes: each route and nothing else; hostile paths match none', () => {
    for (const route of INGEST_ROUTES) {
      const path = route.path.replace('{feedId}', 'feed_0b6f7c2e-3f5d-4a53-9d6e-2d1c1c9a4f10');
      expect(ingestRouteOf(route.method, path)?.route).toBe(route);
    }
    expect(ingestRouteOf('GET', '/ingest/v1/feeds/feed_0b6f7c2e-3f5d-4a53-9d6e-2d1c1c9a4f10')?.feedId).toBe(
      'feed_0b6f7c2e-3f5d-4a53-9d6e-2d1c1c9a4f10',
    );
    for (const [method, path] of [
      ['GET', '/ingest/v1/feeds/{feedId}'],
      ['GET', '/ingest/v1/feeds/feed_../../schema'],
      ['GET', `/ingest/v1/feeds/feed_${'a'.repeat(100_000)}`],
      ['POST', '/ingest/v1/feeds/feed_0b6f7c2e-3f5d-4a53-9d6e-2d1c1c9a4f10'],
      ['DELETE', '/ingest/v1/feeds'],
      ['GET', '/ingest/v1/feeds/'],
      ['GET', '/ingest/v1/schema/'],
      ['get', '/ingest/v1/schema'],
    ])
      expect(ingestRouteOf(method!, path!), `${method} ${path}`).toBeUndefined();
  });
});
