import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import * as prettier from 'prettier';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import codegenConfig from '../../packages/client/codegen.js';
import {
  MAX_WEBHOOK_BODY_BYTES,
  signingSecretOf,
  verifyWebhook,
  WebhookVerificationError,
} from '../../packages/client/src/index.js';
import { verifyLegacyWebhook } from '../../packages/client/src/legacy-webhooks.js';
import { loadConfig } from '../../shared/config.js';
import { checkWebhookUrl, signWebhook, standardWebhookHeaders } from '../../subgraphs/cases/webhooks/index.js';

const KIT = 'packages/client';
/** What the kit may depend on (README, Client kit): no server code, no server libraries. */
const ALLOWED = new Set(['graphql', 'graphql-ws', '@graphql-typed-document-node/core', 'standardwebhooks']);

/** Every module a source names: static imports and re-exports (type-only too) and literal dynamic imports. */
function specifiersOf(source: string): string[] {
  const found = source.matchAll(/(?:^|\s)(?:import|export)\s[^'";]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g);
  return [...found].map((m) => (m[1] ?? m[2])!);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('client kit: a package of its own', () => {
  it('imports nothing from the server, only its declared dependencies', () => {
    const manifest = JSON.parse(readFileSync(`${KIT}/package.json`, 'utf8')) as {
      name: string;
      type: string;
      dependencies: Record<string, string>;
      peerDependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    expect(manifest).toMatchObject({ name: '@avrr/client', type: 'module' });
    expect(Object.keys(manifest.dependencies).filter((d) => !ALLOWED.has(d))).toEqual([]);
    expect(Object.keys(manifest.peerDependencies ?? {})).toEqual(['ws']);
    expect(manifest.devDependencies).toBeUndefined();
    const files = filesUnder(`${KIT}/src`).concat(filesUnder(`${KIT}/examples`));
    expect(files.length).toBeGreaterThanOrEqual(6);
    // The scan itself finds package imports, relative ones and dynamic ones.
    expect(specifiersOf("import type { A } from 'x';\nexport { B } from './b.js';\nawait import('y');")).toEqual([
      'x',
      './b.js',
      'y',
    ]);
    for (const file of files) {
      const source = readFileSync(file, 'utf8');
      for (const specifier of specifiersOf(source)) {
        // A relative import stays inside the kit; a package import is a declared dependency or Node's own.
        const inside = join(file, '..', specifier);
        if (specifier.startsWith('.')) expect(inside.startsWith(`${KIT}/`), `${file}: ${specifier}`).toBe(true);
        else expect(ALLOWED.has(specifier) || specifier.startsWith('node:'), `${file}: ${specifier}`).toBe(true);
      }
      // The browser entry points use no Node module (only the legacy verifier and the examples do).
      if (file.startsWith(`${KIT}/src/`) && !file.endsWith('legacy-webhooks.ts'))
        expect(source, file).not.toMatch(/from 'node:/);
    }
  });

  it('the committed operations are what codegen makes from the current graph', async () => {
    const [output] = await generate({ ...codegenConfig, hooks: {}, silent: true }, false);
    expect(output?.filename).toBe(`${KIT}/src/generated/operations.ts`);
    const formatted = await prettier.format(output!.content, {
      ...(await prettier.resolveConfig(output!.filename)),
      filepath: output!.filename,
    });
    expect(formatted).toBe(readFileSync(output!.filename, 'utf8'));
  }, 60_000);
});

describe('client kit: webhook verification', () => {
  const secret = 'x'.repeat(43);
  const body = JSON.stringify({ id: '1-0', type: 'ACCEPTED', caseId: 'c', at: '2024-01-01T00:00:00Z' });
  const signed = (at = new Date(), text = body, key = secret) => standardWebhookHeaders(key, 'hook.1-0', at, text);

  it('derives the Standard Webhooks secret from an existing one, keeping the same key', () => {
    expect(signingSecretOf(secret)).toBe(`whsec_${Buffer.from(secret).toString('base64')}`);
    expect(signingSecretOf(signingSecretOf(secret))).toBe(signingSecretOf(secret));
    expect(signingSecretOf('é')).toBe(`whsec_${Buffer.from('é').toString('base64')}`);
  });

  it('accepts what the server signs, with either form of the secret and a Standard Webhooks library', () => {
    const headers = signed();
    expect(verifyWebhook(secret, headers, body).payload.type).toBe('ACCEPTED');
    expect(verifyWebhook(signingSecretOf(secret), new Headers(headers), body).webhookId).toBe('hook.1-0');
    expect(new Webhook(signingSecretOf(secret)).verify(body, headers)).toMatchObject({ id: '1-0' });
  });

  it('refuses forged, replayed, malformed, oversized and hostile deliveries with a reason', () => {
    const refusal = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(WebhookVerificationError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refusal(() => verifyWebhook('y'.repeat(43), signed(), body))).toMatch(/signature/i);
    expect(refusal(() => verifyWebhook(secret, signed(), body.replace('ACCEPTED', 'CLOSED')))).toMatch(/signature/i);
    expect(refusal(() => verifyWebhook(secret, signed(new Date(Date.now() - 6 * 60_000)), body))).toMatch(/old/i);
    expect(refusal(() => verifyWebhook(secret, signed(new Date(Date.now() + 6 * 60_000)), body))).toMatch(/new/i);
    expect(refusal(() => verifyWebhook(secret, { ...signed(), 'webhook-id': undefined }, body))).toContain(
      'webhook-id',
    );
    expect(
      refusal(() => verifyWebhook(secret, { ...signed(), 'webhook-signature': 'v1,' + 'A'.repeat(2_000) }, body)),
    ).toContain('longer than 1000');
    expect(refusal(() => verifyWebhook(secret, { ...signed(), 'webhook-timestamp': 'soon' }, body))).toBeTruthy();
    const huge = 'x'.repeat(MAX_WEBHOOK_BODY_BYTES + 1);
    expect(refusal(() => verifyWebhook(secret, signed(new Date(), huge), huge))).toContain('larger than');
    expect(refusal(() => verifyWebhook(secret, signed(new Date(), '[1]'), '[1]'))).toContain('not a case event');
    expect(refusal(() => verifyWebhook(secret, signed(new Date(), 'not json'), 'not json'))).toBeTruthy();
    expect(refusal(() => verifyWebhook(secret, signed(), 42 as unknown as string))).toContain('raw request body');
  });

  it('still verifies the deprecated avrr-signature header', () => {
    const now = Date.now();
    const ts = Math.floor(now / 1000);
    expect(verifyLegacyWebhook(secret, signWebhook(secret, ts, body), ts, body, 300, now)).toBe(true);
    expect(verifyLegacyWebhook(secret, signWebhook(secret, ts, body), ts, `${body} `, 300, now)).toBe(false);
  });
});

describe('local webhook receiver setting', () => {
  const local = { allowHttp: false, allowPrivate: false, allowLocalhost: true };

  it('lets endpoints reach this machine only, over http or https', () => {
    for (const url of ['http://localhost:4999/', 'http://127.0.0.1:4999/x', 'http://[::1]:4999/', 'https://localhost/'])
      expect(checkWebhookUrl(url, local).toString(), url).toBe(new URL(url).toString());
    for (const url of [
      'http://10.0.0.5/',
      'http://127.0.0.2/',
      'http://localhost.evil.example/',
      'http://partner.example/',
      'http://user:pw@localhost/',
      'ftp://localhost/',
    ])
      expect(() => checkWebhookUrl(url, local), url).toThrow(/url/);
    expect(() => checkWebhookUrl('http://localhost:4999/', { allowHttp: false, allowPrivate: false })).toThrow(/https/);
  });

  it('is refused in production, naming the variable', () => {
    const production = {
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: 'p'.repeat(48),
      INTERNAL_SIGNING_KEY: 'q'.repeat(48),
      CASE_ID_KEY: 'r'.repeat(48),
      PSEUDONYM_KEY: 's'.repeat(48),
    };
    expect(() => loadConfig({ ...production, WEBHOOK_LOCAL_RECEIVER: 'false' })).not.toThrow();
    expect(() => loadConfig({ ...production, WEBHOOK_LOCAL_RECEIVER: 'true' })).toThrow(/WEBHOOK_LOCAL_RECEIVER/);
    expect(loadConfig({ NODE_ENV: 'development', WEBHOOK_LOCAL_RECEIVER: 'true' }).WEBHOOK_LOCAL_RECEIVER).toBe(true);
    expect(() => loadConfig({ NODE_ENV: 'development', WEBHOOK_LOCAL_RECEIVER: 'yes' })).toThrow(
      /WEBHOOK_LOCAL_RECEIVER/,
    );
  });
});
