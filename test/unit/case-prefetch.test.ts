import type { ApolloServer } from '@apollo/server';
import {
  buildSchema,
  GraphQLError,
  Kind,
  parse,
  type FieldNode,
  type GraphQLResolveInfo,
  type OperationDefinitionNode,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import type { GatewayContext } from '../../gateway/datasource.js';
import { caseFetcher } from '../../gateway/subscriptions/case-fetch.js';
import type { Principal } from '../../shared/auth.js';
import type { CaseEventMessage } from '../../shared/case-events/index.js';
import { createLogger } from '../../shared/logger.js';

/**
 * Issue #18: the case of an event is fetched as soon as the event is queued for a
 * subscription (prefetch), not when the subscriber has been sent every earlier event; the
 * rights class still shares one fetch, personal selections are still fetched (and logged)
 * per reader at delivery, and no answer crosses rights.
 */
const schema = buildSchema(`
  type Query { case(id: ID!): Case casesById(ids: [ID!]!): [Case] }
  type Case { id: ID! caseReference: String closingReason: String unreadMessageCount: Int partner: Partner }
  type Partner { name: String }
`);
const personalFields = new Set(['Case.closingReason']);

interface Call {
  principal: Principal;
  ids: string[];
  query: string;
}

/** An Apollo stand-in: answers each case asked for with its id and who asked, after `delayMs`; records every call. */
function fakeApollo(delayMs = 20, fail = () => false) {
  const calls: Call[] = [];
  const apollo = {
    executeOperation: async (
      request: { query: string; variables: Record<string, unknown> },
      { contextValue }: { contextValue: GatewayContext },
    ) => {
      const several = request.variables.__cases;
      const ids = Array.isArray(several) ? several.map(String) : [String(request.variables.__case0)];
      calls.push({ principal: contextValue.principal!, ids, query: request.query });
      await new Promise((r) => setTimeout(r, delayMs));
      if (fail()) return { body: { kind: 'single', singleResult: { data: null, errors: [{ message: 'down' }] } } };
      const asked = contextValue.principal!.subject;
      const data = Array.isArray(several)
        ? { casesById: ids.map((id) => ({ id, caseReference: `ref-${id}-for-${asked}` })) }
        : { case: { id: ids[0], caseReference: `ref-${ids[0]}-for-${asked}` } };
      return { body: { kind: 'single', singleResult: { data } } };
    },
  };
  return { apollo: apollo as unknown as ApolloServer<GatewayContext>, calls };
}

function infoFor(subscription: string): GraphQLResolveInfo {
  const document = parse(subscription);
  const operation = document.definitions[0] as OperationDefinitionNode;
  const events = operation.selectionSet.selections[0] as FieldNode;
  const caseField = events.selectionSet!.selections.find(
    (s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === 'case',
  )!;
  return { fieldNodes: [caseField], fragments: {}, operation, variableValues: {} } as unknown as GraphQLResolveInfo;
}

const message = (n: number): CaseEventMessage =>
  ({ id: `${1000 + n}-0`, caseId: `case${n}`, type: 'CASE_UPDATED' }) as unknown as CaseEventMessage;

const fetcherWith = (apollo: ApolloServer<GatewayContext>) =>
  caseFetcher({
    apollo,
    apiSchema: schema,
    personalFields,
    fetchesInFlight: 4,
    maxWaitMs: 5_000,
    logger: createLogger('test', { LOG_LEVEL: 'silent' }),
  });

const ANALYST_A: Principal = { subject: 'analyst-a', role: 'EU_ANALYST' };
const ANALYST_B: Principal = { subject: 'analyst-b', role: 'EU_ANALYST' };
const PARTNER: Principal = { subject: 'partner-tool', role: 'PARTNER', partnerId: 'weldo' };
const SHARED = 'subscription { caseEvents { id case { caseReference partner { name } } } }';
const PERSONAL = 'subscription { caseEvents { id case { caseReference closingReason } } }';

describe('prefetching the case of a queued event', () => {
  it('starts the fetch when the event is queued; the delivery then takes that fetch, not another', async () => {
    const { apollo, calls } = fakeApollo();
    const fetch = fetcherWith(apollo)(ANALYST_A, 'conn-1');
    const info = infoFor(SHARED);
    await fetch(message(1), info); // the first event teaches the fetcher the selection
    expect(calls).toHaveLength(1);
    fetch.prefetch(message(2));
    expect(calls).toHaveLength(1); // the batch waits one tick for the rest of the class
    await new Promise((r) => setImmediate(r));
    expect(calls.map((c) => c.ids)).toEqual([['case1'], ['case2']]);
    const delivered = await fetch(message(2), info);
    expect(delivered.value).toEqual({ id: 'case2', caseReference: 'ref-case2-for-analyst-a' });
    expect(calls).toHaveLength(2);
  });

  it('events queued while a fetch is in flight go out in one casesById query, each to its subscriber', async () => {
    const { apollo, calls } = fakeApollo(50);
    const fetcher = fetcherWith(apollo);
    const a = fetcher(ANALYST_A, 'conn-a');
    const b = fetcher(ANALYST_B, 'conn-b');
    const info = infoFor(SHARED);
    await Promise.all([a(message(1), info), b(message(1), infoFor(SHARED))]);
    expect(calls).toHaveLength(1); // same rights, same selection: one fetch
    for (const n of [2, 3, 4, 5]) {
      a.prefetch(message(n));
      b.prefetch(message(n));
      await new Promise((r) => setTimeout(r, 5));
    }
    const values = await Promise.all([2, 3, 4, 5].map((n) => b(message(n), info)));
    expect(values.map((v) => (v.value as { id: string }).id)).toEqual(['case2', 'case3', 'case4', 'case5']);
    // case2 and case3 each at once (GROUP_FETCHES_IN_FLIGHT = 2), then case4 and case5 in one
    // query: they arrived while two were in flight.
    expect(calls.slice(1).map((c) => c.ids)).toEqual([['case2'], ['case3'], ['case4', 'case5']]);
    expect(calls[1]!.query).toContain('case(id: $__case0)');
    expect(calls[3]!.query).toContain('casesById(ids: $__cases)');
  });

  it('never serves one rights class with the fetch of another', async () => {
    const { apollo, calls } = fakeApollo();
    const fetcher = fetcherWith(apollo);
    const analyst = fetcher(ANALYST_A, 'conn-a');
    const partner = fetcher(PARTNER, 'conn-p');
    await analyst(message(1), infoFor(SHARED));
    await partner(message(1), infoFor(SHARED));
    analyst.prefetch(message(2));
    await new Promise((r) => setImmediate(r));
    const got = await partner(message(2), infoFor(SHARED));
    expect(got.value).toEqual({ id: 'case2', caseReference: 'ref-case2-for-partner-tool' });
    const forCase2 = calls.filter((c) => c.ids.includes('case2'));
    expect(forCase2.map((c) => c.principal.subject).sort()).toEqual(['analyst-a', 'partner-tool']);
  });

  it('personal fields are not prefetched: each reader fetches (and is logged) when delivered', async () => {
    const { apollo, calls } = fakeApollo();
    const fetch = fetcherWith(apollo)(ANALYST_A, 'conn-1');
    const info = infoFor(PERSONAL);
    await fetch(message(1), info);
    fetch.prefetch(message(2));
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toHaveLength(1);
    await fetch(message(2), info);
    expect(calls.map((c) => c.ids)).toEqual([['case1'], ['case2']]);
    expect(calls.every((c) => c.principal.subject === 'analyst-a')).toBe(true);
  });

  it('before any event was delivered there is nothing to prefetch with; a prefetch never throws', async () => {
    const { apollo, calls } = fakeApollo();
    const fetch = fetcherWith(apollo)(ANALYST_A, 'conn-1');
    expect(() => fetch.prefetch(message(1))).not.toThrow();
    expect(() => fetch.prefetch({} as CaseEventMessage)).not.toThrow();
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toHaveLength(0);
  });

  it('a prefetch that failed is not kept: the delivery fetches again and gets the case', async () => {
    let failing = false;
    const { apollo, calls } = fakeApollo(10, () => failing);
    const fetch = fetcherWith(apollo)(ANALYST_A, 'conn-1');
    const info = infoFor(SHARED);
    await fetch(message(1), info);
    failing = true;
    fetch.prefetch(message(2));
    await new Promise((r) => setTimeout(r, 40));
    failing = false;
    const delivered = await fetch(message(2), info);
    expect(delivered.failed).toBe(false);
    expect(delivered.value).toEqual({ id: 'case2', caseReference: 'ref-case2-for-analyst-a' });
    expect(calls.filter((c) => c.ids.includes('case2'))).toHaveLength(2);
  });

  it('a batch answer goes case by case: errors at casesById[i] to case i, a failed list to every case', async () => {
    type Answer = { data: Record<string, unknown> | null; errors?: unknown[] };
    let answer: (ids: string[]) => Answer = () => ({ data: null });
    const asked: string[][] = [];
    const apollo = {
      executeOperation: async (request: { variables: Record<string, unknown> }) => {
        const several = request.variables.__cases;
        const ids = Array.isArray(several) ? several.map(String) : [String(request.variables.__case0)];
        asked.push(ids);
        await new Promise((r) => setTimeout(r, 20));
        return { body: { kind: 'single', singleResult: answer(ids) } };
      },
    } as unknown as ApolloServer<GatewayContext>;
    const fetch = fetcherWith(apollo)(ANALYST_A, 'conn-1');
    const info = infoFor(SHARED);
    answer = (ids) => ({ data: { case: { id: ids[0], caseReference: 'r' } } });
    await fetch(message(1), info);
    // Events asked for in one tick: one list query for them, each answer to its own case.
    answer = (ids) => ({
      data: {
        casesById: ids.map((id, i) => ({ id, caseReference: `r-${id}`, partner: i === 1 ? null : { name: 'p' } })),
      },
      errors: [
        { message: 'partners down', path: ['casesById', 1, 'partner'], extensions: { code: 'SUBGRAPH_UNAVAILABLE' } },
        { message: 'beyond the list', path: ['casesById', 7, 'partner'], extensions: { code: 'SUBGRAPH_ERROR' } },
      ],
    });
    const [two, four, five] = await Promise.all([2, 4, 5].map((n) => fetch(message(n), info)));
    expect(asked.at(-1)).toEqual(['case2', 'case4', 'case5']);
    expect((two!.value as { caseReference: string }).caseReference).toBe('r-case2');
    expect((five!.value as { caseReference: string }).caseReference).toBe('r-case5');
    const partner = (four!.value as { partner: unknown }).partner;
    expect(partner).toBeInstanceOf(GraphQLError);
    expect((partner as GraphQLError).extensions.code).toBe('SUBGRAPH_UNAVAILABLE');
    expect(four!.failed).toBe(true);
    // An error at an index no case has names no case: it goes with each into its payload.
    expect(five!.unplaced.map((e) => e.message)).toEqual(['beyond the list']);
    // The cases subgraph down: the list is null, and every case of the batch says why.
    answer = () => ({
      data: { casesById: null },
      errors: [
        { message: 'down', path: ['casesById'], extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'cases' } },
      ],
    });
    const failed = await Promise.allSettled([6, 7, 8].map((n) => fetch(message(n), info)));
    expect(asked.at(-1)).toEqual(['case6', 'case7', 'case8']); // one list query, not split case by case
    for (const outcome of failed) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as unknown;
      expect(reason).toBeInstanceOf(GraphQLError);
      expect((reason as GraphQLError).extensions).toMatchObject({
        code: 'CASE_FETCH_FAILED',
        reason: 'SUBGRAPH_UNAVAILABLE',
        serviceName: 'cases',
      });
    }
  });

  it('a reader-scoped field (unreadMessageCount) is fetched per reader, never shared in the class', async () => {
    const { apollo, calls } = fakeApollo();
    const fetcher = fetcherWith(apollo);
    const ministryA: Principal = { subject: 'ministry-a', role: 'MEMBER_STATE', memberState: 'BE' };
    const ministryB: Principal = { subject: 'ministry-b', role: 'MEMBER_STATE', memberState: 'BE' };
    const query = 'subscription { caseEvents { id case { caseReference unreadMessageCount } } }';
    const a = fetcher(ministryA, 'conn-a');
    const b = fetcher(ministryB, 'conn-b');
    const [forA, forB] = await Promise.all([a(message(1), infoFor(query)), b(message(1), infoFor(query))]);
    expect(calls.map((c) => c.principal.subject).sort()).toEqual(['ministry-a', 'ministry-b']);
    expect((forA.value as { caseReference: string }).caseReference).toBe('ref-case1-for-ministry-a');
    expect((forB.value as { caseReference: string }).caseReference).toBe('ref-case1-for-ministry-b');
    // Without it, the same two share one fetch (the class's).
    const shared = 'subscription { caseEvents { id case { caseReference } } }';
    await Promise.all([a(message(2), infoFor(shared)), b(message(2), infoFor(shared))]);
    expect(calls.filter((c) => c.ids.includes('case2'))).toHaveLength(1);
  });
});
