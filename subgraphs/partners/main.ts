import { runSubgraphProcess } from '../../shared/subgraph.js';
import { partnersProcess } from './subgraph.js';

await runSubgraphProcess(partnersProcess);
