import type { GraphQLFormattedError } from 'graphql';

/** Codes whose messages are written for clients; anything else is masked in production. */
const CLIENT_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'PAYLOAD_TOO_LARGE',
  'SUBGRAPH_UNAVAILABLE',
  'TARIFF_NOT_FOUND',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'FORBIDDEN_ACTOR',
  'ILLEGAL_TRANSITION',
  'REASON_REQUIRED',
  'CONFLICT',
  'NO_COVERAGE',
  'ENTITLEMENT_EXCEEDED',
  'RATE_LIMITED',
]);

/**
 * In production an error without a client-facing code (an internal failure, a subgraph's
 * unexpected error, a database message) reaches the client as "Internal server error",
 * never with its message, stack, host names or driver text; the process logs it whole.
 * The gateway and every subgraph format their errors with it.
 */
export function maskError(production: boolean, onMasked?: (error: GraphQLFormattedError) => void) {
  return (formatted: GraphQLFormattedError): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (!production || (typeof code === 'string' && CLIENT_CODES.has(code))) return formatted;
    onMasked?.(formatted);
    return { message: 'Internal server error', ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}
