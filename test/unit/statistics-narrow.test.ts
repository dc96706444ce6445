import { describe, expect, it } from 'vitest';
import type { CaseEventFacts } from '../../shared/case-events/index.js';
import type { StatisticsDoc } from '../../subgraphs/cases/case/models.js';
import { addInto, contribution } from '../../subgraphs/cases/statistics/facts.js';
import {
  narrowedDocument,
  narrowProjection,
  parseNarrowing,
  servedNarrowedStatistics,
  type Narrowing,
} from '../../subgraphs/cases/statistics/narrow.js';

/** A deterministic set of cases' facts (a small linear congruential generator). */
function cases(n: number, seed = 7): CaseEventFacts[] {
  let state = seed;
  const pick = <T>(xs: readonly T[]): T => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return xs[(state >>> 16) % xs.length]!;
  };
  return Array.from({ length: n }, () => {
    const returnees = pick([1, 1, 2, 3, 5]);
    return {
      memberState: pick(['BE', 'DE', 'NL', 'MT']),
      countryOfOrigin: pick(['IQ', 'AF', 'NG']),
      partnerId: pick(['weldo', 'irara', null]),
      status: pick(['SUBMITTED', 'ACCEPTED', 'COMPLETED'] as const),
      returnType: pick(['VOLUNTARY', 'FORCED'] as const),
      packages: pick([['POST_ARRIVAL'], ['POST_ARRIVAL', 'POST_RETURN'], ['CHARTER_ARRIVAL'], []] as const).slice(),
      month: pick(['2024-01', '2024-02', '2024-03', '2024-04']),
      departureDate: null,
      returnees,
      adults: returnees,
      minors: 0,
      mainApplicantAge: 30,
      accepted: false,
      daysToKm1: null,
      daysKm1ToKm2: null,
      daysKm2ToKm3: null,
      planRejections: 0,
      planApprovals: 0,
    } as CaseEventFacts;
  });
}

/** The programme's read-model document, as the projector builds it. */
function documentOf(facts: CaseEventFacts[]): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  for (const f of facts) addInto(doc, contribution(f));
  return doc;
}

/** What a narrowing must give, counted case by case. */
function bruteForce(facts: CaseEventFacts[], n: Narrowing) {
  const kept = facts.filter(
    (f) =>
      (!n.fromMonth || f.month >= n.fromMonth) &&
      (!n.toMonth || f.month <= n.toMonth) &&
      (!n.package || f.packages.includes(n.package as CaseEventFacts['packages'][number])),
  );
  const by = (key: (f: CaseEventFacts) => string[]) => {
    const out: Record<string, number> = {};
    for (const f of kept) for (const k of key(f)) out[k] = (out[k] ?? 0) + 1;
    return out;
  };
  return {
    cases: kept.length,
    returnees: kept.reduce((a, f) => a + f.returnees, 0),
    byMemberState: by((f) => [f.memberState]),
    byCountry: by((f) => [f.countryOfOrigin]),
    byPartner: by((f) => [f.partnerId ?? 'UNASSIGNED']),
    byReturnType: by((f) => [f.returnType]),
    byStatus: by((f) => [f.status]),
    byMonth: by((f) => [f.month]),
    byPackage: n.package ? by(() => [n.package!]) : by((f) => [...new Set(f.packages)]),
  };
}

const withoutZeros = (counts: unknown) =>
  Object.fromEntries(Object.entries(counts as Record<string, number>).filter(([, v]) => v > 0));

describe('statistics narrowed by period and package (exact, from the pair counters)', () => {
  const facts = cases(400);
  const doc = documentOf(facts);
  const narrowings: Narrowing[] = [
    { fromMonth: '2024-02', toMonth: '2024-03', package: null },
    { fromMonth: '2024-03', toMonth: null, package: null },
    { fromMonth: null, toMonth: '2024-01', package: null },
    { fromMonth: null, toMonth: null, package: 'POST_RETURN' },
    { fromMonth: null, toMonth: null, package: 'CHARTER_ARRIVAL' },
  ];
  it.each(narrowings)('a period or a package alone: every figure equals counting the cases (%o)', (n) => {
    const { doc: narrowed, unavailable } = narrowedDocument(doc, n);
    const expected = bruteForce(facts, n);
    expect(unavailable).toEqual([]);
    expect(narrowed.cases).toBe(expected.cases);
    expect(narrowed.returnees).toBe(expected.returnees);
    expect(expected.cases).toBeGreaterThan(0);
    expect(expected.cases).toBeLessThan(facts.length);
    for (const key of [
      'byMemberState',
      'byCountry',
      'byPartner',
      'byReturnType',
      'byStatus',
      'byMonth',
      'byPackage',
    ] as const)
      expect(withoutZeros(narrowed[key]), key).toEqual(expected[key]);
  });

  it('a period and a package: totals, months and the package exact; the other breakdowns named unavailable', () => {
    const n: Narrowing = { fromMonth: '2024-02', toMonth: '2024-04', package: 'POST_ARRIVAL' };
    const { doc: narrowed, unavailable } = narrowedDocument(doc, n);
    const expected = bruteForce(facts, n);
    expect(narrowed.cases).toBe(expected.cases);
    expect(narrowed.returnees).toBe(expected.returnees);
    expect(withoutZeros(narrowed.byMonth)).toEqual(expected.byMonth);
    expect(narrowed.byPackage).toEqual({ POST_ARRIVAL: expected.cases });
    expect(unavailable).toEqual(['MEMBER_STATE', 'COUNTRY_OF_ORIGIN', 'PARTNER', 'RETURN_TYPE', 'STATUS']);
    const served = servedNarrowedStatistics('all', doc as StatisticsDoc, n, null);
    expect(served.casesByMemberState).toEqual([]);
    expect(served.unavailable).toEqual(unavailable);
  });

  it('reads only the pair counters it needs from the document', () => {
    const read = (n: Narrowing) => {
      const paths = Object.keys(narrowProjection(n));
      const partial: Record<string, unknown> = {};
      for (const path of paths) {
        const [x, measure, pair] = path.split('.');
        if (x !== 'x') continue;
        const from = ((doc.x as Record<string, Record<string, unknown>>)[measure!] ?? {})[pair!];
        addInto(partial, {});
        ((partial.x ??= {}) as Record<string, Record<string, unknown>>)[measure!] ??= {};
        (partial.x as Record<string, Record<string, unknown>>)[measure!]![pair!] = from;
      }
      return partial;
    };
    for (const n of [...narrowings, { fromMonth: '2024-01', toMonth: '2024-02', package: 'POST_ARRIVAL' }]) {
      const paths = Object.keys(narrowProjection(n));
      expect(paths.length).toBeLessThanOrEqual(9);
      expect(narrowedDocument(read(n), n)).toEqual(narrowedDocument(doc, n));
    }
  });

  it('withholds small cells AFTER summing the period: three months of 3 cases show 9, one month withholds 3', () => {
    const small: CaseEventFacts[] = [];
    for (const month of ['2024-01', '2024-02', '2024-03'])
      for (let i = 0; i < 3; i++)
        small.push({ ...cases(1, i + 1)[0]!, memberState: 'MT', month, packages: ['POST_ARRIVAL'] });
    const many = cases(200, 3).map((f) => ({ ...f, memberState: 'DE', month: '2024-02' }));
    const d = documentOf([...small, ...many]) as StatisticsDoc;
    const quarter = servedNarrowedStatistics('all', d, { fromMonth: '2024-01', toMonth: '2024-03', package: null }, 5);
    expect(quarter.casesByMemberState.find((c) => c.key === 'MT')).toEqual({ key: 'MT', count: 9, suppressed: false });
    const january = servedNarrowedStatistics('all', d, { fromMonth: '2024-01', toMonth: '2024-01', package: null }, 5);
    expect(january.totalCases).toBeNull();
    expect(january.casesByMemberState).toEqual([{ key: 'MT', count: null, suppressed: true }]);
    expect(january.suppressed).toBe(true);
    // Exact for an owner of the cases counted; what is not kept per period is null, never a wrong figure.
    const exact = servedNarrowedStatistics('all', d, { fromMonth: '2024-01', toMonth: '2024-01', package: null }, null);
    expect(exact.totalCases).toBe(3);
    expect([exact.adults, exact.minors, exact.averageMainApplicantAge]).toEqual([null, null, null]);
    expect(exact.averageFamilyComposition).toBe(exact.totalReturnees! / 3);
  });

  it('an empty or missing document gives zeros, not errors', () => {
    const n: Narrowing = { fromMonth: '2024-01', toMonth: null, package: 'POST_ARRIVAL' };
    expect(narrowedDocument(null, n).doc.cases).toBe(0);
    const hostile = { x: { c: { mo_pk: { '2024-01': { POST_ARRIVAL: 'lots', __proto__: 3 } } }, r: 'x' } };
    expect(narrowedDocument(hostile, n).doc).toMatchObject({ cases: 0, returnees: 0 });
  });
});

describe('the narrow argument: malformed, oversized and hostile input', () => {
  it('accepts months and a package, and nothing at all', () => {
    expect(parseNarrowing({ fromMonth: '2024-01', toMonth: '2024-12', package: 'POST_RETURN' })).toEqual({
      fromMonth: '2024-01',
      toMonth: '2024-12',
      package: 'POST_RETURN',
    });
    expect(parseNarrowing(undefined)).toBeNull();
    expect(parseNarrowing(null)).toBeNull();
    expect(parseNarrowing({})).toBeNull();
    expect(parseNarrowing({ fromMonth: '', toMonth: null })).toBeNull();
  });
  it.each([
    [{ fromMonth: '2024-13' }, /YYYY-MM/],
    [{ fromMonth: '2024-1' }, /YYYY-MM/],
    [{ toMonth: '2024-01-01' }, /YYYY-MM/],
    [{ toMonth: `2024-01${'x'.repeat(100_000)}` }, /YYYY-MM/],
    [{ fromMonth: { $gt: '' } }, /YYYY-MM/],
    [{ fromMonth: 202401 }, /YYYY-MM/],
    [{ fromMonth: '2024-05', toMonth: '2024-04' }, /after/],
    [{ package: 'EVERYTHING' }, /one of/],
    [{ package: ['POST_RETURN'] }, /one of/],
    [{ month: '2024-01' }, /not a narrowing/],
    [JSON.parse('{"__proto__": {"polluted": 1}}') as unknown, /not a narrowing/],
    [['2024-01'], /object/],
    ['2024-01', /object/],
  ])('refuses hostile input %#, saying what is wrong', (input, message) => {
    expect(() => parseNarrowing(input)).toThrow(message);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it('an error message never echoes an oversized value whole', () => {
    try {
      parseNarrowing({ fromMonth: 'y'.repeat(100_000) });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(200);
    }
  });
});
