import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const KIT = 'packages/client';

/**
 * The kit as a partner installs it (README, Client kit): built to plain JavaScript with type
 * declarations, every export reachable without TypeScript tooling.
 */
describe('client kit: the built package', () => {
  it('builds to JavaScript whose every export loads in plain Node and verifies a real signature', async () => {
    rmSync(`${KIT}/dist`, { recursive: true, force: true });
    await run('npx', ['tsc', '-p', `${KIT}/tsconfig.build.json`], { timeout: 120_000 });

    const manifest = JSON.parse(readFileSync(`${KIT}/package.json`, 'utf8')) as {
      exports: Record<string, { types: string; default: string }>;
      files: string[];
    };
    for (const [entry, target] of Object.entries(manifest.exports)) {
      expect(existsSync(`${KIT}/${target.default}`), `${entry} → ${target.default}`).toBe(true);
      expect(existsSync(`${KIT}/${target.types}`), `${entry} → ${target.types}`).toBe(true);
    }
    expect(manifest.files).toContain('dist');

    const secret = `whsec_${Buffer.from('a partner secret of enough length').toString('base64')}`;
    const body = JSON.stringify({ id: '1700000000000-0', type: 'CASE_ACCEPTED', caseId: 'c1' });
    const id = 'msg_1';
    const timestamp = new Date();
    const signature = new Webhook(secret).sign(id, timestamp, body);
    // No tsx, no loader: what a partner's Node 20 service runs.
    const script = `
      const kit = await import('./${KIT}/dist/index.js');
      for (const path of ['webhooks', 'subscriptions', 'generated/operations']) {
        await import('./${KIT}/dist/' + path + '.js');
      }
      const headers = {
        'webhook-id': ${JSON.stringify(id)},
        'webhook-timestamp': ${JSON.stringify(String(Math.floor(timestamp.getTime() / 1000)))},
        'webhook-signature': ${JSON.stringify(signature)},
      };
      const verified = kit.verifyWebhook(${JSON.stringify(secret)}, headers, ${JSON.stringify(body)});
      let forged = 'accepted';
      try { kit.verifyWebhook(${JSON.stringify(secret)}, headers, ${JSON.stringify(body + ' ')}); }
      catch (error) { forged = error.name; }
      console.log(JSON.stringify({ verified, forged, subscribe: typeof kit.subscribeToCaseEvents }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
    const result = JSON.parse(stdout.trim()) as { verified: unknown; forged: string; subscribe: string };
    expect(result.verified).toMatchObject({ webhookId: id, payload: { id: '1700000000000-0', caseId: 'c1' } });
    expect(result.forged).toBe('WebhookVerificationError');
    expect(result.subscribe).toBe('function');
  });
});
