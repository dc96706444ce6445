import type { Redis } from 'ioredis';
import { Schema, type Connection, type Model } from 'mongoose';
import type { Config } from '../../../shared/config.js';
import { fencedFilter, fencedSet, fencedUpsert } from '../../../shared/fence.js';
import type { AwaitedRole, WorklistStep } from '../../../shared/case-events/awaiting.js';
import {
  ReadModelProjector,
  streamTail,
  type CaseEventBatch,
  type CaseEventEntry,
  type ReadModelProjectorOptions,
} from '../../../shared/case-events/index.js';
import type { Logger } from '../../../shared/logger.js';
import { modelOn } from '../../../shared/mongo.js';
import type { CaseDoc, CasesModels } from '../case/models.js';
import { factsOf } from '../statistics/facts.js';
import {
  DEFAULT_WORKLIST_THRESHOLDS,
  worklistEntryOf,
  type DueReason,
  type WorklistEntry,
  type WorklistThresholds,
} from './rules.js';

export const WORKLIST_PROJECTION_ID = 'worklist';

/** Stored for an entry without a due date, so the due-date index orders it last. */
export const NO_DUE_DATE = '9999-12-31';

/**
 * The worklist read model: one document per case (`_id` the case id), kept by the case event
 * stream. A case that waits for nobody keeps a closed document (`open: false`, no role), so a
 * replay writes the same final state. Carries no personal data.
 */
export interface WorklistItemDoc {
  _id: string;
  open: boolean;
  awaitedBy: AwaitedRole | null;
  step: WorklistStep | null;
  memberState: string;
  partnerId: string | null;
  since: Date;
  /** YYYY-MM-DD, NO_DUE_DATE when none. */
  dueOn: string;
  dueReason: DueReason | null;
  lastEventId: string;
  fence?: number;
}

const worklistSchema = new Schema<WorklistItemDoc>(
  {
    _id: { type: String, required: true },
    open: { type: Boolean, required: true },
    awaitedBy: { type: String, default: null },
    step: { type: String, default: null },
    memberState: { type: String, required: true },
    partnerId: { type: String, default: null },
    since: { type: Date, required: true },
    dueOn: { type: String, required: true },
    dueReason: { type: String, default: null },
    lastEventId: { type: String, required: true },
    fence: { type: Number },
  },
  { collection: 'worklist', versionKey: false },
);
// Each worklist page is one index read: the reader's scope, then the due date and the id (the page order).
worklistSchema.index({ awaitedBy: 1, memberState: 1, dueOn: 1, _id: 1 }, { name: 'memberState_due' });
worklistSchema.index({ awaitedBy: 1, partnerId: 1, dueOn: 1, _id: 1 }, { name: 'partner_due' });
worklistSchema.index({ open: 1, memberState: 1, dueOn: 1, _id: 1 }, { name: 'open_memberState_due' });
worklistSchema.index({ open: 1, dueOn: 1, _id: 1 }, { name: 'open_due' });

export function worklistModel(connection: Connection): Model<WorklistItemDoc> {
  return modelOn<WorklistItemDoc>(connection, 'WorklistItem', worklistSchema);
}

/** The thresholds the configuration sets (defaults in rules.ts). */
export function worklistThresholds(config: Partial<Config>): WorklistThresholds {
  const d = DEFAULT_WORKLIST_THRESHOLDS;
  return {
    dueSoonDays: config.WORKLIST_DUE_SOON_DAYS ?? d.dueSoonDays,
    acceptanceDays: config.WORKLIST_ACCEPTANCE_DAYS ?? d.acceptanceDays,
    arrivalReportDays: config.WORKLIST_ARRIVAL_REPORT_DAYS ?? d.arrivalReportDays,
    planDays: config.WORKLIST_PLAN_DAYS ?? d.planDays,
    decisionDays: config.WORKLIST_DECISION_DAYS ?? d.decisionDays,
    completionReportDays: config.WORKLIST_COMPLETION_REPORT_DAYS ?? d.completionReportDays,
  };
}

/** The stored document of an entry (or of a case that waits for nobody). */
export function itemDocOf(
  caseId: string,
  entry: WorklistEntry | null,
  owner: { memberState: string; partnerId: string | null },
  eventId: string,
  at: string,
): Omit<WorklistItemDoc, '_id' | 'fence'> {
  return {
    open: entry !== null,
    awaitedBy: entry?.awaitedBy ?? null,
    step: entry?.step ?? null,
    memberState: entry?.memberState ?? owner.memberState,
    partnerId: entry?.partnerId ?? owner.partnerId,
    since: new Date(entry?.since ?? at),
    dueOn: entry?.dueOn ?? NO_DUE_DATE,
    dueReason: entry?.dueReason ?? null,
    lastEventId: eventId,
  };
}

/**
 * The pure consumer: what a batch of events does to the worklist, one write per case (its last
 * event in the batch decides). Events without facts (disbursements) change no worklist.
 */
export function worklistWrites(
  entries: readonly CaseEventEntry[],
  thresholds: WorklistThresholds,
): Map<string, Omit<WorklistItemDoc, '_id' | 'fence'>> {
  const writes = new Map<string, Omit<WorklistItemDoc, '_id' | 'fence'>>();
  for (const { id, event } of entries) {
    const facts = event.after ?? event.before;
    if (!facts) continue;
    const entry = event.after ? worklistEntryOf(event.caseId, event.after, thresholds, event.at) : null;
    writes.set(event.caseId, itemDocOf(event.caseId, entry, facts, id, event.at));
  }
  return writes;
}

/** Applies one batch to the worklist read model, fenced: a holder past its lease cannot overwrite a newer one. */
export async function applyWorklist(
  Worklist: Model<WorklistItemDoc>,
  batch: CaseEventBatch,
  thresholds: WorklistThresholds,
  fence?: number,
): Promise<void> {
  for (const [caseId, doc] of worklistWrites(batch.entries, thresholds)) {
    await fencedUpsert(`worklist ${caseId}`, fence, () =>
      Worklist.updateOne(
        fencedFilter({ _id: caseId }, fence),
        { $set: fencedSet(doc, fence) },
        { upsert: true },
      ).exec(),
    );
  }
}

/** Keeps the worklist read model from the case event stream (one writer at a time, checkpoint with the read model). */
export class WorklistProjector extends ReadModelProjector {
  constructor(
    models: CasesModels,
    Worklist: Model<WorklistItemDoc>,
    thresholds: WorklistThresholds,
    redis: Redis,
    prefix: string,
    logger: Logger,
    options: ReadModelProjectorOptions = {},
  ) {
    const spec = {
      name: 'worklist-projector',
      projection: models.Projection,
      projectionId: WORKLIST_PROJECTION_ID,
      apply: (batch: CaseEventBatch, fence?: number) => applyWorklist(Worklist, batch, thresholds, fence),
      batchSize: 500,
    };
    super(spec, redis, prefix, logger, options);
  }
}

/**
 * Recomputes the worklist read model from all cases and moves its checkpoint to the stream's
 * tail (read first: events after it are applied again by the projector, which converges). For
 * the first start of a store (cases stored before the read model existed, or seeded directly).
 */
export async function rebuildWorklist(
  models: CasesModels,
  Worklist: Model<WorklistItemDoc>,
  thresholds: WorklistThresholds,
  redis: Redis,
  prefix: string,
): Promise<number> {
  const last = await streamTail(redis, prefix);
  const at = new Date().toISOString();
  let rows: WorklistItemDoc[] = [];
  let count = 0;
  const flush = async () => {
    if (rows.length === 0) return;
    await Worklist.bulkWrite(
      rows.map((row) => ({ replaceOne: { filter: { _id: row._id }, replacement: row, upsert: true } })),
      { ordered: false },
    );
    rows = [];
  };
  const cursor = models.Case.find({}, { caseReference: 0, contentHash: 0 })
    .lean<CaseDoc[]>()
    .cursor({ batchSize: 1_000 });
  for await (const doc of cursor) {
    const caseId = doc._id.toHexString();
    const facts = factsOf(doc);
    rows.push({ _id: caseId, ...itemDocOf(caseId, worklistEntryOf(caseId, facts, thresholds), facts, last, at) });
    count++;
    if (rows.length >= 500) await flush();
  }
  await flush();
  await models.Projection.updateOne(
    { _id: WORKLIST_PROJECTION_ID },
    { $set: { lastEventId: last } },
    { upsert: true },
  ).exec();
  return count;
}
