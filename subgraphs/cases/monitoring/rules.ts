import type { Principal } from '../../../shared/auth.js';
import { addMonths } from '../case/windows.js';

/**
 * Monitoring records as pure rules: when a sustainability assessment is due, what feedback,
 * complaints and monitoring visits may hold, how a complaint moves, who does what.
 */

/** The follow-up points after return (months after departure) at which a returnee is assessed. */
export const FOLLOW_UP_MONTHS = [3, 6, 12] as const;
export type FollowUpMonths = (typeof FOLLOW_UP_MONTHS)[number];

export type DueCheck = { ok: true } | { ok: false; reason: string; dueOn: string | null };

/**
 * An assessment at `months` is due from departure + months (calendar months, windows.ts) and is
 * never dated in the future nor before departure. A case without a departure has no follow-up.
 */
export function checkFollowUp(
  departureDate: string | null,
  months: number,
  assessedOn: string,
  today: string,
): DueCheck {
  if (!departureDate) return { ok: false, reason: 'the case has no departure: follow-ups start after it', dueOn: null };
  const dueOn = addMonths(departureDate, months);
  if (assessedOn > today) return { ok: false, reason: `assessedOn ${assessedOn} is in the future`, dueOn };
  if (assessedOn < dueOn)
    return {
      ok: false,
      reason:
        `the ${months}-month follow-up is due from ${dueOn} (departure ${departureDate} + ${months} months); ` +
        `assessedOn is ${assessedOn}`,
      dueOn,
    };
  return { ok: true };
}

/** Services a returnee rates (the package contents of docs/domain.md, grouped), 1 (poor) to 5 (very good). */
export const FEEDBACK_SERVICES = [
  'RECEPTION',
  'ACCOMMODATION',
  'MEDICAL',
  'CASH',
  'BUSINESS_START_UP',
  'HOUSING',
  'JOB_PLACEMENT',
  'EDUCATION',
  'VOCATIONAL_TRAINING',
  'SOCIAL_LEGAL_SUPPORT',
  'COUNSELLING',
  'OVERALL',
] as const;
export type FeedbackService = (typeof FEEDBACK_SERVICES)[number];

export const COMPLAINT_CATEGORIES = [
  'SERVICE_QUALITY',
  'DELAY',
  'CONDUCT',
  'PAYMENT',
  'ACCESS',
  'DATA_PROTECTION',
  'OTHER',
] as const;
export type ComplaintCategory = (typeof COMPLAINT_CATEGORIES)[number];

export const COMPLAINT_STATUSES = ['OPEN', 'IN_PROGRESS', 'RESOLVED', 'REJECTED'] as const;
export type ComplaintStatus = (typeof COMPLAINT_STATUSES)[number];

export const MAX_FEEDBACK_COMMENT_CHARS = 2_000;
export const MAX_COMPLAINT_DESCRIPTION_CHARS = 4_000;
export const MAX_COMPLAINT_RESOLUTION_CHARS = 2_000;
export const MAX_FEEDBACK_PER_CASE = 100;
export const MAX_COMPLAINTS_PER_CASE = 100;
export const MAX_VISIT_SCOPE_CHARS = 500;
export const MAX_VISIT_FINDINGS_CHARS = 8_000;
export const MAX_ACTION_DESCRIPTION_CHARS = 1_000;
export const MAX_FOLLOW_UP_ACTIONS = 20;
export const MAX_VISIT_PAGE_SIZE = 100;
export const DEFAULT_VISIT_PAGE_SIZE = 20;

/** Control characters other than tab, line feed and carriage return, invisible formatting, bidi overrides. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/u;

export type TextCheck = { ok: true; text: string } | { ok: false; reason: string };

/**
 * Free text as stored: trimmed, NFC, 1 to `max` characters (code points), without control or
 * invisible formatting characters. The reason never echoes the text (it may be personal data).
 */
export function checkText(raw: unknown, max: number): TextCheck {
  if (typeof raw !== 'string') return { ok: false, reason: 'must be a string' };
  const text = raw.normalize('NFC').trim();
  if (text.length === 0) return { ok: false, reason: 'must not be empty' };
  const length = [...text].length;
  if (length > max) return { ok: false, reason: `must be at most ${max} characters, got ${length}` };
  const control = CONTROL.exec(text);
  if (control) {
    const code = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return { ok: false, reason: `must not contain control or invisible formatting characters (U+${code})` };
  }
  return { ok: true, text };
}

export type SatisfactionCheck = { ok: true; satisfaction: Record<string, number> } | { ok: false; reason: string };

/** Satisfaction: 1 to 12 services, each once, scored 1 to 5 (whole numbers). */
export function checkSatisfaction(raw: unknown): SatisfactionCheck {
  if (!Array.isArray(raw)) return { ok: false, reason: 'must be a list' };
  if (raw.length === 0) return { ok: false, reason: 'must rate at least one service' };
  if (raw.length > FEEDBACK_SERVICES.length)
    return { ok: false, reason: `must rate at most ${FEEDBACK_SERVICES.length} services, got ${raw.length}` };
  const satisfaction: Record<string, number> = {};
  for (const [index, entry] of raw.entries()) {
    const { service, score } = (entry ?? {}) as { service?: unknown; score?: unknown };
    if (typeof service !== 'string' || !(FEEDBACK_SERVICES as readonly string[]).includes(service))
      return { ok: false, reason: `entry ${index} names no service` };
    if (Object.prototype.hasOwnProperty.call(satisfaction, service))
      return { ok: false, reason: `entry ${index} rates ${service} twice` };
    if (typeof score !== 'number' || !Number.isInteger(score) || score < 1 || score > 5)
      return { ok: false, reason: `entry ${index} (${service}) must score 1 to 5` };
    satisfaction[service] = score;
  }
  return { ok: true, satisfaction };
}

/** The roles that record feedback and complaints for a returnee: the assigned partner, the support desk. */
export function mayRecordFeedback(principal: Pick<Principal, 'role'> | null): boolean {
  return principal?.role === 'PARTNER' || principal?.role === 'SUPPORT_DESK';
}

/**
 * A complaint's moves: OPEN → IN_PROGRESS, RESOLVED or REJECTED; IN_PROGRESS → RESOLVED or
 * REJECTED; RESOLVED and REJECTED are final. The partner (about whose services a complaint
 * usually is) may take it in hand and resolve it; only the support desk rejects one. A
 * resolution is required to resolve or reject, and only then.
 */
const COMPLAINT_MOVES: Readonly<Record<ComplaintStatus, readonly ComplaintStatus[]>> = {
  OPEN: ['IN_PROGRESS', 'RESOLVED', 'REJECTED'],
  IN_PROGRESS: ['RESOLVED', 'REJECTED'],
  RESOLVED: [],
  REJECTED: [],
};

export type ComplaintMoveCheck =
  | { ok: true }
  | { ok: false; code: 'ILLEGAL_COMPLAINT_STATUS'; reason: string; allowed: readonly ComplaintStatus[] }
  | { ok: false; code: 'FORBIDDEN' | 'BAD_USER_INPUT'; reason: string };

export function checkComplaintMove(
  role: Principal['role'],
  from: ComplaintStatus,
  to: ComplaintStatus,
  hasResolution: boolean,
): ComplaintMoveCheck {
  const allowed = COMPLAINT_MOVES[from];
  if (!allowed.includes(to))
    return {
      ok: false,
      code: 'ILLEGAL_COMPLAINT_STATUS',
      reason: `a complaint ${from} cannot become ${to}`,
      allowed,
    };
  if (to === 'REJECTED' && role !== 'SUPPORT_DESK')
    return { ok: false, code: 'FORBIDDEN', reason: 'only the support desk rejects a complaint' };
  const final = to === 'RESOLVED' || to === 'REJECTED';
  if (final && !hasResolution)
    return { ok: false, code: 'BAD_USER_INPUT', reason: `a complaint becomes ${to} with a resolution` };
  if (!final && hasResolution)
    return { ok: false, code: 'BAD_USER_INPUT', reason: 'a resolution is given only to resolve or reject' };
  return { ok: true };
}

export const VISIT_KINDS = ['FIELD_VISIT', 'PARTNER_REVIEW', 'REMOTE_REVIEW'] as const;
export const ACTION_OWNERS = ['PARTNER', 'SUPPORT_DESK'] as const;
export type ActionOwner = (typeof ACTION_OWNERS)[number];

/** Who records monitoring visits: the support desk (and administrators). */
export function mayRecordVisits(principal: Pick<Principal, 'role'> | null): boolean {
  return principal?.role === 'SUPPORT_DESK' || principal?.role === 'ADMIN';
}

/**
 * Who reads a partner's monitoring visits, findings included: the support desk and
 * administrators (all), the partner (its own). Findings are free text about how a partner
 * works and may name its staff: Member States and analysts do not read them.
 */
export function visitScope(
  principal: Principal | null,
): { kind: 'all' } | { kind: 'partner'; partnerId: string } | null {
  if (principal?.role === 'SUPPORT_DESK' || principal?.role === 'ADMIN') return { kind: 'all' };
  if (principal?.role === 'PARTNER' && principal.partnerId) return { kind: 'partner', partnerId: principal.partnerId };
  return null;
}

/**
 * Who completes a follow-up action: the support desk and administrators any; the partner
 * those it owns on its own visits.
 */
export function mayCompleteAction(
  principal: Principal | null,
  visit: { partnerId: string },
  action: { owner: ActionOwner },
): boolean {
  if (principal?.role === 'SUPPORT_DESK' || principal?.role === 'ADMIN') return true;
  return principal?.role === 'PARTNER' && principal.partnerId === visit.partnerId && action.owner === 'PARTNER';
}

/** An action is overdue when it is open and its due date has passed. */
export function isOverdue(action: { dueOn: string; completedOn: string | null }, today: string): boolean {
  return action.completedOn === null && action.dueOn < today;
}

/** The earliest due date of the open actions; null when every action is done (or there are none). */
export function nextDueOn(actions: ReadonlyArray<{ dueOn: string; completedOn: string | null }>): string | null {
  const open = actions.filter((a) => a.completedOn === null).map((a) => a.dueOn);
  return open.length === 0 ? null : open.reduce((a, b) => (b < a ? b : a));
}

/** A calendar date as the API takes it (YYYY-MM-DD that names a real day). */
export function isDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const t = Date.parse(`${value}T00:00:00Z`);
  return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === value;
}
