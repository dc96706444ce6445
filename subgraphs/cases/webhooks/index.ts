/**
 * Webhooks for partner systems that cannot hold a socket. A partner registers an HTTPS
 * endpoint and the event types it wants (api.ts); the dispatcher (one at a time, in the worker
 * process) reads the case event stream and queues one delivery per event and matching
 * endpoint, for the partner's assigned cases only (dispatcher.ts). Deliveries are signed the
 * Standard Webhooks way (and with the deprecated `avrr-signature` for one more version; endpoint.ts);
 * receivers verify with the client kit (packages/client). They are retried with exponential backoff
 * by BullMQ, and every attempt is logged (deliveries.ts). Payloads carry no personal data.
 */
export { WebhookApi } from './api.js';
export { createWebhookWorker, deliver } from './deliveries.js';
export { startWebhookLoops } from './loops.js';
export { partnerMessages, payloadOf, plannedDeliveries, WebhookDispatcher } from './dispatcher.js';
export {
  checkWebhookUrl,
  isBlockedAddress,
  postWebhook,
  signWebhook,
  standardWebhookHeaders,
  type EndpointPolicy,
} from './endpoint.js';
export {
  MAX_WEBHOOKS_PER_PARTNER,
  WEBHOOK_QUEUE,
  webhookModels,
  type DeliveryAttempt,
  type WebhookDeliveryDoc,
  type WebhookDoc,
  type WebhookModels,
  type WebhookPayload,
} from './models.js';
