import { runSubgraphProcess } from '../../shared/subgraph.js';
import { financeProcess } from './subgraph.js';

// What the process runs, its projector included, is declared once in subgraph.ts (the test system starts the same).
await runSubgraphProcess(financeProcess);
