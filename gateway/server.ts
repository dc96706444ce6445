import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { Config } from '../shared/config.js';
import {
  graphqlHandler,
  READINESS_TIMEOUT_MS,
  redisReadiness,
  startService,
  validRequestId,
  type RequestHandler,
  type RequestIdSource,
  type RunningService,
} from '../shared/http.js';
import type { Logger } from '../shared/logger.js';
import { SUBGRAPHS, SUPERGRAPH_FILE, type SubgraphId } from './compose.js';
import { clientGoneSignal, REQUEST_ID_HEADER, SubgraphDataSource, type GatewayContext } from './datasource.js';
import { randomUUID } from 'node:crypto';
import { ingestHandler } from './ingest.js';
import { adminHandler } from './admin.js';
import { authentication, operationLimits, principalContext, rateLimit } from './hardening.js';
import { Guards } from './guards.js';
import { loadSafelist } from './safelist.js';
import {
  CaseEventHub,
  personalFieldsOf,
  startSubscriptionServer,
  type SubscriptionServer,
} from './subscriptions/index.js';
import { maskError } from '../shared/errors.js';
import { Queue } from 'bullmq';
import {
  createMetrics,
  gatewayMetrics,
  ingestQueueMetrics,
  startMetricsServer,
  type GatewayMetrics,
  type MetricsServer,
} from '../shared/metrics.js';
import { operationMetricsPlugin, subgraphReadiness, tagRequestId, timedDataSource } from '../shared/telemetry/index.js';
import { INGEST_QUEUE, type ChunkReport, type IngestChunkJob } from '../subgraphs/cases/ingestion/index.js';
import { WEBHOOK_QUEUE } from '../subgraphs/cases/webhooks/models.js';
import { casesProfileReader, LiveProfiles } from './profiles.js';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url));
import { createRedis, duplicateRedis } from '../shared/redis.js';
import {
  corsOrigins,
  guardUpgrades,
  subscriptionsOverHttpRefused,
  webHandlers,
  withSubscriptionsInSchema,
} from './web/index.js';
import { GatewayCache, gatewayCacheMetrics } from './cache/index.js';

/**
 * The request id: the client's `x-request-id` when well-formed (letters, digits, `.`, `_`,
 * `-`; 1 to 128), else a new one the gateway makes. Which side made it goes with it to the
 * personal data access log, so a client cannot pass its reads off as the gateway's own
 * (`ws:<connection>:<event>` ids of subscription fetches hold a `:` no client id may have).
 */
export function requestIdOf(header: string | string[] | undefined): {
  requestId: string;
  requestIdSource: RequestIdSource;
} {
  const client = validRequestId(header);
  return client
    ? { requestId: client, requestIdSource: 'CLIENT' }
    : { requestId: randomUUID(), requestIdSource: 'GATEWAY' };
}

export type SubgraphUrls = Record<SubgraphId, string>;

export function subgraphUrlsFromConfig(config: Config): SubgraphUrls {
  return {
    cases: config.CASES_URL,
    partners: config.PARTNERS_URL,
    coverage: config.COVERAGE_URL,
    finance: config.FINANCE_URL,
  };
}

export interface GatewayOptions {
  config: Config;
  logger: Logger;
  subgraphUrls: SubgraphUrls;
  port?: number;
  /** How often the gateway checks each subgraph's readiness for avrr_subgraph_up (default 15 s). */
  subgraphWatchMs?: number;
  /** Port of the metrics server (GATEWAY_METRICS_PORT unless given; 0 picks a free one). */
  metricsPort?: number;
  /** Defaults to the committed gateway/supergraph.graphql. */
  supergraphSdl?: string;
  /** More HTTP routes on the gateway's port (ingestion, admin), tried before 404. */
  handlers?: RequestHandler[];
  onShutdown?: () => Promise<void>;
  /**
   * How often the feed profiles are read again besides when the cases subgraph announces a
   * change (gateway/profiles.ts); 30 s unless given.
   */
  profileReloadMs?: number;
}

/** Builds the Apollo Gateway over the static supergraph, routing to configured URLs. */
export function createGateway(
  options: Pick<GatewayOptions, 'config' | 'logger' | 'subgraphUrls' | 'supergraphSdl'> & {
    metrics?: GatewayMetrics;
    cache?: GatewayCache;
  },
): ApolloGateway {
  const supergraphSdl = options.supergraphSdl ?? readFileSync(SUPERGRAPH_FILE, 'utf8');
  return new ApolloGateway({
    supergraphSdl,
    logger: options.logger,
    buildService: ({ name }) => {
      if (!(SUBGRAPHS as readonly string[]).includes(name)) throw new Error(`Unknown subgraph "${name}" in supergraph`);
      const source = new SubgraphDataSource(
        name,
        options.subgraphUrls[name as SubgraphId],
        options.config.SUBGRAPH_TIMEOUT_MS,
        options.config.INTERNAL_SIGNING_KEY,
        {
          production: options.config.NODE_ENV === 'production',
          logger: options.logger,
          cache: options.cache,
        },
      );
      return options.metrics ? timedDataSource(name, source, options.metrics) : source;
    },
  });
}

/** The gateway's service, and where its Prometheus metrics are served (not on the public port). */
export type GatewayService = RunningService & { metrics: MetricsServer };

export async function startGateway(options: GatewayOptions): Promise<GatewayService> {
  const { config, logger } = options;
  const production = config.NODE_ENV === 'production';
  const metrics = createMetrics('gateway');
  const observed = gatewayMetrics(metrics.registry);
  // In-flight merging and the shared cache of subgraph calls (gateway/cache/), on a connection of its own.
  const cacheRedis = createRedis(config, 'gateway-cache', logger);
  const cache = new GatewayCache({
    config,
    supergraphSdl: options.supergraphSdl ?? readFileSync(SUPERGRAPH_FILE, 'utf8'),
    redis: cacheRedis,
    metrics: gatewayCacheMetrics(metrics.registry),
    logger,
  });
  const gateway = createGateway({ ...options, metrics: observed, cache });
  const redis = createRedis(config, 'gateway', logger);
  const safelist = config.GRAPHQL_SAFELIST_FILE
    ? loadSafelist(resolve(ROOT_DIR, config.GRAPHQL_SAFELIST_FILE))
    : undefined;
  // Every GraphQL operation, over HTTP and over WebSocket, passes these, in this order (gateway/guards.ts).
  const guards = new Guards([
    authentication(config),
    rateLimit(config, redis),
    operationLimits(config),
    ...(safelist ? [safelist.guard] : []),
  ]);
  const guarded = guards.apolloOptions();
  const server = new ApolloServer<GatewayContext>({
    // `Subscription` in the HTTP schema too, for introspection (gateway/web/http-schema.ts).
    gateway: withSubscriptionsInSchema(gateway),
    includeStacktraceInErrorResponses: !production,
    introspection: !production,
    // No "Did you mean ...?" in validation errors in production (maskError strips the rest).
    hideSchemaDetailsFromClientErrors: production,
    // One operation per request: a JSON array of operations is refused (400).
    allowBatchedHttpRequests: false,
    validationRules: guarded.validationRules,
    parseOptions: guarded.parseOptions,
    plugins: [
      operationMetricsPlugin<GatewayContext>(observed, (context) => context.principal !== null),
      ...guarded.plugins,
      subscriptionsOverHttpRefused<GatewayContext>(),
      ...(production ? [ApolloServerPluginLandingPageDisabled()] : []),
    ],
    // With a safelist, a client may send just the hash of a listed operation; nothing new is registered.
    ...(safelist ? { persistedQueries: { cache: safelist.cache } } : {}),
    formatError: maskError(production, (error) => logger.error({ error }, 'internal error masked in the response')),
    logger,
    // Our own SIGTERM handling drains HTTP first, then stops Apollo (shared/http.ts).
    stopOnTerminationSignals: false,
  });
  await server.start();
  // The managed profiles, from the cases subgraph, reloaded on every announced change (README, Managing profiles).
  const profiles = new LiveProfiles({
    read: casesProfileReader(options.subgraphUrls.cases, config.INTERNAL_SIGNING_KEY, config.SUBGRAPH_TIMEOUT_MS),
    subscriber: duplicateRedis(redis, 'gateway-profiles', logger),
    prefix: config.QUEUE_PREFIX,
    reloadMs: options.profileReloadMs ?? 30_000,
    logger,
  });
  await profiles.start();
  const queue = new Queue<IngestChunkJob, ChunkReport>(INGEST_QUEUE, {
    connection: redis,
    prefix: config.QUEUE_PREFIX,
  });
  // Shown on the queues dashboard next to the ingestion queue; the gateway only reads it.
  const webhookQueue = new Queue(WEBHOOK_QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
  const ingestMetrics = ingestQueueMetrics(metrics.registry, () =>
    queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'),
  );
  const ingest = ingestHandler({
    config,
    logger,
    redis,
    server,
    profiles,
    queue,
    onFeed: (memberState, format) => ingestMetrics.feeds.inc({ member_state: memberState, format }),
    authenticate: (req) => principalContext(req.headers.authorization, config),
  });
  // Subscriptions: graphql-ws on the same port and path, fed by the case event stream.
  const hub = new CaseEventHub(
    duplicateRedis(redis, 'gateway-events-reader', logger),
    redis,
    config.QUEUE_PREFIX,
    logger,
    {
      windowMs: config.EVENT_REPLAY_HOURS * 3_600_000,
      maxQueue: config.SUBSCRIPTION_MAX_QUEUE,
    },
  );
  await hub.start();
  // Metrics name Member States and feed counts: served on an internal port, never the public one.
  const metricsServer = await startMetricsServer({
    host: config.METRICS_HOST,
    port: options.metricsPort ?? config.GATEWAY_METRICS_PORT,
    registry: metrics.registry,
    logger,
  });
  let subscriptions: SubscriptionServer | undefined = undefined;
  // Each subgraph by name: the gateway is not ready while one it routes to is not (README, Health and readiness).
  const subgraphChecks = Object.fromEntries(
    SUBGRAPHS.map((name) => [
      `subgraph:${name}`,
      subgraphReadiness(name, options.subgraphUrls[name], observed, READINESS_TIMEOUT_MS),
    ]),
  );
  // avrr_subgraph_up stays current between readiness probes (an alert reads it; nothing may probe /health/ready).
  const subgraphWatch = setInterval(() => {
    for (const check of Object.values(subgraphChecks)) check().catch(() => undefined);
  }, options.subgraphWatchMs ?? 15_000);
  subgraphWatch.unref();

  const service = await startService({
    name: 'gateway',
    host: config.HOST,
    port: options.port ?? config.GATEWAY_PORT,
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    handlers: [
      // CORS, the dashboard, its sign-in and the IDE (gateway/web): before /graphql.
      ...webHandlers(config, ROOT_DIR),
      graphqlHandler({
        server,
        maxBodyBytes: config.MAX_BODY_BYTES,
        context: async (req, res) => {
          const id = requestIdOf(req.headers[REQUEST_ID_HEADER]);
          tagRequestId(id.requestId);
          return {
            // Who is asking, and whether they may run one more operation: before the document is read.
            principal: await guards.admitHttp(req.headers.authorization, req.socket.remoteAddress),
            clientAddress: req.socket.remoteAddress,
            signal: clientGoneSignal(res),
            ...id,
          };
        },
        logger,
      }),
      ingest,
      adminHandler({ config, queues: [queue, webhookQueue] }),
      ...(options.handlers ?? []),
    ],
    readiness: {
      supergraph: async () => {
        if (!gateway.schema) throw new Error('supergraph not loaded');
      },
      redis: redisReadiness(redis),
      ...subgraphChecks,
    },
    beforeClose: async () => {
      await subscriptions?.close();
      await hub.stop();
      await profiles.stop();
    },
    onShutdown: async () => {
      clearInterval(subgraphWatch);
      await server.stop();
      await metricsServer.close();
      await queue.close();
      await webhookQueue.close();
      redis.disconnect();
      cacheRedis.disconnect();
      await options.onShutdown?.();
    },
  });
  if (!gateway.schema) throw new Error('the supergraph did not load');
  subscriptions = startSubscriptionServer({
    server: service.server,
    apollo: server,
    apiSchema: gateway.schema,
    guards,
    config,
    logger,
    hub,
    redis,
    personalFields: personalFieldsOf(options.supergraphSdl ?? readFileSync(SUPERGRAPH_FILE, 'utf8')),
  });
  // No WebSocket from another site's page (gateway/web/cors.ts).
  guardUpgrades(service.server, corsOrigins(config));
  return Object.assign(service, { metrics: metricsServer });
}
