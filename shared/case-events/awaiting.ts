import type { CaseStatus, Package } from '../domain.js';

/**
 * What a case waits for, and from whom, in each status: the worklists' rule (README, "Worklists").
 * It is part of the event backbone's contract because both the cases subgraph's worklist read
 * model and the gateway's `worklistChanged` subscription read it from an event's facts. It
 * follows the lifecycle (subgraphs/cases/case/lifecycle.ts): the step is the next forward
 * transition and its actor (test/unit/worklist.test.ts checks the two agree).
 */
export const WORKLIST_STEPS = [
  'ACCEPTANCE',
  'ARRIVAL_REPORT',
  'PLAN',
  'PLAN_DECISION',
  'COMPLETION_REPORT',
  'COMPLETION_APPROVAL',
] as const;
export type WorklistStep = (typeof WORKLIST_STEPS)[number];

/** Who a step waits for. */
export type AwaitedRole = 'MEMBER_STATE' | 'PARTNER';

export interface Awaited {
  step: WorklistStep;
  by: AwaitedRole;
  /** The lifecycle mutation that does the step. */
  transition: string;
}

const STEPS: Readonly<Record<WorklistStep, Omit<Awaited, 'step'>>> = {
  ACCEPTANCE: { by: 'PARTNER', transition: 'acceptCase' },
  ARRIVAL_REPORT: { by: 'PARTNER', transition: 'reportArrival' },
  PLAN: { by: 'PARTNER', transition: 'submitReintegrationPlan' },
  PLAN_DECISION: { by: 'MEMBER_STATE', transition: 'approveReintegrationPlan' },
  COMPLETION_REPORT: { by: 'PARTNER', transition: 'reportCompletion' },
  COMPLETION_APPROVAL: { by: 'MEMBER_STATE', transition: 'approveCompletion' },
};

/** The step a case in `status` waits for; null for a case that waits for nobody (completed, withdrawn, closed). */
export function awaitedStep(status: CaseStatus | string, packages: readonly (Package | string)[]): Awaited | null {
  const step = stepOf(status, packages.includes('POST_RETURN'));
  return step ? { step, ...STEPS[step] } : null;
}

function stepOf(status: string, hasPlan: boolean): WorklistStep | null {
  switch (status) {
    case 'SUBMITTED':
      return 'ACCEPTANCE';
    case 'ACCEPTED':
      return 'ARRIVAL_REPORT';
    case 'ARRIVED':
      return hasPlan ? 'PLAN' : 'COMPLETION_REPORT';
    case 'PLAN_REJECTED':
      return hasPlan ? 'PLAN' : null;
    case 'PLAN_SUBMITTED':
      return 'PLAN_DECISION';
    case 'PLAN_APPROVED':
      return hasPlan ? 'COMPLETION_REPORT' : null;
    case 'COMPLETION_REPORTED':
      return 'COMPLETION_APPROVAL';
    default:
      return null;
  }
}

/** Two awaited steps are the same worklist entry. */
export function sameAwaited(a: Awaited | null, b: Awaited | null): boolean {
  return a?.step === b?.step && a?.by === b?.by;
}
