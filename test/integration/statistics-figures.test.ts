import { ALL_TAG, bumpCacheTags } from '../../shared/cache-tags.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { lacksPairCounters } from '../../subgraphs/cases/statistics/rebuild.js';
import { revealsWithheld } from '../../subgraphs/cases/statistics/suppression.js';
import { prepareReadModels } from '../../subgraphs/cases/worklist/background.js';
import { silentLogger, startTestSystem, type TestSystem } from '../helpers/system.js';

const XTAB = /* GraphQL */ `
  query (
    $rows: StatisticsDimension!
    $columns: StatisticsDimension!
    $measure: StatisticsMeasure
    $filter: StatisticsFilter
  ) {
    crossTabulation(rows: $rows, columns: $columns, measure: $measure, filter: $filter) {
      scope
      rowDimension
      columnDimension
      measure
      columnKeys
      rows {
        key
        cells {
          column
          count
          suppressed
        }
        total
        totalSuppressed
      }
      columnTotals {
        column
        count
        suppressed
      }
      total
      totalSuppressed
      suppressed
      withheld
      suppressionThreshold
      csv
    }
  }
`;
const STATS = /* GraphQL */ `
  query ($filter: StatisticsFilter) {
    statistics(filter: $filter) {
      scope
      totalCases
      totalReturnees
      casesByMemberState {
        key
        count
        suppressed
      }
      casesByCountryOfOrigin {
        key
        count
        suppressed
      }
      suppressed
      suppressionThreshold
      csv
    }
  }
`;

interface Cell {
  column: string;
  count: number | null;
  suppressed: boolean;
}
interface XTab {
  scope: string;
  rowDimension: string;
  columnDimension: string;
  measure: string;
  columnKeys: string[];
  rows: Array<{ key: string; cells: Cell[]; total: number | null; totalSuppressed: boolean }>;
  columnTotals: Cell[];
  total: number | null;
  totalSuppressed: boolean;
  suppressed: boolean;
  withheld: number;
  suppressionThreshold: number | null;
  csv: string;
}
interface Stats {
  scope: string;
  totalCases: number | null;
  totalReturnees: number | null;
  casesByMemberState: Array<{ key: string; count: number | null; suppressed: boolean }>;
  casesByCountryOfOrigin: Array<{ key: string; count: number | null; suppressed: boolean }>;
  suppressed: boolean;
  suppressionThreshold: number | null;
  csv: string;
}

/** The counts of rows × columns straight from the stored cases (independently of the read model). */
function rawTable(cases: CaseDoc[], row: (c: CaseDoc) => string, column: (c: CaseDoc) => string) {
  const map = new Map<string, number>();
  for (const c of cases) map.set(`${row(c)}|${column(c)}`, (map.get(`${row(c)}|${column(c)}`) ?? 0) + 1);
  return map;
}
const asMap = (t: XTab) => {
  const map = new Map<string, number>();
  for (const r of t.rows) for (const c of r.cells) if (c.count) map.set(`${r.key}|${c.column}`, c.count);
  return map;
};
const shownOf = (t: XTab) => ({
  cells: t.rows.map((r) => r.cells.map((c) => c.count)),
  rowTotals: t.rows.map((r) => r.total),
  columnTotals: t.columnTotals.map((c) => c.count),
  total: t.total,
  withheld: t.withheld,
});
/** A minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  return rows;
}
const codes = (body: { errors?: Array<{ extensions?: Record<string, unknown> }> }) =>
  (body.errors ?? []).map((e) => e.extensions?.code);

describe('comparable figures: cross-tabs, programme-wide next to own, suppression, CSV', () => {
  let system: TestSystem;
  let cases: CaseDoc[];
  let ms: string;
  const xtab = async (variables: Record<string, unknown>, headers?: Record<string, string>) =>
    (await system.graphql<{ crossTabulation: XTab }>(XTAB, variables, headers)).body;
  const stats = async (variables: Record<string, unknown>, headers?: Record<string, string>) =>
    (await system.graphql<{ statistics: Stats }>(STATS, variables, headers)).body;

  beforeAll(async () => {
    system = await startTestSystem({ cases: 300, seed: 23 });
    cases = await casesModels(system.connections.cases).Case.find().lean<CaseDoc[]>().exec();
    // The Member State with the most cases: its own figures are worth comparing.
    const per = rawTable(
      cases,
      (c) => c.memberState,
      () => '',
    );
    ms = [...per].sort((a, b) => b[1] - a[1])[0]![0].split('|')[0]!;
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('an administrator reads exact cross-tabs that match the raw cases, both ways round and by returnees', async () => {
    const body = await xtab({ rows: 'MEMBER_STATE', columns: 'COUNTRY_OF_ORIGIN' });
    expect(body.errors).toBeUndefined();
    const t = body.data!.crossTabulation;
    expect(t.suppressionThreshold).toBeNull();
    expect(t.suppressed).toBe(false);
    expect(asMap(t)).toEqual(
      rawTable(
        cases,
        (c) => c.memberState,
        (c) => c.countryOfOrigin,
      ),
    );
    expect(t.total).toBe(cases.length);
    const transposed = (await xtab({ rows: 'COUNTRY_OF_ORIGIN', columns: 'MEMBER_STATE' })).data!.crossTabulation;
    expect(transposed.rows.map((r) => r.key)).toEqual(t.columnKeys);
    const people = (await xtab({ rows: 'RETURN_TYPE', columns: 'MONTH', measure: 'RETURNEES' })).data!.crossTabulation;
    expect(people.total).toBe(cases.reduce((sum, c) => sum + Math.max(c.familySize, 1 + c.familyMembers.length), 0));
    expect(people.columnKeys).toEqual([...people.columnKeys].sort());
  });

  it("an analyst's cross-tab has withheld cells, and no total shown gives one back", async () => {
    const analyst = await system.as({ subject: 'eu-analyst', role: 'EU_ANALYST' });
    const body = await xtab({ rows: 'MEMBER_STATE', columns: 'COUNTRY_OF_ORIGIN' }, analyst);
    expect(body.errors).toBeUndefined();
    const t = body.data!.crossTabulation;
    expect(t.suppressionThreshold).toBe(5);
    expect(t.suppressed).toBe(true);
    const exact = rawTable(
      cases,
      (c) => c.memberState,
      (c) => c.countryOfOrigin,
    );
    let small = 0;
    for (const r of t.rows)
      for (const c of r.cells) {
        const real = exact.get(`${r.key}|${c.column}`) ?? 0;
        expect(c.suppressed).toBe(c.count === null);
        if (real > 0 && real < 5) {
          small++;
          expect(c.count, `${r.key}×${c.column}`).toBeNull();
        } else if (c.count !== null) expect(c.count).toBe(real);
      }
    expect(small).toBeGreaterThan(0);
    expect(revealsWithheld(shownOf(t))).toBe(false);
    // Its CSV carries the same figures, withheld values empty, and a note.
    const csv = parseCsv(t.csv);
    expect(csv[0]).toEqual(['MEMBER_STATE\\COUNTRY_OF_ORIGIN', ...t.columnKeys, 'Total']);
    for (const [i, r] of t.rows.entries())
      expect(csv[i + 1]).toEqual([
        r.key,
        ...r.cells.map((c) => (c.count === null ? '' : String(c.count))),
        String(r.total ?? ''),
      ]);
    expect(csv[t.rows.length + 1]).toEqual([
      'Total',
      ...t.columnTotals.map((c) => (c.count === null ? '' : String(c.count))),
      String(t.total ?? ''),
    ]);
    expect(csv.at(-1)![0]).toBe('Note');
  });

  it('a Member State reads its own figures exactly and the programme-wide ones suppressed, side by side', async () => {
    const officer = await system.as({ subject: 'ms-officer', role: 'MEMBER_STATE', memberState: ms });
    const mine = cases.filter((c) => c.memberState === ms);
    const own = await stats({}, officer);
    expect(own.errors).toBeUndefined();
    expect(own.data!.statistics).toMatchObject({
      scope: `memberState:${ms}`,
      totalCases: mine.length,
      suppressed: false,
      suppressionThreshold: null,
    });
    const byCountry = rawTable(
      mine,
      (c) => c.countryOfOrigin,
      () => '',
    );
    for (const c of own.data!.statistics.casesByCountryOfOrigin) expect(c.count).toBe(byCountry.get(`${c.key}|`));

    const programme = await stats({ filter: { programme: true } }, officer);
    expect(programme.errors).toBeUndefined();
    const p = programme.data!.statistics;
    expect(p.scope).toBe('all');
    expect(p.suppressionThreshold).toBe(5);
    expect(p.totalCases).toBe(cases.length);
    expect(p.suppressed).toBe(true);
    const byMs = rawTable(
      cases,
      (c) => c.memberState,
      () => '',
    );
    const withheld = p.casesByMemberState.filter((c) => c.suppressed);
    expect(withheld.length).toBeGreaterThanOrEqual(2);
    for (const c of p.casesByMemberState) {
      const real = byMs.get(`${c.key}|`)!;
      if (real < 5) expect(c.count).toBeNull();
      else if (!c.suppressed) expect(c.count).toBe(real);
    }
    // The total shown minus the Member States shown is never one Member State's count.
    const hiddenSum = p.totalCases! - p.casesByMemberState.reduce((s, c) => s + (c.count ?? 0), 0);
    for (const c of withheld) expect(hiddenSum).not.toBe(byMs.get(`${c.key}|`));

    // Its own cross-tab exact, the programme's suppressed; the CSV of statistics matches the fields.
    const ownTab = (await xtab({ rows: 'COUNTRY_OF_ORIGIN', columns: 'MONTH' }, officer)).data!.crossTabulation;
    expect(ownTab.suppressionThreshold).toBeNull();
    expect(ownTab.total).toBe(mine.length);
    const wide = (await xtab({ rows: 'COUNTRY_OF_ORIGIN', columns: 'MONTH', filter: { programme: true } }, officer))
      .data!.crossTabulation;
    expect(wide.suppressionThreshold).toBe(5);
    expect(revealsWithheld(shownOf(wide))).toBe(false);
    // Programme-wide by Member State: its own row, which it knows, never helps it find another's cell.
    const byMsTab = (
      await xtab({ rows: 'MEMBER_STATE', columns: 'COUNTRY_OF_ORIGIN', filter: { programme: true } }, officer)
    ).data!.crossTabulation;
    const ownRow = byMsTab.rows.findIndex((r) => r.key === ms);
    expect(ownRow).toBeGreaterThanOrEqual(0);
    expect(revealsWithheld(shownOf(byMsTab), { rows: new Set([ownRow]) })).toBe(false);
    const lines = parseCsv(p.csv);
    expect(lines).toContainEqual(['totalCases', '', String(cases.length)]);
    for (const c of p.casesByMemberState)
      expect(lines).toContainEqual(['casesByMemberState', c.key, c.count === null ? '' : String(c.count)]);
  });

  it('a partner reads its own scope exactly and another partner suppressed; the DPO and anonymous none', async () => {
    const partnerId = cases.find((c) => c.partnerId)!.partnerId!;
    const partner = await system.as({ subject: 'pw', role: 'PARTNER', partnerId });
    const own = (await xtab({ rows: 'STATUS', columns: 'PACKAGE' }, partner)).data!.crossTabulation;
    expect(own.scope).toBe(`partner:${partnerId}`);
    expect(own.suppressionThreshold).toBeNull();
    const other = cases.find((c) => c.partnerId && c.partnerId !== partnerId)!.partnerId!;
    const theirs = (await xtab({ rows: 'STATUS', columns: 'PACKAGE', filter: { partner: other } }, partner)).data!
      .crossTabulation;
    expect(theirs.suppressionThreshold).toBe(5);
    const dpo = await system.as({ subject: 'dpo', role: 'DATA_PROTECTION_OFFICER' });
    expect(codes(await xtab({ rows: 'STATUS', columns: 'PACKAGE' }, dpo))).toEqual(['FORBIDDEN']);
    expect(codes(await xtab({ rows: 'STATUS', columns: 'PACKAGE' }, { authorization: '' }))).toEqual([
      'UNAUTHENTICATED',
    ]);
  });

  it('refuses malformed, oversized and hostile arguments with a named code', async () => {
    for (const [variables, code, message] of [
      [{ rows: 'MONTH', columns: 'MONTH' }, 'BAD_USER_INPUT', /two different dimensions/],
      [{ rows: 'MONTH', columns: 'STATUS', filter: { memberState: 'BE", $where: 1' } }, 'BAD_USER_INPUT', /valid code/],
      [{ rows: 'MONTH', columns: 'STATUS', filter: { countryOfOrigin: 'X'.repeat(5000) } }, 'BAD_USER_INPUT', /valid/],
      [
        { rows: 'MONTH', columns: 'STATUS', filter: { programme: true, memberState: 'BE' } },
        'BAD_USER_INPUT',
        /not with/,
      ],
      [
        { rows: 'MONTH', columns: 'STATUS', filter: { memberState: 'BE', partner: 'weldo' } },
        'BAD_USER_INPUT',
        /at most/,
      ],
      [{ rows: '__proto__', columns: 'STATUS' }, 'BAD_USER_INPUT', /StatisticsDimension/],
      [{ rows: 'MONTH', columns: 'STATUS', measure: 'MONEY' }, 'BAD_USER_INPUT', /StatisticsMeasure/],
    ] as const) {
      const body = await xtab(variables);
      expect(codes(body), JSON.stringify(variables).slice(0, 80)).toEqual([code]);
      expect(body.errors![0]!.message).toMatch(message);
      expect(body.data ?? null).toBeNull();
    }
  });

  it('follows case changes through the event backbone', async () => {
    const before = (await xtab({ rows: 'MEMBER_STATE', columns: 'COUNTRY_OF_ORIGIN' })).data!.crossTabulation;
    const cell = () => before.rows.find((r) => r.key === 'AT')?.cells.find((c) => c.column === 'GE')?.count ?? 0;
    const was = cell();
    const report = await system.ingest('AT', [
      {
        memberState: 'AT',
        caseReference: 'AT-XTAB-1',
        recordVersion: 1,
        returnType: 'VOLUNTARY',
        packages: ['POST_ARRIVAL'],
        countryOfOrigin: 'GE',
        departureDate: '2024-05-10',
        mainApplicant: { name: 'Nino Beridze', dateOfBirth: '1980-05-11', sex: 'FEMALE' },
        familyMembers: [],
        eligibility: { applicationSigned: true },
      },
    ]);
    expect(report.counts.created).toBe(1);
    let now = was;
    for (let i = 0; i < 100 && now === was; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const t = (await xtab({ rows: 'MEMBER_STATE', columns: 'COUNTRY_OF_ORIGIN' })).data!.crossTabulation;
      now = t.rows.find((r) => r.key === 'AT')?.cells.find((c) => c.column === 'GE')?.count ?? 0;
    }
    expect(now).toBe(was + 1);
  });

  it('a read model from before the pair counters is rebuilt with them when the process starts', async () => {
    const models = casesModels(system.connections.cases);
    const before = (await xtab({ rows: 'MEMBER_STATE', columns: 'STATUS' })).data!.crossTabulation;
    await models.Statistics.collection.updateMany({}, { $unset: { x: '' } });
    // Written outside the projector: as every such writer, it tells the gateway's cache.
    await bumpCacheTags(system.redis, system.config.QUEUE_PREFIX, [ALL_TAG]);
    expect(await lacksPairCounters(models)).toBe(true);
    expect((await xtab({ rows: 'MEMBER_STATE', columns: 'STATUS' })).data!.crossTabulation.total).toBe(0);
    await prepareReadModels(system.config, () => silentLogger);
    expect(await lacksPairCounters(models)).toBe(false);
    const after = (await xtab({ rows: 'MEMBER_STATE', columns: 'STATUS' })).data!.crossTabulation;
    expect(after.rows).toEqual(before.rows);
    expect(after.total).toBe(cases.length + 1);
  });
});
