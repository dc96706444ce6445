import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayService } from '../../gateway/server.js';
import type { Principal } from '../../shared/auth.js';

import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';

import { profileModels, ProfileStore } from '../../subgraphs/cases/ingestion/profile-store.js';
import { loadProfiles } from '../../subgraphs/cases/ingestion/index.js';
import { silentLogger, startTestSystem, testConfig, type TestSystem, startTestWorker } from '../helpers/system.js';

/**
 * Profiles managed through the graph (README, "Managing profiles"): created, versioned and retired
 * by the support desk and the owning Member State, audited, and seen by every gateway instance
 * within seconds, without a restart; each feed's report names the version it was read with.
 */

interface Report {
  status: string;
  counts: Record<string, number>;
  rejected: Array<{ line: number | null; path: string; message: string }>;
  profile: { name: string; version: number } | null;
}

interface ProfileView {
  name: string;
  version: number;
  memberState: string | null;
  status: string;
  profile: string;
  note: string | null;
  createdBy: { role: string; subject: string; memberState: string | null };
}

const FIELDS = 'name version memberState status profile note createdBy { role subject memberState } createdAt';
const CREATE = `mutation($p: String!, $n: String) { createFeedProfile(profile: $p, note: $n) { ${FIELDS} } }`;
const NEW_VERSION = `mutation($name: String!, $p: String!, $n: String) {
  newFeedProfileVersion(name: $name, profile: $p, note: $n) { ${FIELDS} } }`;
const RETIRE = `mutation($name: String!) { retireFeedProfile(name: $name, note: "export replaced") { ${FIELDS} } }`;
const LIST = `query($all: Boolean) { feedProfiles(includeRetired: $all) { ${FIELDS} } }`;
const ONE = `query($name: String!, $v: Int) { feedProfile(name: $name, version: $v) { ${FIELDS} } }`;
const CHANGES = `query($name: String) { feedProfileChanges(name: $name) {
  name version action actor { role subject memberState } at note } }`;

/** A Belgian export the tests invent: semicolons, Dutch words, dd/mm/yyyy; headers with `.` and `$`. */
const beProfile = (overrides: Record<string, unknown> = {}) => ({
  name: 'be-fedasil-demo',
  description: 'Belgium, a Fedasil-like export made for the tests',
  memberState: 'BE',
  delimiter: ';',
  encoding: 'utf-8',
  dateFormat: 'dd/mm/yyyy',
  columns: {
    'Dossier.Nr': 'caseReference',
    versie: 'recordVersion',
    type: 'returnType',
    pakketten: 'packages',
    land: 'countryOfOrigin',
    vertrek: 'departureDate',
    naam: 'mainApplicant.name',
    'Geb.$datum': 'mainApplicant.dateOfBirth',
    geslacht: 'mainApplicant.sex',
    getekend: 'eligibility.applicationSigned',
    aanvraag: 'eligibility.requestDate',
  },
  multiValueSeparator: '+',
  codeLists: {
    returnType: { vrijwillig: 'VOLUNTARY' },
    packages: { aankomst: 'POST_ARRIVAL', herintegratie: 'POST_RETURN' },
    'person.sex': { m: 'MALE', v: 'FEMALE' },
    'eligibility.applicationSigned': { j: true, n: false },
  },
  constants: { memberState: 'BE' },
  ...overrides,
});
const HEADER = 'Dossier.Nr;versie;type;pakketten;land;vertrek;naam;Geb.$datum;geslacht;getekend;aanvraag\n';

describe('profiles managed through the graph, seen by every gateway without a restart', () => {
  let system: TestSystem;
  let second: GatewayService;
  let worker: Worker;
  const auth: Record<string, Record<string, string>> = {};
  const principals: Record<string, Principal> = {
    be: { subject: 'be-integrator', role: 'MEMBER_STATE', memberState: 'BE' },
    nl: { subject: 'nl-integrator', role: 'MEMBER_STATE', memberState: 'NL' },
    desk: { subject: 'desk-ana', role: 'SUPPORT_DESK' },
    admin: { subject: 'admin-bo', role: 'ADMIN' },
    partner: { subject: 'weldo-user', role: 'PARTNER', partnerId: 'weldo' },
    analyst: { subject: 'eu-analyst', role: 'EU_ANALYST' },
  };
  const gql = <T = Record<string, unknown>>(who: string, query: string, variables: Record<string, unknown> = {}) =>
    system.graphql<T>(query, variables, auth[who]);
  const errorOf = (body: { errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }) =>
    body.errors?.[0];

  /** Pushes a CSV to a gateway with a profile and waits for its report. */
  const pushCsv = (gateway: string, profile: string, csv: string) =>
    fetch(`${gateway}/ingest/v1/feeds?profile=${profile}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', ...auth.be },
      body: csv,
    });
  const finished = async (gateway: string, feedId: string): Promise<Report> => {
    for (let i = 0; i < 300; i++) {
      const body = (await (await fetch(`${gateway}/ingest/v1/feeds/${feedId}`, { headers: auth.be })).json()) as Report;
      if (['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(body.status)) return body;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`feed ${feedId} did not finish`);
  };
  /** How long until a gateway lists `name` at `version` (or no longer lists it: version null). */
  const seenWithin = async (gateway: string, name: string, version: number | null): Promise<number> => {
    const started = Date.now();
    while (Date.now() - started < 10_000) {
      const listed = (await (await fetch(`${gateway}/ingest/v1/profiles`, { headers: auth.desk })).json()) as Array<{
        name: string;
        version: number;
      }>;
      const found = listed.find((p) => p.name === name);
      if ((found?.version ?? null) === version) return Date.now() - started;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`${gateway} never saw ${name} at version ${version}`);
  };
  const stored = (reference: string) =>
    casesModels(system.connections.cases)
      .Case.findOne({ memberState: 'BE', caseReference: reference })
      .lean<CaseDoc>()
      .exec();

  beforeAll(async () => {
    system = await startTestSystem({ config: testConfig({ INGEST_PUSHES_PER_MINUTE: '0' }) });
    for (const [who, principal] of Object.entries(principals)) auth[who] = await system.as(principal);
    // A second instance whose periodic reload never fires during the test: only the announcement can tell it.
    const urls = Object.fromEntries(
      Object.entries(system.subgraphs).map(([name, service]) => [name, `${service.url}/graphql`]),
    ) as Parameters<typeof startGateway>[0]['subgraphUrls'];
    second = await startGateway({
      config: system.config,
      logger: silentLogger,
      port: 0,
      subgraphUrls: urls,
      profileReloadMs: 600_000,
    });
    worker = startTestWorker(system, 'test-profiles-worker');
  });
  afterAll(async () => {
    await worker?.close();
    await second?.shutdown('test done');
    await system?.stop();
  });

  it('the profiles folder seeds version 1 of each profile, audited, and never overwrites a managed one', async () => {
    const { body } = await gql<{ feedProfiles: ProfileView[] }>('desk', LIST);
    const seeded = body.data!.feedProfiles.filter((p) => ['de-reag-garp', 'fr-ofii', 'nl-dtenv'].includes(p.name));
    expect(seeded.map((p) => [p.name, p.version, p.status, p.createdBy.role])).toEqual([
      ['de-reag-garp', 1, 'ACTIVE', 'SYSTEM'],
      ['fr-ofii', 1, 'ACTIVE', 'SYSTEM'],
      ['nl-dtenv', 1, 'ACTIVE', 'SYSTEM'],
    ]);
    const folder = loadProfiles(new URL('../../profiles', import.meta.url).pathname);
    expect(JSON.parse(seeded[2]!.profile)).toEqual(folder.get('nl-dtenv'));
    // NL's authority gives its profile a new version; a later start (seed again) leaves it alone.
    const nl = { ...folder.get('nl-dtenv')!, description: 'Netherlands, DT&V export (2025 layout)' };
    const next = await gql<{ newFeedProfileVersion: ProfileView }>('nl', NEW_VERSION, {
      name: 'nl-dtenv',
      p: JSON.stringify(nl),
      n: 'description of the 2025 layout',
    });
    expect(next.body.data?.newFeedProfileVersion).toMatchObject({
      version: 2,
      createdBy: { subject: 'nl-integrator' },
    });
    const store = new ProfileStore(profileModels(system.connections.cases), async () => undefined);
    expect(await store.seed(folder, 'profiles/')).toEqual([]);
    const latest = await gql<{ feedProfile: ProfileView }>('nl', ONE, { name: 'nl-dtenv' });
    expect(latest.body.data!.feedProfile).toMatchObject({ version: 2, note: 'description of the 2025 layout' });
    const changes = await gql<{ feedProfileChanges: Array<{ action: string; version: number }> }>('nl', CHANGES, {
      name: 'nl-dtenv',
    });
    expect(changes.body.data!.feedProfileChanges.map((c) => [c.action, c.version])).toEqual([
      ['NEW_VERSION', 2],
      ['SEED', 1],
    ]);
  });

  it('a Member State creates, versions and retires its profile; a second gateway follows within seconds', async () => {
    const secondUrl = second.url;
    // 1. Created through the first gateway by Belgium's authority.
    const created = await gql<{ createFeedProfile: ProfileView }>('be', CREATE, {
      p: JSON.stringify(beProfile()),
      n: 'first onboarding',
    });
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data!.createFeedProfile).toMatchObject({
      name: 'be-fedasil-demo',
      version: 1,
      memberState: 'BE',
      status: 'ACTIVE',
      note: 'first onboarding',
      createdBy: { role: 'MEMBER_STATE', subject: 'be-integrator', memberState: 'BE' },
    });
    expect(await seenWithin(secondUrl, 'be-fedasil-demo', 1)).toBeLessThan(3_000);

    // 2. A feed through the second gateway: read with version 1, every field where it belongs.
    const v1 = await pushCsv(
      secondUrl,
      'be-fedasil-demo',
      HEADER +
        'BE-PG-1;1;vrijwillig;aankomst+herintegratie;MA;02/04/2024;Youssef El Amrani;02/02/1990;m;j;10/04/2024\n',
    );
    expect(v1.status).toBe(202);
    const first = await finished(secondUrl, ((await v1.json()) as { feedId: string }).feedId);
    expect(first).toMatchObject({ status: 'DONE', counts: { created: 1 }, profile: { name: 'be-fedasil-demo' } });
    expect(first.profile).toEqual({ name: 'be-fedasil-demo', version: 1 });
    expect(await stored('BE-PG-1')).toMatchObject({
      countryOfOrigin: 'MA',
      returnType: 'VOLUNTARY',
      departureDate: '2024-04-02',
      mainApplicant: { name: 'Youssef El Amrani', dateOfBirth: '1990-02-02', sex: 'MALE' },
    });

    // 3. Version 2 changes the mapping: alpha-3 countries, sex written as words.
    const v2Profile = beProfile({
      countryCodes: 'alpha3',
      codeLists: { ...beProfile().codeLists, 'person.sex': { man: 'MALE', vrouw: 'FEMALE' } },
    });
    const versioned = await gql<{ newFeedProfileVersion: ProfileView }>('be', NEW_VERSION, {
      name: 'be-fedasil-demo',
      p: JSON.stringify(v2Profile),
      n: 'alpha-3 countries from 2025',
    });
    expect(versioned.body.data!.newFeedProfileVersion).toMatchObject({ version: 2, status: 'ACTIVE' });
    expect(await seenWithin(secondUrl, 'be-fedasil-demo', 2)).toBeLessThan(3_000);
    const v2 = await pushCsv(
      secondUrl,
      'be-fedasil-demo',
      HEADER + 'BE-PG-2;1;vrijwillig;aankomst;TUN;03/05/2024;Amira Ben Salah;07/07/1992;vrouw;j;11/04/2024\n',
    );
    const secondReport = await finished(secondUrl, ((await v2.json()) as { feedId: string }).feedId);
    expect(secondReport).toMatchObject({ status: 'DONE', profile: { name: 'be-fedasil-demo', version: 2 } });
    expect(await stored('BE-PG-2')).toMatchObject({
      countryOfOrigin: 'TN',
      mainApplicant: { name: 'Amira Ben Salah', dateOfBirth: '1992-07-07', sex: 'FEMALE' },
    });
    // The graph's report says the same; the first feed still names the version it was read with.
    const graphReport = await gql<{ ingestionFeeds: Array<{ profile: Report['profile'] }> }>(
      'be',
      '{ ingestionFeeds(first: 2) { profile { name version } } }',
    );
    expect(graphReport.body.data!.ingestionFeeds.map((f) => f.profile?.version)).toEqual([2, 1]);
    const versionOne = await gql<{ feedProfile: ProfileView }>('be', ONE, { name: 'be-fedasil-demo', v: 1 });
    expect(JSON.parse(versionOne.body.data!.feedProfile.profile)).toMatchObject({ countryCodes: 'alpha2' });

    // 4. Retired: both gateways refuse it within seconds; listed only when asked for retired ones.
    const retired = await gql<{ retireFeedProfile: ProfileView }>('be', RETIRE, { name: 'be-fedasil-demo' });
    expect(retired.body.data!.retireFeedProfile).toMatchObject({ version: 2, status: 'RETIRED' });
    expect(await seenWithin(secondUrl, 'be-fedasil-demo', null)).toBeLessThan(3_000);
    const refused = await pushCsv(secondUrl, 'be-fedasil-demo', HEADER);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: { code: 'UNKNOWN_PROFILE' } });
    const listed = await gql<{ feedProfiles: ProfileView[] }>('be', LIST);
    expect(listed.body.data!.feedProfiles.map((p) => p.name)).not.toContain('be-fedasil-demo');
    const all = await gql<{ feedProfiles: ProfileView[] }>('be', LIST, { all: true });
    expect(all.body.data!.feedProfiles.find((p) => p.name === 'be-fedasil-demo')).toMatchObject({
      version: 2,
      status: 'RETIRED',
    });
    const again = await gql('be', RETIRE, { name: 'be-fedasil-demo' });
    expect(errorOf(again.body)?.extensions?.code).toBe('BAD_USER_INPUT');

    // 5. Every change audited: who, when, which version, why.
    const audit = await gql<{
      feedProfileChanges: Array<{ action: string; version: number; actor: { subject: string }; note: string | null }>;
    }>('desk', CHANGES, { name: 'be-fedasil-demo' });
    expect(audit.body.data!.feedProfileChanges.map((c) => [c.action, c.version, c.actor.subject, c.note])).toEqual([
      ['RETIRE', 2, 'be-integrator', 'export replaced'],
      ['NEW_VERSION', 2, 'be-integrator', 'alpha-3 countries from 2025'],
      ['CREATE', 1, 'be-integrator', 'first onboarding'],
    ]);

    // 6. A new version brings a retired profile back.
    const back = await gql<{ newFeedProfileVersion: ProfileView }>('desk', NEW_VERSION, {
      name: 'be-fedasil-demo',
      p: JSON.stringify(beProfile()),
    });
    expect(back.body.data!.newFeedProfileVersion).toMatchObject({ version: 3, status: 'ACTIVE' });
    expect(await seenWithin(secondUrl, 'be-fedasil-demo', 3)).toBeLessThan(3_000);
  });

  it('who may manage which profile: the desk and administrators any, a Member State its own only', async () => {
    const nlShaped = JSON.stringify(beProfile({ name: 'nl-other-demo', memberState: 'NL' }));
    const beShaped = JSON.stringify(beProfile({ name: 'be-access-demo' }));
    const shared = JSON.stringify(beProfile({ name: 'shared-demo', memberState: undefined }));
    for (const who of ['partner', 'analyst']) {
      const { body } = await gql(who, CREATE, { p: beShaped });
      expect(errorOf(body)?.extensions?.code, who).toBe('FORBIDDEN');
    }
    const anonymous = await system.graphql(CREATE, { p: beShaped }, { authorization: '' });
    expect(errorOf(anonymous.body)?.extensions?.code).toBe('UNAUTHENTICATED');
    // Another Member State's profile, or a shared one, is not a Member State's to create.
    expect(errorOf((await gql('be', CREATE, { p: nlShaped })).body)?.extensions?.code).toBe('FORBIDDEN');
    expect(errorOf((await gql('be', CREATE, { p: shared })).body)?.extensions?.code).toBe('FORBIDDEN');
    expect((await gql('be', CREATE, { p: beShaped })).body.errors).toBeUndefined();
    expect((await gql('desk', CREATE, { p: shared })).body.errors).toBeUndefined();
    // The Netherlands neither sees nor changes Belgium's profile; it sees the shared one.
    const nlTries = await gql('nl', NEW_VERSION, { name: 'be-access-demo', p: beShaped });
    expect(errorOf(nlTries.body)?.extensions?.code).toBe('NOT_FOUND');
    expect(errorOf((await gql('nl', RETIRE, { name: 'be-access-demo' })).body)?.extensions?.code).toBe('NOT_FOUND');
    // Exactly as a profile that does not exist (the name aside): nothing tells that it exists.
    const asMissing = async (name: string) => {
      const p = beShaped.replaceAll('be-access-demo', name);
      const answers = [await gql('nl', NEW_VERSION, { name, p }), await gql('nl', RETIRE, { name })];
      return JSON.stringify(answers.map((a) => [a.status, errorOf(a.body)])).replaceAll(name, '<name>');
    };
    expect(await asMissing('be-access-demo')).toBe(await asMissing('no-such-demo'));
    expect((await gql<{ feedProfile: null }>('nl', ONE, { name: 'be-access-demo' })).body.data!.feedProfile).toBeNull();
    const nlList = (await gql<{ feedProfiles: ProfileView[] }>('nl', LIST)).body.data!.feedProfiles.map((p) => p.name);
    expect(nlList).toContain('shared-demo');
    expect(nlList).toContain('nl-dtenv');
    expect(nlList).not.toContain('be-access-demo');
    expect(nlList).not.toContain('de-reag-garp');
    const nlAudit = await gql<{ feedProfileChanges: Array<{ name: string }> }>('nl', CHANGES);
    expect(nlAudit.body.data!.feedProfileChanges.map((c) => c.name)).not.toContain('be-access-demo');
    // A Member State may not hand its profile to another, nor make it shared; nor change a shared one.
    const handOver = await gql('be', NEW_VERSION, {
      name: 'be-access-demo',
      p: nlShaped.replace('nl-other', 'be-access'),
    });
    expect(errorOf(handOver.body)?.extensions?.code).toBe('FORBIDDEN');
    expect(errorOf((await gql('be', RETIRE, { name: 'shared-demo' })).body)?.extensions?.code).toBe('FORBIDDEN');
    // Partners and analysts read no profile.
    for (const who of ['partner', 'analyst']) {
      expect((await gql<{ feedProfiles: unknown[] }>(who, LIST)).body.data!.feedProfiles, who).toEqual([]);
      expect((await gql<{ feedProfileChanges: unknown[] }>(who, CHANGES)).body.data!.feedProfileChanges).toEqual([]);
    }
    // The administrator retires the shared one; the desk versions Belgium's.
    expect((await gql('admin', RETIRE, { name: 'shared-demo' })).body.errors).toBeUndefined();
    expect((await gql('desk', NEW_VERSION, { name: 'be-access-demo', p: beShaped })).body.errors).toBeUndefined();
  });

  it('refuses hostile and broken profile texts with BAD_USER_INPUT naming the field, storing nothing', async () => {
    const before = await profileModels(system.connections.cases).Change.countDocuments().exec();
    const refusal = async (variables: Record<string, unknown>, query = CREATE) => {
      const { body } = await gql('desk', query, variables);
      const error = errorOf(body);
      expect(body.data ?? null).toBeNull();
      return { code: error?.extensions?.code, field: error?.extensions?.field, message: error?.message ?? '' };
    };
    // 1 MB of profile text: under the request limit, far over the profile limit.
    const huge = JSON.stringify(beProfile({ name: 'huge-demo', description: 'x'.repeat(1_000_000) }));
    expect(await refusal({ p: huge })).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: '(profile)',
      message: expect.stringMatching(/is 1000\d+ bytes; at most 65536/),
    });
    // Over the request limit: the gateway refuses the body itself.
    const oversized = await system.graphql(CREATE, { p: 'x'.repeat(2_000_000) }, auth.desk);
    expect(oversized.status).toBe(413);
    expect(await refusal({ p: '{ "name": "broken-demo", ' })).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: '(profile)',
      message: expect.stringMatching(/not valid JSON/),
    });
    // Thousands of columns.
    const columns = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`c${i}`, `x${i % 9}`]));
    expect(await refusal({ p: JSON.stringify(beProfile({ name: 'wide-demo', columns })) })).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'columns',
      message: expect.stringMatching(/names 3000 columns; at most 500/),
    });
    // Not an object at all, however deep.
    expect(await refusal({ p: '['.repeat(30_000) + ']'.repeat(30_000) })).toMatchObject({
      field: '(profile)',
      message: expect.stringMatching(/must be a JSON object/),
    });
    // The profile language itself: the field is named.
    expect(await refusal({ p: JSON.stringify(beProfile({ name: 'delim-demo', delimiter: ':' })) })).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'delimiter',
    });
    expect(await refusal({ p: JSON.stringify(beProfile({ name: 'Bad Name' })) })).toMatchObject({ field: 'name' });
    expect(await refusal({ p: JSON.stringify(beProfile({ name: 'x'.repeat(5_000) })) })).toMatchObject({
      field: 'name',
      message: expect.not.stringMatching(/x{100}/),
    });
    // A name no profile can have is refused without being echoed (it may be huge).
    const hugeName = await refusal({ name: 'n'.repeat(100_000), p: JSON.stringify(beProfile()) }, NEW_VERSION);
    expect(hugeName).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.not.stringMatching(/n{50}/) });
    // A version must keep its profile's name; a name already taken is not created again.
    expect(
      await refusal({ name: 'nl-dtenv', p: JSON.stringify(beProfile({ memberState: 'NL' })) }, NEW_VERSION),
    ).toMatchObject({ field: 'name', message: expect.stringMatching(/is "be-fedasil-demo", not "nl-dtenv"/) });
    expect(await refusal({ p: JSON.stringify(beProfile({ name: 'fr-ofii', memberState: 'FR' })) })).toMatchObject({
      field: 'name',
      message: expect.stringMatching(/exists; send a new version/),
    });
    expect(await refusal({ p: JSON.stringify(beProfile({ name: 'note-demo' })), n: 'n'.repeat(1_001) })).toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    expect(await profileModels(system.connections.cases).Change.countDocuments().exec()).toBe(before);
  });
});
