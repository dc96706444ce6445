import type { Redis } from 'ioredis';
import { caseEventStream, compareStreamIds, streamTail, type CaseEvent } from '../../shared/case-events/index.js';
import { LeasedLoop } from '../../shared/leased-loop.js';
import type { Logger } from '../../shared/logger.js';
import type { Package } from '../../shared/domain.js';
import { commitmentInc, disbursementInc, entitlementOf, peopleDelta, type FinanceFacts, type SpendInc } from './ledger.js';
import type { LedgerModels } from './models-ledger.js';
import type { FinanceModels } from './models.js';
import type { TariffRow } from './rules.js';

const PROJECTION_ID = 'finance';

/**
 * Keeps finance's case ledger and the yearly spend read model from the case event stream:
 * entitlements when cases appear or change, commitments when a plan is approved,
 * disbursements when partners report them. Single writer (Redis lease); every document
 * remembers the last event it applied, so a replay never counts twice.
 */
export class FinanceProjector {
  private readonly loop: LeasedLoop;

  constructor(
    private readonly models: FinanceModels & LedgerModels,
    private readonly redis: Redis,
    private readonly prefix: string,
    logger: Logger,
    private readonly options: { blockMs?: number; batchSize?: number } = {},
  ) {
    this.loop = new LeasedLoop(redis, `${prefix}:lease:finance-projector`, () => this.applyBatch(), logger);
  }

  async checkpoint(): Promise<string> {
    return (await this.models.Projection.findOne({ _id: PROJECTION_ID }).lean().exec())?.lastEventId ?? '0-0';
  }

  async catchUp(): Promise<number> {
    let total = 0;
    for (let n = await this.applyBatch(0); n > 0; n = await this.applyBatch(0)) total += n;
    return total;
  }

  async applyBatch(blockMs = this.options.blockMs ?? 1_000): Promise<number> {
    const from = await this.checkpoint();
    const args = ['COUNT', String(this.options.batchSize ?? 500), ...(blockMs > 0 ? ['BLOCK', String(blockMs)] : []), 'STREAMS', caseEventStream(this.prefix), from];
    const reply = (await this.redis.call('XREAD', ...args)) as Array<[string, Array<[string, string[]]>]> | null;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) return 0;
    const tariffs = await this.models.Tariff.find({}, { _id: 0 }).lean<TariffRow[]>().exec();
    for (const [id, fields] of entries) {
      const event = JSON.parse(fields[fields.indexOf('event') + 1] ?? 'null') as CaseEvent;
      await this.apply(id, event, tariffs);
    }
    await this.models.Projection.updateOne({ _id: PROJECTION_ID }, { $set: { lastEventId: entries.at(-1)![0] } }, { upsert: true }).exec();
    return entries.length;
  }

  private async spend(year: string, inc: SpendInc, id: string): Promise<void> {
    const doc = await this.models.Spend.findOne({ _id: year }, { lastEventId: 1 }).lean().exec();
    if (doc && compareStreamIds(doc.lastEventId, id) >= 0) return;
    await this.models.Spend.collection.updateOne({ _id: year as never }, { $inc: inc, $set: { lastEventId: id } }, { upsert: true });
  }

  private async apply(id: string, event: CaseEvent, tariffs: readonly TariffRow[]): Promise<void> {
    if (!event.caseId) return;
    // Increments per yearly spend document, merged so each document is written once per event.
    const perYear = new Map<string, SpendInc>();
    const add = ([year, inc]: [string, SpendInc]) => {
      const target = perYear.get(year) ?? {};
      for (const [path, value] of Object.entries(inc)) target[path] = (target[path] ?? 0) + value;
      perYear.set(year, target);
    };
    const ledger = await this.models.CaseFinance.findOne({ _id: event.caseId }).lean().exec();
    const seen = ledger && compareStreamIds(ledger.lastEventId, id) >= 0;
    if (event.after && !seen) {
      const entitlement = entitlementOf(event.after, tariffs);
      await this.models.CaseFinance.collection.updateOne(
        { _id: event.caseId as never },
        {
          $set: {
            memberState: event.after.memberState,
            countryOfOrigin: event.after.countryOfOrigin,
            partnerId: event.after.partnerId,
            packages: event.after.packages,
            returnType: event.after.returnType,
            familySize: event.after.returnees,
            departureDate: event.after.departureDate,
            entitlementCents: entitlement.totalCents,
            entitlementLines: entitlement.lines,
            lastEventId: id,
          },
          $setOnInsert: { committedCents: 0, committedAt: null, disbursedCents: 0 },
        },
        { upsert: true },
      );
      if (event.transition === 'approveReintegrationPlan') {
        await this.models.CaseFinance.collection.updateOne({ _id: event.caseId as never }, { $set: { committedCents: entitlement.totalCents, committedAt: new Date(event.at) } });
        add(commitmentInc(event.after, entitlement.lines, event.at));
      }
    }
    if (event.type === 'case.disbursed' && event.disbursement && ledger && !seen) {
      const facts: FinanceFacts = { ...(ledger as unknown as FinanceFacts), returnees: ledger.familySize, month: (ledger.departureDate ?? '').slice(0, 7) };
      await this.models.CaseFinance.collection.updateOne({ _id: event.caseId as never }, { $inc: { disbursedCents: event.disbursement.amountCents }, $set: { lastEventId: id } });
      add(disbursementInc(facts, event.disbursement.package as Package, event.disbursement.amountCents, event.disbursement.date));
    }
    for (const entry of peopleDelta(event.before, event.after)) add(entry);
    for (const [year, inc] of perYear) await this.spend(year, inc, id);
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }
}

/** Moves finance's checkpoint to the end of the stream (after seeding its ledger directly). */
export async function resetFinanceCheckpoint(models: LedgerModels, redis: Redis, prefix: string): Promise<void> {
  const last = await streamTail(redis, prefix);
  await models.Projection.updateOne({ _id: PROJECTION_ID }, { $set: { lastEventId: last } }, { upsert: true }).exec();
}
