import type { Connection } from 'mongoose';
import type { SubgraphDefinition, SubgraphProcess } from '../../shared/subgraph.js';
import { loadSchemaFiles } from '../../shared/schema-slices.js';
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/config.js';
import { createRedis } from '../../shared/redis.js';
import { publishReferenceChange, type ReferenceChange } from '../cases/reference/stream.js';
import { createCoverageLoaders } from './loaders.js';
import { coverageModels } from './models.js';
import { coverageResolvers, type CoverageContext } from './resolvers.js';

export const coverageTypeDefs = loadSchemaFiles(new URL('./', import.meta.url));

export function coverageSubgraph(
  connection: Connection,
  options: { config?: Pick<Config, 'REDIS_URL' | 'QUEUE_PREFIX'>; redis?: Redis } = {},
): SubgraphDefinition<CoverageContext> {
  const models = coverageModels(connection);
  // Reference changes are published on the reference-data stream (the cases subgraph keeps its copy from it).
  let ownRedis: Redis | undefined;
  const publishReference = async (change: ReferenceChange) => {
    if (!options.config) throw new Error('no Redis configured for the reference-data stream');
    const redis = options.redis ?? (ownRedis ??= createRedis(options.config, 'coverage-subgraph'));
    return publishReferenceChange(redis, options.config.QUEUE_PREFIX, change);
  };
  return {
    name: 'coverage',
    typeDefs: coverageTypeDefs,
    resolvers: coverageResolvers,
    createContext: (principal) => ({ principal, models, loaders: createCoverageLoaders(models), publishReference }),
    close: async () => {
      ownRedis?.disconnect();
    },
  };
}

/** The coverage subgraph's process (main.ts, and the test system): the server alone. */
export const coverageProcess: SubgraphProcess<CoverageContext> = {
  name: 'coverage',
  port: (config) => config.COVERAGE_PORT,
  build: (connection, config, { pieces }) => coverageSubgraph(connection, { config, redis: pieces.redis }),
};
