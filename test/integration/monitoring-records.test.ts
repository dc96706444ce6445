import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import { caseEventStream, type CaseEvent } from '../../shared/case-events/index.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { loadInstrument } from '../../subgraphs/cases/monitoring/instrument.js';
import { monitoringModels } from '../../subgraphs/cases/monitoring/models.js';
import { collectSubscription } from '../helpers/subscriptions.js';
import { startTestSystem, type GraphQLBody, type TestSystem } from '../helpers/system.js';

/**
 * Monitoring records end to end through the gateway (the test system's today is 2024-06-01;
 * the cases departed 2024-03-01, so the 3-month follow-up is due, the 6-month one is not):
 * the assigned partner records an assessment, feedback and a complaint; the owning Member
 * State reads them; the analyst gets no answers, scores or text; another Member State and
 * another partner get NOT_FOUND; the events reach a subscription without free text; the
 * support desk records a visit that only it and the partner visited read; erasure clears text.
 */
const COMMENT = 'Karim Nouri says the tools for his workshop arrived late but work well.';
const DESCRIPTION = 'Karim Nouri waited six weeks for the start-up cash.';
const FINDINGS = 'Staff member Ahmadi keeps case files unlocked; receipts missing for two cases.';

interface EventSeen {
  id: string;
  type: string;
  caseId: string;
}

describe('monitoring records: assessments, feedback, complaints, visits', () => {
  let system: TestSystem;
  let target: CaseDoc;
  let other: CaseDoc;
  let partnerId: string;
  const h: Record<string, Record<string, string>> = {};
  const events: EventSeen[] = [];
  let ws: Client;
  const instrument = loadInstrument('config/instruments/rss-default.v1.json');
  const ids: { assessment?: string; complaint?: string; visit?: string; actions?: string[] } = {};
  const MISSING = '0123456789abcdef01234567';
  const until = async (check: () => boolean, ms = 15_000) => {
    const deadline = Date.now() + ms;
    while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  };
  const gql = <T = Record<string, unknown>>(who: string, query: string, variables: Record<string, unknown> = {}) =>
    system.graphql<T>(query, variables, h[who]);
  const codeOf = (body: GraphQLBody<unknown>) => body.errors?.[0]?.extensions?.code;
  /** A response with the id it was about replaced: out of scope must read exactly as missing. */
  const shape = (result: { status: number; body: GraphQLBody<unknown> }, id: string) =>
    JSON.parse(
      JSON.stringify({ status: result.status, data: result.body.data ?? null, errors: result.body.errors ?? [] })
        .split(id)
        .join('<id>'),
    ) as unknown;

  const record = (ref: string) => ({
    memberState: 'BE',
    caseReference: ref,
    recordVersion: 1,
    returnType: 'VOLUNTARY',
    packages: ['POST_ARRIVAL', 'POST_RETURN'],
    countryOfOrigin: 'AF',
    departureDate: '2024-03-01',
    mainApplicant: { name: 'Karim Nouri', dateOfBirth: '1990-01-01', sex: 'MALE' },
    eligibility: { requestDate: '2024-03-10', applicationSigned: true },
  });
  const allAnswers = () =>
    instrument.items.map((item, i) => ({ itemId: item.id, value: item.scale[i % item.scale.length]!.value }));

  const ASSESS = `mutation($id: ID!, $input: SustainabilityAssessmentInput!) {
    recordSustainabilityAssessment(caseId: $id, input: $input) {
      id followUpMonths assessedOn instrumentVersion answeredItems
      answers { itemId value } scores { economic social psychosocial overall }
    } }`;
  const assess = (who: string, input: Record<string, unknown>, id = target._id.toHexString()) =>
    gql<{ recordSustainabilityAssessment: Record<string, unknown> }>(who, ASSESS, {
      id,
      input: { followUpMonths: 3, assessedOn: '2024-06-01', instrumentVersion: '1', answers: allAnswers(), ...input },
    });
  const VIEW = `query($id: ID!) { case(id: $id) {
    sustainabilityAssessments {
      id followUpMonths answeredItems answers { itemId value } scores { economic social psychosocial overall }
    }
    returneeFeedback { id recordedByRole satisfaction { service score } comment }
    complaints { id category status description resolution }
  } }`;
  interface View {
    case: {
      sustainabilityAssessments: Array<{
        id: string;
        followUpMonths: number;
        answeredItems: number;
        answers: Array<{ itemId: string; value: number | null }> | null;
        scores: Record<string, number | null> | null;
      }>;
      returneeFeedback: Array<{
        recordedByRole: string;
        satisfaction: Array<{ service: string; score: number | null }> | null;
        comment: string | null;
      }>;
      complaints: Array<{ id: string; status: string; description: string | null; resolution: string | null }>;
    } | null;
  }
  const view = (who: string) => gql<View>(who, VIEW, { id: target._id.toHexString() });

  beforeAll(async () => {
    system = await startTestSystem();
    const report = await system.ingest('BE', [record('BE-MON-1'), record('BE-MON-2')]);
    expect(report.counts.created, JSON.stringify(report.rejected)).toBe(2);
    const models = casesModels(system.connections.cases);
    target = (await models.Case.findOne({ caseReference: 'BE-MON-1' }).lean<CaseDoc>().exec())!;
    other = (await models.Case.findOne({ caseReference: 'BE-MON-2' }).lean<CaseDoc>().exec())!;
    partnerId = target.partnerId!;
    expect(partnerId).toBeTruthy();
    const otherPartner = partnerId === 'weldo' ? 'irara' : 'weldo';
    const principals: Record<string, Principal> = {
      officer: { subject: 'be-officer', role: 'MEMBER_STATE', memberState: 'BE' },
      partner: { subject: 'partner-worker', role: 'PARTNER', partnerId },
      otherState: { subject: 'nl-officer', role: 'MEMBER_STATE', memberState: 'NL' },
      otherPartner: { subject: 'other-partner', role: 'PARTNER', partnerId: otherPartner },
      analyst: { subject: 'eu-analyst', role: 'EU_ANALYST' },
      desk: { subject: 'desk-user', role: 'SUPPORT_DESK' },
      admin: { subject: 'admin-user', role: 'ADMIN' },
    };
    for (const [name, principal] of Object.entries(principals)) h[name] = await system.as(principal);
    h.anonymous = { authorization: '' };
    ws = await collectSubscription<EventSeen>(
      system,
      h.partner!.authorization!,
      `subscription { caseEvents(filter: {
          types: [ASSESSMENT_RECORDED, FEEDBACK_RECORDED, COMPLAINT_RECORDED, COMPLAINT_UPDATED] }) {
          id type caseId } }`,
      'caseEvents',
      events,
    );
  });
  afterAll(async () => {
    await ws?.dispose();
    await system?.stop();
  });

  it('the instrument in force is readable by any signed-in principal, not anonymously', async () => {
    const read = await gql<{ sustainabilityInstrument: { version: string; basis: string; items: unknown[] } }>(
      'analyst',
      '{ sustainabilityInstrument { id version basis items { id dimension weight scale { value } } ' +
        'dimensions { dimension weight } } }',
    );
    expect(read.body.errors).toBeUndefined();
    expect(read.body.data!.sustainabilityInstrument.version).toBe('1');
    expect(read.body.data!.sustainabilityInstrument.items).toHaveLength(instrument.items.length);
    expect(codeOf((await gql('anonymous', '{ sustainabilityInstrument { id } }')).body)).toBe('UNAUTHENTICATED');
  });

  it('the assigned partner records the 3-month assessment; the owner reads answers and scores', async () => {
    const recorded = await assess('partner', {});
    expect(recorded.body.errors).toBeUndefined();
    const a = recorded.body.data!.recordSustainabilityAssessment as {
      id: string;
      answeredItems: number;
      scores: Record<string, number>;
    };
    ids.assessment = a.id;
    expect(a.answeredItems).toBe(instrument.items.length);
    for (const d of ['economic', 'social', 'psychosocial', 'overall']) {
      expect(a.scores[d]).toBeGreaterThanOrEqual(0);
      expect(a.scores[d]).toBeLessThanOrEqual(1);
    }
    const owner = (await view('officer')).body.data!.case!;
    expect(owner.sustainabilityAssessments).toHaveLength(1);
    expect(owner.sustainabilityAssessments[0]!.answers).toEqual(allAnswers());
    expect(owner.sustainabilityAssessments[0]!.scores).toEqual(a.scores);
  });

  it('refuses what the rules refuse, with named codes', async () => {
    expect(codeOf((await assess('partner', {})).body)).toBe('ASSESSMENT_EXISTS');
    const early = await assess('partner', { followUpMonths: 6 });
    expect(codeOf(early.body)).toBe('FOLLOW_UP_NOT_DUE');
    expect(early.body.errors![0]!.extensions!.dueOn).toBe('2024-09-01');
    expect(codeOf((await assess('partner', { followUpMonths: 12, assessedOn: '2025-03-01' })).body)).toBe(
      'FOLLOW_UP_NOT_DUE',
    );
    const version = await assess('partner', { instrumentVersion: '0.9' }, other._id.toHexString());
    expect(codeOf(version.body)).toBe('INSTRUMENT_VERSION_MISMATCH');
    expect(version.body.errors![0]!.extensions!.current).toBe('1');
    for (const answers of [
      [],
      [{ itemId: 'NOPE', value: 1 }],
      [{ itemId: instrument.items[0]!.id, value: 99 }],
      Array.from({ length: instrument.items.length + 1 }, () => ({ itemId: instrument.items[0]!.id, value: 1 })),
      Array.from({ length: 5_000 }, (_, i) => ({ itemId: `X${i}`, value: 1 })),
    ]) {
      const refused = await assess('partner', { answers }, other._id.toHexString());
      expect(codeOf(refused.body), JSON.stringify(answers).slice(0, 80)).toMatch(
        /BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED|GRAPHQL_PARSE_FAILED|PAYLOAD_TOO_LARGE/,
      );
    }
    expect(codeOf((await assess('partner', { followUpMonths: 4 }, other._id.toHexString())).body)).toBe(
      'BAD_USER_INPUT',
    );
    // Only the assigned partner records; a Member State or the support desk is refused by role.
    expect(codeOf((await assess('officer', {}, other._id.toHexString())).body)).toBe('FORBIDDEN');
    expect(codeOf((await assess('desk', {}, other._id.toHexString())).body)).toBe('FORBIDDEN');
    // Another partner: exactly as a case that does not exist.
    expect(shape(await assess('otherPartner', {}, other._id.toHexString()), other._id.toHexString())).toEqual(
      shape(await assess('otherPartner', {}, MISSING), MISSING),
    );
    expect(await monitoringModels(system.connections.cases).Assessment.countDocuments({}).exec()).toBe(1);
  });

  it('feedback and a complaint by the partner and the support desk; the complaint moves by the rules', async () => {
    const FEEDBACK = `mutation($id: ID!, $input: ReturneeFeedbackInput!) {
      recordReturneeFeedback(caseId: $id, input: $input) { id comment } }`;
    const byPartner = await gql<{ recordReturneeFeedback: { comment: string } }>('partner', FEEDBACK, {
      id: target._id.toHexString(),
      input: {
        satisfaction: [
          { service: 'BUSINESS_START_UP', score: 4 },
          { service: 'OVERALL', score: 5 },
        ],
        comment: `  ${COMMENT} `,
      },
    });
    expect(byPartner.body.errors).toBeUndefined();
    expect(byPartner.body.data!.recordReturneeFeedback.comment).toBe(COMMENT);
    // The support desk records a call; it wrote the comment but does not read it back without an open access.
    const byDesk = await gql<{ recordReturneeFeedback: { comment: string | null } }>('desk', FEEDBACK, {
      id: target._id.toHexString(),
      input: { satisfaction: [{ service: 'CASH', score: 2 }], comment: 'Called the helpline about the cash.' },
    });
    expect(byDesk.body.errors).toBeUndefined();
    expect(byDesk.body.data!.recordReturneeFeedback.comment).toBeNull();
    for (const input of [
      { satisfaction: [{ service: 'OVERALL', score: 6 }] },
      { satisfaction: [] },
      { satisfaction: [{ service: 'OVERALL', score: 3 }], comment: 'x'.repeat(2_001) },
      { satisfaction: [{ service: 'OVERALL', score: 3 }], comment: 'hidden\u202Etext' },
      { satisfaction: [{ service: 'OVERALL', score: 3 }], givenOn: '2030-01-01' },
    ]) {
      const refused = await gql('partner', FEEDBACK, { id: target._id.toHexString(), input });
      expect(codeOf(refused.body), JSON.stringify(input).slice(0, 60)).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(refused.body)).not.toContain('hidden');
    }
    expect(
      codeOf(
        (
          await gql('officer', FEEDBACK, {
            id: target._id.toHexString(),
            input: { satisfaction: [{ service: 'OVERALL', score: 3 }] },
          })
        ).body,
      ),
    ).toBe('FORBIDDEN');

    const FILE = `mutation($id: ID!, $d: String!) {
      fileComplaint(caseId: $id, input: { category: DELAY, description: $d }) { id status description } }`;
    const filed = await gql<{ fileComplaint: { id: string; status: string; description: string } }>('partner', FILE, {
      id: target._id.toHexString(),
      d: DESCRIPTION,
    });
    expect(filed.body.errors).toBeUndefined();
    expect(filed.body.data!.fileComplaint).toMatchObject({ status: 'OPEN', description: DESCRIPTION });
    ids.complaint = filed.body.data!.fileComplaint.id;
    expect(codeOf((await gql('partner', FILE, { id: target._id.toHexString(), d: 'y'.repeat(4_001) })).body)).toBe(
      'BAD_USER_INPUT',
    );

    const UPDATE = `mutation($id: ID!, $input: UpdateComplaintInput!) {
      updateComplaint(id: $id, input: $input) { id status resolution } }`;
    const move = (who: string, input: Record<string, unknown>, id = ids.complaint!) =>
      gql<{ updateComplaint: { status: string } }>(who, UPDATE, { id, input });
    expect((await move('partner', { status: 'IN_PROGRESS' })).body.data!.updateComplaint.status).toBe('IN_PROGRESS');
    expect(codeOf((await move('partner', { status: 'REJECTED', resolution: 'Not ours' })).body)).toBe('FORBIDDEN');
    expect(codeOf((await move('partner', { status: 'RESOLVED' })).body)).toBe('BAD_USER_INPUT');
    // Another partner and another Member State: exactly as a complaint that does not exist (or refused by role).
    expect(shape(await move('otherPartner', { status: 'RESOLVED', resolution: 'x' }), ids.complaint!)).toEqual(
      shape(await move('otherPartner', { status: 'RESOLVED', resolution: 'x' }, MISSING), MISSING),
    );
    expect(codeOf((await move('officer', { status: 'RESOLVED', resolution: 'x' })).body)).toBe('FORBIDDEN');
    const resolved = await move('partner', { status: 'RESOLVED', resolution: 'Cash paid on 2024-05-20.' });
    expect(resolved.body.data!.updateComplaint.status).toBe('RESOLVED');
    const again = await move('desk', { status: 'IN_PROGRESS' });
    expect(codeOf(again.body)).toBe('ILLEGAL_COMPLAINT_STATUS');
    expect(again.body.errors![0]!.extensions!.currentStatus).toBe('RESOLVED');
  });

  it('the owner reads all; the analyst sees the records without answers, scores or text; others nothing', async () => {
    const owner = (await view('officer')).body.data!.case!;
    expect(owner.returneeFeedback.map((f) => f.comment)).toEqual(['Called the helpline about the cash.', COMMENT]);
    expect(owner.returneeFeedback[1]!.satisfaction).toEqual([
      { service: 'BUSINESS_START_UP', score: 4 },
      { service: 'OVERALL', score: 5 },
    ]);
    expect(owner.complaints).toEqual([
      {
        id: ids.complaint,
        category: 'DELAY',
        status: 'RESOLVED',
        description: DESCRIPTION,
        resolution: 'Cash paid on 2024-05-20.',
      },
    ]);
    const analyst = await view('analyst');
    expect(analyst.body.errors).toBeUndefined();
    const seen = analyst.body.data!.case!;
    expect(seen.sustainabilityAssessments).toEqual([
      { id: ids.assessment, followUpMonths: 3, answeredItems: instrument.items.length, answers: null, scores: null },
    ]);
    expect(seen.returneeFeedback.map((f) => [f.satisfaction, f.comment])).toEqual([
      [null, null],
      [null, null],
    ]);
    expect(seen.complaints.map((c) => [c.status, c.description, c.resolution])).toEqual([['RESOLVED', null, null]]);
    expect(JSON.stringify(analyst.body)).not.toContain('Karim');
    const stranger = await view('otherState');
    // `case` answers null for a case out of scope, as for one that does not exist.
    expect(stranger.body.data?.case ?? null).toBeNull();
    expect(JSON.stringify(stranger.body)).not.toContain('Karim');
    expect((await view('otherPartner')).body.data?.case ?? null).toBeNull();
  });

  it("the events reach the partner's subscription; the stream carries scores and figures, never text", async () => {
    const caseId = target._id.toHexString();
    await until(() => events.filter((e) => e.caseId === caseId).length >= 6);
    expect(events.filter((e) => e.caseId === caseId).map((e) => e.type)).toEqual([
      'ASSESSMENT_RECORDED',
      'FEEDBACK_RECORDED',
      'FEEDBACK_RECORDED',
      'COMPLAINT_RECORDED',
      'COMPLAINT_UPDATED',
      'COMPLAINT_UPDATED',
    ]);
    const entries = await system.redis.xrange(caseEventStream(system.config.QUEUE_PREFIX), '-', '+');
    const mine = entries
      .map(([, fields]) => JSON.parse(fields[fields.indexOf('event') + 1]!) as CaseEvent)
      .filter((e) => e.caseId === caseId && ['case.assessed', 'case.feedback', 'case.complaint'].includes(e.type));
    const assessed = mine.find((e) => e.type === 'case.assessed')!;
    expect(assessed.assessment).toMatchObject({
      assessmentId: ids.assessment,
      followUpMonths: 3,
      instrumentVersion: '1',
    });
    expect(assessed.assessment!.scores.overall).toBeGreaterThanOrEqual(0);
    expect(mine.find((e) => e.type === 'case.feedback')!.feedback).toMatchObject({
      satisfaction: { BUSINESS_START_UP: 4, OVERALL: 5 },
      complaint: null,
    });
    expect(mine.filter((e) => e.type === 'case.complaint').map((e) => e.feedback!.complaint)).toEqual([
      { category: 'DELAY', status: 'OPEN' },
      { category: 'DELAY', status: 'IN_PROGRESS' },
      { category: 'DELAY', status: 'RESOLVED' },
    ]);
    const json = JSON.stringify(mine);
    for (const text of ['Karim', 'helpline', 'Cash paid', instrument.items[0]!.id]) expect(json).not.toContain(text);
  });

  it('the personal data access log records the answers and scores served, to whom', async () => {
    const log = await system.graphql<{ personalDataReads: Array<{ actorSubject: string; fields: string[] }> }>(
      'query($id: ID!) { personalDataReads(caseId: $id, first: 200) { actorSubject fields } }',
      { id: target._id.toHexString() },
    );
    expect(log.body.errors).toBeUndefined();
    const fieldsOf = (subject: string) =>
      new Set(log.body.data!.personalDataReads.filter((r) => r.actorSubject === subject).flatMap((r) => r.fields));
    const officer = fieldsOf('be-officer');
    for (const field of [
      'sustainabilityAssessments.answers.value',
      'sustainabilityAssessments.scores.overall',
      'returneeFeedback.comment',
      'complaints.description',
    ])
      expect(officer.has(field), field).toBe(true);
    expect(fieldsOf('eu-analyst').size).toBe(0);
  });

  it('monitoring visits: the support desk records, the visited partner reads its own, nobody else', async () => {
    const RECORD = `mutation($input: MonitoringVisitInput!) { recordMonitoringVisit(input: $input) {
      id partnerId findings overdueActions followUpActions { id owner dueOn overdue completedOn } } }`;
    const input = {
      partnerId,
      countryOfOrigin: 'AF',
      kind: 'FIELD_VISIT',
      visitedOn: '2024-05-01',
      scope: 'Kabul office: case files and receipts of Q1',
      findings: FINDINGS,
      followUpActions: [
        { description: 'Lock the case file cabinet', dueOn: '2024-05-15', owner: 'PARTNER' },
        { description: 'Check receipts again', dueOn: '2024-07-01', owner: 'SUPPORT_DESK' },
      ],
    };
    const recorded = await gql<{
      recordMonitoringVisit: {
        id: string;
        overdueActions: number;
        followUpActions: Array<{ id: string; overdue: boolean }>;
      };
    }>('desk', RECORD, { input });
    expect(recorded.body.errors).toBeUndefined();
    const visit = recorded.body.data!.recordMonitoringVisit;
    expect(visit.overdueActions).toBe(1);
    expect(visit.followUpActions.map((a) => a.overdue)).toEqual([true, false]);
    ids.visit = visit.id;
    ids.actions = visit.followUpActions.map((a) => a.id);

    for (const [what, bad] of [
      ['an unknown partner', { ...input, partnerId: 'acme' }],
      ['a visit in the future', { ...input, visitedOn: '2024-07-01' }],
      ['findings over 8,000 characters', { ...input, findings: 'f'.repeat(8_001) }],
      ['an empty scope', { ...input, scope: '   ' }],
      ['21 actions', { ...input, followUpActions: Array.from({ length: 21 }, () => input.followUpActions[0]) }],
      [
        'an action due before the visit',
        { ...input, followUpActions: [{ ...input.followUpActions[0], dueOn: '2024-04-01' }] },
      ],
      ['a control character', { ...input, findings: 'a\u0007b' }],
    ] as const) {
      expect(codeOf((await gql('desk', RECORD, { input: bad })).body), what).toBe('BAD_USER_INPUT');
    }
    for (const who of ['partner', 'officer', 'analyst'])
      expect(codeOf((await gql(who, RECORD, { input })).body), who).toBe('FORBIDDEN');

    const LIST = `query($p: ID, $o: Boolean) {
      monitoringVisits(partnerId: $p, overdueOnly: $o) { totalCount edges { node { id findings overdueActions } } } }`;
    type List = { monitoringVisits: { totalCount: number; edges: Array<{ node: { id: string; findings: string } }> } };
    const own = await gql<List>('partner', LIST);
    expect(own.body.data!.monitoringVisits.edges.map((e) => e.node.findings)).toEqual([FINDINGS]);
    const overdue = await gql<List>('desk', LIST, { o: true });
    expect(overdue.body.errors, JSON.stringify(overdue.body)).toBeUndefined();
    expect(overdue.body.data!.monitoringVisits.totalCount).toBe(1);
    const others = await gql<List>('otherPartner', LIST, { p: partnerId });
    expect(others.body.errors, JSON.stringify(others.body)).toBeUndefined();
    expect(others.body.data!.monitoringVisits.totalCount).toBe(0);
    for (const who of ['officer', 'analyst']) expect(codeOf((await gql(who, LIST)).body), who).toBe('FORBIDDEN');
    expect(codeOf((await gql('desk', '{ monitoringVisits(first: 101) { totalCount } }')).body)).toBe('BAD_USER_INPUT');
    expect(codeOf((await gql('desk', '{ monitoringVisits(after: "bm9wZQ") { totalCount } }')).body)).toBe(
      'BAD_USER_INPUT',
    );

    const COMPLETE = `mutation($v: ID!, $a: ID!) {
      completeFollowUpAction(visitId: $v, actionId: $a) { overdueActions followUpActions { completedOn } } }`;
    // Another partner: the visit answers exactly as a missing one.
    expect(shape(await gql('otherPartner', COMPLETE, { v: ids.visit, a: ids.actions[0] }), ids.visit)).toEqual(
      shape(await gql('otherPartner', COMPLETE, { v: MISSING, a: ids.actions[0] }), MISSING),
    );
    expect(codeOf((await gql('partner', COMPLETE, { v: ids.visit, a: ids.actions[1] })).body)).toBe('FORBIDDEN');
    const done = await gql<{
      completeFollowUpAction: { overdueActions: number; followUpActions: Array<{ completedOn: string | null }> };
    }>('partner', COMPLETE, { v: ids.visit, a: ids.actions[0] });
    expect(done.body.errors).toBeUndefined();
    expect(done.body.data!.completeFollowUpAction).toEqual({
      overdueActions: 0,
      followUpActions: [{ completedOn: '2024-06-01' }, { completedOn: null }],
    });
    expect((await gql<List>('desk', LIST, { o: true })).body.data!.monitoringVisits.totalCount).toBe(0);
  });

  it('erasure clears answers, comments and complaint texts; scores and figures stay; no record after', async () => {
    const erased = await gql(
      'officer',
      'mutation($id: ID!) { erasePersonalData(caseId: $id, requestReference: "APD-16") { monitoringRecords } }',
      {
        id: target._id.toHexString(),
      },
    );
    expect(erased.body.errors).toBeUndefined();
    // One assessment's answers, two feedback comments, one complaint's texts.
    expect((erased.body.data as { erasePersonalData: { monitoringRecords: number } }).erasePersonalData).toEqual({
      monitoringRecords: 4,
    });
    const models = monitoringModels(system.connections.cases);
    const caseId = target._id.toHexString();
    const [assessments, feedback, complaints] = await Promise.all([
      models.Assessment.find({ caseId }).lean().exec(),
      models.Feedback.find({ caseId }).lean().exec(),
      models.Complaint.find({ caseId }).lean().exec(),
    ]);
    expect(assessments.map((a) => a.answers)).toEqual([null]);
    expect(assessments[0]!.scores.overall).toBeGreaterThanOrEqual(0);
    expect(feedback.map((f) => f.comment)).toEqual([null, null]);
    expect(feedback.map((f) => Object.keys(f.satisfaction).length).sort()).toEqual([1, 2]);
    expect(complaints.map((c) => [c.description, c.resolution, c.status])).toEqual([[null, null, 'RESOLVED']]);
    expect(JSON.stringify([assessments, feedback, complaints])).not.toMatch(/Karim|helpline|Cash paid/);
    const owner = (await view('officer')).body.data!.case!;
    expect(owner.sustainabilityAssessments[0]!.answers).toBeNull();
    const refused = await gql(
      'partner',
      `mutation($id: ID!) { fileComplaint(caseId: $id, input: { category: OTHER, description: "More" }) { id } }`,
      { id: caseId },
    );
    expect(codeOf(refused.body)).toBe('FORBIDDEN');
  });
});
