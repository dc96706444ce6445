import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { TestSystem } from './system.js';

/**
 * Subscribes through the gateway's WebSocket as the principal `authorization` names and pushes
 * each event's `field` into `sink`; resolves once the subscription has had time to start. Dispose
 * the returned client when done.
 */
export async function collectSubscription<T>(
  system: TestSystem,
  authorization: string,
  query: string,
  field: string,
  sink: T[],
): Promise<Client> {
  const client = createClient({
    url: system.gatewayUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { authorization },
  });
  client.subscribe<Record<string, T>>(
    { query },
    {
      next: (value) => {
        if (value.data) sink.push(value.data[field]!);
      },
      error: () => undefined,
      complete: () => undefined,
    },
  );
  await new Promise((r) => setTimeout(r, 500));
  return client;
}
