import { createHash } from 'node:crypto';
import type { AnyBulkWriteOperation } from 'mongoose';
import type { CaseDoc, CasesModels } from '../models.js';
import type { CanonicalRecord } from './record.js';

export type RecordOutcome = 'created' | 'updated' | 'unchanged' | 'stale';

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
export async function upsertRecords(models: CasesModels, records: readonly CanonicalRecord[], now = new Date()): Promise<RecordOutcome[]> {
  if (records.length === 0) return [];
  const stored = await models.Case.find(
    { $or: records.map((r) => ({ memberState: r.memberState, caseReference: r.caseReference })) },
    { memberState: 1, caseReference: 1, recordVersion: 1, contentHash: 1 },
  ).lean<Pick<CaseDoc, '_id' | 'memberState' | 'caseReference' | 'recordVersion' | 'contentHash'>[]>();
  const byKey = new Map(stored.map((doc) => [`${doc.memberState}\u0000${doc.caseReference}`, doc]));
  const operations: AnyBulkWriteOperation<CaseDoc>[] = [];
  const outcomes = records.map((record) => {
    const key = `${record.memberState}\u0000${record.caseReference}`;
    const hash = contentHash(record);
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
      updatedAt: now,
    };
    if (outcome === 'created') {
      operations.push({
        updateOne: {
          // Upsert on the unique key: if a concurrent writer created it first, this updates instead of duplicating.
          filter: { memberState: record.memberState, caseReference: record.caseReference },
          update: { $setOnInsert: { memberState: record.memberState, caseReference: record.caseReference, status: 'SUBMITTED', partnerId: null, version: 0, createdAt: now }, $set: fields },
          upsert: true,
        },
      });
      // A later duplicate in the same chunk compares against this one.
      byKey.set(key, { _id: undefined as never, memberState: record.memberState, caseReference: record.caseReference, recordVersion: record.recordVersion, contentHash: hash });
    } else if (outcome === 'updated') {
      operations.push({
        updateOne: {
          // Only if nobody stored a newer version since we read.
          filter: { memberState: record.memberState, caseReference: record.caseReference, recordVersion: { $lt: record.recordVersion } },
          update: { $set: fields, $inc: { version: 1 } },
        },
      });
      byKey.set(key, { ...current!, recordVersion: record.recordVersion, contentHash: hash });
    }
    return outcome;
  });
  if (operations.length > 0) await models.Case.bulkWrite(operations, { ordered: true });
  return outcomes;
}
