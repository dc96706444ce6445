import { ApolloServer, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import type { Connection } from 'mongoose';
import { AuthError, PRINCIPAL_HEADER, unauthenticated, verifyPrincipalHeader, type Principal } from './auth.js';
import type { Config } from './config.js';
import {
  graphqlHandler,
  startService,
  type RequestHandler,
  forwardedRequestId,
  type RequestIdSource,
  type RunningService,
  storeReadiness,
} from './http.js';
import { tagRequestId } from './telemetry/index.js';
import { createMetrics, observeStore, startMetricsServer } from './metrics.js';
import { maskError } from './errors.js';
import type { Logger } from './logger.js';
import type { Redis } from 'ioredis';
import { ALL_TAG, bumpCacheTags } from './cache-tags.js';
import { createRedis } from './redis.js';
import { connectDatabase, dbTimeoutMs, ensureIndexes, withDbDeadline, type SubgraphName } from './mongo.js';
import { runProcess, type LoggerFor } from './process.js';

export type { GraphQLResolverMap };

/**
 * What a subgraph folder exports: its SDL (merged from its slices, shared/schema-slices.ts), resolvers
 * and per-request context factory.
 */
export interface SubgraphDefinition<TContext extends BaseContext> {
  name: SubgraphName;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<TContext>;
  /**
   * Fresh per request, so DataLoader caches never outlive one operation. `requestIdSource`: who made
   * the request id.
   */
  createContext: (
    principal: Principal | null,
    requestId: string | null,
    requestIdSource: RequestIdSource | null,
  ) => TContext;
  /** Apollo Server plugins of this subgraph (the cases subgraph writes its access log in one). */
  plugins?: Array<ApolloServerPlugin<TContext>>;
  /** Changes the built schema in place before it serves (the cases subgraph wraps its personal fields). */
  protectSchema?: (schema: GraphQLSchema) => void;
  /** Brings the subgraph's stored data up to what this version reads (run before it serves). */
  prepare?: () => Promise<void>;
  /** Releases what the subgraph opened besides its database connection (Redis, ...). */
  close?: () => Promise<void>;
}

export function createSubgraphServer<TContext extends BaseContext>(
  definition: SubgraphDefinition<TContext>,
  config: Pick<Config, 'NODE_ENV'>,
  logger: Logger,
): ApolloServer<TContext> {
  const production = config.NODE_ENV === 'production';
  const schema = buildSubgraphSchema({
    typeDefs: definition.typeDefs,
    resolvers: definition.resolvers as GraphQLResolverMap<unknown>,
  });
  definition.protectSchema?.(schema);
  return new ApolloServer<TContext>({
    schema,
    includeStacktraceInErrorResponses: !production,
    introspection: !production,
    plugins: [...(definition.plugins ?? []), ...(production ? [ApolloServerPluginLandingPageDisabled()] : [])],
    formatError: maskError(production, (error) => logger.error({ error }, 'internal error masked in the response')),
    logger,
    // Our own SIGTERM handling drains HTTP first, then stops Apollo (shared/http.ts).
    stopOnTerminationSignals: false,
  });
}

/**
 * Subgraphs answer only the gateway: every request must carry the principal the gateway
 * verified, signed with the internal key (anonymous is signed too). A direct call without
 * it, or with a forged or expired one, gets 401 and no data.
 */
export function principalOf(header: string | string[] | undefined, key: string): Principal | null {
  if (typeof header !== 'string')
    throw unauthenticated('Subgraphs are reached through the gateway only (missing signed principal)');
  try {
    return verifyPrincipalHeader(header, key);
  } catch (error) {
    if (error instanceof AuthError) throw unauthenticated(error.message);
    throw error;
  }
}

/**
 * Every database read a request causes is bounded by the request's own deadline (a little
 * under the gateway's subgraph deadline) and is not started once the caller has gone (the
 * gateway timed out or its client hung up, closing the connection): nothing runs after its
 * caller gave up (shared/mongo.ts).
 */
export function withRequestDeadline(budgetMs: number, handler: RequestHandler): RequestHandler {
  return (req, res, url) => {
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    return withDbDeadline({ deadline: Date.now() + budgetMs, signal: controller.signal }, () => handler(req, res, url));
  };
}

/** The METRICS_PORT of a subgraph's process. */
export function subgraphMetricsPort(config: Config, name: SubgraphName): number {
  const ports: Record<SubgraphName, number> = {
    cases: config.CASES_METRICS_PORT,
    partners: config.PARTNERS_METRICS_PORT,
    coverage: config.COVERAGE_METRICS_PORT,
    finance: config.FINANCE_METRICS_PORT,
  };
  return ports[name];
}

/** The collection the store readiness check reads: the subgraph's first model's (each has one). */
function readinessCollection(connection: Connection): string {
  const first = connection.modelNames()[0];
  return first ? connection.model(first).collection.collectionName : 'readiness';
}

/** Starts a subgraph's HTTP server with its GraphQL endpoint and health checks. */
export async function startSubgraph<TContext extends BaseContext>(
  definition: SubgraphDefinition<TContext>,
  options: {
    config: Config;
    logger: Logger;
    port: number;
    /** Defaults to the subgraph's <NAME>_METRICS_PORT; 0 picks a free one. */
    metricsPort?: number;
    connection: Connection;
    onShutdown?: () => Promise<void>;
  },
): Promise<RunningService> {
  const { config, logger, connection } = options;
  await definition.prepare?.();
  const server = createSubgraphServer(definition, config, logger);
  await server.start();
  observeStore(connection);
  // Every process has its metrics on an internal port of its own (README, Metrics).
  const metrics = createMetrics(`${definition.name}-subgraph`);
  const metricsServer = await startMetricsServer({
    host: config.METRICS_HOST,
    port: options.metricsPort ?? subgraphMetricsPort(config, definition.name),
    registry: metrics.registry,
    logger,
  });
  return startService({
    name: `${definition.name}-subgraph`,
    host: config.HOST,
    port: options.port,
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    handlers: [
      withRequestDeadline(
        dbTimeoutMs(config),
        graphqlHandler({
          server,
          maxBodyBytes: config.MAX_BODY_BYTES,
          context: async (req) => {
            const principal = principalOf(req.headers[PRINCIPAL_HEADER], config.INTERNAL_SIGNING_KEY);
            const { requestId, requestIdSource } = forwardedRequestId(
              req.headers['x-request-id'],
              req.headers['x-avrr-request-id-source'],
            );
            tagRequestId(requestId);
            return definition.createContext(principal, requestId, requestIdSource);
          },
          logger,
        }),
      ),
    ],
    readiness: { mongo: storeReadiness(connection, readinessCollection(connection)) },
    onShutdown: async () => {
      await server.stop();
      await metricsServer.close();
      await options.onShutdown?.();
      await definition.close?.();
      await connection.close();
    },
  });
}

/**
 * Pieces a caller may hand a subgraph process instead of letting it open its own: the test
 * system shares one Redis connection, fixes finance's date and shortens blocking reads.
 */
export interface SubgraphPieces {
  redis?: Redis;
  /** Today's date (YYYY-MM-DD) as finance sees it. */
  today?: () => string;
  /** How long the background readers wait on the case event stream per read. */
  blockMs?: number;
}

/** Work a subgraph process runs beside its server (the projectors); closed after the server. */
export interface BackgroundWork {
  close: () => Promise<void>;
}

/**
 * What a subgraph process runs, declared once per subgraph (its `subgraph.ts`): used by its
 * `main.ts` and by the test system, so tests start what production starts.
 */
export interface SubgraphProcess<TContext extends BaseContext, TBackground extends BackgroundWork = BackgroundWork> {
  name: SubgraphName;
  port: (config: Config) => number;
  build: (
    connection: Connection,
    config: Config,
    parts: { logger: Logger; pieces: SubgraphPieces },
  ) => SubgraphDefinition<TContext>;
  /** Started after the indexes and before the server, on connections of its own. */
  background?: (config: Config, loggerFor: LoggerFor, pieces: SubgraphPieces) => Promise<TBackground>;
}

/** A started subgraph process: its server, its database connection and its background work. */
export interface RunningSubgraph<TBackground extends BackgroundWork = BackgroundWork> {
  service: RunningService;
  connection: Connection;
  background: TBackground | undefined;
}

/**
 * The composition root of a subgraph process: its own database (or the `connection` given)
 * with indexes, its background work, then the HTTP server. Shutting the server down closes
 * the background work, the subgraph's own resources and the connection.
 */
export async function startSubgraphProcess<TContext extends BaseContext, TBackground extends BackgroundWork>(
  definition: SubgraphProcess<TContext, TBackground>,
  options: {
    config: Config;
    loggerFor: LoggerFor;
    /** Defaults to the subgraph's port in the config; 0 picks a free one. */
    port?: number;
    connection?: Connection;
    pieces?: SubgraphPieces;
  },
): Promise<RunningSubgraph<TBackground>> {
  const { config, loggerFor } = options;
  const pieces = options.pieces ?? {};
  const logger = loggerFor(`${definition.name}-subgraph`);
  const connection = options.connection ?? (await connectDatabase(config, definition.name));
  const subgraph = definition.build(connection, config, { logger, pieces });
  // After build(): the subgraph's models are registered on the connection by then.
  await ensureIndexes(connection);
  const background = await definition.background?.(config, loggerFor, pieces);
  try {
    const service = await startSubgraph(subgraph, {
      config,
      logger,
      port: options.port ?? definition.port(config),
      connection,
      onShutdown: background?.close,
    });
    await invalidateGatewayCache(config, pieces.redis, logger);
    return { service, connection, background };
  } catch (error) {
    // A server that did not start does not shut down: its background work (own connections) closes here.
    await background?.close().catch((closeError: unknown) => logger.warn({ err: closeError }, 'closing failed'));
    throw error;
  }
}

/** How long a starting subgraph waits for Redis to take its cache invalidation (it starts regardless). */
const INVALIDATION_WAIT_MS = 2_000;

/**
 * A subgraph that starts may answer otherwise than the process whose answers the gateway cached (new code, or
 * another SUPPRESSION_THRESHOLD or INDICATORS_FILE): once it listens, no cached answer stays current
 * (gateway/cache/). Redis away: a warning, and cached answers expire by their TTL.
 */
async function invalidateGatewayCache(
  config: Pick<Config, 'REDIS_URL' | 'QUEUE_PREFIX'>,
  shared: Redis | undefined,
  logger: Logger,
): Promise<void> {
  const redis = shared ?? createRedis(config, 'subgraph-start-cache-invalidation', logger);
  let timer: NodeJS.Timeout | undefined;
  const warn = (error: unknown) =>
    logger.warn({ err: String(error) }, "the gateway's cached answers were not invalidated at start");
  try {
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), INVALIDATION_WAIT_MS);
    });
    const outcome = await Promise.race([bumpCacheTags(redis, config.QUEUE_PREFIX, [ALL_TAG], warn), late]);
    if (outcome === 'late') warn(new Error(`Redis did not answer within ${INVALIDATION_WAIT_MS} ms`));
  } finally {
    clearTimeout(timer);
    if (!shared) redis.disconnect();
  }
}

/** The whole entry point of a subgraph process (its `main.ts`): config, logs, the composition root, signals. */
export function runSubgraphProcess<TContext extends BaseContext, TBackground extends BackgroundWork>(
  definition: SubgraphProcess<TContext, TBackground>,
): Promise<void> {
  return runProcess(
    `${definition.name}-subgraph`,
    `${definition.name} subgraph failed to start`,
    async (config, loggerFor) => (await startSubgraphProcess(definition, { config, loggerFor })).service,
  );
}
