import type { Package, ReturnType } from '../../../shared/domain.js';

/**
 * Tariff components (docs/domain.md, "Packages and what they are worth"): post-arrival and charter-arrival
 * are paid per person; post-return pays the main applicant by return type and each
 * family member a flat amount.
 */
export const TARIFF_COMPONENTS = [
  'PER_PERSON',
  'MAIN_APPLICANT_VOLUNTARY',
  'MAIN_APPLICANT_FORCED',
  'FAMILY_MEMBER',
] as const;
export type TariffComponent = (typeof TARIFF_COMPONENTS)[number];

export interface TariffRow {
  package: Package;
  component: TariffComponent;
  /** Integer euro cents. */
  amountCents: number;
  /** First day the price applies, YYYY-MM-DD. */
  validFrom: string;
  /** Last day, or null while current. */
  validTo: string | null;
}

/** The programme's published prices, valid from the start of the JRS contracts. */
export const PROGRAMME_TARIFFS: readonly TariffRow[] = [
  { package: 'POST_ARRIVAL', component: 'PER_PERSON', amountCents: 61_500, validFrom: '2022-04-01', validTo: null },
  { package: 'CHARTER_ARRIVAL', component: 'PER_PERSON', amountCents: 20_500, validFrom: '2022-04-01', validTo: null },
  {
    package: 'POST_RETURN',
    component: 'MAIN_APPLICANT_VOLUNTARY',
    amountCents: 200_000,
    validFrom: '2022-04-01',
    validTo: null,
  },
  {
    package: 'POST_RETURN',
    component: 'MAIN_APPLICANT_FORCED',
    amountCents: 100_000,
    validFrom: '2022-04-01',
    validTo: null,
  },
  { package: 'POST_RETURN', component: 'FAMILY_MEMBER', amountCents: 100_000, validFrom: '2022-04-01', validTo: null },
];

export interface EntitlementFacts {
  packages: readonly Package[];
  returnType: ReturnType;
  /** Main applicant plus family members, at least 1. */
  familySize: number;
  /** Tariffs valid on this day apply (the departure date, or today before departure). */
  referenceDate: string;
}

export interface EntitlementLine {
  package: Package;
  component: TariffComponent;
  persons: number;
  unitCents: number;
  amountCents: number;
}

export interface Entitlement {
  currency: 'EUR';
  totalCents: number;
  lines: EntitlementLine[];
  referenceDate: string;
}

export class TariffNotFoundError extends Error {
  constructor(
    public readonly pkg: Package,
    public readonly component: TariffComponent,
    public readonly date: string,
  ) {
    super(`No ${pkg} tariff (${component}) is valid on ${date}; add a tariff version covering that date`);
    this.name = 'TariffNotFoundError';
  }
}

/** The tariff row for one component on one day: validFrom <= date <= validTo. */
export function tariffOn(
  rows: readonly TariffRow[],
  pkg: Package,
  component: TariffComponent,
  date: string,
): TariffRow {
  let best: TariffRow | undefined;
  for (const row of rows) {
    if (row.package !== pkg || row.component !== component) continue;
    if (row.validFrom > date || (row.validTo !== null && row.validTo < date)) continue;
    if (!best || row.validFrom > best.validFrom) best = row;
  }
  if (!best) throw new TariffNotFoundError(pkg, component, date);
  return best;
}

/** A case's entitlement in integer cents, one line per tariff component. */
export function computeEntitlement(facts: EntitlementFacts, rows: readonly TariffRow[]): Entitlement {
  if (!Number.isInteger(facts.familySize) || facts.familySize < 1) {
    throw new RangeError(`familySize must be a positive integer, got ${facts.familySize}`);
  }
  const lines: EntitlementLine[] = [];
  const add = (pkg: Package, component: TariffComponent, persons: number) => {
    if (persons === 0) return;
    const unitCents = tariffOn(rows, pkg, component, facts.referenceDate).amountCents;
    lines.push({ package: pkg, component, persons, unitCents, amountCents: unitCents * persons });
  };
  for (const pkg of new Set(facts.packages)) {
    if (pkg === 'POST_RETURN') {
      add(pkg, facts.returnType === 'VOLUNTARY' ? 'MAIN_APPLICANT_VOLUNTARY' : 'MAIN_APPLICANT_FORCED', 1);
      add(pkg, 'FAMILY_MEMBER', facts.familySize - 1);
    } else {
      add(pkg, 'PER_PERSON', facts.familySize);
    }
  }
  return {
    currency: 'EUR',
    totalCents: lines.reduce((sum, line) => sum + line.amountCents, 0),
    lines,
    referenceDate: facts.referenceDate,
  };
}
