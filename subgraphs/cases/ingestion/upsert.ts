import { createHash } from 'node:crypto';
import type { AnyBulkWriteOperation } from 'mongoose';
import type { CaseDoc, CasesModels, EligibilityDoc } from '../models.js';
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
  const operations: AnyBulkWriteOperation<CaseDoc>[] = [];
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
          _id: undefined as never,
          memberState: record.memberState,
          caseReference: record.caseReference,
          status: ineligible ? 'CLOSED' : 'SUBMITTED',
          closingReason: ineligible ? `Ineligible: ${eligibility.reasons.join(', ')}` : null,
          partnerId: null,
          version: 0,
          history: [],
          milestones: { km1At: null, km2At: null, km3At: null },
          createdAt: now,
        } as unknown as CaseDoc);
      after.set(key, { ...base, ...fields });
    }
    if (outcome === 'created') {
      operations.push({
        updateOne: {
          // Upsert on the unique key: if a concurrent writer created it first, this updates instead of duplicating.
          filter: { memberState: record.memberState, caseReference: record.caseReference },
          update: {
            $setOnInsert: {
              memberState: record.memberState,
              caseReference: record.caseReference,
              status: ineligible ? 'CLOSED' : 'SUBMITTED',
              closingReason: ineligible ? `Ineligible: ${eligibility.reasons.join(', ')}` : null,
              ...(partnerId ? {} : { partnerId: null }),
              version: 0,
              createdAt: now,
            },
            $set: fields,
          },
          upsert: true,
        },
      });
      // A later duplicate in the same chunk compares against this one.
      byKey.set(key, after.get(key)!);
    } else if (outcome === 'updated') {
      operations.push({
        updateOne: {
          // Only if nobody stored a newer version since we read.
          filter: { memberState: record.memberState, caseReference: record.caseReference, recordVersion: { $lt: record.recordVersion } },
          update: { $set: fields, $inc: { version: 1 } },
        },
      });
      byKey.set(key, after.get(key)!);
    }
    return outcome;
  });
  if (operations.length === 0) return { outcomes, events: [] };
  await models.Case.bulkWrite(operations, { ordered: true });
  // Ids of created cases are assigned by the store: read them back by key.
  const createdKeys = [...after.keys()].filter((key) => !before.get(key));
  const ids = new Map<string, string>();
  for (const [key, doc] of before) if (doc) ids.set(key, doc._id.toHexString());
  if (createdKeys.length > 0) {
    const created = await models.Case.find(
      { $or: createdKeys.map((key) => { const [memberState, caseReference] = key.split('\u0000'); return { memberState, caseReference }; }) },
      { memberState: 1, caseReference: 1 },
    ).lean<Array<Pick<CaseDoc, '_id' | 'memberState' | 'caseReference'>>>().exec();
    for (const doc of created) ids.set(`${doc.memberState}\u0000${doc.caseReference}`, doc._id.toHexString());
  }
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
