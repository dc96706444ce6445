import { PACKAGES, type Package } from '../../../shared/domain.js';
import { isCalendarDate } from '../../../shared/scalars.js';
import { packageWindowBreach, type WindowBreach, type WindowFacts } from './windows.js';

/**
 * Itemised reintegration plans (docs/domain.md, "Packages and what they are worth", "A case's life"): a plan
 * is lines, each for one package and one service, with a budget in cents and a provider. The
 * lines of a package never plan more than the case is entitled to for that package; an
 * amendment keeps every line's id, never drops or cuts a line already delivered. Pure rules:
 * transitions.ts applies them, test/unit/plan.test.ts tables them.
 */

export const PLAN_MAX_LINES = 50;
export const PLAN_DESCRIPTION_MAX = 1_000;
export const PLAN_PROVIDER_MAX = 200;
export const EVIDENCE_REFERENCE_MAX = 200;
/** One line's budget: at most 100,000 EUR (no package of one case is worth more). */
export const LINE_BUDGET_MAX_CENTS = 10_000_000;
/** Plan versions one case keeps (submissions, resubmissions and amendments together). */
export const PLAN_MAX_VERSIONS = 20;
/** Deliveries reported on one line. */
export const LINE_MAX_DELIVERIES = 100;
/**
 * What a case's plans (the version in force or waiting and every earlier one) may take in the store, in
 * BSON bytes. The bounds above multiply (versions keep their cancelled lines and deliveries, descriptions
 * may be multi-byte): without this, a case amended at full size outgrows a document (16 MB) and its
 * transition fails half-way. Plans as the programme writes them take a few hundred kilobytes at most.
 */
export const PLAN_MAX_STORED_BYTES = 4 * 1024 * 1024;

/** A plan or delivery refused because the case's plans would take more than PLAN_MAX_STORED_BYTES. */
export function planStorageProblem(storedBytes: number): PlanProblem | null {
  if (storedBytes <= PLAN_MAX_STORED_BYTES) return null;
  return {
    code: 'BAD_USER_INPUT',
    message:
      `the case's plan versions would take ${storedBytes} bytes, more than the ${PLAN_MAX_STORED_BYTES} one case ` +
      'keeps: shorten the descriptions, or keep the lines of the version it amends (by lineId) instead of new ones',
    field: 'plan',
    details: { storedBytes, maxBytes: PLAN_MAX_STORED_BYTES },
  };
}

/** Services of the post-return package (the `ReintegrationService` enum). */
export const REINTEGRATION_SERVICES = [
  'BUSINESS_START_UP',
  'LONG_TERM_HOUSING',
  'SOCIAL_LEGAL_MEDICAL_SUPPORT',
  'JOB_PLACEMENT',
  'SCHOOLING_AND_LANGUAGE',
  'VOCATIONAL_TRAINING',
  'CASH',
] as const;
/** Services of the post-arrival and charter-arrival packages (the `PostArrivalService` enum). */
export const POST_ARRIVAL_SERVICES = [
  'AIRPORT_RECEPTION',
  'TEMPORARY_ACCOMMODATION',
  'IN_COUNTRY_TRAVEL',
  'URGENT_MEDICAL_REFERRAL',
  'VULNERABILITY_ASSISTANCE',
  'CASH',
] as const;

export type PlanLineStatus = 'PLANNED' | 'DELIVERED' | 'CANCELLED';

export interface ServiceDeliveryDoc {
  date: string;
  provider: string;
  evidenceReference: string;
  recordedAt: Date;
}

/** One line of a plan, as stored (the shared contract of issue #15). */
export interface PlanLineDoc {
  /** 'L1', 'L2', ...: stable across amendments. */
  lineId: string;
  package: Package;
  category: string;
  /** Free text: personal data. */
  description: string;
  budgetCents: number;
  provider: string | null;
  status: PlanLineStatus;
  deliveries: ServiceDeliveryDoc[];
}

/** A line as the partner submits it; `lineId` names a line of the version it amends. */
export interface PlanLineInput {
  lineId?: string | null;
  package: Package;
  category: string;
  description: string;
  budgetCents: number;
  provider?: string | null;
}

/** Why a plan (or a delivery) is refused: a named code, what, and where (`field`). */
export interface PlanProblem {
  code:
    | 'BAD_USER_INPUT'
    | 'PACKAGE_NOT_REQUESTED'
    | 'PLAN_EXCEEDS_ENTITLEMENT'
    | 'PLAN_LINE_DELIVERED'
    | 'PLAN_LINE_NOT_FOUND'
    | WindowBreach['code'];
  message: string;
  field?: string;
  details?: Record<string, unknown>;
}

const text = (value: unknown): value is string => typeof value === 'string';

/** Shape and bounds of the submitted lines, and that each is for a package the case requested. */
export function checkPlanLines(lines: readonly PlanLineInput[], packages: readonly Package[]): PlanProblem | null {
  if (lines.length === 0 || lines.length > PLAN_MAX_LINES) {
    return { code: 'BAD_USER_INPUT', message: `a plan has 1 to ${PLAN_MAX_LINES} lines`, field: 'plan.lines' };
  }
  const ids = new Set<string>();
  for (const [i, line] of lines.entries()) {
    const at = `plan.lines.${i}`;
    const bad = (what: string, field: string) => ({
      code: 'BAD_USER_INPUT' as const,
      message: `plan.lines[${i}].${what}`,
      field: `${at}.${field}`,
    });
    if (!(PACKAGES as readonly string[]).includes(line.package)) return bad('package is not a package', 'package');
    const categories: readonly string[] =
      line.package === 'POST_RETURN' ? REINTEGRATION_SERVICES : POST_ARRIVAL_SERVICES;
    if (!categories.includes(line.category)) {
      return bad(`category ${String(line.category).slice(0, 40)} is not a service of ${line.package}`, 'category');
    }
    if (!Number.isSafeInteger(line.budgetCents) || line.budgetCents < 1 || line.budgetCents > LINE_BUDGET_MAX_CENTS) {
      return bad(`budgetCents must be 1 to ${LINE_BUDGET_MAX_CENTS} cents`, 'budgetCents');
    }
    if (!text(line.description) || line.description.trim().length === 0) {
      return bad(`description must be 1 to ${PLAN_DESCRIPTION_MAX} characters`, 'description');
    }
    if (line.description.length > PLAN_DESCRIPTION_MAX) {
      return bad(`description must be 1 to ${PLAN_DESCRIPTION_MAX} characters`, 'description');
    }
    if (line.provider != null && (!text(line.provider) || line.provider.length > PLAN_PROVIDER_MAX)) {
      return bad(`provider must be at most ${PLAN_PROVIDER_MAX} characters`, 'provider');
    }
    if (line.lineId != null) {
      if (!/^L[1-9][0-9]{0,2}$/.test(line.lineId)) return bad('lineId must be L1 to L999', 'lineId');
      if (ids.has(line.lineId)) return bad(`lineId ${line.lineId} appears twice`, 'lineId');
      ids.add(line.lineId);
    }
    if (!packages.includes(line.package)) {
      return {
        code: 'PACKAGE_NOT_REQUESTED',
        message:
          `plan.lines[${i}] is for ${line.package}, which the case did not request ` +
          `(it has ${packages.join(', ') || 'none'})`,
        field: `${at}.package`,
        details: { package: line.package },
      };
    }
  }
  return null;
}

/** A further version is refused once the case holds PLAN_MAX_VERSIONS of them. */
export function versionLimitProblem(versionsKept: number, hasCurrent: boolean): PlanProblem | null {
  const versions = versionsKept + (hasCurrent ? 1 : 0);
  if (versions < PLAN_MAX_VERSIONS) return null;
  return {
    code: 'BAD_USER_INPUT',
    message: `the case already has ${versions} plan versions, the most one case keeps (${PLAN_MAX_VERSIONS})`,
    field: 'plan',
  };
}

/** The cents the lines plan per package, cancelled lines left out. */
export function plannedByPackage(
  lines: ReadonlyArray<Pick<PlanLineDoc, 'package' | 'budgetCents'> & { status?: PlanLineStatus }>,
): Map<Package, number> {
  const sums = new Map<Package, number>();
  for (const line of lines) {
    if (line.status === 'CANCELLED') continue;
    sums.set(line.package, (sums.get(line.package) ?? 0) + line.budgetCents);
  }
  return sums;
}

/** The entitlement per package, from the lines of `computeEntitlement`. */
export function entitlementByPackage(
  lines: ReadonlyArray<{ package: Package; amountCents: number }>,
): Map<Package, number> {
  const sums = new Map<Package, number>();
  for (const line of lines) sums.set(line.package, (sums.get(line.package) ?? 0) + line.amountCents);
  return sums;
}

/** The first package whose lines plan more than its entitlement, or null when the plan is within it. */
export function planExceedsEntitlement(
  lines: ReadonlyArray<Pick<PlanLineDoc, 'package' | 'budgetCents'> & { status?: PlanLineStatus }>,
  entitlement: ReadonlyMap<Package, number>,
): PlanProblem | null {
  for (const [pkg, planned] of plannedByPackage(lines)) {
    const entitled = entitlement.get(pkg) ?? 0;
    if (planned > entitled) {
      return {
        code: 'PLAN_EXCEEDS_ENTITLEMENT',
        message:
          `The plan's ${pkg} lines total ${planned} cents, above the case's ${pkg} entitlement of ${entitled} cents; ` +
          'lower the budgets or drop a line',
        field: 'plan.lines',
        details: { package: pkg, entitlementCents: entitled, plannedCents: planned },
      };
    }
  }
  return null;
}

/**
 * The lines of a new version from what was submitted and the version it amends (none for a
 * first plan). A submitted line naming a lineId keeps that line's deliveries; a new line gets
 * the next free id; a line of the amended version left out is CANCELLED (kept, so its id and
 * what was paid on it stay), unless it was delivered, which refuses the amendment.
 */
export function nextPlanLines(
  submitted: readonly PlanLineInput[],
  previous: readonly PlanLineDoc[] | null,
): { lines: PlanLineDoc[] } | { problem: PlanProblem } {
  const before = new Map((previous ?? []).map((line) => [line.lineId, line]));
  let next = Math.max(0, ...[...before.keys()].map((id) => Number(id.slice(1))));
  const lines: PlanLineDoc[] = [];
  for (const [i, input] of submitted.entries()) {
    const old = input.lineId != null ? before.get(input.lineId) : undefined;
    if (input.lineId != null && !old) {
      return {
        problem: {
          code: 'PLAN_LINE_NOT_FOUND',
          message: `plan.lines[${i}].lineId ${input.lineId} is not a line of the plan it amends`,
          field: `plan.lines.${i}.lineId`,
          details: { lineId: input.lineId },
        },
      };
    }
    const delivered = (old?.deliveries ?? []).length > 0;
    if (old && delivered && (input.package !== old.package || input.budgetCents < old.budgetCents)) {
      return {
        problem: {
          code: 'PLAN_LINE_DELIVERED',
          message:
            `Line ${old.lineId} was delivered: its package stays ${old.package} and its budget ` +
            `${old.budgetCents} cents is not cut (got ${input.package}, ${input.budgetCents})`,
          field: `plan.lines.${i}`,
          details: { lineId: old.lineId },
        },
      };
    }
    lines.push({
      lineId: old?.lineId ?? `L${++next}`,
      package: input.package,
      category: input.category,
      description: input.description,
      budgetCents: input.budgetCents,
      provider: input.provider ?? null,
      status: delivered ? 'DELIVERED' : 'PLANNED',
      deliveries: old?.deliveries ?? [],
    });
  }
  const kept = new Set(lines.map((line) => line.lineId));
  for (const old of previous ?? []) {
    if (kept.has(old.lineId)) continue;
    if (old.deliveries.length > 0) {
      return {
        problem: {
          code: 'PLAN_LINE_DELIVERED',
          message: `Line ${old.lineId} was delivered and cannot be removed from the plan`,
          field: 'plan.lines',
          details: { lineId: old.lineId },
        },
      };
    }
    lines.push({ ...old, status: 'CANCELLED' });
  }
  return { lines };
}

/** The legacy view: the POST_RETURN lines as the planned services of earlier versions. */
export function servicesOf(lines: readonly PlanLineDoc[]) {
  return lines
    .filter((line) => line.package === 'POST_RETURN' && line.status !== 'CANCELLED')
    .map((line) => ({ category: line.category, description: line.description, amountCents: line.budgetCents }));
}

/** The plan's total: every line not cancelled. */
export function planTotalCents(lines: readonly PlanLineDoc[]): number {
  return lines.filter((line) => line.status !== 'CANCELLED').reduce((sum, line) => sum + line.budgetCents, 0);
}

export interface DeliveryInput {
  lineId: string;
  date: string;
  provider: string;
  evidenceReference: string;
}

/** Whether a delivery can be recorded on a line: bounds, the line, and the package's window. */
export function deliveryProblem(
  input: DeliveryInput,
  lines: readonly PlanLineDoc[],
  facts: WindowFacts,
  today: string,
): PlanProblem | null {
  const bad = (message: string, field: string): PlanProblem => ({ code: 'BAD_USER_INPUT', message, field });
  if (!isCalendarDate(input.date)) return bad('date must be a calendar date YYYY-MM-DD', 'date');
  if (input.date > today) return bad(`date ${input.date} is in the future`, 'date');
  if (!text(input.provider) || input.provider.trim().length === 0 || input.provider.length > PLAN_PROVIDER_MAX) {
    return bad(`provider must be 1 to ${PLAN_PROVIDER_MAX} characters`, 'provider');
  }
  if (
    !text(input.evidenceReference) ||
    input.evidenceReference.trim().length === 0 ||
    input.evidenceReference.length > EVIDENCE_REFERENCE_MAX
  ) {
    return bad(`evidenceReference must be 1 to ${EVIDENCE_REFERENCE_MAX} characters`, 'evidenceReference');
  }
  const line = lines.find((l) => l.lineId === input.lineId);
  if (!line || line.status === 'CANCELLED') {
    return {
      code: 'PLAN_LINE_NOT_FOUND',
      message: `The approved plan has no ${line ? 'open ' : ''}line ${String(input.lineId).slice(0, 10)}`,
      field: 'lineId',
      details: { lineId: String(input.lineId).slice(0, 10) },
    };
  }
  if (line.deliveries.length >= LINE_MAX_DELIVERIES) {
    return bad(`line ${line.lineId} already has ${LINE_MAX_DELIVERIES} deliveries`, 'lineId');
  }
  const breach = packageWindowBreach(line.package, input.date, facts);
  if (breach) {
    return {
      code: breach.code,
      message:
        breach.code === 'BEFORE_WINDOW_OPENS'
          ? `date ${input.date} is before the ${line.package} window opens on ${breach.boundary}`
          : `date ${input.date} is after the ${line.package} window closed on ${breach.boundary}`,
      field: 'date',
      details: { package: line.package, boundary: breach.boundary, date: input.date },
    };
  }
  return null;
}

/** A stored plan's lines; a plan stored before lines existed reads as its services, POST_RETURN lines L1, L2, ... */
export function linesOf(plan: {
  lines?: PlanLineDoc[];
  services?: Array<{ category: string; description: string; amountCents: number }>;
}): PlanLineDoc[] {
  if (plan.lines) return plan.lines;
  return (plan.services ?? []).map((s, i) => ({
    lineId: `L${i + 1}`,
    package: 'POST_RETURN',
    category: s.category,
    description: s.description,
    budgetCents: s.amountCents,
    provider: null,
    status: 'PLANNED',
    deliveries: [],
  }));
}

/** Plan facts a case event carries for finance: the lines of the version in force (approved), no free text. */
export interface PlanLineFacts {
  lineId: string;
  package: Package;
  budgetCents: number;
  status: PlanLineStatus;
}

interface PlanVersionLike {
  lines?: PlanLineDoc[];
  services?: Array<{ category: string; description: string; amountCents: number }>;
  decidedAt: Date | null;
  rejectionReason: string | null;
}

const approved = (plan: PlanVersionLike | null | undefined): plan is PlanVersionLike =>
  Boolean(plan && plan.decidedAt && plan.rejectionReason == null);

/**
 * The lines money may be paid against: the current plan once approved; while an amendment
 * waits (or after it was rejected), the last approved version.
 */
export function approvedPlanLines(
  plan: PlanVersionLike | null | undefined,
  versions: readonly PlanVersionLike[] | null | undefined,
): PlanLineFacts[] | null {
  const inForce = approved(plan) ? plan : [...(versions ?? [])].reverse().find(approved);
  if (!inForce) return null;
  return linesOf(inForce).map((line) => ({
    lineId: line.lineId,
    package: line.package,
    budgetCents: line.budgetCents,
    status: line.status,
  }));
}
