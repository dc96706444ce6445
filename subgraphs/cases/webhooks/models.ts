import type { WebhookPayload } from '../../../packages/client/src/webhooks.js';
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { modelOn } from '../../../shared/mongo.js';

/** The BullMQ queue of deliveries, between the dispatcher and the delivery worker. */
export const WEBHOOK_QUEUE = 'webhook-delivery';
export const MAX_WEBHOOKS_PER_PARTNER = 10;

export interface WebhookDoc {
  _id: Types.ObjectId;
  partnerId: string;
  url: string;
  eventTypes: string[];
  /** The signing secret (shown once at registration). */
  secret: string;
  createdAt: Date;
  createdBy: string;
  deletedAt?: Date;
}

export interface DeliveryAttempt {
  at: Date;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface WebhookDeliveryDoc {
  /** `<webhook>.<event>`: one delivery per endpoint and event, however often the dispatcher runs. */
  _id: string;
  webhookId: string;
  partnerId: string;
  eventId: string;
  eventType: string;
  caseId: string;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  payload: WebhookPayload;
  attempts: DeliveryAttempt[];
  createdAt: Date;
  deliveredAt: Date | null;
  /** Redeliveries asked for by the partner. */
  redeliveries: number;
}

/** The body a partner receives: one type, the client kit's, so what we send is what partners verify. */
export type { WebhookPayload };

const webhookSchema = new Schema<WebhookDoc>({}, { collection: 'webhooks', versionKey: false, strict: false });
webhookSchema.index({ partnerId: 1 }, { name: 'partnerId' });
const deliverySchema = new Schema<WebhookDeliveryDoc>(
  { _id: String },
  { collection: 'webhookDeliveries', versionKey: false, strict: false },
);
deliverySchema.index({ partnerId: 1, status: 1, createdAt: -1 }, { name: 'partner_status_createdAt' });

export interface WebhookModels {
  Webhook: Model<WebhookDoc>;
  Delivery: Model<WebhookDeliveryDoc>;
}

export function webhookModels(connection: Connection): WebhookModels {
  return {
    Webhook: modelOn<WebhookDoc>(connection, 'Webhook', webhookSchema),
    Delivery: modelOn<WebhookDeliveryDoc>(connection, 'WebhookDelivery', deliverySchema),
  };
}
