import { createHash } from 'node:crypto';
import { Types, type AnyBulkWriteOperation } from 'mongoose';
import type { CaseDoc, CasesModels, EligibilityDoc } from '../models.js';
import type { CanonicalRecord } from './record.js';
import type { CaseEvent } from '../../../shared/events.js';
import { factsOf, type StatsFacts } from '../statistics/facts.js';

export type RecordOutcome = 'created' | 'updated' | 'unchanged' | 'stale';

/** Another writer created one of this chunk's cases meanwhile: retry the chunk (transient). */
export class ConcurrentCreationError extends Error {
  constructor() {
    super('a case of this chunk was created concurrently; the chunk will be retried');
    this.name = 'ConcurrentCreationError';
  }
}

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

/**
 * Idempotent upsert of one chunk keyed by (memberState, caseReference): one read for the
 * chunk's keys and one unordered bulk write. Re-running a chunk (after a crash) yields the
 * same stored state, and its outcomes become `unchanged`.
 */
export async function upsertRecords(
  models: CasesModels,
  records: readonly AssessedRecord[],
  now = new Date(),
): Promise<{ outcomes: RecordOutcome[]; events: Array<CaseEvent<StatsFacts>> }> {
  if (records.length === 0) return { outcomes: [], events: [] };
  const stored = await models.Case.find({ $or: records.map((r) => ({ memberState: r.memberState, caseReference: r.caseReference })) })
    .lean<CaseDoc[]>()
    .exec();
  const byKey = new Map<string, CaseDoc>(stored.map((doc) => [`${doc.memberState}\u0000${doc.caseReference}`, doc]));
  // What each touched case looked like before this chunk, and after it (for events).
  const before = new Map<string, CaseDoc | null>();
  const after = new Map<string, CaseDoc>();
  const versionSteps = new Map<string, number>();
  // Only the fields a feed owns are written to existing cases: never status, history or milestones.
  const ingestedFields = new Map<string, Record<string, unknown>>();
  const outcomes = records.map((record) => {
    const key = `${record.memberState}\u0000${record.caseReference}`;
    const { assessed, partnerId, position: _position, ...canonical } = record;
    const hash = contentHash(canonical);
    const eligibility: EligibilityDoc = assessed ?? { outcome: 'ELIGIBLE', reasons: [], requestDate: null, assessedAt: now, requestWindowMonths: null };
    // An ineligible case is kept, with its reasons, but closed: no partner takes it on.
    const ineligible = eligibility.outcome === 'INELIGIBLE';
    const current = byKey.get(key) ?? null;
    const outcome = decideOutcome(current, { recordVersion: record.recordVersion, hash });
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
      // Reassigned only while no partner has accepted the case.
      ...(partnerId && (!current || current.status === 'SUBMITTED') ? { partnerId } : {}),
    };
    if (outcome === 'created' || outcome === 'updated') {
      if (!before.has(key)) before.set(key, current);
      const base: CaseDoc =
        current ??
        ({
          // Made here, so the insert needs no read-back and the event knows the case id.
          _id: new Types.ObjectId(),
          memberState: record.memberState,
          caseReference: record.caseReference,
          status: ineligible ? 'CLOSED' : 'SUBMITTED',
          closingReason: ineligible ? `Ineligible: ${eligibility.reasons.join(', ')}` : null,
          partnerId: null,
          version: 0,
          history: [],
          milestones: { km1At: null, km2At: null, km3At: null },
          postArrivalServices: [],
          reintegrationPlan: null,
          completionSummary: null,
          createdAt: now,
        } as unknown as CaseDoc);
      after.set(key, { ...base, ...fields });
    }
    if (outcome === 'created' || outcome === 'updated') {
      // A later duplicate in the same chunk compares against this one.
      byKey.set(key, after.get(key)!);
      if (outcome === 'updated' && before.get(key)) versionSteps.set(key, (versionSteps.get(key) ?? 0) + 1);
      ingestedFields.set(key, fields);
    }
    return outcome;
  });
  if (after.size === 0) return { outcomes, events: [] };
  // Writes by _id only: FerretDB pushes down nothing else, and MongoDB uses its primary index.
  // New cases are inserted whole; the unique (Member State, case reference) index refuses a
  // case another writer created meanwhile, and the chunk is retried (it then reads it).
  const inserts = [...after].filter(([key]) => !before.get(key)).map(([, doc]) => doc);
  if (inserts.length > 0) {
    try {
      await models.Case.collection.insertMany(inserts as never[], { ordered: false });
    } catch (error) {
      if ((error as { code?: number }).code === 11000) throw new ConcurrentCreationError();
      throw error;
    }
  }
  const updates: AnyBulkWriteOperation<CaseDoc>[] = [];
  for (const key of after.keys()) {
    const old = before.get(key);
    if (!old) continue;
    updates.push({ updateOne: { filter: { _id: old._id }, update: { $set: ingestedFields.get(key)!, $inc: { version: versionSteps.get(key) ?? 1 } } } });
  }
  if (updates.length > 0) await models.Case.bulkWrite(updates, { ordered: false });
  const ids = new Map<string, string>([...after].map(([key, doc]) => [key, (before.get(key) ?? doc)._id.toHexString()]));
  const events: Array<CaseEvent<StatsFacts>> = [...after].map(([key, doc]) => {
    const old = before.get(key) ?? null;
    return {
      type: old ? 'case.updated' : 'case.created',
      caseId: ids.get(key) ?? '',
      version: old ? old.version + 1 : 0,
      at: now.toISOString(),
      before: old ? factsOf(old) : null,
      after: factsOf(doc),
    };
  });
  return { outcomes, events };
}
