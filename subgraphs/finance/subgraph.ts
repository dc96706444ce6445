import type { Connection } from 'mongoose';
import { FinanceAccess } from './access.js';
import { loadSchemaFile, type SubgraphDefinition } from '../../shared/subgraph.js';
import { createFinanceLoaders } from './loaders.js';
import { financeModels } from './models.js';
import { financeResolvers, type FinanceContext } from './resolvers.js';
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/config.js';
import { publishCaseEvents, type CaseEvent } from '../../shared/case-events/index.js';
import type { Logger } from '../../shared/logger.js';
import { createRedis } from '../../shared/redis.js';
import { createLedgerLoaders } from './loaders.js';
import { ledgerModels } from './models-ledger.js';

export const financeTypeDefs = loadSchemaFile(new URL('./schema.graphql', import.meta.url));

/**
 * The finance subgraph. Its projector (finance's ledger and spend from the case event
 * stream) runs beside it in the same process, started by main.ts (projector.ts).
 */
export function financeSubgraph(
  connection: Connection,
  config: Pick<Config, 'REDIS_URL' | 'QUEUE_PREFIX'>,
  options: { redis?: Redis; today?: () => string; logger?: Logger } = {},
): SubgraphDefinition<FinanceContext> {
  const models = { ...financeModels(connection), ...ledgerModels(connection) };
  const redis = options.redis ?? createRedis(config, 'finance-subgraph', options.logger);
  const today = options.today ?? (() => new Date().toISOString().slice(0, 10));
  const publish = (events: ReadonlyArray<CaseEvent>) => publishCaseEvents(redis, config.QUEUE_PREFIX, events);
  return {
    name: 'finance',
    typeDefs: financeTypeDefs,
    resolvers: financeResolvers,
    createContext: (principal) => {
      const ledger = createLedgerLoaders(models);
      return { principal, models, loaders: createFinanceLoaders(models), ledger, access: new FinanceAccess(principal, ledger.caseById), publish, today };
    },
    close: async () => {
      if (!options.redis) redis.disconnect();
    },
  };
}
