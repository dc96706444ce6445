import { createHash } from 'node:crypto';
import { retryOnContention } from '../../../shared/mongo.js';
import type { AnyBulkWriteOperation } from 'mongoose';
import { caseIdOf, packageSetOf, type CaseDoc, type CasesModels, type EligibilityDoc, type HistoryEntry, type IngestMark } from '../models.js';
import type { CanonicalRecord } from './record.js';
import type { CaseEvent } from '../../../shared/case-events/index.js';
import { factsOf, type StatsFacts } from '../statistics/facts.js';

export type RecordOutcome = 'created' | 'updated' | 'unchanged' | 'stale';
/** `erased`: the case's personal data was erased; feeds no longer write to it (reported as rejected). */
export type UpsertOutcome = RecordOutcome | 'erased';

/** A valid record with its eligibility assessed under its Member State's rules. */
export type AssessedRecord = CanonicalRecord & {
  assessed?: EligibilityDoc;
  /** Partner assigned by coverage; applied to new cases and to cases no partner accepted yet. */
  partnerId?: string;
  /** Position in the feed, for reports. */
  position?: number;
};

/** Stable hash of a record's content: keys sorted, so field order in the feed does not matter. */
export function contentHash(record: CanonicalRecord): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
      );
    }
    return value;
  };
  return createHash('sha256').update(JSON.stringify(canonical(record))).digest('hex');
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

/** Cases changed (a lifecycle step, an erasure) between this chunk's read and its write: the chunk is retried. */
export class CaseChangedError extends Error {
  constructor(readonly count: number) {
    super(`${count} case(s) changed while this chunk was being written; the chunk is retried`);
    this.name = 'CaseChangedError';
  }
}

/** Where a chunk's records come from, for the marks left on the cases they write. */
export interface ChunkSource {
  feedId: string;
  /** CASE_ID_KEY: case ids are keyed hashes of (Member State, reference). */
  caseIdKey: string;
}

/** Indexes of the documents an unordered insertMany refused as duplicates; other errors are rethrown. */
function duplicateIndexes(error: unknown): Set<number> {
  const raw = (error as { writeErrors?: unknown }).writeErrors;
  const writeErrors = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Array<{ index: number; code: number }>;
  if (writeErrors.length === 0 || writeErrors.some((w) => w.code !== 11000)) throw error;
  return new Set(writeErrors.map((w) => w.index));
}

/**
 * Idempotent upsert of one chunk keyed by (Member State, case reference), whose hash is the
 * case's `_id`: one read of the chunk's ids, one unordered insertMany of the new cases, one
 * unordered bulk update of the changed ones (unchanged and stale records are not written). A record this same feed position already wrote
 * (a retry after a crash) reports what that write did, so counts stay exact.
 */
export async function upsertRecords(
  models: CasesModels,
  records: readonly AssessedRecord[],
  source: ChunkSource,
  now = new Date(),
): Promise<{ outcomes: UpsertOutcome[]; events: Array<CaseEvent> }> {
  if (records.length === 0) return { outcomes: [], events: [] };
  const planned = records.map((record, index) => {
    const { assessed, partnerId, position, ...canonical } = record;
    const hash = contentHash(canonical);
    const eligibility: EligibilityDoc = assessed ?? { outcome: 'ELIGIBLE', reasons: [], requestDate: null, assessedAt: now, requestWindowMonths: null };
    // Only the fields a feed owns are written to existing cases: never status, history or milestones.
    const fields = {
      returnType: record.returnType,
      charterFlight: record.charterFlight,
      packages: record.packages,
      packageSet: packageSetOf(record.packages),
      countryOfOrigin: record.countryOfOrigin,
      mainApplicant: record.mainApplicant,
      familyMembers: record.familyMembers,
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
      milestones: { km1At: null, km2At: null, km3At: null },
      postArrivalServices: [],
      reintegrationPlan: null,
      completionSummary: null,
      createdAt: now,
      ...fields,
    } as unknown as CaseDoc;
    const event: CaseEvent = { type: 'case.created', caseId: _id.toHexString(), version: 0, at: now.toISOString(), before: null, after: factsOf(created) };
    created.lastIngest = { feedId: source.feedId, position: position ?? index, outcome: 'created' };
    return { record, hash, fields, partnerId, position: position ?? index, created, event };
  });

  const outcomes: UpsertOutcome[] = new Array<UpsertOutcome>(records.length);
  const events: Array<CaseEvent> = [];
  // One read for the whole chunk, by _id (the primary index on MongoDB and on FerretDB).
  const found = await models.Case.collection.find({ _id: { $in: planned.map((p) => p.created._id) } }).toArray();
  const stored = new Map<string, CaseDoc>(found.map((doc) => [String(doc._id), doc as unknown as CaseDoc]));
  const existing = new Map<number, CaseDoc>();
  const fresh: number[] = [];
  planned.forEach((p, i) => {
    const doc = stored.get(p.created._id.toHexString());
    if (doc) existing.set(i, doc);
    else fresh.push(i);
  });
  if (fresh.length > 0) {
    let refused = new Set<number>();
    try {
      await retryOnContention(() => models.Case.collection.insertMany(fresh.map((i) => planned[i]!.created) as never[], { ordered: false }));
    } catch (error) {
      refused = duplicateIndexes(error);
    }
    fresh.forEach((i, k) => {
      if (refused.has(k)) return;
      outcomes[i] = 'created';
      events.push(planned[i]!.event);
    });
    if (refused.size > 0) {
      // Created by another writer meanwhile, or stored before ids followed from keys: by key.
      const late = fresh.filter((_, k) => refused.has(k)).map((i) => ({ i, p: planned[i]! }));
      const docs = await models.Case.find({ $or: late.map(({ p }) => ({ memberState: p.record.memberState, caseReference: p.record.caseReference })) })
        .lean<CaseDoc[]>()
        .exec();
      const byKey = new Map(docs.map((doc) => [`${doc.memberState}\u0000${doc.caseReference}`, doc]));
      for (const { i, p } of late) {
        const doc = byKey.get(`${p.record.memberState}\u0000${p.record.caseReference}`);
        // Refused as a duplicate, yet gone when read: deleted meanwhile. Retrying the chunk creates it.
        if (!doc) throw new Error(`case ${p.record.memberState}/${p.record.caseReference} changed while this chunk was stored; retrying`);
        existing.set(i, doc);
      }
    }
  }
  if (existing.size === 0) return { outcomes, events };

  // Existing cases: written only onto the version read, never onto an erased case. A case
  // that moved meanwhile (a lifecycle step, an erasure) is read again and decided again,
  // here, so every write that lands keeps its event (the chunk is not redone around it).
  let pending = existing;
  for (let round = 0; pending.size > 0; round++) {
    if (round === 5) throw new CaseChangedError(pending.size);
    const updates: AnyBulkWriteOperation<CaseDoc>[] = [];
    const plannedEvents = new Map<number, CaseEvent>();
    for (const [i, current] of pending) {
      const p = planned[i]!;
      const mark = current.lastIngest;
      if (mark && mark.feedId === source.feedId && mark.position === p.position) {
        // This very record was written by an earlier attempt of this chunk: the same outcome,
        // and the same event (published only if that attempt did not get to it).
        outcomes[i] = mark.outcome;
        events.push({
          type: mark.outcome === 'created' ? 'case.created' : 'case.updated',
          caseId: current._id.toHexString(),
          version: current.version,
          at: new Date(current.updatedAt ?? now).toISOString(),
          before: mark.outcome === 'created' ? null : ((mark.before ?? null) as StatsFacts | null),
          after: factsOf(current),
        });
        continue;
      }
      if (current.erasure) {
        // Erased on request or by retention: a feed (or a replay of an old one) must not bring the data back.
        outcomes[i] = 'erased';
        continue;
      }
      const outcome = decideOutcome(current, { recordVersion: p.record.recordVersion, hash: p.hash });
      outcomes[i] = outcome;
      if (outcome !== 'updated') continue;
      // Reassigned only while no partner has accepted the case.
      const set = { ...p.fields, ...(p.partnerId && current.status === 'SUBMITTED' ? { partnerId: p.partnerId } : {}) };
      const event: CaseEvent = {
        type: 'case.updated',
        caseId: current._id.toHexString(),
        version: current.version + 1,
        at: now.toISOString(),
        before: factsOf(current),
        after: factsOf({ ...current, ...set }),
      };
      plannedEvents.set(i, event);
      const lastIngest: IngestMark = { feedId: source.feedId, position: p.position, outcome: 'updated', before: event.before };
      // Every version has its history entry (entry n at index n-1), the feed's changes included.
      const step: HistoryEntry = { version: current.version + 1, transition: 'ingested', from: current.status, to: current.status, at: now, actor: { role: 'MEMBER_STATE', subject: `feed:${source.feedId}`, memberState: current.memberState } };
      updates.push({
        updateOne: {
          filter: { _id: current._id, version: current.version, erasure: { $exists: false } },
          update: { $set: { ...set, lastIngest, [`history.${current.version}`]: step }, $inc: { version: 1 } },
        },
      });
    }
    if (updates.length === 0) break;
    const result = await retryOnContention(() => models.Case.bulkWrite(updates, { ordered: false }));
    if (result.matchedCount === updates.length) {
      events.push(...plannedEvents.values());
      break;
    }
    // Which did not land: those without this write's mark. They are decided again from what is stored now.
    const ids = [...plannedEvents.keys()].map((i) => pending.get(i)!._id);
    const storedNow = new Map((await models.Case.find({ _id: { $in: ids } }).lean<CaseDoc[]>().exec()).map((d) => [d._id.toHexString(), d]));
    const again = new Map<number, CaseDoc>();
    for (const [i, event] of plannedEvents) {
      const stored = storedNow.get(event.caseId);
      const mark = stored?.lastIngest;
      if (stored && mark?.feedId === source.feedId && mark.position === planned[i]!.position && mark.outcome === 'updated') events.push(event);
      else if (stored) again.set(i, stored);
    }
    pending = again;
  }
  return { outcomes, events };
}
