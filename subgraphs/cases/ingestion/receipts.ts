import type { Redis } from 'ioredis';
import { feedReceiptKey, type FeedReceipt, type FeedReport } from './contract.js';
import { feedReport } from './feeds.js';

/**
 * A feed's receipt: what the push API queued, kept in Redis until long after the store has
 * the feed. The store is where a feed's status lives (feeds.ts); the receipt only says who
 * pushed it, how many records, and when, for the time before the store has its first chunk,
 * for a retried push with the same Idempotency-Key, and for an erasure of its staged records.
 */

/** How long a receipt is kept: far longer than any chunk waits in the queue. */
export const FEED_RECEIPT_TTL_SECONDS = 30 * 86_400;

export async function writeFeedReceipt(redis: Redis, prefix: string, receipt: FeedReceipt): Promise<void> {
  await redis.set(feedReceiptKey(prefix, receipt.feedId), JSON.stringify(receipt), 'EX', FEED_RECEIPT_TTL_SECONDS);
}

export async function readFeedReceipt(redis: Redis, prefix: string, feedId: string): Promise<FeedReceipt | null> {
  return JSON.parse((await redis.get(feedReceiptKey(prefix, feedId))) ?? 'null') as FeedReceipt | null;
}

/**
 * The report of a feed the store does not have yet, made by the store's own rule from no
 * chunks (so `QUEUED`, with nothing counted but what was received).
 */
export function queuedReport(receipt: FeedReceipt): FeedReport {
  const feed = {
    _id: receipt.feedId,
    memberState: receipt.memberState,
    received: receipt.received,
    totalChunks: receipt.totalChunks,
    createdAt: new Date(receipt.createdAt),
    profile: receipt.profile ?? null,
  };
  return feedReport(feed, []);
}
