import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import type { Config } from '../../../shared/config.js';
import { LeasedLoop } from '../../../shared/leased-loop.js';
import type { Logger } from '../../../shared/logger.js';
import type { Stoppable } from '../../../shared/process.js';
import { duplicateRedis } from '../../../shared/redis.js';
import { dataProtectionDeps, retentionStep, type RetentionSettings } from './retention.js';

type RetentionConfig = Pick<Config, 'RETENTION_DAYS' | 'RETENTION_NOTICE_HOURS' | 'RETENTION_INTERVAL_MS'>;

/** The scheduled job's settings from the config: how old an ended case may get, its notice, how often to look. */
export function retentionSettings(config: RetentionConfig): RetentionSettings & { intervalMs: number } {
  return {
    retentionDays: config.RETENTION_DAYS,
    noticeHours: config.RETENTION_NOTICE_HOURS,
    intervalMs: config.RETENTION_INTERVAL_MS,
  };
}

/**
 * Retention in the worker process: personal data of cases that ended RETENTION_DAYS ago is
 * purged, after a dry-run notice (README, "Retention"). One worker at a time runs it
 * (a Redis lease), on a Redis connection of its own, which `stop()` closes.
 */
export function startRetentionLoop(deps: {
  config: RetentionConfig & Pick<Config, 'QUEUE_PREFIX'>;
  connection: Connection;
  redis: Redis;
  logger: Logger;
}): Stoppable {
  const { config, logger } = deps;
  const redis = duplicateRedis(deps.redis, 'retention', logger);
  const step = retentionStep(
    dataProtectionDeps(deps.connection, redis, config.QUEUE_PREFIX),
    retentionSettings(config),
    (run) =>
      logger.info(
        { due: run.due, purged: run.purged, awaitingNotice: run.awaitingNotice, cutoff: run.cutoff },
        'retention run',
      ),
  );
  const loop = new LeasedLoop(redis, `${config.QUEUE_PREFIX}:lease:retention`, step, logger);
  loop.start();
  return {
    stop: async () => {
      await loop.stop();
      redis.disconnect();
    },
  };
}
