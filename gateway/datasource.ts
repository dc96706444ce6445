import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { PRINCIPAL_HEADER, signPrincipal, type Principal } from '../shared/auth.js';
import { internalError, rebuiltError, subgraphError, subgraphUnavailable } from '../shared/errors.js';
import type { RequestIdSource } from '../shared/http.js';
import type { Logger } from '../shared/logger.js';
import type { GatewayCache } from './cache/index.js';

export interface GatewayContext {
  principal: Principal | null;
  /** Names the request in every subgraph's logs and in the personal data access log. */
  requestId?: string;
  /** Who made the request id: the client (a well-formed `x-request-id`) or the gateway (default). */
  requestIdSource?: RequestIdSource;
  /** The client's address (HTTP): anonymous callers are rate-limited by it. */
  clientAddress?: string;
  /** A query the gateway runs for itself (a subscription's per-event fetch), not a client's. */
  internal?: boolean;
  /**
   * Aborted when the client leaves before its answer is sent: the subgraph calls made for it
   * are abandoned (their connections closed), and each subgraph stops its database reads.
   */
  signal?: AbortSignal;
}

/** The client signal of the subgraph call being made, for the fetcher (which is not given the context). */
const callerSignal = new AsyncLocalStorage<AbortSignal>();

/** An AbortSignal aborted when `res`'s client goes away before the response has been written in full. */
export function clientGoneSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client closed its connection before the answer'));
  });
  return controller.signal;
}

/** The header that carries the request id to subgraphs (and that a client may send). */
export const REQUEST_ID_HEADER = 'x-request-id';
/** The header that tells subgraphs who made the request id (gateway → subgraph only). */
export const REQUEST_ID_SOURCE_HEADER = 'x-avrr-request-id-source';

/**
 * Node's built-in fetch (undici, keep-alive) with a deadline. The gateway's default,
 * make-fetch-happen, has no timeout, so a hung subgraph would hang every query.
 */
export function fetcherWithTimeout(timeoutMs: number): Fetcher {
  const fetcher = (url: string, init?: Parameters<Fetcher>[1]) =>
    fetch(url, {
      method: init?.method ?? 'POST',
      headers: init?.headers,
      body: init?.body,
      signal: withCallerSignal(AbortSignal.timeout(timeoutMs)),
    });
  return fetcher as unknown as Fetcher;
}

function withCallerSignal(timeout: AbortSignal): AbortSignal {
  const caller = callerSignal.getStore();
  return caller ? AbortSignal.any([timeout, caller]) : timeout;
}

/** Why a subgraph call failed, in words an operator can act on. */
export function describeFetchFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
    return error.message;
  }
  return String(error);
}

/**
 * A subgraph call that fails (down, refused, timed out, 5xx) becomes one GraphQL error
 * naming the subgraph, with code SUBGRAPH_UNAVAILABLE; the gateway still returns the data
 * the other subgraphs gave. In production the error says which subgraph, never why in
 * network terms (its address, port, errno): that goes to the gateway's log.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly serviceName: string,
    url: string,
    private readonly timeoutMs: number,
    private readonly signingKey: string,
    private readonly options: { production?: boolean; logger?: Pick<Logger, 'warn'>; cache?: GatewayCache } = {},
  ) {
    super({ url, fetcher: fetcherWithTimeout(timeoutMs) });
  }

  /** Every hop carries the verified principal, signed and short-lived (see shared/auth.ts). */
  override willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    options.request.http?.headers.set(
      PRINCIPAL_HEADER,
      signPrincipal(options.context.principal ?? null, this.signingKey),
    );
    if (options.context.requestId) {
      options.request.http?.headers.set(REQUEST_ID_HEADER, options.context.requestId);
      options.request.http?.headers.set(
        REQUEST_ID_SOURCE_HEADER,
        options.context.requestIdSource === 'CLIENT' ? 'client' : 'gateway',
      );
    }
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    try {
      const call = (signal: AbortSignal | undefined) =>
        signal ? callerSignal.run(signal, () => super.process(options)) : super.process(options);
      const cache = this.options.cache;
      const query = options.request.query;
      // Identical calls in flight are merged, cacheable ones answered from the shared cache (gateway/cache/).
      if (!cache || query === undefined) return await call(options.context.signal);
      return await cache.fetch(
        this.serviceName,
        { query, variables: options.request.variables },
        {
          principal: options.context.principal ?? null,
          requestId: options.context.requestId,
          requestIdSource: options.context.requestIdSource,
          signal: options.context.signal,
        },
        call,
      );
    } catch (error) {
      // Duck-typed: @apollo/gateway (CommonJS) and we (ESM) load different GraphQLError classes.
      const response = (error as { extensions?: { response?: { status?: number; body?: unknown } } } | null)?.extensions
        ?.response;
      const subgraphErrors = (
        response?.body as { errors?: Array<{ message?: unknown; extensions?: Record<string, unknown> }> } | undefined
      )?.errors;
      const first = Array.isArray(subgraphErrors) ? subgraphErrors[0] : undefined;
      if (response?.status !== undefined && response.status < 500 && typeof first?.message === 'string') {
        // The subgraph refused the request (bad input, 401): pass its coded error on, without internals.
        const { stacktrace: _stacktrace, ...extensions } = first.extensions ?? {};
        const passedOn = { ...extensions, serviceName: this.serviceName };
        throw rebuiltError({ message: first.message }, { extensions: passedOn });
      }
      if (response?.status !== undefined) {
        // The subgraph answered with an HTTP error: say so without its URL or body.
        throw subgraphError(this.serviceName, response.status);
      }
      // The client left: nobody reads this answer, and the subgraph was not at fault.
      if (options.context.signal?.aborted) throw internalError('The client closed its connection before the answer');
      const detail = describeFetchFailure(error, this.timeoutMs);
      this.options.logger?.warn(
        { subgraph: this.serviceName, detail, requestId: options.context.requestId },
        'subgraph unavailable',
      );
      throw subgraphUnavailable(this.serviceName, this.options.production ? undefined : detail);
    }
  }
}
