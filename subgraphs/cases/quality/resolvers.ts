import { mayReadDataQuality, requirePrincipal } from '../../../shared/access.js';
import { forbidden } from '../../../shared/errors.js';
import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import { checkMemberState } from '../case/arguments.js';
import type { StatisticsDoc } from '../case/models.js';
import type { CasesContext } from '../context.js';
import type { DataQualityDoc } from './model.js';
import { fieldFigures, share } from './rules.js';
import { referenceLists } from '../reference/index.js';

/** The window codes a data-quality figure lists, always all of them (zero when none). */
const WINDOW_CODES = ['POST_ARRIVAL_WINDOW_CLOSED', 'POST_RETURN_WINDOW_CLOSED', 'BEFORE_WINDOW_OPENS'] as const;

/** The figures from the two read-model documents: the Member State's data-quality and statistics documents. */
export function presentDataQuality(memberState: string, doc: DataQualityDoc | null, stats: StatisticsDoc | null) {
  const received = doc?.received ?? 0;
  const rejected = doc?.rejected ?? 0;
  const withGaps = doc?.recordsWithGaps ?? 0;
  const flags = ((stats as Record<string, unknown> | null)?.windowFlags ?? {}) as Record<string, number>;
  return {
    memberState,
    recordsReceived: received,
    recordsRejected: rejected,
    rejectedShare: share(rejected, received),
    recordsWithGaps: withGaps,
    gapShare: share(withGaps, received),
    fields: fieldFigures(received, doc?.missing, doc?.defaulted),
    lateInsertions: doc?.lateInsertions ?? 0,
    windowFlags: WINDOW_CODES.map((code) => ({ code, count: Math.max(0, flags[code] ?? 0) })),
    updatedAt: doc?.updatedAt ?? null,
  };
}

/** Data quality per Member State (docs/domain.md, "Monitoring": better data quality at input). */
export const qualityResolvers: GraphQLResolverMap<CasesContext> = {
  Query: {
    // Two documents by _id: constant time whatever the number of cases or feeds.
    dataQuality: async (_: unknown, args: { memberState: string }, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'dataQuality');
      const memberState = checkMemberState(args.memberState, (await referenceLists(ctx.models.Case.db)).memberStates);
      if (!mayReadDataQuality(principal, memberState)) {
        throw forbidden(
          `${memberState}'s data quality is read by its own authority, the support desk and administrators only`,
        );
      }
      const [doc, stats] = await Promise.all([
        ctx.models.DataQuality.findOne({ _id: memberState }).lean<DataQualityDoc>().exec(),
        ctx.loaders.statisticsByScope.load(`memberState:${memberState}`),
      ]);
      return presentDataQuality(memberState, doc, stats);
    },
  },
};
