import type { Connection } from 'mongoose';
import type { SubgraphDefinition } from '../../shared/subgraph.js';
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
