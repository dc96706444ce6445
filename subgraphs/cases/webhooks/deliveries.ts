import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Logger } from '../../../shared/logger.js';
import { postWebhook, signWebhook, standardWebhookHeaders } from './endpoint.js';
import {
  WEBHOOK_QUEUE,
  type DeliveryAttempt,
  type WebhookDeliveryDoc,
  type WebhookDoc,
  type WebhookModels,
} from './models.js';

/** Sends one delivery; a non-2xx answer or a network error throws, so BullMQ retries with backoff. */
export async function deliver(
  models: WebhookModels,
  deliveryId: string,
  options: { timeoutMs: number; finalAttempt: boolean; allowPrivate: boolean; allowLocalhost?: boolean },
  now = () => new Date(),
): Promise<'DELIVERED' | 'GONE'> {
  const delivery = await models.Delivery.findOne({ _id: deliveryId }).lean<WebhookDeliveryDoc>().exec();
  const hook =
    delivery && Types.ObjectId.isValid(delivery.webhookId)
      ? await models.Webhook.findOne({ _id: new Types.ObjectId(delivery.webhookId) })
          .lean<WebhookDoc>()
          .exec()
      : null;
  if (!delivery || !hook || hook.deletedAt) return 'GONE';
  const body = JSON.stringify(delivery.payload);
  const sentAt = now();
  const timestamp = Math.floor(sentAt.getTime() / 1000);
  const started = Date.now();
  let statusCode: number | null = null;
  let error: string | null = null;
  try {
    statusCode = await postWebhook(
      new URL(hook.url),
      {
        'content-type': 'application/json',
        'user-agent': 'avrr-graph-webhooks/1',
        ...standardWebhookHeaders(hook.secret, delivery._id, sentAt, body),
        // Deprecated: the headers before Standard Webhooks, sent for one more version (README, Webhooks).
        'avrr-delivery-id': delivery._id,
        'avrr-event-id': delivery.eventId,
        'avrr-timestamp': String(timestamp),
        'avrr-signature': signWebhook(hook.secret, timestamp, body),
      },
      body,
      options.timeoutMs,
      options.allowPrivate,
      options.allowLocalhost ?? false,
    );
    if (statusCode < 200 || statusCode >= 300) error = `HTTP ${statusCode}`;
  } catch (caught) {
    error = (caught as Error).message.slice(0, 200);
  }
  const attempt: DeliveryAttempt = { at: now(), statusCode, error, durationMs: Date.now() - started };
  const status = error === null ? 'DELIVERED' : options.finalAttempt ? 'FAILED' : 'PENDING';
  await models.Delivery.updateOne(
    { _id: delivery._id },
    { $push: { attempts: attempt }, $set: { status, ...(status === 'DELIVERED' ? { deliveredAt: attempt.at } : {}) } },
  ).exec();
  if (error !== null) throw new Error(`webhook ${delivery._id}: ${error}`);
  return 'DELIVERED';
}

export function createWebhookWorker(deps: {
  models: WebhookModels;
  redis: Redis;
  prefix: string;
  timeoutMs: number;
  allowPrivate: boolean;
  /** Development only: deliveries may reach this machine's loopback (WEBHOOK_LOCAL_RECEIVER). */
  allowLocalhost?: boolean;
  logger: Logger;
  concurrency?: number;
}): Worker<{ deliveryId: string }> {
  const worker = new Worker<{ deliveryId: string }>(
    WEBHOOK_QUEUE,
    async (job: Job<{ deliveryId: string }>) =>
      deliver(deps.models, job.data.deliveryId, {
        timeoutMs: deps.timeoutMs,
        allowPrivate: deps.allowPrivate,
        allowLocalhost: deps.allowLocalhost ?? false,
        finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      }),
    { connection: deps.redis, prefix: deps.prefix, concurrency: deps.concurrency ?? 8 },
  );
  worker.on('failed', (job, error) =>
    deps.logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: error.message }, 'webhook delivery failed'),
  );
  worker.on('error', (error) => deps.logger.error({ err: error }, 'webhook worker error'));
  return worker;
}
