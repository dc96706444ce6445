import { existsSync, readFileSync, statSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { mintToken, ROLES, type Principal, type Role, type TokenSettings } from '../../shared/auth.js';
import { PARTNERS } from '../../shared/domain.js';

/**
 * A stand-in for the gateway's /dashboard/ routes, for the dashboard's browser tests and bench:
 * serves dashboard/dist at /dashboard/ (unknown paths: index.html), answers /dashboard/config.json
 * and /dashboard/dev-token as the gateway's contract says, and proxies /graphql (HTTP and
 * WebSocket) to the gateway, so the page and the graph share one origin. When the gateway serves
 * these routes itself, tests can point the browser at the gateway instead.
 */
export const DIST = resolve('dashboard/dist');
export const CHROMIUM = '/usr/bin/chromium';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

export const DEV_PRINCIPALS = [
  { label: 'EU analyst', role: 'EU_ANALYST' },
  { label: 'Administrator', role: 'ADMIN' },
  { label: 'Support desk', role: 'SUPPORT_DESK' },
  ...['BE', 'DE', 'NL', 'AT', 'FR'].map((ms) => ({
    label: `Member State ${ms}`,
    role: 'MEMBER_STATE',
    memberState: ms,
  })),
  ...PARTNERS.map((p) => ({ label: `Partner ${p.shortName}`, role: 'PARTNER', partnerId: p.id })),
];

export type AuthMode = { mode: 'dev' } | { mode: 'oidc'; issuer: string; clientId: string };

export interface DashboardServer {
  url: string;
  /** Every /graphql response body the proxy passed to the browser (for leak checks). */
  graphqlResponses: string[];
  close: () => Promise<void>;
}

function problem(res: ServerResponse, status: number, detail: string): void {
  res.writeHead(status, { 'content-type': 'application/problem+json' });
  res.end(JSON.stringify({ type: 'about:blank', status, title: detail, detail }));
}

async function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function devToken(req: IncomingMessage, res: ServerResponse, settings: TokenSettings): Promise<void> {
  const raw = await readBody(req, 1024);
  if (raw === null) return problem(res, 413, 'body over 1 KiB');
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return problem(res, 400, 'body: not JSON');
  }
  if (typeof body.role !== 'string' || !(ROLES as readonly string[]).includes(body.role))
    return problem(res, 400, `role: one of ${ROLES.join(', ')}`);
  const principal: Principal = { subject: `dev-${body.role.toLowerCase()}`, role: body.role as Role };
  if (body.memberState !== undefined) {
    if (typeof body.memberState !== 'string' || !/^[A-Z]{2}$/.test(body.memberState))
      return problem(res, 400, 'memberState: two capital letters');
    principal.memberState = body.memberState;
  }
  if (body.partnerId !== undefined) {
    if (typeof body.partnerId !== 'string' || !PARTNERS.some((p) => p.id === body.partnerId))
      return problem(res, 400, 'partnerId: a known partner');
    principal.partnerId = body.partnerId;
  }
  const token = await mintToken(principal, settings, 3600);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ token, expiresAt: new Date(Date.now() + 3_600_000).toISOString() }));
}

function serveFile(req: IncomingMessage, res: ServerResponse): void {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/dashboard\/?/, '');
  const candidate = normalize(join(DIST, path));
  const file =
    candidate.startsWith(DIST) && existsSync(candidate) && statSync(candidate).isFile()
      ? candidate
      : join(DIST, 'index.html');
  const hashed = file.includes(`${DIST}/assets/`);
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  res.end(readFileSync(file));
}

/** The request's headers as the gateway would get them had it served the page itself (its own origin). */
function sameOriginHeaders(gateway: URL, req: IncomingMessage): IncomingMessage['headers'] {
  const headers = { ...req.headers, host: gateway.host };
  if (headers.origin) headers.origin = gateway.origin;
  return headers;
}

function proxy(gateway: URL, req: IncomingMessage, res: ServerResponse, record: string[]): void {
  const headers = sameOriginHeaders(gateway, req);
  const upstream = httpRequest(
    { host: gateway.hostname, port: gateway.port, path: req.url, method: req.method, headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => {
        chunks.push(c);
        res.write(c);
      });
      answer.on('end', () => {
        record.push(Buffer.concat(chunks).toString('utf8'));
        res.end();
      });
    },
  );
  upstream.on('error', (e) => problem(res, 502, `gateway: ${e.message}`));
  req.pipe(upstream);
}

/** The WebSocket upgrade passed through to the gateway byte for byte. */
function proxyUpgrade(gateway: URL, req: IncomingMessage, socket: Socket, head: Buffer): void {
  const upstream = httpRequest({
    host: gateway.hostname,
    port: gateway.port,
    path: req.url,
    method: 'GET',
    headers: sameOriginHeaders(gateway, req),
  });
  upstream.on('upgrade', (answer, upstreamSocket, upstreamHead) => {
    const lines = [`HTTP/1.1 ${answer.statusCode} ${answer.statusMessage}`];
    for (let i = 0; i < answer.rawHeaders.length; i += 2)
      lines.push(`${answer.rawHeaders[i]}: ${answer.rawHeaders[i + 1]}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (upstreamHead.length) socket.write(upstreamHead);
    if (head.length) upstreamSocket.write(head);
    upstreamSocket.pipe(socket).pipe(upstreamSocket);
    const end = () => {
      socket.destroy();
      upstreamSocket.destroy();
    };
    socket.on('error', end);
    upstreamSocket.on('error', end);
    socket.on('close', end);
    upstreamSocket.on('close', end);
  });
  upstream.on('response', (answer) => {
    socket.end(`HTTP/1.1 ${answer.statusCode} ${answer.statusMessage}\r\n\r\n`);
  });
  upstream.on('error', () => socket.destroy());
  upstream.end();
}

export async function startDashboardServer(options: {
  gatewayUrl: string;
  settings: TokenSettings;
  auth: AuthMode;
}): Promise<DashboardServer> {
  if (!existsSync(join(DIST, 'index.html')))
    throw new Error(`${DIST}/index.html is missing: run npm run dashboard:build first`);
  const gateway = new URL(options.gatewayUrl);
  const graphqlResponses: string[] = [];
  const config = {
    graphqlPath: '/graphql',
    auth:
      options.auth.mode === 'dev'
        ? { mode: 'dev', principals: DEV_PRINCIPALS }
        : {
            mode: 'oidc',
            issuer: options.auth.issuer,
            clientId: options.auth.clientId,
            scopes: 'openid profile',
            redirectPath: '/dashboard/callback',
          },
    defaultLocale: 'en',
    locales: ['en'],
  };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/graphql') return proxy(gateway, req, res, graphqlResponses);
    if (path === '/dashboard/config.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
      return void res.end(JSON.stringify(config));
    }
    if (path === '/dashboard/dev-token' && req.method === 'POST' && options.auth.mode === 'dev')
      return void devToken(req, res, options.settings).catch((e: Error) => problem(res, 500, e.message));
    if (path === '/dashboard' || path.startsWith('/dashboard/')) return serveFile(req, res);
    problem(res, 404, `no route ${path}`);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (new URL(req.url ?? '/', 'http://x').pathname === '/graphql') proxyUpgrade(gateway, req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    graphqlResponses,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
}

export const AXE_SOURCE = (): string => readFileSync(resolve('node_modules/axe-core/axe.min.js'), 'utf8');
