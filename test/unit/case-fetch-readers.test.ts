import { readFileSync } from 'node:fs';
import type { ApolloServer } from '@apollo/server';
import {
  buildSchema,
  Kind,
  parse,
  type FieldNode,
  type GraphQLResolveInfo,
  type OperationDefinitionNode,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { SUPERGRAPH_FILE } from '../../gateway/compose.js';
import type { GatewayContext } from '../../gateway/datasource.js';
import { caseFetcher, personalFieldsOf } from '../../gateway/subscriptions/case-fetch.js';
import type { Principal } from '../../shared/auth.js';
import type { CaseEventMessage } from '../../shared/case-events/index.js';
import { createLogger } from '../../shared/logger.js';

/**
 * A subscription's per-event case fetch is shared by subscribers with the same rights only when
 * its answer cannot depend on who reads: a thread (the support desk's own justified access) and
 * unread counts (each reader's own marker) are fetched per reader, like personal fields.
 */
const schema = buildSchema(`
  type Query { case(id: ID!): Case }
  type Case { id: ID! status: String unreadMessageCount: Int messages(first: Int): Thread }
  type Thread { totalCount: Int }
`);
const personalFields = personalFieldsOf(readFileSync(SUPERGRAPH_FILE, 'utf8'));

function fakeApollo() {
  const askedBy: string[] = [];
  const apollo = {
    executeOperation: async (
      request: { query: string; variables: Record<string, unknown> },
      { contextValue }: { contextValue: GatewayContext },
    ) => {
      const subject = contextValue.principal!.subject;
      askedBy.push(subject);
      await new Promise((r) => setTimeout(r, 20));
      const id = String(Object.values(request.variables)[0]);
      const unread = subject === 'be-officer-a' ? 3 : 0;
      const thread = subject === 'desk-with-grant' ? { totalCount: 7 } : null;
      return {
        body: {
          kind: 'single',
          singleResult: { data: { case: { id, unreadMessageCount: unread, messages: thread } } },
        },
      };
    },
  };
  return { apollo: apollo as unknown as ApolloServer<GatewayContext>, askedBy };
}

function infoFor(subscription: string): GraphQLResolveInfo {
  const operation = parse(subscription).definitions[0] as OperationDefinitionNode;
  const events = operation.selectionSet.selections[0] as FieldNode;
  const caseField = events.selectionSet!.selections.find(
    (s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === 'case',
  )!;
  return { fieldNodes: [caseField], fragments: {}, operation, variableValues: {} } as unknown as GraphQLResolveInfo;
}

const event = { id: '1000-0', caseId: 'case1', type: 'MESSAGE_POSTED' } as unknown as CaseEventMessage;

async function deliver(selection: string, a: Principal, b: Principal) {
  const { apollo, askedBy } = fakeApollo();
  const fetcher = caseFetcher({
    apollo,
    apiSchema: schema,
    personalFields,
    fetchesInFlight: 4,
    maxWaitMs: 5_000,
    logger: createLogger('test', { LOG_LEVEL: 'silent' }),
  });
  const query = `subscription { caseEvents { id case { id ${selection} } } }`;
  const [first, second] = await Promise.all([
    fetcher(a, 'conn-a')(event, infoFor(query)),
    fetcher(b, 'conn-b')(event, infoFor(query)),
  ]);
  return { first: first.value, second: second.value, askedBy: askedBy.sort() };
}

describe('per-event case fetches that depend on the reader', () => {
  it('two officers of one Member State each get their own unread count', async () => {
    const a: Principal = { subject: 'be-officer-a', role: 'MEMBER_STATE', memberState: 'BE' };
    const b: Principal = { subject: 'be-officer-b', role: 'MEMBER_STATE', memberState: 'BE' };
    const got = await deliver('unreadMessageCount', a, b);
    expect(got.askedBy).toEqual(['be-officer-a', 'be-officer-b']);
    expect(got.first).toMatchObject({ unreadMessageCount: 3 });
    expect(got.second).toMatchObject({ unreadMessageCount: 0 });
  });

  it("a support-desk user without a justified access never receives a colleague's thread", async () => {
    const granted: Principal = { subject: 'desk-with-grant', role: 'SUPPORT_DESK' };
    const other: Principal = { subject: 'desk-without', role: 'SUPPORT_DESK' };
    const got = await deliver('messages(first: 5) { totalCount }', granted, other);
    expect(got.askedBy).toEqual(['desk-with-grant', 'desk-without']);
    expect(got.first).toMatchObject({ messages: { totalCount: 7 } });
    expect(got.second).toMatchObject({ messages: null });
  });

  it('still shares one fetch when nothing selected depends on the reader', async () => {
    const a: Principal = { subject: 'be-officer-a', role: 'MEMBER_STATE', memberState: 'BE' };
    const b: Principal = { subject: 'be-officer-b', role: 'MEMBER_STATE', memberState: 'BE' };
    const got = await deliver('status', a, b);
    expect(got.askedBy).toHaveLength(1);
  });

  it('names fields the supergraph has (a rename must not silently share them again)', () => {
    for (const coordinate of ['Case.messages', 'Case.unreadMessageCount']) {
      expect(personalFields.has(coordinate), coordinate).toBe(true);
    }
    const sdl = readFileSync(SUPERGRAPH_FILE, 'utf8');
    expect(sdl).toMatch(/\n\s+messages\(/);
    expect(sdl).toMatch(/\n\s+unreadMessageCount: Int/);
  });
});
