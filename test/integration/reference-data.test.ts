import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import { REFERENCE_CACHE_MS } from '../../subgraphs/cases/reference/index.js';
import { referenceDataStream } from '../../subgraphs/cases/reference/stream.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

/**
 * Reference data that grows (issue #15): the support desk adds a country, a Member State and
 * a tariff version through the gateway; the cases subgraph's copy follows, and feeds refused
 * before are accepted; the audit shows each change; nobody else may change reference data.
 */
describe('reference data added by the support desk, without a release', () => {
  let system: TestSystem;
  let desk: Record<string, string>;
  const desk1: Principal = { subject: 'desk-1', role: 'SUPPORT_DESK' };
  const record = (ms: string, ref: string, extra: Record<string, unknown> = {}) => ({
    memberState: ms,
    caseReference: ref,
    recordVersion: 1,
    returnType: 'VOLUNTARY',
    packages: ['POST_ARRIVAL'],
    countryOfOrigin: 'KE',
    departureDate: '2024-05-20',
    mainApplicant: { name: 'Wanjiru Otieno', dateOfBirth: '1990-03-03', sex: 'FEMALE' },
    eligibility: { requestDate: '2024-05-15' },
    ...extra,
  });
  const cacheExpired = () => new Promise((resolve) => setTimeout(resolve, REFERENCE_CACHE_MS + 200));
  const code = (body: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) =>
    body.errors?.[0]?.extensions?.code;

  const ADD_MS = `mutation($input: NewMemberStateInput!) { addMemberState(input: $input) { code name joinedOn } }`;
  const ADD_COUNTRY =
    `mutation($input: NewCountryOfOriginInput!) { addCountryOfOrigin(input: $input) { code alpha3 name ` +
    `coverage { partner { id } packages validFrom validTo } } }`;
  const ADD_TARIFF =
    `mutation($input: TariffVersionInput!) { addTariffVersion(input: $input) { package component amountCents ` +
    `validFrom validTo } }`;
  const ireland = { code: 'IE', name: 'Ireland', joinedOn: '2024-05-01' };
  const kenya = {
    code: 'KE',
    alpha3: 'KEN',
    name: 'Kenya',
    partnerId: 'irara',
    packages: ['POST_ARRIVAL', 'POST_RETURN'],
    validFrom: '2024-05-01',
  };

  beforeAll(async () => {
    system = await startTestSystem();
    desk = await system.as(desk1);
  });
  afterAll(async () => {
    await system?.redis.del(referenceDataStream(system.config.QUEUE_PREFIX));
    await system?.stop();
  });

  it('a feed for an unknown Member State and country is refused', async () => {
    const report = await system.ingest('IE', [record('IE', 'IE-0')]);
    expect(report.counts).toMatchObject({ created: 0, rejected: 1 });
    expect(report.rejected.map((r) => r.path)).toEqual(['memberState', 'countryOfOrigin']);
    const belgian = await system.ingest('BE', [record('BE', 'BE-KE-0')]);
    expect(belgian.rejected.map((r) => r.path)).toEqual(['countryOfOrigin']);
  });

  it('a Member State, a partner and an analyst cannot change or read reference data (FORBIDDEN)', async () => {
    const others: Principal[] = [
      { subject: 'be-officer', role: 'MEMBER_STATE', memberState: 'BE' },
      { subject: 'irara-worker', role: 'PARTNER', partnerId: 'irara' },
      { subject: 'analyst', role: 'EU_ANALYST' },
    ];
    for (const principal of others) {
      const headers = await system.as(principal);
      expect(code((await system.graphql(ADD_MS, { input: ireland }, headers)).body)).toBe('FORBIDDEN');
      expect(code((await system.graphql(ADD_COUNTRY, { input: kenya }, headers)).body)).toBe('FORBIDDEN');
      const tariff = { package: 'POST_ARRIVAL', component: 'PER_PERSON', amountCents: 1, validFrom: '2024-07-01' };
      expect(code((await system.graphql(ADD_TARIFF, { input: tariff }, headers)).body)).toBe('FORBIDDEN');
      expect(code((await system.graphql('{ referenceDataChanges { code } }', {}, headers)).body)).toBe('FORBIDDEN');
      expect(code((await system.graphql('{ tariffChanges { package } }', {}, headers)).body)).toBe('FORBIDDEN');
    }
    const anonymous = await system.graphql(ADD_MS, { input: ireland }, { authorization: '' });
    expect(code(anonymous.body)).toBeDefined();
    const { body } = await system.graphql<{ memberStates: Array<{ code: string }> }>('{ memberStates { code } }');
    expect(body.data!.memberStates.map((m) => m.code)).not.toContain('IE');
  });

  it.each([
    ['a lowercase code', ADD_MS, { ...ireland, code: 'ie' }, 'input.code'],
    ['an oversized name', ADD_MS, { ...ireland, name: 'I'.repeat(5_000) }, 'input.name'],
    ['a joining date before the programme', ADD_MS, { ...ireland, joinedOn: '2021-01-01' }, 'input.joinedOn'],
    ['an impossible date', ADD_MS, { ...ireland, joinedOn: '2024-02-31' }, 'input.joinedOn'],
    ['an operator as code', ADD_COUNTRY, { ...kenya, code: '$where' }, 'input.code'],
    ['an unknown partner', ADD_COUNTRY, { ...kenya, partnerId: '../../etc' }, 'input.partnerId'],
    ['no packages', ADD_COUNTRY, { ...kenya, packages: [] }, 'input.packages'],
  ])(
    'malformed or hostile input is refused with BAD_USER_INPUT naming the field: %s',
    async (_, query, input, field) => {
      const { body } = await system.graphql(query, { input }, desk);
      expect(code(body)).toBe('BAD_USER_INPUT');
      expect(body.errors![0]!.extensions!.argumentName ?? body.errors![0]!.extensions!.field).toBe(field);
    },
  );

  it('the support desk adds a Member State and a country: feeds accepted, not a case before joining', async () => {
    const ms = await system.graphql<{ addMemberState: { code: string; joinedOn: string } }>(
      ADD_MS,
      { input: ireland },
      desk,
    );
    expect(ms.body.errors).toBeUndefined();
    expect(ms.body.data!.addMemberState).toEqual(ireland);
    const country = await system.graphql<{
      addCountryOfOrigin: { code: string; coverage: Array<{ partner: { id: string }; validFrom: string }> };
    }>(ADD_COUNTRY, { input: kenya }, desk);
    expect(country.body.errors).toBeUndefined();
    expect(country.body.data!.addCountryOfOrigin.coverage).toEqual([
      { partner: { id: 'irara' }, packages: ['POST_ARRIVAL', 'POST_RETURN'], validFrom: '2024-05-01', validTo: null },
    ]);
    // The same values again are a retry; other values for the same code are a conflict.
    expect((await system.graphql(ADD_MS, { input: ireland }, desk)).body.errors).toBeUndefined();
    expect(code((await system.graphql(ADD_MS, { input: { ...ireland, name: 'Éire' } }, desk)).body)).toBe('CONFLICT');
    const iraq = { ...kenya, code: 'IQ', alpha3: 'IRQ', name: 'Mesopotamia' };
    expect(code((await system.graphql(ADD_COUNTRY, { input: iraq }, desk)).body)).toBe('CONFLICT');

    await cacheExpired();
    const report = await system.ingest('IE', [
      record('IE', 'IE-1'),
      record('IE', 'IE-2', { departureDate: '2024-04-20', eligibility: { requestDate: '2024-04-10' } }),
    ]);
    expect(report.counts).toMatchObject({ created: 1, rejected: 1 });
    expect(report.rejected[0]).toMatchObject({ caseReference: 'IE-2', path: 'departureDate' });
    expect(report.rejected[0]!.message).toMatch(/^MEMBER_STATE_NOT_YET_JOINED: IE joined the programme on 2024-05-01/);
    const belgian = await system.ingest('BE', [record('BE', 'BE-KE-1')]);
    expect(belgian.counts.created).toBe(1);
    const { body } = await system.graphql<{ caseByReference: { partner: { id: string } | null; status: string } }>(
      `{ caseByReference(memberState: "BE", caseReference: "BE-KE-1") { status partner { id } } }`,
    );
    expect(body.data!.caseByReference).toEqual({ status: 'SUBMITTED', partner: { id: 'irara' } });
    // The new Member State's own officer signs in and reads its case and its data quality through the
    // gateway: the token and every memberState argument are checked against the lists in force.
    const irish = await system.as({ subject: 'ie-officer', role: 'MEMBER_STATE', memberState: 'IE' });
    const own = await system.graphql<{
      caseByReference: { sendingMemberState: { code: string } } | null;
      dataQuality: { memberState: string } | null;
    }>(
      `{ caseByReference(memberState: "IE", caseReference: "IE-1") { sendingMemberState { code } }
         dataQuality(memberState: "IE") { memberState } }`,
      {},
      irish,
    );
    expect(own.body.errors).toBeUndefined();
    expect(own.body.data).toEqual({
      caseByReference: { sendingMemberState: { code: 'IE' } },
      dataQuality: { memberState: 'IE' },
    });
    // A code nobody added is still no Member State.
    const unknown = await system.graphql(`{ dataQuality(memberState: "XX") { memberState } }`, {}, desk);
    expect(code(unknown.body)).toBe('BAD_USER_INPUT');
  });

  it('a tariff version added applies to cases departing after it, not before; past days keep their price', async () => {
    const today = await system.graphql(
      ADD_TARIFF,
      { input: { package: 'POST_ARRIVAL', component: 'PER_PERSON', amountCents: 65_000, validFrom: '2024-06-01' } },
      desk,
    );
    expect(code(today.body)).toBe('BAD_USER_INPUT');
    expect(today.body.errors![0]!.message).toMatch(/after today \(2024-06-01\)/);
    const oversized = await system.graphql(
      ADD_TARIFF,
      {
        input: {
          package: 'POST_ARRIVAL',
          component: 'PER_PERSON',
          amountCents: 2_000_000_000,
          validFrom: '2024-07-01',
        },
      },
      desk,
    );
    expect(code(oversized.body)).toBe('BAD_USER_INPUT');
    const added = await system.graphql<{ addTariffVersion: Record<string, unknown> }>(
      ADD_TARIFF,
      { input: { package: 'POST_ARRIVAL', component: 'PER_PERSON', amountCents: 65_000, validFrom: '2024-07-01' } },
      desk,
    );
    expect(added.body.errors).toBeUndefined();
    expect(added.body.data!.addTariffVersion).toEqual({
      package: 'POST_ARRIVAL',
      component: 'PER_PERSON',
      amountCents: 65_000,
      validFrom: '2024-07-01',
      validTo: null,
    });
    const earlier = await system.graphql(
      ADD_TARIFF,
      { input: { package: 'POST_ARRIVAL', component: 'PER_PERSON', amountCents: 66_000, validFrom: '2024-06-15' } },
      desk,
    );
    expect(code(earlier.body)).toBe('CONFLICT');

    await system.ingest('BE', [
      record('BE', 'BE-T-BEFORE', { countryOfOrigin: 'IQ', departureDate: '2024-06-30' }),
      record('BE', 'BE-T-AFTER', { countryOfOrigin: 'IQ', departureDate: '2024-07-01' }),
    ]);
    const entitlement = async (ref: string) =>
      (
        await system.graphql<{ caseByReference: { entitlement: { totalCents: number } } }>(
          `{ caseByReference(memberState: "BE", caseReference: "${ref}") { entitlement { totalCents } } }`,
        )
      ).body.data!.caseByReference.entitlement.totalCents;
    expect(await entitlement('BE-T-BEFORE')).toBe(61_500);
    expect(await entitlement('BE-T-AFTER')).toBe(65_000);

    // The cases subgraph's copy has the version too (plans are checked against it).
    await cacheExpired();
    const { referenceLists } = await import('../../subgraphs/cases/reference/index.js');
    const lists = await referenceLists(system.connections.cases);
    expect(lists.tariffs.filter((t) => t.package === 'POST_ARRIVAL').map((t) => [t.validFrom, t.validTo])).toEqual([
      ['2022-04-01', '2024-06-30'],
      ['2024-07-01', null],
    ]);
    expect(lists.memberStateJoinedOn.get('IE')).toBe('2024-05-01');
  });

  it('the audit shows each change: who, when, before and after', async () => {
    const { body } = await system.graphql<{
      referenceDataChanges: Array<{
        actor: string;
        actorRole: string;
        kind: string;
        code: string;
        before: string | null;
        after: string;
        at: string;
      }>;
      tariffChanges: Array<{
        actor: string;
        before: { validTo: string } | null;
        after: { amountCents: number; validFrom: string };
      }>;
    }>(
      `{ referenceDataChanges { at actor actorRole kind code before after }
         tariffChanges { actor before { validTo } after { amountCents validFrom } } }`,
      {},
      desk,
    );
    expect(body.errors).toBeUndefined();
    const changes = body.data!.referenceDataChanges;
    expect(changes.map((c) => [c.kind, c.code, c.actor, c.actorRole, c.before])).toEqual([
      ['COUNTRY_OF_ORIGIN', 'KE', 'desk-1', 'SUPPORT_DESK', null],
      ['MEMBER_STATE', 'IE', 'desk-1', 'SUPPORT_DESK', null],
    ]);
    expect(JSON.parse(changes[1]!.after)).toEqual(ireland);
    expect(Date.parse(changes[0]!.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(body.data!.tariffChanges).toEqual([
      { actor: 'desk-1', before: { validTo: '2024-06-30' }, after: { amountCents: 65_000, validFrom: '2024-07-01' } },
    ]);
  });
});
