/**
 * Deterministic demo data whose distributions follow the programme's published figures
 * (DOMAIN.md): about 1.25 returnees per case, ~15 % of returnees minors, main applicants
 * averaging 35 years, 37 countries of origin, 26 Member States, five partners.
 * All names are synthetic.
 */
import { COUNTRIES_OF_ORIGIN, MEMBER_STATES, type CaseStatus, type Package, type ReturnType, type Sex } from '../../shared/domain.js';

export interface DemoPerson {
  name: string;
  dateOfBirth: string;
  sex: Sex;
  relationship?: string;
  vulnerabilities: string[];
}

export interface DemoCase {
  memberState: string;
  caseReference: string;
  returnType: ReturnType;
  charterFlight: boolean;
  packages: Package[];
  countryOfOrigin: string;
  partnerId: string;
  status: CaseStatus;
  mainApplicant: DemoPerson;
  familyMembers: DemoPerson[];
  familySize: number;
  departureDate: string;
  arrivalDate: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** mulberry32: small, fast, deterministic; good enough for demo data, not for secrets. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weighted<T>(random: () => number, entries: ReadonlyArray<readonly [T, number]>): T {
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  let r = random() * total;
  for (const [value, weight] of entries) {
    r -= weight;
    if (r < 0) return value;
  }
  return entries[entries.length - 1]![0];
}

function normal(random: () => number, mean: number, sd: number): number {
  const u = Math.max(random(), 1e-12);
  const v = random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const DAY = 86_400_000;
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

// Sending Member States: the larger return systems send most cases.
const MEMBER_STATE_WEIGHTS: ReadonlyArray<readonly [string, number]> = MEMBER_STATES.map((m) => [
  m.code,
  ({ DE: 22, BE: 12, NL: 10, SE: 8, AT: 7, FR: 6, IT: 4, FI: 4, NO: 4, PL: 3, CZ: 2, GR: 3, ES: 2, LU: 2, HU: 1.5, BG: 1.5, RO: 1.5, SI: 1, SK: 1, HR: 1, LT: 1, LV: 1, EE: 0.8, CY: 1, MT: 0.8, PT: 0.8 } as Record<string, number>)[m.code] ?? 1,
]);
const COUNTRY_WEIGHTS: ReadonlyArray<readonly [string, number]> = COUNTRIES_OF_ORIGIN.map((c) => [
  c.code,
  ({ IQ: 14, GE: 10, AF: 6, NG: 7, MA: 5, PK: 6, AM: 5, MD: 4, DZ: 4, TR: 5, AZ: 3, EG: 3, BD: 3, TN: 3, AL: 3, UZ: 2, TJ: 2, GH: 2, SN: 2, GN: 2 } as Record<string, number>)[c.code] ?? 1,
]);
const PARTNER_BY_COUNTRY = new Map(COUNTRIES_OF_ORIGIN.map((c) => [c.code, c.partnerId]));

const GIVEN = {
  FEMALE: ['Amina', 'Fatima', 'Nino', 'Mariam', 'Aisha', 'Olena', 'Zainab', 'Ana', 'Leyla', 'Grace', 'Ayesha', 'Elif', 'Nadia', 'Sabina', 'Hawa', 'Thi Lan', 'Anahit', 'Sara', 'Zahra', 'Oksana'],
  MALE: ['Mohammed', 'Ali', 'Giorgi', 'Ahmed', 'Omar', 'Davit', 'Ibrahim', 'Yusuf', 'Arman', 'Emeka', 'Hassan', 'Karim', 'Mamadou', 'Rustam', 'Bilal', 'Van Minh', 'Levan', 'Tariq', 'Samuel', 'Murat'],
} as const;
const FAMILY = ['Hussein', 'Beridze', 'Rahimi', 'Okafor', 'El Amrani', 'Khan', 'Petrosyan', 'Rusu', 'Benali', 'Yılmaz', 'Aliyev', 'Mansour', 'Rahman', 'Ben Salah', 'Hoxha', 'Karimov', 'Nazarov', 'Mensah', 'Diallo', 'Camara', 'Nguyễn', 'Kapanadze', 'Ahmadi', 'Adeyemi', 'Haddad'];
const VULNERABILITIES = ['MEDICAL_CONDITION', 'DISABILITY', 'SINGLE_PARENT', 'ELDERLY', 'VICTIM_OF_TRAFFICKING', 'UNACCOMPANIED_MINOR'];

// Lifecycle stage by how long ago the return was: older cases are further along.
function statusFor(random: () => number, monthsAgo: number): CaseStatus {
  if (random() < 0.03) return 'WITHDRAWN';
  const stages: CaseStatus[] = ['SUBMITTED', 'ACCEPTED', 'ARRIVED', 'PLAN_SUBMITTED', 'PLAN_APPROVED', 'COMPLETION_REPORTED', 'COMPLETED'];
  const progress = Math.min(1, monthsAgo / 14) * 6 + normal(random, 0, 0.9);
  const index = Math.max(0, Math.min(stages.length - 1, Math.round(progress)));
  if (index === stages.length - 1 && random() < 0.05) return 'CLOSED';
  return stages[index]!;
}

export interface GenerateOptions {
  count: number;
  seed: number;
  /** The "now" of the data set: departures fall in the 22 months before it. */
  asOf?: string;
}

export function* generateCases(options: GenerateOptions): Generator<DemoCase> {
  const random = createRandom(options.seed);
  const asOf = Date.parse(`${options.asOf ?? '2024-04-30'}T00:00:00Z`);
  const start = asOf - 660 * DAY;
  const sequence = new Map<string, number>();
  const person = (sex: Sex, ageYears: number, departure: number, relationship?: string): DemoPerson => {
    const given = sex === 'FEMALE' ? GIVEN.FEMALE : GIVEN.MALE;
    const born = departure - Math.floor(ageYears * 365.25 * DAY) - Math.floor(random() * 365) * DAY;
    const vulnerable = random() < 0.08;
    return {
      name: `${given[Math.floor(random() * given.length)]} ${FAMILY[Math.floor(random() * FAMILY.length)]}`,
      dateOfBirth: isoDate(born),
      sex,
      ...(relationship ? { relationship } : {}),
      vulnerabilities: vulnerable ? [VULNERABILITIES[Math.floor(random() * VULNERABILITIES.length)]!] : [],
    };
  };
  for (let i = 0; i < options.count; i++) {
    const memberState = weighted(random, MEMBER_STATE_WEIGHTS);
    const countryOfOrigin = weighted(random, COUNTRY_WEIGHTS);
    // The programme grew over time: later months carry more departures (sqrt skew).
    const departure = start + Math.floor(Math.sqrt(random()) * 660) * DAY;
    const monthsAgo = (asOf - departure) / (30 * DAY);
    const returnType: ReturnType = random() < 0.72 ? 'VOLUNTARY' : 'FORCED';
    const charterFlight = returnType === 'FORCED' && random() < 0.35;
    const familySize = weighted(random, [[1, 87], [2, 6], [3, 3], [4, 2.5], [5, 1], [6, 0.5]] as const);
    const mainSex: Sex = random() < 0.78 ? 'MALE' : 'FEMALE';
    const mainAge = Math.max(18, Math.min(75, Math.round(normal(random, 35, 9))));
    const familyMembers: DemoPerson[] = [];
    for (let m = 1; m < familySize; m++) {
      if (m === 1 && random() < 0.5) {
        familyMembers.push(person(mainSex === 'MALE' ? 'FEMALE' : 'MALE', Math.max(18, mainAge + Math.round(normal(random, -2, 4))), departure, 'SPOUSE'));
      } else {
        familyMembers.push(person(random() < 0.5 ? 'FEMALE' : 'MALE', Math.floor(random() * 18), departure, 'CHILD'));
      }
    }
    const packages: Package[] = [];
    if (charterFlight) packages.push('CHARTER_ARRIVAL');
    if (!charterFlight || random() < 0.3) packages.push('POST_ARRIVAL');
    if (random() < (returnType === 'VOLUNTARY' ? 0.8 : 0.55)) packages.push('POST_RETURN');
    const status = statusFor(random, monthsAgo);
    const arrived = !['SUBMITTED', 'ACCEPTED', 'WITHDRAWN'].includes(status);
    const seq = (sequence.get(memberState) ?? 0) + 1;
    sequence.set(memberState, seq);
    const year = new Date(departure).getUTCFullYear();
    const created = new Date(departure - Math.floor(random() * 20) * DAY);
    yield {
      memberState,
      caseReference: `${memberState}-${year}-${String(seq).padStart(6, '0')}`,
      returnType,
      charterFlight,
      packages,
      countryOfOrigin,
      partnerId: PARTNER_BY_COUNTRY.get(countryOfOrigin)!,
      status,
      mainApplicant: person(mainSex, mainAge, departure),
      familyMembers,
      familySize,
      departureDate: isoDate(departure),
      arrivalDate: arrived ? isoDate(departure + (random() < 0.8 ? 0 : DAY)) : null,
      createdAt: created,
      updatedAt: new Date(Math.min(asOf, departure + Math.floor(monthsAgo * 10) * DAY)),
    };
  }
}
