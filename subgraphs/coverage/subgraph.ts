import type { Connection } from 'mongoose';
import type { SubgraphDefinition, SubgraphProcess } from '../../shared/subgraph.js';
import { loadSchemaFiles } from '../../shared/schema-slices.js';
import { createCoverageLoaders } from './loaders.js';
import { coverageModels } from './models.js';
import { coverageResolvers, type CoverageContext } from './resolvers.js';

export const coverageTypeDefs = loadSchemaFiles(new URL('./', import.meta.url));

export function coverageSubgraph(connection: Connection): SubgraphDefinition<CoverageContext> {
  const models = coverageModels(connection);
  return {
    name: 'coverage',
    typeDefs: coverageTypeDefs,
    resolvers: coverageResolvers,
    createContext: (principal) => ({ principal, models, loaders: createCoverageLoaders(models) }),
  };
}

/** The coverage subgraph's process (main.ts, and the test system): the server alone. */
export const coverageProcess: SubgraphProcess<CoverageContext> = {
  name: 'coverage',
  port: (config) => config.COVERAGE_PORT,
  build: (connection) => coverageSubgraph(connection),
};
