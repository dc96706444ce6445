import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../shared/config.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every process of the system, its entry point and the port of its readiness endpoint. */
export function systemProcesses(config: Config): Array<{ name: string; entry: string; port: number }> {
  return [
    { name: 'cases', entry: 'subgraphs/cases/main.ts', port: config.CASES_PORT },
    { name: 'partners', entry: 'subgraphs/partners/main.ts', port: config.PARTNERS_PORT },
    { name: 'coverage', entry: 'subgraphs/coverage/main.ts', port: config.COVERAGE_PORT },
    { name: 'finance', entry: 'subgraphs/finance/main.ts', port: config.FINANCE_PORT },
    { name: 'ingest-worker', entry: 'subgraphs/cases/worker.ts', port: config.WORKER_PORT },
    { name: 'gateway', entry: 'gateway/main.ts', port: config.GATEWAY_PORT },
  ];
}

/**
 * Node options per entry point. The ingestion worker's live data is about 60 MB at the
 * default concurrency and chunk size, but V8 lets an unbounded heap grow to several times
 * that between collections; a bounded heap keeps its resident memory under 300 MB. Raise it
 * with INGEST_CONCURRENCY × INGEST_CHUNK_SIZE. The compose file starts the worker the same way.
 */
export const NODE_ARGS: Record<string, string[]> = {
  'subgraphs/cases/worker.ts': ['--max-old-space-size=128', '--max-semi-space-size=8'],
};

/**
 * Loaded before every entry point: starts tracing when the OTEL_* variables ask for it, and
 * must come before the entry so the instrumented modules load patched (README, Tracing).
 */
export const TELEMETRY_ARGS = ['--import', './shared/telemetry/register.ts'];

/** Runs a TypeScript entry point with Node and tsx (the same command the compose file uses). */
export function spawnEntry(entry: string, env: NodeJS.ProcessEnv, stdio: 'inherit' | 'pipe' = 'inherit'): ChildProcess {
  return spawn(process.execPath, [...(NODE_ARGS[entry] ?? []), '--import', 'tsx', ...TELEMETRY_ARGS, entry], {
    cwd: ROOT,
    env,
    stdio: ['ignore', stdio, stdio],
  });
}

/** Polls GET url until it answers 200 or the deadline passes. */
export async function waitForReady(
  url: string,
  timeoutMs: number,
  alive: () => boolean = () => true,
  headers: Record<string, string> = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`${url}: process exited before it was ready`);
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(1_000) });
      if (response.status === 200) return;
      last = `HTTP ${response.status}: ${await response.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (${last})`);
}
