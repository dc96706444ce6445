import { PACKAGES, type Package } from '../../../shared/domain.js';
import { isCalendarDate } from '../../../shared/scalars.js';
import { TARIFF_COMPONENTS, type TariffComponent, type TariffRow } from './rules.js';

/** The largest price a tariff component may have: 100,000 EUR. */
export const MAX_TARIFF_CENTS = 10_000_000;
/** How far ahead a version may start: two years. */
export const MAX_TARIFF_LEAD_DAYS = 731;

export interface TariffVersionInput {
  package: Package;
  component: TariffComponent;
  amountCents: number;
  validFrom: string;
}

export type TariffVersionPlan =
  | {
      ok: true;
      insert: TariffRow;
      /** The version in force until then, closed the day before the new one starts. */
      close: { validFrom: string; validTo: string } | null;
      /** The same version was already added (a retried request): nothing to write. */
      existing: boolean;
    }
  | { ok: false; kind: 'BAD_USER_INPUT' | 'CONFLICT'; field: keyof TariffVersionInput; message: string };

const shift = (date: string, days: number) => {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
};

/**
 * Adding a tariff version (docs/domain.md, "Packages and what they are worth"). Decided: a
 * version starts tomorrow at the earliest, so a day that has begun keeps the price cases
 * departed on; it starts after the component's latest version (history is not rewritten, no
 * two versions overlap), and right after it when that one is closed (no day without a price);
 * the version in force closes the day before. The same version again is a retry, not an error.
 */
export function planTariffVersion(
  rows: readonly TariffRow[],
  input: TariffVersionInput,
  today: string,
): TariffVersionPlan {
  const bad = (field: keyof TariffVersionInput, message: string): TariffVersionPlan => ({
    ok: false,
    kind: 'BAD_USER_INPUT',
    field,
    message,
  });
  if (!(PACKAGES as readonly unknown[]).includes(input.package))
    return bad('package', `package must be one of ${PACKAGES.join(', ')}`);
  if (!(TARIFF_COMPONENTS as readonly unknown[]).includes(input.component))
    return bad('component', `component must be one of ${TARIFF_COMPONENTS.join(', ')}`);
  const perPerson = input.package !== 'POST_RETURN';
  if (perPerson !== (input.component === 'PER_PERSON'))
    return bad(
      'component',
      perPerson
        ? `${input.package} is paid per person: its component is PER_PERSON`
        : 'POST_RETURN is paid by MAIN_APPLICANT_VOLUNTARY, MAIN_APPLICANT_FORCED and FAMILY_MEMBER, not PER_PERSON',
    );
  if (!Number.isSafeInteger(input.amountCents) || input.amountCents < 0 || input.amountCents > MAX_TARIFF_CENTS)
    return bad('amountCents', `amountCents must be an integer from 0 to ${MAX_TARIFF_CENTS} (100,000 EUR)`);
  if (typeof input.validFrom !== 'string' || !isCalendarDate(input.validFrom))
    return bad('validFrom', 'validFrom must be a calendar date YYYY-MM-DD');
  const versions = rows
    .filter((r) => r.package === input.package && r.component === input.component)
    .sort((a, b) => (a.validFrom < b.validFrom ? -1 : 1));
  const latest = versions.at(-1);
  const insert: TariffRow = { ...input, validTo: null };
  if (latest && latest.validFrom === input.validFrom && latest.amountCents === input.amountCents)
    return { ok: true, insert: { ...latest }, close: null, existing: true };
  if (input.validFrom <= today)
    return bad(
      'validFrom',
      `validFrom must be after today (${today}): the price of a day that has begun never changes, cases departed on it`,
    );
  if (input.validFrom > shift(today, MAX_TARIFF_LEAD_DAYS))
    return bad('validFrom', `validFrom must be within ${MAX_TARIFF_LEAD_DAYS} days of today (${today})`);
  if (!latest) return { ok: true, insert, close: null, existing: false };
  if (input.validFrom <= latest.validFrom)
    return {
      ok: false,
      kind: 'CONFLICT',
      field: 'validFrom',
      message:
        `${input.package} ${input.component} has a version from ${latest.validFrom}; a new version starts after ` +
        `the latest one (history is not rewritten, versions never overlap)`,
    };
  if (latest.validTo !== null && latest.validTo < shift(input.validFrom, -1))
    return bad(
      'validFrom',
      `the latest ${input.package} ${input.component} version ends on ${latest.validTo}; the next starts ` +
        `${shift(latest.validTo, 1)} (no day without a price)`,
    );
  const closesOn = shift(input.validFrom, -1);
  return {
    ok: true,
    insert,
    close:
      latest.validTo === null || latest.validTo > closesOn ? { validFrom: latest.validFrom, validTo: closesOn } : null,
    existing: false,
  };
}
