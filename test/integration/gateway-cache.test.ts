import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import { startGateway, type GatewayService } from '../../gateway/server.js';
import { SUBGRAPHS, type SubgraphId } from '../../gateway/compose.js';
import { faultyProxy, type FaultyProxy } from '../helpers/faults.js';
import { postGraphQL, silentLogger, startTestSystem, type GraphQLBody, type TestSystem } from '../helpers/system.js';

/**
 * The whole graph, plus a second gateway on the same Redis whose subgraph calls pass through
 * counting proxies (made slow where a test needs calls to overlap).
 */
let system: TestSystem;
let gateway: GatewayService;
let url: string;
const proxies = {} as Record<SubgraphId, FaultyProxy>;

const be: Principal = { subject: 'officer-be', role: 'MEMBER_STATE', memberState: 'BE' };
const de: Principal = { subject: 'officer-de', role: 'MEMBER_STATE', memberState: 'DE' };
const weldo: Principal = { subject: 'worker-weldo', role: 'PARTNER', partnerId: 'weldo' };
const irara: Principal = { subject: 'worker-irara', role: 'PARTNER', partnerId: 'irara' };
const admin: Principal = { subject: 'admin-1', role: 'ADMIN' };
const desk: Principal = { subject: 'desk-1', role: 'SUPPORT_DESK' };

async function ask<T>(
  principal: Principal,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLBody<T>> {
  const response = await postGraphQL<T>(url, query, variables, { ...(await system.as(principal)), ...headers });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

const callsTo = (subgraph: SubgraphId) => proxies[subgraph].calls;

beforeAll(async () => {
  system = await startTestSystem({ cases: 40 });
  for (const name of SUBGRAPHS) proxies[name] = await faultyProxy(`${system.subgraphs[name].url}/graphql`);
  gateway = await startGateway({
    config: system.config,
    logger: silentLogger,
    port: 0,
    metricsPort: 0,
    subgraphUrls: Object.fromEntries(SUBGRAPHS.map((n) => [n, proxies[n].url])) as Record<SubgraphId, string>,
  });
  url = `${gateway.url}/graphql`;
}, 120_000);

afterAll(async () => {
  await gateway?.shutdown('test done');
  for (const proxy of Object.values(proxies)) await proxy.close();
  await system?.stop();
});

describe('in-flight deduplication', () => {
  it('identical concurrent queries of one rights class make one subgraph call, each its own answer', async () => {
    proxies.cases.mode = { kind: 'delay', ms: 400 };
    try {
      const before = callsTo('cases');
      const query = '{ cases(first: 5) { totalCount edges { node { id status } } } }';
      const answers = await Promise.all(Array.from({ length: 6 }, () => ask(be, query)));
      expect(callsTo('cases') - before).toBe(1);
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(answers[0]!.errors).toBeUndefined();
    } finally {
      proxies.cases.mode = { kind: 'pass' };
    }
  });

  it('two principals with different scopes are never merged (BE never gets DE cases)', async () => {
    proxies.cases.mode = { kind: 'delay', ms: 400 };
    try {
      const before = callsTo('cases');
      const query = '{ cases(first: 50) { edges { node { sendingMemberState { code } } } } }';
      type Cases = { cases: { edges: Array<{ node: { sendingMemberState: { code: string } } }> } };
      const [fromBe, fromDe] = await Promise.all([ask<Cases>(be, query), ask<Cases>(de, query)]);
      expect(callsTo('cases') - before).toBe(2);
      const states = (answer: GraphQLBody<Cases>) =>
        new Set(answer.data!.cases.edges.map((e) => e.node.sendingMemberState.code));
      expect(states(fromBe)).not.toContain('DE');
      expect(states(fromDe)).not.toContain('BE');
      expect(states(fromBe).size + states(fromDe).size).toBeGreaterThan(0);
    } finally {
      proxies.cases.mode = { kind: 'pass' };
    }
  });

  it('mutations are never merged nor cached', async () => {
    proxies.coverage.mode = { kind: 'delay', ms: 300 };
    try {
      const before = callsTo('coverage');
      const mutation =
        'mutation { addMemberState(input: { code: "IS", name: "Iceland", joinedOn: "2024-05-01" }) { code } }';
      type Added = { addMemberState: { code: string } | null };
      const answers = await Promise.all([ask<Added>(desk, mutation), ask<Added>(desk, mutation)]);
      expect(callsTo('coverage') - before).toBe(2);
      // Both reached coverage; of two concurrent adds of the same values one may lose the race as a conflict.
      expect(answers.some((answer) => answer.data?.addMemberState?.code === 'IS')).toBe(true);
      await ask(desk, mutation);
      expect(callsTo('coverage') - before).toBe(3);
    } finally {
      proxies.coverage.mode = { kind: 'pass' };
    }
  });

  it('personal reads are not merged across requests: each reader and request is logged', async () => {
    type Cases = { cases: { edges: Array<{ node: { id: string; mainApplicant: { name: string | null } | null } }> } };
    const first = await ask<Cases>(be, '{ cases(first: 1) { edges { node { id } } } }');
    const caseId = first.data!.cases.edges[0]!.node.id;
    proxies.cases.mode = { kind: 'delay', ms: 400 };
    const query = 'query($id: ID!) { case(id: $id) { id mainApplicant { name } } }';
    try {
      const before = callsTo('cases');
      const answers = await Promise.all([
        ask(be, query, { id: caseId }, { 'x-request-id': 'gw-cache-personal-a' }),
        ask(be, query, { id: caseId }, { 'x-request-id': 'gw-cache-personal-b' }),
        ask({ ...be, subject: 'officer-be-2' }, query, { id: caseId }, { 'x-request-id': 'gw-cache-personal-c' }),
      ]);
      expect(callsTo('cases') - before).toBe(3);
      for (const answer of answers) expect(answer.errors).toBeUndefined();
    } finally {
      proxies.cases.mode = { kind: 'pass' };
    }
    type Reads = { personalDataReads: Array<{ requestId: string; actorSubject: string }> };
    const logQuery = 'query($c: ID) { personalDataReads(caseId: $c, first: 50) { requestId actorSubject } }';
    let reads: Reads['personalDataReads'] = [];
    for (let i = 0; i < 50; i++) {
      reads = (await ask<Reads>(admin, logQuery, { c: caseId })).data!.personalDataReads;
      if (reads.length >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(reads.map((r) => `${r.requestId}/${r.actorSubject}`).sort()).toEqual([
      'gw-cache-personal-a/officer-be',
      'gw-cache-personal-b/officer-be',
      'gw-cache-personal-c/officer-be-2',
    ]);
  });
});

describe('the shared cache', () => {
  type Stats = { statistics: { scope: string; totalCases: number | null } };
  const statistics = '{ statistics { scope totalCases } }';

  it('answers aggregates from the cache, per rights class: BE and DE, weldo and irara apart', async () => {
    const fromBe = await ask<Stats>(be, statistics);
    expect(fromBe.data!.statistics.scope).toBe('memberState:BE');
    const before = callsTo('cases');
    const again = await ask<Stats>({ ...be, subject: 'officer-be-2' }, statistics);
    expect(again).toEqual(fromBe);
    expect(callsTo('cases') - before).toBe(0);
    const fromDe = await ask<Stats>(de, statistics);
    expect(fromDe.data!.statistics.scope).toBe('memberState:DE');
    expect(callsTo('cases') - before).toBe(1);
    const fromWeldo = await ask<Stats>(weldo, statistics);
    const fromIrara = await ask<Stats>(irara, statistics);
    expect(fromWeldo.data!.statistics.scope).toBe('partner:weldo');
    expect(fromIrara.data!.statistics.scope).toBe('partner:irara');
    // The system's own gateway shares the cache (same Redis): it answers BE from it, DE its own.
    const direct = await system.graphql<Stats>(statistics, undefined, await system.as(be));
    expect(direct.body.data).toEqual(fromBe.data);
  });

  it("the quality view's values and breaches are cached (`value` an aggregate); assessment answers never", async () => {
    const analyst: Principal = { subject: 'analyst-1', role: 'EU_ANALYST' };
    const quality = `{ indicatorValues(perspective: PARTNER, first: 500) { indicatorId period value status }
      indicatorBreaches(open: true, first: 100) { id period value } }`;
    const first = await ask(analyst, quality);
    expect(first.errors).toBeUndefined();
    const before = callsTo('cases');
    expect(await ask({ ...analyst, subject: 'analyst-2' }, quality)).toEqual(first);
    expect(callsTo('cases') - before).toBe(0);
    // SustainabilityAssessment.answers.value is personal: each read goes to the subgraph.
    const answers = '{ cases(first: 2) { edges { node { sustainabilityAssessments { answers { itemId value } } } } } }';
    await ask(be, answers);
    const again = callsTo('cases');
    await ask(be, answers);
    expect(callsTo('cases') - again).toBe(1);
  });

  it('reference data comes from the cache until a mutation changes it; the next read reflects it', async () => {
    type States = { memberStates: Array<{ code: string }> };
    const query = '{ memberStates { code } }';
    const first = await ask<States>(weldo, query);
    const before = callsTo('coverage');
    expect(await ask<States>(weldo, query)).toEqual(first);
    expect(callsTo('coverage') - before).toBe(0);
    expect(first.data!.memberStates.map((s) => s.code)).not.toContain('IE');
    // Through the other gateway: the invalidation is shared by every instance.
    const added = await system.graphql(
      'mutation { addMemberState(input: { code: "IE", name: "Ireland", joinedOn: "2024-05-01" }) { code } }',
      undefined,
      await system.as(desk),
    );
    expect(added.body.errors).toBeUndefined();
    const after = await ask<States>(weldo, query);
    expect(after.data!.memberStates.map((s) => s.code)).toContain('IE');
  });

  it('after a case event the next statistics read reflects it once projected (never the cached answer)', async () => {
    const cached = (await ask<Stats>(admin, statistics)).data!.statistics.totalCases!;
    expect((await ask<Stats>(admin, statistics)).data!.statistics.totalCases).toBe(cached);
    const report = await system.ingest('AT', [
      {
        memberState: 'AT',
        caseReference: 'AT-GWCACHE-1',
        recordVersion: 1,
        returnType: 'VOLUNTARY',
        packages: ['POST_ARRIVAL', 'POST_RETURN'],
        countryOfOrigin: 'GE',
        departureDate: '2024-05-10',
        mainApplicant: { name: 'Nino Beridze', dateOfBirth: '1980-05-11', sex: 'FEMALE' },
        familyMembers: [],
        eligibility: { applicationSigned: true },
      },
    ]);
    expect(report.counts.created).toBe(1);
    // The projector applies the event within a few hundred ms; the cache lives 300 s: a stale answer would stay.
    let total = cached;
    for (let i = 0; i < 50 && total === cached; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      total = (await ask<Stats>(admin, statistics)).data!.statistics.totalCases!;
    }
    expect(total).toBe(cached + 1);
  });

  it('entities of reference data are cached: a page of cases asks coverage and partners once', async () => {
    const query = '{ cases(first: 20) { edges { node { id countryOfOrigin { name } partner { name } } } } }';
    const first = await ask(admin, query);
    expect(first.errors).toBeUndefined();
    const coverage = callsTo('coverage');
    const partners = callsTo('partners');
    const second = await ask(admin, query);
    expect(second).toEqual(first);
    expect(callsTo('coverage') - coverage).toBe(0);
    expect(callsTo('partners') - partners).toBe(0);
  });

  it('huge variables are answered (never cached, nor a failure of the cache)', async () => {
    const query = 'query($c: ID!) { countryOfOrigin(code: $c) { code name } }';
    const body = await ask<{ countryOfOrigin: unknown }>(be, query, { c: 'Z'.repeat(100_000) });
    expect(body.data?.countryOfOrigin ?? null).toBeNull();
    const known = await ask<{ countryOfOrigin: { code: string } }>(be, query, { c: 'GE' });
    expect(known.data!.countryOfOrigin.code).toBe('GE');
  });
});
