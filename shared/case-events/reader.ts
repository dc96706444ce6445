import type { Redis } from 'ioredis';
import type { Model } from 'mongoose';
import { fencedFilter, fencedSet, fencedUpsert } from '../fence.js';
import { LeasedLoop, LeaseLostError } from '../leased-loop.js';
import { recordCaseEventRead } from '../metrics.js';
import { withTraceContext } from '../telemetry/propagation.js';
import type { Logger } from '../logger.js';
import { caseEventStream, type CaseEvent, type CaseEventEntry } from './contract.js';

/** Parses a stream entry's fields (`event <json>`); null for anything else. */
export function parseStreamEntry(fields: readonly string[]): CaseEvent | null {
  const index = fields.indexOf('event');
  if (index < 0 || index % 2 !== 0 || fields[index + 1] === undefined) return null;
  try {
    return JSON.parse(fields[index + 1]!) as CaseEvent;
  } catch {
    return null;
  }
}

/** The trace context an entry's writer left in it (`trace <json>`), if any. */
export function traceOfEntry(fields: readonly string[]): unknown {
  const index = fields.indexOf('trace');
  const json = index >= 0 && index % 2 === 0 ? fields[index + 1] : undefined;
  if (json === undefined || json.length > 1_024) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

/** A stream entry as Redis answers it: its id and its flat field list. */
export type RawStreamEntry = [id: string, fields: string[]];

/**
 * One read's worth of events: the entries that parse, in stream order, and the id of the
 * last entry read (parsed or not), which is where the next read starts.
 */
export interface CaseEventBatch {
  entries: CaseEventEntry[];
  lastId: string;
}

/** Parses raw entries once for every consumer; null when there were none. */
export function batchOf(raw: readonly RawStreamEntry[]): CaseEventBatch | null {
  if (raw.length === 0) return null;
  const entries: CaseEventEntry[] = [];
  for (const [id, fields] of raw) {
    const event = parseStreamEntry(fields);
    if (event) entries.push({ id, event });
  }
  return { entries, lastId: raw.at(-1)![0] };
}

/** Where the stream is read from: Redis in production, a list in unit tests. */
export interface CaseEventSource {
  /** Up to `count` entries after `after`, waiting up to `blockMs` for one (0: not at all). */
  read(after: string, count: number, blockMs: number): Promise<RawStreamEntry[]>;
  /** The id of the newest entry ('0-0' when the stream is empty). */
  tail(): Promise<string>;
}

/** The id of the newest entry in the case event stream ('0-0' when empty). */
export async function streamTail(redis: Redis, prefix: string): Promise<string> {
  return (await redis.xrevrange(caseEventStream(prefix), '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
}

/** The case event stream on `redis`; a blocking read holds its connection, so give it one of its own. */
export function redisEventSource(redis: Redis, prefix: string): CaseEventSource {
  const stream = caseEventStream(prefix);
  return {
    async read(after, count, blockMs) {
      const reply =
        blockMs > 0
          ? await redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, after)
          : await redis.xread('COUNT', count, 'STREAMS', stream, after);
      return (reply?.[0]?.[1] ?? []) as RawStreamEntry[];
    },
    tail: () => streamTail(redis, prefix),
  };
}

/** Where a consumer has read up to. */
export interface CheckpointStore {
  /** The id of the last entry handled; null when nothing was stored yet. */
  load(): Promise<string | null>;
  /** Stores `id`; with a lease's fence, refused (LeaseLostError) once a newer holder has stored one. */
  save(id: string, fence?: number): Promise<void>;
}

/**
 * A checkpoint kept in the consumer's own database, next to the read model it writes, so
 * the read model and the point it was built up to are read from one place.
 */
export function projectionCheckpoint(
  Projection: Model<{ _id: string; lastEventId: string }>,
  id: string,
): CheckpointStore {
  return {
    load: async () => (await Projection.findOne({ _id: id }).lean().exec())?.lastEventId ?? null,
    save: (lastEventId, fence) =>
      fencedUpsert(`checkpoint ${id}`, fence, () =>
        Projection.collection.updateOne(
          fencedFilter({ _id: id as never }, fence),
          {
            $set: fencedSet({ lastEventId }, fence),
          },
          { upsert: true },
        ),
      ),
  };
}

/**
 * Stores the checkpoint (KEYS[1]) and the fence it was stored under (KEYS[2]) unless a newer
 * fence is recorded there: answers 1 when stored, 0 when refused.
 */
const FENCED_SET = `
local stored = tonumber(redis.call('GET', KEYS[2]) or '0')
if stored > tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return 1`;

/**
 * A checkpoint kept in a Redis key. Under a lease, its fence is kept next to it in one script,
 * so a holder paused past its lease cannot move the next holder's checkpoint back.
 */
export function redisCheckpoint(redis: Redis, key: string): CheckpointStore {
  return {
    load: () => redis.get(key),
    save: async (id, fence) => {
      if (fence === undefined) {
        await redis.set(key, id);
        return;
      }
      if ((await redis.eval(FENCED_SET, 2, key, `${key}:fence`, id, fence)) !== 1)
        throw new LeaseLostError(`checkpoint ${key}`, fence);
    },
  };
}

/**
 * A checkpoint in this process's memory, for per-instance consumers that start from the
 * tail every time. `position` is updated the moment `save` is called, so a reader of it in
 * the same tick as a batch was handled sees that batch as read.
 */
export class MemoryCheckpoint implements CheckpointStore {
  position: string | null = null;

  async load(): Promise<string | null> {
    return this.position;
  }

  async save(id: string): Promise<void> {
    this.position = id;
  }
}

/**
 * A consumer: what it does with one batch. Its checkpoint moves only once this has finished.
 * Under a lease it gets the lease's fence, for the writes it makes as the single writer.
 */
export type CaseEventHandler = (batch: CaseEventBatch, fence?: number) => void | Promise<unknown>;

export interface CaseEventReaderOptions {
  /** Names the consumer in logs. */
  name: string;
  checkpoint: CheckpointStore;
  /**
   * Where a consumer without a stored checkpoint begins: the stream's first entry, or its
   * tail (only what happens from now on; the tail is stored at once).
   */
  startAt: 'beginning' | 'tail';
  batchSize: number;
  /** How long a read waits for new entries before it looks again (ms). */
  blockMs: number;
  /**
   * Single writers: read only while holding this Redis lease, so that of several replicas
   * exactly one consumes. Without it every instance reads (and must stop by closing the
   * source's connection, which ends a blocking read).
   */
  lease?: { redis: Redis; key: string; ms?: number };
}

/**
 * The one way the case event stream is consumed: from a checkpoint, in batches (XREAD with
 * COUNT and BLOCK), each entry parsed once, the batch handed to the consumer, and the
 * checkpoint moved after the consumer has finished with it (a crash in between replays
 * the batch; consumers are idempotent per entry id).
 */
export class CaseEventReader {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly leased: LeasedLoop | undefined;

  constructor(
    private readonly source: CaseEventSource,
    private readonly handle: CaseEventHandler,
    private readonly options: CaseEventReaderOptions,
    private readonly logger: Logger,
  ) {
    const lease = options.lease;
    this.leased = lease
      ? new LeasedLoop(lease.redis, lease.key, ({ fence }) => this.readOnce(undefined, fence), logger, lease.ms)
      : undefined;
  }

  /** The stored checkpoint, or the starting point when there is none (a tail start stores it). */
  async resume(): Promise<string> {
    const stored = await this.options.checkpoint.load();
    if (stored !== null) return stored;
    if (this.options.startAt === 'beginning') return '0-0';
    const tail = await this.source.tail();
    await this.options.checkpoint.save(tail);
    return tail;
  }

  /**
   * Reads one batch after the checkpoint (waiting up to `blockMs`) and handles it; returns how many were read.
   * `fence` is the lease's, when read under one: the handler's writes and the checkpoint carry it.
   */
  async readOnce(blockMs = this.options.blockMs, fence?: number): Promise<number> {
    const from = await this.resume();
    const raw = await this.source.read(from, this.options.batchSize, blockMs);
    const batch = batchOf(raw);
    recordCaseEventRead(this.options.name, raw.length, raw[0]?.[0]);
    if (!batch) return 0;
    if (batch.entries.length < raw.length) {
      // Read past, so one bad entry does not stop the consumer for good; said, so it is not lost unseen.
      const parsed = new Set(batch.entries.map((entry) => entry.id));
      const skipped = raw.filter(([id]) => !parsed.has(id)).map(([id]) => id);
      this.logger.warn({ consumer: this.options.name, skipped }, 'case event entries that do not parse were skipped');
    }
    // A consumer that answers at once keeps the checkpoint's move in the same tick (the hub's handoff relies on it).
    // The batch continues the trace of its first entry's writer (README, Tracing).
    const handled = withTraceContext(
      traceOfEntry(raw[0]![1]),
      `case events ${this.options.name}`,
      { 'avrr.consumer': this.options.name, 'avrr.entries': raw.length },
      () => this.handle(batch, fence),
    );
    if (handled !== undefined) await handled;
    await this.options.checkpoint.save(batch.lastId, fence);
    return raw.length;
  }

  /** Reads every entry after the checkpoint, without waiting for new ones; returns how many were read. */
  async catchUp(): Promise<number> {
    let total = 0;
    for (let read = await this.readOnce(0); read > 0; read = await this.readOnce(0)) total += read;
    return total;
  }

  /** Reads until stopped: under the lease when there is one, else on every instance. */
  start(): void {
    if (this.leased) return this.leased.start();
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.readOnce();
        } catch (error) {
          if (!this.running) return;
          this.logger.warn({ err: error, consumer: this.options.name }, 'reading case events failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    })();
  }

  /**
   * Stops after the batch in hand. A lease-less reader may be waiting in a blocking read:
   * close the source's connection after calling this, and await the returned promise.
   */
  async stop(): Promise<void> {
    if (this.leased) return this.leased.stop();
    this.running = false;
    await this.loop;
  }
}
