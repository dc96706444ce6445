import { readFileSync } from 'node:fs';
import { parse, type ObjectTypeDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUPERGRAPH_FILE } from '../../gateway/compose.js';
import { webhookModels } from '../../subgraphs/cases/webhooks/index.js';
import type { Principal } from '../../shared/auth.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { ledgerModels } from '../../subgraphs/finance/ledger/models.js';
import { personalDataReadModel } from '../../subgraphs/cases/data-protection/audit.js';
import { asGateway, postGraphQL, startTestSystem, type GraphQLBody, type TestSystem } from '../helpers/system.js';

/**
 * Every principal against every operation and every personal field, through the gateway
 * and directly against the subgraphs (with a validly signed principal, as a compromised or
 * buggy gateway would send), including `_entities`, aliases, fragments and batches.
 *
 * The expectations are written out here, from the access model in the README, not derived
 * from the product's own policy functions.
 */
type Who =
  'anonymous' | 'owner' | 'otherMs' | 'partner' | 'otherPartner' | 'analyst' | 'desk' | 'deskGranted' | 'admin' | 'dpo';
const EVERYONE: Who[] = [
  'anonymous',
  'owner',
  'otherMs',
  'partner',
  'otherPartner',
  'analyst',
  'desk',
  'deskGranted',
  'admin',
  'dpo',
];

/** What each principal gets of the target case. */
const CASE_ACCESS: Record<Who, 'FULL' | 'PSEUDONYMISED' | 'METADATA' | 'INVISIBLE' | 'UNAUTHENTICATED' | 'FORBIDDEN'> =
  {
    anonymous: 'UNAUTHENTICATED',
    owner: 'FULL',
    otherMs: 'INVISIBLE',
    partner: 'FULL',
    otherPartner: 'INVISIBLE',
    analyst: 'PSEUDONYMISED',
    desk: 'METADATA',
    deskGranted: 'FULL',
    admin: 'METADATA',
    dpo: 'FORBIDDEN',
  };

const MS = 'BE';
const OTHER_MS = 'NL';
const PARTNER = 'weldo';
const OTHER_PARTNER = 'irara';

const CASE_SELECTION = `
  id caseReference status completionSummary closingReason
  mainApplicant { pseudonym name dateOfBirth ageBand sex vulnerabilities }
  familyMembers { pseudonym name dateOfBirth ageBand relationship }
  history { transition reason }
  reintegrationPlan { totalCents rejectionReason services { category description } }
  entitlement { totalCents } disbursedCents disbursements { amountCents }`;

/**
 * Every mutation of every subgraph, with what it acts on. For a principal to whom that
 * thing is out of scope, acting on it must answer exactly as acting on one that does not
 * exist (same status, codes and messages, the id aside): nothing tells that it exists.
 * Mutations that act on nothing a principal could be out of scope for say why.
 */
type Target = 'case' | 'webhook' | 'delivery';
const MUTATIONS: Record<
  string,
  | { subgraph: 'cases' | 'finance' | 'coverage'; target: Target; document: string }
  | { subgraph: 'cases' | 'finance' | 'coverage'; target: null; why: string }
> = {
  acceptCase: { subgraph: 'cases', target: 'case', document: 'mutation($id: ID!) { acceptCase(caseId: $id) { id } }' },
  reportArrival: {
    subgraph: 'cases',
    target: 'case',
    document:
      'mutation($id: ID!) { reportArrival(caseId: $id, report: { arrivalDate: "2024-03-02", ' +
      'postArrivalServices: [CASH] }) { id } }',
  },
  submitReintegrationPlan: {
    subgraph: 'cases',
    target: 'case',
    document:
      'mutation($id: ID!) { submitReintegrationPlan(caseId: $id, plan: { services: [{ category: ' +
      'BUSINESS_START_UP, description: "Stock", amountCents: 1000 }] }) { id } }',
  },
  approveReintegrationPlan: {
    subgraph: 'cases',
    target: 'case',
    document: 'mutation($id: ID!) { approveReintegrationPlan(caseId: $id) { id } }',
  },
  rejectReintegrationPlan: {
    subgraph: 'cases',
    target: 'case',
    document: 'mutation($id: ID!) { rejectReintegrationPlan(caseId: $id, reason: "Costs not itemised") { id } }',
  },
  amendReintegrationPlan: {
    subgraph: 'cases',
    target: 'case',
    document:
      'mutation($id: ID!) { amendReintegrationPlan(caseId: $id, plan: { lines: [{ package: POST_RETURN, ' +
      'category: "CASH", description: "Cash", budgetCents: 1000 }] }) { id } }',
  },
  reportServiceDelivery: {
    subgraph: 'cases',
    target: 'case',
    document:
      'mutation($id: ID!) { reportServiceDelivery(caseId: $id, delivery: { lineId: "L1", date: "2024-04-01", ' +
      'provider: "weldo", evidenceReference: "INV-1" }) { id } }',
  },
  reportCompletion: {
    subgraph: 'cases',
    target: 'case',
    document: 'mutation($id: ID!) { reportCompletion(caseId: $id, summary: "Done") { id } }',
  },
  approveCompletion: {
    subgraph: 'cases',
    target: 'case',
    document: 'mutation($id: ID!) { approveCompletion(caseId: $id) { id } }',
  },
  withdrawCase: {
    subgraph: 'cases',
    target: 'case',
    document: 'mutation($id: ID!) { withdrawCase(caseId: $id, reason: "Returned on their own") { id } }',
  },
  closeCase: {
    subgraph: 'cases',
    target: 'case',
    document: 'mutation($id: ID!) { closeCase(caseId: $id, reason: "Duplicate record") { id } }',
  },
  erasePersonalData: {
    subgraph: 'cases',
    target: 'case',
    document: 'mutation($id: ID!) { erasePersonalData(caseId: $id, requestReference: "REQ-1") { id } }',
  },
  openPersonalDataAccess: {
    subgraph: 'cases',
    target: 'case',
    document:
      'mutation($id: ID!) { openPersonalDataAccess(caseId: $id, justification: "Checking the record for the ' +
      'ministry helpdesk") { id } }',
  },
  postCaseMessage: {
    subgraph: 'cases',
    target: 'case',
    document: 'mutation($id: ID!) { postCaseMessage(caseId: $id, body: "Which supplier?") { id } }',
  },
  markCaseMessagesRead: {
    subgraph: 'cases',
    target: 'case',
    document: 'mutation($id: ID!) { markCaseMessagesRead(caseId: $id) { id } }',
  },
  // Monitoring records (#16, M2).
  recordSustainabilityAssessment: {
    subgraph: 'cases',
    target: 'case',
    document:
      'mutation($id: ID!) { recordSustainabilityAssessment(caseId: $id, input: { followUpMonths: 3, ' +
      'assessedOn: "2024-06-01", instrumentVersion: "1", answers: [{ itemId: "ECO_INCOME", value: 4 }] }) { id } }',
  },
  recordReturneeFeedback: {
    subgraph: 'cases',
    target: 'case',
    document:
      'mutation($id: ID!) { recordReturneeFeedback(caseId: $id, input: { satisfaction: [{ service: OVERALL, ' +
      'score: 4 }], comment: "Helpful" }) { id } }',
  },
  fileComplaint: {
    subgraph: 'cases',
    target: 'case',
    document:
      'mutation($id: ID!) { fileComplaint(caseId: $id, input: { category: DELAY, description: "Late cash" }) { id } }',
  },
  updateComplaint: {
    subgraph: 'cases',
    target: null,
    why: 'a complaint on a case out of scope answers exactly as a missing one: monitoring-records.test.ts',
  },
  recordMonitoringVisit: {
    subgraph: 'cases',
    target: null,
    why: 'refused by role before anything is read; those who may record (support desk, administrators) see all',
  },
  completeFollowUpAction: {
    subgraph: 'cases',
    target: null,
    why: "another partner's visit answers exactly as a missing one: monitoring-records.test.ts",
  },
  recordDisbursement: {
    subgraph: 'finance',
    target: 'case',
    document:
      'mutation($id: ID!) { recordDisbursement(caseId: $id, kind: CASH, package: POST_ARRIVAL, date: ' +
      '"2024-03-03", amountCents: 100) { seq } }',
  },
  deleteWebhook: { subgraph: 'cases', target: 'webhook', document: 'mutation($id: ID!) { deleteWebhook(id: $id) }' },
  redeliverWebhook: {
    subgraph: 'cases',
    target: 'delivery',
    document: 'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }',
  },
  replayFailedIngestion: {
    subgraph: 'cases',
    target: null,
    why: 'refused by role before any feed is read; those who may replay (administrators, support desk) see every feed',
  },
  registerWebhook: { subgraph: 'cases', target: null, why: 'creates; acts on no existing thing' },
  createFeedProfile: { subgraph: 'cases', target: null, why: 'creates; acts on no existing thing' },
  newFeedProfileVersion: {
    subgraph: 'cases',
    target: null,
    why: "another Member State's profile answers exactly as a missing one: profiles-graph.test.ts",
  },
  retireFeedProfile: {
    subgraph: 'cases',
    target: null,
    why: "another Member State's profile answers exactly as a missing one: profiles-graph.test.ts",
  },
  setEligibilityRules: { subgraph: 'cases', target: null, why: 'Member States are public reference data' },
  assignCoverage: { subgraph: 'coverage', target: null, why: 'countries and partners are public reference data' },
  addCountryOfOrigin: { subgraph: 'coverage', target: null, why: 'countries of origin are public reference data' },
  addMemberState: { subgraph: 'coverage', target: null, why: 'Member States are public reference data' },
  addTariffVersion: { subgraph: 'finance', target: null, why: 'tariffs are public reference data' },
  setAnnualBudget: { subgraph: 'finance', target: null, why: 'the programme budget of a year; no per-principal scope' },
};

interface CaseView {
  id: string;
  caseReference: string;
  completionSummary: string | null;
  mainApplicant: {
    pseudonym: string;
    name: string | null;
    dateOfBirth: string | null;
    ageBand: string;
    sex: string;
    vulnerabilities: string[] | null;
  } | null;
  familyMembers: Array<{
    pseudonym: string;
    name: string | null;
    dateOfBirth: string | null;
    ageBand: string;
    relationship: string | null;
  }> | null;
  history: Array<{ transition: string; reason: string | null }>;
  reintegrationPlan: {
    totalCents: number;
    rejectionReason: string | null;
    services: Array<{ category: string; description: string | null }>;
  } | null;
  entitlement: { totalCents: number } | null;
  disbursedCents: number;
  disbursements: Array<{ amountCents: number }>;
}

describe('access matrix: every principal, every operation, every personal field', () => {
  let system: TestSystem;
  let target: CaseDoc;
  let caseId: string;
  const principals = {} as Record<Who, Principal | null>;
  const headers = {} as Record<Who, Record<string, string>>;
  let ownerView: CaseView;

  const gql = <T>(who: Who, query: string, variables?: Record<string, unknown>) =>
    system.graphql<T>(query, variables, headers[who]);
  const direct = <T>(
    subgraph: 'cases' | 'finance' | 'partners' | 'coverage',
    who: Who,
    query: string,
    variables?: Record<string, unknown>,
  ) =>
    postGraphQL<T>(
      `${system.subgraphs[subgraph].url}/graphql`,
      query,
      variables,
      asGateway(system.config, principals[who]),
    );
  const codes = (body: GraphQLBody<unknown>) => [...new Set((body.errors ?? []).map((e) => e.extensions?.code))];

  beforeAll(async () => {
    system = await startTestSystem({ cases: 60, seed: 11 });
    const people: Record<Who, Principal | null> = {
      anonymous: null,
      owner: { subject: 'be-officer', role: 'MEMBER_STATE', memberState: MS },
      otherMs: { subject: 'nl-officer', role: 'MEMBER_STATE', memberState: OTHER_MS },
      partner: { subject: 'weldo-worker', role: 'PARTNER', partnerId: PARTNER },
      otherPartner: { subject: 'irara-worker', role: 'PARTNER', partnerId: OTHER_PARTNER },
      analyst: { subject: 'analyst', role: 'EU_ANALYST' },
      desk: { subject: 'desk-1', role: 'SUPPORT_DESK' },
      deskGranted: { subject: 'desk-2', role: 'SUPPORT_DESK' },
      admin: { subject: 'admin', role: 'ADMIN' },
      dpo: { subject: 'dpo', role: 'DATA_PROTECTION_OFFICER' },
    };
    for (const who of EVERYONE) {
      principals[who] = people[who];
      headers[who] = await system.as(people[who]);
    }
    // The target: a Belgian case served by WELDO (Afghanistan), with a family, ingested so
    // that finance has its ledger, then taken to an approved plan with free text on the way.
    const report = await system.ingest(MS, [
      {
        memberState: MS,
        caseReference: 'BE-MATRIX-1',
        recordVersion: 1,
        returnType: 'VOLUNTARY',
        packages: ['POST_ARRIVAL', 'POST_RETURN'],
        countryOfOrigin: 'AF',
        departureDate: '2024-03-01',
        mainApplicant: {
          name: 'Farid Karimi',
          dateOfBirth: '1988-05-04',
          sex: 'MALE',
          vulnerabilities: ['MEDICAL_CONDITION'],
        },
        familyMembers: [{ name: 'Leila Karimi', dateOfBirth: '2015-09-09', sex: 'FEMALE', relationship: 'CHILD' }],
        eligibility: { requestDate: '2024-03-15', applicationSigned: true },
      },
    ]);
    expect(report.counts.created, JSON.stringify(report.rejected)).toBe(1);
    target = (await casesModels(system.connections.cases)
      .Case.findOne({ caseReference: 'BE-MATRIX-1' })
      .lean<CaseDoc>()
      .exec())!;
    expect(target.partnerId).toBe(PARTNER);
    caseId = target._id.toHexString();
    const step = async (who: Who, mutation: string, variables: Record<string, unknown> = {}) => {
      const { body } = await gql(who, mutation, { id: caseId, ...variables });
      expect(body.errors, mutation).toBeUndefined();
    };
    await step('partner', 'mutation($id: ID!) { acceptCase(caseId: $id) { id } }');
    await step(
      'partner',
      'mutation($id: ID!) { reportArrival(caseId: $id, report: { arrivalDate: "2024-03-02", ' +
        'postArrivalServices: [CASH] }) { id } }',
    );
    const plan = {
      services: [{ category: 'BUSINESS_START_UP', description: 'Tailoring workshop for Farid', amountCents: 150_000 }],
    };
    await step(
      'partner',
      'mutation($id: ID!, $p: ReintegrationPlanInput!) { submitReintegrationPlan(caseId: $id, plan: $p) { id } }',
      { p: plan },
    );
    await step(
      'owner',
      'mutation($id: ID!) { rejectReintegrationPlan(caseId: $id, reason: "Farid asked for a smaller budget") { id } }',
    );
    await step(
      'partner',
      'mutation($id: ID!, $p: ReintegrationPlanInput!) { submitReintegrationPlan(caseId: $id, plan: $p) { id } }',
      { p: plan },
    );
    await step('owner', 'mutation($id: ID!) { approveReintegrationPlan(caseId: $id) { id } }');
    // Finance learns the case from its events; wait for the ledger, then a disbursement.
    const ledger = ledgerModels(system.connections.finance).CaseFinance;
    for (let i = 0; i < 100 && !(await ledger.findOne({ _id: caseId }).lean().exec())?.committedAt; i++)
      await new Promise((r) => setTimeout(r, 100));
    await step(
      'partner',
      `mutation($id: ID!) { recordDisbursement(caseId: $id, kind: CASH, package: POST_ARRIVAL, date: ` +
        `"2024-03-02", amountCents: 10000) { seq } }`,
    );
    const grant = await gql<{ openPersonalDataAccess: { id: string } }>(
      'deskGranted',
      'mutation($id: ID!) { openPersonalDataAccess(caseId: $id, justification: "Ticket 4711: the Member State ' +
        'asked us to correct the birth date") { id } }',
      { id: caseId },
    );
    expect(grant.body.errors).toBeUndefined();
    ownerView = (
      await gql<{ case: CaseView }>('owner', `query($id: ID!) { case(id: $id) { ${CASE_SELECTION} } }`, { id: caseId })
    ).body.data!.case;
  });
  afterAll(async () => {
    await system?.stop();
  });

  /** The target case as each principal must get it, field by field. */
  function expectCase(who: Who, body: GraphQLBody<{ case: CaseView | null }>) {
    const access = CASE_ACCESS[who];
    if (access === 'UNAUTHENTICATED' || access === 'FORBIDDEN') {
      expect(codes(body), who).toEqual([access]);
      expect(body.data?.case ?? null, who).toBeNull();
      return;
    }
    expect(body.errors, who).toBeUndefined();
    const view = body.data!.case;
    if (access === 'INVISIBLE') {
      expect(view, who).toBeNull();
      return;
    }
    expect(view!.id).toBe(caseId);
    // Money and case metadata: everyone who sees the case.
    expect(view!.disbursements, who).toEqual([{ amountCents: 10_000 }]);
    expect(view!.entitlement!.totalCents, who).toBe(ownerView.entitlement!.totalCents);
    expect(view!.reintegrationPlan!.totalCents, who).toBe(150_000);
    const reasons = view!.history.map((h) => h.reason).filter((r) => r !== null);
    const descriptions = view!.reintegrationPlan!.services.map((s) => s.description);
    if (access === 'FULL') {
      expect(view!.caseReference).toBe('BE-MATRIX-1');
      expect(view!.mainApplicant).toMatchObject({
        name: 'Farid Karimi',
        dateOfBirth: '1988-05-04',
        ageBand: '35-49',
        vulnerabilities: ['MEDICAL_CONDITION'],
      });
      expect(view!.familyMembers).toEqual([
        expect.objectContaining({
          name: 'Leila Karimi',
          dateOfBirth: '2015-09-09',
          ageBand: '5-11',
          relationship: 'CHILD',
        }),
      ]);
      expect(reasons).toEqual(['Farid asked for a smaller budget']);
      expect(descriptions).toEqual(['Tailoring workshop for Farid']);
    } else if (access === 'PSEUDONYMISED') {
      expect(view!.caseReference).toMatch(/^CR-/);
      // Same pseudonyms as the owner's view carries; no names, birth dates or free text.
      expect(view!.mainApplicant).toEqual({
        pseudonym: ownerView.mainApplicant!.pseudonym,
        name: null,
        dateOfBirth: null,
        ageBand: '35-49',
        sex: 'MALE',
        vulnerabilities: null,
      });
      expect(view!.familyMembers).toEqual([
        {
          pseudonym: ownerView.familyMembers![0]!.pseudonym,
          name: null,
          dateOfBirth: null,
          ageBand: '5-11',
          relationship: 'CHILD',
        },
      ]);
      expect(reasons).toEqual([]);
      expect(descriptions).toEqual([null]);
    } else {
      expect(view!.caseReference).toBe('BE-MATRIX-1');
      expect(view!.mainApplicant).toBeNull();
      expect(view!.familyMembers).toBeNull();
      expect(reasons).toEqual([]);
      expect(descriptions).toEqual([null]);
    }
  }

  it('the owner sees every field (the reference view the others are compared with)', () => {
    expect(ownerView.mainApplicant!.pseudonym).toMatch(/^PS-[A-Z2-9]{16}$/);
    expect(ownerView.familyMembers![0]!.pseudonym).not.toBe(ownerView.mainApplicant!.pseudonym);
  });

  it.each(EVERYONE)('case(id) through the gateway: %s', async (who) => {
    expectCase(
      who,
      (
        await gql<{ case: CaseView | null }>(who, `query($id: ID!) { case(id: $id) { ${CASE_SELECTION} } }`, {
          id: caseId,
        })
      ).body,
    );
  });

  it.each(EVERYONE)('aliases and fragments change nothing: %s', async (who) => {
    const { body } = await gql<{ a: CaseView | null; b: { ref: string; who: { n: string | null } | null } | null }>(
      who,
      `query($id: ID!) { a: case(id: $id) { ...C } b: case(id: $id) { ref: caseReference who: mainApplicant { ` +
        `n: name ... on Person { d: dateOfBirth } } } }
       fragment C on Case { ${CASE_SELECTION} }`,
      { id: caseId },
    );
    expectCase(who, { data: body.data ? { case: body.data.a } : body.data, errors: body.errors } as GraphQLBody<{
      case: CaseView | null;
    }>);
    const access = CASE_ACCESS[who];
    if (access === 'FULL')
      expect(body.data!.b).toEqual({ ref: 'BE-MATRIX-1', who: { n: 'Farid Karimi', d: '1988-05-04' } });
    if (access === 'PSEUDONYMISED') expect(body.data!.b!.who).toEqual({ n: null, d: null });
    if (access === 'METADATA') expect(body.data!.b).toEqual({ ref: 'BE-MATRIX-1', who: null });
    if (access === 'INVISIBLE') expect(body.data!.b).toBeNull();
  });

  it.each(EVERYONE)(
    'queries straight to the cases subgraph, validly signed, get what the gateway gives: %s',
    async (who) => {
      const fields =
        'id caseReference completionSummary closingReason mainApplicant { pseudonym name dateOfBirth ageBand ' +
        'sex vulnerabilities } familyMembers { pseudonym name dateOfBirth ageBand relationship }';
      const query = `query($id: ID!) { case(id: $id) { ${fields} } cases(first: 200) { totalCount } }`;
      const viaGateway = await gql<{ case: unknown; cases: { totalCount: number } }>(who, query, { id: caseId });
      const straight = await direct<{ case: unknown; cases: { totalCount: number } }>('cases', who, query, {
        id: caseId,
      });
      expect(straight.body.data ?? null).toEqual(viaGateway.body.data ?? null);
      expect(codes(straight.body)).toEqual(codes(viaGateway.body));
    },
  );

  it.each(EVERYONE)('_entities straight to the cases subgraph, validly signed: %s', async (who) => {
    const { body } = await direct<{ _entities: Array<CaseView | null> }>(
      'cases',
      who,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Case { id caseReference ` +
        `completionSummary mainApplicant { pseudonym name dateOfBirth ageBand sex vulnerabilities } ` +
        `familyMembers { name } history { reason } } } }`,
      { r: [{ __typename: 'Case', id: caseId }] },
    );
    const access = CASE_ACCESS[who];
    const entity = body.data?._entities?.[0] ?? null;
    if (access === 'UNAUTHENTICATED' || access === 'FORBIDDEN') {
      expect(codes(body)).toEqual([access]);
      expect(entity).toBeNull();
    } else if (access === 'INVISIBLE') expect(entity).toBeNull();
    else if (access === 'FULL') expect(entity!.mainApplicant!.name).toBe('Farid Karimi');
    else if (access === 'PSEUDONYMISED')
      expect(entity).toMatchObject({
        caseReference: expect.stringMatching(/^CR-/),
        mainApplicant: { name: null, dateOfBirth: null, vulnerabilities: null },
      });
    else
      expect(entity).toMatchObject({
        caseReference: 'BE-MATRIX-1',
        mainApplicant: null,
        familyMembers: null,
        history: expect.arrayContaining([{ reason: null }]),
      });
  });

  it.each(EVERYONE)('_entities straight to finance, validly signed: %s', async (who) => {
    const { body } = await direct<{
      _entities: Array<{
        disbursements: Array<{ amountCents: number }>;
        commitment: { amountCents: number } | null;
      } | null>;
    }>(
      'finance',
      who,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Case { disbursements { amountCents } ` +
        `commitment { amountCents } } } }`,
      { r: [{ __typename: 'Case', id: caseId }] },
    );
    const access = CASE_ACCESS[who];
    const entity = body.data?._entities?.[0] ?? null;
    if (access === 'UNAUTHENTICATED' || access === 'FORBIDDEN') expect(codes(body)).toEqual([access]);
    else if (access === 'INVISIBLE') expect(codes(body)).toEqual(['NOT_FOUND']);
    else expect(entity!.disbursements).toEqual([{ amountCents: 10_000 }]);
    if (access === 'UNAUTHENTICATED' || access === 'FORBIDDEN' || access === 'INVISIBLE')
      expect(JSON.stringify(body.data ?? null)).not.toContain('10000');
  });

  it.each(EVERYONE)('lists and totals hold only visible cases, whatever the filter: %s', async (who) => {
    const query =
      `query($f: CaseFilter) { cases(first: 200, filter: $f) { totalCount edges { node { id ` +
      `sendingMemberState { code } partner { id } } } } }`;
    const all = await gql<{
      cases: {
        totalCount: number;
        edges: Array<{ node: { id: string; sendingMemberState: { code: string }; partner: { id: string } | null } }>;
      };
    }>(who, query);
    const ownFilter = await gql<{ cases: { totalCount: number } }>(who, query, {
      f: { memberStates: [MS], partners: [PARTNER] },
    });
    const access = CASE_ACCESS[who];
    if (access === 'UNAUTHENTICATED' || access === 'FORBIDDEN') {
      expect(codes(all.body)).toEqual([access]);
      expect(all.body.data).toBeNull();
      return;
    }
    const Case = casesModels(system.connections.cases).Case;
    const visible =
      {
        otherMs: { memberState: OTHER_MS },
        otherPartner: { partnerId: OTHER_PARTNER },
        owner: { memberState: MS },
        partner: { partnerId: PARTNER },
      }[who as string] ?? {};
    const expected = await Case.countDocuments(visible).exec();
    const nodes = all.body.data!.cases.edges.map((e) => e.node);
    expect(all.body.data!.cases.totalCount).toBe(expected);
    expect(nodes).toHaveLength(Math.min(expected, 200));
    if (who === 'owner' || who === 'otherMs')
      expect(new Set(nodes.map((n) => n.sendingMemberState.code))).toEqual(new Set([principals[who]!.memberState]));
    if (who === 'partner' || who === 'otherPartner')
      expect(new Set(nodes.map((n) => n.partner?.id))).toEqual(new Set([principals[who]!.partnerId]));
    expect(nodes.some((n) => n.id === caseId)).toBe(access !== 'INVISIBLE');
    // Asking for another Member State's or partner's cases by filter finds none of them.
    const both = await Case.countDocuments({ ...visible, memberState: MS, partnerId: PARTNER }).exec();
    expect(ownFilter.body.data!.cases.totalCount).toBe(access === 'INVISIBLE' ? 0 : both);
  });

  it.each(EVERYONE)('caseByReference and Partner.cases: %s', async (who) => {
    const byRef = await gql<{ caseByReference: { id: string } | null }>(
      who,
      `{ caseByReference(memberState: "${MS}", caseReference: "BE-MATRIX-1") { id } }`,
    );
    const viaPartner = await gql<{ partner: { cases: { edges: Array<{ node: { id: string } }> } } }>(
      who,
      `{ partner(id: "${PARTNER}") { cases(first: 200) { edges { node { id } } } } }`,
    );
    const access = CASE_ACCESS[who];
    if (access === 'UNAUTHENTICATED' || access === 'FORBIDDEN') {
      expect(codes(byRef.body)).toEqual([access]);
      expect(codes(viaPartner.body)).toEqual([access]);
      return;
    }
    if (who === 'analyst') expect(codes(byRef.body)).toEqual(['FORBIDDEN']);
    else expect(byRef.body.data!.caseByReference?.id ?? null).toBe(access === 'INVISIBLE' ? null : caseId);
    expect(viaPartner.body.data!.partner.cases.edges.some((e) => e.node.id === caseId)).toBe(access !== 'INVISIBLE');
  });

  it.each(EVERYONE)('statistics, quality indicators and programme money by role: %s', async (who) => {
    const stats = (filter: string) =>
      gql<{ statistics: { scope: string; totalCases: number; suppressionThreshold: number | null } }>(
        who,
        `{ statistics${filter} { scope totalCases suppressionThreshold } }`,
      );
    const own = await stats('');
    const otherMs = await stats(`(filter: { memberState: "${OTHER_MS}" })`);
    const country = await stats('(filter: { countryOfOrigin: "AF" })');
    const quality = await gql(who, `{ partner(id: "${PARTNER}") { qualityIndicators { casesAssigned } } }`);
    const money = await gql(who, '{ financeSummary(year: 2024) { peopleSupported } }');
    const spend = await gql(who, `{ partner(id: "${PARTNER}") { spend(year: 2024) { disbursedCents } } }`);
    const expectations: Record<
      Who,
      { own: string; otherMs: boolean; country: boolean; quality: boolean; money: boolean; spend: boolean }
    > = {
      anonymous: { own: 'UNAUTHENTICATED', otherMs: false, country: false, quality: false, money: false, spend: false },
      // Beyond their own scope, Member States and partners read aggregates with small cells withheld.
      owner: { own: `memberState:${MS}`, otherMs: true, country: true, quality: false, money: false, spend: false },
      otherMs: {
        own: `memberState:${OTHER_MS}`,
        otherMs: true,
        country: true,
        quality: false,
        money: false,
        spend: false,
      },
      partner: { own: `partner:${PARTNER}`, otherMs: true, country: true, quality: true, money: false, spend: true },
      otherPartner: {
        own: `partner:${OTHER_PARTNER}`,
        otherMs: true,
        country: true,
        quality: false,
        money: false,
        spend: false,
      },
      analyst: { own: 'all', otherMs: true, country: true, quality: true, money: true, spend: true },
      desk: { own: 'all', otherMs: true, country: true, quality: true, money: true, spend: true },
      deskGranted: { own: 'all', otherMs: true, country: true, quality: true, money: true, spend: true },
      admin: { own: 'all', otherMs: true, country: true, quality: true, money: true, spend: true },
      dpo: { own: 'FORBIDDEN', otherMs: false, country: false, quality: false, money: false, spend: false },
    };
    const e = expectations[who];
    if (e.own === 'UNAUTHENTICATED' || e.own === 'FORBIDDEN') expect(codes(own.body)).toEqual([e.own]);
    else expect(own.body.data!.statistics.scope).toBe(e.own);
    // Exact for the owners of the cases counted and the roles that run the programme; else suppressed.
    const exactRoles = ['admin', 'desk', 'deskGranted'];
    if (e.own !== 'UNAUTHENTICATED' && e.own !== 'FORBIDDEN') {
      const ownThreshold = own.body.data!.statistics.suppressionThreshold;
      expect(ownThreshold, `${who} own`).toBe(who === 'analyst' ? 5 : null);
      for (const [name, result] of [
        ['otherMs', otherMs],
        ['country', country],
      ] as const)
        if (who === 'otherMs' && name === 'otherMs')
          expect(result.body.data!.statistics.suppressionThreshold, `${who} ${name}`).toBeNull();
        else
          expect(result.body.data!.statistics.suppressionThreshold, `${who} ${name}`).toBe(
            exactRoles.includes(who) ? null : 5,
          );
    }
    // The programme-wide cross-tab: exact for the roles that run the programme, suppressed for everyone else.
    const xtab = await gql<{ crossTabulation: { suppressionThreshold: number | null } }>(
      who,
      '{ crossTabulation(rows: MEMBER_STATE, columns: COUNTRY_OF_ORIGIN, filter: { programme: true }) ' +
        '{ suppressionThreshold } }',
    );
    if (e.own === 'UNAUTHENTICATED' || e.own === 'FORBIDDEN') expect(codes(xtab.body), who).toEqual([e.own]);
    else expect(xtab.body.data!.crossTabulation.suppressionThreshold, who).toBe(exactRoles.includes(who) ? null : 5);
    const refusal = who === 'anonymous' ? ['UNAUTHENTICATED'] : ['FORBIDDEN'];
    for (const [name, result, allowed] of [
      ['otherMs', otherMs, e.otherMs],
      ['country', country, e.country],
      ['quality', quality, e.quality],
      ['money', money, e.money],
      ['spend', spend, e.spend],
    ] as const) {
      if (allowed) expect(result.body.errors, `${who} ${name}`).toBeUndefined();
      else {
        expect(codes(result.body), `${who} ${name}`).toEqual(refusal);
        // A refusal carries no figures of what was refused.
        expect(JSON.stringify(result.body.data ?? {}), `${who} ${name}`).not.toMatch(
          /"(totalCases|casesAssigned|peopleSupported|disbursedCents)":\d/,
        );
      }
    }
  });

  it.each(EVERYONE)('data protection operations: %s', async (who) => {
    const erase = await gql(
      who,
      'mutation($id: ID!) { erasePersonalData(caseId: $id, requestReference: "REQ-1") { id } }',
      { id: caseId },
    );
    const grant = await gql(
      who,
      'mutation($id: ID!) { openPersonalDataAccess(caseId: $id, justification: "Checking the record for the ' +
        'ministry helpdesk") { id } }',
      { id: caseId },
    );
    const reads = await gql(who, '{ personalDataReads(first: 5) { id } }');
    const grants = await gql(who, '{ personalDataAccessGrants(first: 5) { id } }');
    const runs = await gql(who, '{ retentionRuns(first: 5) { id } }');
    const access = CASE_ACCESS[who];
    const unauth = who === 'anonymous' ? ['UNAUTHENTICATED'] : undefined;
    // Erasure here only as a refusal: the owner's erasure has its own test file (it would empty this case).
    if (who !== 'owner')
      expect(codes(erase.body), who).toEqual(unauth ?? (access === 'INVISIBLE' ? ['NOT_FOUND'] : ['FORBIDDEN']));
    expect(codes(grant.body), who).toEqual(unauth ?? (who === 'desk' || who === 'deskGranted' ? [] : ['FORBIDDEN']));
    for (const result of [reads, grants, runs])
      expect(codes(result.body), who).toEqual(unauth ?? (who === 'admin' || who === 'dpo' ? [] : ['FORBIDDEN']));
  });

  it('every personal value served above was recorded in the access log, by whom it was served to', async () => {
    const entries = await personalDataReadModel(system.connections.cases).find({ caseId }).lean().exec();
    const readers = new Set(entries.map((e) => e.actor.subject));
    for (const who of EVERYONE) {
      const subject = principals[who]?.subject;
      const servedPersonalData = ['FULL', 'PSEUDONYMISED'].includes(CASE_ACCESS[who]);
      if (subject) expect(readers.has(subject), who).toBe(servedPersonalData);
    }
    const granted = entries.filter((e) => e.actor.subject === 'desk-2');
    expect(granted.length).toBeGreaterThan(0);
    for (const entry of granted) expect(entry.grantId).toMatch(/^[0-9a-f]{24}$/);
    const analyst = entries.filter((e) => e.actor.role === 'EU_ANALYST').flatMap((e) => e.fields);
    expect(new Set(analyst)).toEqual(
      new Set(['mainApplicant.pseudonym', 'mainApplicant.ageBand', 'familyMembers.pseudonym', 'familyMembers.ageBand']),
    );
  });

  it('the mutation matrix below covers every mutation of the supergraph', () => {
    const supergraph = parse(readFileSync(SUPERGRAPH_FILE, 'utf8'));
    const mutation = supergraph.definitions.find(
      (d): d is ObjectTypeDefinitionNode => d.kind === 'ObjectTypeDefinition' && d.name.value === 'Mutation',
    );
    expect(Object.keys(MUTATIONS).sort()).toEqual(mutation!.fields!.map((f) => f.name.value).sort());
  });

  describe('mutations: out of scope answers exactly as missing', () => {
    const targets = {} as Record<Target, { existing: string; missing: string; outOfScopeFor: Who[] }>;
    beforeAll(async () => {
      // The partner's own webhook and one of its deliveries: out of scope for everyone else.
      const hook = await gql<{ registerWebhook: { id: string } }>(
        'partner',
        'mutation { registerWebhook(url: "https://partner.example/avrr-hooks", eventTypes: [ACCEPTED]) { id } }',
      );
      expect(hook.body.errors).toBeUndefined();
      const deliveryId = `${hook.body.data!.registerWebhook.id}.1700000000000-0`;
      await webhookModels(system.connections.cases).Delivery.collection.insertOne({
        _id: deliveryId,
        webhookId: hook.body.data!.registerWebhook.id,
        partnerId: PARTNER,
        eventId: '1700000000000-0',
        eventType: 'ACCEPTED',
        caseId,
        status: 'FAILED',
        payload: { id: '1700000000000-0', type: 'ACCEPTED', at: '2024-03-01T00:00:00.000Z', caseId },
        attempts: [],
        createdAt: new Date(),
        deliveredAt: null,
        redeliveries: 0,
      } as never);
      const notThePartner = EVERYONE.filter((w) => w !== 'partner');
      targets.case = {
        existing: caseId,
        missing: '0123456789abcdef01234567',
        outOfScopeFor: EVERYONE.filter((w) => ['INVISIBLE', 'FORBIDDEN', 'UNAUTHENTICATED'].includes(CASE_ACCESS[w])),
      };
      targets.webhook = {
        existing: hook.body.data!.registerWebhook.id,
        missing: '0123456789abcdef01234567',
        outOfScopeFor: notThePartner,
      };
      targets.delivery = {
        existing: deliveryId,
        missing: '0123456789abcdef01234567.1700000000000-0',
        outOfScopeFor: notThePartner,
      };
    });

    /** A response with the id it was about replaced, stack traces left out. */
    const shape = (result: { status: number; body: GraphQLBody<unknown> }, id: string) => {
      const errors = (result.body.errors ?? []).map(({ message, path, extensions }) => {
        const { stacktrace: _stacktrace, ...rest } = extensions ?? {};
        return { message, path, extensions: rest };
      });
      return JSON.parse(
        JSON.stringify({ status: result.status, data: result.body.data ?? null, errors })
          .split(id)
          .join('<id>'),
      ) as unknown;
    };

    const cases = Object.entries(MUTATIONS).flatMap(([name, m]) => (m.target ? [[name, m.target] as const] : []));
    it.each(cases)(
      '%s on a %s out of scope answers as on a missing one, through the gateway and straight to the subgraph',
      async (name, target) => {
        const m = MUTATIONS[name]!;
        if (!('document' in m)) throw new Error(name);
        const { existing, missing, outOfScopeFor } = targets[target];
        expect(outOfScopeFor.length).toBeGreaterThan(0);
        for (const who of outOfScopeFor) {
          const viaGateway = [
            await gql(who, m.document, { id: existing }),
            await gql(who, m.document, { id: missing }),
          ] as const;
          // Refused: an error, or (deleteWebhook) `false`, "nothing of yours was deleted".
          const refused =
            (viaGateway[0].body.errors?.length ?? 0) > 0 ||
            (viaGateway[0].body.data as Record<string, unknown> | null)?.[name] === false;
          expect(refused, `${name} by ${who}: refused`).toBe(true);
          expect(shape(viaGateway[0], existing), `${name} by ${who} through the gateway`).toEqual(
            shape(viaGateway[1], missing),
          );
          const straight = [
            await direct(m.subgraph, who, m.document, { id: existing }),
            await direct(m.subgraph, who, m.document, { id: missing }),
          ] as const;
          expect(shape(straight[0], existing), `${name} by ${who} straight to ${m.subgraph}`).toEqual(
            shape(straight[1], missing),
          );
        }
      },
    );

    it('after all of that, the case, the webhook and the delivery are as they were', async () => {
      const view = (
        await gql<{ case: { status: string; disbursements: unknown[] } }>(
          'owner',
          'query($id: ID!) { case(id: $id) { status disbursements { amountCents } } }',
          { id: caseId },
        )
      ).body.data!.case;
      expect(view).toEqual({ status: 'PLAN_APPROVED', disbursements: [{ amountCents: 10_000 }] });
      const hooks = webhookModels(system.connections.cases);
      expect(
        await hooks.Webhook.findOne({ _id: targets.webhook.existing, deletedAt: { $exists: false } })
          .lean()
          .exec(),
      ).not.toBeNull();
      expect((await hooks.Delivery.findOne({ _id: targets.delivery.existing }).lean().exec())?.status).toBe('FAILED');
    });
  });

  it('a batch of operations is refused whoever sends it; subgraphs refuse calls that bypass the gateway', async () => {
    const batch = await fetch(system.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers.owner },
      body: JSON.stringify([{ query: `{ case(id: "${caseId}") { id } }` }, { query: '{ cases { totalCount } }' }]),
    });
    expect(batch.status).toBe(400);
    expect(await batch.text()).not.toContain('BE-MATRIX-1');
    for (const name of ['cases', 'finance', 'partners', 'coverage'] as const) {
      const unsigned = await postGraphQL(
        `${system.subgraphs[name].url}/graphql`,
        `{ _entities(representations: [{ __typename: "Case", id: "${caseId}" }]) { __typename } }`,
      );
      expect(unsigned.status, name).toBe(401);
      expect(unsigned.body.data ?? null, name).toBeNull();
    }
  });
});
