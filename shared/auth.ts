import { createHmac, timingSafeEqual } from 'node:crypto';
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import { GraphQLError } from 'graphql';
import { MEMBER_STATE_CODES, PARTNERS } from './domain.js';

/**
 * Who is asking. Member State authorities act for their Member State, partners for their
 * partner organisation; EU analysts, the support desk and administrators have no such tie.
 */
export const ROLES = ['MEMBER_STATE', 'PARTNER', 'EU_ANALYST', 'SUPPORT_DESK', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  subject: string;
  role: Role;
  memberState?: string;
  partnerId?: string;
}

const PARTNER_IDS = new Set(PARTNERS.map((p) => p.id));

export class AuthError extends Error {}

/** Checks the claims make a coherent principal (a Member State role names a participating Member State, ...). */
export function principalFromClaims(claims: Record<string, unknown>): Principal {
  const subject = claims.sub;
  const role = claims.role;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 200) throw new AuthError('token has no subject (sub)');
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) throw new AuthError(`token role must be one of ${ROLES.join(', ')}`);
  const principal: Principal = { subject, role: role as Role };
  if (role === 'MEMBER_STATE') {
    if (typeof claims.memberState !== 'string' || !MEMBER_STATE_CODES.has(claims.memberState)) throw new AuthError('a MEMBER_STATE token must name a participating Member State (memberState)');
    principal.memberState = claims.memberState;
  }
  if (role === 'PARTNER') {
    if (typeof claims.partnerId !== 'string' || !PARTNER_IDS.has(claims.partnerId)) throw new AuthError('a PARTNER token must name a contracted partner (partnerId)');
    principal.partnerId = claims.partnerId;
  }
  return principal;
}

export interface TokenSettings {
  AUTH_JWT_SECRET: string;
  AUTH_ISSUER: string;
  AUTH_AUDIENCE: string;
}

/** Verifies a bearer JWT (HS256 with the shared secret; issuer, audience and expiry checked). */
export async function verifyBearerToken(token: string, settings: TokenSettings): Promise<Principal> {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(settings.AUTH_JWT_SECRET), {
      issuer: settings.AUTH_ISSUER,
      audience: settings.AUTH_AUDIENCE,
      algorithms: ['HS256'],
    });
    return principalFromClaims(payload as Record<string, unknown>);
  } catch (error) {
    if (error instanceof AuthError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new AuthError('token expired');
    if (error instanceof joseErrors.JWTClaimValidationFailed) throw new AuthError(`token claim "${error.claim}" is not accepted`);
    throw new AuthError('token is not valid');
  }
}

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
  const payload = Buffer.from(JSON.stringify({ p: principal, exp: now + PRINCIPAL_TTL_MS }), 'utf8').toString('base64url');
  const mac = createHmac('sha256', key).update(payload).digest('base64url');
  return `${payload}.${mac}`;
}

/** Verifies the signed header; throws AuthError for a forged, malformed or expired one. */
export function verifyPrincipalHeader(header: string, key: string, now = Date.now()): Principal | null {
  const [payload, mac, extra] = header.split('.');
  if (!payload || !mac || extra !== undefined || header.length > 4_096) throw new AuthError('principal header is malformed');
  const expected = createHmac('sha256', key).update(payload).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AuthError('principal header signature is not valid');
  let decoded: { p: Record<string, unknown> | null; exp: number };
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof decoded;
  } catch {
    throw new AuthError('principal header is malformed');
  }
  if (typeof decoded.exp !== 'number' || decoded.exp < now) throw new AuthError('principal header expired');
  if (decoded.p === null) return null;
  return principalFromClaims({ sub: decoded.p.subject, role: decoded.p.role, memberState: decoded.p.memberState, partnerId: decoded.p.partnerId });
}

export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}
