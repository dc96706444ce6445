/**
 * Deterministic demo data whose distributions follow the programme's published figures
 * (docs/domain.md): about 1.25 returnees per case, ~15 % of returnees minors, main applicants
 * averaging 35 years, 37 countries of origin, 26 Member States, five partners.
 * All names are synthetic.
 */
import {
  COUNTRIES_OF_ORIGIN,
  PARTNERS,
  type CaseStatus,
  type Package,
  type ReturnType,
  type Sex,
} from '../../shared/domain.js';
import { PROGRAMME_START, RELEASED_MEMBER_STATES } from '../../subgraphs/coverage/released.js';
import { ELDERLY_MIN_AGE, type VulnerabilityCode } from '../../shared/vulnerability.js';
import { computeEntitlement, PROGRAMME_TARIFFS } from '../../subgraphs/finance/tariffs/rules.js';

export interface DemoPerson {
  name: string;
  dateOfBirth: string;
  sex: Sex;
  relationship?: string;
  vulnerabilities: string[];
  /** The coded list (shared/vulnerability.ts), consistent with age on the departure day. */
  vulnerabilityCodes: VulnerabilityCode[];
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
  /** Null for an ineligible case: closed at insertion, no partner takes it on. */
  partnerId: string | null;
  status: CaseStatus;
  mainApplicant: DemoPerson;
  familyMembers: DemoPerson[];
  familySize: number;
  departureDate: string;
  arrivalDate: string | null;
  /** When the partner reported the arrival (its own step, not a key moment). */
  arrivedAt: Date | null;
  version: number;
  history: DemoHistoryEntry[];
  /** KM1 = accepted by the partner, KM2 = plan approved, KM3 = completion approved. */
  milestones: { km1At: Date | null; km2At: Date | null; km3At: Date | null };
  eligibility: DemoEligibility;
  postArrivalServices: string[];
  reintegrationPlan: DemoPlan | null;
  /** Earlier versions of the plan, oldest first (a rejected plan amended and submitted again). */
  reintegrationPlanVersions: DemoPlan[];
  closingReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** As CaseDoc.eligibility stores it (the filter on eligibility outcomes reads `eligibility.outcome`). */
export interface DemoEligibility {
  outcome: 'ELIGIBLE' | 'ELIGIBILITY_LETTER_ONLY' | 'INELIGIBLE';
  reasons: string[];
  requestDate: string;
  assessedAt: Date;
  requestWindowMonths: number;
}

export interface DemoPlanLine {
  lineId: string;
  package: Package;
  category: string;
  description: string;
  budgetCents: number;
  provider: string | null;
  status: 'PLANNED' | 'DELIVERED' | 'CANCELLED';
  deliveries: Array<{ date: string; provider: string; evidenceReference: string; recordedAt: Date }>;
}

/** The plan in the shape of the shared contract (CaseDoc.reintegrationPlan): itemised lines. */
export interface DemoPlan {
  version: number;
  lines: DemoPlanLine[];
  totalCents: number;
  submittedAt: Date;
  decidedAt: Date | null;
  rejectionReason: string | null;
  /** Legacy view: the POST_RETURN lines. */
  services: Array<{ category: string; description: string; amountCents: number }>;
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
const MEMBER_STATE_WEIGHTS: ReadonlyArray<readonly [string, number]> = RELEASED_MEMBER_STATES.map((m) => [
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

/**
 * Vulnerabilities consistent with age (shared/vulnerability.ts): nobody travelling with a parent
 * or an adult is an unaccompanied minor, nobody under 65 is elderly, only adults are single
 * parents. The draws are those of earlier versions (the same seed makes the same cases); a
 * person of 60-64 drawn elderly has none.
 */
const ADULT_VULNERABILITIES: VulnerabilityCode[] = [
  'MEDICAL_CONDITION',
  'DISABILITY',
  'SINGLE_PARENT',
  'VICTIM_OF_TRAFFICKING',
];
const CHILD_VULNERABILITIES: VulnerabilityCode[] = ['MEDICAL_CONDITION', 'DISABILITY'];
function vulnerabilitiesFor(random: () => number, ageYears: number): VulnerabilityCode[] {
  if (random() >= 0.08) return [];
  if (ageYears >= 60 && random() < 0.5) return ageYears >= ELDERLY_MIN_AGE ? ['ELDERLY'] : [];
  const list = ageYears < 18 ? CHILD_VULNERABILITIES : ADULT_VULNERABILITIES;
  return [list[Math.floor(random() * list.length)]!];
}
/** The free text beside a code (personal detail, `Person.vulnerabilities`). */
const VULNERABILITY_NOTES: Readonly<Record<VulnerabilityCode, string>> = {
  UNACCOMPANIED_MINOR: 'Travels alone, guardian appointed',
  MEDICAL_CONDITION: 'Chronic condition, needs medication',
  MENTAL_HEALTH_NEED: 'Needs psychosocial support',
  VICTIM_OF_TRAFFICKING: 'Referred by the anti-trafficking unit',
  SINGLE_PARENT: 'Only carer of the children',
  ELDERLY: 'Limited mobility',
  DISABILITY: 'Uses a wheelchair',
  OTHER: 'See the case file',
};

/** Post-return services (ReintegrationService) with what a plan line says about them. */
const REINTEGRATION_LINES: ReadonlyArray<readonly [string, string]> = [
  ['BUSINESS_START_UP', 'Small business equipment and stock'],
  ['LONG_TERM_HOUSING', 'Rent for the first months'],
  ['SOCIAL_LEGAL_MEDICAL_SUPPORT', 'Psychosocial counselling'],
  ['JOB_PLACEMENT', 'Job placement with a local employer'],
  ['SCHOOLING_AND_LANGUAGE', 'School fees and language course'],
  ['VOCATIONAL_TRAINING', 'Vocational training course'],
  ['CASH', 'Cash for immediate needs'],
];
/** Post-arrival services (PostArrivalService) recorded when the arrival is reported. */
const POST_ARRIVAL_SERVICES = ['AIRPORT_RECEPTION', 'TEMPORARY_ACCOMMODATION', 'IN_COUNTRY_TRAVEL', 'CASH'];
const COUNTRY_NAME = new Map(COUNTRIES_OF_ORIGIN.map((c) => [c.code, c.name]));

/** The post-return entitlement of a case (the ceiling of its plan), in cents. */
export function postReturnEntitlementCents(c: { returnType: ReturnType; familySize: number; departureDate: string }) {
  return computeEntitlement(
    { packages: ['POST_RETURN'], returnType: c.returnType, familySize: c.familySize, referenceDate: c.departureDate },
    PROGRAMME_TARIFFS,
  ).totalCents;
}

/**
 * Itemised POST_RETURN lines within the package's entitlement: one to three services, whole
 * euros, summing to 80-100 % of the entitlement.
 */
function planLines(
  random: () => number,
  ceilingCents: number,
  providers: readonly string[],
  describe: (description: string) => string,
): DemoPlanLine[] {
  const count = 1 + Math.floor(random() * 3);
  const offset = Math.floor(random() * REINTEGRATION_LINES.length);
  const chosen = Array.from(
    { length: count },
    (_, i) => REINTEGRATION_LINES[(offset + i * 2) % REINTEGRATION_LINES.length]!,
  );
  const totalEuros = Math.floor((ceilingCents / 100) * (0.8 + random() * 0.2));
  const weights = chosen.map(() => 1 + random() * 3);
  const sum = weights.reduce((a, b) => a + b, 0);
  let left = totalEuros;
  return chosen.map(([category, description], i) => {
    const euros = i === chosen.length - 1 ? left : Math.max(1, Math.floor((totalEuros * weights[i]!) / sum));
    left -= euros;
    return {
      lineId: `L${i + 1}`,
      package: 'POST_RETURN' as const,
      category,
      description: describe(description),
      budgetCents: euros * 100,
      provider: providers[Math.floor(random() * providers.length)]!,
      status: 'PLANNED' as const,
      deliveries: [],
    };
  });
}

function planOf(version: number, lines: DemoPlanLine[], submittedAt: Date): DemoPlan {
  return {
    version,
    lines,
    totalCents: lines.reduce((sum, line) => sum + line.budgetCents, 0),
    submittedAt,
    decidedAt: null,
    rejectionReason: null,
    services: lines
      .filter((line) => line.package === 'POST_RETURN')
      .map((line) => ({ category: line.category, description: line.description, amountCents: line.budgetCents })),
  };
}

interface Timeline {
  status: CaseStatus;
  history: DemoHistoryEntry[];
  milestones: DemoCase['milestones'];
  arrival: { date: string; reportedAt: Date } | null;
  postArrivalServices: string[];
  plan: DemoPlan | null;
  planVersions: DemoPlan[];
  closingReason: string | null;
  updatedAt: Date;
}

interface TimelineCase {
  memberState: string;
  caseReference: string;
  partnerId: string;
  countryOfOrigin: string;
  returnType: ReturnType;
  familySize: number;
  charterFlight: boolean;
  packages: Package[];
  departure: number;
  created: number;
}

/**
 * A lifecycle consistent with the packages (no plan without the post-return package),
 * each step after the previous one and none after `asOf`; older returns got further. KM1 is
 * the partner's acceptance; arrival is reported on or after the arrival day, which is on or
 * after departure; completion is reported within 12 months of departure.
 */
function timelineFor(random: () => number, c: TimelineCase, asOf: number): Timeline {
  const ms = {
    role: 'MEMBER_STATE',
    subject: `${c.memberState.toLowerCase()}-case-officer`,
    memberState: c.memberState,
  };
  const partner = { role: 'PARTNER', subject: `${c.partnerId}-case-worker`, partnerId: c.partnerId };
  const history: DemoHistoryEntry[] = [];
  const milestones: DemoCase['milestones'] = { km1At: null, km2At: null, km3At: null };
  let plan: DemoPlan | null = null;
  const planVersions: DemoPlan[] = [];
  let arrival: Timeline['arrival'] = null;
  let postArrivalServices: string[] = [];
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
  const providers = [
    PARTNER_NAME.get(c.partnerId) ?? c.partnerId,
    `${COUNTRY_NAME.get(c.countryOfOrigin) ?? c.countryOfOrigin} Reintegration Network`,
  ];
  const describe = (text: string) => text;
  // Some cases stop early for good: withdrawn or closed at a random point.
  const stopsAt = random() < 0.05 ? Math.floor(random() * 5) : Infinity;
  const result = (closingReason: string | null): Timeline => ({
    status,
    history,
    milestones,
    arrival,
    postArrivalServices,
    plan,
    planVersions,
    closingReason,
    updatedAt: new Date(at),
  });
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
    return result(status === 'WITHDRAWN' || status === 'CLOSED' ? history.at(-1)!.reason! : null);
  };
  const done = () => result(null);
  if (stopsAt === 0) return stop();
  if (!step('acceptCase', 'ACCEPTED', at + days(1, 7), partner)) return done();
  milestones.km1At = new Date(at);
  if (stopsAt === 1) return stop();
  const arrivalDay = c.departure + (c.charterFlight ? 0 : Math.floor(random() * 2) * DAY);
  if (!step('reportArrival', 'ARRIVED', Math.max(arrivalDay + 12 * 3_600_000, at) + days(0, 2), partner)) return done();
  arrival = { date: isoDate(arrivalDay), reportedAt: new Date(at) };
  if (c.packages.includes('POST_ARRIVAL') || c.packages.includes('CHARTER_ARRIVAL')) {
    const offset = Math.floor(random() * POST_ARRIVAL_SERVICES.length);
    const count = 2 + Math.floor(random() * 2);
    postArrivalServices = Array.from(
      { length: count },
      (_, i) => POST_ARRIVAL_SERVICES[(offset + i) % POST_ARRIVAL_SERVICES.length]!,
    );
  }
  if (stopsAt === 2) return stop();
  if (withPlan) {
    const ceiling = postReturnEntitlementCents({ ...c, departureDate: isoDate(c.departure) });
    if (!step('submitReintegrationPlan', 'PLAN_SUBMITTED', at + days(10, 45), partner)) return done();
    plan = planOf(1, planLines(random, ceiling, providers, describe), new Date(at));
    if (random() < 0.12) {
      if (!step('rejectReintegrationPlan', 'PLAN_REJECTED', at + days(5, 15), ms, 'Costs not itemised')) return done();
      plan = { ...plan, decidedAt: new Date(at), rejectionReason: 'Costs not itemised' };
      if (random() < 0.15) return done();
      const rejected: DemoPlan = plan;
      const amended = planLines(random, ceiling, providers, (text) => `${text}, itemised with quotes`);
      if (!step('submitReintegrationPlan', 'PLAN_SUBMITTED', at + days(5, 20), partner)) return done();
      planVersions.push(rejected);
      plan = planOf(rejected.version + 1, amended, new Date(at));
    }
    if (!step('approveReintegrationPlan', 'PLAN_APPROVED', at + days(3, 20), ms)) return done();
    milestones.km2At = new Date(at);
    plan = { ...plan, decidedAt: new Date(at) };
    if (stopsAt === 3) return stop();
    // Delivered and reported within the post-return window (12 months after departure).
    const latest = c.departure + 360 * DAY;
    const reported = Math.max(at + DAY, Math.min(at + days(60, 330), latest));
    const approvedAt = at;
    if (!step('reportCompletion', 'COMPLETION_REPORTED', reported, partner)) return done();
    plan = {
      ...plan,
      lines: plan.lines.map((line) => {
        const delivered = approvedAt + random() * (reported - approvedAt);
        return {
          ...line,
          status: 'DELIVERED' as const,
          deliveries: [
            {
              date: isoDate(delivered),
              provider: line.provider ?? providers[0]!,
              evidenceReference: `${c.caseReference}/${line.lineId}/invoice`,
              recordedAt: new Date(delivered),
            },
          ],
        };
      }),
    };
  } else if (!step('reportCompletion', 'COMPLETION_REPORTED', at + days(1, 5), partner)) return done();
  if (stopsAt === 4) return stop();
  if (!step('approveCompletion', 'COMPLETED', at + days(3, 20), ms)) return done();
  milestones.km3At = new Date(at);
  return done();
}

export interface GenerateOptions {
  count: number;
  seed: number;
  /** The "now" of the data set: departures fall between the programme's start (April 2022) and it. */
  asOf?: string;
}

/** Share of cases found ineligible at insertion (closed, no partner, nothing to pay). */
const INELIGIBLE_SHARE = 0.02;
const REQUEST_WINDOW_MONTHS = 6;
const PARTNER_NAME = new Map(PARTNERS.map((p) => [p.id, p.name]));

const withNotes = (codes: VulnerabilityCode[]) => ({
  vulnerabilities: codes.map((code) => VULNERABILITY_NOTES[code]),
  vulnerabilityCodes: codes,
});

export function* generateCases(options: GenerateOptions): Generator<DemoCase> {
  const random = createRandom(options.seed);
  const asOf = Date.parse(`${options.asOf ?? '2024-04-30'}T00:00:00Z`);
  const start = Date.parse(`${PROGRAMME_START}T00:00:00Z`);
  const span = Math.max(1, Math.round((asOf - start) / DAY));
  const joined = new Map(RELEASED_MEMBER_STATES.map((m) => [m.code, Date.parse(`${m.joinedOn}T00:00:00Z`)]));
  const sequence = new Map<string, number>();
  const person = (sex: Sex, ageYears: number, departure: number, relationship?: string): DemoPerson => {
    const given = sex === 'FEMALE' ? GIVEN.FEMALE : GIVEN.MALE;
    const born = departure - Math.floor(ageYears * 365.25 * DAY) - Math.floor(random() * 365) * DAY;
    return {
      name: `${given[Math.floor(random() * given.length)]} ${FAMILY[Math.floor(random() * FAMILY.length)]}`,
      dateOfBirth: isoDate(born),
      sex,
      ...(relationship ? { relationship } : {}),
      ...withNotes(vulnerabilitiesFor(random, ageYears)),
    };
  };
  for (let i = 0; i < options.count; i++) {
    // The programme grew over time: later months carry more departures (sqrt skew).
    const departure = start + Math.floor(Math.sqrt(random()) * span) * DAY;
    // Only Member States that had joined by the departure send the case.
    const memberState = weighted(
      random,
      MEMBER_STATE_WEIGHTS.filter(([code]) => joined.get(code)! <= departure),
    );
    const countryOfOrigin = weighted(random, COUNTRY_WEIGHTS);
    const returnType: ReturnType = random() < 0.72 ? 'VOLUNTARY' : 'FORCED';
    const charterFlight = returnType === 'FORCED' && random() < 0.35;
    const familySize = weighted(random, FAMILY_SIZES);
    const mainSex: Sex = random() < 0.78 ? 'MALE' : 'FEMALE';
    const mainAge = Math.max(18, Math.min(75, Math.round(normal(random, 35, 9))));
    const familyMembers: DemoPerson[] = [];
    for (let m = 1; m < familySize; m++) {
      if (m === 1 && random() < SPOUSE_SHARE) {
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
    // Inserted (assistance requested) before departure, never before the Member State joined.
    const created = Math.max(departure - Math.floor(random() * 20) * DAY, joined.get(memberState)!);
    const seq = (sequence.get(memberState) ?? 0) + 1;
    sequence.set(memberState, seq);
    const year = new Date(departure).getUTCFullYear();
    const caseReference = `${memberState}-${year}-${String(seq).padStart(6, '0')}`;
    const draw = random();
    const ineligibleReason =
      draw < INELIGIBLE_SHARE ? (draw < INELIGIBLE_SHARE * 0.6 ? 'TEMPORARY_PROTECTION' : 'LEGAL_STAY') : null;
    const letterOnly = !ineligibleReason && !packages.includes('POST_RETURN') && random() < 0.1;
    const eligibility: DemoEligibility = {
      outcome: ineligibleReason ? 'INELIGIBLE' : letterOnly ? 'ELIGIBILITY_LETTER_ONLY' : 'ELIGIBLE',
      reasons: ineligibleReason ? [ineligibleReason] : [],
      requestDate: isoDate(created),
      assessedAt: new Date(created),
      requestWindowMonths: REQUEST_WINDOW_MONTHS,
    };
    const mainApplicant = person(mainSex, mainAge, departure);
    const common = {
      memberState,
      caseReference,
      returnType,
      charterFlight,
      packages,
      countryOfOrigin,
      mainApplicant,
      familyMembers,
      familySize,
      departureDate: isoDate(departure),
      eligibility,
      createdAt: new Date(created),
    };
    if (ineligibleReason) {
      // As ingestion stores an ineligible case: kept with its reasons, closed, no partner, no steps.
      yield {
        ...common,
        partnerId: null,
        status: 'CLOSED',
        arrivalDate: null,
        arrivedAt: null,
        version: 0,
        history: [],
        milestones: { km1At: null, km2At: null, km3At: null },
        postArrivalServices: [],
        reintegrationPlan: null,
        reintegrationPlanVersions: [],
        closingReason: `Ineligible: ${ineligibleReason}`,
        updatedAt: new Date(created),
      };
      continue;
    }
    const timeline = timelineFor(
      random,
      {
        memberState,
        caseReference,
        partnerId,
        countryOfOrigin,
        returnType,
        familySize,
        charterFlight,
        packages,
        departure,
        created,
      },
      asOf,
    );
    yield {
      ...common,
      partnerId,
      status: timeline.status,
      arrivalDate: timeline.arrival?.date ?? null,
      arrivedAt: timeline.arrival?.reportedAt ?? null,
      version: timeline.history.length,
      history: timeline.history,
      milestones: timeline.milestones,
      postArrivalServices: timeline.postArrivalServices,
      reintegrationPlan: timeline.plan,
      reintegrationPlanVersions: timeline.planVersions,
      closingReason: timeline.closingReason,
      updatedAt: timeline.updatedAt,
    };
  }
}

/** Family sizes (main applicant included), tuned to the published 1.25 people per case. */
const FAMILY_SIZES: ReadonlyArray<readonly [number, number]> = [
  [1, 87.3],
  [2, 6],
  [3, 3],
  [4, 2.4],
  [5, 0.9],
  [6, 0.4],
];
/** Share of two-person-or-larger families whose first member is a spouse (the rest are children). */
const SPOUSE_SHARE = 0.55;
