import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from './logger.js';

/** One Prometheus registry per process, with Node's default metrics. */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return { registry };
}

export interface MetricsServer {
  url: string;
  port: number;
  close: () => Promise<void>;
}

/**
 * Serves `GET /metrics` on its own port and interface (METRICS_HOST, GATEWAY_METRICS_PORT,
 * WORKER_METRICS_PORT), never on a process's public port: the counters name Member States
 * and feed outcomes. Nothing else is served there.
 */
export async function startMetricsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  logger: Pick<Logger, 'info' | 'error'>;
}): Promise<MetricsServer> {
  const { registry, logger } = options;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(body);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/metrics`;
  logger.info({ url }, 'metrics listening');
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What the ingestion worker counts: records by outcome, chunks, and how long a chunk takes. */
export function ingestWorkerMetrics(registry: Registry) {
  return {
    records: new Counter({
      name: 'avrr_ingest_records_total',
      help: 'Ingested records by outcome',
      labelNames: ['member_state', 'outcome'],
      registers: [registry],
    }),
    chunks: new Counter({
      name: 'avrr_ingest_chunks_total',
      help: 'Feed chunks by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    chunkSeconds: new Histogram({
      name: 'avrr_ingest_chunk_seconds',
      help: 'Time to process one chunk',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}

/** What the gateway counts of ingestion: feeds pushed, and the queue's depth when scraped. */
export function ingestQueueMetrics(registry: Registry, counts: () => Promise<Record<string, number>>) {
  const feeds = new Counter({
    name: 'avrr_ingest_feeds_total',
    help: 'Feeds accepted by the push API',
    labelNames: ['member_state', 'format'],
    registers: [registry],
  });
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
