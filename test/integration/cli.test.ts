import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { connectDatabase } from '../../shared/mongo.js';
import { casesModels } from '../../subgraphs/cases/case/models.js';
import { ROOT } from '../../scripts/processes.js';
import { testConfig } from '../helpers/system.js';

const run = (command: string, args: string[], env: Record<string, string> = {}) =>
  spawnSync(command, args, { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });

describe('command-line entry points', () => {
  it.each([
    [['--count', 'many'], /--count must be an integer from 0 to 1000000, got "many"/],
    [['--count=-5'], /--count must be an integer/],
    [['--count', '-5'], /ambiguous[\s\S]*usage: npm run seed/],
    [['--count', '1000001'], /--count must be an integer/],
    [['--seed', '1.5'], /--seed must be an integer/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('seed refuses %j with a clear message', (args, message) => {
    const result = run(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', ...args]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it('seed loads a deterministic data set, and --if-empty keeps it', async () => {
    const config = testConfig();
    const env = { MONGO_DB_PREFIX: config.MONGO_DB_PREFIX };
    const first = run(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', '--count', '40', '--seed', '5'], env);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/seed: 40 cases/);
    const again = run(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', '--count', '999', '--if-empty'], env);
    expect(again.stdout).toMatch(/keeping the 40 cases already stored/);
    const connection = await connectDatabase(config, 'cases');
    const refs = (await casesModels(connection).Case.find({}, { caseReference: 1, _id: 0 }).lean())
      .map((d) => d.caseReference)
      .sort();
    await connection.close();
    expect(refs).toHaveLength(40);
    expect(new Set(refs).size).toBe(40);
  });

  it('seed --if-empty changes nothing, and says so, when stored ids were derived with another CASE_ID_KEY', () => {
    const config = testConfig();
    const env = { MONGO_DB_PREFIX: config.MONGO_DB_PREFIX, CASE_ID_KEY: 'a'.repeat(40) };
    expect(
      run(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', '--count', '20', '--seed', '5'], env).status,
    ).toBe(0);
    const same = run(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', '--count', '20', '--if-empty'], env);
    expect(same.stdout).toMatch(/keeping the 20 cases already stored/);
    const rekeyed = run(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', '--count', '30', '--if-empty'], {
      ...env,
      CASE_ID_KEY: 'b'.repeat(40),
    });
    expect(rekeyed.status).toBe(65);
    expect(rekeyed.stderr).toMatch(/ids derived without this CASE_ID_KEY[\s\S]*nothing was changed/);
    // The 20 cases are still there, under their first key.
    expect(
      run(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', '--count', '30', '--if-empty'], env).stdout,
    ).toMatch(/keeping the 20 cases already stored/);
  });

  it('ingest:replay refuses a malformed feed id', () => {
    const result = run(process.execPath, ['--import', 'tsx', 'scripts/ingest-replay.ts', '--feed', '{"$gt":""}']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--feed must be a feed id/);
  });

  it('services.sh refuses an unknown command', () => {
    const result = run('bash', ['scripts/services.sh', 'explode']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/usage: .*install\|start\|stop\|status/);
  });

  it('compose --check passes on the committed supergraph', () => {
    const result = run(process.execPath, ['--import', 'tsx', 'scripts/compose.ts', '--check']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/up to date/);
  });
});
