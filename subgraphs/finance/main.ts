import { createLogger } from '../../shared/logger.js';
import { runSubgraphProcess } from '../../shared/subgraph.js';
import { financeSubgraph } from './subgraph.js';

await runSubgraphProcess('finance', (config) => config.FINANCE_PORT, (connection, config) =>
  financeSubgraph(connection, config, { runProjector: true, logger: createLogger('finance-projector', config) }),
);
