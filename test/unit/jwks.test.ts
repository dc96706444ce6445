import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, mintToken, verifyBearerToken, type TokenSettings } from '../../shared/auth.js';

/** Production identity: tokens signed by an identity provider whose keys come from its JWKS URL. */
describe('bearer tokens from an OpenID Connect provider (JWKS)', () => {
  let server: Server;
  let published: JWK[] = [];
  let fetches = 0;
  let settings: TokenSettings;
  const keys: Record<string, Awaited<ReturnType<typeof generateKeyPair>>['privateKey']> = {};

  const sign = (
    kid: string,
    claims: Record<string, unknown> = { role: 'EU_ANALYST' },
    overrides: { issuer?: string; audience?: string; exp?: number } = {},
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject('analyst@eu')
      .setIssuer(overrides.issuer ?? 'https://idp.example')
      .setAudience(overrides.audience ?? 'avrr-graph')
      .setIssuedAt()
      .setExpirationTime(overrides.exp ?? Math.floor(Date.now() / 1000) + 300)
      .sign(keys[kid]!);

  beforeAll(async () => {
    for (const kid of ['2026-a', '2026-b']) {
      const pair = await generateKeyPair('RS256', { extractable: true });
      keys[kid] = pair.privateKey;
      const jwk = await exportJWK(pair.publicKey);
      (keys as Record<string, unknown>)[`public:${kid}`] = { ...jwk, kid, alg: 'RS256', use: 'sig' };
    }
    published = [(keys as unknown as Record<string, JWK>)['public:2026-a']!];
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    settings = {
      AUTH_JWT_SECRET: 'development-only-jwt-secret-change-me-0000',
      AUTH_ISSUER: 'https://idp.example',
      AUTH_AUDIENCE: 'avrr-graph',
      AUTH_JWKS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
      AUTH_JWKS_COOLDOWN_MS: 0,
    };
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('accepts a token signed with a published key, and fetches the key set once', async () => {
    const before = fetches;
    expect(await verifyBearerToken(await sign('2026-a'), settings)).toEqual({
      subject: 'analyst@eu',
      role: 'EU_ANALYST',
    });
    expect(
      await verifyBearerToken(await sign('2026-a', { role: 'MEMBER_STATE', memberState: 'BE' }), settings),
    ).toMatchObject({ memberState: 'BE' });
    expect(fetches - before).toBe(1);
  });

  it('follows a key rotation without a restart; retired keys stop working', async () => {
    published = [(keys as unknown as Record<string, JWK>)['public:2026-b']!];
    expect(await verifyBearerToken(await sign('2026-b'), settings)).toMatchObject({ role: 'EU_ANALYST' });
    await expect(verifyBearerToken(await sign('2026-a'), settings)).rejects.toThrow(/does not publish/);
  });

  it('checks issuer, audience, expiry and claims; refuses shared-secret tokens once a provider is set', async () => {
    await expect(
      verifyBearerToken(await sign('2026-b', { role: 'EU_ANALYST' }, { issuer: 'https://evil.example' }), settings),
    ).rejects.toThrow(/claim "iss"/);
    await expect(
      verifyBearerToken(await sign('2026-b', { role: 'EU_ANALYST' }, { audience: 'another-api' }), settings),
    ).rejects.toThrow(/claim "aud"/);
    await expect(
      verifyBearerToken(
        await sign('2026-b', { role: 'EU_ANALYST' }, { exp: Math.floor(Date.now() / 1000) - 60 }),
        settings,
      ),
    ).rejects.toThrow(/expired/);
    await expect(verifyBearerToken(await sign('2026-b', { role: 'ROOT' }), settings)).rejects.toThrow(
      /role must be one of/,
    );
    const local = await mintToken({ subject: 'x', role: 'ADMIN' }, settings);
    await expect(verifyBearerToken(local, settings)).rejects.toBeInstanceOf(AuthError);
    // Without a provider, the same local token is fine (development).
    expect(await verifyBearerToken(local, { ...settings, AUTH_JWKS_URL: undefined })).toMatchObject({ role: 'ADMIN' });
  });
});
