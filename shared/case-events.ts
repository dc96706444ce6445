import type { Principal } from './auth.js';
import { canSeeCase } from './access.js';
import type { CaseEvent, CaseOwnerFacts } from './events.js';

/**
 * What subscribers and webhooks are told about a case event: the kind of change, when,
 * which case, its status after it, and the milestone it reached. No personal data; the
 * case's own fields are fetched through the graph under the subscriber's rights.
 */
export const CASE_EVENT_TYPES = [
  'CREATED',
  'UPDATED',
  'ACCEPTED',
  'MILESTONE_REACHED',
  'PLAN_SUBMITTED',
  'PLAN_APPROVED',
  'PLAN_REJECTED',
  'COMPLETION_REPORTED',
  'DISBURSEMENT_RECORDED',
  'WITHDRAWN',
  'CLOSED',
  'PERSONAL_DATA_ERASED',
] as const;
export type CaseEventType = (typeof CASE_EVENT_TYPES)[number];

export interface CaseEventMessage {
  /** The stream entry id: ordered, the resume point. */
  id: string;
  type: CaseEventType;
  at: string;
  caseId: string;
  transition: string | null;
  milestone: 'KM1' | 'KM2' | 'KM3' | null;
  /** Status after the change (null for a disbursement, which changes none). */
  status: string | null;
  owner: CaseOwnerFacts;
  disbursement: { amountCents: number; package: string; kind: string; date: string } | null;
}

const BY_TRANSITION: Record<string, { type: CaseEventType; milestone?: CaseEventMessage['milestone'] }> = {
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

/** The message for one stream entry; null for an entry that is not a case event this API tells. */
export function messageOf(id: string, event: CaseEvent): CaseEventMessage | null {
  const owner = ownerOf(event);
  if (!owner || typeof event.caseId !== 'string') return null;
  let type: CaseEventType;
  let milestone: CaseEventMessage['milestone'] = null;
  switch (event.type) {
    case 'case.created':
      type = 'CREATED';
      break;
    case 'case.updated':
      type = 'UPDATED';
      break;
    case 'case.erased':
      type = 'PERSONAL_DATA_ERASED';
      break;
    case 'case.disbursed':
      type = 'DISBURSEMENT_RECORDED';
      break;
    case 'case.transitioned': {
      const known = event.transition ? BY_TRANSITION[event.transition] : undefined;
      if (!known) return null;
      type = known.type;
      milestone = known.milestone ?? null;
      break;
    }
    default:
      return null;
  }
  return {
    id,
    type,
    at: event.at,
    caseId: event.caseId,
    transition: event.transition ?? null,
    milestone,
    status: event.type === 'case.disbursed' ? null : (owner.status ?? null),
    owner,
    disbursement: event.disbursement ?? null,
  };
}

export interface CaseEventFilter {
  caseIds?: readonly string[] | null;
  countriesOfOrigin?: readonly string[] | null;
  statuses?: readonly string[] | null;
  types?: readonly string[] | null;
}

/** All given criteria must hold; within a list any value matches. MILESTONE_REACHED matches every milestone (KM2 is a plan approval). */
export function matchesFilter(message: CaseEventMessage, filter: CaseEventFilter | null | undefined): boolean {
  if (!filter) return true;
  const given = <T>(list: readonly T[] | null | undefined): list is readonly T[] => Array.isArray(list) && list.length > 0;
  if (given(filter.caseIds) && !filter.caseIds.includes(message.caseId)) return false;
  if (given(filter.countriesOfOrigin) && !filter.countriesOfOrigin.includes(message.owner.countryOfOrigin)) return false;
  if (given(filter.statuses) && (message.status === null || !filter.statuses.includes(message.status))) return false;
  if (given(filter.types) && !filter.types.includes(message.type) && !(message.milestone && filter.types.includes('MILESTONE_REACHED'))) return false;
  return true;
}

/** A subscriber receives an event only if it may see the case, exactly as for queries. */
export function mayReceive(principal: Principal | null, message: CaseEventMessage): boolean {
  return canSeeCase(principal, message.owner);
}

/** Parses a stream entry's fields (`event <json>`); null for anything else. */
export function parseStreamEntry(fields: readonly string[]): CaseEvent | null {
  const index = fields.indexOf('event');
  if (index < 0 || index % 2 !== 0 || fields[index + 1] === undefined) return null;
  try {
    return JSON.parse(fields[index + 1]!) as CaseEvent;
  } catch {
    return null;
  }
}
