import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestHandler } from './http.js';

/** One Prometheus registry per process, with Node's default metrics, served at /metrics. */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const handler: RequestHandler = async (req, res, url) => {
    if (url.pathname !== '/metrics' || req.method !== 'GET') return false;
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(body);
    return true;
  };
  return { registry, handler };
}

/** What the ingestion worker counts: records by outcome, chunks, and how long a chunk takes. */
export function ingestWorkerMetrics(registry: Registry) {
  return {
    records: new Counter({ name: 'avrr_ingest_records_total', help: 'Ingested records by outcome', labelNames: ['member_state', 'outcome'], registers: [registry] }),
    chunks: new Counter({ name: 'avrr_ingest_chunks_total', help: 'Feed chunks by result', labelNames: ['result'], registers: [registry] }),
    chunkSeconds: new Histogram({ name: 'avrr_ingest_chunk_seconds', help: 'Time to process one chunk', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] }),
  };
}

/** What the gateway counts of ingestion: feeds pushed, and the queue's depth when scraped. */
export function ingestQueueMetrics(registry: Registry, counts: () => Promise<Record<string, number>>) {
  const feeds = new Counter({ name: 'avrr_ingest_feeds_total', help: 'Feeds accepted by the push API', labelNames: ['member_state', 'format'], registers: [registry] });
  new Gauge({
    name: 'avrr_ingest_queue_jobs',
    help: 'Chunk jobs in the ingestion queue by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      for (const [state, count] of Object.entries(await counts())) this.set({ state }, count);
    },
  });
  return { feeds };
}
