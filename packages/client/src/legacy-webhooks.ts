import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The deprecated `avrr-signature` header (README, Webhooks), still sent for one version:
 * `v1=<hex HMAC-SHA-256(secret, "<avrr-timestamp>.<body>")>`. Node only (node:crypto); new
 * receivers use verifyWebhook from `@avrr/client/webhooks` instead.
 */
export function verifyLegacyWebhook(
  secret: string,
  signature: string,
  timestamp: number,
  body: string,
  toleranceSeconds = 300,
  now = Date.now(),
): boolean {
  if (!Number.isInteger(timestamp) || Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
