import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../shared/config.js';
import { NODE_ARGS, systemProcesses } from '../../scripts/processes.js';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  restart?: string;
  healthcheck?: { test?: string[]; disable?: boolean };
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
}

const file = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));
const compose = parse(readFileSync(file, 'utf8'), { merge: true }) as { services: Record<string, Service> };

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
    if (hasDocker) expect(validator, 'scripts/test.sh installs docker-compose where the Docker client lacks the compose plugin').not.toBeNull();
    if (validator) {
      const [command, ...args] = validator;
      const secrets = { AUTH_JWT_SECRET: 'x'.repeat(32), INTERNAL_SIGNING_KEY: 'y'.repeat(32), PSEUDONYM_KEY: 'z'.repeat(32), CASE_ID_KEY: 'c'.repeat(32) };
      expect(() => execFileSync(command!, [...args, '-f', file, 'config', '-q'], { stdio: 'pipe', env: { ...process.env, ...secrets } })).not.toThrow();
      // Without the production secrets the file refuses to resolve, naming what is missing.
      const { AUTH_JWT_SECRET: _a, INTERNAL_SIGNING_KEY: _b, PSEUDONYM_KEY: _c, CASE_ID_KEY: _d, ...withoutSecrets } = process.env;
      const refused = spawnSync(command!, [...args, '-f', file, 'config', '-q'], { encoding: 'utf8', env: withoutSecrets });
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/AUTH_JWT_SECRET|INTERNAL_SIGNING_KEY|PSEUDONYM_KEY/);
    }
  });

  it('runs MongoDB 7 as a replica set and Redis 7, both health-checked', () => {
    expect(compose.services.mongo?.image).toBe('mongo:7');
    expect(compose.services.mongo?.command).toEqual(expect.arrayContaining(['--replSet']));
    expect(compose.services.redis?.image).toBe('redis:7');
    for (const name of ['mongo', 'redis']) expect(compose.services[name]?.healthcheck?.test?.length).toBeGreaterThan(0);
  });

  it('starts every process of the system with the same command as outside Docker, with health checks and restart policies', () => {
    for (const { name, entry, port } of systemProcesses(loadConfig({}))) {
      const service = compose.services[name];
      expect(service, `service ${name}`).toBeDefined();
      expect(service!.command).toEqual(['node', ...(NODE_ARGS[entry] ?? []), '--import', 'tsx', entry]);
      expect(existsSync(`${root}/${entry}`)).toBe(true);
      expect(service!.restart).toBe('unless-stopped');
      expect(service!.healthcheck?.test?.join(' ')).toContain(`127.0.0.1:${port}/health/ready`);
    }
  });

  it('scales the stateless parts: several gateways and workers against one replica set', () => {
    expect(compose.services.gateway?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(compose.services['ingest-worker']?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(Object.keys(compose.services.gateway?.depends_on ?? {})).toEqual(expect.arrayContaining(['cases', 'partners', 'coverage', 'finance']));
  });
});
