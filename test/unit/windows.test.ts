import { describe, expect, it } from 'vitest';
import {
  addDays,
  arrivalBeforeDeparture,
  caseWindows,
  daysUntil,
  effectiveRequestWindowMonths,
  lateReportBreach,
  packageWindowBreach,
  requestWindowBreach,
  type WindowFacts,
} from '../../subgraphs/cases/case/windows.js';
import { windowFlagChanges } from '../../subgraphs/cases/case/window-flags.js';

const facts: WindowFacts = {
  departureDate: '2024-01-31',
  arrivalDate: '2024-02-01',
  charterFlight: false,
  requestWindowMonths: 6,
};

describe('case windows (docs/domain.md)', () => {
  it.each([
    [
      'voluntary return',
      {},
      { postArrivalEndsOn: '2024-02-03', postReturnEndsOn: '2025-01-31', requestWindowEndsOn: '2024-07-31' },
    ],
    [
      'charter arrival: the arrival day only',
      { charterFlight: true },
      { postArrivalEndsOn: '2024-02-01', postReturnEndsOn: '2025-01-31', requestWindowEndsOn: '2024-07-31' },
    ],
    [
      'a Member State narrowed the request window to 3 months',
      { requestWindowMonths: 3 },
      { postArrivalEndsOn: '2024-02-03', postReturnEndsOn: '2025-01-31', requestWindowEndsOn: '2024-04-30' },
    ],
    [
      "a wider configuration is clamped to the programme's 6 months",
      { requestWindowMonths: 12 },
      { postArrivalEndsOn: '2024-02-03', postReturnEndsOn: '2025-01-31', requestWindowEndsOn: '2024-07-31' },
    ],
    [
      'not departed, not arrived',
      { departureDate: null, arrivalDate: null },
      { postArrivalEndsOn: null, postReturnEndsOn: null, requestWindowEndsOn: null },
    ],
    [
      'leap day departure',
      { departureDate: '2024-02-29', arrivalDate: '2024-02-29' },
      { postArrivalEndsOn: '2024-03-02', postReturnEndsOn: '2025-02-28', requestWindowEndsOn: '2024-08-29' },
    ],
    [
      'arrival across a year end',
      { arrivalDate: '2024-12-30' },
      { postArrivalEndsOn: '2025-01-01', postReturnEndsOn: '2025-01-31', requestWindowEndsOn: '2024-07-31' },
    ],
  ] as const)('%s', (_, change, expected) => {
    expect(caseWindows({ ...facts, ...change })).toEqual(expected);
  });

  it.each([
    [undefined, 6],
    [null, 6],
    [Number.NaN, 6],
    [0, 1],
    [-4, 1],
    [3, 3],
    [3.9, 3],
    [6, 6],
    [7, 6],
    [120, 6],
  ])('configured request window %s → %s months', (configured, months) => {
    expect(effectiveRequestWindowMonths(configured)).toBe(months);
  });

  it.each([
    ['POST_ARRIVAL', '2024-02-01', null],
    ['POST_ARRIVAL', '2024-02-03', null],
    ['POST_ARRIVAL', '2024-02-04', 'POST_ARRIVAL_WINDOW_CLOSED'],
    ['POST_ARRIVAL', '2024-01-31', 'BEFORE_WINDOW_OPENS'],
    ['CHARTER_ARRIVAL', '2024-02-03', 'POST_ARRIVAL_WINDOW_CLOSED'],
    ['POST_RETURN', '2024-01-31', null],
    ['POST_RETURN', '2025-01-31', null],
    ['POST_RETURN', '2025-02-01', 'POST_RETURN_WINDOW_CLOSED'],
    ['POST_RETURN', '2024-01-30', 'BEFORE_WINDOW_OPENS'],
  ] as const)('%s dated %s → %s', (pkg, date, code) => {
    const charter = pkg === 'CHARTER_ARRIVAL';
    expect(packageWindowBreach(pkg, date, { ...facts, charterFlight: charter })?.code ?? null).toBe(code);
  });

  it('nothing to check before the window can be computed', () => {
    expect(packageWindowBreach('POST_ARRIVAL', '2030-01-01', { ...facts, arrivalDate: null })).toBeNull();
    expect(packageWindowBreach('POST_RETURN', '2030-01-01', { ...facts, departureDate: null })).toBeNull();
  });

  it('a retroactive insertion is checked against its date', () => {
    expect(requestWindowBreach('2024-07-31', facts)).toBeNull();
    expect(requestWindowBreach('2024-08-01', facts)).toEqual({
      boundary: '2024-07-31',
      date: '2024-08-01',
    });
    expect(requestWindowBreach('2024-05-01', { ...facts, requestWindowMonths: 3 })?.boundary).toBe('2024-04-30');
  });

  it('day arithmetic', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2023-02-28', 1)).toBe('2023-03-01');
    expect(daysUntil('2024-03-01', '2024-02-28')).toBe(2);
    expect(daysUntil('2024-02-27', '2024-02-28')).toBe(-1);
  });
});

describe('late reports are flagged (windows.ts lateReportBreach, case/window-flags.ts)', () => {
  it.each([
    ['arrival with services reported on the last day', { kind: 'ARRIVAL', postArrivalServices: 2 }, '2024-02-03', null],
    [
      'arrival with services reported the day after',
      { kind: 'ARRIVAL', postArrivalServices: 1 },
      '2024-02-04',
      { code: 'POST_ARRIVAL_WINDOW_CLOSED', boundary: '2024-02-03', date: '2024-02-04' },
    ],
    [
      'arrival without services, reported late: nothing was delivered late',
      { kind: 'ARRIVAL', postArrivalServices: 0 },
      '2024-05-01',
      null,
    ],
    ['completion within 12 months', { kind: 'COMPLETION' }, '2025-01-31', null],
    [
      'completion after 12 months',
      { kind: 'COMPLETION' },
      '2025-02-01',
      { code: 'POST_RETURN_WINDOW_CLOSED', boundary: '2025-01-31', date: '2025-02-01' },
    ],
  ] as const)('%s', (_, report, reportedOn, expected) => {
    expect(lateReportBreach(report, reportedOn, facts)).toEqual(expected);
  });

  it('a charter arrival has one day; no window before arrival or departure', () => {
    expect(
      lateReportBreach({ kind: 'ARRIVAL', postArrivalServices: 1 }, '2024-02-02', { ...facts, charterFlight: true }),
    ).toMatchObject({ code: 'POST_ARRIVAL_WINDOW_CLOSED', boundary: '2024-02-01' });
    expect(
      lateReportBreach({ kind: 'ARRIVAL', postArrivalServices: 1 }, '2030-01-01', { ...facts, arrivalDate: null }),
    ).toBeNull();
    expect(lateReportBreach({ kind: 'COMPLETION' }, '2030-01-01', { ...facts, departureDate: null })).toBeNull();
  });

  it('records the flag on the case after those it has, only for the steps a window bounds', () => {
    const doc = { departureDate: '2024-01-31', arrivalDate: '2024-02-01', charterFlight: false, windowFlags: [] };
    const at = new Date('2025-03-01T09:00:00Z');
    expect(windowFlagChanges('reportCompletion', {}, doc, at)).toEqual([
      {
        path: 'windowFlags',
        value: [{ code: 'POST_RETURN_WINDOW_CLOSED', boundary: '2025-01-31', date: '2025-03-01', at }],
      },
    ]);
    // The arrival report's own date counts, not the stored one.
    expect(
      windowFlagChanges('reportArrival', { arrivalDate: '2025-02-27', postArrivalServices: ['CASH'] }, doc, at),
    ).toEqual([]);
    expect(
      windowFlagChanges('reportArrival', { arrivalDate: '2025-02-20', postArrivalServices: ['CASH'] }, doc, at)[0]!
        .value,
    ).toEqual([{ code: 'POST_ARRIVAL_WINDOW_CLOSED', boundary: '2025-02-22', date: '2025-03-01', at }]);
    expect(windowFlagChanges('approveCompletion', {}, doc, at)).toEqual([]);
    expect(windowFlagChanges('reportCompletion', {}, doc, new Date('2025-01-31T23:00:00Z'))).toEqual([]);
  });

  it.each([
    [null, '2024-01-01', false],
    ['2024-01-31', '2024-01-31', false],
    ['2024-01-31', '2024-01-30', true],
  ] as const)('departure %s, arrival %s: before departure %s', (departure, arrival, before) => {
    expect(arrivalBeforeDeparture(departure, arrival)).toBe(before);
  });
});
