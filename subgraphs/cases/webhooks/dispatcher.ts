import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import {
  CaseEventReader,
  matchesFilter,
  messageOf,
  redisCheckpoint,
  redisEventSource,
  type CaseEventBatch,
  type CaseEventMessage,
} from '../../../shared/case-events/index.js';
import type { Logger } from '../../../shared/logger.js';
import type { WebhookDeliveryDoc, WebhookDoc, WebhookModels, WebhookPayload } from './models.js';

export function payloadOf(message: CaseEventMessage): WebhookPayload {
  return {
    id: message.id,
    type: message.type,
    at: message.at,
    caseId: message.caseId,
    transition: message.transition,
    milestone: message.milestone,
    status: message.status,
    countryOfOrigin: message.owner.countryOfOrigin,
    memberState: message.owner.memberState,
    // MESSAGE_POSTED names the message (id, author role, topic), never its body.
    ...(message.caseMessage ? { caseMessage: message.caseMessage } : {}),
    // INDICATOR_BREACHED (a partner's own scope): the breach, no case (caseId is empty).
    ...(message.indicatorBreach ? { indicatorBreach: message.indicatorBreach } : {}),
  };
}

/** The batch's events a partner may hear of: those told to subscribers, of cases with a partner. */
export function partnerMessages(batch: CaseEventBatch): CaseEventMessage[] {
  return batch.entries
    .map(({ id, event }) => messageOf(id, event))
    .filter((m): m is CaseEventMessage => m !== null && m.owner.partnerId !== null);
}

/**
 * One delivery per event and endpoint that asked for its type. A partner hears of its
 * assigned cases only. The id is `<endpoint>.<event>`, so planning a batch twice plans the
 * same deliveries.
 */
export function plannedDeliveries(
  messages: readonly CaseEventMessage[],
  hooks: readonly WebhookDoc[],
  now: Date,
): WebhookDeliveryDoc[] {
  const planned: WebhookDeliveryDoc[] = [];
  for (const message of messages) {
    const wanted = (h: WebhookDoc) =>
      h.partnerId === message.owner.partnerId && matchesFilter(message, { types: h.eventTypes });
    for (const hook of hooks.filter(wanted)) {
      planned.push({
        _id: `${hook._id.toHexString()}.${message.id}`,
        webhookId: hook._id.toHexString(),
        partnerId: hook.partnerId,
        eventId: message.id,
        eventType: message.type,
        caseId: message.caseId,
        status: 'PENDING',
        payload: payloadOf(message),
        attempts: [],
        createdAt: now,
        deliveredAt: null,
        redeliveries: 0,
      });
    }
  }
  return planned;
}

/**
 * Reads the event stream from its checkpoint (a Redis key; on the first run, the stream's
 * tail: webhooks start with what happens from now on) and queues the deliveries, one
 * instance at a time (a Redis lease, when `lease` is given). The checkpoint moves only
 * after the batch's deliveries and jobs exist; both are keyed by (endpoint, event), so a
 * batch done twice after a crash queues nothing twice.
 */
export class WebhookDispatcher {
  private readonly reader: CaseEventReader;
  private queued = 0;

  constructor(
    private readonly models: WebhookModels,
    /** Blocking reads and the checkpoint: a connection of its own. */
    redis: Redis,
    private readonly queue: Queue,
    prefix: string,
    private readonly options: { attempts: number; backoffMs: number; blockMs?: number; lease?: Redis; logger?: Logger },
  ) {
    this.reader = new CaseEventReader(
      redisEventSource(redis, prefix),
      (batch) => this.dispatch(batch),
      {
        name: 'webhook-dispatcher',
        checkpoint: redisCheckpoint(redis, `${prefix}:webhooks:checkpoint`),
        startAt: 'tail',
        batchSize: 200,
        blockMs: options.blockMs ?? 1_000,
        ...(options.lease ? { lease: { redis: options.lease, key: `${prefix}:lease:webhooks` } } : {}),
      },
      options.logger ?? pino({ level: 'silent' }),
    );
  }

  private async dispatch(batch: CaseEventBatch): Promise<void> {
    const messages = partnerMessages(batch);
    const partners = [...new Set(messages.map((m) => m.owner.partnerId!))];
    const live = { partnerId: { $in: partners }, deletedAt: { $exists: false } };
    const hooks = partners.length > 0 ? await this.models.Webhook.find(live).lean<WebhookDoc[]>().exec() : [];
    const backoff = { type: 'exponential', delay: this.options.backoffMs };
    const jobOptions = { attempts: this.options.attempts, backoff, removeOnComplete: 1_000, removeOnFail: 5_000 };
    for (const delivery of plannedDeliveries(messages, hooks, new Date())) {
      await this.models.Delivery.updateOne({ _id: delivery._id }, { $setOnInsert: delivery }, { upsert: true }).exec();
      await this.queue.add('deliver', { deliveryId: delivery._id }, { jobId: delivery._id, ...jobOptions });
      this.queued++;
    }
  }

  /** One batch; returns how many deliveries it queued. */
  async step(): Promise<number> {
    const before = this.queued;
    await this.reader.readOnce();
    return this.queued - before;
  }

  /** Dispatches until stopped, under the lease. */
  start(): void {
    this.reader.start();
  }

  async stop(): Promise<void> {
    await this.reader.stop();
  }
}
