/**
 * The ingestion worker process: stores feed chunks from BullMQ in the cases database, and
 * runs retention and the webhook dispatcher and deliveries (composed in worker-process.ts).
 */
import { runProcess } from '../../shared/process.js';
import { startWorkerProcess } from './worker-process.js';

await runProcess(
  'ingest-worker',
  'ingest worker failed to start',
  async (config, loggerFor) => (await startWorkerProcess({ config, loggerFor })).service,
);
