import { describe, expect, it } from 'vitest';
import {
  isSmall,
  revealsWithheld,
  suppressCounts,
  suppressRate,
  suppressTable,
} from '../../subgraphs/cases/statistics/suppression.js';

/** A small deterministic generator, so a failing table can be found again. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('small-cell suppression', () => {
  it.each([
    [0, false],
    [1, true],
    [4, true],
    [5, false],
    [120, false],
  ])('a count of %s is small: %s', (count, small) => {
    expect(isSmall(count)).toBe(small);
  });

  it('withholds small cells and a second cell in each line where one stands alone', () => {
    const table = suppressTable([
      [10, 3, 20],
      [12, 15, 30],
    ]);
    // 3 is small; its row and its column would give it back, so the smallest other non-zero
    // cell of each goes too (10 in the row, 15 in the column), then 12 for the first column.
    expect(table.cells).toEqual([
      [null, null, 20],
      [null, null, 30],
    ]);
    expect(table.rowTotals).toEqual([33, 57]);
    expect(table.columnTotals).toEqual([22, 18, 50]);
    expect(table.total).toBe(90);
    expect(revealsWithheld(table)).toBe(false);
  });

  it('a small total is withheld, and the margins protect it against the grand total', () => {
    const table = suppressTable([
      [2, 1],
      [30, 40],
      [25, 35],
    ]);
    expect(table.rowTotals[0]).toBeNull();
    expect(table.rowTotals.filter((t) => t === null).length).toBeGreaterThanOrEqual(2);
    expect(revealsWithheld(table)).toBe(false);
  });

  it('shows zeros and large cells as they are; nothing to withhold in a large table', () => {
    const table = suppressTable([
      [0, 50],
      [60, 0],
    ]);
    expect(table.withheld).toBe(0);
    expect(table.cells).toEqual([
      [0, 50],
      [60, 0],
    ]);
  });

  it('the threshold is configurable; 1 turns suppression off', () => {
    expect(suppressTable([[3, 7]], 1).withheld).toBe(0);
    expect(suppressTable([[3, 7]], 10).cells).toEqual([[null, null]]);
  });

  it('a one-way breakdown: a lone small count takes the next smallest with it', () => {
    expect(suppressCounts([40, 2, 9, 100])).toEqual({ counts: [40, null, null, 100], total: 151, withheld: 2 });
    expect(suppressCounts([])).toEqual({ counts: [], total: 0, withheld: 0 });
    expect(suppressCounts([3])).toEqual({ counts: [null], total: null, withheld: 2 });
  });

  it('never lets a withheld cell be worked out, over 2,000 random tables', () => {
    const next = random(16);
    for (let t = 0; t < 2_000; t++) {
      const rows = 1 + Math.floor(next() * 6);
      const columns = 1 + Math.floor(next() * 6);
      const cells = Array.from({ length: rows }, () =>
        Array.from({ length: columns }, () => (next() < 0.3 ? Math.floor(next() * 5) : Math.floor(next() * 60))),
      );
      const table = suppressTable(cells);
      expect(revealsWithheld(table), JSON.stringify(cells)).toBe(false);
      // What is shown is exactly what was counted, and every small count is withheld.
      cells.forEach((row, r) =>
        row.forEach((v, c) => {
          if (isSmall(v)) expect(table.cells[r]![c]).toBeNull();
          else if (table.cells[r]![c] !== null) expect(table.cells[r]![c]).toBe(v);
        }),
      );
    }
  });

  it('refuses what is not a table of counts', () => {
    expect(() => suppressTable([[1, 2], [3]])).toThrow(/row 1 has 1 cells/);
    expect(() => suppressTable([[1, -2]])).toThrow(/must be a count/);
    expect(() => suppressTable([[1.5]])).toThrow(/must be a count/);
    expect(() => suppressTable([[Number.NaN]])).toThrow(/must be a count/);
  });

  it('handles a full-size table (200 × 200) in bounded passes', () => {
    const next = random(7);
    const cells = Array.from({ length: 200 }, () => Array.from({ length: 200 }, () => Math.floor(next() * 8)));
    const table = suppressTable(cells);
    expect(revealsWithheld(table)).toBe(false);
  });

  it.each([
    [30, 60, 0.5],
    [0, 60, 0],
    [60, 60, 1],
    [3, 60, null],
    [57, 60, null],
    [2, 4, null],
    [0, 0, null],
  ])('a rate of %s over %s is %s', (numerator, denominator, rate) => {
    expect(suppressRate(numerator, denominator)).toBe(rate);
  });

  it('refuses a rate whose parts are not counts', () => {
    expect(() => suppressRate(5, 4)).toThrow(/exceeds/);
    expect(() => suppressRate(-1, 4)).toThrow(/must be a count/);
  });
});
