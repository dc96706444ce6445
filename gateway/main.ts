import { runProcess } from '../shared/process.js';
import { startGateway, subgraphUrlsFromConfig } from './server.js';

await runProcess('gateway', 'gateway failed to start', (config, loggerFor) =>
  startGateway({ config, logger: loggerFor('gateway'), subgraphUrls: subgraphUrlsFromConfig(config) }),
);
