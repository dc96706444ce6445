import type { Package } from '../../../shared/domain.js';

/**
 * The programme's time windows (docs/domain.md, "Packages" and "A case's life"), computed per case:
 * - post-arrival assistance: the first 3 days after arrival (the arrival day is day 1), 1 day
 *   after a charter arrival;
 * - post-return assistance: up to 12 months after departure;
 * - the request window: assistance can be requested up to 6 months after departure; a Member
 *   State may narrow it by national regulation, never widen it.
 * A window "ends on" its last allowed day: a date on or before it is inside.
 */

/** The programme's request window; a Member State may narrow it, never widen it. */
export const PROGRAMME_REQUEST_WINDOW_MONTHS = 6;
/** Post-return assistance lasts up to this many months after departure. */
export const POST_RETURN_MONTHS = 12;
/** Post-arrival assistance days, arrival day included. */
export const POST_ARRIVAL_DAYS = 3;
/** Charter-arrival assistance days, arrival day included. */
export const CHARTER_ARRIVAL_DAYS = 1;

export interface WindowFacts {
  /** YYYY-MM-DD, or null while not departed. */
  departureDate: string | null;
  /** YYYY-MM-DD, or null while arrival is not reported. */
  arrivalDate: string | null;
  /** A forced return by charter flight. */
  charterFlight: boolean;
  /** The Member State's configured request window in months (clamped to the programme's 6). */
  requestWindowMonths: number;
}

export interface CaseWindows {
  /** Last day of post-arrival assistance (charter: the arrival day); null before arrival. */
  postArrivalEndsOn: string | null;
  /** Last day of post-return assistance (departure + 12 months); null before departure. */
  postReturnEndsOn: string | null;
  /** Last day assistance may be requested (departure + the window); null before departure. */
  requestWindowEndsOn: string | null;
}

/** Adds calendar months, clamping to the month's last day (2024-08-31 + 6 → 2025-02-28). */
export function addMonths(date: string, months: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const targetMonth = m - 1 + months;
  const year = y + Math.floor(targetMonth / 12);
  const month = ((targetMonth % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return `${year}-${String(month + 1).padStart(2, '0')}-${String(Math.min(d, lastDay)).padStart(2, '0')}`;
}

/** Adds calendar days to a YYYY-MM-DD date. */
export function addDays(date: string, days: number): string {
  const t = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/** The Member State's request window, never wider than the programme's nor below one month. */
export function effectiveRequestWindowMonths(configured: number | null | undefined): number {
  if (configured === null || configured === undefined || !Number.isFinite(configured)) {
    return PROGRAMME_REQUEST_WINDOW_MONTHS;
  }
  return Math.max(1, Math.min(PROGRAMME_REQUEST_WINDOW_MONTHS, Math.floor(configured)));
}

export function caseWindows(facts: WindowFacts): CaseWindows {
  const arrivalDays = facts.charterFlight ? CHARTER_ARRIVAL_DAYS : POST_ARRIVAL_DAYS;
  return {
    postArrivalEndsOn: facts.arrivalDate ? addDays(facts.arrivalDate, arrivalDays - 1) : null,
    postReturnEndsOn: facts.departureDate ? addMonths(facts.departureDate, POST_RETURN_MONTHS) : null,
    requestWindowEndsOn: facts.departureDate
      ? addMonths(facts.departureDate, effectiveRequestWindowMonths(facts.requestWindowMonths))
      : null,
  };
}

/**
 * Named codes for a service or payment dated outside its window. A request after the request
 * window is no such code: it makes the case INELIGIBLE (REQUEST_AFTER_WINDOW, eligibility.ts).
 */
export type WindowCode = 'POST_ARRIVAL_WINDOW_CLOSED' | 'POST_RETURN_WINDOW_CLOSED' | 'BEFORE_WINDOW_OPENS';

export interface WindowBreach {
  code: WindowCode;
  /** The window's last day (or first day for BEFORE_WINDOW_OPENS). */
  boundary: string;
  date: string;
}

/**
 * Whether a service or payment of `pkg` dated `date` falls inside the case's window for that
 * package: post-arrival and charter-arrival from arrival to the window's last day, post-return
 * from departure to 12 months after. Null when inside, or when the window cannot be computed yet
 * (no arrival / departure date: nothing to check against).
 */
export function packageWindowBreach(pkg: Package, date: string, facts: WindowFacts): WindowBreach | null {
  const w = caseWindows(facts);
  if (pkg === 'POST_RETURN') {
    if (!facts.departureDate || !w.postReturnEndsOn) return null;
    if (date < facts.departureDate) return { code: 'BEFORE_WINDOW_OPENS', boundary: facts.departureDate, date };
    if (date > w.postReturnEndsOn) return { code: 'POST_RETURN_WINDOW_CLOSED', boundary: w.postReturnEndsOn, date };
    return null;
  }
  if (!facts.arrivalDate || !w.postArrivalEndsOn) return null;
  if (date < facts.arrivalDate) return { code: 'BEFORE_WINDOW_OPENS', boundary: facts.arrivalDate, date };
  if (date > w.postArrivalEndsOn) return { code: 'POST_ARRIVAL_WINDOW_CLOSED', boundary: w.postArrivalEndsOn, date };
  return null;
}

/**
 * Whether a request (or, without a request date, the insertion day of a case inserted after
 * departure) falls inside the request window.
 */
export function requestWindowBreach(
  requestOrInsertionDate: string,
  facts: WindowFacts,
): { boundary: string; date: string } | null {
  const w = caseWindows(facts);
  if (!w.requestWindowEndsOn || requestOrInsertionDate <= w.requestWindowEndsOn) return null;
  return { boundary: w.requestWindowEndsOn, date: requestOrInsertionDate };
}

/** Whole days from `today` until a window's last day (negative once closed). */
export function daysUntil(endsOn: string, today: string): number {
  return Math.round((Date.parse(`${endsOn}T00:00:00Z`) - Date.parse(`${today}T00:00:00Z`)) / 86_400_000);
}

/** A report the partner makes that a window bounds: the arrival (with its services) and the completion. */
export type WindowedReport = { kind: 'ARRIVAL'; postArrivalServices: number } | { kind: 'COMPLETION' };

/**
 * Whether a report made on `reportedOn` came after its window closed: arrival reported with
 * post-arrival services after the post-arrival window (counted from the arrival date reported),
 * completion after the post-return window. Late reporting is flagged on the case, not refused:
 * the assistance happened, the record must say so, and data quality counts it. Null when on
 * time or when the window cannot be computed (no arrival / departure date).
 */
export function lateReportBreach(report: WindowedReport, reportedOn: string, facts: WindowFacts): WindowBreach | null {
  const w = caseWindows(facts);
  if (report.kind === 'ARRIVAL') {
    if (report.postArrivalServices === 0 || !w.postArrivalEndsOn || reportedOn <= w.postArrivalEndsOn) return null;
    return { code: 'POST_ARRIVAL_WINDOW_CLOSED', boundary: w.postArrivalEndsOn, date: reportedOn };
  }
  if (!w.postReturnEndsOn || reportedOn <= w.postReturnEndsOn) return null;
  return { code: 'POST_RETURN_WINDOW_CLOSED', boundary: w.postReturnEndsOn, date: reportedOn };
}

/** An arrival dated before the departure: refused (the return cannot end before it starts). */
export function arrivalBeforeDeparture(departureDate: string | null, arrivalDate: string): boolean {
  return departureDate !== null && arrivalDate < departureDate;
}
