import { loadConfigOrExit } from '../shared/config.js';
import { exitOnSignals } from '../shared/http.js';
import { createLogger } from '../shared/logger.js';
import { startGateway, subgraphUrlsFromConfig } from './server.js';

const config = loadConfigOrExit();
const logger = createLogger('gateway', config);
try {
  const service = await startGateway({ config, logger, subgraphUrls: subgraphUrlsFromConfig(config) });
  exitOnSignals(service, logger, config.SHUTDOWN_TIMEOUT_MS);
} catch (error) {
  logger.fatal({ err: error }, 'gateway failed to start');
  process.exit(1);
}
