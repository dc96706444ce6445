import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_WEBHOOK_BODY_BYTES, verifyWebhook, WebhookVerificationError, type VerifiedWebhook } from '../src/index.js';

/**
 * A webhook receiver as a partner writes one (README, Webhooks): read the raw body (bounded),
 * verify it with the endpoint's secret before anything else, answer 2xx quickly, and ignore a
 * `webhook-id` already handled (a retry of a delivery whose answer was lost).
 * `npm run webhook:receive` runs it on a laptop (scripts/webhook-receive.ts).
 */
export interface ReceiverOptions {
  /** The endpoint's `signingSecret` (or its older `secret`). */
  secret: string;
  port?: number;
  host?: string;
  onDelivery: (delivery: VerifiedWebhook) => void;
  /** A delivery refused: what and why (bad signature, too old, too large). */
  onRefused?: (reason: string) => void;
}

export interface Receiver {
  url: string;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: ReceiverOptions): Promise<Receiver> {
  // Ids seen recently, bounded: a retry comes within the sender's backoff, not days later.
  const seen = new Set<string>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_WEBHOOK_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => {
      if (request.method !== 'POST') return void response.writeHead(405).end();
      if (tooLarge) {
        options.onRefused?.(`body over ${MAX_WEBHOOK_BODY_BYTES} bytes`);
        return void response.writeHead(413).end();
      }
      try {
        const delivery = verifyWebhook(options.secret, request.headers, Buffer.concat(chunks).toString('utf8'));
        if (!seen.has(delivery.webhookId)) {
          seen.add(delivery.webhookId);
          if (seen.size > 10_000) seen.delete(seen.values().next().value as string);
          options.onDelivery(delivery);
        }
        response.writeHead(204).end();
      } catch (error) {
        // verifyWebhook throws only WebhookVerificationError; anything else is refused all the same.
        options.onRefused?.(error instanceof WebhookVerificationError ? error.message : String(error));
        response.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
