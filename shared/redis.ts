import { Redis } from 'ioredis';
import type { Config } from './config.js';

/**
 * BullMQ needs `maxRetriesPerRequest: null` on worker connections so a Redis restart
 * pauses work instead of failing jobs; we use the same for every connection.
 */
export function createRedis(config: Pick<Config, 'REDIS_URL'>, name: string): Redis {
  return new Redis(config.REDIS_URL, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
}
