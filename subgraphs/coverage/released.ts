import { COUNTRIES_OF_ORIGIN, MEMBER_STATES } from '../../shared/domain.js';

/** The first day of the JRS contracts: the earliest a Member State joined or a tariff applied. */
export const PROGRAMME_START = '2022-04-01';

/**
 * When each participating Member State joined the programme, as released. Most took part from
 * the start; the others joined over time (docs/domain.md, "Who takes part"). A case of a Member
 * State dated before it joined is refused at ingestion (MEMBER_STATE_NOT_YET_JOINED).
 */
const JOINED_LATER: Readonly<Record<string, string>> = {
  LU: '2022-06-01',
  BG: '2022-07-01',
  GR: '2022-09-01',
  CY: '2022-10-01',
  HU: '2022-11-01',
  CZ: '2023-01-01',
  EE: '2023-02-01',
  ES: '2023-03-01',
  HR: '2023-04-01',
  LV: '2023-06-01',
  LT: '2023-06-01',
  MT: '2023-09-01',
};

/** A participating Member State with the day it joined, YYYY-MM-DD. */
export interface ReleasedMemberState {
  code: string;
  name: string;
  joinedOn: string;
}

export const RELEASED_MEMBER_STATES: readonly ReleasedMemberState[] = MEMBER_STATES.map((m) => ({
  ...m,
  joinedOn: JOINED_LATER[m.code] ?? PROGRAMME_START,
}));

export const RELEASED_COUNTRIES_OF_ORIGIN = COUNTRIES_OF_ORIGIN;
