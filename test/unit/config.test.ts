import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, configShape, loadConfig } from '../../shared/config.js';

describe('configuration from the environment', () => {
  it('has working defaults for local development', () => {
    const config = loadConfig({});
    expect(config.GATEWAY_PORT).toBe(4000);
    expect(config.MONGO_URL).toBe('mongodb://127.0.0.1:27027');
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6389');
    expect(config.NODE_ENV).toBe('development');
  });

  it('reads and coerces given values; empty means unset', () => {
    const config = loadConfig({ GATEWAY_PORT: '5000', SUBGRAPH_TIMEOUT_MS: '250', LOG_LEVEL: '' });
    expect(config.GATEWAY_PORT).toBe(5000);
    expect(config.SUBGRAPH_TIMEOUT_MS).toBe(250);
    expect(config.LOG_LEVEL).toBe('info');
  });

  it('names every malformed variable and what it got', () => {
    let error: unknown;
    try {
      loadConfig({ GATEWAY_PORT: 'eighty', MONGO_URL: 'http://db', NODE_ENV: 'prod', MONGO_DB_PREFIX: 'a-b; drop' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('GATEWAY_PORT');
    expect(message).toContain('"eighty"');
    expect(message).toMatch(/MONGO_URL: must be a URL starting with mongodb:\/\//);
    expect(message).toContain('NODE_ENV');
    expect(message).toContain('MONGO_DB_PREFIX');
    expect((error as ConfigError).problems).toHaveLength(4);
  });

  it('refuses out-of-range numbers', () => {
    expect(() => loadConfig({ CASES_PORT: '70000' })).toThrow(/CASES_PORT/);
    expect(() => loadConfig({ MAX_BODY_BYTES: '10' })).toThrow(/MAX_BODY_BYTES/);
  });

  it('the README lists every variable with its default', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const defaults = loadConfig({});
    for (const key of Object.keys(configShape)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${key}\``));
      expect(row, `README row for ${key}`).toBeDefined();
      const value = defaults[key as keyof typeof defaults];
      // An optional variable without a default is listed as "(unset)".
      expect(row).toContain(value === undefined ? '| (unset) |' : `\`${String(value)}\``);
    }
  });
});
