import { createHash } from 'node:crypto';
import type { AnyBulkWriteOperation, Types } from 'mongoose';
import { caseIdOf, type CaseDoc, type CasesModels, type EligibilityDoc, type IngestMark } from '../models.js';
import type { CanonicalRecord } from './record.js';
import type { CaseEvent } from '../../../shared/events.js';
import { factsOf, type StatsFacts } from '../statistics/facts.js';

export type RecordOutcome = 'created' | 'updated' | 'unchanged' | 'stale';

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

/** Where a chunk's records come from, for the marks left on the cases they write. */
export interface ChunkSource {
  feedId: string;
}

/** Point reads by `_id`, a few at a time (FerretDB answers each from its primary key; `$in` would scan). */
async function readByIds(models: CasesModels, ids: readonly Types.ObjectId[], concurrency = 8): Promise<Map<string, CaseDoc>> {
  const found = new Map<string, CaseDoc>();
  let next = 0;
  const reader = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      const doc = await models.Case.collection.findOne({ _id: id });
      if (doc) found.set(id.toHexString(), doc as unknown as CaseDoc);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, reader));
  return found;
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
 * case's `_id`. New cases are inserted whole in one unordered insertMany (no read first);
 * the records the store refuses as duplicates exist, are read by `_id` and updated, left
 * alone as unchanged, or reported stale. A record this same feed position already wrote
 * (a retry after a crash) reports what that write did, so counts stay exact.
 */
export async function upsertRecords(
  models: CasesModels,
  records: readonly AssessedRecord[],
  source: ChunkSource,
  now = new Date(),
): Promise<{ outcomes: RecordOutcome[]; events: Array<CaseEvent<StatsFacts>> }> {
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
    const _id = caseIdOf(record.memberState, record.caseReference);
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
    const event: CaseEvent<StatsFacts> = { type: 'case.created', caseId: _id.toHexString(), version: 0, at: now.toISOString(), before: null, after: factsOf(created) };
    created.lastIngest = { feedId: source.feedId, position: position ?? index, outcome: 'created', event };
    return { record, hash, fields, partnerId, position: position ?? index, created, event };
  });

  const outcomes: RecordOutcome[] = new Array<RecordOutcome>(records.length);
  const events: Array<CaseEvent<StatsFacts>> = [];
  let existing = new Set<number>();
  try {
    await models.Case.collection.insertMany(planned.map((p) => p.created) as never[], { ordered: false });
  } catch (error) {
    existing = duplicateIndexes(error);
  }
  planned.forEach((p, i) => {
    if (existing.has(i)) return;
    outcomes[i] = 'created';
    events.push(p.event);
  });
  if (existing.size === 0) return { outcomes, events };

  const conflicted = [...existing].map((i) => planned[i]!);
  const stored = await readByIds(models, conflicted.map((p) => p.created._id));
  // A case stored before ids followed from keys has another _id: found by its key instead.
  const legacy = conflicted.filter((p) => !stored.has(p.created._id.toHexString()));
  const byKey = new Map<string, CaseDoc>();
  if (legacy.length > 0) {
    const docs = await models.Case.find({ $or: legacy.map((p) => ({ memberState: p.record.memberState, caseReference: p.record.caseReference })) })
      .lean<CaseDoc[]>()
      .exec();
    for (const doc of docs) byKey.set(`${doc.memberState}\u0000${doc.caseReference}`, doc);
  }
  const updates: AnyBulkWriteOperation<CaseDoc>[] = [];
  for (const i of existing) {
    const p = planned[i]!;
    const current = stored.get(p.created._id.toHexString()) ?? byKey.get(`${p.record.memberState}\u0000${p.record.caseReference}`);
    // Refused as a duplicate, yet gone when read: deleted meanwhile. Retrying the chunk creates it.
    if (!current) throw new Error(`case ${p.record.memberState}/${p.record.caseReference} changed while this chunk was stored; retrying`);
    const mark = current.lastIngest;
    if (mark && mark.feedId === source.feedId && mark.position === p.position) {
      // This very record was written by an earlier attempt of this chunk.
      outcomes[i] = mark.outcome;
      events.push(mark.event as CaseEvent<StatsFacts>);
      continue;
    }
    const outcome = decideOutcome(current, { recordVersion: p.record.recordVersion, hash: p.hash });
    outcomes[i] = outcome;
    if (outcome !== 'updated') continue;
    // Reassigned only while no partner has accepted the case.
    const set = { ...p.fields, ...(p.partnerId && current.status === 'SUBMITTED' ? { partnerId: p.partnerId } : {}) };
    const event: CaseEvent<StatsFacts> = {
      type: 'case.updated',
      caseId: current._id.toHexString(),
      version: current.version + 1,
      at: now.toISOString(),
      before: factsOf(current),
      after: factsOf({ ...current, ...set }),
    };
    events.push(event);
    const lastIngest: IngestMark = { feedId: source.feedId, position: p.position, outcome: 'updated', event };
    updates.push({ updateOne: { filter: { _id: current._id }, update: { $set: { ...set, lastIngest }, $inc: { version: 1 } } } });
  }
  if (updates.length > 0) await models.Case.bulkWrite(updates, { ordered: false });
  return { outcomes, events };
}
