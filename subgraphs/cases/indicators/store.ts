import type { Redis } from 'ioredis';
import { Schema, type Connection, type Model } from 'mongoose';
import {
  compareStreamIds,
  publishCaseEvents,
  ReadModelProjector,
  streamTail,
  type CaseEvent,
  type CaseEventBatch,
  type CaseEventEntry,
  type ReadModelProjectorOptions,
} from '../../../shared/case-events/index.js';
import { ALL_TAG, bumpCacheTags } from '../../../shared/cache-tags.js';
import type { IndicatorBreachFacts } from '../../../shared/case-events/contract.js';
import { fencedFilter, fencedSet, fencedUpsert } from '../../../shared/fence.js';
import { LeaseLostError } from '../../../shared/leased-loop.js';
import type { Logger } from '../../../shared/logger.js';
import { modelOn } from '../../../shared/mongo.js';
import type { CaseDoc, CasesModels } from '../case/models.js';
import { addInto, factsOf } from '../statistics/facts.js';
import type { IndicatorDefinition } from './definitions.js';
import { appliesIn, breachOwner, indicatorDelta, scopeOfId, statusOf, valueOf, type Counters } from './rules.js';

export const INDICATORS_PROJECTION_ID = 'indicators';

/** One scope's counters for one period (`_id` scope|period). No personal data. */
export interface IndicatorCountersDoc {
  _id: string;
  scope: string;
  scopeKind: string;
  scopeKey: string | null;
  /** YYYY-MM or YYYY. */
  period: string;
  c: Counters;
  lastEventId: string;
  updatedAt: Date;
  fence?: number;
}

/** A value worse than its minimum standard, one per indicator version, scope and period. */
export interface IndicatorBreachDoc {
  _id: string;
  indicatorId: string;
  indicatorVersion: number;
  scope: string;
  scopeKind: string;
  scopeKey: string | null;
  period: string;
  value: number;
  numerator: number | null;
  denominator: number | null;
  cases: number;
  minimumStandard: number;
  direction: string;
  detectedAt: Date;
  /** Still worse than the minimum at the last evaluation. */
  open: boolean;
  evaluatedAt: Date;
  /** When INDICATOR_BREACHED went out (published once, keyed by the breach). */
  publishedAt?: Date | null;
  fence?: number;
}

const countersSchema = new Schema<IndicatorCountersDoc>(
  {
    _id: String,
    scope: String,
    scopeKind: String,
    scopeKey: { type: String, default: null },
    period: String,
    c: { type: Schema.Types.Mixed, default: {} },
    lastEventId: String,
    updatedAt: Date,
    fence: Number,
  },
  { collection: 'indicatorCounters', versionKey: false, minimize: false },
);
countersSchema.index({ scopeKind: 1, scopeKey: 1, period: -1 }, { name: 'scope_period' });

const breachSchema = new Schema<IndicatorBreachDoc>(
  {
    _id: String,
    indicatorId: String,
    indicatorVersion: Number,
    scope: String,
    scopeKind: String,
    scopeKey: { type: String, default: null },
    period: String,
    value: Number,
    numerator: { type: Number, default: null },
    denominator: { type: Number, default: null },
    cases: Number,
    minimumStandard: Number,
    direction: String,
    detectedAt: Date,
    open: Boolean,
    evaluatedAt: Date,
    publishedAt: { type: Date, default: null },
    fence: Number,
  },
  { collection: 'indicatorBreaches', versionKey: false },
);
breachSchema.index({ scopeKind: 1, scopeKey: 1, period: -1 }, { name: 'scope_period' });
breachSchema.index({ detectedAt: -1 }, { name: 'detectedAt' });

export interface IndicatorModels {
  Counters: Model<IndicatorCountersDoc>;
  Breaches: Model<IndicatorBreachDoc>;
}

export function indicatorModels(connection: Connection): IndicatorModels {
  return {
    Counters: modelOn<IndicatorCountersDoc>(connection, 'IndicatorCounters', countersSchema),
    Breaches: modelOn<IndicatorBreachDoc>(connection, 'IndicatorBreach', breachSchema),
  };
}

/** The stored id of a breach: indicator and version, scope, period. */
export function breachId(definition: Pick<IndicatorDefinition, 'id' | 'version'>, scope: string, period: string) {
  return `${definition.id}@${definition.version}|${scope}|${period}`;
}

/** What one batch adds per document, and the last event it counts there. */
export interface CountersIncrement {
  inc: Record<string, number>;
  lastId: string;
}

/** The pure consumer over a batch: `$inc` per document, skipping what a document already counted (`seen`). */
export function indicatorIncrements(
  entries: readonly CaseEventEntry[],
  seen: ReadonlyMap<string, string>,
): Map<string, CountersIncrement> {
  const perDoc = new Map<string, CountersIncrement>();
  for (const { id, event } of entries) {
    for (const [doc, inc] of indicatorDelta(event)) {
      const last = seen.get(doc);
      if (last && compareStreamIds(last, id) >= 0) continue;
      const slot = perDoc.get(doc) ?? { inc: {}, lastId: id };
      for (const [path, value] of Object.entries(inc)) slot.inc[path] = (slot.inc[path] ?? 0) + value;
      slot.lastId = id;
      perDoc.set(doc, slot);
    }
  }
  return perDoc;
}

/** A breach found in one document: what is stored and what the event tells. */
export interface FoundBreach {
  id: string;
  facts: IndicatorBreachFacts;
  numerator: number | null;
  denominator: number | null;
}

/** The breaches one document's counters hold, and the ids of those it no longer holds (pure). */
export function breachesIn(
  definitions: readonly IndicatorDefinition[],
  doc: Pick<IndicatorCountersDoc, 'scope' | 'period' | 'c'>,
): { breached: FoundBreach[]; clear: string[] } {
  const breached: FoundBreach[] = [];
  const clear: string[] = [];
  for (const definition of definitions) {
    if (!appliesIn(definition, doc.scope)) continue;
    const value = valueOf(definition, doc.c ?? {});
    const id = breachId(definition, doc.scope, doc.period);
    if (statusOf(definition, value) !== 'BREACHED') {
      clear.push(id);
      continue;
    }
    const { kind, key } = scopeOfId(doc.scope);
    breached.push({
      id,
      numerator: value.numerator,
      denominator: value.denominator,
      facts: {
        breachId: id,
        indicatorId: definition.id,
        indicatorVersion: definition.version,
        scope: { perspective: kind, key },
        period: doc.period,
        value: value.value!,
        cases: value.cases,
        minimumStandard: definition.minimumStandard,
        direction: definition.direction,
      },
    });
  }
  return { breached, clear };
}

/** The backbone event of a new breach: not tied to a case; `owner` says who may receive it. */
export function breachEvent(facts: IndicatorBreachFacts, at: Date): CaseEvent {
  const scope = facts.scope.perspective === 'PROGRAMME' ? 'all' : scopeKey(facts.scope.perspective, facts.scope.key!);
  return {
    type: 'indicator.breached',
    caseId: '',
    version: 0,
    at: at.toISOString(),
    before: null,
    after: null,
    owner: breachOwner(scope),
    publicType: 'INDICATOR_BREACHED',
    indicatorBreach: facts,
  };
}

function scopeKey(kind: string, key: string): string {
  return `${{ MEMBER_STATE: 'memberState', COUNTRY_OF_ORIGIN: 'country', PARTNER: 'partner' }[kind] ?? kind}:${key}`;
}

export interface BreachPublisher {
  redis: Redis;
  prefix: string;
}

/**
 * Evaluates the documents a batch touched: stores each breach (idempotent by its id), closes
 * those no longer breached, and publishes INDICATOR_BREACHED once per breach (a publish-once key:
 * a batch replayed after a crash between storing and publishing publishes it then, never twice).
 */
export async function evaluateBreaches(
  models: IndicatorModels,
  definitions: readonly IndicatorDefinition[],
  docIds: readonly string[],
  publisher: BreachPublisher,
  fence?: number,
  now: () => Date = () => new Date(),
): Promise<number> {
  if (docIds.length === 0) return 0;
  const docs = await models.Counters.find({ _id: { $in: [...docIds] } }, { scope: 1, period: 1, c: 1 })
    .lean<IndicatorCountersDoc[]>()
    .exec();
  const breached: FoundBreach[] = [];
  const clear: string[] = [];
  for (const doc of docs) {
    const found = breachesIn(definitions, doc);
    breached.push(...found.breached);
    clear.push(...found.clear);
  }
  const at = now();
  for (const { id, facts, numerator, denominator } of breached) {
    const { kind, key } = { kind: facts.scope.perspective, key: facts.scope.key };
    await fencedUpsert(`indicator breach ${id}`, fence, () =>
      models.Breaches.updateOne(
        fencedFilter({ _id: id }, fence),
        {
          $setOnInsert: {
            indicatorId: facts.indicatorId,
            indicatorVersion: facts.indicatorVersion,
            scope: id.split('|')[1],
            scopeKind: kind,
            scopeKey: key,
            period: facts.period,
            minimumStandard: facts.minimumStandard,
            direction: facts.direction,
            detectedAt: at,
            publishedAt: null,
          },
          $set: fencedSet(
            { value: facts.value, numerator, denominator, cases: facts.cases, open: true, evaluatedAt: at },
            fence,
          ),
        },
        { upsert: true },
      ).exec(),
    );
  }
  if (clear.length > 0)
    await models.Breaches.updateMany(fencedFilter({ _id: { $in: clear }, open: true }, fence), {
      $set: fencedSet({ open: false, evaluatedAt: at }, fence),
    }).exec();
  if (breached.length === 0) return 0;
  const unpublished = await models.Breaches.find(
    { _id: { $in: breached.map((b) => b.id) }, publishedAt: null },
    { _id: 1 },
  )
    .lean<Array<{ _id: string }>>()
    .exec();
  const pending = new Set(unpublished.map((b) => b._id));
  let published = 0;
  for (const { id, facts } of breached) {
    if (!pending.has(id)) continue;
    await publishCaseEvents(publisher.redis, publisher.prefix, [breachEvent(facts, at)], `indicator-breach:${id}`);
    await models.Breaches.updateOne({ _id: id }, { $set: { publishedAt: at } }).exec();
    published++;
  }
  return published;
}

/** Applies one batch to the indicator counters (fenced like the statistics), then evaluates breaches. */
export async function applyIndicators(
  models: IndicatorModels,
  definitions: readonly IndicatorDefinition[],
  publisher: BreachPublisher,
  batch: CaseEventBatch,
  fence?: number,
): Promise<void> {
  const touched = new Set<string>();
  for (const { event } of batch.entries) for (const doc of indicatorDelta(event).keys()) touched.add(doc);
  const seen = new Map<string, string>();
  if (touched.size > 0) {
    const stored = await models.Counters.find({ _id: { $in: [...touched] } }, { lastEventId: 1 })
      .lean<Array<{ _id: string; lastEventId: string }>>()
      .exec();
    for (const doc of stored) seen.set(doc._id, doc.lastEventId);
  }
  for (const [id, { inc, lastId }] of indicatorIncrements(batch.entries, seen)) {
    const [scope, period] = id.split('|') as [string, string];
    const { kind, key } = scopeOfId(scope);
    const prefixed = Object.fromEntries(Object.entries(inc).map(([path, value]) => [`c.${path}`, value]));
    // Conditional on the lastEventId read above, and fenced: a paused holder cannot count a batch twice.
    const write = () =>
      models.Counters.collection.updateOne(
        fencedFilter({ _id: id as never, lastEventId: (seen.get(id) ?? null) as never }, fence),
        {
          $inc: prefixed,
          $set: fencedSet({ lastEventId: lastId, updatedAt: new Date() }, fence),
          $setOnInsert: { scope, scopeKind: kind, scopeKey: key, period },
        },
        { upsert: true },
      );
    try {
      await fencedUpsert(`indicator counters ${id}`, fence, write);
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (!(error instanceof LeaseLostError) && code !== 11000) throw error;
      const stored = await models.Counters.findOne({ _id: id }, { fence: 1 }).lean<{ fence?: number }>().exec();
      if (fence !== undefined && (stored?.fence ?? 0) > fence) throw error;
      throw new Error(
        `indicator counters ${id} were written by another writer during this batch; the batch is retried`,
      );
    }
  }
  await evaluateBreaches(models, definitions, [...touched], publisher, fence);
}

/** Keeps the indicator read model from the case event stream (one writer, checkpoint with the read model). */
export class IndicatorProjector extends ReadModelProjector {
  constructor(
    cases: CasesModels,
    models: IndicatorModels,
    definitions: readonly IndicatorDefinition[],
    redis: Redis,
    prefix: string,
    logger: Logger,
    options: ReadModelProjectorOptions = {},
  ) {
    const publisher = { redis, prefix };
    const spec = {
      name: 'indicator-projector',
      projection: cases.Projection,
      projectionId: INDICATORS_PROJECTION_ID,
      apply: (batch: CaseEventBatch, fence?: number) => applyIndicators(models, definitions, publisher, batch, fence),
      batchSize: 500,
    };
    super(spec, redis, prefix, logger, options);
  }
}

/**
 * Recomputes the case counters from all cases and moves the checkpoint to the stream's tail,
 * then evaluates every document for breaches. For the first start of a store (cases stored
 * before the read model existed, or seeded directly). Assessments and feedback count from their
 * events, or from `outcomes` here.
 */
export async function rebuildIndicators(
  cases: CasesModels,
  models: IndicatorModels,
  definitions: readonly IndicatorDefinition[],
  redis: Redis,
  prefix: string,
  /**
   * The outcome events to count again (ASSESSMENT_RECORDED, FEEDBACK_RECORDED as their writers
   * publish them, rebuilt from where the records are stored): none, the counters hold cases only.
   */
  outcomes?: () => AsyncIterable<CaseEvent>,
): Promise<{ cases: number; documents: number; breaches: number }> {
  const last = await streamTail(redis, prefix);
  const docs = new Map<string, Record<string, unknown>>();
  const sum = (event: CaseEvent) => {
    for (const [id, inc] of indicatorDelta(event)) {
      const target = docs.get(id) ?? {};
      addInto(target, inc);
      docs.set(id, target);
    }
  };
  let count = 0;
  const cursor = cases.Case.find({}, { caseReference: 0, contentHash: 0 })
    .lean<CaseDoc[]>()
    .cursor({ batchSize: 1_000 });
  for await (const doc of cursor) {
    sum({
      type: 'case.created',
      caseId: doc._id.toHexString(),
      version: 1,
      at: new Date().toISOString(),
      before: null,
      after: factsOf(doc),
    });
    count++;
  }
  if (outcomes) for await (const event of outcomes()) sum(event);
  await models.Counters.deleteMany({}).exec();
  const now = new Date();
  const rows = [...docs].map(([id, c]) => {
    const [scope, period] = id.split('|') as [string, string];
    const { kind, key } = scopeOfId(scope);
    return { _id: id, scope, scopeKind: kind, scopeKey: key, period, c, lastEventId: last, updatedAt: now };
  });
  for (let i = 0; i < rows.length; i += 200)
    await models.Counters.collection.insertMany(rows.slice(i, i + 200) as never[]);
  await cases.Projection.updateOne(
    { _id: INDICATORS_PROJECTION_ID },
    { $set: { lastEventId: last, rebuiltAt: new Date() } },
    { upsert: true },
  ).exec();
  let breaches = 0;
  const ids = rows.map((r) => r._id);
  for (let i = 0; i < ids.length; i += 500)
    breaches += await evaluateBreaches(models, definitions, ids.slice(i, i + 500), { redis, prefix });
  // Written outside the indicator projector: no cached answer of the gateway stays current (gateway/cache/).
  await bumpCacheTags(redis, prefix, [ALL_TAG]);
  return { cases: count, documents: rows.length, breaches };
}
