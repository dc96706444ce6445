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
  /** Signed the application for assistance. */
  applicationSigned: boolean;
  /** YYYY-MM-DD, or null while not departed. */
  departureDate: string | null;
  /** YYYY-MM-DD: when assistance was requested (the case inserted). */
  requestDate: string;
}

export interface EligibilityRules {
  /** Months after departure within which assistance can be requested. */
  requestWindowMonths: number;
}

export const DEFAULT_ELIGIBILITY_RULES: EligibilityRules = { requestWindowMonths: 6 };

export type IneligibilityReason = 'LEGAL_STAY' | 'TEMPORARY_PROTECTION' | 'REQUEST_AFTER_WINDOW';

export type EligibilityOutcome =
  | { outcome: 'ELIGIBLE'; reasons: [] }
  | { outcome: 'ELIGIBILITY_LETTER_ONLY'; reasons: [] }
  | { outcome: 'INELIGIBLE'; reasons: IneligibilityReason[] };

/** Adds calendar months, clamping to the month's last day (2024-08-31 + 6 → 2025-02-28). */
export function addMonths(date: string, months: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const targetMonth = m - 1 + months;
  const year = y + Math.floor(targetMonth / 12);
  const month = ((targetMonth % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return `${year}-${String(month + 1).padStart(2, '0')}-${String(Math.min(d, lastDay)).padStart(2, '0')}`;
}

export function assessEligibility(
  facts: EligibilityFacts,
  rules: EligibilityRules = DEFAULT_ELIGIBILITY_RULES,
): EligibilityOutcome {
  const reasons: IneligibilityReason[] = [];
  if (facts.legalStay) reasons.push('LEGAL_STAY');
  if (facts.temporaryProtection) reasons.push('TEMPORARY_PROTECTION');
  if (facts.departureDate && facts.requestDate > addMonths(facts.departureDate, rules.requestWindowMonths))
    reasons.push('REQUEST_AFTER_WINDOW');
  if (reasons.length > 0) return { outcome: 'INELIGIBLE', reasons };
  if (!facts.applicationSigned) return { outcome: 'ELIGIBILITY_LETTER_ONLY', reasons: [] };
  return { outcome: 'ELIGIBLE', reasons: [] };
}
