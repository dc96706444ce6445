import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../../shared/config.js';
import type { CaseEvent } from '../../../shared/events.js';
import type { Logger } from '../../../shared/logger.js';
import type { ingestWorkerMetrics } from '../../../shared/metrics.js';
import type { CasesModels } from '../models.js';
import type { StatsFacts } from '../statistics/facts.js';
import type { AssignPartners } from './assignment.js';
import { recordChunk, type FeedModels } from './feeds.js';
import { INGEST_QUEUE, processIngestChunk, type ChunkReport, type IngestChunkJob } from './processor.js';

/** The BullMQ consumer of feed chunks: process, record the chunk's report, log. */
export function createIngestWorker(deps: {
  config: Pick<Config, 'QUEUE_PREFIX'>;
  redis: Redis;
  models: CasesModels;
  feeds: FeedModels;
  publish: (events: ReadonlyArray<CaseEvent<StatsFacts>>) => Promise<void>;
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
      const report = await processIngestChunk(job.data, deps.models, deps.publish, deps.assignPartners);
      await recordChunk(feeds, job.data, report);
      timer?.();
      for (const [outcome, n] of Object.entries(report.counts)) if (n > 0) deps.metrics?.records.inc({ member_state: job.data.memberState, outcome }, n);
      deps.metrics?.chunks.inc({ result: 'done' });
      return report;
    },
    { connection: deps.redis, prefix: deps.config.QUEUE_PREFIX, concurrency: deps.concurrency ?? 4 },
  );
  worker.on('completed', (job, report) => logger.info({ jobId: job.id, feedId: report.feedId, counts: report.counts }, 'chunk stored'));
  worker.on('failed', (job, error) => {
    logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: error }, 'chunk failed');
    deps.metrics?.chunks.inc({ result: 'failed_attempt' });
    // Out of attempts: the feed's report says so (the job stays in the failed set to replay).
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      void recordChunk(feeds, job.data, { failed: error.message }).catch((e: unknown) => logger.error({ err: e }, 'could not record a failed chunk'));
    }
  });
  worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
  return worker;
}
