import { withTraceContext } from '../../../shared/telemetry/index.js';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { keepReferenceCopy } from '../reference/index.js';
import type { Config } from '../../../shared/config.js';
import type { Logger } from '../../../shared/logger.js';
import type { ingestWorkerMetrics } from '../../../shared/metrics.js';
import type { CasesModels } from '../case/models.js';
import type { AssignPartners } from './assignment.js';
import { recordChunk, type FeedModels } from './feeds.js';
import {
  INGEST_QUEUE,
  STAGED_CHUNK_TTL_SECONDS,
  type ChunkReport,
  type IngestChunk,
  type IngestChunkJob,
  type StagedChunk,
} from './contract.js';
import { MAX_RECORD_BYTES } from './formats.js';
import { processIngestChunk, type PublishEvents } from './processor.js';

/**
 * The largest staged chunk a worker reads: INGEST_CHUNK_MAX_BYTES, plus the one record that
 * may take a chunk past it (a record is at most MAX_RECORD_BYTES characters, up to 3 bytes each).
 */
export const stagedChunkLimit = (chunkMaxBytes: number) => chunkMaxBytes + 3 * MAX_RECORD_BYTES + 64 * 1024;

/** The job's chunk, with its records read from the staging key when they are not inline. */
export async function loadChunk(
  redis: Redis,
  job: IngestChunkJob,
  maxBytes = stagedChunkLimit(1024 * 1024),
): Promise<IngestChunk> {
  if (!job.payloadKey) return { ...job, records: job.records ?? [], lines: job.lines };
  // Its size before reading it: a chunk larger than the push API ever stages is not read at all.
  const size = await redis.strlen(job.payloadKey);
  if (size > maxBytes)
    throw new UnrecoverableError(
      `the staged records of this chunk are ${size} bytes, more than the ${maxBytes} a chunk may have; it is not read`,
    );
  const json = await redis.get(job.payloadKey);
  // Not transient: retrying cannot bring back a payload that expired or was removed.
  if (json === null)
    throw new UnrecoverableError(
      `the staged records of this chunk (${job.payloadKey}) are gone (kept INGEST_STAGED_DAYS, ` +
        `${STAGED_CHUNK_TTL_SECONDS / 86_400} days by default); push the feed again`,
    );
  const staged = JSON.parse(json) as StagedChunk;
  return {
    ...job,
    records: staged.records,
    lines: staged.lines,
    ...(staged.duplicates ? { duplicates: staged.duplicates } : {}),
  };
}

/** The BullMQ consumer of feed chunks: process, record the chunk's report, log. */
export function createIngestWorker(deps: {
  config: Pick<Config, 'QUEUE_PREFIX' | 'INGEST_CONCURRENCY' | 'INGEST_LOCK_MS' | 'CASE_ID_KEY'> &
    Partial<
      Pick<
        Config,
        | 'INGEST_MAX_STALLS'
        | 'INGEST_CHUNK_MAX_BYTES'
        | 'INGEST_MAX_PROBLEMS_PER_RECORD'
        | 'INGEST_MAX_PROBLEMS_PER_REPORT'
      >
    >;
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
  // Records are checked against the cases subgraph's copy of the reference lists, kept from their stream.
  keepReferenceCopy(deps.models.Case.db, deps.redis, deps.config.QUEUE_PREFIX);
  const maxStalls = deps.config.INGEST_MAX_STALLS ?? 2;
  const limits = {
    problemsPerRecord: deps.config.INGEST_MAX_PROBLEMS_PER_RECORD,
    problemsPerReport: deps.config.INGEST_MAX_PROBLEMS_PER_REPORT,
  };
  const worker = new Worker<IngestChunkJob, ChunkReport>(
    INGEST_QUEUE,
    async (job) => {
      // A poison chunk: its worker died (killed, out of memory) each of the last times it was
      // being stored. It ends FAILED with the reason before any of its work, instead of taking
      // down one worker after another (README, "Limits on feeds").
      if (job.stalledCounter >= maxStalls) {
        throw new UnrecoverableError(
          `this chunk stopped the worker storing it ${job.stalledCounter} times (killed or out of memory); ` +
            `it is not tried again. Its staged records are kept ${STAGED_CHUNK_TTL_SECONDS / 86_400} days: ` +
            `find the cause, then replay it`,
        );
      }
      // The push's trace continues here (README, Tracing); a no-op when tracing is off.
      return withTraceContext(
        job.data.trace,
        'ingest chunk',
        { 'avrr.feed_id': job.data.feedId, 'avrr.chunk_index': job.data.chunkIndex ?? 0 },
        async () => {
          const timer = deps.metrics?.chunkSeconds.startTimer();
          const chunk = await loadChunk(
            deps.redis,
            job.data,
            stagedChunkLimit(deps.config.INGEST_CHUNK_MAX_BYTES ?? 1024 * 1024),
          );
          const report = await processIngestChunk(
            chunk,
            deps.models,
            deps.publish,
            deps.assignPartners,
            deps.config.CASE_ID_KEY,
            limits,
          );
          await recordChunk(feeds, chunk, report);
          if (job.data.payloadKey) await deps.redis.del(job.data.payloadKey);
          timer?.();
          for (const [outcome, n] of Object.entries(report.counts))
            if (n > 0) deps.metrics?.records.inc({ member_state: job.data.memberState, outcome }, n);
          deps.metrics?.chunks.inc({ result: 'done' });
          return report;
        },
      );
    },
    {
      connection: deps.redis,
      prefix: deps.config.QUEUE_PREFIX,
      concurrency: deps.concurrency ?? deps.config.INGEST_CONCURRENCY,
      // A worker killed mid-chunk loses its lock after this long; another worker then takes
      // the chunk over (stalled-job check), and the idempotent upsert keeps counts exact.
      lockDuration: deps.config.INGEST_LOCK_MS,
      stalledInterval: deps.config.INGEST_LOCK_MS,
      // BullMQ's own net (it fails a job stalled more often than this); the check above comes first.
      maxStalledCount: maxStalls,
    },
  );
  worker.on('completed', (job, report) =>
    logger.info({ jobId: job.id, feedId: report.feedId, counts: report.counts }, 'chunk stored'),
  );
  worker.on('failed', (job, error) => {
    // The message only: driver errors carry every id of the chunk.
    logger.warn(
      { jobId: job?.id, attempts: job?.attemptsMade, error: `${error.name}: ${error.message}`.slice(0, 1_000) },
      'chunk failed',
    );
    deps.metrics?.chunks.inc({ result: 'failed_attempt' });
    // Out of attempts: the feed's report says so (the job stays in the failed set to replay).
    if (
      job &&
      (job.attemptsMade >= (job.opts.attempts ?? 1) ||
        error instanceof UnrecoverableError ||
        error.name === 'UnrecoverableError')
    ) {
      void recordChunk(feeds, job.data, { failed: error.message }).catch((e: unknown) =>
        logger.error({ err: e }, 'could not record a failed chunk'),
      );
    }
  });
  worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
  return worker;
}
