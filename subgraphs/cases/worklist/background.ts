import type { Connection } from 'mongoose';
import type { Config } from '../../../shared/config.js';
import { startOwnProjector } from '../../../shared/case-events/index.js';
import { connectDatabase } from '../../../shared/mongo.js';
import type { LoggerFor } from '../../../shared/process.js';
import { createRedis } from '../../../shared/redis.js';
import { casesModels, upgradeKeyMoments } from '../case/models.js';
import { startStatisticsProjector, type StatisticsProjector } from '../statistics/projector.js';
import { lacksPairCounters, rebuildStatistics } from '../statistics/rebuild.js';
import { indicatorsOf, prepareIndicators } from '../indicators/background.js';
import { IndicatorProjector, indicatorModels } from '../indicators/store.js';
import {
  rebuildWorklist,
  WORKLIST_PROJECTION_ID,
  WorklistProjector,
  worklistModel,
  worklistThresholds,
} from './store.js';

/** The cases subgraph's background work: the statistics, worklist and indicator projectors. */
export interface CasesBackground {
  /** Keeps `statistics` (the test system drives it directly). */
  projector: StatisticsProjector;
  worklist: WorklistProjector;
  /** Keeps the indicator values and raises breaches (indicators/). */
  indicators: IndicatorProjector;
  close: () => Promise<void>;
}

/**
 * Before the projectors start, on connections of its own: brings stored cases up to the key
 * moments as the programme names them (upgradeKeyMoments; the statistics spans are then
 * rebuilt), and builds the worklist read model on a store that has none yet (cases stored
 * before it existed, or seeded directly).
 */
export async function prepareReadModels(config: Config, loggerFor: LoggerFor): Promise<void> {
  // Part of the subgraph process's start: logged as it.
  const logger = loggerFor('cases-subgraph');
  const connection = await connectDatabase(config, 'cases');
  const redis = createRedis(config, 'cases-read-models', logger);
  try {
    const models = casesModels(connection);
    const upgraded = await upgradeKeyMomentsOnce(connection, models.Case);
    if (upgraded > 0) {
      const rebuilt = await rebuildStatistics(models, redis, config.QUEUE_PREFIX);
      logger.info({ upgraded, ...rebuilt }, 'key moments upgraded (KM1 = acceptance); statistics rebuilt');
    } else if (await lacksPairCounters(models)) {
      const rebuilt = await rebuildStatistics(models, redis, config.QUEUE_PREFIX);
      logger.info(rebuilt, 'statistics rebuilt with the cross-tab pair counters');
    }
    const checkpoint = await models.Projection.findOne({ _id: WORKLIST_PROJECTION_ID }).lean().exec();
    if (!checkpoint) {
      const Worklist = worklistModel(connection);
      await Worklist.createIndexes();
      const cases = await rebuildWorklist(models, Worklist, worklistThresholds(config), redis, config.QUEUE_PREFIX);
      logger.info({ cases }, 'worklist read model built');
    }
    await prepareIndicators(config, connection, redis, logger);
  } finally {
    redis.disconnect();
    await connection.close();
  }
}

/** Where one-time upgrades of stored cases record that they have run over the whole collection. */
export const MIGRATIONS_COLLECTION = 'migrations';
/** The key-moment upgrade's mark; a later version of the upgrade takes a new id. */
export const KEY_MOMENTS_MIGRATION = 'key-moments-v1';

/**
 * upgradeKeyMoments over every stored case, once: its pass reads every case (about 27 s at
 * 100,000 on the embedded store), which no start should repeat once it has finished. The mark
 * is written only after a whole pass, so a start stopped halfway runs it again; every case this
 * version writes has the upgraded fields, so after the mark nothing is left to upgrade.
 */
export async function upgradeKeyMomentsOnce(
  connection: Connection,
  Case: Parameters<typeof upgradeKeyMoments>[0],
): Promise<number> {
  const migrations = connection.collection<{ _id: string; at: Date; upgraded: number }>(MIGRATIONS_COLLECTION);
  if (await migrations.findOne({ _id: KEY_MOMENTS_MIGRATION }, { maxTimeMS: 10_000 })) return 0;
  const upgraded = await upgradeKeyMoments(Case);
  await migrations.updateOne(
    { _id: KEY_MOMENTS_MIGRATION },
    { $setOnInsert: { at: new Date(), upgraded } },
    { upsert: true },
  );
  return upgraded;
}

/** Starts the cases subgraph's projectors as its process runs them. */
export async function startCasesBackground(
  config: Config,
  loggerFor: LoggerFor,
  options: { blockMs?: number } = {},
): Promise<CasesBackground> {
  await prepareReadModels(config, loggerFor);
  const statistics = await startStatisticsProjector(config, loggerFor('statistics-projector'), options);
  const logger = loggerFor('worklist-projector');
  const thresholds = worklistThresholds(config);
  const definitions = indicatorsOf(config).indicators;
  let worklistClose: (() => Promise<void>) | undefined;
  try {
    const worklist = await startOwnProjector(
      config,
      'cases',
      'worklist-projector',
      logger,
      (connection, redis) =>
        new WorklistProjector(
          casesModels(connection),
          worklistModel(connection),
          thresholds,
          redis,
          config.QUEUE_PREFIX,
          logger,
          options,
        ),
    );
    worklistClose = worklist.close;
    const indicatorLogger = loggerFor('indicator-projector');
    const indicators = await startOwnProjector(
      config,
      'cases',
      'indicator-projector',
      indicatorLogger,
      (connection, redis) =>
        new IndicatorProjector(
          casesModels(connection),
          indicatorModels(connection),
          definitions,
          redis,
          config.QUEUE_PREFIX,
          indicatorLogger,
          options,
        ),
    );
    return {
      projector: statistics.projector,
      worklist: worklist.projector,
      indicators: indicators.projector,
      close: async () => {
        await Promise.all([statistics.close(), worklist.close(), indicators.close()]);
      },
    };
  } catch (error) {
    await Promise.all([statistics.close(), worklistClose?.()]);
    throw error;
  }
}
