import { runSubgraphProcess } from '../../shared/subgraph.js';
import { casesSubgraph } from './subgraph.js';

await runSubgraphProcess('cases', (config) => config.CASES_PORT, (connection, config) => casesSubgraph(connection, config));
