import type { mongo } from 'mongoose';
import type { CaseEvent } from '../../../shared/case-events/index.js';
import { retryOnContention } from '../../../shared/mongo.js';
import type { CaseDoc, CasesModels } from '../case/models.js';
import {
  decideAgainstStored,
  planRecord,
  updateLanded,
  type AssessedRecord,
  type ChunkSource,
  type UpsertOutcome,
} from './decisions.js';

/**
 * The store side of a chunk: reads, inserts and conditional updates. What each record
 * becomes, and which event it publishes, is decided in decisions.ts.
 */

/** Cases changed (a lifecycle step, an erasure) between this chunk's read and its write: the chunk is retried. */
export class CaseChangedError extends Error {
  constructor(readonly count: number) {
    super(`${count} case(s) changed while this chunk was being written; the chunk is retried`);
    this.name = 'CaseChangedError';
  }
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
 * unordered bulk update of the changed ones (unchanged and stale records are not written).
 * A record this same feed position already wrote (a retry after a crash) reports what that
 * write did, so counts stay exact.
 */
export async function upsertRecords(
  models: CasesModels,
  records: readonly AssessedRecord[],
  source: ChunkSource,
  now = new Date(),
): Promise<{ outcomes: UpsertOutcome[]; events: Array<CaseEvent> }> {
  if (records.length === 0) return { outcomes: [], events: [] };
  const planned = records.map((record, index) => planRecord(record, index, source, now));

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
      const docs = fresh.map((i) => planned[i]!.created) as never[];
      await retryOnContention(() => models.Case.collection.insertMany(docs, { ordered: false }));
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
      const keys = late.map(({ p }) => ({ memberState: p.record.memberState, caseReference: p.record.caseReference }));
      const docs = await models.Case.find({ $or: keys }).lean<CaseDoc[]>().exec();
      const byKey = new Map(docs.map((doc) => [`${doc.memberState}\u0000${doc.caseReference}`, doc]));
      for (const { i, p } of late) {
        const doc = byKey.get(`${p.record.memberState}\u0000${p.record.caseReference}`);
        // Refused as a duplicate, yet gone when read: deleted meanwhile. Retrying the chunk creates it.
        if (!doc) {
          const which = `${p.record.memberState}/${p.record.caseReference}`;
          throw new Error(`case ${which} changed while this chunk was stored; retrying`);
        }
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
    const updates: mongo.AnyBulkWriteOperation[] = [];
    const plannedEvents = new Map<number, CaseEvent>();
    for (const [i, current] of pending) {
      const decision = decideAgainstStored(planned[i]!, current, source, now);
      outcomes[i] = decision.outcome;
      if (decision.replayed) events.push(decision.event);
      else if (decision.outcome === 'updated') {
        plannedEvents.set(i, decision.event);
        updates.push({ updateOne: { filter: decision.write.filter, update: decision.write.update } });
      }
    }
    if (updates.length === 0) break;
    // Straight to the driver, as the inserts above: the update holds stored types already (decisions.ts), and
    // casting thousands of whole-case $set documents through the ODM cost the worker CPU the store needs.
    const result = await retryOnContention(() => models.Case.collection.bulkWrite(updates, { ordered: false }));
    if (result.matchedCount === updates.length) {
      events.push(...plannedEvents.values());
      break;
    }
    // Which did not land: those without this write's mark. They are decided again from what is stored now.
    const ids = [...plannedEvents.keys()].map((i) => pending.get(i)!._id);
    const docsNow = await models.Case.find({ _id: { $in: ids } })
      .lean<CaseDoc[]>()
      .exec();
    const storedNow = new Map(docsNow.map((d) => [d._id.toHexString(), d]));
    const again = new Map<number, CaseDoc>();
    for (const [i, event] of plannedEvents) {
      const doc = storedNow.get(event.caseId);
      if (doc && updateLanded(doc, planned[i]!, source)) events.push(event);
      else if (doc) again.set(i, doc);
    }
    pending = again;
  }
  return { outcomes, events };
}
