import { Schema, Types, type AnyBulkWriteOperation, type Connection, type Model } from 'mongoose';
import type { Redis } from 'ioredis';
import type { CaseEvent } from '../../../shared/case-events/index.js';
import { retryOnContention, modelOn } from '../../../shared/mongo.js';
import type { FeedChunkDoc, FeedDoc, FeedModels, StagedChunk } from '../ingestion/index.js';
import type {
  ActorRecord,
  CaseDoc,
  CaseEventDoc,
  CasesModels,
  ErasureMark,
  HistoryEntry,
  ReintegrationPlanDoc,
  RetainedFacts,
} from '../case/models.js';
import { factsOf } from '../statistics/facts.js';
import type { VulnerabilityCode } from '../../../shared/vulnerability.js';
import { caseMessageModels } from '../messages/models.js';
import { eraseThread } from '../messages/thread.js';
import { monitoringModels } from '../monitoring/models.js';
import { eraseMonitoring } from '../monitoring/records.js';

/** The erasure record: append-only proof of what was erased where, without the data. */
export interface ErasureDoc {
  _id: Types.ObjectId;
  caseId: string;
  caseMemberState: string;
  kind: ErasureMark['kind'];
  actor: ActorRecord;
  /** The Member State's own reference of the request (its ticket), never personal data by contract. */
  requestReference: string | null;
  at: Date;
  requestId: string | null;
  erased: {
    caseFields: string[];
    transitionLog: number;
    feedReports: number;
    stagedRecords: number;
    /** Messages of the case's thread whose body was removed (absent in records made before threads). */
    messages?: number;
    /** Monitoring records (assessment answers, feedback comments, complaint texts) cleared (#16; absent before). */
    monitoringRecords?: number;
  };
}

const erasureSchema = new Schema<ErasureDoc>(
  {},
  { collection: 'personalDataErasures', versionKey: false, strict: false },
);
// One record per case, however often an erasure is asked or re-run after its caller gave up
// (README, "Erasure"): the store refuses a second record, and the loser answers the first.
erasureSchema.index({ caseId: 1 }, { name: 'caseId_unique', unique: true });
erasureSchema.static('prepareIndexes', function (this: Model<ErasureDoc>) {
  return upgradeErasureRecords(this);
});

/** Where records that repeated an erasure already recorded are kept (moved, not deleted) by the upgrade below. */
export const DUPLICATE_ERASURES_COLLECTION = 'personalDataErasureDuplicates';

/**
 * Before the unique index: a store of an earlier version has a plain `caseId` index and may
 * hold several records for one case (retries that raced). The first record per case stays;
 * the later ones move to DUPLICATE_ERASURES_COLLECTION, so no proof is lost; the old index goes.
 * Runs only while the old index exists, so once per store.
 */
export async function upgradeErasureRecords(model: Model<ErasureDoc>): Promise<number> {
  const indexes = await model.collection
    .listIndexes()
    .toArray()
    .catch(() => []);
  if (!indexes.some((index) => index.name === 'caseId')) return 0;
  // Counted per case first ($push is not in FerretDB's $group), then the records of each repeated case read.
  const repeated = await model.collection
    .aggregate<{ _id: string }>([{ $group: { _id: '$caseId', n: { $sum: 1 } } }, { $match: { n: { $gt: 1 } } }])
    .toArray();
  let moved = 0;
  const duplicates = model.db.collection(DUPLICATE_ERASURES_COLLECTION);
  for (const { _id: caseId } of repeated) {
    const later = (await model.collection.find({ caseId }).sort({ _id: 1 }).toArray()).slice(1);
    // Copied before deleted: an upgrade cut off in between leaves a copy, never a loss.
    for (const doc of later) await duplicates.replaceOne({ _id: doc._id }, doc, { upsert: true });
    moved += (await model.collection.deleteMany({ _id: { $in: later.map((doc) => doc._id) } })).deletedCount;
  }
  await model.collection.dropIndex('caseId');
  return moved;
}
erasureSchema.index({ caseMemberState: 1, _id: -1 }, { name: 'caseMemberState_id' });

export function erasureModel(connection: Connection): Model<ErasureDoc> {
  return modelOn<ErasureDoc>(connection, 'PersonalDataErasure', erasureSchema);
}

/** Case fields that hold personal data (names, birth dates, free text about the person). */
export const PERSONAL_CASE_FIELDS = [
  'mainApplicant',
  'familyMembers',
  'completionSummary',
  'closingReason',
  'reintegrationPlan.services.description',
  'reintegrationPlan.lines.description',
  'reintegrationPlan.rejectionReason',
  'reintegrationPlanVersions.lines.description',
  'history.reason',
  'contentHash',
] as const;

/** Transition-log changes whose values are personal (free text, the plan's descriptions). */
const PERSONAL_CHANGE_PATHS = new Set([
  'completionSummary',
  'closingReason',
  'reintegrationPlan',
  'reintegrationPlan.rejectionReason',
  'reintegrationPlan.lines',
  'reintegrationPlanVersions',
]);

/** The case with its personal data removed; everything else (status, dates, counts, money) stays. */
export function erasedFields(doc: CaseDoc, mark: ErasureMark): Partial<CaseDoc> & { erasure: ErasureMark } {
  const scrub = (p: ReintegrationPlanDoc): ReintegrationPlanDoc => ({
    ...p,
    services: p.services.map((s) => ({ ...s, description: '' })),
    ...(p.lines ? { lines: p.lines.map((line) => ({ ...line, description: '' })) } : {}),
    rejectionReason: null,
  });
  const plan: ReintegrationPlanDoc | null = doc.reintegrationPlan ? scrub(doc.reintegrationPlan) : null;
  const history: HistoryEntry[] = (doc.history ?? []).map((entry) => {
    if (entry == null) return entry;
    const { reason: _reason, ...rest } = entry;
    return rest;
  });
  return {
    mainApplicant: null as unknown as CaseDoc['mainApplicant'],
    familyMembers: [],
    completionSummary: null,
    closingReason: null,
    reintegrationPlan: plan,
    ...(doc.reintegrationPlanVersions ? { reintegrationPlanVersions: doc.reintegrationPlanVersions.map(scrub) } : {}),
    history,
    contentHash: null,
    erasure: mark,
  };
}

export function retainedFactsOf(doc: CaseDoc): RetainedFacts {
  const facts = factsOf(doc);
  return { adults: facts.adults, minors: facts.minors, mainApplicantAge: facts.mainApplicantAge };
}

export interface ErasureDeps {
  models: CasesModels;
  feeds: FeedModels;
  erasures: Model<ErasureDoc>;
  redis: Redis;
  queuePrefix: string;
  publish: (events: ReadonlyArray<CaseEvent>) => Promise<unknown>;
}

/**
 * Erases one case's personal data everywhere this system keeps it: the case, its
 * transition log, its message thread's bodies, the ingestion reports of its Member State's feeds, and feed chunks still
 * staged in Redis for a replay. Statistics do not move (the retained facts stand in for the
 * ages) but for the counts per vulnerability code, which the case leaves (#16); the erasure
 * is recorded, and a `case.erased` event is published. Idempotent: an
 * erased case is left as it is and its erasure record returned; concurrent calls, and calls
 * after an attempt whose caller gave up, end with that one record.
 */
export async function eraseCase(
  deps: ErasureDeps,
  caseId: Types.ObjectId,
  who: { actor: ActorRecord; kind: ErasureMark['kind']; requestReference: string | null; requestId: string | null },
  now = new Date(),
): Promise<ErasureDoc> {
  const id = caseId.toHexString();
  let doc: CaseDoc | null = null;
  // The case's vulnerability codes before the scrub: special-category data, not retained, so the
  // erased case leaves the counts per code (an erasure resumed after its mark no longer has them).
  let codesBefore: VulnerabilityCode[] = [];
  for (let attempt = 0; ; attempt++) {
    doc = await deps.models.Case.findOne({ _id: caseId }).lean<CaseDoc>().exec();
    if (!doc) throw new Error(`case ${id} does not exist`);
    if (doc.erasure) {
      const first = await deps.erasures.findOne({ caseId: id }).lean<ErasureDoc>().exec();
      if (first) {
        // Recorded already (marks written before the completion flag existed have none).
        if (!doc.erasure.complete)
          await deps.models.Case.updateOne({ _id: caseId }, { $set: { 'erasure.complete': true } }).exec();
        return first;
      }
      break; // marked by an earlier attempt that stopped before the end: finish it
    }
    const mark: ErasureMark = {
      at: now,
      actor: who.actor,
      kind: who.kind,
      retained: retainedFactsOf(doc),
      complete: false,
    };
    const version = doc.version + 1;
    const entry: HistoryEntry = {
      version,
      transition: 'erasePersonalData',
      from: doc.status,
      to: doc.status,
      at: now,
      actor: who.actor,
    };
    // The transition log's guard, as a lifecycle step: a step racing this erasure from the
    // same version fails with CONFLICT instead of writing free text after the scrub.
    try {
      await deps.models.CaseEvent.insertMany([{ _id: `${id}:${version}`, caseId: id, ...entry, changes: [] }], {
        lean: true,
      });
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
      // The guard of an earlier erasure attempt that died before marking the case: ours to remove.
      const removed = await deps.models.CaseEvent.deleteOne({
        _id: `${id}:${version}`,
        transition: 'erasePersonalData',
      }).exec();
      if (attempt >= 5) throw new Error(`case ${id} kept changing during its erasure`);
      // Else a lifecycle step is being written right now: give it a moment.
      if (removed.deletedCount === 0) await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
      continue;
    }
    const fields = erasedFields(doc, mark);
    const history = [...(fields.history ?? [])];
    history[version - 1] = entry;
    // Conditional on the version read: a feed update in between makes us read again.
    const result = await retryOnContention(() =>
      deps.models.Case.updateOne(
        { _id: caseId, version: doc!.version },
        { $set: { ...fields, history, version, updatedAt: now } },
      ).exec(),
    );
    if (result.matchedCount === 1) {
      codesBefore = factsOf(doc).vulnerabilityCodes ?? [];
      doc = { ...doc, ...fields, history, version } as CaseDoc;
      break;
    }
    await deps.models.CaseEvent.deleteOne({ _id: `${id}:${version}`, transition: 'erasePersonalData' }).exec();
    if (attempt >= 5) throw new Error(`case ${id} kept changing during its erasure`);
  }
  // Scrubbing is idempotent: an erasure interrupted here is finished by the next request or
  // retention run (both pick up a case marked but not complete).
  const erased = {
    caseFields: [...PERSONAL_CASE_FIELDS],
    transitionLog: await scrubTransitionLog(deps.models, id),
    feedReports: await scrubFeedReports(deps.feeds, doc.memberState, doc.caseReference),
    stagedRecords: await scrubStagedChunks(deps, doc.memberState, doc.caseReference),
    messages: await eraseThread(caseMessageModels(deps.models.Case.db), id, now),
    monitoringRecords: await eraseMonitoring(monitoringModels(deps.models.Case.db), id, now),
  };
  const record: ErasureDoc = {
    _id: new Types.ObjectId(),
    caseId: id,
    caseMemberState: doc.memberState,
    kind: doc.erasure!.kind,
    actor: doc.erasure!.actor,
    requestReference: who.requestReference,
    at: now,
    requestId: who.requestId,
    erased,
  };
  try {
    await deps.erasures.collection.insertOne(record);
  } catch (error) {
    if ((error as { code?: number }).code !== 11000) throw error;
    // A concurrent or earlier attempt recorded it (and published its event): answer that record.
    const first = await deps.erasures.findOne({ caseId: id }).lean<ErasureDoc>().exec();
    if (!first) throw error;
    await deps.models.Case.updateOne({ _id: caseId }, { $set: { 'erasure.complete': true } }).exec();
    return first;
  }
  await deps.models.Case.updateOne({ _id: caseId }, { $set: { 'erasure.complete': true } }).exec();
  // Facts before and after are equal (the retained facts stand in): statistics do not move,
  // but for the vulnerability codes, which leave with the persons (#16).
  await deps.publish([
    {
      type: 'case.erased',
      caseId: id,
      version: doc.version,
      at: now.toISOString(),
      before: { ...factsOf(doc), vulnerabilityCodes: codesBefore },
      after: factsOf(doc),
    },
  ]);
  return record;
}

async function scrubTransitionLog(models: CasesModels, caseId: string): Promise<number> {
  const entries = await models.CaseEvent.find({ caseId }).lean<CaseEventDoc[]>().exec();
  const updates: AnyBulkWriteOperation<CaseEventDoc>[] = [];
  for (const entry of entries) {
    const personal = (entry.changes ?? []).some((c) => PERSONAL_CHANGE_PATHS.has(c.path));
    if (entry.reason == null && !personal) continue;
    const changes = (entry.changes ?? []).map((c) =>
      PERSONAL_CHANGE_PATHS.has(c.path) ? { path: c.path, value: null, erased: true } : c,
    );
    updates.push({ updateOne: { filter: { _id: entry._id }, update: { $set: { changes }, $unset: { reason: '' } } } });
  }
  if (updates.length > 0) await retryOnContention(() => models.CaseEvent.bulkWrite(updates, { ordered: false }));
  return updates.length;
}

/** Rejected-record entries naming the case in its Member State's feed reports: reference and message removed. */
async function scrubFeedReports(feeds: FeedModels, memberState: string, caseReference: string): Promise<number> {
  const chunks = await feeds.FeedChunk.find({ 'rejected.caseReference': caseReference }).lean<FeedChunkDoc[]>().exec();
  if (chunks.length === 0) return 0;
  const owned = new Set(
    (
      await feeds.Feed.find({ _id: { $in: [...new Set(chunks.map((c) => c.feedId))] } })
        .lean<FeedDoc[]>()
        .exec()
    )
      .filter((f) => f.memberState === memberState)
      .map((f) => f._id),
  );
  let scrubbed = 0;
  for (const chunk of chunks) {
    if (!owned.has(chunk.feedId)) continue;
    const rejected = chunk.rejected.map((r) => {
      if (r.caseReference !== caseReference) return r;
      scrubbed++;
      return { ...r, caseReference: null, message: 'erased: the personal data of this case was erased' };
    });
    await feeds.FeedChunk.updateOne({ _id: chunk._id }, { $set: { rejected } }).exec();
  }
  return scrubbed;
}

/**
 * Feed chunks still in Redis (failed, waiting for a replay) that hold a record of the case:
 * the record is replaced by null, which a replay reports as rejected instead of storing.
 */
async function scrubStagedChunks(deps: ErasureDeps, memberState: string, caseReference: string): Promise<number> {
  const memberStateOf = new Map<string, string | undefined>();
  let scrubbed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await deps.redis.scan(cursor, 'MATCH', `${deps.queuePrefix}:feed-chunk:*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const feedId = key.slice(`${deps.queuePrefix}:feed-chunk:`.length).replace(/:\d+$/, '');
      if (!memberStateOf.has(feedId)) {
        // The feed's owner: its report once a chunk is recorded, else the push's own record in Redis.
        const recorded = (await deps.feeds.Feed.findOne({ _id: feedId }).lean<FeedDoc>().exec())?.memberState;
        const meta = recorded
          ? null
          : (JSON.parse((await deps.redis.get(`${deps.queuePrefix}:feed:${feedId}`)) ?? 'null') as {
              memberState?: string;
            } | null);
        memberStateOf.set(feedId, recorded ?? meta?.memberState);
      }
      // Another Member State's feed, or one whose owner is not known (still being pushed,
      // and refused by the erased case anyway when it is processed): left alone.
      if (memberStateOf.get(feedId) !== memberState) continue;
      const raw = await deps.redis.get(key);
      if (!raw || !raw.includes(JSON.stringify(caseReference))) continue;
      const staged = JSON.parse(raw) as StagedChunk;
      let changed = 0;
      staged.records = staged.records.map((record) => {
        const names =
          record &&
          typeof record === 'object' &&
          Object.values(record as Record<string, unknown>).includes(caseReference);
        if (!names) return record;
        changed++;
        return null;
      });
      if (changed === 0) continue;
      const ttl = await deps.redis.ttl(key);
      await deps.redis.set(key, JSON.stringify(staged), 'EX', Math.max(ttl, 1));
      scrubbed += changed;
    }
  } while (cursor !== '0');
  return scrubbed;
}

export async function listErasures(
  model: Model<ErasureDoc>,
  filter: { caseId?: string; caseMemberState?: string },
  first: number,
): Promise<ErasureDoc[]> {
  return model.find(filter).sort({ _id: -1 }).limit(first).lean<ErasureDoc[]>().exec();
}
