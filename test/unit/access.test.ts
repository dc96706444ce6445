import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { Types, type Model } from 'mongoose';
import { describe, expect, it } from 'vitest';
import {
  caseScope,
  canSeeCase,
  erasureRecordsScope,
  feedScope,
  mayChangeCoverage,
  mayLookUpByNationalReference,
  mayOpenPersonalDataAccess,
  mayOpenQueueDashboard,
  mayPushFeeds,
  mayReadDataProtectionRecords,
  mayReadFeed,
  mayReadFinanceAggregates,
  mayReadStatistics,
  mayReplayIngestion,
  mayReportDisbursements,
  maySetBudgets,
  maySetEligibilityRules,
  personalAccess,
  requirePrincipal,
} from '../../shared/access.js';
import type { Principal } from '../../shared/auth.js';
import { loadSafelist } from '../../gateway/safelist.js';
import {
  ageBand,
  ageBandOf,
  CaseAccess,
  casesPseudonymisers,
  protectPersonalFields,
} from '../../subgraphs/cases/case/access.js';
import { erasedFields, retainedFactsOf } from '../../subgraphs/cases/data-protection/erasure.js';
import { caseIdOf, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { createHash } from 'node:crypto';
import { endedAt } from '../../subgraphs/cases/data-protection/retention.js';
import { factsOf } from '../../subgraphs/cases/statistics/facts.js';
import { casesResolvers, casesTypeDefs } from '../../subgraphs/cases/subgraph.js';
import type { PersonalDataGrantDoc } from '../../subgraphs/cases/data-protection/support-access.js';

const P: Record<string, Principal | null> = {
  anonymous: null,
  beOfficer: { subject: 'a', role: 'MEMBER_STATE', memberState: 'BE' },
  nlOfficer: { subject: 'b', role: 'MEMBER_STATE', memberState: 'NL' },
  weldo: { subject: 'c', role: 'PARTNER', partnerId: 'weldo' },
  irara: { subject: 'd', role: 'PARTNER', partnerId: 'irara' },
  analyst: { subject: 'e', role: 'EU_ANALYST' },
  desk: { subject: 'f', role: 'SUPPORT_DESK' },
  admin: { subject: 'g', role: 'ADMIN' },
  dpo: { subject: 'h', role: 'DATA_PROTECTION_OFFICER' },
};
const beCaseOfWeldo = { memberState: 'BE', partnerId: 'weldo' };
const beCaseUnassigned = { memberState: 'BE', partnerId: null };

describe('access rules (shared/access.ts)', () => {
  it.each([
    // who, sees the BE/WELDO case, sees an unassigned BE case, personal access to the BE/WELDO case (no grant),
    // with a support grant
    ['anonymous', false, false, 'NONE', 'NONE'],
    ['beOfficer', true, true, 'FULL', 'FULL'],
    ['nlOfficer', false, false, 'NONE', 'NONE'],
    ['weldo', true, false, 'FULL', 'FULL'],
    ['irara', false, false, 'NONE', 'NONE'],
    ['analyst', true, true, 'PSEUDONYMISED', 'PSEUDONYMISED'],
    ['desk', true, true, 'NONE', 'FULL'],
    ['admin', true, true, 'NONE', 'NONE'],
    ['dpo', false, false, 'NONE', 'NONE'],
  ] as const)(
    '%s: sees %s / %s, personal %s, with a grant %s',
    (who, seesAssigned, seesUnassigned, personal, withGrant) => {
      expect(canSeeCase(P[who]!, beCaseOfWeldo)).toBe(seesAssigned);
      expect(canSeeCase(P[who]!, beCaseUnassigned)).toBe(seesUnassigned);
      expect(personalAccess(P[who]!, beCaseOfWeldo)).toBe(personal);
      expect(personalAccess(P[who]!, beCaseOfWeldo, true)).toBe(withGrant);
    },
  );

  it('no partner sees a case nobody is assigned to, even with a partner id of null in its token', () => {
    expect(canSeeCase({ subject: 'x', role: 'PARTNER' }, beCaseUnassigned)).toBe(false);
    expect(caseScope({ subject: 'x', role: 'PARTNER' })).toEqual({ kind: 'none' });
  });

  it.each([
    ['anonymous', 'all', false],
    ['beOfficer', 'memberState:BE', true],
    ['beOfficer', 'memberState:NL', false],
    ['beOfficer', 'all', false],
    ['beOfficer', 'country:IQ', false],
    ['weldo', 'partner:weldo', true],
    ['weldo', 'partner:irara', false],
    ['weldo', 'all', false],
    ['analyst', 'all', true],
    ['analyst', 'memberState:NL', true],
    ['desk', 'country:IQ', true],
    ['admin', 'partner:weldo', true],
    ['dpo', 'all', false],
  ] as const)('statistics: %s reads %s: %s', (who, scope, allowed) => {
    expect(mayReadStatistics(P[who]!, scope)).toBe(allowed);
  });

  it('programme money for the central roles, a partner its own spend; records for the admin and the DPO', () => {
    expect(['analyst', 'desk', 'admin'].every((w) => mayReadFinanceAggregates(P[w]!))).toBe(true);
    expect(['anonymous', 'beOfficer', 'weldo', 'dpo'].some((w) => mayReadFinanceAggregates(P[w]!))).toBe(false);
    expect(mayReadFinanceAggregates(P.weldo!, 'weldo')).toBe(true);
    expect(mayReadFinanceAggregates(P.weldo!, 'irara')).toBe(false);
    expect(Object.keys(P).filter((w) => mayReadDataProtectionRecords(P[w]!))).toEqual(['admin', 'dpo']);
  });
});

describe('who may take the steps only some roles take (shared/access.ts)', () => {
  // One row per principal: each column a rule, as the resolvers and the gateway ask it.
  it.each([
    // who, opens personal data access, looks up by national reference, operator steps (budgets, coverage,
    // replaying ingestion), sets BE's eligibility rules, pushes feeds, reads a BE feed, reports disbursements,
    // opens the queues dashboard
    ['anonymous', false, true, false, false, false, false, false, false],
    ['beOfficer', false, true, false, true, true, true, false, false],
    ['nlOfficer', false, true, false, false, true, false, false, false],
    ['weldo', false, true, false, false, false, false, true, false],
    ['analyst', false, false, false, false, false, false, false, false],
    ['desk', true, true, true, false, false, true, false, false],
    ['admin', false, true, true, true, false, true, false, true],
    ['dpo', false, true, false, false, false, false, false, false],
  ] as const)(
    '%s: opens access %s, looks up by reference %s, operates %s, sets BE rules %s, pushes %s, reads BE feed %s, ' +
      'disburses %s, dashboard %s',
    (who, opensAccess, looksUp, operates, setsRules, pushes, readsFeed, disburses, dashboard) => {
      const principal = P[who]!;
      expect(mayOpenPersonalDataAccess(principal)).toBe(opensAccess);
      expect(mayLookUpByNationalReference(principal)).toBe(looksUp);
      expect([maySetBudgets(principal), mayChangeCoverage(principal), mayReplayIngestion(principal)]).toEqual([
        operates,
        operates,
        operates,
      ]);
      expect(maySetEligibilityRules(principal, 'BE')).toBe(setsRules);
      expect(mayPushFeeds(principal)).toBe(pushes);
      expect(mayReadFeed(principal, 'BE')).toBe(readsFeed);
      expect(mayReportDisbursements(principal)).toBe(disburses);
      expect(mayOpenQueueDashboard(principal)).toBe(dashboard);
    },
  );

  it.each([
    // who, the feeds listed, the erasure records read
    ['anonymous', { kind: 'none' }, undefined],
    ['beOfficer', { kind: 'memberState', memberState: 'BE' }, { kind: 'memberState', memberState: 'BE' }],
    ['weldo', { kind: 'none' }, { kind: 'none' }],
    ['analyst', { kind: 'none' }, { kind: 'none' }],
    ['desk', { kind: 'all' }, { kind: 'none' }],
    ['admin', { kind: 'all' }, { kind: 'all' }],
    ['dpo', { kind: 'none' }, { kind: 'all' }],
  ] as const)('%s lists feeds %j and reads erasure records %j', (who, feeds, erasures) => {
    expect(feedScope(P[who]!)).toEqual(feeds);
    if (erasures) expect(erasureRecordsScope(P[who]!)).toEqual(erasures);
  });

  it('asks for a principal where one is needed, saying how to send one', () => {
    expect(() => requirePrincipal(null, 'statistics')).toThrow(
      'statistics needs an authenticated principal (Authorization: Bearer <token>)',
    );
    expect(requirePrincipal(P.admin!, 'statistics')).toBe(P.admin);
  });
});

describe('the cases subgraph enforcement point', () => {
  const grants = {
    find: () => ({ lean: () => ({ exec: async () => [] as PersonalDataGrantDoc[] }) }),
  } as unknown as Model<PersonalDataGrantDoc>;
  const access = (who: string, key = 'k'.repeat(32)) => new CaseAccess(P[who]!, grants, key);

  it('narrows every query to the visible cases; a filter on the same field must hold too', () => {
    expect(access('admin').restrict({ status: 'SUBMITTED' })).toEqual({ status: 'SUBMITTED' });
    expect(access('beOfficer').restrict({ status: 'SUBMITTED' })).toEqual({ status: 'SUBMITTED', memberState: 'BE' });
    expect(access('beOfficer').restrict({ memberState: { $in: ['NL'] } })).toEqual({
      $and: [{ memberState: { $in: ['NL'] } }, { memberState: 'BE' }],
    });
    expect(access('weldo').restrict({})).toEqual({ partnerId: 'weldo' });
    expect(() => access('anonymous').restrict({})).toThrow(/authenticated principal/);
    expect(() => access('dpo').restrict({})).toThrow(/DATA_PROTECTION_OFFICER does not read case data/);
  });

  it('pseudonyms are stable per person and key, ignore case and spacing of names, and reveal nothing', () => {
    const a = access('analyst');
    const person = { name: 'Samir  Haddad', dateOfBirth: '1980-02-02' };
    const pseudonym = a.personPseudonym('FR', person);
    expect(pseudonym).toMatch(/^PS-[A-Z2-9]{16}$/);
    expect(access('admin').personPseudonym('FR', { name: ' samir haddad', dateOfBirth: '1980-02-02' })).toBe(pseudonym);
    expect(a.personPseudonym('FR', { ...person, dateOfBirth: '1980-02-03' })).not.toBe(pseudonym);
    expect(a.personPseudonym('BE', person)).not.toBe(pseudonym);
    expect(access('analyst', 'z'.repeat(32)).personPseudonym('FR', person)).not.toBe(pseudonym);
    expect(pseudonym).not.toMatch(/SAMIR|HADDAD|1980/);
  });

  it.each([
    [0, '0-4'],
    [4, '0-4'],
    [5, '5-11'],
    [11, '5-11'],
    [12, '12-17'],
    [17, '12-17'],
    [18, '18-24'],
    [24, '18-24'],
    [25, '25-34'],
    [34, '25-34'],
    [35, '35-49'],
    [49, '35-49'],
    [50, '50-64'],
    [64, '50-64'],
    [65, '65+'],
    [101, '65+'],
  ])('age %i is in band %s', (age, band) => {
    expect(ageBand(age)).toBe(band);
  });

  it('age bands are taken on the departure day, else the insertion day', () => {
    expect(ageBandOf('2006-06-15', { departureDate: '2024-06-14', createdAt: new Date('2024-01-01') })).toBe('12-17');
    expect(ageBandOf('2006-06-15', { departureDate: '2024-06-15', createdAt: new Date('2024-01-01') })).toBe('18-24');
    expect(ageBandOf('2006-06-15', { departureDate: null, createdAt: new Date('2025-01-01') })).toBe('18-24');
  });

  it('the SDL marks exactly these fields, and each is wrapped', () => {
    const schema = buildSubgraphSchema({ typeDefs: casesTypeDefs, resolvers: casesResolvers as never });
    expect(protectPersonalFields(schema, casesPseudonymisers)).toEqual([
      'Case.caseReference@pseudonymised',
      'Case.closingReason@personal',
      'Case.completionSummary@personal',
      'Case.familyMembers@pseudonymous',
      'Case.mainApplicant@pseudonymous',
      'CaseHistoryEntry.reason@personal',
      'CaseMessage.body@personal',
      'Complaint.description@personal',
      'Complaint.resolution@personal',
      'Person.ageBand@pseudonymous',
      'Person.dateOfBirth@personal',
      'Person.name@personal',
      'Person.pseudonym@pseudonymous',
      'Person.vulnerabilities@personal',
      'Person.vulnerabilityCodes@personal',
      'PlanLine.description@personal',
      'PlannedService.description@personal',
      'ReintegrationPlan.rejectionReason@personal',
      'ReturneeFeedback.comment@personal',
      'ReturneeFeedback.satisfaction@personal',
      'ServiceSatisfaction.score@personal',
      'SustainabilityAnswer.value@personal',
      'SustainabilityAssessment.answers@personal',
      'SustainabilityAssessment.scores@personal',
      'SustainabilityScores.economic@personal',
      'SustainabilityScores.overall@personal',
      'SustainabilityScores.psychosocial@personal',
      'SustainabilityScores.social@personal',
    ]);
  });

  it('refuses a schema whose markings it cannot honour', () => {
    const sdl = (field: string) =>
      parse(`directive @personal on FIELD_DEFINITION directive @pseudonymised on FIELD_DEFINITION
        type Query { x: T } type T { ${field} }`);
    expect(() => protectPersonalFields(buildSubgraphSchema({ typeDefs: sdl('a: String @pseudonymised') }), {})).toThrow(
      /T.a is @pseudonymised but has no pseudonymiser/,
    );
    expect(() =>
      protectPersonalFields(buildSubgraphSchema({ typeDefs: sdl('a: String @personal @pseudonymised') }), {
        'T.a': () => 'x',
      }),
    ).toThrow(/one marking per field/);
  });
});

describe('case ids', () => {
  it('are keyed: the same (Member State, reference) gives one id per key, never the unkeyed hash', () => {
    const a = caseIdOf('BE', 'BE-2023-004711', 'k'.repeat(32));
    expect(caseIdOf('BE', 'BE-2023-004711', 'k'.repeat(32)).equals(a)).toBe(true);
    expect(caseIdOf('BE', 'BE-2023-004711', 'j'.repeat(32)).equals(a)).toBe(false);
    expect(caseIdOf('NL', 'BE-2023-004711', 'k'.repeat(32)).equals(a)).toBe(false);
    const unkeyed = createHash('sha256')
      .update('avrr-case\u0000BE\u0000BE-2023-004711')
      .digest()
      .subarray(0, 12)
      .toString('hex');
    expect(a.toHexString()).not.toBe(unkeyed);
  });
});

describe('erasure and retention (pure parts)', () => {
  const doc = {
    _id: new Types.ObjectId(),
    memberState: 'FR',
    caseReference: 'FR-1',
    countryOfOrigin: 'IQ',
    partnerId: 'weldo',
    status: 'CLOSED',
    returnType: 'VOLUNTARY',
    packages: ['POST_RETURN'],
    departureDate: '2024-01-10',
    createdAt: new Date('2024-01-01'),
    updatedAt: new Date('2024-05-01'),
    mainApplicant: { name: 'Samir Haddad', dateOfBirth: '1980-02-02', sex: 'MALE', vulnerabilities: ['MEDICAL'] },
    familyMembers: [
      { name: 'Mira Haddad', dateOfBirth: '2012-06-06', sex: 'FEMALE', relationship: 'CHILD', vulnerabilities: [] },
    ],
    familySize: 2,
    milestones: { km1At: null, km2At: null, km3At: null },
    history: [
      {
        version: 1,
        transition: 'closeCase',
        from: 'SUBMITTED',
        to: 'CLOSED',
        at: new Date('2024-04-01'),
        actor: { role: 'MEMBER_STATE', subject: 'x' },
        reason: 'Samir left',
      },
    ],
    reintegrationPlan: {
      services: [{ category: 'CASH', description: 'For Samir', amountCents: 100 }],
      totalCents: 100,
      submittedAt: new Date(),
      decidedAt: null,
      rejectionReason: 'Samir said no',
    },
    completionSummary: 'Samir opened a shop',
    closingReason: 'Samir left',
    contentHash: 'abc',
  } as unknown as CaseDoc;

  it('removes names, birth dates and free text, keeps what the statistics need', () => {
    const mark = {
      at: new Date(),
      actor: { role: 'MEMBER_STATE', subject: 'x' },
      kind: 'REQUEST' as const,
      retained: retainedFactsOf(doc),
    };
    expect(mark.retained).toEqual({ adults: 1, minors: 1, mainApplicantAge: 43 });
    const after = { ...doc, ...erasedFields(doc, mark) };
    expect(JSON.stringify(after)).not.toMatch(/Samir|Mira|1980-02-02|2012-06-06|MEDICAL|abc/);
    expect(after).toMatchObject({
      memberState: 'FR',
      caseReference: 'FR-1',
      familySize: 2,
      status: 'CLOSED',
      reintegrationPlan: { totalCents: 100 },
    });
    expect(factsOf(after)).toEqual(factsOf(doc));
  });

  it('a case ended when it entered its ended status; open cases have not ended', () => {
    expect(endedAt(doc)).toEqual(new Date('2024-04-01'));
    expect(endedAt({ ...doc, history: [] })).toEqual(new Date('2024-05-01'));
    expect(endedAt({ ...doc, status: 'ACCEPTED' })).toBeNull();
  });
});

describe('safelist manifest', () => {
  const write = (content: string) => {
    const file = join(mkdtempSync(join(tmpdir(), 'manifest-')), 'm.json');
    writeFileSync(file, content);
    return file;
  };
  it.each([
    ['not JSON', '{ nope', /m\.json: .*JSON/],
    ['another format', JSON.stringify({ format: 'relay', version: 1, operations: [] }), /format/],
    [
      'no operations',
      JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [] }),
      /operations/,
    ],
    [
      'an id that is not a hash',
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [{ id: 'x', body: '{ a }' }],
      }),
      /operations\.0\.id: must be the SHA-256/,
    ],
    [
      'an id of another body',
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [{ id: 'a'.repeat(64), body: '{ a }' }],
      }),
      /operations\.0\.id is not the SHA-256 of its body/,
    ],
  ])('refuses %s, naming the file and the place', (_, content, message) => {
    expect(() => loadSafelist(write(content))).toThrow(message);
  });
  it('refuses a missing file', () => {
    expect(() => loadSafelist('/nonexistent/manifest.json')).toThrow(
      /GRAPHQL_SAFELIST_FILE \/nonexistent\/manifest\.json: ENOENT/,
    );
  });
});
