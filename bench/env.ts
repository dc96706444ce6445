import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { spawnEntry, waitForReady } from '../scripts/processes.js';
import { mintToken, type Principal } from '../shared/auth.js';
import { loadConfig, type Config } from '../shared/config.js';
import { connectDatabase } from '../shared/mongo.js';
import { seedReferenceData } from '../scripts/seed-data.js';

/**
 * The environment every benchmark runs its processes with: production mode, its own
 * databases and queue keys, and a block of ports starting at `base` (gateway at `base`,
 * subgraphs at base+1..4, worker at base+10).
 */
export function benchEnv(prefix: string, base: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    AUTH_JWT_SECRET: 'bench-only-jwt-secret-0123456789abcdef',
    INTERNAL_SIGNING_KEY: 'bench-only-internal-signing-key-0123456789',
    PSEUDONYM_KEY: 'bench-only-pseudonym-key-0123456789abcdef',
    CASE_ID_KEY: 'bench-only-case-id-key-0123456789abcdef00',
    MONGO_DB_PREFIX: prefix,
    QUEUE_PREFIX: prefix,
    GATEWAY_PORT: String(base),
    CASES_PORT: String(base + 1),
    PARTNERS_PORT: String(base + 2),
    COVERAGE_PORT: String(base + 3),
    FINANCE_PORT: String(base + 4),
    WORKER_PORT: String(base + 10),
    // Metrics servers on free ports: a benchmark runs beside a development system.
    GATEWAY_METRICS_PORT: '0',
    WORKER_METRICS_PORT: '0',
    CASES_METRICS_PORT: '0',
    PARTNERS_METRICS_PORT: '0',
    COVERAGE_METRICS_PORT: '0',
    FINANCE_METRICS_PORT: '0',
    CASES_URL: `http://127.0.0.1:${base + 1}/graphql`,
    PARTNERS_URL: `http://127.0.0.1:${base + 2}/graphql`,
    COVERAGE_URL: `http://127.0.0.1:${base + 3}/graphql`,
    FINANCE_URL: `http://127.0.0.1:${base + 4}/graphql`,
    ...extra,
  };
}

/** The four subgraphs, in port order (base+1..4). */
export const BENCH_SUBGRAPHS = ['cases', 'partners', 'coverage', 'finance'] as const;

/** The bench's four databases, with the reference data loaded. */
export async function benchDatabases(config: Config) {
  const [cases, partners, coverage, finance] = await Promise.all(
    BENCH_SUBGRAPHS.map((n) => connectDatabase(config, n)),
  );
  const db = { cases: cases!, partners: partners!, coverage: coverage!, finance: finance! };
  await seedReferenceData(db);
  return { db, close: async () => void (await Promise.all(Object.values(db).map((c) => c.close()))) };
}

/** The principal the read benchmarks ask as: every case's metadata, no personal data (so no access-log writes). */
export const BENCH_PRINCIPAL: Principal = { subject: 'bench', role: 'ADMIN' };

/** An `authorization` header for BENCH_PRINCIPAL, valid for the gateway started with `env`. */
export async function benchAuthorization(env: Record<string, string>): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await mintToken(BENCH_PRINCIPAL, loadConfig(env))}` };
}

/** Starts entry points as child processes, waits for their readiness, stops them all at exit. */
export function processStarter(env: Record<string, string>) {
  const children: ChildProcess[] = [];
  process.on('exit', () => children.forEach((c) => c.kill('SIGTERM')));
  return async (
    entry: string,
    port: number,
    readinessPath = '/health/ready',
    headers: Record<string, string> = {},
    extraEnv: Record<string, string> = {},
  ) => {
    const child = spawnEntry(entry, { ...env, ...extraEnv });
    children.push(child);
    await waitForReady(`http://127.0.0.1:${port}${readinessPath}`, 60_000, () => child.exitCode === null, headers);
    return child;
  };
}

/**
 * Throws, naming them, if any of `ports` is taken on 127.0.0.1: a readiness check on a taken
 * port would be answered by another process (another bench), and the figures would be its.
 */
export async function assertPortsFree(ports: number[]): Promise<void> {
  const taken: number[] = [];
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (!free) taken.push(port);
  }
  if (taken.length > 0)
    throw new Error(`ports ${taken.join(', ')} on 127.0.0.1 are in use (another bench running?); stop it first`);
}
