/**
 * The contract between the producer of feed chunks (the push API on the gateway, the CLI
 * and bench through it) and their consumer (the ingestion worker): the queue, the job, the
 * staged chunk, the chunk's report and the feed's status. Both sides import it from here,
 * so neither imports the other. Types and constants only, plus the key and id names both
 * sides must agree on.
 */

/** The BullMQ queue feed chunks go to (README, "Pushing a feed"). */
export const INGEST_QUEUE = 'avrr-ingest';

/**
 * Kept once queued (INGEST_STAGED_DAYS, this by default): completed chunks are removed at
 * once; failed ones wait this long for a replay. They hold names and birth dates: no longer.
 */
export const STAGED_CHUNK_TTL_SECONDS = 7 * 86_400;

/** Rejection entries a report lists by default (README, "Limits on feeds"); the rest are counted. */
export const MAX_PROBLEMS_PER_REPORT = 1_000;

/** A managed CSV profile's name and the version a feed was read with (README, "Managing profiles"). */
export interface FeedProfileRef {
  name: string;
  version: number;
}

/** Where a record first appeared in its feed, for the rejection of a later record of the same case. */
export interface EarlierRecord {
  position: number;
  line: number | null;
}

/** Records whose case reference came earlier in the same feed: position → where it first came. */
export type FeedDuplicates = Record<number, EarlierRecord>;

/** One chunk of a feed as the worker processes it: never a whole large feed. */
export interface IngestChunk {
  feedId: string;
  /** The Member State that pushed the feed; it must own every record. */
  memberState: string;
  /** Position of records[0] in the feed (0-based), for reports. */
  firstPosition: number;
  records: unknown[];
  /** Line of each record in a CSV or NDJSON body (null for JSON arrays). */
  lines?: Array<number | null>;
  /** How many chunks and records the whole feed has (for its report). */
  totalChunks?: number;
  chunkIndex?: number;
  received?: number;
  /** When the push API queued the feed (ISO 8601): the feed's `createdAt` in its report. */
  queuedAt?: string;
  /** Records whose case reference came earlier in the same feed. */
  duplicates?: FeedDuplicates;
  /** The national CSV profile the push API read the feed with (none for canonical feeds). */
  profile?: FeedProfileRef | null;
}

/**
 * The BullMQ job: the chunk's records are staged in Redis under `payloadKey` by the push
 * API (so a job stays small and a feed is never held whole), or carried inline.
 */
export type IngestChunkJob = Omit<IngestChunk, 'records' | 'lines'> & {
  payloadKey?: string;
  records?: unknown[];
  lines?: Array<number | null>;
  /** The push's W3C trace context, so its trace continues in the worker (README, Tracing). */
  trace?: Record<string, string>;
};

/** A staged chunk's records, their lines and in-feed duplicates, as the push API wrote them. */
export interface StagedChunk {
  records: unknown[];
  lines: Array<number | null>;
  duplicates?: FeedDuplicates;
}

/** What became of a stored record. */
export type RecordOutcome = 'created' | 'updated' | 'unchanged' | 'stale';

/** Why one record of a feed was not stored, in words a ministry integrator can act on. */
export interface RejectedRecord {
  position: number;
  line?: number | null;
  caseReference: string | null;
  path: string;
  message: string;
}

export interface ChunkReport {
  feedId: string;
  received: number;
  counts: Record<RecordOutcome | 'rejected', number>;
  /** The chunk's first rejection entries in feed order, at most the report's cap. */
  rejected: RejectedRecord[];
  /** How many entries there were before the cap. */
  rejectedTotal?: number;
}

export type FeedStatus = 'QUEUED' | 'PROCESSING' | 'DONE' | 'DONE_WITH_ERRORS' | 'FAILED';

/** A feed's report, as `GET /ingest/v1/feeds/{id}` and `ingestionFeed(id)` answer it. */
export interface FeedReport {
  id: string;
  memberState: string;
  status: FeedStatus;
  counts: { received: number } & ChunkReport['counts'];
  chunks: { total: number; done: number; failed: number };
  errors: string[];
  rejected: RejectedRecord[];
  rejectedOmitted: number;
  /** The profile (name and version) the feed was read with; null for canonical feeds. */
  profile: FeedProfileRef | null;
  createdAt: Date;
}

/**
 * The push API's receipt of a queued feed: who pushed it, how many records and chunks, when.
 * It answers for the feed only until the store has the feed's first chunk; every status
 * comes from the store's report (README, "Pushing a feed").
 */
export interface FeedReceipt {
  feedId: string;
  memberState: string;
  received: number;
  totalChunks: number;
  createdAt: string;
  /** The profile the feed was read with (absent in receipts written before profiles were versioned). */
  profile?: FeedProfileRef | null;
}

/** The Redis key of a feed's receipt. */
export const feedReceiptKey = (prefix: string, feedId: string) => `${prefix}:feed:${feedId}`;

/** The Redis key of a feed's staged chunk. */
export const stagedChunkKey = (prefix: string, feedId: string, chunkIndex: number) =>
  `${prefix}:feed-chunk:${feedId}:${chunkIndex}`;

/** The BullMQ job id of a feed's chunk: one job per chunk, whoever queues it. */
export const chunkJobId = (feedId: string, chunkIndex: number) => `${feedId}-${chunkIndex}`;

/**
 * The Redis pub/sub channel the cases subgraph announces every change of a managed profile on;
 * each gateway instance reloads its profiles when it hears one (and on a timer besides).
 */
export const feedProfilesChannel = (prefix: string) => `${prefix}:feed-profiles:changed`;
