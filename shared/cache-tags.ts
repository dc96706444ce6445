import type { Redis } from 'ioredis';

/**
 * Generation counters of the gateway's shared cache (gateway/cache/): one Redis counter per
 * tag, read with every cache entry and stored in it. A writer bumps the tags of what it
 * changed AFTER the change is stored, so an answer read before the change carries the old
 * generation and is never served as current again.
 */
export type CacheTag =
  /** Reference data of one subgraph: bumped after each of its mutations passes the gateway. */
  | `ref:${string}`
  /** A read model kept by a projector: bumped after each batch it applies (its name). */
  | `proj:${string}`;

/**
 * Carried by every cache entry: bumped when a read model or reference data is written outside
 * the graph and its projectors (a seed, a checkpoint reset, a statistics rebuild).
 */
export const ALL_TAG: CacheTag = 'ref:all';

/** The Redis key of a tag's generation counter. */
export function cacheTagKey(prefix: string, tag: CacheTag): string {
  return `${prefix}:gwcache:gen:${tag}`;
}

/** The tag a projector bumps after every batch: `proj:<its name>`. */
export function projectorTag(name: string): CacheTag {
  return `proj:${name}`;
}

/**
 * Bumps `tags` (one round trip). A Redis failure is reported to `onError`, never thrown: the
 * write it follows has happened, and cache entries expire by themselves (TTL).
 */
export async function bumpCacheTags(
  redis: Pick<Redis, 'multi'>,
  prefix: string,
  tags: readonly CacheTag[],
  onError?: (error: unknown) => void,
): Promise<void> {
  if (tags.length === 0) return;
  try {
    const multi = redis.multi();
    for (const tag of tags) multi.incr(cacheTagKey(prefix, tag));
    await multi.exec();
  } catch (error) {
    onError?.(error);
  }
}
