import { createLogger } from '../../shared/logger.js';
import { runSubgraphProcess } from '../../shared/subgraph.js';
import { startFinanceProjector } from './ledger/projector.js';
import { financeSubgraph } from './subgraph.js';

// The finance projector keeps finance's ledger and spend from the case event stream, beside the server.
await runSubgraphProcess(
  'finance',
  (config) => config.FINANCE_PORT,
  (connection, config) => financeSubgraph(connection, config, { logger: createLogger('finance-subgraph', config) }),
  (config) => startFinanceProjector(config, createLogger('finance-projector', config), { blockMs: 200 }),
);
