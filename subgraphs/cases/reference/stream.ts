import type { Redis } from 'ioredis';
import { PACKAGES, type Package } from '../../../shared/domain.js';
import { isCalendarDate } from '../../../shared/scalars.js';
import { TARIFF_COMPONENTS, type TariffComponent } from '../../finance/tariffs/rules.js';

/**
 * The reference-data stream: coverage (countries of origin, Member States) and finance (tariff
 * versions) append each change they make; the cases subgraph applies them to its own copy
 * (copy.ts). A stream of its own rather than the case event backbone: these are not facts of
 * a case (every case-event consumer would have to skip them), there are a few a year, and
 * the stream is never trimmed, so a new copy is built by reading it from the start.
 */
export const referenceDataStream = (prefix: string) => `${prefix}:reference-data`;

export type ReferenceChange =
  | { kind: 'MEMBER_STATE'; code: string; name: string; joinedOn: string }
  | { kind: 'COUNTRY_OF_ORIGIN'; code: string; alpha3: string; name: string }
  | { kind: 'TARIFF'; package: Package; component: TariffComponent; amountCents: number; validFrom: string };

/** The copy's key of a change: one entry per Member State, country, or tariff version. */
export function changeKey(change: ReferenceChange): string {
  if (change.kind === 'TARIFF') return `TARIFF:${change.package}:${change.component}:${change.validFrom}`;
  return `${change.kind}:${change.code}`;
}

/** Appends one change; answers the entry id. Bounded by `timeoutMs` (the caller's deadline). */
export async function publishReferenceChange(
  redis: Redis,
  prefix: string,
  change: ReferenceChange,
  timeoutMs = 2_000,
): Promise<string> {
  const added = redis.xadd(referenceDataStream(prefix), '*', 'change', JSON.stringify(change));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`reference-data stream did not answer in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const id = await Promise.race([added, timeout]);
    if (!id) throw new Error('reference-data stream refused the change');
    return id;
  } finally {
    clearTimeout(timer);
  }
}

const CODE2 = /^[A-Z]{2}$/;
const CODE3 = /^[A-Z]{3}$/;
const NAME = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= 100 && !/[\u0000-\u001f\u007f]/.test(value);

/** A stream entry's change, checked field by field (an entry that is not one is skipped, never applied). */
export function parseReferenceChange(json: string): ReferenceChange | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (v.kind === 'MEMBER_STATE' && typeof v.code === 'string' && CODE2.test(v.code) && NAME(v.name))
    return typeof v.joinedOn === 'string' && isCalendarDate(v.joinedOn)
      ? { kind: 'MEMBER_STATE', code: v.code, name: v.name, joinedOn: v.joinedOn }
      : null;
  if (v.kind === 'COUNTRY_OF_ORIGIN' && typeof v.code === 'string' && CODE2.test(v.code) && NAME(v.name))
    return typeof v.alpha3 === 'string' && CODE3.test(v.alpha3)
      ? { kind: 'COUNTRY_OF_ORIGIN', code: v.code, alpha3: v.alpha3, name: v.name }
      : null;
  if (
    v.kind === 'TARIFF' &&
    (PACKAGES as readonly unknown[]).includes(v.package) &&
    (TARIFF_COMPONENTS as readonly unknown[]).includes(v.component) &&
    Number.isSafeInteger(v.amountCents) &&
    (v.amountCents as number) >= 0 &&
    typeof v.validFrom === 'string' &&
    isCalendarDate(v.validFrom)
  )
    return {
      kind: 'TARIFF',
      package: v.package as Package,
      component: v.component as TariffComponent,
      amountCents: v.amountCents as number,
      validFrom: v.validFrom,
    };
  return null;
}
