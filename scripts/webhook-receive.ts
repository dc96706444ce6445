/**
 * npm run webhook:receive -- --secret whsec_... [--port 4999]
 * A local receiver for trying webhooks on a laptop (README, Trying webhooks on a laptop):
 * prints every verified delivery, and every refused one with why. Register its URL with
 * registerWebhook while the services run with WEBHOOK_LOCAL_RECEIVER=true (never in production).
 */
import { parseArgs } from 'node:util';
import { startWebhookReceiver } from '../packages/client/examples/webhook-receiver.js';

const USAGE = 'usage: npm run webhook:receive -- --secret <signingSecret> [--port 4999] [--host 127.0.0.1]';
let values: Record<string, string | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      secret: { type: 'string', default: process.env.WEBHOOK_SECRET },
      port: { type: 'string', default: '4999' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  }));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
const port = Number(values.port);
if (!values.secret || !Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`${values.secret ? '--port must be 0..65535' : '--secret (or WEBHOOK_SECRET) is required'}\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
const receiver = await startWebhookReceiver({
  secret: values.secret,
  port,
  host: values.host!,
  onDelivery: (delivery) =>
    process.stdout.write(
      `${JSON.stringify({ verified: true, webhookId: delivery.webhookId, payload: delivery.payload })}\n`,
    ),
  onRefused: (reason) => process.stdout.write(`${JSON.stringify({ verified: false, reason })}\n`),
});
process.stdout.write(`listening on ${receiver.url}: registerWebhook(url: "${receiver.url}", ...)\n`);
const stop = () => void receiver.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
