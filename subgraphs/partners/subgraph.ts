import type { Connection } from 'mongoose';
import type { SubgraphDefinition, SubgraphProcess } from '../../shared/subgraph.js';
import { loadSchemaFiles } from '../../shared/schema-slices.js';
import { createPartnersLoaders } from './loaders.js';
import { partnersModels } from './models.js';
import { partnersResolvers, type PartnersContext } from './resolvers.js';

export const partnersTypeDefs = loadSchemaFiles(new URL('./', import.meta.url));

export function partnersSubgraph(connection: Connection): SubgraphDefinition<PartnersContext> {
  const models = partnersModels(connection);
  return {
    name: 'partners',
    typeDefs: partnersTypeDefs,
    resolvers: partnersResolvers,
    createContext: (principal) => ({ principal, models, loaders: createPartnersLoaders(models) }),
  };
}

/** The partners subgraph's process (main.ts, and the test system): the server alone. */
export const partnersProcess: SubgraphProcess<PartnersContext> = {
  name: 'partners',
  port: (config) => config.PARTNERS_PORT,
  build: (connection) => partnersSubgraph(connection),
};
