import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

/** Every summary field a page can read from a projection (subgraphs/cases/case/projection.ts). */
const SUMMARY =
  'id caseReference sendingMemberState { code } returnType charterFlight packages countryOfOrigin { code } ' +
  'partner { id } status familySize departureDate arrivalDate version createdAt updatedAt ' +
  'windowFlags { code boundary date at } ' +
  'milestones { km1At km2At km3At arrivedAt } postArrivalServices eligibility { outcome reasons missingFacts ' +
  'requestDate assessedAt requestWindowMonths } erasure { at kind } postArrivalEndsOn postReturnEndsOn ' +
  'requestWindowEndsOn';

interface Page {
  cases: { totalCount: number; edges: Array<{ cursor: string; node: Record<string, unknown> }> };
}

/**
 * A page that selects only summary fields reads them through a projection; the same page
 * with a field outside the table reads whole documents. Both must answer the same, for
 * every kind of reader (EU analysts get pseudonymised references from the projected page too).
 */
describe('a page of cases read through a projection', () => {
  let system: TestSystem;
  const finds: Array<{ projection?: Record<string, unknown> }> = [];
  beforeAll(async () => {
    system = await startTestSystem({ cases: 80, seed: 11 });
    system.connections.cases
      .getClient()
      .on('commandStarted', (event: { commandName: string; command: Record<string, unknown> }) => {
        if (event.commandName === 'find' && event.command.find === 'cases')
          finds.push({ projection: event.command.projection as Record<string, unknown> | undefined });
      });
  });
  afterAll(async () => {
    await system?.stop();
  });

  const readers: Array<[string, Principal]> = [
    ['an administrator', { subject: 'proj-admin', role: 'ADMIN' }],
    ['an EU analyst', { subject: 'proj-analyst', role: 'EU_ANALYST' }],
    ['a Member State', { subject: 'proj-ms', role: 'MEMBER_STATE', memberState: 'DE' }],
  ];

  it.each(readers)('as %s: the projected page equals the whole-document page, field by field', async (_, who) => {
    const headers = await system.as(who);
    const page = (node: string) =>
      system.graphql<Page>(
        `query($f: CaseFilter) { cases(first: 30, filter: $f) { totalCount edges { cursor node { ${node} } } } }`,
        { f: { returnTypes: ['VOLUNTARY', 'FORCED'] } },
        headers,
      );
    finds.length = 0;
    const projected = await page(SUMMARY);
    expect(projected.body.errors).toBeUndefined();
    // The cases subgraph asked the store for the summary paths only.
    expect(finds.length).toBeGreaterThan(0);
    const projection = finds[0]!.projection!;
    expect(projection).toMatchObject({ _id: 1, memberState: 1, partnerId: 1, status: 1 });
    expect(projection).not.toHaveProperty('history');

    finds.length = 0;
    const whole = await page(`${SUMMARY} history { transition }`);
    expect(whole.body.errors).toBeUndefined();
    expect(finds[0]!.projection).toBeUndefined();

    const a = projected.body.data!.cases;
    const b = whole.body.data!.cases;
    expect(a.totalCount).toBe(b.totalCount);
    expect(a.edges.length).toBeGreaterThan(0);
    expect(a.edges.map((e) => e.cursor)).toEqual(b.edges.map((e) => e.cursor));
    const withoutHistory = b.edges.map((e) => {
      const { history, ...rest } = e.node;
      expect(Array.isArray(history)).toBe(true);
      return rest;
    });
    expect(a.edges.map((e) => e.node)).toEqual(withoutHistory);
    if (who.role === 'EU_ANALYST') for (const e of a.edges) expect(e.node.caseReference).toMatch(/^CR-/);
  });

  it("a partner's cases (Partner.cases) read through the projection answer as whole documents do", async () => {
    const query = (node: string) =>
      system.graphql<{ partners: Array<{ id: string; cases: Page['cases'] }> }>(
        `{ partners { id cases(first: 10) { totalCount edges { cursor node { ${node} } } } } }`,
      );
    const projected = await query('id status caseReference partner { id }');
    const whole = await query('id status caseReference partner { id } closingReason');
    expect(projected.body.errors).toBeUndefined();
    expect(whole.body.errors).toBeUndefined();
    const strip = (rows: Array<{ id: string; cases: Page['cases'] }>) =>
      rows.map((r) => ({
        id: r.id,
        totalCount: r.cases.totalCount,
        nodes: r.cases.edges.map(({ node: { closingReason: _closing, ...rest } }) => rest),
      }));
    const rows = strip(projected.body.data!.partners);
    expect(rows.some((r) => r.nodes.length > 0)).toBe(true);
    for (const row of rows) for (const node of row.nodes) expect(node.partner).toEqual({ id: row.id });
    expect(rows).toEqual(strip(whole.body.data!.partners));
  });
});
