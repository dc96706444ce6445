import { buildSchema, GraphQLError, parse, type ExecutionResult, type GraphQLFieldResolver } from 'graphql';
import { describe, expect, it } from 'vitest';
import { PayloadSharing } from '../../gateway/subscriptions/payloads.js';
import type { SubscriptionContext } from '../../gateway/subscriptions/schema.js';
import type { Principal } from '../../shared/auth.js';

/**
 * Issue #18: each event's payload is executed once per group of subscribers who get the same
 * one (rights class, document, operation name, variables; no personal or reader-dependent
 * field), and every other subscription executes its own.
 */
const SDL = `
  type Query { ok: Boolean }
  type Subscription { events(tag: String): Event! }
  type Event { id: ID! caseId: ID! case: Case }
  type Case { id: ID! reference: String closingReason: String unreadMessageCount: Int }
`;
const personalFields = new Set(['Case.closingReason']);

interface Event {
  id: string;
  caseId: string;
}

/** Per-subscriber event queues, as the hub keeps them: each subscription's events are its own. */
class FakeHub {
  private readonly queues = new Set<{ queue: unknown[]; wake?: () => void }>();
  subscribe(): AsyncIterableIterator<unknown> {
    const entry: { queue: unknown[]; wake?: () => void; closed?: boolean } = { queue: [] };
    this.queues.add(entry);
    const iterator: AsyncIterableIterator<unknown> = {
      next: async () => {
        for (;;) {
          if (entry.closed) return { done: true, value: undefined };
          if (entry.queue.length > 0) return { done: false, value: entry.queue.shift() };
          await new Promise<void>((resolve) => (entry.wake = resolve));
        }
      },
      return: async () => {
        entry.closed = true;
        this.queues.delete(entry);
        entry.wake?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
  publish(event: unknown) {
    for (const entry of this.queues) {
      entry.queue.push(event);
      entry.wake?.();
    }
  }
}

/** The schema's resolvers: `case` answers with who read it (rights, and the subject for personal fields). */
function harness(maxResults?: number) {
  const schema = buildSchema(SDL);
  const hub = new FakeHub();
  let caseResolves = 0;
  const subscriptionType = schema.getSubscriptionType()!;
  const events = subscriptionType.getFields().events!;
  events.subscribe = (_source, args: { tag?: string }) => {
    if (args.tag === 'refuse') throw new GraphQLError('refused here', { extensions: { code: 'FORBIDDEN' } });
    return hub.subscribe();
  };
  events.resolve = (event) => event;
  const eventFields = schema.getType('Event') as unknown as { getFields(): Record<string, { resolve?: unknown }> };
  const caseResolve: GraphQLFieldResolver<Event, SubscriptionContext> = (event, _args, ctx) => {
    caseResolves++;
    const p = ctx.principal;
    if (event.caseId === 'broken') ctx.payloadErrors.push(new GraphQLError('a subgraph failed'));
    return {
      id: event.caseId,
      reference: `${event.caseId}:${p.role}:${p.memberState ?? ''}:${p.partnerId ?? ''}`,
      closingReason: `read by ${p.subject}`,
      unreadMessageCount: p.subject.length,
    };
  };
  eventFields.getFields().case!.resolve = caseResolve;
  const sharing = new PayloadSharing({ schema, personalFields, ...(maxResults ? { maxResults } : {}) });
  const subscribeAs = async (
    principal: Principal,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<AsyncGenerator<ExecutionResult, void, void> | ExecutionResult> => {
    const contextValue: SubscriptionContext = {
      principal,
      connectionId: principal.subject,
      fetchCase: (() => undefined) as unknown as SubscriptionContext['fetchCase'],
      payloadErrors: [],
    };
    const group = sharing.join(principal, query, undefined, variables);
    return sharing.subscribe({ schema, document: parse(query), contextValue, variableValues: variables }, group);
  };
  return { hub, sharing, subscribeAs, caseResolves: () => caseResolves };
}

const stream = (value: AsyncGenerator<ExecutionResult, void, void> | ExecutionResult) => {
  if (!(Symbol.asyncIterator in value)) throw new Error('expected a stream, got a result');
  return value;
};
const take = async (s: AsyncGenerator<ExecutionResult, void, void>) => (await s.next()).value as ExecutionResult;

const analyst = (n: number): Principal => ({ subject: `analyst-${n}`, role: 'EU_ANALYST' });
const ministry = (n: number, memberState: string): Principal => ({
  subject: `ministry-${n}`,
  role: 'MEMBER_STATE',
  memberState,
});
const OPEN = 'subscription { events { id case { id reference } } }';

describe('subscription payloads executed once per group', () => {
  it('executes each event once for a whole group and sends every subscriber the same result', async () => {
    const { hub, sharing, subscribeAs, caseResolves } = harness();
    const streams = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => stream(await subscribeAs(analyst(i), OPEN))),
    );
    expect(sharing.groupCount).toBe(1);
    for (let e = 0; e < 3; e++) hub.publish({ id: `${e + 1}-0`, caseId: `c${e}` });
    for (let e = 0; e < 3; e++) {
      const results = await Promise.all(streams.map(take));
      expect(new Set(results).size).toBe(1);
      expect(results[0]!.data).toEqual({
        events: { id: `${e + 1}-0`, case: { id: `c${e}`, reference: `c${e}:EU_ANALYST::` } },
      });
    }
    expect(sharing.executions).toBe(3);
    expect(caseResolves()).toBe(3);
    await Promise.all(streams.map((s) => s.return()));
    expect(sharing.groupCount).toBe(0);
  });

  it('never shares a payload between rights classes', async () => {
    const { hub, sharing, subscribeAs } = harness();
    const de = [stream(await subscribeAs(ministry(1, 'DE'), OPEN)), stream(await subscribeAs(ministry(2, 'DE'), OPEN))];
    const fr = stream(await subscribeAs(ministry(3, 'FR'), OPEN));
    const partner = stream(await subscribeAs({ subject: 'p', role: 'PARTNER', partnerId: 'IOM' }, OPEN));
    hub.publish({ id: '1-0', caseId: 'c1' });
    const [de1, de2, fr1, p1] = await Promise.all([...de, fr, partner].map(take));
    expect(de1).toBe(de2);
    expect(fr1).not.toBe(de1);
    expect((de1!.data as { events: { case: { reference: string } } }).events.case.reference).toBe(
      'c1:MEMBER_STATE:DE:',
    );
    expect((fr1!.data as { events: { case: { reference: string } } }).events.case.reference).toBe(
      'c1:MEMBER_STATE:FR:',
    );
    expect((p1!.data as { events: { case: { reference: string } } }).events.case.reference).toBe('c1:PARTNER::IOM');
    expect(sharing.executions).toBe(3);
  });

  it('executes a personal or reader-dependent selection per reader', async () => {
    for (const field of ['closingReason', 'unreadMessageCount']) {
      const { hub, sharing, subscribeAs } = harness();
      const query = `subscription { events { id case { id ${field} } } }`;
      const a = stream(await subscribeAs(analyst(1), query));
      const b = stream(await subscribeAs(analyst(22), query));
      hub.publish({ id: '1-0', caseId: 'c1' });
      const [ra, rb] = await Promise.all([take(a), take(b)]);
      expect(sharing.executions).toBe(2);
      expect(ra).not.toEqual(rb);
      if (field === 'closingReason') {
        expect((ra!.data as { events: { case: Record<string, unknown> } }).events.case[field]).toBe(
          'read by analyst-1',
        );
        expect((rb!.data as { events: { case: Record<string, unknown> } }).events.case[field]).toBe(
          'read by analyst-22',
        );
      }
      expect(sharing.groupCount).toBe(0);
    }
  });

  it('gives a subscriber with a different selection or variables its own execution', async () => {
    const { hub, sharing, subscribeAs } = harness();
    const withTag = 'subscription ($tag: String) { events(tag: $tag) { id case { id reference } } }';
    const streams = [
      stream(await subscribeAs(analyst(1), OPEN)),
      stream(await subscribeAs(analyst(2), 'subscription { events { id caseId } }')),
      stream(await subscribeAs(analyst(3), withTag, { tag: 'a' })),
      stream(await subscribeAs(analyst(4), withTag, { tag: 'b' })),
      stream(await subscribeAs(analyst(5), withTag, { tag: 'a' })),
    ];
    expect(sharing.groupCount).toBe(4);
    hub.publish({ id: '1-0', caseId: 'c1' });
    const results = await Promise.all(streams.map(take));
    expect(sharing.executions).toBe(4);
    expect(results[2]).toBe(results[4]);
    expect(results[2]).not.toBe(results[3]);
    expect(results[1]!.data).toEqual({ events: { id: '1-0', caseId: 'c1' } });
  });

  it('keeps payload errors in the result and does not keep a failed payload for later subscribers', async () => {
    const { hub, sharing, subscribeAs } = harness();
    const first = stream(await subscribeAs(analyst(1), OPEN));
    const late = stream(await subscribeAs(analyst(2), OPEN));
    hub.publish({ id: '1-0', caseId: 'broken' });
    const failed = await take(first);
    expect(failed.errors?.map((e) => e.message)).toEqual(['a subgraph failed']);
    await new Promise((r) => setTimeout(r, 5));
    // The late subscriber executes again (the failure may have passed).
    const again = await take(late);
    expect(again.errors?.map((e) => e.message)).toEqual(['a subgraph failed']);
    expect(again).not.toBe(failed);
    expect(sharing.executions).toBe(2);
  });

  it('handles hostile and odd input: refused subscriptions, events without ids, many groups', async () => {
    const { hub, sharing, subscribeAs } = harness();
    const refused = await subscribeAs(analyst(1), 'subscription ($tag: String) { events(tag: $tag) { id } }', {
      tag: 'refuse',
    });
    expect(Symbol.asyncIterator in refused).toBe(false);
    expect((refused as ExecutionResult).errors?.[0]?.message).toBe('refused here');
    expect(sharing.groupCount).toBe(0);
    // A document naming an operation it does not hold: refused, and the group is left.
    const group = sharing.join(analyst(1), OPEN, 'Missing', undefined);
    expect(sharing.groupCount).toBe(1);
    const missing = await sharing
      .subscribe({ schema: buildSchema(SDL), document: parse(OPEN), operationName: 'Missing' }, group)
      .catch((error: unknown) => error);
    expect(sharing.groupCount).toBe(0);
    expect((missing as ExecutionResult).errors?.[0]?.message).toMatch(/Unknown operation named "Missing"/);
    // An event without a string id is never shared (no key to share it by).
    const a = stream(await subscribeAs(analyst(2), OPEN));
    const b = stream(await subscribeAs(analyst(3), OPEN));
    hub.publish({ id: 7, caseId: 'c7' });
    const [ra, rb] = await Promise.all([take(a), take(b)]);
    expect(ra).not.toBe(rb);
    expect(sharing.executions).toBe(2);
    await Promise.all([a.return(), b.return()]);
    // A thousand distinct variable values: a thousand groups, all gone once their subscriptions end.
    const many = await Promise.all(
      Array.from({ length: 1000 }, async (_, i) =>
        stream(
          await subscribeAs(analyst(i), 'subscription ($tag: String) { events(tag: $tag) { id } }', {
            tag: `${'x'.repeat(1000)}${i}`,
          }),
        ),
      ),
    );
    expect(sharing.groupCount).toBe(1000);
    // A document that does not parse, or names fields the schema lacks, joins no group.
    expect(sharing.join(analyst(1), 'subscription { events { ', undefined, undefined)).toBeNull();
    expect(sharing.join(analyst(1), '{'.repeat(10_000), undefined, undefined)).toBeNull();
    await Promise.all(many.map((s) => s.return()));
    expect(sharing.groupCount).toBe(0);
  });

  it('keeps at most maxResults payloads: a subscriber past them executes again', async () => {
    const { hub, sharing, subscribeAs } = harness(2);
    const open = async (principal: Principal) => stream(await subscribeAs(principal, OPEN));
    const fast = await open(analyst(1));
    const slow = await open(analyst(2));
    for (let e = 1; e <= 4; e++) hub.publish({ id: `${e}-0`, caseId: `c${e}` });
    for (let e = 1; e <= 4; e++) await take(fast);
    expect(sharing.executions).toBe(4);
    // Events 1 and 2 were dropped (oldest first); executing them again drops 3 and 4 in turn.
    const first = await take(slow);
    expect(sharing.executions).toBe(5);
    expect(first.data).toEqual({ events: { id: '1-0', case: { id: 'c1', reference: 'c1:EU_ANALYST::' } } });
    for (let e = 2; e <= 4; e++) await take(slow);
    expect(sharing.executions).toBe(8);
  });
});
