import type { Redis } from 'ioredis';
import { fencedFilter, fencedSet, fencedUpsert } from '../../../shared/fence.js';
import { LeaseLostError } from '../../../shared/leased-loop.js';
import {
  compareStreamIds,
  ReadModelProjector,
  resetProjectionCheckpoint,
  startOwnProjector,
  type CaseEventBatch,
  type CaseEventEntry,
  type ReadModelProjectorOptions,
  type RunningProjector,
} from '../../../shared/case-events/index.js';
import type { Config } from '../../../shared/config.js';
import type { Logger } from '../../../shared/logger.js';
import { casesModels, type CasesModels } from '../case/models.js';
import { statisticsDelta } from './facts.js';

export const PROJECTION_ID = 'statistics';

/** What one batch adds to one statistics document, and the last event it counts there. */
export interface ScopeIncrement {
  inc: Record<string, number>;
  lastId: string;
}

/** The statistics documents a batch touches. */
export function scopesTouched(entries: readonly CaseEventEntry[]): Set<string> {
  const scopes = new Set<string>();
  for (const { event } of entries)
    for (const scope of statisticsDelta(event.before, event.after).keys()) scopes.add(scope);
  return scopes;
}

/**
 * The batch summed per scope. `seen` is the last event each stored scope document counted:
 * an entry at or before it is skipped there, so a replay never counts an event twice.
 */
export function statisticsIncrements(
  entries: readonly CaseEventEntry[],
  seen: ReadonlyMap<string, string>,
): Map<string, ScopeIncrement> {
  const perScope = new Map<string, ScopeIncrement>();
  for (const { id, event } of entries) {
    for (const [scope, inc] of statisticsDelta(event.before, event.after)) {
      const last = seen.get(scope);
      if (last && compareStreamIds(last, id) >= 0) continue;
      const slot = perScope.get(scope) ?? { inc: {}, lastId: id };
      for (const [path, value] of Object.entries(inc)) slot.inc[path] = (slot.inc[path] ?? 0) + value;
      slot.lastId = id;
      perScope.set(scope, slot);
    }
  }
  return perScope;
}

/** Applies one batch to the statistics read model. */
export async function applyStatistics(models: CasesModels, batch: CaseEventBatch, fence?: number): Promise<void> {
  const scopes = scopesTouched(batch.entries);
  const seen = new Map<string, string>();
  if (scopes.size > 0) {
    const stored = await models.Statistics.find({ _id: { $in: [...scopes] } }, { lastEventId: 1 })
      .lean()
      .exec();
    for (const doc of stored) seen.set(doc._id, doc.lastEventId);
  }
  for (const [scope, { inc, lastId }] of statisticsIncrements(batch.entries, seen)) {
    // Fenced: a projector paused past its lease cannot add a batch the next holder has added already.
    // And conditional on the lastEventId read above: the fence only refuses a document the newer holder
    // has already written, so a paused holder waking between this read and this write would otherwise
    // have its increment counted twice. A miss inserts the same _id and fails (duplicate key): retried.
    const write = () =>
      models.Statistics.collection.updateOne(
        fencedFilter({ _id: scope as never, lastEventId: (seen.get(scope) ?? null) as never }, fence),
        { $inc: inc, $set: fencedSet({ lastEventId: lastId, updatedAt: new Date() }, fence) },
        { upsert: true },
      );
    try {
      await fencedUpsert(`statistics ${scope}`, fence, write);
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (!(error instanceof LeaseLostError) && code !== 11000) throw error;
      // A newer fence on the document: this holder lost its lease. Else the document moved since it was read.
      const stored = await models.Statistics.findOne({ _id: scope }, { fence: 1 }).lean<{ fence?: number }>().exec();
      if (fence !== undefined && (stored?.fence ?? 0) > fence) throw error;
      throw new Error(`statistics ${scope} was written by another writer during this batch; the batch is retried`);
    }
  }
}

/**
 * Keeps the statistics read model up to date from the case event stream. One projector
 * writes at a time (a Redis lease), because FerretDB's `$inc` is not atomic under
 * concurrent writers; each statistics document remembers the last event it applied, and
 * the checkpoint is stored with the read model, so replaying after a crash never counts
 * an event twice.
 */
export class StatisticsProjector extends ReadModelProjector {
  constructor(
    models: CasesModels,
    redis: Redis,
    prefix: string,
    logger: Logger,
    options: ReadModelProjectorOptions = {},
  ) {
    const spec = {
      name: 'statistics-projector',
      projection: models.Projection,
      projectionId: PROJECTION_ID,
      apply: (batch: CaseEventBatch, fence?: number) => applyStatistics(models, batch, fence),
      batchSize: 1_000,
    };
    super(spec, redis, prefix, logger, options);
  }
}

/** A running statistics projector on connections of its own. */
export type RunningStatisticsProjector = RunningProjector<StatisticsProjector>;

/** Starts the statistics projector as the cases subgraph's process runs it, on its own connections. */
export function startStatisticsProjector(
  config: Config,
  logger: Logger,
  options: { blockMs?: number } = {},
): Promise<RunningStatisticsProjector> {
  return startOwnProjector(
    config,
    'cases',
    'statistics-projector',
    logger,
    (connection, redis) =>
      new StatisticsProjector(casesModels(connection), redis, config.QUEUE_PREFIX, logger, options),
  );
}

/** Moves the statistics checkpoint to the end of the stream (after seeding the read model directly). */
export function resetStatisticsCheckpoint(models: CasesModels, redis: Redis, prefix: string): Promise<void> {
  return resetProjectionCheckpoint(models.Projection, PROJECTION_ID, redis, prefix);
}
