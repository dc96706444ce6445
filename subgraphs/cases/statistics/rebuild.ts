import type { Redis } from 'ioredis';
import { streamTail } from '../../../shared/case-events/index.js';
import { ALL_TAG, bumpCacheTags } from '../../../shared/cache-tags.js';
import type { CaseDoc, CasesModels } from '../case/models.js';
import { addInto, contribution, factsOf, scopesOf } from './facts.js';
import { PROJECTION_ID } from './projector.js';

/**
 * Recomputes the statistics read model from all cases, in one pass, and moves the
 * projector's checkpoint to the end of the event stream. For a quiet system (seeding,
 * maintenance): events written while it runs could be counted twice.
 */
export async function rebuildStatistics(
  models: CasesModels,
  redis: Redis,
  prefix: string,
): Promise<{ cases: number; scopes: number }> {
  const last = await streamTail(redis, prefix);
  const docs = new Map<string, Record<string, unknown>>();
  let cases = 0;
  const cursor = models.Case.find({}, { caseReference: 0, contentHash: 0 })
    .lean<CaseDoc[]>()
    .cursor({ batchSize: 2_000 });
  for await (const doc of cursor) {
    const facts = factsOf(doc);
    const counters = contribution(facts);
    for (const scope of scopesOf(facts)) {
      const target = docs.get(scope) ?? {};
      addInto(target, counters);
      docs.set(scope, target);
    }
    cases++;
  }
  await models.Statistics.deleteMany({}).exec();
  const now = new Date();
  const rows = [...docs].map(([scope, counters]) => ({ _id: scope, lastEventId: last, updatedAt: now, ...counters }));
  for (let i = 0; i < rows.length; i += 200)
    await models.Statistics.collection.insertMany(rows.slice(i, i + 200) as never[]);
  await models.Projection.updateOne({ _id: PROJECTION_ID }, { $set: { lastEventId: last } }, { upsert: true }).exec();
  await bumpCacheTags(redis, prefix, [ALL_TAG]); // the gateway's cached statistics are stale now
  return { cases, scopes: rows.length };
}

/**
 * Whether the statistics read model predates the cross-tab pair counters (crosstab.ts): it has
 * counted cases but holds no pair. The cases subgraph's process then rebuilds it once, at start,
 * before its projectors run (worklist/background.ts, prepareReadModels).
 */
export async function lacksPairCounters(models: CasesModels): Promise<boolean> {
  const all = await models.Statistics.findOne({ _id: 'all' }, { cases: 1, x: 1 })
    .maxTimeMS(30_000)
    .lean<{ cases?: number; x?: unknown }>()
    .exec();
  return typeof all?.cases === 'number' && all.cases > 0 && all.x == null;
}
