import { Redis } from 'ioredis';
import type { Config } from './config.js';

/** What a Redis connection tells about its troubles: warnings, at most one per distinct message a minute. */
export interface RedisErrorSink {
  warn: (fields: Record<string, unknown>, message: string) => void;
}

/**
 * BullMQ needs `maxRetriesPerRequest: null` on worker connections so a Redis restart
 * pauses work instead of failing jobs; we use the same for every connection. Connection
 * errors while Redis is away are logged (once a minute per message), never thrown: the
 * client reconnects by itself and readiness checks report the outage.
 */
export function createRedis(config: Pick<Config, 'REDIS_URL'>, name: string, logger?: RedisErrorSink): Redis {
  return withErrorLog(
    new Redis(config.REDIS_URL, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false }),
    name,
    logger,
  );
}

/** A second connection with the same settings (and the same error logging) as `client`. */
export function duplicateRedis(client: Redis, name: string, logger?: RedisErrorSink): Redis {
  return withErrorLog(client.duplicate({ connectionName: name }), name, logger);
}

function withErrorLog(client: Redis, name: string, logger?: RedisErrorSink): Redis {
  const lastLogged = new Map<string, number>();
  client.on('error', (error: Error) => {
    const now = Date.now();
    if (!logger || (lastLogged.get(error.message) ?? 0) > now - 60_000) return;
    lastLogged.set(error.message, now);
    logger.warn({ connection: name, err: error.message }, 'redis connection error (reconnecting)');
  });
  return client;
}
