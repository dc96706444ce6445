import type { Redis } from 'ioredis';
import type { IngestChunk } from './processor.js';
import type { PositionedRecord } from './formats.js';

/** A staged chunk's records, their lines and in-feed duplicates, as the push API wrote them. */
export interface StagedChunk {
  records: unknown[];
  lines: Array<number | null>;
  duplicates?: IngestChunk['duplicates'];
}

/** Kept while the feed is still being read (a push cut off midway leaves nothing for long). */
const STAGING_TTL_SECONDS = 3_600;
/** Kept once queued: completed chunks are removed at once; failed ones wait this long for a replay. */
export const STAGED_CHUNK_TTL_SECONDS = 30 * 86_400;

/**
 * Writes a feed to Redis chunk by chunk as it is read, so neither the gateway nor any job
 * holds a large feed whole. Records are only staged: no job exists until `commit`, so a
 * feed that turns out malformed halfway queues nothing and is discarded.
 */
export class FeedStager {
  private records: unknown[] = [];
  private lines: Array<number | null> = [];
  private duplicates: NonNullable<StagedChunk['duplicates']> = {};
  private firstSeen = new Map<string, { position: number; line: number | null }>();
  readonly keys: string[] = [];
  received = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly feedId: string,
    private readonly chunkSize: number,
  ) {}

  keyOf(chunkIndex: number): string {
    return `${this.prefix}:feed-chunk:${this.feedId}:${chunkIndex}`;
  }

  async add(entry: PositionedRecord): Promise<void> {
    const reference = (entry.record as { caseReference?: unknown } | null)?.caseReference;
    if (typeof reference === 'string') {
      const first = this.firstSeen.get(reference);
      if (first) this.duplicates[entry.position] = first;
      else this.firstSeen.set(reference, { position: entry.position, line: entry.line });
    }
    this.records.push(entry.record);
    this.lines.push(entry.line);
    this.received++;
    if (this.records.length >= this.chunkSize) await this.flush();
  }

  /** Writes the chunk being filled. */
  async flush(): Promise<void> {
    if (this.records.length === 0) return;
    const staged: StagedChunk = { records: this.records, lines: this.lines, ...(Object.keys(this.duplicates).length > 0 ? { duplicates: this.duplicates } : {}) };
    const key = this.keyOf(this.keys.length);
    this.keys.push(key);
    this.records = [];
    this.lines = [];
    this.duplicates = {};
    await this.redis.set(key, JSON.stringify(staged), 'EX', STAGING_TTL_SECONDS);
  }

  /** Keeps the staged chunks for as long as their jobs may need them. */
  async commit(): Promise<void> {
    await this.flush();
    const pipeline = this.redis.pipeline();
    for (const key of this.keys) pipeline.expire(key, STAGED_CHUNK_TTL_SECONDS);
    await pipeline.exec();
  }

  /** Removes everything staged (a malformed, oversized or repeated push). */
  async discard(): Promise<void> {
    this.records = [];
    for (let i = 0; i < this.keys.length; i += 500) await this.redis.del(...this.keys.slice(i, i + 500));
  }
}
