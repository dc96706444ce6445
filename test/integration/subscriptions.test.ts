import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startGateway } from '../../gateway/server.js';
import { mintToken, type Principal } from '../../shared/auth.js';
import { caseEventStream, publishCaseEvents } from '../../shared/case-events/index.js';
import type { RunningService } from '../../shared/http.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { factsOf } from '../../subgraphs/cases/statistics/facts.js';
import { personalDataReadModel } from '../../subgraphs/cases/data-protection/audit.js';
import { silentLogger, startTestSystem, type TestSystem } from '../helpers/system.js';

interface Received {
  id: string;
  type: string;
  caseId: string;
  case?: Record<string, unknown> | null;
}

/** A graphql-ws client that records what it receives and how its socket closed. */
function subscriber(url: string, token: string | null, query: string, variables: Record<string, unknown> = {}) {
  const events: Received[] = [];
  const errors: unknown[] = [];
  let closed: { code: number; reason: string } | undefined;
  let connected = false;
  const client: Client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    // A refused connection is recorded (and asserted on), not printed.
    onNonLazyError: (error) => errors.push(error),
    on: {
      connected: () => (connected = true),
      closed: (event) => {
        const e = event as { code: number; reason: string };
        closed = { code: e.code, reason: e.reason };
      },
    },
  });
  client.subscribe<{ caseEvents: Received }>(
    { query, variables },
    {
      next: (value) => {
        if (value.data) events.push(value.data.caseEvents);
        if (value.errors) errors.push(...value.errors);
      },
      error: (error) => errors.push(error),
      complete: () => undefined,
    },
  );
  const until = async (check: () => boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  };
  return {
    events,
    errors,
    closed: () => closed,
    connected: () => connected,
    until,
    /** Waits until the server has registered the subscription (one round trip after connecting). */
    ready: async () => {
      await until(() => connected);
      await new Promise((r) => setTimeout(r, 150));
    },
    /**
     * Closes the connection and waits until it is closed. graphql-ws's dispose() only starts
     * the close handshake: until the server has the close frame, it may still send an event
     * published meanwhile, and the client still takes it (the client's side of the contract:
     * what arrived before the socket closed was delivered, and `after` resumes from the last
     * event actually received).
     */
    stop: async () => {
      await client.dispose();
      await until(() => closed !== undefined, 5_000);
    },
  };
}

const FEDERATED =
  `subscription($filter: CaseEventFilter, $after: ID) {
  caseEvents(filter: $filter, after: $after) {
    id type caseId status milestone
    case { caseReference countryOfOrigin { name } partner { name } entitlement { totalCents } mainApplicant { ` +
  `name pseudonym } }
  }
}`;

describe('subscriptions over graphql-ws through the gateway', () => {
  let system: TestSystem;
  let second: RunningService;
  let urls: [string, string];
  const tokens: Record<string, string> = {};
  let target: CaseDoc;
  let otherPartnerId: string;
  const models = () => casesModels(system.connections.cases);
  /** Appends a lifecycle-like event for `doc` to the stream, as a subgraph or worker does. */
  const publish = async (doc: CaseDoc, count = 1) => {
    const facts = factsOf(doc);
    await publishCaseEvents(
      system.redis,
      system.config.QUEUE_PREFIX,
      Array.from({ length: count }, (_, i) => ({
        type: 'case.updated' as const,
        caseId: doc._id.toHexString(),
        version: i,
        at: new Date().toISOString(),
        before: facts,
        after: facts,
      })),
    );
  };

  beforeAll(async () => {
    system = await startTestSystem({ cases: 80, seed: 21 });
    const urls2 = Object.fromEntries(
      Object.entries(system.subgraphs).map(([name, s]) => [name, `${s.url}/graphql`]),
    ) as Parameters<typeof startGateway>[0]['subgraphUrls'];
    second = await startGateway({ config: system.config, logger: silentLogger, port: 0, subgraphUrls: urls2 });
    urls = [system.gatewayUrl.replace(/^http/, 'ws'), `${second.url.replace(/^http/, 'ws')}/graphql`];
    const report = await system.ingest('BE', [
      {
        memberState: 'BE',
        caseReference: 'BE-SUB-1',
        recordVersion: 1,
        returnType: 'VOLUNTARY',
        packages: ['POST_ARRIVAL', 'POST_RETURN'],
        countryOfOrigin: 'AF',
        departureDate: '2024-03-01',
        mainApplicant: { name: 'Nadia Ahmadi', dateOfBirth: '1992-01-01', sex: 'FEMALE' },
        eligibility: { requestDate: '2024-03-10', applicationSigned: true },
      },
    ]);
    expect(report.counts.created, JSON.stringify(report.rejected)).toBe(1);
    target = (await models().Case.findOne({ caseReference: 'BE-SUB-1' }).lean<CaseDoc>().exec())!;
    otherPartnerId = ['weldo', 'irara', 'caritas-be', 'ettc', 'life-makers'].find((p) => p !== target.partnerId)!;
    const otherMs = target.memberState === 'BE' ? 'NL' : 'BE';
    const principals: Record<string, Principal> = {
      partner: { subject: 'partner-tool', role: 'PARTNER', partnerId: target.partnerId! },
      otherPartner: { subject: 'other-partner-tool', role: 'PARTNER', partnerId: otherPartnerId },
      owner: { subject: 'owner-tool', role: 'MEMBER_STATE', memberState: target.memberState },
      otherMs: { subject: 'other-ms-tool', role: 'MEMBER_STATE', memberState: otherMs },
      analyst: { subject: 'dashboard', role: 'EU_ANALYST' },
      admin: { subject: 'ops', role: 'ADMIN' },
    };
    for (const [name, principal] of Object.entries(principals))
      tokens[name] = await mintToken(principal, system.config);
  });
  afterAll(async () => {
    await second?.shutdown('test done');
    await system?.stop();
  });

  it("delivers each event with every subgraph's fields to those who may see the case, per field rights", async () => {
    const subs = Object.fromEntries(
      ['partner', 'otherPartner', 'owner', 'otherMs', 'analyst'].map((who, i) => [
        who,
        subscriber(urls[i % 2]!, tokens[who]!, FEDERATED),
      ]),
    );
    await Promise.all(Object.values(subs).map((s) => s.ready()));
    const accepted = await system.graphql(
      'mutation($id: ID!) { acceptCase(caseId: $id) { status } }',
      { id: target._id.toHexString() },
      { authorization: `Bearer ${tokens.partner}` },
    );
    expect(accepted.body.errors).toBeUndefined();
    for (const who of ['partner', 'owner', 'analyst']) await subs[who]!.until(() => subs[who]!.events.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    const [forPartner] = subs.partner!.events;
    expect(forPartner).toMatchObject({
      type: 'ACCEPTED',
      caseId: target._id.toHexString(),
      status: 'ACCEPTED',
      // KM1 is the application, complete at acceptance.
      milestone: 'KM1',
    });
    expect(forPartner!.id).toMatch(/^\d+-\d+$/);
    expect(forPartner!.case).toMatchObject({
      caseReference: target.caseReference,
      countryOfOrigin: { name: expect.any(String) },
      partner: { name: expect.any(String) },
      entitlement: { totalCents: expect.any(Number) },
      mainApplicant: { name: target.mainApplicant.name, pseudonym: expect.stringMatching(/^PS-/) },
    });
    expect(subs.owner!.events).toEqual([forPartner]);
    // The analyst gets the event, pseudonymised like a query.
    expect(subs.analyst!.events[0]!.case).toMatchObject({
      caseReference: expect.stringMatching(/^CR-/),
      mainApplicant: { name: null, pseudonym: (forPartner!.case!.mainApplicant as { pseudonym: string }).pseudonym },
    });
    // Another partner or Member State hears nothing of it.
    expect(subs.otherPartner!.events).toEqual([]);
    expect(subs.otherMs!.events).toEqual([]);
    expect(Object.values(subs).flatMap((s) => s.errors)).toEqual([]);
    // Each subscriber's personal reads are logged under its own name, with the socket's request id.
    const log = await personalDataReadModel(system.connections.cases)
      .find({ caseId: target._id.toHexString() })
      .lean()
      .exec();
    expect(new Set(log.map((e) => e.actor.subject))).toEqual(new Set(['partner-tool', 'owner-tool', 'dashboard']));
    for (const entry of log) expect(entry.requestId).toMatch(new RegExp(`^ws:[0-9a-f-]{36}:${forPartner!.id}$`));
    await Promise.all(Object.values(subs).map((s) => s.stop()));
  });

  it('filters by case, country, status and type (the arrival report is its own ARRIVED type)', async () => {
    const other = (await models()
      .Case.findOne({ partnerId: target.partnerId, _id: { $ne: target._id } })
      .lean<CaseDoc>()
      .exec())!;
    const light = 'subscription($filter: CaseEventFilter) { caseEvents(filter: $filter) { id type caseId status } }';
    const byCase = subscriber(urls[0], tokens.admin!, light, { filter: { caseIds: [other._id.toHexString()] } });
    const byType = subscriber(urls[1], tokens.admin!, light, { filter: { types: ['ARRIVED'] } });
    const byCountry = subscriber(urls[0], tokens.admin!, light, {
      filter: { countriesOfOrigin: [target.countryOfOrigin], statuses: ['ARRIVED'] },
    });
    await Promise.all([byCase, byType, byCountry].map((s) => s.ready()));
    await publish(other, 2);
    const arrive = await system.graphql(
      'mutation($id: ID!) { reportArrival(caseId: $id, report: { arrivalDate: "2024-06-01", ' +
        'postArrivalServices: [] }) { status } }',
      { id: target._id.toHexString() },
      { authorization: `Bearer ${tokens.partner}` },
    );
    expect(arrive.body.errors).toBeUndefined();
    await byCase.until(() => byCase.events.length >= 2);
    await byType.until(() => byType.events.length >= 1);
    await byCountry.until(() => byCountry.events.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(byCase.events.map((e) => e.caseId)).toEqual([other._id.toHexString(), other._id.toHexString()]);
    expect(byType.events).toEqual([expect.objectContaining({ type: 'ARRIVED', caseId: target._id.toHexString() })]);
    expect(byCountry.events).toEqual([
      expect.objectContaining({ status: 'ARRIVED', caseId: target._id.toHexString() }),
    ]);
    await Promise.all([byCase, byType, byCountry].map((s) => s.stop()));
  });

  it('two gateway instances: each subscriber gets each event exactly once, in order, whichever holds it', async () => {
    const light = 'subscription { caseEvents { id caseId } }';
    const subs = Array.from({ length: 6 }, (_, i) => subscriber(urls[i % 2]!, tokens.admin!, light));
    await Promise.all(subs.map((s) => s.ready()));
    await publish(target, 25);
    for (const s of subs) await s.until(() => s.events.length >= 25);
    await new Promise((r) => setTimeout(r, 300));
    const published = (await system.redis.xrevrange(caseEventStream(system.config.QUEUE_PREFIX), '+', '-', 'COUNT', 25))
      .map(([id]) => id)
      .reverse();
    for (const s of subs) expect(s.events.map((e) => e.id)).toEqual(published);
    await Promise.all(subs.map((s) => s.stop()));
  });

  it('resumes after a cut connection: what was missed, in order, then live; no gaps, no duplicates', async () => {
    const light = 'subscription($after: ID) { caseEvents(after: $after) { id caseId } }';
    const first = subscriber(urls[0], tokens.partner!, light);
    await first.ready();
    await publish(target, 5);
    await first.until(() => first.events.length >= 5);
    await first.stop(); // the connection is cut, and closed before anything else is published
    const lastSeen = first.events.at(-1)!.id;
    await publish(target, 10); // missed while away
    // Back on the other instance, from the last id seen.
    const again = subscriber(urls[1], tokens.partner!, light, { after: lastSeen });
    await again.until(() => again.events.length >= 10);
    await publish(target, 3); // live again
    await again.until(() => again.events.length >= 13);
    await new Promise((r) => setTimeout(r, 300));
    const stream = (await system.redis.xrevrange(caseEventStream(system.config.QUEUE_PREFIX), '+', '-', 'COUNT', 18))
      .map(([id]) => id)
      .reverse();
    expect(first.events.map((e) => e.id)).toEqual(stream.slice(0, 5));
    expect(again.events.map((e) => e.id)).toEqual(stream.slice(5));
    await again.stop();
  });

  it('a resume point older than the window is refused; a malformed one too', async () => {
    await system.redis.set(`${caseEventStream(system.config.QUEUE_PREFIX)}:floor`, `${Date.now() - 1_000}-0`);
    const light = 'subscription($after: ID) { caseEvents(after: $after) { id } }';
    const expired = subscriber(urls[0], tokens.admin!, light, { after: '1000-0' });
    const malformed = subscriber(urls[1], tokens.admin!, light, { after: '$gt' });
    await expired.until(() => expired.errors.length > 0);
    await malformed.until(() => malformed.errors.length > 0);
    expect(JSON.stringify(expired.errors)).toContain('RESUME_POINT_EXPIRED');
    expect(JSON.stringify(malformed.errors)).toContain('BAD_USER_INPUT');
    await system.redis.del(`${caseEventStream(system.config.QUEUE_PREFIX)}:floor`);
    await Promise.all([expired.stop(), malformed.stop()]);
  });

  it('connection_init auth: no, bad or expired token closes the socket with 4401 and a reason', async () => {
    const light = 'subscription { caseEvents { id } }';
    const none = subscriber(urls[0], null, light);
    const forged = subscriber(urls[1], 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl', light);
    const shortLived = subscriber(
      urls[0],
      await mintToken({ subject: 'brief', role: 'ADMIN' }, system.config, 2),
      light,
    );
    await none.until(() => none.closed() !== undefined);
    await forged.until(() => forged.closed() !== undefined);
    expect(none.closed()).toMatchObject({ code: 4401, reason: expect.stringContaining('bearer token') });
    expect(forged.closed()).toMatchObject({ code: 4401, reason: expect.stringMatching(/^Unauthorized: /) });
    await shortLived.until(() => shortLived.connected());
    expect(shortLived.closed()).toBeUndefined();
    await shortLived.until(() => shortLived.closed() !== undefined, 5_000);
    expect(shortLived.closed()).toEqual({ code: 4401, reason: 'Unauthorized: token expired' });
  });

  it('refuses hostile and malformed operations without closing others', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{ cases { totalCount } }', /Only subscriptions/],
      ['subscription { caseEvents { id nope } }', /Cannot query field .{0,2}nope/],
      ['subscription { caseEvents { id ', /Syntax Error/],
      [
        `subscription { caseEvents { case { partner { cases { edges { node { partner { cases { edges { node { ` +
          `partner { cases { edges { node { id } } } } } } } } } } } } } } }`,
        /depth/i,
      ],
      [
        `subscription { ${Array.from({ length: 30 }, (_, i) => `a${i}: caseEvents { id }`).join(' ')} }`,
        /alias|single root field/i,
      ],
    ];
    for (const [query, message] of cases) {
      const s = subscriber(urls[0], tokens.admin!, query);
      await s.until(() => s.errors.length > 0 || s.closed() !== undefined);
      expect(JSON.stringify(s.errors), query.slice(0, 40)).toMatch(message);
      await s.stop();
    }
    // A frame over the size limit closes that socket only.
    const socket = new WebSocket(urls[0], 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    const code = new Promise<number>((resolve) => socket.once('close', (c: number) => resolve(c)));
    socket.send(
      JSON.stringify({
        type: 'connection_init',
        payload: { authorization: `Bearer ${tokens.admin}`, pad: 'x'.repeat(300_000) },
      }),
    );
    expect(await code).toBe(1009);
    const fine = subscriber(urls[0], tokens.admin!, 'subscription { caseEvents { id } }');
    await fine.ready();
    await publish(target, 1);
    await fine.until(() => fine.events.length >= 1);
    expect(fine.events).toHaveLength(1);
    await fine.stop();
  });

  it('many cases at once, subscribers with equal rights: one casesById query gives each its own case', async () => {
    // Twenty subscribers with the same rights and selection (twenty dashboards: one principal
    // may hold only WS_MAX_CONNECTIONS_PER_PRINCIPAL sockets), each following another case:
    // their fetches for one burst of events coalesce into batches of distinct cases.
    const many = await models().Case.find({}).limit(20).lean<CaseDoc[]>().exec();
    const query =
      'subscription($filter: CaseEventFilter) { caseEvents(filter: $filter) { id caseId case { ref: ' +
      'caseReference s: status n: familySize } } }';
    const dashboards = await Promise.all(
      many.map((_, i) => mintToken({ subject: `dashboard-${i}`, role: 'ADMIN' }, system.config)),
    );
    const subs = many.map((doc, i) =>
      subscriber(urls[i % 2]!, dashboards[i]!, query, { filter: { caseIds: [doc._id.toHexString()] } }),
    );
    await Promise.all(subs.map((s) => s.ready()));
    await publishCaseEvents(
      system.redis,
      system.config.QUEUE_PREFIX,
      many.map((doc, i) => ({
        type: 'case.updated' as const,
        caseId: doc._id.toHexString(),
        version: i,
        at: new Date().toISOString(),
        before: factsOf(doc),
        after: factsOf(doc),
      })),
    );
    for (const s of subs) await s.until(() => s.events.length + s.errors.length >= 1);
    expect(subs.flatMap((s) => s.errors)).toEqual([]);
    expect(subs.map((s) => (s.events[0]?.case as { ref: string } | undefined)?.ref)).toEqual(
      many.map((d) => d.caseReference),
    );
    await Promise.all(subs.map((s) => s.stop()));
  });

  it('one payload per group: equal rights and selection get the same case, other rights their own', async () => {
    // Without personal fields, each event's payload is executed once per rights class and
    // selection and shared; `caseReference` reads as a pseudonym for analysts, so a payload
    // that crossed classes would show.
    const query =
      'subscription($filter: CaseEventFilter) { caseEvents(filter: $filter) { id caseId ' +
      'case { caseReference status partner { name } } } }';
    const variables = { filter: { caseIds: [target._id.toHexString()] } };
    const secondAdmin = await mintToken({ subject: 'ops-2', role: 'ADMIN' }, system.config);
    const subs = {
      admin: subscriber(urls[0], tokens.admin!, query, variables),
      admin2: subscriber(urls[0], secondAdmin, query, variables),
      analyst: subscriber(urls[0], tokens.analyst!, query, variables),
      analyst2: subscriber(urls[0], tokens.analyst!, query, variables),
      owner: subscriber(urls[0], tokens.owner!, query, variables),
      otherMs: subscriber(urls[0], tokens.otherMs!, query, variables),
      // The same selection with other variables: a group of its own, whose filter lets nothing through.
      elsewhere: subscriber(urls[0], tokens.admin!, query, { filter: { caseIds: ['000000000000000000000000'] } }),
    };
    await Promise.all(Object.values(subs).map((s) => s.ready()));
    await publish(target, 2);
    const receivers = [subs.admin, subs.admin2, subs.analyst, subs.analyst2, subs.owner];
    for (const s of receivers) await s.until(() => s.events.length + s.errors.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(Object.values(subs).flatMap((s) => s.errors)).toEqual([]);
    const reference = (s: (typeof receivers)[number]) => s.events.map((e) => e.case?.caseReference);
    expect(reference(subs.admin)).toEqual(['BE-SUB-1', 'BE-SUB-1']);
    expect(subs.admin2.events).toEqual(subs.admin.events);
    expect(reference(subs.owner)).toEqual(['BE-SUB-1', 'BE-SUB-1']);
    expect(reference(subs.analyst)).toEqual([expect.stringMatching(/^CR-/), expect.stringMatching(/^CR-/)]);
    expect(subs.analyst2.events).toEqual(subs.analyst.events);
    expect(subs.otherMs.events).toEqual([]);
    expect(subs.elsewhere.events).toEqual([]);
    await Promise.all(Object.values(subs).map((s) => s.stop()));
  });

  it('a gateway shutting down closes its sockets with 1001 and stops promptly, even with a silent client', async () => {
    const held = subscriber(urls[1], tokens.admin!, 'subscription { caseEvents { id } }');
    await held.ready();
    const deaf = new WebSocket(urls[1], 'graphql-transport-ws');
    await new Promise((resolve) => deaf.once('open', resolve));
    deaf.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${tokens.admin}` } }));
    await new Promise((resolve) => deaf.once('message', resolve));
    deaf.pause(); // reads nothing more: it will never answer the close
    const started = Date.now();
    await second.shutdown('test: rolling restart');
    expect(Date.now() - started).toBeLessThan(5_000);
    await held.until(() => held.closed() !== undefined);
    expect(held.closed()!.code).toBe(1001);
    deaf.terminate();
  });
});
