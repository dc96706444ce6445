import { createHmac, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, SignJWT, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import { PARTNERS } from './domain.js';
export { unauthenticated } from './errors.js';

/**
 * Who is asking. Member State authorities act for their Member State, partners for their
 * partner organisation; EU analysts, the support desk, administrators and the data
 * protection officer have no such tie. What each may read is in shared/access.ts.
 */
export const ROLES = [
  'MEMBER_STATE',
  'PARTNER',
  'EU_ANALYST',
  'SUPPORT_DESK',
  'ADMIN',
  'DATA_PROTECTION_OFFICER',
] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  subject: string;
  role: Role;
  memberState?: string;
  partnerId?: string;
}

const PARTNER_IDS = new Set(PARTNERS.map((p) => p.id));
/** ISO 3166-1 alpha-2 in capitals, the form every Member State code has. */
export const MEMBER_STATE_CODE_FORM = /^[A-Z]{2}$/;

export class AuthError extends Error {}

/** Checks the claims make a coherent principal (a Member State role names a participating Member State, ...). */
export function principalFromClaims(claims: Record<string, unknown>): Principal {
  const subject = claims.sub;
  const role = claims.role;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 200)
    throw new AuthError('token has no subject (sub)');
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role))
    throw new AuthError(`token role must be one of ${ROLES.join(', ')}`);
  const principal: Principal = { subject, role: role as Role };
  if (role === 'MEMBER_STATE') {
    // The form only: the support desk adds Member States without a release (the cases subgraph keeps
    // the list in force), so a token for one added since is valid; its scope is its own code, and
    // ingestion and every memberState argument check participation against the list.
    if (typeof claims.memberState !== 'string' || !MEMBER_STATE_CODE_FORM.test(claims.memberState))
      throw new AuthError(
        'a MEMBER_STATE token must name a participating Member State (memberState: ISO 3166-1 alpha-2, capitals)',
      );
    principal.memberState = claims.memberState;
  }
  if (role === 'PARTNER') {
    if (typeof claims.partnerId !== 'string' || !PARTNER_IDS.has(claims.partnerId))
      throw new AuthError('a PARTNER token must name a contracted partner (partnerId)');
    principal.partnerId = claims.partnerId;
  }
  return principal;
}

export interface TokenSettings {
  AUTH_JWT_SECRET: string;
  AUTH_ISSUER: string;
  AUTH_AUDIENCE: string;
  /** The identity provider's key set (OpenID Connect `jwks_uri`); when set, only its keys are accepted. */
  AUTH_JWKS_URL?: string | undefined;
  /** Least time between two fetches of the key set (an unknown `kid` triggers one). */
  AUTH_JWKS_COOLDOWN_MS?: number;
  /** Longest lifetime (`exp` minus `iat`, or minus now) of a locally signed (shared-secret) token. */
  AUTH_MAX_TOKEN_LIFETIME_SECONDS?: number;
}

/** The default of AUTH_MAX_TOKEN_LIFETIME_SECONDS (README, Configuration). */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400;

/** Asymmetric algorithms an identity provider signs with. */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

const keySets = new Map<string, JWTVerifyGetKey>();

/**
 * The provider's keys, fetched once and cached; a token signed with a key the cache does not
 * know (the provider rotated its keys) makes jose fetch the set again, at most once per
 * cooldown, so rotation needs no restart.
 */
function remoteKeySet(url: string, cooldownMs: number): JWTVerifyGetKey {
  const cacheKey = `${url}|${cooldownMs}`;
  let keySet = keySets.get(cacheKey);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(url), {
      cooldownDuration: cooldownMs,
      cacheMaxAge: 10 * 60_000,
      timeoutDuration: 5_000,
    });
    keySets.set(cacheKey, keySet);
  }
  return keySet;
}

/**
 * Verifies a bearer JWT: with the identity provider's key set when AUTH_JWKS_URL is set
 * (production), else HS256 with the shared secret (local development); issuer, audience
 * and expiry are checked either way.
 */
export async function verifyBearerToken(token: string, settings: TokenSettings, now = Date.now()): Promise<Principal> {
  try {
    // A token without an expiry would never expire: `exp` is required, whoever signed it.
    const options = {
      issuer: settings.AUTH_ISSUER,
      audience: settings.AUTH_AUDIENCE,
      requiredClaims: ['exp'],
      currentDate: new Date(now),
    };
    if (settings.AUTH_JWKS_URL) {
      const { payload } = await jwtVerify(
        token,
        remoteKeySet(settings.AUTH_JWKS_URL, settings.AUTH_JWKS_COOLDOWN_MS ?? 30_000),
        { ...options, algorithms: JWKS_ALGORITHMS },
      );
      return principalFromClaims(payload as Record<string, unknown>);
    }
    const { payload } = await jwtVerify(token, new TextEncoder().encode(settings.AUTH_JWT_SECRET), {
      ...options,
      algorithms: ['HS256'],
    });
    // Locally signed tokens are minted by us (npm run token): their lifetime is bounded, counted
    // from their issue time or from now, whichever is earlier (a future `iat` gains nothing).
    const maxLifetime = settings.AUTH_MAX_TOKEN_LIFETIME_SECONDS ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
    const nowSeconds = Math.floor(now / 1000);
    const issuedAt = typeof payload.iat === 'number' ? Math.min(payload.iat, nowSeconds) : nowSeconds;
    if (payload.exp! - issuedAt > maxLifetime)
      throw new AuthError(`token lifetime exceeds ${maxLifetime} seconds (AUTH_MAX_TOKEN_LIFETIME_SECONDS)`);
    return principalFromClaims(payload as Record<string, unknown>);
  } catch (error) {
    if (error instanceof AuthError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new AuthError('token expired');
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'exp' && error.reason === 'missing')
      throw new AuthError('token has no expiry (exp)');
    if (error instanceof joseErrors.JWTClaimValidationFailed)
      throw new AuthError(`token claim "${error.claim}" is not accepted`);
    if (error instanceof joseErrors.JWKSNoMatchingKey)
      throw new AuthError('token is signed with a key the identity provider does not publish');
    if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid)
      throw new AuthError("the identity provider's keys could not be read");
    throw new AuthError('token is not valid');
  }
}

/** A locally signed token valid `ttlSeconds` (at most AUTH_MAX_TOKEN_LIFETIME_SECONDS to be accepted). */
export async function mintToken(principal: Principal, settings: TokenSettings, ttlSeconds = 3600): Promise<string> {
  const claims: Record<string, string> = { role: principal.role };
  if (principal.memberState) claims.memberState = principal.memberState;
  if (principal.partnerId) claims.partnerId = principal.partnerId;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(principal.subject)
    .setIssuer(settings.AUTH_ISSUER)
    .setAudience(settings.AUTH_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(settings.AUTH_JWT_SECRET));
}

/** Header that carries the gateway-verified principal to subgraphs. */
export const PRINCIPAL_HEADER = 'x-avrr-principal';
const PRINCIPAL_TTL_MS = 60_000;

/**
 * Signs the principal (or "anonymous") for one gateway→subgraph hop: payload and expiry,
 * HMAC-SHA256 with a key only the gateway and subgraphs hold.
 */
export function signPrincipal(principal: Principal | null, key: string, now = Date.now()): string {
  const payload = Buffer.from(JSON.stringify({ p: principal, exp: now + PRINCIPAL_TTL_MS }), 'utf8').toString(
    'base64url',
  );
  const mac = createHmac('sha256', key).update(payload).digest('base64url');
  return `${payload}.${mac}`;
}

/** Verifies the signed header; throws AuthError for a forged, malformed or expired one. */
export function verifyPrincipalHeader(header: string, key: string, now = Date.now()): Principal | null {
  const [payload, mac, extra] = header.split('.');
  if (!payload || !mac || extra !== undefined || header.length > 4_096)
    throw new AuthError('principal header is malformed');
  const expected = createHmac('sha256', key).update(payload).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new AuthError('principal header signature is not valid');
  let decoded: { p: Record<string, unknown> | null; exp: number };
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof decoded;
  } catch {
    throw new AuthError('principal header is malformed');
  }
  if (typeof decoded.exp !== 'number' || decoded.exp < now) throw new AuthError('principal header expired');
  if (decoded.p === null) return null;
  return principalFromClaims({
    sub: decoded.p.subject,
    role: decoded.p.role,
    memberState: decoded.p.memberState,
    partnerId: decoded.p.partnerId,
  });
}
