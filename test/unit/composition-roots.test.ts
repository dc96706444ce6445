import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { stopInOrder } from '../../shared/process.js';
import { systemProcesses } from '../../scripts/processes.js';
import { retentionSettings } from '../../subgraphs/cases/data-protection/retention-loop.js';
import { casesProcess } from '../../subgraphs/cases/subgraph.js';
import { workerReadiness } from '../../subgraphs/cases/worker-process.js';
import { coverageProcess } from '../../subgraphs/coverage/subgraph.js';
import { financeProcess } from '../../subgraphs/finance/subgraph.js';
import { partnersProcess } from '../../subgraphs/partners/subgraph.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('stopping background work', () => {
  it('stops each handle in the order given, each after the previous one finished', async () => {
    const log: string[] = [];
    const handle = (name: string, ms: number) => ({
      stop: async () => {
        log.push(`${name} stopping`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        log.push(`${name} stopped`);
      },
    });
    await stopInOrder([handle('consumer', 20), handle('metrics', 0), handle('webhooks', 5)]);
    expect(log).toEqual([
      'consumer stopping',
      'consumer stopped',
      'metrics stopping',
      'metrics stopped',
      'webhooks stopping',
      'webhooks stopped',
    ]);
  });

  it('a failing handle stops the rest and the failure reaches the caller', async () => {
    const stopped: string[] = [];
    const failing = {
      stop: async () => {
        throw new Error('queue would not close');
      },
    };
    const other = { stop: async () => void stopped.push('other') };
    await expect(stopInOrder([failing, other])).rejects.toThrow('queue would not close');
    expect(stopped).toEqual([]);
  });
});

describe('the ingestion worker process', () => {
  it('takes retention settings from the config', () => {
    const config = loadConfig({ RETENTION_DAYS: '30', RETENTION_NOTICE_HOURS: '12', RETENTION_INTERVAL_MS: '60000' });
    expect(retentionSettings(config)).toEqual({ retentionDays: 30, noticeHours: 12, intervalMs: 60_000 });
    expect(retentionSettings(loadConfig({}))).toEqual({ retentionDays: 1_825, noticeHours: 24, intervalMs: 3_600_000 });
  });

  it('is ready while its stores answer and its consumer runs, and says which check failed', async () => {
    let running = true;
    let mongoUp = true;
    const checks = workerReadiness({
      pingMongo: async () => {
        if (!mongoUp) throw new Error('mongo down');
      },
      pingRedis: async () => 'PONG',
      consumer: { isRunning: () => running },
    });
    expect(Object.keys(checks).sort()).toEqual(['mongo', 'redis', 'worker']);
    await expect(Promise.all(Object.values(checks).map((check) => check()))).resolves.toBeDefined();
    running = false;
    await expect(checks.worker!()).rejects.toThrow('worker not running');
    mongoUp = false;
    await expect(checks.mongo!()).rejects.toThrow('mongo down');
    await expect(checks.redis!()).resolves.toBeUndefined();
  });
});

describe('subgraph process descriptions', () => {
  const processes = [casesProcess, partnersProcess, coverageProcess, financeProcess];
  const config = loadConfig({ CASES_PORT: '5101', PARTNERS_PORT: '5102', COVERAGE_PORT: '5103', FINANCE_PORT: '5104' });

  it('each names its subgraph and takes its own port from the config', () => {
    expect(processes.map((p) => [p.name, p.port(config)])).toEqual([
      ['cases', 5101],
      ['partners', 5102],
      ['coverage', 5103],
      ['finance', 5104],
    ]);
  });

  it('the two subgraphs with a projector run it beside the server; the others run the server alone', () => {
    expect(processes.filter((p) => p.background !== undefined).map((p) => p.name)).toEqual(['cases', 'finance']);
  });

  it('each is the one its entry point starts, on the port the process list checks', () => {
    const listed = systemProcesses(config);
    for (const p of processes) {
      const entry = listed.find((l) => l.name === p.name);
      expect(entry, p.name).toMatchObject({ entry: `subgraphs/${p.name}/main.ts`, port: p.port(config) });
      expect(existsSync(`${root}/${entry!.entry}`)).toBe(true);
    }
    expect(listed.find((l) => l.name === 'ingest-worker')?.entry).toBe('subgraphs/cases/worker.ts');
  });
});
