import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { profileSet } from '../../gateway/profiles.js';
import { mayManageProfile, mayReadProfile } from '../../shared/access.js';
import type { Principal } from '../../shared/auth.js';
import {
  MAX_PROFILE_BYTES,
  MAX_PROFILE_COLUMNS,
  ProfileInputError,
  validateProfileText,
} from '../../subgraphs/cases/ingestion/profile-store.js';

const nl = readFileSync(new URL('../../profiles/nl-dtenv.json', import.meta.url), 'utf8');
const nlWith = (overrides: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(nl), ...overrides });

const P: Record<string, Principal | null> = {
  anonymous: null,
  beOfficer: { subject: 'a', role: 'MEMBER_STATE', memberState: 'BE' },
  nlOfficer: { subject: 'b', role: 'MEMBER_STATE', memberState: 'NL' },
  partner: { subject: 'c', role: 'PARTNER', partnerId: 'weldo' },
  analyst: { subject: 'e', role: 'EU_ANALYST' },
  desk: { subject: 'f', role: 'SUPPORT_DESK' },
  admin: { subject: 'g', role: 'ADMIN' },
  dpo: { subject: 'h', role: 'DATA_PROTECTION_OFFICER' },
};

describe('who manages and reads profiles (shared/access.ts)', () => {
  it.each([
    // who, manages BE's, manages shared, reads BE's, reads shared
    ['anonymous', false, false, false, false],
    ['beOfficer', true, false, true, true],
    ['nlOfficer', false, false, false, true],
    ['partner', false, false, false, false],
    ['analyst', false, false, false, false],
    ['desk', true, true, true, true],
    ['admin', true, true, true, true],
    ['dpo', false, false, false, false],
  ] as const)('%s: manages BE %s, shared %s; reads BE %s, shared %s', (who, manBe, manShared, readBe, readShared) => {
    const principal = P[who]!;
    expect(mayManageProfile(principal, 'BE')).toBe(manBe);
    expect(mayManageProfile(principal, null)).toBe(manShared);
    expect(mayReadProfile(principal, 'BE')).toBe(readBe);
    expect(mayReadProfile(principal, undefined)).toBe(readShared);
  });
});

describe('a profile text sent through the graph (validateProfileText)', () => {
  it('takes a valid profile, filling the defaults of the language', () => {
    const profile = validateProfileText(nl);
    expect(profile).toMatchObject({ name: 'nl-dtenv', memberState: 'NL', countryCodes: 'alpha3' });
    expect(validateProfileText(nlWith({ codeLists: undefined })).codeLists).toEqual({});
  });

  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, 'caseReference']));
  it.each([
    ['1 MB of text', nlWith({ description: 'x'.repeat(1_000_000) }), '(profile)', /bytes; at most 65536 are taken/],
    ['one byte over the limit', 'x'.repeat(MAX_PROFILE_BYTES + 1), '(profile)', /65537 bytes/],
    ['invalid JSON', '{ "name": ', '(profile)', /not valid JSON/],
    ['an empty text', '', '(profile)', /not valid JSON/],
    ['a JSON array', '[1, 2]', '(profile)', /must be a JSON object/],
    ['JSON null', 'null', '(profile)', /must be a JSON object/],
    ['deep nesting', '['.repeat(20_000) + ']'.repeat(20_000), '(profile)', /must be a JSON object/],
    ['thousands of columns', nlWith({ columns: many(2_500) }), 'columns', /names 2500 columns; at most 500/],
    ['a bad delimiter', nlWith({ delimiter: ':' }), 'delimiter', /delimiter: /],
    ['a bad name', nlWith({ name: 'NL DTenV' }), 'name', /name: must be 2-40 lowercase/],
    ['an unknown key', nlWith({ colums: {} }), '(profile)', /Unrecognized key/],
    ['a bad field path', nlWith({ columns: { a: 'no path!' } }), 'columns.a', /is not a canonical field/],
  ])('refuses %s, naming the field', (_, text, field, message) => {
    let caught: unknown;
    try {
      validateProfileText(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ProfileInputError);
    expect((caught as ProfileInputError).field).toBe(field);
    expect((caught as ProfileInputError).message).toMatch(message);
    // Never echoes a hostile text back whole.
    expect((caught as ProfileInputError).message.length).toBeLessThan(3_000);
  });

  it('counts columns up to exactly the limit; past the count, the profile language judges them', () => {
    const atLimit = () => validateProfileText(nlWith({ columns: many(MAX_PROFILE_COLUMNS) }));
    // 500 columns on one field: refused by the language (no join), not by the count.
    expect(atLimit).toThrow(ProfileInputError);
    expect(atLimit).not.toThrow(/names \d+ columns/);
    expect(() => validateProfileText(nlWith({ columns: many(MAX_PROFILE_COLUMNS + 1) }))).toThrow(
      `names ${MAX_PROFILE_COLUMNS + 1} columns`,
    );
  });
});

describe("the gateway's profile set (profileSet)", () => {
  it('keeps every readable version with its number, and names the ones it cannot read', () => {
    const set = profileSet([
      { name: 'nl-dtenv', version: 3, profile: nl },
      { name: 'broken', version: 2, profile: '{ nope' },
      { name: 'newer-language', version: 1, profile: nlWith({ name: 'newer-language', joinColumns: [] }) },
      { name: 'renamed', version: 4, profile: nl },
    ]);
    expect([...set.profiles.keys()]).toEqual(['nl-dtenv']);
    expect(set.versions.get(set.profiles.get('nl-dtenv')!)).toBe(3);
    expect(set.refused.map((r) => [r.name, r.version])).toEqual([
      ['broken', 2],
      ['newer-language', 1],
      ['renamed', 4],
    ]);
    expect(set.refused[2]!.reason).toBe('names itself nl-dtenv');
  });
});
