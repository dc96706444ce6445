import type { Connection } from 'mongoose';
import { loadSchemaFile, type SubgraphDefinition } from '../../shared/subgraph.js';
import { createFinanceLoaders } from './loaders.js';
import { financeModels } from './models.js';
import { financeResolvers, type FinanceContext } from './resolvers.js';

export const financeTypeDefs = loadSchemaFile(new URL('./schema.graphql', import.meta.url));

export function financeSubgraph(
  connection: Connection,
  today: () => string = () => new Date().toISOString().slice(0, 10),
): SubgraphDefinition<FinanceContext> {
  const models = financeModels(connection);
  return {
    name: 'finance',
    typeDefs: financeTypeDefs,
    resolvers: financeResolvers,
    createContext: (principal) => ({ principal, models, loaders: createFinanceLoaders(models), today }),
  };
}
