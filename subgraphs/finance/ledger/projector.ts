import type { Redis } from 'ioredis';
import { fencedFilter, fencedSet, fencedUpsert, refusedUnlessMatched } from '../../../shared/fence.js';
import {
  compareStreamIds,
  ReadModelProjector,
  resetProjectionCheckpoint,
  startOwnProjector,
  type CaseEvent,
  type CaseEventBatch,
  type ReadModelProjectorOptions,
  type RunningProjector,
} from '../../../shared/case-events/index.js';
import type { Config } from '../../../shared/config.js';
import type { Package } from '../../../shared/domain.js';
import type { Logger } from '../../../shared/logger.js';
import { noEntitlementReason, targetCommitmentCents } from './rules.js';
import {
  commitmentChangeInc,
  disbursementInc,
  entitlementOf,
  ledgerCaseFacts,
  peopleDelta,
  type FinanceFacts,
  type SpendInc,
} from './projection.js';
import { ledgerModels, type CaseFinanceDoc, type LedgerModels } from './models.js';
import { financeModels, type FinanceModels } from '../tariffs/models.js';
import type { TariffRow } from '../tariffs/rules.js';

const PROJECTION_ID = 'finance';

/** What one event changes in finance's read models. */
export interface FinanceEffects {
  /** The case's ledger entry, written when the event carries facts finance has not applied yet. */
  entry: Record<string, unknown> | null;
  /** A disbursement adds to what was paid out on the case. */
  disbursedCents: number | null;
  /** Increments per yearly spend document, merged so each document is written once per event. */
  spend: Map<string, SpendInc>;
}

/**
 * Finance's decisions for one event, given the case's ledger entry before it: entitlements
 * when cases appear or change, commitments when a plan is approved, disbursements when
 * partners report them, people supported per year. An event the ledger entry already
 * applied changes nothing there (the spend documents check their own last event).
 */
export function financeEffects(
  id: string,
  event: CaseEvent,
  ledger: CaseFinanceDoc | null,
  tariffs: readonly TariffRow[],
): FinanceEffects {
  const effects: FinanceEffects = { entry: null, disbursedCents: null, spend: new Map() };
  if (!event.caseId) return effects;
  const add = ([year, inc]: [string, SpendInc]) => {
    const target = effects.spend.get(year) ?? {};
    for (const [path, value] of Object.entries(inc)) target[path] = (target[path] ?? 0) + value;
    effects.spend.set(year, target);
  };
  const seen = ledger !== null && compareStreamIds(ledger.lastEventId, id) >= 0;
  if (event.after && !seen) {
    const after = event.after;
    const none = noEntitlementReason(after);
    const entitlement = none ? { totalCents: 0, lines: [] } : entitlementOf(after, tariffs);
    // Commitments follow the case (rules.ts): the entitlement once an eligible case is accepted, only what was
    // paid once it is ineligible or withdrawn. The entry holds the absolute amount; the spend gets the change.
    const committedBefore = ledger?.committedCents ?? 0;
    const committed = targetCommitmentCents(after, entitlement.totalCents, ledger?.disbursedCents ?? 0);
    effects.entry = {
      memberState: after.memberState,
      countryOfOrigin: after.countryOfOrigin,
      partnerId: after.partnerId,
      packages: after.packages,
      returnType: after.returnType,
      familySize: after.returnees,
      departureDate: after.departureDate,
      entitlementCents: entitlement.totalCents,
      entitlementLines: entitlement.lines,
      ...ledgerCaseFacts(after),
      committedCents: committed,
      committedAt: committed > 0 ? (ledger?.committedAt ?? new Date(event.at)) : (ledger?.committedAt ?? null),
      lastEventId: id,
    };
    if (committed !== committedBefore) {
      const split = entitlement.lines.length > 0 ? entitlement.lines : (ledger?.entitlementLines ?? []);
      add(commitmentChangeInc(after, split, committed - committedBefore, event.at));
    }
  }
  if (event.type === 'case.disbursed' && event.disbursement && ledger && !seen) {
    const month = (ledger.departureDate ?? '').slice(0, 7);
    const facts: FinanceFacts = { ...(ledger as unknown as FinanceFacts), returnees: ledger.familySize, month };
    effects.disbursedCents = event.disbursement.amountCents;
    const { package: pkg, amountCents, date } = event.disbursement;
    add(disbursementInc(facts, pkg as Package, amountCents, date));
  }
  for (const entry of peopleDelta(event.before, event.after)) add(entry);
  return effects;
}

type ProjectorModels = FinanceModels & LedgerModels;

async function writeEffects(
  models: ProjectorModels,
  id: string,
  caseId: string,
  effects: FinanceEffects,
  fence: number | undefined,
  ledger: CaseFinanceDoc | null,
): Promise<void> {
  // Fenced (README, "Leases and fencing"): a projector paused past its lease writes nothing the next holder wrote.
  const cases = models.CaseFinance.collection;
  const caseFilter = fencedFilter({ _id: caseId as never }, fence);
  const newer = async (mine: number) =>
    (await cases.countDocuments({ _id: caseId as never, fence: { $gt: mine } })) > 0;
  if (effects.entry) {
    const setOnInsert = { disbursedCents: 0 };
    const entry = fencedSet(effects.entry, fence);
    await fencedUpsert(`case ledger ${caseId}`, fence, () =>
      cases.updateOne(caseFilter, { $set: entry, $setOnInsert: setOnInsert }, { upsert: true }),
    );
  }
  if (effects.disbursedCents !== null) {
    const disbursed = effects.disbursedCents;
    await refusedUnlessMatched(
      `case ledger ${caseId}`,
      fence,
      // Also conditional on the disbursement last added being the one read: the fence refuses only a
      // document a newer holder already wrote, so a paused holder waking between the newer one's read
      // and its write would add the same amount twice. A miss here means another writer added it.
      () =>
        cases.updateOne(
          { ...caseFilter, lastDisbursedEventId: (ledger?.lastDisbursedEventId ?? null) as never },
          {
            $inc: { disbursedCents: disbursed },
            $set: fencedSet({ lastEventId: id, lastDisbursedEventId: id }, fence),
          },
        ),
      newer,
    );
  }
  for (const [year, inc] of effects.spend) {
    const doc = await models.Spend.findOne({ _id: year }, { lastEventId: 1 }).lean().exec();
    if (doc && compareStreamIds(doc.lastEventId, id) >= 0) continue;
    // Conditional on the lastEventId read (as the statistics are): a miss inserts the same _id and fails,
    // and the batch is retried, then finds the event counted.
    await fencedUpsert(`spend ${year}`, fence, () =>
      models.Spend.collection.updateOne(
        fencedFilter({ _id: year as never, lastEventId: (doc?.lastEventId ?? null) as never }, fence),
        { $inc: inc, $set: fencedSet({ lastEventId: id }, fence) },
        { upsert: true },
      ),
    );
  }
}

/** Applies one batch to finance's case ledger and yearly spend, event by event. */
export async function applyFinance(models: ProjectorModels, batch: CaseEventBatch, fence?: number): Promise<void> {
  const tariffs = await models.Tariff.find({}, { _id: 0 }).lean<TariffRow[]>().exec();
  for (const { id, event } of batch.entries) {
    if (!event.caseId) continue;
    const ledger = await models.CaseFinance.findOne({ _id: event.caseId }).lean<CaseFinanceDoc>().exec();
    await writeEffects(models, id, event.caseId, financeEffects(id, event, ledger, tariffs), fence, ledger);
  }
}

/**
 * Keeps finance's case ledger and the yearly spend read model from the case event stream.
 * Single writer (Redis lease); every document remembers the last event it applied, and the
 * checkpoint is stored with the ledger, so a replay never counts twice.
 */
export class FinanceProjector extends ReadModelProjector {
  constructor(
    models: ProjectorModels,
    redis: Redis,
    prefix: string,
    logger: Logger,
    options: ReadModelProjectorOptions = {},
  ) {
    const spec = {
      name: 'finance-projector',
      projection: models.Projection,
      projectionId: PROJECTION_ID,
      apply: (batch: CaseEventBatch, fence?: number) => applyFinance(models, batch, fence),
      batchSize: 500,
    };
    super(spec, redis, prefix, logger, options);
  }
}

/** A running finance projector on connections of its own. */
export type RunningFinanceProjector = RunningProjector<FinanceProjector>;

/** Starts the finance projector as the finance subgraph's process runs it, on its own connections. */
export function startFinanceProjector(
  config: Config,
  logger: Logger,
  options: { blockMs?: number } = {},
): Promise<RunningFinanceProjector> {
  return startOwnProjector(config, 'finance', 'finance-projector', logger, (connection, redis) => {
    const models = { ...financeModels(connection), ...ledgerModels(connection) };
    return new FinanceProjector(models, redis, config.QUEUE_PREFIX, logger, options);
  });
}

/** Moves finance's checkpoint to the end of the stream (after seeding its ledger directly). */
export function resetFinanceCheckpoint(models: LedgerModels, redis: Redis, prefix: string): Promise<void> {
  return resetProjectionCheckpoint(models.Projection, PROJECTION_ID, redis, prefix);
}
