import { createHmac } from 'node:crypto';
import { Schema, Types, type Connection, type Model } from 'mongoose';
import {
  CASE_STATUSES,
  PACKAGES,
  RETURN_TYPES,
  SEXES,
  type CaseStatus,
  type Package,
  type ReturnType,
  type Sex,
} from '../../../shared/domain.js';
import { modelOn } from '../../../shared/mongo.js';
import { VULNERABILITY_CODES, type VulnerabilityCode } from '../../../shared/vulnerability.js';
import { qualityModels, type QualityModels } from '../quality/model.js';
import type { PlanLineDoc } from './plan.js';

export interface PersonDoc {
  name: string;
  dateOfBirth: string;
  sex: Sex;
  relationship?: string;
  /** Free text about the person's vulnerabilities (personal detail). */
  vulnerabilities: string[];
  /** The coded list (shared/vulnerability.ts); missing on persons stored before the codes existed. */
  vulnerabilityCodes?: VulnerabilityCode[];
}

/** Who did something: the principal, as recorded in the history and events. */
export interface ActorRecord {
  role: string;
  subject: string;
  memberState?: string;
  partnerId?: string;
}

/** One timestamped, attributed step of a case's life. */
export interface HistoryEntry {
  version: number;
  transition: string;
  from: CaseStatus | null;
  to: CaseStatus;
  at: Date;
  actor: ActorRecord;
  reason?: string;
}

export interface PlannedService {
  category: string;
  description: string;
  amountCents: number;
}

export interface ReintegrationPlanDoc {
  /** 1 on first submission, +1 per resubmission or amendment (plan.ts). */
  version: number;
  /** The itemised lines (plan.ts); plans stored before lines existed have none. */
  lines?: PlanLineDoc[];
  /** Legacy view: the POST_RETURN lines as planned services. */
  services: PlannedService[];
  totalCents: number;
  submittedAt: Date;
  decidedAt: Date | null;
  rejectionReason: string | null;
}

export interface MilestonesDoc {
  /** KM1: the application (inserted, eligibility established, accepted by the partner): set at acceptance. */
  km1At: Date | null;
  /** Arrival and post-arrival assistance reported: its own step, not a key moment. Missing before upgradeKeyMoments. */
  arrivedAt?: Date | null;
  /** KM2: reintegration plan approved. */
  km2At: Date | null;
  /** KM3: completion approved. */
  km3At: Date | null;
}

export interface EligibilityDoc {
  outcome: 'ELIGIBLE' | 'ELIGIBILITY_LETTER_ONLY' | 'INELIGIBLE';
  reasons: string[];
  /** As the feed gave it: null when the record had none (never defaulted). */
  requestDate: string | null;
  assessedAt: Date | null;
  requestWindowMonths: number | null;
  /** The day the request window was checked against: the request date, else the insertion day. */
  requestCheckedOn?: string | null;
  /** Eligibility facts the record did not give (`requestDate`, `applicationSigned`); absent on older cases. */
  missingFacts?: string[];
  /** The signature as the record gave it: null when it did not say. */
  applicationSigned?: boolean | null;
}

/** A date reported outside its window: flagged on the case, not lost (windows.ts). */
export interface WindowFlagDoc {
  /** The WindowCode (windows.ts). */
  code: string;
  /** The window's last day. */
  boundary: string;
  /** The day reported. */
  date: string;
  /** When the flag was recorded. */
  at: Date;
}

/** Per-Member-State configuration of the rules docs/domain.md marks configurable. */
export interface MemberStateRulesDoc {
  _id: string;
  requestWindowMonths: number;
  updatedAt?: Date;
  updatedBy?: string;
}

/**
 * A case's packages as one value, the same whatever their order ("POST_ARRIVAL+POST_RETURN").
 * A filter on packages becomes an equality on this value (packageSetsWithAny), which every
 * store answers from an index; an array field cannot be indexed that way on the local store.
 */
export function packageSetOf(packages: readonly Package[]): string {
  return [...new Set(packages)].sort().join('+');
}

/** Every packageSet value that holds at least one of `wanted`. */
export function packageSetsWithAny(wanted: readonly Package[]): string[] {
  const sets: string[] = [];
  const all = [...PACKAGES].sort();
  for (let mask = 1; mask < 1 << all.length; mask++) {
    const set = all.filter((_, i) => mask & (1 << i));
    if (set.some((p) => wanted.includes(p))) sets.push(set.join('+'));
  }
  return sets;
}

/**
 * Brings cases stored by an earlier version up to this one: drops the list indexes this
 * version replaced, and gives every case stored before `packageSet` existed its value, in
 * batches, so a filter on packages finds it (a store written by this version has none to
 * do: one indexed query).
 */
export async function backfillPackageSets(Case: Model<CaseDoc>, batch = 1_000): Promise<number> {
  // The list indexes of earlier versions that this one replaced.
  const obsolete = [
    'countryOfOrigin_id',
    'partnerId_id',
    'status_id',
    'memberState_id',
    'returnType_id',
    'packages_id',
    'packageSet_id',
    'departureDate_id',
    'createdAt_id',
    'eligibilityOutcome_id',
  ];
  const existing = new Set(
    (
      await Case.collection
        .listIndexes()
        .toArray()
        .catch(() => [])
    ).map((i) => String(i.name)),
  );
  for (const name of obsolete) if (existing.has(name)) await Case.collection.dropIndex(name);
  let done = 0;
  for (;;) {
    // `null` matches a missing value too, and is answered from the packageSet index.
    const docs = await Case.find({ packageSet: null }, { packages: 1 })
      .limit(batch)
      .lean<Array<Pick<CaseDoc, '_id' | 'packages'>>>()
      .exec();
    if (docs.length === 0) return done;
    await Case.bulkWrite(
      docs.map((d) => ({
        updateOne: {
          filter: { _id: d._id, packageSet: null },
          update: { $set: { packageSet: packageSetOf(d.packages ?? []) } },
        },
      })),
      { ordered: false },
    );
    done += docs.length;
  }
}

/**
 * The key moments of a case from its history: KM1 at acceptance (the application), the arrival
 * report as its own step, KM2 and KM3 unchanged. Earlier versions set `km1At` at the arrival
 * report; a case without history entries for either step keeps what it has (an old case's
 * `km1At` was its arrival).
 */
export function keyMomentsOf(
  doc: Pick<CaseDoc, 'milestones' | 'history'>,
): Pick<MilestonesDoc, 'km1At'> & { arrivedAt: Date | null } {
  const history = (doc.history ?? []).filter((h): h is HistoryEntry => h != null);
  const at = (transition: string) => {
    const entry = history.find((h) => h.transition === transition);
    return entry ? new Date(entry.at) : null;
  };
  const accepted = at('acceptCase');
  const arrived = at('reportArrival');
  const old = doc.milestones ?? { km1At: null, km2At: null, km3At: null };
  const hasArrivedKey = Object.hasOwn(old, 'arrivedAt');
  return {
    km1At: accepted ?? (hasArrivedKey ? old.km1At : null),
    arrivedAt: arrived ?? (hasArrivedKey ? (old.arrivedAt ?? null) : (old.km1At ?? null)),
  };
}

const sameInstant = (a: Date | null | undefined, b: Date | null | undefined) =>
  (a ? new Date(a).getTime() : null) === (b ? new Date(b).getTime() : null);

/**
 * Brings cases stored by a version where KM1 meant the arrival report up to the key moments as
 * the programme names them (keyMomentsOf), in batches. Only cases without `milestones.arrivedAt`
 * are read; returns how many changed (the statistics spans built on them must then be rebuilt).
 */
export async function upgradeKeyMoments(Case: Model<CaseDoc>, batch = 500): Promise<number> {
  let changed = 0;
  // One pass in _id order (an _id range is an index read on every store): a filter on the missing
  // field would read the whole collection again for every batch.
  let after: Types.ObjectId | null = null;
  for (;;) {
    const docs: Array<Pick<CaseDoc, '_id' | 'milestones' | 'history'>> = await Case.find(
      after ? { _id: { $gt: after } } : {},
      { milestones: 1, history: 1 },
    )
      .sort({ _id: 1 })
      .limit(batch)
      .maxTimeMS(30_000)
      .lean<Array<Pick<CaseDoc, '_id' | 'milestones' | 'history'>>>()
      .exec();
    if (docs.length === 0) return changed;
    after = docs.at(-1)!._id;
    const toUpgrade = docs.filter((d) => d.milestones?.arrivedAt === undefined);
    if (toUpgrade.length === 0) continue;
    await Case.collection.bulkWrite(
      toUpgrade.map((d) => {
        const moments = keyMomentsOf(d);
        if (!sameInstant(moments.km1At, d.milestones?.km1At) || moments.arrivedAt) changed++;
        return {
          updateOne: {
            filter: { _id: d._id, 'milestones.arrivedAt': { $exists: false } },
            update: { $set: { 'milestones.km1At': moments.km1At, 'milestones.arrivedAt': moments.arrivedAt } },
          },
        };
      }),
      { ordered: false },
    );
  }
}

export interface CaseDoc {
  _id: Types.ObjectId;
  memberState: string;
  caseReference: string;
  returnType: ReturnType;
  charterFlight: boolean;
  packages: Package[];
  /** `packages` as one value (packageSetOf), kept with it: what filters and indexes use. */
  packageSet: string;
  countryOfOrigin: string;
  partnerId: string | null;
  status: CaseStatus;
  mainApplicant: PersonDoc;
  familyMembers: PersonDoc[];
  familySize: number;
  departureDate: string | null;
  arrivalDate: string | null;
  recordVersion: number;
  /** sha256 of the canonical record, to tell an identical re-push from a change. */
  contentHash: string | null;
  version: number;
  history: HistoryEntry[];
  eligibility?: EligibilityDoc;
  /** Late reports (windows.ts): arrival services or completion reported after their window closed. */
  windowFlags?: WindowFlagDoc[];
  milestones: MilestonesDoc;
  postArrivalServices: string[];
  reintegrationPlan: ReintegrationPlanDoc | null;
  /** Earlier plan versions (rejected, or approved then amended), oldest first. */
  reintegrationPlanVersions?: ReintegrationPlanDoc[];
  completionSummary: string | null;
  closingReason: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** The feed record that last created or changed the case, so a retried chunk reports it exactly once. */
  lastIngest?: IngestMark;
  /** Set once the case's personal data is erased (on request or by retention); never unset. */
  erasure?: ErasureMark;
}

// The erasure mark is part of the case document, so it lives with it: data-protection/erasure.ts writes it,
// and the case model (which erasure.ts itself imports) must not import erasure.ts back.
/**
 * What an erasure keeps so the programme statistics do not move: counts and the main
 * applicant's age in whole years, nothing that names or dates a person.
 */
export interface RetainedFacts {
  adults: number;
  minors: number;
  mainApplicantAge: number | null;
}

/** Left on an erased case (and in the erasure record): when, by whom, why. */
export interface ErasureMark {
  at: Date;
  actor: ActorRecord;
  /** `REQUEST` (the data subject asked, through the owning Member State) or `RETENTION`. */
  kind: 'REQUEST' | 'RETENTION';
  retained: RetainedFacts;
  /** Set once every copy is scrubbed and the erasure recorded; until then a retry finishes it. */
  complete?: boolean;
}

/**
 * Left on a case by the ingestion write that created or updated it. A chunk retried after a
 * crash finds its own mark and reports (and, if need be, publishes) what that write did,
 * instead of counting the record a second time as `unchanged`. Carries no personal data.
 */
export interface IngestMark {
  feedId: string;
  position: number;
  outcome: 'created' | 'updated';
  /** For an update: the statistics facts before it, so its event can be published again. */
  before?: unknown;
}

/**
 * A case's id follows from its key (Member State, national case reference): the first 12
 * bytes of an HMAC-SHA-256 of the key with CASE_ID_KEY. Ingestion then finds or creates a
 * case by `_id` alone, which every MongoDB-compatible server answers from its primary
 * index, and two writers creating the same case collide on `_id`. Keyed, so that nobody
 * who sees ids (EU analysts get pseudonymised references) can test guesses of references.
 */
export function caseIdOf(memberState: string, caseReference: string, key: string): Types.ObjectId {
  return new Types.ObjectId(
    createHmac('sha256', key).update(`avrr-case\u0000${memberState}\u0000${caseReference}`).digest().subarray(0, 12),
  );
}

/**
 * The append-only log of transitions. `_id` is `<caseId>:<version>`, so two transitions
 * that start from the same version cannot both be written: the second insert fails on the
 * unique `_id` (optimistic concurrency that works on FerretDB and MongoDB alike).
 */
export interface CaseEventDoc extends HistoryEntry {
  _id: string;
  caseId: string;
  /** The fields the transition sets on the case (path, value), to roll a half-applied transition forward. */
  changes: Array<{ path: string; value: unknown }>;
}

const personSchema = new Schema<PersonDoc>(
  {
    name: { type: String, required: true },
    dateOfBirth: { type: String, required: true },
    sex: { type: String, enum: SEXES, required: true },
    relationship: { type: String },
    vulnerabilities: { type: [String], default: [] },
    // No implicit empty array: persons without codes stay as written (and as stored before the codes).
    vulnerabilityCodes: { type: [String], enum: VULNERABILITY_CODES, default: undefined },
  },
  { _id: false },
);

const caseSchema = new Schema<CaseDoc>(
  {
    memberState: { type: String, required: true },
    caseReference: { type: String, required: true },
    returnType: { type: String, enum: RETURN_TYPES, required: true },
    charterFlight: { type: Boolean, default: false },
    packages: { type: [String], enum: PACKAGES, default: [] },
    packageSet: { type: String },
    countryOfOrigin: { type: String, required: true },
    partnerId: { type: String, default: null },
    status: { type: String, enum: CASE_STATUSES, required: true },
    mainApplicant: { type: personSchema, required: true },
    erasure: { type: Schema.Types.Mixed },
    familyMembers: { type: [personSchema], default: [] },
    familySize: { type: Number, required: true, min: 1 },
    departureDate: { type: String, default: null },
    arrivalDate: { type: String, default: null },
    recordVersion: { type: Number, default: 1 },
    contentHash: { type: String, default: null },
    version: { type: Number, default: 0 },
    history: { type: Schema.Types.Mixed, default: () => [] },
    eligibility: { type: Schema.Types.Mixed },
    windowFlags: { type: Schema.Types.Mixed },
    milestones: {
      type: Schema.Types.Mixed,
      default: () => ({ km1At: null, arrivedAt: null, km2At: null, km3At: null }),
    },
    postArrivalServices: { type: [String], default: [] },
    reintegrationPlan: { type: Schema.Types.Mixed, default: null },
    reintegrationPlanVersions: { type: Schema.Types.Mixed },
    completionSummary: { type: String, default: null },
    closingReason: { type: String, default: null },
    lastIngest: { type: Schema.Types.Mixed },
  },
  { collection: 'cases', timestamps: true, versionKey: false, strict: 'throw' },
);

const caseEventSchema = new Schema<CaseEventDoc>(
  {
    _id: { type: String, required: true },
    caseId: { type: String, required: true },
    version: { type: Number, required: true },
    transition: { type: String, required: true },
    from: { type: String, default: null },
    to: { type: String, required: true },
    at: { type: Date, required: true },
    actor: { type: Schema.Types.Mixed, required: true },
    reason: { type: String },
    changes: { type: Schema.Types.Mixed, required: true },
  },
  { collection: 'caseEvents', versionKey: false },
);
caseEventSchema.index({ caseId: 1, version: 1 }, { name: 'caseId_version' });

// One case per (Member State, national reference): ingestion upserts on this key.
caseSchema.index({ memberState: 1, caseReference: 1 }, { unique: true, name: 'memberState_caseReference' });
/**
 * The fields a case list filters on (CaseFilter), the two scopes (memberState, partnerId)
 * among them. Each has one index: the field, then _id (the pagination order), then every
 * other filterable field. A list filtered on a field, and read in a scope (a condition on
 * memberState or partnerId like any other), walks one field's entries in _id order and
 * checks the other conditions on the same entries: a page stops once it is full, and a
 * count of any combination reads index entries only, never the documents or another
 * Member State's cases. On MongoDB this is the equality-sort-range order.
 */
export const CASE_FILTER_FIELDS = [
  'memberState',
  'partnerId',
  'countryOfOrigin',
  'status',
  'returnType',
  'packageSet',
  'eligibility.outcome',
  'departureDate',
  'createdAt',
] as const;
for (const field of CASE_FILTER_FIELDS) {
  const keys: Record<string, 1> = { [field]: 1, _id: 1 };
  for (const other of CASE_FILTER_FIELDS) if (other !== field) keys[other] = 1;
  caseSchema.index(keys, { name: `${field.replace('.', '_')}_id_filters` });
}

/** A statistics read-model document: counters for one scope (`all`, `memberState:BE`, ...). */
export interface StatisticsDoc {
  _id: string;
  lastEventId: string;
  updatedAt?: Date;
  [counter: string]: unknown;
}

/** Where a projector has read the case event stream up to. */
export interface ProjectionDoc {
  _id: string;
  lastEventId: string;
  /** When the read model was last rebuilt whole (a cache of it keys on this and lastEventId). */
  rebuiltAt?: Date;
}

const statisticsSchema = new Schema<StatisticsDoc>(
  { _id: { type: String, required: true }, lastEventId: { type: String, required: true } },
  { collection: 'statistics', versionKey: false, strict: false },
);
const memberStateRulesSchema = new Schema<MemberStateRulesDoc>(
  {
    _id: { type: String, required: true },
    requestWindowMonths: { type: Number, required: true, min: 0, max: 60 },
    updatedBy: String,
  },
  { collection: 'memberStateRules', versionKey: false, timestamps: { createdAt: false, updatedAt: true } },
);
const projectionSchema = new Schema<ProjectionDoc>(
  { _id: { type: String, required: true }, lastEventId: { type: String, required: true }, rebuiltAt: Date },
  { collection: 'projections', versionKey: false },
);

export interface CasesModels extends QualityModels {
  Case: Model<CaseDoc>;
  CaseEvent: Model<CaseEventDoc>;
  Statistics: Model<StatisticsDoc>;
  Projection: Model<ProjectionDoc>;
  MemberStateRules: Model<MemberStateRulesDoc>;
}

export function casesModels(connection: Connection): CasesModels {
  return {
    Case: modelOn<CaseDoc>(connection, 'Case', caseSchema),
    CaseEvent: modelOn<CaseEventDoc>(connection, 'CaseEvent', caseEventSchema),
    Statistics: modelOn<StatisticsDoc>(connection, 'Statistics', statisticsSchema),
    Projection: modelOn<ProjectionDoc>(connection, 'Projection', projectionSchema),
    MemberStateRules: modelOn<MemberStateRulesDoc>(connection, 'MemberStateRules', memberStateRulesSchema),
    ...qualityModels(connection),
  };
}
