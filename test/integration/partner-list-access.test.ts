import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

interface Row {
  id: string;
  name: string;
  spend: { people: number } | null;
  qualityIndicators: { casesAssigned: number } | null;
  cases: { totalCount: number } | null;
}

const LIST =
  '{ partners { id name spend(year: 2024) { people } qualityIndicators { casesAssigned } cases { totalCount } } }';

/** A partner list asked for with fields refused for some rows: only those fields are null, with their errors. */
describe('partners list with per-partner fields refused', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({ cases: 60, seed: 9 });
  });
  afterAll(async () => {
    await system?.stop();
  });

  const errorPaths = (errors: Array<{ path?: ReadonlyArray<string | number> }> | undefined) =>
    (errors ?? []).map((e) => (e.path ?? []).join('.'));

  it('as a partner: rows and names stay, its own row whole, others only the refused fields null', async () => {
    const everyone = await system.graphql<{ partners: Row[] }>(LIST);
    expect(everyone.body.errors).toBeUndefined();
    const all = everyone.body.data!.partners;
    expect(all.length).toBeGreaterThan(1);
    const mine = all.find((p) => (p.cases?.totalCount ?? 0) > 0)!;

    const headers = await system.as({ subject: 'p-user', role: 'PARTNER', partnerId: mine.id });
    const { body } = await system.graphql<{ partners: Row[] }>(LIST, undefined, headers);
    expect(body.data).not.toBeNull();
    const rows = body.data!.partners;
    expect(rows.map((r) => [r.id, r.name])).toEqual(all.map((r) => [r.id, r.name]));
    const own = rows.find((r) => r.id === mine.id)!;
    expect(own.qualityIndicators).toEqual(mine.qualityIndicators);
    expect(own.cases).toEqual(mine.cases);
    for (const other of rows.filter((r) => r.id !== mine.id)) {
      expect(other.qualityIndicators).toBeNull();
      expect(other.cases?.totalCount ?? 0).toBe(0);
    }
    // Each refusal is a field error on that field of that row, never on the list.
    const paths = errorPaths(body.errors);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) expect(path).toMatch(/^partners\.\d+\.(spend|qualityIndicators|cases)$/);
    expect(paths).not.toContain(`partners.${rows.indexOf(own)}.qualityIndicators`);
  });

  it('anonymously: names stay, the refused fields are null with their errors', async () => {
    const { body } = await system.graphql<{ partners: Row[] }>(LIST, undefined, await system.as(null));
    expect(body.data).not.toBeNull();
    const rows = body.data!.partners;
    expect(rows.length).toBeGreaterThan(1);
    for (const row of rows) {
      expect(row.name).toEqual(expect.any(String));
      expect(row.spend).toBeNull();
      expect(row.qualityIndicators).toBeNull();
    }
    for (const path of errorPaths(body.errors))
      expect(path).toMatch(/^partners\.\d+\.(spend|qualityIndicators|cases)$/);
  });
});
