/**
 * The ingestion worker process: consumes feed chunks from BullMQ and stores them in the
 * cases database; also runs retention and the webhook dispatcher and deliveries. (The
 * statistics projector runs in the cases subgraph's process, as finance's runs in finance's.)
 */
import { loadConfigOrExit } from '../../../shared/config.js';
import { exitOnSignals, startService } from '../../../shared/http.js';
import { createLogger } from '../../../shared/logger.js';
import { createMetrics, ingestWorkerMetrics, startMetricsServer } from '../../../shared/metrics.js';
import { connectDatabase, ensureIndexes } from '../../../shared/mongo.js';
import { createRedis, duplicateRedis } from '../../../shared/redis.js';
import { publishCaseEvents, type CaseEvent } from '../../../shared/case-events/index.js';
import { casesModels } from '../case/models.js';
import { coverageClient } from './assignment.js';
import { createIngestWorker } from './consumer.js';
import { feedModels } from './feeds.js';
import { LeasedLoop } from '../../../shared/leased-loop.js';
import { dataProtectionDeps, retentionStep } from '../data-protection/retention.js';
import { Queue } from 'bullmq';
import { createWebhookWorker, WEBHOOK_QUEUE, WebhookDispatcher, webhookModels } from '../webhooks/index.js';

const config = loadConfigOrExit();
const logger = createLogger('ingest-worker', config);
try {
  const connection = await connectDatabase(config, 'cases');
  const models = casesModels(connection);
  const feeds = feedModels(connection);
  await ensureIndexes(connection);
  const redis = createRedis(config, 'ingest-worker', logger);
  const publish = (events: ReadonlyArray<CaseEvent>, onceKey?: string) => publishCaseEvents(redis, config.QUEUE_PREFIX, events, onceKey);
  const assignPartners = coverageClient(config.COVERAGE_URL, config.INTERNAL_SIGNING_KEY, config.SUBGRAPH_TIMEOUT_MS);
  const metrics = createMetrics('ingest-worker');
  const worker = createIngestWorker({ config, redis, models, feeds, publish, assignPartners, logger, metrics: ingestWorkerMetrics(metrics.registry) });
  // Retention: personal data of cases ended RETENTION_DAYS ago is purged, after a dry-run notice.
  const retentionRedis = duplicateRedis(redis, 'retention', logger);
  const retention = new LeasedLoop(
    retentionRedis,
    `${config.QUEUE_PREFIX}:lease:retention`,
    retentionStep(dataProtectionDeps(connection, retentionRedis, config.QUEUE_PREFIX), { retentionDays: config.RETENTION_DAYS, noticeHours: config.RETENTION_NOTICE_HOURS, intervalMs: config.RETENTION_INTERVAL_MS }, (run) =>
      logger.info({ due: run.due, purged: run.purged, awaitingNotice: run.awaitingNotice, cutoff: run.cutoff }, 'retention run'),
    ),
    logger,
  );
  retention.start();
  // Webhooks: one dispatcher at a time turns case events into deliveries; every worker delivers.
  const hooks = webhookModels(connection);
  const webhookRedis = duplicateRedis(redis, 'webhooks', logger);
  const webhookReader = duplicateRedis(redis, 'webhooks-reader', logger);
  const webhookQueue = new Queue(WEBHOOK_QUEUE, { connection: webhookRedis, prefix: config.QUEUE_PREFIX });
  const dispatching = new WebhookDispatcher(hooks, webhookReader, webhookQueue, config.QUEUE_PREFIX, {
    attempts: config.WEBHOOK_ATTEMPTS,
    backoffMs: config.WEBHOOK_BACKOFF_MS,
    lease: webhookRedis,
    logger,
  });
  dispatching.start();
  const deliveries = createWebhookWorker({ models: hooks, redis: webhookRedis, prefix: config.QUEUE_PREFIX, timeoutMs: config.WEBHOOK_TIMEOUT_MS, allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_NETWORK, logger });
  // Metrics name Member States and outcomes: served on their own internal port (README, Configuration).
  const metricsServer = await startMetricsServer({ host: config.METRICS_HOST, port: config.WORKER_METRICS_PORT, registry: metrics.registry, logger });
  const service = await startService({
    name: 'ingest-worker',
    host: config.HOST,
    port: config.WORKER_PORT,
    logger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    handlers: [],
    readiness: {
      mongo: async () => {
        await connection.db?.command({ ping: 1 });
      },
      redis: async () => {
        await redis.ping();
      },
      worker: async () => {
        if (!worker.isRunning()) throw new Error('worker not running');
      },
    },
    onShutdown: async () => {
      await worker.close(); // waits for the chunks in progress
      await metricsServer.close();
      await retention.stop();
      await dispatching.stop();
      await deliveries.close();
      await webhookQueue.close();
      webhookRedis.disconnect();
      webhookReader.disconnect();
      retentionRedis.disconnect();
      redis.disconnect();
      await connection.close();
    },
  });
  exitOnSignals(service, logger, config.SHUTDOWN_TIMEOUT_MS);
} catch (error) {
  logger.fatal({ err: error }, 'ingest worker failed to start');
  process.exit(1);
}
