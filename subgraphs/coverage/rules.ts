import type { Package } from '../../shared/domain.js';

export interface CoveragePeriod {
  countryCode: string;
  partnerId: string;
  packages: readonly Package[];
  validFrom: string;
  validTo: string | null;
}

export type AssignmentResult = { ok: true; period: CoveragePeriod } | { ok: false; message: string };

const covers = (period: CoveragePeriod, on: string) =>
  period.validFrom <= on && (period.validTo === null || period.validTo >= on);

/**
 * The assignment rule: a new case goes to the partner covering its country of origin and
 * all its packages on its departure date. Without one, the message says what coverage
 * there is and what to do.
 */
export function assignPartner(
  periods: readonly CoveragePeriod[],
  country: string,
  packages: readonly Package[],
  on: string,
): AssignmentResult {
  const forCountry = periods.filter((p) => p.countryCode === country);
  const match = forCountry.find((p) => covers(p, on) && packages.every((pkg) => p.packages.includes(pkg)));
  if (match) return { ok: true, period: match };
  const current = forCountry.filter((p) => covers(p, on));
  const described = current.map(
    (p) => `${p.partnerId} covers ${country} with ${p.packages.join(', ')} since ${p.validFrom}`,
  );
  const known =
    forCountry.length > 0
      ? forCountry.map((p) => `${p.partnerId} ${p.validFrom}..${p.validTo ?? 'now'}`).join('; ')
      : 'none';
  return {
    ok: false,
    message:
      current.length > 0
        ? `No partner covers ${country} for ${packages.join(' + ')} on ${on} (${described.join('; ')}). ` +
          `Request only covered packages, or ask the support desk to extend coverage.`
        : `No partner covers ${country} on ${on} (coverage periods: ${known}). Check the country and the departure ` +
          `date, or ask the support desk to add coverage.`,
  };
}

/** The day before, YYYY-MM-DD (a new period closes the previous one the day before it starts). */
export function dayBefore(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}
