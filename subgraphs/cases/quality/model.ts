import { Schema, type Connection, type Model } from 'mongoose';
import { modelOn } from '../../../shared/mongo.js';

/**
 * The data-quality read model: one document per Member State, counters only (no case, no
 * personal data). The ingestion worker adds each chunk's figures as it applies the chunk
 * (applyChunkQuality); window flags are counted by the statistics projector from the case
 * event stream (statistics/facts.ts, `windowFlags.<code>`). A read is one document, never a
 * scan of cases.
 */
export interface DataQualityDoc {
  /** The Member State. */
  _id: string;
  received?: number;
  rejected?: number;
  recordsWithGaps?: number;
  lateInsertions?: number;
  /** Per field key (quality/rules.ts fieldKey): records that left it out. */
  missing?: Record<string, number>;
  defaulted?: Record<string, number>;
  updatedAt?: Date;
}

/** One applied chunk, so a retried chunk (after a crash) is not counted twice. */
export interface DataQualityChunkDoc {
  /** `<feedId>:<chunk>` */
  _id: string;
  memberState: string;
  at: Date;
}

const dataQualitySchema = new Schema<DataQualityDoc>(
  { _id: { type: String, required: true } },
  { collection: 'dataQuality', versionKey: false, strict: false },
);
const dataQualityChunkSchema = new Schema<DataQualityChunkDoc>(
  {
    _id: { type: String, required: true },
    memberState: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { collection: 'dataQualityChunks', versionKey: false },
);

export interface QualityModels {
  DataQuality: Model<DataQualityDoc>;
  DataQualityChunk: Model<DataQualityChunkDoc>;
}

export function qualityModels(connection: Connection): QualityModels {
  return {
    DataQuality: modelOn<DataQualityDoc>(connection, 'DataQuality', dataQualitySchema),
    DataQualityChunk: modelOn<DataQualityChunkDoc>(connection, 'DataQualityChunk', dataQualityChunkSchema),
  };
}

/**
 * Adds one chunk's figures to its Member State's document, once: the chunk's mark is written
 * first, and a chunk whose mark exists (a retry) adds nothing. A crash between the mark and the
 * increment loses that chunk's figures rather than counting them twice (quality figures are
 * shares and counts to watch, not money).
 */
export async function applyChunkQuality(
  models: QualityModels,
  memberState: string,
  chunkKey: string,
  inc: Record<string, number>,
  now = new Date(),
): Promise<boolean> {
  try {
    await models.DataQualityChunk.collection.insertOne({ _id: chunkKey as never, memberState, at: now });
  } catch (error) {
    if ((error as { code?: number }).code === 11000) return false;
    throw error;
  }
  if (Object.keys(inc).length === 0) return true;
  await models.DataQuality.collection.updateOne(
    { _id: memberState as never },
    { $inc: inc, $set: { updatedAt: now } },
    { upsert: true },
  );
  return true;
}
