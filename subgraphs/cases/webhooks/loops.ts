import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import type { Config } from '../../../shared/config.js';
import type { Logger } from '../../../shared/logger.js';
import type { Stoppable } from '../../../shared/process.js';
import { duplicateRedis } from '../../../shared/redis.js';
import { createWebhookWorker } from './deliveries.js';
import { WebhookDispatcher } from './dispatcher.js';
import { WEBHOOK_QUEUE, webhookModels } from './models.js';

type WebhookConfig = Pick<
  Config,
  | 'QUEUE_PREFIX'
  | 'WEBHOOK_ATTEMPTS'
  | 'WEBHOOK_BACKOFF_MS'
  | 'WEBHOOK_TIMEOUT_MS'
  | 'WEBHOOK_ALLOW_PRIVATE_NETWORK'
  | 'WEBHOOK_LOCAL_RECEIVER'
>;

/**
 * Webhooks in the worker process: one dispatcher at a time (a Redis lease) turns case events
 * into deliveries; every worker delivers. The dispatcher's blocking reads hold a Redis
 * connection of their own; the queue, the lease and the deliveries share another. `stop()`
 * stops both loops and closes what they opened.
 */
export function startWebhookLoops(deps: {
  config: WebhookConfig;
  connection: Connection;
  redis: Redis;
  logger: Logger;
}): Stoppable {
  const { config, logger } = deps;
  const hooks = webhookModels(deps.connection);
  const redis = duplicateRedis(deps.redis, 'webhooks', logger);
  const reader = duplicateRedis(deps.redis, 'webhooks-reader', logger);
  const queue = new Queue(WEBHOOK_QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
  const dispatching = new WebhookDispatcher(hooks, reader, queue, config.QUEUE_PREFIX, {
    attempts: config.WEBHOOK_ATTEMPTS,
    backoffMs: config.WEBHOOK_BACKOFF_MS,
    lease: redis,
    logger,
  });
  dispatching.start();
  const deliveries = createWebhookWorker({
    models: hooks,
    redis,
    prefix: config.QUEUE_PREFIX,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_NETWORK,
    allowLocalhost: config.WEBHOOK_LOCAL_RECEIVER,
    logger,
  });
  return {
    stop: async () => {
      await dispatching.stop();
      await deliveries.close();
      await queue.close();
      redis.disconnect();
      reader.disconnect();
    },
  };
}
