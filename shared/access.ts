import { GraphQLError } from 'graphql';
import type { Principal, Role } from './auth.js';

/**
 * The access model, as pure functions: which cases a principal sees, which of their
 * personal data, and which aggregates. Every subgraph asks these functions, from one
 * place per subgraph (the cases subgraph's CaseAccess, finance's ledger checks), so the
 * rules read the same everywhere and are unit-tested in one table
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
  if (principal.role === 'MEMBER_STATE' && principal.memberState) return { kind: 'memberState', memberState: principal.memberState };
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
  if (principal?.role === 'MEMBER_STATE' && principal.memberState) return `memberState:${principal.memberState}`;
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

export function requirePrincipal(principal: Principal | null, what: string): Principal {
  if (!principal) throw new GraphQLError(`${what} needs an authenticated principal (Authorization: Bearer <token>)`, { extensions: { code: 'UNAUTHENTICATED' } });
  return principal;
}

export function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });
}
