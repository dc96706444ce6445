import { runSubgraphProcess } from '../../shared/subgraph.js';
import { coverageProcess } from './subgraph.js';

await runSubgraphProcess(coverageProcess);
