import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../../shared/config.js';
import type { RequestHandler } from '../../shared/http.js';
import { sendProblem } from '../../shared/problem-details.js';

/** The vite dev server's origins: CORS_ORIGINS when it is unset outside production. */
export const DEVELOPMENT_ORIGINS: readonly string[] = ['http://localhost:5173', 'http://127.0.0.1:5173'];

/** What a browser may send across origins: the methods and request headers the graph uses. */
export const CORS_METHODS = 'GET, POST, OPTIONS';
export const CORS_REQUEST_HEADERS = 'authorization, content-type, x-request-id, apollo-require-preflight';
/** Response headers a cross-origin page may read. */
export const CORS_EXPOSED_HEADERS = 'x-request-id, retry-after';
/** How long a browser may keep a preflight's answer (seconds). */
export const CORS_MAX_AGE_SECONDS = 600;

/**
 * The allowed cross-origin callers: CORS_ORIGINS (comma-separated, validated by shared/config.ts), or when
 * it is unset the vite dev server's origins, none in production.
 */
export function corsOrigins(config: Pick<Config, 'CORS_ORIGINS' | 'NODE_ENV'>): ReadonlySet<string> {
  if (config.CORS_ORIGINS === undefined) return new Set(config.NODE_ENV === 'production' ? [] : DEVELOPMENT_ORIGINS);
  return new Set(
    config.CORS_ORIGINS.split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ''),
  );
}

/** The single `Origin` header of a request; undefined when absent, repeated or not text. */
export function originOf(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const origin = req.headers.origin;
  return typeof origin === 'string' ? origin : undefined;
}

/** Whether `origin` is the gateway's own: the scheme's origin for the `Host` the request was sent to. */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const parsed = new URL(origin);
    return ['http:', 'https:'].includes(parsed.protocol) && parsed.origin === origin && parsed.host === host;
  } catch {
    return false;
  }
}

/**
 * CORS on every route of the gateway's port, tried first. A preflight (`OPTIONS` with
 * `Access-Control-Request-Method`) from a listed origin gets 204 with what the graph accepts; from any
 * other origin 403 problem details. A listed origin's real requests get `Access-Control-Allow-Origin`
 * and go on to their route; an unlisted one's get no CORS headers (the browser keeps the answer from
 * the page).
 */
export function corsHandler(allowed: ReadonlySet<string>): RequestHandler {
  return async (req, res) => {
    const origin = originOf(req);
    if (origin === undefined) return false;
    res.setHeader('vary', 'Origin');
    const listed = allowed.has(origin);
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (preflight) {
      if (!listed) {
        sendProblem(
          res,
          403,
          'FORBIDDEN',
          `Origin ${JSON.stringify(origin.slice(0, 200))} may not call this API from a browser: ` +
            'it is not in CORS_ORIGINS',
        );
        return true;
      }
      res.writeHead(204, {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': CORS_METHODS,
        'access-control-allow-headers': CORS_REQUEST_HEADERS,
        'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
        'content-length': '0',
      });
      res.end();
      return true;
    }
    if (listed) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', CORS_EXPOSED_HEADERS);
    }
    return false;
  };
}

/** Whether a WebSocket upgrade may proceed: no `Origin` (a server tool), the gateway's own, or a listed one. */
export function upgradeAllowed(req: Pick<IncomingMessage, 'headers'>, allowed: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (typeof origin !== 'string') return false;
  return allowed.has(origin) || sameOrigin(origin, req.headers.host);
}

/**
 * Puts the origin check in front of every WebSocket upgrade `server` handles (graphql-ws among them):
 * call it once the upgrade listeners are attached. A refused upgrade gets `403` and the socket is
 * closed, so no page of another site can open a socket with the user's credentials (cross-site
 * WebSocket hijacking).
 */
export function guardUpgrades(server: Server, allowed: ReadonlySet<string>): void {
  type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  const listeners = server.listeners('upgrade') as UpgradeListener[];
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!upgradeAllowed(req, allowed)) {
      const body = "WebSocket refused: this Origin may not connect (it is not the gateway's own nor in CORS_ORIGINS)\n";
      socket.on('error', () => undefined);
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    for (const listener of listeners) listener.call(server, req, socket, head);
  });
}
