import type { Connection } from 'mongoose';
import type { SubgraphDefinition, SubgraphProcess } from '../../shared/subgraph.js';
import { loadSchemaFiles, mergeResolvers } from '../../shared/schema-slices.js';
import { DateScalar, DateTimeScalar } from '../../shared/scalars.js';
import type { FinanceContext } from './context.js';
import { FinanceAccess } from './ledger/access.js';
import { createLedgerLoaders } from './ledger/loaders.js';
import { ledgerModels } from './ledger/models.js';
import { ledgerResolvers } from './ledger/resolvers.js';
import { createFinanceLoaders } from './tariffs/loaders.js';
import { financeModels } from './tariffs/models.js';
import { tariffResolvers } from './tariffs/resolvers.js';
import type { Redis } from 'ioredis';
import { publishReferenceChange, type ReferenceChange } from '../cases/reference/stream.js';
import type { Config } from '../../shared/config.js';
import { publishCaseEvents, type CaseEvent } from '../../shared/case-events/index.js';
import type { Logger } from '../../shared/logger.js';
import { createRedis } from '../../shared/redis.js';
import { startFinanceProjector, type RunningFinanceProjector } from './ledger/projector.js';

/** The root's slice (scalars, the enums both features use) and each feature folder's `schema.graphql`, merged. */
export const financeTypeDefs = loadSchemaFiles(new URL('./', import.meta.url));

/** Each feature folder's resolvers, merged; the calendar scalars are the root's (Cents is the ledger's). */
export const financeResolvers = mergeResolvers<FinanceContext>(
  { Date: DateScalar, DateTime: DateTimeScalar },
  ledgerResolvers,
  tariffResolvers,
);

/**
 * The finance subgraph. Its projector (finance's ledger and spend from the case event
 * stream) runs beside it in the same process (financeProcess below, ledger/projector.ts).
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
  const publishReference = (change: ReferenceChange) => publishReferenceChange(redis, config.QUEUE_PREFIX, change);
  return {
    name: 'finance',
    typeDefs: financeTypeDefs,
    resolvers: financeResolvers,
    createContext: (principal) => {
      const ledger = createLedgerLoaders(models);
      return {
        principal,
        models,
        loaders: createFinanceLoaders(models),
        ledger,
        access: new FinanceAccess(principal, ledger.caseById),
        publish,
        publishReference,
        today,
      };
    },
    close: async () => {
      if (!options.redis) redis.disconnect();
    },
  };
}

/**
 * The finance subgraph's process (main.ts, and the test system): the finance projector keeps
 * finance's ledger and spend from the case event stream beside the server.
 */
export const financeProcess: SubgraphProcess<FinanceContext, RunningFinanceProjector> = {
  name: 'finance',
  port: (config) => config.FINANCE_PORT,
  build: (connection, config, { logger, pieces }) =>
    financeSubgraph(connection, config, { logger, redis: pieces.redis, today: pieces.today }),
  background: (config, loggerFor, pieces) =>
    startFinanceProjector(config, loggerFor('finance-projector'), { blockMs: pieces.blockMs ?? 200 }),
};
