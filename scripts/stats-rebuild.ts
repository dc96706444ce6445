/**
 * npm run stats:rebuild — recomputes the statistics read model from all cases (repair after
 * an outage between a write and its event). Run while ingestion and mutations are quiet.
 */
import { loadConfigOrExit } from '../shared/config.js';
import { connectDatabase } from '../shared/mongo.js';
import { createRedis } from '../shared/redis.js';
import { casesModels } from '../subgraphs/cases/case/models.js';
import { rebuildStatistics } from '../subgraphs/cases/statistics/rebuild.js';

const config = loadConfigOrExit();
const connection = await connectDatabase(config, 'cases');
const redis = createRedis(config, 'stats-rebuild');
try {
  const started = Date.now();
  const result = await rebuildStatistics(casesModels(connection), redis, config.QUEUE_PREFIX);
  process.stdout.write(
    `statistics rebuilt from ${result.cases} cases into ${result.scopes} scopes ` +
      `in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
} finally {
  redis.disconnect();
  await connection.close();
}
