import type { Redis } from 'ioredis';
import type { Principal } from '../../shared/auth.js';
import {
  caseEventStream,
  CaseEventReader,
  compareStreamIds,
  matchesFilter,
  mayReceive,
  MemoryCheckpoint,
  messageOf,
  parseStreamEntry,
  redisEventSource,
  streamTail,
  type CaseEventFilter,
  type CaseEventMessage,
} from '../../shared/case-events/index.js';
import { badUserInput, resumePointExpired, resumePointInFuture, subscriberTooSlow } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';

/** A subscriber's view of the hub: its rights, its filter, where it is. */
interface Subscriber {
  principal: Principal;
  filter: CaseEventFilter | null;
  /** A further choice of events (the worklist subscription's); all when absent. */
  select?: (message: CaseEventMessage) => boolean;
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
    const trim = () =>
      void this.trim().catch((error: unknown) =>
        this.logger.warn({ err: error }, 'trimming the case event stream failed'),
      );
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

  /**
   * Drops events older than the window, and remembers up to where, so a resume from before it is refused,
   * not silently gapped.
   */
  async trim(now = Date.now()): Promise<void> {
    const floor = `${Math.max(0, now - this.options.windowMs)}-0`;
    await this.redis.xtrim(this.stream, 'MINID', '~', floor);
    await this.redis.set(this.floorKey, floor);
  }

  /**
   * The newest id the stream has given out (trimmed entries included), or what this instance
   * has read if that is later: an `after` past both names an event that does not exist.
   */
  private async newestId(): Promise<string> {
    let generated = '0-0';
    try {
      const info = (await this.redis.xinfo('STREAM', this.stream)) as unknown[];
      const at = info.indexOf('last-generated-id');
      if (at >= 0 && typeof info[at + 1] === 'string') generated = info[at + 1] as string;
    } catch {
      // No stream yet: no event has been written, so any `after` is later than all of them.
    }
    return compareStreamIds(generated, this.lastId) >= 0 ? generated : this.lastId;
  }

  private dispatch(message: CaseEventMessage): void {
    for (const subscriber of this.subscribers) {
      if (
        mayReceive(subscriber.principal, message) &&
        matchesFilter(message, subscriber.filter) &&
        (subscriber.select?.(message) ?? true)
      )
        subscriber.push(message);
    }
  }

  /**
   * The events `principal` may see and `filter` selects: with `after`, those since it from
   * the stream first, then live ones, in stream order, none twice. `onQueued` hears of each
   * live event as it is queued for the subscriber (before the subscriber takes it), so work
   * for it can start at once (the case's prefetch).
   */
  async subscribe(
    principal: Principal,
    filter: CaseEventFilter | null,
    after: string | null,
    select?: (message: CaseEventMessage) => boolean,
    onQueued?: (message: CaseEventMessage) => void,
  ): Promise<AsyncIterableIterator<CaseEventMessage>> {
    if (after !== null) {
      if (!STREAM_ID.test(after)) throw badUserInput('after must be an event id as received (`<ms>-<seq>`)', 'after');
      const floor = await this.redis.get(this.floorKey);
      if (floor && compareStreamIds(after, floor) < 0) {
        throw resumePointExpired(floor);
      }
      const newest = await this.newestId();
      if (compareStreamIds(after, newest) > 0) throw resumePointInFuture(after, newest);
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
      ...(select ? { select } : {}),
      push: (message) => {
        if (queue.length >= maxQueue) {
          tooSlow = true;
          this.subscribers.delete(subscriber);
        } else {
          queue.push(message);
          onQueued?.(message);
        }
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
          if (
            message &&
            mayReceive(principal, message) &&
            matchesFilter(message, filter) &&
            (select?.(message) ?? true)
          )
            replayed.push(message);
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
          // Live events need no round trip: the replay is looked at only while there is one.
          if (replayFrom !== null) await fillReplay();
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
            throw subscriberTooSlow(maxQueue, cursor);
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
