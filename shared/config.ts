import { z } from 'zod';

/**
 * Every environment variable the system reads, with its default. Validated once at
 * start-up; a missing or malformed value stops the process with a message naming it.
 * The README's configuration table is kept in step with this list (a test checks it).
 */
const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const url = (fallback: string, protocols: string[]) =>
  z
    .string()
    .default(fallback)
    .refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    );

/** Whether `value` (when set) is an http:// or https:// URL. */
function isHttpUrl(value: string | undefined): boolean {
  if (value === undefined) return true;
  try {
    return ['https:', 'http:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/**
 * CORS_ORIGINS: comma-separated origins, each exactly `scheme://host[:port]` (no path, no `*`: an explicit
 * allow-list). Parsed by gateway/web/cors.ts.
 */
function originListIssues(value: string | undefined, ctx: z.RefinementCtx): void {
  for (const entry of (value ?? '').split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    let origin: string | undefined;
    try {
      const parsed = new URL(entry);
      origin = ['http:', 'https:'].includes(parsed.protocol) ? parsed.origin : undefined;
    } catch {
      origin = undefined;
    }
    if (origin !== entry)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message:
          `"${entry.slice(0, 100)}" is not an origin: each entry must be scheme://host[:port] ` +
          '(http or https, no path, no trailing slash, no *)',
      });
  }
}

const DEV_JWT_SECRET = 'development-only-jwt-secret-change-me-0000';
const DEV_SIGNING_KEY = 'development-only-internal-signing-key-0000';
const DEV_PSEUDONYM_KEY = 'development-only-pseudonym-key-change-me-00';
const DEV_CASE_ID_KEY = 'development-only-case-id-key-change-me-0000';

export const configShape = {
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().min(1).default('127.0.0.1'),
  MONGO_URL: url('mongodb://127.0.0.1:27027', ['mongodb:', 'mongodb+srv:']),
  MONGO_DB_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,32}$/, 'must be 1-32 letters, digits or underscores')
    .default('avrr'),
  REDIS_URL: url('redis://127.0.0.1:6389', ['redis:', 'rediss:']),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}-]{1,32}$/, 'must be 1-32 letters, digits, _ - { } (braces make a Redis Cluster hash tag)')
    .default('avrr'),
  GATEWAY_PORT: port(4000),
  CASES_PORT: port(4001),
  PARTNERS_PORT: port(4002),
  COVERAGE_PORT: port(4003),
  FINANCE_PORT: port(4004),
  WORKER_PORT: port(4010),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  GATEWAY_METRICS_PORT: port(9400),
  WORKER_METRICS_PORT: port(9410),
  CASES_METRICS_PORT: port(9401),
  PARTNERS_METRICS_PORT: port(9402),
  COVERAGE_METRICS_PORT: port(9403),
  FINANCE_METRICS_PORT: port(9404),
  CASES_URL: url('http://127.0.0.1:4001/graphql', ['http:', 'https:']),
  PARTNERS_URL: url('http://127.0.0.1:4002/graphql', ['http:', 'https:']),
  COVERAGE_URL: url('http://127.0.0.1:4003/graphql', ['http:', 'https:']),
  FINANCE_URL: url('http://127.0.0.1:4004/graphql', ['http:', 'https:']),
  SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().min(50).max(120_000).default(5_000),
  DB_TIMEOUT_MS: z.coerce.number().int().min(10).max(120_000).optional(),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(100 * 1024 * 1024)
    .default(1_048_576),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  INGEST_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(1024 * 1024 * 1024)
    .default(256 * 1024 * 1024),
  INGEST_CHUNK_SIZE: z.coerce.number().int().min(1).max(5_000).default(500),
  PROFILES_DIR: z.string().min(1).default('profiles'),
  INSTRUMENT_FILE: z.string().min(1).max(1_000).default('config/instruments/rss-default.v1.json'),
  INGEST_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  INGEST_BACKOFF_MS: z.coerce.number().int().min(10).max(600_000).default(1_000),
  INGEST_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  INGEST_LOCK_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  INGEST_CHUNK_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  INGEST_MAX_STALLS: z.coerce.number().int().min(1).max(10).default(2),
  INGEST_MAX_PROBLEMS_PER_RECORD: z.coerce.number().int().min(1).max(1_000).default(20),
  INGEST_MAX_PROBLEMS_PER_REPORT: z.coerce.number().int().min(1).max(100_000).default(1_000),
  INGEST_PUSHES_PER_MINUTE: z.coerce.number().int().min(0).max(100_000).default(60),
  INGEST_PUSHES_IN_FLIGHT: z.coerce.number().int().min(1).max(1_000).default(2),
  INGEST_STAGED_DAYS: z.coerce.number().min(0.01).max(30).default(7),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(100).default(12),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).max(1_000).default(15),
  GRAPHQL_MAX_COST: z.coerce.number().int().min(10).max(10_000_000).default(50_000),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(10).max(100_000).default(2_000),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(600),
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').default(DEV_JWT_SECRET),
  AUTH_ISSUER: z.string().min(1).default('avrr-local'),
  AUTH_JWKS_URL: z
    .string()
    .optional()
    .refine((value) => {
      if (value === undefined) return true;
      try {
        return ['https:', 'http:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, "must be the https:// URL of the identity provider's JSON Web Key Set"),
  AUTH_JWKS_COOLDOWN_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  AUTH_AUDIENCE: z.string().min(1).default('avrr-graph'),
  AUTH_MAX_TOKEN_LIFETIME_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .default(86_400),
  INTERNAL_SIGNING_KEY: z.string().min(32, 'must be at least 32 characters').default(DEV_SIGNING_KEY),
  PSEUDONYM_KEY: z.string().min(32, 'must be at least 32 characters').default(DEV_PSEUDONYM_KEY),
  CASE_ID_KEY: z.string().min(32, 'must be at least 32 characters').default(DEV_CASE_ID_KEY),
  SUPPORT_ACCESS_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(30),
  RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(1_825),
  RETENTION_NOTICE_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 365)
    .default(24),
  RETENTION_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .max(7 * 86_400_000)
    .default(3_600_000),
  GRAPHQL_SAFELIST_FILE: z.string().min(1).optional(),
  EVENT_REPLAY_HOURS: z.coerce
    .number()
    .min(0.01)
    .max(24 * 90)
    .default(168),
  // Gateway cache (README, "The gateway's cache"): in-flight merging and the shared Redis cache, and their bounds.
  GATEWAY_DEDUP: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  GATEWAY_CACHE: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  GATEWAY_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  GATEWAY_CACHE_MAX_ENTRY_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(64 * 1024 * 1024)
    .default(1_048_576),
  GATEWAY_CACHE_MAX_KEYS: z.coerce.number().int().min(1).max(10_000_000).default(20_000),
  GATEWAY_CACHE_TIMEOUT_MS: z.coerce.number().int().min(1).max(5_000).default(100),
  SUBSCRIPTION_MAX_QUEUE: z.coerce.number().int().min(10).max(1_000_000).default(10_000),
  WS_MAX_CONNECTIONS_PER_PRINCIPAL: z.coerce.number().int().min(1).max(10_000).default(10),
  WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL: z.coerce.number().int().min(1).max(100_000).default(100),
  SUBSCRIPTION_FETCHES_IN_FLIGHT: z.coerce.number().int().min(1).max(1_000).default(8),
  WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(5_000),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  WEBHOOK_ALLOW_HTTP: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  WEBHOOK_ALLOW_PRIVATE_NETWORK: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  // Indicators (#16): the definitions file (relative to the repository root).
  INDICATORS_FILE: z.string().min(1).max(1_000).default('subgraphs/cases/indicators/indicators.v1.json'),
  // Worklists (README, "Worklists"): the DUE_SOON horizon and the service levels, in days.
  WORKLIST_DUE_SOON_DAYS: z.coerce.number().int().min(0).max(365).default(14),
  WORKLIST_ACCEPTANCE_DAYS: z.coerce.number().int().min(0).max(365).default(5),
  WORKLIST_ARRIVAL_REPORT_DAYS: z.coerce.number().int().min(0).max(365).default(3),
  WORKLIST_PLAN_DAYS: z.coerce.number().int().min(0).max(365).default(30),
  WORKLIST_DECISION_DAYS: z.coerce.number().int().min(0).max(365).default(10),
  WORKLIST_COMPLETION_REPORT_DAYS: z.coerce.number().int().min(0).max(365).default(30),
  // Small-cell suppression (README, "Programme statistics", "Indicators"): counts under it are withheld from
  // non-owners, in statistics, cross-tabs and indicator values.
  SUPPRESSION_THRESHOLD: z.coerce.number().int().min(0).max(1_000).default(5),
  // The dashboard and browsers (README, "The dashboard"): allowed cross-origin callers, OpenID Connect sign-in,
  // where the built page is. CORS_ORIGINS unset: the vite dev server's origins, none in production.
  CORS_ORIGINS: z.string().max(4_000).optional().superRefine(originListIssues),
  OIDC_ISSUER: z.string().optional().refine(isHttpUrl, 'must be the http(s):// URL of the OpenID Connect issuer'),
  OIDC_CLIENT_ID: z.string().min(1).max(200).optional(),
  OIDC_SCOPES: z
    .string()
    .regex(/^[\x21-\x7e]+( [\x21-\x7e]+)*$/, 'must be scopes separated by single spaces')
    .default('openid profile'),
  DASHBOARD_DIR: z.string().min(1).max(1_000).default('dashboard/dist'),
  // Development only (README, Trying webhooks on a laptop): http://localhost endpoints.
  WEBHOOK_LOCAL_RECEIVER: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
};

export const configSchema = z.object(configShape).superRefine((config, ctx) => {
  if ((config.OIDC_ISSUER === undefined) !== (config.OIDC_CLIENT_ID === undefined))
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: [config.OIDC_ISSUER === undefined ? 'OIDC_ISSUER' : 'OIDC_CLIENT_ID'],
      message: 'OIDC_ISSUER and OIDC_CLIENT_ID go together: set both for OpenID Connect sign-in, or neither',
    });
  // The development defaults are public (they are in this file): never in production.
  if (config.NODE_ENV !== 'production') return;
  if (config.AUTH_JWT_SECRET === DEV_JWT_SECRET && !config.AUTH_JWKS_URL)
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['AUTH_JWT_SECRET'],
      message: 'must be set in production, or AUTH_JWKS_URL (the default is for development only)',
    });
  if (config.INTERNAL_SIGNING_KEY === DEV_SIGNING_KEY)
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['INTERNAL_SIGNING_KEY'],
      message: 'must be set in production (the default is for development only)',
    });
  if (config.CASE_ID_KEY === DEV_CASE_ID_KEY)
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['CASE_ID_KEY'],
      message: 'must be set in production (the default is for development only)',
    });
  if (config.WEBHOOK_LOCAL_RECEIVER)
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['WEBHOOK_LOCAL_RECEIVER'],
      message: 'is for trying webhooks on a laptop and is refused in production (it lets deliveries reach localhost)',
    });
  if (config.PSEUDONYM_KEY === DEV_PSEUDONYM_KEY)
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['PSEUDONYM_KEY'],
      message: 'must be set in production (the default is for development only)',
    });
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Variables whose values are secrets: a problem with one names it, never its value. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set([
  'AUTH_JWT_SECRET',
  'INTERNAL_SIGNING_KEY',
  'PSEUDONYM_KEY',
  'CASE_ID_KEY',
]);

/**
 * What a configuration problem may show of the value it got: nothing of a secret (its
 * length), and a URL without its credentials and query (where passwords and key-file
 * passphrases go), also when it does not parse.
 */
function shown(name: string, value: string): string {
  if (SECRET_VARIABLES.has(name)) return `${value.length} characters, not shown`;
  if (name.endsWith('_URL')) {
    const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(value)?.[0] ?? '';
    let rest = value.slice(scheme.length);
    // Everything up to the last "@" goes: a password may itself hold "@", "/", ":", "?" or "#".
    const at = rest.lastIndexOf('@');
    if (at >= 0) rest = `***@${rest.slice(at + 1)}`;
    const query = rest.search(/[?#]/);
    if (query >= 0) rest = `${rest.slice(0, query)}?…`;
    return JSON.stringify(`${scheme}${rest}`);
  }
  return JSON.stringify(value);
}

/** Parses the environment; throws ConfigError naming each bad variable and what it got (secrets never shown). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset, as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(
    Object.keys(configShape).map((key) => [key, env[key] === '' ? undefined : env[key]]),
  );
  const result = configSchema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const got = cleaned[name];
      return `${name}: ${issue.message}${got === undefined ? '' : ` (got ${shown(name, got)})`}`;
    }),
  );
}

/** For entry points: print the problem and exit non-zero instead of a stack trace. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
