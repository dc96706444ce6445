import type { Connection } from 'mongoose';

const HOUSEKEEPING = new Set([
  'ping',
  'hello',
  'isMaster',
  'ismaster',
  'endSessions',
  'buildInfo',
  'saslStart',
  'saslContinue',
  'getMore',
]);

/**
 * Counts the database commands a connection sends (MongoDB command monitoring), by name,
 * between start() and stop(). Connection-housekeeping commands are left out.
 */
export function commandCounter(connection: Connection) {
  const client = connection.getClient();
  const seen: string[] = [];
  const listener = (event: { commandName: string }) => {
    if (!HOUSEKEEPING.has(event.commandName)) seen.push(event.commandName);
  };
  return {
    start() {
      seen.length = 0;
      client.on('commandStarted', listener);
    },
    stop(): string[] {
      client.off('commandStarted', listener);
      return [...seen];
    },
  };
}
