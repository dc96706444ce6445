/**
 * The ingestion package's public face: all that the gateway, scripts and benches may
 * import from it (eslint.config.js enforces this). The contract is shared by the producer
 * (the push API) and the consumer (the worker); the rest is what each of them runs.
 */
export * from './contract.js';
// The push API: reading, checking and staging a feed; the receipt of a queued one.
export { FeedSyntaxError, FeedTooLargeError, feedRecords, formatOf, limitBytes, type FeedFormat } from './formats.js';
export {
  loadProfiles,
  mapProfileRow,
  parseProfile,
  parseWithProfile,
  profileDialect,
  ProfileError,
  profileSchema,
  type FeedProfile,
} from './profiles/index.js';
export { canonicalRecordSchema, MAX_FAMILY_MEMBERS, type CanonicalRecord } from './record.js';
export { FeedStager } from './staging.js';
export { FEED_RECEIPT_TTL_SECONDS, queuedReport, readFeedReceipt, writeFeedReceipt } from './receipts.js';
// The store of feeds and their reports, and retrying failed chunks.
export { feedModels, loadFeedReports, type FeedChunkDoc, type FeedDoc, type FeedModels } from './feeds.js';
export { replayFailedChunks } from './replay.js';
// The consumer: the worker that stores chunks, and what it needs from coverage.
export { createIngestWorker } from './consumer.js';
export { startIngestConsumer, type IngestConsumer } from './consumer-loop.js';
export { coverageClient, type AssignPartners } from './assignment.js';
export { processIngestChunk, type PublishEvents } from './processor.js';
// The preview (gateway/preview.ts): a feed's first records through the worker's own checks, nothing stored.
export { assessChunk } from './decisions.js';
