import type { Redis } from 'ioredis';
import { caseEventStream, compareStreamIds, streamTail, type CaseEvent } from '../../../shared/case-events/index.js';
import { LeasedLoop } from '../../../shared/leased-loop.js';
import type { Logger } from '../../../shared/logger.js';
import type { CasesModels } from '../models.js';
import { statisticsDelta } from './facts.js';

export const PROJECTION_ID = 'statistics';

/**
 * Keeps the statistics read model up to date from the case event stream. One projector
 * writes at a time (a Redis lease), because FerretDB's `$inc` is not atomic under
 * concurrent writers; each statistics document remembers the last event it applied, so
 * replaying after a crash never counts an event twice.
 */
export class StatisticsProjector {
  private readonly loop: LeasedLoop;

  constructor(
    private readonly models: CasesModels,
    private readonly redis: Redis,
    private readonly prefix: string,
    logger: Logger,
    private readonly options: { batchSize?: number; blockMs?: number; leaseMs?: number } = {},
  ) {
    this.loop = new LeasedLoop(redis, `${prefix}:lease:statistics-projector`, () => this.applyBatch(), logger, options.leaseMs);
  }

  async checkpoint(): Promise<string> {
    const doc = await this.models.Projection.findOne({ _id: PROJECTION_ID }).lean().exec();
    return doc?.lastEventId ?? '0-0';
  }

  /** Applies every event after the checkpoint, in batches; returns how many were read. */
  async catchUp(): Promise<number> {
    let total = 0;
    for (;;) {
      const applied = await this.applyBatch(0);
      total += applied;
      if (applied === 0) return total;
    }
  }

  /** Reads up to one batch (waiting up to blockMs for new entries) and applies it. */
  async applyBatch(blockMs = this.options.blockMs ?? 1_000): Promise<number> {
    const from = await this.checkpoint();
    const count = this.options.batchSize ?? 1_000;
    const reply = (blockMs > 0
      ? await this.redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', caseEventStream(this.prefix), from)
      : await this.redis.xread('COUNT', count, 'STREAMS', caseEventStream(this.prefix), from)) as Array<[string, Array<[string, string[]]>]> | null;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) return 0;

    // Sum the batch per scope, remembering each entry id so scopes that already saw it skip it.
    const scopeDocs = new Map<string, string>();
    const perScope = new Map<string, { inc: Record<string, number>; lastId: string }>();
    const events = entries.map(([id, fields]) => {
      const json = fields[fields.indexOf('event') + 1] ?? 'null';
      return { id, event: JSON.parse(json) as CaseEvent };
    });
    const scopes = new Set<string>();
    for (const { event } of events) for (const scope of statisticsDelta(event.before, event.after).keys()) scopes.add(scope);
    if (scopes.size > 0) {
      const stored = await this.models.Statistics.find({ _id: { $in: [...scopes] } }, { lastEventId: 1 }).lean().exec();
      for (const doc of stored) scopeDocs.set(doc._id, doc.lastEventId);
    }
    for (const { id, event } of events) {
      for (const [scope, inc] of statisticsDelta(event.before, event.after)) {
        const seen = scopeDocs.get(scope);
        if (seen && compareStreamIds(seen, id) >= 0) continue;
        const slot = perScope.get(scope) ?? { inc: {}, lastId: id };
        for (const [path, value] of Object.entries(inc)) slot.inc[path] = (slot.inc[path] ?? 0) + value;
        slot.lastId = id;
        perScope.set(scope, slot);
      }
    }
    for (const [scope, { inc, lastId }] of perScope) {
      await this.models.Statistics.collection.updateOne(
        { _id: scope as never },
        { $inc: inc, $set: { lastEventId: lastId, updatedAt: new Date() } },
        { upsert: true },
      );
    }
    const lastId = entries.at(-1)![0];
    await this.models.Projection.updateOne({ _id: PROJECTION_ID }, { $set: { lastEventId: lastId } }, { upsert: true }).exec();
    return entries.length;
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }
}

/** Moves the statistics checkpoint to the end of the stream (after seeding the read model directly). */
export async function resetStatisticsCheckpoint(models: CasesModels, redis: Redis, prefix: string): Promise<void> {
  const last = await streamTail(redis, prefix);
  await models.Projection.updateOne({ _id: PROJECTION_ID }, { $set: { lastEventId: last } }, { upsert: true }).exec();
}
