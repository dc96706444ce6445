import type { Connection } from 'mongoose';
import type { Config } from '../../shared/config.js';
import { Queue } from 'bullmq';
import {
  redisReadiness,
  startService,
  storeReadiness,
  type ReadinessCheck,
  type RunningService,
} from '../../shared/http.js';
import { createMetrics, observeStore, queueMetrics, startMetricsServer } from '../../shared/metrics.js';
import { connectDatabase, ensureIndexes } from '../../shared/mongo.js';
import { stopInOrder, type LoggerFor } from '../../shared/process.js';
import { createRedis } from '../../shared/redis.js';
import { casesModels } from './case/models.js';
import { startRetentionLoop } from './data-protection/retention-loop.js';
import { feedModels, INGEST_QUEUE, startIngestConsumer, type IngestConsumer } from './ingestion/index.js';
import { startWebhookLoops, WEBHOOK_QUEUE } from './webhooks/index.js';

/** The worker's /health/ready: its database and Redis answer, and the feed-chunk consumer runs. */
export function workerReadiness(deps: {
  pingMongo: () => Promise<unknown>;
  pingRedis: () => Promise<unknown>;
  consumer: Pick<IngestConsumer, 'isRunning'>;
}): Record<string, ReadinessCheck> {
  return {
    mongo: async () => {
      await deps.pingMongo();
    },
    redis: async () => {
      await deps.pingRedis();
    },
    worker: async () => {
      if (!deps.consumer.isRunning()) throw new Error('worker not running');
    },
  };
}

/** A started worker process: its health server and its database connection. */
export interface RunningWorker {
  service: RunningService;
  connection: Connection;
}

/**
 * The composition root of the ingestion worker process (its entry point is worker.ts): the
 * cases database with indexes, then each background loop from its feature folder (the
 * feed-chunk consumer, retention, the webhook dispatcher and deliveries), the metrics
 * server, and the health server. Shutting down stops the consumer first (it waits for the
 * chunks in progress), then the rest, then closes the connections. The statistics projector
 * runs in the cases subgraph's process (subgraph.ts), as finance's runs in finance's.
 */
export async function startWorkerProcess(options: {
  config: Config;
  loggerFor: LoggerFor;
  /** Defaults to WORKER_PORT; 0 picks a free one. */
  port?: number;
}): Promise<RunningWorker> {
  const { config } = options;
  const logger = options.loggerFor('ingest-worker');
  const connection = await connectDatabase(config, 'cases');
  // Registered first, so the indexes of cases and feeds exist before the first chunk is stored.
  casesModels(connection);
  feedModels(connection);
  await ensureIndexes(connection);
  const redis = createRedis(config, 'ingest-worker', logger);
  const metrics = createMetrics('ingest-worker');
  observeStore(connection);
  // Both queues' depth and lag, read when scraped (README, Metrics): failed chunks and webhooks alert on them.
  const counted = [INGEST_QUEUE, WEBHOOK_QUEUE].map(
    (name) => new Queue(name, { connection: redis, prefix: config.QUEUE_PREFIX }),
  );
  queueMetrics(metrics.registry, counted);
  const consumer = startIngestConsumer({ config, connection, redis, logger, registry: metrics.registry });
  const retention = startRetentionLoop({ config, connection, redis, logger });
  const webhooks = startWebhookLoops({ config, connection, redis, logger });
  // Metrics name Member States and outcomes: served on their own internal port (README, Configuration).
  const metricsServer = await startMetricsServer({
    host: config.METRICS_HOST,
    port: config.WORKER_METRICS_PORT,
    registry: metrics.registry,
    logger,
  });
  const service = await startService({
    name: 'ingest-worker',
    host: config.HOST,
    port: options.port ?? config.WORKER_PORT,
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    handlers: [],
    readiness: workerReadiness({
      pingMongo: storeReadiness(connection, casesModels(connection).Case.collection.collectionName),
      pingRedis: redisReadiness(redis),
      consumer,
    }),
    onShutdown: async () => {
      await stopInOrder([consumer, { stop: () => metricsServer.close() }, retention, webhooks]);
      await Promise.all(counted.map((queue) => queue.close()));
      redis.disconnect();
      await connection.close();
    },
  });
  return { service, connection };
}
