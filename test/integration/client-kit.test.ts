import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { followCaseEvents } from '../../packages/client/examples/follow-case-events.js';
import { startWebhookReceiver, type Receiver } from '../../packages/client/examples/webhook-receiver.js';
import type { CaseEventsSubscription, VerifiedWebhook } from '../../packages/client/src/index.js';
import { mintToken } from '../../shared/auth.js';
import { caseEventStream, publishCaseEvents } from '../../shared/case-events/index.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { factsOf } from '../../subgraphs/cases/statistics/facts.js';
import { startTestSystem, testConfig, type TestSystem } from '../helpers/system.js';
import { startWebhookDelivery } from '../helpers/webhooks.js';

type Event = CaseEventsSubscription['caseEvents'];

/** The client kit's examples (packages/client/examples), run against a real system. */
describe('client kit against a running system', () => {
  let system: TestSystem;
  let target: CaseDoc;
  let partnerToken: string;
  let wsUrl: string;
  const stream = () => caseEventStream(system.config.QUEUE_PREFIX);
  const until = async (check: () => boolean, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  };
  const publish = async (count: number, type: 'case.updated' | 'case.transitioned' = 'case.updated') => {
    const facts = factsOf(target);
    await publishCaseEvents(
      system.redis,
      system.config.QUEUE_PREFIX,
      Array.from({ length: count }, (_, i) => ({
        ...(type === 'case.transitioned' ? { type, transition: 'acceptCase' } : { type }),
        caseId: target._id.toHexString(),
        version: i,
        at: new Date().toISOString(),
        before: facts,
        after: { ...facts, status: type === 'case.transitioned' ? 'ACCEPTED' : facts.status },
      })) as Parameters<typeof publishCaseEvents>[2],
    );
  };
  const newest = async () => (await system.redis.xrevrange(stream(), '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';

  beforeAll(async () => {
    system = await startTestSystem({
      cases: 20,
      seed: 31,
      config: testConfig({ WEBHOOK_LOCAL_RECEIVER: 'true', WEBHOOK_ATTEMPTS: '2', WEBHOOK_BACKOFF_MS: '50' }),
    });
    target = (await casesModels(system.connections.cases)
      .Case.findOne({ partnerId: { $exists: true, $ne: null } })
      .lean<CaseDoc>()
      .exec())!;
    partnerToken = await mintToken(
      { subject: 'kit-partner', role: 'PARTNER', partnerId: target.partnerId! },
      system.config,
    );
    wsUrl = system.gatewayUrl.replace(/^http/, 'ws');
  });
  afterAll(async () => {
    await system.stop();
  });

  it('follows events, survives a dropped connection and resumes without gaps or repeats', async () => {
    // Every socket the kit opens, so the test can cut one as a network failure would.
    const sockets: WebSocket[] = [];
    class TrackedWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets.push(this);
      }
    }
    await publish(1); // a stream entry to start after (a fresh stream has none)
    const start = await newest();
    const events: Event[] = [];
    const stored: string[] = [];
    const errors: string[] = [];
    const handle = await followCaseEvents({
      url: wsUrl,
      token: partnerToken,
      after: start,
      webSocketImpl: TrackedWebSocket,
      onEvent: (event) => events.push(event),
      store: (id) => stored.push(id),
      onError: (code) => errors.push(code),
    });
    await publish(2);
    await until(() => events.length >= 2);
    expect(errors).toEqual([]);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ type: 'UPDATED', caseId: target._id.toHexString() });
    expect(events[0]!.case?.caseReference).toBe(target.caseReference);

    sockets.at(-1)!.terminate();
    await publish(3); // while the kit is reconnecting
    await until(() => events.length >= 5);
    await publish(1); // live again
    await until(() => events.length >= 6);
    await new Promise((r) => setTimeout(r, 300)); // anything repeated would arrive by now
    const written = (await system.redis.xrange(stream(), `(${start}`, '+')).map(([id]) => id);
    expect(events.map((e) => e.id)).toEqual(written);
    expect(stored).toEqual(written);
    expect(handle.lastEventId()).toBe(written.at(-1));
    expect(sockets.length).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
    await handle.close();
    await handle.done;
  });

  it('works on Node 20 without a WebSocket given (loads ws itself)', async () => {
    const global = globalThis as { WebSocket?: unknown };
    const saved = global.WebSocket;
    delete global.WebSocket;
    try {
      const events: Event[] = [];
      const handle = await followCaseEvents({
        url: wsUrl,
        token: partnerToken,
        after: await newest(),
        onEvent: (event) => events.push(event),
        store: () => undefined,
        onError: () => undefined,
      });
      await publish(1);
      await until(() => events.length >= 1);
      expect(events).toHaveLength(1);
      await handle.close();
    } finally {
      if (saved !== undefined) global.WebSocket = saved;
    }
  });

  it('a resume point in the future or expired ends the subscription with a named error, never an event', async () => {
    const run = async (after: string) => {
      const events: Event[] = [];
      const errors: Array<{ code: string; message: string }> = [];
      const handle = await followCaseEvents({
        url: wsUrl,
        token: partnerToken,
        after,
        onEvent: (event) => events.push(event),
        store: () => undefined,
        onError: (code, message) => errors.push({ code, message }),
      });
      await until(() => errors.length > 0);
      await expect(handle.done).rejects.toThrow();
      return { events, errors };
    };
    const future = await run(`${Date.now() + 3_600_000}-0`);
    expect(future.events).toEqual([]);
    expect(future.errors).toEqual([expect.objectContaining({ code: 'RESUME_POINT_IN_FUTURE' })]);
    expect(future.errors[0]!.message).toContain('later than the newest event');
    // Just past the newest event (same millisecond, a later sequence) is in the future too.
    const last = await newest();
    const [ms, seq] = last.split('-');
    expect((await run(`${ms}-${Number(seq) + 1}`)).errors[0]!.code).toBe('RESUME_POINT_IN_FUTURE');

    await system.redis.set(`${stream()}:floor`, `${Date.now() - 1_000}-0`);
    try {
      const expired = await run('1000-0');
      expect(expired.events).toEqual([]);
      expect(expired.errors).toEqual([expect.objectContaining({ code: 'RESUME_POINT_EXPIRED' })]);
      // Through graphql-ws itself: the protocol's error message, not a `next` a handler would misread.
      const nexts: unknown[] = [];
      const refusals: unknown[] = [];
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${partnerToken}` },
      });
      client.subscribe(
        { query: 'subscription($after: ID) { caseEvents(after: $after) { id } }', variables: { after: '1000-0' } },
        { next: (value) => nexts.push(value), error: (error) => refusals.push(error), complete: () => undefined },
      );
      await until(() => refusals.length > 0);
      expect(nexts).toEqual([]);
      expect(refusals).toEqual([
        [expect.objectContaining({ extensions: expect.objectContaining({ code: 'RESUME_POINT_EXPIRED' }) })],
      ]);
      await client.dispose();
    } finally {
      await system.redis.del(`${stream()}:floor`);
    }
  });

  describe('webhooks to a receiver on this machine (WEBHOOK_LOCAL_RECEIVER)', () => {
    let receiver: Receiver;
    let delivery: Awaited<ReturnType<typeof startWebhookDelivery>>;
    const received: VerifiedWebhook[] = [];
    const refused: string[] = [];
    const register = (url: string) =>
      system.graphql<{ registerWebhook: { id: string; secret: string; signingSecret: string } }>(
        'mutation($u: String!) { registerWebhook(url: $u, eventTypes: [ACCEPTED]) { id secret signingSecret } }',
        { u: url },
        { authorization: `Bearer ${partnerToken}` },
      );

    afterAll(async () => {
      await delivery?.stop();
      await receiver?.close();
    });

    it('accepts http://127.0.0.1, nothing else private; the example receiver verifies a delivery', async () => {
      for (const url of ['http://10.0.0.5/hooks', 'http://169.254.169.254/', 'http://localhost.evil.example/']) {
        const result = await register(url);
        expect(result.body.errors?.[0]?.extensions?.code, url).toBe('BAD_USER_INPUT');
      }
      // The receiver starts with a placeholder secret; the real one is known once registered.
      let secret = '';
      receiver = await startWebhookReceiver({
        get secret() {
          return secret;
        },
        onDelivery: (delivery) => received.push(delivery),
        onRefused: (reason) => refused.push(reason),
      });
      const registered = await register(receiver.url);
      expect(registered.body.errors).toBeUndefined();
      secret = registered.body.data!.registerWebhook.signingSecret;

      delivery = await startWebhookDelivery(system, 'kit', { allowPrivate: false, allowLocalhost: true });
      await publish(1, 'case.transitioned');
      await until(() => received.length >= 1);
      expect(refused).toEqual([]);
      expect(received).toHaveLength(1);
      expect(received[0]!.payload).toMatchObject({ type: 'ACCEPTED', caseId: target._id.toHexString() });
      expect(JSON.stringify(received[0]!.payload)).not.toContain(target.mainApplicant?.name ?? '\u0000');

      // The same receiver with another endpoint's secret refuses the delivery, as a forgery.
      const other = (await register(`${receiver.url}other`)).body.data!.registerWebhook;
      secret = other.secret; // the older secret form works with the kit as well
      await publish(1, 'case.transitioned');
      await until(() => received.length >= 2 && refused.length >= 1);
      expect(received).toHaveLength(2);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(refused[0]).toMatch(/signature/i);
    });
  });
});
