import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { mintToken, type Principal } from '../../shared/auth.js';
import { caseEventStream, publishCaseEvents, type CaseEvent } from '../../shared/case-events/index.js';
import { casesModels } from '../../subgraphs/cases/case/models.js';
import { applyIndicators, indicatorModels, rebuildIndicators } from '../../subgraphs/cases/indicators/store.js';
import { LeaseLostError } from '../../shared/leased-loop.js';
import { eventFacts } from '../helpers/event-facts.js';
import { indicatorsOf, seedIndicators } from '../../subgraphs/cases/indicators/background.js';
import { seedCases } from '../../scripts/seed-data.js';
import { createCaseAsIngested } from '../helpers/cases.js';
import { startTestSystem, testConfig, type TestSystem } from '../helpers/system.js';
import { startWebhookDelivery } from '../helpers/webhooks.js';

interface BreachEvent {
  id: string;
  breachId: string;
  indicatorId: string;
  perspective: string;
  key: string | null;
  period: string;
  value: number | null;
  casesCounted: number | null;
}

const BREACHES = `subscription { indicatorBreached {
  id at breachId indicatorId indicatorVersion perspective key period value casesCounted minimumStandard direction
} }`;

function subscriber(url: string, token: string) {
  const events: BreachEvent[] = [];
  const errors: unknown[] = [];
  let connected = false;
  const client: Client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
    onNonLazyError: (error) => errors.push(error),
    on: { connected: () => (connected = true) },
  });
  client.subscribe<{ indicatorBreached: BreachEvent }>(
    { query: BREACHES },
    {
      next: (value) => {
        if (value.data) events.push(value.data.indicatorBreached);
        if (value.errors) errors.push(...value.errors);
      },
      error: (error) => errors.push(error),
      complete: () => undefined,
    },
  );
  return {
    events,
    errors,
    ready: async () => {
      await until(() => connected);
      await new Promise((r) => setTimeout(r, 150));
    },
    stop: () => client.dispose(),
  };
}

async function until(check: () => boolean | Promise<boolean>, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

const principals = {
  weldo: { subject: 'weldo-tool', role: 'PARTNER', partnerId: 'weldo' },
  irara: { subject: 'irara-tool', role: 'PARTNER', partnerId: 'irara' },
  belgium: { subject: 'be-officer', role: 'MEMBER_STATE', memberState: 'BE' },
  netherlands: { subject: 'nl-officer', role: 'MEMBER_STATE', memberState: 'NL' },
  analyst: { subject: 'analyst', role: 'EU_ANALYST' },
  desk: { subject: 'desk', role: 'SUPPORT_DESK' },
  dpo: { subject: 'dpo', role: 'DATA_PROTECTION_OFFICER' },
} satisfies Record<string, Principal>;
type Who = keyof typeof principals;

/** A period the seeded demo cases do not use, so the values below are exactly this test's. */
const MONTH = '2019-11';

const VALUES = `query($i: ID, $p: IndicatorScopeKind, $k: ID, $period: String, $first: Int) {
  indicatorValues(indicator: $i, perspective: $p, key: $k, period: $period, first: $first) {
    indicatorId indicatorVersion scope { perspective key } period value numerator denominator casesCounted status
  }
}`;
const BREACH_LIST = `query($i: ID, $p: IndicatorScopeKind, $k: ID, $open: Boolean) {
  indicatorBreaches(indicator: $i, perspective: $p, key: $k, open: $open) {
    id indicatorId scope { perspective key } period value casesCounted minimumStandard direction open detectedAt
  }
}`;

describe('indicators through the gateway', () => {
  let system: TestSystem;
  const tokens = {} as Record<Who, string>;
  const as = (who: Who) => ({ authorization: `Bearer ${tokens[who]}` });
  let receiver: Server;
  const hits: string[] = [];
  let delivery: Awaited<ReturnType<typeof startWebhookDelivery>>;
  const caseIds: string[] = [];

  /** A case as the feed inserts it: stored, then its event published (as ingestion does). */
  async function newCase(i: number): Promise<string> {
    return createCaseAsIngested(system, {
      memberState: 'BE',
      caseReference: `IND-${i}`,
      returnType: 'VOLUNTARY',
      packages: ['POST_ARRIVAL'],
      countryOfOrigin: 'AF',
      partnerId: 'weldo',
      status: 'SUBMITTED',
      mainApplicant: { name: 'Ahmad Rahimi', dateOfBirth: '1990-01-01', sex: 'MALE' },
      familySize: 1,
      departureDate: `${MONTH}-05`,
    });
  }

  beforeAll(async () => {
    system = await startTestSystem({
      cases: 60,
      seed: 11,
      config: testConfig({ WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE_NETWORK: 'true' }),
    });
    for (const [who, principal] of Object.entries(principals))
      tokens[who as Who] = await mintToken(principal, system.config);
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        hits.push(body);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    delivery = await startWebhookDelivery(system, 'indicators', { allowPrivate: true });
  });
  afterAll(async () => {
    await delivery?.stop();
    receiver?.close();
    await system?.stop();
  });

  it('lists the definitions of the indicators file for every signed-in role', async () => {
    const { body } = await system.graphql<{ indicators: Array<Record<string, unknown>> }>(
      '{ indicators { id version fileVersion perspective appliesTo direction measure measureParameters unit ' +
        'minimumStandard target minimumCases } }',
      {},
      as('irara'),
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.indicators.find((d) => d.id === 'withdrawal-rate')).toEqual({
      id: 'withdrawal-rate',
      version: 1,
      fileVersion: 1,
      perspective: 'RETURNEE',
      appliesTo: ['PARTNER', 'MEMBER_STATE', 'COUNTRY_OF_ORIGIN'],
      direction: 'LOWER_IS_BETTER',
      measure: 'RATE',
      measureParameters: '{"rate":"WITHDRAWAL"}',
      unit: 'SHARE',
      minimumStandard: 0.15,
      target: 0.05,
      minimumCases: 5,
    });
  });

  it('builds values from the cases stored before it started (the seeded store)', async () => {
    const { body } = await system.graphql<{ indicatorValues: Array<{ casesCounted: number | null }> }>(
      VALUES,
      { i: 'withdrawal-rate', p: 'PROGRAMME', first: 500 },
      as('desk'),
    );
    expect(body.errors).toBeUndefined();
    const total = body.data!.indicatorValues.reduce((sum, v) => sum + (v.casesCounted ?? 0), 0);
    // Each case counts in its month and its year: twice over all periods.
    expect(total).toBe(2 * 60);
  });

  it('withdrawals drive the withdrawal rate over its minimum: breach stored once, told by scope', async () => {
    const { body: hook } = await system.graphql<{ registerWebhook: { id: string } }>(
      'mutation($u: String!) { registerWebhook(url: $u, eventTypes: [INDICATOR_BREACHED]) { id } }',
      { u: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/breaches` },
      as('weldo'),
    );
    expect(hook.errors).toBeUndefined();
    const url = system.gatewayUrl.replace(/^http/, 'ws');
    const subs = Object.fromEntries(
      (['weldo', 'irara', 'belgium', 'netherlands', 'analyst'] as const).map((who) => [
        who,
        subscriber(url, tokens[who]),
      ]),
    ) as Record<'weldo' | 'irara' | 'belgium' | 'netherlands' | 'analyst', ReturnType<typeof subscriber>>;
    await Promise.all(Object.values(subs).map((s) => s.ready()));
    // The data protection officer hears of no breaches.
    const dpo = subscriber(url, tokens.dpo);
    await until(() => dpo.errors.length > 0, 5_000);
    expect(JSON.stringify(dpo.errors)).toMatch(/FORBIDDEN/);
    dpo.stop();

    for (let i = 0; i < 5; i++) caseIds.push(await newCase(i));
    const withdraw = async (id: string) => {
      const { body } = await system.graphql(
        'mutation($id: ID!) { withdrawCase(caseId: $id, reason: "Returned by other means") { status } }',
        { id },
        as('belgium'),
      );
      expect(body.errors).toBeUndefined();
    };
    // The first withdrawal already breaches (1 of 5 = 0.2 > 0.15): month and year, in the partner's,
    // the Member State's and the country's scope.
    await withdraw(caseIds[0]!);
    await until(
      () => subs.analyst.events.length >= 6 && subs.weldo.events.length >= 2 && subs.belgium.events.length >= 2,
    );
    expect(subs.weldo.events.find((e) => e.period === MONTH)).toMatchObject({ value: 0.2, casesCounted: 5 });
    // The second makes it worse (0.4): the same breach, not told again.
    await withdraw(caseIds[1]!);
    const seen = (who: keyof typeof subs) =>
      subs[who].events.map((e) => `${e.indicatorId} ${e.perspective}:${e.key} ${e.period}`).sort();
    expect(seen('weldo')).toEqual([`withdrawal-rate PARTNER:weldo 2019`, `withdrawal-rate PARTNER:weldo ${MONTH}`]);
    expect(seen('belgium')).toEqual([
      `withdrawal-rate MEMBER_STATE:BE 2019`,
      `withdrawal-rate MEMBER_STATE:BE ${MONTH}`,
    ]);
    expect(seen('analyst')).toEqual(
      expect.arrayContaining([
        `withdrawal-rate COUNTRY_OF_ORIGIN:AF ${MONTH}`,
        `withdrawal-rate PARTNER:weldo ${MONTH}`,
      ]),
    );
    // The analyst hears of every scope's breach, but reads its figures through suppression only: the
    // event must not give what indicatorBreaches withholds (1 withdrawal of 5 in Belgium).
    for (const e of subs.analyst.events) expect(e).toMatchObject({ value: null, casesCounted: null });
    expect(subs.belgium.events.find((e) => e.period === MONTH)).toMatchObject({ value: 0.2, casesCounted: 5 });
    await new Promise((r) => setTimeout(r, 500));
    expect(subs.irara.events).toEqual([]);
    expect(subs.netherlands.events).toEqual([]);
    for (const s of Object.values(subs)) expect(s.errors).toEqual([]);

    // Stored once per indicator, scope and period, with the value now (2 of 5, once the second withdrawal is counted).
    const list = () =>
      system.graphql<{ indicatorBreaches: Array<Record<string, unknown>> }>(
        BREACH_LIST,
        { i: 'withdrawal-rate' },
        as('weldo'),
      );
    await until(async () => (await list()).body.data?.indicatorBreaches.some((b) => b.value === 0.4) ?? false);
    expect(subs.weldo.events).toHaveLength(2);
    expect(subs.analyst.events).toHaveLength(6);
    for (const s of Object.values(subs)) s.stop();
    const { body } = await list();
    expect(body.errors).toBeUndefined();
    expect(body.data!.indicatorBreaches.filter((b) => b.period === MONTH)).toEqual([
      expect.objectContaining({
        id: `withdrawal-rate@1|partner:weldo|${MONTH}`,
        scope: { perspective: 'PARTNER', key: 'weldo' },
        value: 0.4,
        casesCounted: 5,
        minimumStandard: 0.15,
        direction: 'LOWER_IS_BETTER',
        open: true,
      }),
    ]);
    const stored = await indicatorModels(system.connections.cases)
      .Breaches.countDocuments({ _id: `withdrawal-rate@1|partner:weldo|${MONTH}` })
      .exec();
    expect(stored).toBe(1);

    // The partner's webhook hears of its own scope's breach (no case: caseId empty).
    await until(() => hits.length >= 2);
    type Payload = { type: string; caseId: string; indicatorBreach: { scope: { perspective: string; key: string } } };
    const payloads = hits.map((h) => JSON.parse(h) as Payload);
    expect(payloads.every((p) => p.type === 'INDICATOR_BREACHED' && p.caseId === '')).toBe(true);
    expect(payloads.map((p) => p.indicatorBreach.scope)).toEqual([
      { perspective: 'PARTNER', key: 'weldo' },
      { perspective: 'PARTNER', key: 'weldo' },
    ]);
  });

  it('a Member State reads its own scope exactly; the analyst sees small cells withheld', async () => {
    const read = async (who: Who, variables: Record<string, unknown>) => {
      const { body } = await system.graphql<{ indicatorValues: Array<Record<string, unknown>> }>(
        VALUES,
        variables,
        as(who),
      );
      expect(body.errors).toBeUndefined();
      return body.data!.indicatorValues;
    };
    const own = await read('belgium', { i: 'withdrawal-rate', period: MONTH });
    expect(own).toEqual([
      {
        indicatorId: 'withdrawal-rate',
        indicatorVersion: 1,
        scope: { perspective: 'MEMBER_STATE', key: 'BE' },
        period: MONTH,
        value: 0.4,
        numerator: 2,
        denominator: 5,
        casesCounted: 5,
        status: 'BREACHED',
      },
    ]);
    const analyst = await read('analyst', { i: 'withdrawal-rate', p: 'MEMBER_STATE', k: 'BE', period: MONTH });
    // 2 withdrawn of 5: a numerator under 5 could single a returnee out (the 5 cases may show).
    expect(analyst).toEqual([
      expect.objectContaining({ value: null, numerator: null, denominator: 5, casesCounted: 5, status: 'WITHHELD' }),
    ]);
    // Another Member State sees Belgium only through the same suppression.
    expect(
      (await read('netherlands', { i: 'withdrawal-rate', p: 'MEMBER_STATE', k: 'BE', period: MONTH }))[0],
    ).toMatchObject({
      value: null,
      status: 'WITHHELD',
    });
    // The support desk reads it exactly.
    expect((await read('desk', { i: 'withdrawal-rate', p: 'MEMBER_STATE', k: 'BE', period: MONTH }))[0]).toMatchObject({
      value: 0.4,
      status: 'BREACHED',
    });
    // The analyst lists the breach with its value withheld.
    const { body } = await system.graphql<{ indicatorBreaches: Array<Record<string, unknown>> }>(
      BREACH_LIST,
      { i: 'withdrawal-rate', p: 'MEMBER_STATE', k: 'BE' },
      as('analyst'),
    );
    expect(body.data!.indicatorBreaches.find((b) => b.period === MONTH)).toMatchObject({ value: null, open: true });
  });

  it('counts assessment and feedback events (M2 publishes them) into outcome indicators', async () => {
    const owner = { memberState: 'BE', countryOfOrigin: 'AF', partnerId: 'weldo' };
    const events = [0.9, 0.8, 0.7, 0.2, 0.1, 0.3].map(
      (overall, i) =>
        ({
          type: 'case.updated',
          caseId: caseIds[i % caseIds.length]!,
          version: 10 + i,
          at: '2020-02-10T10:00:00.000Z',
          before: null,
          after: null,
          owner,
          publicType: 'ASSESSMENT_RECORDED',
          assessment: {
            assessmentId: `a${i}`,
            followUpMonths: 12,
            instrumentVersion: 1,
            scores: { economic: 0.5, social: 0.5, psychosocial: 0.5, overall },
          },
        }) as unknown as CaseEvent,
    );
    await publishCaseEvents(system.redis, system.config.QUEUE_PREFIX, events);
    let values: Array<Record<string, unknown>> = [];
    await until(async () => {
      const { body } = await system.graphql<{ indicatorValues: Array<Record<string, unknown>> }>(
        VALUES,
        { i: 'sustainable-at-12-months', p: 'PARTNER', k: 'weldo', period: '2020-02' },
        as('weldo'),
      );
      values = body.data?.indicatorValues ?? [];
      return values[0]?.denominator === 6;
    });
    expect(values[0]).toMatchObject({ value: 0.5, numerator: 3, denominator: 6, status: 'BELOW_TARGET' });
  });

  it('refuses hostile arguments and roles with named codes', async () => {
    const cases: Array<[Who, Record<string, unknown>, string, RegExp]> = [
      ['desk', { first: 100_000 }, 'BAD_USER_INPUT', /first must be 1 to 500/],
      ['desk', { period: '2019-11-01T00:00' }, 'BAD_USER_INPUT', /period/],
      ['desk', { i: 'x'.repeat(5_000) }, 'BAD_USER_INPUT', /indicator/],
      ['desk', { p: 'PARTNER', k: '{"$ne":null}' }, 'BAD_USER_INPUT', /key must be a code/],
      ['dpo', {}, 'FORBIDDEN', /reads no indicator values/],
    ];
    for (const [who, variables, code, message] of cases) {
      const { body } = await system.graphql(VALUES, variables, as(who));
      expect(body.errors?.[0]?.extensions?.code, JSON.stringify(variables)).toBe(code);
      expect(body.errors?.[0]?.message).toMatch(message);
    }
    const { body } = await system.graphql(BREACH_LIST, { p: 'PARTNER', k: 'weldo' }, as('irara'));
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a replayed batch counts once and publishes its breach once; a stale holder is refused', async () => {
    const models = indicatorModels(system.connections.cases);
    const definitions = indicatorsOf(system.config).indicators;
    const publisher = { redis: system.redis, prefix: system.config.QUEUE_PREFIX };
    const entries = Array.from({ length: 5 }, (_, i) => ({
      id: `${1_000 + i}-0`,
      event: {
        type: 'case.created' as const,
        caseId: `replay-${i}`,
        version: 0,
        at: '2018-01-02T00:00:00.000Z',
        before: null,
        after: eventFacts({
          memberState: 'LU',
          countryOfOrigin: 'GE',
          partnerId: 'replay-partner',
          month: '2018-01',
          status: i < 3 ? 'WITHDRAWN' : 'SUBMITTED',
        }),
      },
    }));
    const batch = { entries, lastId: entries.at(-1)!.id };
    await applyIndicators(models, definitions, publisher, batch, 20);
    await applyIndicators(models, definitions, publisher, batch, 20);
    const doc = await models.Counters.findOne({ _id: 'partner:replay-partner|2018-01' }).lean().exec();
    expect(doc?.c).toMatchObject({ cases: 5, withdrawn: 3 });
    const id = 'withdrawal-rate@1|partner:replay-partner|2018-01';
    expect(await models.Breaches.findOne({ _id: id }).lean().exec()).toMatchObject({ value: 0.6, open: true });
    const told = (await system.redis.xrange(caseEventStream(system.config.QUEUE_PREFIX), '-', '+')).filter(
      ([, fields]) => fields[1]?.includes(`"breachId":"${id}"`),
    );
    expect(told).toHaveLength(1);
    // A holder whose lease has passed (an older fence) cannot write over the newer one's documents.
    const later = { entries: [{ ...entries[0]!, id: '2000-0' }], lastId: '2000-0' };
    await expect(applyIndicators(models, definitions, publisher, later, 19)).rejects.toBeInstanceOf(LeaseLostError);
    expect((await models.Counters.findOne({ _id: 'partner:replay-partner|2018-01' }).lean().exec())?.c).toMatchObject({
      cases: 5,
    });
  });

  it('the demo data (npm run seed) misses some minimums in some scopes: a few breaches, both directions', async () => {
    // Last: reloads the demo cases as `npm run seed` does (the store's cases are replaced).
    await seedCases(system.connections, { count: 1_500, seed: 20240301, caseIdKey: system.config.CASE_ID_KEY });
    const seeded = await seedIndicators(system.config, system.connections.cases, system.redis);
    expect(seeded.cases).toBe(1_500);
    expect(seeded.breaches).toBeGreaterThan(0);
    const { body } = await system.graphql<{ indicatorBreaches: Array<{ direction: string; open: boolean }> }>(
      '{ indicatorBreaches(first: 500) { direction open } }',
      {},
      as('desk'),
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.indicatorBreaches).toHaveLength(seeded.breaches);
    expect(new Set(body.data!.indicatorBreaches.map((b) => b.direction))).toEqual(
      new Set(['HIGHER_IS_BETTER', 'LOWER_IS_BETTER']),
    );
    // A rebuild counts stored outcome records again when given them (as their events carry them).
    async function* outcomes(): AsyncIterable<CaseEvent> {
      for (let i = 0; i < 5; i++)
        yield {
          type: 'case.updated',
          caseId: `o${i}`,
          version: 1,
          at: '2020-03-01T00:00:00.000Z',
          before: null,
          after: null,
          owner: { memberState: 'BE', countryOfOrigin: 'AF', partnerId: 'weldo' },
          publicType: 'ASSESSMENT_RECORDED',
          assessment: {
            assessmentId: `o${i}`,
            followUpMonths: 12,
            instrumentVersion: 1,
            scores: { economic: 0.2, social: 0.2, psychosocial: 0.2, overall: 0.2 },
          },
        } as unknown as CaseEvent;
    }
    const models = indicatorModels(system.connections.cases);
    await rebuildIndicators(
      casesModels(system.connections.cases),
      models,
      indicatorsOf(system.config).indicators,
      system.redis,
      system.config.QUEUE_PREFIX,
      outcomes,
    );
    expect((await models.Counters.findOne({ _id: 'partner:weldo|2020-03' }).lean().exec())?.c).toMatchObject({
      assess: { m12: { n: 5 } },
    });
    expect(
      await models.Breaches.findOne({ _id: 'sustainable-at-12-months@1|partner:weldo|2020-03' }).lean().exec(),
    ).toMatchObject({ value: 0, open: true });
  });
});
