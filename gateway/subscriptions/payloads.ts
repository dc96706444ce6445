import {
  createSourceEventStream,
  execute,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLError,
  type GraphQLSchema,
} from 'graphql';
import type { Principal } from '../../shared/auth.js';
import { rightsClass } from '../cache/policy.js';
import { readsPersonalData, READER_DEPENDENT_FIELDS } from './case-fetch.js';
import type { SubscriptionContext } from './schema.js';

/**
 * Each event's payload executed once per group of subscribers who would get the same one:
 * the same rights class (role, Member State, partner), the same subscription document,
 * operation name and variables, and a selection without personal or reader-dependent fields
 * (README, Subscribe to case events). Every subscriber of the group is sent the same result
 * object. Which events a subscriber receives, in what order, from where it resumes and how
 * far it may lag stay its own (the hub's per-subscriber queue); a selection that reads
 * personal or reader-dependent fields is executed per subscriber, as its reader.
 */

type ResultStream = AsyncGenerator<ExecutionResult, void, void>;

export interface PayloadSharingOptions {
  /** The subscription schema the documents are read against (to find personal fields). */
  schema: GraphQLSchema;
  /** `Type.field` of the personal fields (personalFieldsOf the supergraph). */
  personalFields: ReadonlySet<string>;
  /** Payloads kept at once for the group's slower subscribers (a subscriber past them executes again). */
  maxResults?: number;
  /** How long a payload is kept for the group's slower subscribers (ms). */
  keepMs?: number;
}

/** A subscription's group: null when its payloads are its own (personal or reader-dependent fields). */
export interface PayloadGroup {
  /** Short id of the group, the prefix of its per-event keys. */
  readonly id: number;
  /** Ends the subscription's membership (when its stream ends). */
  release: () => void;
}

/** Distinct documents whose personal-field check is remembered. */
const MAX_DOCUMENTS = 1_000;

export class PayloadSharing {
  /** Executions run (each serving one subscriber, or a whole group). */
  executions = 0;
  private readonly perReader: ReadonlySet<string>;
  private readonly personalByQuery = new Map<string, boolean>();
  /** Group key to its short id and how many subscriptions are in it. */
  private readonly groups = new Map<string, { id: number; members: number }>();
  private nextGroupId = 1;
  private readonly results = new Map<string, Promise<ExecutionResult>>();
  private readonly maxResults: number;
  private readonly keepMs: number;

  constructor(private readonly options: PayloadSharingOptions) {
    this.perReader = new Set([...options.personalFields, ...READER_DEPENDENT_FIELDS]);
    this.maxResults = options.maxResults ?? 10_000;
    this.keepMs = options.keepMs ?? 30_000;
  }

  /** Whether a (valid) subscription document reads personal or reader-dependent fields. */
  private readsPersonal(query: string): boolean {
    let personal = this.personalByQuery.get(query);
    if (personal === undefined) {
      try {
        personal = readsPersonalData(this.options.schema, query, this.perReader);
      } catch {
        // Not a document this schema reads (it passed no check): executed per subscriber, shared with none.
        personal = true;
      }
      if (this.personalByQuery.size >= MAX_DOCUMENTS) {
        this.personalByQuery.delete(this.personalByQuery.keys().next().value!);
      }
      this.personalByQuery.set(query, personal);
    }
    return personal;
  }

  /**
   * The group a subscription joins, or null when its payloads are executed for it alone.
   * `query` is the document as sent and already checked (parsed and validated).
   */
  join(
    principal: Principal,
    query: string,
    operationName: string | null | undefined,
    variables: Record<string, unknown> | null | undefined,
  ): PayloadGroup | null {
    if (this.readsPersonal(query)) return null;
    const key = JSON.stringify([rightsClass(principal), operationName ?? null, variables ?? null, query]);
    let group = this.groups.get(key);
    if (!group) {
      group = { id: this.nextGroupId++, members: 0 };
      this.groups.set(key, group);
    }
    group.members++;
    const joined = group;
    let released = false;
    return {
      id: joined.id,
      release: () => {
        if (released) return;
        released = true;
        joined.members--;
        // A later subscription of the same key gets a new id: the payloads kept for this one
        // are never found again and leave by age and count.
        if (joined.members === 0 && this.groups.get(key) === joined) this.groups.delete(key);
      },
    };
  }

  /** Groups with at least one subscription. */
  get groupCount(): number {
    return this.groups.size;
  }

  /**
   * The subscription's results: its own event stream (the subscribe resolver's, from the hub),
   * each event executed into its payload, or the group's payload of that event when another
   * subscriber of the group already had it executed. The payload errors of an execution
   * (SubscriptionContext.payloadErrors) are part of its result. `onEnd` is called once when
   * the stream ends: run out, returned or thrown.
   */
  async subscribe(
    args: ExecutionArgs,
    group: PayloadGroup | null,
    onEnd?: () => void,
  ): Promise<ResultStream | ExecutionResult> {
    let source: Awaited<ReturnType<typeof createSourceEventStream>>;
    try {
      source = await createSourceEventStream(args);
    } catch (error) {
      // Arguments graphql-js refuses (no schema, no operation): the subscription leaves its group.
      group?.release();
      throw error;
    }
    if (!(Symbol.asyncIterator in source)) {
      group?.release();
      return source;
    }
    const events = source as AsyncIterableIterator<unknown>;
    const ctx = args.contextValue as SubscriptionContext;
    const run = async (event: unknown): Promise<ExecutionResult> => {
      this.executions++;
      const result = await execute({ ...args, rootValue: event });
      const extra: GraphQLError[] = ctx.payloadErrors.splice(0);
      return extra.length === 0 ? result : { ...result, errors: [...(result.errors ?? []), ...extra] };
    };
    const payloadOf = (event: unknown): Promise<ExecutionResult> => {
      const eventId = (event as { id?: unknown } | null)?.id;
      if (group === null || typeof eventId !== 'string') return run(event);
      const key = `${group.id}|${eventId}`;
      const kept = this.results.get(key);
      if (kept) return kept;
      const pending = run(event);
      this.results.set(key, pending);
      if (this.results.size > this.maxResults) this.results.delete(this.results.keys().next().value!);
      const forget = () => {
        if (this.results.get(key) === pending) this.results.delete(key);
      };
      // A payload with errors is shared only by those who asked while it was executed: later ones execute again.
      pending.then((result) => result.errors?.length && forget(), forget);
      setTimeout(forget, this.keepMs).unref();
      return pending;
    };
    let ended = false;
    /** Once, however the stream ends (run out, returned, thrown). */
    const end = () => {
      if (ended) return;
      ended = true;
      group?.release();
      onEnd?.();
    };
    const stream = {
      next: async (): Promise<IteratorResult<ExecutionResult, void>> => {
        let step: IteratorResult<unknown>;
        try {
          step = await events.next();
        } catch (error) {
          end();
          throw error;
        }
        if (step.done) {
          end();
          return { done: true, value: undefined };
        }
        return { done: false, value: await payloadOf(step.value) };
      },
      return: async (): Promise<IteratorResult<ExecutionResult, void>> => {
        end();
        await events.return?.();
        return { done: true, value: undefined };
      },
      throw: async (error: unknown): Promise<IteratorResult<ExecutionResult, void>> => {
        end();
        if (events.throw) await events.throw(error);
        throw error;
      },
      [Symbol.asyncIterator]: () => stream,
    };
    return stream as unknown as ResultStream;
  }
}
