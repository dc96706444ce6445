import type { ApolloServer } from '@apollo/server';
import {
  type GraphQLError,
  Kind,
  parse,
  print,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type NameNode,
  TypeInfo,
  type VariableNode,
  visitWithTypeInfo,
} from 'graphql';
import type { Principal } from '../../shared/auth.js';
import type { CaseEventMessage } from '../../shared/case-events/index.js';
import { caseFetchFailed, rebuiltError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { GatewayContext } from '../datasource.js';
import { personalFieldIndex, rightsClass } from '../cache/policy.js';
import { FetchSlots, FetchSlotTimeout } from '../limits.js';

/**
 * How the `case` of each event reaches its subscribers: fetched through the federated graph
 * as the subscriber, coalesced into batches for subscribers with the same rights and
 * selection, bounded per principal, every failure named (README, Subscribe to case events).
 */

/**
 * Unmarked fields whose answer depends on who reads, not only on the rights class: the thread
 * (a support-desk user's own justified access opens it) and the reader's own unread count.
 * Fetched per reader like the personal fields, so no subscriber receives a colleague's.
 */
export const READER_DEPENDENT_FIELDS: readonly string[] = ['Case.messages', 'Case.unreadMessageCount'];

/**
 * `Type.field` of every field the supergraph marks `@personal` or `@pseudonymous` (the
 * composed marks of the cases SDL), and the READER_DEPENDENT_FIELDS: a selection without
 * them reads no personal data and gets the same answer for everyone with the same rights.
 */
export function personalFieldsOf(supergraphSdl: string): Set<string> {
  return new Set([...READER_DEPENDENT_FIELDS, ...personalFieldIndex(supergraphSdl).fields]);
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

type Settle = [(value: unknown) => void, (error: unknown) => void];

/**
 * Fetches of one group (rights and selection) in flight at once. With one, an event that
 * arrives while its group's fetch is in flight waits for that fetch before its own starts:
 * on a loaded store, most of the delivery time. With two, it starts at once; events that
 * arrive while both are in flight go together in the next batch.
 */
export const GROUP_FETCHES_IN_FLIGHT = 2;

/**
 * Collects case ids while fetches are in flight and fetches them together next: at most
 * GROUP_FETCHES_IN_FLIGHT fetches in flight per group, at most `maxBatch()` cases per fetch,
 * and each fetch only once `slot()` grants one (the principal's fetches in flight are
 * bounded); a batch that gets no slot in time fails, every waiter with the reason.
 */
class CaseBatcher {
  private readonly waiting = new Map<string, { event: string; settle: Settle[] }>();
  private inFlight = 0;
  private scheduled = false;

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
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= GROUP_FETCHES_IN_FLIGHT) return;
    this.scheduled = true;
    // Let every subscriber of this event ask before the fetch goes out.
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.waiting.size === 0 || this.inFlight >= GROUP_FETCHES_IN_FLIGHT) return this.settled();
    this.inFlight++;
    try {
      let release: () => void;
      try {
        release = await this.slot();
      } catch (error) {
        // Everyone waiting waited for this slot: each gets the reason, none a silent null.
        const all = [...this.waiting.values()];
        this.waiting.clear();
        for (const entry of all) for (const [, reject] of entry.settle) reject(error);
        return;
      }
      const batch = [...this.waiting].slice(0, this.maxBatch());
      for (const [id] of batch) this.waiting.delete(id);
      if (batch.length === 0) return release();
      try {
        const results = await this.fetch(
          batch.map(([id]) => id),
          batch[0]![1].event,
        );
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
    } finally {
      this.inFlight--;
      this.settled();
    }
  }

  /** After a fetch: the next batch if cases wait, or idle when nothing is waiting nor in flight. */
  private settled(): void {
    if (this.waiting.size > 0) this.schedule();
    else if (this.inFlight === 0 && !this.scheduled) this.onIdle();
  }
}

/**
 * A case as fetched for an event: the value (its failed fields hold their errors), and
 * errors no field of it can carry.
 */
export interface FetchedCase {
  value: unknown;
  /** Errors of the fetch that name no field (a subgraph of a nested part that failed as a whole). */
  unplaced: GraphQLError[];
  /** Whether any part failed: such a result is not kept for later subscribers (they fetch again). */
  failed: boolean;
}

/** Fetches the event's case through the federated graph, as one subscriber. */
export type CaseFetch = (message: CaseEventMessage, info: GraphQLResolveInfo) => Promise<FetchedCase>;

/** What of a `case` field's resolve info its fetch needs (kept to prefetch the next events' cases). */
type CaseSelectionInfo = Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments' | 'operation' | 'variableValues'>;

/**
 * One subscription's case fetch, and its prefetch: `prefetch(message)` starts fetching the
 * case of an event as soon as the event is queued for the subscription, with each selection
 * of `case` the subscription has already resolved, so the fetch does not wait until the
 * subscriber has been sent every earlier event. Only selections without personal fields are
 * prefetched (their answer is shared by the rights class and logs no read); one with personal
 * fields is fetched when its event is executed, as the reader, as before.
 */
export type SubscriptionCaseFetch = CaseFetch & { prefetch: (message: CaseEventMessage) => void };

/** Distinct `case` selections per subscription remembered for prefetching (aliases of `case` in one document). */
const MAX_PREFETCH_SELECTIONS = 4;

/** A formatted error of the per-event query, as it came back from the graph. */
type FetchError = { message: string; path?: ReadonlyArray<string | number>; extensions?: Record<string, unknown> };

/** Codes of a fetch that did not happen, as opposed to an answer about the case (FORBIDDEN, NOT_FOUND). */
const FAILURE_CODES = new Set([
  'SUBGRAPH_UNAVAILABLE',
  'SUBGRAPH_ERROR',
  'INTERNAL_SERVER_ERROR',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
]);

/**
 * Puts each error of a case's fetch where the subscriber's payload will carry it: a field
 * error at its path (as an Error value, which the executor reports at the subscriber's own
 * path); the case itself, when its value is null because of a failure, becomes the error.
 */
export function placeErrors(
  value: unknown,
  own: FetchError[],
  unplaced: FetchError[],
  rootFailed: boolean,
): FetchedCase | GraphQLError {
  if (value === null || value === undefined) {
    const cause = own.find((e) => (e.path?.length ?? 0) <= 1) ?? own[0] ?? (rootFailed ? unplaced[0] : undefined);
    // Not visible to this subscriber: null, as the schema says.
    if (!cause) return { value: null, unplaced: [], failed: false };
    const code = cause.extensions?.code;
    // An answer about the case (FORBIDDEN, NOT_FOUND) passes on as it is; a failure is named as one.
    if (own.includes(cause) && typeof code === 'string' && !FAILURE_CODES.has(code)) {
      return rebuiltError(cause);
    }
    return caseFetchFailed(cause);
  }
  const left: GraphQLError[] = unplaced.map((e) => rebuiltError(e));
  for (const error of own) {
    const path = (error.path ?? []).slice(1);
    let parent = value as Record<string | number, unknown>;
    let placed = false;
    for (let i = 0; i < path.length; i++) {
      const key = path[i]!;
      const next = parent[key];
      if (next === null || next === undefined || i === path.length - 1) {
        if (next === null || next === undefined) {
          parent[key] = rebuiltError(error);
          placed = true;
        }
        break;
      }
      if (typeof next !== 'object' || next instanceof Error) break;
      parent = next as Record<string | number, unknown>;
    }
    if (!placed) left.push(rebuiltError(error));
  }
  return { value, unplaced: left, failed: own.length > 0 || left.length > 0 };
}

/** The cases subgraph's list field a batch of cases is fetched with (at most 100 ids). */
const LIST_FIELD = 'casesById';
/** Cases per batched fetch: under the list field's 100 ids. */
const MAX_BATCH = 64;

/**
 * The query that fetches the `case` of events with the subscriber's own selection, fragments
 * and variables: one case with `case(id: $__case0)`, as the subscriber asked it; a `batch`
 * with `casesById(ids: $__cases)`, whose elements the planner resolves with one call
 * per subgraph for the whole batch (aliased `case` fields cost one call per case and subgraph).
 */
export function caseQueryFor(
  info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments' | 'operation'>,
  batch = false,
): { query: string; variableNames: string[] } {
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
  const definitions = (info.operation.variableDefinitions ?? []).filter((d) =>
    variableNames.has(d.variable.name.value),
  );
  const name = (value: string): NameNode => ({ kind: Kind.NAME, value });
  const list = batch;
  const idsVariable: VariableNode = { kind: Kind.VARIABLE, name: name(list ? '__cases' : '__case0') };
  const idType = { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: name('ID') } };
  const document: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: 'query' as never,
        name: name('CaseEvents'),
        variableDefinitions: [
          ...definitions,
          {
            kind: Kind.VARIABLE_DEFINITION,
            variable: idsVariable,
            type: list ? { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.LIST_TYPE, type: idType } } : idType,
          },
        ] as never,
        selectionSet: {
          kind: Kind.SELECTION_SET,
          // No alias: the query is the subscriber's own selection, already within the limits.
          selections: [
            {
              kind: Kind.FIELD,
              name: name(list ? LIST_FIELD : 'case'),
              arguments: [{ kind: Kind.ARGUMENT, name: name(list ? 'ids' : 'id'), value: idsVariable }],
              selectionSet: { kind: Kind.SELECTION_SET, selections },
            },
          ] as never,
        },
      },
      ...[...fragmentNames]
        .map((fragment) => info.fragments[fragment])
        .filter((f): f is FragmentDefinitionNode => f !== undefined),
    ],
  };
  return { query: print(document), variableNames: [...variableNames] };
}

/** Fetch results kept for the other subscribers of an event. */
const MAX_RECENT = 10_000;

export interface CaseFetcherOptions {
  /** Runs the per-event queries, as the gateway's own requests (`internal`). */
  apollo: ApolloServer<GatewayContext>;
  /** The graph the queries are read against (to find personal fields). */
  apiSchema: GraphQLSchema;
  /** `Type.field` of the personal fields (personalFieldsOf the supergraph). */
  personalFields: ReadonlySet<string>;
  /** SUBSCRIPTION_FETCHES_IN_FLIGHT: per principal, per gateway instance. */
  fetchesInFlight: number;
  /** How long a batch waits for a fetch slot: as long as a subgraph call may take (SUBGRAPH_TIMEOUT_MS). */
  maxWaitMs: number;
  logger: Logger;
}

/**
 * The per-event case fetch of each subscriber (`fetcher(principal, connectionId)`).
 * Requests for the same rights and selection are coalesced: while one batch is in flight,
 * the next collects every case asked for meanwhile and fetches them in one `casesById` query
 * (one plan whatever the size; one call per subgraph for the whole batch). Under load,
 * batches grow instead of queues, and a batch costs about what one case does.
 */
export function caseFetcher(
  options: CaseFetcherOptions,
): (principal: Principal, connectionId: string) => SubscriptionCaseFetch {
  const { apollo, logger } = options;
  // The reader-dependent fields too, whatever personalFields was built from (READER_DEPENDENT_FIELDS).
  const perReader = new Set([...options.personalFields, ...READER_DEPENDENT_FIELDS]);
  // Keyed by the subscription document's own AST node: graphql-js makes a new fieldNodes
  // array for every execution, but the nodes are the subscriber's parsed document.
  const queryCache = new WeakMap<FieldNode, { query: string; variableNames: string[]; personal: boolean }>();
  const batchers = new Map<string, CaseBatcher>();
  const recent = new Map<string, Promise<FetchedCase>>();
  // Per-event fetches in flight per principal at this instance.
  const fetchSlots = new FetchSlots(options.fetchesInFlight, options.maxWaitMs);
  /** What a subscription's `case` selection is fetched with: its query and keys, built once per subscription. */
  interface Prepared {
    selection: { query: string; variableNames: string[]; personal: boolean };
    variables: Record<string, unknown>;
    rights: string;
    group: string;
    slotKey: string;
  }
  const prepare = (principal: Principal, info: CaseSelectionInfo): Prepared => {
    let selection = queryCache.get(info.fieldNodes[0]!);
    if (!selection) {
      const single = caseQueryFor(info);
      // `personal`: fetched per reader (personal or reader-scoped fields), never shared nor prefetched.
      selection = { ...single, personal: readsPersonalData(options.apiSchema, single.query, perReader) };
      queryCache.set(info.fieldNodes[0]!, selection);
    }
    const variables: Record<string, unknown> = {};
    for (const name of selection.variableNames) variables[name] = info.variableValues[name];
    // A selection without personal fields gets the same answer for everyone with the same
    // rights (role, Member State, partner), and nothing goes to the access log: one fetch
    // serves them all. One with personal fields is fetched per subscriber, so each read is
    // logged under its reader (and a support desk's justified access is its own); so is one
    // with reader-dependent fields (READER_DEPENDENT_FIELDS), whose answer is the reader's own.
    // The rights class (role, Member State, partner): subscribers of one class with the same selection share
    // fetches and payloads; no answer crosses classes.
    const rights = rightsClass(principal);
    const reader = selection.personal ? `${rights}|${principal.subject}` : rights;
    const group = `${reader}|${selection.query}|${JSON.stringify(variables)}`;
    // The bound is each principal's own: one subscriber with many selections must not use
    // up the slots of colleagues with the same rights (a shared fetch needs one slot).
    return { selection, variables, rights, group, slotKey: `${rights}|${principal.subject}` };
  };
  const load = async (
    principal: Principal,
    connectionId: string,
    message: CaseEventMessage,
    info: CaseSelectionInfo,
    prepared: Prepared,
  ): Promise<FetchedCase> => {
    // No await before `recent` holds this event's fetch: every subscriber of the class that
    // asks in the same tick (the hub's dispatch) finds it.
    const { selection, variables, group, slotKey } = prepared;
    const once = `${group}|${message.id}`;
    let pending = recent.get(once);
    if (!pending) {
      let batcher = batchers.get(group);
      if (!batcher) {
        // Two queries per selection (one case, a list of them), so two query plans.
        const single = selection.query;
        const several = caseQueryFor(info, true).query;
        // The batch query holds the selection once, so it is within the limits the subscriber's
        // document passed; a batch refused as a whole is split, and later batches are smaller.
        let maxBatch = MAX_BATCH;
        const failedAll = (ids: string[], message: string) =>
          ids.map(() => caseFetchFailed({ message, extensions: { code: 'INTERNAL_SERVER_ERROR' } }));
        const fetchIds = async (ids: string[], firstEvent: string): Promise<unknown[]> => {
          const list = ids.length > 1;
          const caseIds = list ? { __cases: ids } : { __case0: ids[0] };
          let response: Awaited<ReturnType<typeof apollo.executeOperation>>;
          try {
            response = await apollo.executeOperation(
              { query: list ? several : single, variables: { ...variables, ...caseIds } },
              { contextValue: { principal, requestId: `ws:${connectionId}:${firstEvent}`, internal: true } },
            );
          } catch (error) {
            logger.error({ err: error, event: firstEvent }, 'a per-event case fetch failed');
            return failedAll(ids, 'internal error (logged by the gateway)');
          }
          if (response.body.kind !== 'single') return failedAll(ids, 'unexpected incremental response');
          const { data, errors = [] } = response.body.singleResult;
          if (!data && ids.length > 1) {
            maxBatch = Math.max(1, maxBatch / 2);
            const half = Math.ceil(ids.length / 2);
            return [
              ...(await fetchIds(ids.slice(0, half), firstEvent)),
              ...(await fetchIds(ids.slice(half), firstEvent)),
            ];
          }
          // Every case comes back with its value or an error naming why, never a silent null:
          // field errors go to their fields; errors that name no field (a subgraph call that
          // failed as a whole) either are why the case is missing (the root fetch failed: no
          // case came back) or go with each case into its payload's errors.
          // A case's own errors: under `case`, or under `casesById` at its index (as `case` here).
          const own: FetchError[][] = ids.map(() => []);
          const unplaced: FetchError[] = [];
          for (const error of errors) {
            const [root, index] = error.path ?? [];
            if (!list && root === 'case') own[0]!.push(error);
            else if (list && root === LIST_FIELD && typeof index === 'number' && own[index]) {
              own[index].push({ ...error, path: ['case', ...error.path!.slice(2)] });
            } else unplaced.push(error);
          }
          const answer = (data as Record<string, unknown> | null | undefined)?.[list ? LIST_FIELD : 'case'];
          const values = ids.map((_, i) => (list ? (Array.isArray(answer) ? answer[i] : null) : answer) ?? null);
          if (!data && unplaced.length === 0) {
            unplaced.push({
              message: 'the graph answered without data',
              extensions: { code: 'INTERNAL_SERVER_ERROR' },
            });
          }
          const rootFailed = values.every((value) => value === null) && unplaced.length > 0;
          return ids.map((_, i) => placeErrors(values[i], own[i]!, unplaced, rootFailed));
        };
        const slot = () =>
          fetchSlots.acquire(slotKey).catch((error: unknown) => {
            if (!(error instanceof FetchSlotTimeout)) throw error;
            throw caseFetchFailed({ message: error.message }, 'SUBSCRIPTION_FETCHES_IN_FLIGHT');
          });
        batcher = new CaseBatcher(
          fetchIds,
          () => batchers.delete(group),
          () => maxBatch,
          slot,
        );
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
  return (principal, connectionId) => {
    // The subscription's `case` selections without personal fields, by their AST node.
    const prefetchable = new Map<FieldNode, { info: CaseSelectionInfo; prepared: Prepared }>();
    // The keys of each `case` selection of this subscription, built on its first event (its
    // variables do not change while it runs), not again for every event.
    const preparedOf = new Map<FieldNode, Prepared>();
    const fetch = (message: CaseEventMessage, info: GraphQLResolveInfo) => {
      const node = info.fieldNodes[0]!;
      let prepared = preparedOf.get(node);
      if (!prepared) {
        prepared = prepare(principal, info);
        if (preparedOf.size < MAX_PREFETCH_SELECTIONS) preparedOf.set(node, prepared);
      }
      const pending = load(principal, connectionId, message, info, prepared);
      if (!prefetchable.has(node) && prefetchable.size < MAX_PREFETCH_SELECTIONS && !prepared.selection.personal) {
        const { fieldNodes, fragments, operation, variableValues } = info;
        prefetchable.set(node, { info: { fieldNodes, fragments, operation, variableValues }, prepared });
      }
      return pending;
    };
    const prefetch = (message: CaseEventMessage) => {
      // The result waits in `recent` for this subscriber's own fetch (and its class's); a
      // failure is not kept there, so the subscriber's fetch tries again and names it.
      for (const { info, prepared } of prefetchable.values())
        load(principal, connectionId, message, info, prepared).catch(() => undefined);
    };
    return Object.assign(fetch, { prefetch });
  };
}
