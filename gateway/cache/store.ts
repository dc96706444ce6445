import type { Redis } from 'ioredis';
import { cacheTagKey, type CacheTag } from '../../shared/cache-tags.js';

export interface CacheStoreOptions {
  prefix: string;
  ttlSeconds: number;
  /** Entries larger than this (the serialized answer, in bytes) are not stored. */
  maxEntryBytes: number;
  /** At most this many entries written per TTL window (so at most twice this many live). */
  maxKeys: number;
  /** Every Redis round trip gets this long; past it the cache counts as absent. */
  timeoutMs: number;
}

/** A lookup's outcome: a current answer, or the generations to store a fresh one under. */
export type Lookup = { hit: true; body: string } | { hit: false; generations: string | null };

/**
 * Stores an entry unless this window's entry budget is spent. KEYS: entry, window counter.
 * ARGV: value, ttl ms, max entries per window.
 */
const STORE_SCRIPT = `
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
if n > tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

type StoringRedis = Redis & {
  gwcacheStore: (entry: string, counter: string, value: string, ttlMs: number, max: number) => Promise<number>;
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the cache did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The shared cache in Redis. An entry is `<generations>\n<answer>`, where generations are the
 * tag counters read BEFORE the answer was fetched; a lookup reads the entry and the current
 * counters in one MGET and serves the entry only when they are equal. A writer bumps a counter
 * after its change is stored, so an answer fetched before the change (whenever it is stored)
 * carries an older generation and is never served again.
 */
export class CacheStore {
  private readonly redis: StoringRedis;

  constructor(
    redis: Redis,
    private readonly options: CacheStoreOptions,
  ) {
    this.redis = redis as StoringRedis;
    if (typeof (this.redis as Partial<StoringRedis>).gwcacheStore !== 'function') {
      this.redis.defineCommand('gwcacheStore', { numberOfKeys: 2, lua: STORE_SCRIPT });
    }
  }

  private get ready(): boolean {
    return this.redis.status === 'ready';
  }

  private entryKey(key: string): string {
    return `${this.options.prefix}:gwcache:e:${key}`;
  }

  /** One round trip: the entry and its tags' current generations. Throws when Redis is away or slow. */
  async lookup(key: string, tags: readonly CacheTag[]): Promise<Lookup> {
    if (!this.ready) throw new Error('the cache connection is not ready');
    const keys = [this.entryKey(key), ...tags.map((tag) => cacheTagKey(this.options.prefix, tag))];
    const values = await withTimeout(this.redis.mget(...keys), this.options.timeoutMs);
    const generations = values
      .slice(1)
      .map((value) => value ?? '0')
      .join(',');
    const entry = values[0];
    if (entry) {
      const newline = entry.indexOf('\n');
      if (newline >= 0 && entry.slice(0, newline) === generations) return { hit: true, body: entry.slice(newline + 1) };
    }
    return { hit: false, generations };
  }

  /** Stores `body` under the generations read before it was fetched; false when not stored (too big, budget spent). */
  async store(key: string, generations: string, body: string): Promise<boolean> {
    if (!this.ready) return false;
    if (Buffer.byteLength(body) > this.options.maxEntryBytes) return false;
    const ttlMs = this.options.ttlSeconds * 1000;
    const window = Math.floor(Date.now() / ttlMs);
    const counter = `${this.options.prefix}:gwcache:count:${window}`;
    const stored = await withTimeout(
      this.redis.gwcacheStore(this.entryKey(key), counter, `${generations}\n${body}`, ttlMs, this.options.maxKeys),
      this.options.timeoutMs,
    );
    return stored === 1;
  }
}
