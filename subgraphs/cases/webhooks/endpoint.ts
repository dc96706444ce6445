import { badUserInput } from '../../../shared/errors.js';
import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { signingSecretOf } from '../../../packages/client/src/webhooks.js';

/**
 * Deprecated (README, Webhooks), sent for one more version: `v1=<hex>`, HMAC-SHA-256 with the
 * endpoint's secret of `<unix seconds>.<body>`. Receivers verify it with verifyLegacyWebhook
 * from `@avrr/client/legacy-webhooks`.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * The Standard Webhooks headers of one attempt: `webhook-id` (the delivery, the same on every
 * retry), `webhook-timestamp` (this attempt) and `webhook-signature` (`v1,<base64>` over
 * `<id>.<timestamp>.<body>`), signed with the key of the endpoint's secret as the client kit
 * derives it (signingSecretOf), so secrets issued before these headers verify them too.
 */
export function standardWebhookHeaders(
  secret: string,
  deliveryId: string,
  at: Date,
  body: string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': deliveryId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(signingSecretOf(secret)).sign(deliveryId, at, body),
  };
}

/**
 * Where a webhook must never go: loopback, private, link-local (cloud metadata), shared,
 * multicast, reserved, and IPv6 forms of them.
 */
const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  BLOCKED.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 96],
  ['::ffff:0:0:0', 96],
  ['2002::', 16],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  BLOCKED.addSubnet(network, prefix, 'ipv6');

/** An address a webhook may not reach (IPv4-mapped IPv6 included). */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return BLOCKED.check(address, 'ipv6') || (mapped !== null && BLOCKED.check(mapped[1]!, 'ipv4'));
  }
  return true;
}

export interface EndpointPolicy {
  /** Plain `http://` accepted (local development). */
  allowHttp: boolean;
  /** Private and loopback addresses reachable (local development and tests). */
  allowPrivate: boolean;
  /**
   * Development only (WEBHOOK_LOCAL_RECEIVER, refused in production): `http://` or `https://`
   * to `localhost`, `127.0.0.1` or `[::1]`, and nothing else private.
   */
  allowLocalhost?: boolean;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** This machine's own address (what `localhost` resolves to). */
function isLoopback(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** An endpoint must be HTTPS, with no credentials, and not a private or internal address (literal or name). */
export function checkWebhookUrl(raw: string, policy: EndpointPolicy): URL {
  const bad = (why: string) => badUserInput(`url ${why}`, 'url');
  if (raw.length > 2_000) throw bad('must be at most 2000 characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad('is not a URL');
  }
  if (url.username || url.password) throw bad('must not carry credentials; deliveries are signed instead');
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (policy.allowLocalhost && LOOPBACK_NAMES.has(host) && (url.protocol === 'http:' || url.protocol === 'https:'))
    return url;
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:'))
    throw bad(`must start with https:// (got ${url.protocol}//)`);
  const internalName =
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host.endsWith('.internal') ||
    host.endsWith('.local') ||
    (!host.includes('.') && isIP(host) === 0);
  if (!policy.allowPrivate && ((isIP(host) !== 0 && isBlockedAddress(host)) || internalName))
    throw bad('must not point into a private network');
  return url;
}

/**
 * DNS resolution for deliveries: a name that resolves to a blocked address is refused at
 * connect time (so a name pointing inside, or re-pointed after registration, reaches nothing).
 */
function guardedLookup(allowPrivate: boolean, allowLoopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as LookupAddress[];
      const blocked =
        !allowPrivate && list.some((a) => isBlockedAddress(a.address) && !(allowLoopback && isLoopback(a.address)));
      if (blocked || list.length === 0)
        return callback(
          Object.assign(new Error(`${hostname} resolves to a private or internal address`), { code: 'EBLOCKED' }),
          '',
          0,
        );
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** One POST with Node's own client (so the address check runs at connect time); resolves with the status code. */
export function postWebhook(
  url: URL,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  allowPrivate: boolean,
  allowLoopback = false,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!allowPrivate && isIP(host) !== 0 && isBlockedAddress(host) && !(allowLoopback && isLoopback(host)))
      return reject(new Error(`${host} is a private or internal address`));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: guardedLookup(allowPrivate, allowLoopback),
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response) => {
        response.resume(); // the body is not read: only the status counts
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    request.on('error', (error: Error) =>
      reject(
        error.name === 'AbortError' || error.name === 'TimeoutError'
          ? new Error(`no answer within ${timeoutMs} ms`)
          : error,
      ),
    );
    request.end(body);
  });
}
