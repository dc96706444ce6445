import { GraphQLError, type GraphQLFormattedError } from 'graphql';

/**
 * The error vocabulary: every `extensions.code` the system emits, with whether its message
 * is written for clients. Client-facing codes keep their message in production; every other
 * error (an internal failure, a subgraph's HTTP error, a database message) is masked. The
 * list of codes that may reach clients is derived from these definitions, never kept by
 * hand elsewhere; a test holds every code emitted in the code base to this registry.
 */
export interface ErrorDefinition {
  /** The message is written for clients and is kept in production. */
  readonly client: boolean;
  /** The HTTP status when the error ends a request on its own (README, Errors). */
  readonly status?: number;
  readonly description: string;
}

export const ERROR_DEFINITIONS = {
  // Apollo Server's own request errors.
  GRAPHQL_PARSE_FAILED: { client: true, status: 400, description: 'the query is not valid GraphQL' },
  GRAPHQL_VALIDATION_FAILED: { client: true, status: 400, description: 'unknown field or type, or over a limit on what one request may ask' },
  BAD_USER_INPUT: { client: true, description: 'an argument is out of range or a cursor was not issued by this API' },
  BAD_REQUEST: { client: true, status: 400, description: 'the body is not JSON, or not a GraphQL request' },
  PERSISTED_QUERY_NOT_FOUND: { client: true, description: 'a persisted query hash the gateway does not know' },
  PERSISTED_QUERY_NOT_SUPPORTED: { client: true, description: 'persisted queries are not supported here' },
  OPERATION_RESOLUTION_FAILURE: { client: true, status: 400, description: 'the operation to run cannot be determined' },
  // The gateway's.
  PAYLOAD_TOO_LARGE: { client: true, status: 413, description: 'the body exceeds MAX_BODY_BYTES (or INGEST_MAX_BODY_BYTES)' },
  OPERATION_NOT_IN_SAFELIST: { client: true, status: 400, description: 'the operation is not in the safelist (GRAPHQL_SAFELIST_FILE)' },
  RATE_LIMITED: { client: true, status: 429, description: 'more than RATE_LIMIT_PER_MINUTE requests in a minute' },
  SUBGRAPH_UNAVAILABLE: { client: true, description: 'a subgraph is down or did not answer in time (named, never its address)' },
  SUBGRAPH_ERROR: { client: false, description: 'a subgraph answered with an HTTP error (masked in production)' },
  UNAUTHENTICATED: { client: true, status: 401, description: 'no, an invalid or an expired token, or a subgraph called without the signed principal' },
  FORBIDDEN: { client: true, status: 403, description: 'the principal\'s role may not do this' },
  // The domain's.
  NOT_FOUND: { client: true, status: 404, description: 'the case (or webhook, delivery, feed) does not exist or is not the principal\'s to see' },
  TARIFF_NOT_FOUND: { client: true, description: 'no tariff version covers the case\'s date' },
  FORBIDDEN_ACTOR: { client: true, description: 'the lifecycle step is done by another actor' },
  ILLEGAL_TRANSITION: { client: true, description: 'the step is not allowed from the current status' },
  REASON_REQUIRED: { client: true, description: 'rejecting a plan, withdrawing or closing needs a reason' },
  CONFLICT: { client: true, status: 409, description: 'the case changed since the version acted on' },
  NO_COVERAGE: { client: true, description: 'no partner covers the country and packages on that day' },
  ENTITLEMENT_EXCEEDED: { client: true, description: 'a disbursement would take the case above its entitlement' },
  // Subscriptions.
  RESUME_POINT_EXPIRED: { client: true, description: 'a subscription resumes from a point older than EVENT_REPLAY_HOURS' },
  SUBSCRIBER_TOO_SLOW: { client: true, description: 'more than SUBSCRIPTION_MAX_QUEUE events were waiting for a subscriber' },
  TOO_MANY_SUBSCRIPTIONS: { client: true, description: 'over the subscriptions allowed per connection or per principal' },
  CASE_FETCH_FAILED: { client: true, description: 'an event\'s case could not be fetched (extensions.reason, serviceName); its message is built from an already formatted error' },
  // The push API (REST bodies `{ error: { code, message } }`).
  MALFORMED_FEED: { client: true, status: 400, description: 'a feed body with a syntax error (line, column)' },
  EMPTY_FEED: { client: true, status: 400, description: 'a feed without records' },
  UNKNOWN_PROFILE: { client: true, status: 400, description: 'a feed names a CSV profile that does not exist' },
  UNSUPPORTED_MEDIA_TYPE: { client: true, status: 415, description: 'a feed body of another content type' },
  TOO_MANY_PUSHES_IN_FLIGHT: { client: true, status: 429, description: 'a Member State has INGEST_PUSHES_IN_FLIGHT pushes being received already' },
  SERVICE_UNAVAILABLE: { client: true, status: 503, description: 'a request could not be admitted because a dependency (Redis) is unavailable; retry' },
  INTERNAL_SERVER_ERROR: { client: false, status: 500, description: 'something failed inside; masked in production' },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERROR_DEFINITIONS;

/** Codes whose messages are written for clients: derived from the definitions above. */
export const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set(
  (Object.entries(ERROR_DEFINITIONS) as Array<[ErrorCode, ErrorDefinition]>).filter(([, definition]) => definition.client).map(([code]) => code),
);

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_DEFINITIONS, code);
}

/** A GraphQL error with a registered code. */
export function codedError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

export const notFound = (message: string, extensions?: Record<string, unknown>) => codedError('NOT_FOUND', message, extensions);
export const forbidden = (message: string, extensions?: Record<string, unknown>) => codedError('FORBIDDEN', message, extensions);
export const badUserInput = (message: string, argumentName?: string, extensions?: Record<string, unknown>) =>
  codedError('BAD_USER_INPUT', message, { ...extensions, ...(argumentName ? { argumentName } : {}) });
export const badRequest = (message: string, extensions?: Record<string, unknown>) => codedError('BAD_REQUEST', message, extensions);
export const conflict = (message: string, extensions?: Record<string, unknown>) => codedError('CONFLICT', message, extensions);
/** 401: no, an invalid or an expired token. */
export const unauthenticated = (message: string) => codedError('UNAUTHENTICATED', message, { http: { status: 401 } });
/** 400: the gateway runs only the operations of its safelist. */
export const operationNotInSafelist = () =>
  codedError('OPERATION_NOT_IN_SAFELIST', 'This gateway runs only the operations of its safelist (persisted operations); this one is not listed', { http: { status: 400 } });
/** 429 with Retry-After. */
export const rateLimited = (perMinute: number, retryAfterSeconds: number) =>
  codedError('RATE_LIMITED', `Rate limit of ${perMinute} requests per minute exceeded; retry in ${retryAfterSeconds} s`, {
    retryAfterSeconds,
    http: { status: 429, headers: new Map([['retry-after', String(retryAfterSeconds)]]) },
  });
/** A subgraph that did not answer; `detail` (why: refused, timed out) only outside production, never its address. */
export const subgraphUnavailable = (serviceName: string, detail?: string) =>
  codedError('SUBGRAPH_UNAVAILABLE', `Subgraph "${serviceName}" is unavailable${detail ? `: ${detail}` : ''}`, { serviceName });
export const subgraphError = (serviceName: string, status: number) =>
  codedError('SUBGRAPH_ERROR', `Subgraph "${serviceName}" failed: HTTP ${status}`, { serviceName, status });

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
    return { message: 'Internal server error', ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}
