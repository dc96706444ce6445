import { runSubgraphProcess } from '../../shared/subgraph.js';
import { partnersSubgraph } from './subgraph.js';

await runSubgraphProcess('partners', (config) => config.PARTNERS_PORT, partnersSubgraph);
