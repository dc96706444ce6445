import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/server.js';
import { mintToken } from '../../shared/auth.js';
import { caseEventStream, publishCaseEvents } from '../../shared/case-events/index.js';
import type { RunningService } from '../../shared/http.js';

import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { factsOf } from '../../subgraphs/cases/statistics/facts.js';
import { faultyProxy, socket, until, type FaultyProxy, type Payload } from '../helpers/faults.js';
import { silentLogger, startTestSystem, testConfig, type TestSystem, startTestWorker } from '../helpers/system.js';

/**
 * Issue #12, item 9: a subscriber gets the case or an error naming why, and a feed's report
 * never claims an earlier state than the truth, when a subgraph is slow, hangs or is down.
 * The failures are real: an HTTP hop in front of the subgraph that delays, hangs or resets.
 */
describe('failures are reported, never hidden: per-event fetches and feed reports', () => {
  let system: TestSystem;
  let gateway: RunningService;
  let casesProxy: FaultyProxy;
  let financeProxy: FaultyProxy;
  let worker: Worker;
  let admin: string;
  let docs: CaseDoc[];
  let wsUrl: string;
  const timeout = 1_000;

  beforeAll(async () => {
    system = await startTestSystem({
      cases: 12,
      seed: 9,
      config: testConfig({ SUBGRAPH_TIMEOUT_MS: String(timeout) }),
    });
    const urls = Object.fromEntries(
      Object.entries(system.subgraphs).map(([name, s]) => [name, `${s.url}/graphql`]),
    ) as Parameters<typeof startGateway>[0]['subgraphUrls'];
    casesProxy = await faultyProxy(urls.cases);
    financeProxy = await faultyProxy(urls.finance);
    gateway = await startGateway({
      config: system.config,
      logger: silentLogger,
      port: 0,
      subgraphUrls: { ...urls, cases: casesProxy.url, finance: financeProxy.url },
    });
    wsUrl = `${gateway.url.replace(/^http/, 'ws')}/graphql`;
    admin = await mintToken({ subject: 'replaying-tool', role: 'ADMIN' }, system.config);
    docs = await casesModels(system.connections.cases).Case.find({}).limit(6).lean<CaseDoc[]>().exec();
    worker = startTestWorker(system, 'test-failure-worker');
  });
  afterAll(async () => {
    await worker?.close();
    await gateway?.shutdown('test done');
    await casesProxy?.close();
    await financeProxy?.close();
    await system?.stop();
  });

  /** Appends one event per case (a burst, so the gateway fetches them in batches) and returns the id before them. */
  const burst = async () => {
    // The last event so far (or, on an empty stream, a point within the replay window).
    const [[before] = [`${Date.now() - 60_000}-0`]] = await system.redis.xrevrange(
      caseEventStream(system.config.QUEUE_PREFIX),
      '+',
      '-',
      'COUNT',
      1,
    );
    await publishCaseEvents(
      system.redis,
      system.config.QUEUE_PREFIX,
      docs.map((doc, i) => ({
        type: 'case.updated' as const,
        caseId: doc._id.toHexString(),
        version: i,
        at: new Date().toISOString(),
        before: factsOf(doc),
        after: factsOf(doc),
      })),
    );
    return before;
  };
  const replay = async (after: string, query: string) => {
    const s = socket(wsUrl, admin);
    const sub = s.subscribe(query, { after });
    await until(() => sub.payloads.length >= docs.length || sub.done(), 20_000);
    await s.dispose();
    expect(sub.errors).toEqual([]);
    return sub.payloads;
  };

  it('replayed events whose case fetch fails (cases hangs) carry an error, not null; then the case comes', async () => {
    const after = await burst();
    const query = 'subscription($after: ID) { caseEvents(after: $after) { id caseId case { caseReference } } }';
    casesProxy.mode = { kind: 'hang' };
    const failed = await replay(after, query);
    casesProxy.mode = { kind: 'pass' };
    expect(failed).toHaveLength(docs.length);
    for (const payload of failed) {
      expect(payload.data?.caseEvents).toMatchObject({
        id: expect.any(String),
        caseId: expect.any(String),
        case: null,
      });
      expect(payload.errors, JSON.stringify(payload)).toHaveLength(1);
      expect(payload.errors![0]).toMatchObject({
        path: ['caseEvents', 'case'],
        message: expect.stringContaining(`Subgraph "cases" is unavailable: no answer within ${timeout} ms`),
        extensions: { code: 'CASE_FETCH_FAILED', reason: 'SUBGRAPH_UNAVAILABLE', serviceName: 'cases' },
      });
    }
    // The same replay with the subgraph back: every case, no error.
    const served = await replay(after, query);
    expect(served.map((p) => p.errors)).toEqual(docs.map(() => undefined));
    expect(served.map((p) => (p.data?.caseEvents?.case as { caseReference: string }).caseReference)).toEqual(
      docs.map((d) => d.caseReference),
    );
  });

  it('a subgraph that resets the connection: the same, with the reason', async () => {
    const after = await burst();
    casesProxy.mode = { kind: 'refuse' };
    const failed = await replay(
      after,
      'subscription($after: ID) { caseEvents(after: $after) { id case { caseReference status } } }',
    );
    casesProxy.mode = { kind: 'pass' };
    expect(failed).toHaveLength(docs.length);
    for (const payload of failed) {
      expect(payload.data?.caseEvents?.case).toBeNull();
      expect(payload.errors?.[0]).toMatchObject({
        path: ['caseEvents', 'case'],
        extensions: { code: 'CASE_FETCH_FAILED', reason: 'SUBGRAPH_UNAVAILABLE', serviceName: 'cases' },
      });
    }
  });

  it('a nested subgraph down (finance): the case comes with its other fields and an error naming it', async () => {
    const after = await burst();
    financeProxy.mode = { kind: 'refuse' };
    const payloads: Payload[] = await replay(
      after,
      'subscription($after: ID) { caseEvents(after: $after) { id case { caseReference entitlement { totalCents } } } }',
    );
    financeProxy.mode = { kind: 'pass' };
    expect(payloads).toHaveLength(docs.length);
    payloads.forEach((payload, i) => {
      expect(payload.data?.caseEvents?.case).toEqual({ caseReference: docs[i]!.caseReference, entitlement: null });
      expect(payload.errors?.[0], JSON.stringify(payload)).toMatchObject({
        path: ['caseEvents', 'case'],
        message: expect.stringContaining('Subgraph "finance" is unavailable'),
        extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'finance' },
      });
    });
  });

  it('feed report of a finished feed while cases is slow: 503 naming it, never QUEUED; later the state', async () => {
    const token = await mintToken({ subject: 'be-system', role: 'MEMBER_STATE', memberState: 'BE' }, system.config);
    const record = {
      memberState: 'BE',
      caseReference: 'BE-REPORT-1',
      recordVersion: 1,
      returnType: 'VOLUNTARY',
      packages: ['POST_ARRIVAL'],
      countryOfOrigin: 'MA',
      departureDate: '2024-04-02',
      mainApplicant: { name: 'A B', dateOfBirth: '1990-02-02', sex: 'MALE' },
      eligibility: { requestDate: '2024-04-10', applicationSigned: true },
    };
    const pushed = await fetch(`${gateway.url}/ingest/v1/feeds`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify([record]),
    });
    expect(pushed.status).toBe(202);
    const { feedId } = (await pushed.json()) as { feedId: string };
    const report = async () => {
      const response = await fetch(`${gateway.url}/ingest/v1/feeds/${feedId}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return {
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        body: (await response.json()) as {
          status?: string | number;
          code?: string;
          error?: { code: string; message: string; serviceName?: string };
        },
      };
    };
    await until(() => false, 100);
    for (let i = 0; i < 200 && (await report()).body.status !== 'DONE'; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect((await report()).body.status).toBe('DONE');
    // Now the cases subgraph is slower than the gateway's deadline.
    casesProxy.mode = { kind: 'delay', ms: timeout + 500 };
    const slow = await report();
    casesProxy.mode = { kind: 'pass' };
    // A problem (RFC 9457): its `status` is the HTTP status, never a feed's.
    expect(slow.body.status).toBe(503);
    expect(slow.body.code).toBe('SUBGRAPH_UNAVAILABLE');
    expect(slow.status).toBe(503);
    expect(Number(slow.retryAfter)).toBeGreaterThan(0);
    expect(slow.body.error).toMatchObject({
      code: 'SUBGRAPH_UNAVAILABLE',
      serviceName: 'cases',
      message: expect.stringMatching(/report of feed .* could not be read/),
    });
    expect((await report()).body).toMatchObject({ status: 'DONE', counts: { received: 1, created: 1 } });
  });
});
