import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../shared/config.js';
import { NODE_ARGS, systemProcesses, TELEMETRY_ARGS } from '../../scripts/processes.js';

interface Service {
  image?: string;
  entrypoint?: string[];
  environment?: Record<string, string>;
  build?: unknown;
  command?: string[];
  restart?: string;
  healthcheck?: { test?: string[]; disable?: boolean };
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
}

const file = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));
const text = readFileSync(file, 'utf8');
const compose = parse(text, { merge: true }) as { services: Record<string, Service> };
/** What the file needs from the environment to resolve: application secrets and the stores' credentials. */
const SECRETS = {
  AUTH_JWT_SECRET: 'x'.repeat(32),
  INTERNAL_SIGNING_KEY: 'y'.repeat(32),
  PSEUDONYM_KEY: 'z'.repeat(32),
  CASE_ID_KEY: 'c'.repeat(32),
  MONGO_USERNAME: 'avrr',
  MONGO_PASSWORD: 'm'.repeat(32),
  MONGO_REPLICA_KEY: 'k'.repeat(64),
  REDIS_PASSWORD: 'r'.repeat(32),
};

/** Which compose validator this machine has: the Docker CLI plugin, or Debian's docker-compose. */
function composeValidator(): string[] | null {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return null;
}

describe('docker-compose.yml', () => {
  it('is valid for the compose tool on this machine (when a Docker client is installed)', () => {
    const validator = composeValidator();
    const hasDocker = spawnSync('docker', ['--version'], { stdio: 'ignore' }).status === 0;
    if (hasDocker)
      expect(
        validator,
        'scripts/test.sh installs docker-compose where the Docker client lacks the compose plugin',
      ).not.toBeNull();
    if (validator) {
      const [command, ...args] = validator;
      expect(() =>
        execFileSync(command!, [...args, '-f', file, 'config', '-q'], {
          stdio: 'pipe',
          env: { ...process.env, ...SECRETS },
        }),
      ).not.toThrow();
      // Without the production secrets the file refuses to resolve, naming what is missing.
      const {
        AUTH_JWT_SECRET: _a,
        INTERNAL_SIGNING_KEY: _b,
        PSEUDONYM_KEY: _c,
        CASE_ID_KEY: _d,
        ...withoutSecrets
      } = process.env;
      const stores = {
        MONGO_USERNAME: SECRETS.MONGO_USERNAME,
        MONGO_PASSWORD: SECRETS.MONGO_PASSWORD,
        MONGO_REPLICA_KEY: SECRETS.MONGO_REPLICA_KEY,
        REDIS_PASSWORD: SECRETS.REDIS_PASSWORD,
      };
      const refused = spawnSync(command!, [...args, '-f', file, 'config', '-q'], {
        encoding: 'utf8',
        env: { ...withoutSecrets, ...stores },
      });
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/AUTH_JWT_SECRET|INTERNAL_SIGNING_KEY|PSEUDONYM_KEY/);
      // Each store credential is required on its own.
      for (const name of ['MONGO_USERNAME', 'MONGO_PASSWORD', 'MONGO_REPLICA_KEY', 'REDIS_PASSWORD'] as const) {
        const { [name]: _dropped, ...others } = SECRETS;
        const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !(key in SECRETS)));
        const without = spawnSync(command!, [...args, '-f', file, 'config', '-q'], {
          encoding: 'utf8',
          env: { ...env, ...others },
        });
        expect(without.status, name).not.toBe(0);
        expect(without.stderr, name).toContain(name);
      }
    }
  });

  it('MongoDB and Redis require authentication, with credentials from the environment that the services use', () => {
    const mongo = compose.services.mongo!;
    expect(mongo.command).toEqual(expect.arrayContaining(['--auth', '--keyFile']));
    // Listening on every interface only with authentication on.
    if (mongo.command!.includes('--bind_ip_all')) expect(mongo.command).toContain('--auth');
    expect(mongo.environment?.MONGO_INITDB_ROOT_USERNAME).toBe('${MONGO_USERNAME:?set MONGO_USERNAME}');
    expect(mongo.environment?.MONGO_INITDB_ROOT_PASSWORD).toMatch(/^\$\{MONGO_PASSWORD:\?[^}]+\}$/);
    expect(mongo.environment?.MONGO_REPLICA_KEY).toMatch(/^\$\{MONGO_REPLICA_KEY:\?[^}]+\}$/);
    expect(mongo.entrypoint?.join(' ')).toContain('MONGO_REPLICA_KEY');
    expect(mongo.healthcheck?.test?.join(' ')).toContain('MONGO_INITDB_ROOT_PASSWORD');
    const redis = compose.services.redis!;
    expect(redis.command?.join(' ')).toContain('--requirepass "$$REDIS_PASSWORD"');
    expect(redis.environment?.REDIS_PASSWORD).toMatch(/^\$\{REDIS_PASSWORD:\?[^}]+\}$/);
    expect(redis.healthcheck?.test?.join(' ')).toContain('REDISCLI_AUTH');
    // Neither store publishes a port.
    expect(text).not.toMatch(/^\s+- "?(27017|6379)/m);
    for (const name of ['cases', 'gateway', 'ingest-worker', 'seed']) {
      const environment = compose.services[name]!.environment!;
      expect(environment.MONGO_URL, name).toMatch(
        new RegExp(
          '^mongodb://\\$\\{MONGO_USERNAME:\\?[^}]+\\}:\\$\\{MONGO_PASSWORD:\\?[^}]+\\}' +
            '@mongo:27017/\\?replicaSet=rs0&authSource=admin$',
        ),
      );
      expect(environment.REDIS_URL, name).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:6379$/);
      // Staged personal data is kept days, not a month; metrics stay inside the network.
      expect(Number(environment.INGEST_STAGED_DAYS), name).toBeLessThanOrEqual(7);
      expect(environment.METRICS_HOST, name).toBe('0.0.0.0');
    }
    expect(JSON.stringify((compose.services.gateway as { ports?: string[] }).ports)).not.toMatch(/94\d\d/);
  });

  it('runs MongoDB 7 as a replica set and Redis 7, both health-checked', () => {
    expect(compose.services.mongo?.image).toBe('mongo:7');
    expect(compose.services.mongo?.command).toEqual(expect.arrayContaining(['--replSet']));
    expect(compose.services.redis?.image).toBe('redis:7');
    for (const name of ['mongo', 'redis']) expect(compose.services[name]?.healthcheck?.test?.length).toBeGreaterThan(0);
  });

  it('starts every process with the same command as outside Docker, with health checks and restart policies', () => {
    for (const { name, entry, port } of systemProcesses(loadConfig({}))) {
      const service = compose.services[name];
      expect(service, `service ${name}`).toBeDefined();
      expect(service!.command).toEqual([
        'node',
        ...(NODE_ARGS[entry] ?? []),
        '--import',
        'tsx',
        ...TELEMETRY_ARGS,
        entry,
      ]);
      expect(existsSync(`${root}/${entry}`)).toBe(true);
      expect(service!.restart).toBe('unless-stopped');
      expect(service!.healthcheck?.test?.join(' ')).toContain(`127.0.0.1:${port}/health/ready`);
    }
  });

  it('scales the stateless parts: several gateways and workers against one replica set', () => {
    expect(compose.services.gateway?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(compose.services['ingest-worker']?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(Object.keys(compose.services.gateway?.depends_on ?? {})).toEqual(
      expect.arrayContaining(['cases', 'partners', 'coverage', 'finance']),
    );
  });
});
