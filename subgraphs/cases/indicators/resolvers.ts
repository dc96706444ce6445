import { requirePrincipal } from '../../../shared/access.js';
import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import type { CasesContext } from '../context.js';
import type { Principal } from '../../../shared/auth.js';
import { indicatorAccess, scopeOfId } from './rules.js';
import {
  breachFilter,
  checkIndicatorQuery,
  presentDefinition,
  presentValues,
  siblingFilter,
  storeFilter,
  SuppressionContext,
  type CountersFilter,
  type CountersLite,
  type IndicatorQueryArgs,
} from './read.js';
import { INDICATORS_PROJECTION_ID, type IndicatorBreachDoc, type IndicatorCountersDoc } from './store.js';
import { suppressionNote, toCsv, type CsvValue } from '../statistics/csv.js';

/** Most scope-periods a page shown with suppression covers: each needs its period's every scope read. */
export const MAX_SUPPRESSED_PERIODS = 24;

/**
 * For a reader who sees some of `docs` through suppression: every scope of their kinds in their
 * periods (one index read), so a value is withheld the same way whichever query shows it.
 */
async function suppressionContext(
  ctx: CasesContext,
  principal: Principal,
  docs: readonly CountersLite[],
): Promise<SuppressionContext | undefined> {
  const suppressed = docs.filter((doc) => indicatorAccess(principal, doc.scope) === 'SUPPRESSED');
  const filter = siblingFilter(suppressed);
  if (!filter) return undefined;
  return new SuppressionContext(await countersWhere(ctx, filter));
}

/** Most counter documents kept in memory; a larger read model is read per query instead. */
export const COUNTERS_CACHE_MAX_DOCS = 50_000;

const countersCache = new WeakMap<object, { key: string; docs: Promise<IndicatorCountersDoc[] | null> }>();

/**
 * The counter documents suppression needs (every scope of some kinds in some periods). Solving a
 * suppressed value reads its kind's every scope in its year, which is most of the read model, so
 * the whole model is kept in memory while the indicator projector's checkpoint (the last event it
 * applied, and its last rebuild) is unchanged: one small read per query instead of thousands of
 * documents. Never staler than the checkpoint read with it.
 */
async function countersWhere(ctx: CasesContext, filter: CountersFilter): Promise<IndicatorCountersDoc[]> {
  const periods = new Set(filter.period.$in);
  const kinds = new Set(filter.scopeKind.$in);
  const all = await cachedCounters(ctx);
  if (all) return all.filter((d) => periods.has(d.period) && kinds.has(d.scopeKind ?? scopeKindOf(d.scope)));
  return ctx.indicators.models.Counters.find(filter, COUNTER_FIELDS).lean<IndicatorCountersDoc[]>().exec();
}

const COUNTER_FIELDS = { scope: 1, scopeKind: 1, scopeKey: 1, period: 1, c: 1 };

/** The whole counters read model as of the projector's checkpoint; null when too large to keep. */
async function cachedCounters(ctx: CasesContext): Promise<IndicatorCountersDoc[] | null> {
  const { Counters } = ctx.indicators.models;
  const checkpoint = await ctx.models.Projection.findOne(
    { _id: INDICATORS_PROJECTION_ID },
    { lastEventId: 1, rebuiltAt: 1 },
  )
    .lean<{ lastEventId: string; rebuiltAt?: Date }>()
    .exec();
  if (!checkpoint) return null;
  const rebuilt = checkpoint.rebuiltAt ? new Date(checkpoint.rebuiltAt).toISOString() : '';
  const key = `${checkpoint.lastEventId}|${rebuilt}`;
  let entry = countersCache.get(Counters);
  if (!entry || entry.key !== key) {
    // One read fills it for every query waiting on the same checkpoint.
    const docs = Counters.find({}, COUNTER_FIELDS)
      .limit(COUNTERS_CACHE_MAX_DOCS + 1)
      .lean<IndicatorCountersDoc[]>()
      .exec()
      .then((all) => (all.length > COUNTERS_CACHE_MAX_DOCS ? null : all));
    entry = { key, docs };
    countersCache.set(Counters, entry);
    docs.catch(() => countersCache.delete(Counters));
  }
  return entry.docs;
}

/** `storeFilter`'s documents, newest period first (then by id), at most `limit`, as the store would answer. */
async function counterPage(
  ctx: CasesContext,
  query: Parameters<typeof storeFilter>[0],
  limit: number,
): Promise<IndicatorCountersDoc[]> {
  const all = await cachedCounters(ctx);
  if (!all)
    return ctx.indicators.models.Counters.find(storeFilter(query), COUNTER_FIELDS)
      .sort({ period: -1, _id: 1 })
      .limit(limit)
      .lean<IndicatorCountersDoc[]>()
      .exec();
  const filter = storeFilter(query) as { scopeKind: string; scopeKey?: string; period?: string };
  return all
    .filter(
      (d) =>
        (d.scopeKind ?? scopeKindOf(d.scope)) === filter.scopeKind &&
        (filter.scopeKey === undefined || d.scopeKey === filter.scopeKey) &&
        (filter.period === undefined || d.period === filter.period),
    )
    .sort((a, b) =>
      a.period === b.period ? (a._id < b._id ? -1 : a._id > b._id ? 1 : 0) : a.period < b.period ? 1 : -1,
    )
    .slice(0, limit);
}

const scopeKindOf = (scope: string) => scopeOfId(scope).kind;

/** Indicator values as `indicatorValues` serves them (and `indicatorValuesCsv` writes them). */
async function indicatorValues(args: IndicatorQueryArgs, ctx: CasesContext, field: string) {
  const principal = requirePrincipal(ctx.principal, field);
  const { file, threshold } = ctx.indicators;
  const query = checkIndicatorQuery(principal, file, args);
  // Each document gives one value per definition asked for: read no more documents than `first` needs.
  const docs = await counterPage(ctx, query, Math.ceil(query.first / query.definitions.length));
  // Outside the reader's own scope, a page covers at most MAX_SUPPRESSED_PERIODS periods (newest first).
  const periods = new Set<string>();
  const kept = docs.filter((doc) => {
    if (indicatorAccess(principal, doc.scope) !== 'SUPPRESSED') return true;
    periods.add(doc.period);
    return periods.size <= MAX_SUPPRESSED_PERIODS;
  });
  const context = await suppressionContext(ctx, principal, kept);
  return kept
    .flatMap((doc) => presentValues(principal, query.definitions, doc, threshold, context))
    .slice(0, query.first);
}

/** Indicators: their definitions (the file), values (the read model, one index read) and breaches. */
export const indicatorResolvers: GraphQLResolverMap<CasesContext> = {
  Query: {
    indicators: (_: unknown, __: unknown, ctx: CasesContext) => {
      requirePrincipal(ctx.principal, 'indicators');
      const { file } = ctx.indicators;
      return file.indicators.map((d) => presentDefinition(d, file.version));
    },
    indicatorValues: (_: unknown, args: IndicatorQueryArgs, ctx: CasesContext) =>
      indicatorValues(args, ctx, 'indicatorValues'),
    indicatorValuesCsv: async (_: unknown, args: IndicatorQueryArgs, ctx: CasesContext) => {
      const values = await indicatorValues(args, ctx, 'indicatorValuesCsv');
      const rows: CsvValue[][] = [
        [
          'indicator',
          'version',
          'perspective',
          'key',
          'period',
          'value',
          'numerator',
          'denominator',
          'cases',
          'status',
        ],
        ...values.map((v) => [
          v.indicatorId,
          v.indicatorVersion,
          v.scope.perspective,
          v.scope.key,
          v.period,
          v.value,
          v.numerator,
          v.denominator,
          v.casesCounted,
          v.status,
        ]),
      ];
      if (values.some((v) => v.status === 'WITHHELD'))
        rows.push(['Note', null, null, null, null, suppressionNote(ctx.indicators.threshold)]);
      return toCsv(rows);
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
      // An analyst sees a breach's value only where suppression shows the value now (the same tables as values).
      const suppressed = docs.filter((doc) => indicatorAccess(principal, doc.scope) === 'SUPPRESSED');
      const counters =
        suppressed.length > 0
          ? await ctx.indicators.models.Counters.find(
              { _id: { $in: suppressed.map((d) => `${d.scope}|${d.period}`) } },
              { scope: 1, period: 1, c: 1 },
            )
              .lean<IndicatorCountersDoc[]>()
              .exec()
          : [];
      const context = await suppressionContext(ctx, principal, counters);
      const current = new Map(counters.map((c) => [`${c.scope}|${c.period}`, c]));
      return docs.map((doc) => {
        const access = indicatorAccess(principal, doc.scope);
        const definition = definitions.get(doc.indicatorId);
        const now = current.get(`${doc.scope}|${doc.period}`);
        const view =
          access === 'SUPPRESSED' && definition && now && context ? context.shown(definition, now, threshold) : null;
        const shown =
          access !== 'SUPPRESSED'
            ? { value: doc.value, cases: doc.cases }
            : view && !view.suppressed
              ? { value: doc.value, cases: view.cases }
              : { value: null, cases: view?.cases ?? null };
        return {
          id: doc._id,
          indicatorId: doc.indicatorId,
          indicatorVersion: doc.indicatorVersion,
          scope: { perspective: doc.scopeKind, key: doc.scopeKey },
          period: doc.period,
          value: shown.value,
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
