import { Queue } from 'bullmq';
import { duplicateRedis } from '../../shared/redis.js';
import {
  createWebhookWorker,
  WEBHOOK_QUEUE,
  WebhookDispatcher,
  webhookModels,
} from '../../subgraphs/cases/webhooks/index.js';
import { silentLogger, type TestSystem } from './system.js';

/**
 * The worker process's webhook parts on a test system: the dispatcher (stepped in a loop, from
 * what happens after the start) and the delivery worker. `stop` ends both and their connections.
 */
export async function startWebhookDelivery(
  system: TestSystem,
  name: string,
  reach: { allowPrivate: boolean; allowLocalhost?: boolean },
): Promise<{ stop: () => Promise<void> }> {
  const models = webhookModels(system.connections.cases);
  const reader = duplicateRedis(system.redis, `${name}-webhooks-reader`);
  const queue = new Queue(WEBHOOK_QUEUE, { connection: system.redis, prefix: system.config.QUEUE_PREFIX });
  const dispatcher = new WebhookDispatcher(models, reader, queue, system.config.QUEUE_PREFIX, {
    attempts: system.config.WEBHOOK_ATTEMPTS,
    backoffMs: system.config.WEBHOOK_BACKOFF_MS,
    blockMs: 100,
  });
  await dispatcher.step(); // takes its starting point: what happens from now on
  let dispatching = true;
  const loop = (async () => {
    while (dispatching) await dispatcher.step();
  })();
  const worker = createWebhookWorker({
    models,
    redis: duplicateRedis(system.redis, `${name}-webhook-worker`),
    prefix: system.config.QUEUE_PREFIX,
    timeoutMs: 2_000,
    ...reach,
    logger: silentLogger,
  });
  return {
    stop: async () => {
      dispatching = false;
      await loop;
      await worker.close();
      await queue.close();
      reader.disconnect();
    },
  };
}
