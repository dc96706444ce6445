import type { Principal } from '../../../shared/auth.js';
import { defaultStatisticsScope, mayReadStatistics, requirePrincipal } from '../../../shared/access.js';
import { badUserInput, forbidden } from '../../../shared/errors.js';
import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import type { StatisticsDoc } from '../case/models.js';
import type { CasesContext } from '../context.js';
import {
  assembleCrossTab,
  crossTabProjection,
  pairOf,
  presentCrossTab,
  type CrossTabMeasure,
  type CrossTabulation,
  type StatisticsDimension,
} from './crosstab.js';
import { crossTabCsv, statisticsCsv } from './csv.js';
import { statisticsView } from './disclosure.js';
import {
  medianFromHistogram,
  namesScope,
  scopeForFilter,
  servedStatistics,
  type PresentedStatistics,
  type StatisticsFilter,
} from './read.js';
import { narrowProjection, parseNarrowing, servedNarrowedStatistics, type Narrowing } from './narrow.js';
import { DEFAULT_SUPPRESSION_THRESHOLD, isSmall, suppressRate } from './suppression.js';

const DB_TIMEOUT_MS = 5_000;

/** The scope a request reads and how (exact, or small cells withheld); refuses what the caller may not read. */
function resolveScope(principal: Principal, filter: StatisticsFilter | null | undefined, ctx: CasesContext) {
  if (filter != null && (typeof filter !== 'object' || Array.isArray(filter)))
    throw badUserInput('filter must be an object', 'filter');
  const scope = namesScope(filter) ? scopeForFilter(filter) : defaultStatisticsScope(principal);
  const view = statisticsView(principal, scope);
  if (view === 'FORBIDDEN') throw forbidden(`${principal.role} does not read aggregates (scope ${scope})`);
  const threshold = view === 'EXACT' ? null : (ctx.suppressionThreshold ?? DEFAULT_SUPPRESSION_THRESHOLD);
  // What a Member State or partner reading beyond its own scope knows already: its own line.
  const known = { memberState: principal.memberState ?? null, partner: principal.partnerId ?? null };
  return { scope, threshold, known };
}

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

/**
 * A partner's quality indicators as a reader outside the partner sees them (EU analysts, Member
 * States): a count that is small, a rate over a small group or with a small part, and a median over
 * few cases are withheld (suppression.ts), as for every other aggregate a non-owner reads.
 */
export function suppressedQualityIndicators(doc: StatisticsDoc | null, threshold: number) {
  const exact = qualityIndicators(doc);
  const d = (doc ?? {}) as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  const status = (d.byStatus ?? {}) as Record<string, number>;
  const ended = n(status.COMPLETED) + n(status.WITHDRAWN) + n(status.CLOSED);
  const decisions = n(d.planRejections) + n(d.planApprovals);
  const km2 = ((d.durations ?? {}) as Record<string, { count?: number }>).arrivalToKm2;
  const assigned = isSmall(exact.casesAssigned, threshold) ? null : exact.casesAssigned;
  const accepted =
    assigned === null ||
    isSmall(exact.casesAccepted, threshold) ||
    isSmall(exact.casesAssigned - exact.casesAccepted, threshold)
      ? null
      : exact.casesAccepted;
  const shown = {
    casesAssigned: assigned,
    casesAccepted: accepted,
    medianDaysArrivalToApprovedPlan: n(km2?.count) < threshold ? null : exact.medianDaysArrivalToApprovedPlan,
    completionRate: ended > 0 ? suppressRate(n(status.COMPLETED), ended, threshold) : null,
    planRejectionShare: decisions > 0 ? suppressRate(n(d.planRejections), decisions, threshold) : null,
  };
  const withheld =
    (assigned === null && exact.casesAssigned > 0) ||
    (accepted === null && exact.casesAccepted > 0) ||
    (shown.medianDaysArrivalToApprovedPlan === null && exact.medianDaysArrivalToApprovedPlan !== null) ||
    (shown.completionRate === null && exact.completionRate !== null) ||
    (shown.planRejectionShare === null && exact.planRejectionShare !== null);
  return { ...shown, suppressed: withheld };
}

/** The statistics read model: the programme's statistics and a partner's quality indicators. */
export const statisticsResolvers: GraphQLResolverMap<CasesContext> = {
  Query: {
    // One read-model document by _id: constant time whatever the number of cases.
    // Cross tabs' pair counters (`x`) are left out: they are read one pair at a time by crossTabulation.
    statistics: async (_: unknown, args: { filter?: StatisticsFilter | null; narrow?: unknown }, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'statistics');
      const { scope, threshold, known } = resolveScope(principal, args.filter, ctx);
      // Narrowed by period or package (narrow.ts): the pair counters it needs, summed, then suppressed.
      const narrowing = parseNarrowing(args.narrow);
      if (narrowing) {
        const pairs = await ctx.models.Statistics.findOne({ _id: scope }, narrowProjection(narrowing))
          .maxTimeMS(DB_TIMEOUT_MS)
          .lean<StatisticsDoc>()
          .exec();
        return servedNarrowedStatistics(scope, pairs, narrowing, threshold, known);
      }
      const doc = await ctx.models.Statistics.findOne({ _id: scope }, { x: 0 })
        .maxTimeMS(DB_TIMEOUT_MS)
        .lean<StatisticsDoc>()
        .exec();
      return servedStatistics(scope, doc, threshold, known);
    },
    // One read-model document by _id, projected to one pair of dimensions.
    crossTabulation: async (
      _: unknown,
      args: {
        rows: StatisticsDimension;
        columns: StatisticsDimension;
        measure?: CrossTabMeasure | null;
        filter?: StatisticsFilter | null;
      },
      ctx: CasesContext,
    ): Promise<CrossTabulation> => {
      const principal = requirePrincipal(ctx.principal, 'crossTabulation');
      const measure = args.measure ?? 'CASES';
      if (measure !== 'CASES' && measure !== 'RETURNEES') throw badUserInput(`unknown measure ${measure}`, 'measure');
      const { pair } = pairOf(args.rows, args.columns);
      const { scope, threshold, known } = resolveScope(principal, args.filter, ctx);
      const doc = await ctx.models.Statistics.findOne({ _id: scope }, crossTabProjection(pair, measure))
        .maxTimeMS(DB_TIMEOUT_MS)
        .lean<StatisticsDoc>()
        .exec();
      const table = assembleCrossTab(doc, args.rows, args.columns, measure);
      return presentCrossTab(
        { scope, rowDimension: args.rows, columnDimension: args.columns, measure },
        table,
        threshold === null ? null : { threshold, known },
        doc?.updatedAt ?? null,
      );
    },
  },
  Statistics: {
    suppressionThreshold: (s: PresentedStatistics) => s.threshold,
    csv: (s: PresentedStatistics) => statisticsCsv(s),
    narrowedTo: (s: { narrowing?: Narrowing }) => s.narrowing ?? null,
    unavailableBreakdowns: (s: { unavailable?: StatisticsDimension[] }) => s.unavailable ?? [],
  },
  CrossTabulation: {
    suppressed: (t: CrossTabulation) => t.withheld > 0,
    suppressionThreshold: (t: CrossTabulation) => t.threshold,
    csv: (t: CrossTabulation) => crossTabCsv(t),
  },
  Partner: {
    qualityIndicators: async (partner: { id: string }, _: unknown, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'qualityIndicators');
      const scope = `partner:${partner.id}`;
      if (!mayReadStatistics(principal, scope))
        throw forbidden(`${principal.role} does not read the quality indicators of ${partner.id}`);
      const doc = await ctx.loaders.statisticsByScope.load(scope);
      if (statisticsView(principal, scope) !== 'SUPPRESSED') return { ...qualityIndicators(doc), suppressed: false };
      return suppressedQualityIndicators(doc, ctx.suppressionThreshold ?? DEFAULT_SUPPRESSION_THRESHOLD);
    },
  },
};
