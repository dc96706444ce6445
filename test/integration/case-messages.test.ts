import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { caseMessageModels } from '../../subgraphs/cases/messages/models.js';
import { postMessage } from '../../subgraphs/cases/messages/thread.js';
import type { CaseEvent } from '../../shared/case-events/index.js';
import { collectSubscription } from '../helpers/subscriptions.js';
import { startTestSystem, testConfig, type TestSystem } from '../helpers/system.js';
import { startWebhookDelivery } from '../helpers/webhooks.js';

interface MessageNode {
  id: string;
  topic: string;
  authorRole: string;
  authorSubject: string;
  inReplyTo: string | null;
  body: string | null;
}
interface Thread {
  edges: Array<{ cursor: string; node: MessageNode }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}
interface CaseView {
  messageCount: number;
  unreadMessageCount: number | null;
  messages: Thread | null;
}
interface EventSeen {
  id: string;
  type: string;
  caseId: string;
  caseMessage: { id: string; authorRole: string; topic: string } | null;
  case: { messages: { edges: Array<{ node: { id: string; body: string | null } }> } | null } | null;
}

const THREAD = `query($id: ID!, $first: Int, $after: String, $order: CaseMessageOrder) {
  case(id: $id) {
    messageCount unreadMessageCount
    messages(first: $first, after: $after, order: $order) {
      edges { cursor node { id topic authorRole authorSubject inReplyTo body } }
      pageInfo { hasNextPage endCursor }
      totalCount
    }
  }
}`;
const POST = `mutation($id: ID!, $body: String!, $topic: CaseMessageTopic, $re: ID) {
  postCaseMessage(caseId: $id, body: $body, topic: $topic, inReplyTo: $re) { id topic authorRole inReplyTo body }
}`;
const MARK = `mutation($id: ID!, $upTo: ID) { markCaseMessagesRead(caseId: $id, upTo: $upTo) { unreadMessageCount } }`;

const QUESTION = 'Please say which supplier delivers the tools for Karim Nouri, and when.';
const ANSWER = 'The local subcontractor Atelier Herat delivers them in the second week.';

/**
 * Case messages end to end through the gateway: the owning Member State asks the partner to
 * clarify the plan, the partner answers, both read the thread; nobody else reads a body; the
 * thread's events reach a subscription and a webhook; the reads are logged; erasure clears it.
 */
describe('case messages', () => {
  let system: TestSystem;
  let target: CaseDoc;
  let other: CaseDoc;
  let receiver: Server;
  let delivery: Awaited<ReturnType<typeof startWebhookDelivery>>;
  const hits: Array<{ path: string; body: string }> = [];
  const h: Record<string, Record<string, string>> = {};
  const tokens: Record<string, string> = {};
  const ids: { question?: string; answer?: string } = {};
  const events: EventSeen[] = [];
  let ws: Client;
  const until = async (check: () => boolean | Promise<boolean>, ms = 15_000) => {
    const deadline = Date.now() + ms;
    while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  };
  const thread = (who: string, variables: Record<string, unknown> = {}) =>
    system.graphql<{ case: CaseView | null }>(THREAD, { id: target._id.toHexString(), ...variables }, h[who]);
  const post = (who: string, body: unknown, extra: Record<string, unknown> = {}, id = target._id.toHexString()) =>
    system.graphql<{ postCaseMessage: MessageNode }>(POST, { id, body, ...extra }, h[who]);
  const mark = (who: string, upTo?: string) =>
    system.graphql<{ markCaseMessagesRead: { unreadMessageCount: number } }>(
      MARK,
      { id: target._id.toHexString(), ...(upTo ? { upTo } : {}) },
      h[who],
    );
  const record = (ref: string) => ({
    memberState: 'BE',
    caseReference: ref,
    recordVersion: 1,
    returnType: 'VOLUNTARY',
    packages: ['POST_ARRIVAL', 'POST_RETURN'],
    countryOfOrigin: 'AF',
    departureDate: '2024-03-01',
    mainApplicant: { name: 'Karim Nouri', dateOfBirth: '1990-01-01', sex: 'MALE' },
    eligibility: { requestDate: '2024-03-10', applicationSigned: true },
  });

  beforeAll(async () => {
    system = await startTestSystem({
      config: testConfig({
        WEBHOOK_ALLOW_HTTP: 'true',
        WEBHOOK_ALLOW_PRIVATE_NETWORK: 'true',
        WEBHOOK_ATTEMPTS: '2',
        WEBHOOK_BACKOFF_MS: '50',
      }),
    });
    const report = await system.ingest('BE', [record('BE-MSG-1'), record('BE-MSG-2')]);
    expect(report.counts.created, JSON.stringify(report.rejected)).toBe(2);
    const models = casesModels(system.connections.cases);
    target = (await models.Case.findOne({ caseReference: 'BE-MSG-1' }).lean<CaseDoc>().exec())!;
    other = (await models.Case.findOne({ caseReference: 'BE-MSG-2' }).lean<CaseDoc>().exec())!;
    expect(target.partnerId).toBeTruthy();
    const otherPartner = target.partnerId === 'weldo' ? 'irara' : 'weldo';
    const principals: Record<string, Principal> = {
      officer: { subject: 'be-officer', role: 'MEMBER_STATE', memberState: 'BE' },
      partner: { subject: 'partner-worker', role: 'PARTNER', partnerId: target.partnerId! },
      otherState: { subject: 'nl-officer', role: 'MEMBER_STATE', memberState: 'NL' },
      otherPartner: { subject: 'other-partner', role: 'PARTNER', partnerId: otherPartner },
      analyst: { subject: 'eu-analyst', role: 'EU_ANALYST' },
      desk: { subject: 'desk-user', role: 'SUPPORT_DESK' },
      admin: { subject: 'admin-user', role: 'ADMIN' },
    };
    for (const [name, principal] of Object.entries(principals)) {
      h[name] = await system.as(principal);
      tokens[name] = h[name]!.authorization!.slice('Bearer '.length);
    }
    h.anonymous = { authorization: '' };

    // The partner's webhook endpoint, for MESSAGE_POSTED only.
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        hits.push({ path: req.url ?? '/', body });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/messages`;
    const registered = await system.graphql(
      'mutation($u: String!) { registerWebhook(url: $u, eventTypes: [MESSAGE_POSTED]) { id } }',
      { u: url },
      h.partner,
    );
    expect(registered.body.errors).toBeUndefined();
    delivery = await startWebhookDelivery(system, 'messages', { allowPrivate: true });

    // The partner's subscription: MESSAGE_POSTED of its cases, with the body fetched through the graph.
    ws = await collectSubscription<EventSeen>(
      system,
      `Bearer ${tokens.partner}`,
      `subscription { caseEvents(filter: { types: [MESSAGE_POSTED] }) {
          id type caseId caseMessage { id authorRole topic }
          case { messages(first: 1) { edges { node { id body } } } }
        } }`,
      'caseEvents',
      events,
    );
  });
  afterAll(async () => {
    await ws?.dispose();
    await delivery?.stop();
    receiver?.close();
    await system?.stop();
  });

  it('the Member State asks for a clarification on the plan, the partner answers, both read the thread', async () => {
    const asked = await post('officer', `  ${QUESTION}\n`, { topic: 'PLAN_CLARIFICATION' });
    expect(asked.body.errors).toBeUndefined();
    const question = asked.body.data!.postCaseMessage;
    expect(question).toMatchObject({ topic: 'PLAN_CLARIFICATION', authorRole: 'MEMBER_STATE', body: QUESTION });
    ids.question = question.id;

    // The partner has one unread message, and reads it.
    const before = (await thread('partner')).body.data!.case!;
    expect(before.unreadMessageCount).toBe(1);
    expect(before.messages!.edges.map((e) => e.node.body)).toEqual([QUESTION]);

    // Its answer keeps the question's topic.
    const answered = await post('partner', ANSWER, { re: question.id });
    expect(answered.body.errors).toBeUndefined();
    const answer = answered.body.data!.postCaseMessage;
    expect(answer).toMatchObject({ topic: 'PLAN_CLARIFICATION', authorRole: 'PARTNER', inReplyTo: question.id });
    ids.answer = answer.id;

    for (const who of ['officer', 'partner']) {
      const view = (await thread(who)).body.data!.case!;
      expect(view.messageCount, who).toBe(2);
      expect(
        view.messages!.edges.map((e) => [e.node.authorSubject, e.node.body]),
        who,
      ).toEqual([
        ['partner-worker', ANSWER],
        ['be-officer', QUESTION],
      ]);
    }
    // Oldest first, one at a time, with cursors.
    const first = (await thread('officer', { first: 1, order: 'OLDEST_FIRST' })).body.data!.case!.messages!;
    expect(first.edges.map((e) => e.node.id)).toEqual([question.id]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect(first.totalCount).toBe(2);
    const second = (await thread('officer', { first: 1, order: 'OLDEST_FIRST', after: first.pageInfo.endCursor })).body
      .data!.case!.messages!;
    expect(second.edges.map((e) => e.node.id)).toEqual([answer.id]);
    expect(second.pageInfo.hasNextPage).toBe(false);

    // Unread per reader: the officer has the answer to read, the partner still its question.
    expect((await thread('officer')).body.data!.case!.unreadMessageCount).toBe(1);
    expect((await thread('partner')).body.data!.case!.unreadMessageCount).toBe(1);
    expect((await mark('partner')).body.data!.markCaseMessagesRead.unreadMessageCount).toBe(0);
    expect((await mark('officer', answer.id)).body.data!.markCaseMessagesRead.unreadMessageCount).toBe(0);
    // Marking an older message read does not move the marker back.
    expect((await mark('officer', question.id)).body.data!.markCaseMessagesRead.unreadMessageCount).toBe(0);
  });

  it('other Member States and partners, analysts, administrators, the desk without access: no bodies', async () => {
    for (const who of ['otherState', 'otherPartner']) {
      expect((await thread(who)).body.data!.case, who).toBeNull();
      const refused = await post(who, 'Hello');
      expect(refused.body.errors?.[0]?.extensions?.code, who).toBe('NOT_FOUND');
      expect((await mark(who)).body.errors?.[0]?.extensions?.code, who).toBe('NOT_FOUND');
    }
    for (const who of ['analyst', 'admin', 'desk']) {
      const result = await thread(who);
      expect(result.body.errors, who).toBeUndefined();
      // The count names no one: shown. The thread and the unread count: not.
      expect(result.body.data!.case, who).toEqual({ messageCount: 2, unreadMessageCount: null, messages: null });
      const refused = await post(who, 'Hello');
      expect(refused.body.errors?.[0]?.extensions?.code, who).toBe('FORBIDDEN');
      expect(refused.body.errors?.[0]?.message, who).toContain(target._id.toHexString());
      expect((await mark(who)).body.errors?.[0]?.extensions?.code, who).toBe('FORBIDDEN');
    }
    // Ids that name no case, or are not ids at all: the same answer as a case one may not see.
    for (const id of ['65f000000000000000000000', 'not-an-id', '{"$ne": null}']) {
      const refused = await post('officer', 'Hello', {}, id);
      expect(refused.body.errors?.[0]?.extensions?.code, id).toBe('NOT_FOUND');
    }
    const anonymous = await post('anonymous', 'Hello');
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('the support desk takes part while it holds a justified access', async () => {
    const granted = await system.graphql(
      'mutation($id: ID!, $j: String!) { openPersonalDataAccess(caseId: $id, justification: $j) { id } }',
      { id: target._id.toHexString(), j: 'Ticket 4711: the partner asks for help with the plan clarification' },
      h.desk,
    );
    expect(granted.body.errors).toBeUndefined();
    const view = (await thread('desk')).body.data!.case!;
    expect(view.messages!.edges.map((e) => e.node.body)).toEqual([ANSWER, QUESTION]);
    const posted = await post('desk', 'The supplier list is in the programme rules, annex 3.', { topic: 'GENERAL' });
    expect(posted.body.data!.postCaseMessage).toMatchObject({ authorRole: 'SUPPORT_DESK', topic: 'GENERAL' });
    expect((await thread('officer')).body.data!.case!.unreadMessageCount).toBe(1);
  });

  it('refuses malformed, oversized and hostile input, saying what and where', async () => {
    const otherMessage = await post('officer', 'On the other case', {}, other._id.toHexString());
    expect(otherMessage.body.errors).toBeUndefined();
    const cases: Array<[string, unknown, Record<string, unknown>, string]> = [
      ['empty', '   ', {}, 'body'],
      ['too long', 'x'.repeat(4_001), {}, 'body'],
      ['a NUL byte', 'a\u0000b', {}, 'body'],
      ['a bidi override', 'see \u202Efdp.exe', {}, 'body'],
      ['a malformed inReplyTo', 'ok', { re: '{"$gt": ""}' }, 'inReplyTo'],
      ['a reply to another case', 'ok', { re: otherMessage.body.data!.postCaseMessage.id }, 'inReplyTo'],
      ['a reply to no message', 'ok', { re: '65f000000000000000000000' }, 'inReplyTo'],
    ];
    for (const [what, body, extra, argument] of cases) {
      const result = await post('officer', body, extra);
      expect(result.body.errors?.[0]?.extensions, what).toMatchObject({
        code: 'BAD_USER_INPUT',
        argumentName: argument,
      });
      expect(result.body.errors?.[0]?.message, what).toContain(`"${argument}"`);
    }
    const unknownTopic = await post('officer', 'ok', { topic: 'EVERYTHING' });
    expect(unknownTopic.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    for (const [variables, argument] of [
      [{ first: 101 }, 'first'],
      [{ first: 0 }, 'first'],
      [{ after: 'bm90IGEgY3Vyc29y' }, 'after'],
      [{ after: 'x'.repeat(500) }, 'after'],
    ] as const) {
      const result = await thread('officer', variables);
      expect(result.body.errors?.[0]?.extensions, JSON.stringify(variables)).toMatchObject({
        code: 'BAD_USER_INPUT',
        argumentName: argument,
      });
    }
    const badMark = await mark('officer', 'not-an-id');
    expect(badMark.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'upTo' });
    // Nothing refused was stored.
    expect(
      await caseMessageModels(system.connections.cases).Message.countDocuments({ caseId: target._id.toHexString() }),
    ).toBe(3);
  });

  it("the partner's caseEvents subscription gets MESSAGE_POSTED and fetches the body through the graph", async () => {
    await until(() => events.length >= 3);
    const ofTarget = events.filter((e) => e.caseId === target._id.toHexString());
    expect(ofTarget.map((e) => [e.type, e.caseMessage])).toEqual([
      ['MESSAGE_POSTED', { id: ids.question, authorRole: 'MEMBER_STATE', topic: 'PLAN_CLARIFICATION' }],
      ['MESSAGE_POSTED', { id: ids.answer, authorRole: 'PARTNER', topic: 'PLAN_CLARIFICATION' }],
      ['MESSAGE_POSTED', expect.objectContaining({ authorRole: 'SUPPORT_DESK', topic: 'GENERAL' })],
    ]);
    // The case is fetched as the subscriber: it reads the thread, so the body comes back.
    expect(ofTarget[0]!.case!.messages!.edges).toHaveLength(1);
    expect(typeof ofTarget[0]!.case!.messages!.edges[0]!.node.body).toBe('string');
  });

  it("the partner's webhook endpoint receives MESSAGE_POSTED naming the message, never its body", async () => {
    await until(() => hits.filter((hit) => hit.body.includes(target._id.toHexString())).length >= 3);
    const payloads = hits
      .map((hit) => JSON.parse(hit.body) as { type: string; caseId: string; caseMessage?: { id: string } })
      .filter((p) => p.caseId === target._id.toHexString());
    expect(payloads.map((p) => p.type)).toEqual(['MESSAGE_POSTED', 'MESSAGE_POSTED', 'MESSAGE_POSTED']);
    expect(payloads.map((p) => p.caseMessage?.id).slice(0, 2)).toEqual([ids.question, ids.answer]);
    for (const hit of hits) {
      expect(hit.body).not.toContain('Karim');
      expect(hit.body).not.toContain('Atelier');
    }
  });

  it('the personal data access log records the bodies served, to whom; none for those who got none', async () => {
    const log = await system.graphql<{ personalDataReads: Array<{ actorSubject: string; fields: string[] }> }>(
      'query($id: ID!) { personalDataReads(caseId: $id, first: 200) { actorSubject fields } }',
      { id: target._id.toHexString() },
    );
    expect(log.body.errors).toBeUndefined();
    const readers = new Set(
      log.body.data!.personalDataReads.filter((r) => r.fields.includes('messages.body')).map((r) => r.actorSubject),
    );
    expect([...readers].sort()).toEqual(['be-officer', 'desk-user', 'partner-worker']);
    const subjects = new Set(log.body.data!.personalDataReads.map((r) => r.actorSubject));
    for (const never of ['eu-analyst', 'admin-user', 'nl-officer', 'other-partner'])
      expect(subjects.has(never)).toBe(false);
  });

  it("erasure clears the thread's bodies, records how many, and closes the thread", async () => {
    const erased = await system.graphql<{ erasePersonalData: { messageBodies: number } }>(
      'mutation($id: ID!) { erasePersonalData(caseId: $id, requestReference: "APD-2024-7") { messageBodies } }',
      { id: target._id.toHexString() },
      h.officer,
    );
    expect(erased.body.errors).toBeUndefined();
    expect(erased.body.data!.erasePersonalData.messageBodies).toBe(3);
    const view = (await thread('officer')).body.data!.case!;
    expect(view.messageCount).toBe(3);
    expect(view.messages!.edges.map((e) => e.node.body)).toEqual([null, null, null]);
    const stored = await caseMessageModels(system.connections.cases)
      .Message.find({ caseId: target._id.toHexString() })
      .lean()
      .exec();
    expect(stored.map((m) => m.body)).toEqual([null, null, null]);
    expect(JSON.stringify(stored)).not.toContain('Karim');
    const closed = await post('partner', 'One more thing');
    expect(closed.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // The other case's thread is untouched.
    const untouched = await caseMessageModels(system.connections.cases)
      .Message.find({ caseId: other._id.toHexString() })
      .lean()
      .exec();
    expect(untouched.map((m) => m.body)).toEqual(['On the other case']);
  });
  it('a message stored while an erasure marks the case loses its body, is refused and is not announced', async () => {
    const models = caseMessageModels(system.connections.cases);
    const published: CaseEvent[] = [];
    const principal: Principal = { subject: 'be-officer', role: 'MEMBER_STATE', memberState: 'BE' };
    const attempt = postMessage(
      models,
      async (events) => published.push(...events),
      other,
      principal,
      { body: 'Karim asked again about the tools' },
      async () => true, // the erasure's mark landed while the message was stored
    );
    await expect(attempt).rejects.toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    expect(published).toEqual([]);
    const stored = await models.Message.find({ caseId: other._id.toHexString() }).sort({ _id: 1 }).lean().exec();
    // The whole thread is scrubbed, as the erasure does: the case's personal data is gone.
    expect(stored.map((m) => m.body)).toEqual([null, null]);
    expect(stored.map((m) => m.erasedAt instanceof Date)).toEqual([true, true]);
  });
});
