import { describe, expect, it } from 'vitest';
import {
  computeEntitlement,
  PROGRAMME_TARIFFS,
  TariffNotFoundError,
  tariffOn,
  type TariffRow,
} from '../../subgraphs/finance/tariffs/rules.js';

describe('entitlement from the programme tariffs (docs/domain.md)', () => {
  it.each([
    // packages, return type, family size, expected cents
    [['POST_ARRIVAL'], 'VOLUNTARY', 1, 61_500],
    [['POST_ARRIVAL'], 'FORCED', 4, 4 * 61_500],
    [['CHARTER_ARRIVAL'], 'FORCED', 3, 3 * 20_500],
    [['POST_RETURN'], 'VOLUNTARY', 1, 200_000],
    [['POST_RETURN'], 'FORCED', 1, 100_000],
    [['POST_RETURN'], 'VOLUNTARY', 3, 200_000 + 2 * 100_000],
    [['POST_RETURN'], 'FORCED', 5, 100_000 + 4 * 100_000],
    [['POST_ARRIVAL', 'POST_RETURN'], 'VOLUNTARY', 2, 2 * 61_500 + 200_000 + 100_000],
    [['CHARTER_ARRIVAL', 'POST_ARRIVAL', 'POST_RETURN'], 'FORCED', 2, 2 * 20_500 + 2 * 61_500 + 100_000 + 100_000],
    [[], 'VOLUNTARY', 1, 0],
  ] as const)('%j %s family of %i → %i cents', (packages, returnType, familySize, cents) => {
    const result = computeEntitlement(
      { packages, returnType, familySize, referenceDate: '2024-01-10' },
      PROGRAMME_TARIFFS,
    );
    expect(result.totalCents).toBe(cents);
    expect(result.currency).toBe('EUR');
    expect(result.lines.reduce((s, l) => s + l.amountCents, 0)).toBe(cents);
  });

  it('counts a package listed twice once', () => {
    const result = computeEntitlement(
      {
        packages: ['POST_ARRIVAL', 'POST_ARRIVAL'],
        returnType: 'VOLUNTARY',
        familySize: 1,
        referenceDate: '2024-01-10',
      },
      PROGRAMME_TARIFFS,
    );
    expect(result.totalCents).toBe(61_500);
  });

  it('applies the tariff version valid on the reference date', () => {
    const rows: TariffRow[] = [
      {
        package: 'POST_ARRIVAL',
        component: 'PER_PERSON',
        amountCents: 61_500,
        validFrom: '2022-04-01',
        validTo: '2024-12-31',
      },
      { package: 'POST_ARRIVAL', component: 'PER_PERSON', amountCents: 65_000, validFrom: '2025-01-01', validTo: null },
    ];
    expect(tariffOn(rows, 'POST_ARRIVAL', 'PER_PERSON', '2024-12-31').amountCents).toBe(61_500);
    expect(tariffOn(rows, 'POST_ARRIVAL', 'PER_PERSON', '2025-01-01').amountCents).toBe(65_000);
    expect(
      computeEntitlement(
        { packages: ['POST_ARRIVAL'], returnType: 'FORCED', familySize: 2, referenceDate: '2025-06-01' },
        rows,
      ).totalCents,
    ).toBe(130_000);
  });

  it('says which tariff is missing for a date before any version', () => {
    expect(() =>
      computeEntitlement(
        { packages: ['POST_RETURN'], returnType: 'VOLUNTARY', familySize: 1, referenceDate: '2020-01-01' },
        PROGRAMME_TARIFFS,
      ),
    ).toThrow(new TariffNotFoundError('POST_RETURN', 'MAIN_APPLICANT_VOLUNTARY', '2020-01-01'));
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses family size %s', (familySize) => {
    expect(() =>
      computeEntitlement(
        { packages: ['POST_ARRIVAL'], returnType: 'VOLUNTARY', familySize, referenceDate: '2024-01-01' },
        PROGRAMME_TARIFFS,
      ),
    ).toThrow(RangeError);
  });
});
