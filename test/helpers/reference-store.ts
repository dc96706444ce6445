import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A second FerretDB, the same build as the local store, started with
 * `--test-disable-pushdown`: it reads every document and applies every filter with
 * FerretDB's own evaluation of MongoDB's query language, so it answers what the store
 * must answer whatever the patches push down to SQLite, decoding documents with FerretDB's
 * original decoder. Null when there is no local build
 * (MONGO_URL points at another server).
 */
export async function startReferenceStore(): Promise<{ url: string; stop: () => Promise<void> } | null> {
  const binary = fileURLToPath(new URL('../../.services/bin/ferretdb', import.meta.url));
  if (process.env.MONGO_URL || !existsSync(binary)) return null;
  const dir = mkdtempSync(join(tmpdir(), 'avrr-reference-store-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      `--state-dir=${dir}`,
      '--telemetry=disable',
      '--log-level=error',
      '--test-disable-pushdown',
    ],
    // Its documents are decoded by FerretDB's original sjson decoder (patch 05 keeps it), so
    // comparing whole documents also checks the single-pass decoder the store uses.
    { stdio: 'ignore', env: { ...process.env, FERRETDB_SJSON_DECODER: 'legacy' } },
  );
  await waitForPort(port, 30_000, () => child.exitCode === null);
  return {
    url: `mongodb://127.0.0.1:${port}/`,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnectionSafe(port, resolve);
      socket.setTimeout(500, () => socket.destroy());
    });
    if (open) return;
    if (!alive()) throw new Error('the reference FerretDB exited before it listened');
    if (Date.now() > deadline)
      throw new Error(`the reference FerretDB did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function createConnectionSafe(port: number, done: (open: boolean) => void) {
  const socket = connect(port, '127.0.0.1');
  socket.once('connect', () => {
    socket.destroy();
    done(true);
  });
  socket.once('error', () => done(false));
  return socket;
}
