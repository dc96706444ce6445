import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import type { CaseEvent, CaseEventBatch, CaseEventEntry } from '../../shared/case-events/index.js';
import { scopesTouched, statisticsIncrements } from '../../subgraphs/cases/statistics/projector.js';
import { partnerMessages, plannedDeliveries, type WebhookDoc } from '../../subgraphs/cases/webhooks/index.js';
import { financeEffects } from '../../subgraphs/finance/ledger/projector.js';
import type { CaseFinanceDoc } from '../../subgraphs/finance/ledger/models.js';
import { PROGRAMME_TARIFFS } from '../../subgraphs/finance/tariffs/rules.js';
import { eventFacts } from '../helpers/event-facts.js';

const at = '2024-03-01T00:00:00.000Z';
const entry = (id: string, event: Partial<CaseEvent>): CaseEventEntry => ({
  id,
  event: { type: 'case.updated', caseId: 'c1', version: 1, at, before: null, after: null, ...event },
});

describe('statistics consumer', () => {
  const created = entry('2-0', { type: 'case.created', after: eventFacts({ partnerId: 'weldo' }) });
  const moved = entry('3-0', {
    before: eventFacts({ partnerId: 'weldo' }),
    after: eventFacts({ partnerId: 'weldo', countryOfOrigin: 'IQ' }),
  });

  it('touches the programme and each dimension of the facts before and after', () => {
    expect([...scopesTouched([created, moved])].sort()).toEqual([
      'all',
      'country:AF',
      'country:IQ',
      'memberState:BE',
      'partner:weldo',
    ]);
  });

  it('sums a batch per scope and remembers the last event counted there', () => {
    const increments = statisticsIncrements([created, moved], new Map());
    expect(increments.get('all')).toEqual({
      inc: expect.objectContaining({ cases: 1, 'byCountry.IQ': 1 }),
      lastId: '3-0',
    });
    expect(increments.get('all')!.inc['byCountry.AF']).toBe(0); // +1 then -1 within the batch
    expect(increments.get('country:AF')).toMatchObject({ inc: { cases: 0 }, lastId: '3-0' });
    expect(increments.get('country:IQ')!.inc.cases).toBe(1);
  });

  it('skips, per scope, the events a stored document already counted', () => {
    const increments = statisticsIncrements(
      [created, moved],
      new Map([
        ['all', '2-0'],
        ['partner:weldo', '3-0'],
      ]),
    );
    expect(increments.get('all')!.inc).toMatchObject({ 'byCountry.IQ': 1, 'byCountry.AF': -1 });
    expect(increments.get('all')!.inc.cases).toBeUndefined();
    expect(increments.has('partner:weldo')).toBe(false);
    expect(increments.get('memberState:BE')!.inc.cases).toBe(1);
  });
});

describe('finance consumer', () => {
  const after = eventFacts({
    partnerId: 'weldo',
    packages: ['POST_ARRIVAL'],
    returnees: 2,
    departureDate: '2024-03-01',
    month: '2024-03',
  });
  const ledger = (lastEventId: string): CaseFinanceDoc => ({
    _id: 'c1',
    memberState: 'BE',
    countryOfOrigin: 'AF',
    partnerId: 'weldo',
    packages: ['POST_ARRIVAL'],
    returnType: 'VOLUNTARY',
    familySize: 2,
    departureDate: '2024-03-01',
    entitlementCents: 123_000,
    entitlementLines: [],
    committedCents: 123_000,
    committedAt: null,
    disbursedCents: 0,
    lastEventId,
  });

  it('a new case gets its ledger entry at the tariffs and counts its people in the year of departure', () => {
    const effects = financeEffects('5-0', entry('5-0', { type: 'case.created', after }).event, null, PROGRAMME_TARIFFS);
    expect(effects.entry).toMatchObject({
      familySize: 2,
      entitlementCents: 2 * 61_500,
      lastEventId: '5-0',
      committedCents: 0, // not accepted yet: nothing committed
      committedAt: null,
    });
    expect(effects.spend.get('2024')).toMatchObject({ 'people.total': 2, 'people.byPartner.weldo': 2 });
    expect(effects.spend.get('2024')).not.toHaveProperty('committed.total');
  });

  it("the partner's acceptance of an eligible case commits its entitlement (post-arrival only too)", () => {
    const accepted = { ...after, status: 'ACCEPTED' as const, accepted: true, eligibilityOutcome: 'ELIGIBLE' as const };
    const event = entry('6-0', {
      type: 'case.transitioned',
      transition: 'acceptCase',
      before: after,
      after: accepted,
      at: '2025-01-02T00:00:00.000Z',
    });
    const effects = financeEffects('6-0', event.event, { ...ledger('5-0'), committedCents: 0 }, PROGRAMME_TARIFFS);
    expect(effects.entry).toMatchObject({
      committedCents: 123_000,
      committedAt: new Date('2025-01-02T00:00:00.000Z'),
    });
    expect(effects.spend.get('2025')).toMatchObject({
      'committed.total': 123_000,
      'committed.byPackage.POST_ARRIVAL': 123_000,
    });
    expect(effects.spend.has('2024')).toBe(false); // the same people before and after: no change
    // Approving a plan later commits nothing more.
    const approval = entry('7-0', {
      type: 'case.transitioned',
      transition: 'approveReintegrationPlan',
      before: accepted,
      after: { ...accepted, status: 'PLAN_APPROVED' },
      at: '2025-02-02T00:00:00.000Z',
    });
    const again = financeEffects('7-0', approval.event, ledger('6-0'), PROGRAMME_TARIFFS);
    expect(again.entry).toMatchObject({ committedCents: 123_000 });
    expect(again.spend.size).toBe(0);
  });

  it('a withdrawal releases what was not paid, and its people leave the objective', () => {
    const accepted = { ...after, status: 'ACCEPTED' as const, accepted: true };
    const withdrawn = entry('8-0', {
      type: 'case.transitioned',
      transition: 'withdrawCase',
      before: accepted,
      after: { ...accepted, status: 'WITHDRAWN' },
      at: '2025-03-01T00:00:00.000Z',
    });
    const effects = financeEffects(
      '8-0',
      withdrawn.event,
      { ...ledger('7-0'), disbursedCents: 3_000 },
      PROGRAMME_TARIFFS,
    );
    expect(effects.entry).toMatchObject({ committedCents: 3_000, entitlementCents: 0 });
    expect(effects.spend.get('2025')).toMatchObject({ 'committed.total': 3_000 - 123_000 });
    expect(effects.spend.get('2024')).toMatchObject({ 'people.total': -2 });
  });

  it('a disbursement adds to the case from its ledger entry, once', () => {
    const disbursement = { amountCents: 500, package: 'POST_ARRIVAL', kind: 'CASH', date: '2024-05-01' };
    const paid = entry('7-0', { type: 'case.disbursed', disbursement }).event;
    const effects = financeEffects('7-0', paid, ledger('6-0'), PROGRAMME_TARIFFS);
    expect(effects.disbursedCents).toBe(500);
    expect(effects.entry).toBeNull();
    expect(effects.spend.get('2024')).toMatchObject({ 'disbursed.total': 500, 'disbursed.byMemberState.BE': 500 });
    expect(financeEffects('7-0', paid, ledger('7-0'), PROGRAMME_TARIFFS).disbursedCents).toBeNull();
    expect(financeEffects('7-0', paid, null, PROGRAMME_TARIFFS).disbursedCents).toBeNull();
  });
});

describe('webhook consumer', () => {
  const hook = (partnerId: string, eventTypes: string[]): WebhookDoc => ({
    _id: new Types.ObjectId(),
    partnerId,
    url: 'https://partner.example/h',
    eventTypes,
    secret: 's',
    createdAt: new Date(0),
    createdBy: 'p',
  });
  const batch: CaseEventBatch = {
    entries: [
      entry('1-0', { after: eventFacts({ partnerId: 'weldo' }) }),
      entry('2-0', { after: eventFacts({ partnerId: null }) }),
      // A transition no table knows (an entry without a public type of its own) is told to no one.
      entry('3-0', { type: 'case.transitioned', transition: 'teleport', after: eventFacts({ partnerId: 'weldo' }) }),
      entry('4-0', {
        caseId: 'c2',
        type: 'case.transitioned',
        publicType: 'ACCEPTED',
        after: eventFacts({ partnerId: 'irara' }),
      }),
    ],
    lastId: '4-0',
  };

  it('tells partners of told events of their assigned cases only', () => {
    expect(partnerMessages(batch).map((m) => [m.id, m.type, m.owner.partnerId])).toEqual([
      ['1-0', 'UPDATED', 'weldo'],
      ['4-0', 'ACCEPTED', 'irara'],
    ]);
  });

  it("plans one delivery per event and endpoint of the case's partner that asked for its type", () => {
    const weldo = hook('weldo', ['UPDATED']);
    const weldoOther = hook('weldo', ['CLOSED']);
    const irara = hook('irara', ['ACCEPTED', 'UPDATED']);
    const now = new Date('2024-06-01T00:00:00Z');
    const planned = plannedDeliveries(partnerMessages(batch), [weldo, weldoOther, irara], now);
    expect(planned.map((d) => d._id)).toEqual([`${weldo._id.toHexString()}.1-0`, `${irara._id.toHexString()}.4-0`]);
    expect(planned[1]).toMatchObject({
      partnerId: 'irara',
      eventType: 'ACCEPTED',
      caseId: 'c2',
      status: 'PENDING',
      createdAt: now,
      attempts: [],
    });
    expect(Object.keys(planned[1]!.payload).sort()).toEqual([
      'at',
      'caseId',
      'countryOfOrigin',
      'id',
      'memberState',
      'milestone',
      'status',
      'transition',
      'type',
    ]);
  });
});
