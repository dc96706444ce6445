import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/server.js';
import type { RunningService } from '../../shared/http.js';
import { silentLogger, startTestSystem, testConfig, type TestSystem } from '../helpers/system.js';

const QUERY =
  `{ cases(first: 5) { edges { node { caseReference countryOfOrigin { name } partner { name } ` +
  `entitlement { totalCents noEntitlementReason } } } } }`;

interface Data {
  cases: {
    edges: Array<{
      node: {
        caseReference: string;
        countryOfOrigin: { name: string } | null;
        partner: { name: string } | null;
        entitlement: { totalCents: number; noEntitlementReason: string | null } | null;
      };
    }>;
  };
}

describe('a subgraph that is down or hangs', () => {
  let system: TestSystem;
  let hanging: Server;
  let hangingGateway: RunningService;
  /** When each call to the hanging subgraph began and when its connection was closed. */
  const hangingCalls: Array<{ at: number; closedAt?: number }> = [];
  beforeAll(async () => {
    // A short deadline, so the hanging subgraph is given up on quickly.
    // Without the shared cache: these tests are about failing calls, which a cached answer would spare.
    system = await startTestSystem({
      cases: 10,
      config: testConfig({ SUBGRAPH_TIMEOUT_MS: '1500', GATEWAY_CACHE: 'false' }),
    });
    // A "subgraph" that accepts connections and never answers.
    hanging = createServer((req) => {
      const call: { at: number; closedAt?: number } = { at: Date.now() };
      hangingCalls.push(call);
      req.socket.once('close', () => (call.closedAt = Date.now()));
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const port = (hanging.address() as AddressInfo).port;
    hangingGateway = await startGateway({
      config: system.config,
      logger: silentLogger,
      port: 0,
      subgraphUrls: {
        cases: `${system.subgraphs.cases.url}/graphql`,
        partners: `${system.subgraphs.partners.url}/graphql`,
        coverage: `${system.subgraphs.coverage.url}/graphql`,
        finance: `http://127.0.0.1:${port}/graphql`,
      },
    });
  });
  afterAll(async () => {
    await hangingGateway?.shutdown('test done');
    hanging?.closeAllConnections();
    hanging?.close();
    await system?.stop();
  });

  it('a hanging subgraph times out: the rest of the data plus an error naming it', async () => {
    const started = Date.now();
    const response = await fetch(`${hangingGateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await system.as({ subject: 'test-admin', role: 'ADMIN' })) },
      body: JSON.stringify({ query: QUERY }),
    });
    const body = (await response.json()) as {
      data: Data;
      errors: Array<{ message: string; extensions: { code: string; serviceName: string } }>;
    };
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(system.config.SUBGRAPH_TIMEOUT_MS + 3_000); // bounded, not a hang
    expect(body.data.cases.edges).toHaveLength(5);
    expect(body.data.cases.edges[0]!.node.countryOfOrigin?.name).toBeTruthy();
    expect(body.data.cases.edges[0]!.node.entitlement).toBeNull();
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'finance' });
    expect(body.errors[0]!.message).toBe(
      `Subgraph "finance" is unavailable: no answer within ${system.config.SUBGRAPH_TIMEOUT_MS} ms`,
    );
  });

  it('a client that leaves closes its hanging subgraph call at once, not at SUBGRAPH_TIMEOUT_MS', async () => {
    hangingCalls.length = 0;
    const controller = new AbortController();
    const request = fetch(`${hangingGateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await system.as({ subject: 'test-admin', role: 'ADMIN' })) },
      body: JSON.stringify({ query: QUERY }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    // Wait until the gateway is waiting on the hanging subgraph, then leave.
    const deadline = Date.now() + 5_000;
    while (hangingCalls.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(hangingCalls).toHaveLength(1);
    const leftAt = Date.now();
    controller.abort();
    expect(await request).toMatchObject({ name: 'AbortError' });
    while (hangingCalls[0]!.closedAt === undefined && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const closedAfter = hangingCalls[0]!.closedAt! - leftAt;
    console.log(
      `subgraph call closed ${closedAfter} ms after the client left (the subgraph deadline ` +
        `is ${system.config.SUBGRAPH_TIMEOUT_MS} ms)`,
    );
    expect(closedAfter).toBeLessThan(system.config.SUBGRAPH_TIMEOUT_MS / 2);
    // The gateway still answers the next client.
    const { status } = await system.graphql('{ cases { totalCount } }');
    expect(status).toBe(200);
  });

  it('a stopped subgraph: cases still come back, partner is null, the error names "partners"', async () => {
    await system.subgraphs.partners.shutdown('simulated outage');
    const { status, body } = await system.graphql<Data>(QUERY);
    expect(status).toBe(200);
    expect(body.data!.cases.edges).toHaveLength(5);
    for (const { node } of body.data!.cases.edges) {
      expect(node.caseReference).toBeTruthy();
      expect(node.countryOfOrigin?.name).toBeTruthy();
      // Finance still answers: an entitlement for each case (zero only for one with nothing to pay).
      expect(node.entitlement).not.toBeNull();
      expect(node.entitlement!.totalCents === 0).toBe(node.entitlement!.noEntitlementReason !== null);
      expect(node.partner).toBeNull();
    }
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'partners' });
    expect(body.errors![0]!.message).toMatch(/^Subgraph "partners" is unavailable: ECONNREFUSED/);
    // The gateway keeps serving queries that do not need the missing subgraph.
    const other = await system.graphql<{ cases: { totalCount: number } }>('{ cases { totalCount } }');
    expect(other.body).toEqual({ data: { cases: { totalCount: 10 } } });
  });
});
