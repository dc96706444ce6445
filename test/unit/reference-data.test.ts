import { describe, expect, it } from 'vitest';
import { RELEASED_LISTS_DATA, RELEASED_REFERENCE_LISTS, listsOf } from '../../subgraphs/cases/reference/index.js';
import {
  applyReferenceChanges,
  caseDayOf,
  joiningDateBreach,
  tariffChain,
} from '../../subgraphs/cases/reference/rules.js';
import { compareStreamIds } from '../../subgraphs/cases/reference/copy.js';
import { changeKey, parseReferenceChange } from '../../subgraphs/cases/reference/stream.js';
import { referenceProblems, validateRecord } from '../../subgraphs/cases/ingestion/record.js';
import { checkNewCountry, checkNewMemberState } from '../../subgraphs/coverage/reference-rules.js';
import { RELEASED_MEMBER_STATES } from '../../subgraphs/coverage/released.js';
import { computeEntitlement, PROGRAMME_TARIFFS, type TariffRow } from '../../subgraphs/finance/tariffs/rules.js';
import { planTariffVersion, type TariffVersionInput } from '../../subgraphs/finance/tariffs/versions.js';

const TODAY = '2024-06-01';
const version = (over: Partial<TariffVersionInput> = {}): TariffVersionInput => ({
  package: 'POST_ARRIVAL',
  component: 'PER_PERSON',
  amountCents: 65_000,
  validFrom: '2024-07-01',
  ...over,
});

describe('adding a tariff version', () => {
  it.each<[string, TariffVersionInput, readonly TariffRow[], { kind?: string; field?: string; close?: unknown }]>([
    [
      'a new price from next month closes the current version the day before',
      version(),
      PROGRAMME_TARIFFS,
      {
        close: { validFrom: '2022-04-01', validTo: '2024-06-30' },
      },
    ],
    ['the first version of a component closes nothing', version(), [], { close: null }],
    [
      'today is refused: a day that has begun keeps its price',
      version({ validFrom: TODAY }),
      PROGRAMME_TARIFFS,
      {
        kind: 'BAD_USER_INPUT',
        field: 'validFrom',
      },
    ],
    [
      'a past day is refused',
      version({ validFrom: '2023-01-01' }),
      PROGRAMME_TARIFFS,
      {
        kind: 'BAD_USER_INPUT',
        field: 'validFrom',
      },
    ],
    [
      'more than two years ahead is refused',
      version({ validFrom: '2026-07-01' }),
      PROGRAMME_TARIFFS,
      {
        kind: 'BAD_USER_INPUT',
        field: 'validFrom',
      },
    ],
    [
      'not a date',
      version({ validFrom: '2024-02-30' }),
      PROGRAMME_TARIFFS,
      { kind: 'BAD_USER_INPUT', field: 'validFrom' },
    ],
    [
      'hostile date',
      version({ validFrom: '{"$gt":""}' }),
      PROGRAMME_TARIFFS,
      { kind: 'BAD_USER_INPUT', field: 'validFrom' },
    ],
    [
      'negative amount',
      version({ amountCents: -1 }),
      PROGRAMME_TARIFFS,
      { kind: 'BAD_USER_INPUT', field: 'amountCents' },
    ],
    [
      'fractional cents',
      version({ amountCents: 1.5 }),
      PROGRAMME_TARIFFS,
      { kind: 'BAD_USER_INPUT', field: 'amountCents' },
    ],
    [
      'over 100,000 EUR',
      version({ amountCents: 10_000_001 }),
      PROGRAMME_TARIFFS,
      {
        kind: 'BAD_USER_INPUT',
        field: 'amountCents',
      },
    ],
    [
      'a per-person package with a post-return component',
      version({ component: 'FAMILY_MEMBER' }),
      PROGRAMME_TARIFFS,
      {
        kind: 'BAD_USER_INPUT',
        field: 'component',
      },
    ],
    [
      'post-return paid per person',
      version({ package: 'POST_RETURN' }),
      PROGRAMME_TARIFFS,
      {
        kind: 'BAD_USER_INPUT',
        field: 'component',
      },
    ],
    [
      'unknown package',
      version({ package: 'EVERYTHING' as 'POST_RETURN' }),
      PROGRAMME_TARIFFS,
      {
        kind: 'BAD_USER_INPUT',
        field: 'package',
      },
    ],
  ])('%s', (_, input, rows, expected) => {
    const plan = planTariffVersion(rows, input, TODAY);
    if ('kind' in expected) {
      expect(plan.ok).toBe(false);
      if (!plan.ok) {
        expect(plan.kind).toBe(expected.kind);
        expect(plan.field).toBe(expected.field);
        expect(plan.message.length).toBeGreaterThan(10);
      }
    } else {
      expect(plan).toMatchObject({
        ok: true,
        existing: false,
        close: expected.close,
        insert: { ...input, validTo: null },
      });
    }
  });

  const later: TariffRow[] = [
    ...PROGRAMME_TARIFFS.filter((r) => r.package !== 'POST_ARRIVAL'),
    {
      package: 'POST_ARRIVAL',
      component: 'PER_PERSON',
      amountCents: 61_500,
      validFrom: '2022-04-01',
      validTo: '2024-08-31',
    },
    { package: 'POST_ARRIVAL', component: 'PER_PERSON', amountCents: 70_000, validFrom: '2024-09-01', validTo: null },
  ];

  it('never inserts before the latest version (no overlap, history not rewritten): CONFLICT', () => {
    const plan = planTariffVersion(later, version({ validFrom: '2024-08-01' }), TODAY);
    expect(plan).toMatchObject({ ok: false, kind: 'CONFLICT', field: 'validFrom' });
  });

  it('the same version again is a retry: nothing written, the version answered', () => {
    const plan = planTariffVersion(later, version({ validFrom: '2024-09-01', amountCents: 70_000 }), TODAY);
    expect(plan).toMatchObject({ ok: true, existing: true, close: null, insert: { validFrom: '2024-09-01' } });
  });

  it('a closed latest version: the next starts the day after it, no gap', () => {
    const closed = later.map((r) => (r.validFrom === '2024-09-01' ? { ...r, validTo: '2024-12-31' } : r));
    expect(planTariffVersion(closed, version({ validFrom: '2025-02-01' }), TODAY)).toMatchObject({
      ok: false,
      kind: 'BAD_USER_INPUT',
    });
    expect(planTariffVersion(closed, version({ validFrom: '2025-01-01' }), TODAY)).toMatchObject({
      ok: true,
      close: null,
    });
  });

  it('a case departing after the new version gets its price; one departing before keeps the old one', () => {
    const plan = planTariffVersion(PROGRAMME_TARIFFS, version(), TODAY);
    if (!plan.ok) throw new Error(plan.message);
    const rows = tariffChain([...PROGRAMME_TARIFFS, plan.insert]);
    const facts = { packages: ['POST_ARRIVAL' as const], returnType: 'VOLUNTARY' as const, familySize: 2 };
    expect(computeEntitlement({ ...facts, referenceDate: '2024-06-30' }, rows).totalCents).toBe(123_000);
    expect(computeEntitlement({ ...facts, referenceDate: '2024-07-01' }, rows).totalCents).toBe(130_000);
  });
});

describe("the cases subgraph's copy of the reference lists", () => {
  it('released lists: 26 Member States with their joining dates, 37 countries, the programme tariffs', () => {
    expect(RELEASED_REFERENCE_LISTS.memberStates.size).toBe(26);
    expect(RELEASED_REFERENCE_LISTS.countriesOfOrigin.size).toBe(37);
    expect(RELEASED_REFERENCE_LISTS.memberStateJoinedOn.get('DE')).toBe('2022-04-01');
    expect(RELEASED_REFERENCE_LISTS.memberStateJoinedOn.get('MT')).toBe(
      RELEASED_MEMBER_STATES.find((m) => m.code === 'MT')!.joinedOn,
    );
    expect(RELEASED_REFERENCE_LISTS.tariffs).toEqual(tariffChain(PROGRAMME_TARIFFS));
  });

  it('applies added Member States, countries and tariff versions, the same in any order and applied twice', () => {
    const changes = [
      { kind: 'MEMBER_STATE', code: 'IE', name: 'Ireland', joinedOn: '2024-05-01' },
      { kind: 'COUNTRY_OF_ORIGIN', code: 'KE', alpha3: 'KEN', name: 'Kenya' },
      {
        kind: 'TARIFF',
        package: 'POST_ARRIVAL',
        component: 'PER_PERSON',
        amountCents: 65_000,
        validFrom: '2024-07-01',
      },
    ] as const;
    const lists = listsOf(applyReferenceChanges(RELEASED_LISTS_DATA, changes));
    expect(lists.memberStates.has('IE')).toBe(true);
    expect(lists.memberStateJoinedOn.get('IE')).toBe('2024-05-01');
    expect(lists.countriesOfOrigin.has('KE')).toBe(true);
    const postArrival = lists.tariffs.filter((r) => r.package === 'POST_ARRIVAL');
    expect(postArrival).toEqual([
      {
        package: 'POST_ARRIVAL',
        component: 'PER_PERSON',
        amountCents: 61_500,
        validFrom: '2022-04-01',
        validTo: '2024-06-30',
      },
      { package: 'POST_ARRIVAL', component: 'PER_PERSON', amountCents: 65_000, validFrom: '2024-07-01', validTo: null },
    ]);
    const again = listsOf(applyReferenceChanges(RELEASED_LISTS_DATA, [...changes].reverse().concat(changes)));
    expect(again.tariffs.filter((r) => r.package === 'POST_ARRIVAL')).toEqual(postArrival);
    expect(RELEASED_REFERENCE_LISTS.memberStates.has('IE')).toBe(false);
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['unknown kind', '{"kind":"PARTNER","code":"XX"}'],
    ['lowercase code', '{"kind":"MEMBER_STATE","code":"ie","name":"Ireland","joinedOn":"2024-05-01"}'],
    ['operator as code', '{"kind":"COUNTRY_OF_ORIGIN","code":{"$ne":1},"alpha3":"KEN","name":"Kenya"}'],
    ['impossible date', '{"kind":"MEMBER_STATE","code":"IE","name":"Ireland","joinedOn":"2024-13-01"}'],
    ['control characters', '{"kind":"MEMBER_STATE","code":"IE","name":"Ire\\u0000land","joinedOn":"2024-05-01"}'],
    [
      'name too long',
      JSON.stringify({ kind: 'MEMBER_STATE', code: 'IE', name: 'x'.repeat(101), joinedOn: '2024-05-01' }),
    ],
    [
      'negative tariff',
      '{"kind":"TARIFF","package":"POST_RETURN","component":"FAMILY_MEMBER","amountCents":-5,"validFrom":"2024-07-01"}',
    ],
  ])('a stream entry that is not a change is skipped: %s', (_, json) => {
    expect(parseReferenceChange(json)).toBeNull();
  });

  it('keys a change by what it changes; stream ids in numeric order', () => {
    expect(changeKey({ kind: 'MEMBER_STATE', code: 'IE', name: 'Ireland', joinedOn: '2024-05-01' })).toBe(
      'MEMBER_STATE:IE',
    );
    expect(compareStreamIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareStreamIds('10-2', '10-10')).toBeLessThan(0);
  });
});

describe('a Member State’s cases before it joined', () => {
  const joined = new Map([['IE', '2024-05-01']]);
  it.each([
    ['departed before it joined', 'IE', '2024-04-30', true],
    ['departed the day it joined', 'IE', '2024-05-01', false],
    ['departed after', 'IE', '2024-06-01', false],
    ['not a participating Member State (the list check says so)', 'US', '2020-01-01', false],
  ])('%s', (_, ms, day, refused) => {
    const breach = joiningDateBreach(joined, ms, day);
    expect(breach !== null).toBe(refused);
    if (breach) expect(breach).toMatch(/^MEMBER_STATE_NOT_YET_JOINED: IE joined the programme on 2024-05-01/);
  });

  it('counts from the departure, else the request, else today', () => {
    expect(caseDayOf({ departureDate: '2024-01-01', eligibility: { requestDate: '2023-12-01' } }, TODAY)).toBe(
      '2024-01-01',
    );
    expect(caseDayOf({ departureDate: null, eligibility: { requestDate: '2023-12-01' } }, TODAY)).toBe('2023-12-01');
    expect(caseDayOf({ departureDate: null, eligibility: {} }, TODAY)).toBe(TODAY);
  });
});

describe('records against the stored lists', () => {
  const lists = listsOf(
    applyReferenceChanges(RELEASED_LISTS_DATA, [
      { kind: 'MEMBER_STATE', code: 'IE', name: 'Ireland', joinedOn: '2024-05-01' },
      { kind: 'COUNTRY_OF_ORIGIN', code: 'KE', alpha3: 'KEN', name: 'Kenya' },
    ]),
  );
  const record = (over: Record<string, unknown> = {}) => ({
    memberState: 'IE',
    caseReference: 'IE-1',
    recordVersion: 1,
    returnType: 'VOLUNTARY',
    packages: ['POST_ARRIVAL'],
    countryOfOrigin: 'KE',
    departureDate: '2024-05-10',
    mainApplicant: { name: 'Test Person', dateOfBirth: '1990-01-01', sex: 'MALE' },
    ...over,
  });

  it('refused against the released lists, accepted once the stored lists have them', () => {
    const released = validateRecord(record());
    expect(released.ok).toBe(false);
    if (!released.ok) expect(released.problems.map((p) => p.path)).toEqual(['memberState', 'countryOfOrigin']);
    expect(validateRecord(record(), 20, lists).ok).toBe(true);
  });

  it.each([
    ['lowercase', 'ie'],
    ['three letters', 'IRL'],
    ['empty', ''],
    ['injection', '$where'],
  ])('a Member State code that is no code is refused by its format: %s', (_, code) => {
    const result = validateRecord(record({ memberState: code }), 20, lists);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]!.path).toBe('memberState');
  });

  it('names each unknown code', () => {
    expect(referenceProblems({ memberState: 'US', countryOfOrigin: 'KE' }, lists)).toEqual([
      { path: 'memberState', message: 'must be a participating Member State, ISO 3166-1 alpha-2 in capitals' },
    ]);
  });
});

describe('support desk input for new reference data', () => {
  const partners = new Set(['irara']);
  const country = {
    code: 'KE',
    alpha3: 'KEN',
    name: 'Kenya',
    partnerId: 'irara',
    packages: ['POST_RETURN' as const],
    validFrom: '2024-05-01',
  };
  it.each([
    ['valid', {}, null],
    ['lowercase code', { code: 'ke' }, 'code'],
    ['operator code', { code: '$ne' }, 'code'],
    ['alpha3 of two letters', { alpha3: 'KE' }, 'alpha3'],
    ['empty name', { name: '  ' }, 'name'],
    ['oversized name', { name: 'K'.repeat(101) }, 'name'],
    ['control characters', { name: 'Ken\u0007ya' }, 'name'],
    ['unknown partner', { partnerId: 'acme' }, 'partnerId'],
    ['no packages', { packages: [] }, 'packages'],
    ['repeated packages', { packages: ['POST_RETURN', 'POST_RETURN'] }, 'packages'],
    ['too many packages', { packages: ['POST_RETURN', 'POST_ARRIVAL', 'CHARTER_ARRIVAL', 'POST_RETURN'] }, 'packages'],
    ['before the programme', { validFrom: '2021-12-31' }, 'validFrom'],
    ['not a date', { validFrom: 'tomorrow' }, 'validFrom'],
  ])('country: %s', (_, over, field) => {
    const check = checkNewCountry({ ...country, ...over } as typeof country, partners);
    expect(check.ok ? null : check.field).toBe(field);
  });
  it.each([
    ['valid', {}, null],
    ['lowercase', { code: 'ie' }, 'code'],
    ['oversized name', { name: 'I'.repeat(101) }, 'name'],
    ['joined before the programme', { joinedOn: '2022-03-31' }, 'joinedOn'],
    ['impossible date', { joinedOn: '2024-02-30' }, 'joinedOn'],
  ])('Member State: %s', (_, over, field) => {
    const check = checkNewMemberState({ code: 'IE', name: 'Ireland', joinedOn: '2024-05-01', ...over });
    expect(check.ok ? null : check.field).toBe(field);
  });
});
