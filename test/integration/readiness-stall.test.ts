import net from 'node:net';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { redisReadiness, storeReadiness } from '../../shared/http.js';

/**
 * A TCP proxy to a real server that can stop forwarding without closing: the store or Redis
 * that still holds the connection but answers nothing (a wedged backend), which a ping-only
 * check or one without a deadline would report as ready forever.
 */
async function stallableProxy(target: URL): Promise<{ port: number; stall: () => void; close: () => Promise<void> }> {
  let stalled = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      if (!stalled) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!stalled) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    stall: () => {
      stalled = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('readiness checks on a store and a Redis that stop answering', () => {
  const config = loadConfig({ ...process.env });
  let storeProxy: Awaited<ReturnType<typeof stallableProxy>>;
  let redisProxy: Awaited<ReturnType<typeof stallableProxy>>;
  let connection: mongoose.Connection;
  let redis: Redis;

  beforeAll(async () => {
    storeProxy = await stallableProxy(new URL(config.MONGO_URL));
    redisProxy = await stallableProxy(new URL(config.REDIS_URL));
    connection = await mongoose
      .createConnection(`mongodb://127.0.0.1:${storeProxy.port}/readiness_stall`, { serverSelectionTimeoutMS: 5_000 })
      .asPromise();
    redis = new Redis(redisProxy.port, '127.0.0.1', { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    // The proxies go first: a close sent into a stalled proxy would wait for an answer that never comes.
    redis?.disconnect();
    await storeProxy?.close();
    await redisProxy?.close();
    await connection?.close(true).catch(() => undefined);
  });

  it('are ready while the servers answer, and not ready within their deadline once they stop', async () => {
    const store = storeReadiness(connection, 'cases', 300);
    const cache = redisReadiness(redis, 300);
    await expect(store()).resolves.toBeUndefined();
    await expect(cache()).resolves.toBeUndefined();

    storeProxy.stall();
    redisProxy.stall();
    const started = Date.now();
    const [storeResult, cacheResult] = await Promise.allSettled([store(), cache()]);
    expect(storeResult).toMatchObject({ status: 'rejected' });
    expect(String((storeResult as PromiseRejectedResult).reason)).toMatch(/store did not answer a read of cases/);
    expect(cacheResult).toMatchObject({ status: 'rejected' });
    expect(String((cacheResult as PromiseRejectedResult).reason)).toMatch(/redis did not answer PING within 300 ms/);
    // Both checks gave up on their own deadline rather than waiting on the stalled servers.
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
