import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { CaseEventsDocument, type CaseEventFilter } from './generated/operations.js';

/**
 * A `caseEvents` subscription that survives dropped connections (README, Subscribe to case
 * events): it keeps the id of the last event handed to `onEvent` and, when the socket drops
 * and graphql-ws reconnects, subscribes again with `after:` that id, so the gateway sends
 * what was missed, in order, and nothing twice.
 */

/** What any `caseEvents` selection has: the event id, which orders events and resumes them. */
export interface CaseEventsData {
  caseEvents: { id: string };
}

/** Why a subscription ended: the gateway's error (with its `code`), or the connection's. */
export class CaseEventsError extends Error {
  constructor(
    message: string,
    /** `RESUME_POINT_EXPIRED`, `RESUME_POINT_IN_FUTURE`, `UNAUTHENTICATED`, ... or `CONNECTION_CLOSED`. */
    readonly code: string,
    /** The gateway's errors as sent (with `extensions`), when it refused the subscription. */
    readonly errors: readonly GraphQLFormattedError[] = [],
  ) {
    super(message);
    this.name = 'CaseEventsError';
  }
}

/** A WebSocket class: the browser's, Node 22's global one, or `ws` on Node 20. */
export type WebSocketClass = unknown;

export interface CaseEventsOptions<TData extends CaseEventsData> {
  /** The gateway's WebSocket address, e.g. `ws://localhost:4000/graphql`. */
  url: string;
  /** A bearer token, or a function giving a fresh one on every (re)connect. */
  token: string | (() => string | Promise<string>);
  /** The selection (a generated document or a query string); CaseEventsDocument by default. */
  query?: TypedDocumentNode<TData, CaseEventsVariables> | string;
  filter?: CaseEventFilter | null;
  /** Start after this event id (the last one you stored); omit for live events only. */
  after?: string | null;
  /** Called for every event in order; `errors` are the payload's (a case that could not be fetched). */
  onEvent: (event: TData['caseEvents'], errors: readonly GraphQLFormattedError[]) => void | Promise<void>;
  /** Called once when the subscription ends with an error; it is not retried after that. */
  onError?: (error: CaseEventsError) => void;
  /** Defaults to the global WebSocket, else the `ws` package (Node 20 has no global one). */
  webSocketImpl?: WebSocketClass;
  /** Reconnect attempts in a row before giving up (default: unlimited). */
  retryAttempts?: number;
  /** Wait before reconnect attempt `retries` (ms); default doubling from 250 ms to 30 s, with jitter. */
  retryDelayMs?: (retries: number) => number;
}

export interface CaseEventsVariables {
  filter?: CaseEventFilter | null;
  after?: string | null;
}

export interface CaseEventsHandle {
  /** The id of the last event handed to `onEvent`: store it to resume after a restart. */
  lastEventId(): string | null;
  /** Settles when the subscription ends: resolves on close, rejects with the error that ended it. */
  readonly done: Promise<void>;
  /** Ends the subscription and the connection. */
  close(): Promise<void>;
}

const defaultDelay = (retries: number) => Math.min(30_000, 250 * 2 ** retries) + Math.random() * 250;

async function resolveWebSocket(given: WebSocketClass | undefined): Promise<WebSocketClass> {
  if (given) return given;
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (global) return global;
  // Node 20 has no WebSocket: the optional `ws` peer dependency. A variable keeps bundlers
  // for browsers (which never reach this line) from pulling it in.
  const name = 'ws';
  try {
    const module = (await import(name)) as { default?: unknown; WebSocket?: unknown };
    return module.WebSocket ?? module.default;
  } catch {
    throw new CaseEventsError(
      'No WebSocket implementation: install `ws` (Node 20) or pass webSocketImpl',
      'WEBSOCKET_MISSING',
    );
  }
}

function errorOf(reason: unknown): CaseEventsError {
  if (Array.isArray(reason)) {
    const errors = reason as GraphQLFormattedError[];
    const code = errors[0]?.extensions?.code;
    return new CaseEventsError(
      errors.map((e) => e.message).join('; ') || 'The subscription was refused',
      typeof code === 'string' ? code : 'SUBSCRIPTION_REFUSED',
      errors,
    );
  }
  if (reason instanceof Error) return new CaseEventsError(reason.message, 'CONNECTION_FAILED');
  const close = reason as { code?: number; reason?: string } | null;
  return new CaseEventsError(
    `The connection closed (${close?.code ?? '?'}${close?.reason ? `: ${close.reason}` : ''})`,
    close?.code === 4401 ? 'UNAUTHENTICATED' : 'CONNECTION_CLOSED',
  );
}

/** Subscribes to case events and keeps the subscription going across reconnects (see above). */
export async function subscribeToCaseEvents<TData extends CaseEventsData = CaseEventsData>(
  options: CaseEventsOptions<TData>,
): Promise<CaseEventsHandle> {
  const webSocketImpl = await resolveWebSocket(options.webSocketImpl);
  const token = options.token;
  const client: Client = createClient({
    url: options.url,
    webSocketImpl,
    lazy: true,
    retryAttempts: options.retryAttempts ?? Number.POSITIVE_INFINITY,
    retryWait: async (retries) =>
      new Promise((resolve) => setTimeout(resolve, (options.retryDelayMs ?? defaultDelay)(retries))),
    // Every close that is not a refusal of this client (4401 and the like) is retried.
    shouldRetry: (event) => {
      const code = (event as { code?: number } | null)?.code;
      return code === undefined || code < 4400 || code >= 4500 || code === 4429;
    },
    connectionParams: async () => ({
      authorization: `Bearer ${typeof token === 'function' ? await token() : token}`,
    }),
  });
  const query = options.query ?? (CaseEventsDocument as unknown as TypedDocumentNode<TData, CaseEventsVariables>);
  // graphql-ws sends this same payload object again on every reconnect: moving `after` along
  // as events arrive is what makes the resubscription resume where this one stopped.
  const variables: CaseEventsVariables & Record<string, unknown> = {
    filter: options.filter ?? null,
    after: options.after ?? null,
  };
  const payload = { query: typeof query === 'string' ? query : print(query), variables };
  let lastId = options.after ?? null;
  let chain = Promise.resolve();
  let settle: { resolve: () => void; reject: (e: CaseEventsError) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // A rejection nobody awaits must not crash the process: onError is the primary channel.
  done.catch(() => undefined);
  let ended = false;
  const end = (error?: CaseEventsError) => {
    if (ended) return;
    ended = true;
    if (error) {
      options.onError?.(error);
      settle?.reject(error);
    } else settle?.resolve();
    void client.dispose();
  };
  const unsubscribe = client.subscribe<TData>(payload, {
    next: (result) => {
      const event = result.data?.caseEvents;
      if (!event) {
        if (result.errors?.length) end(errorOf(result.errors));
        return;
      }
      // Received is enough to resume after it: it is handed to onEvent in this process.
      variables.after = event.id;
      // Events are handed over one at a time, in order, even when onEvent is async.
      chain = chain.then(async () => {
        if (ended) return;
        try {
          await options.onEvent(event, result.errors ?? []);
          lastId = event.id;
        } catch (error) {
          unsubscribe();
          end(new CaseEventsError(`onEvent threw: ${(error as Error).message}`, 'HANDLER_FAILED'));
        }
      });
    },
    error: (reason) => end(errorOf(reason)),
    complete: () => end(),
  });
  return {
    lastEventId: () => lastId,
    done,
    close: async () => {
      unsubscribe();
      await chain;
      end();
    },
  };
}
