import { GraphQLError, type ASTNode, type GraphQLFormattedError } from 'graphql';

/**
 * The error vocabulary: every `extensions.code` the system emits, with whether its message
 * is written for clients. Client-facing codes keep their message in production; every other
 * error (an internal failure, a subgraph's HTTP error, a database message) is masked. The
 * list of codes that may reach clients is derived from these definitions, never kept by
 * hand elsewhere. The errors themselves are built by the named constructors below, so each
 * is bound to a registered code. test/unit/errors.test.ts holds every code emitted in the
 * code base to this registry, and the README's error table to these descriptions, row by row.
 */
export interface ErrorDefinition {
  /** The message is written for clients and is kept in production. */
  readonly client: boolean;
  /** The HTTP status when the error ends a request on its own (README, Errors). */
  readonly status?: number;
  /** When a client gets it: the row of the README's error table, word for word. */
  readonly description: string;
}

export const ERROR_DEFINITIONS = {
  GRAPHQL_PARSE_FAILED: {
    client: true,
    status: 400,
    description: 'the query is not valid GraphQL, or has more than `GRAPHQL_MAX_TOKENS` tokens (400)',
  },
  GRAPHQL_VALIDATION_FAILED: {
    client: true,
    status: 400,
    description: 'unknown field or type, or over a limit on depth, aliases, cost or directives (400)',
  },
  BAD_USER_INPUT: { client: true, description: 'an argument is out of range or a cursor was not issued by this API' },
  BAD_REQUEST: { client: true, status: 400, description: 'the body is not JSON, or not a GraphQL request (400)' },
  PERSISTED_QUERY_NOT_FOUND: {
    client: true,
    description: 'a request sent only the hash of a query (`extensions.persistedQuery`) that the gateway does not know',
  },
  PERSISTED_QUERY_NOT_SUPPORTED: {
    client: true,
    description: 'a request sent a persisted-query hash where persisted queries are turned off',
  },
  OPERATION_RESOLUTION_FAILURE: {
    client: true,
    status: 400,
    description:
      'the operation to run cannot be determined: the document holds several and `operationName` names none ' +
      'of them (400)',
  },
  PAYLOAD_TOO_LARGE: {
    client: true,
    status: 413,
    description:
      'the body exceeds `MAX_BODY_BYTES`, or a feed exceeds `INGEST_MAX_BODY_BYTES` or 1,000,000 records ' + '(413)',
  },
  SUBGRAPH_UNAVAILABLE: {
    client: true,
    description:
      'a subgraph is down or did not answer within `SUBGRAPH_TIMEOUT_MS`; `extensions.serviceName` names ' +
      'it; the rest of the data is still returned. In production the message names the subgraph only ' +
      '(`Subgraph "partners" is unavailable`), never its address or the network error (those are logged)',
  },
  SUBGRAPH_ERROR: {
    client: false,
    description: 'a subgraph answered with an HTTP error (masked as `INTERNAL_SERVER_ERROR` in production)',
  },
  TARIFF_NOT_FOUND: { client: true, description: "no tariff version covers the case's date" },
  UNAUTHENTICATED: {
    client: true,
    status: 401,
    description:
      'a bearer token is invalid, expired, has no expiry or lives longer than ' +
      "`AUTH_MAX_TOKEN_LIFETIME_SECONDS`, a subgraph was called without the gateway's signed principal " +
      '(401), or a mutation was sent anonymously',
  },
  FORBIDDEN: {
    client: true,
    status: 403,
    description: "the principal's role may not do this (an analyst changing a case, a partner setting a budget)",
  },
  NOT_FOUND: { client: true, status: 404, description: "the case does not exist or is not the principal's to see" },
  FORBIDDEN_ACTOR: {
    client: true,
    description: 'the lifecycle step is done by another actor (`extensions.allowedActors`)',
  },
  ILLEGAL_TRANSITION: {
    client: true,
    description: 'the step is not allowed from the current status (`extensions.currentStatus`, `extensions.allowed`)',
  },
  REASON_REQUIRED: { client: true, description: 'rejecting a plan, withdrawing or closing needs a reason' },
  CONFLICT: {
    client: true,
    status: 409,
    description: 'the case changed since the version you acted on (`extensions.currentVersion`)',
  },
  NO_COVERAGE: {
    client: true,
    description: 'no partner covers the country and packages on that day (the message says what coverage there is)',
  },
  ENTITLEMENT_EXCEEDED: {
    client: true,
    description:
      'a disbursement would take the case, or its package, above the entitlement (`extensions.package`, ' +
      '`entitlementCents`, `disbursedCents`)',
  },
  // Plans, service delivery and money (#15, part B).
  PLAN_EXCEEDS_ENTITLEMENT: {
    client: true,
    description:
      "a plan's lines for a package total more than the case's entitlement for it (`extensions.package`, " +
      '`entitlementCents`, `plannedCents`)',
  },
  PACKAGE_NOT_REQUESTED: {
    client: true,
    description: 'a plan line or a disbursement is for a package the case did not request (`extensions.package`)',
  },
  PLAN_LINE_NOT_FOUND: {
    client: true,
    description: 'the plan in force has no (open) line with that id (`extensions.lineId`)',
  },
  PLAN_LINE_DELIVERED: {
    client: true,
    description: 'an amendment removes, moves or cuts a line already delivered (`extensions.lineId`)',
  },
  PLAN_LINE_REQUIRED: {
    client: true,
    description: 'a post-return disbursement, or one on a package the plan itemises, must name its plan line',
  },
  PLAN_LINE_BUDGET_EXCEEDED: {
    client: true,
    description:
      'a disbursement would take a plan line above its budget (`extensions.lineId`, `budgetCents`, `paidCents`)',
  },
  NO_ENTITLEMENT: {
    client: true,
    description: 'the case is ineligible or withdrawn: it has no entitlement to pay (`extensions.reason`)',
  },
  POST_ARRIVAL_WINDOW_CLOSED: {
    client: true,
    description:
      'a post-arrival or charter-arrival service or payment dated after the window closed (3 days from arrival, ' +
      '1 for a charter arrival; `extensions.boundary`, `extensions.date`)',
  },
  POST_RETURN_WINDOW_CLOSED: {
    client: true,
    description: 'a post-return service or payment dated more than 12 months after departure (`extensions.boundary`)',
  },
  BEFORE_WINDOW_OPENS: {
    client: true,
    description: 'a service or payment dated before its window opens (before arrival, or before departure)',
  },
  // Monitoring records (#16, M2): sustainability assessments and complaints.
  FOLLOW_UP_NOT_DUE: {
    client: true,
    description:
      'a sustainability assessment dated before its follow-up point (departure + 3, 6 or 12 months), in the ' +
      'future, or on a case without a departure (`extensions.dueOn`)',
  },
  ASSESSMENT_EXISTS: {
    client: true,
    description: 'the case already has an assessment at that follow-up point (`extensions.followUpMonths`)',
  },
  INSTRUMENT_VERSION_MISMATCH: {
    client: true,
    description:
      'an assessment names another version than the sustainability instrument in force (`extensions.current`)',
  },
  ILLEGAL_COMPLAINT_STATUS: {
    client: true,
    description:
      'a complaint cannot move to that status from its current one (`extensions.currentStatus`, `extensions.allowed`)',
  },
  RATE_LIMITED: {
    client: true,
    status: 429,
    description:
      'the principal sent more than `RATE_LIMIT_PER_MINUTE` requests in a minute, or a Member State pushed ' +
      'more than `INGEST_PUSHES_PER_MINUTE` feeds (429, `Retry-After`)',
  },
  OPERATION_NOT_IN_SAFELIST: {
    client: true,
    status: 400,
    description: 'with `GRAPHQL_SAFELIST_FILE`, the operation is not listed (400)',
  },
  RESUME_POINT_EXPIRED: { client: true, description: "a subscription's `after:` is older than `EVENT_REPLAY_HOURS`" },
  RESUME_POINT_IN_FUTURE: {
    client: true,
    description: "a subscription's `after:` is later than the newest event (`extensions.newest`): no such event exists",
  },
  SUBSCRIBER_TOO_SLOW: {
    client: true,
    description: 'more than `SUBSCRIPTION_MAX_QUEUE` events were waiting for a subscriber',
  },
  TOO_MANY_SUBSCRIPTIONS: {
    client: true,
    description:
      'a 51st subscription on one connection, or one past `WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL` for the ' +
      'principal (`extensions.limit`)',
  },
  CASE_FETCH_FAILED: {
    client: true,
    description:
      "a subscription event's `case` could not be fetched: `case` is null and `extensions.reason` says why " +
      '(`SUBGRAPH_UNAVAILABLE` with `serviceName`, `SUBSCRIPTION_FETCHES_IN_FLIGHT`, ' +
      '`INTERNAL_SERVER_ERROR`)',
  },
  MALFORMED_FEED: {
    client: true,
    status: 400,
    description:
      'a feed with a syntax error, a record over 1 MiB or a CSV column that is not allowed (400, `line`, ' +
      '`column`); nothing queued',
  },
  EMPTY_FEED: { client: true, status: 400, description: 'a feed without records (400)' },
  UNKNOWN_PROFILE: { client: true, status: 400, description: 'a feed names a CSV profile that does not exist (400)' },
  UNSUPPORTED_MEDIA_TYPE: { client: true, status: 415, description: 'a feed body of another content type (415)' },
  TOO_MANY_PUSHES_IN_FLIGHT: {
    client: true,
    status: 429,
    description: 'the Member State already has `INGEST_PUSHES_IN_FLIGHT` feeds being received (429, `Retry-After`)',
  },
  SERVICE_UNAVAILABLE: {
    client: true,
    status: 503,
    description:
      'a limit could not be checked because Redis did not answer within 3 s ' +
      '(push and GraphQL request: 503 with `Retry-After`; ' +
      'a subscription: this error; a new WebSocket: closed with `1013`), ' +
      'or a push names a profile before the gateway could read the profiles (503 with `Retry-After`)',
  },
  METHOD_NOT_ALLOWED: {
    client: true,
    status: 405,
    description:
      "a method the route does not answer: the dashboard's files take GET and HEAD, its sign-in POST (405, `Allow`)",
  },
  INTERNAL_SERVER_ERROR: {
    client: false,
    status: 500,
    description: 'something failed inside; in production the message is masked (the gateway logs it)',
  },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERROR_DEFINITIONS;

/** Codes whose messages are written for clients: derived from the definitions above. */
export const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set(
  (Object.entries(ERROR_DEFINITIONS) as Array<[ErrorCode, ErrorDefinition]>)
    .filter(([, definition]) => definition.client)
    .map(([code]) => code),
);

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_DEFINITIONS, code);
}

/** What an error carries besides its code; the code itself is always the constructor's. */
export type ErrorExtensions = Readonly<Record<string, unknown>> & { readonly code?: never };

/**
 * A GraphQL error with a registered code. The code comes first in `extensions`, as clients
 * have always read it, and no extension can replace it.
 */
export function codedError(code: ErrorCode, message: string, extensions: ErrorExtensions = {}): GraphQLError {
  return new GraphQLError(message, { extensions: Object.assign({ code }, extensions, { code }) });
}

// The named constructors, one family per code. Every error the subgraphs and the gateway
// throw is built here, so each is bound to a registered code and reads the same everywhere.

/** `<what> <id> was not found`; also the answer for what exists but is not the principal's to see. */
export const notFound = (what: string, id: string, extensions?: ErrorExtensions) =>
  codedError('NOT_FOUND', `${what} ${id} was not found`, extensions);
/** A case that does not exist or that the principal may not see (its existence does not leak). */
export const caseNotFound = (caseId: string) => notFound('Case', caseId, { caseId });

export const forbidden = (message: string, extensions?: ErrorExtensions) =>
  codedError('FORBIDDEN', message, extensions);

/**
 * An operation asked without a principal, inside a subgraph: no HTTP status of its own, the
 * gateway's answer stays a GraphQL one. `howTo` adds how to authenticate.
 */
export const principalRequired = (what: string, howTo = false) =>
  codedError(
    'UNAUTHENTICATED',
    `${what} needs an authenticated principal${howTo ? ' (Authorization: Bearer <token>)' : ''}`,
  );
/** 401: no, an invalid or an expired token, at the gateway or a subgraph's door. */
export const unauthenticated = (message: string) => codedError('UNAUTHENTICATED', message, { http: { status: 401 } });

/** An argument out of range; `argumentName` names the argument when there is one. */
export const badUserInput = (message: string, argumentName?: string, extensions?: ErrorExtensions) =>
  codedError('BAD_USER_INPUT', message, { ...extensions, ...(argumentName ? { argumentName } : {}) });
/** A field inside an input object out of range; `field` is its path (`plan.services.0.amountCents`). */
export const badInputField = (message: string, field: string) => codedError('BAD_USER_INPUT', message, { field });
export const badRequest = (message: string, extensions?: ErrorExtensions) =>
  codedError('BAD_REQUEST', message, extensions);
export const conflict = (message: string, extensions?: ErrorExtensions) => codedError('CONFLICT', message, extensions);

/** The lifecycle's refusals (README, Case lifecycle): the code and message come with what explains them. */
export type TransitionRefusalCode = 'FORBIDDEN_ACTOR' | 'ILLEGAL_TRANSITION' | 'REASON_REQUIRED';
export const transitionRefused = ({ code, message, ...details }: { code: TransitionRefusalCode; message: string }) =>
  codedError(code, message, details);

export const tariffNotFound = (message: string, pkg: string, date: string) =>
  codedError('TARIFF_NOT_FOUND', message, { package: pkg, date });
export const entitlementExceeded = (
  message: string,
  entitlementCents: number,
  disbursedCents: number,
  extensions: ErrorExtensions = {},
) => codedError('ENTITLEMENT_EXCEEDED', message, { ...extensions, entitlementCents, disbursedCents });
export const noCoverage = (message: string) => codedError('NO_COVERAGE', message);

/** Something that cannot happen with correct data (a value a scalar cannot represent); masked in production. */
export const internalError = (message: string) => codedError('INTERNAL_SERVER_ERROR', message);

/** 400: the gateway runs only the operations of its safelist. */
export const operationNotInSafelist = () =>
  codedError(
    'OPERATION_NOT_IN_SAFELIST',
    'This gateway runs only the operations of its safelist (persisted operations); this one is not listed',
    { http: { status: 400 } },
  );
/** 429 with Retry-After. */
export const rateLimited = (perMinute: number, retryAfterSeconds: number) =>
  codedError(
    'RATE_LIMITED',
    `Rate limit of ${perMinute} requests per minute exceeded; retry in ${retryAfterSeconds} s`,
    { retryAfterSeconds, http: { status: 429, headers: new Map([['retry-after', String(retryAfterSeconds)]]) } },
  );
/** A subgraph that did not answer; `detail` (why: refused, timed out) only outside production, never its address. */
export const subgraphUnavailable = (serviceName: string, detail?: string) =>
  codedError('SUBGRAPH_UNAVAILABLE', `Subgraph "${serviceName}" is unavailable${detail ? `: ${detail}` : ''}`, {
    serviceName,
  });
export const subgraphError = (serviceName: string, status: number) =>
  codedError('SUBGRAPH_ERROR', `Subgraph "${serviceName}" failed: HTTP ${status}`, { serviceName, status });

/** A limit could not be checked (Redis did not answer in time): the caller may try again shortly. */
export const serviceUnavailable = (message: string) => codedError('SERVICE_UNAVAILABLE', message);
/** The same over HTTP: 503 with Retry-After (a WebSocket client gets `serviceUnavailable`'s parts only). */
export const serviceUnavailableHttp = (message: string, retryAfterSeconds = 5) =>
  codedError('SERVICE_UNAVAILABLE', message, {
    http: { status: 503, headers: new Map([['retry-after', String(retryAfterSeconds)]]) },
  });

// The operation's document, as the gateway checks it itself for WebSocket operations (gateway/guards.ts),
// with the codes Apollo Server gives the same failures over HTTP.

/** The document is not GraphQL, or has more tokens than the parser allows; `message` is graphql-js's. */
export const parseFailed = (message: string) => codedError('GRAPHQL_PARSE_FAILED', message);
/** A validation rule refused the document; `nodes` are where (graphql-js reports them, clients read locations). */
export const validationFailed = (message: string, nodes?: ReadonlyArray<ASTNode>) =>
  rebuiltError(codedError('GRAPHQL_VALIDATION_FAILED', message), { nodes });

// Subscriptions (README, Subscriptions): a subscriber is told how to go on, never just cut off.

/** A WebSocket subscribe before the connection was acknowledged: a socket has no HTTP status. */
export const notConnected = () => codedError('UNAUTHENTICATED', 'Not connected');
/** `after:` names an event older than the stream keeps; `oldestKept` is the oldest it still has. */
export const resumePointExpired = (oldestKept: string) =>
  codedError(
    'RESUME_POINT_EXPIRED',
    `Events before ${oldestKept} are no longer kept; read the current state with a query and subscribe again ` +
      'without after',
    { oldestKept },
  );
/** `after:` names an event later than any in the stream: resuming there would wait for nothing in silence. */
export const resumePointInFuture = (after: string, newest: string) =>
  codedError(
    'RESUME_POINT_IN_FUTURE',
    `after: "${after}" is later than the newest event (${newest}); resume with an id you received, or subscribe ` +
      'without after',
    { newest },
  );
/** The subscriber's queue overflowed; all before `resumeAfter` was delivered, so resuming there loses nothing. */
export const subscriberTooSlow = (maxQueue: number, resumeAfter: string) =>
  codedError(
    'SUBSCRIBER_TOO_SLOW',
    `More than ${maxQueue} events were waiting for this subscriber; resume with after: "${resumeAfter}"`,
    { resumeAfter },
  );
/** One subscription past a limit (per connection or per principal); `limit` is the limit. */
export const tooManySubscriptions = (message: string, limit: number) =>
  codedError('TOO_MANY_SUBSCRIPTIONS', message, { limit });

/** What a failed fetch said: a subgraph's error as it came, or one of the gateway's own. */
export interface ErrorCause {
  readonly message: string;
  readonly extensions?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * What a subscriber gets in place of an event's case that could not be fetched: the cause's
 * message, `reason` (by default the cause's code) and the subgraph the cause names.
 */
export function caseFetchFailed(
  cause: ErrorCause,
  reason = typeof cause.extensions?.code === 'string' ? cause.extensions.code : 'INTERNAL_SERVER_ERROR',
): GraphQLError {
  const serviceName = cause.extensions?.serviceName;
  return codedError('CASE_FETCH_FAILED', `The case could not be fetched: ${cause.message}`, {
    reason,
    ...(typeof serviceName === 'string' ? { serviceName } : {}),
  });
}

/** Where a rebuilt error stands and what it carries: nodes and path only as given, extensions by default kept. */
export interface RebuiltErrorOptions {
  readonly nodes?: ReadonlyArray<ASTNode> | undefined;
  readonly path?: ReadonlyArray<string | number> | undefined;
  readonly extensions?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * An error passed on with the message and code it came with (a subgraph's, a fetch's, a guard's
 * refusal), placed anew: at other nodes or another path, or with extensions changed. Its code was
 * registered where the error was first built, or it is a subgraph's, passed on as it is.
 */
export function rebuiltError(
  error: ErrorCause,
  { nodes, path, extensions = error.extensions ?? {} }: RebuiltErrorOptions = {},
): GraphQLError {
  return new GraphQLError(error.message, { nodes, path, extensions });
}

/** graphql-js's "Did you mean ...?" hints: they name schema members a client did not ask about. */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/** A message without graphql-js's suggestions (enum values, fields, types, arguments). */
export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, '');
}

/**
 * In production an error without a client-facing code (an internal failure, a subgraph's
 * unexpected error, a database message) reaches the client as "Internal server error",
 * never with its message, stack, host names or driver text; the process logs it whole.
 * Client-facing messages lose graphql-js's "Did you mean" suggestions. The gateway and
 * every subgraph format their errors with it.
 */
export function maskError(production: boolean, onMasked?: (error: GraphQLFormattedError) => void) {
  return (formatted: GraphQLFormattedError): GraphQLFormattedError => {
    if (!production) return formatted;
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && CLIENT_ERROR_CODES.has(code)) {
      const message = withoutSuggestions(formatted.message);
      return message === formatted.message ? formatted : { ...formatted, message };
    }
    onMasked?.(formatted);
    return {
      message: 'Internal server error',
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

/** A date outside one of the case's windows (subgraphs/cases/case/windows.ts computes them). */
export const windowClosed = (
  code: 'POST_ARRIVAL_WINDOW_CLOSED' | 'POST_RETURN_WINDOW_CLOSED' | 'BEFORE_WINDOW_OPENS',
  message: string,
  extensions: { boundary: string; date: string },
) => codedError(code, message, extensions);
