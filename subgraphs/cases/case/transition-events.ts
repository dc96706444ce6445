import type { CaseEvent, CaseEventType, EventMilestone } from '../../../shared/case-events/index.js';
import type { TransitionName } from './lifecycle.js';

/**
 * What each lifecycle transition is called for subscribers and webhooks, and the milestone
 * it reaches (README, "Subscribe to case events"). Its writer puts this on the event, and
 * the publisher writes it into the stream, so no reader needs this table.
 */
export const TRANSITION_EVENT_TYPES: Readonly<
  Record<TransitionName, { publicType: CaseEventType; milestone?: EventMilestone }>
> = {
  acceptCase: { publicType: 'ACCEPTED', milestone: 'KM1' },
  reportArrival: { publicType: 'ARRIVED' },
  submitReintegrationPlan: { publicType: 'PLAN_SUBMITTED' },
  approveReintegrationPlan: { publicType: 'PLAN_APPROVED', milestone: 'KM2' },
  rejectReintegrationPlan: { publicType: 'PLAN_REJECTED' },
  amendReintegrationPlan: { publicType: 'PLAN_AMENDED' },
  reportServiceDelivery: { publicType: 'SERVICE_DELIVERED' },
  reportCompletion: { publicType: 'COMPLETION_REPORTED' },
  approveCompletion: { publicType: 'MILESTONE_REACHED', milestone: 'KM3' },
  withdrawCase: { publicType: 'WITHDRAWN' },
  closeCase: { publicType: 'CLOSED' },
};

/** The public type (and milestone) of a transition's event; nothing for a name the lifecycle does not know. */
export function transitionEventType(transition: string): Pick<CaseEvent, 'publicType' | 'milestone'> {
  return Object.hasOwn(TRANSITION_EVENT_TYPES, transition)
    ? { ...TRANSITION_EVENT_TYPES[transition as TransitionName] }
    : {};
}
