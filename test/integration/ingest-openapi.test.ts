import type { Worker } from 'bullmq';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { INGEST_ROUTES } from '../../gateway/ingest.js';
import { ingestOpenApiDocument } from '../../gateway/openapi/index.js';
import { canonicalRecord } from '../helpers/records.js';
import { startTestSystem, startTestWorker, testConfig, type TestSystem } from '../helpers/system.js';

// ajv-formats is CommonJS: its default export is the plugin under ESM interop.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

const DOC_ID = 'https://avrr.example/ingest/v1/openapi.json';
const document = ingestOpenApiDocument();

/** JSON Pointer escaping (RFC 6901), for addressing a schema inside the document. */
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

interface Answer {
  status: number;
  contentType: string;
  body: unknown;
  headers: Headers;
}

/**
 * The push API's answers, checked against its OpenAPI document: the status must be documented for the route,
 * the media type among that status's, and the body valid against its schema (ajv, draft 2020-12, which
 * OpenAPI 3.1 schemas are).
 */
describe('push API: the OpenAPI document against real requests', () => {
  let system: TestSystem;
  let worker: Worker;
  let base: string;
  const tokens: Record<string, string> = {};
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, DOC_ID);
  /** Route (method and path template) → statuses answered in these tests. */
  const seen = new Map<string, Set<number>>();

  const record = (ref: string, extra: Record<string, unknown> = {}) =>
    canonicalRecord('BE', ref, { packages: ['POST_ARRIVAL', 'POST_RETURN'], ...extra });

  /** Sends a request and checks its answer against the document's operation for `template`. */
  async function call(
    method: 'GET' | 'POST',
    path: string,
    template: string,
    init: { token?: string; body?: string | Buffer; contentType?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(init.contentType ? { 'content-type': init.contentType } : {}),
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...init.headers,
      },
      body: init.body,
    });
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const text = await response.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    const answer = { status: response.status, contentType, body, headers: response.headers };
    conforms(answer, method, template);
    return answer;
  }

  function conforms(answer: Answer, method: string, template: string): void {
    const operation = document.paths?.[template]?.[method.toLowerCase() as 'get' | 'post'];
    expect(operation, `${method} ${template} is in the document`).toBeDefined();
    const key = `${method} ${template}`;
    seen.set(key, (seen.get(key) ?? new Set()).add(answer.status));
    const documented = operation!.responses?.[String(answer.status)];
    expect(documented, `${key} documents status ${answer.status}: ${JSON.stringify(answer.body)}`).toBeDefined();
    if (!(documented as { content?: unknown }).content) return void expect(answer.body).toBeUndefined();
    const media = (documented as { content?: Record<string, unknown> }).content?.[answer.contentType];
    expect(media, `${key} ${answer.status} documents ${answer.contentType}`).toBeDefined();
    const at = pointer('paths', template, method.toLowerCase(), 'responses', String(answer.status), 'content');
    const validate = ajv.getSchema(`${DOC_ID}#/${at}/${pointer(answer.contentType)}/schema`)!;
    const valid = validate(answer.body);
    expect(valid, `${key} ${answer.status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    if (answer.contentType === 'application/problem+json') {
      const problem = answer.body as { status: number; instance: string; code: string; error: { code: string } };
      expect(problem.status).toBe(answer.status);
      expect(problem.error.code).toBe(problem.code);
    }
  }

  const problemOf = (answer: Answer) =>
    answer.body as { code: string; detail: string; instance?: string; line?: number; column?: number };

  const finished = async (feedId: string) => {
    for (let i = 0; i < 300; i++) {
      const answer = await call('GET', `/ingest/v1/feeds/${feedId}`, '/ingest/v1/feeds/{feedId}', {
        token: tokens.be,
      });
      const report = answer.body as { status: string; counts: Record<string, number> };
      if (['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(report.status)) return report;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`feed ${feedId} did not finish`);
  };

  beforeAll(async () => {
    system = await startTestSystem({
      config: testConfig({ INGEST_MAX_BODY_BYTES: String(64 * 1024), INGEST_PUSHES_PER_MINUTE: '40' }),
    });
    base = system.gateway.url;
    tokens.be = await mintToken({ subject: 'be-system', role: 'MEMBER_STATE', memberState: 'BE' }, system.config);
    tokens.de = await mintToken({ subject: 'de-system', role: 'MEMBER_STATE', memberState: 'DE' }, system.config);
    tokens.nl = await mintToken({ subject: 'nl-system', role: 'MEMBER_STATE', memberState: 'NL' }, system.config);
    tokens.partner = await mintToken({ subject: 'p', role: 'PARTNER', partnerId: 'weldo' }, system.config);
    worker = startTestWorker(system, 'test-openapi-worker');
  });
  afterAll(async () => {
    await worker?.close();
    await system?.stop();
  });

  it('the router serves exactly the routes the document has, and every schema in it compiles', () => {
    const documented = Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
      Object.keys(item as object)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(INGEST_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    expect(document.openapi).toBe('3.1.0');
    for (const name of Object.keys(document.components?.schemas ?? {}))
      expect(ajv.getSchema(`${DOC_ID}#/${pointer('components', 'schemas', name)}`), name).toBeTypeOf('function');
  });

  it('serves the document itself, public and cacheable, the same as it generates', async () => {
    const answer = await call('GET', '/ingest/v1/openapi.json', '/ingest/v1/openapi.json');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(JSON.parse(JSON.stringify(document)));
    expect(answer.headers.get('cache-control')).toMatch(/public/);
    const etag = answer.headers.get('etag')!;
    const again = await call('GET', '/ingest/v1/openapi.json', '/ingest/v1/openapi.json', {
      headers: { 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
    expect(again.body).toBeUndefined();
    // A validator that is not the document's (or is hostile): the whole document again.
    for (const stale of ['"stale"', `"${'x'.repeat(8_000)}"`, `${etag}, *`]) {
      const answer = await call('GET', '/ingest/v1/openapi.json', '/ingest/v1/openapi.json', {
        headers: { 'if-none-match': stale },
      });
      expect(answer.status, stale.slice(0, 20)).toBe(200);
    }
  });

  it('the schema and the profiles', async () => {
    expect((await call('GET', '/ingest/v1/schema', '/ingest/v1/schema')).status).toBe(200);
    expect((await call('GET', '/ingest/v1/profiles', '/ingest/v1/profiles')).status).toBe(401);
    expect((await call('GET', '/ingest/v1/profiles', '/ingest/v1/profiles', { token: tokens.be })).status).toBe(200);
  });

  it('a push, its report, and a retry with the same Idempotency-Key answering the finished status', async () => {
    const key = `oa-${Date.now()}`;
    const records = [record('BE-OA-1'), record('BE-OA-2', { countryOfOrigin: 'ma' })];
    const first = await call('POST', '/ingest/v1/feeds', '/ingest/v1/feeds', {
      token: tokens.be,
      contentType: 'application/json',
      body: JSON.stringify(records),
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(202);
    const accepted = first.body as { feedId: string; status: string; received: number };
    expect(accepted).toMatchObject({ status: 'QUEUED', received: 2 });
    const done = await finished(accepted.feedId);
    expect(done.status).toBe('DONE_WITH_ERRORS');

    const retry = await call('POST', '/ingest/v1/feeds', '/ingest/v1/feeds', {
      token: tokens.be,
      contentType: 'application/json',
      // A retry is not read again: even a body that would be refused is answered with the feed taken.
      body: '[{"not": "read"',
      headers: { 'idempotency-key': key },
    });
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual({
      feedId: accepted.feedId,
      received: 2,
      status: 'DONE_WITH_ERRORS',
      counts: done.counts,
      replayed: true,
      report: `/ingest/v1/feeds/${accepted.feedId}`,
    });
    expect(done.counts).toMatchObject({ received: 2, created: 1, rejected: 1 });
    // The key is the Member State's own: another's same key is a new push.
    const other = await call('POST', '/ingest/v1/feeds', '/ingest/v1/feeds', {
      token: tokens.de,
      contentType: 'application/x-ndjson',
      body: `${JSON.stringify(record('DE-OA-1', { memberState: 'DE' }))}\n`,
      headers: { 'idempotency-key': key },
    });
    expect(other.status).toBe(202);
    expect((other.body as { feedId: string; replayed?: boolean }).replayed).toBeUndefined();
    expect((other.body as { feedId: string }).feedId).not.toBe(accepted.feedId);
  });

  it('refusals of a push are problem details with the code and where the fault is', async () => {
    const push = (init: Parameters<typeof call>[3]) => call('POST', '/ingest/v1/feeds', '/ingest/v1/feeds', init);
    const anonymous = await push({ contentType: 'application/json', body: '[]' });
    expect([anonymous.status, problemOf(anonymous).code]).toEqual([401, 'UNAUTHENTICATED']);
    expect(problemOf(anonymous).instance).toBe('/ingest/v1/feeds');
    const badToken = await push({ token: 'not.a.jwt', contentType: 'application/json', body: '[]' });
    expect([badToken.status, problemOf(badToken).code]).toEqual([401, 'UNAUTHENTICATED']);
    const partner = await push({ token: tokens.partner, contentType: 'application/json', body: '[]' });
    expect([partner.status, problemOf(partner).code]).toEqual([403, 'FORBIDDEN']);
    const xml = await push({ token: tokens.be, contentType: 'application/xml', body: '<feed/>' });
    expect([xml.status, problemOf(xml).code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const malformed = await push({ token: tokens.be, contentType: 'application/json', body: '[\n{"a": }' });
    expect([malformed.status, problemOf(malformed).code]).toEqual([400, 'MALFORMED_FEED']);
    expect(problemOf(malformed).line).toBe(2);
    expect(problemOf(malformed).column).toBeTypeOf('number');
    const empty = await push({ token: tokens.be, contentType: 'application/json', body: '[]' });
    expect([empty.status, problemOf(empty).code]).toEqual([400, 'EMPTY_FEED']);
    const unknown = await push({ token: tokens.be, contentType: 'text/csv', body: 'a,b\n', headers: {} });
    expect(unknown.status).toBe(400);
    const profile = await call('POST', '/ingest/v1/feeds?profile=no-such-profile', '/ingest/v1/feeds', {
      token: tokens.be,
      contentType: 'text/csv',
      body: 'a,b\n1,2\n',
    });
    expect(profile.status === 400 ? problemOf(profile).code : profile.status).toBe('UNKNOWN_PROFILE');
    // The query names a profile: the instance is the path, never the query.
    expect(problemOf(profile).instance).toBe('/ingest/v1/feeds');
    const hostileKey = await push({
      token: tokens.be,
      contentType: 'application/json',
      body: JSON.stringify([record('BE-OA-9')]),
      headers: { 'idempotency-key': `${'k'.repeat(5_000)}` },
    });
    expect([hostileKey.status, problemOf(hostileKey).code]).toEqual([400, 'BAD_REQUEST']);
    const oversized = await push({
      token: tokens.be,
      contentType: 'application/json',
      body: JSON.stringify(Array.from({ length: 400 }, (_, i) => record(`BE-OA-BIG-${i}`))),
    });
    expect([oversized.status, problemOf(oversized).code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });

  it('a report: 404 for an unknown feed or another Member State, 401 without a token', async () => {
    const pushed = await call('POST', '/ingest/v1/feeds', '/ingest/v1/feeds', {
      token: tokens.be,
      contentType: 'application/json',
      body: JSON.stringify([record('BE-OA-3')]),
    });
    const { feedId } = pushed.body as { feedId: string };
    const path = `/ingest/v1/feeds/${feedId}`;
    const template = '/ingest/v1/feeds/{feedId}';
    expect((await call('GET', path, template, { token: tokens.be })).status).toBe(200);
    const theirs = await call('GET', path, template, { token: tokens.de });
    expect([theirs.status, problemOf(theirs).code]).toEqual([404, 'NOT_FOUND']);
    const none = await call('GET', '/ingest/v1/feeds/feed_00000000-0000-0000-0000-000000000000', template, {
      token: tokens.be,
    });
    expect(none.status).toBe(404);
    expect((await call('GET', path, template)).status).toBe(401);
    await finished(feedId);
  });

  it('a preview, and its refusals (multipart and profile), as documented', async () => {
    const preview = (init: Parameters<typeof call>[3], query = '') =>
      call('POST', `/ingest/v1/preview${query}`, '/ingest/v1/preview', { token: tokens.be, ...init });
    const ok = await preview({ contentType: 'application/json', body: JSON.stringify([record('BE-OA-P1')]) });
    expect(ok.status).toBe(200);
    expect((ok.body as { ok: boolean }).ok).toBe(true);
    const bad = await preview({ contentType: 'application/json', body: '[{"x":' });
    expect(bad.status).toBe(200);
    expect((bad.body as { feedError: { code: string } }).feedError.code).toBe('MALFORMED_FEED');
    const boundary = 'multipart/form-data; boundary=XyZ';
    const noFile = await preview({
      contentType: boundary,
      body: '--XyZ\r\nContent-Disposition: form-data; name="other"\r\n\r\nx\r\n--XyZ--\r\n',
    });
    expect([noFile.status, problemOf(noFile).code]).toEqual([400, 'BAD_REQUEST']);
    const badProfile = await preview({
      contentType: boundary,
      body:
        '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na,b\r\n' +
        '--XyZ\r\nContent-Disposition: form-data; name="profile"\r\n\r\n{"name": 7}\r\n--XyZ--\r\n',
    });
    expect([badProfile.status, problemOf(badProfile).code]).toEqual([400, 'BAD_REQUEST']);
    expect((badProfile.body as { field: string }).field).toBe('name');
    const longBoundary = await preview({ contentType: `multipart/form-data; boundary=${'b'.repeat(71)}`, body: 'x' });
    expect(longBoundary.status).toBe(400);
    const type = await preview({ contentType: 'image/png', body: 'x' });
    expect([type.status, problemOf(type).code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
  });

  it('the push limit per Member State: 429 with Retry-After, as problem details naming the limit', async () => {
    let limited: Answer | undefined;
    for (let i = 0; i < 45 && !limited; i++) {
      const answer = await call('POST', '/ingest/v1/feeds', '/ingest/v1/feeds', {
        token: tokens.nl,
        contentType: 'application/xml',
        body: 'x',
      });
      if (answer.status === 429) limited = answer;
    }
    expect(limited).toBeDefined();
    expect(problemOf(limited!).code).toBe('RATE_LIMITED');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((limited!.body as { limit: string }).limit).toBe('INGEST_PUSHES_PER_MINUTE');
  });

  it('a path under /ingest/v1 that no route serves is a 404 problem, and every route was exercised', async () => {
    for (const [method, path] of [
      ['GET', '/ingest/v1/nothing'],
      ['DELETE', '/ingest/v1/feeds'],
      ['GET', `/ingest/v1/feeds/${'x'.repeat(3_000)}`],
    ] as const) {
      const response = await fetch(`${base}${path}`, { method });
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const body = (await response.json()) as { code: string; detail: string };
      const validate = ajv.getSchema(`${DOC_ID}#/${pointer('components', 'schemas', 'Problem')}`)!;
      expect(validate(body), ajv.errorsText(validate.errors)).toBe(true);
      expect(body.code).toBe('NOT_FOUND');
      expect(body.detail.length).toBeLessThan(300);
    }
    for (const route of INGEST_ROUTES)
      expect(seen.get(`${route.method} ${route.path}`)?.size, `${route.method} ${route.path}`).toBeGreaterThan(0);
  });
});
