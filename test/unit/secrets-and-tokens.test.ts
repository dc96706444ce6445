import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decodeJwt, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { mintToken, principalFromClaims, verifyBearerToken } from '../../shared/auth.js';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { validRequestId } from '../../shared/http.js';
import { requestIdOf } from '../../gateway/server.js';

const settings = loadConfig({});
const secret = new TextEncoder().encode(settings.AUTH_JWT_SECRET);
const principal = principalFromClaims({ sub: 'a', role: 'ADMIN' });
const signed = (claims: { exp?: number; iat?: number }) => {
  const jwt = new SignJWT({ role: 'ADMIN' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('a')
    .setIssuer(settings.AUTH_ISSUER)
    .setAudience(settings.AUTH_AUDIENCE);
  if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
  if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
  return jwt.sign(secret);
};
const now = () => Math.floor(Date.now() / 1000);

describe('bearer tokens must expire', () => {
  it('refuses a token without exp', async () => {
    await expect(verifyBearerToken(await signed({ iat: now() }), settings)).rejects.toThrow(
      'token has no expiry (exp)',
    );
    await expect(verifyBearerToken(await signed({}), settings)).rejects.toThrow('token has no expiry (exp)');
  });

  it('refuses a local token living longer than AUTH_MAX_TOKEN_LIFETIME_SECONDS, counted from iat or now', async () => {
    expect(settings.AUTH_MAX_TOKEN_LIFETIME_SECONDS).toBe(86_400);
    await expect(verifyBearerToken(await signed({ iat: now(), exp: now() + 86_400 + 60 }), settings)).rejects.toThrow(
      /token lifetime exceeds 86400 seconds/,
    );
    // No iat: counted from now. A future iat does not shorten the count.
    await expect(verifyBearerToken(await signed({ exp: now() + 2 * 86_400 }), settings)).rejects.toThrow(
      /lifetime exceeds/,
    );
    await expect(
      verifyBearerToken(await signed({ iat: now() + 5 * 86_400, exp: now() + 5 * 86_400 + 600 }), settings),
    ).rejects.toThrow(/lifetime exceeds/);
    // Within the bound: accepted; a stricter setting refuses the same token.
    const day = await signed({ iat: now(), exp: now() + 86_000 });
    await expect(verifyBearerToken(day, settings)).resolves.toEqual(principal);
    await expect(verifyBearerToken(day, { ...settings, AUTH_MAX_TOKEN_LIFETIME_SECONDS: 3_600 })).rejects.toThrow(
      /lifetime exceeds 3600/,
    );
    await expect(verifyBearerToken(await mintToken(principal, settings), settings)).resolves.toEqual(principal);
  });
});

describe('npm run token', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/token.ts', ...args], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
      env: { ...process.env, AUTH_MAX_TOKEN_LIFETIME_SECONDS: '7200' },
    });

  it('mints tokens with an expiry, and no longer-lived than the gateway accepts', () => {
    const ok = run(['--role', 'ADMIN', '--ttl', '7200']);
    expect(ok.status, ok.stderr).toBe(0);
    const claims = decodeJwt(ok.stdout.trim());
    expect(claims.exp! - claims.iat!).toBe(7200);
    const tooLong = run(['--role', 'ADMIN', '--ttl', '7201']);
    expect(tooLong.status).toBe(2);
    expect(tooLong.stderr).toContain('--ttl must be 1 to 7200 seconds (AUTH_MAX_TOKEN_LIFETIME_SECONDS)');
  }, 30_000);
});

describe('malformed secrets are not echoed', () => {
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('names a bad secret without its value', () => {
    const message = problemsOf({
      AUTH_JWT_SECRET: 'hunter2-too-short',
      INTERNAL_SIGNING_KEY: 'sig-key-too-short',
      PSEUDONYM_KEY: 'pseudo-too-short',
      CASE_ID_KEY: 'caseid-too-short',
    });
    for (const [name, value] of [
      ['AUTH_JWT_SECRET', 'hunter2-too-short'],
      ['INTERNAL_SIGNING_KEY', 'sig-key-too-short'],
      ['PSEUDONYM_KEY', 'pseudo-too-short'],
      ['CASE_ID_KEY', 'caseid-too-short'],
    ]) {
      expect(message).toContain(`${name}: must be at least 32 characters`);
      expect(message).not.toContain(value);
    }
    expect(message).toContain('(got 17 characters, not shown)');
  });

  it('shows a bad URL without its credentials or query, parseable or not', () => {
    const message = problemsOf({
      MONGO_URL: 'http://admin:s3cr3t-Pa55@db.internal:27017/?tlsCertificateKeyFilePassword=k3y-pa55',
      REDIS_URL: 'ftp://:r3d1s-p@ss/w?rd#x@cache:6379',
      AUTH_JWKS_URL: 'not a url with token=abc',
    });
    for (const leaked of ['s3cr3t', 'k3y-pa55', 'r3d1s', 'w?rd', 'rd#x']) expect(message).not.toContain(leaked);
    expect(message).toContain(
      'MONGO_URL: must be a URL starting with mongodb:// or mongodb+srv:// (got "http://***@db.internal:27017/?…")',
    );
    expect(message).toContain(
      'REDIS_URL: must be a URL starting with redis:// or rediss:// (got "ftp://***@cache:6379")',
    );
    expect(message).toContain('AUTH_JWKS_URL');
  });

  it('keeps staged feed records 7 days by default', () => {
    expect(settings.INGEST_STAGED_DAYS).toBe(7);
    expect(() => loadConfig({ INGEST_STAGED_DAYS: '31' })).toThrow(/INGEST_STAGED_DAYS/);
  });
});

describe('request ids', () => {
  it('accepts a well-formed client id and records that the client made it; replaces anything else', () => {
    expect(validRequestId('client-abc.1_2')).toBe('client-abc.1_2');
    expect(validRequestId('x')).toBe('x');
    for (const bad of [
      'ws:fake:1',
      'ws:00000000-0000-0000-0000-000000000000:1-0',
      'a b',
      'a'.repeat(129),
      '',
      'ü-id',
      'id\n2',
    ])
      expect(validRequestId(bad), bad).toBeNull();
    expect(validRequestId(['a', 'b'])).toBeNull();
    expect(requestIdOf('client-abc.1_2')).toEqual({ requestId: 'client-abc.1_2', requestIdSource: 'CLIENT' });
    const replaced = requestIdOf('ws:fake:1');
    expect(replaced.requestIdSource).toBe('GATEWAY');
    expect(replaced.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
