import { describe, expect, it } from 'vitest';
import {
  awaitedStep,
  changesWorklistOf,
  messageOf,
  WORKLIST_STEPS,
  type CaseEvent,
  type CaseEventFacts,
} from '../../shared/case-events/index.js';
import { CASE_STATUSES, type CaseStatus, type Package } from '../../shared/domain.js';
import { allowedTransitions, TRANSITIONS } from '../../subgraphs/cases/case/lifecycle.js';
import { keyMomentsOf, type HistoryEntry } from '../../subgraphs/cases/case/models.js';
import { statusSince } from '../../subgraphs/cases/statistics/facts.js';
import {
  DEFAULT_WORKLIST_THRESHOLDS,
  duenessOn,
  dueRangeOf,
  worklistEntryOf,
} from '../../subgraphs/cases/worklist/rules.js';
import { checkKind, worklistQuery, worklistScope } from '../../subgraphs/cases/worklist/read.js';
import { NO_DUE_DATE, worklistWrites } from '../../subgraphs/cases/worklist/store.js';
import { encodeCursor } from '../../shared/pagination.js';
import { eventFacts } from '../helpers/event-facts.js';

const withPlan: Package[] = ['POST_ARRIVAL', 'POST_RETURN'];
const letterOnly: Package[] = ['POST_ARRIVAL'];

describe('what each actor awaits in each status', () => {
  it.each([
    ['SUBMITTED', withPlan, 'ACCEPTANCE', 'PARTNER'],
    ['ACCEPTED', withPlan, 'ARRIVAL_REPORT', 'PARTNER'],
    ['ARRIVED', withPlan, 'PLAN', 'PARTNER'],
    ['ARRIVED', letterOnly, 'COMPLETION_REPORT', 'PARTNER'],
    ['PLAN_REJECTED', withPlan, 'PLAN', 'PARTNER'],
    ['PLAN_SUBMITTED', withPlan, 'PLAN_DECISION', 'MEMBER_STATE'],
    ['PLAN_APPROVED', withPlan, 'COMPLETION_REPORT', 'PARTNER'],
    ['COMPLETION_REPORTED', withPlan, 'COMPLETION_APPROVAL', 'MEMBER_STATE'],
    ['COMPLETED', withPlan, null, null],
    ['WITHDRAWN', withPlan, null, null],
    ['CLOSED', letterOnly, null, null],
  ] as const)('%s (%j) waits for %s by %s', (status, packages, step, by) => {
    const awaited = awaitedStep(status, packages);
    expect(awaited?.step ?? null).toBe(step);
    expect(awaited?.by ?? null).toBe(by);
  });

  it('agrees with the lifecycle: the awaited step is an allowed forward transition of the actor it names', () => {
    for (const status of CASE_STATUSES as readonly CaseStatus[])
      for (const packages of [withPlan, letterOnly]) {
        const awaited = awaitedStep(status, packages);
        // Steps that end or turn back the case, and the optional ones along the way (an amendment,
        // a delivery report), are not what the case waits for.
        const notAwaited = new Set([
          'withdrawCase',
          'closeCase',
          'rejectReintegrationPlan',
          'amendReintegrationPlan',
          'reportServiceDelivery',
        ]);
        const forward = allowedTransitions(status, { packages }).filter((t) => !notAwaited.has(t));
        if (!awaited) {
          expect(forward, `${status} ${packages.join('+')}`).toEqual([]);
          continue;
        }
        expect(forward).toEqual([awaited.transition]);
        expect(TRANSITIONS[forward[0]!].actors).toContain(awaited.by);
      }
    expect(WORKLIST_STEPS).toHaveLength(6);
  });
});

const facts = (over: Partial<CaseEventFacts>): CaseEventFacts =>
  eventFacts({
    partnerId: 'weldo',
    packages: withPlan,
    departureDate: '2024-03-01',
    insertedOn: '2024-02-20',
    statusSince: '2024-02-20T10:00:00.000Z',
    requestWindowMonths: 6,
    ...over,
  });

describe('due dates', () => {
  const t = DEFAULT_WORKLIST_THRESHOLDS;
  it.each([
    ['acceptance: a service level from insertion', { status: 'SUBMITTED' }, '2024-02-25', 'SERVICE_LEVEL'],
    [
      'acceptance: capped by the request window (3 months)',
      { status: 'SUBMITTED', statusSince: '2024-05-30T00:00:00.000Z', requestWindowMonths: 3 },
      '2024-06-01',
      'REQUEST_WINDOW',
    ],
    ['arrival report: 3 days after departure', { status: 'ACCEPTED' }, '2024-03-04', 'SERVICE_LEVEL'],
    ['arrival report: no departure, no due date', { status: 'ACCEPTED', departureDate: null }, null, null],
    [
      'plan: 30 days after the arrival report',
      { status: 'ARRIVED', statusSince: '2024-03-03T09:00:00.000Z' },
      '2024-04-02',
      'SERVICE_LEVEL',
    ],
    [
      'plan: never after post-return assistance ends',
      { status: 'PLAN_REJECTED', statusSince: '2025-02-20T09:00:00.000Z' },
      '2025-03-01',
      'POST_RETURN_WINDOW',
    ],
    [
      'plan decision: 10 days',
      { status: 'PLAN_SUBMITTED', statusSince: '2024-04-01T09:00:00.000Z' },
      '2024-04-11',
      'SERVICE_LEVEL',
    ],
    ['completion report with a plan: post-return end', { status: 'PLAN_APPROVED' }, '2025-03-01', 'POST_RETURN_WINDOW'],
    [
      'completion report without a plan: post-arrival end + 30 days',
      { status: 'ARRIVED', packages: letterOnly, arrivalDate: '2024-03-02' },
      '2024-04-03',
      'POST_ARRIVAL_WINDOW',
    ],
    [
      'charter arrival: the window is the arrival day',
      { status: 'ARRIVED', packages: ['CHARTER_ARRIVAL'] as Package[], arrivalDate: '2024-03-02', charterFlight: true },
      '2024-04-01',
      'POST_ARRIVAL_WINDOW',
    ],
    [
      'completion approval: 10 days',
      { status: 'COMPLETION_REPORTED', statusSince: '2024-12-30T23:00:00.000Z' },
      '2025-01-09',
      'SERVICE_LEVEL',
    ],
  ] as const)('%s', (_name, over, dueOn, dueReason) => {
    const entry = worklistEntryOf('c1', facts(over as Partial<CaseEventFacts>), t);
    expect(entry).toMatchObject({ caseId: 'c1', memberState: 'BE', partnerId: 'weldo', dueOn, dueReason });
  });

  it('thresholds are configuration', () => {
    const entry = worklistEntryOf('c1', facts({ status: 'SUBMITTED' }), { ...t, acceptanceDays: 1 });
    expect(entry?.dueOn).toBe('2024-02-21');
  });

  it("facts of an event written before they carried statusSince take the event's time", () => {
    const old = eventFacts({ status: 'PLAN_SUBMITTED', partnerId: 'weldo' });
    expect(worklistEntryOf('c1', old, t, '2024-04-01T08:00:00.000Z')).toMatchObject({
      since: '2024-04-01T08:00:00.000Z',
      dueOn: '2024-04-11',
    });
    expect(worklistEntryOf('c1', old, t)?.since).toBe('2024-03-01T00:00:00.000Z');
  });

  it('a case that waits for nobody has no entry', () => {
    expect(worklistEntryOf('c1', facts({ status: 'COMPLETED' }))).toBeNull();
  });

  it.each([
    [null, '2024-06-01', null],
    ['2024-05-31', '2024-06-01', 'OVERDUE'],
    ['2024-06-01', '2024-06-01', 'DUE_SOON'],
    ['2024-06-15', '2024-06-01', 'DUE_SOON'],
    ['2024-06-16', '2024-06-01', null],
    // No event needed: the same entry turns from DUE_SOON to OVERDUE as days pass.
    ['2024-06-15', '2024-06-16', 'OVERDUE'],
  ] as const)('due on %s, read on %s: %s', (dueOn, today, expected) => {
    expect(duenessOn(dueOn, today, 14)).toBe(expected);
  });

  it('each kind reads one due-date range', () => {
    expect(dueRangeOf('OVERDUE', '2024-06-01', 14)).toEqual({ to: '2024-05-31' });
    expect(dueRangeOf('DUE_SOON', '2024-06-01', 14)).toEqual({ from: '2024-06-01', to: '2024-06-15' });
    expect(dueRangeOf('AWAITING_ME', '2024-06-01', 14)).toBeNull();
  });
});

describe('the worklist read model', () => {
  const transitioned = (caseId: string, before: CaseEventFacts | null, after: CaseEventFacts | null): CaseEvent => ({
    type: 'case.transitioned',
    caseId,
    version: 1,
    at: '2024-03-01T00:00:00.000Z',
    before,
    after,
  });

  it("one write per case, its batch's last event deciding; a case that waits for nobody is closed", () => {
    const writes = worklistWrites(
      [
        { id: '1-0', event: transitioned('a', null, facts({ status: 'SUBMITTED' })) },
        { id: '2-0', event: transitioned('a', facts({ status: 'SUBMITTED' }), facts({ status: 'ACCEPTED' })) },
        {
          id: '3-0',
          event: transitioned('b', facts({ status: 'COMPLETION_REPORTED' }), facts({ status: 'COMPLETED' })),
        },
        {
          id: '4-0',
          event: {
            ...transitioned('c', null, null),
            type: 'case.disbursed',
            owner: { memberState: 'BE', partnerId: 'weldo', countryOfOrigin: 'AF' },
          },
        },
      ],
      DEFAULT_WORKLIST_THRESHOLDS,
    );
    expect([...writes.keys()]).toEqual(['a', 'b']);
    expect(writes.get('a')).toMatchObject({
      open: true,
      step: 'ARRIVAL_REPORT',
      awaitedBy: 'PARTNER',
      lastEventId: '2-0',
    });
    expect(writes.get('b')).toMatchObject({ open: false, step: null, awaitedBy: null, dueOn: NO_DUE_DATE });
  });

  it('scopes: each actor reads what waits for it; other roles have none', () => {
    expect(worklistScope({ subject: 'x', role: 'MEMBER_STATE', memberState: 'BE' })).toEqual({
      awaitedBy: 'MEMBER_STATE',
      memberState: 'BE',
    });
    expect(worklistScope({ subject: 'x', role: 'PARTNER', partnerId: 'weldo' }, 'NL')).toEqual({
      awaitedBy: 'PARTNER',
      partnerId: 'weldo',
      memberState: 'NL',
    });
    expect(worklistScope({ subject: 'x', role: 'SUPPORT_DESK' })).toEqual({ open: true });
    expect(() => worklistScope({ subject: 'x', role: 'MEMBER_STATE', memberState: 'BE' }, 'NL')).toThrow(
      /own worklist \(BE\)/,
    );
    expect(() => worklistScope({ subject: 'x', role: 'EU_ANALYST' })).toThrow(/no worklist/);
    expect(() => worklistScope({ subject: 'x', role: 'SUPPORT_DESK' }, 'be<script>')).toThrow(/not a participating/);
  });

  it('queries: the kind as a due-date range, the cursor after the last (due date, id); bad input is named', () => {
    const q = worklistQuery({ open: true }, 'OVERDUE', '2024-06-01', 14);
    expect(q.count).toEqual({ open: true, dueOn: { $lte: '2024-05-31' } });
    const after = encodeCursor(`2024-05-01|${'a'.repeat(24)}`);
    expect(worklistQuery({ open: true }, 'AWAITING_ME', '2024-06-01', 14, after).page).toEqual({
      $and: [
        { open: true },
        { $or: [{ dueOn: { $gt: '2024-05-01' } }, { dueOn: '2024-05-01', _id: { $gt: 'a'.repeat(24) } }] },
      ],
    });
    for (const bad of ['nonsense', encodeCursor('2024-05-01|{"$ne":1}'), encodeCursor('x|y|z'), 'x'.repeat(500)])
      expect(() => worklistQuery({}, 'AWAITING_ME', '2024-06-01', 14, bad)).toThrow(/cursor/);
    expect(() => checkKind('EVERYTHING')).toThrow(/AWAITING_ME, OVERDUE, DUE_SOON/);
  });
});

describe('worklist changes for subscribers', () => {
  const message = (before: Partial<CaseEventFacts> | null, after: Partial<CaseEventFacts>) =>
    messageOf('5-0', {
      type: 'case.transitioned',
      caseId: 'c1',
      version: 2,
      at: '2024-03-01T00:00:00.000Z',
      transition: 'x',
      publicType: 'UPDATED',
      before: before ? facts(before) : null,
      after: facts(after),
    })!;
  const be = { subject: 'be', role: 'MEMBER_STATE' as const, memberState: 'BE' };
  const nl = { subject: 'nl', role: 'MEMBER_STATE' as const, memberState: 'NL' };
  const weldo = { subject: 'w', role: 'PARTNER' as const, partnerId: 'weldo' };
  const desk = { subject: 'd', role: 'SUPPORT_DESK' as const };

  it('a plan submission moves the item from the partner to the Member State: both are told', () => {
    const m = message({ status: 'ARRIVED' }, { status: 'PLAN_SUBMITTED' });
    expect(m.worklist).toMatchObject({ before: { step: 'PLAN', by: 'PARTNER' }, after: { step: 'PLAN_DECISION' } });
    expect([be, nl, weldo, desk].map((p) => changesWorklistOf(p, m))).toEqual([true, false, true, true]);
  });

  it('an event that leaves the awaited step as it was changes no worklist', () => {
    const m = message({ status: 'ARRIVED' }, { status: 'ARRIVED', returnees: 2 });
    expect(m.worklist).toBeNull();
    expect(changesWorklistOf(desk, m)).toBe(false);
  });

  it('an acceptance is a partner-only change; analysts have no worklist', () => {
    const m = message({ status: 'SUBMITTED' }, { status: 'ACCEPTED' });
    expect([be, weldo, { subject: 'a', role: 'EU_ANALYST' as const }].map((p) => changesWorklistOf(p, m))).toEqual([
      false,
      true,
      false,
    ]);
  });
});

describe('key moments upgrade', () => {
  const entry = (transition: string, at: string): HistoryEntry => ({
    version: 1,
    transition,
    from: 'SUBMITTED',
    to: 'ACCEPTED',
    at: new Date(at),
    actor: { role: 'PARTNER', subject: 'w' },
  });
  const accepted = '2024-03-01T10:00:00.000Z';
  const arrived = '2024-03-05T10:00:00.000Z';

  it('a case of the earlier version: KM1 moves to the acceptance, the old KM1 (arrival) to arrivedAt', () => {
    const moments = keyMomentsOf({
      milestones: { km1At: new Date(arrived), km2At: null, km3At: null },
      history: [entry('acceptCase', accepted), entry('reportArrival', arrived)],
    });
    expect(moments).toEqual({ km1At: new Date(accepted), arrivedAt: new Date(arrived) });
  });

  it('without history entries an old KM1 is kept as the arrival; the upgrade is idempotent', () => {
    const old = { milestones: { km1At: new Date(arrived), km2At: null, km3At: null }, history: [] };
    const once = keyMomentsOf(old);
    expect(once).toEqual({ km1At: null, arrivedAt: new Date(arrived) });
    expect(keyMomentsOf({ milestones: { ...old.milestones, ...once }, history: [] })).toEqual(once);
  });

  it('a case of this version keeps its moments', () => {
    const current = { km1At: new Date(accepted), arrivedAt: null, km2At: null, km3At: null };
    expect(keyMomentsOf({ milestones: current, history: [entry('acceptCase', accepted)] })).toEqual({
      km1At: new Date(accepted),
      arrivedAt: null,
    });
  });

  it('statusSince: the step that last changed the status, not a later feed update', () => {
    const created = new Date('2024-02-01T00:00:00.000Z');
    const history = [
      { from: null, to: 'SUBMITTED' as const, at: created },
      { from: 'SUBMITTED' as const, to: 'ACCEPTED' as const, at: new Date(accepted) },
      { from: 'ACCEPTED' as const, to: 'ACCEPTED' as const, at: new Date(arrived) },
    ];
    expect(statusSince(history, 'ACCEPTED', created)).toEqual(new Date(accepted));
    expect(statusSince([], 'SUBMITTED', created)).toEqual(created);
  });
});
