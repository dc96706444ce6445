import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../../shared/config.js';
import type { Logger } from '../../../shared/logger.js';
import type { ingestWorkerMetrics } from '../../../shared/metrics.js';
import type { CasesModels } from '../models.js';
import type { AssignPartners } from './assignment.js';
import { recordChunk, type FeedModels } from './feeds.js';
import { STAGED_CHUNK_TTL_SECONDS, type StagedChunk } from './staging.js';
import { INGEST_QUEUE, processIngestChunk, type ChunkReport, type IngestChunk, type IngestChunkJob, type PublishEvents } from './processor.js';


/** The job's chunk, with its records read from the staging key when they are not inline. */
export async function loadChunk(redis: Redis, job: IngestChunkJob): Promise<IngestChunk> {
  if (!job.payloadKey) return { ...job, records: job.records ?? [], lines: job.lines };
  const json = await redis.get(job.payloadKey);
  // Not transient: retrying cannot bring back a payload that expired or was removed.
  if (json === null) throw new UnrecoverableError(`the staged records of this chunk (${job.payloadKey}) are gone (kept ${STAGED_CHUNK_TTL_SECONDS / 86_400} days); push the feed again`);
  const staged = JSON.parse(json) as StagedChunk;
  return { ...job, records: staged.records, lines: staged.lines, ...(staged.duplicates ? { duplicates: staged.duplicates } : {}) };
}

/** The BullMQ consumer of feed chunks: process, record the chunk's report, log. */
export function createIngestWorker(deps: {
  config: Pick<Config, 'QUEUE_PREFIX' | 'INGEST_CONCURRENCY' | 'INGEST_LOCK_MS' | 'CASE_ID_KEY'>;
  redis: Redis;
  models: CasesModels;
  feeds: FeedModels;
  publish: PublishEvents;
  assignPartners: AssignPartners;
  logger: Logger;
  concurrency?: number;
  metrics?: ReturnType<typeof ingestWorkerMetrics>;
}): Worker<IngestChunkJob, ChunkReport> {
  const { logger, feeds } = deps;
  const worker = new Worker<IngestChunkJob, ChunkReport>(
    INGEST_QUEUE,
    async (job) => {
      const timer = deps.metrics?.chunkSeconds.startTimer();
      const chunk = await loadChunk(deps.redis, job.data);
      const report = await processIngestChunk(chunk, deps.models, deps.publish, deps.assignPartners, deps.config.CASE_ID_KEY);
      await recordChunk(feeds, chunk, report);
      if (job.data.payloadKey) await deps.redis.del(job.data.payloadKey);
      timer?.();
      for (const [outcome, n] of Object.entries(report.counts)) if (n > 0) deps.metrics?.records.inc({ member_state: job.data.memberState, outcome }, n);
      deps.metrics?.chunks.inc({ result: 'done' });
      return report;
    },
    {
      connection: deps.redis,
      prefix: deps.config.QUEUE_PREFIX,
      concurrency: deps.concurrency ?? deps.config.INGEST_CONCURRENCY,
      // A worker killed mid-chunk loses its lock after this long; another worker then takes
      // the chunk over (stalled-job check), and the idempotent upsert keeps counts exact.
      lockDuration: deps.config.INGEST_LOCK_MS,
      stalledInterval: deps.config.INGEST_LOCK_MS,
      maxStalledCount: 3,
    },
  );
  worker.on('completed', (job, report) => logger.info({ jobId: job.id, feedId: report.feedId, counts: report.counts }, 'chunk stored'));
  worker.on('failed', (job, error) => {
    // The message only: driver errors carry every id of the chunk.
    logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, error: `${error.name}: ${error.message}`.slice(0, 1_000) }, 'chunk failed');
    deps.metrics?.chunks.inc({ result: 'failed_attempt' });
    // Out of attempts: the feed's report says so (the job stays in the failed set to replay).
    if (job && (job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError || error.name === 'UnrecoverableError')) {
      void recordChunk(feeds, job.data, { failed: error.message }).catch((e: unknown) => logger.error({ err: e }, 'could not record a failed chunk'));
    }
  });
  worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
  return worker;
}
