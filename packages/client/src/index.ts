/**
 * @avrr/client: what a partner or ministry tool needs to talk to the AVRR graph (README,
 * Client kit): typed operations generated from the graph, a `caseEvents` subscription client
 * that resumes without gaps, and webhook verification. No server code: only graphql,
 * graphql-ws, standardwebhooks and (on Node 20, optionally) ws.
 */
export * from './generated/operations.js';
export {
  CaseEventsError,
  subscribeToCaseEvents,
  type CaseEventsData,
  type CaseEventsOptions,
  type CaseEventsHandle,
  type CaseEventsVariables,
  type WebSocketClass,
} from './subscriptions.js';
export {
  MAX_WEBHOOK_BODY_BYTES,
  signingSecretOf,
  verifyWebhook,
  WebhookVerificationError,
  type VerifiedWebhook,
  type WebhookHeaders,
  type WebhookPayload,
} from './webhooks.js';
