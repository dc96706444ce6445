import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

describe('coverage: who serves which country, with history, and the assignment of new cases', () => {
  let system: TestSystem;
  const ingest = (records: unknown[]) => system.ingest('SE', records);
  const record = (ref: string, extra: Record<string, unknown> = {}) => ({
    memberState: 'SE',
    caseReference: ref,
    recordVersion: 1,
    returnType: 'VOLUNTARY',
    packages: ['POST_ARRIVAL', 'POST_RETURN'],
    countryOfOrigin: 'SO',
    departureDate: '2024-06-01',
    mainApplicant: { name: 'Hawa Diallo', dateOfBirth: '1992-07-07', sex: 'FEMALE' },
    eligibility: { requestDate: '2024-06-10', applicationSigned: true },
    ...extra,
  });
  const stored = async (ref: string) =>
    (await casesModels(system.connections.cases)
      .Case.findOne({ memberState: 'SE', caseReference: ref })
      .lean<CaseDoc>()
      .exec())!;

  beforeAll(async () => {
    system = await startTestSystem();
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('assigns a new case to the partner covering its country and packages on its departure date', async () => {
    expect((await ingest([record('SE-C-1')])).counts.created).toBe(1);
    expect((await stored('SE-C-1')).partnerId).toBe('irara');
  });

  it('support desk moves coverage from a date: later departures go to the new partner, history is kept', async () => {
    const desk = await mintToken({ subject: 'desk', role: 'SUPPORT_DESK' }, system.config);
    const move =
      `mutation($from: String!, $pkgs: [Package!]!) { assignCoverage(countryOfOrigin: "SO", ` +
      `partnerId: "caritas-be", packages: $pkgs, validFrom: $from) { code coverage { partner { id } packages ` +
      `validFrom validTo } } }`;
    const partner = await mintToken({ subject: 'p', role: 'PARTNER', partnerId: 'irara' }, system.config);
    expect(
      (
        await system.graphql(
          move,
          { from: '2024-07-01', pkgs: ['POST_ARRIVAL'] },
          { authorization: `Bearer ${partner}` },
        )
      ).body.errors![0]!.extensions!.code,
    ).toBe('FORBIDDEN');
    const { body } = await system.graphql<{
      assignCoverage: {
        coverage: Array<{ partner: { id: string }; packages: string[]; validFrom: string; validTo: string | null }>;
      };
    }>(move, { from: '2024-07-01', pkgs: ['POST_ARRIVAL'] }, { authorization: `Bearer ${desk}` });
    expect(body.errors).toBeUndefined();
    expect(body.data!.assignCoverage.coverage).toEqual([
      {
        partner: { id: 'irara' },
        packages: ['POST_ARRIVAL', 'CHARTER_ARRIVAL', 'POST_RETURN'],
        validFrom: '2022-04-01',
        validTo: '2024-06-30',
      },
      { partner: { id: 'caritas-be' }, packages: ['POST_ARRIVAL'], validFrom: '2024-07-01', validTo: null },
    ]);
    const rewrite = await system.graphql(
      move,
      { from: '2023-01-01', pkgs: ['POST_ARRIVAL'] },
      { authorization: `Bearer ${desk}` },
    );
    expect(rewrite.body.errors![0]!.message).toMatch(/history is not rewritten/);

    const report = await ingest([
      record('SE-C-2', { departureDate: '2024-06-15' }),
      record('SE-C-3', { departureDate: '2024-07-02', packages: ['POST_ARRIVAL'] }),
      record('SE-C-4', { departureDate: '2024-07-02' }),
    ]);
    expect(report.counts).toMatchObject({ created: 2, rejected: 1 });
    expect((await stored('SE-C-2')).partnerId).toBe('irara');
    expect((await stored('SE-C-3')).partnerId).toBe('caritas-be');
    // No coverage for the post-return package after the move: a clear, actionable refusal.
    expect(report.rejected[0]).toEqual({
      position: 2,
      line: null,
      caseReference: 'SE-C-4',
      path: 'countryOfOrigin',
      message:
        'No partner covers SO for POST_ARRIVAL + POST_RETURN on 2024-07-02 (caritas-be covers SO with ' +
        'POST_ARRIVAL since 2024-07-01). Request only covered packages, or ask the support desk to extend ' +
        'coverage.',
    });
  });

  it('answers partnerAssignment through the graph, and NO_COVERAGE with the reason', async () => {
    const q =
      `query($p: [Package!]!, $on: String!) { partnerAssignment(countryOfOrigin: "SO", packages: $p, ` +
      `on: $on) { partner { id name } validFrom } }`;
    const ok = await system.graphql<{ partnerAssignment: { partner: { name: string } } }>(q, {
      p: ['POST_RETURN'],
      on: '2023-05-05',
    });
    expect(ok.body.data!.partnerAssignment.partner.name).toBe('IRARA');
    const none = await system.graphql(q, { p: ['POST_RETURN'], on: '2024-08-01' });
    expect(none.body.errors![0]!.extensions!.code).toBe('NO_COVERAGE');
    const badDate = await system.graphql(q, { p: ['POST_RETURN'], on: 'yesterday' });
    expect(badDate.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });
});
