import type { Principal, Role } from './auth.js';
import { principalRequired } from './errors.js';

/**
 * The access model, as pure functions: which cases a principal sees, which of their
 * personal data, which aggregates, and which role may do what. Every subgraph and the
 * gateway ask these functions (the cases subgraph through its CaseAccess, finance through
 * its FinanceAccess, resolvers for the steps only some roles take), never a role by name,
 * so the rules read the same everywhere and are unit-tested in one table
 * (test/unit/access.test.ts). The README's "Access model" section says the same in words.
 */

/** What decides who may see a case: the Member State that owns it and the partner assigned to it. */
export interface CaseOwnership {
  memberState: string;
  partnerId?: string | null;
}

/** The central roles see the metadata of every case (never personal data by role alone). */
const CENTRAL_ROLES: ReadonlySet<Role> = new Set<Role>(['EU_ANALYST', 'SUPPORT_DESK', 'ADMIN']);

export type CaseScope =
  | { kind: 'all' }
  | { kind: 'memberState'; memberState: string }
  | { kind: 'partner'; partnerId: string }
  | { kind: 'none' };

/** The cases a principal may see at all. Anonymous callers and the DPO see none. */
export function caseScope(principal: Principal | null): CaseScope {
  if (!principal) return { kind: 'none' };
  if (principal.role === 'MEMBER_STATE' && principal.memberState) {
    return { kind: 'memberState', memberState: principal.memberState };
  }
  if (principal.role === 'PARTNER' && principal.partnerId) return { kind: 'partner', partnerId: principal.partnerId };
  if (CENTRAL_ROLES.has(principal.role)) return { kind: 'all' };
  return { kind: 'none' };
}

export function inScope(scope: CaseScope, c: CaseOwnership): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'memberState':
      return c.memberState === scope.memberState;
    case 'partner':
      return c.partnerId != null && c.partnerId === scope.partnerId;
    default:
      return false;
  }
}

export function canSeeCase(principal: Principal | null, c: CaseOwnership): boolean {
  return inScope(caseScope(principal), c);
}

/**
 * How much of a case's personal data a principal gets:
 * - FULL: the owning Member State, the assigned partner, and a support-desk user holding a
 *   justified, recorded access to this case (`hasSupportGrant`);
 * - PSEUDONYMISED: EU analysts (stable pseudonyms, age bands; no names, birth dates, free text);
 * - NONE: everyone else (support desk without a grant, administrators, the DPO).
 */
export type PersonalAccess = 'FULL' | 'PSEUDONYMISED' | 'NONE';

export function personalAccess(principal: Principal | null, c: CaseOwnership, hasSupportGrant = false): PersonalAccess {
  if (!principal) return 'NONE';
  switch (principal.role) {
    case 'MEMBER_STATE':
      return principal.memberState === c.memberState ? 'FULL' : 'NONE';
    case 'PARTNER':
      return c.partnerId != null && principal.partnerId === c.partnerId ? 'FULL' : 'NONE';
    case 'SUPPORT_DESK':
      return hasSupportGrant ? 'FULL' : 'NONE';
    case 'EU_ANALYST':
      return 'PSEUDONYMISED';
    default:
      return 'NONE';
  }
}

/** Only the owning Member State asks for erasure of its case's personal data. */
export function mayEraseCase(principal: Principal | null, c: CaseOwnership): boolean {
  return principal?.role === 'MEMBER_STATE' && principal.memberState === c.memberState;
}

/**
 * The statistics scope a principal reads when it names none: its own Member State or
 * partner, else the whole programme.
 */
export function defaultStatisticsScope(principal: Principal | null): string {
  if (principal?.role === 'MEMBER_STATE' && principal.memberState) {
    return `memberState:${principal.memberState}`;
  }
  if (principal?.role === 'PARTNER' && principal.partnerId) return `partner:${principal.partnerId}`;
  return 'all';
}

/**
 * Aggregates: the central roles read every scope; a Member State the statistics of its own
 * cases, a partner those of its own cases; anonymous callers and the DPO none.
 */
export function mayReadStatistics(principal: Principal | null, scope: string): boolean {
  if (!principal) return false;
  if (CENTRAL_ROLES.has(principal.role)) return true;
  return scope === defaultStatisticsScope(principal) && scope !== 'all';
}

/** The programme's money (budget, spend per dimension): central roles; a partner its own spend. */
export function mayReadFinanceAggregates(principal: Principal | null, partnerId?: string): boolean {
  if (!principal) return false;
  if (CENTRAL_ROLES.has(principal.role)) return true;
  return partnerId !== undefined && principal.role === 'PARTNER' && principal.partnerId === partnerId;
}

/** The personal data access log, erasures, grants and retention reports. */
export function mayReadDataProtectionRecords(principal: Principal | null): boolean {
  return principal?.role === 'ADMIN' || principal?.role === 'DATA_PROTECTION_OFFICER';
}

/** A case scope by Member State alone: how feeds and erasure records are read. */
export type MemberStateScope = Extract<CaseScope, { kind: 'all' | 'memberState' | 'none' }>;

/**
 * The erasure records a principal reads: the owning Member State those of its own cases,
 * administrators and the DPO all of them, everyone else none.
 */
export function erasureRecordsScope(principal: Principal): MemberStateScope {
  if (principal.role === 'MEMBER_STATE') return { kind: 'memberState', memberState: principal.memberState! };
  return mayReadDataProtectionRecords(principal) ? { kind: 'all' } : { kind: 'none' };
}

/**
 * Only the support desk opens a justified, recorded access to a case's personal data (the
 * owning Member State and the assigned partner read it without), so only it holds one.
 */
export function mayOpenPersonalDataAccess(principal: Principal | null): boolean {
  return principal?.role === 'SUPPORT_DESK';
}

/** Analysts see pseudonymised references: looking a case up by its real one would undo that. */
export function mayLookUpByNationalReference(principal: Principal | null): boolean {
  return principal?.role !== 'EU_ANALYST';
}

/** The roles that run the programme's operations: budgets, coverage, replaying ingestion. */
const OPERATOR_ROLES: ReadonlySet<Role> = new Set<Role>(['SUPPORT_DESK', 'ADMIN']);
const isOperator = (principal: Principal | null) => principal !== null && OPERATOR_ROLES.has(principal.role);

export const maySetBudgets = isOperator;
export const mayChangeCoverage = isOperator;
/** Reference data (countries of origin, Member States, tariff versions): the support desk or an administrator. */
export const mayChangeReferenceData = isOperator;
export const mayReplayIngestion = isOperator;

/** A Member State's eligibility rules: its own authority, or an administrator. */
export function maySetEligibilityRules(principal: Principal | null, memberState: string): boolean {
  if (!principal) return false;
  return principal.role === 'ADMIN' || (principal.role === 'MEMBER_STATE' && principal.memberState === memberState);
}

/** Feeds are pushed by Member State authorities (the push API, gateway/ingest.ts). */
export function mayPushFeeds(principal: Principal | null): boolean {
  return principal?.role === 'MEMBER_STATE';
}

/**
 * The ingestion feeds a principal lists: a Member State authority its own, the support desk
 * and administrators every Member State's, everyone else none.
 */
export function feedScope(principal: Principal | null): MemberStateScope {
  if (!principal) return { kind: 'none' };
  if (principal.role === 'MEMBER_STATE') return { kind: 'memberState', memberState: principal.memberState! };
  return OPERATOR_ROLES.has(principal.role) ? { kind: 'all' } : { kind: 'none' };
}

/** One feed and its report: its Member State's authority, the support desk and administrators. */
export function mayReadFeed(principal: Principal | null, memberState: string): boolean {
  const scope = feedScope(principal);
  return scope.kind === 'all' || (scope.kind === 'memberState' && scope.memberState === memberState);
}

/**
 * A Member State's data-quality figures (#15): like its feeds, its own authority, the support
 * desk and administrators; no one else (they describe a Member State's national system).
 */
export function mayReadDataQuality(principal: Principal | null, memberState: string): boolean {
  return mayReadFeed(principal, memberState);
}

/**
 * A national CSV profile (README, "Managing profiles"): the support desk and administrators
 * manage every one; a Member State authority only its own system's (`memberState` its own).
 * A profile of no Member State is shared, so only the desk and administrators change it.
 */
export function mayManageProfile(principal: Principal | null, memberState: string | null | undefined): boolean {
  if (!principal) return false;
  if (OPERATOR_ROLES.has(principal.role)) return true;
  return principal.role === 'MEMBER_STATE' && memberState != null && principal.memberState === memberState;
}

/**
 * Which profiles a principal reads: the support desk and administrators all; a Member State
 * authority its own and the shared ones (it may push with those); everyone else none.
 */
export function mayReadProfile(principal: Principal | null, memberState: string | null | undefined): boolean {
  if (!principal) return false;
  if (OPERATOR_ROLES.has(principal.role)) return true;
  return principal.role === 'MEMBER_STATE' && (memberState == null || principal.memberState === memberState);
}

/** Disbursements are reported by partners (the assigned one: finance checks the case). */
export function mayReportDisbursements(principal: Principal | null): boolean {
  return principal?.role === 'PARTNER';
}

/** The queues' dashboard (bull-board, gateway/admin.ts) is for administrators. */
export function mayOpenQueueDashboard(principal: Principal | null): boolean {
  return principal?.role === 'ADMIN';
}

/** The principal, or UNAUTHENTICATED naming what needed one and how to authenticate. */
export function requirePrincipal(principal: Principal | null, what: string): Principal {
  if (!principal) throw principalRequired(what, true);
  return principal;
}
