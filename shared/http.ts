import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { Logger } from './logger.js';

/** The media type of GraphQL over HTTP (README, GraphQL over HTTP); `application/json` is the legacy one. */
export const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json';

/**
 * The media type a GraphQL answer goes out in, as Apollo Server picks it for the answers it writes: the
 * current one only when the client names it and likes it at least as well as `application/json`, so a
 * legacy client (no Accept, or any type) keeps the type it knows.
 */
export function graphqlMediaType(accept: string | undefined): string {
  const quality = (type: string): number => {
    for (const range of (accept ?? '').slice(0, 1_000).split(',')) {
      const [name, ...params] = range.split(';');
      if (name!.trim().toLowerCase() !== type) continue;
      // A q that is not a number counts as 0: not acceptable.
      const q = params.map((p) => /^\s*q\s*=(.*)$/i.exec(p)?.[1]).find((v) => v !== undefined);
      return q === undefined ? 1 : Number(q.trim() || 'x') || 0;
    }
    return -1;
  };
  const modern = quality(GRAPHQL_RESPONSE_TYPE);
  return modern > 0 && modern >= quality('application/json') ? GRAPHQL_RESPONSE_TYPE : 'application/json';
}

/**
 * A GraphQL-conformant error body: `{ errors: [{ message, extensions: { code } }] }`, in the media type
 * the request accepts (its `status` is a request error's, which the current media type requires).
 */
export function sendGraphQLError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  res.writeHead(status, {
    'content-type': `${graphqlMediaType(res.req?.headers.accept)}; charset=utf-8`,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/**
 * A request id a client may send (`x-request-id`): 1 to 128 letters, digits, `.`, `_` or `-`.
 * No `:`, so no client id can take the form of the gateway's own (`ws:<connection>:<event>`).
 */
export function validRequestId(header: string | string[] | undefined): string | null {
  return typeof header === 'string' && /^[A-Za-z0-9._-]{1,128}$/.test(header) ? header : null;
}

/** Who made a request id: the client, or the gateway (its own, or the client's refused and replaced). */
export type RequestIdSource = 'CLIENT' | 'GATEWAY';

/**
 * The request id and its maker as the gateway passes them to a subgraph (`x-request-id`,
 * `x-avrr-request-id-source`); subgraphs answer only the gateway (signed principal).
 */
export function forwardedRequestId(
  id: string | string[] | undefined,
  source: string | string[] | undefined,
): { requestId: string | null; requestIdSource: RequestIdSource | null } {
  const requestId = typeof id === 'string' && /^[A-Za-z0-9._:-]{1,200}$/.test(id) ? id : null;
  const requestIdSource =
    requestId === null ? null : source === 'client' ? 'CLIENT' : source === 'gateway' ? 'GATEWAY' : null;
  return { requestId, requestIdSource };
}

export class BodyTooLargeError extends Error {
  constructor(public readonly limit: number) {
    super(`Request body exceeds the limit of ${limit} bytes`);
  }
}

/**
 * Reads a request body up to `limit` bytes. Rejects early on a declared Content-Length
 * over the limit and stops reading as soon as the streamed body passes it, so an
 * oversized upload never sits whole in memory.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume(); // drain the rest so the 413 can still be written
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

export interface GraphQLHandlerOptions<TContext extends BaseContext> {
  server: ApolloServer<TContext>;
  path?: string;
  maxBodyBytes: number;
  /** `res` too: a context may need to know when the client leaves (its 'close' before the answer ends). */
  context: (req: IncomingMessage, res: ServerResponse) => Promise<TContext>;
  logger: Logger;
}

/**
 * Serves an ApolloServer over node:http without a web framework: the body is read with a
 * limit, malformed JSON and oversized bodies get GraphQL-conformant errors with codes.
 */
export function graphqlHandler<TContext extends BaseContext>(options: GraphQLHandlerOptions<TContext>): RequestHandler {
  const path = options.path ?? '/graphql';
  return async (req, res, url) => {
    if (url.pathname !== path) return false;
    let body: unknown = undefined;
    if (req.method === 'POST') {
      let raw: Buffer;
      try {
        raw = await readBody(req, options.maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          res.setHeader('connection', 'close');
          sendGraphQLError(res, 413, 'PAYLOAD_TOO_LARGE', error.message);
          return true;
        }
        throw error;
      }
      const type = req.headers['content-type'] ?? '';
      if (raw.length > 0 && type.includes('json')) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch (error) {
          sendGraphQLError(res, 400, 'BAD_REQUEST', `Request body is not valid JSON: ${(error as Error).message}`);
          return true;
        }
      } else {
        body = raw.length > 0 ? raw.toString('utf8') : undefined;
      }
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await options.server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: () => options.context(req, res),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
    } else {
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    }
    return true;
  };
}

export type ReadinessCheck = () => Promise<void>;

/**
 * Readiness answers within about a second: a dependency slower than that is not one a
 * request can use either (README, Health and readiness).
 */
export const READINESS_TIMEOUT_MS = 1_000;

/** The part of a mongoose connection the store check uses. */
interface StoreConnection {
  db?: { collection: (name: string) => { findOne: (f: object, o: { maxTimeMS: number }) => Promise<unknown> } };
}

/**
 * The store answers a real read, not only a ping: a store that pings but times out every
 * query (a wedged backend, a full pool) is not ready. One indexed `_id` read of `collection`,
 * bounded on the server by maxTimeMS and here by the check's own deadline.
 */
export function storeReadiness(connection: StoreConnection, collection: string, ms = READINESS_TIMEOUT_MS) {
  return async (): Promise<void> => {
    if (!connection.db) throw new Error('store not connected');
    await withTimeout(
      connection.db.collection(collection).findOne({ _id: 'readiness-probe' }, { maxTimeMS: ms }),
      ms,
      `store did not answer a read of ${collection} within ${ms} ms`,
    );
  };
}

/** Redis answers a PING within the deadline (ioredis queues commands while reconnecting, so it is bounded here). */
export function redisReadiness(redis: { ping: () => Promise<unknown> }, ms = READINESS_TIMEOUT_MS) {
  return async (): Promise<void> => {
    await withTimeout(redis.ping(), ms, `redis did not answer PING within ${ms} ms`);
  };
}

export interface ServiceOptions {
  name: string;
  host: string;
  port: number;
  logger: Logger;
  handlers: RequestHandler[];
  /** Each check throws when its dependency is not usable; /health/ready reports them by name. */
  readiness: Record<string, ReadinessCheck>;
  /** Called after the HTTP server stopped taking requests: close queues and connections here. */
  onShutdown: () => Promise<void>;
  /** Runs first on shutdown, before the server stops accepting (closes WebSockets). */
  beforeClose?: () => Promise<void>;
  shutdownTimeoutMs: number;
  /** How long each readiness check may take before it counts as failed (1 s unless given). */
  readinessTimeoutMs?: number;
}

export interface RunningService {
  server: Server;
  url: string;
  port: number;
  /** Stops accepting, finishes in-flight requests, then runs onShutdown. Idempotent. */
  shutdown: (reason: string) => Promise<void>;
}

/**
 * One HTTP server per process: the handlers in order, then `/health/live` (the process
 * runs) and `/health/ready` (its dependencies answer and it is not shutting down).
 */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { logger } = options;
  let shuttingDown = false;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    void (async () => {
      try {
        if (url.pathname === '/health/live') return sendJson(res, 200, { status: 'live', service: options.name });
        if (url.pathname === '/health/ready') return sendJson(res, ...(await readiness()));
        for (const handler of options.handlers) if (await handler(req, res, url)) return;
        sendJson(res, 404, { error: 'not found', path: url.pathname });
      } catch (error) {
        logger.error({ err: error, path: url.pathname }, 'request failed');
        if (!res.headersSent) sendGraphQLError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
        else res.end();
      }
    })();
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 120_000;

  async function readiness(): Promise<[number, unknown]> {
    if (shuttingDown) return [503, { status: 'shutting-down', service: options.name }];
    const checks: Record<string, string> = {};
    let ok = true;
    await Promise.all(
      Object.entries(options.readiness).map(async ([name, check]) => {
        try {
          const ms = options.readinessTimeoutMs ?? READINESS_TIMEOUT_MS;
          await withTimeout(check(), ms, `${name} readiness check timed out after ${ms} ms`);
          checks[name] = 'ok';
        } catch (error) {
          ok = false;
          checks[name] = (error as Error).message;
        }
      }),
    );
    return [ok ? 200 : 503, { status: ok ? 'ready' : 'not-ready', service: options.name, checks }];
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  logger.info({ url }, `${options.name} listening`);

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    shutdownPromise ??= (async () => {
      shuttingDown = true;
      logger.info({ reason }, `${options.name} shutting down`);
      // Long-lived connections (WebSockets) are not HTTP requests the server waits for: ended first.
      await options.beforeClose?.();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const forced = setTimeout(() => server.closeAllConnections(), options.shutdownTimeoutMs);
      await closed;
      clearTimeout(forced);
      await options.onShutdown();
      logger.info(`${options.name} stopped`);
    })();
    return shutdownPromise;
  };
  return { server, url, port, shutdown };
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Wires SIGTERM/SIGINT to a graceful shutdown; a second signal or a hang forces exit. */
export function exitOnSignals(service: Pick<RunningService, 'shutdown'>, logger: Logger, timeoutMs: number): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(130);
    received = true;
    const timer = setTimeout(() => {
      logger.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs + 2_000);
    timer.unref();
    service
      .shutdown(signal)
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
