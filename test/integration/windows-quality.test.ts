import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, addMonths } from '../../subgraphs/cases/case/windows.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';
import { canonicalRecord } from '../helpers/records.js';

/**
 * Part A of #15 end to end through the gateway, as the actors who meet it: a Member State pushes
 * records with facts missing and a retroactive one, reads its cases' windows, missing facts and
 * ineligibility, and its data quality; a partner reports late; another Member State is refused.
 */
describe('windows enforced, missing facts kept missing, data quality per Member State', () => {
  let system: TestSystem;
  const today = new Date().toISOString().slice(0, 10);
  const recent = addDays(today, -30);
  const be = { subject: 'be-officer', role: 'MEMBER_STATE', memberState: 'BE' } as const;
  /** A record with neither request date nor signature (the feed left them out), departed a month ago. */
  const bare = (reference: string, extra: Record<string, unknown> = {}) => ({
    ...canonicalRecord('BE', reference, { departureDate: recent }),
    eligibility: undefined,
    ...extra,
  });
  const caseQuery =
    `query($r: String!) { caseByReference(memberState: "BE", caseReference: $r) { id status version ` +
    `departureDate arrivalDate postArrivalEndsOn postReturnEndsOn requestWindowEndsOn partner { id } ` +
    `windowFlags { code boundary date at } eligibility { outcome reasons requestDate requestCheckedOn ` +
    `applicationSigned missingFacts requestWindowMonths } } }`;
  interface CaseView {
    id: string;
    status: string;
    version: number;
    departureDate: string | null;
    arrivalDate: string | null;
    postArrivalEndsOn: string | null;
    postReturnEndsOn: string | null;
    requestWindowEndsOn: string | null;
    partner: { id: string } | null;
    windowFlags: Array<{ code: string; boundary: string; date: string; at: string }>;
    eligibility: {
      outcome: string;
      reasons: string[];
      requestDate: string | null;
      requestCheckedOn: string | null;
      applicationSigned: boolean | null;
      missingFacts: string[];
      requestWindowMonths: number;
    };
  }
  const read = async (reference: string): Promise<CaseView> => {
    const { body } = await system.graphql<{ caseByReference: CaseView }>(
      caseQuery,
      { r: reference },
      await system.as(be),
    );
    expect(body.errors).toBeUndefined();
    return body.data!.caseByReference;
  };
  const quality =
    `query($m: ID!) { dataQuality(memberState: $m) { memberState recordsReceived recordsRejected rejectedShare ` +
    `recordsWithGaps gapShare lateInsertions fields { field kind records share } windowFlags { code count } } }`;
  interface QualityView {
    recordsReceived: number;
    recordsRejected: number;
    rejectedShare: number;
    recordsWithGaps: number;
    lateInsertions: number;
    fields: Array<{ field: string; kind: string; records: number; share: number }>;
    windowFlags: Array<{ code: string; count: number }>;
  }

  beforeAll(async () => {
    system = await startTestSystem();
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('missing facts and a retroactive record: kept as given, windows computed, refusals named', async () => {
    const report = await system.ingest('BE', [
      // Neither request date nor signature: stored missing, eligibility letter only.
      bare('BE-MISSING'),
      // Inserted today, departed 2023: without a request date, today is checked: after the window.
      bare('BE-RETRO', { departureDate: '2023-01-10' }),
      // Departed more than a year ago but requested in time: eligible, yet inserted late.
      canonicalRecord('BE', 'BE-LATE', {
        departureDate: addMonths(today, -14),
        eligibility: { requestDate: addMonths(today, -13), applicationSigned: true },
        charterFlight: false,
      }),
      // Post-return assistance without a stated signature: refused, naming the field.
      bare('BE-NOSIG', { packages: ['POST_ARRIVAL', 'POST_RETURN'] }),
      // Hostile: an unknown key under eligibility.
      bare('BE-BAD', { eligibility: { $where: 'sleep(1000)' } }),
    ]);
    expect(report.counts).toMatchObject({ created: 3, rejected: 2 });
    expect(report.rejected).toEqual([
      expect.objectContaining({
        caseReference: 'BE-NOSIG',
        path: 'eligibility.applicationSigned',
        message: expect.stringMatching(/^missing: .*POST_RETURN needs a signed application/),
      }),
      expect.objectContaining({ caseReference: 'BE-BAD', path: 'eligibility' }),
    ]);

    const missing = await read('BE-MISSING');
    expect(missing).toMatchObject({
      status: 'SUBMITTED',
      postArrivalEndsOn: null,
      postReturnEndsOn: addMonths(recent, 12),
      requestWindowEndsOn: addMonths(recent, 6),
      windowFlags: [],
      eligibility: {
        outcome: 'ELIGIBILITY_LETTER_ONLY',
        reasons: [],
        requestDate: null,
        requestCheckedOn: today,
        applicationSigned: null,
        missingFacts: ['requestDate', 'applicationSigned'],
        requestWindowMonths: 6,
      },
    });
    expect(await read('BE-RETRO')).toMatchObject({
      status: 'CLOSED',
      partner: null,
      requestWindowEndsOn: '2023-07-10',
      eligibility: {
        outcome: 'INELIGIBLE',
        reasons: ['REQUEST_AFTER_WINDOW'],
        requestDate: null,
        requestCheckedOn: today,
      },
    });
    expect(await read('BE-LATE')).toMatchObject({
      status: 'SUBMITTED',
      eligibility: { outcome: 'ELIGIBLE', missingFacts: [] },
    });

    // A later push of the same record supplies the signature: the case is assessed again.
    const again = await system.ingest('BE', [
      bare('BE-MISSING', { recordVersion: 2, eligibility: { applicationSigned: true } }),
    ]);
    expect(again.counts).toMatchObject({ updated: 1 });
    expect((await read('BE-MISSING')).eligibility).toMatchObject({
      outcome: 'ELIGIBLE',
      requestDate: null,
      applicationSigned: true,
      missingFacts: ['requestDate'],
    });
  });

  it('late reports are flagged, not lost; an arrival before departure is refused with its code', async () => {
    const late = await read('BE-LATE');
    const partner = await system.as({ subject: 'cw', role: 'PARTNER', partnerId: late.partner!.id });
    const step = async (mutation: string, variables: Record<string, unknown>) =>
      (await system.graphql<Record<string, { version: number }>>(mutation, variables, partner)).body;
    expect(
      (await step(`mutation($id: ID!) { acceptCase(caseId: $id) { version } }`, { id: late.id })).errors,
    ).toBeUndefined();
    const arrive =
      `mutation($id: ID!, $d: Date!, $s: [PostArrivalService!]!) { reportArrival(caseId: $id, report: ` +
      `{ arrivalDate: $d, postArrivalServices: $s }) { version } }`;
    const before = await step(arrive, { id: late.id, d: addDays(late.departureDate!, -1), s: [] });
    expect(before.errors![0]).toMatchObject({
      message: expect.stringContaining('is before the departure'),
      extensions: { code: 'BEFORE_WINDOW_OPENS', boundary: late.departureDate, date: addDays(late.departureDate!, -1) },
    });
    // Arrived the day after departure, services reported today: long after the 3 days.
    const arrival = addDays(late.departureDate!, 1);
    expect((await step(arrive, { id: late.id, d: arrival, s: ['CASH'] })).errors).toBeUndefined();
    expect(
      (await step(`mutation($id: ID!) { reportCompletion(caseId: $id) { version } }`, { id: late.id })).errors,
    ).toBeUndefined();
    const flagged = await read('BE-LATE');
    expect(flagged.postArrivalEndsOn).toBe(addDays(arrival, 2));
    expect(flagged.windowFlags.map(({ at: _at, ...f }) => f)).toEqual([
      { code: 'POST_ARRIVAL_WINDOW_CLOSED', boundary: addDays(arrival, 2), date: today },
      { code: 'POST_RETURN_WINDOW_CLOSED', boundary: addMonths(late.departureDate!, 12), date: today },
    ]);
  });

  it('the Member State reads its data quality; another Member State, a partner and an analyst do not', async () => {
    // Window flags reach the figure through the case event stream (the statistics projector).
    let figures: QualityView | undefined;
    for (let i = 0; i < 100; i++) {
      const { body } = await system.graphql<{ dataQuality: QualityView }>(quality, { m: 'BE' }, await system.as(be));
      expect(body.errors).toBeUndefined();
      figures = body.data!.dataQuality;
      if (figures.windowFlags.every((f) => f.count > 0 || !f.code.startsWith('POST_'))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(figures).toMatchObject({
      recordsReceived: 6,
      recordsRejected: 2,
      rejectedShare: 0.3333,
      // Every valid record left something out (BE-LATE no protection status: defaulted); BE-BAD was invalid.
      recordsWithGaps: 5,
      lateInsertions: 2,
      windowFlags: [
        { code: 'POST_ARRIVAL_WINDOW_CLOSED', count: 1 },
        { code: 'POST_RETURN_WINDOW_CLOSED', count: 1 },
        { code: 'BEFORE_WINDOW_OPENS', count: 0 },
      ],
    });
    expect(figures!.fields).toContainEqual({
      field: 'eligibility.requestDate',
      kind: 'MISSING',
      records: 4,
      share: 0.6667,
    });
    expect(figures!.fields).toContainEqual({
      field: 'eligibility.applicationSigned',
      kind: 'MISSING',
      records: 3,
      share: 0.5,
    });

    const desk = await system.graphql(quality, { m: 'BE' }, await system.as({ subject: 'desk', role: 'SUPPORT_DESK' }));
    expect(desk.body.errors).toBeUndefined();
    for (const principal of [
      { subject: 'fr', role: 'MEMBER_STATE', memberState: 'FR' },
      { subject: 'cw', role: 'PARTNER', partnerId: 'weldo' },
      { subject: 'an', role: 'EU_ANALYST' },
    ] as const) {
      const { body } = await system.graphql(quality, { m: 'BE' }, await system.as(principal));
      expect(body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
      expect(body.data ?? null).toBeNull();
    }
    const anonymous = await system.graphql(quality, { m: 'BE' }, { authorization: '' });
    expect(anonymous.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    for (const hostile of ['ZZ', 'x'.repeat(100_000), '{"$ne": null}', '']) {
      const { body } = await system.graphql(quality, { m: hostile }, await system.as(be));
      expect(body.errors![0]!.extensions!.code).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED|PAYLOAD_TOO_LARGE/);
      expect(body.errors![0]!.message.length).toBeLessThan(300);
    }
  });
});
