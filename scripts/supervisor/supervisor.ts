/**
 * Keeps a set of child processes running: one that exits is restarted after the delay the
 * policy gives (policy.ts), with a log line naming it, how it ended and the delay; when the
 * policy gives up, `onGiveUp` is called once and the caller stops the system. `stop()` ends
 * every child (SIGTERM, then SIGKILL after the grace period) and restarts nothing more.
 */
import type { ChildProcess } from 'node:child_process';
import {
  checkPolicy,
  decideRestart,
  DEFAULT_RESTART_POLICY,
  describeExit,
  NO_HISTORY,
  type RestartHistory,
  type RestartPolicy,
} from './policy.js';

export interface ProcessSpec {
  readonly name: string;
  /** Starts one instance; called again for every restart. */
  readonly start: () => ChildProcess;
}

export interface SupervisorOptions {
  readonly policy?: Partial<RestartPolicy>;
  /** One line per event (restart, give-up), without a trailing newline. */
  readonly log: (line: string) => void;
  /** How long children get to exit after SIGTERM before they are killed. */
  readonly stopGraceMs: number;
  /** Called once when a process crashed too often; the supervisor has restarted nothing more. */
  readonly onGiveUp: (name: string, reason: string) => void;
}

export interface Supervisor {
  /** Starts a process and keeps it running. Names are unique. */
  add: (spec: ProcessSpec) => void;
  /** The current instance of a process is running (false between a crash and its restart). */
  isRunning: (name: string) => boolean;
  /** Pid of the current instance, if running. */
  pid: (name: string) => number | undefined;
  /** How many times a process has been restarted. */
  restarts: (name: string) => number;
  /** The supervisor stopped or gave up: nothing will be restarted. */
  readonly halted: () => boolean;
  /** Ends every child; resolves when all have exited. Safe to call twice. */
  stop: () => Promise<void>;
}

interface Entry {
  spec: ProcessSpec;
  child: ChildProcess | undefined;
  startedAt: number;
  history: RestartHistory;
  restarts: number;
  timer: NodeJS.Timeout | undefined;
}

const running = (child: ChildProcess | undefined): child is ChildProcess =>
  child !== undefined && child.exitCode === null && child.signalCode === null;

export function createSupervisor(options: SupervisorOptions): Supervisor {
  const policy = checkPolicy({ ...DEFAULT_RESTART_POLICY, ...options.policy });
  const entries = new Map<string, Entry>();
  let halted = false;
  let stopping: Promise<void> | undefined;

  const launch = (entry: Entry): void => {
    const child = entry.spec.start();
    entry.child = child;
    entry.startedAt = Date.now();
    // A spawn failure (ENOENT, EACCES) has no pid and may end in 'error', 'exit' or both: one
    // call of onExit, after both had their turn, so the log names the error rather than a bare errno.
    let ended = false;
    let spawnError: string | undefined;
    const onEnd = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (ended) return;
      ended = true;
      const how = child.pid === undefined ? `could not start: ${spawnError ?? 'no pid'}` : describeExit(code, signal);
      onExit(entry, how);
    };
    child.once('exit', (code, signal) => {
      if (child.pid === undefined) setImmediate(() => onEnd(code, signal));
      else onEnd(code, signal);
    });
    // `on`, not `once`: a later 'error' (a failed kill) with no listener would crash the supervisor.
    // Only an 'error' without a pid means the process never started; a failed kill leaves it running.
    child.on('error', (error) => {
      if (child.pid !== undefined) return;
      spawnError = error.message;
      setImmediate(() => onEnd(child.exitCode, child.signalCode));
    });
  };

  const onExit = (entry: Entry, how: string): void => {
    if (halted) return;
    const { name } = entry.spec;
    const decision = decideRestart(entry.history, { startedAt: entry.startedAt, exitedAt: Date.now() }, policy);
    entry.history = decision.history;
    if (decision.action === 'give-up') {
      halted = true;
      options.log(`${name} exited (${how}): ${decision.reason}; giving up and stopping the system`);
      options.onGiveUp(name, decision.reason);
      return;
    }
    entry.restarts += 1;
    options.log(`${name} exited (${how}); restarting in ${decision.delayMs} ms (restart ${entry.restarts})`);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (!halted) launch(entry);
    }, decision.delayMs);
  };

  const stopAll = async (): Promise<void> => {
    halted = true;
    const children: ChildProcess[] = [];
    for (const entry of entries.values()) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = undefined;
      if (running(entry.child)) children.push(entry.child);
    }
    const exits = children.map(
      (child) => new Promise<void>((resolve) => (running(child) ? child.once('exit', () => resolve()) : resolve())),
    );
    for (const child of children) child.kill('SIGTERM');
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(exits),
      new Promise<void>((resolve) => (grace = setTimeout(resolve, options.stopGraceMs))),
    ]);
    clearTimeout(grace);
    const stragglers = children.filter(running);
    for (const child of stragglers) child.kill('SIGKILL');
    await Promise.all(exits);
  };

  return {
    add(spec) {
      if (entries.has(spec.name)) throw new Error(`supervisor: ${spec.name} is already supervised`);
      if (halted) throw new Error(`supervisor: stopped, cannot start ${spec.name}`);
      const entry: Entry = { spec, child: undefined, startedAt: 0, history: NO_HISTORY, restarts: 0, timer: undefined };
      entries.set(spec.name, entry);
      launch(entry);
    },
    isRunning: (name) => running(entries.get(name)?.child),
    pid: (name) => {
      const child = entries.get(name)?.child;
      return running(child) ? child.pid : undefined;
    },
    restarts: (name) => entries.get(name)?.restarts ?? 0,
    halted: () => halted,
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };
}

/**
 * Ctrl-C and SIGTERM stop every child, then the process exits 0; a second signal while
 * stopping is ignored (the grace period bounds the wait).
 */
export function stopOnSignals(supervisor: Supervisor, exit: (code: number) => void = process.exit): void {
  const onSignal = (): void => {
    void supervisor.stop().then(() => exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
