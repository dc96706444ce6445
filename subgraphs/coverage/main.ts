import { runSubgraphProcess } from '../../shared/subgraph.js';
import { coverageSubgraph } from './subgraph.js';

await runSubgraphProcess('coverage', (config) => config.COVERAGE_PORT, coverageSubgraph);
