import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Principal } from '../../../shared/auth.js';
import { requirePrincipal } from '../../../shared/access.js';
import { badUserInput, conflict, forbidden, notFound } from '../../../shared/errors.js';
import { CASE_EVENT_TYPES } from '../../../shared/case-events/index.js';
import { checkPageSize } from '../../../shared/pagination.js';
import { checkWebhookUrl, type EndpointPolicy } from './endpoint.js';
import {
  MAX_WEBHOOKS_PER_PARTNER,
  WEBHOOK_QUEUE,
  type WebhookDeliveryDoc,
  type WebhookDoc,
  type WebhookModels,
} from './models.js';

function requirePartner(principal: Principal | null, what: string): Principal & { partnerId: string } {
  const who = requirePrincipal(principal, what);
  if (who.role !== 'PARTNER' || !who.partnerId) throw forbidden('Webhooks belong to reintegration partners');
  return who as Principal & { partnerId: string };
}

/** The GraphQL side: register, list, delete, list deliveries, redeliver. */
export class WebhookApi {
  private queue: Queue | undefined;

  constructor(
    private readonly models: WebhookModels,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly options: EndpointPolicy & { attempts: number; backoffMs: number },
  ) {}

  async register(principal: Principal | null, args: { url: string; eventTypes: string[] }): Promise<WebhookDoc> {
    const who = requirePartner(principal, 'registerWebhook');
    const url = checkWebhookUrl(args.url, this.options);
    if (args.eventTypes.length === 0) throw badUserInput('eventTypes must name at least one event type', 'eventTypes');
    const count = await this.models.Webhook.countDocuments({
      partnerId: who.partnerId,
      deletedAt: { $exists: false },
    }).exec();
    if (count >= MAX_WEBHOOKS_PER_PARTNER)
      throw badUserInput(`A partner registers at most ${MAX_WEBHOOKS_PER_PARTNER} webhooks; delete one first`);
    const doc: WebhookDoc = {
      _id: new Types.ObjectId(),
      partnerId: who.partnerId,
      url: url.toString(),
      eventTypes: [...new Set(args.eventTypes)].filter((t) => (CASE_EVENT_TYPES as readonly string[]).includes(t)),
      secret: randomBytes(32).toString('base64url'),
      createdAt: new Date(),
      createdBy: who.subject,
    };
    await this.models.Webhook.collection.insertOne(doc);
    return doc;
  }

  async list(principal: Principal | null): Promise<WebhookDoc[]> {
    const who = requirePrincipal(principal, 'webhooks');
    if (who.role === 'ADMIN')
      return this.models.Webhook.find({ deletedAt: { $exists: false } })
        .lean<WebhookDoc[]>()
        .exec();
    const partner = requirePartner(principal, 'webhooks');
    return this.models.Webhook.find({ partnerId: partner.partnerId, deletedAt: { $exists: false } })
      .lean<WebhookDoc[]>()
      .exec();
  }

  async delete(principal: Principal | null, id: string): Promise<boolean> {
    const who = requirePartner(principal, 'deleteWebhook');
    if (!Types.ObjectId.isValid(id)) return false;
    const result = await this.models.Webhook.updateOne(
      { _id: new Types.ObjectId(id), partnerId: who.partnerId, deletedAt: { $exists: false } },
      { $set: { deletedAt: new Date() } },
    ).exec();
    return result.matchedCount === 1;
  }

  async deliveries(
    principal: Principal | null,
    args: { status?: string | null; first?: number | null },
  ): Promise<WebhookDeliveryDoc[]> {
    const who = requirePartner(principal, 'webhookDeliveries');
    const filter: Record<string, string> = { partnerId: who.partnerId };
    if (args.status) filter.status = args.status;
    return this.models.Delivery.find(filter)
      .sort({ createdAt: -1 })
      .limit(checkPageSize(args.first))
      .lean<WebhookDeliveryDoc[]>()
      .exec();
  }

  async redeliver(principal: Principal | null, id: string): Promise<WebhookDeliveryDoc> {
    const who = requirePartner(principal, 'redeliverWebhook');
    const delivery = await this.models.Delivery.findOne({ _id: String(id), partnerId: who.partnerId })
      .lean<WebhookDeliveryDoc>()
      .exec();
    if (!delivery) throw notFound('Delivery', String(id).slice(0, 80));
    if (delivery.status === 'PENDING') throw conflict('The delivery is still being attempted');
    await this.models.Delivery.updateOne(
      { _id: delivery._id },
      { $set: { status: 'PENDING' }, $inc: { redeliveries: 1 } },
    ).exec();
    this.queue ??= new Queue(WEBHOOK_QUEUE, { connection: this.redis, prefix: this.prefix });
    await this.queue.add(
      'deliver',
      { deliveryId: delivery._id },
      {
        jobId: `${delivery._id}.r${delivery.redeliveries + 1}`,
        attempts: this.options.attempts,
        backoff: { type: 'exponential', delay: this.options.backoffMs },
      },
    );
    return { ...delivery, status: 'PENDING', redeliveries: delivery.redeliveries + 1 };
  }

  async close(): Promise<void> {
    await this.queue?.close();
  }
}
