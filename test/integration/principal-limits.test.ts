import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startGateway } from '../../gateway/server.js';
import { mintToken } from '../../shared/auth.js';
import { publishCaseEvents } from '../../shared/case-events/index.js';
import type { RunningService } from '../../shared/http.js';

import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { factsOf } from '../../subgraphs/cases/statistics/facts.js';
import { faultyProxy, socket, until, type FaultyProxy } from '../helpers/faults.js';
import { canonicalRecord } from '../helpers/records.js';
import { silentLogger, startTestSystem, testConfig, type TestSystem, startTestWorker } from '../helpers/system.js';

/**
 * Issue #12, item 3: what one principal (a partner's tool, a Member State's system) can make
 * the gateway do is bounded: sockets, subscriptions, the per-event fetches they cause, and
 * pushes. Each limit is driven at its configured (default) size for real, plus one.
 */
describe('limits per principal and per Member State: sockets, subscriptions, per-event fetches, pushes', () => {
  let system: TestSystem;
  let second: RunningService;
  let proxied: RunningService;
  let casesProxy: FaultyProxy;
  let worker: Worker;
  let target: CaseDoc;
  let wsUrls: [string, string];
  const record = (memberState: string, ref: string) =>
    canonicalRecord(memberState, ref, { packages: ['POST_ARRIVAL', 'POST_RETURN'] });
  const msToken = (memberState: string) =>
    mintToken({ subject: `${memberState.toLowerCase()}-system`, role: 'MEMBER_STATE', memberState }, system.config);
  const publish = (doc: CaseDoc) =>
    publishCaseEvents(system.redis, system.config.QUEUE_PREFIX, [
      {
        type: 'case.updated' as const,
        caseId: doc._id.toHexString(),
        version: 1,
        at: new Date().toISOString(),
        before: factsOf(doc),
        after: factsOf(doc),
      },
    ]);

  /** A push whose body is written by the test: the answer can come before the body is finished. */
  function openPush(base: string, token: string) {
    const url = new URL(`${base}/ingest/v1/feeds`);
    let answered: { status: number; headers: IncomingHttpHeaders; body: Record<string, unknown> } | undefined;
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${token}` },
    });
    const response = new Promise<NonNullable<typeof answered>>((resolve, reject) => {
      req.on('response', (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () =>
          resolve(
            (answered = {
              status: res.statusCode!,
              headers: res.headers,
              body: JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') as Record<string, unknown>,
            }),
          ),
        );
      });
      req.on('error', (error) => (answered ? undefined : reject(error)));
    });
    response.catch(() => undefined);
    req.flushHeaders();
    return {
      write: (text: string) => req.write(text),
      end: () => req.end(),
      abort: () => req.destroy(),
      response,
      answered: () => answered,
    };
  }
  const push = async (base: string, token: string, records: unknown[]) => {
    const response = await fetch(`${base}/ingest/v1/feeds`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(records),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as {
        feedId?: string;
        error?: { code: string; message: string; retryAfterSeconds?: number };
      },
    };
  };
  const finished = async (feedId: string, token: string) => {
    for (let i = 0; i < 400; i++) {
      const body = (await (
        await fetch(`${system.gateway.url}/ingest/v1/feeds/${feedId}`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()) as { status: string };
      if (['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(body.status)) return body.status;
      await new Promise((r) => setTimeout(r, 50));
    }
    return 'NOT_FINISHED';
  };

  beforeAll(async () => {
    // Every limit of this file at its default; the subgraph deadline (also how long a fetch may wait for a slot) 4 s.
    system = await startTestSystem({ cases: 20, seed: 12, config: testConfig({ SUBGRAPH_TIMEOUT_MS: '4000' }) });
    const urls = Object.fromEntries(
      Object.entries(system.subgraphs).map(([name, s]) => [name, `${s.url}/graphql`]),
    ) as Parameters<typeof startGateway>[0]['subgraphUrls'];
    second = await startGateway({ config: system.config, logger: silentLogger, port: 0, subgraphUrls: urls });
    casesProxy = await faultyProxy(urls.cases);
    casesProxy.onlyRequestIdPrefix = 'ws:';
    proxied = await startGateway({
      config: system.config,
      logger: silentLogger,
      port: 0,
      subgraphUrls: { ...urls, cases: casesProxy.url },
    });
    wsUrls = [system.gatewayUrl.replace(/^http/, 'ws'), `${second.url.replace(/^http/, 'ws')}/graphql`];
    worker = startTestWorker(system, 'test-limits-worker');
    target = (await casesModels(system.connections.cases)
      .Case.findOne({ partnerId: { $ne: null } })
      .lean<CaseDoc>()
      .exec())!;
  });
  afterAll(async () => {
    await worker?.close();
    await proxied?.shutdown('test done');
    await second?.shutdown('test done');
    await casesProxy?.close();
    await system?.stop();
  });

  it('WS_MAX_CONNECTIONS_PER_PRINCIPAL across instances: the next socket closes 4429; closing frees one', async () => {
    const limit = system.config.WS_MAX_CONNECTIONS_PER_PRINCIPAL;
    const hoarder = await mintToken({ subject: 'hoarding-tool', role: 'PARTNER', partnerId: 'weldo' }, system.config);
    // The full allowance, spread over two gateway instances.
    const held = Array.from({ length: limit }, (_, i) => socket(wsUrls[i % 2]!, hoarder));
    await until(() => held.every((s) => s.connected() || s.closed() !== undefined));
    expect(held.filter((s) => s.connected())).toHaveLength(limit);
    const extra = socket(wsUrls[0], hoarder);
    await until(() => extra.closed() !== undefined);
    expect(extra.connected()).toBe(false);
    expect(extra.closed()).toMatchObject({
      code: 4429,
      reason: expect.stringMatching(new RegExp(`^Too many connections: .*${limit}.*WS_MAX_CONNECTIONS_PER_PRINCIPAL`)),
    });
    expect(extra.closed()!.reason.length).toBeLessThanOrEqual(123);
    // Another principal, on either instance, is not affected.
    const other = socket(
      wsUrls[1],
      await mintToken({ subject: 'other-tool', role: 'PARTNER', partnerId: 'weldo' }, system.config),
    );
    await until(() => other.connected() || other.closed() !== undefined);
    expect(other.connected()).toBe(true);
    // The count lives in Redis (one member per connection), shared by the instances.
    const key = `${system.config.QUEUE_PREFIX}:ws:connections:PARTNER:hoarding-tool`;
    expect(await system.redis.zcard(key)).toBe(limit);
    // A closed connection gives its slot back at once, whichever instance held it.
    await held[1]!.dispose();
    await until(() => held[1]!.closed() !== undefined);
    let again = socket(wsUrls[0], hoarder);
    for (let i = 0; i < 40 && !again.connected(); i++) {
      await until(() => again.connected() || again.closed() !== undefined);
      if (!again.connected()) {
        await new Promise((r) => setTimeout(r, 50));
        again = socket(wsUrls[0], hoarder);
      }
    }
    expect(again.connected()).toBe(true);
    await Promise.all([...held, again, other].map((s) => s.dispose()));
    await until(() => false, 300);
    expect(await system.redis.zcard(key)).toBe(0);
  });

  it('WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL over sockets/instances: TOO_MANY_SUBSCRIPTIONS; others receive', async () => {
    const limit = system.config.WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL;
    const token = await mintToken({ subject: 'subscribing-tool', role: 'ADMIN' }, system.config);
    const perSocket = 50;
    const sockets = Array.from({ length: Math.ceil(limit / perSocket) }, (_, i) => socket(wsUrls[i % 2]!, token));
    await until(() => sockets.every((s) => s.connected()));
    const light = 'subscription { caseEvents { id caseId } }';
    const subs = Array.from({ length: limit }, (_, i) => sockets[Math.floor(i / perSocket)]!.subscribe(light));
    // Each of them is live: one event reaches all of them.
    await until(() => false, 500);
    await publish(target);
    await until(() => subs.every((s) => s.payloads.length >= 1 || s.done()), 20_000);
    expect(subs.filter((s) => s.payloads.length === 1 && s.errors.length === 0)).toHaveLength(limit);
    // One more, on a new socket of the same principal: refused, naming the limit.
    const third = socket(wsUrls[0], token);
    await until(() => third.connected());
    const refused = third.subscribe(light);
    await until(() => refused.done());
    expect(refused.errors[0]).toMatchObject({
      message: expect.stringContaining('WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL'),
      extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit },
    });
    // Another principal subscribes and receives as usual.
    const otherSocket = socket(wsUrls[1], await mintToken({ subject: 'other-admin', role: 'ADMIN' }, system.config));
    const otherSub = otherSocket.subscribe(light);
    await until(() => false, 300);
    await publish(target);
    await until(() => otherSub.payloads.length >= 1 && subs.every((s) => s.payloads.length >= 2));
    expect(otherSub.errors).toEqual([]);
    expect(otherSub.payloads).toHaveLength(1);
    expect(subs.every((s) => s.payloads.length === 2)).toBe(true);
    // Completing one makes room for one.
    subs[0]!.stop();
    await until(() => false, 200);
    const admitted = third.subscribe(light);
    await until(() => false, 300);
    await publish(target);
    await until(() => admitted.payloads.length >= 1 || admitted.done());
    expect(admitted.errors).toEqual([]);
    expect(admitted.payloads).toHaveLength(1);
    await Promise.all([...sockets, third, otherSocket].map((s) => s.dispose()));
    await until(() => false, 300);
    expect(await system.redis.zcard(`${system.config.QUEUE_PREFIX}:ws:subscriptions:ADMIN:subscribing-tool`)).toBe(0);
  });

  it('an id completed and resubscribed during admission runs once, counted once, ending with its socket', async () => {
    const token = await mintToken({ subject: 'id-reusing-tool', role: 'ADMIN' }, system.config);
    const raw = new WebSocket(wsUrls[0], 'graphql-transport-ws');
    const frames: Array<{ type: string; id?: string; payload?: unknown }> = [];
    raw.on('message', (data) => frames.push(JSON.parse(String(data)) as (typeof frames)[number]));
    await new Promise((resolve) => raw.once('open', resolve));
    raw.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    await until(() => frames.some((f) => f.type === 'connection_ack'));
    const subscribe = JSON.stringify({
      id: 'X',
      type: 'subscribe',
      payload: { query: 'subscription { caseEvents { id caseId } }' },
    });
    const complete = JSON.stringify({ id: 'X', type: 'complete' });
    // 30 × (subscribe, complete) then a last subscribe, all in one frame burst: every
    // admission is still awaiting its count when the next arrives.
    const burst: string[] = [];
    for (let i = 0; i < 30; i++) burst.push(subscribe, complete);
    burst.push(subscribe);
    raw.send(burst[0]!);
    for (const frame of burst.slice(1)) raw.send(frame);
    await until(() => false, 800);
    await publish(target);
    await until(() => frames.some((f) => f.type === 'next'), 10_000);
    await until(() => false, 500);
    // One running subscription at most: one delivery of the event, and one slot in Redis.
    expect(frames.filter((f) => f.type === 'next' && f.id === 'X').length).toBeLessThanOrEqual(1);
    expect(
      await system.redis.zcard(`${system.config.QUEUE_PREFIX}:ws:subscriptions:ADMIN:id-reusing-tool`),
    ).toBeLessThanOrEqual(1);
    raw.close();
    await until(() => false, 300);
    expect(await system.redis.zcard(`${system.config.QUEUE_PREFIX}:ws:subscriptions:ADMIN:id-reusing-tool`)).toBe(0);
  });

  it('SUBSCRIPTION_FETCHES_IN_FLIGHT per instance: a fetch with no slot in time errors; others get cases', async () => {
    const limit = system.config.SUBSCRIPTION_FETCHES_IN_FLIGHT;
    // 40 subscriptions of one partner tool, each with its own selection: 40 distinct fetches per event.
    const hostile = await mintToken(
      { subject: 'many-selections', role: 'PARTNER', partnerId: target.partnerId! },
      system.config,
    );
    const owner = await mintToken(
      { subject: 'owner-dashboard', role: 'MEMBER_STATE', memberState: target.memberState },
      system.config,
    );
    const url = `${proxied.url.replace(/^http/, 'ws')}/graphql`;
    const sockets = [socket(url, hostile), socket(url, hostile)];
    const filter = { caseIds: [target._id.toHexString()] };
    const subs = Array.from({ length: 40 }, (_, i) =>
      sockets[i % 2]!.subscribe(
        `subscription($f: CaseEventFilter) { caseEvents(filter: $f) { id case { r${i}: caseReference } } }`,
        { f: filter },
      ),
    );
    const ownerSocket = socket(url, owner);
    const ownerSub = ownerSocket.subscribe(
      'subscription($f: CaseEventFilter) { caseEvents(filter: $f) { id case { caseReference status } } }',
      { f: filter },
    );
    await until(() => sockets.every((s) => s.connected()) && ownerSocket.connected());
    await until(() => false, 500);
    // Each per-event fetch takes 1.5 s at the cases subgraph (well within its 4 s deadline):
    // five waves of 8 would take 7.5 s, and the wait for a slot (SUBGRAPH_TIMEOUT_MS, 4 s) runs out for the last ones.
    casesProxy.mode = { kind: 'delay', ms: 1_500 };
    casesProxy.maxInFlight.clear();
    await publish(target);
    await until(() => subs.every((s) => s.payloads.length >= 1) && ownerSub.payloads.length >= 1, 20_000);
    casesProxy.mode = { kind: 'pass' };
    const max = casesProxy.maxInFlight.get('PARTNER:many-selections') ?? 0;
    expect(max).toBeGreaterThan(1);
    expect(max).toBeLessThanOrEqual(limit);
    // Each subscriber got its case or an error saying why; never a silent null.
    let served = 0;
    let refused = 0;
    subs.forEach((s, i) => {
      const [payload] = s.payloads;
      const value = payload?.data?.caseEvents?.case;
      if (value) {
        expect(value).toEqual({ [`r${i}`]: target.caseReference });
        served++;
      } else {
        expect(payload?.errors?.[0]).toMatchObject({
          path: ['caseEvents', 'case'],
          extensions: { code: 'CASE_FETCH_FAILED', reason: 'SUBSCRIPTION_FETCHES_IN_FLIGHT' },
        });
        expect(payload!.errors![0]!.message).toMatch(new RegExp(`${limit} case fetches in flight`));
        refused++;
      }
    });
    expect(served).toBeGreaterThanOrEqual(limit);
    expect(refused).toBeGreaterThan(0);
    // The other principal is served on time, with no error.
    expect(ownerSub.payloads[0]).toEqual({
      data: {
        caseEvents: { id: expect.any(String), case: { caseReference: target.caseReference, status: target.status } },
      },
    });
    await Promise.all([...sockets, ownerSocket].map((s) => s.dispose()));
  });

  it('INGEST_PUSHES_PER_MINUTE across instances: 429 + Retry-After before the body; others complete', async () => {
    const limit = system.config.INGEST_PUSHES_PER_MINUTE;
    const be = await msToken('BE');
    const bases = [system.gateway.url, second.url];
    const statuses: number[] = [];
    for (let i = 0; i < limit; i++) statuses.push((await push(bases[i % 2]!, be, [record('BE', 'BE-RATE-1')])).status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(limit);
    // The next one, a body the full allowed size in the making: answered at once, its body never read.
    const over = openPush(bases[0]!, be);
    over.write(`${JSON.stringify(record('BE', 'BE-RATE-2'))}\n`);
    const answer = await over.response;
    expect(answer.status).toBe(429);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    expect(answer.body).toMatchObject({
      error: {
        code: 'RATE_LIMITED',
        limit: 'INGEST_PUSHES_PER_MINUTE',
        message: expect.stringContaining(`BE pushed ${limit} feeds in the last minute`),
      },
    });
    over.abort();
    // Shared by the instances: the other one refuses too.
    expect((await push(bases[1]!, be, [record('BE', 'BE-RATE-3')])).status).toBe(429);
    // Another Member State pushes, and its feed is processed to the end.
    const de = await msToken('DE');
    const accepted = await push(bases[1]!, de, [record('DE', 'DE-RATE-1')]);
    expect(accepted.status).toBe(202);
    expect(await finished(accepted.body.feedId!, de)).toBe('DONE');
  });

  it('INGEST_PUSHES_IN_FLIGHT: the next push is 429 at once, taken once one is answered; others go on', async () => {
    const limit = system.config.INGEST_PUSHES_IN_FLIGHT;
    const nl = await msToken('NL');
    const key = `${system.config.QUEUE_PREFIX}:ingest-in-flight:NL`;
    const slow = Array.from({ length: limit }, (_, i) => {
      const p = openPush(i % 2 === 0 ? system.gateway.url : second.url, nl);
      p.write(`${JSON.stringify(record('NL', `NL-SLOW-${i}`))}\n`);
      return p;
    });
    for (let i = 0; i < 100 && (await system.redis.zcard(key)) < limit; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(await system.redis.zcard(key)).toBe(limit);
    // One more, while they stream: refused before its body is read.
    const over = openPush(second.url, nl);
    over.write(`${JSON.stringify(record('NL', 'NL-OVER'))}\n`);
    const refused = await over.response;
    over.abort();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body).toMatchObject({
      error: {
        code: 'TOO_MANY_PUSHES_IN_FLIGHT',
        limit: 'INGEST_PUSHES_IN_FLIGHT',
        message: expect.stringContaining(`NL already has ${limit} pushes being received`),
      },
    });
    expect(slow.every((p) => p.answered() === undefined)).toBe(true);
    // Another Member State is not held up.
    const de = await msToken('DE');
    const other = await push(second.url, de, [record('DE', 'DE-FLIGHT-1')]);
    expect(other.status).toBe(202);
    expect(await finished(other.body.feedId!, de)).toBe('DONE');
    // The streaming ones finish and are taken; their slots are given back.
    slow.forEach((p) => p.end());
    const answers = await Promise.all(slow.map((p) => p.response));
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: limit }, () => 202));
    for (let i = 0; i < 100 && (await system.redis.zcard(key)) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await system.redis.zcard(key)).toBe(0);
    const next = await push(system.gateway.url, nl, [record('NL', 'NL-NEXT')]);
    expect(next.status).toBe(202);
    for (const a of [...answers, { body: next.body }]) expect(await finished(String(a.body.feedId), nl)).toBe('DONE');
  });
});
