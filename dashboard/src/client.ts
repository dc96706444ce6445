import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';

function operationNameOf(body: unknown): string | null {
  if (typeof body !== 'string') return null;
  const match = /"operationName":"([A-Za-z_][A-Za-z0-9_]{0,63})"/.exec(body);
  return match?.[1] ?? null;
}

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
    // POST always: the gateway's CSRF prevention refuses a GET without a preflight-forcing header.
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
    // The operation's name in the URL (`/graphql?op=Overview`), so the browser's resource timing
    // entries, the network panel and access logs tell the queries apart; the gateway reads the body.
    fetch: (input, init) => {
      const name = operationNameOf(init?.body);
      return fetch(name ? `${String(input)}?op=${encodeURIComponent(name)}` : input, init);
    },
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
