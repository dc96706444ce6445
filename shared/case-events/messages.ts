import type { Principal } from '../auth.js';
import { canSeeCase } from '../access.js';
import type {
  CaseEvent,
  CaseEventFilter,
  CaseEventMessage,
  CaseEventType,
  CaseOwnerFacts,
  EventMilestone,
} from './contract.js';
import { publicTypeOf } from './publisher.js';
import { awaitedStep, sameAwaited, type Awaited } from './awaiting.js';

/** What an event does to its case's worklist entry: null when nothing (no facts, or the same step awaited). */
export function worklistChangeOf(event: CaseEvent): { before: Awaited | null; after: Awaited | null } | null {
  if (!event.before && !event.after) return null;
  const before = event.before ? awaitedStep(event.before.status, event.before.packages) : null;
  const after = event.after ? awaitedStep(event.after.status, event.after.packages) : null;
  return sameAwaited(before, after) ? null : { before, after };
}

interface OwnerLike {
  memberState?: unknown;
  partnerId?: unknown;
  countryOfOrigin?: unknown;
  status?: unknown;
}

function ownerOf(event: CaseEvent): CaseOwnerFacts | null {
  const facts = (event.owner ?? event.after ?? event.before) as OwnerLike | null | undefined;
  if (!facts || typeof facts.memberState !== 'string' || typeof facts.countryOfOrigin !== 'string') return null;
  return {
    memberState: facts.memberState,
    partnerId: typeof facts.partnerId === 'string' ? facts.partnerId : null,
    countryOfOrigin: facts.countryOfOrigin,
    ...(typeof facts.status === 'string' ? { status: facts.status } : {}),
  };
}

/**
 * The public type of transitions in entries written before the publisher wrote one into
 * each entry. The stream keeps entries for EVENT_REPLAY_HOURS, and webhooks and resuming
 * subscribers read them after an upgrade: without this they would be dropped in silence.
 * Frozen but for the key moments (KM1 moved from arrival to acceptance); new transitions take their type from the cases
 * lifecycle's table (subgraphs/cases/case/transition-events.ts) through the publisher.
 */
const BEFORE_PUBLIC_TYPES: Readonly<Record<string, { type: CaseEventType; milestone?: EventMilestone }>> = {
  // Told by the key moments as the programme names them (KM1 = the application, reached at
  // acceptance; arrival is its own step), whatever the version that wrote the entry.
  acceptCase: { type: 'ACCEPTED', milestone: 'KM1' },
  reportArrival: { type: 'ARRIVED' },
  submitReintegrationPlan: { type: 'PLAN_SUBMITTED' },
  approveReintegrationPlan: { type: 'PLAN_APPROVED', milestone: 'KM2' },
  rejectReintegrationPlan: { type: 'PLAN_REJECTED' },
  reportCompletion: { type: 'COMPLETION_REPORTED' },
  approveCompletion: { type: 'MILESTONE_REACHED', milestone: 'KM3' },
  withdrawCase: { type: 'WITHDRAWN' },
  closeCase: { type: 'CLOSED' },
};

/** The message for one stream entry; null for an entry that is not a case event this API tells. */
export function messageOf(id: string, event: CaseEvent): CaseEventMessage | null {
  const owner = ownerOf(event);
  const legacy =
    event.type === 'case.transitioned' && !event.publicType && event.transition
      ? BEFORE_PUBLIC_TYPES[event.transition]
      : undefined;
  const type = publicTypeOf(event) ?? legacy?.type;
  if (!owner || typeof event.caseId !== 'string' || !type) return null;
  return {
    id,
    type,
    at: event.at,
    caseId: event.caseId,
    transition: event.transition ?? null,
    milestone: event.milestone ?? legacy?.milestone ?? null,
    status: event.type === 'case.disbursed' ? null : (owner.status ?? null),
    owner,
    disbursement: event.disbursement ?? null,
    caseMessage: event.caseMessage ?? null,
    worklist: worklistChangeOf(event),
    ...(event.indicatorBreach ? { indicatorBreach: event.indicatorBreach } : {}),
  };
}

/**
 * All given criteria must hold; within a list any value matches. MILESTONE_REACHED matches
 * every milestone (KM2 is a plan approval).
 */
export function matchesFilter(message: CaseEventMessage, filter: CaseEventFilter | null | undefined): boolean {
  if (!filter) return true;
  const given = <T>(list: readonly T[] | null | undefined): list is readonly T[] =>
    Array.isArray(list) && list.length > 0;
  if (given(filter.caseIds) && !filter.caseIds.includes(message.caseId)) return false;
  if (given(filter.countriesOfOrigin) && !filter.countriesOfOrigin.includes(message.owner.countryOfOrigin))
    return false;
  if (given(filter.statuses) && (message.status === null || !filter.statuses.includes(message.status))) return false;
  if (given(filter.types) && !filter.types.includes(message.type)) {
    if (!(message.milestone && filter.types.includes('MILESTONE_REACHED'))) return false;
  }
  return true;
}

/** A subscriber receives an event only if it may see the case, exactly as for queries. */
export function mayReceive(principal: Principal | null, message: CaseEventMessage): boolean {
  return canSeeCase(principal, message.owner);
}

/**
 * Whether an event changes `principal`'s worklist (the `worklistChanged` subscription): a
 * Member State's when its cases start or stop waiting for it, a partner's likewise, the
 * support desk's and administrators' on every change; no other role has a worklist.
 */
export function changesWorklistOf(principal: Principal | null, message: CaseEventMessage): boolean {
  if (!message.worklist || !mayReceive(principal, message)) return false;
  const { before, after } = message.worklist;
  switch (principal?.role) {
    case 'MEMBER_STATE':
    case 'PARTNER':
      return before?.by === principal.role || after?.by === principal.role;
    case 'SUPPORT_DESK':
    case 'ADMIN':
      return true;
    default:
      return false;
  }
}
