import { describe, expect, it } from 'vitest';
import {
  checkPolicy,
  decideRestart,
  DEFAULT_RESTART_POLICY,
  describeExit,
  NO_HISTORY,
  type RestartHistory,
  type RestartPolicy,
} from '../../scripts/supervisor/index.js';

const policy: RestartPolicy = {
  initialDelayMs: 100,
  factor: 2,
  maxDelayMs: 1_000,
  stableAfterMs: 10_000,
  maxFastCrashes: 4,
  crashWindowMs: 60_000,
};

/** Feeds a series of (ran for, exited at) crashes through the policy and returns each decision. */
function crashes(series: Array<[ranForMs: number, exitedAt: number]>, p: RestartPolicy = policy) {
  let history: RestartHistory = NO_HISTORY;
  return series.map(([ranFor, exitedAt]) => {
    const decision = decideRestart(history, { startedAt: exitedAt - ranFor, exitedAt }, p);
    history = decision.history;
    return decision;
  });
}

const delays = (decisions: ReturnType<typeof crashes>) =>
  decisions.map((d) => (d.action === 'restart' ? d.delayMs : d.action));

describe('restart policy', () => {
  it.each([
    // [what, crashes as [ran for, exited at], expected delays or give-up]
    ['first crash waits the initial delay', [[50, 1_000]], [100]],
    [
      'fast crashes in a row double the delay',
      [
        [50, 1_000],
        [50, 2_000],
        [50, 3_000],
      ],
      [100, 200, 400],
    ],
    [
      'the fourth fast crash within the window gives up',
      [
        [50, 1_000],
        [50, 2_000],
        [50, 3_000],
        [50, 4_000],
      ],
      [100, 200, 400, 'give-up'],
    ],
    [
      'a stable run resets the delay and the count of fast crashes',
      [
        [50, 1_000],
        [50, 2_000],
        [50, 3_000],
        [20_000, 30_000],
        [50, 31_000],
        [50, 32_000],
        [50, 33_000],
        [50, 34_000],
      ],
      [100, 200, 400, 100, 200, 400, 800, 'give-up'],
    ],
    [
      'fast crashes older than the window are forgotten, but the backoff keeps growing',
      [
        [50, 1_000],
        [50, 2_000],
        [50, 3_000],
        [50, 70_000],
        [50, 71_000],
      ],
      [100, 200, 400, 800, 1_000],
    ],
    [
      'crashes after stable runs are restarted for ever at the initial delay',
      Array.from({ length: 10 }, (_, i): [number, number] => [10_000, (i + 1) * 10_000]),
      Array.from({ length: 10 }, () => 100),
    ],
  ] as Array<[string, Array<[number, number]>, Array<number | string>]>)('%s', (_what, series, expected) => {
    expect(delays(crashes(series))).toEqual(expected);
  });

  it('the delay is capped, however long a process flaps', () => {
    const wide = { ...policy, maxFastCrashes: 10_000, crashWindowMs: 1 };
    const decisions = crashes(
      Array.from({ length: 2_000 }, (_, i): [number, number] => [1, (i + 1) * 10]),
      wide,
    );
    const all = delays(decisions);
    expect(all.slice(0, 5)).toEqual([100, 200, 400, 800, 1_000]);
    expect(all.every((d) => typeof d === 'number' && Number.isFinite(d) && d <= 1_000)).toBe(true);
  });

  it('a give-up says how many crashes in what window', () => {
    const last = crashes(Array.from({ length: 4 }, (_, i): [number, number] => [10, (i + 1) * 100])).at(-1);
    expect(last?.action).toBe('give-up');
    expect(last?.action === 'give-up' && last.reason).toBe(
      '4 crashes within 60 s, each less than 10000 ms after start',
    );
  });

  it('the defaults give up on a process that cannot start, after about eight seconds of backoff', () => {
    const decisions = crashes(
      Array.from({ length: 5 }, (_, i): [number, number] => [200, 1_000 + i * 2_000]),
      DEFAULT_RESTART_POLICY,
    );
    expect(delays(decisions)).toEqual([500, 1_000, 2_000, 4_000, 'give-up']);
  });

  it.each([
    [{ initialDelayMs: 0 }, 'initialDelayMs must be > 0'],
    [{ maxDelayMs: Number.NaN }, 'maxDelayMs must be > 0'],
    [{ factor: 0.5 }, 'factor must be >= 1'],
    [{ stableAfterMs: -1 }, 'stableAfterMs must be >= 0'],
    [{ maxFastCrashes: 0 }, 'maxFastCrashes must be > 0'],
    [{ crashWindowMs: Number.POSITIVE_INFINITY }, 'crashWindowMs must be > 0'],
    [{ initialDelayMs: 2_000 }, 'maxDelayMs < initialDelayMs'],
  ] as Array<[Partial<RestartPolicy>, string]>)('refuses a bad policy: %j', (change, message) => {
    expect(() => checkPolicy({ ...policy, ...change })).toThrow(`restart policy: ${message}`);
  });

  it('describes how a process ended', () => {
    expect(describeExit(null, 'SIGKILL')).toBe('signal SIGKILL');
    expect(describeExit(1, null)).toBe('exit code 1');
    expect(describeExit(0, null)).toBe('exit code 0');
    expect(describeExit(null, null)).toBe('no exit code');
  });
});
