import { requirePrincipal } from '../../../shared/access.js';
import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import type { CasesContext } from '../context.js';
import { indicatorAccess, shownValue } from './rules.js';
import {
  breachFilter,
  checkIndicatorQuery,
  presentDefinition,
  presentValues,
  storeFilter,
  type IndicatorQueryArgs,
} from './read.js';
import type { IndicatorBreachDoc, IndicatorCountersDoc } from './store.js';

/** Indicators: their definitions (the file), values (the read model, one index read) and breaches. */
export const indicatorResolvers: GraphQLResolverMap<CasesContext> = {
  Query: {
    indicators: (_: unknown, __: unknown, ctx: CasesContext) => {
      requirePrincipal(ctx.principal, 'indicators');
      const { file } = ctx.indicators;
      return file.indicators.map((d) => presentDefinition(d, file.version));
    },
    indicatorValues: async (_: unknown, args: IndicatorQueryArgs, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'indicatorValues');
      const { file, models, threshold } = ctx.indicators;
      const query = checkIndicatorQuery(principal, file, args);
      // Each document gives one value per definition asked for: read no more documents than `first` needs.
      const docs = await models.Counters.find(storeFilter(query), { scope: 1, period: 1, c: 1 })
        .sort({ period: -1, _id: 1 })
        .limit(Math.ceil(query.first / query.definitions.length))
        .lean<IndicatorCountersDoc[]>()
        .exec();
      return docs.flatMap((doc) => presentValues(principal, query.definitions, doc, threshold)).slice(0, query.first);
    },
    indicatorBreaches: async (_: unknown, args: IndicatorQueryArgs & { open?: boolean | null }, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'indicatorBreaches');
      const { file, models, threshold } = ctx.indicators;
      const query = checkIndicatorQuery(principal, file, args);
      const filter = breachFilter(principal, query, args.open, args.perspective == null);
      const docs = await models.Breaches.find(filter)
        .sort({ detectedAt: -1, _id: 1 })
        .limit(query.first)
        .lean<IndicatorBreachDoc[]>()
        .exec();
      const definitions = new Map(file.indicators.map((d) => [d.id, d]));
      return docs.map((doc) => {
        const access = indicatorAccess(principal, doc.scope);
        const definition = definitions.get(doc.indicatorId);
        // An analyst sees a breach's value only as suppression lets the value itself through.
        const shown =
          definition && access === 'SUPPRESSED'
            ? shownValue(
                definition,
                { value: doc.value, numerator: doc.numerator, denominator: doc.denominator, cases: doc.cases },
                access,
                threshold,
              )
            : { value: doc.value, cases: doc.cases };
        return {
          id: doc._id,
          indicatorId: doc.indicatorId,
          indicatorVersion: doc.indicatorVersion,
          scope: { perspective: doc.scopeKind, key: doc.scopeKey },
          period: doc.period,
          value: definition || access !== 'SUPPRESSED' ? shown.value : null,
          casesCounted: shown.cases,
          minimumStandard: doc.minimumStandard,
          direction: doc.direction,
          detectedAt: doc.detectedAt,
          open: doc.open,
        };
      });
    },
  },
};
