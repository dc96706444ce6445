import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RequestHandler } from '../../shared/http.js';
import { sendProblem } from '../../shared/problem-details.js';

/** Where the page is served, and the developers' GraphQL IDE. */
export const DASHBOARD_PATH = '/dashboard/';
export const IDE_PATH = '/ide';
/** The IDE's page in the build: served at IDE_PATH only, never as a file under /dashboard/. */
const IDE_FILE = 'ide.html';
/** Longest path under /dashboard/ looked up on disk; longer ones are no file of the build. */
export const MAX_ASSET_PATH = 512;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** A build output's hashed file name (vite: `assets/index-BxYz12_a.js`): its content never changes. */
const HASHED_ASSET = /^assets\/(?:[^/]+\/)*[^/]+-[A-Za-z0-9_-]{8,}\.[A-Za-z0-9]+$/;

/**
 * The headers of every page and file under /dashboard/ and /ide: a strict Content Security Policy (scripts,
 * styles and fonts from the gateway only, connections to it, its WebSockets and the OpenID Connect issuer,
 * forms sent to it only: `default-src` does not cover `form-action`), no framing, no MIME sniffing, no referrer.
 */
export function securityHeaders(oidcIssuer?: string): Record<string, string> {
  const issuer = oidcIssuer ? ` ${new URL(oidcIssuer).origin}` : '';
  return {
    'content-security-policy':
      `default-src 'self'; connect-src 'self' ws: wss:${issuer}; img-src 'self' data:; ` +
      `style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
}

/** What a request path under /dashboard/ names in the build: a relative file path, or why it names none. */
export type AssetPath = { ok: true; relative: string } | { ok: false; status: 400 | 404; reason: string };

/**
 * The file a path under /dashboard/ names (`rest` is the part after the prefix, still percent-encoded):
 * each segment decoded on its own, and refused when it is `.` or `..`, hidden (`.env`), holds a slash,
 * a backslash or a NUL, or does not decode. Pure: what is on disk is checked by the handler.
 */
export function assetPathOf(rest: string): AssetPath {
  if (rest.length > MAX_ASSET_PATH) return { ok: false, status: 404, reason: 'path too long' };
  const segments: string[] = [];
  for (const raw of rest.split('/')) {
    if (raw === '') continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return { ok: false, status: 400, reason: 'path is not valid percent-encoding' };
    }
    if (/[\0/\\]/.test(segment)) return { ok: false, status: 400, reason: 'path segment holds /, \\ or NUL' };
    if (segment.startsWith('.')) return { ok: false, status: 404, reason: 'no hidden files or parent folders' };
    segments.push(segment);
  }
  return { ok: true, relative: segments.join('/') };
}

/** How long a browser may keep a file: hashed assets a year (immutable), everything else revalidated. */
export function cacheControlOf(relative: string): string {
  return HASHED_ASSET.test(relative) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

export interface StaticOptions {
  /** The built dashboard (`dashboard/dist`, DASHBOARD_DIR), absolute. */
  dir: string;
  production: boolean;
  oidcIssuer?: string | undefined;
}

/**
 * The dashboard's files at /dashboard/ (a path that names no file and has no extension answers
 * `index.html`, so the page's own routes reload), the GraphQL IDE at /ide (not in production), and a
 * browser's `GET /graphql` sent to the IDE. GET and HEAD only.
 */
export function staticHandler(options: StaticOptions): RequestHandler {
  const headers = securityHeaders(options.oidcIssuer);
  const notBuilt = (res: ServerResponse) =>
    sendProblem(
      res,
      503,
      'SERVICE_UNAVAILABLE',
      // Where it looked, outside production only (no server paths to the public).
      `The dashboard is not built${options.production ? '' : ` (no ${join(options.dir, 'index.html')})`}: ` +
        'run `npm run dashboard:build`',
      {},
      headers,
    );

  /** Sends `relative` from the build; false when it is no file there. */
  const sendFile = async (
    req: IncomingMessage,
    res: ServerResponse,
    relative: string,
    cacheControl = cacheControlOf(relative),
  ): Promise<boolean> => {
    const root = await realpath(options.dir).catch(() => undefined);
    if (!root) return false;
    const file = await realpath(join(root, relative)).catch(() => undefined);
    // Inside the build only (a link out of it is no file of it).
    if (!file || !file.startsWith(root + sep)) return false;
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return false;
    const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const common = { ...headers, 'cache-control': cacheControl, etag };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, common);
      res.end();
      return true;
    }
    res.writeHead(200, {
      ...common,
      'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': String(info.size),
    });
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    await pipeline(createReadStream(file), res);
    return true;
  };

  const methodNotAllowed = (res: ServerResponse, method: string | undefined) =>
    sendProblem(
      res,
      405,
      'METHOD_NOT_ALLOWED',
      `${String(method).slice(0, 20)} is not served here: the dashboard's files answer GET and HEAD`,
      {},
      { ...headers, allow: 'GET, HEAD' },
    );

  return async (req, res, url) => {
    const path = url.pathname;
    if (path === '/graphql') {
      // A browser opening the endpoint gets the IDE (Apollo's landing page would load from a CDN).
      const accept = req.headers.accept ?? '';
      if (options.production || req.method !== 'GET' || !accept.includes('text/html')) return false;
      res.writeHead(302, { location: `${IDE_PATH}${url.search}`, 'content-length': '0' });
      res.end();
      return true;
    }
    if (path === IDE_PATH || path === `${IDE_PATH}/`) {
      if (options.production) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') return (methodNotAllowed(res, req.method), true);
      if (!(await sendFile(req, res, IDE_FILE, 'no-cache'))) notBuilt(res);
      return true;
    }
    if (path === '/dashboard') {
      res.writeHead(308, { location: `${DASHBOARD_PATH}${url.search}`, 'content-length': '0' });
      res.end();
      return true;
    }
    if (!path.startsWith(DASHBOARD_PATH)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') return (methodNotAllowed(res, req.method), true);
    const asset = assetPathOf(path.slice(DASHBOARD_PATH.length));
    if (!asset.ok) {
      const code = asset.status === 400 ? 'BAD_REQUEST' : 'NOT_FOUND';
      sendProblem(res, asset.status, code, `No dashboard file at this path: ${asset.reason}`, {}, headers);
      return true;
    }
    if (asset.relative.toLowerCase() === IDE_FILE) {
      // The IDE's page is the build's too, but served at /ide only (and so never in production).
      sendProblem(
        res,
        404,
        'NOT_FOUND',
        `No dashboard file at this path: the GraphQL IDE is at ${IDE_PATH}`,
        {},
        headers,
      );
      return true;
    }
    if (asset.relative !== '' && (await sendFile(req, res, asset.relative))) return true;
    // A file the build does not have (a stale hashed asset): 404, never the page in its place.
    if (extname(asset.relative) !== '' && !asset.relative.endsWith('.html')) {
      sendProblem(res, 404, 'NOT_FOUND', 'The dashboard has no such file (an older build?)', {}, headers);
      return true;
    }
    if (!(await sendFile(req, res, 'index.html', 'no-cache'))) notBuilt(res);
    return true;
  };
}
