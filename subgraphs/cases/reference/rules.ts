import type { TariffRow } from '../../finance/tariffs/rules.js';
import type { ReferenceChange } from './stream.js';

/** The lists a set of changes leads to, without the store: applied over the released lists. */
export interface ListsData {
  memberStates: ReadonlyMap<string, { name: string; joinedOn: string }>;
  countriesOfOrigin: ReadonlyMap<string, { alpha3: string; name: string }>;
  tariffs: readonly TariffRow[];
}

/** The day before, YYYY-MM-DD. */
function dayBefore(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

/**
 * The versions of each tariff component as one chain: sorted by start, each closing the day
 * before the next starts (the last stays open unless it was closed). Applying the same
 * versions in any order gives the same chain, so a change applied twice changes nothing.
 */
export function tariffChain(rows: readonly TariffRow[]): TariffRow[] {
  const byComponent = new Map<string, TariffRow[]>();
  for (const row of rows) {
    const key = `${row.package}:${row.component}`;
    const list = byComponent.get(key) ?? [];
    // One version per start day: a later one replaces an earlier one with the same start.
    const same = list.findIndex((r) => r.validFrom === row.validFrom);
    if (same >= 0) list[same] = row;
    else list.push(row);
    byComponent.set(key, list);
  }
  const chain: TariffRow[] = [];
  for (const list of byComponent.values()) {
    list.sort((a, b) => (a.validFrom < b.validFrom ? -1 : 1));
    list.forEach((row, i) => {
      const next = list[i + 1];
      chain.push({ ...row, validTo: next ? dayBefore(next.validFrom) : row.validTo });
    });
  }
  return chain;
}

/** Applies changes (in stream order) to lists; a Member State or country added again takes the latest values. */
export function applyReferenceChanges(base: ListsData, changes: readonly ReferenceChange[]): ListsData {
  const memberStates = new Map(base.memberStates);
  const countries = new Map(base.countriesOfOrigin);
  const tariffs: TariffRow[] = [...base.tariffs];
  for (const change of changes) {
    if (change.kind === 'MEMBER_STATE') memberStates.set(change.code, { name: change.name, joinedOn: change.joinedOn });
    else if (change.kind === 'COUNTRY_OF_ORIGIN')
      countries.set(change.code, { alpha3: change.alpha3, name: change.name });
    else
      tariffs.push({
        package: change.package,
        component: change.component,
        amountCents: change.amountCents,
        validFrom: change.validFrom,
        validTo: null,
      });
  }
  return { memberStates, countriesOfOrigin: countries, tariffs: tariffChain(tariffs) };
}

/** The day a case counts from for its Member State's participation: departure, else the request, else today. */
export function caseDayOf(
  record: {
    departureDate: string | null;
    eligibility?: { requestDate?: string | null } | null;
  },
  today: string,
): string {
  return record.departureDate ?? record.eligibility?.requestDate ?? today;
}

/**
 * A Member State's case dated before it joined the programme is refused
 * (MEMBER_STATE_NOT_YET_JOINED). Null when the case may be taken, or when the Member State is
 * not a participating one (that is the list check's problem, not this one's).
 */
export function joiningDateBreach(
  joinedOn: ReadonlyMap<string, string>,
  memberState: string,
  caseDay: string,
): string | null {
  const joined = joinedOn.get(memberState);
  if (!joined || caseDay >= joined) return null;
  return (
    `MEMBER_STATE_NOT_YET_JOINED: ${memberState} joined the programme on ${joined}; ` +
    `this case is dated ${caseDay} (departure, or request before departure), before it joined`
  );
}
