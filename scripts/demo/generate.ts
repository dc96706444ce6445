/**
 * Deterministic demo data whose distributions follow the programme's published figures
 * (docs/domain.md): about 1.25 returnees per case, ~15 % of returnees minors, main applicants
 * averaging 35 years, 37 countries of origin, 26 Member States, five partners.
 * All names are synthetic.
 */
import {
  COUNTRIES_OF_ORIGIN,
  MEMBER_STATES,
  type CaseStatus,
  type Package,
  type ReturnType,
  type Sex,
} from '../../shared/domain.js';

export interface DemoPerson {
  name: string;
  dateOfBirth: string;
  sex: Sex;
  relationship?: string;
  vulnerabilities: string[];
}

export interface DemoHistoryEntry {
  version: number;
  transition: string;
  from: CaseStatus | null;
  to: CaseStatus;
  at: Date;
  actor: { role: string; subject: string; memberState?: string; partnerId?: string };
  reason?: string;
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
  version: number;
  history: DemoHistoryEntry[];
  milestones: { km1At: Date | null; km2At: Date | null; km3At: Date | null };
  reintegrationPlan: {
    services: Array<{ category: string; description: string; amountCents: number }>;
    totalCents: number;
    submittedAt: Date;
    decidedAt: Date | null;
    rejectionReason: string | null;
  } | null;
  closingReason: string | null;
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
  (
    {
      DE: 22,
      BE: 12,
      NL: 10,
      SE: 8,
      AT: 7,
      FR: 6,
      IT: 4,
      FI: 4,
      NO: 4,
      PL: 3,
      CZ: 2,
      GR: 3,
      ES: 2,
      LU: 2,
      HU: 1.5,
      BG: 1.5,
      RO: 1.5,
      SI: 1,
      SK: 1,
      HR: 1,
      LT: 1,
      LV: 1,
      EE: 0.8,
      CY: 1,
      MT: 0.8,
      PT: 0.8,
    } as Record<string, number>
  )[m.code] ?? 1,
]);
const COUNTRY_WEIGHTS: ReadonlyArray<readonly [string, number]> = COUNTRIES_OF_ORIGIN.map((c) => [
  c.code,
  (
    {
      IQ: 14,
      GE: 10,
      AF: 6,
      NG: 7,
      MA: 5,
      PK: 6,
      AM: 5,
      MD: 4,
      DZ: 4,
      TR: 5,
      AZ: 3,
      EG: 3,
      BD: 3,
      TN: 3,
      AL: 3,
      UZ: 2,
      TJ: 2,
      GH: 2,
      SN: 2,
      GN: 2,
    } as Record<string, number>
  )[c.code] ?? 1,
]);
const PARTNER_BY_COUNTRY = new Map(COUNTRIES_OF_ORIGIN.map((c) => [c.code, c.partnerId]));

const GIVEN = {
  FEMALE: [
    'Amina',
    'Fatima',
    'Nino',
    'Mariam',
    'Aisha',
    'Olena',
    'Zainab',
    'Ana',
    'Leyla',
    'Grace',
    'Ayesha',
    'Elif',
    'Nadia',
    'Sabina',
    'Hawa',
    'Thi Lan',
    'Anahit',
    'Sara',
    'Zahra',
    'Oksana',
  ],
  MALE: [
    'Mohammed',
    'Ali',
    'Giorgi',
    'Ahmed',
    'Omar',
    'Davit',
    'Ibrahim',
    'Yusuf',
    'Arman',
    'Emeka',
    'Hassan',
    'Karim',
    'Mamadou',
    'Rustam',
    'Bilal',
    'Van Minh',
    'Levan',
    'Tariq',
    'Samuel',
    'Murat',
  ],
} as const;
const FAMILY = [
  'Hussein',
  'Beridze',
  'Rahimi',
  'Okafor',
  'El Amrani',
  'Khan',
  'Petrosyan',
  'Rusu',
  'Benali',
  'Yılmaz',
  'Aliyev',
  'Mansour',
  'Rahman',
  'Ben Salah',
  'Hoxha',
  'Karimov',
  'Nazarov',
  'Mensah',
  'Diallo',
  'Camara',
  'Nguyễn',
  'Kapanadze',
  'Ahmadi',
  'Adeyemi',
  'Haddad',
];
const VULNERABILITIES = [
  'MEDICAL_CONDITION',
  'DISABILITY',
  'SINGLE_PARENT',
  'ELDERLY',
  'VICTIM_OF_TRAFFICKING',
  'UNACCOMPANIED_MINOR',
];

interface Timeline {
  status: CaseStatus;
  history: DemoHistoryEntry[];
  milestones: DemoCase['milestones'];
  plan: DemoCase['reintegrationPlan'];
  closingReason: string | null;
  updatedAt: Date;
}

/**
 * A lifecycle consistent with the packages (no plan without the post-return package),
 * each step after the previous one and none after `asOf`; older returns got further.
 */
function timelineFor(
  random: () => number,
  c: { memberState: string; partnerId: string; packages: Package[]; departure: number; created: number },
  asOf: number,
): Timeline {
  const ms = {
    role: 'MEMBER_STATE',
    subject: `${c.memberState.toLowerCase()}-case-officer`,
    memberState: c.memberState,
  };
  const partner = { role: 'PARTNER', subject: `${c.partnerId}-case-worker`, partnerId: c.partnerId };
  const history: DemoHistoryEntry[] = [];
  const milestones: DemoCase['milestones'] = { km1At: null, km2At: null, km3At: null };
  let plan: DemoCase['reintegrationPlan'] = null;
  let status: CaseStatus = 'SUBMITTED';
  let at = c.created;
  const days = (min: number, max: number) => (min + random() * (max - min)) * DAY;
  const step = (
    transition: string,
    to: CaseStatus,
    when: number,
    actor: DemoHistoryEntry['actor'],
    reason?: string,
  ): boolean => {
    if (when > asOf) return false;
    history.push({
      version: history.length + 1,
      transition,
      from: status,
      to,
      at: new Date(when),
      actor,
      ...(reason ? { reason } : {}),
    });
    status = to;
    at = when;
    return true;
  };
  const withPlan = c.packages.includes('POST_RETURN');
  // Some cases stop early for good: withdrawn or closed at a random point.
  const stopsAt = random() < 0.05 ? Math.floor(random() * 5) : Infinity;
  const stop = () => {
    const withdrawn = random() < 0.6;
    const when = at + days(1, 30);
    step(
      withdrawn ? 'withdrawCase' : 'closeCase',
      withdrawn ? 'WITHDRAWN' : 'CLOSED',
      when,
      ms,
      withdrawn ? 'Returnee withdrew the request' : 'No contact with the returnee',
    );
    return {
      status,
      history,
      milestones,
      plan,
      closingReason: status === 'WITHDRAWN' || status === 'CLOSED' ? history.at(-1)!.reason! : null,
      updatedAt: new Date(at),
    };
  };
  const done = () => ({ status, history, milestones, plan, closingReason: null, updatedAt: new Date(at) });
  if (stopsAt === 0) return stop();
  if (!step('acceptCase', 'ACCEPTED', at + days(1, 7), partner)) return done();
  if (stopsAt === 1) return stop();
  if (!step('reportArrival', 'ARRIVED', Math.max(c.departure, at) + days(0, 2), partner)) return done();
  milestones.km1At = new Date(at);
  if (stopsAt === 2) return stop();
  if (withPlan) {
    const services = [
      { category: 'BUSINESS_START_UP', description: 'Small business equipment and stock', amountCents: 120_000 },
      { category: 'SOCIAL_LEGAL_MEDICAL_SUPPORT', description: 'Psychosocial counselling', amountCents: 30_000 },
    ];
    if (!step('submitReintegrationPlan', 'PLAN_SUBMITTED', at + days(10, 45), partner)) return done();
    plan = { services, totalCents: 150_000, submittedAt: new Date(at), decidedAt: null, rejectionReason: null };
    if (random() < 0.12) {
      if (!step('rejectReintegrationPlan', 'PLAN_REJECTED', at + days(5, 15), ms, 'Costs not itemised')) return done();
      plan = { ...plan, decidedAt: new Date(at), rejectionReason: 'Costs not itemised' };
      if (random() < 0.15 || !step('submitReintegrationPlan', 'PLAN_SUBMITTED', at + days(5, 20), partner))
        return done();
      plan = { services, totalCents: 150_000, submittedAt: new Date(at), decidedAt: null, rejectionReason: null };
    }
    if (!step('approveReintegrationPlan', 'PLAN_APPROVED', at + days(3, 20), ms)) return done();
    milestones.km2At = new Date(at);
    plan = { ...plan, decidedAt: new Date(at) };
    if (stopsAt === 3) return stop();
    if (!step('reportCompletion', 'COMPLETION_REPORTED', at + days(60, 330), partner)) return done();
  } else if (!step('reportCompletion', 'COMPLETION_REPORTED', at + days(1, 5), partner)) return done();
  if (stopsAt === 4) return stop();
  if (!step('approveCompletion', 'COMPLETED', at + days(3, 20), ms)) return done();
  milestones.km3At = new Date(at);
  return done();
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
    const returnType: ReturnType = random() < 0.72 ? 'VOLUNTARY' : 'FORCED';
    const charterFlight = returnType === 'FORCED' && random() < 0.35;
    const familySize = weighted(random, [
      [1, 87],
      [2, 6],
      [3, 3],
      [4, 2.5],
      [5, 1],
      [6, 0.5],
    ] as const);
    const mainSex: Sex = random() < 0.78 ? 'MALE' : 'FEMALE';
    const mainAge = Math.max(18, Math.min(75, Math.round(normal(random, 35, 9))));
    const familyMembers: DemoPerson[] = [];
    for (let m = 1; m < familySize; m++) {
      if (m === 1 && random() < 0.5) {
        familyMembers.push(
          person(
            mainSex === 'MALE' ? 'FEMALE' : 'MALE',
            Math.max(18, mainAge + Math.round(normal(random, -2, 4))),
            departure,
            'SPOUSE',
          ),
        );
      } else {
        familyMembers.push(person(random() < 0.5 ? 'FEMALE' : 'MALE', Math.floor(random() * 18), departure, 'CHILD'));
      }
    }
    const packages: Package[] = [];
    if (charterFlight) packages.push('CHARTER_ARRIVAL');
    if (!charterFlight || random() < 0.3) packages.push('POST_ARRIVAL');
    if (random() < (returnType === 'VOLUNTARY' ? 0.8 : 0.55)) packages.push('POST_RETURN');
    const partnerId = PARTNER_BY_COUNTRY.get(countryOfOrigin)!;
    const created = departure - Math.floor(random() * 20) * DAY;
    const timeline = timelineFor(random, { memberState, partnerId, packages, departure, created }, asOf);
    const seq = (sequence.get(memberState) ?? 0) + 1;
    sequence.set(memberState, seq);
    const year = new Date(departure).getUTCFullYear();
    yield {
      memberState,
      caseReference: `${memberState}-${year}-${String(seq).padStart(6, '0')}`,
      returnType,
      charterFlight,
      packages,
      countryOfOrigin,
      partnerId,
      status: timeline.status,
      mainApplicant: person(mainSex, mainAge, departure),
      familyMembers,
      familySize,
      departureDate: isoDate(departure),
      arrivalDate: timeline.milestones.km1At ? isoDate(timeline.milestones.km1At.getTime()) : null,
      version: timeline.history.length,
      history: timeline.history,
      milestones: timeline.milestones,
      reintegrationPlan: timeline.plan,
      closingReason: timeline.closingReason,
      createdAt: new Date(created),
      updatedAt: timeline.updatedAt,
    };
  }
}
