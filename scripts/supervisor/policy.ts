/**
 * When `npm start` restarts a process that died, and when it stops trying: pure decisions,
 * no timers or child processes (those are in supervisor.ts), so every case is unit-tested.
 */

export interface RestartPolicy {
  /** Delay before the first restart after a crash. */
  readonly initialDelayMs: number;
  /** Each further crash in a row multiplies the delay by this factor... */
  readonly factor: number;
  /** ...up to this cap. */
  readonly maxDelayMs: number;
  /**
   * A process that ran at least this long before it exited was stable: its next restart
   * starts again from the initial delay, and its exit (and the fast crashes before it) do
   * not count towards giving up.
   */
  readonly stableAfterMs: number;
  /** Give up once this many fast crashes of one process fall within `crashWindowMs`. */
  readonly maxFastCrashes: number;
  readonly crashWindowMs: number;
}

/**
 * A worker killed by the operating system comes back within a second; a process that cannot
 * start (a port taken, a bad config) crashes five times in about eight seconds and the
 * system stops with a message rather than looping forever.
 */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 500,
  factor: 2,
  maxDelayMs: 30_000,
  stableAfterMs: 30_000,
  maxFastCrashes: 5,
  crashWindowMs: 60_000,
};

/** What the supervisor remembers about one process between its exits. */
export interface RestartHistory {
  /** Crashes in a row without a stable run in between (0: none yet). */
  readonly consecutive: number;
  /** When the recent fast crashes happened (ms timestamps, oldest first, within the window). */
  readonly fastCrashes: readonly number[];
}

export const NO_HISTORY: RestartHistory = { consecutive: 0, fastCrashes: [] };

export interface ExitFacts {
  /** When the process was started and when it exited (ms timestamps). */
  readonly startedAt: number;
  readonly exitedAt: number;
}

export type RestartDecision =
  | { readonly action: 'restart'; readonly delayMs: number; readonly history: RestartHistory }
  | { readonly action: 'give-up'; readonly reason: string; readonly history: RestartHistory };

/** Checks a policy once, up front, so a bad one fails at start and not at the first crash. */
export function checkPolicy(policy: RestartPolicy): RestartPolicy {
  const positive = ['initialDelayMs', 'maxDelayMs', 'crashWindowMs', 'maxFastCrashes'] as const;
  for (const key of positive) {
    if (!Number.isFinite(policy[key]) || policy[key] <= 0) throw new Error(`restart policy: ${key} must be > 0`);
  }
  if (!Number.isFinite(policy.factor) || policy.factor < 1) throw new Error('restart policy: factor must be >= 1');
  if (!Number.isFinite(policy.stableAfterMs) || policy.stableAfterMs < 0) {
    throw new Error('restart policy: stableAfterMs must be >= 0');
  }
  if (policy.maxDelayMs < policy.initialDelayMs) throw new Error('restart policy: maxDelayMs < initialDelayMs');
  return policy;
}

/** Decides what to do about a process that exited while the system was meant to be running. */
export function decideRestart(history: RestartHistory, exit: ExitFacts, policy: RestartPolicy): RestartDecision {
  const ranFor = exit.exitedAt - exit.startedAt;
  const stable = ranFor >= policy.stableAfterMs;
  const consecutive = stable ? 1 : history.consecutive + 1;
  // A stable run means the process recovered: its earlier fast crashes no longer count.
  const recent = history.fastCrashes.filter((at) => exit.exitedAt - at < policy.crashWindowMs);
  const fastCrashes = stable ? [] : [...recent, exit.exitedAt];
  const next: RestartHistory = { consecutive, fastCrashes };
  if (fastCrashes.length >= policy.maxFastCrashes) {
    const seconds = Math.round(policy.crashWindowMs / 1000);
    const within = `within ${seconds} s, each less than ${policy.stableAfterMs} ms after start`;
    return {
      action: 'give-up',
      reason: `${fastCrashes.length} crashes ${within}`,
      history: next,
    };
  }
  // Exponent capped so the power cannot overflow to Infinity on a long-flapping process.
  const exponent = Math.min(consecutive - 1, 64);
  const delayMs = Math.min(policy.maxDelayMs, Math.round(policy.initialDelayMs * policy.factor ** exponent));
  return { action: 'restart', delayMs, history: next };
}

/** "exit code 1" / "signal SIGKILL", for the log line. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal ${signal}`;
  return code === null ? 'no exit code' : `exit code ${code}`;
}
