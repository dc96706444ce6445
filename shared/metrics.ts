import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queue } from 'bullmq';
import type { Connection } from 'mongoose';
import type { Logger } from './logger.js';

/**
 * Metrics of code every process shares (the store's commands, the case event consumers),
 * served beside each process's own registry by startMetricsServer. One per process: each
 * process is its own Prometheus target, which labels them with its job and instance.
 */
export const sharedRegistry = new Registry();

/** A label value from outside (a command or operation name) kept to a bounded, printable set. */
export function boundedLabel(value: string | null | undefined, seen: Set<string>, max = 200): string {
  if (!value || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(value)) return 'other';
  if (seen.has(value)) return value;
  if (seen.size >= max) return 'other';
  seen.add(value);
  return value;
}

const storeCommandSeconds = new Histogram({
  name: 'avrr_store_command_seconds',
  help: 'Store (FerretDB/MongoDB) command latency by database and command',
  labelNames: ['database', 'command', 'result'],
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [sharedRegistry],
});
const storeCommandNames = new Set<string>();
const observedClients = new WeakSet<object>();

/**
 * Times every command on a connection from the driver's command monitoring (connectDatabase
 * turns it on, shared/mongo.ts). Idempotent per client: the test system shares connections.
 */
export function observeStore(connection: Connection): void {
  const client = connection.getClient();
  if (observedClients.has(client)) return;
  observedClients.add(client);
  const observe = (event: { databaseName?: string; commandName: string; duration: number }, result: 'ok' | 'error') => {
    const database = /^[A-Za-z0-9_-]{1,64}$/.test(event.databaseName ?? '') ? event.databaseName! : 'other';
    storeCommandSeconds.observe(
      { database, command: boundedLabel(event.commandName, storeCommandNames, 60), result },
      event.duration / 1_000,
    );
  };
  client.on('commandSucceeded', (event) => observe(event, 'ok'));
  client.on('commandFailed', (event) => observe(event, 'error'));
}

const caseEventLag = new Gauge({
  name: 'avrr_case_events_lag_seconds',
  help: 'Age of the case events a consumer last handled (0 when it has read everything)',
  labelNames: ['consumer'],
  registers: [sharedRegistry],
});
const caseEventLastRead = new Gauge({
  name: 'avrr_case_events_last_read_timestamp_seconds',
  help: 'When a consumer last finished a read of the case event stream (Unix seconds)',
  labelNames: ['consumer'],
  registers: [sharedRegistry],
});
const caseEventsHandled = new Counter({
  name: 'avrr_case_events_handled_total',
  help: 'Case event stream entries a consumer has handled',
  labelNames: ['consumer'],
  registers: [sharedRegistry],
});

/**
 * Records one finished read of a case event consumer: how many entries and the id of the
 * first (a stream id starts with its Unix milliseconds), so its lag is how old that entry was.
 */
export function recordCaseEventRead(consumer: string, read: number, firstId: string | undefined, now = Date.now()) {
  const written = Number(firstId?.split('-')[0]);
  caseEventLag.set({ consumer }, read > 0 && Number.isFinite(written) ? Math.max(0, now - written) / 1_000 : 0);
  caseEventLastRead.set({ consumer }, now / 1_000);
  if (read > 0) caseEventsHandled.inc({ consumer }, read);
}

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
    Promise.all([registry.metrics(), sharedRegistry.metrics()]).then(
      ([own, shared]) => {
        const body = `${own}\n${shared}`;
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

/** What the gateway counts of GraphQL: each operation's latency and errors, each subgraph call's. */
export function gatewayMetrics(registry: Registry) {
  return {
    operationSeconds: new Histogram({
      name: 'avrr_graphql_operation_seconds',
      help: 'GraphQL operation latency at the gateway by operation name and type',
      labelNames: ['operation', 'type', 'result'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    operationErrors: new Counter({
      name: 'avrr_graphql_errors_total',
      help: 'GraphQL errors in gateway responses by operation name and error code',
      labelNames: ['operation', 'code'],
      registers: [registry],
    }),
    subgraphSeconds: new Histogram({
      name: 'avrr_subgraph_request_seconds',
      help: 'Gateway to subgraph call latency by subgraph and result',
      labelNames: ['subgraph', 'result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    subgraphUp: new Gauge({
      name: 'avrr_subgraph_up',
      help: "1 when the subgraph's /health/ready answered ready at the gateway's last readiness check",
      labelNames: ['subgraph'],
      registers: [registry],
    }),
  };
}
export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;

/** The part of a BullMQ queue the queue gauges read. */
export type CountedQueue = Pick<Queue, 'name' | 'getJobCounts' | 'getWaiting' | 'getPrioritized'>;

/**
 * The oldest waiting job's enqueue time: the last of the plain waiting list (newest first),
 * or among the first 100 prioritized ones (ordered by priority, so a bounded look).
 */
async function oldestWaiting(queue: CountedQueue): Promise<number | undefined> {
  const [waiting, prioritized] = await Promise.all([queue.getWaiting(-1, -1), queue.getPrioritized(0, 99)]);
  const times = [...waiting, ...prioritized].flatMap((job) => (job ? [job.timestamp] : []));
  return times.length > 0 ? Math.min(...times) : undefined;
}

/**
 * Each queue's jobs by state and the age of its oldest waiting job (its lag), read when scraped.
 */
export function queueMetrics(registry: Registry, queues: ReadonlyArray<CountedQueue>): void {
  new Gauge({
    name: 'avrr_queue_jobs',
    help: 'Jobs in a BullMQ queue by state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      for (const queue of queues) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
        for (const [state, count] of Object.entries(counts)) this.set({ queue: queue.name, state }, count);
      }
    },
  });
  new Gauge({
    name: 'avrr_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting in a BullMQ queue (0 when none waits)',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      for (const queue of queues) {
        const oldest = await oldestWaiting(queue);
        this.set({ queue: queue.name }, oldest === undefined ? 0 : Math.max(0, Date.now() - oldest) / 1_000);
      }
    },
  });
}
