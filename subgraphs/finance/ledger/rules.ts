import type { Package } from '../../../shared/domain.js';
import { packageWindowBreach, type WindowBreach } from '../../cases/case/windows.js';

/**
 * The money rules of a case (docs/domain.md, "Packages and what they are worth"), pure: who has
 * an entitlement, what is committed, who counts towards the year's objective, and what a
 * disbursement may be. The projector and recordDisbursement apply them; test/unit/money.test.ts
 * tables them.
 */

/** The case facts the rules read (from case events; older events lack the optional ones). */
export interface MoneyFacts {
  status: string;
  accepted: boolean;
  eligibilityOutcome?: string | null;
}

export type NoEntitlementReason = 'INELIGIBLE' | 'WITHDRAWN';

/** An ineligible or withdrawn case has no entitlement to pay. */
export function noEntitlementReason(
  facts: Pick<MoneyFacts, 'status' | 'eligibilityOutcome'>,
): NoEntitlementReason | null {
  if (facts.eligibilityOutcome === 'INELIGIBLE') return 'INELIGIBLE';
  if (facts.status === 'WITHDRAWN') return 'WITHDRAWN';
  return null;
}

/**
 * What the case commits of the budget: its whole entitlement once the partner accepted an
 * eligible case (whatever its packages); once ineligible or withdrawn, only what was already
 * paid (the rest is released); nothing before acceptance.
 */
export function targetCommitmentCents(facts: MoneyFacts, entitlementCents: number, disbursedCents: number): number {
  if (noEntitlementReason(facts)) return disbursedCents;
  return facts.accepted ? Math.max(entitlementCents, disbursedCents) : 0;
}

/** The year's objective counts the people of eligible cases that were not withdrawn. */
export function countsTowardObjective(facts: Pick<MoneyFacts, 'status' | 'eligibilityOutcome'>): boolean {
  return noEntitlementReason(facts) === null;
}

export interface LedgerLine {
  lineId: string;
  package: Package;
  budgetCents: number;
  status: string;
}

export interface PaidSoFar {
  package: Package;
  planLineId?: string | null;
  amountCents: number;
}

export interface DisbursementRequest {
  package: Package;
  planLineId: string | null;
  date: string;
  amountCents: number;
}

export interface DisbursementCase {
  status: string;
  eligibilityOutcome?: string | null;
  packages: readonly Package[];
  /** Entitlement per package, from the entitlement lines. */
  entitlementByPackage: ReadonlyMap<Package, number>;
  /** The plan in force; null without an approved plan. */
  planLines: readonly LedgerLine[] | null;
  departureDate: string | null;
  arrivalDate: string | null;
  charterFlight: boolean;
}

export type DisbursementRefusal =
  | { code: 'NO_ENTITLEMENT'; message: string; reason: NoEntitlementReason }
  | { code: 'PACKAGE_NOT_REQUESTED'; message: string; package: Package }
  | { code: 'PLAN_LINE_REQUIRED'; message: string; package: Package }
  | { code: 'PLAN_LINE_NOT_FOUND'; message: string; lineId: string }
  | { code: 'PLAN_LINE_BUDGET_EXCEEDED'; message: string; lineId: string; budgetCents: number; paidCents: number }
  | { code: 'ENTITLEMENT_EXCEEDED'; message: string; package: Package; entitlementCents: number; paidCents: number }
  | { code: WindowBreach['code']; message: string; boundary: string | null; package: Package };

/**
 * Whether a disbursement may be recorded, given what was paid before it: the case has an
 * entitlement; the package is the case's; a post-return payment (or one on a package the plan
 * itemises) names an open line of the plan in force; the line stays within its budget and the
 * package within its entitlement; the date falls inside the package's window.
 */
export function disbursementRefusal(
  c: DisbursementCase,
  request: DisbursementRequest,
  paid: readonly PaidSoFar[],
): DisbursementRefusal | null {
  const none = noEntitlementReason(c);
  if (none) {
    return { code: 'NO_ENTITLEMENT', message: `The case is ${none}: it has no entitlement to pay`, reason: none };
  }
  const pkg = request.package;
  if (!c.packages.includes(pkg)) {
    return { code: 'PACKAGE_NOT_REQUESTED', message: `The case did not request ${pkg}`, package: pkg };
  }
  const planned = (c.planLines ?? []).filter((line) => line.package === pkg);
  let line: LedgerLine | undefined;
  if (request.planLineId === null) {
    if (pkg === 'POST_RETURN' || planned.length > 0) {
      return {
        code: 'PLAN_LINE_REQUIRED',
        message:
          pkg === 'POST_RETURN'
            ? 'A post-return disbursement names the plan line it pays (planLineId)'
            : `The plan itemises ${pkg}: name the plan line this pays (planLineId)`,
        package: pkg,
      };
    }
  } else {
    line = (c.planLines ?? []).find((l) => l.lineId === request.planLineId);
    if (!line || line.package !== pkg || line.status === 'CANCELLED') {
      const which = request.planLineId.slice(0, 10);
      return {
        code: 'PLAN_LINE_NOT_FOUND',
        message: c.planLines
          ? `The approved plan has no open ${pkg} line ${which}`
          : `The case has no approved plan, so no line ${which}`,
        lineId: which,
      };
    }
  }
  // Post-arrival and charter-arrival assistance follow the arrival: before it is reported, their
  // window has not opened (packageWindowBreach cannot place a date in a window it cannot compute).
  if (pkg !== 'POST_RETURN' && !c.arrivalDate) {
    return {
      code: 'BEFORE_WINDOW_OPENS',
      message: `The arrival is not reported yet: the ${pkg} window opens on the arrival day`,
      boundary: null,
      package: pkg,
    };
  }
  // Post-return assistance runs from departure: without a departure date its window has not opened.
  if (pkg === 'POST_RETURN' && !c.departureDate) {
    return {
      code: 'BEFORE_WINDOW_OPENS',
      message: 'The departure is not recorded yet: the POST_RETURN window opens on the departure day',
      boundary: null,
      package: pkg,
    };
  }
  const breach = packageWindowBreach(pkg, request.date, {
    departureDate: c.departureDate,
    arrivalDate: c.arrivalDate,
    charterFlight: c.charterFlight,
    requestWindowMonths: 6,
  });
  if (breach) {
    const message =
      breach.code === 'BEFORE_WINDOW_OPENS'
        ? `date ${request.date} is before the ${pkg} window opens on ${breach.boundary}`
        : `date ${request.date} is after the ${pkg} window closed on ${breach.boundary}`;
    return { code: breach.code, message, boundary: breach.boundary, package: pkg };
  }
  if (line) {
    const paidOnLine = paid.filter((p) => p.planLineId === line.lineId).reduce((n, p) => n + p.amountCents, 0);
    if (paidOnLine + request.amountCents > line.budgetCents) {
      return {
        code: 'PLAN_LINE_BUDGET_EXCEEDED',
        message:
          `Paying ${request.amountCents} cents on line ${line.lineId} would bring it to ` +
          `${paidOnLine + request.amountCents}, ` +
          `above its budget of ${line.budgetCents} (already paid ${paidOnLine})`,
        lineId: line.lineId,
        budgetCents: line.budgetCents,
        paidCents: paidOnLine,
      };
    }
  }
  const entitled = c.entitlementByPackage.get(pkg) ?? 0;
  const paidOnPackage = paid.filter((p) => p.package === pkg).reduce((n, p) => n + p.amountCents, 0);
  if (paidOnPackage + request.amountCents > entitled) {
    return {
      code: 'ENTITLEMENT_EXCEEDED',
      message:
        `Paying ${request.amountCents} cents of ${pkg} would bring it to ${paidOnPackage + request.amountCents}, ` +
        `above the case's ${pkg} entitlement of ${entitled} (already paid ${paidOnPackage})`,
      package: pkg,
      entitlementCents: entitled,
      paidCents: paidOnPackage,
    };
  }
  return null;
}

/** What was paid per plan line. */
export function paidByLine(paid: readonly PaidSoFar[]): Array<{ lineId: string; paidCents: number }> {
  const sums = new Map<string, number>();
  for (const p of paid) if (p.planLineId) sums.set(p.planLineId, (sums.get(p.planLineId) ?? 0) + p.amountCents);
  return [...sums]
    .sort(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1)))
    .map(([lineId, paidCents]) => ({ lineId, paidCents }));
}
