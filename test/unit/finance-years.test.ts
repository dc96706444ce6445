import { describe, expect, it } from 'vitest';
import { yearsOf } from '../../subgraphs/finance/ledger/summary.js';

describe('finance: the years with financial data', () => {
  it('reads year ids, once each, most recent first', () => {
    expect(yearsOf(['2023', '2025', '2024', '2025'])).toEqual([2025, 2024, 2023]);
    expect(yearsOf([])).toEqual([]);
  });
  it('leaves out ids that are no year of the programme (malformed, out of range, hostile)', () => {
    const hostile = [
      '',
      '20245',
      '1999',
      '2101',
      ' 2024',
      '2024\n',
      '２０２４',
      '0x7E8',
      '2e3',
      null,
      2024,
      { $gt: '' },
    ];
    expect(yearsOf(hostile)).toEqual([]);
    expect(yearsOf(['2000', '2100'])).toEqual([2100, 2000]);
  });
  it('handles many ids', () => {
    const ids = Array.from({ length: 200_000 }, (_, i) => String(2000 + (i % 101)));
    const years = yearsOf(ids);
    expect(years).toHaveLength(101);
    expect(years[0]).toBe(2100);
  });
});
