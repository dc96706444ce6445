/**
 * The third gateway of `npm run bench:gateway`: Hive Gateway (@graphql-hive/gateway, dev
 * dependency, used only here) with its default settings on the same supergraph, served by
 * Node's HTTP server. Like the plain gateway, only two things differ from the defaults: the
 * subgraph URLs (the committed supergraph has placeholder hosts) and the signed principal
 * header on every subgraph request (the bench's principal, as our gateway signs it for
 * the bench's token), without which our subgraphs answer nothing.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { SUPERGRAPH_FILE, type SubgraphId } from '../gateway/compose.js';
import { PRINCIPAL_HEADER, signPrincipal } from '../shared/auth.js';
import { loadConfig } from '../shared/config.js';
import { BENCH_PRINCIPAL } from './env.js';
import { withSubgraphUrls } from './hive-gateway-urls.js';

/** The part of Hive Gateway's API this file uses. */
interface FetchHookPayload {
  options: { headers?: Record<string, string> | Headers | Array<[string, string]> };
  setOptions(options: FetchHookPayload['options']): void;
}
interface HiveGatewayRuntime {
  (request: IncomingMessage, response: ServerResponse): void;
  dispose(): Promise<void> | void;
}
interface HiveGatewayModule {
  createGatewayRuntime(config: {
    supergraph: string;
    plugins: () => Array<{ onFetch: (payload: FetchHookPayload) => void }>;
    logging: string;
    landingPage: boolean;
    graphiql: boolean;
  }): HiveGatewayRuntime;
}
// Loaded by name at run time: the package's type declarations change the global fetch types
// (its whatwg-node lib) for the whole program, which the product's code must not see.
const HIVE_GATEWAY = '@graphql-hive/gateway';
const { createGatewayRuntime } = (await import(HIVE_GATEWAY)) as HiveGatewayModule;

const signingKey = loadConfig().INTERNAL_SIGNING_KEY;
const urls = JSON.parse(process.env.BENCH_SUBGRAPH_URLS ?? '{}') as Partial<Record<SubgraphId, string>>;

/** Signs the principal header on each subgraph request, as gateway/datasource.ts does for ours. */
const signedPrincipal = {
  onFetch({ options, setOptions }: FetchHookPayload) {
    const headers = new Headers(options.headers);
    headers.set(PRINCIPAL_HEADER, signPrincipal(BENCH_PRINCIPAL, signingKey));
    setOptions({ ...options, headers: Object.fromEntries(headers) });
  },
};

const gateway = createGatewayRuntime({
  supergraph: withSubgraphUrls(readFileSync(SUPERGRAPH_FILE, 'utf8'), urls),
  plugins: () => [signedPrincipal],
  logging: 'error',
  landingPage: false,
  graphiql: false,
});
const port = Number(process.env.BENCH_PORT ?? 4200);
const server = createServer(gateway);
server.listen(port, '127.0.0.1', () => process.stdout.write(`hive gateway ready at http://127.0.0.1:${port}/\n`));
process.on('SIGTERM', () => {
  server.close();
  void Promise.resolve(gateway.dispose()).then(() => process.exit(0));
});
