import type { Connection } from 'mongoose';
import { FinanceAccess } from './access.js';
import { loadSchemaFile, type SubgraphDefinition } from '../../shared/subgraph.js';
import { createFinanceLoaders } from './loaders.js';
import { financeModels } from './models.js';
import { financeResolvers, type FinanceContext } from './resolvers.js';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Config } from '../../shared/config.js';
import { publishCaseEvents, type CaseEvent } from '../../shared/case-events/index.js';
import type { Logger } from '../../shared/logger.js';
import { createRedis, duplicateRedis } from '../../shared/redis.js';
import { createLedgerLoaders } from './loaders.js';
import { ledgerModels } from './models-ledger.js';
import { FinanceProjector } from './projector.js';

export const financeTypeDefs = loadSchemaFile(new URL('./schema.graphql', import.meta.url));

/**
 * The finance subgraph. With `runProjector`, this process also keeps finance's ledger and
 * spend read model from the case event stream (one writer at a time across replicas).
 */
export function financeSubgraph(
  connection: Connection,
  config: Pick<Config, 'REDIS_URL' | 'QUEUE_PREFIX'>,
  options: { redis?: Redis; today?: () => string; runProjector?: boolean; logger?: Logger; projectorConnection?: Connection } = {},
): SubgraphDefinition<FinanceContext> & { projector?: FinanceProjector } {
  const models = { ...financeModels(connection), ...ledgerModels(connection) };
  const redis = options.redis ?? createRedis(config, 'finance-subgraph', options.logger);
  const today = options.today ?? (() => new Date().toISOString().slice(0, 10));
  const publish = (events: ReadonlyArray<CaseEvent>) => publishCaseEvents(redis, config.QUEUE_PREFIX, events);
  const projectorRedis = options.runProjector ? duplicateRedis(redis, 'finance-projector', options.logger) : undefined;
  const projectorModels = options.projectorConnection ? { ...financeModels(options.projectorConnection), ...ledgerModels(options.projectorConnection) } : models;
  const projector = projectorRedis
    ? new FinanceProjector(projectorModels, projectorRedis, config.QUEUE_PREFIX, options.logger ?? pino({ level: 'silent' }), { blockMs: 200 })
    : undefined;
  projector?.start();
  return {
    name: 'finance',
    typeDefs: financeTypeDefs,
    resolvers: financeResolvers,
    projector,
    createContext: (principal) => {
      const ledger = createLedgerLoaders(models);
      return { principal, models, loaders: createFinanceLoaders(models), ledger, access: new FinanceAccess(principal, ledger.caseById), publish, today };
    },
    close: async () => {
      await projector?.stop();
      projectorRedis?.disconnect();
      if (!options.redis) redis.disconnect();
    },
  };
}
