import { verifyLegacyWebhook as verifyWebhook } from '../../packages/client/src/legacy-webhooks.js';
import {
  Kind,
  parse,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLResolveInfo,
  type OperationDefinitionNode,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  CASE_EVENT_TYPES,
  matchesFilter,
  mayReceive,
  messageOf,
  parseStreamEntry,
  type CaseEvent,
  type CaseEventMessage,
} from '../../shared/case-events/index.js';
import { transitionEventType } from '../../subgraphs/cases/case/transition-events.js';
import { eventFacts } from '../helpers/event-facts.js';
import { readFileSync } from 'node:fs';
import { buildASTSchema } from 'graphql';
import { caseQueryFor, personalFieldsOf, readsPersonalData } from '../../gateway/subscriptions/index.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  checkWebhookUrl,
  isBlockedAddress,
  payloadOf,
  postWebhook,
  signWebhook,
} from '../../subgraphs/cases/webhooks/index.js';

const facts = eventFacts({ memberState: 'BE', partnerId: 'weldo', countryOfOrigin: 'AF', status: 'ACCEPTED' });
// A transition's event carries its public type as the cases lifecycle writes it.
const event = (over: Partial<CaseEvent>): CaseEvent => ({
  type: 'case.transitioned',
  caseId: 'c1',
  version: 1,
  at: '2024-03-01T00:00:00.000Z',
  before: facts,
  after: facts,
  ...over,
  ...(over.transition ? transitionEventType(over.transition) : {}),
});

describe('case event messages', () => {
  it.each([
    [{ type: 'case.created' as const, before: null }, 'CREATED', null],
    [{ type: 'case.updated' as const }, 'UPDATED', null],
    [{ transition: 'acceptCase' }, 'ACCEPTED', 'KM1'],
    [{ transition: 'reportArrival' }, 'ARRIVED', null],
    [{ transition: 'submitReintegrationPlan' }, 'PLAN_SUBMITTED', null],
    [{ transition: 'approveReintegrationPlan' }, 'PLAN_APPROVED', 'KM2'],
    [{ transition: 'rejectReintegrationPlan' }, 'PLAN_REJECTED', null],
    [{ transition: 'reportCompletion' }, 'COMPLETION_REPORTED', null],
    [{ transition: 'approveCompletion' }, 'MILESTONE_REACHED', 'KM3'],
    [{ transition: 'withdrawCase' }, 'WITHDRAWN', null],
    [{ transition: 'closeCase' }, 'CLOSED', null],
    [{ type: 'case.erased' as const }, 'PERSONAL_DATA_ERASED', null],
  ])('%j is %s (milestone %s)', (over, type, milestone) => {
    expect(messageOf('5-0', event(over))).toMatchObject({
      id: '5-0',
      type,
      milestone,
      caseId: 'c1',
      status: 'ACCEPTED',
      owner: { memberState: 'BE', partnerId: 'weldo', countryOfOrigin: 'AF' },
    });
  });

  it.each([
    ['approveReintegrationPlan', 'PLAN_APPROVED', 'KM2'],
    // Told by the key moments as the programme names them: KM1 at acceptance, arrival its own step.
    ['acceptCase', 'ACCEPTED', 'KM1'],
    ['reportArrival', 'ARRIVED', null],
    ['withdrawCase', 'WITHDRAWN', null],
  ])('an entry written before entries carried their public type: %s is %s (%s)', (transition, type, milestone) => {
    // As the earlier publisher wrote it: the transition, no publicType, no milestone.
    const old = { ...event({}), type: 'case.transitioned' as const, transition } as Record<string, unknown>;
    delete old.publicType;
    delete old.milestone;
    const parsed = parseStreamEntry(['event', JSON.stringify(old)]);
    expect(parsed && messageOf('7-0', parsed)).toMatchObject({ type, milestone, transition });
  });

  it('a disbursement takes its owner from the event, and has no status', () => {
    const message = messageOf(
      '6-0',
      event({
        type: 'case.disbursed',
        before: null,
        after: null,
        owner: { memberState: 'NL', partnerId: 'irara', countryOfOrigin: 'IQ' },
        disbursement: { amountCents: 5, package: 'POST_ARRIVAL', kind: 'CASH', date: '2024-01-01' },
      }),
    );
    expect(message).toMatchObject({
      type: 'DISBURSEMENT_RECORDED',
      status: null,
      owner: { memberState: 'NL', partnerId: 'irara' },
      disbursement: { amountCents: 5 },
    });
  });

  it('ignores entries it cannot place: unknown kinds or transitions, no owner, bad JSON', () => {
    expect(messageOf('1-0', event({ transition: 'teleport' }))).toBeNull();
    expect(messageOf('1-0', event({ type: 'case.exploded' as never }))).toBeNull();
    expect(messageOf('1-0', event({ type: 'case.disbursed', before: null, after: null }))).toBeNull();
    expect(parseStreamEntry(['event', '{not json'])).toBeNull();
    expect(parseStreamEntry(['other', '{}'])).toBeNull();
    expect(parseStreamEntry(['event', JSON.stringify(event({}))])).toMatchObject({ caseId: 'c1' });
  });

  it('filters: every given criterion holds, any value within one; a milestone filter matches KM1 and KM2', () => {
    const approved = messageOf('7-0', event({ transition: 'approveReintegrationPlan' }))!;
    const accepted = messageOf('8-0', event({ transition: 'acceptCase' }))!;
    const arrived = messageOf('8-1', event({ transition: 'reportArrival' }))!;
    expect(matchesFilter(approved, { types: ['MILESTONE_REACHED'] })).toBe(true);
    expect(matchesFilter(accepted, { types: ['MILESTONE_REACHED'] })).toBe(true);
    expect(matchesFilter(arrived, { types: ['MILESTONE_REACHED'] })).toBe(false);
    expect(matchesFilter(arrived, { types: ['ARRIVED'] })).toBe(true);
    expect(
      matchesFilter(accepted, {
        types: ['ACCEPTED', 'CLOSED'],
        countriesOfOrigin: ['AF'],
        caseIds: ['c1'],
        statuses: ['ACCEPTED'],
      }),
    ).toBe(true);
    expect(matchesFilter(accepted, { types: ['ACCEPTED'], countriesOfOrigin: ['IQ'] })).toBe(false);
    expect(matchesFilter(accepted, { caseIds: [] })).toBe(true);
    expect(matchesFilter(accepted, null)).toBe(true);
  });

  it('rights: exactly those who may see the case', () => {
    const m = messageOf('9-0', event({ transition: 'acceptCase' }))!;
    expect(mayReceive({ subject: 'a', role: 'PARTNER', partnerId: 'weldo' }, m)).toBe(true);
    expect(mayReceive({ subject: 'a', role: 'PARTNER', partnerId: 'irara' }, m)).toBe(false);
    expect(mayReceive({ subject: 'a', role: 'MEMBER_STATE', memberState: 'BE' }, m)).toBe(true);
    expect(mayReceive({ subject: 'a', role: 'MEMBER_STATE', memberState: 'NL' }, m)).toBe(false);
    expect(mayReceive({ subject: 'a', role: 'EU_ANALYST' }, m)).toBe(true);
    expect(mayReceive({ subject: 'a', role: 'DATA_PROTECTION_OFFICER' }, m)).toBe(false);
    expect(mayReceive(null, m)).toBe(false);
  });
});

describe('the per-event query a subscription runs', () => {
  /** The resolve info graphql-js gives the `case` field of this subscription document. */
  const infoFor = (source: string): Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments' | 'operation'> => {
    const document = parse(source);
    const operation = document.definitions.find(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
    )!;
    const fragments = Object.fromEntries(
      document.definitions
        .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
        .map((f) => [f.name.value, f]),
    );
    const caseEvents = operation.selectionSet.selections[0] as FieldNode;
    const caseField = caseEvents.selectionSet!.selections.find(
      (s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === 'case',
    )!;
    return { fieldNodes: [caseField], fragments, operation };
  };

  it('keeps aliases, fragments and only the variables the case selection uses', () => {
    const info = infoFor(
      `subscription S($after: ID, $unused: Int, $lang: String) { caseEvents(after: $after) { id case { ref: ` +
        `caseReference ...C } } }
       fragment C on Case { countryOfOrigin { name(lang: $lang) } } fragment Unused on Case { id }`,
    );
    const built = caseQueryFor(info);
    expect(built.variableNames).toEqual(['lang']);
    expect(built.query).toContain('query CaseEvents($lang: String, $__case0: ID!)');
    expect(built.query).toContain('case(id: $__case0)');
    expect(built.query).not.toContain('c0:');
    // A batch: one list field with the selection once (one plan, one call per subgraph), not an alias per case.
    const batch = caseQueryFor(info, true).query;
    expect(batch).toContain('query CaseEvents($lang: String, $__cases: [ID!]!)');
    expect(batch).toContain('casesById(ids: $__cases) {');
    expect(batch).not.toMatch(/\bcase\(|c\d+:/);
    expect(batch.match(/fragment C on Case/g)).toHaveLength(1);
    expect(batch.match(/ref: caseReference/g)).toHaveLength(1);
    expect(built.query).toContain('ref: caseReference');
    expect(built.query).toContain('fragment C on Case');
    expect(built.query).not.toContain('Unused');
  });
});

describe('webhook signatures and endpoints', () => {
  const secret = 's'.repeat(43);
  const body = JSON.stringify({ id: '1-0', type: 'ACCEPTED' });
  const now = Date.parse('2024-06-01T12:00:00Z');
  const ts = now / 1000;

  it('a receiver accepts a fresh, matching signature and refuses a stale, altered or foreign one', () => {
    const signature = signWebhook(secret, ts, body);
    expect(signature).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(secret, signature, ts, body, 300, now)).toBe(true);
    expect(verifyWebhook(secret, signature, ts, body, 300, now + 301_000)).toBe(false); // a replay later
    expect(verifyWebhook(secret, signature, ts + 1, body, 300, now)).toBe(false);
    expect(verifyWebhook(secret, signature, ts, body.replace('ACCEPTED', 'CLOSED'), 300, now)).toBe(false);
    expect(verifyWebhook('t'.repeat(43), signature, ts, body, 300, now)).toBe(false);
    expect(verifyWebhook(secret, 'v1=00', ts, body, 300, now)).toBe(false);
  });

  const strict = { allowHttp: false, allowPrivate: false };
  it.each([
    ['https://partner.example/hooks/avrr', strict, true],
    ['http://partner.example/hooks', strict, false],
    ['http://partner.example/hooks', { allowHttp: true, allowPrivate: false }, true],
    ['http://127.0.0.1:9000/hooks', { allowHttp: true, allowPrivate: false }, false],
    ['http://127.0.0.1:9000/hooks', { allowHttp: true, allowPrivate: true }, true],
    ['https://127.0.0.1/hooks', strict, false],
    ['https://10.1.2.3/hooks', strict, false],
    ['https://100.64.0.1/hooks', strict, false],
    ['https://192.168.0.10/hooks', strict, false],
    ['https://172.20.0.1/hooks', strict, false],
    ['https://169.254.169.254/latest/meta-data', strict, false],
    ['https://[::1]/hooks', strict, false],
    ['https://[::]/hooks', strict, false],
    ['https://[::ffff:127.0.0.1]/hooks', strict, false],
    ['https://[::ffff:a9fe:a9fe]/hooks', strict, false],
    ['https://[64:ff9b::a9fe:a9fe]/hooks', strict, false],
    ['https://[fec0::1]/hooks', strict, false],
    ['https://localhost/hooks', strict, false],
    ['https://localhost./hooks', strict, false],
    ['https://metadata.google.internal/', strict, false],
    ['https://intranet/hooks', strict, false],
    ['https://user:pw@partner.example/', strict, false],
    ['javascript:alert(1)', strict, false],
  ])('%s under %j: accepted %s', (url, policy, accepted) => {
    if (accepted) expect(checkWebhookUrl(url, policy).toString()).toBe(new URL(url).toString());
    else expect(() => checkWebhookUrl(url, policy)).toThrow(/^url /);
  });

  it.each([
    ['8.8.8.8', false],
    ['2001:4860:4860::8888', false],
    ['127.0.0.1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['::127.0.0.1', true],
    ['::1', true],
    ['::', true],
    ['::ffff:0:7f00:1', true],
    ['2002:7f00:1::', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['fd00::1', true],
    ['not-an-ip', true],
  ])('address %s blocked: %s', (address, blocked) => {
    expect(isBlockedAddress(address)).toBe(blocked);
  });

  it('at delivery, a name that resolves inside is refused before connecting', async () => {
    const received: string[] = [];
    const server = createServer((req, res) => {
      received.push(req.url ?? '');
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      await expect(postWebhook(new URL(`http://localhost:${port}/x`), {}, '{}', 2_000, false)).rejects.toThrow(
        /private or internal address/,
      );
      await expect(postWebhook(new URL(`http://127.0.0.1:${port}/x`), {}, '{}', 2_000, false)).rejects.toThrow(
        /private or internal address/,
      );
      expect(received).toEqual([]);
      expect(await postWebhook(new URL(`http://localhost:${port}/ok`), {}, '{}', 2_000, true)).toBe(200);
      expect(received).toEqual(['/ok']);
    } finally {
      server.close();
    }
  });

  it('the payload carries no personal data', () => {
    const message = messageOf('3-0', event({ transition: 'acceptCase' })) as CaseEventMessage;
    expect(Object.keys(payloadOf(message)).sort()).toEqual([
      'at',
      'caseId',
      'countryOfOrigin',
      'id',
      'memberState',
      'milestone',
      'status',
      'transition',
      'type',
    ]);
  });
});

describe('which subscription selections read personal data', () => {
  const supergraph = readFileSync(new URL('../../gateway/supergraph.graphql', import.meta.url), 'utf8');
  const personal = personalFieldsOf(supergraph);
  const schema = buildASTSchema(
    parse(
      `
    type Query { case(id: ID!): Case }
    type Case { id: ID caseReference: String mainApplicant: Person familyMembers: [Person] countryOfOrigin: ` +
        `Country history: [Entry] }
    type Person { name: String pseudonym: ID ageBand: String sex: String }
    type Entry { reason: String to: String }
    type Country { name: String }
  `,
    ),
  );

  it("the graph's CaseEventType (subscriptions and webhooks) has exactly the kinds the event mapping produces", () => {
    const definition = parse(supergraph).definitions.find(
      (d) => d.kind === Kind.ENUM_TYPE_DEFINITION && d.name.value === 'CaseEventType',
    );
    expect(definition && 'values' in definition ? definition.values?.map((v) => v.name.value) : undefined).toEqual([
      ...CASE_EVENT_TYPES,
    ]);
  });

  it('the composed supergraph names the same personal and pseudonymous fields as the cases SDL', () => {
    expect([...personal].sort()).toEqual([
      'Case.closingReason',
      'Case.completionSummary',
      'Case.familyMembers',
      'Case.mainApplicant',
      'Case.messages', // not marked: depends on the reader (READER_DEPENDENT_FIELDS)
      'Case.unreadMessageCount', // likewise
      'CaseHistoryEntry.reason',
      'CaseMessage.body',
      'Complaint.description',
      'Complaint.resolution',
      'Person.ageBand',
      'Person.dateOfBirth',
      'Person.name',
      'Person.pseudonym',
      'Person.vulnerabilities',
      'Person.vulnerabilityCodes',
      'PlanLine.description',
      'PlannedService.description',
      'ReintegrationPlan.rejectionReason',
      'ReturneeFeedback.comment',
      'ReturneeFeedback.satisfaction',
      'ServiceSatisfaction.score',
      'SustainabilityAnswer.value',
      'SustainabilityAssessment.answers',
      'SustainabilityAssessment.scores',
      'SustainabilityScores.economic',
      'SustainabilityScores.overall',
      'SustainabilityScores.psychosocial',
      'SustainabilityScores.social',
    ]);
  });

  it.each([
    ['query { case(id: "1") { id caseReference countryOfOrigin { name } } }', false],
    ['query { case(id: "1") { mainApplicant { sex } } }', true],
    ['query { case(id: "1") { ...F } } fragment F on Case { familyMembers { sex } }', true],
    ['query { case(id: "1") { ... on Case { history { to } } } }', false],
    ['query { case(id: "1") { h: history { r: reason } } }', true],
  ])('%s reads personal data: %s', (query, expected) => {
    const marks = new Set([...personal].map((c) => c.replace('CaseHistoryEntry', 'Entry')));
    expect(readsPersonalData(schema, query, marks)).toBe(expected);
  });
});
