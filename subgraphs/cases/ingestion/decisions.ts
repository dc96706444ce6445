import { createHash } from 'node:crypto';
import type { CaseEvent } from '../../../shared/case-events/index.js';
import { assessRecordEligibility, insertedLate, type AssessedEligibility } from '../case/eligibility.js';
import {
  caseIdOf,
  packageSetOf,
  type CaseDoc,
  type EligibilityDoc,
  type HistoryEntry,
  type IngestMark,
} from '../case/models.js';
import { factsOf, type StatsFacts } from '../statistics/facts.js';
import { recordGaps, type RecordGaps } from '../quality/rules.js';
import type { AssignmentAnswer } from './assignment.js';
import type { ChunkReport, FeedDuplicates, IngestChunk, RecordOutcome, RejectedRecord } from './contract.js';
import { comparableName, duplicateRejection, duplicatesInChunk, isReplayedWrite } from './duplicates.js';
import { hasDetails, validateRecord, type CanonicalRecord } from './record.js';
import { RELEASED_REFERENCE_LISTS, type ReferenceLists } from '../reference/index.js';
import { caseDayOf, joiningDateBreach } from '../reference/rules.js';

/**
 * Every decision the worker takes about a record, without the store: rejected or accepted,
 * and against the stored case new, updated, unchanged, stale or erased, with the event each
 * write publishes. processor.ts and upsert.ts read and write around these functions.
 */

/** `erased`: the case's personal data was erased; feeds no longer write to it (reported as rejected). */
export type UpsertOutcome = RecordOutcome | 'erased';

/** A valid record with its eligibility assessed under its Member State's rules. */
export type AssessedRecord = CanonicalRecord & {
  assessed?: EligibilityDoc;
  /** Partner assigned by coverage; applied to new cases and to cases no partner accepted yet. */
  partnerId?: string;
  /** Position in the feed, for reports. */
  position?: number;
  /** Inserted (if it creates its case) after the request window closed: a late insertion, for data quality. */
  lateInsertion?: boolean;
};

/** The stored form of an assessment (models.ts EligibilityDoc), with the signature as the record gave it. */
export function eligibilityDocOf(
  assessed: AssessedEligibility,
  applicationSigned: boolean | null,
  now: Date,
): EligibilityDoc {
  return { ...assessed, applicationSigned, assessedAt: now };
}

/** Where a chunk's records come from, for the marks left on the cases they write. */
export interface ChunkSource {
  feedId: string;
  /** CASE_ID_KEY: case ids are keyed hashes of (Member State, reference). */
  caseIdKey: string;
}

/** A rejected record in the chunk's report: one count, one or more entries. */
export interface Rejection {
  entries: RejectedRecord[];
}

/** The case reference a rejection names, from a record that may not be valid. */
export function referenceOf(raw: unknown): string | null {
  if (raw && typeof raw === 'object' && typeof (raw as { caseReference?: unknown }).caseReference === 'string') {
    return (raw as { caseReference: string }).caseReference.slice(0, 64);
  }
  return null;
}

/** What the assessment of a chunk needs besides its records. */
export interface AssessmentContext {
  /** The Member State's request window (README, eligibility rules). */
  requestWindowMonths: number;
  now: Date;
  problemsPerRecord: number;
  /** The reference lists in force (the cases subgraph's stored copy); the released lists when absent. */
  reference?: ReferenceLists;
}

/**
 * A record of a Member State dated before the Member State joined the programme is refused
 * (reference data, subgraphs/cases/reference/rules.ts).
 */
export function joiningRejection(
  record: CanonicalRecord,
  position: number,
  reference: Pick<ReferenceLists, 'memberStateJoinedOn'>,
  today: string,
): RejectedRecord | null {
  const breach = joiningDateBreach(reference.memberStateJoinedOn, record.memberState, caseDayOf(record, today));
  return breach ? { position, caseReference: record.caseReference, path: 'departureDate', message: breach } : null;
}

/**
 * Decides which of a chunk's records are refused before any store work, in feed order:
 * a second record of a case, an invalid record, another Member State's record, a record
 * asking for support after return without a signed application. The rest are assessed.
 */
export function assessChunk(
  job: Pick<IngestChunk, 'memberState' | 'firstPosition' | 'records' | 'lines' | 'duplicates'>,
  context: AssessmentContext,
): { accepted: AssessedRecord[]; rejections: Rejection[]; gaps: RecordGaps[] } {
  const today = context.now.toISOString().slice(0, 10);
  // The gaps of every valid record of this Member State (data quality), accepted or refused by a rule.
  const gaps: RecordGaps[] = [];
  const duplicates: FeedDuplicates = job.duplicates ?? duplicatesInChunk(job.records, job.firstPosition, job.lines);
  const accepted: AssessedRecord[] = [];
  const rejections: Rejection[] = [];
  const reject = (...entries: RejectedRecord[]) => void rejections.push({ entries });
  job.records.forEach((raw, i) => {
    const position = job.firstPosition + i;
    // A feed carries one record per case: a second one is refused, never silently merged.
    const earlier = duplicates[position];
    if (earlier) return reject(duplicateRejection(position, referenceOf(raw), earlier));
    const reference = context.reference ?? RELEASED_REFERENCE_LISTS;
    const result = validateRecord(raw, context.problemsPerRecord, reference);
    if (!result.ok)
      return reject(...result.problems.map((problem) => ({ position, caseReference: referenceOf(raw), ...problem })));
    const record = result.record;
    if (record.memberState !== job.memberState) {
      return reject({
        position,
        caseReference: record.caseReference,
        path: 'memberState',
        message:
          `belongs to ${record.memberState}; ` +
          `this feed was pushed by ${job.memberState}, which may only send its own cases`,
      });
    }
    const notYetJoined = joiningRejection(record, position, reference, today);
    if (notYetJoined) return reject(notYetJoined);
    gaps.push(recordGaps(raw));
    // Without a request date, the insertion day (today) is checked against the window; the stored date stays null.
    const assessed = assessRecordEligibility(
      record.eligibility,
      record.departureDate,
      today,
      context.requestWindowMonths,
    );
    if (assessed.outcome === 'ELIGIBILITY_LETTER_ONLY' && record.packages.includes('POST_RETURN')) {
      // A missing signature is refused like a refused one, naming the field the record lacks: the
      // post-return package is never granted on an unknown fact, and what was asked for is not changed.
      const unknown = record.eligibility.applicationSigned === null;
      return reject({
        position,
        caseReference: record.caseReference,
        path: unknown ? 'eligibility.applicationSigned' : 'packages',
        message: unknown
          ? 'missing: the record does not say whether the application was signed, and POST_RETURN needs a signed ' +
            'application (without one the returnee gets an eligibility letter: support after arrival only); ' +
            'send eligibility.applicationSigned'
          : 'without a signed application the returnee gets an eligibility letter: support after arrival only; ' +
            'remove POST_RETURN or send eligibility.applicationSigned: true',
      });
    }
    const eligibility = eligibilityDocOf(assessed, record.eligibility.applicationSigned, context.now);
    const lateInsertion = insertedLate(record.departureDate, today, context.requestWindowMonths);
    accepted.push({ ...record, assessed: eligibility, position, lateInsertion });
  });
  return { accepted, rejections, gaps };
}

/** The records a partner will serve: coverage is asked about these only (not the ineligible). */
export const servedRecords = (records: readonly AssessedRecord[]) =>
  records.filter((r) => r.assessed?.outcome !== 'INELIGIBLE');

/**
 * Applies coverage's answers (one per served record, in order): a partner is set on the
 * record, or the record is refused naming why no partner covers it.
 */
export function applyAssignments(
  accepted: readonly AssessedRecord[],
  served: readonly AssessedRecord[],
  answers: readonly AssignmentAnswer[],
): { stored: AssessedRecord[]; rejections: Rejection[] } {
  const unassignable = new Set<AssessedRecord>();
  const rejections: Rejection[] = [];
  served.forEach((record, i) => {
    const answer = answers[i]!;
    if ('partnerId' in answer) {
      record.partnerId = answer.partnerId;
      return;
    }
    const entry = {
      position: record.position!,
      caseReference: record.caseReference,
      path: 'countryOfOrigin',
      message: answer.error,
    };
    rejections.push({ entries: [entry] });
    unassignable.add(record);
  });
  return { stored: accepted.filter((r) => !unassignable.has(r)), rejections };
}

/**
 * Stable hash of a record's content: keys sorted, so field order in the feed does not matter,
 * and names compared after NFC, so the same name sent composed or decomposed is unchanged.
 */
export function contentHash(record: CanonicalRecord): string {
  const canonical = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return value.map((v) => canonical(v));
    if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      // No vulnerability codes hashes as records did before the codes existed (#16): a resent record stays unchanged.
      const keys = Object.keys(value)
        .filter((k) => !(k === 'vulnerabilityCodes' && Array.isArray(record[k]) && record[k].length === 0))
        .sort();
      return Object.fromEntries(keys.map((k) => [k, canonical(record[k], k)]));
    }
    return key === 'name' && typeof value === 'string' ? comparableName(value) : value;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(record)))
    .digest('hex');
}

/**
 * What to do with an incoming record given what is stored, by record version:
 * newer → update; same content → unchanged; older, or same version with other content → stale.
 */
export function decideOutcome(
  stored: Pick<CaseDoc, 'recordVersion' | 'contentHash'> | null,
  incoming: { recordVersion: number; hash: string },
): RecordOutcome {
  if (!stored) return 'created';
  if (stored.contentHash === incoming.hash) return 'unchanged';
  return incoming.recordVersion > stored.recordVersion ? 'updated' : 'stale';
}

/** A record ready to be written: the new case it would create, and the fields a feed owns. */
export interface PlannedRecord {
  record: AssessedRecord;
  hash: string;
  /** Only these are written to existing cases: never status, history or milestones. */
  fields: Partial<CaseDoc>;
  partnerId: string | undefined;
  position: number;
  /** The case as created from this record, marked with the write that created it. */
  created: CaseDoc;
  /** The event its creation publishes. */
  event: CaseEvent;
}

/** Plans one record's write; `index` is its place in the chunk when it carries no position. */
export function planRecord(record: AssessedRecord, index: number, source: ChunkSource, now: Date): PlannedRecord {
  const { assessed, partnerId, position, lateInsertion: _late, ...canonical } = record;
  const hash = contentHash(canonical);
  const eligibility: EligibilityDoc =
    assessed ??
    eligibilityDocOf(
      assessRecordEligibility(record.eligibility, record.departureDate, now.toISOString().slice(0, 10), null),
      record.eligibility.applicationSigned,
      now,
    );
  const fields = {
    returnType: record.returnType,
    charterFlight: record.charterFlight,
    packages: record.packages,
    packageSet: packageSetOf(record.packages),
    countryOfOrigin: record.countryOfOrigin,
    mainApplicant: record.mainApplicant,
    // Members the national system only counts are not stored as persons; they count in familySize.
    familyMembers: record.familyMembers.filter(hasDetails),
    familySize: 1 + record.familyMembers.length,
    departureDate: record.departureDate,
    arrivalDate: record.arrivalDate,
    recordVersion: record.recordVersion,
    contentHash: hash,
    eligibility,
    updatedAt: now,
  };
  // An ineligible case is kept, with its reasons, but closed: no partner takes it on.
  const ineligible = eligibility.outcome === 'INELIGIBLE';
  const _id = caseIdOf(record.memberState, record.caseReference, source.caseIdKey);
  const created = {
    _id,
    memberState: record.memberState,
    caseReference: record.caseReference,
    status: ineligible ? 'CLOSED' : 'SUBMITTED',
    closingReason: ineligible ? `Ineligible: ${eligibility.reasons.join(', ')}` : null,
    partnerId: partnerId ?? null,
    version: 0,
    history: [],
    milestones: { km1At: null, arrivedAt: null, km2At: null, km3At: null },
    postArrivalServices: [],
    reintegrationPlan: null,
    completionSummary: null,
    createdAt: now,
    ...fields,
  } as unknown as CaseDoc;
  const at = now.toISOString();
  const event: CaseEvent = {
    type: 'case.created',
    caseId: _id.toHexString(),
    version: 0,
    at,
    before: null,
    after: factsOf(created),
  };
  const place = position ?? index;
  created.lastIngest = { feedId: source.feedId, position: place, outcome: 'created' };
  return { record, hash, fields, partnerId, position: place, created, event };
}

/** A conditional update of one stored case: applied only onto the version read, never onto an erased case. */
export interface CaseUpdate {
  filter: Record<string, unknown>;
  update: { $set: Record<string, unknown>; $inc: { version: 1 } };
}

/** What to do with a planned record against the case stored under its id. */
export type StoredDecision =
  /** This very record was written by an earlier attempt of its chunk: that outcome, that event again. */
  | { outcome: 'created' | 'updated'; replayed: true; event: CaseEvent }
  | { outcome: 'erased' | 'unchanged' | 'stale'; replayed?: undefined }
  | { outcome: 'updated'; replayed?: undefined; event: CaseEvent; write: CaseUpdate };

/** Decides a planned record against the stored case; `now` dates the write and its event. */
export function decideAgainstStored(
  planned: PlannedRecord,
  current: CaseDoc,
  source: ChunkSource,
  now: Date,
): StoredDecision {
  const mark = current.lastIngest;
  if (isReplayedWrite(mark, source.feedId, planned.position)) {
    // Published again only if that attempt did not get to it (the publisher is idempotent per chunk).
    const event: CaseEvent = {
      type: mark.outcome === 'created' ? 'case.created' : 'case.updated',
      caseId: current._id.toHexString(),
      version: current.version,
      at: new Date(current.updatedAt ?? now).toISOString(),
      before: mark.outcome === 'created' ? null : ((mark.before ?? null) as StatsFacts | null),
      after: factsOf(current),
    };
    return { outcome: mark.outcome, replayed: true, event };
  }
  // Erased on request or by retention: a feed (or a replay of an old one) must not bring the data back.
  if (current.erasure) return { outcome: 'erased' };
  // Against a stored case the outcome is never `created`: unchanged, stale, or an update.
  const outcome = decideOutcome(current, { recordVersion: planned.record.recordVersion, hash: planned.hash });
  if (outcome === 'unchanged' || outcome === 'stale') return { outcome };
  // Reassigned only while no partner has accepted the case.
  const reassigned = planned.partnerId && current.status === 'SUBMITTED' ? { partnerId: planned.partnerId } : {};
  const set = { ...planned.fields, ...reassessed(planned, current, now), ...reassigned };
  const event: CaseEvent = {
    type: 'case.updated',
    caseId: current._id.toHexString(),
    version: current.version + 1,
    at: now.toISOString(),
    before: factsOf(current),
    after: factsOf({ ...current, ...set }),
  };
  const lastIngest: IngestMark = {
    feedId: source.feedId,
    position: planned.position,
    outcome: 'updated',
    before: event.before,
  };
  // Every version has its history entry (entry n at index n-1), the feed's changes included.
  const step: HistoryEntry = {
    version: current.version + 1,
    transition: 'ingested',
    from: current.status,
    to: current.status,
    at: now,
    actor: { role: 'MEMBER_STATE', subject: `feed:${source.feedId}`, memberState: current.memberState },
  };
  const write: CaseUpdate = {
    filter: { _id: current._id, version: current.version, erasure: { $exists: false } },
    update: { $set: { ...set, lastIngest, [`history.${current.version}`]: step }, $inc: { version: 1 } },
  };
  return { outcome: 'updated', event, write };
}

/**
 * An update re-assesses the case with the record's facts (a later push may supply a missing
 * signature). A record without a request date is checked against the day its case was
 * inserted, not the day of the update: a case inserted retroactively stays checked against its
 * insertion date.
 */
function reassessed(planned: PlannedRecord, current: CaseDoc, now: Date): { eligibility?: EligibilityDoc } {
  const { record } = planned;
  if (record.eligibility.requestDate !== null || !current.createdAt) return {};
  const insertionDay = new Date(current.createdAt).toISOString().slice(0, 10);
  const months = record.assessed?.requestWindowMonths ?? null;
  const assessed = assessRecordEligibility(record.eligibility, record.departureDate, insertionDay, months);
  return { eligibility: eligibilityDocOf(assessed, record.eligibility.applicationSigned, now) };
}

/** True when a write of this update landed: the stored case carries its mark. */
export function updateLanded(
  stored: Pick<CaseDoc, 'lastIngest'>,
  planned: Pick<PlannedRecord, 'position'>,
  source: ChunkSource,
): boolean {
  const mark = stored.lastIngest;
  return isReplayedWrite(mark, source.feedId, planned.position) && mark.outcome === 'updated';
}

/**
 * The chunk's report from its rejections (in any order) and the outcomes of its stored
 * records: an erased case's record counts as rejected. At most `cap` entries are kept, in
 * feed order, each with its line; `rejectedTotal` counts them all.
 */
export function chunkReport(
  job: Pick<IngestChunk, 'feedId' | 'firstPosition' | 'records' | 'lines'>,
  rejections: readonly Rejection[],
  stored: readonly AssessedRecord[],
  outcomes: readonly UpsertOutcome[],
  cap: number,
): ChunkReport {
  const counts = { created: 0, updated: 0, unchanged: 0, stale: 0, rejected: rejections.length };
  const rejected = rejections.flatMap((r) => r.entries);
  outcomes.forEach((outcome, i) => {
    if (outcome !== 'erased') return void counts[outcome]++;
    const record = stored[i]!;
    const message = 'the personal data of this case was erased; feeds no longer change it';
    rejected.push({ position: record.position!, caseReference: record.caseReference, path: 'caseReference', message });
    counts.rejected++;
  });
  // A report lists its first entries only (a feed of a million bad records must not make a
  // report of millions): the chunk keeps at most that many, and counts the rest.
  const kept = rejected.sort((a, b) => a.position - b.position).slice(0, cap);
  const withLines = kept.map((r) => ({ ...r, line: job.lines?.[r.position - job.firstPosition] ?? null }));
  return {
    feedId: job.feedId,
    received: job.records.length,
    counts,
    rejected: withLines,
    rejectedTotal: rejected.length,
  };
}
