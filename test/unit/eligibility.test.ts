import { describe, expect, it } from 'vitest';
import {
  addMonths,
  assessEligibility,
  assessRecordEligibility,
  insertedLate,
  missingFactsOf,
  type EligibilityFacts,
} from '../../subgraphs/cases/case/eligibility.js';

const base: EligibilityFacts = {
  legalStay: false,
  temporaryProtection: false,
  applicationSigned: true,
  departureDate: '2024-01-15',
  requestDate: '2024-01-10',
};

describe('eligibility rules (docs/domain.md)', () => {
  it.each([
    ['signed, requested before departure', {}, 'ELIGIBLE', []],
    ['requested on the last day of the window', { requestDate: '2024-07-15' }, 'ELIGIBLE', []],
    ['requested one day after the window', { requestDate: '2024-07-16' }, 'INELIGIBLE', ['REQUEST_AFTER_WINDOW']],
    ['not departed yet', { departureDate: null, requestDate: '2030-01-01' }, 'ELIGIBLE', []],
    ['legal stay under 2011/95/EU', { legalStay: true }, 'INELIGIBLE', ['LEGAL_STAY']],
    ['temporary protection under 2001/55/EC', { temporaryProtection: true }, 'INELIGIBLE', ['TEMPORARY_PROTECTION']],
    [
      'several reasons at once',
      { legalStay: true, temporaryProtection: true, requestDate: '2025-01-01' },
      'INELIGIBLE',
      ['LEGAL_STAY', 'TEMPORARY_PROTECTION', 'REQUEST_AFTER_WINDOW'],
    ],
    ['application not signed', { applicationSigned: false }, 'ELIGIBILITY_LETTER_ONLY', []],
    [
      'not signed and ineligible: ineligible wins',
      { applicationSigned: false, temporaryProtection: true },
      'INELIGIBLE',
      ['TEMPORARY_PROTECTION'],
    ],
  ] as const)('%s → %s', (_, change, outcome, reasons) => {
    expect(assessEligibility({ ...base, ...change })).toEqual({ outcome, reasons });
  });

  it("a Member State narrows the request window, never widens it past the programme's 6 months", () => {
    const facts = { ...base, requestDate: '2024-09-01' };
    expect(assessEligibility(facts).outcome).toBe('INELIGIBLE');
    // A wider value (stored by an earlier version) counts as the programme's 6 months.
    expect(assessEligibility(facts, { requestWindowMonths: 12 })).toEqual({
      outcome: 'INELIGIBLE',
      reasons: ['REQUEST_AFTER_WINDOW'],
    });
    expect(assessEligibility({ ...base, requestDate: '2024-07-15' }, { requestWindowMonths: 60 }).outcome).toBe(
      'ELIGIBLE',
    );
    // Narrower applies: 3 months after 2024-01-15 is 2024-04-15.
    expect(assessEligibility({ ...base, requestDate: '2024-04-15' }, { requestWindowMonths: 3 }).outcome).toBe(
      'ELIGIBLE',
    );
    expect(assessEligibility({ ...base, requestDate: '2024-04-16' }, { requestWindowMonths: 3 }).outcome).toBe(
      'INELIGIBLE',
    );
    // Below one month (0, negative) is never no window: one month applies; a value that is no number, the default.
    const sixWeeks = { ...base, requestDate: '2024-03-01' };
    expect(assessEligibility(sixWeeks, { requestWindowMonths: 0 }).outcome).toBe('INELIGIBLE');
    expect(assessEligibility(sixWeeks, { requestWindowMonths: -5 }).outcome).toBe('INELIGIBLE');
    expect(assessEligibility({ ...base, requestDate: '2024-02-15' }, { requestWindowMonths: 0 }).outcome).toBe(
      'ELIGIBLE',
    );
    expect(assessEligibility(sixWeeks, { requestWindowMonths: Number.NaN }).outcome).toBe('ELIGIBLE');
  });

  it('an unknown signature grants no more than a refused one', () => {
    expect(assessEligibility({ ...base, applicationSigned: null })).toEqual({
      outcome: 'ELIGIBILITY_LETTER_ONLY',
      reasons: [],
    });
    expect(assessEligibility({ ...base, applicationSigned: null, legalStay: true }).outcome).toBe('INELIGIBLE');
  });

  it.each([
    ['every fact given', { applicationSigned: true, requestDate: '2024-01-10' }, []],
    ['no request date', { applicationSigned: true, requestDate: null }, ['requestDate']],
    ['no signature', { applicationSigned: null, requestDate: '2024-01-10' }, ['applicationSigned']],
    ['neither (absent keys)', {}, ['requestDate', 'applicationSigned']],
    ['a refused signature is a fact, not a gap', { applicationSigned: false, requestDate: '2024-01-10' }, []],
  ] as const)('missing facts: %s → %j', (_, facts, missing) => {
    expect(missingFactsOf(facts)).toEqual(missing);
  });
});

describe('a feed record assessed: missing facts stay missing, a late insertion is checked against its date', () => {
  const recorded = { legalStay: false, temporaryProtection: false };
  it.each([
    [
      'request date and signature given',
      { ...recorded, applicationSigned: true, requestDate: '2024-02-01' },
      '2024-12-01',
      { outcome: 'ELIGIBLE', requestDate: '2024-02-01', requestCheckedOn: '2024-02-01', missingFacts: [] },
    ],
    [
      'no request date, inserted within the window: the insertion day is checked, the request date stays null',
      { ...recorded, applicationSigned: true },
      '2024-06-30',
      { outcome: 'ELIGIBLE', requestDate: null, requestCheckedOn: '2024-06-30', missingFacts: ['requestDate'] },
    ],
    [
      'no request date, inserted retroactively after the window',
      { ...recorded, applicationSigned: true, requestDate: null },
      '2024-08-01',
      {
        outcome: 'INELIGIBLE',
        reasons: ['REQUEST_AFTER_WINDOW'],
        requestDate: null,
        requestCheckedOn: '2024-08-01',
        missingFacts: ['requestDate'],
      },
    ],
    [
      'an early request date inserted late: the request date decides',
      { ...recorded, applicationSigned: true, requestDate: '2024-02-01' },
      '2025-06-01',
      { outcome: 'ELIGIBLE', requestCheckedOn: '2024-02-01', missingFacts: [] },
    ],
    [
      'no signature: eligibility letter only, listed as missing',
      { ...recorded, requestDate: '2024-02-01' },
      '2024-03-01',
      { outcome: 'ELIGIBILITY_LETTER_ONLY', requestDate: '2024-02-01', missingFacts: ['applicationSigned'] },
    ],
  ] as const)('%s', (_, facts, insertionDay, expected) => {
    expect(assessRecordEligibility(facts, '2024-01-31', insertionDay, 6)).toMatchObject({
      reasons: [],
      requestWindowMonths: 6,
      ...expected,
    });
  });

  it('applies the effective window, never a wider stored one', () => {
    const late = { ...recorded, applicationSigned: true, requestDate: '2024-09-01' };
    expect(assessRecordEligibility(late, '2024-01-31', '2024-09-02', 12)).toMatchObject({
      outcome: 'INELIGIBLE',
      requestWindowMonths: 6,
    });
    expect(assessRecordEligibility(late, '2024-01-31', '2024-09-02', 2).requestWindowMonths).toBe(2);
    expect(assessRecordEligibility(late, '2024-01-31', '2024-09-02', null).requestWindowMonths).toBe(6);
  });

  it.each([
    [null, '2030-01-01', 6, false],
    ['2024-01-31', '2024-07-31', 6, false],
    ['2024-01-31', '2024-08-01', 6, true],
    ['2024-01-31', '2024-05-01', 3, true],
    ['2024-01-31', '2024-08-01', 12, true],
  ] as const)('departure %s, inserted %s, window %i months: late %s', (departure, inserted, months, late) => {
    expect(insertedLate(departure, inserted, months)).toBe(late);
  });

  it.each([
    ['2024-01-15', 6, '2024-07-15'],
    ['2024-08-31', 6, '2025-02-28'],
    ['2023-08-31', 6, '2024-02-29'],
    ['2024-12-01', 1, '2025-01-01'],
  ])('%s + %i months = %s', (date, months, expected) => {
    expect(addMonths(date, months)).toBe(expected);
  });
});
