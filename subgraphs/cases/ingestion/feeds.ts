import { Schema, type Connection, type Model } from 'mongoose';
import { retryOnContention } from '../../../shared/mongo.js';
import type { ChunkReport, IngestChunkJob, RejectedRecord } from './processor.js';

/** A pushed feed as the worker first saw it. */
export interface FeedDoc {
  _id: string;
  memberState: string;
  received: number;
  totalChunks: number;
  createdAt: Date;
}

/** One chunk's outcome; `_id` `<feed>:<chunk>`, written once. */
export interface FeedChunkDoc {
  _id: string;
  feedId: string;
  chunkIndex: number;
  counts: ChunkReport['counts'];
  rejected: RejectedRecord[];
  failed: boolean;
  error: string | null;
  completedAt: Date;
}

const feedSchema = new Schema<FeedDoc>({ _id: String }, { collection: 'feeds', versionKey: false, strict: false });
feedSchema.index({ memberState: 1, createdAt: -1 }, { name: 'memberState_createdAt' });
const feedChunkSchema = new Schema<FeedChunkDoc>({ _id: String }, { collection: 'feedChunks', versionKey: false, strict: false });
feedChunkSchema.index({ feedId: 1 }, { name: 'feedId' });

export interface FeedModels {
  Feed: Model<FeedDoc>;
  FeedChunk: Model<FeedChunkDoc>;
}

export function feedModels(connection: Connection): FeedModels {
  return {
    Feed: (connection.models.Feed as Model<FeedDoc> | undefined) ?? connection.model<FeedDoc>('Feed', feedSchema),
    FeedChunk: (connection.models.FeedChunk as Model<FeedChunkDoc> | undefined) ?? connection.model<FeedChunkDoc>('FeedChunk', feedChunkSchema),
  };
}

const ignoreDuplicate = (error: unknown) => {
  if ((error as { code?: number }).code !== 11000) throw error;
};

/** Records a chunk's report (and its feed on first sight); repeating it changes nothing. */
export async function recordChunk(models: FeedModels, job: IngestChunkJob, report: ChunkReport | { failed: string }): Promise<void> {
  await retryOnContention(() => models.Feed.collection
    .insertOne({ _id: job.feedId as never, memberState: job.memberState, received: job.received ?? job.records?.length ?? 0, totalChunks: job.totalChunks ?? 1, createdAt: new Date() })
    .catch(ignoreDuplicate));
  const failed = 'failed' in report;
  await retryOnContention(() => models.FeedChunk.collection
    .insertOne({
      _id: `${job.feedId}:${job.chunkIndex ?? 0}` as never,
      feedId: job.feedId,
      chunkIndex: job.chunkIndex ?? 0,
      counts: failed ? { created: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0 } : report.counts,
      rejected: failed ? [] : report.rejected,
      failed,
      error: failed ? report.failed : null,
      completedAt: new Date(),
    })
    .catch(ignoreDuplicate));
}

export type FeedStatus = 'QUEUED' | 'PROCESSING' | 'DONE' | 'DONE_WITH_ERRORS' | 'FAILED';

/** A feed's report from its chunks: status, summed counts, every rejection in feed order. */
export function feedReport(feed: Pick<FeedDoc, '_id' | 'memberState' | 'received' | 'totalChunks' | 'createdAt'>, chunks: FeedChunkDoc[]) {
  const counts = { received: feed.received, created: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0 };
  for (const chunk of chunks) for (const key of ['created', 'updated', 'unchanged', 'stale', 'rejected'] as const) counts[key] += chunk.counts[key];
  const failed = chunks.filter((c) => c.failed);
  const status: FeedStatus =
    chunks.length === 0 ? 'QUEUED' : chunks.length < feed.totalChunks ? 'PROCESSING' : failed.length > 0 ? 'FAILED' : counts.rejected > 0 ? 'DONE_WITH_ERRORS' : 'DONE';
  return {
    id: feed._id,
    memberState: feed.memberState,
    status,
    counts,
    chunks: { total: feed.totalChunks, done: chunks.length, failed: failed.length },
    errors: failed.map((c) => `chunk ${c.chunkIndex}: ${c.error}`),
    rejected: chunks.flatMap((c) => c.rejected).sort((a, b) => a.position - b.position),
    createdAt: feed.createdAt,
  };
}
