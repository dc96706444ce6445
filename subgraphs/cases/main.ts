import { createLogger } from '../../shared/logger.js';
import { runSubgraphProcess } from '../../shared/subgraph.js';
import { startStatisticsProjector } from './statistics/projector.js';
import { casesSubgraph } from './subgraph.js';

// The statistics projector keeps the statistics read model from the case event stream, beside the server.
await runSubgraphProcess(
  'cases',
  (config) => config.CASES_PORT,
  (connection, config) => casesSubgraph(connection, config),
  (config) => startStatisticsProjector(config, createLogger('statistics-projector', config)),
);
