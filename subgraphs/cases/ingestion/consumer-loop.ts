import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import type { Registry } from 'prom-client';
import { publishCaseEvents, type CaseEvent } from '../../../shared/case-events/index.js';
import type { Config } from '../../../shared/config.js';
import type { Logger } from '../../../shared/logger.js';
import { ingestWorkerMetrics } from '../../../shared/metrics.js';
import type { Stoppable } from '../../../shared/process.js';
import { casesModels } from '../case/models.js';
import { coverageClient } from './assignment.js';
import { createIngestWorker } from './consumer.js';
import { feedModels } from './feeds.js';

/** The feed-chunk consumer as the worker process runs it; `isRunning()` feeds its readiness. */
export interface IngestConsumer extends Stoppable {
  isRunning: () => boolean;
}

/**
 * Ingestion in the worker process: the BullMQ consumer of feed chunks (consumer.ts) on the
 * process's Redis connection, asking the coverage subgraph which partner takes a new case
 * and publishing the case events of what it stored. `stop()` waits for the chunks in progress.
 */
export function startIngestConsumer(deps: {
  config: Config;
  connection: Connection;
  redis: Redis;
  logger: Logger;
  /** The worker's metrics registry, served on its own port (README, Configuration). */
  registry: Registry;
}): IngestConsumer {
  const { config, redis } = deps;
  const publish = (events: ReadonlyArray<CaseEvent>, onceKey?: string) =>
    publishCaseEvents(redis, config.QUEUE_PREFIX, events, onceKey);
  const worker = createIngestWorker({
    config,
    redis,
    models: casesModels(deps.connection),
    feeds: feedModels(deps.connection),
    publish,
    assignPartners: coverageClient(config.COVERAGE_URL, config.INTERNAL_SIGNING_KEY, config.SUBGRAPH_TIMEOUT_MS),
    logger: deps.logger,
    metrics: ingestWorkerMetrics(deps.registry),
  });
  return {
    isRunning: () => worker.isRunning(),
    stop: () => worker.close(),
  };
}
