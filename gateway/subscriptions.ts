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
  specifiedRules,
  subscribe,
  validate,
  visit,
  type DocumentNode,
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
import type { Principal } from '../shared/auth.js';
import { matchesFilter, mayReceive, messageOf, parseStreamEntry, type CaseEventFilter, type CaseEventMessage } from '../shared/case-events.js';
import type { Config } from '../shared/config.js';
import { caseEventStream, compareStreamIds, streamTail } from '../shared/events.js';
import type { Logger } from '../shared/logger.js';
import type { GatewayContext } from './datasource.js';

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
  private lastId = '0-0';
  private running = false;
  private loop: Promise<void> | undefined;
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
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.lastId = await streamTail(this.redis, this.prefix);
    this.running = true;
    this.loop = this.read();
    const trim = () => void this.trim().catch((error: unknown) => this.logger.warn({ err: error }, 'trimming the case event stream failed'));
    trim();
    this.trimTimer = setInterval(trim, 60_000);
    this.trimTimer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.trimTimer);
    this.reader.disconnect();
    await this.loop;
  }

  /** Drops events older than the window, and remembers up to where, so a resume from before it is refused, not silently gapped. */
  async trim(now = Date.now()): Promise<void> {
    const floor = `${Math.max(0, now - this.options.windowMs)}-0`;
    await this.redis.xtrim(this.stream, 'MINID', '~', floor);
    await this.redis.set(this.floorKey, floor);
  }

  private async read(): Promise<void> {
    while (this.running) {
      try {
        const batch = await this.reader.xread('COUNT', 500, 'BLOCK', this.options.blockMs ?? 5_000, 'STREAMS', this.stream, this.lastId);
        for (const [, entries] of batch ?? []) {
          for (const [id, fields] of entries) {
            this.lastId = id;
            const event = parseStreamEntry(fields);
            const message = event && messageOf(id, event);
            if (message) this.dispatch(message);
          }
        }
      } catch (error) {
        if (!this.running) return;
        this.logger.warn({ err: error }, 'reading case events failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
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
 * fetch in flight per group, at most `maxBatch()` cases per fetch.
 */
class CaseBatcher {
  private readonly waiting = new Map<string, { event: string; settle: Array<[(value: unknown) => void, (error: unknown) => void]> }>();
  private running = false;

  constructor(
    private readonly fetch: (ids: string[], firstEvent: string) => Promise<unknown[]>,
    private readonly onIdle: () => void,
    /** Cases per fetch: what the gateway's own limits (aliases, cost, tokens) let one query hold. */
    private readonly maxBatch: () => number,
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
      }
    }
    this.running = false;
    this.onIdle();
  }
}

/** What each subscription operation runs with. */
interface SubscriptionContext {
  principal: Principal;
  connectionId: string;
  /** Fetches the event's case through the federated graph, as the subscriber. */
  fetchCase: (message: CaseEventMessage, info: GraphQLResolveInfo) => Promise<unknown>;
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

export interface SubscriptionServerOptions {
  server: Server;
  apollo: ApolloServer<GatewayContext>;
  apiSchema: GraphQLSchema;
  validationRules: ValidationRule[];
  maxTokens: number;
  config: Config;
  logger: Logger;
  hub: CaseEventHub;
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

/** graphql-ws on the gateway's HTTP server, path `/graphql`. */
export function startSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { apollo, hub, logger } = options;
  const schema = extendSchema(options.apiSchema, parse(SUBSCRIPTION_SDL));
  const wss = new WebSocketServer({ server: options.server, path: '/graphql', maxPayload: 256 * 1024 });
  const connections = new WeakMap<WebSocket, { principal: Principal; id: string; expiry?: NodeJS.Timeout; subscriptions: number }>();
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
  const recent = new Map<string, Promise<unknown>>();
  const fetchCase = (principal: Principal, connectionId: string) => async (message: CaseEventMessage, info: GraphQLResolveInfo) => {
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
          const response = await apollo.executeOperation(
            { query: queryOf(size), variables: { ...variables, ...Object.fromEntries(padded.map((id, i) => [`__case${i}`, id])) } },
            { contextValue: { principal, requestId: `ws:${connectionId}:${firstEvent}`, internal: true } },
          );
          if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
          const { data, errors } = response.body.singleResult;
          if (!data && ids.length > 1) {
            maxBatch = Math.max(1, maxBatch / 2);
            const half = Math.ceil(ids.length / 2);
            return [...(await fetchIds(ids.slice(0, half), firstEvent)), ...(await fetchIds(ids.slice(half), firstEvent))];
          }
          return ids.map((_, i) => {
            const key = size > 1 ? `c${i}` : 'case';
            const value = (data as Record<string, unknown> | null | undefined)?.[key] ?? null;
            const error = errors?.find((e) => e.path?.[0] === key) ?? (data ? undefined : errors?.[0]);
            if (value === null && error) return new GraphQLError(error.message, { extensions: error.extensions ?? {} });
            return value;
          });
        };
        batcher = new CaseBatcher(fetchIds, () => batchers.delete(group), () => maxBatch);
        batchers.set(group, batcher);
      }
      pending = batcher.load(message.caseId, message.id);
      recent.set(once, pending);
      setTimeout(() => recent.delete(once), 30_000).unref();
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
  messageFields.case!.resolve = (message, _args, ctx, info) => ctx.fetchCase(message, info);
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
        const state: { principal: Principal; id: string; expiry?: NodeJS.Timeout; subscriptions: number } = { principal, id: randomUUID(), subscriptions: 0 };
        const exp = authorization ? decodeJwt(authorization.replace(/^Bearer /, '')).exp : undefined;
        if (exp !== undefined) {
          const ms = Math.min(exp * 1000 - Date.now(), 2_147_000_000);
          state.expiry = setTimeout(() => closeUnauthorized(socket, 'token expired'), Math.max(ms, 0));
          state.expiry.unref();
        }
        connections.set(socket, state);
        socket.once('close', () => clearTimeout(state.expiry));
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
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
        if (errors.length > 0) return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
        if (state.subscriptions >= MAX_SUBSCRIPTIONS_PER_CONNECTION) return [new GraphQLError(`At most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection`, { extensions: { code: 'BAD_REQUEST' } })];
        state.subscriptions++;
        const contextValue: SubscriptionContext = { principal: state.principal, connectionId: state.id, fetchCase: fetchCase(state.principal, state.id) };
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables ?? undefined, contextValue };
      },
      onComplete: (ctx) => {
        const state = connections.get(ctx.extra.socket);
        if (state) state.subscriptions = Math.max(0, state.subscriptions - 1);
      },
      subscribe: (args) => subscribe({ ...args, fieldResolver: byResponseKey }),
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
      await graphqlWs.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
