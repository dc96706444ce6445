import { describe, expect, it } from 'vitest';
import {
  BENCH_CASES_SEED,
  benchCasesPrefix,
  CASES_MARK_VERSION,
  extraMarkId,
  markIsCurrent,
  MAX_BENCH_CASES,
} from '../../bench/seed.js';

describe('benchCasesPrefix: one set of databases per size', () => {
  it('names the databases after the size', () => {
    expect(benchCasesPrefix(1000)).toBe('bench1000');
    expect(benchCasesPrefix(100_000)).toBe('bench100000');
    expect(benchCasesPrefix(MAX_BENCH_CASES)).toBe(`bench${MAX_BENCH_CASES}`);
  });

  it('refuses sizes that are not whole numbers in range, naming the value', () => {
    for (const bad of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_BENCH_CASES + 1, 2 ** 60])
      expect(() => benchCasesPrefix(bad)).toThrow(/bench cases: .* is not a whole number/);
  });

  it('never yields a prefix outside `bench<digits>` (no other database can be meant)', () => {
    for (const n of [1, 7, 10_000, 123_456]) expect(benchCasesPrefix(n)).toMatch(/^bench\d+$/);
  });
});

describe('extraMarkId: a bench extra under its own mark', () => {
  it('prefixes the name', () => {
    expect(extraMarkId('feed-reports')).toBe('extra:feed-reports');
  });

  it('refuses empty, oversized and hostile names', () => {
    for (const bad of ['', 'Feed', 'a b', '$where', 'x'.repeat(41), 'cases\u0000', '../x', '{"$ne":1}', '-lead'])
      expect(() => extraMarkId(bad)).toThrow(/bench extra: name .* must be/);
  });

  it('keeps a hostile name short in the error', () => {
    const error = (() => {
      try {
        extraMarkId('y'.repeat(100_000));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error?.message.length).toBeLessThan(200);
  });
});

describe('markIsCurrent: whether a stored seed is complete for this size and version', () => {
  const good = { _id: 'cases', version: CASES_MARK_VERSION, cases: 100_000, seed: BENCH_CASES_SEED, at: new Date() };

  it('accepts a mark of the same size, version and seed', () => {
    expect(markIsCurrent(good, 100_000, CASES_MARK_VERSION)).toBe(true);
  });

  it('rejects a missing mark (an interrupted seed leaves none)', () => {
    expect(markIsCurrent(null, 100_000, CASES_MARK_VERSION)).toBe(false);
    expect(markIsCurrent(undefined, 100_000, CASES_MARK_VERSION)).toBe(false);
  });

  it('rejects another size, an older version or another generator seed', () => {
    expect(markIsCurrent(good, 10_000, CASES_MARK_VERSION)).toBe(false);
    expect(markIsCurrent(good, 100_000, CASES_MARK_VERSION + 1)).toBe(false);
    expect(markIsCurrent({ ...good, seed: 1 }, 100_000, CASES_MARK_VERSION)).toBe(false);
  });

  it('rejects malformed marks (old per-bench marks, strings, wrong types)', () => {
    const malformed: unknown[] = [
      'cases',
      42,
      [],
      { _id: 'bench-seed-complete-v2', cases: 100_000, at: new Date() }, // bench:reads' old mark
      { ...good, cases: '100000' },
      { ...good, version: String(CASES_MARK_VERSION) },
      { ...good, cases: { $gt: 0 } },
    ];
    for (const mark of malformed) expect(markIsCurrent(mark, 100_000, CASES_MARK_VERSION)).toBe(false);
  });
});
