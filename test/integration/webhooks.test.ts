import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { verifyLegacyWebhook as verifyWebhook } from '../../packages/client/src/legacy-webhooks.js';
import { verifyWebhook as verifyDelivery, WebhookVerificationError } from '../../packages/client/src/webhooks.js';
import { mintToken } from '../../shared/auth.js';
import { publishCaseEvents } from '../../shared/case-events/index.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { factsOf } from '../../subgraphs/cases/statistics/facts.js';
import { startTestSystem, testConfig, type TestSystem } from '../helpers/system.js';
import { startWebhookDelivery } from '../helpers/webhooks.js';

/** The delivery id the deprecated header names: the Standard Webhooks `webhook-id` is the same. */
const byHookDelivery = (hit: Hit) => String(hit.headers['avrr-delivery-id']);

interface Hit {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Partner systems that cannot hold a socket: signed deliveries, retries, a log, redelivery. */
describe('webhooks', () => {
  let system: TestSystem;
  let delivery: Awaited<ReturnType<typeof startWebhookDelivery>>;
  let receiver: Server;
  let base: string;
  const hits: Hit[] = [];
  const behaviour: Record<string, number[]> = {};
  let target: CaseDoc;
  let partnerToken: string;
  const graphql = <T>(query: string, variables?: Record<string, unknown>, token = partnerToken) =>
    system.graphql<T>(query, variables, { authorization: `Bearer ${token}` });
  const until = async (check: () => boolean | Promise<boolean>, ms = 15_000) => {
    const deadline = Date.now() + ms;
    while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  };
  const register = (path: string, eventTypes: string[]) =>
    graphql<{ registerWebhook: { id: string; secret: string; signingSecret: string; url: string } }>(
      'mutation($u: String!, $t: [CaseEventType!]!) { registerWebhook(url: $u, eventTypes: $t) { id secret ' +
        'signingSecret url eventTypes } }',
      { u: `${base}${path}`, t: eventTypes },
    );

  beforeAll(async () => {
    system = await startTestSystem({
      cases: 30,
      seed: 8,
      config: testConfig({
        WEBHOOK_ALLOW_HTTP: 'true',
        WEBHOOK_ALLOW_PRIVATE_NETWORK: 'true',
        WEBHOOK_ATTEMPTS: '3',
        WEBHOOK_BACKOFF_MS: '50',
      }),
    });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const path = req.url ?? '/';
        hits.push({ path, headers: req.headers, body });
        const plan = behaviour[path] ?? [];
        res.writeHead(plan.length > 0 ? plan.shift()! : 200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const report = await system.ingest('BE', [
      {
        memberState: 'BE',
        caseReference: 'BE-HOOK-1',
        recordVersion: 1,
        returnType: 'VOLUNTARY',
        packages: ['POST_ARRIVAL'],
        countryOfOrigin: 'AF',
        departureDate: '2024-03-01',
        mainApplicant: { name: 'Karim Nouri', dateOfBirth: '1990-01-01', sex: 'MALE' },
        eligibility: { requestDate: '2024-03-10', applicationSigned: true },
      },
    ]);
    expect(report.counts.created).toBe(1);
    target = (await casesModels(system.connections.cases)
      .Case.findOne({ caseReference: 'BE-HOOK-1' })
      .lean<CaseDoc>()
      .exec())!;
    partnerToken = await mintToken(
      { subject: 'partner-system', role: 'PARTNER', partnerId: target.partnerId! },
      system.config,
    );
    // The worker process's parts: the dispatcher (one at a time) and the delivery worker.
    delivery = await startWebhookDelivery(system, 'test', { allowPrivate: true });
  });
  afterAll(async () => {
    await delivery?.stop();
    receiver?.close();
    await system?.stop();
  });

  it("refuses registrations that are malformed, hostile or not a partner's", async () => {
    const officer = await mintToken({ subject: 'o', role: 'MEMBER_STATE', memberState: 'BE' }, system.config);
    const attempts: Array<[string, string[], string, string]> = [
      ['ftp://example.org/hook', ['CREATED'], partnerToken, 'BAD_USER_INPUT'],
      ['https://user:secret@example.org/hook', ['CREATED'], partnerToken, 'BAD_USER_INPUT'],
      ['not a url', ['CREATED'], partnerToken, 'BAD_USER_INPUT'],
      [`https://example.org/${'x'.repeat(2_100)}`, ['CREATED'], partnerToken, 'BAD_USER_INPUT'],
      ['https://example.org/hook', [], partnerToken, 'BAD_USER_INPUT'],
      ['https://example.org/hook', ['CREATED'], officer, 'FORBIDDEN'],
    ];
    for (const [url, types, token, code] of attempts) {
      const result = await graphql(
        'mutation($u: String!, $t: [CaseEventType!]!) { registerWebhook(url: $u, eventTypes: $t) { id } }',
        { u: url, t: types },
        token,
      );
      expect(result.body.errors?.[0]?.extensions?.code, url.slice(0, 40)).toBe(code);
    }
    const unknownType = await graphql(
      'mutation { registerWebhook(url: "https://example.org/h", eventTypes: [EVERYTHING]) { id } }',
    );
    expect(unknownType.status).toBe(400);
    expect((await graphql<{ webhooks: unknown[] }>('{ webhooks { id } }')).body.data!.webhooks).toEqual([]);
  });

  it("delivers signed events of the partner's own cases, retries with backoff, logs attempts, redelivers", async () => {
    behaviour['/flaky'] = [500, 503];
    behaviour['/down'] = [500, 500, 500];
    const ok = (await register('/ok', ['ACCEPTED'])).body.data!.registerWebhook;
    const flaky = (await register('/flaky', ['ACCEPTED', 'DISBURSEMENT_RECORDED'])).body.data!.registerWebhook;
    const down = (await register('/down', ['ACCEPTED'])).body.data!.registerWebhook;
    const ignored = (await register('/closed-only', ['CLOSED'])).body.data!.registerWebhook;
    expect(ok.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([ok.secret, flaky.secret, down.secret, ignored.secret]).size).toBe(4);
    // The secret is shown once.
    const listed = await graphql<{ webhooks: Array<{ id: string; secret: string | null }> }>(
      '{ webhooks { id secret } }',
    );
    expect(listed.body.data!.webhooks.map((w) => w.secret)).toEqual([null, null, null, null]);

    // An event of another partner's case: nothing for this partner.
    const facts = { ...factsOf(target), partnerId: 'somebody-else' };
    await publishCaseEvents(system.redis, system.config.QUEUE_PREFIX, [
      {
        type: 'case.transitioned',
        transition: 'acceptCase',
        caseId: '0123456789abcdef01234567',
        version: 1,
        at: new Date().toISOString(),
        before: facts,
        after: facts,
      },
    ]);
    const accepted = await graphql('mutation($id: ID!) { acceptCase(caseId: $id) { status } }', {
      id: target._id.toHexString(),
    });
    expect(accepted.body.errors).toBeUndefined();

    await until(
      () =>
        hits.filter((h) => h.path === '/ok').length >= 1 &&
        hits.filter((h) => h.path === '/flaky').length >= 3 &&
        hits.filter((h) => h.path === '/down').length >= 3,
    );
    type Delivery = {
      id: string;
      webhookId: string;
      status: string;
      eventType: string;
      caseId: string;
      payload: string;
      attempts: Array<{ statusCode: number | null }>;
    };
    const deliveries = async (status?: string): Promise<Delivery[]> => {
      const { body } = await graphql<{ webhookDeliveries: Delivery[] }>(
        'query($s: WebhookDeliveryStatus) { webhookDeliveries(status: $s) { id webhookId status eventType ' +
          'caseId payload attempts { statusCode error durationMs } } }',
        { s: status },
      );
      if (!body.data) throw new Error(JSON.stringify(body.errors));
      return body.data.webhookDeliveries;
    };
    await until(async () => (await deliveries('PENDING')).length === 0);
    await new Promise((r) => setTimeout(r, 300));

    const okHit = hits.find((h) => h.path === '/ok')!;
    const timestamp = Number(okHit.headers['avrr-timestamp']);
    expect(verifyWebhook(ok.secret, String(okHit.headers['avrr-signature']), timestamp, okHit.body)).toBe(true);
    expect(verifyWebhook(flaky.secret, String(okHit.headers['avrr-signature']), timestamp, okHit.body)).toBe(false);
    expect(
      verifyWebhook(
        ok.secret,
        String(okHit.headers['avrr-signature']),
        timestamp,
        okHit.body.replace('ACCEPTED', 'CLOSED'),
      ),
    ).toBe(false);
    // The Standard Webhooks headers, verified as a partner would: with the reference library and
    // the `signingSecret`, and with the client kit (which also takes the older `secret`).
    expect(ok.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const standard = {
      'webhook-id': String(okHit.headers['webhook-id']),
      'webhook-timestamp': String(okHit.headers['webhook-timestamp']),
      'webhook-signature': String(okHit.headers['webhook-signature']),
    };
    expect(standard['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(ok.signingSecret).verify(okHit.body, standard)).toMatchObject({ type: 'ACCEPTED' });
    expect(() => new Webhook(flaky.signingSecret).verify(okHit.body, standard)).toThrow();
    const verified = verifyDelivery(ok.secret, okHit.headers, okHit.body);
    expect(verified.webhookId).toBe(byHookDelivery(okHit));
    expect(verified.payload.caseId).toBe(target._id.toHexString());
    expect(() => verifyDelivery(ok.signingSecret, okHit.headers, okHit.body.replace('ACCEPTED', 'CLOSED'))).toThrow(
      WebhookVerificationError,
    );
    // A retry is the same message: the same webhook-id on every attempt, a new signature each time.
    const flakyHits = hits.filter((h) => h.path === '/flaky');
    expect(new Set(flakyHits.map((h) => h.headers['webhook-id'])).size).toBe(1);
    for (const hit of flakyHits)
      expect(verifyDelivery(flaky.signingSecret, hit.headers, hit.body).payload.type).toBe('ACCEPTED');
    const payload = JSON.parse(okHit.body) as Record<string, unknown>;
    expect(payload).toMatchObject({
      type: 'ACCEPTED',
      caseId: target._id.toHexString(),
      status: 'ACCEPTED',
      memberState: 'BE',
      countryOfOrigin: 'AF',
    });
    expect(okHit.body).not.toContain('Karim');
    expect(hits.filter((h) => h.path === '/ok')).toHaveLength(1);
    expect(hits.filter((h) => h.path === '/closed-only')).toHaveLength(0);
    // Every delivery concerns the partner's own case.
    const all = await deliveries();
    expect(new Set(all.map((d) => d.caseId))).toEqual(new Set([target._id.toHexString()]));
    const byHook = Object.fromEntries(all.map((d) => [d.webhookId, d]));
    expect(byHook[ok.id]).toMatchObject({ status: 'DELIVERED', attempts: [{ statusCode: 200 }] });
    expect(byHook[flaky.id]).toMatchObject({
      status: 'DELIVERED',
      attempts: [{ statusCode: 500 }, { statusCode: 503 }, { statusCode: 200 }],
    });
    expect(byHook[down.id]).toMatchObject({
      status: 'FAILED',
      attempts: [{ statusCode: 500 }, { statusCode: 500 }, { statusCode: 500 }],
    });
    const failed = await deliveries('FAILED');
    expect(failed.map((d) => d.webhookId)).toEqual([down.id]);

    // The endpoint is fixed; the partner asks for a redelivery.
    const again = await graphql<{ redeliverWebhook: { status: string } }>(
      'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { status } }',
      { id: failed[0]!.id },
    );
    expect(again.body.data!.redeliverWebhook.status).toBe('PENDING');
    await until(async () => (await deliveries('FAILED')).length === 0 && (await deliveries('PENDING')).length === 0);
    expect((await deliveries()).find((d) => d.webhookId === down.id)).toMatchObject({
      status: 'DELIVERED',
      attempts: [{ statusCode: 500 }, { statusCode: 500 }, { statusCode: 500 }, { statusCode: 200 }],
    });
    // Another partner cannot see or redeliver it.
    const stranger = await mintToken(
      { subject: 'x', role: 'PARTNER', partnerId: target.partnerId === 'irara' ? 'weldo' : 'irara' },
      system.config,
    );
    expect(
      (
        await graphql(
          'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { status } }',
          { id: failed[0]!.id },
          stranger,
        )
      ).body.errors?.[0]?.extensions?.code,
    ).toBe('NOT_FOUND');
    expect(
      (await graphql<{ webhookDeliveries: unknown[] }>('{ webhookDeliveries { id } }', undefined, stranger)).body.data!
        .webhookDeliveries,
    ).toEqual([]);

    // A deleted endpoint gets nothing more.
    expect(
      (await graphql<{ deleteWebhook: boolean }>('mutation($id: ID!) { deleteWebhook(id: $id) }', { id: ok.id })).body
        .data!.deleteWebhook,
    ).toBe(true);
    const before = hits.length;
    const arrived = await graphql(
      'mutation($id: ID!) { reportArrival(caseId: $id, report: { arrivalDate: "2024-03-02", ' +
        'postArrivalServices: [] }) { status } }',
      { id: target._id.toHexString() },
    );
    expect(arrived.body.errors).toBeUndefined();
    await new Promise((r) => setTimeout(r, 800));
    expect(hits.slice(before).filter((h) => h.path === '/ok')).toEqual([]);
  });
});
