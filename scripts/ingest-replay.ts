/**
 * npm run ingest:replay [-- --feed feed_...]
 * Retries the ingestion chunks that exhausted their attempts, once the cause is fixed.
 */
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { loadConfigOrExit } from '../shared/config.js';
import { connectDatabase } from '../shared/mongo.js';
import { createRedis } from '../shared/redis.js';
import {
  feedModels,
  INGEST_QUEUE,
  replayFailedChunks,
  type ChunkReport,
  type IngestChunkJob,
} from '../subgraphs/cases/ingestion/index.js';

let feed: string | undefined;
try {
  feed = parseArgs({ options: { feed: { type: 'string' } } }).values.feed;
} catch (error) {
  process.stderr.write(`${(error as Error).message}\nusage: npm run ingest:replay -- [--feed feed_<uuid>]\n`);
  process.exit(2);
}
if (feed !== undefined && !/^feed_[0-9a-f-]{36}$/.test(feed)) {
  process.stderr.write(`--feed must be a feed id (feed_<uuid>), got ${JSON.stringify(feed).slice(0, 60)}\n`);
  process.exit(2);
}
const config = loadConfigOrExit();
const redis = createRedis(config, 'ingest-replay');
const queue = new Queue<IngestChunkJob, ChunkReport>(INGEST_QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
const connection = await connectDatabase(config, 'cases');
try {
  const replayed = await replayFailedChunks(queue, feedModels(connection), feed);
  process.stdout.write(`replayed ${replayed} failed chunk(s)${feed ? ` of ${feed}` : ''}\n`);
} finally {
  await queue.close();
  redis.disconnect();
  await connection.close();
}
