import { COUNTRY_OF_ORIGIN_CODES, MEMBER_STATE_CODES } from '../../../shared/domain.js';
import { PROGRAMME_TARIFFS, type TariffRow } from '../../finance/tariffs/rules.js';

/**
 * The reference lists the cases subgraph checks against: participating Member States,
 * countries of origin and tariff versions (a plan stays within its package's entitlement).
 * Coverage and finance own these lists; a subgraph reads only its own database, so the
 * cases subgraph works from its own copy. Until that copy is kept, the programme's lists
 * as released apply.
 */
export interface ReferenceLists {
  memberStates: ReadonlySet<string>;
  countriesOfOrigin: ReadonlySet<string>;
  tariffs: readonly TariffRow[];
}

export const RELEASED_REFERENCE_LISTS: ReferenceLists = {
  memberStates: MEMBER_STATE_CODES,
  countriesOfOrigin: COUNTRY_OF_ORIGIN_CODES,
  tariffs: PROGRAMME_TARIFFS,
};

/** The lists in force now. */
export async function referenceLists(): Promise<ReferenceLists> {
  return RELEASED_REFERENCE_LISTS;
}
