import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticHandler } from '../../gateway/web/static.js';

/** The static route over HTTP on a stand-in build holding the page and the developers' IDE. */
const dir = mkdtempSync(join(tmpdir(), 'dash-static-'));
const servers: Server[] = [];

async function serve(production: boolean): Promise<string> {
  const handler = staticHandler({ dir, production });
  const server = createServer((req, res) => {
    void handler(req, res, new URL(req.url ?? '/', 'http://localhost')).then((handled) => {
      if (!handled) res.writeHead(404).end('not handled');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(() => {
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>dashboard</title>');
  writeFileSync(join(dir, 'ide.html'), '<!doctype html><title>GraphiQL IDE</title>');
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

describe('the GraphQL IDE in production', () => {
  it('is not reachable as a file of the build either (/dashboard/ide.html, encoded or not)', async () => {
    const base = await serve(true);
    expect((await fetch(`${base}/ide`)).status).toBe(404);
    for (const path of [
      '/dashboard/ide.html',
      '/dashboard/%69de.html',
      '/dashboard//ide.html',
      '/dashboard/IDE.html',
    ]) {
      const answer = await fetch(`${base}${path}`);
      expect(await answer.text(), path).not.toContain('GraphiQL');
    }
    // The page itself is still served.
    expect(await (await fetch(`${base}/dashboard/`)).text()).toContain('<title>dashboard</title>');
  });

  it('is served at /ide outside production', async () => {
    const base = await serve(false);
    expect(await (await fetch(`${base}/ide`)).text()).toContain('GraphiQL');
  });
});
