import { addMonths, effectiveRequestWindowMonths, requestWindowBreach } from './windows.js';

// Calendar months live with the windows (windows.ts); re-exported for the callers that import them from here.
export { addMonths };

/**
 * Eligibility (docs/domain.md, "Who is eligible"): third-country nationals returning voluntarily or not who no
 * longer fulfil the conditions to stay. Not eligible: legal stay under Directive
 * 2011/95/EU, temporary protection under Directive 2001/55/EC. Assistance can be requested
 * up to 6 months after departure (configurable per Member State). A returnee who does not
 * sign the application gets an eligibility letter: post-arrival support only.
 */

export interface EligibilityFacts {
  /** Holds international protection / legal stay under Directive 2011/95/EU. */
  legalStay: boolean;
  /** Holds temporary protection under Directive 2001/55/EC. */
  temporaryProtection: boolean;
  /** Signed the application for assistance; null when the record does not say (a missing fact, never a yes). */
  applicationSigned: boolean | null;
  /** YYYY-MM-DD, or null while not departed. */
  departureDate: string | null;
  /**
   * YYYY-MM-DD: when assistance was requested; for a record without a request date, the day the case
   * was inserted (a case inserted retroactively is checked against its insertion date).
   */
  requestDate: string;
}

export interface EligibilityRules {
  /**
   * Months after departure within which assistance can be requested. A Member State narrows the
   * programme's 6 months, never widens them: a wider stored value (older data) counts as 6.
   */
  requestWindowMonths: number;
}

export const DEFAULT_ELIGIBILITY_RULES: EligibilityRules = { requestWindowMonths: 6 };

export type IneligibilityReason = 'LEGAL_STAY' | 'TEMPORARY_PROTECTION' | 'REQUEST_AFTER_WINDOW';

export type EligibilityOutcome =
  | { outcome: 'ELIGIBLE'; reasons: [] }
  | { outcome: 'ELIGIBILITY_LETTER_ONLY'; reasons: [] }
  | { outcome: 'INELIGIBLE'; reasons: IneligibilityReason[] };

export function assessEligibility(
  facts: EligibilityFacts,
  rules: EligibilityRules = DEFAULT_ELIGIBILITY_RULES,
): EligibilityOutcome {
  const reasons: IneligibilityReason[] = [];
  if (facts.legalStay) reasons.push('LEGAL_STAY');
  if (facts.temporaryProtection) reasons.push('TEMPORARY_PROTECTION');
  const months = effectiveRequestWindowMonths(rules.requestWindowMonths);
  if (facts.departureDate && facts.requestDate > addMonths(facts.departureDate, months))
    reasons.push('REQUEST_AFTER_WINDOW');
  if (reasons.length > 0) return { outcome: 'INELIGIBLE', reasons };
  // An unknown signature grants no more than a refused one: post-arrival support only.
  if (facts.applicationSigned !== true) return { outcome: 'ELIGIBILITY_LETTER_ONLY', reasons: [] };
  return { outcome: 'ELIGIBLE', reasons: [] };
}

/** The facts a feed record may leave out, as the record gives them (absent or null: missing). */
export interface RecordedEligibilityFacts {
  legalStay: boolean;
  temporaryProtection: boolean;
  applicationSigned?: boolean | null;
  requestDate?: string | null;
}

/** The eligibility facts a record did not give, by name (`requestDate`, `applicationSigned`). */
export type MissingFact = 'requestDate' | 'applicationSigned';

export function missingFactsOf(
  facts: Pick<RecordedEligibilityFacts, 'applicationSigned' | 'requestDate'>,
): MissingFact[] {
  const missing: MissingFact[] = [];
  if (facts.requestDate == null) missing.push('requestDate');
  if (facts.applicationSigned == null) missing.push('applicationSigned');
  return missing;
}

/** A record's eligibility as stored on its case (models.ts EligibilityDoc). */
export interface AssessedEligibility {
  outcome: EligibilityOutcome['outcome'];
  reasons: IneligibilityReason[];
  /** As the record gave it: null when missing (never the insertion day). */
  requestDate: string | null;
  /** The day the request window was checked against: the request date, else the insertion day. */
  requestCheckedOn: string;
  /** The window that applied (the Member State's, never wider than the programme's 6 months). */
  requestWindowMonths: number;
  missingFacts: MissingFact[];
}

/**
 * Assesses a feed record: without a request date the insertion day stands in for the window
 * check (a case inserted late is checked against its insertion), but the stored request date
 * stays null; an unknown signature stays unknown (null) and counts as not signed.
 */
export function assessRecordEligibility(
  facts: RecordedEligibilityFacts,
  departureDate: string | null,
  insertionDay: string,
  requestWindowMonths: number | null | undefined,
): AssessedEligibility {
  const months = effectiveRequestWindowMonths(requestWindowMonths);
  const requestCheckedOn = facts.requestDate ?? insertionDay;
  const assessed = assessEligibility(
    {
      legalStay: facts.legalStay,
      temporaryProtection: facts.temporaryProtection,
      applicationSigned: facts.applicationSigned ?? null,
      departureDate,
      requestDate: requestCheckedOn,
    },
    { requestWindowMonths: months },
  );
  return {
    ...assessed,
    requestDate: facts.requestDate ?? null,
    requestCheckedOn,
    requestWindowMonths: months,
    missingFacts: missingFactsOf(facts),
  };
}

/** True when a case was inserted after its request window closed (a late insertion, for data quality). */
export function insertedLate(
  departureDate: string | null,
  insertionDay: string,
  requestWindowMonths: number | null | undefined,
): boolean {
  const facts = {
    departureDate,
    arrivalDate: null,
    charterFlight: false,
    requestWindowMonths: requestWindowMonths ?? 6,
  };
  return requestWindowBreach(insertionDay, facts) !== null;
}
