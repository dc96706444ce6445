import { describe, expect, it } from 'vitest';
import {
  AuthError,
  mintToken,
  principalFromClaims,
  signPrincipal,
  verifyBearerToken,
  verifyPrincipalHeader,
} from '../../shared/auth.js';
import { loadConfig } from '../../shared/config.js';

const settings = loadConfig({});
const key = settings.INTERNAL_SIGNING_KEY;

describe('principals from tokens', () => {
  it('round-trips every role', async () => {
    for (const claims of [
      { sub: 'a', role: 'MEMBER_STATE', memberState: 'BE' },
      { sub: 'b', role: 'PARTNER', partnerId: 'weldo' },
      { sub: 'c', role: 'EU_ANALYST' },
      { sub: 'd', role: 'SUPPORT_DESK' },
      { sub: 'e', role: 'ADMIN' },
    ]) {
      const principal = principalFromClaims(claims);
      const token = await mintToken(principal, settings);
      expect(await verifyBearerToken(token, settings)).toEqual(principal);
    }
  });

  it.each([
    [{ sub: 'x', role: 'ROOT' }, /role must be one of/],
    [{ sub: 'x', role: 'MEMBER_STATE' }, /must name a participating Member State/],
    [{ sub: 'x', role: 'MEMBER_STATE', memberState: 'us' }, /must name a participating Member State/],
    [{ sub: 'x', role: 'MEMBER_STATE', memberState: 'BEL' }, /must name a participating Member State/],
    [{ sub: 'x', role: 'MEMBER_STATE', memberState: 'B<' }, /must name a participating Member State/],
    [{ sub: 'x', role: 'MEMBER_STATE', memberState: 7 }, /must name a participating Member State/],
    [{ sub: 'x', role: 'PARTNER', partnerId: 'acme' }, /must name a contracted partner/],
    [{ role: 'ADMIN' }, /no subject/],
  ])('refuses incoherent claims %j', (claims, message) => {
    expect(() => principalFromClaims(claims)).toThrow(message);
  });

  it('takes a Member State added after the release (participation is checked against the lists in force)', () => {
    expect(principalFromClaims({ sub: 'x', role: 'MEMBER_STATE', memberState: 'IE' })).toEqual({
      subject: 'x',
      role: 'MEMBER_STATE',
      memberState: 'IE',
    });
  });

  it('refuses expired, foreign-secret, wrong-audience and garbage tokens', async () => {
    const principal = principalFromClaims({ sub: 'a', role: 'ADMIN' });
    const expired = await mintToken(principal, settings, -10);
    await expect(verifyBearerToken(expired, settings)).rejects.toThrow(/expired/);
    const foreign = await mintToken(principal, {
      ...settings,
      AUTH_JWT_SECRET: 'another-secret-of-sufficient-length-123',
    });
    await expect(verifyBearerToken(foreign, settings)).rejects.toThrow(AuthError);
    const otherAudience = await mintToken(principal, { ...settings, AUTH_AUDIENCE: 'elsewhere' });
    await expect(verifyBearerToken(otherAudience, settings)).rejects.toThrow(/"aud"/);
    await expect(verifyBearerToken('not.a.jwt', settings)).rejects.toThrow(AuthError);
    const unsigned =
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.` +
      `${Buffer.from('{"sub":"a","role":"ADMIN"}').toString('base64url')}.`;
    await expect(verifyBearerToken(unsigned, settings)).rejects.toThrow(AuthError);
  });
});

describe('the signed principal header (gateway → subgraph)', () => {
  const principal = principalFromClaims({ sub: 'p', role: 'PARTNER', partnerId: 'irara' });

  it('round-trips a principal and anonymous', () => {
    expect(verifyPrincipalHeader(signPrincipal(principal, key), key)).toEqual(principal);
    expect(verifyPrincipalHeader(signPrincipal(null, key), key)).toBeNull();
  });

  it('refuses a tampered payload, a wrong key, an expired header and garbage', () => {
    const header = signPrincipal(principal, key);
    const [payload, mac] = header.split('.') as [string, string];
    const forged = Buffer.from(
      JSON.stringify({ p: { subject: 'p', role: 'ADMIN' }, exp: Date.now() + 60_000 }),
    ).toString('base64url');
    expect(() => verifyPrincipalHeader(`${forged}.${mac}`, key)).toThrow(/signature/);
    expect(() => verifyPrincipalHeader(header, 'another-key-of-sufficient-length-0000000')).toThrow(/signature/);
    expect(() => verifyPrincipalHeader(signPrincipal(principal, key, Date.now() - 120_000), key)).toThrow(/expired/);
    for (const garbage of ['', 'x', `${payload}`, `${payload}.${mac}.extra`, 'a'.repeat(5000)])
      expect(() => verifyPrincipalHeader(garbage, key)).toThrow(AuthError);
  });
});
