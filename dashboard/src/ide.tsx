import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import 'graphiql/graphiql.css';

/**
 * The offline GraphQL IDE (GraphiQL, bundled: no CDN). Queries go to /graphql over HTTP,
 * subscriptions over graphql-ws on the same URL; put `{"authorization": "Bearer <token>"}` in the
 * Headers tab, or sign in on the dashboard first and its development token is filled in.
 */
const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
const devSession = window.sessionStorage.getItem('avrr.dashboard.devSession');
let token = '';
try {
  token = devSession ? String((JSON.parse(devSession) as { token?: unknown }).token ?? '') : '';
} catch {
  token = '';
}
const headers = token ? JSON.stringify({ authorization: `Bearer ${token}` }, null, 2) : undefined;
const authorizationOf = (h: Record<string, unknown> | undefined) =>
  typeof h?.authorization === 'string' ? h.authorization : undefined;

const fetcher = createGraphiQLFetcher({
  url: '/graphql',
  subscriptionUrl: `${scheme}://${window.location.host}/graphql`,
  wsConnectionParams: token ? { authorization: `Bearer ${token}` } : undefined,
});

const root = document.getElementById('ide');
if (!root) throw new Error('ide.html has no #ide element');
createRoot(root).render(
  <StrictMode>
    <GraphiQL
      fetcher={(params, options) => {
        const authorization = authorizationOf(options?.headers) ?? (token ? `Bearer ${token}` : undefined);
        return fetcher(params, {
          ...options,
          headers: { ...options?.headers, ...(authorization ? { authorization } : {}) },
        });
      }}
      defaultHeaders={headers}
      shouldPersistHeaders={false}
    />
  </StrictMode>,
);
