/** The ingestion worker process: consumes feed chunks from BullMQ and stores them in the cases database. */
import { Worker } from 'bullmq';
import { loadConfigOrExit } from '../../../shared/config.js';
import { exitOnSignals, startService } from '../../../shared/http.js';
import { createLogger } from '../../../shared/logger.js';
import { connectDatabase, ensureIndexes } from '../../../shared/mongo.js';
import { createRedis } from '../../../shared/redis.js';
import { publishCaseEvents, type CaseEvent } from '../../../shared/events.js';
import { casesModels } from '../models.js';
import type { StatsFacts } from '../statistics/facts.js';
import { StatisticsProjector } from '../statistics/projector.js';
import { coverageClient } from './assignment.js';
import { INGEST_QUEUE, processIngestChunk, type ChunkReport, type IngestChunkJob } from './processor.js';

const config = loadConfigOrExit();
const logger = createLogger('ingest-worker', config);
try {
  const connection = await connectDatabase(config, 'cases');
  await ensureIndexes(connection);
  const models = casesModels(connection);
  const redis = createRedis(config, 'ingest-worker');
  const publish = (events: ReadonlyArray<CaseEvent<StatsFacts>>) => publishCaseEvents(redis, config.QUEUE_PREFIX, events);
  const assignPartners = coverageClient(config.COVERAGE_URL, config.INTERNAL_SIGNING_KEY, config.SUBGRAPH_TIMEOUT_MS);
  const worker = new Worker<IngestChunkJob, ChunkReport>(INGEST_QUEUE, (job) => processIngestChunk(job.data, models, publish, assignPartners), {
    connection: redis,
    prefix: config.QUEUE_PREFIX,
    concurrency: 4,
  });
  // The statistics read model follows the case events; one projector writes at a time.
  const projectorRedis = redis.duplicate();
  const projector = new StatisticsProjector(models, projectorRedis, config.QUEUE_PREFIX, logger);
  projector.start();
  worker.on('completed', (job, report) => logger.info({ jobId: job.id, feedId: report.feedId, counts: report.counts }, 'chunk stored'));
  worker.on('failed', (job, error) => logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: error }, 'chunk failed'));
  worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
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
      await projector.stop();
      projectorRedis.disconnect();
      redis.disconnect();
      await connection.close();
    },
  });
  exitOnSignals(service, logger, config.SHUTDOWN_TIMEOUT_MS);
} catch (error) {
  logger.fatal({ err: error }, 'ingest worker failed to start');
  process.exit(1);
}
