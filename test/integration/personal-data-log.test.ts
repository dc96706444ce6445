import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { personalDataReadModel } from '../../subgraphs/cases/data-protection/audit.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

/** Every read of personal data is recorded: who, which case, which fields, when, request id. */
describe('personal data access log', () => {
  let system: TestSystem;
  let target: CaseDoc;
  const tokens: Record<string, string> = {};
  const read = (token: string, fields: string, requestId?: string) =>
    fetch(system.gatewayUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        ...(requestId ? { 'x-request-id': requestId } : {}),
      },
      body: JSON.stringify({
        query: `query($id: ID!) { case(id: $id) { caseReference ${fields} } }`,
        variables: { id: target._id.toHexString() },
      }),
    }).then(
      (r) =>
        r.json() as Promise<{
          data?: { case: Record<string, unknown> | null };
          errors?: Array<{ extensions: { code: string } }>;
        }>,
    );
  const log = () =>
    personalDataReadModel(system.connections.cases)
      .find({ caseId: target._id.toHexString() })
      .sort({ _id: 1 })
      .lean()
      .exec();

  beforeAll(async () => {
    system = await startTestSystem({ cases: 40, seed: 3 });
    target = (await casesModels(system.connections.cases)
      .Case.findOne({ partnerId: { $ne: null } })
      .lean<CaseDoc>()
      .exec())!;
    tokens.owner = await mintToken(
      { subject: 'officer-1', role: 'MEMBER_STATE', memberState: target.memberState },
      system.config,
    );
    tokens.partner = await mintToken(
      { subject: 'case-worker-7', role: 'PARTNER', partnerId: target.partnerId! },
      system.config,
    );
    tokens.analyst = await mintToken({ subject: 'analyst', role: 'EU_ANALYST' }, system.config);
    tokens.admin = await mintToken({ subject: 'admin', role: 'ADMIN' }, system.config);
    tokens.dpo = await mintToken({ subject: 'dpo', role: 'DATA_PROTECTION_OFFICER' }, system.config);
    tokens.desk = await mintToken({ subject: 'desk', role: 'SUPPORT_DESK' }, system.config);
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('logs each personal-data read once per request, with the request id; metadata-only reads log none', async () => {
    await read(tokens.owner!, 'status');
    expect(await log()).toHaveLength(0);
    const owner = await read(tokens.owner!, 'mainApplicant { name } familyMembers { name }', 'req-owner-0001');
    expect(owner.data!.case!.mainApplicant).not.toBeNull();
    const partner = await read(tokens.partner!, 'mainApplicant { dateOfBirth }');
    expect(partner.data!.case!.mainApplicant).not.toBeNull();
    // The analyst asks for the name and gets none; the pseudonym it gets is recorded.
    const analyst = await read(tokens.analyst!, 'mainApplicant { name pseudonym }');
    expect(analyst.data!.case!.mainApplicant).toMatchObject({ name: null, pseudonym: expect.stringMatching(/^PS-/) });
    // The support desk without a justified access gets nothing personal: nothing to record.
    expect((await read(tokens.desk!, 'mainApplicant { name }')).data!.case!.mainApplicant).toBeNull();
    const entries = await log();
    expect(entries.map((e) => [e.actor.role, e.actor.subject, e.fields])).toEqual([
      // An empty family list is recorded too: it tells something about the person's family.
      [
        'MEMBER_STATE',
        'officer-1',
        [target.familyMembers.length > 0 ? 'familyMembers.name' : 'familyMembers', 'mainApplicant.name'],
      ],
      ['PARTNER', 'case-worker-7', ['mainApplicant.dateOfBirth']],
      ['EU_ANALYST', 'analyst', ['mainApplicant.pseudonym']],
    ]);
    expect(entries[0]).toMatchObject({
      requestId: 'req-owner-0001',
      caseMemberState: target.memberState,
      actor: { memberState: target.memberState },
    });
    expect(entries[1]!.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the log is for administrators (and the data protection officer) only', async () => {
    const query =
      'query($c: ID) { personalDataReads(caseId: $c) { actorRole actorSubject fields requestId caseMemberState } }';
    const asAdmin = await system.graphql<{ personalDataReads: Array<{ actorSubject: string }> }>(
      query,
      { c: target._id.toHexString() },
      { authorization: `Bearer ${tokens.admin}` },
    );
    expect(asAdmin.body.data!.personalDataReads.map((e) => e.actorSubject)).toEqual([
      'analyst',
      'case-worker-7',
      'officer-1',
    ]);
    const asDpo = await system.graphql<{ personalDataReads: Array<{ actorSubject: string }> }>(
      query,
      { c: target._id.toHexString() },
      { authorization: `Bearer ${tokens.dpo}` },
    );
    expect(asDpo.body.data).toEqual(asAdmin.body.data);
    for (const who of ['owner', 'partner', 'analyst', 'desk']) {
      const refused = await system.graphql(
        query,
        { c: target._id.toHexString() },
        { authorization: `Bearer ${tokens[who]}` },
      );
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect(
      (await system.graphql(query, { c: target._id.toHexString() }, { authorization: '' })).body.errors?.[0]?.extensions
        ?.code,
    ).toBe('UNAUTHENTICATED');
  });
});
