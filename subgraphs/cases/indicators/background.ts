import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Connection } from 'mongoose';
import type { Redis } from 'ioredis';
import type { Config } from '../../../shared/config.js';
import type { Logger } from '../../../shared/logger.js';
import { casesModels } from '../case/models.js';
import { DEFAULT_INDICATORS_FILE, loadIndicatorFile, type IndicatorFile } from './definitions.js';
import { INDICATORS_PROJECTION_ID, indicatorModels, rebuildIndicators } from './store.js';

const ROOT_DIR = fileURLToPath(new URL('../../../', import.meta.url));
const loaded = new Map<string, IndicatorFile>();

/** The indicators file in force (INDICATORS_FILE, relative to the repository root), read and checked once. */
export function indicatorsOf(config: Partial<Pick<Config, 'INDICATORS_FILE'>>): IndicatorFile {
  const name = config.INDICATORS_FILE ?? DEFAULT_INDICATORS_FILE;
  const path = isAbsolute(name) ? name : resolve(ROOT_DIR, name);
  let file = loaded.get(path);
  if (!file) {
    file = loadIndicatorFile(path);
    loaded.set(path, file);
  }
  return file;
}

/**
 * Builds the indicator read model on a store that has none yet (cases stored before it existed,
 * or seeded directly), and raises the breaches it holds. Assessments and feedback count from
 * their events.
 */
export async function prepareIndicators(
  config: Pick<Config, 'QUEUE_PREFIX'> & Partial<Pick<Config, 'INDICATORS_FILE'>>,
  connection: Connection,
  redis: Redis,
  logger: Logger,
): Promise<void> {
  const cases = casesModels(connection);
  const checkpoint = await cases.Projection.findOne({ _id: INDICATORS_PROJECTION_ID }).lean().exec();
  if (checkpoint) return;
  const models = indicatorModels(connection);
  await Promise.all([models.Counters.createIndexes(), models.Breaches.createIndexes()]);
  const built = await rebuildIndicators(cases, models, indicatorsOf(config).indicators, redis, config.QUEUE_PREFIX);
  logger.info(built, 'indicator read model built');
}

/**
 * `npm run seed`: the indicator read model rebuilt from the demo cases written directly (no
 * events), and the breaches their distributions hold raised and published.
 */
export async function seedIndicators(
  config: Pick<Config, 'QUEUE_PREFIX'> & Partial<Pick<Config, 'INDICATORS_FILE'>>,
  connection: Connection,
  redis: Redis,
): Promise<{ cases: number; documents: number; breaches: number }> {
  const models = indicatorModels(connection);
  await Promise.all([models.Counters.createIndexes(), models.Breaches.createIndexes()]);
  // A reload starts from no breaches: those of the previous demo data are gone with it.
  await models.Breaches.deleteMany({}).exec();
  await rebuildIndicators(casesModels(connection), models, indicatorsOf(config).indicators, redis, config.QUEUE_PREFIX);
  const [documents, breaches] = await Promise.all([
    models.Counters.estimatedDocumentCount().exec(),
    models.Breaches.countDocuments({ open: true }).exec(),
  ]);
  return { cases: await casesModels(connection).Case.estimatedDocumentCount().exec(), documents, breaches };
}
