/**
 * The baseline for `npm run bench:gateway`: @apollo/gateway with default settings
 * (default fetcher, no timeouts) on the same supergraph, served by Apollo's standalone server.
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { SUPERGRAPH_FILE, type SubgraphId } from '../gateway/compose.js';
import { PRINCIPAL_HEADER, signPrincipal } from '../shared/auth.js';
import { loadConfig } from '../shared/config.js';
import { BENCH_PRINCIPAL } from './env.js';

const signingKey = loadConfig().INTERNAL_SIGNING_KEY;

const urls: Record<SubgraphId, string> = JSON.parse(process.env.BENCH_SUBGRAPH_URLS ?? '{}') as Record<
  SubgraphId,
  string
>;
const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(SUPERGRAPH_FILE, 'utf8'),
  // Only the URL differs from the defaults (the committed supergraph has placeholder hosts),
  // plus the signed principal header without which our subgraphs answer nothing (the
  // bench's principal, the one `ours` gets from its bearer token).
  buildService: ({ name }) =>
    new RemoteGraphQLDataSource({
      url: urls[name as SubgraphId],
      willSendRequest: ({ request }) => {
        request.http?.headers.set(PRINCIPAL_HEADER, signPrincipal(BENCH_PRINCIPAL, signingKey));
      },
    }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.BENCH_PORT ?? 4100), host: '127.0.0.1' },
});
process.stdout.write(`plain gateway ready at ${url}\n`);
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
