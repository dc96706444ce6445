import type { IncomingMessage, Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import {
  extendSchema,
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  print,
  responsePathAsArray,
  specifiedRules,
  subscribe,
  validate,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type ValidationRule,
  TypeInfo,
  visitWithTypeInfo,
} from 'graphql';
import { decodeJwt } from 'jose';
import type { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { withoutSuggestions } from '../shared/errors.js';
import type { Principal } from '../shared/auth.js';
import {
  CaseEventReader,
  matchesFilter,
  mayReceive,
  MemoryCheckpoint,
  messageOf,
  parseStreamEntry,
  redisEventSource,
  type CaseEventFilter,
  type CaseEventMessage,
} from '../shared/case-events/index.js';
import type { Config } from '../shared/config.js';
import { caseEventStream, compareStreamIds, streamTail } from '../shared/case-events/index.js';
import type { Logger } from '../shared/logger.js';
import type { GatewayContext } from './datasource.js';
import { FetchSlots, FetchSlotTimeout, LimitCheckUnavailable, SharedSlots } from './limits.js';

/**
 * The subscription part of the graph. `@apollo/gateway` executes no subscriptions, so the
 * gateway serves them itself over graphql-ws on its own `/graphql`: the event comes from
 * the Redis stream every writer appends to, and the `case` of each event is fetched
 * through the federated graph as the subscriber (fields of every subgraph, the same
 * access rules as a query, recorded in the personal data access log like any read).
 */
export const SUBSCRIPTION_SDL = /* GraphQL */ `
  # CaseEventType comes from the graph (the cases subgraph defines it for webhooks too).
  enum Milestone {
    KM1
    KM2
    KM3
  }

  "All given criteria must hold; within one list any value matches."
  input CaseEventFilter {
    caseIds: [ID!]
    countriesOfOrigin: [ID!]
    "The case's status after the change."
    statuses: [CaseStatus!]
    types: [CaseEventType!]
  }

  type CaseEventDisbursement {
    amountCents: Int!
    package: String!
    kind: String!
    date: Date!
  }

  "One change of a case. \`id\` orders events; pass the last one you saw as \`after\` to resume."
  type CaseEventMessage {
    id: ID!
    type: CaseEventType!
    at: DateTime!
    caseId: ID!
    "The lifecycle step, for lifecycle events."
    transition: String
    milestone: Milestone
    "Status after the change; null for a disbursement."
    status: CaseStatus
    disbursement: CaseEventDisbursement
    "The case now, fetched through the whole graph under your rights (null if you may no longer see it)."
    case: Case
  }

  extend schema {
    subscription: Subscription
  }

  type Subscription {
    """
    Case events you may see: a Member State its own cases', a partner its assigned cases',
    the central roles all. With \`after\`, the events since that id are sent first, in
    order, then live ones; an id older than the replay window is RESUME_POINT_EXPIRED.
    """
    caseEvents(filter: CaseEventFilter, after: ID): CaseEventMessage!
  }
`;

/** A subscriber's view of the hub: its rights, its filter, where it is. */
interface Subscriber {
  principal: Principal;
  filter: CaseEventFilter | null;
  push: (message: CaseEventMessage) => void;
}

export interface HubOptions {
  /** How long a blocking read waits before it looks again (ms). */
  blockMs?: number;
  /** Events kept for resuming (ms); older ones are trimmed. */
  windowMs: number;
  /** Events a subscriber may have waiting before it is cut off as too slow. */
  maxQueue?: number;
}

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/**
 * One per gateway instance: reads the case event stream in order and hands each event to
 * the subscribers whose socket this instance holds. Every instance reads every event, and
 * each subscriber is on exactly one instance, so each subscriber gets each event once.
 */
export class CaseEventHub {
  private readonly subscribers = new Set<Subscriber>();
  /** Where this instance has read up to: every later event is dispatched to the subscribers registered by then. */
  private readonly checkpoint = new MemoryCheckpoint();
  private readonly events: CaseEventReader;
  private running = false;
  private trimTimer: NodeJS.Timeout | undefined;
  private readonly stream: string;
  private readonly floorKey: string;

  constructor(
    /** Blocking reads: a connection of its own. */
    private readonly reader: Redis,
    /** Replays and trimming. */
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly options: HubOptions,
  ) {
    this.stream = caseEventStream(prefix);
    this.floorKey = `${this.stream}:floor`;
    this.events = new CaseEventReader(
      redisEventSource(reader, prefix),
      (batch) => {
        for (const { id, event } of batch.entries) {
          const message = messageOf(id, event);
          if (message) this.dispatch(message);
        }
      },
      {
        name: 'subscriptions',
        checkpoint: this.checkpoint,
        startAt: 'tail',
        batchSize: 500,
        blockMs: options.blockMs ?? 5_000,
      },
      logger,
    );
  }

  private get lastId(): string {
    return this.checkpoint.position ?? '0-0';
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.checkpoint.save(await streamTail(this.redis, this.prefix));
    this.running = true;
    this.events.start();
    const trim = () => void this.trim().catch((error: unknown) => this.logger.warn({ err: error }, 'trimming the case event stream failed'));
    trim();
    this.trimTimer = setInterval(trim, 60_000);
    this.trimTimer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.trimTimer);
    const stopped = this.events.stop();
    this.reader.disconnect();
    await stopped;
  }

  /** Drops events older than the window, and remembers up to where, so a resume from before it is refused, not silently gapped. */
  async trim(now = Date.now()): Promise<void> {
    const floor = `${Math.max(0, now - this.options.windowMs)}-0`;
    await this.redis.xtrim(this.stream, 'MINID', '~', floor);
    await this.redis.set(this.floorKey, floor);
  }

  private dispatch(message: CaseEventMessage): void {
    for (const subscriber of this.subscribers) {
      if (mayReceive(subscriber.principal, message) && matchesFilter(message, subscriber.filter)) subscriber.push(message);
    }
  }

  /**
   * The events `principal` may see and `filter` selects: with `after`, those since it from
   * the stream first, then live ones, in stream order, none twice.
   */
  async subscribe(principal: Principal, filter: CaseEventFilter | null, after: string | null): Promise<AsyncIterableIterator<CaseEventMessage>> {
    if (after !== null) {
      if (!STREAM_ID.test(after)) throw new GraphQLError('after must be an event id as received (`<ms>-<seq>`)', { extensions: { code: 'BAD_USER_INPUT', argumentName: 'after' } });
      const floor = await this.redis.get(this.floorKey);
      if (floor && compareStreamIds(after, floor) < 0) {
        throw new GraphQLError(`Events before ${floor} are no longer kept; read the current state with a query and subscribe again without after`, {
          extensions: { code: 'RESUME_POINT_EXPIRED', oldestKept: floor },
        });
      }
    }
    const maxQueue = this.options.maxQueue ?? 10_000;
    const queue: CaseEventMessage[] = [];
    let wake: (() => void) | undefined;
    let tooSlow = false;
    let closed = false;
    // Registered and its handoff point taken in one tick: every later event is queued.
    const handoff = this.lastId;
    let cursor = after ?? handoff;
    const subscriber: Subscriber = {
      principal,
      filter,
      push: (message) => {
        if (queue.length >= maxQueue) {
          tooSlow = true;
          this.subscribers.delete(subscriber);
        } else queue.push(message);
        wake?.();
      },
    };
    this.subscribers.add(subscriber);
    let replayFrom = after !== null && compareStreamIds(after, handoff) < 0 ? after : null;
    const replayed: CaseEventMessage[] = [];
    const fillReplay = async () => {
      while (replayFrom !== null && replayed.length === 0) {
        const entries = await this.redis.xrange(this.stream, `(${replayFrom}`, handoff, 'COUNT', 500);
        if (entries.length === 0) {
          replayFrom = null;
          break;
        }
        for (const [id, fields] of entries) {
          const event = parseStreamEntry(fields);
          const message = event && messageOf(id, event);
          if (message && mayReceive(principal, message) && matchesFilter(message, filter)) replayed.push(message);
        }
        replayFrom = entries.at(-1)![0];
        if (replayFrom === handoff) replayFrom = null;
      }
    };
    const close = () => {
      closed = true;
      this.subscribers.delete(subscriber);
      wake?.();
    };
    const iterator: AsyncIterableIterator<CaseEventMessage> = {
      next: async () => {
        for (;;) {
          if (closed) return { done: true, value: undefined };
          await fillReplay();
          const message = replayed.shift() ?? queue.shift();
          if (message) {
            // Whatever an earlier connection (or another instance) delivered is not sent again.
            if (compareStreamIds(message.id, cursor) <= 0) continue;
            cursor = message.id;
            return { done: false, value: message };
          }
          if (tooSlow) {
            // Everything queued was delivered first: resuming from here misses nothing.
            close();
            throw new GraphQLError(`More than ${maxQueue} events were waiting for this subscriber; resume with after: "${cursor}"`, { extensions: { code: 'SUBSCRIBER_TOO_SLOW', resumeAfter: cursor } });
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
      return: async () => {
        close();
        return { done: true, value: undefined };
      },
      throw: async (error: unknown) => {
        close();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}

/**
 * `Type.field` of every field the supergraph marks `@personal` or `@pseudonymous` (the
 * composed marks of the cases SDL): a selection without them reads no personal data.
 */
export function personalFieldsOf(supergraphSdl: string): Set<string> {
  const marked = new Set<string>();
  for (const definition of parse(supergraphSdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    for (const field of definition.fields ?? []) {
      if ((field.directives ?? []).some((d) => d.name.value === 'personal' || d.name.value === 'pseudonymous')) marked.add(`${definition.name.value}.${field.name.value}`);
    }
  }
  return marked;
}

/** Whether a query reads any of `personal` (fragments included), by the schema's types. */
export function readsPersonalData(schema: GraphQLSchema, query: string, personal: ReadonlySet<string>): boolean {
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    parse(query),
    visitWithTypeInfo(typeInfo, {
      Field: (node) => {
        const parent = typeInfo.getParentType();
        if (parent && personal.has(`${parent.name}.${node.name.value}`)) found = true;
      },
    }),
  );
  return found;
}

/**
 * Collects case ids while a fetch is in flight and fetches them together next: at most one
 * fetch in flight per group, at most `maxBatch()` cases per fetch, and each fetch only once
 * `slot()` grants one (the principal's fetches in flight are bounded); a batch that gets no
 * slot in time fails, every waiter with the reason.
 */
class CaseBatcher {
  private readonly waiting = new Map<string, { event: string; settle: Array<[(value: unknown) => void, (error: unknown) => void]> }>();
  private running = false;

  constructor(
    private readonly fetch: (ids: string[], firstEvent: string) => Promise<unknown[]>,
    private readonly onIdle: () => void,
    /** Cases per fetch: what the gateway's own limits (aliases, cost, tokens) let one query hold. */
    private readonly maxBatch: () => number,
    /** A fetch slot: resolves with its release, or rejects with the error every waiter gets. */
    private readonly slot: () => Promise<() => void>,
  ) {}

  load(caseId: string, eventId: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const entry = this.waiting.get(caseId) ?? { event: eventId, settle: [] };
      entry.settle.push([resolve, reject]);
      this.waiting.set(caseId, entry);
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    // Let every subscriber of this event ask before the first fetch goes out.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.waiting.size > 0) {
      let release: () => void;
      try {
        release = await this.slot();
      } catch (error) {
        // Everyone waiting waited for this slot: each gets the reason, none a silent null.
        const all = [...this.waiting.values()];
        this.waiting.clear();
        for (const entry of all) for (const [, reject] of entry.settle) reject(error);
        continue;
      }
      const batch = [...this.waiting].slice(0, this.maxBatch());
      for (const [id] of batch) this.waiting.delete(id);
      try {
        const results = await this.fetch(batch.map(([id]) => id), batch[0]![1].event);
        batch.forEach(([, entry], i) => {
          const result = results[i];
          for (const [resolve, reject] of entry.settle) {
            if (result instanceof Error) reject(result);
            else resolve(result);
          }
        });
      } catch (error) {
        for (const [, entry] of batch) for (const [, reject] of entry.settle) reject(error);
      } finally {
        release();
      }
    }
    this.running = false;
    this.onIdle();
  }
}

/** A case as fetched for an event: the value (its failed fields hold their errors), and errors no field of it can carry. */
interface FetchedCase {
  value: unknown;
  /** Errors of the fetch that name no field (a subgraph of a nested part that failed as a whole). */
  unplaced: GraphQLError[];
  /** Whether any part failed: such a result is not kept for later subscribers (they fetch again). */
  failed: boolean;
}

/** What each subscription operation runs with. */
interface SubscriptionContext {
  principal: Principal;
  connectionId: string;
  /** Fetches the event's case through the federated graph, as the subscriber. */
  fetchCase: (message: CaseEventMessage, info: GraphQLResolveInfo) => Promise<FetchedCase>;
  /** Errors of the event being executed that belong in its payload's `errors` (one event at a time per subscription). */
  payloadErrors: GraphQLError[];
}

/** A formatted error of the per-event query, as it came back from the graph. */
type FetchError = { message: string; path?: ReadonlyArray<string | number>; extensions?: Record<string, unknown> };

/** Codes of a fetch that did not happen, as opposed to an answer about the case (FORBIDDEN, NOT_FOUND). */
const FAILURE_CODES = new Set(['SUBGRAPH_UNAVAILABLE', 'SUBGRAPH_ERROR', 'INTERNAL_SERVER_ERROR', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED']);

/** The error a subscriber gets in place of a case that could not be fetched: CASE_FETCH_FAILED, with the reason and the subgraph. */
export function caseFetchFailed(cause: FetchError, reason = typeof cause.extensions?.code === 'string' ? cause.extensions.code : 'INTERNAL_SERVER_ERROR'): GraphQLError {
  const serviceName = cause.extensions?.serviceName;
  return new GraphQLError(`The case could not be fetched: ${cause.message}`, {
    extensions: { code: 'CASE_FETCH_FAILED', reason, ...(typeof serviceName === 'string' ? { serviceName } : {}) },
  });
}

/**
 * Puts each error of a case's fetch where the subscriber's payload will carry it: a field
 * error at its path (as an Error value, which the executor reports at the subscriber's own
 * path); the case itself, when its value is null because of a failure, becomes the error.
 */
export function placeErrors(value: unknown, own: FetchError[], unplaced: FetchError[], rootFailed: boolean): FetchedCase | GraphQLError {
  if (value === null || value === undefined) {
    const cause = own.find((e) => (e.path?.length ?? 0) <= 1) ?? own[0] ?? (rootFailed ? unplaced[0] : undefined);
    if (!cause) return { value: null, unplaced: [], failed: false }; // not visible to this subscriber: null, as the schema says
    const code = cause.extensions?.code;
    // An answer about the case (FORBIDDEN, NOT_FOUND) passes on as it is; a failure is named as one.
    if (own.includes(cause) && typeof code === 'string' && !FAILURE_CODES.has(code)) return new GraphQLError(cause.message, { extensions: cause.extensions ?? {} });
    return caseFetchFailed(cause);
  }
  const left: GraphQLError[] = unplaced.map((e) => new GraphQLError(e.message, { extensions: e.extensions ?? {} }));
  for (const error of own) {
    const path = (error.path ?? []).slice(1);
    let parent = value as Record<string | number, unknown>;
    let placed = false;
    for (let i = 0; i < path.length; i++) {
      const key = path[i]!;
      const next = parent[key];
      if (next === null || next === undefined || i === path.length - 1) {
        if (next === null || next === undefined) {
          parent[key] = new GraphQLError(error.message, { extensions: error.extensions ?? {} });
          placed = true;
        }
        break;
      }
      if (typeof next !== 'object' || next instanceof Error) break;
      parent = next as Record<string | number, unknown>;
    }
    if (!placed) left.push(new GraphQLError(error.message, { extensions: error.extensions ?? {} }));
  }
  return { value, unplaced: left, failed: own.length > 0 || left.length > 0 };
}

/** The subscription's results, each with the payload errors its execution collected (see SubscriptionContext). */
function withPayloadErrors(source: AsyncGenerator<ExecutionResult, void, void>, ctx: SubscriptionContext): AsyncGenerator<ExecutionResult, void, void> {
  const attach = (step: IteratorResult<ExecutionResult, void>): IteratorResult<ExecutionResult, void> => {
    if (step.done || ctx.payloadErrors.length === 0) return step;
    const extra = ctx.payloadErrors.splice(0);
    return { done: false, value: { ...step.value, errors: [...(step.value.errors ?? []), ...extra] } };
  };
  const generator = {
    next: async () => attach(await source.next()),
    return: async () => source.return(undefined),
    throw: async (error: unknown) => source.throw(error),
    [Symbol.asyncIterator]: () => generator,
  };
  return generator as unknown as AsyncGenerator<ExecutionResult, void, void>;
}

/** `stream`, calling `onEnd` once when it ends: run out, returned or thrown. */
function untilEnded(stream: AsyncGenerator<ExecutionResult, void, void>, onEnd: () => void): AsyncGenerator<ExecutionResult, void, void> {
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      onEnd();
    }
  };
  const wrapper = {
    next: async () => {
      const step = await stream.next();
      if (step.done) end();
      return step;
    },
    return: async () => {
      end();
      return stream.return(undefined);
    },
    throw: async (error: unknown) => {
      end();
      return stream.throw(error);
    },
    [Symbol.asyncIterator]: () => wrapper,
  };
  return wrapper as unknown as AsyncGenerator<ExecutionResult, void, void>;
}

/**
 * Default field resolver of subscription payloads: the case comes back from the graph
 * keyed by response names (aliases included), so read by the response name.
 */
const byResponseKey: GraphQLFieldResolver<unknown, unknown> = (source, _args, _ctx, info) =>
  source !== null && typeof source === 'object' ? (source as Record<string, unknown>)[String(info.path.key)] : undefined;

/** Aliases in the `case` selection (fragments included): each case of a batch repeats them. */
function countAliases(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): number {
  let count = 0;
  const seen = new Set<string>();
  const walk = (node: unknown) =>
    visit(node as FieldNode, {
      Field: (field) => {
        if (field.alias) count++;
      },
      FragmentSpread: (spread) => {
        if (seen.has(spread.name.value)) return;
        seen.add(spread.name.value);
        const fragment = info.fragments[spread.name.value];
        if (fragment) walk(fragment);
      },
    });
  for (const node of info.fieldNodes) for (const selection of node.selectionSet?.selections ?? []) walk(selection);
  return count;
}

/**
 * The query that fetches the `case` of `size` events at once (aliases `c0`, `c1`, ... when
 * more than one; ids `$__case0`, ...), with the subscriber's own selection, fragments and variables.
 */
export function caseQueryFor(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments' | 'operation'>, size = 1): { query: string; variableNames: string[] } {
  const selections = info.fieldNodes.flatMap((node) => node.selectionSet?.selections ?? []);
  const fragmentNames = new Set<string>();
  const variableNames = new Set<string>();
  const collect = (node: unknown) =>
    visit(node as FieldNode, {
      FragmentSpread: (spread) => {
        if (fragmentNames.has(spread.name.value)) return;
        fragmentNames.add(spread.name.value);
        const fragment = info.fragments[spread.name.value];
        if (fragment) collect(fragment);
      },
      Variable: (variable) => {
        variableNames.add(variable.name.value);
      },
    });
  for (const selection of selections) collect(selection);
  const definitions = (info.operation.variableDefinitions ?? []).filter((d) => variableNames.has(d.variable.name.value));
  const document: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: 'query' as never,
        name: { kind: Kind.NAME, value: 'CaseEvents' },
        variableDefinitions: [
          ...definitions,
          ...Array.from({ length: size }, (_, i) => ({
            kind: Kind.VARIABLE_DEFINITION,
            variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: `__case${i}` } },
            type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } } },
          })),
        ] as never,
        selectionSet: {
          kind: Kind.SELECTION_SET,
          // One case: no alias, so the query is the subscriber's own selection, already within the limits.
          selections: Array.from({ length: size }, (_, i) => ({
            kind: Kind.FIELD,
            ...(size > 1 ? { alias: { kind: Kind.NAME, value: `c${i}` } } : {}),
            name: { kind: Kind.NAME, value: 'case' },
            arguments: [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'id' }, value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: `__case${i}` } } }],
            selectionSet: { kind: Kind.SELECTION_SET, selections },
          })) as never,
        },
      },
      ...[...fragmentNames].map((name) => info.fragments[name]).filter((f): f is FragmentDefinitionNode => f !== undefined),
    ],
  };
  return { query: print(document), variableNames: [...variableNames] };
}

const CLOSE_UNAUTHORIZED = 4401;
/** A principal over WS_MAX_CONNECTIONS_PER_PRINCIPAL (graphql-ws's "too many" code: its clients do not retry it at once). */
const CLOSE_TOO_MANY_CONNECTIONS = 4429;
/** Limits could not be checked (Redis away): try again later. */
const CLOSE_TRY_AGAIN_LATER = 1013;
/** Fetch results kept for the other subscribers of an event. */
const MAX_RECENT = 10_000;

export interface SubscriptionServerOptions {
  server: Server;
  apollo: ApolloServer<GatewayContext>;
  apiSchema: GraphQLSchema;
  validationRules: ValidationRule[];
  maxTokens: number;
  config: Config;
  logger: Logger;
  hub: CaseEventHub;
  /** Where connections and subscriptions per principal are counted for every gateway instance. */
  redis: Redis;
  /** `Type.field` of the personal fields (personalFieldsOf the supergraph). */
  personalFields: ReadonlySet<string>;
  /** GRAPHQL_MAX_ALIASES: the per-event batch query stays under it. */
  maxAliases: number;
  /** With a persisted-operation safelist: whether a subscription document is listed. */
  allowOperation?: (query: string) => boolean;
  authenticate: (authorization: string | undefined) => Promise<Principal | null>;
}

export interface SubscriptionServer {
  schema: GraphQLSchema;
  /** Closes every socket (1001, going away: clients reconnect elsewhere and resume). */
  close: () => Promise<void>;
  connections: () => number;
}

/** One socket's principal and what it holds. */
interface ConnectionState {
  principal: Principal;
  id: string;
  expiry?: NodeJS.Timeout;
  /** Subscriptions counted against the per-connection limit (including those being admitted). */
  subscriptions: number;
  /** Subscription ids in use on this socket, from admission on (holding a slot of the principal's count once admitted). */
  subscriptionIds: Set<string>;
  /** The running subscriptions' event streams: ended when the socket closes, whatever graphql-ws still tracks. */
  streams: Set<AsyncGenerator<ExecutionResult, void, void>>;
}

/** graphql-ws on the gateway's HTTP server, path `/graphql`. */
export function startSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { apollo, hub, logger } = options;
  const schema = extendSchema(options.apiSchema, parse(SUBSCRIPTION_SDL));
  const wss = new WebSocketServer({ server: options.server, path: '/graphql', maxPayload: 256 * 1024 });
  const connections = new WeakMap<WebSocket, ConnectionState>();
  const statesById = new Map<string, ConnectionState>();
  // Connections and subscriptions per principal, counted in Redis for every instance (README, Subscribe to case events).
  const slots = new SharedSlots(options.redis, logger);
  const principalKey = (principal: Principal) => `${principal.role}:${principal.subject}`;
  const connectionsKey = (principal: Principal) => `${options.config.QUEUE_PREFIX}:ws:connections:${principalKey(principal)}`;
  const subscriptionsKey = (principal: Principal) => `${options.config.QUEUE_PREFIX}:ws:subscriptions:${principalKey(principal)}`;
  const maxConnections = options.config.WS_MAX_CONNECTIONS_PER_PRINCIPAL;
  const maxSubscriptions = options.config.WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL;
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
  // Keyed by the subscription document's own AST node: graphql-js makes a new fieldNodes
  // array for every execution, but the nodes are the subscriber's parsed document.
  const queryCache = new WeakMap<FieldNode, { query: string; variableNames: string[]; personal: boolean }>();
  const MAX_SUBSCRIPTIONS_PER_CONNECTION = 50;

  /**
   * Fetches through the graph. Requests for the same rights and selection are coalesced:
   * while one batch is in flight, the next collects every case asked for meanwhile and
   * fetches them in one aliased query (sizes rounded up to a power of two, so few query
   * plans). Under load, batches grow instead of queues.
   */
  const batchers = new Map<string, CaseBatcher>();
  const recent = new Map<string, Promise<FetchedCase>>();
  // Per-event fetches in flight per principal at this instance; a batch waits for a slot at most as long as a subgraph call may take.
  const fetchSlots = new FetchSlots(options.config.SUBSCRIPTION_FETCHES_IN_FLIGHT, options.config.SUBGRAPH_TIMEOUT_MS);
  const fetchCase = (principal: Principal, connectionId: string) => async (message: CaseEventMessage, info: GraphQLResolveInfo): Promise<FetchedCase> => {
    let selection = queryCache.get(info.fieldNodes[0]!);
    if (!selection) {
      const single = caseQueryFor(info);
      selection = { ...single, personal: readsPersonalData(options.apiSchema, single.query, options.personalFields) };
      queryCache.set(info.fieldNodes[0]!, selection);
    }
    const variables: Record<string, unknown> = {};
    for (const name of selection.variableNames) variables[name] = info.variableValues[name];
    // A selection without personal fields gets the same answer for everyone with the same
    // rights (role, Member State, partner), and nothing goes to the access log: one fetch
    // serves them all. One with personal fields is fetched per subscriber, so each read is
    // logged under its reader (and a support desk's justified access is its own).
    const rights = `${principal.role}|${principal.memberState ?? ''}|${principal.partnerId ?? ''}`;
    const group = `${selection.personal ? `${rights}|${principal.subject}` : rights}|${selection.query}|${JSON.stringify(variables)}`;
    const once = `${group}|${message.id}`;
    // The bound is each principal's own: one subscriber with many selections must not use
    // up the slots of colleagues with the same rights (a shared fetch needs one slot).
    const slotKey = `${rights}|${principal.subject}`;
    let pending = recent.get(once);
    if (!pending) {
      let batcher = batchers.get(group);
      if (!batcher) {
        const sizes = new Map<number, string>();
        const queryOf = (size: number) => {
          let query = sizes.get(size);
          if (!query) sizes.set(size, (query = caseQueryFor(info, size).query));
          return query;
        };
        // The generated query passes the same limits as any client's: start with as many
        // cases as the alias limit allows, and halve when a batch is refused as a whole.
        let maxBatch = 2 ** Math.floor(Math.log2(Math.max(1, Math.min(64, Math.floor(options.maxAliases / (countAliases(info) + 1))))));
        const fetchIds = async (ids: string[], firstEvent: string): Promise<unknown[]> => {
          const size = 2 ** Math.ceil(Math.log2(ids.length));
          const padded = Array.from({ length: size }, (_, i) => ids[Math.min(i, ids.length - 1)]!);
          let response: Awaited<ReturnType<typeof apollo.executeOperation>>;
          try {
            response = await apollo.executeOperation(
              { query: queryOf(size), variables: { ...variables, ...Object.fromEntries(padded.map((id, i) => [`__case${i}`, id])) } },
              { contextValue: { principal, requestId: `ws:${connectionId}:${firstEvent}`, internal: true } },
            );
          } catch (error) {
            logger.error({ err: error, event: firstEvent }, 'a per-event case fetch failed');
            return ids.map(() => caseFetchFailed({ message: 'internal error (logged by the gateway)', extensions: { code: 'INTERNAL_SERVER_ERROR' } }));
          }
          if (response.body.kind !== 'single') return ids.map(() => caseFetchFailed({ message: 'unexpected incremental response', extensions: { code: 'INTERNAL_SERVER_ERROR' } }));
          const { data, errors = [] } = response.body.singleResult;
          if (!data && ids.length > 1) {
            maxBatch = Math.max(1, maxBatch / 2);
            const half = Math.ceil(ids.length / 2);
            return [...(await fetchIds(ids.slice(0, half), firstEvent)), ...(await fetchIds(ids.slice(half), firstEvent))];
          }
          // Every case comes back with its value or an error naming why, never a silent null:
          // field errors go to their fields; errors that name no field (a subgraph call that
          // failed as a whole) either are why the case is missing (the root fetch failed: no
          // case came back) or go with each case into its payload's errors.
          const keys = padded.map((_, i) => (size > 1 ? `c${i}` : 'case'));
          const values = ids.map((_, i) => (data as Record<string, unknown> | null | undefined)?.[keys[i]!] ?? null);
          const unplaced: FetchError[] = errors.filter((e) => !keys.includes(String(e.path?.[0])));
          if (!data && unplaced.length === 0) unplaced.push({ message: 'the graph answered without data', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
          const rootFailed = values.every((value) => value === null) && unplaced.length > 0;
          return ids.map((_, i) => placeErrors(values[i], errors.filter((e) => e.path?.[0] === keys[i]), unplaced, rootFailed));
        };
        const slot = () =>
          fetchSlots.acquire(slotKey).catch((error: unknown) => {
            if (!(error instanceof FetchSlotTimeout)) throw error;
            throw caseFetchFailed({ message: error.message }, 'SUBSCRIPTION_FETCHES_IN_FLIGHT');
          });
        batcher = new CaseBatcher(fetchIds, () => batchers.delete(group), () => maxBatch, slot);
        batchers.set(group, batcher);
      }
      pending = batcher.load(message.caseId, message.id) as Promise<FetchedCase>;
      // Kept for the other subscribers of this event with the same rights and selection; at
      // most MAX_RECENT at once (a lagging subscriber past them fetches again).
      // A failure is shared only by those who asked while it was in flight; later ones fetch again.
      const kept = pending;
      const forget = () => {
        if (recent.get(once) === kept) recent.delete(once);
      };
      recent.set(once, kept);
      if (recent.size > MAX_RECENT) recent.delete(recent.keys().next().value!);
      kept.then((fetched) => fetched.failed && forget(), forget);
      setTimeout(forget, 30_000).unref();
    }
    return pending;
  };

  // Resolvers of the subscription part (the rest of the schema is read by response key).
  const subscriptionType = schema.getSubscriptionType()!;
  const caseEvents = subscriptionType.getFields().caseEvents!;
  caseEvents.subscribe = async (_source, args: { filter?: CaseEventFilter | null; after?: string | null }, ctx: SubscriptionContext) => hub.subscribe(ctx.principal, args.filter ?? null, args.after ?? null);
  caseEvents.resolve = (message: CaseEventMessage) => message;
  const messageType = schema.getType('CaseEventMessage') as ReturnType<typeof subscriptionType.getFields>[string]['type'] & { getFields: () => Record<string, { resolve?: GraphQLFieldResolver<CaseEventMessage, SubscriptionContext> }> };
  const messageFields = messageType.getFields();
  for (const name of ['id', 'type', 'at', 'caseId', 'transition', 'milestone', 'status'] as const) messageFields[name]!.resolve = (message) => message[name];
  messageFields.disbursement!.resolve = (message) => message.disbursement;
  messageFields.case!.resolve = async (message, _args, ctx, info) => {
    const fetched = await ctx.fetchCase(message, info);
    // Errors that name no field of the case go into this event's payload, at the case.
    for (const error of fetched.unplaced) ctx.payloadErrors.push(new GraphQLError(error.message, { nodes: info.fieldNodes, path: responsePathAsArray(info.path), extensions: error.extensions }));
    return fetched.value;
  };
  const disbursementFields = (schema.getType('CaseEventDisbursement') as typeof messageType).getFields();
  for (const name of ['amountCents', 'package', 'kind', 'date']) disbursementFields[name]!.resolve = (value) => (value as unknown as Record<string, unknown>)[name];

  const closeUnauthorized = (socket: WebSocket, reason: string) => socket.close(CLOSE_UNAUTHORIZED, `Unauthorized: ${reason}`.slice(0, 120));

  const graphqlWs = useServer<Record<string, unknown> | undefined, { socket: WebSocket; request: IncomingMessage }>(
    {
      schema,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        const params = ctx.connectionParams ?? {};
        const raw = params.authorization ?? params.Authorization;
        const authorization = typeof raw === 'string' ? raw : typeof params.token === 'string' ? `Bearer ${params.token}` : undefined;
        let principal: Principal | null;
        try {
          principal = await options.authenticate(authorization);
        } catch (error) {
          closeUnauthorized(socket, (error as Error).message);
          return false;
        }
        if (!principal) {
          closeUnauthorized(socket, 'case events need a bearer token in connection_init ({ "authorization": "Bearer <token>" })');
          return false;
        }
        const state: ConnectionState = { principal, id: randomUUID(), subscriptions: 0, subscriptionIds: new Set(), streams: new Set() };
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
          socket.close(CLOSE_TOO_MANY_CONNECTIONS, `Too many connections: this principal has ${taken.held} of ${maxConnections} (WS_MAX_CONNECTIONS_PER_PRINCIPAL); reuse one`);
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
        if (!state) return [new GraphQLError('Not connected', { extensions: { code: 'UNAUTHENTICATED' } })];
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: options.maxTokens });
        } catch (error) {
          return [new GraphQLError((error as Error).message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [new GraphQLError('The document must name one operation (operationName)', { extensions: { code: 'BAD_REQUEST' } })];
        if (operation.operation !== 'subscription') return [new GraphQLError('Only subscriptions are served over WebSocket; send queries and mutations over HTTP', { extensions: { code: 'BAD_REQUEST' } })];
        if (options.allowOperation && !options.allowOperation(payload.query)) {
          return [new GraphQLError('This gateway runs only the operations of its safelist (persisted operations); this one is not listed', { extensions: { code: 'OPERATION_NOT_IN_SAFELIST' } })];
        }
        const errors = validate(schema, document, [...specifiedRules, ...options.validationRules]);
        // In production without "Did you mean ...?" suggestions, as over HTTP (README, Limits).
        if (errors.length > 0) return errors.map((e) => new GraphQLError(options.config.NODE_ENV === 'production' ? withoutSuggestions(e.message) : e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
        if (state.subscriptions >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          return [new GraphQLError(`At most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection; complete one or open another connection`, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: MAX_SUBSCRIPTIONS_PER_CONNECTION } })];
        }
        // An id is in use from its admission until its subscription completes: a client that
        // completes an id while it is being admitted and subscribes it again must not get two
        // running subscriptions counted as one (graphql-ws forgets the id on `complete`).
        if (state.subscriptionIds.has(id)) {
          return [new GraphQLError(`Subscription id ${id} is in use on this connection; use a new id`, { extensions: { code: 'BAD_REQUEST' } })];
        }
        // Counted here, before the await: concurrent subscribes on one socket cannot pass the per-connection limit together.
        state.subscriptions++;
        state.subscriptionIds.add(id);
        let taken: { taken: boolean; held: number };
        try {
          taken = await slots.acquire(subscriptionsKey(state.principal), `${state.id}:${id}`, maxSubscriptions);
        } catch (error) {
          state.subscriptions--;
          state.subscriptionIds.delete(id);
          if (!(error instanceof LimitCheckUnavailable)) throw error;
          return [new GraphQLError(`Subscription limits could not be checked: ${error.message}`, { extensions: { code: 'SERVICE_UNAVAILABLE' } })];
        }
        if (!taken.taken) {
          state.subscriptions--;
          state.subscriptionIds.delete(id);
          return [
            new GraphQLError(`Too many subscriptions: this principal has ${taken.held} of ${maxSubscriptions} across its connections (WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL); complete one first`, {
              extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: maxSubscriptions },
            }),
          ];
        }
        if (!connections.has(ctx.extra.socket) || ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) {
          // The socket closed while the subscription was counted.
          state.subscriptionIds.delete(id);
          void slots.release(subscriptionsKey(state.principal), `${state.id}:${id}`);
          return [new GraphQLError('The connection closed', { extensions: { code: 'BAD_REQUEST' } })];
        }
        const contextValue: SubscriptionContext = { principal: state.principal, connectionId: state.id, fetchCase: fetchCase(state.principal, state.id), payloadErrors: [] };
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables ?? undefined, contextValue };
      },
      onComplete: (ctx, id) => {
        const state = connections.get(ctx.extra.socket);
        if (!state) return;
        state.subscriptions = Math.max(0, state.subscriptions - 1);
        if (state.subscriptionIds.delete(id)) void slots.release(subscriptionsKey(state.principal), `${state.id}:${id}`);
      },
      subscribe: async (args) => {
        const result = await subscribe({ ...args, fieldResolver: byResponseKey });
        if (!(Symbol.asyncIterator in result)) return result;
        const context = args.contextValue as SubscriptionContext;
        const stream = withPayloadErrors(result, context);
        const state = statesById.get(context.connectionId);
        if (!state) {
          // The socket closed while the subscription started.
          void stream.return(undefined);
          return stream;
        }
        state.streams.add(stream);
        return untilEnded(stream, () => state.streams.delete(stream));
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
