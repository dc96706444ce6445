import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { factsOf } from '../../subgraphs/cases/statistics/facts.js';
import { DEFAULT_SUPPRESSION_THRESHOLD } from '../../subgraphs/cases/statistics/suppression.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

/** `statistics(narrow:)` through the gateway: a period of departure months and a package, exact or suppressed. */
const STATS = /* GraphQL */ `
  query ($filter: StatisticsFilter, $narrow: StatisticsNarrowing) {
    statistics(filter: $filter, narrow: $narrow) {
      scope
      totalCases
      totalReturnees
      adults
      averageFamilyComposition
      casesByMemberState {
        key
        count
        suppressed
      }
      casesPerMonth {
        key
        count
        suppressed
      }
      casesByPackage {
        key
        count
        suppressed
      }
      suppressed
      suppressionThreshold
      narrowedTo {
        fromMonth
        toMonth
        package
      }
      unavailableBreakdowns
    }
  }
`;

interface Count {
  key: string;
  count: number | null;
  suppressed: boolean;
}
interface Stats {
  scope: string;
  totalCases: number | null;
  totalReturnees: number | null;
  adults: number | null;
  averageFamilyComposition: number | null;
  casesByMemberState: Count[];
  casesPerMonth: Count[];
  casesByPackage: Count[];
  suppressed: boolean;
  suppressionThreshold: number | null;
  narrowedTo: { fromMonth: string | null; toMonth: string | null; package: string | null } | null;
  unavailableBreakdowns: string[];
}

describe('statistics narrowed by period and package, through the gateway', () => {
  let system: TestSystem;
  let cases: CaseDoc[];
  let months: string[];
  const stats = async (variables: Record<string, unknown>, principal?: Principal) =>
    (await system.graphql<{ statistics: Stats }>(STATS, variables, principal ? await system.as(principal) : undefined))
      .body;
  const tally = (kept: CaseDoc[], key: (c: CaseDoc) => string) => {
    const out = new Map<string, number>();
    for (const c of kept) out.set(key(c), (out.get(key(c)) ?? 0) + 1);
    return out;
  };
  const month = (c: CaseDoc) => factsOf(c).month;
  const asMap = (counts: Count[]) => new Map(counts.map((c) => [c.key, c.count]));

  beforeAll(async () => {
    system = await startTestSystem({ cases: 300, seed: 29 });
    cases = await casesModels(system.connections.cases).Case.find().lean<CaseDoc[]>().exec();
    months = [...new Set(cases.map(month))].sort();
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('an administrator reads a period and a package exactly as the raw cases count them', async () => {
    const [fromMonth, toMonth] = [months[1]!, months[Math.floor(months.length / 2)]!];
    const inPeriod = cases.filter((c) => month(c) >= fromMonth && month(c) <= toMonth);
    const period = await stats({ narrow: { fromMonth, toMonth } });
    expect(period.errors).toBeUndefined();
    const s = period.data!.statistics;
    expect(s.narrowedTo).toEqual({ fromMonth, toMonth, package: null });
    expect(s.totalCases).toBe(inPeriod.length);
    expect(s.totalCases).toBeLessThan(cases.length);
    expect(s.totalReturnees).toBe(inPeriod.reduce((a, c) => a + factsOf(c).returnees, 0));
    expect(s.adults).toBeNull();
    expect(asMap(s.casesByMemberState)).toEqual(tally(inPeriod, (c) => c.memberState));
    expect(asMap(s.casesPerMonth)).toEqual(tally(inPeriod, month));
    expect(s.suppressionThreshold).toBeNull();

    const withPackage = cases.filter((c) => c.packages.includes('POST_RETURN'));
    const pkg = (await stats({ narrow: { package: 'POST_RETURN' } })).data!.statistics;
    expect(pkg.totalCases).toBe(withPackage.length);
    expect(asMap(pkg.casesByMemberState)).toEqual(tally(withPackage, (c) => c.memberState));
    expect(pkg.casesByPackage).toEqual([{ key: 'POST_RETURN', count: withPackage.length, suppressed: false }]);

    const both = (await stats({ narrow: { fromMonth, toMonth, package: 'POST_RETURN' } })).data!.statistics;
    expect(both.totalCases).toBe(inPeriod.filter((c) => c.packages.includes('POST_RETURN')).length);
    expect(both.casesByMemberState).toEqual([]);
    expect(both.unavailableBreakdowns).toContain('MEMBER_STATE');
  });

  it('an analyst gets small cells withheld after summing the period, and the exact figures elsewhere', async () => {
    const analyst: Principal = { subject: 'a', role: 'EU_ANALYST' };
    const narrow = { fromMonth: months[0]!, toMonth: months.at(-1)! };
    const whole = (await stats({ narrow }, analyst)).data!.statistics;
    const exact = (await stats({ narrow })).data!.statistics;
    expect(whole.suppressionThreshold).toBe(DEFAULT_SUPPRESSION_THRESHOLD);
    for (const c of whole.casesByMemberState) {
      const truth = asMap(exact.casesByMemberState).get(c.key)!;
      if (c.suppressed) expect(c.count).toBeNull();
      else expect(c.count).toBe(truth);
      // A count below the threshold is never shown.
      if (truth > 0 && truth < DEFAULT_SUPPRESSION_THRESHOLD) expect(c.suppressed).toBe(true);
    }
    // One month alone has smaller counts than the whole period: more is withheld, never less.
    const one = (await stats({ narrow: { fromMonth: months[0]!, toMonth: months[0]! } }, analyst)).data!.statistics;
    const withheld = (s: Stats) => s.casesByMemberState.filter((c) => c.suppressed).length;
    expect(withheld(one)).toBeGreaterThan(0);
    expect(one.suppressed).toBe(true);
    for (const c of one.casesByMemberState) if (!c.suppressed) expect(c.count!).toBeGreaterThanOrEqual(5);
  });

  it('a Member State reads its own scope narrowed exactly, the programme with small cells withheld', async () => {
    const ms = [...tally(cases, (c) => c.memberState)].sort((a, b) => b[1] - a[1])[0]![0];
    const officer: Principal = { subject: 'm', role: 'MEMBER_STATE', memberState: ms };
    const narrow = { fromMonth: months[0]!, toMonth: months[Math.floor(months.length / 2)]! };
    const own = (await stats({ narrow }, officer)).data!.statistics;
    const raw = cases.filter((c) => c.memberState === ms && month(c) >= narrow.fromMonth && month(c) <= narrow.toMonth);
    expect(own.scope).toBe(`memberState:${ms}`);
    expect(own.suppressionThreshold).toBeNull();
    expect(own.totalCases).toBe(raw.length);
    expect(asMap(own.casesPerMonth)).toEqual(tally(raw, month));
    const programme = (await stats({ narrow, filter: { programme: true } }, officer)).data!.statistics;
    expect(programme.scope).toBe('all');
    expect(programme.suppressionThreshold).toBe(DEFAULT_SUPPRESSION_THRESHOLD);
    // Its own line it knows already: shown exactly.
    expect(programme.casesByMemberState.find((c) => c.key === ms)?.count).toBe(raw.length);
  });

  it('refuses malformed, oversized and hostile narrowings with a named code, before reading anything', async () => {
    for (const [narrow, message] of [
      [{ fromMonth: '2024-13' }, /YYYY-MM/],
      [{ fromMonth: 'x'.repeat(10_000) }, /YYYY-MM/],
      [{ fromMonth: '2024-06', toMonth: '2024-01' }, /after/],
      [{ package: 'EVERYTHING' }, /Package/],
      [{ fromMonth: { $gt: '' } }, /String/],
      [{ month: '2024-01' }, /month/],
    ] as const) {
      const body = await stats({ narrow });
      expect(body.errors?.[0]?.extensions?.code, JSON.stringify(narrow).slice(0, 60)).toBe('BAD_USER_INPUT');
      expect(body.errors![0]!.message).toMatch(message);
      expect(body.errors![0]!.message.length).toBeLessThan(400);
      expect(body.data ?? null).toBeNull();
    }
    const anonymous = await system.graphql(STATS, { narrow: { package: 'POST_RETURN' } }, { authorization: '' });
    expect(anonymous.body.data ?? null).toBeNull();
  });
});
