import type { Principal } from '../../../shared/auth.js';
import { badUserInput, forbidden } from '../../../shared/errors.js';
import { SCOPE_KINDS, unitOf, type IndicatorDefinition, type IndicatorFile, type ScopeKind } from './definitions.js';
import {
  indicatorAccess,
  mayReadBreaches,
  scopeId,
  scopeOfId,
  shownValue,
  statusOf,
  suppressAcross,
  suppressAcrossPeriods,
  valueOf,
  type Counters,
  type ShownValue,
} from './rules.js';

export const MAX_VALUES = 500;
const KEY = /^[A-Za-z0-9-]{1,40}$/;
const PERIOD = /^\d{4}(-(0[1-9]|1[0-2]))?$/;

export interface IndicatorQueryArgs {
  indicator?: string | null;
  perspective?: string | null;
  key?: string | null;
  period?: string | null;
  first?: number | null;
}

/** The checked query: which definitions, which scopes (kind and key, or every key of a kind), which period. */
export interface IndicatorQuery {
  definitions: IndicatorDefinition[];
  kind: ScopeKind;
  /** Null: every scope of the kind (the programme has none). */
  key: string | null;
  period: string | null;
  first: number;
}

/** Checks the arguments (bounded, named codes) and fills the defaults of the principal's own scope. */
export function checkIndicatorQuery(
  principal: Principal,
  file: IndicatorFile,
  args: IndicatorQueryArgs,
): IndicatorQuery {
  let definitions = file.indicators;
  if (args.indicator != null) {
    if (typeof args.indicator !== 'string' || args.indicator.length > 64)
      throw badUserInput('indicator is not an indicator id', 'indicator');
    definitions = file.indicators.filter((d) => d.id === args.indicator);
    if (definitions.length === 0)
      throw badUserInput(
        `indicator ${JSON.stringify(args.indicator)} is not defined (see \`indicators\`)`,
        'indicator',
      );
  }
  const first = args.first ?? 100;
  if (!Number.isInteger(first) || first < 1 || first > MAX_VALUES)
    throw badUserInput(`first must be 1 to ${MAX_VALUES}, got ${first}`, 'first');
  if (args.period != null && (typeof args.period !== 'string' || !PERIOD.test(args.period)))
    throw badUserInput('period must be YYYY or YYYY-MM', 'period');
  if (args.key != null && (typeof args.key !== 'string' || !KEY.test(args.key)))
    throw badUserInput('key must be a code of 1 to 40 letters, digits or dashes', 'key');
  if (args.perspective != null && !(SCOPE_KINDS as readonly string[]).includes(args.perspective))
    throw badUserInput(`perspective must be one of ${SCOPE_KINDS.join(', ')}`, 'perspective');
  let kind = args.perspective as ScopeKind | null | undefined;
  let key = args.key ?? null;
  if (!kind) {
    if (key !== null) throw badUserInput('key needs a perspective', 'key');
    if (principal.role === 'MEMBER_STATE' && principal.memberState)
      [kind, key] = ['MEMBER_STATE', principal.memberState];
    else if (principal.role === 'PARTNER' && principal.partnerId) [kind, key] = ['PARTNER', principal.partnerId];
    else kind = 'PROGRAMME';
  }
  if (kind === 'PROGRAMME' && key !== null) throw badUserInput('the programme scope takes no key', 'key');
  return { definitions, kind, key, period: args.period ?? null, first };
}

/** The store filter of a checked query (an index read: scope kind, key, period). */
export function storeFilter(query: Pick<IndicatorQuery, 'kind' | 'key' | 'period'>): Record<string, unknown> {
  return {
    scopeKind: query.kind,
    ...(query.kind === 'PROGRAMME' ? {} : query.key !== null ? { scopeKey: query.key } : {}),
    ...(query.period ? { period: query.period } : {}),
  };
}

/** A read-model document as the readers use it. */
export interface CountersLite {
  scope: string;
  scopeKind?: string;
  period: string;
  c: Counters;
}

/**
 * The documents suppression across scopes needs for `docs`: per period, every scope of the kinds
 * shown (the programme's value is their total; for the programme itself, every kind).
 */
/** Every scope of some kinds in some periods. */
export type CountersFilter = { period: { $in: string[] }; scopeKind: { $in: string[] } };

export function siblingFilter(docs: readonly CountersLite[]): CountersFilter | null {
  const periods = new Set<string>();
  const kinds = new Set<string>(['PROGRAMME']);
  for (const doc of docs) {
    // A month is suppressed with its year and the year's other months (they add up to the year).
    const year = doc.period.slice(0, 4);
    periods.add(year);
    for (let m = 1; m <= 12; m++) periods.add(`${year}-${String(m).padStart(2, '0')}`);
    const kind = scopeOfId(doc.scope).kind;
    if (kind === 'PROGRAMME') for (const k of SCOPE_KINDS) kinds.add(k);
    else kinds.add(kind);
  }
  if (periods.size === 0) return null;
  return { period: { $in: [...periods] }, scopeKind: { $in: [...kinds] } };
}

/** The siblings read for suppression, grouped by kind and period. */
export class SuppressionContext {
  private readonly groups = new Map<string, CountersLite[]>();
  private readonly programmes = new Map<string, CountersLite>();
  private readonly solved = new Map<string, ReturnType<typeof suppressAcrossPeriods>>();

  constructor(docs: readonly CountersLite[]) {
    for (const doc of docs) {
      const kind = scopeOfId(doc.scope).kind;
      if (kind === 'PROGRAMME') this.programmes.set(doc.period, doc);
      else {
        const key = `${kind}|${doc.period}`;
        const group = this.groups.get(key) ?? [];
        group.push(doc);
        this.groups.set(key, group);
      }
    }
  }

  /** What a reader outside the scope sees of one value: the same table for every query of the period. */
  shown(
    definition: IndicatorDefinition,
    doc: CountersLite,
    threshold: number,
    known: string | null = null,
  ): ShownValue {
    const { kind } = scopeOfId(doc.scope);
    const programme = valueOf(definition, this.programmes.get(doc.period)?.c ?? {});
    // The period's table solved with its year's other periods (a month and its year add up).
    const across = (k: ScopeKind) => {
      const year = doc.period.slice(0, 4);
      const memo = `${definition.id}@${definition.version}|${k}|${year}|${threshold}|${known ?? ''}`;
      let solved = this.solved.get(memo);
      if (!solved) {
        const periods = [year, ...Array.from({ length: 12 }, (_, m) => `${year}-${String(m + 1).padStart(2, '0')}`)]
          .filter((p) => this.programmes.has(p) || this.groups.has(`${k}|${p}`))
          .map((p) => ({
            period: p,
            siblings: (this.groups.get(`${k}|${p}`) ?? []).map((s) => ({
              scope: s.scope,
              raw: valueOf(definition, s.c ?? {}),
            })),
            programme: valueOf(definition, this.programmes.get(p)?.c ?? {}),
          }));
        solved = suppressAcrossPeriods(definition, periods, threshold, known);
        this.solved.set(memo, solved);
      }
      return (
        solved.get(doc.period) ??
        suppressAcross(
          definition,
          (this.groups.get(`${k}|${doc.period}`) ?? []).map((s) => ({
            scope: s.scope,
            raw: valueOf(definition, s.c ?? {}),
          })),
          programme,
          threshold,
        )
      );
    };
    if (kind !== 'PROGRAMME') {
      return (
        across(kind).scopes.get(doc.scope) ??
        shownValue(definition, valueOf(definition, doc.c ?? {}), 'SUPPRESSED', threshold)
      );
    }
    // The programme's value is the margin of every kind's table: withheld if any withholds it.
    let result: ShownValue | null = null;
    for (const k of SCOPE_KINDS) {
      if (k === 'PROGRAMME') continue;
      const view = across(k).programme;
      if (view.suppressed) return view;
      result = view;
    }
    return result ?? shownValue(definition, programme, 'SUPPRESSED', threshold);
  }
}

/** The scope a principal reads exactly (a Member State's or partner's own), known to it when others are suppressed. */
function ownScope(principal: Principal): string | null {
  if (principal.role === 'MEMBER_STATE' && principal.memberState) return scopeId('MEMBER_STATE', principal.memberState);
  if (principal.role === 'PARTNER' && principal.partnerId) return scopeId('PARTNER', principal.partnerId);
  return null;
}

/** One stored document's values as `principal` sees them (suppressed outside its own scope). */
export function presentValues(
  principal: Principal,
  definitions: readonly IndicatorDefinition[],
  doc: CountersLite,
  threshold: number,
  context?: SuppressionContext,
) {
  const access = indicatorAccess(principal, doc.scope);
  if (access === 'NONE') throw forbidden(`${principal.role} reads no indicator values`);
  const { kind, key } = scopeOfId(doc.scope);
  return definitions.map((definition) => {
    const raw = valueOf(definition, doc.c ?? {});
    const shown =
      access === 'SUPPRESSED' && context
        ? context.shown(definition, doc, threshold, ownScope(principal))
        : shownValue(definition, raw, access, threshold);
    return {
      indicatorId: definition.id,
      indicatorVersion: definition.version,
      scope: { perspective: kind, key },
      period: doc.period,
      value: shown.value,
      numerator: shown.numerator,
      denominator: shown.denominator,
      casesCounted: shown.cases,
      status: shown.suppressed ? 'WITHHELD' : statusOf(definition, raw),
    };
  });
}

/** A definition as the graph shows it. */
export function presentDefinition(definition: IndicatorDefinition, fileVersion: number) {
  const { kind, ...parameters } = definition.measure;
  return {
    ...definition,
    fileVersion,
    measure: kind,
    measureParameters: JSON.stringify(parameters),
    unit: unitOf(definition.measure).unit,
  };
}

/** The breaches filter a principal may list: its own scope only, unless central. */
export function breachFilter(
  principal: Principal,
  query: IndicatorQuery,
  open: boolean | null | undefined,
  /** No perspective was asked for: a central role lists every scope's breaches. */
  anyScope: boolean,
) {
  const scope = query.kind === 'PROGRAMME' ? 'all' : query.key !== null ? scopeId(query.kind, query.key) : null;
  const own =
    principal.role === 'MEMBER_STATE'
      ? `memberState:${principal.memberState}`
      : principal.role === 'PARTNER'
        ? `partner:${principal.partnerId}`
        : null;
  if (!mayReadBreaches(principal, own ?? scope ?? 'all'))
    throw forbidden(`${principal.role} reads no indicator breaches`);
  if (own !== null && scope !== own)
    throw forbidden(`${principal.role} reads the breaches of its own scope only (${own})`);
  return {
    ...(anyScope && own === null ? (query.period ? { period: query.period } : {}) : storeFilter(query)),
    ...(query.definitions.length === 1 ? { indicatorId: query.definitions[0]!.id } : {}),
    ...(open != null ? { open } : {}),
  };
}
