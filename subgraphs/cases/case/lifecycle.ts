import type { CaseStatus, Package } from '../../../shared/domain.js';

/**
 * The case lifecycle (docs/domain.md, "A case's life"), with the key moments as the programme
 * names them: KM1 is the application (the Member State inserts the case, its eligibility is
 * established, the assigned partner accepts it: KM1 is reached at acceptance) → arrival and
 * post-arrival assistance reported (its own step, `arrivedAt`, not a key moment) → the partner
 * submits the reintegration plan → the Member State approves it (KM2) or rejects it with a
 * reason → completion reported by the partner → approved by the Member State (KM3). Cases
 * without the post-return package (eligibility letter only) have no plan: arrival leads to
 * completion.
 */
export const ACTORS = ['MEMBER_STATE', 'PARTNER', 'SUPPORT_DESK'] as const;
export type Actor = (typeof ACTORS)[number];

export const TRANSITION_NAMES = [
  'acceptCase',
  'reportArrival',
  'submitReintegrationPlan',
  'approveReintegrationPlan',
  'rejectReintegrationPlan',
  'amendReintegrationPlan',
  'reportServiceDelivery',
  'reportCompletion',
  'approveCompletion',
  'withdrawCase',
  'closeCase',
] as const;
export type TransitionName = (typeof TRANSITION_NAMES)[number];

export type Milestone = 'KM1' | 'KM2' | 'KM3';

export const FINAL_STATUSES: ReadonlySet<CaseStatus> = new Set(['COMPLETED', 'WITHDRAWN', 'CLOSED']);

interface TransitionRule {
  actors: readonly Actor[];
  from: (status: CaseStatus, facts: CaseFacts) => boolean;
  /** The status after the step; `UNCHANGED` for a step that records something without moving the case. */
  to: CaseStatus | 'UNCHANGED';
  milestone?: Milestone;
  reasonRequired?: boolean;
}

export interface CaseFacts {
  packages: readonly Package[];
}

const hasPlan = (facts: CaseFacts) => facts.packages.includes('POST_RETURN');
const open = (status: CaseStatus) => !FINAL_STATUSES.has(status);

export const TRANSITIONS: Readonly<Record<TransitionName, TransitionRule>> = {
  acceptCase: { actors: ['PARTNER'], from: (s) => s === 'SUBMITTED', to: 'ACCEPTED', milestone: 'KM1' },
  reportArrival: { actors: ['PARTNER'], from: (s) => s === 'ACCEPTED', to: 'ARRIVED' },
  submitReintegrationPlan: {
    actors: ['PARTNER'],
    from: (s, f) => hasPlan(f) && (s === 'ARRIVED' || s === 'PLAN_REJECTED'),
    to: 'PLAN_SUBMITTED',
  },
  approveReintegrationPlan: {
    actors: ['MEMBER_STATE'],
    from: (s) => s === 'PLAN_SUBMITTED',
    to: 'PLAN_APPROVED',
    milestone: 'KM2',
  },
  rejectReintegrationPlan: {
    actors: ['MEMBER_STATE'],
    from: (s) => s === 'PLAN_SUBMITTED',
    to: 'PLAN_REJECTED',
    reasonRequired: true,
  },
  // An approved plan is amended by the partner: version n+1, approved or rejected again (plan.ts).
  amendReintegrationPlan: { actors: ['PARTNER'], from: (s) => s === 'PLAN_APPROVED', to: 'PLAN_SUBMITTED' },
  // A service of the approved plan delivered (one line, one date, its evidence).
  reportServiceDelivery: {
    actors: ['PARTNER'],
    from: (s, f) => hasPlan(f) && (s === 'PLAN_APPROVED' || s === 'COMPLETION_REPORTED'),
    to: 'UNCHANGED',
  },
  reportCompletion: {
    actors: ['PARTNER'],
    from: (s, f) => (hasPlan(f) ? s === 'PLAN_APPROVED' : s === 'ARRIVED'),
    to: 'COMPLETION_REPORTED',
  },
  approveCompletion: {
    actors: ['MEMBER_STATE'],
    from: (s) => s === 'COMPLETION_REPORTED',
    to: 'COMPLETED',
    milestone: 'KM3',
  },
  withdrawCase: { actors: ['MEMBER_STATE'], from: open, to: 'WITHDRAWN', reasonRequired: true },
  closeCase: { actors: ['MEMBER_STATE', 'SUPPORT_DESK'], from: open, to: 'CLOSED', reasonRequired: true },
};

/** What `actor` may do next from `status`. */
export function allowedTransitions(status: CaseStatus, facts: CaseFacts, actor?: Actor): TransitionName[] {
  return TRANSITION_NAMES.filter((name) => {
    const rule = TRANSITIONS[name];
    return rule.from(status, facts) && (actor === undefined || rule.actors.includes(actor));
  });
}

export type TransitionRefusal =
  | { code: 'ILLEGAL_TRANSITION'; message: string; currentStatus: CaseStatus; allowed: TransitionName[] }
  | { code: 'FORBIDDEN_ACTOR'; message: string; allowedActors: readonly Actor[] }
  | { code: 'REASON_REQUIRED'; message: string };

/** Decides one transition; a refusal says the current state and the allowed next steps. */
export function decideTransition(
  name: TransitionName,
  current: { status: CaseStatus } & CaseFacts,
  actor: Actor,
  reason?: string | null,
): { ok: true; to: CaseStatus; milestone?: Milestone } | { ok: false; refusal: TransitionRefusal } {
  const rule = TRANSITIONS[name];
  if (!rule.actors.includes(actor)) {
    return {
      ok: false,
      refusal: {
        code: 'FORBIDDEN_ACTOR',
        message: `${name} is done by ${rule.actors.join(' or ')}, not ${actor}`,
        allowedActors: rule.actors,
      },
    };
  }
  if (!rule.from(current.status, current)) {
    const allowed = allowedTransitions(current.status, current);
    return {
      ok: false,
      refusal: {
        code: 'ILLEGAL_TRANSITION',
        message:
          `${name} is not allowed while the case is ${current.status}; allowed next: ` +
          `${allowed.length > 0 ? allowed.join(', ') : 'none (the case is closed)'}`,
        currentStatus: current.status,
        allowed,
      },
    };
  }
  if (rule.reasonRequired && !(reason && reason.trim().length > 0)) {
    return { ok: false, refusal: { code: 'REASON_REQUIRED', message: `${name} needs a reason` } };
  }
  const to = rule.to === 'UNCHANGED' ? current.status : rule.to;
  return { ok: true, to, ...(rule.milestone ? { milestone: rule.milestone } : {}) };
}
