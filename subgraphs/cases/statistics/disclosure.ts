import { defaultStatisticsScope } from '../../../shared/access.js';
import type { Principal } from '../../../shared/auth.js';

/**
 * How a principal sees the aggregates of a scope (docs/domain.md, "Monitoring"):
 * - EXACT: the owners of the cases counted (a Member State its own scope, a partner its own),
 *   and the support desk and administrators, who run the programme and list every case's
 *   metadata anyway (withholding a count from them would protect nothing);
 * - SUPPRESSED: everyone else who reads aggregates: EU analysts always, a Member State beyond
 *   its own scope (the programme, another Member State, a country, a partner), a partner beyond
 *   its own; small cells withheld (suppression.ts);
 * - FORBIDDEN: anonymous callers, the DPO, and tokens without their Member State or partner.
 */
export type StatisticsView = 'EXACT' | 'SUPPRESSED' | 'FORBIDDEN';

export function statisticsView(principal: Principal | null, scope: string): StatisticsView {
  if (!principal) return 'FORBIDDEN';
  switch (principal.role) {
    case 'ADMIN':
    case 'SUPPORT_DESK':
      return 'EXACT';
    case 'EU_ANALYST':
      return 'SUPPRESSED';
    case 'MEMBER_STATE':
      if (!principal.memberState) return 'FORBIDDEN';
      return scope === defaultStatisticsScope(principal) ? 'EXACT' : 'SUPPRESSED';
    case 'PARTNER':
      if (!principal.partnerId) return 'FORBIDDEN';
      return scope === defaultStatisticsScope(principal) ? 'EXACT' : 'SUPPRESSED';
    default:
      return 'FORBIDDEN';
  }
}
