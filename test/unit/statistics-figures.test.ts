import { describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import type { StatisticsDoc } from '../../subgraphs/cases/case/models.js';
import {
  assembleCrossTab,
  crossTabContribution,
  keySegment,
  MAX_CROSS_TAB_CELLS,
  knownLines,
  pairOf,
  presentCrossTab,
  type StatisticsDimension,
} from '../../subgraphs/cases/statistics/crosstab.js';
import { crossTabCsv, csvField, statisticsCsv, toCsv } from '../../subgraphs/cases/statistics/csv.js';
import { suppressedQualityIndicators } from '../../subgraphs/cases/statistics/resolvers.js';
import { statisticsView } from '../../subgraphs/cases/statistics/disclosure.js';
import { addInto, contribution, statisticsDelta } from '../../subgraphs/cases/statistics/facts.js';
import { namesScope, scopeForFilter, servedStatistics } from '../../subgraphs/cases/statistics/read.js';
import { revealsWithheld, suppressCounts, suppressTable } from '../../subgraphs/cases/statistics/suppression.js';
import { eventFacts } from '../helpers/event-facts.js';

/** A statistics document summed from facts, as seed, rebuild and the projector build it. */
function docOf(facts: ReturnType<typeof eventFacts>[], scope = 'all'): StatisticsDoc {
  const doc: Record<string, unknown> = {};
  for (const f of facts) {
    const inc = statisticsDelta(null, f).get(scope);
    if (inc) addInto(doc, inc);
  }
  return { _id: scope, lastEventId: '1-0', ...doc };
}

const many = (n: number, over: Parameters<typeof eventFacts>[0]) => Array.from({ length: n }, () => eventFacts(over));

describe('cross-tab pair counters (crossTabContribution)', () => {
  it('counts every pair of dimensions once per case, and returnees by family size', () => {
    const c = crossTabContribution(eventFacts({ returnees: 3, partnerId: 'weldo' }));
    expect(c['x.c.ms_co.BE.AF']).toBe(1);
    expect(c['x.r.ms_co.BE.AF']).toBe(3);
    expect(c['x.c.pa_mo.weldo.2024-03']).toBe(1);
    expect(c['x.c.rt_st.VOLUNTARY.SUBMITTED']).toBe(1);
    // 7 dimensions, 21 pairs, one package: 21 cells per measure.
    expect(Object.keys(c).filter((k) => k.startsWith('x.c.'))).toHaveLength(21);
  });

  it('counts a case once per package on the PACKAGE axis, none without packages', () => {
    const two = crossTabContribution(eventFacts({ packages: ['POST_ARRIVAL', 'POST_RETURN', 'POST_RETURN'] }));
    expect(two['x.c.ms_pk.BE.POST_ARRIVAL']).toBe(1);
    expect(two['x.c.ms_pk.BE.POST_RETURN']).toBe(1);
    const none = crossTabContribution(eventFacts({ packages: [] }));
    expect(Object.keys(none).some((k) => k.includes('_pk.') || k.includes('.pk_'))).toBe(false);
  });

  it('files an unassigned case under UNASSIGNED and never writes a key that breaks a path', () => {
    const c = crossTabContribution(eventFacts({ partnerId: null, countryOfOrigin: 'A.B$C' }));
    expect(c['x.c.ms_pa.BE.UNASSIGNED']).toBe(1);
    expect(c['x.c.ms_co.BE.A_B_C']).toBe(1);
    expect(Object.keys(c).every((k) => k.split('.').length === 5)).toBe(true);
    expect(keySegment('')).toBe('_');
    expect(keySegment('x'.repeat(200))).toHaveLength(64);
  });

  it('is part of the statistics contribution, and a change moves it (before −, after +)', () => {
    expect(contribution(eventFacts())['x.c.ms_co.BE.AF']).toBe(1);
    const delta = statisticsDelta(eventFacts(), eventFacts({ countryOfOrigin: 'IQ' })).get('all')!;
    expect(delta['x.c.ms_co.BE.AF']).toBe(-1);
    expect(delta['x.c.ms_co.BE.IQ']).toBe(1);
    expect(delta['x.c.ms_mo.BE.2024-03']).toBeUndefined(); // unchanged pairs cancel out
  });
});

describe('cross-tab assembly (assembleCrossTab)', () => {
  const doc = docOf([
    ...many(6, { memberState: 'BE', countryOfOrigin: 'AF', month: '2024-02' }),
    ...many(2, { memberState: 'BE', countryOfOrigin: 'IQ', month: '2024-01', returnees: 2 }),
    ...many(7, { memberState: 'DE', countryOfOrigin: 'IQ', month: '2024-01' }),
  ]);

  it.each([
    [
      'MEMBER_STATE',
      'COUNTRY_OF_ORIGIN',
      'CASES',
      ['BE', 'DE'],
      ['AF', 'IQ'],
      [
        [6, 2],
        [0, 7],
      ],
    ],
    [
      'COUNTRY_OF_ORIGIN',
      'MEMBER_STATE',
      'CASES',
      ['AF', 'IQ'],
      ['BE', 'DE'],
      [
        [6, 0],
        [2, 7],
      ],
    ],
    [
      'MEMBER_STATE',
      'COUNTRY_OF_ORIGIN',
      'RETURNEES',
      ['BE', 'DE'],
      ['AF', 'IQ'],
      [
        [6, 4],
        [0, 7],
      ],
    ],
    [
      'COUNTRY_OF_ORIGIN',
      'MONTH',
      'CASES',
      ['AF', 'IQ'],
      ['2024-01', '2024-02'],
      [
        [0, 6],
        [9, 0],
      ],
    ],
  ] as const)('%s × %s (%s)', (rows, columns, measure, rowKeys, columnKeys, cells) => {
    const table = assembleCrossTab(doc, rows, columns, measure);
    expect(table).toEqual({ rowKeys, columnKeys, cells });
  });

  it('is empty for an empty scope', () => {
    expect(assembleCrossTab(null, 'MEMBER_STATE', 'MONTH', 'CASES')).toEqual({
      rowKeys: [],
      columnKeys: [],
      cells: [],
    });
  });

  it('refuses the same dimension twice and an unknown one, naming the argument', () => {
    expect(() => pairOf('MONTH', 'MONTH')).toThrow(/two different dimensions/);
    expect(() => pairOf('MONTH' as StatisticsDimension, 'NOPE' as StatisticsDimension)).toThrow(
      /unknown dimension NOPE/,
    );
  });

  it('refuses a table over the cell cap', () => {
    const huge: Record<string, Record<string, number>> = {};
    const side = Math.ceil(Math.sqrt(MAX_CROSS_TAB_CELLS)) + 1;
    for (let i = 0; i < side; i++) huge[`M${i}`] = Object.fromEntries([[`C${i}`, 1]]);
    const big = { x: { c: { ms_co: huge } } };
    expect(() => assembleCrossTab(big, 'MEMBER_STATE', 'COUNTRY_OF_ORIGIN', 'CASES')).toThrow(/narrow it/);
  });

  it('ignores stored values that are not positive counts', () => {
    const odd = { x: { c: { ms_co: { BE: { AF: 0, IQ: -1, SY: 'x', GE: 3 } } } } };
    expect(assembleCrossTab(odd, 'MEMBER_STATE', 'COUNTRY_OF_ORIGIN', 'CASES')).toEqual({
      rowKeys: ['BE'],
      columnKeys: ['GE'],
      cells: [[3]],
    });
  });
});

describe('cross-tab presentation', () => {
  const base = {
    scope: 'all',
    rowDimension: 'MEMBER_STATE',
    columnDimension: 'COUNTRY_OF_ORIGIN',
    measure: 'CASES',
  } as const;
  const table = {
    rowKeys: ['BE', 'DE', 'FR'],
    columnKeys: ['AF', 'IQ'],
    cells: [
      [20, 3],
      [30, 40],
      [10, 12],
    ],
  };

  it('is exact for an owner, with totals', () => {
    const t = presentCrossTab(base, table, null);
    expect(t.rows[0]).toEqual({
      key: 'BE',
      cells: [
        { column: 'AF', count: 20, suppressed: false },
        { column: 'IQ', count: 3, suppressed: false },
      ],
      total: 23,
      totalSuppressed: false,
    });
    expect(t.total).toBe(115);
    expect(t.withheld).toBe(0);
  });

  it('withholds small cells and their complements so that no total gives one back', () => {
    const t = presentCrossTab(base, table, { threshold: 5 });
    expect(t.rows[0]!.cells[1]).toEqual({ column: 'IQ', count: null, suppressed: true });
    // A lone withheld cell in a row with a shown total would be its total minus the rest.
    expect(t.rows[0]!.cells[0]!.count).toBeNull();
    expect(t.withheld).toBeGreaterThanOrEqual(2);
    const shown = {
      cells: t.rows.map((r) => r.cells.map((c) => c.count)),
      rowTotals: t.rows.map((r) => r.total),
      columnTotals: t.columnTotals.map((c) => c.count),
      total: t.total,
      withheld: t.withheld,
    };
    expect(revealsWithheld(shown)).toBe(false);
  });
});

describe('who sees aggregates how (statisticsView)', () => {
  const ms: Principal = { subject: 'm', role: 'MEMBER_STATE', memberState: 'BE' };
  const partner: Principal = { subject: 'p', role: 'PARTNER', partnerId: 'weldo' };
  it.each([
    [null, 'all', 'FORBIDDEN'],
    [{ subject: 'd', role: 'DATA_PROTECTION_OFFICER' }, 'all', 'FORBIDDEN'],
    [{ subject: 'a', role: 'ADMIN' }, 'all', 'EXACT'],
    [{ subject: 's', role: 'SUPPORT_DESK' }, 'memberState:BE', 'EXACT'],
    [{ subject: 'e', role: 'EU_ANALYST' }, 'all', 'SUPPRESSED'],
    [{ subject: 'e', role: 'EU_ANALYST' }, 'partner:weldo', 'SUPPRESSED'],
    [ms, 'memberState:BE', 'EXACT'],
    [ms, 'all', 'SUPPRESSED'],
    [ms, 'memberState:DE', 'SUPPRESSED'],
    [ms, 'country:IQ', 'SUPPRESSED'],
    [{ subject: 'm', role: 'MEMBER_STATE' }, 'all', 'FORBIDDEN'],
    [partner, 'partner:weldo', 'EXACT'],
    [partner, 'partner:ettc', 'SUPPRESSED'],
    [partner, 'all', 'SUPPRESSED'],
    [{ subject: 'p', role: 'PARTNER' }, 'all', 'FORBIDDEN'],
  ] as Array<[Principal | null, string, string]>)('%o reads %s: %s', (principal, scope, view) => {
    expect(statisticsView(principal, scope)).toBe(view);
  });
});

describe('statistics filter', () => {
  it.each([
    [{}, false, 'all'],
    [{ programme: false }, false, 'all'],
    [{ programme: true }, true, 'all'],
    [{ memberState: 'BE' }, true, 'memberState:BE'],
    [{ partner: 'weldo', programme: false }, true, 'partner:weldo'],
  ])('%o', (filter, named, scope) => {
    expect(namesScope(filter)).toBe(named);
    expect(scopeForFilter(filter)).toBe(scope);
  });
  it('refuses the programme with a dimension, and hostile codes', () => {
    expect(() => scopeForFilter({ programme: true, memberState: 'BE' })).toThrow(/not with memberState/);
    expect(() => scopeForFilter({ memberState: 'BE"; drop' })).toThrow(/not a valid code/);
    expect(() => scopeForFilter({ countryOfOrigin: 'X'.repeat(41) })).toThrow(/not a valid code/);
  });
});

describe('served statistics (servedStatistics)', () => {
  const doc = docOf([
    ...many(20, { memberState: 'BE', countryOfOrigin: 'AF' }),
    ...many(2, { memberState: 'DE', countryOfOrigin: 'AF' }),
    ...many(9, { memberState: 'FR', countryOfOrigin: 'IQ', returnees: 2, adults: 1, minors: 1 }),
  ]);

  it('is exact without a threshold', () => {
    const s = servedStatistics('all', doc, null);
    expect(s.totalCases).toBe(31);
    expect(s.casesByMemberState.find((c) => c.key === 'DE')).toEqual({ key: 'DE', count: 2, suppressed: false });
    expect(s.suppressed).toBe(false);
    expect(s.threshold).toBeNull();
  });

  it('withholds small counts and a complement in each breakdown, keeps the total', () => {
    const s = servedStatistics('all', doc, 5);
    const byMs = Object.fromEntries(s.casesByMemberState.map((c) => [c.key, c.count]));
    expect(byMs.DE).toBeNull();
    // DE alone withheld would be 31 − 20 − 9: FR (the smallest other) goes with it.
    expect(byMs.FR).toBeNull();
    expect(byMs.BE).toBe(20);
    expect(s.totalCases).toBe(31);
    expect(s.suppressed).toBe(true);
    expect(s.casesByCountryOfOrigin.every((c) => c.count !== null)).toBe(true);
    // Minors 9 of 40 returnees: shown; durations over no cases: nothing to withhold.
    expect(s.minors).toBe(9);
    expect(s.totalReturnees).toBe(40);
  });

  it('withholds the totals and averages of a small scope', () => {
    const s = servedStatistics('memberState:DE', docOf(many(3, { memberState: 'DE' }), 'memberState:DE'), 5);
    expect(s.totalCases).toBeNull();
    expect(s.totalReturnees).toBeNull();
    expect(s.averageMainApplicantAge).toBeNull();
    expect(s.averageFamilyComposition).toBeNull();
    expect(s.casesByMemberState).toEqual([{ key: 'DE', count: null, suppressed: true }]);
  });

  it('withholds a vulnerability count that is small, or that leaves few cases without the code', () => {
    const facts = [
      ...many(2, { vulnerabilityCodes: ['VICTIM_OF_TRAFFICKING'] }),
      ...many(8, { vulnerabilityCodes: ['MEDICAL_CONDITION'] }),
      ...many(9, { vulnerabilityCodes: ['MEDICAL_CONDITION', 'SINGLE_PARENT'] }),
      ...many(3, {}),
    ];
    const exact = servedStatistics('all', docOf(facts), null);
    const exactBy = Object.fromEntries(exact.casesByVulnerability.map((c) => [c.key, c]));
    expect(exactBy.VICTIM_OF_TRAFFICKING).toEqual({ key: 'VICTIM_OF_TRAFFICKING', count: 2, suppressed: false });
    const shown = servedStatistics('all', docOf(facts), 5);
    const by = Object.fromEntries(shown.casesByVulnerability.map((c) => [c.key, c]));
    // 2 of 22 is small; 17 of 22 leaves 5 without (shown); 9 of 22 is neither.
    expect(by.VICTIM_OF_TRAFFICKING).toEqual({ key: 'VICTIM_OF_TRAFFICKING', count: null, suppressed: true });
    expect(by.MEDICAL_CONDITION).toEqual({ key: 'MEDICAL_CONDITION', count: 17, suppressed: false });
    expect(by.SINGLE_PARENT).toEqual({ key: 'SINGLE_PARENT', count: 9, suppressed: false });
    expect(shown.suppressed).toBe(true);
    // 20 of 22 with a code leaves 2 without it: that count is withheld too.
    const most = servedStatistics(
      'all',
      docOf([...many(20, { vulnerabilityCodes: ['DISABILITY'] }), ...many(2, {})]),
      5,
    );
    expect(most.casesByVulnerability).toEqual([{ key: 'DISABILITY', count: null, suppressed: true }]);
  });

  it('withholds adults when minors are withheld (their sum, the returnees, is shown)', () => {
    const s = servedStatistics('all', docOf([...many(30, {}), ...many(2, { returnees: 2, adults: 1, minors: 1 })]), 5);
    expect(s.minors).toBeNull();
    expect(s.adults).toBeNull();
    expect(s.totalReturnees).toBe(34);
  });
});

describe("a partner's quality indicators for readers outside the partner", () => {
  it('withholds small counts, rates over small groups or with small parts, medians over few cases', () => {
    const doc = {
      _id: 'partner:p1',
      lastEventId: '1-0',
      cases: 40,
      accepted: 38,
      byStatus: { COMPLETED: 20, WITHDRAWN: 2, CLOSED: 0 },
      planApprovals: 30,
      planRejections: 6,
      durations: { arrivalToKm2: { count: 4, sum: 80, days: { 20: 4 } } },
    } as unknown as StatisticsDoc;
    expect(suppressedQualityIndicators(doc, 5)).toEqual({
      casesAssigned: 40,
      // 2 not accepted: withheld.
      casesAccepted: null,
      medianDaysArrivalToApprovedPlan: null,
      // 20 of 22 ended completed, 2 not: withheld.
      completionRate: null,
      planRejectionShare: 6 / 36,
      suppressed: true,
    });
    const small = { ...doc, cases: 3, accepted: 3 } as unknown as StatisticsDoc;
    expect(suppressedQualityIndicators(small, 5)).toMatchObject({ casesAssigned: null, casesAccepted: null });
    expect(suppressedQualityIndicators(doc, 1)).toMatchObject({ casesAccepted: 38, suppressed: false });
  });
});

describe('CSV (RFC 4180, formula-safe)', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line\nbreak', '"line\nbreak"'],
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['+1', "'+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
    ['\r=1', `"'\r=1"`],
    [null, ''],
    [42, '42'],
    [0.5, '0.5'],
    [Number.NaN, ''],
  ] as Array<[string | number | null, string]>)('%j → %s', (value, field) => {
    expect(csvField(value)).toBe(field);
  });

  it('ends rows with CRLF and refuses an oversized answer', () => {
    expect(
      toCsv([
        ['a', 1],
        ['b', null],
      ]),
    ).toBe('a,1\r\nb,\r\n');
    expect(() => toCsv([['x'.repeat(3 * 1024 * 1024)]])).toThrow(/more than/);
  });

  it('writes a suppressed cross-tab with empty withheld values and a note row', () => {
    const t = presentCrossTab(
      { scope: 'all', rowDimension: 'MEMBER_STATE', columnDimension: 'COUNTRY_OF_ORIGIN', measure: 'CASES' },
      {
        rowKeys: ['=BE', 'DE'],
        columnKeys: ['AF', 'IQ'],
        cells: [
          [20, 3],
          [30, 40],
        ],
      },
      { threshold: 5 },
    );
    const lines = crossTabCsv(t).split('\r\n');
    expect(lines[0]).toBe('MEMBER_STATE\\COUNTRY_OF_ORIGIN,AF,IQ,Total');
    expect(lines[1]).toBe("'=BE,,,23");
    expect(lines.at(-2)).toMatch(/^Note,Empty values are withheld: counts under 5/);
    expect(lines.at(-1)).toBe('');
  });

  it('writes statistics as figure,key,value with withheld values empty', () => {
    const s = servedStatistics('memberState:DE', docOf(many(3, { memberState: 'DE' }), 'memberState:DE'), 5);
    const csv = statisticsCsv(s);
    expect(csv.startsWith('figure,key,value\r\nscope,,memberState:DE\r\ntotalCases,,\r\n')).toBe(true);
    expect(csv).toContain('casesByMemberState,DE,\r\n');
    expect(csv).toMatch(/Note,,Empty values are withheld/);
    const exact = statisticsCsv(
      servedStatistics('memberState:DE', docOf(many(3, { memberState: 'DE' }), 'memberState:DE'), null),
    );
    expect(exact).toContain('totalCases,,3\r\n');
    expect(exact).not.toContain('Note');
  });
});

describe('what the reader knows already (its own line) protects nothing', () => {
  // Member State × country; the reader is BE (row 0), who knows its own row exactly.
  const cells = [
    [3, 40],
    [2, 50],
    [30, 60],
  ];

  it('without it, the insider would subtract its own withheld cell and find another', () => {
    const plain = suppressTable(cells, 5);
    expect(revealsWithheld(plain)).toBe(false);
    expect(revealsWithheld(plain, { rows: new Set([0]) })).toBe(true);
  });

  it('with it, every line keeps two withheld values the reader does not know', () => {
    const t = suppressTable(cells, 5, { rows: new Set([0]) });
    expect(t.cells[1]![0]).toBeNull();
    expect(revealsWithheld(t, { rows: new Set([0]) })).toBe(false);
  });

  it('holds over 1,000 random tables with a random known row or column', () => {
    let seed = 99;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 1_000; n++) {
      const rows = 1 + Math.floor(next() * 6);
      const columns = 1 + Math.floor(next() * 6);
      const table = Array.from({ length: rows }, () =>
        Array.from({ length: columns }, () => (next() < 0.3 ? 0 : Math.floor(next() * (next() < 0.5 ? 6 : 60)))),
      );
      const known = next() < 0.5 ? { rows: new Set([Math.floor(next() * rows)]) } : { columns: new Set([0]) };
      const t = suppressTable(table, 5, known);
      expect(revealsWithheld(t, known), JSON.stringify({ table, known: [...(known.rows ?? known.columns!)] })).toBe(
        false,
      );
    }
  });

  it('in a one-way breakdown too', () => {
    // BE 3 (known to BE), DE 2, FR 40: without it, total − FR − BE gives DE.
    expect(suppressCounts([3, 2, 40], 5).counts).toEqual([null, null, 40]);
    expect(suppressCounts([3, 2, 40], 5, new Set([0])).counts).toEqual([null, null, null]);
  });

  it.each([
    ['MEMBER_STATE', 'COUNTRY_OF_ORIGIN', { memberState: 'BE' }, [1], []],
    ['COUNTRY_OF_ORIGIN', 'MEMBER_STATE', { memberState: 'BE' }, [], [1]],
    ['PARTNER', 'MONTH', { partner: 'weldo' }, [0], []],
    ['COUNTRY_OF_ORIGIN', 'MONTH', { memberState: 'BE' }, [], []],
    ['MEMBER_STATE', 'PARTNER', {}, [], []],
  ] as const)('%s × %s known to %o: rows %o, columns %o', (rowDimension, columnDimension, known, rows, columns) => {
    const keys = { rowKeys: ['AT', 'BE', 'weldo'].slice(rowDimension === 'PARTNER' ? 2 : 0), columnKeys: ['AT', 'BE'] };
    const lines = knownLines({ rowDimension, columnDimension }, keys, known);
    expect([...lines.rows!]).toEqual(rows);
    expect([...lines.columns!]).toEqual(columns);
  });

  it("a Member State's programme-wide breakdown by Member State protects the others against it", () => {
    const doc = docOf([
      ...many(3, { memberState: 'BE' }),
      ...many(2, { memberState: 'DE' }),
      ...many(40, { memberState: 'FR' }),
    ]);
    const byMs = (known = {}) =>
      Object.fromEntries(servedStatistics('all', doc, 5, known).casesByMemberState.map((c) => [c.key, c.count]));
    expect(byMs()).toEqual({ FR: 40, BE: null, DE: null });
    expect(byMs({ memberState: 'BE' })).toEqual({ FR: null, BE: null, DE: null });
  });
});
