import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/**
 * Webhook verification for receivers (README, Webhooks). Deliveries are signed the Standard
 * Webhooks way: `webhook-signature: v1,<base64 HMAC-SHA-256 of "<webhook-id>.<webhook-timestamp>.<body>">`
 * with the key in the endpoint's `signingSecret` (`whsec_<base64 key>`). Any Standard Webhooks
 * library verifies them; this module wraps the reference one with the payload's type.
 */

export { WebhookVerificationError };

/** The body of every delivery (no personal data: fetch the case with a query). */
export interface WebhookPayload {
  id: string;
  type: string;
  at: string;
  caseId: string;
  transition: string | null;
  milestone: string | null;
  status: string | null;
  countryOfOrigin: string;
  memberState: string;
  /** MESSAGE_POSTED only: the message posted (its body is read through the graph, `Case.messages`). */
  caseMessage?: { id: string; authorRole: string; topic: string };
  /**
   * INDICATOR_BREACHED only (then `caseId` is empty): an indicator of your scope fell below its
   * minimum standard for a period (`indicatorBreaches` in the graph lists them).
   */
  indicatorBreach?: {
    breachId: string;
    indicatorId: string;
    indicatorVersion: number;
    scope: { perspective: string; key: string | null };
    period: string;
    value: number;
    cases: number;
    minimumStandard: number;
    direction: string;
  };
}

/** A verified delivery: `webhookId` is the same on every retry of it, so de-duplicate on it. */
export interface VerifiedWebhook {
  webhookId: string;
  timestamp: Date;
  payload: WebhookPayload;
}

/** Deliveries are a few hundred bytes; a larger body is refused before any hashing. */
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;

const PREFIX = 'whsec_';

/**
 * The Standard Webhooks form of an endpoint secret. Endpoints registered before the Standard
 * Webhooks headers have only `secret`; its UTF-8 bytes are the key, so `whsec_` and their
 * base64 verify the new headers with the same secret. A `whsec_` secret is returned as is.
 */
export function signingSecretOf(secret: string): string {
  if (secret.startsWith(PREFIX)) return secret;
  const bytes = new TextEncoder().encode(secret);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return PREFIX + btoa(binary);
}

/** Headers as Node (`IncomingHttpHeaders`) or fetch (`Headers`) gives them. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function header(headers: WebhookHeaders, name: string): string {
  const value = headers instanceof Headers ? headers.get(name) : headers[name];
  const single = Array.isArray(value) ? value[0] : value;
  if (typeof single !== 'string' || single.length === 0) throw new WebhookVerificationError(`Missing ${name} header`);
  if (single.length > 1_000) throw new WebhookVerificationError(`${name} header is longer than 1000 characters`);
  return single;
}

/**
 * Checks a delivery's signature and age (at most 5 minutes either way, so a captured delivery
 * cannot be replayed later) and returns its payload; throws WebhookVerificationError otherwise.
 * `body` is the raw request body, exactly as received (parse it only after this).
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, body: string): VerifiedWebhook {
  if (typeof body !== 'string') throw new WebhookVerificationError('The body must be the raw request body as text');
  if (body.length > MAX_WEBHOOK_BODY_BYTES)
    throw new WebhookVerificationError(`The body is larger than ${MAX_WEBHOOK_BODY_BYTES} bytes`);
  const wanted = {
    'webhook-id': header(headers, 'webhook-id'),
    'webhook-timestamp': header(headers, 'webhook-timestamp'),
    'webhook-signature': header(headers, 'webhook-signature'),
  };
  let payload: unknown;
  try {
    payload = new Webhook(signingSecretOf(secret)).verify(body, wanted);
  } catch (error) {
    if (error instanceof WebhookVerificationError) throw error;
    throw new WebhookVerificationError(`Invalid delivery: ${(error as Error).message}`);
  }
  if (typeof payload !== 'object' || payload === null || typeof (payload as WebhookPayload).id !== 'string')
    throw new WebhookVerificationError('The body is not a case event');
  return {
    webhookId: wanted['webhook-id'],
    timestamp: new Date(Number(wanted['webhook-timestamp']) * 1000),
    payload: payload as WebhookPayload,
  };
}
