import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, type Principal } from '../../shared/auth.js';
import type { Package } from '../../shared/domain.js';
import { Types } from 'mongoose';
import { casesModels } from '../../subgraphs/cases/case/models.js';
import { applyTransition } from '../../subgraphs/cases/case/transitions.js';
import { startTestSystem, type GraphQLBody, type TestSystem } from '../helpers/system.js';

const CASE_FIELDS =
  `id status version milestones { km1At km2At km3At } history { version transition from to ` +
  `actorRole actorSubject reason }
  allowedTransitions { transition actors } reintegrationPlan { totalCents rejectionReason services { category ` +
  `amountCents } } closingReason arrivalDate`;

interface CaseView {
  id: string;
  status: string;
  version: number;
  milestones: { km1At: string | null; km2At: string | null; km3At: string | null };
  history: Array<{
    version: number;
    transition: string;
    from: string | null;
    to: string;
    actorRole: string;
    actorSubject: string;
    reason: string | null;
  }>;
  allowedTransitions: Array<{ transition: string; actors: string[] }>;
  reintegrationPlan: { totalCents: number; rejectionReason: string | null; services: unknown[] } | null;
  closingReason: string | null;
  arrivalDate: string | null;
}

describe('case lifecycle through the gateway', () => {
  let system: TestSystem;
  const tokens: Record<string, string> = {};
  const principals: Record<string, Principal> = {
    belgium: { subject: 'be-officer', role: 'MEMBER_STATE', memberState: 'BE' },
    germany: { subject: 'de-officer', role: 'MEMBER_STATE', memberState: 'DE' },
    weldo: { subject: 'weldo-case-worker', role: 'PARTNER', partnerId: 'weldo' },
    irara: { subject: 'irara-case-worker', role: 'PARTNER', partnerId: 'irara' },
    desk: { subject: 'desk', role: 'SUPPORT_DESK' },
    analyst: { subject: 'analyst', role: 'EU_ANALYST' },
  };

  async function newCase(packages: Package[] = ['POST_ARRIVAL', 'POST_RETURN']): Promise<string> {
    const { Case } = casesModels(system.connections.cases);
    const doc = await Case.create({
      memberState: 'BE',
      caseReference: `BE-T-${Math.random().toString(36).slice(2, 10)}`,
      returnType: 'VOLUNTARY',
      packages,
      countryOfOrigin: 'AF',
      partnerId: 'weldo',
      status: 'SUBMITTED',
      mainApplicant: { name: 'Ahmad Rahimi احمد', dateOfBirth: '1990-01-01', sex: 'MALE' },
      familySize: 1,
      departureDate: '2024-03-01',
    });
    return doc._id.toHexString();
  }

  async function act(
    who: string | null,
    mutation: string,
    variables: Record<string, unknown>,
  ): Promise<GraphQLBody<Record<string, CaseView>>> {
    const headers: Record<string, string> = { authorization: who ? `Bearer ${tokens[who]}` : '' };
    const { body } = await system.graphql<Record<string, CaseView>>(mutation, variables, headers);
    return body;
  }

  const m = (name: string, args = '', vars = '') =>
    `mutation($id: ID!, $v: Int${vars}) { ${name}(caseId: $id, expectedVersion: $v${args}) { ${CASE_FIELDS} } }`;
  const accept = m('acceptCase');
  const arrive = m('reportArrival', ', report: $r', ', $r: ArrivalReportInput!');
  const submitPlan = m('submitReintegrationPlan', ', plan: $p', ', $p: ReintegrationPlanInput!');
  const approvePlan = m('approveReintegrationPlan');
  const rejectPlan = m('rejectReintegrationPlan', ', reason: $reason', ', $reason: String!');
  const complete = m('reportCompletion', ', summary: $s', ', $s: String');
  const approveCompletion = m('approveCompletion');
  const withdraw = m('withdrawCase', ', reason: $reason', ', $reason: String!');
  const close = m('closeCase', ', reason: $reason', ', $reason: String!');
  const plan = {
    services: [
      { category: 'BUSINESS_START_UP', description: 'Grocery shop equipment', amountCents: 150_000 },
      { category: 'JOB_PLACEMENT', description: 'Job coaching', amountCents: 50_000 },
    ],
  };

  beforeAll(async () => {
    system = await startTestSystem();
    for (const [key, principal] of Object.entries(principals)) tokens[key] = await mintToken(principal, system.config);
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('walks a case from submission to KM3, each step by its actor, timestamped and attributed', async () => {
    const id = await newCase();
    const steps: Array<[string, string, Record<string, unknown>, string]> = [
      ['weldo', accept, { v: 0 }, 'ACCEPTED'],
      [
        'weldo',
        arrive,
        { v: 1, r: { arrivalDate: '2024-03-02', postArrivalServices: ['AIRPORT_RECEPTION', 'CASH'] } },
        'ARRIVED',
      ],
      ['weldo', submitPlan, { v: 2, p: plan }, 'PLAN_SUBMITTED'],
      ['belgium', rejectPlan, { v: 3, reason: 'Budget for equipment not itemised' }, 'PLAN_REJECTED'],
      ['weldo', submitPlan, { v: 4, p: plan }, 'PLAN_SUBMITTED'],
      ['belgium', approvePlan, { v: 5 }, 'PLAN_APPROVED'],
      ['weldo', complete, { v: 6, s: 'Shop opened' }, 'COMPLETION_REPORTED'],
      ['belgium', approveCompletion, { v: 7 }, 'COMPLETED'],
    ];
    let last: CaseView | undefined;
    for (const [who, mutation, variables, status] of steps) {
      const body = await act(who, mutation, { id, ...variables });
      expect(body.errors, `${mutation.slice(0, 60)}`).toBeUndefined();
      last = Object.values(body.data!)[0]!;
      expect(last.status).toBe(status);
    }
    expect(last!.version).toBe(8);
    expect(last!.history.map((h) => [h.transition, h.to, h.actorRole, h.actorSubject])).toEqual([
      ['acceptCase', 'ACCEPTED', 'PARTNER', 'weldo-case-worker'],
      ['reportArrival', 'ARRIVED', 'PARTNER', 'weldo-case-worker'],
      ['submitReintegrationPlan', 'PLAN_SUBMITTED', 'PARTNER', 'weldo-case-worker'],
      ['rejectReintegrationPlan', 'PLAN_REJECTED', 'MEMBER_STATE', 'be-officer'],
      ['submitReintegrationPlan', 'PLAN_SUBMITTED', 'PARTNER', 'weldo-case-worker'],
      ['approveReintegrationPlan', 'PLAN_APPROVED', 'MEMBER_STATE', 'be-officer'],
      ['reportCompletion', 'COMPLETION_REPORTED', 'PARTNER', 'weldo-case-worker'],
      ['approveCompletion', 'COMPLETED', 'MEMBER_STATE', 'be-officer'],
    ]);
    expect(last!.history[3]!.reason).toBe('Budget for equipment not itemised');
    expect(last!.milestones.km1At && last!.milestones.km2At && last!.milestones.km3At).toBeTruthy();
    expect(last!.reintegrationPlan).toMatchObject({ totalCents: 200_000, rejectionReason: null });
    expect(last!.arrivalDate).toBe('2024-03-02');
    expect(last!.allowedTransitions).toEqual([]);
  });

  it('a case with post-arrival support only goes from KM1 to completion without a plan', async () => {
    const id = await newCase(['POST_ARRIVAL']);
    await act('weldo', accept, { id });
    const arrived = await act('weldo', arrive, { id, r: { arrivalDate: '2024-03-01', postArrivalServices: [] } });
    expect(arrived.data!.reportArrival!.allowedTransitions.map((t) => t.transition)).toEqual([
      'reportCompletion',
      'withdrawCase',
      'closeCase',
    ]);
    const planAttempt = await act('weldo', submitPlan, { id, p: plan });
    expect(planAttempt.errors![0]!.extensions!.code).toBe('ILLEGAL_TRANSITION');
    expect((await act('weldo', complete, { id })).data!.reportCompletion!.status).toBe('COMPLETION_REPORTED');
  });

  it('refuses the wrong actor, other Member States and partners, analysts and anonymous callers', async () => {
    const id = await newCase();
    const cases: Array<[string | null, string, string]> = [
      [null, accept, 'UNAUTHENTICATED'],
      ['belgium', accept, 'FORBIDDEN_ACTOR'],
      ['germany', accept, 'NOT_FOUND'],
      ['irara', accept, 'NOT_FOUND'],
      ['analyst', accept, 'FORBIDDEN'],
      ['desk', accept, 'FORBIDDEN_ACTOR'],
    ];
    for (const [who, mutation, code] of cases) {
      const body = await act(who, mutation, { id });
      expect(body.errors?.[0]?.extensions?.code, `${who}`).toBe(code);
      expect(body.data).toBeNull();
    }
    // Nothing moved.
    const stored = await casesModels(system.connections.cases).Case.findById(id).lean();
    expect(stored).toMatchObject({ status: 'SUBMITTED', version: 0 });
    // The refusal for another Member State does not reveal that the case exists.
    const ghost = await act('germany', accept, { id: '0123456789abcdef01234567' });
    expect(ghost.errors![0]!.message.replace('0123456789abcdef01234567', id)).toBe(
      (await act('germany', accept, { id })).errors![0]!.message,
    );
  });

  it('an illegal transition names the current status and the allowed next steps', async () => {
    const id = await newCase();
    const body = await act('belgium', approveCompletion, { id });
    expect(body.errors![0]!.extensions).toMatchObject({
      code: 'ILLEGAL_TRANSITION',
      currentStatus: 'SUBMITTED',
      allowed: ['acceptCase', 'withdrawCase', 'closeCase'],
    });
    expect(body.errors![0]!.message).toBe(
      'approveCompletion is not allowed while the case is SUBMITTED; allowed next: acceptCase, withdrawCase, closeCase',
    );
  });

  it('refuses bad input with the field named', async () => {
    const id = await newCase();
    await act('weldo', accept, { id });
    const future = await act('weldo', arrive, { id, r: { arrivalDate: '2999-01-01', postArrivalServices: [] } });
    expect(future.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'arrivalDate' });
    const early = await act('weldo', arrive, { id, r: { arrivalDate: '2024-02-01', postArrivalServices: [] } });
    expect(early.errors![0]!.message).toMatch(/before the departure on 2024-03-01/);
    await act('weldo', arrive, { id, r: { arrivalDate: '2024-03-01', postArrivalServices: [] } });
    const negative = await act('weldo', submitPlan, {
      id,
      p: { services: [{ category: 'CASH', description: 'x', amountCents: -5 }] },
    });
    expect(negative.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'plan.services.0.amountCents',
    });
    const empty = await act('weldo', submitPlan, { id, p: { services: [] } });
    expect(empty.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'plan.services' });
    const blankReason = await act('belgium', withdraw, { id, reason: '   ' });
    expect(blankReason.errors![0]!.extensions!.code).toBe('REASON_REQUIRED');
    const injected = await act('weldo', accept, { id: { $gt: '' } });
    expect(injected.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('a stale expectedVersion gets CONFLICT with the current version', async () => {
    const id = await newCase();
    await act('weldo', accept, { id, v: 0 });
    const stale = await act('belgium', withdraw, { id, v: 0, reason: 'Returnee changed their mind' });
    expect(stale.errors![0]!.extensions).toMatchObject({ code: 'CONFLICT', currentVersion: 1, yourVersion: 0 });
  });

  it('of concurrent transitions on one case exactly one wins', async () => {
    const id = await newCase();
    // All act on the version they read (0); without expectedVersion the same transition
    // racing itself must also produce one winner.
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => act('weldo', accept, { id })),
      act('weldo', accept, { id, v: 0 }),
      act('belgium', withdraw, { id, v: 0, reason: 'Duplicate case' }),
      act('desk', close, { id, v: 0, reason: 'Entered twice' }),
    ]);
    const winners = results.filter((r) => !r.errors);
    expect(winners).toHaveLength(1);
    for (const loser of results.filter((r) => r.errors))
      expect(['CONFLICT', 'ILLEGAL_TRANSITION']).toContain(loser.errors![0]!.extensions!.code);
    const stored = await casesModels(system.connections.cases).Case.findById(id).lean();
    expect(stored!.version).toBe(1);
    expect(stored!.history).toHaveLength(1);
    expect(await casesModels(system.connections.cases).CaseEvent.countDocuments({ caseId: id })).toBe(1);
  });

  it('a transition whose writer died after logging its event is rolled forward, once', async () => {
    const id = await newCase();
    const { CaseEvent, Case } = casesModels(system.connections.cases);
    // The event of acceptCase was stored a minute ago, but the case was never updated (crash).
    const at = new Date(Date.now() - 60_000);
    await CaseEvent.insertMany([
      {
        _id: `${id}:1`,
        caseId: id,
        version: 1,
        transition: 'acceptCase',
        from: 'SUBMITTED',
        to: 'ACCEPTED',
        at,
        actor: { role: 'PARTNER', subject: 'gone' },
        changes: [],
      },
    ]);
    const attempts = await Promise.all([act('weldo', accept, { id }), act('weldo', accept, { id })]);
    for (const attempt of attempts) expect(attempt.errors![0]!.extensions!.code).toBe('CONFLICT');
    const stored = await Case.findById(id).lean();
    expect(stored).toMatchObject({ status: 'ACCEPTED', version: 1 });
    expect(stored!.history.map((h) => h.actor.subject)).toEqual(['gone']);
  });

  it("a case changed by its Member State's feed: one history entry per version; its lifecycle goes on", async () => {
    const record = (v: number, departureDate: string) => ({
      memberState: 'BE',
      caseReference: 'BE-FEED-HIST-1',
      recordVersion: v,
      returnType: 'VOLUNTARY',
      packages: ['POST_ARRIVAL'],
      countryOfOrigin: 'AF',
      departureDate,
      mainApplicant: { name: 'Omar Sadiq', dateOfBirth: '1991-01-01', sex: 'MALE' },
      eligibility: { requestDate: '2024-03-10', applicationSigned: true },
    });
    expect((await system.ingest('BE', [record(1, '2024-03-01')])).counts.created).toBe(1);
    expect((await system.ingest('BE', [record(2, '2024-03-02')])).counts.updated).toBe(1);
    const { Case } = casesModels(system.connections.cases);
    const id = (await Case.findOne({ caseReference: 'BE-FEED-HIST-1' }).lean().exec())!._id.toHexString();
    const closed = await act('belgium', close, { id, reason: 'Returnee unreachable' });
    expect(closed.errors).toBeUndefined();
    expect(closed.data!.closeCase!.history.map((h) => [h.version, h.transition, h.actorRole, h.actorSubject])).toEqual([
      [1, 'ingested', 'MEMBER_STATE', expect.stringMatching(/^feed:/)],
      [2, 'closeCase', 'MEMBER_STATE', 'be-officer'],
    ]);
  });

  it('a step whose case moves (a feed update) between its guard and write fails: CONFLICT, no log entry', async () => {
    const id = await newCase();
    const models = casesModels(system.connections.cases);
    const collection = models.Case.collection;
    let interfered = false;
    // Right before the step's write, another writer moves the case on by one version (as a feed update does).
    const racing = {
      ...models,
      Case: new Proxy(models.Case, {
        get(target, property, receiver) {
          if (property !== 'collection') return Reflect.get(target, property, receiver) as unknown;
          return new Proxy(collection, {
            get(c, p, r) {
              if (p !== 'updateOne') return Reflect.get(c, p, r) as unknown;
              return async (...args: Parameters<typeof c.updateOne>) => {
                if (!interfered) {
                  interfered = true;
                  await c.updateOne({ _id: new Types.ObjectId(id) }, { $inc: { version: 1 } });
                }
                return c.updateOne(...args);
              };
            },
          });
        },
      }),
    };
    const published: unknown[] = [];
    const attempt = applyTransition(
      racing,
      async (events) => published.push(...events),
      principals.weldo!,
      id,
      'acceptCase',
      {},
    );
    await expect(attempt).rejects.toMatchObject({ extensions: { code: 'CONFLICT' } });
    expect(interfered).toBe(true);
    expect(published).toEqual([]);
    expect(
      await models.CaseEvent.findOne({ _id: `${id}:1` })
        .lean()
        .exec(),
    ).toBeNull();
    const stored = (await models.Case.findOne({ _id: new Types.ObjectId(id) })
      .lean()
      .exec())!;
    expect(stored).toMatchObject({ status: 'SUBMITTED', version: 1 });
    // Read again and retried, the step goes through from the new version.
    expect((await act('weldo', accept, { id, v: 1 })).data!.acceptCase!).toMatchObject({
      status: 'ACCEPTED',
      version: 2,
    });
  });

  it('serves personal data to the owning Member State and the assigned partner only', async () => {
    const id = await newCase();
    const query =
      `query($id: ID!) { case(id: $id) { caseReference mainApplicant { name dateOfBirth pseudonym ` +
      `ageBand } familyMembers { name } } }`;
    type View = {
      caseReference: string;
      mainApplicant: { name: string | null; dateOfBirth: string | null; pseudonym: string; ageBand: string } | null;
    } | null;
    const read = async (who: string) =>
      (await system.graphql<{ case: View }>(query, { id }, { authorization: `Bearer ${tokens[who]}` })).body.data!.case;
    const owner = (await read('belgium'))!;
    expect(owner.mainApplicant?.name).toBe('Ahmad Rahimi احمد');
    expect((await read('weldo'))!.mainApplicant).toEqual(owner.mainApplicant);
    // Analysts: the same stable pseudonym and an age band, no name, no birth date, no real reference.
    const analyst = (await read('analyst'))!;
    expect(analyst.mainApplicant).toEqual({
      name: null,
      dateOfBirth: null,
      pseudonym: owner.mainApplicant!.pseudonym,
      ageBand: owner.mainApplicant!.ageBand,
    });
    expect(analyst.caseReference).toMatch(/^CR-[A-Z2-9]{16}$/);
    expect(analyst.caseReference).not.toBe(owner.caseReference);
    expect((await read('desk'))!.mainApplicant).toBeNull();
    // Another Member State or partner does not see the case at all.
    for (const who of ['germany', 'irara']) expect(await read(who), who).toBeNull();
  });
});
