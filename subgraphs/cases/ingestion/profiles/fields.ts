import { MAX_FAMILY_MEMBERS } from '../record.js';

/**
 * The canonical fields a profile may map a column to, and what kind of value each takes.
 * `familySize` and `familyMemberCount` are not stored as such: they say how many family
 * members a row has when the export counts them instead of listing them.
 */
export type FieldKind = 'text' | 'number' | 'boolean' | 'list' | 'date' | 'count';

const TOP_FIELDS: Readonly<Record<string, FieldKind>> = {
  memberState: 'text',
  caseReference: 'text',
  recordVersion: 'number',
  returnType: 'text',
  charterFlight: 'boolean',
  packages: 'list',
  countryOfOrigin: 'text',
  departureDate: 'date',
  arrivalDate: 'date',
  'eligibility.legalStay': 'boolean',
  'eligibility.temporaryProtection': 'boolean',
  'eligibility.applicationSigned': 'boolean',
  'eligibility.requestDate': 'date',
  familySize: 'count',
  familyMemberCount: 'count',
};

/** A person's fields: the main applicant's and each family member's. */
export const PERSON_FIELDS: Readonly<Record<string, FieldKind>> = {
  name: 'text',
  dateOfBirth: 'date',
  sex: 'text',
  relationship: 'text',
  vulnerabilities: 'list',
  vulnerabilityCodes: 'list',
};

/** Fields every record needs: a profile must map each (or give it a constant), or it is refused when loaded. */
export const REQUIRED_FIELDS = [
  'memberState',
  'caseReference',
  'recordVersion',
  'returnType',
  'packages',
  'countryOfOrigin',
  'mainApplicant.name',
  'mainApplicant.dateOfBirth',
  'mainApplicant.sex',
] as const;

const MEMBER_PATH = /^familyMembers\.(\d{1,2})\.([A-Za-z]+)$/;

/** The kind of a canonical field path, or null when the path is no field a profile may map. */
export function fieldKind(path: string): FieldKind | null {
  if (Object.hasOwn(TOP_FIELDS, path)) return TOP_FIELDS[path]!;
  if (path.startsWith('mainApplicant.')) return personKind(path.slice('mainApplicant.'.length));
  const member = MEMBER_PATH.exec(path);
  if (member && Number(member[1]) < MAX_FAMILY_MEMBERS) return personKind(member[2]!);
  return null;
}

function personKind(field: string): FieldKind | null {
  return Object.hasOwn(PERSON_FIELDS, field) ? PERSON_FIELDS[field]! : null;
}

/** A family member's slot in a path (`familyMembers.3.name` → 3), or null. */
export function memberSlot(path: string): number | null {
  const member = MEMBER_PATH.exec(path);
  return member ? Number(member[1]) : null;
}
