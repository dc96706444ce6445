import type { Connection } from 'mongoose';
import { loadSchemaFile, type SubgraphDefinition } from '../../shared/subgraph.js';
import { createCasesLoaders } from './loaders.js';
import { casesModels } from './models.js';
import { casesResolvers, type CasesContext } from './resolvers.js';

export const casesTypeDefs = loadSchemaFile(new URL('./schema.graphql', import.meta.url));

export function casesSubgraph(connection: Connection): SubgraphDefinition<CasesContext> {
  const models = casesModels(connection);
  return {
    name: 'cases',
    typeDefs: casesTypeDefs,
    resolvers: casesResolvers,
    createContext: (principal) => ({ principal, models, loaders: createCasesLoaders(models) }),
  };
}
