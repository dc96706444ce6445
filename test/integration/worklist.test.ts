import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { Types } from 'mongoose';
import type { Principal } from '../../shared/auth.js';
import type { CaseStatus, Package } from '../../shared/domain.js';
import { casesModels, upgradeKeyMoments } from '../../subgraphs/cases/case/models.js';
import {
  KEY_MOMENTS_MIGRATION,
  MIGRATIONS_COLLECTION,
  upgradeKeyMomentsOnce,
} from '../../subgraphs/cases/worklist/background.js';
import { LeaseLostError } from '../../shared/leased-loop.js';
import { DEFAULT_WORKLIST_THRESHOLDS } from '../../subgraphs/cases/worklist/rules.js';
import { applyWorklist, worklistModel } from '../../subgraphs/cases/worklist/store.js';
import { eventFacts } from '../helpers/event-facts.js';
import { createCaseAsIngested } from '../helpers/cases.js';
import { startTestSystem, type GraphQLBody, type TestSystem } from '../helpers/system.js';

interface Item {
  caseId: string;
  awaiting: string;
  awaitedBy: string;
  since: string;
  dueOn: string | null;
  dueBecause: string | null;
  overdue: boolean;
  dueSoon: boolean;
  case: { id: string; status: string } | null;
}
interface Page {
  myWorklist: {
    edges: Array<{ cursor: string; node: Item }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    totalCount: number;
  };
}

const WORKLIST = `query($kind: WorklistKind!, $first: Int, $after: String, $ms: ID) {
  myWorklist(kind: $kind, first: $first, after: $after, memberState: $ms) {
    edges { cursor node { caseId awaiting awaitedBy since dueOn dueBecause overdue dueSoon case { id status } } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`;

const principals = {
  belgium: { subject: 'be-officer', role: 'MEMBER_STATE', memberState: 'BE' },
  germany: { subject: 'de-officer', role: 'MEMBER_STATE', memberState: 'DE' },
  weldo: { subject: 'weldo-case-worker', role: 'PARTNER', partnerId: 'weldo' },
  irara: { subject: 'irara-case-worker', role: 'PARTNER', partnerId: 'irara' },
  desk: { subject: 'desk', role: 'SUPPORT_DESK' },
  analyst: { subject: 'analyst', role: 'EU_ANALYST' },
} satisfies Record<string, Principal>;
type Who = keyof typeof principals;

/** The test system's "today" (finance's and the worklists' fixed date). */
const TODAY = '2024-06-01';

describe('worklists through the gateway', () => {
  let system: TestSystem;
  const headers = {} as Record<Who, Record<string, string>>;

  /** A case as the Member State's feed inserts it: stored, then its event published (as ingestion does). */
  async function newCase(over: {
    memberState?: string;
    partnerId?: string;
    status?: CaseStatus;
    departureDate?: string;
    packages?: Package[];
  }): Promise<string> {
    return createCaseAsIngested(system, {
      memberState: over.memberState ?? 'BE',
      caseReference: `WL-${Math.random().toString(36).slice(2, 10)}`,
      returnType: 'VOLUNTARY',
      packages: over.packages ?? ['POST_ARRIVAL', 'POST_RETURN'],
      countryOfOrigin: 'AF',
      partnerId: over.partnerId ?? 'weldo',
      status: over.status ?? 'SUBMITTED',
      mainApplicant: { name: 'Ahmad Rahimi', dateOfBirth: '1990-01-01', sex: 'MALE' },
      familySize: 1,
      departureDate: over.departureDate ?? '2024-03-01',
    });
  }

  async function worklist(who: Who, kind: string, extra: Record<string, unknown> = {}) {
    const { body } = await system.graphql<Page>(WORKLIST, { kind, ...extra }, headers[who]);
    return body;
  }
  const ids = (body: GraphQLBody<Page>) => body.data?.myWorklist.edges.map((e) => e.node.caseId) ?? [];

  /** The read model follows the events: wait until `check` holds of `who`'s worklist. */
  async function eventually(who: Who, kind: string, check: (body: GraphQLBody<Page>) => boolean, extra = {}) {
    const deadline = Date.now() + 10_000;
    let body = await worklist(who, kind, extra);
    while (!check(body) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      body = await worklist(who, kind, extra);
    }
    return body;
  }

  async function act(who: Who, mutation: string, variables: Record<string, unknown>) {
    const { body } = await system.graphql<Record<string, { status: string }>>(mutation, variables, headers[who]);
    expect(body.errors).toBeUndefined();
    return Object.values(body.data!)[0]!;
  }
  const accept = 'mutation($id: ID!) { acceptCase(caseId: $id) { status milestones { km1At arrivedAt } } }';
  const arrive =
    'mutation($id: ID!) { reportArrival(caseId: $id, report: { arrivalDate: "2024-03-02", ' +
    'postArrivalServices: [CASH] }) { status milestones { km1At arrivedAt } } }';
  const submitPlan =
    'mutation($id: ID!) { submitReintegrationPlan(caseId: $id, plan: { services: [{ category: JOB_PLACEMENT, ' +
    'description: "Job coaching", amountCents: 50000 }] }) { status } }';

  beforeAll(async () => {
    system = await startTestSystem();
    for (const who of Object.keys(principals) as Who[]) headers[who] = await system.as(principals[who]);
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('the item moves from the partner to the Member State along the lifecycle; KM1 is the acceptance', async () => {
    const id = await newCase({});
    let weldo = await eventually('weldo', 'AWAITING_ME', (b) => ids(b).includes(id));
    const item = weldo.data!.myWorklist.edges.find((e) => e.node.caseId === id)!.node;
    expect(item).toMatchObject({ awaiting: 'ACCEPTANCE', awaitedBy: 'PARTNER', case: { id, status: 'SUBMITTED' } });
    expect(ids(await worklist('belgium', 'AWAITING_ME'))).not.toContain(id);

    const accepted = (await act('weldo', accept, { id })) as unknown as { milestones: Record<string, unknown> };
    expect(accepted.milestones.km1At).toEqual(expect.any(String));
    expect(accepted.milestones.arrivedAt).toBeNull();
    // Waiting for the arrival report since departure + 3 days (2024-03-04): overdue on the test system's day.
    weldo = await eventually('weldo', 'OVERDUE', (b) => ids(b).includes(id));
    expect(weldo.data!.myWorklist.edges.find((e) => e.node.caseId === id)!.node).toMatchObject({
      awaiting: 'ARRIVAL_REPORT',
      dueOn: '2024-03-04',
      dueBecause: 'SERVICE_LEVEL',
      overdue: true,
      dueSoon: false,
    });

    const arrived = (await act('weldo', arrive, { id })) as unknown as { milestones: Record<string, unknown> };
    expect(arrived.milestones.arrivedAt).toEqual(expect.any(String));
    weldo = await eventually('weldo', 'AWAITING_ME', (b) =>
      b.data!.myWorklist.edges.some((e) => e.node.caseId === id && e.node.awaiting === 'PLAN'),
    );
    expect(ids(await worklist('weldo', 'OVERDUE'))).not.toContain(id);

    await act('weldo', submitPlan, { id });
    const belgium = await eventually('belgium', 'AWAITING_ME', (b) => ids(b).includes(id));
    expect(belgium.data!.myWorklist.edges.find((e) => e.node.caseId === id)!.node).toMatchObject({
      awaiting: 'PLAN_DECISION',
      awaitedBy: 'MEMBER_STATE',
    });
    expect(ids(await worklist('weldo', 'AWAITING_ME'))).not.toContain(id);
  });

  it('DUE_SOON from the windows; out-of-scope cases never appear; the desk sees all or one Member State', async () => {
    // Departure in four days: the arrival report is due on 2024-06-08, within the 14-day horizon.
    const soon = await newCase({ status: 'ACCEPTED', departureDate: '2024-06-05' });
    const german = await newCase({ memberState: 'DE', partnerId: 'irara' });
    const dueSoon = await eventually('weldo', 'DUE_SOON', (b) => ids(b).includes(soon));
    expect(dueSoon.data!.myWorklist.edges.every((e) => e.node.dueOn! >= TODAY)).toBe(true);
    expect(dueSoon.data!.myWorklist.edges.find((e) => e.node.caseId === soon)!.node).toMatchObject({
      dueOn: '2024-06-08',
      dueSoon: true,
      overdue: false,
    });
    const irara = await eventually('irara', 'AWAITING_ME', (b) => ids(b).includes(german));
    expect(ids(irara)).toEqual([german]);
    for (const who of ['weldo', 'belgium', 'germany'] as const)
      for (const kind of ['AWAITING_ME', 'OVERDUE', 'DUE_SOON'])
        expect(ids(await worklist(who, kind))).not.toContain(german);
    const desk = await eventually('desk', 'AWAITING_ME', (b) => ids(b).includes(german) && ids(b).includes(soon));
    expect(desk.data!.myWorklist.totalCount).toBeGreaterThanOrEqual(2);
    expect(ids(await worklist('desk', 'AWAITING_ME', { ms: 'DE' }))).toEqual([german]);
  });

  it('pages in due-date order with cursors, every item once', async () => {
    for (const departureDate of ['2024-01-10', '2024-02-10', '2024-04-10'])
      await newCase({ status: 'ACCEPTED', departureDate });
    // The case of the DUE_SOON test and these three wait for weldo (the first test's case waits for Belgium).
    const all = await eventually('weldo', 'AWAITING_ME', (b) => b.data!.myWorklist.totalCount === 4);
    expect(all.data!.myWorklist.edges.map((e) => e.node.dueOn)).toEqual([
      '2024-01-13',
      '2024-02-13',
      '2024-04-13',
      '2024-06-08',
    ]);
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 20; i++) {
      const page: GraphQLBody<Page> = await worklist('weldo', 'AWAITING_ME', { first: 2, after });
      seen.push(...ids(page));
      const dues = page.data!.myWorklist.edges.map((e) => e.node.dueOn ?? '9999');
      expect([...dues].sort()).toEqual(dues);
      if (!page.data!.myWorklist.pageInfo.hasNextPage) break;
      after = page.data!.myWorklist.pageInfo.endCursor;
    }
    expect(seen).toEqual(ids(all));
    expect(new Set(seen).size).toBe(all.data!.myWorklist.totalCount);
  });

  it('upgrades a case stored when KM1 meant the arrival report: KM1 at acceptance, arrival its own step', async () => {
    const { Case } = casesModels(system.connections.cases);
    const accepted = new Date('2024-03-01T10:00:00.000Z');
    const arrived = new Date('2024-03-05T10:00:00.000Z');
    const step = (version: number, transition: string, from: string, to: string, at: Date) => ({
      version,
      transition,
      from,
      to,
      at,
      actor: { role: 'PARTNER', subject: 'weldo-case-worker', partnerId: 'weldo' },
    });
    const id = await newCase({ status: 'ARRIVED' });
    // As the earlier version stored it: no arrivedAt, km1At at the arrival report.
    await Case.collection.updateOne(
      { _id: new Types.ObjectId(id) },
      {
        $set: {
          milestones: { km1At: arrived, km2At: null, km3At: null },
          history: [
            step(1, 'acceptCase', 'SUBMITTED', 'ACCEPTED', accepted),
            step(2, 'reportArrival', 'ACCEPTED', 'ARRIVED', arrived),
          ],
        },
      },
    );
    expect(await upgradeKeyMoments(Case)).toBe(1);
    expect(await upgradeKeyMoments(Case)).toBe(0);
    const { body } = await system.graphql<{ case: { milestones: Record<string, string | null> } }>(
      'query($id: ID!) { case(id: $id) { milestones { km1At arrivedAt km2At } } }',
      { id },
      headers.belgium,
    );
    expect(body.data!.case.milestones).toEqual({
      km1At: accepted.toISOString(),
      arrivedAt: arrived.toISOString(),
      km2At: null,
    });
  });

  it('the key-moment upgrade at start reads every case once: later starts find its mark and skip it', async () => {
    const { Case } = casesModels(system.connections.cases);
    const migrations = system.connections.cases.collection(MIGRATIONS_COLLECTION);
    const legacy = async (): Promise<string> => {
      const id = await newCase({ status: 'SUBMITTED' });
      await Case.collection.updateOne(
        { _id: new Types.ObjectId(id) },
        { $set: { milestones: { km1At: null, km2At: null, km3At: null } } },
      );
      return id;
    };
    const arrivedAtOf = async (id: string) =>
      (await Case.collection.findOne({ _id: new Types.ObjectId(id) }))?.milestones as Record<string, unknown>;
    // The system's own start ran the pass and left the mark.
    expect(await migrations.findOne({ _id: KEY_MOMENTS_MIGRATION as never })).not.toBeNull();
    const afterMark = await legacy();
    expect(await upgradeKeyMomentsOnce(system.connections.cases, Case)).toBe(0);
    expect(await arrivedAtOf(afterMark)).not.toHaveProperty('arrivedAt');
    // Without the mark (a start stopped before the pass ended), the next start runs it in full.
    await migrations.deleteOne({ _id: KEY_MOMENTS_MIGRATION as never });
    expect(await upgradeKeyMomentsOnce(system.connections.cases, Case)).toBe(0);
    expect(await arrivedAtOf(afterMark)).toHaveProperty('arrivedAt', null);
    expect(await migrations.findOne({ _id: KEY_MOMENTS_MIGRATION as never })).not.toBeNull();
  });

  it('a projector past its lease cannot overwrite what a newer holder wrote (fenced)', async () => {
    const Worklist = worklistModel(system.connections.cases);
    const caseId = new Types.ObjectId().toHexString();
    const batch = (id: string, status: CaseStatus) => ({
      lastId: id,
      entries: [
        {
          id,
          event: {
            type: 'case.transitioned' as const,
            caseId,
            version: 1,
            at: new Date().toISOString(),
            before: null,
            after: eventFacts({ status, partnerId: 'weldo', packages: ['POST_ARRIVAL', 'POST_RETURN'] }),
          },
        },
      ],
    });
    await applyWorklist(Worklist, batch('1-0', 'PLAN_SUBMITTED'), DEFAULT_WORKLIST_THRESHOLDS, 7);
    await expect(
      applyWorklist(Worklist, batch('0-5', 'SUBMITTED'), DEFAULT_WORKLIST_THRESHOLDS, 6),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(await Worklist.findById(caseId).lean().exec()).toMatchObject({ step: 'PLAN_DECISION', fence: 7 });
  });

  it('refuses malformed, oversized and hostile input with named codes', async () => {
    const code = (body: GraphQLBody<Page>) => body.errors?.[0]?.extensions?.code;
    expect(code(await worklist('weldo', 'AWAITING_ME', { first: 0 }))).toBe('BAD_USER_INPUT');
    expect(code(await worklist('weldo', 'AWAITING_ME', { first: 100_000 }))).toBe('BAD_USER_INPUT');
    expect(code(await worklist('weldo', 'AWAITING_ME', { after: 'x'.repeat(10_000) }))).toBe('BAD_USER_INPUT');
    expect(code(await worklist('weldo', 'AWAITING_ME', { after: '{"$gt":""}' }))).toBe('BAD_USER_INPUT');
    expect(code(await worklist('desk', 'AWAITING_ME', { ms: '{"$ne":null}' }))).toBe('BAD_USER_INPUT');
    expect(code(await worklist('belgium', 'AWAITING_ME', { ms: 'DE' }))).toBe('FORBIDDEN');
    expect(code(await worklist('analyst', 'AWAITING_ME'))).toBe('FORBIDDEN');
    const invalidKind = await worklist('weldo', 'EVERYTHING');
    expect(invalidKind.errors?.[0]?.message).toMatch(/WorklistKind/);
    const { body } = await system.graphql<Page>(WORKLIST, { kind: 'AWAITING_ME' }, { authorization: '' });
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('a subscription sees the worklist change: the Member State when a plan arrives, no other one', async () => {
    const id = await newCase({});
    await eventually('weldo', 'AWAITING_ME', (b) => ids(b).includes(id));
    await act('weldo', accept, { id });
    await act('weldo', arrive, { id });
    const query =
      'subscription { worklistChanged { id caseId awaiting awaitedBy previously previouslyAwaitedBy ' +
      'case { id status } } }';
    const belgium = listen(system.gatewayUrl.replace(/^http/, 'ws'), headers.belgium.authorization!, query);
    const germany = listen(system.gatewayUrl.replace(/^http/, 'ws'), headers.germany.authorization!, query);
    await Promise.all([belgium.ready(), germany.ready()]);
    await act('weldo', submitPlan, { id });
    await belgium.until(() => belgium.received.some((c) => c.caseId === id));
    expect(belgium.received.find((c) => c.caseId === id)).toMatchObject({
      awaiting: 'PLAN_DECISION',
      awaitedBy: 'MEMBER_STATE',
      previously: 'PLAN',
      previouslyAwaitedBy: 'PARTNER',
      case: { id, status: 'PLAN_SUBMITTED' },
    });
    expect(germany.received).toEqual([]);
    const analyst = listen(system.gatewayUrl.replace(/^http/, 'ws'), headers.analyst.authorization!, query);
    await analyst.until(() => analyst.errors.length > 0);
    expect(JSON.stringify(analyst.errors)).toMatch(/no worklist/);
    await Promise.all([belgium.stop(), germany.stop(), analyst.stop()]);
  });
});

interface Change {
  caseId: string;
  [field: string]: unknown;
}

/** A graphql-ws client recording the worklist changes it receives. */
function listen(url: string, authorization: string, query: string) {
  const received: Change[] = [];
  const errors: unknown[] = [];
  let connected = false;
  const client: Client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { authorization },
    on: { connected: () => (connected = true) },
  });
  client.subscribe<{ worklistChanged: Change }>(
    { query },
    {
      next: (value) => {
        if (value.data) received.push(value.data.worklistChanged);
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
    received,
    errors,
    until,
    ready: async () => {
      await until(() => connected);
      await new Promise((r) => setTimeout(r, 150));
    },
    stop: () => client.dispose(),
  };
}
