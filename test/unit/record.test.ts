import { describe, expect, it } from 'vitest';
import { validateRecord } from '../../subgraphs/cases/ingestion/record.js';
import { contentHash, decideOutcome } from '../../subgraphs/cases/ingestion/decisions.js';

const good = () => ({
  memberState: 'BE',
  caseReference: 'BE-2024-000001',
  recordVersion: 1,
  returnType: 'VOLUNTARY',
  packages: ['POST_ARRIVAL', 'POST_RETURN'],
  countryOfOrigin: 'IQ',
  departureDate: '2024-02-01',
  mainApplicant: { name: 'Zainab Ḥusayn زينب', dateOfBirth: '1990-05-17', sex: 'FEMALE' },
  familyMembers: [{ name: 'Олена Коваль', dateOfBirth: '2015-01-02', sex: 'FEMALE', relationship: 'CHILD' }],
});

const problemsOf = (input: unknown) => {
  const result = validateRecord(input);
  return result.ok ? [] : result.problems;
};

describe('canonical record validation', () => {
  it('accepts a good record and keeps names in any script unchanged', () => {
    const result = validateRecord(good());
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.record.mainApplicant.name).toBe('Zainab Ḥusayn زينب');
      expect(result.record.familyMembers[0]).toMatchObject({ name: 'Олена Коваль' });
      expect(result.record.charterFlight).toBe(false);
    }
  });

  it.each([
    ['operator object in a field', { ...good(), caseReference: { $gt: '' } }, 'caseReference'],
    ['$-key at the top', { ...good(), $where: 'sleep(1)' }, '$where'],
    ['dotted key', { ...good(), 'mainApplicant.name': 'x' }, 'mainApplicant.name'],
    [
      'operator in a nested person',
      { ...good(), mainApplicant: { ...good().mainApplicant, name: { $ne: null } } },
      'mainApplicant.name',
    ],
    ['lowercase country', { ...good(), countryOfOrigin: 'iq' }, 'countryOfOrigin'],
    ['unknown country', { ...good(), countryOfOrigin: 'ZZ' }, 'countryOfOrigin'],
    ['impossible date', { ...good(), departureDate: '2024-02-30' }, 'departureDate'],
    ['date in another format', { ...good(), departureDate: '01/02/2024' }, 'departureDate'],
    [
      'a family of 16',
      { ...good(), familyMembers: Array.from({ length: 15 }, () => good().familyMembers[0]) },
      'familyMembers',
    ],
    ['charter package on a voluntary return', { ...good(), packages: ['CHARTER_ARRIVAL'] }, 'packages'],
    ['arrival before departure', { ...good(), arrivalDate: '2024-01-01' }, 'arrivalDate'],
    [
      'control characters in a name',
      { ...good(), mainApplicant: { ...good().mainApplicant, name: 'A\u0000B' } },
      'mainApplicant.name',
    ],
    ['non-participating Member State', { ...good(), memberState: 'US' }, 'memberState'],
    ['version zero', { ...good(), recordVersion: 0 }, 'recordVersion'],
  ])('refuses %s, naming %s', (_, input, path) => {
    const problems = problemsOf(input);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.map((p) => p.path)).toContain(path);
  });

  it('refuses __proto__ and constructor keys instead of merging them', () => {
    const hostile = JSON.parse(
      `{"__proto__": {"admin": true}, "constructor": {"prototype": {"x": 1}}, ${JSON.stringify(good()).slice(1)}`,
    ) as unknown;
    const problems = problemsOf(hostile);
    expect(problems.map((p) => p.message).join(' ')).toMatch(/unknown field\(s\): .*__proto__/);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('refuses things that are not records at all', () => {
    for (const input of [null, 42, 'BE-1', [], undefined]) expect(problemsOf(input).length).toBeGreaterThan(0);
  });

  it('a family of 15 (main applicant + 14) is accepted', () => {
    const record = { ...good(), familyMembers: Array.from({ length: 14 }, () => good().familyMembers[0]) };
    expect(validateRecord(record).ok).toBe(true);
  });
});

describe('record versions decide the outcome', () => {
  const record = validateRecord(good());
  if (!record.ok) throw new Error('fixture invalid');
  const hash = contentHash(record.record);

  it('hashes content independently of key order', () => {
    const reordered = Object.fromEntries(Object.entries(record.record).reverse()) as typeof record.record;
    expect(contentHash(reordered)).toBe(hash);
    expect(contentHash({ ...record.record, caseReference: 'BE-2' })).not.toBe(hash);
  });

  it.each([
    [null, 1, 'x', 'created'],
    [{ recordVersion: 2, contentHash: 'h' }, 3, 'other', 'updated'],
    [{ recordVersion: 2, contentHash: 'h' }, 2, 'h', 'unchanged'],
    [{ recordVersion: 2, contentHash: 'h' }, 5, 'h', 'unchanged'],
    [{ recordVersion: 2, contentHash: 'h' }, 1, 'other', 'stale'],
    [{ recordVersion: 2, contentHash: 'h' }, 2, 'other', 'stale'],
  ] as const)('stored %j, incoming v%i → %s', (stored, recordVersion, incomingHash, outcome) => {
    expect(decideOutcome(stored, { recordVersion, hash: incomingHash })).toBe(outcome);
  });
});
