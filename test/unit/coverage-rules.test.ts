import { describe, expect, it } from 'vitest';
import { assignPartner, dayBefore, type CoveragePeriod } from '../../subgraphs/coverage/rules.js';

const periods: CoveragePeriod[] = [
  {
    countryCode: 'IQ',
    partnerId: 'irara',
    packages: ['POST_ARRIVAL', 'POST_RETURN'],
    validFrom: '2022-04-01',
    validTo: '2023-12-31',
  },
  {
    countryCode: 'IQ',
    partnerId: 'life-makers',
    packages: ['POST_ARRIVAL', 'POST_RETURN', 'CHARTER_ARRIVAL'],
    validFrom: '2024-01-01',
    validTo: null,
  },
  { countryCode: 'AF', partnerId: 'weldo', packages: ['POST_ARRIVAL'], validFrom: '2022-04-01', validTo: null },
];

describe('partner assignment by coverage', () => {
  it.each([
    ['IQ', ['POST_RETURN'], '2023-06-01', 'irara'],
    ['IQ', ['POST_RETURN'], '2023-12-31', 'irara'],
    ['IQ', ['POST_RETURN'], '2024-01-01', 'life-makers'],
    ['IQ', ['CHARTER_ARRIVAL', 'POST_ARRIVAL'], '2024-05-01', 'life-makers'],
    ['AF', ['POST_ARRIVAL'], '2024-05-01', 'weldo'],
  ] as const)('%s %j on %s → %s', (country, packages, on, partner) => {
    const result = assignPartner(periods, country, packages, on);
    expect(result.ok && result.period.partnerId).toBe(partner);
  });

  it('names the coverage there is when a package is not covered', () => {
    expect(assignPartner(periods, 'AF', ['POST_ARRIVAL', 'POST_RETURN'], '2024-05-01')).toEqual({
      ok: false,
      message:
        'No partner covers AF for POST_ARRIVAL + POST_RETURN on 2024-05-01 (weldo covers AF with POST_ARRIVAL ' +
        'since 2022-04-01). Request only covered packages, or ask the support desk to extend coverage.',
    });
  });

  it('explains a date before any coverage and an unknown country', () => {
    const early = assignPartner(periods, 'IQ', ['POST_ARRIVAL'], '2021-01-01');
    expect(early.ok).toBe(false);
    if (!early.ok)
      expect(early.message).toContain('coverage periods: irara 2022-04-01..2023-12-31; life-makers 2024-01-01..now');
    const unknown = assignPartner(periods, 'ZZ', ['POST_ARRIVAL'], '2024-01-01');
    if (!unknown.ok) expect(unknown.message).toContain('No partner covers ZZ on 2024-01-01 (coverage periods: none)');
  });

  it('closes a period the day before the next starts', () => {
    expect(dayBefore('2024-03-01')).toBe('2024-02-29');
    expect(dayBefore('2025-01-01')).toBe('2024-12-31');
  });
});
