import type { CaseEventFacts } from '../../../shared/case-events/index.js';
import type { Package } from '../../../shared/domain.js';
import { computeEntitlement, type EntitlementLine, type TariffRow } from '../tariffs/rules.js';
import { countsTowardObjective } from './rules.js';

/** The case facts finance needs, as case events carry them (no personal data). */
export type FinanceFacts = Pick<
  CaseEventFacts,
  'memberState' | 'countryOfOrigin' | 'partnerId' | 'packages' | 'returnType' | 'returnees' | 'departureDate' | 'month'
> &
  Partial<Pick<CaseEventFacts, 'status' | 'eligibilityOutcome'>>;

/**
 * The case facts finance's ledger entry keeps for the money rules (rules.ts): status,
 * acceptance, eligibility, the arrival window and the plan lines in force. A ledger written
 * without the projector (the demo seed) sets them the same way.
 */
export function ledgerCaseFacts(facts: CaseEventFacts) {
  return {
    status: facts.status,
    accepted: facts.accepted,
    eligibilityOutcome: facts.eligibilityOutcome ?? null,
    arrivalDate: facts.arrivalDate ?? null,
    charterFlight: facts.charterFlight ?? false,
    planLines: facts.planLines ?? null,
  };
}

/** A path → increment map for one spend document (one year). */
export type SpendInc = Record<string, number>;

const yearOf = (date: string | Date) => (typeof date === 'string' ? date.slice(0, 4) : date.toISOString().slice(0, 4));

/** Entitlement at the tariffs of the departure date (or the month of insertion before departure). */
export function entitlementOf(
  facts: FinanceFacts,
  tariffs: readonly TariffRow[],
): { totalCents: number; lines: EntitlementLine[] } {
  const referenceDate = facts.departureDate ?? `${facts.month}-01`;
  try {
    const entitlement = computeEntitlement(
      {
        packages: facts.packages,
        returnType: facts.returnType,
        familySize: Math.max(1, facts.returnees),
        referenceDate,
      },
      tariffs,
    );
    return { totalCents: entitlement.totalCents, lines: entitlement.lines };
  } catch {
    // No tariff for that date: nothing can be committed until one is added.
    return { totalCents: 0, lines: [] };
  }
}

function byDimensions(prefix: string, facts: FinanceFacts, amount: number): SpendInc {
  return {
    [`${prefix}.total`]: amount,
    [`${prefix}.byMemberState.${facts.memberState}`]: amount,
    [`${prefix}.byCountry.${facts.countryOfOrigin}`]: amount,
    [`${prefix}.byPartner.${facts.partnerId ?? 'UNASSIGNED'}`]: amount,
  };
}

/** People supported, counted in the year of departure (the objective is 7,000 people a year). */
export function peopleDelta(before: FinanceFacts | null, after: FinanceFacts | null): Map<string, SpendInc> {
  const result = new Map<string, SpendInc>();
  const add = (facts: FinanceFacts, sign: 1 | -1) => {
    // Only eligible cases that were not withdrawn count towards the objective (older events: all).
    if (!countsTowardObjective({ status: facts.status ?? '', eligibilityOutcome: facts.eligibilityOutcome })) return;
    const year = (facts.departureDate ?? facts.month).slice(0, 4);
    const inc = result.get(year) ?? {};
    for (const [path, value] of Object.entries(byDimensions('people', facts, sign * facts.returnees)))
      inc[path] = (inc[path] ?? 0) + value;
    result.set(year, inc);
  };
  if (before) add(before, -1);
  if (after) add(after, 1);
  for (const [year, inc] of result) {
    for (const [path, value] of Object.entries(inc)) if (value === 0) delete inc[path];
    if (Object.keys(inc).length === 0) result.delete(year);
  }
  return result;
}

/**
 * A change of commitment (positive when committed, negative when released), in the year it
 * happens, by dimension and by package: each package's share of the entitlement, scaled to
 * the change (a release of what was not paid takes it back in the same shares).
 */
export function commitmentChangeInc(
  facts: FinanceFacts,
  lines: readonly EntitlementLine[],
  deltaCents: number,
  at: Date | string,
): [string, SpendInc] {
  const inc = byDimensions('committed', facts, deltaCents);
  const total = lines.reduce((sum, line) => sum + line.amountCents, 0);
  const byPackage = new Map<string, number>();
  for (const line of lines) byPackage.set(line.package, (byPackage.get(line.package) ?? 0) + line.amountCents);
  const packages = [...byPackage];
  let left = deltaCents;
  packages.forEach(([pkg, cents], i) => {
    // The last package takes the rounding rest, so the packages sum to the change exactly.
    const share = i === packages.length - 1 ? left : total > 0 ? Math.round((deltaCents * cents) / total) : 0;
    left -= share;
    inc[`committed.byPackage.${pkg}`] = share;
  });
  return [yearOf(at), inc];
}

/** The whole entitlement committed at once (the seeded ledger's commitments). */
export function commitmentInc(
  facts: FinanceFacts,
  lines: readonly EntitlementLine[],
  at: Date | string,
): [string, SpendInc] {
  return commitmentChangeInc(
    facts,
    lines,
    lines.reduce((sum, line) => sum + line.amountCents, 0),
    at,
  );
}

export function disbursementInc(
  facts: FinanceFacts,
  pkg: Package,
  amountCents: number,
  date: string,
): [string, SpendInc] {
  return [
    yearOf(date),
    { ...byDimensions('disbursed', facts, amountCents), [`disbursed.byPackage.${pkg}`]: amountCents },
  ];
}
