import { describe, expect, it } from 'vitest';
import { addMonths, assessEligibility, type EligibilityFacts } from '../../subgraphs/cases/case/eligibility.js';

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

  it('the request window is configurable per Member State', () => {
    const facts = { ...base, requestDate: '2024-09-01' };
    expect(assessEligibility(facts).outcome).toBe('INELIGIBLE');
    expect(assessEligibility(facts, { requestWindowMonths: 12 }).outcome).toBe('ELIGIBLE');
    expect(assessEligibility({ ...base, requestDate: '2024-02-01' }, { requestWindowMonths: 0 }).outcome).toBe(
      'INELIGIBLE',
    );
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
