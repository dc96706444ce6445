import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { spawnEntry, waitForReady } from '../../scripts/processes.js';
import { canonicalRecord } from '../helpers/records.js';
import { seedReferenceDatabases, testConfig } from '../helpers/system.js';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Array<{ key: string; value: { stringValue?: string } }>;
  service: string;
}

/** A tiny OTLP/HTTP (JSON) collector: keeps every span it is sent, with its service name. */
async function startCollector(): Promise<{ url: string; spans: ExportedSpan[]; close: () => Promise<void> }> {
  const spans: ExportedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: Array<{
            resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
            scopeSpans: Array<{ spans: Array<Omit<ExportedSpan, 'service'>> }>;
          }>;
        };
        for (const resourceSpan of body.resourceSpans) {
          const service =
            resourceSpan.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const scope of resourceSpan.scopeSpans) for (const span of scope.spans) spans.push({ ...span, service });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let describeSpans = () => '';
const until = async (what: string, ok: () => boolean, ms = 30_000) => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${describeSpans()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

/** The real entry points with tracing on, exporting to a collector in this test (README, Tracing). */
describe('tracing across processes', () => {
  const config = testConfig({
    GATEWAY_PORT: '4960',
    CASES_PORT: '4961',
    CASES_URL: 'http://127.0.0.1:4961/graphql',
    COVERAGE_PORT: '4963',
    COVERAGE_URL: 'http://127.0.0.1:4963/graphql',
    WORKER_PORT: '4970',
  });
  let collector: Awaited<ReturnType<typeof startCollector>>;
  const children: ChildProcess[] = [];
  const output = new Map<ChildProcess, string>();

  beforeAll(async () => {
    collector = await startCollector();
    describeSpans = () =>
      `; spans: ${collector.spans.map((s) => `${s.service} ${s.name} ${s.traceId.slice(0, 6)}`).join(', ')}`;
    await seedReferenceDatabases(config);
    const env = {
      ...process.env,
      ...Object.fromEntries(
        Object.entries(config)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, String(v)]),
      ),
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    const start = (entry: string) => {
      const child = spawnEntry(entry, env, 'pipe');
      output.set(child, '');
      const keep = (chunk: Buffer) => output.set(child, (output.get(child) + chunk.toString()).slice(-20_000));
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      children.push(child);
      return child;
    };
    const ready = (child: ChildProcess, port: number, path = '/health/ready') =>
      waitForReady(`http://127.0.0.1:${port}${path}`, 90_000, () => child.exitCode === null).catch((error) => {
        throw new Error(`${(error as Error).message}\n${output.get(child)}`);
      });
    const cases = start('subgraphs/cases/main.ts');
    const coverage = start('subgraphs/coverage/main.ts');
    await Promise.all([ready(cases, config.CASES_PORT), ready(coverage, config.COVERAGE_PORT)]);
    const worker = start('subgraphs/cases/worker.ts');
    // Partners and finance are not started: the gateway is live (not ready) and routes to cases.
    const gateway = start('gateway/main.ts');
    await Promise.all([ready(worker, config.WORKER_PORT), ready(gateway, config.GATEWAY_PORT, '/health/live')]);
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await collector?.close();
  });

  const isStoreSpan = (span: ExportedSpan) => span.attributes.some((a) => a.key.startsWith('db.system'));
  const attribute = (span: ExportedSpan, key: string) => span.attributes.find((a) => a.key === key)?.value.stringValue;

  it('one trace spans the gateway, the subgraph and the store, with the request id', async () => {
    const admin = await mintToken({ subject: 'ops', role: 'ADMIN' }, config);
    const response = await fetch(`http://127.0.0.1:${config.GATEWAY_PORT}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, 'x-request-id': 'trace-me-1' },
      body: JSON.stringify({ query: '{ cases(first: 1) { totalCount } }' }),
    });
    expect(response.status).toBe(200);
    const tagged = () => collector.spans.find((s) => attribute(s, 'avrr.request_id') === 'trace-me-1');
    await until('the gateway span with the request id', () => tagged() !== undefined);
    const traceId = tagged()!.traceId;
    const inTrace = () => collector.spans.filter((s) => s.traceId === traceId);
    // Each process exports on its own schedule: the first tagged span found may be the subgraph's.
    await until('gateway, subgraph and store spans in the same trace', () => {
      const services = new Set(inTrace().map((s) => s.service));
      return services.has('avrr-gateway') && services.has('avrr-cases-subgraph') && inTrace().some(isStoreSpan);
    });
    const services = new Set(inTrace().map((s) => s.service));
    expect(services).toContain('avrr-gateway');
    expect(services).toContain('avrr-cases-subgraph');
    // The subgraph tags its own server span with the id the gateway forwarded.
    expect(
      inTrace().some((s) => s.service === 'avrr-cases-subgraph' && attribute(s, 'avrr.request_id') === 'trace-me-1'),
    ).toBe(true);
  });

  it("a push's trace continues in the worker, its store writes and the case event consumers", async () => {
    const be = await mintToken({ subject: 'be-system', role: 'MEMBER_STATE', memberState: 'BE' }, config);
    const response = await fetch(`http://127.0.0.1:${config.GATEWAY_PORT}/ingest/v1/feeds`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${be}`, 'x-request-id': 'push-me-1' },
      body: JSON.stringify([canonicalRecord('BE', 'TRACE-1'), canonicalRecord('BE', 'TRACE-2')]),
    });
    expect(response.status).toBe(202);
    const pushSpan = () =>
      collector.spans.find(
        (s) =>
          s.service === 'avrr-gateway' &&
          attribute(s, 'http.route') === undefined &&
          s.name.startsWith('POST') &&
          collector.spans.some((c) => c.traceId === s.traceId && c.name === 'ingest chunk'),
      );
    await until('the worker span in the push trace', () => pushSpan() !== undefined, 45_000);
    const traceId = pushSpan()!.traceId;
    await until(
      'the worker store spans and a case event consumer span',
      () => {
        const spans = collector.spans.filter((s) => s.traceId === traceId);
        return (
          spans.some((s) => s.service === 'avrr-ingest-worker' && isStoreSpan(s)) &&
          spans.some((s) => s.name.startsWith('case events '))
        );
      },
      45_000,
    );
    const chunk = collector.spans.find((s) => s.traceId === traceId && s.name === 'ingest chunk')!;
    expect(chunk.service).toBe('avrr-ingest-worker');
    expect(chunk.parentSpanId).toBeTruthy();
  });
});
