import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';

/**
 * The graph from this page: queries over HTTP, subscriptions over graphql-ws on the same path,
 * both with the session's bearer token (as `connectionParams.authorization` for the socket).
 */
export function graphClient(graphqlPath: string, token: string): { client: Client; dispose: () => void } {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  const ws: WsClient = createWsClient({
    url: `${scheme}://${window.location.host}${graphqlPath}`,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: true,
    retryAttempts: 5,
  });
  const client = new Client({
    url: graphqlPath,
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe: (sink) => ({ unsubscribe: ws.subscribe(input, sink) }),
          };
        },
      }),
    ],
  });
  return { client, dispose: () => void ws.dispose() };
}
