import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor } from '../../scripts/supervisor/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = 'test/fixtures/supervisor/supervise.ts';
const IDLE = 'setInterval(() => {}, 1000)';
// Says so on stderr (the fixture's log) once it ignores SIGTERM.
const DEAF = `process.on('SIGTERM', () => {}); console.error('deaf ' + process.pid); ${IDLE}`;

/** A pid that names a live process (a zombie is not one: it has exited, only unreaped). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Run {
  process: ChildProcess;
  starts: Array<{ name: string; pid: number }>;
  log: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runs: Run[] = [];

/** Starts the supervisor fixture (a real process supervising real `node -e` children). */
function supervise(children: Record<string, string>, policy: Record<string, number>, stopGraceMs = 5_000): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, SUPERVISE_SPEC: JSON.stringify({ children, policy, stopGraceMs }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const run: Run = {
    process: child,
    starts: [],
    log: () => stderr,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const lines = stdout.split('\n');
    stdout = lines.pop() ?? '';
    for (const line of lines) run.starts.push(JSON.parse(line) as { name: string; pid: number });
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  runs.push(run);
  return run;
}

const pidsOf = (run: Run, name: string) => run.starts.filter((s) => s.name === name).map((s) => s.pid);

afterEach(async () => {
  // Whatever a failed test left running: the supervisor, then any child it started.
  for (const run of runs.splice(0)) {
    if (run.process.exitCode === null && run.process.signalCode === null) run.process.kill('SIGKILL');
    await run.exited;
    for (const { pid } of run.starts) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
});

describe('npm start supervisor (scripts/supervisor)', () => {
  const policy = { initialDelayMs: 200, factor: 2, maxDelayMs: 2_000, stableAfterMs: 60_000, maxFastCrashes: 3 };

  it('restarts a child killed with SIGKILL, says so, leaves the other alone; SIGTERM ends every child', async () => {
    const run = supervise({ worker: IDLE, gateway: DEAF }, policy, 1_000);
    const [worker, gateway] = await until('both children', () => {
      const w = pidsOf(run, 'worker')[0];
      const g = pidsOf(run, 'gateway')[0];
      return w !== undefined && g !== undefined && alive(w) && alive(g) ? [w, g] : undefined;
    });

    process.kill(worker, 'SIGKILL');
    const restarted = await until('the worker restarted', () => pidsOf(run, 'worker')[1]);
    expect(restarted).not.toBe(worker);
    await until('the new worker running', () => (alive(restarted) ? true : undefined));
    expect(run.log()).toContain('[start] worker exited (signal SIGKILL); restarting in 200 ms (restart 1)');
    expect(alive(worker)).toBe(false);
    expect(pidsOf(run, 'gateway')).toEqual([gateway]);
    expect(alive(gateway)).toBe(true);

    // The gateway ignores SIGTERM: the grace period ends it with SIGKILL.
    await until('the gateway ignoring SIGTERM', () => (run.log().includes(`deaf ${gateway}`) ? true : undefined));
    const stoppedAt = Date.now();
    run.process.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(1_000);
    expect(alive(restarted)).toBe(false);
    expect(alive(gateway)).toBe(false);
    expect(pidsOf(run, 'worker')).toHaveLength(2);
    expect(run.log()).not.toContain('giving up');
  });

  it('a child that keeps crashing is restarted with growing delays, then everything stops with exit 1', async () => {
    const run = supervise({ broken: 'process.exit(3)', cases: IDLE }, policy);
    const { code } = await run.exited;
    expect(code).toBe(1);
    const log = run.log();
    expect(log).toContain('[start] broken exited (exit code 3); restarting in 200 ms (restart 1)');
    expect(log).toContain('[start] broken exited (exit code 3); restarting in 400 ms (restart 2)');
    expect(log).toMatch(
      /\[start\] broken exited \(exit code 3\): 3 crashes within 60 s, each less than 60000 ms after start; giving up/,
    );
    expect(pidsOf(run, 'broken')).toHaveLength(3);
    expect(pidsOf(run, 'cases')).toHaveLength(1);
    expect(alive(pidsOf(run, 'cases')[0]!)).toBe(false);
  });

  it('SIGINT (Ctrl-C) while a restart is pending stops everything and restarts nothing', async () => {
    const run = supervise({ worker: IDLE }, { ...policy, initialDelayMs: 2_000, maxDelayMs: 2_000 });
    const worker = await until('the worker', () => pidsOf(run, 'worker')[0]);
    await until('the worker running', () => (alive(worker) ? true : undefined));
    process.kill(worker, 'SIGKILL');
    await until('the restart scheduled', () => (run.log().includes('restarting in 2000 ms') ? true : undefined));
    run.process.kill('SIGINT');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(pidsOf(run, 'worker')).toEqual([worker]);
  });

  it('a program that cannot be started at all (ENOENT) counts as a crash: retried, then given up', async () => {
    const lines: string[] = [];
    const gaveUp = new Promise<string>((resolve) => {
      const supervisor = createSupervisor({
        policy: { ...policy, initialDelayMs: 10, maxDelayMs: 10 },
        log: (line) => lines.push(line),
        stopGraceMs: 1_000,
        onGiveUp: (name, reason) => resolve(`${name}: ${reason}`),
      });
      supervisor.add({ name: 'missing', start: () => spawn(join(ROOT, 'no-such-program'), { stdio: 'ignore' }) });
    });
    expect(await gaveUp).toBe('missing: 3 crashes within 60 s, each less than 60000 ms after start');
    const why = `could not start: spawn ${join(ROOT, 'no-such-program')} ENOENT`;
    expect(lines.slice(0, 2)).toEqual([
      `missing exited (${why}); restarting in 10 ms (restart 1)`,
      `missing exited (${why}); restarting in 10 ms (restart 2)`,
    ]);
  });
});
