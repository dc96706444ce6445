import { defaultStatisticsScope, mayReadStatistics, requirePrincipal } from '../../../shared/access.js';
import { forbidden } from '../../../shared/errors.js';
import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import type { StatisticsDoc } from '../case/models.js';
import type { CasesContext } from '../context.js';
import { medianFromHistogram, presentStatistics, scopeForFilter, type StatisticsFilter } from './read.js';

/** A partner's quality indicators from its statistics document (quality monitoring, docs/domain.md). */
export function qualityIndicators(doc: StatisticsDoc | null) {
  const d = (doc ?? {}) as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  const status = (d.byStatus ?? {}) as Record<string, number>;
  const ended = n(status.COMPLETED) + n(status.WITHDRAWN) + n(status.CLOSED);
  const decisions = n(d.planRejections) + n(d.planApprovals);
  const km2 = ((d.durations ?? {}) as Record<string, { days?: Record<string, number> }>).arrivalToKm2;
  return {
    casesAssigned: n(d.cases),
    casesAccepted: n(d.accepted),
    medianDaysArrivalToApprovedPlan: medianFromHistogram(km2?.days ?? {}),
    completionRate: ended > 0 ? n(status.COMPLETED) / ended : null,
    planRejectionShare: decisions > 0 ? n(d.planRejections) / decisions : null,
  };
}

/** The statistics read model: the programme's statistics and a partner's quality indicators. */
export const statisticsResolvers: GraphQLResolverMap<CasesContext> = {
  Query: {
    // One read-model document by _id: constant time whatever the number of cases.
    statistics: async (_: unknown, args: { filter?: StatisticsFilter | null }, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'statistics');
      const named = Object.values(args.filter ?? {}).some((v) => v != null && v !== '');
      const scope = named ? scopeForFilter(args.filter) : defaultStatisticsScope(principal);
      if (!mayReadStatistics(principal, scope))
        throw forbidden(
          `${principal.role} reads the statistics of its own cases only ` +
            `(scope ${defaultStatisticsScope(principal)}), not ${scope}`,
        );
      const doc = await ctx.models.Statistics.findOne({ _id: scope }).lean<StatisticsDoc>().exec();
      return presentStatistics(scope, doc);
    },
  },
  Partner: {
    qualityIndicators: async (partner: { id: string }, _: unknown, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'qualityIndicators');
      const scope = `partner:${partner.id}`;
      if (!mayReadStatistics(principal, scope))
        throw forbidden(`${principal.role} does not read the quality indicators of ${partner.id}`);
      return qualityIndicators(await ctx.loaders.statisticsByScope.load(scope));
    },
  },
};
