import type { CaseDoc, WindowFlagDoc } from './models.js';
import { arrivalBeforeDeparture, lateReportBreach, type WindowedReport } from './windows.js';

/**
 * Late reporting is flagged, not lost (docs/domain.md, "A case's life": the windows are rules to
 * enforce). The lifecycle steps a window bounds (the arrival report with its post-arrival
 * services, the completion report) record a flag on the case when made after the window's last
 * day; the flag travels in the case event facts, so the statistics projector counts it per
 * Member State for data quality.
 */

/** The report a lifecycle step makes that a window bounds, if any. */
function reportOf(
  transition: string,
  input: { postArrivalServices?: readonly string[] | undefined },
): WindowedReport | null {
  if (transition === 'reportArrival')
    return { kind: 'ARRIVAL', postArrivalServices: input.postArrivalServices?.length ?? 0 };
  if (transition === 'reportCompletion') return { kind: 'COMPLETION' };
  return null;
}

/** The flag a step adds to the case (null when on time, or when the step is not bounded by a window). */
export function windowFlagFor(
  transition: string,
  input: { arrivalDate?: string | undefined; postArrivalServices?: readonly string[] | undefined },
  doc: Pick<CaseDoc, 'departureDate' | 'arrivalDate' | 'charterFlight'>,
  now: Date,
): WindowFlagDoc | null {
  const report = reportOf(transition, input);
  if (!report) return null;
  const breach = lateReportBreach(report, now.toISOString().slice(0, 10), {
    departureDate: doc.departureDate ?? null,
    arrivalDate: (report.kind === 'ARRIVAL' ? input.arrivalDate : doc.arrivalDate) ?? null,
    charterFlight: doc.charterFlight ?? false,
    // The request window plays no part in a report's lateness.
    requestWindowMonths: 6,
  });
  return breach ? { ...breach, at: now } : null;
}

/** The case change that records a step's flag after those the case has (none when on time). */
export function windowFlagChanges(
  transition: string,
  input: { arrivalDate?: string | undefined; postArrivalServices?: readonly string[] | undefined },
  doc: Pick<CaseDoc, 'departureDate' | 'arrivalDate' | 'charterFlight' | 'windowFlags'>,
  now: Date,
): Array<{ path: string; value: unknown }> {
  const flag = windowFlagFor(transition, input, doc, now);
  return flag ? [{ path: 'windowFlags', value: [...(doc.windowFlags ?? []), flag] }] : [];
}

/** Whether an arrival report dates the arrival before the departure (refused: BEFORE_WINDOW_OPENS). */
export { arrivalBeforeDeparture };
