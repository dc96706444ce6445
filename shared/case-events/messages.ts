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
 * Frozen as those entries have it; new transitions take their type from the cases
 * lifecycle's table (subgraphs/cases/case/transition-events.ts) through the publisher.
 */
const BEFORE_PUBLIC_TYPES: Readonly<Record<string, { type: CaseEventType; milestone?: EventMilestone }>> = {
  acceptCase: { type: 'ACCEPTED' },
  reportArrival: { type: 'MILESTONE_REACHED', milestone: 'KM1' },
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
