import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import { personalAccess, type PersonalAccess } from '../../shared/access.js';
import { entryJsonOf, matchesFilter, mayReceive, messageOf } from '../../shared/case-events/index.js';
import {
  authorRoleOf,
  checkMessageBody,
  checkMessagePageSize,
  isMessageId,
  isUnread,
  MAX_MESSAGE_BODY_CHARS,
  MAX_MESSAGE_PAGE_SIZE,
  mayCountCaseMessages,
  mayUseCaseThread,
  nextReadMarker,
  topicOf,
} from '../../subgraphs/cases/messages/rules.js';
import { messagePostedEvent } from '../../subgraphs/cases/messages/thread.js';
import { scopesTouched, statisticsIncrements } from '../../subgraphs/cases/statistics/projector.js';
import { partnerMessages, payloadOf } from '../../subgraphs/cases/webhooks/index.js';
import { financeEffects } from '../../subgraphs/finance/ledger/projector.js';
import type { CaseFinanceDoc } from '../../subgraphs/finance/ledger/models.js';
import { PROGRAMME_TARIFFS } from '../../subgraphs/finance/tariffs/rules.js';

const theCase = { memberState: 'BE', partnerId: 'weldo' };
const p = (role: Principal['role'], extra: Partial<Principal> = {}): Principal => ({ subject: 'u', role, ...extra });

describe('who takes part in a case thread', () => {
  const table: Array<[string, Principal | null, boolean, boolean]> = [
    // [who, principal, holds a support-desk grant, takes part]
    ['the owning Member State', p('MEMBER_STATE', { memberState: 'BE' }), false, true],
    ['another Member State', p('MEMBER_STATE', { memberState: 'NL' }), false, false],
    ['the assigned partner', p('PARTNER', { partnerId: 'weldo' }), false, true],
    ['another partner', p('PARTNER', { partnerId: 'irara' }), false, false],
    ['the support desk with an open access', p('SUPPORT_DESK'), true, true],
    ['the support desk without one', p('SUPPORT_DESK'), false, false],
    ['an EU analyst', p('EU_ANALYST'), false, false],
    ['an administrator', p('ADMIN'), false, false],
    ['the data protection officer', p('DATA_PROTECTION_OFFICER'), false, false],
    ['an anonymous caller', null, false, false],
  ];
  it.each(table)('%s: takes part = %s', (_who, principal, grant, expected) => {
    expect(mayUseCaseThread(principal, personalAccess(principal, theCase, grant))).toBe(expected);
  });

  it('takes part only with FULL access, whatever the role', () => {
    const levels: PersonalAccess[] = ['FULL', 'PSEUDONYMISED', 'NONE'];
    expect(levels.map((l) => mayUseCaseThread(p('MEMBER_STATE', { memberState: 'BE' }), l))).toEqual([
      true,
      false,
      false,
    ]);
    // An administrator never posts, even if some rule gave it FULL access.
    expect(mayUseCaseThread(p('ADMIN'), 'FULL')).toBe(false);
    expect(authorRoleOf(p('PARTNER'))).toBe('PARTNER');
    expect(authorRoleOf(p('EU_ANALYST'))).toBeNull();
  });

  it('counts are shown to whoever sees the case, and to no one else', () => {
    expect(mayCountCaseMessages(true)).toBe(true);
    expect(mayCountCaseMessages(false)).toBe(false);
  });
});

describe('message bodies', () => {
  const ok: Array<[string, string, string]> = [
    ['plain text', 'Please detail the business plan budget.', 'Please detail the business plan budget.'],
    ['trimmed', '  answer \n', 'answer'],
    ['lines and tabs kept', 'line 1\n\tline 2\r\nline 3', 'line 1\n\tline 2\r\nline 3'],
    ['NFC', 'Cafe\u0301', 'Caf\u00e9'],
    ['at the cap', 'x'.repeat(MAX_MESSAGE_BODY_CHARS), 'x'.repeat(MAX_MESSAGE_BODY_CHARS)],
    ['astral characters count once', '😀'.repeat(MAX_MESSAGE_BODY_CHARS), '😀'.repeat(MAX_MESSAGE_BODY_CHARS)],
    ['markup is text', '<script>alert(1)</script>', '<script>alert(1)</script>'],
  ];
  it.each(ok)('accepts %s', (_what, raw, stored) => {
    expect(checkMessageBody(raw)).toEqual({ ok: true, body: stored });
  });

  const refused: Array<[string, unknown, RegExp]> = [
    ['empty', '', /must not be empty/],
    ['only spaces', ' \n\t ', /must not be empty/],
    ['one over the cap', 'x'.repeat(MAX_MESSAGE_BODY_CHARS + 1), /at most 4000 characters, got 4001/],
    ['a megabyte', 'y'.repeat(1_048_576), /at most 4000 characters/],
    ['a NUL byte', 'a\u0000b', /U\+0000/],
    ['an escape sequence', 'a\u001b[31mred', /U\+001B/],
    ['a right-to-left override', 'pay \u202Eexe.txt', /U\+202E/],
    ['a zero-width space', 'a\u200Bb', /U\+200B/],
    ['a byte-order mark', 'a\uFEFFb', /U\+FEFF/],
    ['not a string', 42, /must be a string/],
    ['null', null, /must be a string/],
  ];
  it.each(refused)('refuses %s, saying why without echoing it', (_what, raw, reason) => {
    const result = checkMessageBody(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toMatch(reason);
      expect(result.reason).not.toContain('exe.txt');
    }
  });
});

describe('thread pages, ids, topics and read markers', () => {
  it.each([
    [undefined, { ok: true, size: 20 }],
    [null, { ok: true, size: 20 }],
    [1, { ok: true, size: 1 }],
    [MAX_MESSAGE_PAGE_SIZE, { ok: true, size: 100 }],
    [MAX_MESSAGE_PAGE_SIZE + 1, { ok: false, reason: 'must be between 1 and 100, got 101' }],
    [0, { ok: false, reason: 'must be between 1 and 100, got 0' }],
    [-5, { ok: false, reason: 'must be between 1 and 100, got -5' }],
    [2.5, { ok: false, reason: 'must be between 1 and 100, got 2.5' }],
  ])('first = %s', (first, expected) => {
    expect(checkMessagePageSize(first)).toEqual(expected);
  });

  it.each([
    ['65f000000000000000000001', true],
    ['65F000000000000000000001', true],
    ['65f00000000000000000001', false],
    ['{"$gt":""}', false],
    ['', false],
    [null, false],
  ])('message id %s is well-formed: %s', (value, expected) => {
    expect(isMessageId(value)).toBe(expected);
  });

  it.each([
    ['PLAN_CLARIFICATION', null, 'PLAN_CLARIFICATION'],
    [null, 'PLAN_CLARIFICATION', 'PLAN_CLARIFICATION'],
    ['GENERAL', 'PLAN_CLARIFICATION', 'GENERAL'],
    [undefined, undefined, 'GENERAL'],
  ] as const)('topic given %s, parent %s: %s', (given, parent, expected) => {
    expect(topicOf(given, parent)).toBe(expected);
  });

  const a = '65f000000000000000000001';
  const b = '65f000000000000000000002';
  it.each([
    ['a message by another, nothing read', { id: a, authorSubject: 'x' }, { subject: 'me', readUpTo: null }, true],
    ['my own message', { id: b, authorSubject: 'me' }, { subject: 'me', readUpTo: null }, false],
    ['read up to it', { id: a, authorSubject: 'x' }, { subject: 'me', readUpTo: a }, false],
    ['after my marker', { id: b, authorSubject: 'x' }, { subject: 'me', readUpTo: a }, true],
    ['before my marker', { id: a, authorSubject: 'x' }, { subject: 'me', readUpTo: b }, false],
  ])('%s: unread = %s', (_what, message, reader, expected) => {
    expect(isUnread(message, reader)).toBe(expected);
  });

  it('a read marker only moves forward', () => {
    expect(nextReadMarker(null, a)).toBe(a);
    expect(nextReadMarker(a, b)).toBe(b);
    expect(nextReadMarker(b, a)).toBe(b);
    expect(nextReadMarker(b, b)).toBe(b);
  });
});

describe('MESSAGE_POSTED on the case event backbone', () => {
  const doc = {
    _id: new Types.ObjectId('65f0000000000000000000aa'),
    memberState: 'BE',
    partnerId: 'weldo',
    countryOfOrigin: 'AF',
    status: 'PLAN_SUBMITTED' as const,
    version: 4,
  };
  const message = {
    _id: new Types.ObjectId('65f0000000000000000000bb'),
    author: { role: 'MEMBER_STATE' as const, subject: 'officer-1', memberState: 'BE' },
    topic: 'PLAN_CLARIFICATION' as const,
    postedAt: new Date('2024-06-01T10:00:00.000Z'),
    body: 'Which supplier will deliver the equipment for Karim?',
  };
  const event = messagePostedEvent(doc, message);

  it('names the case owner and the message, never its body or its author', () => {
    const json = entryJsonOf(event);
    expect(JSON.parse(json)).toMatchObject({ type: 'case.messaged', publicType: 'MESSAGE_POSTED' });
    expect(json).not.toContain('Karim');
    expect(json).not.toContain('officer-1');
    expect(event.caseMessage).toEqual({
      id: message._id.toHexString(),
      authorRole: 'MEMBER_STATE',
      topic: 'PLAN_CLARIFICATION',
    });
    expect(event.owner).toEqual({
      memberState: 'BE',
      partnerId: 'weldo',
      countryOfOrigin: 'AF',
      status: 'PLAN_SUBMITTED',
    });
  });

  it('is told to subscribers who see the case, with its message, and matches a type filter', () => {
    const told = messageOf('9-0', event)!;
    expect(told).toMatchObject({ type: 'MESSAGE_POSTED', caseId: doc._id.toHexString(), status: 'PLAN_SUBMITTED' });
    expect(told.caseMessage).toEqual(event.caseMessage);
    expect(matchesFilter(told, { types: ['MESSAGE_POSTED'] })).toBe(true);
    expect(matchesFilter(told, { types: ['PLAN_SUBMITTED'] })).toBe(false);
    expect(mayReceive(p('PARTNER', { partnerId: 'weldo' }), told)).toBe(true);
    expect(mayReceive(p('PARTNER', { partnerId: 'irara' }), told)).toBe(false);
    expect(mayReceive(p('MEMBER_STATE', { memberState: 'NL' }), told)).toBe(false);
    // Analysts see every case's events: this one names no one (no body, no author), so they get it too.
    expect(mayReceive(p('EU_ANALYST'), told)).toBe(true);
  });

  it("reaches the assigned partner's webhooks with the message named, and nothing more", () => {
    const [delivered] = partnerMessages({ entries: [{ id: '9-0', event }], lastId: '9-0' });
    const payload = payloadOf(delivered!);
    expect(payload.caseMessage).toEqual(event.caseMessage);
    expect(JSON.stringify(payload)).not.toContain('Karim');
  });

  it('statistics and finance ignore it', () => {
    const entry = { id: '9-0', event };
    expect(scopesTouched([entry]).size).toBe(0);
    expect(statisticsIncrements([entry], new Map()).size).toBe(0);
    const ledger = { _id: doc._id.toHexString(), lastEventId: '8-0', departureDate: '2024-03-01' } as CaseFinanceDoc;
    const effects = financeEffects('9-0', event, ledger, PROGRAMME_TARIFFS);
    expect(effects.entry).toBeNull();
    expect(effects.disbursedCents).toBeNull();
    expect(effects.spend.size).toBe(0);
  });
});
