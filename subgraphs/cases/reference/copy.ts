import type { Redis } from 'ioredis';
import { Schema, type Connection, type Model } from 'mongoose';
import { modelOn } from '../../../shared/mongo.js';
import { applyReferenceChanges, type ListsData } from './rules.js';
import { changeKey, parseReferenceChange, referenceDataStream, type ReferenceChange } from './stream.js';

/**
 * The cases subgraph's copy of the reference lists, in its own database (collection
 * `referenceData`): one document per change read from the reference-data stream, keyed by
 * what it changes, and a checkpoint (the last stream entry applied). The lists are the
 * released ones with these changes applied (rules.ts).
 */
export interface ReferenceCopyDoc {
  _id: string;
  change?: ReferenceChange;
  /** The stream entry the change came from (orders the changes). */
  streamId?: string;
  /** On the checkpoint document only. */
  lastId?: string;
}

const referenceCopySchema = new Schema<ReferenceCopyDoc>(
  { _id: String, change: Schema.Types.Mixed, streamId: String, lastId: String },
  { collection: 'referenceData', versionKey: false },
);

export const referenceCopyModel = (connection: Connection): Model<ReferenceCopyDoc> =>
  modelOn(connection, 'ReferenceCopy', referenceCopySchema);

const CHECKPOINT = 'checkpoint';
/** Entries read per round trip, and rounds per sync (a sync never runs unbounded). */
const PAGE = 500;
const MAX_PAGES = 20;
/** At most this many changes are kept in the copy (a few a year are expected). */
const MAX_CHANGES = 10_000;

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Stream ids in order: `ms-seq`, compared as numbers. */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

/**
 * Applies the stream's entries after the copy's checkpoint to the copy; answers how many were
 * applied. Idempotent: an entry applied twice (two processes at once) writes the same document.
 */
export async function syncReferenceCopy(
  connection: Connection,
  redis: Redis,
  prefix: string,
  timeoutMs: number,
): Promise<number> {
  const model = referenceCopyModel(connection);
  const checkpoint = await model.findById(CHECKPOINT).maxTimeMS(timeoutMs).lean<ReferenceCopyDoc>().exec();
  let lastId = checkpoint?.lastId ?? '0-0';
  let applied = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const entries = await withTimeout(
      redis.xrange(referenceDataStream(prefix), `(${lastId}`, '+', 'COUNT', PAGE),
      timeoutMs,
      'the reference-data stream',
    );
    if (entries.length === 0) break;
    const writes = entries.flatMap(([id, fields]) => {
      const at = fields.indexOf('change');
      const change = at >= 0 ? parseReferenceChange(fields[at + 1] ?? '') : null;
      if (!change) return [];
      const doc = { change, streamId: id };
      return [{ updateOne: { filter: { _id: changeKey(change) }, update: { $set: doc }, upsert: true } }];
    });
    if (writes.length > 0) await model.bulkWrite(writes, { ordered: false });
    lastId = entries.at(-1)![0];
    await model.updateOne({ _id: CHECKPOINT }, { $set: { lastId } }, { upsert: true }).exec();
    applied += writes.length;
    if (entries.length < PAGE) break;
  }
  return applied;
}

/** The copy's lists: the released lists with the copy's changes applied, in stream order. */
export async function readReferenceCopy(
  connection: Connection,
  base: ListsData,
  timeoutMs: number,
): Promise<ListsData> {
  const docs = await referenceCopyModel(connection)
    .find({ _id: { $ne: CHECKPOINT } })
    .limit(MAX_CHANGES)
    .maxTimeMS(timeoutMs)
    .lean<ReferenceCopyDoc[]>()
    .exec();
  const changes = docs
    .filter((d): d is ReferenceCopyDoc & { change: ReferenceChange; streamId: string } => !!d.change && !!d.streamId)
    .sort((a, b) => compareStreamIds(a.streamId, b.streamId))
    .map((d) => d.change);
  return applyReferenceChanges(base, changes);
}
