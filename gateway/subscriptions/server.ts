import type { IncomingMessage, Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import type { ExecutionResult, GraphQLSchema } from 'graphql';
import { decodeJwt } from 'jose';
import type { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Principal } from '../../shared/auth.js';
import type { Config } from '../../shared/config.js';
import { badRequest, notConnected, serviceUnavailable, tooManySubscriptions } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { GatewayContext } from '../datasource.js';
import type { Guards } from '../guards.js';
import { LimitCheckUnavailable, SharedSlots } from '../limits.js';
import { caseFetcher } from './case-fetch.js';
import type { CaseEventHub } from './hub.js';
import { PayloadSharing } from './payloads.js';
import { byResponseKey, subscriptionSchema, type SubscriptionContext } from './schema.js';

const CLOSE_UNAUTHORIZED = 4401;
/**
 * A principal over WS_MAX_CONNECTIONS_PER_PRINCIPAL (graphql-ws's "too many" code: its
 * clients do not retry it at once).
 */
const CLOSE_TOO_MANY_CONNECTIONS = 4429;
/** Limits could not be checked (Redis away): try again later. */
const CLOSE_TRY_AGAIN_LATER = 1013;
const MAX_SUBSCRIPTIONS_PER_CONNECTION = 50;

export interface SubscriptionServerOptions {
  server: Server;
  apollo: ApolloServer<GatewayContext>;
  apiSchema: GraphQLSchema;
  /** The checks every operation passes, the same as over HTTP (authentication, limits, safelist). */
  guards: Guards;
  config: Config;
  logger: Logger;
  hub: CaseEventHub;
  /** Where connections and subscriptions per principal are counted for every gateway instance. */
  redis: Redis;
  /** `Type.field` of the personal fields (personalFieldsOf the supergraph). */
  personalFields: ReadonlySet<string>;
}

export interface SubscriptionServer {
  schema: GraphQLSchema;
  /** Closes every socket (1001, going away: clients reconnect elsewhere and resume). */
  close: () => Promise<void>;
  connections: () => number;
  /** Payload executions run since start, and groups of subscribers sharing them now (payloads.ts). */
  payloads: () => { executions: number; groups: number };
}

/** One socket's principal and what it holds. */
interface ConnectionState {
  principal: Principal;
  id: string;
  expiry?: NodeJS.Timeout;
  /** Subscriptions counted against the per-connection limit (including those being admitted). */
  subscriptions: number;
  /**
   * Subscription ids in use on this socket, from admission on (holding a slot of the
   * principal's count once admitted).
   */
  subscriptionIds: Set<string>;
  /** The running subscriptions' event streams: ended when the socket closes, whatever graphql-ws still tracks. */
  streams: Set<AsyncGenerator<ExecutionResult, void, void>>;
}

type ResultStream = AsyncGenerator<ExecutionResult, void, void>;

/**
 * A subscription refused before its first event (an expired or future `after`, no rights):
 * sent as the protocol's `error` message, which clients hand to their error handler, not as
 * a `next` that a handler written for events would misread. graphql-ws sends an `error` for
 * a stream that throws; it carries the first error with its code and extensions.
 */
function refused(result: ExecutionResult): ResultStream | ExecutionResult {
  const first = result.errors?.[0];
  if (!first) return result;
  const generator = {
    next: async (): Promise<IteratorResult<ExecutionResult, void>> => {
      throw first;
    },
    return: async (): Promise<IteratorResult<ExecutionResult, void>> => ({ done: true, value: undefined }),
    throw: async (error: unknown): Promise<IteratorResult<ExecutionResult, void>> => {
      throw error;
    },
    [Symbol.asyncIterator]: () => generator,
  };
  return generator as unknown as ResultStream;
}

/** The `Authorization` value of a connection_init: `authorization` (any case), or a bare `token`. */
function authorizationOf(params: Record<string, unknown>): string | undefined {
  const raw = params.authorization ?? params.Authorization;
  if (typeof raw === 'string') return raw;
  return typeof params.token === 'string' ? `Bearer ${params.token}` : undefined;
}

/** graphql-ws on the gateway's HTTP server, path `/graphql`. */
export function startSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { hub, logger, guards, config } = options;
  const schema = subscriptionSchema(options.apiSchema, hub);
  const wss = new WebSocketServer({ server: options.server, path: '/graphql', maxPayload: 256 * 1024 });
  const connections = new WeakMap<WebSocket, ConnectionState>();
  const statesById = new Map<string, ConnectionState>();
  // Connections and subscriptions per principal, counted in Redis for every instance
  // (README, Subscribe to case events).
  const slots = new SharedSlots(options.redis, logger);
  const principalKey = (principal: Principal) => `${principal.role}:${principal.subject}`;
  const connectionsKey = (principal: Principal) => `${config.QUEUE_PREFIX}:ws:connections:${principalKey(principal)}`;
  const subscriptionsKey = (principal: Principal) =>
    `${config.QUEUE_PREFIX}:ws:subscriptions:${principalKey(principal)}`;
  const maxConnections = config.WS_MAX_CONNECTIONS_PER_PRINCIPAL;
  const maxSubscriptions = config.WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL;
  const releaseConnection = (state: ConnectionState) => {
    statesById.delete(state.id);
    clearTimeout(state.expiry);
    for (const id of state.subscriptionIds) void slots.release(subscriptionsKey(state.principal), `${state.id}:${id}`);
    state.subscriptionIds.clear();
    // No subscription outlives its socket (its fetches run as the principal).
    for (const stream of state.streams) void stream.return(undefined);
    state.streams.clear();
    void slots.release(connectionsKey(state.principal), state.id);
  };
  const fetchCase = caseFetcher({
    apollo: options.apollo,
    apiSchema: options.apiSchema,
    personalFields: options.personalFields,
    fetchesInFlight: config.SUBSCRIPTION_FETCHES_IN_FLIGHT,
    // A batch waits for a slot at most as long as a subgraph call may take.
    maxWaitMs: config.SUBGRAPH_TIMEOUT_MS,
    logger,
  });
  // Each event's payload executed once per group of subscribers who get the same one (payloads.ts).
  const sharing = new PayloadSharing({ schema, personalFields: options.personalFields });
  /** The document each subscription was sent, as sent (its group's key). */
  const queries = new WeakMap<SubscriptionContext, string>();
  const production = config.NODE_ENV === 'production';
  const onlySubscriptions = (operation: { operation: string }) =>
    operation.operation === 'subscription'
      ? undefined
      : badRequest('Only subscriptions are served over WebSocket; send queries and mutations over HTTP');

  const closeUnauthorized = (socket: WebSocket, reason: string) =>
    socket.close(CLOSE_UNAUTHORIZED, `Unauthorized: ${reason}`.slice(0, 120));

  const graphqlWs = useServer<Record<string, unknown> | undefined, { socket: WebSocket; request: IncomingMessage }>(
    {
      schema,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        const authorization = authorizationOf(ctx.connectionParams ?? {});
        let principal: Principal | null;
        try {
          principal = await guards.authenticate(authorization);
        } catch (error) {
          closeUnauthorized(socket, (error as Error).message);
          return false;
        }
        if (!principal) {
          closeUnauthorized(
            socket,
            'case events need a bearer token in connection_init ({ "authorization": "Bearer <token>" })',
          );
          return false;
        }
        const state: ConnectionState = {
          principal,
          id: randomUUID(),
          subscriptions: 0,
          subscriptionIds: new Set(),
          streams: new Set(),
        };
        // Checked before the connection is acknowledged: the one past the limit is closed with why.
        let taken: { taken: boolean; held: number };
        try {
          taken = await slots.acquire(connectionsKey(principal), state.id, maxConnections);
        } catch (error) {
          if (!(error instanceof LimitCheckUnavailable)) throw error;
          socket.close(CLOSE_TRY_AGAIN_LATER, 'Connection limits could not be checked; try again shortly');
          return false;
        }
        if (!taken.taken) {
          socket.close(
            CLOSE_TOO_MANY_CONNECTIONS,
            `Too many connections: this principal has ${taken.held} of ${maxConnections} ` +
              '(WS_MAX_CONNECTIONS_PER_PRINCIPAL); reuse one',
          );
          return false;
        }
        if (socket.readyState !== socket.OPEN) {
          // Gone while it was counted.
          void slots.release(connectionsKey(principal), state.id);
          return false;
        }
        const exp = authorization ? decodeJwt(authorization.replace(/^Bearer /, '')).exp : undefined;
        if (exp !== undefined) {
          const ms = Math.min(exp * 1000 - Date.now(), 2_147_000_000);
          state.expiry = setTimeout(() => closeUnauthorized(socket, 'token expired'), Math.max(ms, 0));
          state.expiry.unref();
        }
        connections.set(socket, state);
        statesById.set(state.id, state);
        socket.once('close', () => releaseConnection(state));
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        const state = connections.get(ctx.extra.socket);
        if (!state) return [notConnected()];
        // The guards every HTTP operation passes too, in the same order.
        const caller = { transport: 'ws' as const, principal: state.principal };
        const checked = await guards.check(schema, caller, payload, { production, accept: onlySubscriptions });
        if (Array.isArray(checked)) return checked;
        if (state.subscriptions >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          const message =
            `At most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection; ` +
            'complete one or open another connection';
          return [tooManySubscriptions(message, MAX_SUBSCRIPTIONS_PER_CONNECTION)];
        }
        // An id is in use from its admission until its subscription completes: a client that
        // completes an id while it is being admitted and subscribes it again must not get two
        // running subscriptions counted as one (graphql-ws forgets the id on `complete`).
        if (state.subscriptionIds.has(id)) {
          const message = `Subscription id ${id} is in use on this connection; use a new id`;
          return [badRequest(message)];
        }
        // Counted here, before the await: concurrent subscribes on one socket cannot pass the
        // per-connection limit together.
        state.subscriptions++;
        state.subscriptionIds.add(id);
        let taken: { taken: boolean; held: number };
        try {
          taken = await slots.acquire(subscriptionsKey(state.principal), `${state.id}:${id}`, maxSubscriptions);
        } catch (error) {
          state.subscriptions--;
          state.subscriptionIds.delete(id);
          if (!(error instanceof LimitCheckUnavailable)) throw error;
          const message = `Subscription limits could not be checked: ${error.message}`;
          return [serviceUnavailable(message)];
        }
        if (!taken.taken) {
          state.subscriptions--;
          state.subscriptionIds.delete(id);
          const message =
            `Too many subscriptions: this principal has ${taken.held} of ${maxSubscriptions} across its connections ` +
            '(WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL); complete one first';
          return [tooManySubscriptions(message, maxSubscriptions)];
        }
        if (!connections.has(ctx.extra.socket) || ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) {
          // The socket closed while the subscription was counted.
          state.subscriptionIds.delete(id);
          void slots.release(subscriptionsKey(state.principal), `${state.id}:${id}`);
          return [badRequest('The connection closed')];
        }
        const caseFetch = fetchCase(state.principal, state.id);
        const contextValue: SubscriptionContext = {
          principal: state.principal,
          connectionId: state.id,
          fetchCase: caseFetch,
          prefetchCase: caseFetch.prefetch,
          payloadErrors: [],
        };
        queries.set(contextValue, payload.query);
        return {
          schema,
          document: checked.document,
          operationName: payload.operationName,
          variableValues: payload.variables ?? undefined,
          contextValue,
        };
      },
      onComplete: (ctx, id) => {
        const state = connections.get(ctx.extra.socket);
        if (!state) return;
        state.subscriptions = Math.max(0, state.subscriptions - 1);
        if (state.subscriptionIds.delete(id))
          void slots.release(subscriptionsKey(state.principal), `${state.id}:${id}`);
      },
      subscribe: async (args) => {
        const context = args.contextValue as SubscriptionContext;
        const query = queries.get(context);
        const group =
          query === undefined ? null : sharing.join(context.principal, query, args.operationName, args.variableValues);
        // Its socket forgets the stream when it ends: run out, returned or thrown.
        const held: { stream?: ResultStream; state?: ConnectionState } = {};
        const forget = () => held.stream && held.state?.streams.delete(held.stream);
        const result = await sharing.subscribe({ ...args, fieldResolver: byResponseKey }, group, forget);
        if (!(Symbol.asyncIterator in result)) return refused(result);
        const stream = result;
        const state = statesById.get(context.connectionId);
        if (!state) {
          // The socket closed while the subscription started.
          void stream.return(undefined);
          return stream;
        }
        Object.assign(held, { stream, state });
        state.streams.add(stream);
        return stream;
      },
      onError: (_ctx, _id, _payload, errors) => {
        logger.debug({ errors: errors.map((e) => e.message) }, 'subscription operation refused');
      },
    },
    wss,
    12_000,
  );
  return {
    schema,
    connections: () => wss.clients.size,
    payloads: () => ({ executions: sharing.executions, groups: sharing.groupCount }),
    close: async () => {
      for (const socket of wss.clients) socket.close(1001, 'Going away');
      // A client that does not answer the close within a moment is cut off: shutdown never waits on one socket.
      const deadline = Date.now() + 2_000;
      while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
      for (const socket of wss.clients) socket.terminate();
      await slots.releaseAll();
      await graphqlWs.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
