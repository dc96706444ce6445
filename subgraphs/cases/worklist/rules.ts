import { awaitedStep, type AwaitedRole, type WorklistStep } from '../../../shared/case-events/awaiting.js';
import type { CaseEventFacts } from '../../../shared/case-events/index.js';
import { addDays, caseWindows, daysUntil, effectiveRequestWindowMonths } from '../case/windows.js';

/**
 * The worklists' rules (README, "Worklists"): what a case waits for and from whom (shared/case-events/awaiting.ts),
 * by when (its due date, stored with the item), and how due it is on a given day (computed at
 * read time, so an item turns from DUE_SOON to OVERDUE as days pass without any event).
 */

/** Service levels and the DUE_SOON horizon, in days; configuration (WORKLIST_* in shared/config.ts). */
export interface WorklistThresholds {
  /** DUE_SOON: due within this many days from today (today included). */
  dueSoonDays: number;
  /** The partner accepts a case within this many days of its insertion (capped by the request window). */
  acceptanceDays: number;
  /** The partner reports arrival within this many days of departure (the post-arrival window is 3 days). */
  arrivalReportDays: number;
  /** The partner submits the plan within this many days of the arrival report or of a rejection. */
  planDays: number;
  /** The Member State decides on a plan or a completion report within this many days. */
  decisionDays: number;
  /** Without a plan, the partner reports completion within this many days of the post-arrival window's end. */
  completionReportDays: number;
}

export const DEFAULT_WORKLIST_THRESHOLDS: Readonly<WorklistThresholds> = {
  dueSoonDays: 14,
  acceptanceDays: 5,
  arrivalReportDays: 3,
  planDays: 30,
  decisionDays: 10,
  completionReportDays: 30,
};

/** Why an item is due when it is: a service level, or a window of the programme closing (windows.ts). */
export type DueReason = 'SERVICE_LEVEL' | 'REQUEST_WINDOW' | 'POST_ARRIVAL_WINDOW' | 'POST_RETURN_WINDOW';

/** One case's entry in the worklists: what it waits for, from whom, since when, due when. */
export interface WorklistEntry {
  caseId: string;
  step: WorklistStep;
  awaitedBy: AwaitedRole;
  memberState: string;
  partnerId: string | null;
  since: string;
  dueOn: string | null;
  dueReason: DueReason | null;
}

type Due = { dueOn: string; dueReason: DueReason };
const earliest = (...dues: Array<Due | null>): Due | null =>
  dues
    .filter((d): d is Due => d !== null)
    .reduce<Due | null>((a, b) => (a === null || b.dueOn < a.dueOn ? b : a), null);
const due = (dueOn: string | null, dueReason: DueReason): Due | null => (dueOn ? { dueOn, dueReason } : null);

/**
 * The case's worklist entry from the facts an event carries; null when it waits for nobody.
 * Facts of events written before they carried `statusSince` take the event's time (`at`).
 */
export function worklistEntryOf(
  caseId: string,
  facts: CaseEventFacts,
  thresholds: WorklistThresholds = DEFAULT_WORKLIST_THRESHOLDS,
  at?: string,
): WorklistEntry | null {
  const awaited = awaitedStep(facts.status, facts.packages);
  if (!awaited) return null;
  const since =
    facts.statusSince ??
    (facts.insertedOn ? `${facts.insertedOn}T00:00:00.000Z` : (at ?? `${facts.month}-01T00:00:00.000Z`));
  const sinceDay = since.slice(0, 10);
  const windows = caseWindows({
    departureDate: facts.departureDate,
    arrivalDate: facts.arrivalDate ?? null,
    charterFlight: facts.charterFlight ?? false,
    requestWindowMonths: effectiveRequestWindowMonths(facts.requestWindowMonths),
  });
  const serviceLevel = (days: number, from = sinceDay) => due(addDays(from, days), 'SERVICE_LEVEL');
  let when: Due | null;
  switch (awaited.step) {
    case 'ACCEPTANCE':
      when = earliest(serviceLevel(thresholds.acceptanceDays), due(windows.requestWindowEndsOn, 'REQUEST_WINDOW'));
      break;
    case 'ARRIVAL_REPORT':
      when = facts.departureDate ? serviceLevel(thresholds.arrivalReportDays, facts.departureDate) : null;
      break;
    case 'PLAN':
      when = earliest(serviceLevel(thresholds.planDays), due(windows.postReturnEndsOn, 'POST_RETURN_WINDOW'));
      break;
    case 'PLAN_DECISION':
    case 'COMPLETION_APPROVAL':
      when = serviceLevel(thresholds.decisionDays);
      break;
    case 'COMPLETION_REPORT':
      when = facts.packages.includes('POST_RETURN')
        ? (due(windows.postReturnEndsOn, 'POST_RETURN_WINDOW') ?? serviceLevel(thresholds.completionReportDays))
        : windows.postArrivalEndsOn
          ? due(addDays(windows.postArrivalEndsOn, thresholds.completionReportDays), 'POST_ARRIVAL_WINDOW')
          : serviceLevel(thresholds.completionReportDays);
      break;
  }
  return {
    caseId,
    step: awaited.step,
    awaitedBy: awaited.by,
    memberState: facts.memberState,
    partnerId: facts.partnerId,
    since,
    dueOn: when?.dueOn ?? null,
    dueReason: when?.dueReason ?? null,
  };
}

export const WORKLIST_KINDS = ['AWAITING_ME', 'OVERDUE', 'DUE_SOON'] as const;
export type WorklistKind = (typeof WORKLIST_KINDS)[number];

/** How due an entry is on `today`: OVERDUE after its due date, DUE_SOON within the horizon, else null. */
export function duenessOn(dueOn: string | null, today: string, dueSoonDays: number): 'OVERDUE' | 'DUE_SOON' | null {
  if (!dueOn) return null;
  const left = daysUntil(dueOn, today);
  if (left < 0) return 'OVERDUE';
  return left <= dueSoonDays ? 'DUE_SOON' : null;
}

/**
 * The due-date range (inclusive, YYYY-MM-DD) a worklist kind reads on `today`: what the index on
 * the due date answers. AWAITING_ME has none (every open entry).
 */
export function dueRangeOf(
  kind: WorklistKind,
  today: string,
  dueSoonDays: number,
): { from?: string; to?: string } | null {
  if (kind === 'OVERDUE') return { to: addDays(today, -1) };
  if (kind === 'DUE_SOON') return { from: today, to: addDays(today, dueSoonDays) };
  return null;
}
