import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  lexicographicSortSchema,
  printSchema,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Config } from '../../shared/config.js';
import { startService, type RunningService } from '../../shared/http.js';
import { webHandlers } from '../../gateway/web/index.js';
import { silentLogger, startTestSystem, testConfig, type TestSystem } from '../helpers/system.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const HASHED = 'assets/index-Ab12Cd34.js';
const SECRETS = {
  AUTH_JWT_SECRET: 'dashboard-test-jwt-secret-0123456789abcdef',
  INTERNAL_SIGNING_KEY: 'dashboard-test-signing-key-0123456789abcdef',
  PSEUDONYM_KEY: 'dashboard-test-pseudonym-key-0123456789abcdef',
  CASE_ID_KEY: 'dashboard-test-case-id-key-0123456789abcdef',
};

/** A stand-in for `npm run dashboard:build`'s output, a secret beside it and a link out of it. */
function standInBuild(): { root: string; dist: string } {
  const root = mkdtempSync(join(tmpdir(), 'avrr-dashboard-'));
  const dist = join(root, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>AVRR dashboard</title><div id="root"></div>');
  writeFileSync(join(dist, 'ide.html'), '<!doctype html><title>AVRR GraphQL IDE</title>');
  writeFileSync(join(dist, HASHED), 'console.log("dashboard");');
  writeFileSync(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dist, '.env'), 'SECRET=in-the-build');
  writeFileSync(join(root, 'secret.txt'), 'SECRET=beside-the-build');
  symlinkSync(join(root, 'secret.txt'), join(dist, 'linked.txt'));
  return { root, dist };
}

/** A raw request, the path sent exactly as written (fetch would normalise `..` and `%2e%2e`). */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: body === undefined ? headers : { 'content-length': String(Buffer.byteLength(body)), ...headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Whether a WebSocket to `url` with `origin` opens, or the status it was refused with. */
function openSocket(url: string, origin?: string): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', origin ? { headers: { origin } } : {});
    socket.on('open', () => {
      socket.close();
      resolve('open');
    });
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('error', (error) => reject(error));
  });
}

/** Only the browser routes, on a server of their own (modes the full gateway in this file does not run in). */
async function webOnly(config: Config): Promise<RunningService> {
  return startService({
    name: 'web-test',
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger,
    handlers: webHandlers(config, ROOT),
    readiness: {},
    onShutdown: async () => undefined,
    shutdownTimeoutMs: 1_000,
  });
}

describe('the gateway serves the dashboard, its sign-in and the IDE; browsers call it from allowed origins', () => {
  let system: TestSystem;
  let base: string;
  let build: { root: string; dist: string };
  const services: RunningService[] = [];

  beforeAll(async () => {
    build = standInBuild();
    system = await startTestSystem({ config: testConfig({ ...SECRETS, DASHBOARD_DIR: build.dist }) });
    base = system.gateway.url;
  });
  afterAll(async () => {
    await Promise.all(services.map((s) => s.shutdown('test done')));
    await system?.stop();
    rmSync(build.root, { recursive: true, force: true });
  });

  describe('CORS', () => {
    it('a listed origin: the preflight is 204 with what the graph takes, its requests carry the origin', async () => {
      const preflight = await raw(base, 'OPTIONS', '/graphql', {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('http://localhost:5173');
      expect(preflight.headers['access-control-allow-methods']).toContain('POST');
      for (const header of ['authorization', 'content-type', 'x-request-id', 'apollo-require-preflight'])
        expect(preflight.headers['access-control-allow-headers']).toContain(header);
      expect(preflight.headers.vary).toContain('Origin');
      expect(Number(preflight.headers['access-control-max-age'])).toBeGreaterThan(0);

      const real = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { origin: 'http://127.0.0.1:5173', 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(real.status).toBe(200);
      expect(real.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
      expect(real.headers.get('vary')).toContain('Origin');
      expect(await real.json()).toEqual({ data: { __typename: 'Query' } });
    });

    it('an unlisted origin: the preflight is 403 problem details, its requests get no CORS headers', async () => {
      for (const origin of ['https://evil.example', 'null', 'http://localhost:5174', 'http://localhost:5173/']) {
        const preflight = await raw(base, 'OPTIONS', '/graphql', {
          origin,
          'access-control-request-method': 'POST',
        });
        expect(preflight.status, origin).toBe(403);
        expect(preflight.headers['content-type']).toContain('application/problem+json');
        expect(JSON.parse(preflight.body)).toMatchObject({ code: 'FORBIDDEN', status: 403 });
        expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
      }
      // A hostile Origin of 8,000 characters: refused, and not echoed whole.
      const huge = await raw(base, 'OPTIONS', '/graphql', {
        origin: `https://${'a'.repeat(8_000)}.example`,
        'access-control-request-method': 'POST',
      });
      expect(huge.status).toBe(403);
      expect(huge.body.length).toBeLessThan(1_500);
      const real = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(real.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('a WebSocket from a foreign origin: 403; without an origin, its own or a listed one: opens', async () => {
      const ws = `${base.replace('http', 'ws')}/graphql`;
      expect(await openSocket(ws, 'https://evil.example')).toBe(403);
      expect(await openSocket(ws, 'null')).toBe(403);
      expect(await openSocket(ws, 'http://localhost:1')).toBe(403);
      expect(await openSocket(ws, `http://${'a'.repeat(8_000)}`)).toBe(403);
      expect(await openSocket(ws)).toBe('open');
      expect(await openSocket(ws, base)).toBe('open');
      expect(await openSocket(ws, 'http://localhost:5173')).toBe('open');
    });
  });

  describe('static files', () => {
    it('serves the build: index for routes of the page, hashed assets immutable, html revalidated', async () => {
      const index = await fetch(`${base}/dashboard/`);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toContain('text/html');
      expect(index.headers.get('cache-control')).toBe('no-cache');
      const csp = index.headers.get('content-security-policy') ?? '';
      for (const part of ["default-src 'self'", 'connect-src', "frame-ancestors 'none'", "base-uri 'none'"])
        expect(csp).toContain(part);
      expect(index.headers.get('x-content-type-options')).toBe('nosniff');
      expect(index.headers.get('referrer-policy')).toBe('no-referrer');
      expect(await index.text()).toContain('AVRR dashboard');

      const route = await fetch(`${base}/dashboard/worklist/cases/abc`);
      expect([route.status, await route.text()]).toEqual([200, expect.stringContaining('AVRR dashboard')]);

      const asset = await fetch(`${base}/dashboard/${HASHED}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toContain('text/javascript');
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const etag = asset.headers.get('etag')!;
      const again = await fetch(`${base}/dashboard/${HASHED}`, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);

      const plain = await fetch(`${base}/dashboard/favicon.svg`);
      expect([plain.status, plain.headers.get('cache-control')]).toEqual([200, 'no-cache']);
      // A missing asset is 404, never the page in its place.
      const missing = await fetch(`${base}/dashboard/assets/index-Zz99Yy88.js`);
      expect(missing.status).toBe(404);

      const bare = await fetch(`${base}/dashboard`, { redirect: 'manual' });
      expect([bare.status, bare.headers.get('location')]).toEqual([308, '/dashboard/']);
    });

    it('never serves a file outside the build, a hidden one or a linked one', async () => {
      const attempts = [
        '/dashboard/../package.json',
        '/dashboard/%2e%2e/package.json',
        '/dashboard/%2E%2E/%2e%2e/package.json',
        '/dashboard/..%2fpackage.json',
        '/dashboard/..%5cpackage.json',
        '/dashboard/assets/..%2f..%2f..%2fpackage.json',
        '/dashboard/%00',
        '/dashboard/index.html%00.js',
        '/dashboard/%ff%fe',
        '/dashboard/%',
        '/dashboard/.env',
        '/dashboard/%2eenv',
        '/dashboard/linked.txt',
        '/dashboard//etc/passwd',
        `/dashboard/${'a/'.repeat(2_000)}x.js`,
        `/dashboard/${'%2e%2e/'.repeat(500)}package.json`,
      ];
      const packageJson = readFileSync(join(ROOT, 'package.json'), 'utf8').slice(0, 40);
      for (const path of attempts) {
        const answer = await raw(base, 'GET', path);
        expect(answer.body, path).not.toContain(packageJson);
        expect(answer.body, path).not.toContain('SECRET=');
        expect(answer.body, path).not.toContain('root:');
        // Either refused, or the page itself (a route it may have), never another file.
        if (answer.status === 200) expect(answer.body, path).toContain('AVRR dashboard');
        else expect([400, 404], path).toContain(answer.status);
      }
    });

    it('GET and HEAD only', async () => {
      const head = await raw(base, 'HEAD', `/dashboard/${HASHED}`);
      const size = String(readFileSync(join(build.dist, HASHED)).length);
      expect([head.status, head.body, head.headers['content-length']]).toEqual([200, '', size]);
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const answer = await raw(base, method, '/dashboard/index.html', { 'content-type': 'text/plain' }, 'x');
        expect(answer.status, method).toBe(405);
        expect(answer.headers.allow).toBe('GET, HEAD');
        expect(JSON.parse(answer.body)).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
      }
    });

    it('the IDE at /ide, and a browser opening /graphql is sent there', async () => {
      const ide = await fetch(`${base}/ide`);
      expect([ide.status, await ide.text()]).toEqual([200, expect.stringContaining('GraphQL IDE')]);
      expect(ide.headers.get('content-security-policy')).toContain("default-src 'self'");
      const browser = await fetch(`${base}/graphql`, { headers: { accept: 'text/html,*/*' }, redirect: 'manual' });
      expect([browser.status, browser.headers.get('location')]).toEqual([302, '/ide']);
      // A GraphQL GET is still one.
      const get = await fetch(`${base}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
        headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
      });
      expect(await get.json()).toEqual({ data: { __typename: 'Query' } });
    });

    it('without a build the routes answer 503 saying how to build it', async () => {
      const service = await webOnly(testConfig({ DASHBOARD_DIR: join(build.root, 'no-such-dist') }));
      services.push(service);
      for (const path of ['/dashboard/', '/dashboard/worklist', '/ide']) {
        const answer = await fetch(`${service.url}${path}`);
        expect(answer.status, path).toBe(503);
        const body = (await answer.json()) as { code: string; detail: string };
        expect(body.code).toBe('SERVICE_UNAVAILABLE');
        expect(body.detail).toContain('npm run dashboard:build');
        expect(body.detail).toContain(join(build.root, 'no-such-dist'));
      }
    });
  });

  describe('runtime settings (config.json)', () => {
    it('development: the role picker, every role, several Member States and the demo partners', async () => {
      const answer = await fetch(`${base}/dashboard/config.json`);
      expect(answer.headers.get('cache-control')).toBe('no-cache');
      const body = (await answer.json()) as {
        graphqlPath: string;
        auth: { mode: string; principals: Array<{ role: string; memberState?: string; partnerId?: string }> };
        defaultLocale: string;
        locales: string[];
      };
      expect(body).toMatchObject({ graphqlPath: '/graphql', defaultLocale: 'en', locales: ['en'] });
      expect(body.auth.mode).toBe('dev');
      const roles = new Set(body.auth.principals.map((p) => p.role));
      expect([...roles].sort()).toEqual(
        ['ADMIN', 'DATA_PROTECTION_OFFICER', 'EU_ANALYST', 'MEMBER_STATE', 'PARTNER', 'SUPPORT_DESK'].sort(),
      );
      expect(body.auth.principals.filter((p) => p.memberState).length).toBeGreaterThanOrEqual(3);
      expect(body.auth.principals.map((p) => p.partnerId).filter(Boolean)).toEqual(
        expect.arrayContaining(['weldo', 'irara', 'caritas-be', 'life-makers', 'ettc']),
      );
    });

    it('OpenID Connect when its issuer and client are set; production without them: no sign-in', async () => {
      const oidc = await webOnly(
        testConfig({ OIDC_ISSUER: 'https://login.example.eu/realms/avrr', OIDC_CLIENT_ID: 'avrr-dashboard' }),
      );
      const production = await webOnly(testConfig({ ...SECRETS, NODE_ENV: 'production' }));
      services.push(oidc, production);
      const oidcAnswer = await fetch(`${oidc.url}/dashboard/config.json`);
      expect(((await oidcAnswer.json()) as { auth: unknown }).auth).toEqual({
        mode: 'oidc',
        issuer: 'https://login.example.eu/realms/avrr',
        clientId: 'avrr-dashboard',
        scopes: 'openid profile',
        redirectPath: '/dashboard/callback',
      });
      expect(oidcAnswer.headers.get('content-security-policy')).toContain(
        "connect-src 'self' ws: wss: https://login.example.eu;",
      );
      const productionAnswer = await fetch(`${production.url}/dashboard/config.json`);
      expect(((await productionAnswer.json()) as { auth: unknown }).auth).toEqual({ mode: 'none' });
      // Production: no development sign-in, no IDE, no redirect of /graphql.
      const token = await fetch(`${production.url}/dashboard/dev-token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'ADMIN' }),
      });
      expect(token.status).toBe(404);
      expect((await fetch(`${production.url}/ide`)).status).toBe(404);
      const preflight = await raw(production.url, 'OPTIONS', '/graphql', {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
      });
      expect(preflight.status).toBe(403);
    });
  });

  describe('development sign-in (POST /dashboard/dev-token)', () => {
    const signIn = (body: string, headers: Record<string, string> = {}) =>
      raw(base, 'POST', '/dashboard/dev-token', { 'content-type': 'application/json', ...headers }, body);

    it('mints a one-hour token for each role that the graph accepts as that principal', async () => {
      const bodies = [
        { role: 'ADMIN' },
        { role: 'EU_ANALYST' },
        { role: 'SUPPORT_DESK' },
        { role: 'DATA_PROTECTION_OFFICER' },
        { role: 'MEMBER_STATE', memberState: 'BE' },
        { role: 'PARTNER', partnerId: 'weldo' },
      ];
      for (const body of bodies) {
        const answer = await signIn(JSON.stringify(body));
        expect(answer.status, body.role).toBe(200);
        expect(answer.headers['cache-control']).toBe('no-store');
        const { token, expiresAt } = JSON.parse(answer.body) as { token: string; expiresAt: string };
        const lifetime = Date.parse(expiresAt) - Date.now();
        expect(lifetime).toBeGreaterThan(3_500_000);
        expect(lifetime).toBeLessThanOrEqual(3_600_000);
        const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
          string,
          unknown
        >;
        expect(claims).toMatchObject(body);
        const graph = await system.graphql<{ __typename: string }>(
          '{ __typename }',
          {},
          {
            authorization: `Bearer ${token}`,
          },
        );
        expect([graph.status, graph.body.data]).toEqual([200, { __typename: 'Query' }]);
      }
    });

    it('a bad role or code, an unknown field, a body that is not JSON: 400 naming the field', async () => {
      const cases: Array<[string, string]> = [
        [JSON.stringify({ role: 'SUPERUSER' }), 'role'],
        [JSON.stringify({}), 'role'],
        [JSON.stringify({ role: 'MEMBER_STATE' }), 'memberState'],
        [JSON.stringify({ role: 'MEMBER_STATE', memberState: 'XX' }), 'memberState'],
        [JSON.stringify({ role: 'MEMBER_STATE', memberState: 'be' }), 'memberState'],
        [JSON.stringify({ role: 'MEMBER_STATE', memberState: ['BE'] }), 'memberState'],
        [JSON.stringify({ role: 'PARTNER', partnerId: 'evil-corp' }), 'partnerId'],
        [JSON.stringify({ role: 'PARTNER' }), 'partnerId'],
        [JSON.stringify({ role: 'ADMIN', memberState: 'BE' }), 'memberState'],
        [JSON.stringify({ role: 'ADMIN', subject: 'root' }), 'subject'],
        [JSON.stringify({ role: 'ADMIN', __proto__: { x: 1 }, constructor: 1 }), 'constructor'],
        [JSON.stringify([{ role: 'ADMIN' }]), 'body'],
        [JSON.stringify('ADMIN'), 'body'],
        ['null', 'body'],
        ['{"role": "ADMIN"', 'body'],
        ['', 'body'],
      ];
      for (const [body, field] of cases) {
        const answer = await signIn(body);
        expect(answer.status, body).toBe(400);
        expect(answer.headers['content-type']).toContain('application/problem+json');
        const problem = JSON.parse(answer.body) as { field: string; detail: string };
        expect(problem.field, body).toBe(field);
        expect(problem.detail.length).toBeGreaterThan(0);
      }
      const form = await signIn('role=ADMIN', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(form.status).toBe(400);
    });

    it('over 1 KiB: 413; another site or a proxy: 403; other methods: 405', async () => {
      const big = await signIn(JSON.stringify({ role: 'ADMIN', pad: 'x'.repeat(2_000) }));
      expect([big.status, JSON.parse(big.body).code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      const foreign = await signIn(JSON.stringify({ role: 'ADMIN' }), { origin: 'https://evil.example' });
      expect(foreign.status).toBe(403);
      const proxied = await signIn(JSON.stringify({ role: 'ADMIN' }), { 'x-forwarded-for': '203.0.113.9' });
      expect(proxied.status).toBe(403);
      const own = await signIn(JSON.stringify({ role: 'ADMIN' }), { origin: base });
      expect(own.status).toBe(200);
      // The page under `vite dev` (a CORS_ORIGINS origin) signs in too.
      const viteDev = await signIn(JSON.stringify({ role: 'ADMIN' }), { origin: 'http://localhost:5173' });
      expect(viteDev.status).toBe(200);
      const get = await raw(base, 'GET', '/dashboard/dev-token');
      expect([get.status, get.headers.allow]).toEqual([405, 'POST']);
    });
  });

  describe('subscriptions in the HTTP schema', () => {
    it('introspection shows Subscription and its fields, as docs/schema.graphql publishes them', async () => {
      const answer = await system.graphql<IntrospectionQuery>(
        getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }),
      );
      expect(answer.status).toBe(200);
      const schema = buildClientSchema(answer.body.data!);
      const subscription = schema.getSubscriptionType();
      expect(subscription?.name).toBe('Subscription');
      expect(Object.keys(subscription!.getFields())).toEqual(
        expect.arrayContaining(['caseEvents', 'worklistChanged', 'indicatorBreached']),
      );
      const published = readFileSync(join(ROOT, 'docs/schema.graphql'), 'utf8');
      expect(published).toContain('caseEvents(filter: CaseEventFilter, after: ID): CaseEventMessage!');
      expect(published).not.toMatch(/join__|link__|_entities|_service/);
      // What the gateway introspects is what the file publishes (same types, fields and descriptions).
      const sorted = (sdl: GraphQLSchema) => printSchema(lexicographicSortSchema(sdl));
      expect(sorted(schema)).toBe(sorted(buildSchema(published)));
    });

    it('a subscription sent over HTTP: 400 saying to use graphql-ws on the same URL', async () => {
      const answer = await system.graphql('subscription { caseEvents { id type } }');
      expect(answer.status).toBe(400);
      expect(answer.body.data).toBeUndefined();
      expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
      expect(answer.body.errors?.[0]?.message).toMatch(/graphql-ws.*same URL/);
    });
  });
});
