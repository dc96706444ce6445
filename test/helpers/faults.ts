import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { PRINCIPAL_HEADER } from '../../shared/auth.js';

export type ProxyMode = { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'hang' } | { kind: 'refuse' };

/**
 * A real HTTP hop in front of a subgraph, to make it slow, hang or refuse on demand, and
 * to count the calls in flight per principal (from the gateway's signed principal header)
 * and per request id prefix.
 */
export interface FaultyProxy {
  url: string;
  mode: ProxyMode;
  /** Only calls whose request id starts with this are affected (all when undefined). */
  onlyRequestIdPrefix?: string;
  /** Calls in flight now and at most, per `role:subject`. */
  inFlight: Map<string, number>;
  maxInFlight: Map<string, number>;
  calls: number;
  close: () => Promise<void>;
}

const principalOf = (header: string | string[] | undefined): string => {
  if (typeof header !== 'string') return 'none';
  try {
    const { p } = JSON.parse(Buffer.from(header.split('.')[0]!, 'base64url').toString('utf8')) as {
      p: { role: string; subject: string } | null;
    };
    return p ? `${p.role}:${p.subject}` : 'anonymous';
  } catch {
    return 'malformed';
  }
};

export async function faultyProxy(target: string): Promise<FaultyProxy> {
  const sockets = new Set<Socket>();
  const targetUrl = new URL(target);
  const proxy: FaultyProxy = {
    url: '',
    mode: { kind: 'pass' },
    inFlight: new Map(),
    maxInFlight: new Map(),
    calls: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string>; body: Buffer }>((resolve, reject) => {
      const headers = { ...req.headers, host: targetUrl.host, 'content-length': String(body.length) };
      const out = httpRequest(
        { host: targetUrl.hostname, port: targetUrl.port, path: targetUrl.pathname, method: req.method, headers },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (part: Buffer) => parts.push(part));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 502,
              headers: { 'content-type': String(res.headers['content-type'] ?? 'application/json') },
              body: Buffer.concat(parts),
            }),
          );
          res.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      void (async () => {
        const requestId = String(req.headers['x-request-id'] ?? '');
        const affected = proxy.onlyRequestIdPrefix === undefined || requestId.startsWith(proxy.onlyRequestIdPrefix);
        const mode = affected ? proxy.mode : ({ kind: 'pass' } as const);
        const who = principalOf(req.headers[PRINCIPAL_HEADER]);
        proxy.calls++;
        proxy.inFlight.set(who, (proxy.inFlight.get(who) ?? 0) + 1);
        proxy.maxInFlight.set(who, Math.max(proxy.maxInFlight.get(who) ?? 0, proxy.inFlight.get(who)!));
        try {
          if (mode.kind === 'hang') return; // never answers; the gateway's deadline ends it
          if (mode.kind === 'refuse') return void req.socket.destroy();
          if (mode.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, mode.ms));
          const answer = await forward(req, Buffer.concat(parts));
          res.writeHead(answer.status, answer.headers).end(answer.body);
        } catch {
          if (!res.headersSent) res.writeHead(502).end();
        } finally {
          if (mode.kind !== 'hang') proxy.inFlight.set(who, proxy.inFlight.get(who)! - 1);
          else res.once('close', () => proxy.inFlight.set(who, proxy.inFlight.get(who)! - 1));
        }
      })();
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${targetUrl.pathname}`;
  return proxy;
}

export interface Payload {
  data?: { caseEvents?: Record<string, unknown> & { id?: string; case?: Record<string, unknown> | null } } | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

/** One subscription on a socket: every payload as sent, the error that ended it, whether it completed. */
export interface RecordedSubscription {
  payloads: Payload[];
  /** The operation's error (refused at subscribe, or cut off). */
  errors: Array<{ message: string; extensions?: Record<string, unknown> }>;
  done: () => boolean;
  stop: () => void;
}

/** A graphql-ws socket that records how it closed and what each of its subscriptions received. */
export function socket(url: string, token: string) {
  let closed: { code: number; reason: string } | undefined;
  let connected = false;
  const client: Client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
    onNonLazyError: () => undefined,
    on: {
      connected: () => (connected = true),
      closed: (event) => {
        const e = event as { code: number; reason: string };
        closed = { code: e.code, reason: e.reason };
      },
    },
  });
  return {
    connected: () => connected,
    closed: () => closed,
    subscribe(query: string, variables: Record<string, unknown> = {}): RecordedSubscription {
      const payloads: Payload[] = [];
      const errors: RecordedSubscription['errors'] = [];
      let done = false;
      const stop = client.subscribe<Record<string, unknown>>(
        { query, variables },
        {
          next: (value) => void payloads.push(value as Payload),
          error: (error) => {
            if (Array.isArray(error)) errors.push(...(error as RecordedSubscription['errors']));
            else errors.push({ message: String((error as { reason?: string }).reason ?? error) });
            done = true;
          },
          complete: () => (done = true),
        },
      );
      return { payloads, errors, done: () => done, stop };
    },
    dispose: () => client.dispose(),
  };
}

export async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}
