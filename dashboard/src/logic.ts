/**
 * The dashboard's pure logic (no DOM, no bundler): reading the runtime settings the server
 * answers at /dashboard/config.json, the principal a token names, the budget forecast, and the
 * routes. Unit-tested in node (test/unit/dashboard-logic.test.ts).
 */

export type DevPrincipal = { label: string; role: string; memberState?: string; partnerId?: string };

export type AuthSettings =
  | { mode: 'oidc'; issuer: string; clientId: string; scopes: string; redirectPath: string }
  | { mode: 'dev'; principals: DevPrincipal[] }
  | { mode: 'none' };

export interface RuntimeConfig {
  graphqlPath: string;
  auth: AuthSettings;
  defaultLocale: string;
  locales: string[];
}

/** Settings the server sent that this page cannot use: says which field and why. */
export class ConfigError extends Error {
  constructor(field: string, problem: string) {
    super(`config.json: ${field} ${problem}`);
    this.name = 'ConfigError';
  }
}

const LOCALE_FORM = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;
const CODE_FORM = /^[A-Z]{2}$/;
const PARTNER_FORM = /^[a-z0-9][a-z0-9-]{0,63}$/;
const ROLE_FORM = /^[A-Z_]{1,40}$/;
/** A path on this server (not `//host`, no scheme): the page never sends its token elsewhere. */
const SAME_ORIGIN_PATH = /^\/(?!\/)[A-Za-z0-9/_.-]{0,200}$/;

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(field, 'must be an object');
  return value as Record<string, unknown>;
}

function text(value: unknown, field: string, form?: RegExp, max = 500): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    throw new ConfigError(field, `must be a string of 1 to ${max} characters`);
  if (form && !form.test(value)) throw new ConfigError(field, `has an unexpected form: ${JSON.stringify(value)}`);
  return value;
}

function httpsOrLoopbackUrl(value: unknown, field: string): string {
  const raw = text(value, field, undefined, 500);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(field, 'must be an absolute URL');
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new ConfigError(field, 'must be an https URL (http only on loopback)');
  return raw;
}

/** Checks what /dashboard/config.json answered; throws a ConfigError naming the field otherwise. */
export function parseRuntimeConfig(input: unknown): RuntimeConfig {
  const body = record(input, 'the body');
  const graphqlPath = text(body.graphqlPath, 'graphqlPath', SAME_ORIGIN_PATH, 200);
  const authBody = record(body.auth, 'auth');
  let auth: AuthSettings;
  switch (authBody.mode) {
    case 'oidc':
      auth = {
        mode: 'oidc',
        issuer: httpsOrLoopbackUrl(authBody.issuer, 'auth.issuer'),
        clientId: text(authBody.clientId, 'auth.clientId', undefined, 200),
        scopes: text(authBody.scopes ?? 'openid profile', 'auth.scopes', /^[\x21-\x7e]+( [\x21-\x7e]+)*$/, 500),
        redirectPath: text(authBody.redirectPath ?? '/dashboard/callback', 'auth.redirectPath', SAME_ORIGIN_PATH),
      };
      break;
    case 'dev': {
      if (!Array.isArray(authBody.principals) || authBody.principals.length > 100)
        throw new ConfigError('auth.principals', 'must be a list of at most 100 principals');
      const principals = authBody.principals.map((raw, i): DevPrincipal => {
        const p = record(raw, `auth.principals[${i}]`);
        const out: DevPrincipal = {
          label: text(p.label, `auth.principals[${i}].label`, undefined, 120),
          role: text(p.role, `auth.principals[${i}].role`, ROLE_FORM),
        };
        if (p.memberState !== undefined)
          out.memberState = text(p.memberState, `auth.principals[${i}].memberState`, CODE_FORM);
        if (p.partnerId !== undefined)
          out.partnerId = text(p.partnerId, `auth.principals[${i}].partnerId`, PARTNER_FORM);
        return out;
      });
      auth = { mode: 'dev', principals };
      break;
    }
    case 'none':
      auth = { mode: 'none' };
      break;
    default:
      throw new ConfigError('auth.mode', 'must be "oidc", "dev" or "none"');
  }
  const defaultLocale = text(body.defaultLocale ?? 'en', 'defaultLocale', LOCALE_FORM, 35);
  const rawLocales = body.locales ?? [defaultLocale];
  if (!Array.isArray(rawLocales) || rawLocales.length === 0 || rawLocales.length > 50)
    throw new ConfigError('locales', 'must be a list of 1 to 50 locales');
  const locales = rawLocales.map((l, i) => text(l, `locales[${i}]`, LOCALE_FORM, 35));
  return { graphqlPath, auth, defaultLocale, locales };
}

export interface TokenPrincipal {
  subject: string;
  role: string;
  memberState?: string;
  partnerId?: string;
  expiresAt?: number;
}

/**
 * What a bearer token says about its holder, for display only (the gateway verifies it; the
 * page decides nothing from it). Null when the token is not a readable JWT.
 */
export function principalOfToken(token: string): TokenPrincipal | null {
  const parts = token.split('.');
  if (parts.length !== 3 || token.length > 8_192) return null;
  try {
    const json = atob((parts[1] ?? '').replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as unknown;
    if (typeof claims !== 'object' || claims === null) return null;
    const c = claims as Record<string, unknown>;
    if (typeof c.role !== 'string') return null;
    const out: TokenPrincipal = { subject: typeof c.sub === 'string' ? c.sub : '', role: c.role };
    if (typeof c.memberState === 'string') out.memberState = c.memberState;
    if (typeof c.partnerId === 'string') out.partnerId = c.partnerId;
    if (typeof c.exp === 'number') out.expiresAt = c.exp * 1000;
    return out;
  } catch {
    return null;
  }
}

/**
 * A simple linear forecast of a year's commitments at its end: what was committed so far, scaled
 * by the days of the year over the days elapsed. A past year is closed (its commitments), a future
 * one has none yet (null).
 */
export function linearYearEndForecast(committedCents: number, year: number, today: Date): number | null {
  const thisYear = today.getUTCFullYear();
  if (year < thisYear) return committedCents;
  if (year > thisYear) return null;
  const start = Date.UTC(year, 0, 1);
  const daysInYear = (Date.UTC(year + 1, 0, 1) - start) / 86_400_000;
  const elapsed = Math.floor((today.getTime() - start) / 86_400_000) + 1;
  return Math.round((committedCents * daysInYear) / Math.max(1, elapsed));
}

export const VIEWS = ['overview', 'budget', 'quality', 'sustainability', 'worklist', 'live', 'data-quality'] as const;
export type ViewName = (typeof VIEWS)[number];

export type Route =
  | { view: ViewName; params: URLSearchParams }
  | { view: 'case'; caseId: string; params: URLSearchParams }
  | { view: 'cases'; params: URLSearchParams };

const CASE_ID_FORM = /^[A-Za-z0-9_-]{1,64}$/;

/** The route a location hash names (`#/budget?year=2024`, `#/case/<id>`); unknown ones: the overview. */
export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '').slice(0, 500);
  const [path = '', query = ''] = raw.split('?', 2);
  const params = new URLSearchParams(query);
  const segments = path.split('/').filter(Boolean);
  if (segments[0] === 'case' && segments[1] && CASE_ID_FORM.test(segments[1]) && segments.length === 2)
    return { view: 'case', caseId: segments[1], params };
  if (segments[0] === 'cases' && segments.length === 1) return { view: 'cases', params };
  const view = (VIEWS as readonly string[]).includes(segments[0] ?? '') ? (segments[0] as ViewName) : 'overview';
  return { view, params };
}

/** The id of the last live event shown: a stream id `<ms>-<seq>`, anything else is ignored. */
export function resumePoint(stored: string | null): string | null {
  return stored && /^\d{1,20}-\d{1,20}$/.test(stored) ? stored : null;
}

/** Which year the budget view shows, and why (the page says so). */
export interface BudgetYear {
  year: number;
  /** `asked`: the address names it; `latest`: the latest year with financial data; `current`: none has any. */
  reason: 'asked' | 'latest' | 'current';
}

const isYear = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 2000 && n <= 2100;

/**
 * The year the budget view opens on: the one the address asks for (`?year=`), else the latest year
 * the graph has financial data for (`financeYears`), else this year.
 */
export function budgetYear(asked: number | null, yearsWithData: readonly number[], today: Date): BudgetYear {
  if (isYear(asked)) return { year: asked, reason: 'asked' };
  const latest = yearsWithData.filter(isYear).reduce<number | null>((a, b) => (a === null || b > a ? b : a), null);
  if (latest !== null) return { year: latest, reason: 'latest' };
  return { year: today.getUTCFullYear(), reason: 'current' };
}

/** The years offered: every year with data, the shown one and this year, most recent first. */
export function budgetYearOptions(yearsWithData: readonly number[], shown: number, today: Date): number[] {
  const years = new Set([...yearsWithData.filter(isYear), shown, today.getUTCFullYear()].filter(isYear));
  return [...years].sort((a, b) => b - a);
}

/** The overview's period and package filters as the graph's `narrow` argument, or why they cannot be sent. */
export type OverviewNarrowing =
  | { ok: true; narrow: { fromMonth?: string; toMonth?: string; package?: string } | undefined }
  | { ok: false; problem: 'monthForm' | 'fromAfterTo' };

const MONTH_FORM = /^\d{4}-(0[1-9]|1[0-2])$/;

/** From the form's values ('' when not set): months YYYY-MM, the first not after the last, a package. */
export function overviewNarrowing(fromMonth: string, toMonth: string, pkg: string): OverviewNarrowing {
  if ((fromMonth && !MONTH_FORM.test(fromMonth)) || (toMonth && !MONTH_FORM.test(toMonth)))
    return { ok: false, problem: 'monthForm' };
  if (fromMonth && toMonth && fromMonth > toMonth) return { ok: false, problem: 'fromAfterTo' };
  const narrow: { fromMonth?: string; toMonth?: string; package?: string } = {};
  if (fromMonth) narrow.fromMonth = fromMonth;
  if (toMonth) narrow.toMonth = toMonth;
  if (pkg) narrow.package = pkg;
  return { ok: true, narrow: Object.keys(narrow).length ? narrow : undefined };
}
