import type { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import { mayReadDataQuality } from '../../shared/access.js';
import { checkRequestWindowMonths } from '../../subgraphs/cases/case/resolvers.js';
import { presentDataQuality } from '../../subgraphs/cases/quality/resolvers.js';
import { fieldFigures, qualityIncrement, recordGaps, share } from '../../subgraphs/cases/quality/rules.js';
import { contribution, factsOf } from '../../subgraphs/cases/statistics/facts.js';
import { canonicalRecord } from '../helpers/records.js';

describe('data quality: which fields a feed record left out (quality/rules.ts)', () => {
  it.each([
    [
      'every fact given',
      {
        ...canonicalRecord('BE', 'A'),
        charterFlight: false,
        eligibility: {
          legalStay: false,
          temporaryProtection: false,
          applicationSigned: true,
          requestDate: '2024-04-10',
        },
      },
      [],
      [],
    ],
    [
      'no eligibility at all',
      { ...canonicalRecord('BE', 'A'), eligibility: undefined },
      ['eligibility.requestDate', 'eligibility.applicationSigned'],
      ['eligibility.legalStay', 'eligibility.temporaryProtection', 'charterFlight'],
    ],
    [
      'nulls count as left out',
      {
        ...canonicalRecord('BE', 'A'),
        charterFlight: true,
        eligibility: { legalStay: null, temporaryProtection: true, applicationSigned: null, requestDate: '2024-04-10' },
      },
      ['eligibility.applicationSigned'],
      ['eligibility.legalStay'],
    ],
    [
      'a refused signature is given, not missing',
      {
        ...canonicalRecord('BE', 'A'),
        charterFlight: false,
        eligibility: {
          legalStay: false,
          temporaryProtection: false,
          applicationSigned: false,
          requestDate: '2024-04-10',
        },
      },
      [],
      [],
    ],
    [
      'not an object',
      'x',
      ['eligibility.requestDate', 'eligibility.applicationSigned'],
      ['eligibility.legalStay', 'eligibility.temporaryProtection', 'charterFlight'],
    ],
    [
      'an array where the object should be',
      { eligibility: [true] },
      ['eligibility.requestDate', 'eligibility.applicationSigned'],
      ['eligibility.legalStay', 'eligibility.temporaryProtection', 'charterFlight'],
    ],
    [
      'an inherited key is not given (hostile prototype)',
      JSON.parse('{"__proto__": {"charterFlight": true}}'),
      ['eligibility.requestDate', 'eligibility.applicationSigned'],
      ['eligibility.legalStay', 'eligibility.temporaryProtection', 'charterFlight'],
    ],
  ] as const)('%s', (_, raw, missing, defaulted) => {
    expect(recordGaps(raw)).toEqual({ missing, defaulted });
  });

  it("sums a chunk into its Member State's counters, zero entries dropped", () => {
    expect(
      qualityIncrement({
        received: 4,
        rejected: 1,
        lateInsertions: 1,
        gaps: [
          { missing: ['eligibility.requestDate', 'eligibility.applicationSigned'], defaulted: ['charterFlight'] },
          { missing: ['eligibility.requestDate'], defaulted: [] },
          { missing: [], defaulted: [] },
        ],
      }),
    ).toEqual({
      received: 4,
      rejected: 1,
      lateInsertions: 1,
      recordsWithGaps: 2,
      'missing.eligibility:requestDate': 2,
      'missing.eligibility:applicationSigned': 1,
      'defaulted.charterFlight': 1,
    });
    expect(qualityIncrement({ received: 0, rejected: 0, lateInsertions: 0, gaps: [] })).toEqual({});
  });

  it('lists every field with its share of the records received, 0 of 0 being 0', () => {
    expect(share(1, 3)).toBe(0.3333);
    expect(share(0, 0)).toBe(0);
    const figures = fieldFigures(4, { 'eligibility:requestDate': 2 }, { charterFlight: 1 });
    expect(figures).toEqual([
      { field: 'eligibility.requestDate', kind: 'MISSING', records: 2, share: 0.5 },
      { field: 'eligibility.applicationSigned', kind: 'MISSING', records: 0, share: 0 },
      { field: 'eligibility.legalStay', kind: 'DEFAULTED', records: 0, share: 0 },
      { field: 'eligibility.temporaryProtection', kind: 'DEFAULTED', records: 0, share: 0 },
      { field: 'charterFlight', kind: 'DEFAULTED', records: 1, share: 0.25 },
    ]);
  });

  it('presents the read model and the window flags the statistics projector counted', () => {
    const figures = presentDataQuality(
      'BE',
      { _id: 'BE', received: 10, rejected: 2, recordsWithGaps: 5, lateInsertions: 1 },
      { _id: 'memberState:BE', lastEventId: '1-0', windowFlags: { POST_RETURN_WINDOW_CLOSED: 3 } },
    );
    expect(figures).toMatchObject({
      memberState: 'BE',
      recordsReceived: 10,
      recordsRejected: 2,
      rejectedShare: 0.2,
      recordsWithGaps: 5,
      gapShare: 0.5,
      lateInsertions: 1,
      windowFlags: [
        { code: 'POST_ARRIVAL_WINDOW_CLOSED', count: 0 },
        { code: 'POST_RETURN_WINDOW_CLOSED', count: 3 },
        { code: 'BEFORE_WINDOW_OPENS', count: 0 },
      ],
    });
    expect(presentDataQuality('FI', null, null)).toMatchObject({ recordsReceived: 0, gapShare: 0, updatedAt: null });
  });

  it("a case's window flags count in its Member State's statistics document, per code", () => {
    const doc = {
      memberState: 'BE',
      countryOfOrigin: 'MA',
      partnerId: null,
      status: 'COMPLETION_REPORTED' as const,
      returnType: 'VOLUNTARY' as const,
      packages: ['POST_RETURN' as const],
      departureDate: '2024-01-31',
      createdAt: new Date('2024-01-01'),
      mainApplicant: { name: 'x', dateOfBirth: '1990-01-01', sex: 'MALE' as const, vulnerabilities: [] },
      familyMembers: [],
      familySize: 1,
      milestones: { km1At: null, km2At: null, km3At: null },
      history: [],
      windowFlags: [{ code: 'POST_RETURN_WINDOW_CLOSED', boundary: '2025-01-31', date: '2025-02-02', at: new Date() }],
    };
    expect(contribution(factsOf(doc))['windowFlags.POST_RETURN_WINDOW_CLOSED']).toBe(1);
    expect(contribution(factsOf({ ...doc, windowFlags: undefined }))['windowFlags.POST_RETURN_WINDOW_CLOSED']).toBe(
      undefined,
    );
  });
});

describe('who reads data quality', () => {
  const p = (role: Principal['role'], extra: Partial<Principal> = {}): Principal =>
    ({ subject: 's', role, ...extra }) as Principal;
  it.each([
    ['its own Member State', p('MEMBER_STATE', { memberState: 'BE' }), true],
    ['another Member State', p('MEMBER_STATE', { memberState: 'FR' }), false],
    ['the support desk', p('SUPPORT_DESK'), true],
    ['an administrator', p('ADMIN'), true],
    ['an EU analyst', p('EU_ANALYST'), false],
    ['a partner', p('PARTNER', { partnerId: 'weldo' }), false],
    ['nobody', null, false],
  ] as const)('%s: %s', (_, principal, allowed) => {
    expect(mayReadDataQuality(principal, 'BE')).toBe(allowed);
  });
});

describe('a Member State narrows the request window, never widens it (setEligibilityRules)', () => {
  const refusal = (months: number) => {
    try {
      checkRequestWindowMonths(months);
      return null;
    } catch (error) {
      const e = error as GraphQLError;
      return { message: e.message, ...e.extensions };
    }
  };
  it.each([1, 3, 6])('%i months is a narrower (or the same) window', (months) => {
    expect(refusal(months)).toBeNull();
  });
  it.each([
    [7, 'REQUEST_WINDOW_TOO_WIDE'],
    [12, 'REQUEST_WINDOW_TOO_WIDE'],
    [2_147_483_647, 'REQUEST_WINDOW_TOO_WIDE'],
    [0, 'REQUEST_WINDOW_TOO_NARROW'],
    [-1, 'REQUEST_WINDOW_TOO_NARROW'],
    [2.5, 'REQUEST_WINDOW_TOO_NARROW'],
    [Number.NaN, 'REQUEST_WINDOW_TOO_NARROW'],
  ])('%s months is refused: %s', (months, reason) => {
    expect(refusal(months)).toMatchObject({
      code: 'BAD_USER_INPUT',
      argumentName: 'requestWindowMonths',
      reason,
      message: expect.stringContaining('requestWindowMonths'),
    });
  });
  it("names the programme's limit", () => {
    expect(refusal(7)!.message).toMatch(/up to 6 months after departure, and a Member State may only narrow/);
  });
});
