import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/server.js';
import type { RunningService } from '../../shared/http.js';
import { silentLogger, startTestSystem, testConfig, type TestSystem } from '../helpers/system.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { publishCaseEvents } from '../../shared/case-events/index.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { factsOf } from '../../subgraphs/cases/statistics/facts.js';
import { canonicalRecord } from '../helpers/records.js';

const LISTED = 'query Partners { partners { id name } }';
const LISTED_SUBSCRIPTION = 'subscription Events { caseEvents { id case { caseReference countryOfOrigin { name } } } }';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A second gateway over `system`'s subgraphs that runs only the operations listed (a persisted-query manifest). */
async function safelistedGateway(
  system: TestSystem,
  operations: Array<{ id: string; name: string; type: string; body: string }>,
): Promise<RunningService> {
  const file = join(mkdtempSync(join(tmpdir(), 'safelist-')), 'manifest.json');
  writeFileSync(file, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations }));
  const urls = Object.fromEntries(
    Object.entries(system.subgraphs).map(([name, s]) => [name, `${s.url}/graphql`]),
  ) as Parameters<typeof startGateway>[0]['subgraphUrls'];
  return startGateway({
    config: testConfig({
      MONGO_DB_PREFIX: system.config.MONGO_DB_PREFIX,
      QUEUE_PREFIX: system.config.QUEUE_PREFIX,
      GRAPHQL_SAFELIST_FILE: file,
    }),
    logger: silentLogger,
    port: 0,
    subgraphUrls: urls,
  });
}

/** With GRAPHQL_SAFELIST_FILE, the gateway runs only the operations of the manifest. */
describe('persisted-operation safelist', () => {
  let system: TestSystem;
  let gateway: RunningService;
  let headers: Record<string, string>;
  const post = async (body: unknown) => {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      body: (await response.json()) as {
        data?: { partners: Array<{ id: string }> };
        errors?: Array<{ extensions: { code: string } }>;
      },
    };
  };

  beforeAll(async () => {
    system = await startTestSystem({ cases: 5, seed: 2 });
    headers = await system.as({ subject: 'analyst', role: 'EU_ANALYST' });
    gateway = await safelistedGateway(system, [
      { id: sha(LISTED), name: 'Partners', type: 'query', body: LISTED },
      { id: sha(LISTED_SUBSCRIPTION), name: 'Events', type: 'subscription', body: LISTED_SUBSCRIPTION },
    ]);
  });
  afterAll(async () => {
    await gateway?.shutdown('test done');
    await system?.stop();
  });

  it("over WebSocket too: a listed subscription runs (its fetches are the gateway's own), others refused", async () => {
    const ws = `${gateway.url.replace(/^http/, 'ws')}/graphql`;
    const received: unknown[] = [];
    const errors: unknown[] = [];
    const client = createClient({
      url: ws,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: headers,
    });
    client.subscribe(
      { query: LISTED_SUBSCRIPTION },
      { next: (v) => received.push(v), error: (e) => errors.push(e), complete: () => undefined },
    );
    client.subscribe(
      { query: 'subscription { caseEvents { id } }' },
      { next: (v) => received.push(v), error: (e) => errors.push(e), complete: () => undefined },
    );
    await new Promise((r) => setTimeout(r, 400));
    const doc = (await casesModels(system.connections.cases).Case.findOne({}).lean<CaseDoc>().exec())!;
    await publishCaseEvents(system.redis, system.config.QUEUE_PREFIX, [
      {
        type: 'case.updated',
        caseId: doc._id.toHexString(),
        version: 1,
        at: new Date().toISOString(),
        before: factsOf(doc),
        after: factsOf(doc),
      },
    ]);
    const deadline = Date.now() + 10_000;
    while (received.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toEqual([
      {
        data: {
          caseEvents: {
            id: expect.any(String),
            case: { caseReference: expect.stringMatching(/^CR-/), countryOfOrigin: { name: expect.any(String) } },
          },
        },
      },
    ]); // an analyst: pseudonymised
    expect(JSON.stringify(errors)).toContain('OPERATION_NOT_IN_SAFELIST');
    await client.dispose();
  });

  it('runs a listed operation sent by its hash alone, or in full', async () => {
    const byHash = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: sha(LISTED) } } });
    expect(byHash.body.errors).toBeUndefined();
    expect(byHash.body.data!.partners).toHaveLength(5);
    const inFull = await post({ query: LISTED });
    expect(inFull.body.data).toEqual(byHash.body.data);
  });

  it('refuses anything else: other text, an unknown hash, a hash that does not match its text', async () => {
    const other = await post({ query: '{ partners { id name capacity } }' });
    expect(other.status).toBe(400);
    expect(other.body.errors![0]!.extensions.code).toBe('OPERATION_NOT_IN_SAFELIST');
    expect(other.body.data ?? null).toBeNull();
    // The same operation with other white space is another text: not listed.
    expect((await post({ query: LISTED.replace(' ', '  ') })).body.errors![0]!.extensions.code).toBe(
      'OPERATION_NOT_IN_SAFELIST',
    );
    const unknown = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } });
    expect(unknown.body.errors![0]!.extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const mismatch = await post({
      query: '{ cases { totalCount } }',
      extensions: { persistedQuery: { version: 1, sha256Hash: sha(LISTED) } },
    });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.data ?? null).toBeNull();
    // Registering a new operation through APQ does not add it to the list.
    const text = '{ partners { shortName } }';
    await post({ query: text, extensions: { persistedQuery: { version: 1, sha256Hash: sha(text) } } });
    expect(
      (await post({ extensions: { persistedQuery: { version: 1, sha256Hash: sha(text) } } })).body.errors![0]!
        .extensions.code,
    ).toBe('PERSISTED_QUERY_NOT_FOUND');
  });
});

describe('persisted-operation safelist and the push API', () => {
  let system: TestSystem;
  let gateway: RunningService;
  beforeAll(async () => {
    system = await startTestSystem({ cases: 0 });
    // One listed operation that is not the report's query.
    gateway = await safelistedGateway(system, [{ id: sha(LISTED), name: 'Partners', type: 'query', body: LISTED }]);
  });
  afterAll(async () => {
    await gateway?.shutdown('test done');
    await system?.stop();
  });

  it("a feed's report is the gateway's own query: it answers though the safelist does not list it", async () => {
    const auth = await system.as({ subject: 'be-ministry', role: 'MEMBER_STATE', memberState: 'BE' });
    const pushed = await fetch(`${gateway.url}/ingest/v1/feeds`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify([canonicalRecord('BE', 'BE-SAFE-1')]),
    });
    expect(pushed.status).toBe(202);
    const { report } = (await pushed.json()) as { report: string };
    const answer = await fetch(`${gateway.url}${report}`, { headers: auth });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { status: string }).status).toBe('QUEUED');
  });
});
