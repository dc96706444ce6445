import type { Principal } from '../../../shared/auth.js';
import type { CaseEvent, CaseEventFacts, CaseOwnerFacts } from '../../../shared/case-events/index.js';
import { medianFromHistogram } from '../statistics/read.js';
import {
  isSmall,
  suppressCounts,
  suppressLines,
  suppressRate,
  suppressTable,
  type Shown,
} from '../statistics/suppression.js';
import {
  DIMENSIONS,
  FOLLOW_UPS,
  MAX_DAYS,
  RATES,
  type IndicatorDefinition,
  type ScopeKind,
  type Span,
} from './definitions.js';

/**
 * The pure rules of the indicators: what an event adds to the read model (counters per scope and
 * period), what a value is, when it breaches, and what a reader is shown of it.
 */

/** Counters of one read-model document, nested as stored (`$inc` paths joined by dots). */
export type Counters = { [key: string]: number | Counters };

// ---------- Scopes and periods ----------

/** A scope's stored id, as the statistics read model names them. */
export function scopeId(kind: ScopeKind, key: string | null): string {
  switch (kind) {
    case 'PROGRAMME':
      return 'all';
    case 'MEMBER_STATE':
      return `memberState:${key}`;
    case 'COUNTRY_OF_ORIGIN':
      return `country:${key}`;
    case 'PARTNER':
      return `partner:${key}`;
  }
}

export function scopeOfId(id: string): { kind: ScopeKind; key: string | null } {
  if (id === 'all') return { kind: 'PROGRAMME', key: null };
  const at = id.indexOf(':');
  const prefix = id.slice(0, at);
  const key = id.slice(at + 1);
  const kind = ({ memberState: 'MEMBER_STATE', country: 'COUNTRY_OF_ORIGIN', partner: 'PARTNER' } as const)[
    prefix as 'memberState' | 'country' | 'partner'
  ];
  if (!kind || at < 0) throw new RangeError(`not an indicator scope: ${id}`);
  return { kind, key };
}

/** The scopes a case (or an assessment of it) counts in. */
export function scopesOfOwner(owner: Pick<CaseOwnerFacts, 'memberState' | 'countryOfOrigin' | 'partnerId'>): string[] {
  return [
    'all',
    `memberState:${owner.memberState}`,
    `country:${owner.countryOfOrigin}`,
    ...(owner.partnerId ? [`partner:${owner.partnerId}`] : []),
  ];
}

/** A month (YYYY-MM) counts in its month and its year. */
export function periodsOf(month: string): string[] {
  return /^\d{4}-\d{2}$/.test(month) ? [month, month.slice(0, 4)] : [];
}

/** The read-model document of a scope and period. */
export function docId(scope: string, period: string): string {
  return `${scope}|${period}`;
}

// ---------- What events contribute ----------

const SPAN_FACTS: Readonly<Record<Span, 'daysToKm1' | 'daysKm1ToKm2' | 'daysKm2ToKm3'>> = {
  INSERTION_TO_KM1: 'daysToKm1',
  KM1_TO_KM2: 'daysKm1ToKm2',
  KM2_TO_KM3: 'daysKm2ToKm3',
};

/** The counters a case's facts add (flat `$inc` paths). */
export function caseContribution(facts: CaseEventFacts): Record<string, number> {
  const ended = ['COMPLETED', 'WITHDRAWN', 'CLOSED'].includes(facts.status);
  const decided = facts.planApprovals + facts.planRejections > 0;
  const c: Record<string, number> = {
    cases: 1,
    accepted: facts.accepted ? 1 : 0,
    ended: ended ? 1 : 0,
    completed: facts.status === 'COMPLETED' ? 1 : 0,
    withdrawn: facts.status === 'WITHDRAWN' ? 1 : 0,
    planDecided: decided ? 1 : 0,
    planApprovedFirstTime: facts.planApprovals > 0 && facts.planRejections === 0 ? 1 : 0,
  };
  for (const [span, key] of Object.entries(SPAN_FACTS)) {
    const days = facts[key];
    if (days === null || days === undefined) continue;
    c[`days.${span}.${Math.min(Math.max(0, Math.round(days)), MAX_DAYS)}`] = 1;
  }
  return c;
}

/** ASSESSMENT_RECORDED facts (shared contract of #16): no personal data, no free text. */
export interface AssessmentFacts {
  assessmentId: string;
  followUpMonths: number;
  instrumentVersion: string | number;
  /** Null: the dimension (and then the overall score) had too few answers to be scored. */
  scores: Record<(typeof DIMENSIONS)[number], number | null>;
}

/** FEEDBACK_RECORDED facts: satisfaction 1..5 per service, an optional complaint (category, status). */
export interface FeedbackFacts {
  feedbackId: string;
  satisfaction: Record<string, number>;
  complaint: { category: string; status: string; previousStatus?: string | null } | null;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const score = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;

/** The assessment an event carries (`assessment`, or `facts` as the contract words it); null when malformed. */
export function assessmentOf(event: CaseEvent): AssessmentFacts | null {
  const raw = (event as { assessment?: unknown; facts?: unknown }).assessment ?? (event as { facts?: unknown }).facts;
  if (!isRecord(raw) || !isRecord(raw.scores)) return null;
  const scores = raw.scores;
  if (!(FOLLOW_UPS as readonly unknown[]).includes(raw.followUpMonths)) return null;
  // A dimension with too few answers is unscored (null): the assessment counts in the others.
  if (!DIMENSIONS.every((d) => scores[d] === null || score(scores[d]))) return null;
  return raw as unknown as AssessmentFacts;
}

/** The feedback an event carries (`feedback`, or `facts`); null when malformed. */
export function feedbackOf(event: CaseEvent): FeedbackFacts | null {
  const raw = (event as { feedback?: unknown }).feedback ?? (event as { facts?: unknown }).facts;
  if (!isRecord(raw) || !isRecord(raw.satisfaction)) return null;
  const complaint = raw.complaint;
  if (complaint !== null && complaint !== undefined && (!isRecord(complaint) || typeof complaint.status !== 'string'))
    return null;
  return { ...(raw as unknown as FeedbackFacts), complaint: (complaint ?? null) as FeedbackFacts['complaint'] };
}

/**
 * The complaint an event carries: `complaint` (with the status it moved from) as the monitoring
 * records publish it, else the one inside `feedback`.
 */
export function complaintOf(event: CaseEvent): { status: string; previousStatus?: string | null } | null {
  const own = (event as { complaint?: unknown }).complaint;
  if (isRecord(own) && typeof own.status === 'string') {
    const previous = own.previousStatus;
    return { status: own.status, previousStatus: typeof previous === 'string' ? previous : null };
  }
  return feedbackOf(event)?.complaint ?? null;
}

const OPEN_COMPLAINT = new Set(['OPEN', 'IN_PROGRESS', 'RECEIVED']);
const isOpen = (status: string | null | undefined) => status != null && OPEN_COMPLAINT.has(status);

/** The counters an assessment adds: per follow-up point and for all, a sum and a histogram in hundredths. */
export function assessmentContribution(a: AssessmentFacts): Record<string, number> {
  const c: Record<string, number> = {};
  for (const point of [`m${a.followUpMonths}`, 'any']) {
    c[`assess.${point}.n`] = 1;
    for (const d of DIMENSIONS) {
      const value = a.scores[d];
      if (value === null) continue;
      c[`assess.${point}.${d}.sum`] = value;
      c[`assess.${point}.${d}.pct.${Math.floor(value * 100 + 1e-9)}`] = 1;
    }
  }
  return c;
}

/** The counters a feedback adds: satisfaction (each service's rating), complaints and open ones. */
export function feedbackContribution(f: FeedbackFacts): Record<string, number> {
  const c: Record<string, number> = { 'fb.n': 1 };
  const ratings = Object.values(f.satisfaction).filter(
    (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 5,
  );
  if (ratings.length > 0) {
    c['fb.satisfaction.sum'] = ratings.reduce((a, b) => a + b, 0);
    c['fb.satisfaction.n'] = ratings.length;
  }
  if (f.complaint) {
    c.complaints = 1;
    c.complaintsOpen = isOpen(f.complaint.status) ? 1 : 0;
  }
  return c;
}

/**
 * The pure consumer: `$inc` per read-model document (scope|period) an event makes. A case change
 * takes out what `before` counted and adds what `after` counts (periods from the case's month, as
 * the statistics count cases); an assessment or feedback adds to the month it was recorded in.
 */
export function indicatorDelta(event: CaseEvent): Map<string, Record<string, number>> {
  const result = new Map<string, Record<string, number>>();
  const add = (scopes: string[], month: string, counters: Record<string, number>, sign: 1 | -1) => {
    for (const scope of scopes)
      for (const period of periodsOf(month)) {
        const id = docId(scope, period);
        const inc = result.get(id) ?? {};
        for (const [path, value] of Object.entries(counters)) inc[path] = (inc[path] ?? 0) + sign * value;
        result.set(id, inc);
      }
  };
  const month = typeof event.at === 'string' ? event.at.slice(0, 7) : '';
  switch (event.publicType as string | undefined) {
    case 'ASSESSMENT_RECORDED': {
      const assessment = assessmentOf(event);
      if (assessment && event.owner) add(scopesOfOwner(event.owner), month, assessmentContribution(assessment), 1);
      break;
    }
    case 'FEEDBACK_RECORDED': {
      const feedback = feedbackOf(event);
      if (feedback && event.owner) add(scopesOfOwner(event.owner), month, feedbackContribution(feedback), 1);
      break;
    }
    case 'COMPLAINT_RECORDED': {
      // A complaint filed on its own (monitoring/records.ts): one more complaint, open or not.
      const complaint = complaintOf(event);
      if (complaint && event.owner)
        add(scopesOfOwner(event.owner), month, { complaints: 1, complaintsOpen: isOpen(complaint.status) ? 1 : 0 }, 1);
      break;
    }
    case 'COMPLAINT_UPDATED': {
      // A complaint's status moved: open ↔ closed changes the open count of the month it is read in.
      const complaint = complaintOf(event);
      if (complaint && event.owner) {
        const change = (isOpen(complaint.status) ? 1 : 0) - (isOpen(complaint.previousStatus) ? 1 : 0);
        if (change !== 0) add(scopesOfOwner(event.owner), month, { complaintsOpen: change }, 1);
      }
      break;
    }
    default:
      if (event.before) add(scopesOfOwner(event.before), event.before.month, caseContribution(event.before), -1);
      if (event.after) add(scopesOfOwner(event.after), event.after.month, caseContribution(event.after), 1);
  }
  for (const [id, inc] of result) {
    for (const [path, value] of Object.entries(inc)) if (value === 0) delete inc[path];
    if (Object.keys(inc).length === 0) result.delete(id);
  }
  return result;
}

// ---------- Values ----------

/** A computed value: numerator/denominator for rates and shares, a sum/count for means, a count for medians. */
export interface IndicatorValue {
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  /** Cases (or assessments, feedback) the value is over. */
  cases: number;
}

function at(counters: Counters, path: string): number | Counters | undefined {
  let node: number | Counters | undefined = counters;
  for (const part of path.split('.')) {
    if (node === undefined || typeof node === 'number') return undefined;
    node = node[part];
  }
  return node;
}
const count = (counters: Counters, path: string) => {
  const v = at(counters, path);
  return typeof v === 'number' ? v : 0;
};
const histogram = (counters: Counters, path: string): Record<string, number> => {
  const v = at(counters, path);
  if (v === undefined || typeof v === 'number') return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number'));
};

/** An indicator's value from one read-model document's counters. */
export function valueOf(definition: Pick<IndicatorDefinition, 'measure'>, counters: Counters): IndicatorValue {
  const m = definition.measure;
  switch (m.kind) {
    case 'MEDIAN_DAYS': {
      const h = histogram(counters, `days.${m.span}`);
      const n = Object.values(h).reduce((a, b) => a + b, 0);
      return { value: medianFromHistogram(h), numerator: null, denominator: null, cases: n };
    }
    case 'RATE': {
      const { numerator, denominator } = RATES[m.rate];
      const den = count(counters, denominator);
      const num = Math.min(count(counters, numerator), den);
      return { value: den > 0 ? num / den : null, numerator: num, denominator: den, cases: den };
    }
    case 'SHARE_OF_SCORES_AT_LEAST': {
      const h = histogram(counters, `assess.m${m.followUpMonths}.${m.dimension}.pct`);
      const from = Math.round(m.threshold * 100);
      let den = 0;
      let num = 0;
      for (const [bucket, n] of Object.entries(h)) {
        den += n;
        if (Number(bucket) >= from) num += n;
      }
      return { value: den > 0 ? num / den : null, numerator: num, denominator: den, cases: den };
    }
    case 'MEAN_SCORE': {
      const point = m.followUpMonths ? `m${m.followUpMonths}` : 'any';
      // The assessments that scored the dimension (its histogram), not every assessment.
      const n = Object.values(histogram(counters, `assess.${point}.${m.dimension}.pct`)).reduce((a, b) => a + b, 0);
      const sum = count(counters, `assess.${point}.${m.dimension}.sum`);
      return { value: n > 0 ? sum / n : null, numerator: sum, denominator: n, cases: n };
    }
    case 'MEAN_SATISFACTION': {
      const n = count(counters, 'fb.satisfaction.n');
      const sum = count(counters, 'fb.satisfaction.sum');
      return { value: n > 0 ? sum / n : null, numerator: sum, denominator: n, cases: count(counters, 'fb.n') };
    }
  }
}

export type IndicatorStatus = 'BREACHED' | 'BELOW_TARGET' | 'TARGET_MET' | 'INSUFFICIENT_DATA';

/** Worse than `bound` in the indicator's direction (under it when higher is better, over it when lower is). */
export function worseThan(direction: IndicatorDefinition['direction'], value: number, bound: number): boolean {
  return direction === 'HIGHER_IS_BETTER' ? value < bound : value > bound;
}

/** Where a value stands: a breach is a value worse than the minimum standard over enough cases. */
export function statusOf(
  definition: Pick<IndicatorDefinition, 'direction' | 'minimumStandard' | 'target' | 'minimumCases'>,
  value: IndicatorValue,
): IndicatorStatus {
  if (value.value === null || value.cases < definition.minimumCases) return 'INSUFFICIENT_DATA';
  if (worseThan(definition.direction, value.value, definition.minimumStandard)) return 'BREACHED';
  if (worseThan(definition.direction, value.value, definition.target)) return 'BELOW_TARGET';
  return 'TARGET_MET';
}

/** Whether the definition's minimum standard applies in a scope (its `appliesTo`). */
export function appliesIn(definition: Pick<IndicatorDefinition, 'appliesTo'>, scope: string): boolean {
  return definition.appliesTo.includes(scopeOfId(scope).kind);
}

// ---------- Who sees what ----------

export type IndicatorAccess = 'EXACT' | 'SUPPRESSED' | 'NONE';

/**
 * The support desk and administrators read every value exactly; EU analysts every value through
 * small-cell suppression; a Member State its own scope exactly and others suppressed, a partner
 * likewise; the data protection officer none.
 */
export function indicatorAccess(principal: Principal | null, scope: string): IndicatorAccess {
  switch (principal?.role) {
    case 'ADMIN':
    case 'SUPPORT_DESK':
      return 'EXACT';
    case 'EU_ANALYST':
      return 'SUPPRESSED';
    case 'MEMBER_STATE':
      return principal.memberState && scope === `memberState:${principal.memberState}` ? 'EXACT' : 'SUPPRESSED';
    case 'PARTNER':
      return principal.partnerId && scope === `partner:${principal.partnerId}` ? 'EXACT' : 'SUPPRESSED';
    default:
      return 'NONE';
  }
}

/** Whether a principal hears of (and lists) the breaches of a scope: its own, or all for the central roles. */
export function mayReadBreaches(principal: Principal | null, scope: string): boolean {
  switch (principal?.role) {
    case 'ADMIN':
    case 'SUPPORT_DESK':
    case 'EU_ANALYST':
      return true;
    case 'MEMBER_STATE':
      return scope === `memberState:${principal.memberState}`;
    case 'PARTNER':
      return scope === `partner:${principal.partnerId}`;
    default:
      return false;
  }
}

/** The breaches' owner facts on the event backbone: who may receive the event (shared/access.ts, canSeeCase). */
export function breachOwner(scope: string): CaseOwnerFacts {
  const { kind, key } = scopeOfId(scope);
  return {
    memberState: kind === 'MEMBER_STATE' ? key! : '',
    partnerId: kind === 'PARTNER' ? key! : null,
    countryOfOrigin: kind === 'COUNTRY_OF_ORIGIN' ? key! : '',
  };
}

export interface ShownValue extends Omit<IndicatorValue, 'cases'> {
  cases: number | null;
  suppressed: boolean;
}

/**
 * What a reader without ownership sees (suppression.ts): a rate or share only as `suppressRate`
 * lets it through (its parts with it); a median or a mean only over at least `threshold`; the
 * count of cases withheld when small.
 */
export function shownValue(
  definition: Pick<IndicatorDefinition, 'measure'>,
  raw: IndicatorValue,
  access: Exclude<IndicatorAccess, 'NONE'>,
  threshold: number,
): ShownValue {
  if (access === 'EXACT') return { ...raw, suppressed: false };
  const cases = isSmall(raw.cases, threshold) ? null : raw.cases;
  const kind = definition.measure.kind;
  if (kind === 'RATE' || kind === 'SHARE_OF_SCORES_AT_LEAST') {
    const value = suppressRate(raw.numerator ?? 0, raw.denominator ?? 0, threshold);
    const withheld = value === null && (raw.denominator ?? 0) > 0;
    return {
      value,
      numerator: withheld ? null : raw.numerator,
      denominator: withheld && isSmall(raw.denominator ?? 0, threshold) ? null : raw.denominator,
      cases,
      suppressed: withheld,
    };
  }
  const withheld = isSmall(raw.cases, threshold) || isSmall(raw.denominator ?? 0, threshold);
  return {
    value: withheld ? null : raw.value,
    // Sums of scores or ratings with their counts would give a small group's answers back: never shown.
    numerator: withheld ? null : raw.numerator,
    denominator: withheld ? null : raw.denominator,
    cases,
    suppressed: withheld,
  };
}

/** One scope's raw value among the scopes of its kind in one period. */
export interface ScopeValue {
  scope: string;
  raw: IndicatorValue;
}

/**
 * Suppression across the scopes of one kind in one period (every Member State, or every country,
 * or every partner) with the programme's value as their total: the same complementary suppression
 * as the statistics tables (suppression.ts, `suppressTable`), so a withheld scope cannot be worked
 * out as the programme's value minus the others'. A rate or share is a two-column table (the
 * numerator and the rest per scope, the denominators as row totals, the programme's numerator,
 * rest and denominator as the margins); a median or mean a list of case counts. Cases in no scope
 * of the kind (a case without a partner) are one more row, never shown. Deterministic: every
 * query of a scope computes the same table, so no two queries show what one withholds.
 */
export function suppressAcross(
  definition: Pick<IndicatorDefinition, 'measure'>,
  siblings: readonly ScopeValue[],
  programme: IndicatorValue,
  threshold: number,
): { scopes: Map<string, ShownValue>; programme: ShownValue } {
  const kind = definition.measure.kind;
  const scopes = new Map<string, ShownValue>();
  if (kind === 'RATE' || kind === 'SHARE_OF_SCORES_AT_LEAST') {
    const part = (v: IndicatorValue) => {
      const d = Math.max(0, Math.round(v.denominator ?? 0));
      const n = Math.min(d, Math.max(0, Math.round(v.numerator ?? 0)));
      return [n, d - n] as [number, number];
    };
    const rows = siblings.map((s) => part(s.raw));
    const [pn, pr] = part(programme);
    const restN = Math.max(0, pn - rows.reduce((a, r) => a + r[0], 0));
    const restR = Math.max(0, pr - rows.reduce((a, r) => a + r[1], 0));
    // The programme's margins are the columns' totals: the rows without a scope make them add up.
    const table = suppressTable([...rows, [restN, restR]], threshold);
    const shown = (n: Shown, r: Shown, d: Shown, raw: IndicatorValue): ShownValue => {
      const visible = n !== null && r !== null && d !== null;
      return {
        value: visible && d > 0 ? n / d : visible ? raw.value : null,
        numerator: n,
        denominator: d,
        cases: d,
        suppressed: !visible,
      };
    };
    siblings.forEach((s, i) => {
      const [n, r] = table.cells[i]!;
      scopes.set(s.scope, shown(n!, r!, table.rowTotals[i]!, s.raw));
    });
    return {
      scopes,
      programme: shown(table.columnTotals[0]!, table.columnTotals[1]!, table.total, programme),
    };
  }
  const counts = siblings.map((s) => s.raw.cases);
  const rest = Math.max(0, programme.cases - counts.reduce((a, b) => a + b, 0));
  const list = suppressCounts([...counts, rest], threshold);
  const shown = (cases: Shown, raw: IndicatorValue): ShownValue =>
    cases === null
      ? { value: null, numerator: null, denominator: null, cases: null, suppressed: true }
      : { ...raw, cases, suppressed: false };
  siblings.forEach((s, i) => scopes.set(s.scope, shown(list.counts[i]!, s.raw)));
  return { scopes, programme: shown(list.total, programme) };
}

/** One period's scopes of a kind and the programme's value (their total). */
export interface PeriodScopes {
  period: string;
  siblings: readonly ScopeValue[];
  programme: IndicatorValue;
}

/**
 * `suppressAcross` for a year and its months at once: each period is the same table (scopes of
 * the kind and the cases in none of them, against the programme), and a scope's months add up to
 * its year, so each of its figures (and the programme's) over the months with the year is one more
 * line. A withheld month therefore cannot be worked out as the year minus the scope's other
 * months, nor a year as the sum of its months. Periods of one year only (a year and its months);
 * a month without its year is its own table. Deterministic (scopes and periods sorted). `known`:
 * the reader's own scope, which it reads exactly, so its figures protect no one else's.
 */
export function suppressAcrossPeriods(
  definition: Pick<IndicatorDefinition, 'measure'>,
  periods: readonly PeriodScopes[],
  threshold: number,
  known: string | null = null,
): Map<string, { scopes: Map<string, ShownValue>; programme: ShownValue }> {
  const rate = definition.measure.kind === 'RATE' || definition.measure.kind === 'SHARE_OF_SCORES_AT_LEAST';
  const sorted = [...periods].sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : 0));
  const keys = [...new Set(sorted.flatMap((p) => p.siblings.map((s) => s.scope)))].sort();
  const rows = keys.length + 1; // the scopes, then the cases in none of them
  const columns = rate ? 2 : 1;
  const part = (v: IndicatorValue): number[] => {
    if (!rate) return [Math.max(0, Math.round(v.cases))];
    const d = Math.max(0, Math.round(v.denominator ?? 0));
    const n = Math.min(d, Math.max(0, Math.round(v.numerator ?? 0)));
    return [n, d - n];
  };
  // Per period, the layout of suppressTable: cells, row totals, column totals, the grand total.
  const size = rows * columns + rows + columns + 1;
  const values: number[] = [];
  const lines: number[][] = [];
  const cellAt = (p: number, r: number, c: number) => p * size + r * columns + c;
  const rowTotalAt = (p: number, r: number) => p * size + rows * columns + r;
  const columnTotalAt = (p: number, c: number) => p * size + rows * columns + rows + c;
  const totalAt = (p: number) => p * size + size - 1;
  sorted.forEach((period, p) => {
    const byScope = new Map(period.siblings.map((s) => [s.scope, part(s.raw)]));
    const cells = keys.map((k) => byScope.get(k) ?? Array.from({ length: columns }, () => 0));
    const programme = part(period.programme);
    cells.push(programme.map((total, c) => Math.max(0, total - cells.reduce((a, row) => a + row[c]!, 0))));
    const rowTotals = cells.map((row) => row.reduce((a, b) => a + b, 0));
    const columnTotals = Array.from({ length: columns }, (_, c) => cells.reduce((a, row) => a + row[c]!, 0));
    values.push(
      ...cells.flat(),
      ...rowTotals,
      ...columnTotals,
      rowTotals.reduce((a, b) => a + b, 0),
    );
    for (let r = 0; r < rows; r++)
      lines.push([...Array.from({ length: columns }, (_, c) => cellAt(p, r, c)), rowTotalAt(p, r)]);
    for (let c = 0; c < columns; c++)
      lines.push([...Array.from({ length: rows }, (_, r) => cellAt(p, r, c)), columnTotalAt(p, c)]);
    lines.push([...Array.from({ length: rows }, (_, r) => rowTotalAt(p, r)), totalAt(p)]);
    lines.push([...Array.from({ length: columns }, (_, c) => columnTotalAt(p, c)), totalAt(p)]);
  });
  // The months of a year add up to it: every position of the year's table with the months'.
  const year = sorted.findIndex((p) => /^\d{4}$/.test(p.period));
  const months = sorted
    .map((p, i) => (i !== year && year >= 0 && p.period.startsWith(`${sorted[year]!.period}-`) ? i : -1))
    .filter((i) => i >= 0);
  if (year >= 0 && months.length > 0)
    for (let offset = 0; offset < size; offset++)
      lines.push([...months.map((m) => m * size + offset), year * size + offset]);
  const own = keys.indexOf(known ?? '');
  const knownAt = values.map(() => false);
  if (own >= 0)
    sorted.forEach((_, p) => {
      for (let c = 0; c < columns; c++) knownAt[cellAt(p, own, c)] = true;
      knownAt[rowTotalAt(p, own)] = true;
    });
  const hidden = suppressLines(values, lines, threshold, knownAt);
  const at = (i: number): Shown => (hidden[i] ? null : values[i]!);
  const result = new Map<string, { scopes: Map<string, ShownValue>; programme: ShownValue }>();
  sorted.forEach((period, p) => {
    const raws = new Map(period.siblings.map((s) => [s.scope, s.raw]));
    const shown = (r: number | null, raw: IndicatorValue): ShownValue => {
      if (!rate) {
        const cases = r === null ? at(columnTotalAt(p, 0)) : at(cellAt(p, r, 0));
        return cases === null
          ? { value: null, numerator: null, denominator: null, cases: null, suppressed: true }
          : { ...raw, cases, suppressed: false };
      }
      const [n, rest, d] =
        r === null
          ? [at(columnTotalAt(p, 0)), at(columnTotalAt(p, 1)), at(totalAt(p))]
          : [at(cellAt(p, r, 0)), at(cellAt(p, r, 1)), at(rowTotalAt(p, r))];
      const visible = n !== null && rest !== null && d !== null;
      return {
        value: visible && d > 0 ? n / d : visible ? raw.value : null,
        numerator: n,
        denominator: d,
        cases: d,
        suppressed: !visible,
      };
    };
    const scopes = new Map<string, ShownValue>();
    keys.forEach((k, r) => {
      const raw = raws.get(k);
      if (raw) scopes.set(k, shown(r, raw));
    });
    result.set(period.period, { scopes, programme: shown(null, period.programme) });
  });
  return result;
}
