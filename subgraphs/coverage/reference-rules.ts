import { PACKAGES, type Package } from '../../shared/domain.js';
import { isCalendarDate } from '../../shared/scalars.js';
import { PROGRAMME_START } from './released.js';

/** What the support desk sends to add a country of origin (with the partner serving it). */
export interface NewCountryInput {
  code: string;
  alpha3: string;
  name: string;
  partnerId: string;
  packages: Package[];
  validFrom: string;
}

/** What the support desk sends to add a participating Member State. */
export interface NewMemberStateInput {
  code: string;
  name: string;
  joinedOn: string;
}

export type InputCheck = { ok: true } | { ok: false; field: string; message: string };

/** Longest name of a country or Member State. */
export const MAX_REFERENCE_NAME = 100;

const ALPHA2 = /^[A-Z]{2}$/;
const ALPHA3 = /^[A-Z]{3}$/;
const quoted = (value: unknown) => JSON.stringify(value)?.slice(0, 24) ?? String(value);

function checkName(name: unknown): string | null {
  if (typeof name !== 'string' || name.trim().length === 0) return 'name must not be empty';
  if (name.length > MAX_REFERENCE_NAME) return `name must be at most ${MAX_REFERENCE_NAME} characters`;
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'name must not contain control characters';
  if (name !== name.trim()) return 'name must not start or end with spaces';
  return null;
}

/** A new country of origin: ISO codes in capitals, a name, a contracted partner, its packages, from a day. */
export function checkNewCountry(input: NewCountryInput, partners: ReadonlySet<string>): InputCheck {
  const bad = (field: string, message: string): InputCheck => ({ ok: false, field, message });
  if (typeof input.code !== 'string' || !ALPHA2.test(input.code))
    return bad('code', `code ${quoted(input.code)} must be ISO 3166-1 alpha-2 in capitals (e.g. KE)`);
  if (typeof input.alpha3 !== 'string' || !ALPHA3.test(input.alpha3))
    return bad('alpha3', `alpha3 ${quoted(input.alpha3)} must be ISO 3166-1 alpha-3 in capitals (e.g. KEN)`);
  const name = checkName(input.name);
  if (name) return bad('name', name);
  if (!partners.has(input.partnerId)) return bad('partnerId', `${quoted(input.partnerId)} is not a contracted partner`);
  if (!Array.isArray(input.packages) || input.packages.length === 0 || input.packages.length > PACKAGES.length)
    return bad('packages', `packages must name 1 to ${PACKAGES.length} packages`);
  if (new Set(input.packages).size !== input.packages.length) return bad('packages', 'packages must not repeat');
  if (typeof input.validFrom !== 'string' || !isCalendarDate(input.validFrom))
    return bad('validFrom', 'validFrom must be a calendar date YYYY-MM-DD');
  if (input.validFrom < PROGRAMME_START)
    return bad('validFrom', `validFrom must not be before the programme started (${PROGRAMME_START})`);
  return { ok: true };
}

/** A new Member State: ISO code in capitals, a name, the day it joined (not before the programme started). */
export function checkNewMemberState(input: NewMemberStateInput): InputCheck {
  const bad = (field: string, message: string): InputCheck => ({ ok: false, field, message });
  if (typeof input.code !== 'string' || !ALPHA2.test(input.code))
    return bad('code', `code ${quoted(input.code)} must be ISO 3166-1 alpha-2 in capitals (e.g. IE)`);
  const name = checkName(input.name);
  if (name) return bad('name', name);
  if (typeof input.joinedOn !== 'string' || !isCalendarDate(input.joinedOn))
    return bad('joinedOn', 'joinedOn must be a calendar date YYYY-MM-DD');
  if (input.joinedOn < PROGRAMME_START)
    return bad('joinedOn', `joinedOn must not be before the programme started (${PROGRAMME_START})`);
  return { ok: true };
}

/**
 * Adding what is already there: the same values again is a retry (answered, published again);
 * other values are a conflict (a country's serving partner changes with assignCoverage).
 */
export function sameValues<T extends object>(stored: T, wanted: T): boolean {
  return (Object.keys(wanted) as Array<keyof T>).every((k) => stored[k] === wanted[k]);
}
