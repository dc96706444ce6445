import type { Queue } from 'bullmq';
import type { FeedModels } from './feeds.js';
import type { ChunkReport, IngestChunkJob } from './contract.js';

/**
 * Retries the chunk jobs that exhausted their attempts (all, or one feed's), once the
 * cause is fixed. Their "failed" marks leave the feed's report so the retry can report anew.
 * Replaying is safe: the upsert is idempotent.
 */
export async function replayFailedChunks(
  queue: Queue<IngestChunkJob, ChunkReport>,
  feeds: FeedModels,
  feedId?: string,
): Promise<number> {
  let replayed = 0;
  for (let start = 0; ; start += 500) {
    const failed = await queue.getFailed(start, start + 499);
    if (failed.length === 0) break;
    for (const job of failed) {
      if (feedId && job.data.feedId !== feedId) continue;
      const id = `${job.data.feedId}:${job.data.chunkIndex ?? 0}`;
      const mark = await feeds.FeedChunk.findOne({ _id: id }).lean().exec();
      if (mark?.failed) await feeds.FeedChunk.deleteOne({ _id: id }).exec();
      await job.retry('failed');
      replayed++;
    }
    if (failed.length < 500) break;
  }
  return replayed;
}
