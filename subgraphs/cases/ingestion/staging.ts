import type { Redis } from 'ioredis';
import { STAGED_CHUNK_TTL_SECONDS, stagedChunkKey, type FeedDuplicates } from './contract.js';
import { DuplicateFinder } from './duplicates.js';
import type { PositionedRecord } from './formats.js';

/** Kept while the feed is still being read (a push cut off midway leaves nothing for long). */
const STAGING_TTL_SECONDS = 3_600;

/**
 * Writes a feed to Redis chunk by chunk as it is read, so neither the gateway nor any job
 * holds a large feed whole. A chunk ends at `chunkSize` records or once it reaches
 * `maxChunkBytes` (README, "Limits on feeds"), so no job reads more than that. Records are
 * only staged: no job exists until `commit`, so a feed that turns out malformed halfway
 * queues nothing and is discarded.
 */
export class FeedStager {
  private records: string[] = [];
  private bytes = 0;
  private lines: Array<number | null> = [];
  private duplicates: FeedDuplicates = {};
  private readonly finder = new DuplicateFinder();
  private nextFirstPosition = 0;
  readonly keys: string[] = [];
  /** Position in the feed of each staged chunk's first record. */
  readonly firstPositions: number[] = [];
  received = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly feedId: string,
    private readonly chunkSize: number,
    /** How long staged chunks are kept once queued (INGEST_STAGED_DAYS). */
    private readonly stagedTtlSeconds = STAGED_CHUNK_TTL_SECONDS,
    /** A chunk ends once its records reach this many bytes (INGEST_CHUNK_MAX_BYTES). */
    private readonly maxChunkBytes = 1024 * 1024,
  ) {}

  keyOf(chunkIndex: number): string {
    return stagedChunkKey(this.prefix, this.feedId, chunkIndex);
  }

  async add(entry: PositionedRecord): Promise<void> {
    // Across the whole feed, so a case sent twice in different chunks is found too.
    const earlier = this.finder.see(entry.record, entry.position, entry.line);
    if (earlier) this.duplicates[entry.position] = earlier;
    const json = JSON.stringify(entry.record) ?? 'null';
    const size = Buffer.byteLength(json);
    if (this.records.length > 0 && this.bytes + size > this.maxChunkBytes) await this.flush();
    if (this.records.length === 0) this.nextFirstPosition = entry.position;
    this.records.push(json);
    this.bytes += size + 1;
    this.lines.push(entry.line);
    this.received++;
    if (this.records.length >= this.chunkSize) await this.flush();
  }

  /** Writes the chunk being filled. */
  async flush(): Promise<void> {
    if (this.records.length === 0) return;
    const found = Object.keys(this.duplicates).length > 0;
    const duplicates = found ? `,"duplicates":${JSON.stringify(this.duplicates)}` : '';
    // The same JSON as a StagedChunk, built from the records' own JSON.
    const staged = `{"records":[${this.records.join(',')}],"lines":${JSON.stringify(this.lines)}${duplicates}}`;
    const key = this.keyOf(this.keys.length);
    this.keys.push(key);
    this.firstPositions.push(this.nextFirstPosition);
    this.records = [];
    this.bytes = 0;
    this.lines = [];
    this.duplicates = {};
    await this.redis.set(key, staged, 'EX', STAGING_TTL_SECONDS);
  }

  /** Keeps the staged chunks for as long as their jobs may need them. */
  async commit(): Promise<void> {
    await this.flush();
    const pipeline = this.redis.pipeline();
    for (const key of this.keys) pipeline.expire(key, this.stagedTtlSeconds);
    await pipeline.exec();
  }

  /** Removes everything staged (a malformed, oversized or repeated push). */
  async discard(): Promise<void> {
    this.records = [];
    for (let i = 0; i < this.keys.length; i += 500) await this.redis.del(...this.keys.slice(i, i + 500));
  }
}
