import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { buildSchema, parse } from 'graphql';
import { composeGraph, PUBLISHED_SCHEMA_FILE } from '../../gateway/compose.js';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { corsOrigins, DEVELOPMENT_ORIGINS, sameOrigin, upgradeAllowed } from '../../gateway/web/cors.js';
import { devSignInHandler, isLoopback, parseDevTokenRequest } from '../../gateway/web/dev-signin.js';
import { onlyIntrospection, publishedSdl } from '../../gateway/web/http-schema.js';
import { runtimeConfig } from '../../gateway/web/runtime-config.js';
import {
  assetPathOf,
  cacheControlOf,
  MAX_ASSET_PATH,
  securityHeaders,
  staticHandler,
} from '../../gateway/web/static.js';

describe('CORS allow-list', () => {
  it('CORS_ORIGINS unset: the vite dev server outside production, nobody in production', () => {
    expect([...corsOrigins(loadConfig({}))]).toEqual([...DEVELOPMENT_ORIGINS]);
    expect([...corsOrigins({ NODE_ENV: 'production', CORS_ORIGINS: undefined })]).toEqual([]);
    expect([...corsOrigins(loadConfig({ CORS_ORIGINS: 'https://a.example, https://b.example:8443' }))]).toEqual([
      'https://a.example',
      'https://b.example:8443',
    ]);
  });

  it('CORS_ORIGINS must list exact origins: no wildcard, path, trailing slash or other scheme', () => {
    for (const bad of ['*', 'https://a.example/', 'https://a.example/app', 'ftp://a.example', 'a.example', 'null'])
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS: .*is not an origin/);
    expect(() => loadConfig({ CORS_ORIGINS: `https://a.example,${'x'.repeat(5_000)}` })).toThrow(/CORS_ORIGINS/);
  });

  it('OIDC_ISSUER and OIDC_CLIENT_ID go together, and the issuer is a URL', () => {
    expect(() => loadConfig({ OIDC_ISSUER: 'https://login.example' })).toThrow(/OIDC_CLIENT_ID: .*go together/);
    expect(() => loadConfig({ OIDC_CLIENT_ID: 'dashboard' })).toThrow(/OIDC_ISSUER: .*go together/);
    expect(() => loadConfig({ OIDC_ISSUER: 'javascript:alert(1)', OIDC_CLIENT_ID: 'd' })).toThrow(/OIDC_ISSUER/);
    expect(() => loadConfig({ OIDC_SCOPES: 'openid\nprofile' })).toThrow(/OIDC_SCOPES/);
  });

  it('same origin: the scheme and Host the request came to, nothing looser', () => {
    expect(sameOrigin('http://localhost:4000', 'localhost:4000')).toBe(true);
    expect(sameOrigin('https://avrr.example', 'avrr.example')).toBe(true);
    expect(sameOrigin('http://localhost:4000', 'localhost:4001')).toBe(false);
    expect(sameOrigin('http://localhost:4000.evil.example', 'localhost:4000')).toBe(false);
    expect(sameOrigin('http://localhost:4000/', 'localhost:4000')).toBe(false);
    expect(sameOrigin('null', 'localhost:4000')).toBe(false);
    expect(sameOrigin('file://localhost:4000', 'localhost:4000')).toBe(false);
    expect(sameOrigin('http://localhost:4000', undefined)).toBe(false);
  });

  it('WebSocket upgrades: none, own or listed origins only', () => {
    const listed = new Set(['http://localhost:5173']);
    const upgrade = (headers: Record<string, string | string[]>) =>
      upgradeAllowed({ headers } as Pick<IncomingMessage, 'headers'>, listed);
    expect(upgrade({ host: 'localhost:4000' })).toBe(true);
    expect(upgrade({ host: 'localhost:4000', origin: 'http://localhost:4000' })).toBe(true);
    expect(upgrade({ host: 'localhost:4000', origin: 'http://localhost:5173' })).toBe(true);
    expect(upgrade({ host: 'localhost:4000', origin: 'https://evil.example' })).toBe(false);
    expect(upgrade({ host: 'localhost:4000', origin: '' })).toBe(false);
    expect(upgrade({ host: 'localhost:4000', origin: ['http://localhost:4000', 'x'] })).toBe(false);
  });
});

describe('static paths', () => {
  it('decodes each segment and refuses parents, hidden files, separators and NUL', () => {
    expect(assetPathOf('assets/index-Ab12Cd34.js')).toEqual({ ok: true, relative: 'assets/index-Ab12Cd34.js' });
    expect(assetPathOf('')).toEqual({ ok: true, relative: '' });
    expect(assetPathOf('a%20b.js')).toEqual({ ok: true, relative: 'a b.js' });
    expect(assetPathOf('worklist//x')).toEqual({ ok: true, relative: 'worklist/x' });
    for (const bad of ['..', '%2e%2e/package.json', '%2E%2E', '.env', 'a/../../b', '.']) {
      const result = assetPathOf(bad);
      expect([result.ok, !result.ok && result.status], bad).toEqual([false, 404]);
    }
    for (const bad of ['..%2fpackage.json', '..%5c..%5cx', 'a%00.js', '%', '%ff', 'a%2Fb']) {
      const result = assetPathOf(bad);
      expect([result.ok, !result.ok && result.status], bad).toEqual([false, 400]);
    }
    expect(assetPathOf('a'.repeat(MAX_ASSET_PATH + 1)).ok).toBe(false);
  });

  it('a year for hashed build assets only', () => {
    expect(cacheControlOf('assets/index-Ab12Cd34.js')).toBe('public, max-age=31536000, immutable');
    expect(cacheControlOf('assets/fonts/inter-Ab12Cd34_x.woff2')).toBe('public, max-age=31536000, immutable');
    expect(cacheControlOf('index.html')).toBe('no-cache');
    expect(cacheControlOf('favicon.svg')).toBe('no-cache');
    expect(cacheControlOf('assets/short-ab.js')).toBe('no-cache');
    expect(cacheControlOf('index-Ab12Cd34.js')).toBe('no-cache');
  });

  it('the Content Security Policy lets the page reach the OpenID Connect issuer and nothing else', () => {
    expect(securityHeaders()['content-security-policy']).toBe(
      "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    expect(securityHeaders('https://login.example.eu/realms/avrr')['content-security-policy']).toContain(
      "connect-src 'self' ws: wss: https://login.example.eu;",
    );
  });
});

describe('runtime settings', () => {
  it('OpenID Connect when configured, the role picker in development, nothing in production', () => {
    const base = { OIDC_ISSUER: undefined, OIDC_CLIENT_ID: undefined, OIDC_SCOPES: 'openid profile' };
    expect(runtimeConfig({ ...base, NODE_ENV: 'production' }).auth).toEqual({ mode: 'none' });
    const dev = runtimeConfig({ ...base, NODE_ENV: 'development' }).auth;
    expect(dev.mode).toBe('dev');
    // Trusting an identity provider's keys only, the development sign-in does not exist: no role picker.
    const jwks = { ...base, NODE_ENV: 'development' as const, AUTH_JWKS_URL: 'https://login.example/jwks' };
    expect(runtimeConfig(jwks).auth).toEqual({ mode: 'none' });
    const oidc = runtimeConfig({
      ...base,
      NODE_ENV: 'production',
      OIDC_ISSUER: 'https://login.example',
      OIDC_CLIENT_ID: 'dashboard',
      OIDC_SCOPES: 'openid profile email',
    });
    expect(oidc.auth).toEqual({
      mode: 'oidc',
      issuer: 'https://login.example',
      clientId: 'dashboard',
      scopes: 'openid profile email',
      redirectPath: '/dashboard/callback',
    });
  });

  it('every development principal is one the sign-in accepts', () => {
    const auth = runtimeConfig({
      NODE_ENV: 'test',
      OIDC_ISSUER: undefined,
      OIDC_CLIENT_ID: undefined,
      OIDC_SCOPES: 'openid',
    }).auth;
    if (auth.mode !== 'dev') throw new Error('expected the development sign-in');
    for (const { label: _label, ...body } of auth.principals)
      expect(parseDevTokenRequest(body).ok, body.role).toBe(true);
  });
});

describe('development sign-in', () => {
  it('loopback addresses only', () => {
    for (const address of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1']) expect(isLoopback(address)).toBe(true);
    for (const address of ['10.0.0.5', '192.168.1.1', '::ffff:10.0.0.5', '::', '0.0.0.0', 'localhost', '', undefined])
      expect(isLoopback(address), String(address)).toBe(false);
  });

  it('parses a body into a principal, or names the field at fault', () => {
    expect(parseDevTokenRequest({ role: 'MEMBER_STATE', memberState: 'BE' })).toEqual({
      ok: true,
      principal: { subject: 'dev-member_state-BE', role: 'MEMBER_STATE', memberState: 'BE' },
    });
    const fault = (body: unknown) => {
      const result = parseDevTokenRequest(body);
      return result.ok ? 'accepted' : result.field;
    };
    expect(fault({ role: 'ROOT' })).toBe('role');
    expect(fault({ role: 'PARTNER', partnerId: 'x'.repeat(10_000) })).toBe('partnerId');
    expect(fault({ role: 'EU_ANALYST', partnerId: 'weldo' })).toBe('partnerId');
    expect(fault({ role: 'ADMIN', ['x'.repeat(500)]: 1 })).toHaveLength(40);
    expect(fault(JSON.parse('{"role":"ADMIN","__proto__":{"role":"MEMBER_STATE"}}'))).toBe('__proto__');
    expect(fault(null)).toBe('body');
    expect(fault(42)).toBe('body');
  });

  /** The handler, given a request from `remoteAddress`, and what it answered. */
  async function answerFrom(remoteAddress: string, production = false, headers: Record<string, string> = {}) {
    const config = loadConfig({ NODE_ENV: production ? 'production' : 'development', ...PRODUCTION_SECRETS });
    const handler = devSignInHandler(config);
    const req = Object.assign(Readable.from([Buffer.from('{"role":"ADMIN"}')]), {
      method: 'POST',
      url: '/dashboard/dev-token',
      headers: { 'content-type': 'application/json', host: 'localhost:4000', ...headers },
      socket: { remoteAddress },
    }) as unknown as IncomingMessage;
    let status = 0;
    let body = '';
    const res = {
      req,
      writeHead: (code: number) => {
        status = code;
        return res;
      },
      end: (chunk?: string) => {
        body = chunk ?? '';
        return res;
      },
    } as unknown as ServerResponse;
    const handled = await handler(req, res, new URL('http://localhost:4000/dashboard/dev-token'));
    return { handled, status, body: body ? (JSON.parse(body) as { code: string; detail: string }) : undefined };
  }
  const PRODUCTION_SECRETS = {
    AUTH_JWT_SECRET: 'unit-test-jwt-secret-0123456789abcdefghij',
    INTERNAL_SIGNING_KEY: 'unit-test-signing-key-0123456789abcdefghij',
    PSEUDONYM_KEY: 'unit-test-pseudonym-key-0123456789abcdefghij',
    CASE_ID_KEY: 'unit-test-case-id-key-0123456789abcdefghij',
  };

  it('refuses another machine (403) before reading the body', async () => {
    for (const address of ['10.0.0.5', '203.0.113.7', '::ffff:192.168.0.2', '2001:db8::1']) {
      const answer = await answerFrom(address);
      expect([answer.handled, answer.status, answer.body?.code], address).toEqual([true, 403, 'FORBIDDEN']);
      expect(answer.body?.detail).toContain('this machine only');
    }
  });

  it('refuses a page whose name was rebound to this machine (DNS rebinding): Host must name it', async () => {
    // The attacker's page at http://rebind.example:4000, its name now resolving to 127.0.0.1: the browser
    // sends that Origin and Host, and the page may read the answer (same origin, as the browser sees it).
    for (const host of ['rebind.example:4000', 'rebind.example', '127.0.0.1.nip.io:4000', 'localhost.evil:4000', '']) {
      const origin = `http://${host}`;
      for (const headers of [{ host, origin }, { host }] as Array<Record<string, string>>) {
        const answer = await answerFrom('127.0.0.1', false, headers);
        expect([answer.status, answer.body?.code], JSON.stringify(headers)).toEqual([403, 'FORBIDDEN']);
        expect(answer.body?.detail).toContain('Host');
      }
    }
    for (const host of ['localhost:4000', '127.0.0.1:4000', '[::1]:4000', 'localhost', '127.0.0.2:4000']) {
      const answer = await answerFrom('127.0.0.1', false, { host, origin: `http://${host}` });
      expect(answer.status, host).toBe(200);
    }
  });

  it('refuses a request any usual reverse proxy forwarded (403)', async () => {
    const headers = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'via'];
    for (const name of headers) {
      const answer = await answerFrom('127.0.0.1', false, { [name]: name === 'via' ? '1.1 nginx' : '203.0.113.9' });
      expect([answer.status, answer.body?.detail], name).toEqual([403, expect.stringContaining('through a proxy')]);
    }
  });

  it('does not exist in production (404), whoever asks', async () => {
    for (const address of ['127.0.0.1', '10.0.0.5']) {
      const answer = await answerFrom(address, true);
      expect([answer.status, answer.body?.code]).toEqual([404, 'NOT_FOUND']);
    }
  });
});

describe('introspection-only operations', () => {
  it('only when every root field is an introspection field', () => {
    const operationOf = (source: string) => {
      const definition = parse(source).definitions[0]!;
      if (definition.kind !== 'OperationDefinition') throw new Error('not an operation');
      return definition;
    };
    expect(onlyIntrospection(operationOf('{ __schema { types { name } } }'))).toBe(true);
    expect(onlyIntrospection(operationOf('query Q { __type(name: "Case") { name } __typename }'))).toBe(true);
    expect(onlyIntrospection(operationOf('{ __schema { types { name } } cases { totalCount } }'))).toBe(false);
    expect(onlyIntrospection(operationOf('{ ...F } fragment F on Query { __typename }'))).toBe(false);
  });
});

describe('docs/schema.graphql', () => {
  it('is the API the subgraphs compose to, with the subscriptions and no federation internals', () => {
    const committed = readFileSync(PUBLISHED_SCHEMA_FILE, 'utf8');
    expect(committed, 'stale: run npm run compose').toBe(publishedSdl(composeGraph().apiSchema));
    const schema = buildSchema(committed);
    expect(Object.keys(schema.getSubscriptionType()!.getFields())).toEqual([
      'caseEvents',
      'worklistChanged',
      'indicatorBreached',
    ]);
    expect(committed).not.toMatch(/join__|link__|@link|_Entity|_Service|_entities/);
  });
});

describe('a missing build', () => {
  it('says how to build it, and where it looked only outside production', async () => {
    const detailOf = async (production: boolean) => {
      const handler = staticHandler({ dir: '/nonexistent/avrr/dist', production });
      let body = '';
      let status = 0;
      const req = { method: 'GET', url: '/dashboard/', headers: {} } as unknown as IncomingMessage;
      const res = {
        req,
        writeHead: (code: number) => ((status = code), res),
        end: (chunk?: string) => ((body = chunk ?? ''), res),
      } as unknown as ServerResponse;
      await handler(req, res, new URL('http://localhost/dashboard/'));
      return { status, detail: (JSON.parse(body) as { detail: string }).detail };
    };
    expect(await detailOf(false)).toEqual({
      status: 503,
      detail: expect.stringContaining('/nonexistent/avrr/dist/index.html'),
    });
    const production = await detailOf(true);
    expect(production.status).toBe(503);
    expect(production.detail).toContain('npm run dashboard:build');
    expect(production.detail).not.toContain('/nonexistent');
  });
});
