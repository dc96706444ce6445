import type { CaseStatus, Package, ReturnType } from '../domain.js';
import type { VulnerabilityCode } from '../vulnerability.js';
import type { Awaited } from './awaiting.js';

/**
 * The case event contract: one Redis Stream, ordered by its entry ids, that ties ingestion,
 * lifecycle, data protection and finance (the writers) to statistics, finance, webhooks and
 * subscriptions (the readers). Writers append after the change is stored. Events carry no
 * personal data (README, "Statistics" and "Subscribe to case events").
 */
export function caseEventStream(prefix: string): string {
  return `${prefix}:case-events`;
}

/** Entries kept; older ones are trimmed (approximately). Read models must have caught up by then. */
export const CASE_EVENT_RETENTION = 1_000_000;

/** What changed, as the writers see it. */
export type CaseEventKind =
  | 'case.created'
  | 'case.updated'
  | 'case.transitioned'
  | 'case.erased'
  | 'case.disbursed'
  // Case messages (subgraphs/cases/messages/): a message was posted on the case's thread.
  | 'case.messaged'
  // Monitoring (#16, M2, subgraphs/cases/monitoring/): an assessment, feedback, a complaint filed or moved.
  | 'case.assessed'
  | 'case.feedback'
  | 'case.complaint'
  // Indicators (#16, subgraphs/cases/indicators/): a value fell below its minimum standard. Not tied to a case.
  | 'indicator.breached';

/**
 * What subscribers and webhooks are told about a case event. The kind of change, in the
 * graph's own words (the `CaseEventType` enum of the cases SDL).
 */
export const CASE_EVENT_TYPES = [
  'CREATED',
  'UPDATED',
  'ACCEPTED',
  // Part C (key moments): arrival is its own step, no longer KM1.
  'ARRIVED',
  'MILESTONE_REACHED',
  'PLAN_SUBMITTED',
  'PLAN_APPROVED',
  'PLAN_REJECTED',
  // Plans and service delivery (#15, part B).
  'PLAN_AMENDED',
  'SERVICE_DELIVERED',
  'COMPLETION_REPORTED',
  'DISBURSEMENT_RECORDED',
  'WITHDRAWN',
  'CLOSED',
  'PERSONAL_DATA_ERASED',
  // Case messages: a message was posted on the case's thread (no body; `caseMessage` says which).
  'MESSAGE_POSTED',
  // Monitoring (#16, M2): `assessment`, `feedback` (and `complaint`) say what was recorded, never free text.
  'ASSESSMENT_RECORDED',
  'FEEDBACK_RECORDED',
  'COMPLAINT_RECORDED',
  'COMPLAINT_UPDATED',
  // Indicators (#16): a value worse than its minimum standard in a scope and period (no case: `indicatorBreach`).
  'INDICATOR_BREACHED',
] as const;
export type CaseEventType = (typeof CASE_EVENT_TYPES)[number];

export type EventMilestone = 'KM1' | 'KM2' | 'KM3';

/**
 * What a case contributes to the read models, without personal data: ages, not birth
 * dates; no names. Events carry these facts before and after a change; the statistics
 * read model is the sum of every case's facts, finance reads a part of them.
 */
export interface CaseEventFacts {
  memberState: string;
  countryOfOrigin: string;
  partnerId: string | null;
  status: CaseStatus;
  returnType: ReturnType;
  packages: Package[];
  /** YYYY-MM of departure (or of insertion before departure). */
  month: string;
  departureDate: string | null;
  returnees: number;
  adults: number;
  minors: number;
  mainApplicantAge: number | null;
  accepted: boolean;
  /**
   * Days from insertion to KM1 (the application: accepted by the partner), from KM1 to KM2,
   * from KM2 to KM3 (null until reached).
   */
  daysToKm1: number | null;
  daysKm1ToKm2: number | null;
  daysKm2ToKm3: number | null;
  // Part C (key moments, worklists): arrival is its own step; the worklist read model's facts.
  /** Days from departure to the arrival report, and from the arrival report to KM2 (null until reached). */
  daysToArrival?: number | null;
  daysArrivalToKm2?: number | null;
  /** YYYY-MM-DD of arrival, as reported. */
  arrivalDate?: string | null;
  charterFlight?: boolean;
  /** YYYY-MM-DD the case was inserted. */
  insertedOn?: string;
  /** When the case reached its current status (ISO instant). */
  statusSince?: string;
  /** The request window (months) that applied to the case's eligibility, if assessed. */
  requestWindowMonths?: number | null;
  planRejections: number;
  planApprovals: number;
  /** Part A (#15): the codes of the case's window flags (late reports), for data quality; absent in older events. */
  windowFlags?: string[];
  // Plans and money (#15, part B): what finance needs to cap, commit and release. Optional: events
  // written before they existed carry none (finance then reads the case as eligible, without plan lines).
  /** The stored eligibility outcome; null when not assessed. */
  eligibilityOutcome?: 'ELIGIBLE' | 'ELIGIBILITY_LETTER_ONLY' | 'INELIGIBLE' | null;
  // arrivalDate and charterFlight (above) serve the post-arrival window too.
  /** The lines of the plan in force (the last approved version), no free text; null without one. */
  planLines?: Array<{ lineId: string; package: Package; budgetCents: number; status: string }> | null;
  /**
   * Monitoring (#16, M1): the distinct vulnerability codes present in the case (shared/vulnerability.ts),
   * never which person has them; counted per code. Absent in older events (counted as none).
   */
  vulnerabilityCodes?: VulnerabilityCode[];
}

/** The part of an event's facts that decides who may receive it. */
export interface CaseOwnerFacts {
  memberState: string;
  partnerId: string | null;
  countryOfOrigin: string;
  status?: string;
}

/** What a partner reported paying out. */
export interface CaseDisbursement {
  amountCents: number;
  package: string;
  kind: string;
  date: string;
  /** The plan line it pays (#15, part B); absent for a package the plan does not itemise, and on older events. */
  planLineId?: string;
}

/**
 * What a `case.messaged` event tells of the message: never its body (personal data), which a
 * subscriber with personal access fetches through the graph (`Case.messages`).
 */
export interface CaseMessageFacts {
  /** The message's id (`CaseMessage.id`). */
  id: string;
  authorRole: string;
  topic: string;
}

/**
 * What a `case.assessed` event (ASSESSMENT_RECORDED) tells of a sustainability assessment:
 * scores only (0..1; a dimension with too few answers, and then the overall score, is null),
 * never the answers. Read models (indicators) consume it; subscribers and webhooks are not told it.
 */
export interface AssessmentEventFacts {
  assessmentId: string;
  followUpMonths: 3 | 6 | 12;
  instrumentVersion: string;
  scores: { economic: number | null; social: number | null; psychosocial: number | null; overall: number | null };
}

/**
 * What FEEDBACK_RECORDED, COMPLAINT_RECORDED and COMPLAINT_UPDATED events tell: satisfaction per
 * service (1..5) and a complaint's category and status, never a comment or description.
 * Feedback carries `complaint: null`; a complaint event carries `satisfaction: {}` and
 * `feedbackId` = the complaint's id.
 */
export interface FeedbackEventFacts {
  feedbackId: string;
  satisfaction: Record<string, number>;
  complaint: { category: string; status: string } | null;
}

/** A complaint event's own facts: which complaint, and the status it left (null when filed). */
export interface ComplaintEventFacts {
  complaintId: string;
  category: string;
  status: string;
  previousStatus: string | null;
}

/** The one payload of a case event: the JSON of a stream entry's `event` field. */
export interface CaseEvent {
  type: CaseEventKind;
  caseId: string;
  version: number;
  at: string;
  transition?: string;
  before: CaseEventFacts | null;
  after: CaseEventFacts | null;
  /** For `case.disbursed`: what the partner reported. */
  disbursement?: CaseDisbursement;
  /** For `case.messaged`: which message, by whom, on what (never the body). */
  caseMessage?: CaseMessageFacts;
  /** For `case.assessed` (#16, M2). */
  assessment?: AssessmentEventFacts;
  /** For `case.feedback` and `case.complaint` (#16, M2). */
  feedback?: FeedbackEventFacts;
  /** For `case.complaint` (#16, M2). */
  complaint?: ComplaintEventFacts;
  /**
   * Who the case belongs to, for events without facts (`case.disbursed`, `case.messaged`): subscriptions
   * and webhooks deliver an event only to those who may see its case.
   */
  owner?: CaseOwnerFacts;
  /**
   * What subscribers and webhooks are told. The publisher writes it for every kind but a
   * transition, whose meaning the cases subgraph's lifecycle gives (an event without it is
   * told to no one).
   */
  publicType?: CaseEventType;
  /** The milestone a transition reached, given with its `publicType`. */
  milestone?: EventMilestone;
  /** For `indicator.breached`: the breach (its `caseId` is empty; `owner` is the breach's scope). */
  indicatorBreach?: IndicatorBreachFacts;
}

/**
 * What an INDICATOR_BREACHED event tells (subgraphs/cases/indicators/): which indicator, in which
 * scope and period, its value and the minimum it is worse than. Aggregates only, no personal data.
 * Its event's `owner` says who hears of it: a partner of its own scope, a Member State of its own,
 * the central roles of all (`memberState`/`countryOfOrigin` are empty, `partnerId` null, outside
 * the scope's own dimension).
 */
export interface IndicatorBreachFacts {
  breachId: string;
  indicatorId: string;
  indicatorVersion: number;
  scope: { perspective: 'PROGRAMME' | 'MEMBER_STATE' | 'COUNTRY_OF_ORIGIN' | 'PARTNER'; key: string | null };
  /** YYYY-MM or YYYY. */
  period: string;
  value: number;
  cases: number;
  minimumStandard: number;
  direction: 'HIGHER_IS_BETTER' | 'LOWER_IS_BETTER';
}

/** A stream entry read back: its id (ordered, the resume point) and its parsed event. */
export interface CaseEventEntry {
  id: string;
  event: CaseEvent;
}

/** What subscribers and webhooks see of one event; the case's own fields are fetched through the graph. */
export interface CaseEventMessage {
  /** The stream entry id: ordered, the resume point. */
  id: string;
  type: CaseEventType;
  at: string;
  caseId: string;
  transition: string | null;
  milestone: EventMilestone | null;
  /** Status after the change (null for a disbursement, which changes none). */
  status: string | null;
  owner: CaseOwnerFacts;
  disbursement: CaseDisbursement | null;
  /** For MESSAGE_POSTED: which message (never its body). */
  caseMessage: CaseMessageFacts | null;
  // Part C (worklists): what the case waited for before the event and after it (shared/case-events/awaiting.ts).
  /** Set when the event changes the case's worklist entry (it appears, moves or goes); else null. */
  worklist?: { before: Awaited | null; after: Awaited | null } | null;
  /** For INDICATOR_BREACHED: the breach (`caseId` is empty). */
  indicatorBreach?: IndicatorBreachFacts | null;
}

export interface CaseEventFilter {
  caseIds?: readonly string[] | null;
  countriesOfOrigin?: readonly string[] | null;
  statuses?: readonly string[] | null;
  types?: readonly string[] | null;
}

/** Compares Redis stream ids ("ms-seq"). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}
