import { runSubgraphProcess } from '../../shared/subgraph.js';
import { financeSubgraph } from './subgraph.js';

await runSubgraphProcess('finance', (config) => config.FINANCE_PORT, (connection) => financeSubgraph(connection));
