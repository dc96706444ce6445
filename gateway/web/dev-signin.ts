import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { mintToken, ROLES, type Principal } from '../../shared/auth.js';
import type { Config } from '../../shared/config.js';
import { MEMBER_STATE_CODES, PARTNERS } from '../../shared/domain.js';
import { BodyTooLargeError, readBody, sendJson, type RequestHandler } from '../../shared/http.js';
import { sendProblem } from '../../shared/problem-details.js';
import { sameOrigin } from './cors.js';

export const DEV_TOKEN_PATH = '/dashboard/dev-token';
/** Largest body the development sign-in reads. */
export const DEV_TOKEN_MAX_BYTES = 1_024;
/** How long a development token lives (seconds; shorter when AUTH_MAX_TOKEN_LIFETIME_SECONDS is). */
export const DEV_TOKEN_TTL_SECONDS = 3_600;

type DevSignInConfig = Pick<
  Config,
  'NODE_ENV' | 'AUTH_JWT_SECRET' | 'AUTH_ISSUER' | 'AUTH_AUDIENCE' | 'AUTH_JWKS_URL' | 'AUTH_MAX_TOKEN_LIFETIME_SECONDS'
>;

/**
 * Whether the development sign-in exists: never in production, nor when the gateway trusts an identity
 * provider's keys only (AUTH_JWKS_URL: a locally signed token would be refused).
 */
export function devSignInEnabled(config: Pick<Config, 'NODE_ENV' | 'AUTH_JWKS_URL'>): boolean {
  return config.NODE_ENV !== 'production' && !config.AUTH_JWKS_URL;
}

/** Whether `address` is this machine (127.0.0.0/8, ::1, or either written as IPv4-mapped IPv6). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

/**
 * Whether a `Host` header names this machine: `localhost` or a loopback address, with or without a port.
 * A page on any other name that reaches the gateway's loopback address got there by DNS rebinding.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname;
  } catch {
    return false;
  }
  if (hostname === 'localhost') return true;
  return isLoopback(hostname.startsWith('[') ? hostname.slice(1, -1) : hostname);
}

const devTokenRequest = z
  .object({
    role: z.enum(ROLES),
    memberState: z
      .string()
      .max(2)
      .refine((code) => MEMBER_STATE_CODES.has(code), 'must be a participating Member State (ISO alpha-2)')
      .optional(),
    partnerId: z
      .string()
      .max(100)
      .refine((id) => PARTNERS.some((p) => p.id === id), `must be one of ${PARTNERS.map((p) => p.id).join(', ')}`)
      .optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    const need = (field: 'memberState' | 'partnerId', wanted: boolean) => {
      if (wanted && body[field] === undefined)
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [field], message: `is required for role ${body.role}` });
      if (!wanted && body[field] !== undefined)
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [field], message: `is not for role ${body.role}` });
    };
    need('memberState', body.role === 'MEMBER_STATE');
    need('partnerId', body.role === 'PARTNER');
  });

export type DevTokenRequest = z.infer<typeof devTokenRequest>;

/** The principal a sign-in body asks for, or the first field at fault and why. */
export function parseDevTokenRequest(
  body: unknown,
): { ok: true; principal: Principal } | { ok: false; field: string; message: string } {
  const parsed = devTokenRequest.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const field = unknownKey ?? (issue.path.length > 0 ? issue.path.join('.') : 'body');
    const message = unknownKey
      ? `unknown field "${unknownKey.slice(0, 40)}": send role, and memberState or partnerId`
      : `${field}: ${issue.message}`;
    return { ok: false, field: field.slice(0, 40), message };
  }
  const { role, memberState, partnerId } = parsed.data;
  const subject = ['dev', role.toLowerCase(), memberState, partnerId].filter(Boolean).join('-');
  return {
    ok: true,
    principal: { subject, role, ...(memberState ? { memberState } : {}), ...(partnerId ? { partnerId } : {}) },
  };
}

/** Headers a reverse proxy adds (nginx's usual `X-Real-IP` among them): a request carrying one came through one. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'via'];

/**
 * Why a request may not use the development sign-in: not from this machine, or sent by a page of
 * another site (the gateway's own page and the CORS_ORIGINS ones, such as `vite dev`, may).
 */
function refusal(req: IncomingMessage, origins: ReadonlySet<string>): string | undefined {
  if (!isLoopback(req.socket.remoteAddress)) return 'the development sign-in answers this machine only';
  // Through a proxy, the loopback address is the proxy's, not the browser's.
  if (PROXY_HEADERS.some((name) => req.headers[name] !== undefined))
    return 'the development sign-in does not answer requests through a proxy';
  // A page whose own name was rebound to 127.0.0.1 sends that name as Host (and as its same-site Origin).
  if (!isLoopbackHost(req.headers.host))
    return 'the development sign-in answers requests whose Host is localhost or a loopback address only';
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (typeof origin !== 'string' || !(origins.has(origin) || sameOrigin(origin, req.headers.host)))
    return 'the development sign-in answers the dashboard on this gateway (or a CORS_ORIGINS page) only';
  return undefined;
}

/**
 * POST /dashboard/dev-token: a locally signed token for the principal the development role picker
 * chose (shared/auth.ts mintToken). Absent in production (404); from another machine, through a proxy
 * or from a page of another site (not the gateway's own nor in `origins`) 403; a body that is not JSON
 * or names a bad role or code 400 naming the field; over 1 KiB 413.
 */
export function devSignInHandler(config: DevSignInConfig, origins: ReadonlySet<string> = new Set()): RequestHandler {
  const enabled = devSignInEnabled(config);
  const ttl = Math.min(DEV_TOKEN_TTL_SECONDS, config.AUTH_MAX_TOKEN_LIFETIME_SECONDS);
  return async (req, res, url) => {
    if (url.pathname !== DEV_TOKEN_PATH) return false;
    if (!enabled) {
      sendProblem(res, 404, 'NOT_FOUND', `No route ${DEV_TOKEN_PATH}: the development sign-in is off here`);
      return true;
    }
    if (req.method !== 'POST') {
      sendProblem(res, 405, 'METHOD_NOT_ALLOWED', `${DEV_TOKEN_PATH} answers POST only`, {}, { allow: 'POST' });
      return true;
    }
    const refused = refusal(req, origins);
    if (refused) {
      sendProblem(res, 403, 'FORBIDDEN', refused);
      return true;
    }
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (type !== 'application/json') {
      sendProblem(res, 400, 'BAD_REQUEST', 'Send the body as Content-Type: application/json', { field: 'body' });
      return true;
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, DEV_TOKEN_MAX_BYTES);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      sendProblem(
        res,
        413,
        'PAYLOAD_TOO_LARGE',
        error.message,
        { limit: DEV_TOKEN_MAX_BYTES },
        { connection: 'close' },
      );
      return true;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      sendProblem(res, 400, 'BAD_REQUEST', `The body is not valid JSON: ${(error as Error).message.slice(0, 100)}`, {
        field: 'body',
      });
      return true;
    }
    const parsed = parseDevTokenRequest(body);
    if (!parsed.ok) {
      sendProblem(res, 400, 'BAD_USER_INPUT', parsed.message, { field: parsed.field });
      return true;
    }
    const token = await mintToken(parsed.principal, config, ttl);
    const expiresAt = new Date(Date.now() + ttl * 1000).toISOString();
    sendJson(res, 200, { token, expiresAt }, { 'cache-control': 'no-store' });
    return true;
  };
}
