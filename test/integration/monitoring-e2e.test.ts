import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { loadInstrument } from '../../subgraphs/cases/monitoring/instrument.js';
import { collectSubscription } from '../helpers/subscriptions.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

/**
 * Monitoring and evaluation end to end through the gateway (#16): the assigned partner records
 * sustainability assessments and feedback; the indicators kept from those events fall under a
 * minimum standard and the breach arrives over a subscription; the owning Member State reads its
 * value exactly while an analyst gets the small cell withheld.
 */
const ASSESS = `mutation($id: ID!, $input: SustainabilityAssessmentInput!) {
  recordSustainabilityAssessment(caseId: $id, input: $input) { id scores { economic overall } } }`;
const FEEDBACK = `mutation($id: ID!, $input: ReturneeFeedbackInput!) {
  recordReturneeFeedback(caseId: $id, input: $input) { id } }`;
const VALUES = `query($i: ID, $p: IndicatorScopeKind, $k: ID) {
  indicatorValues(indicator: $i, perspective: $p, key: $k) {
    indicatorId scope { perspective key } period value numerator denominator casesCounted status } }`;
const BREACHED = `subscription { indicatorBreached { indicatorId perspective key period value casesCounted } }`;

interface Value {
  indicatorId: string;
  scope: { perspective: string; key: string | null };
  period: string;
  value: number | null;
  casesCounted: number | null;
  status: string;
}

describe('monitoring end to end: assessments and feedback → indicators → breach → suppressed aggregates', () => {
  let system: TestSystem;
  let partnerId: string;
  let cases: CaseDoc[];
  const h: Record<string, Record<string, string>> = {};
  const breaches: Array<{
    indicatorId: string;
    perspective: string;
    key: string | null;
    period: string;
    value: number | null;
    casesCounted: number | null;
  }> = [];
  let ws: Client;
  const instrument = loadInstrument('config/instruments/rss-default.v1.json');
  const until = async (check: () => boolean | Promise<boolean>, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  };
  const values = async (who: string, indicator: string, perspective: string, key: string) => {
    const { body } = await system.graphql<{ indicatorValues: Value[] }>(
      VALUES,
      { i: indicator, p: perspective, k: key },
      h[who],
    );
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    // The month the records were made in (assessments and feedback count in the month recorded).
    return body.data!.indicatorValues.filter((v) => v.period.length === 7);
  };
  // Economic items answered at the bottom of their scale, the others at the top: economic score 0.
  const answers = (economicAtTop = false) =>
    instrument.items.map((item) => {
      const sorted = [...item.scale].sort((a, b) => a.value - b.value);
      const low = item.dimension === 'economic' && !economicAtTop;
      return { itemId: item.id, value: (low ? sorted[0] : sorted.at(-1))!.value };
    });
  const recordOf = (i: number) => ({
    memberState: 'BE',
    caseReference: `BE-M-${i}`,
    recordVersion: 1,
    returnType: 'VOLUNTARY',
    packages: ['POST_ARRIVAL', 'POST_RETURN'],
    countryOfOrigin: 'AF',
    departureDate: '2024-03-01',
    mainApplicant: { name: `Returnee ${i}`, dateOfBirth: '1990-01-01', sex: 'MALE' },
    eligibility: { requestDate: '2024-02-20', applicationSigned: true },
  });

  beforeAll(async () => {
    system = await startTestSystem({ cases: 0 });
    const record = recordOf;
    // Six returnees to Afghanistan, and two to Iraq: a small cell for the analyst's cross-tab.
    const iraq = [7, 8].map((i) => ({ ...record(i), countryOfOrigin: 'IQ' }));
    const report = await system.ingest('BE', [...[1, 2, 3, 4, 5, 6].map(record), ...iraq]);
    expect(report.counts.created, JSON.stringify(report.rejected)).toBe(8);
    cases = await casesModels(system.connections.cases)
      .Case.find({ memberState: 'BE', countryOfOrigin: 'AF' })
      .lean<CaseDoc[]>()
      .exec();
    expect(cases).toHaveLength(6);
    partnerId = cases[0]!.partnerId!;
    expect(cases.every((c) => c.partnerId === partnerId)).toBe(true);
    const principals: Record<string, Principal> = {
      partner: { subject: 'partner-worker', role: 'PARTNER', partnerId },
      officer: { subject: 'be-officer', role: 'MEMBER_STATE', memberState: 'BE' },
      analyst: { subject: 'eu-analyst', role: 'EU_ANALYST' },
    };
    for (const [name, principal] of Object.entries(principals)) h[name] = await system.as(principal);
    ws = await collectSubscription<(typeof breaches)[number]>(
      system,
      h.analyst!.authorization!,
      BREACHED,
      'indicatorBreached',
      breaches,
    );
  });
  afterAll(async () => {
    await ws?.dispose();
    await system?.stop();
  });

  it('assessments by the partner breach the economic minimum, announced to an analyst by subscription', async () => {
    for (const c of cases) {
      const { body } = await system.graphql<{ recordSustainabilityAssessment: { scores: { economic: number } } }>(
        ASSESS,
        {
          id: c._id.toHexString(),
          input: { followUpMonths: 3, assessedOn: '2024-06-01', instrumentVersion: '1', answers: answers() },
        },
        h.partner,
      );
      expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
      expect(body.data!.recordSustainabilityAssessment.scores.economic).toBe(0);
    }
    // The economic score is watched per country of origin (the shipped indicators file).
    const isEconomic = (b: (typeof breaches)[number]) =>
      b.indicatorId === 'economic-score' && b.perspective === 'COUNTRY_OF_ORIGIN';
    await until(() => breaches.some(isEconomic));
    // The analyst hears of it without its figures (it reads the scope through suppression).
    expect(breaches.find(isEconomic)).toMatchObject({ key: 'AF', value: null, casesCounted: null });
    // Once per period: the month and the year the assessments were recorded in.
    await until(() => breaches.filter(isEconomic).length === 2);
    expect(
      breaches
        .filter(isEconomic)
        .map((b) => b.period.length)
        .sort(),
    ).toEqual([4, 7]);
    const [own] = await values('officer', 'economic-score', 'MEMBER_STATE', 'BE');
    expect(own).toMatchObject({ value: 0, casesCounted: 6 });
  });

  it('feedback on two cases: the owner reads its value exactly, an analyst gets the small cell withheld', async () => {
    for (const c of cases.slice(0, 2)) {
      const { body } = await system.graphql(
        FEEDBACK,
        { id: c._id.toHexString(), input: { satisfaction: [{ service: 'RECEPTION', score: 4 }] } },
        h.partner,
      );
      expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    }
    await until(
      async () => (await values('officer', 'returnee-satisfaction', 'MEMBER_STATE', 'BE'))[0]?.casesCounted === 2,
    );
    const [own] = await values('officer', 'returnee-satisfaction', 'MEMBER_STATE', 'BE');
    expect(own).toMatchObject({ value: 4, casesCounted: 2 });
    const [analysts] = await values('analyst', 'returnee-satisfaction', 'MEMBER_STATE', 'BE');
    expect(analysts!.value).toBeNull();
    expect(analysts!.status).toBe('WITHHELD');
    // The same table as CSV: the withheld value an empty field, with a note; the owner's exact.
    const CSV = `{ indicatorValuesCsv(indicator: "returnee-satisfaction", perspective: MEMBER_STATE, key: "BE") }`;
    const csvOf = async (who: string) =>
      (await system.graphql<{ indicatorValuesCsv: string }>(CSV, {}, h[who])).body.data!.indicatorValuesCsv.split(
        '\r\n',
      );
    const analystCsv = await csvOf('analyst');
    expect(analystCsv[0]).toBe('indicator,version,perspective,key,period,value,numerator,denominator,cases,status');
    expect(analystCsv.find((l) => /,\d{4}-\d{2},/.test(l))).toMatch(
      /^returnee-satisfaction,\d+,MEMBER_STATE,BE,\d{4}-\d{2},,.*WITHHELD$/,
    );
    expect(analystCsv.some((l) => l.startsWith('Note,'))).toBe(true);
    const ownerCsv = await csvOf('officer');
    expect(ownerCsv.find((l) => /,\d{4}-\d{2},/.test(l))).toMatch(
      /^returnee-satisfaction,\d+,MEMBER_STATE,BE,\d{4}-\d{2},4,8,2,2,/,
    );
    // Six assessments are enough to show the analyst the economic figure itself.
    const [economic] = await values('analyst', 'economic-score', 'MEMBER_STATE', 'BE');
    expect(economic).toMatchObject({ value: 0, casesCounted: 6 });
  });

  it("an analyst's suppressed values follow the next events (the cached read model is keyed by them)", async () => {
    const before = (await values('analyst', 'economic-score', 'MEMBER_STATE', 'BE'))[0]!;
    expect(before).toMatchObject({ value: 0, casesCounted: 6 });
    const report = await system.ingest('BE', [9, 10].map(recordOf));
    expect(report.counts.created).toBe(2);
    const added = await casesModels(system.connections.cases)
      .Case.find({ caseReference: { $in: ['BE-M-9', 'BE-M-10'] } })
      .lean<CaseDoc[]>()
      .exec();
    for (const c of added) {
      const { body } = await system.graphql(
        ASSESS,
        {
          id: c._id.toHexString(),
          input: { followUpMonths: 3, assessedOn: '2024-06-01', instrumentVersion: '1', answers: answers(true) },
        },
        h.partner,
      );
      expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    }
    await until(async () => (await values('analyst', 'economic-score', 'MEMBER_STATE', 'BE'))[0]?.casesCounted === 8);
    const after = (await values('analyst', 'economic-score', 'MEMBER_STATE', 'BE'))[0]!;
    expect(after).toMatchObject({ value: 0.25, casesCounted: 8 });
  });

  it("the analyst's cross-tab withholds the small cell and what would give it back; the owner's is exact", async () => {
    const XTAB = `{ crossTabulation(rows: MEMBER_STATE, columns: COUNTRY_OF_ORIGIN) {
      columnKeys rows { key cells { count suppressed } total } columnTotals { count } total } }`;
    interface Table {
      crossTabulation: {
        columnKeys: string[];
        rows: Array<{ key: string; cells: Array<{ count: number | null; suppressed: boolean }>; total: number | null }>;
        columnTotals: Array<{ count: number | null }>;
        total: number | null;
      };
    }
    const analyst = (await system.graphql<Table>(XTAB, {}, h.analyst)).body;
    expect(analyst.errors).toBeUndefined();
    const table = analyst.data!.crossTabulation;
    const be = table.rows.find((r) => r.key === 'BE')!;
    const cell = (key: string) => be.cells[table.columnKeys.indexOf(key)]!;
    expect(cell('IQ')).toEqual({ count: null, suppressed: true });
    // No line with a shown total holds exactly one withheld cell (it would be the total minus the rest).
    const lone = (line: Array<number | null>) => line.filter((v) => v === null).length === 1;
    for (const row of table.rows) expect(lone([...row.cells.map((c) => c.count), row.total])).toBe(false);
    table.columnKeys.forEach((_, c) =>
      expect(lone([...table.rows.map((r) => r.cells[c]!.count), table.columnTotals[c]!.count])).toBe(false),
    );
    const owner = (await system.graphql<Table>(XTAB, {}, h.officer)).body.data!.crossTabulation;
    const own = owner.rows.find((r) => r.key === 'BE')!;
    expect(own.cells[owner.columnKeys.indexOf('IQ')]).toEqual({ count: 2, suppressed: false });
    expect(own.cells[owner.columnKeys.indexOf('AF')]).toEqual({ count: 8, suppressed: false });
  });
});
