import { Schema, type Connection, type Model } from 'mongoose';
import { retryOnContention, modelOn } from '../../../shared/mongo.js';
import {
  MAX_PROBLEMS_PER_REPORT,
  type ChunkReport,
  type FeedReport,
  type FeedProfileRef,
  type FeedStatus,
  type IngestChunkJob,
  type RejectedRecord,
} from './contract.js';

/** A pushed feed as the worker first saw it. */
export interface FeedDoc {
  _id: string;
  memberState: string;
  received: number;
  totalChunks: number;
  createdAt: Date;
  /** The profile the feed was read with (absent in feeds stored before profiles were versioned). */
  profile?: FeedProfileRef | null;
}

/** One chunk's outcome; `_id` `<feed>:<chunk>`, written once. */
export interface FeedChunkDoc {
  _id: string;
  feedId: string;
  chunkIndex: number;
  counts: ChunkReport['counts'];
  /** The chunk's first rejection entries (at most the report's cap). */
  rejected: RejectedRecord[];
  /** How many entries the chunk had before the cap (absent in chunks stored before the cap). */
  rejectedTotal?: number;
  failed: boolean;
  error: string | null;
  completedAt: Date;
}

const feedSchema = new Schema<FeedDoc>({ _id: String }, { collection: 'feeds', versionKey: false, strict: false });
feedSchema.index({ memberState: 1, createdAt: -1 }, { name: 'memberState_createdAt' });
const feedChunkSchema = new Schema<FeedChunkDoc>(
  { _id: String },
  { collection: 'feedChunks', versionKey: false, strict: false },
);
feedChunkSchema.index({ feedId: 1 }, { name: 'feedId' });

export interface FeedModels {
  Feed: Model<FeedDoc>;
  FeedChunk: Model<FeedChunkDoc>;
}

export function feedModels(connection: Connection): FeedModels {
  return {
    Feed: modelOn<FeedDoc>(connection, 'Feed', feedSchema),
    FeedChunk: modelOn<FeedChunkDoc>(connection, 'FeedChunk', feedChunkSchema),
  };
}

const ignoreDuplicate = (error: unknown) => {
  if ((error as { code?: number }).code !== 11000) throw error;
};

/** Records a chunk's report (and its feed on first sight); repeating it changes nothing. */
export async function recordChunk(
  models: FeedModels,
  job: IngestChunkJob,
  report: ChunkReport | { failed: string },
): Promise<void> {
  // The feed as the push API queued it, its own time included (jobs queued before they
  // carried it are dated when first recorded).
  const feed = {
    _id: job.feedId as never,
    memberState: job.memberState,
    received: job.received ?? job.records?.length ?? 0,
    totalChunks: job.totalChunks ?? 1,
    createdAt: job.queuedAt ? new Date(job.queuedAt) : new Date(),
    profile: job.profile ?? null,
  };
  await retryOnContention(() => models.Feed.collection.insertOne(feed).catch(ignoreDuplicate));
  const failed = 'failed' in report;
  await retryOnContention(() =>
    models.FeedChunk.collection
      .insertOne({
        _id: `${job.feedId}:${job.chunkIndex ?? 0}` as never,
        feedId: job.feedId,
        chunkIndex: job.chunkIndex ?? 0,
        counts: failed ? { created: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0 } : report.counts,
        rejected: failed ? [] : report.rejected,
        rejectedTotal: failed ? 0 : (report.rejectedTotal ?? report.rejected.length),
        failed,
        error: failed ? report.failed : null,
        completedAt: new Date(),
      })
      .catch(ignoreDuplicate),
  );
}

/** A chunk as the report reads it first: everything but its rejection entries. */
export type ChunkSummary = Omit<FeedChunkDoc, 'rejected'> & { rejected?: RejectedRecord[] };

/**
 * The chunks whose entries a report lists: in feed order, until `cap` entries are reached.
 * Chunks stored before the cap (no `rejectedTotal`) are read to know.
 */
export function reportEntries(chunks: ReadonlyArray<ChunkSummary>, cap: number): string[] {
  const needed: string[] = [];
  let listed = 0;
  for (const chunk of [...chunks].sort((a, b) => a.chunkIndex - b.chunkIndex)) {
    if (listed >= cap) break;
    const total = chunk.rejectedTotal;
    if (total === 0) continue;
    needed.push(chunk._id);
    listed += total ?? 0;
  }
  return needed;
}

/**
 * A feed's report from its chunks: status, summed counts, its first `cap` rejection
 * entries in feed order and how many more there are (`rejectedOmitted`).
 */
export function feedReport(
  feed: Pick<FeedDoc, '_id' | 'memberState' | 'received' | 'totalChunks' | 'createdAt' | 'profile'>,
  chunks: ChunkSummary[],
  cap = MAX_PROBLEMS_PER_REPORT,
): FeedReport {
  const counts = { received: feed.received, created: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0 };
  for (const chunk of chunks)
    for (const key of ['created', 'updated', 'unchanged', 'stale', 'rejected'] as const)
      counts[key] += chunk.counts[key];
  const failed = chunks.filter((c) => c.failed);
  const status: FeedStatus =
    chunks.length === 0
      ? 'QUEUED'
      : chunks.length < feed.totalChunks
        ? 'PROCESSING'
        : failed.length > 0
          ? 'FAILED'
          : counts.rejected > 0
            ? 'DONE_WITH_ERRORS'
            : 'DONE';
  const entries = chunks.flatMap((c) => c.rejected ?? []).sort((a, b) => a.position - b.position);
  const total = chunks.reduce((sum, c) => sum + (c.rejectedTotal ?? c.rejected?.length ?? 0), 0);
  const rejected = entries.slice(0, cap);
  return {
    id: feed._id,
    memberState: feed.memberState,
    status,
    counts,
    chunks: { total: feed.totalChunks, done: chunks.length, failed: failed.length },
    errors: failed.map((c) => `chunk ${c.chunkIndex}: ${c.error}`),
    rejected,
    rejectedOmitted: Math.max(0, total - rejected.length),
    profile: feed.profile ?? null,
    createdAt: feed.createdAt,
  };
}

/**
 * Reports of feeds as the graph answers them: the chunks are read without their entries,
 * then only the entries the reports list (at most `cap` per feed, whatever the feed's size).
 */
export async function loadFeedReports(
  models: FeedModels,
  feeds: FeedDoc[],
  cap = MAX_PROBLEMS_PER_REPORT,
): Promise<FeedReport[]> {
  if (feeds.length === 0) return [];
  const summaries = await models.FeedChunk.find({ feedId: { $in: feeds.map((f) => f._id) } }, { rejected: 0 })
    .lean<ChunkSummary[]>()
    .exec();
  const byFeed = new Map<string, ChunkSummary[]>(feeds.map((f) => [f._id, []]));
  for (const chunk of summaries) byFeed.get(chunk.feedId)?.push(chunk);
  const needed = [...byFeed.values()].flatMap((chunks) => reportEntries(chunks, cap));
  const entries = new Map<string, RejectedRecord[]>();
  for (let i = 0; i < needed.length; i += 200) {
    const docs = await models.FeedChunk.find({ _id: { $in: needed.slice(i, i + 200) } }, { rejected: 1 })
      .lean<Array<Pick<FeedChunkDoc, '_id' | 'rejected'>>>()
      .exec();
    for (const doc of docs) entries.set(doc._id, doc.rejected ?? []);
  }
  return feeds.map((feed) =>
    feedReport(
      feed,
      byFeed.get(feed._id)!.map((c) => ({ ...c, rejected: entries.get(c._id) ?? [] })),
      cap,
    ),
  );
}
