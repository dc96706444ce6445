import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayService } from '../../gateway/server.js';
import { silentLogger, startTestSystem, type TestSystem } from '../helpers/system.js';

/** Readiness that tells the truth (README, Health and readiness). */
describe('readiness', () => {
  let system: TestSystem;
  let broken: GatewayService;

  beforeAll(async () => {
    system = await startTestSystem();
    // A second gateway whose cases subgraph is a port nobody listens on.
    broken = await startGateway({
      config: system.config,
      logger: silentLogger,
      port: 0,
      metricsPort: 0,
      subgraphWatchMs: 100,
      subgraphUrls: {
        cases: 'http://127.0.0.1:1/graphql',
        partners: `${system.subgraphs.partners.url}/graphql`,
        coverage: `${system.subgraphs.coverage.url}/graphql`,
        finance: `${system.subgraphs.finance.url}/graphql`,
      },
    });
  });
  afterAll(async () => {
    await broken?.shutdown('test done');
    await system?.stop();
  });

  const ready = async (url: string) => {
    const response = await fetch(`${url}/health/ready`);
    return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
  };

  it('the gateway is ready when every subgraph is, and reports each by name', async () => {
    const { status, body } = await ready(system.gateway.url);
    expect(status).toBe(200);
    expect(Object.keys(body.checks).sort()).toEqual(
      ['redis', 'subgraph:cases', 'subgraph:coverage', 'subgraph:finance', 'subgraph:partners', 'supergraph'].sort(),
    );
    const metrics = await (await fetch(system.gateway.metrics.url)).text();
    expect(metrics).toMatch(/avrr_subgraph_up\{[^}]*subgraph="cases"[^}]*\} 1/);
  });

  it('avrr_subgraph_up goes to 0 for a subgraph that does not answer, with nobody asking /health/ready', async () => {
    let metrics = '';
    for (let i = 0; i < 100 && !/avrr_subgraph_up\{[^}]*subgraph="cases"[^}]*\} 0/.test(metrics); i++) {
      await new Promise((r) => setTimeout(r, 100));
      metrics = await (await fetch(broken.metrics.url)).text();
    }
    expect(metrics).toMatch(/avrr_subgraph_up\{[^}]*subgraph="cases"[^}]*\} 0/);
    expect(metrics).toMatch(/avrr_subgraph_up\{[^}]*subgraph="partners"[^}]*\} 1/);
  });

  it('only signed-in callers name operations in the metrics (anonymous names spend no label budget)', async () => {
    const analyst = await system.as({ subject: 'metrics-analyst', role: 'EU_ANALYST' });
    await system.graphql('query AnalystCounts { statistics { totalCases } }', {}, analyst);
    for (let i = 0; i < 5; i++) await system.graphql(`query Junk${i} { __typename }`, {}, { authorization: '' });
    const metrics = await (await fetch(system.gateway.metrics.url)).text();
    expect(metrics).toMatch(/avrr_graphql_operation_seconds_count\{[^}]*operation="AnalystCounts"/);
    expect(metrics).toMatch(/avrr_graphql_operation_seconds_count\{[^}]*operation="anonymous"/);
    expect(metrics).not.toMatch(/operation="Junk\d"/);
  });

  it('a gateway whose subgraph does not answer is not ready, and names that subgraph', async () => {
    const { status, body } = await ready(broken.url);
    expect(status).toBe(503);
    expect(body.checks['subgraph:cases']).toMatch(/^cases subgraph not ready/);
    expect(body.checks['subgraph:partners']).toBe('ok');
  });
});
