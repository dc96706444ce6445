import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { projectionCheckpoint, redisCheckpoint } from '../../shared/case-events/index.js';
import { LeasedLoop, LeaseLostError, type Lease } from '../../shared/leased-loop.js';
import { connectDatabase } from '../../shared/mongo.js';
import { createRedis } from '../../shared/redis.js';
import { casesModels } from '../../subgraphs/cases/case/models.js';
import { applyStatistics } from '../../subgraphs/cases/statistics/projector.js';
import { eventFacts } from '../helpers/event-facts.js';
import { silentLogger, testConfig } from '../helpers/system.js';

const config = testConfig();
let redis: Redis;
let connection: Connection;

beforeAll(async () => {
  redis = createRedis(config, 'lease-test');
  connection = await connectDatabase(config, 'cases');
});

afterAll(async () => {
  redis.disconnect();
  await connection.dropDatabase();
  await connection.close();
});

/** A promise and the function that settles it: the test decides when a paused step goes on. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('LeasedLoop', () => {
  it('a holder paused past its lease loses: late write refused, late release spares the new lease', async () => {
    const key = `${config.QUEUE_PREFIX}:lease:paused`;
    const checkpoint = projectionCheckpoint(casesModels(connection).Projection, 'paused');
    const paused = gate();
    let fenceA: number | undefined;
    let lateError: unknown;
    const a = new LeasedLoop(
      redis,
      key,
      async ({ fence }: Lease) => {
        if (fenceA !== undefined) return new Promise((resolve) => setTimeout(resolve, 50));
        fenceA = fence;
        await checkpoint.save('1-0', fence);
        await paused.wait;
        await checkpoint.save('1-5', fence).catch((error: unknown) => (lateError = error));
      },
      silentLogger,
      300,
    );
    const fencesB: number[] = [];
    const b = new LeasedLoop(
      redis,
      key,
      async ({ fence }: Lease) => {
        fencesB.push(fence);
        await checkpoint.save(`2-${fencesB.length}`, fence);
        await new Promise((resolve) => setTimeout(resolve, 50));
      },
      silentLogger,
      300,
    );
    a.start();
    await until(() => fenceA !== undefined, 'the first holder');
    b.start();
    await until(() => fencesB.length > 0, 'the second holder to take the expired lease');
    expect(fencesB[0]).toBeGreaterThan(fenceA!);
    const heldByB = await redis.get(key);
    expect(heldByB).toMatch(new RegExp(`^${fencesB[0]}:`));

    paused.open();
    await until(() => lateError !== undefined, 'the paused holder to write');
    expect(lateError).toBeInstanceOf(LeaseLostError);
    expect(await checkpoint.load()).toMatch(/^2-/);

    // The paused holder comes back to a lease held by another: not renewed, not released.
    await a.stop();
    expect(await redis.get(key)).toBe(heldByB);
    expect(await redis.pttl(key)).toBeGreaterThan(0);
    await b.stop();
    expect(await redis.get(key)).toBeNull();
  });

  it('renews its own lease without moving the fence, and the fence grows when the lease changes hands', async () => {
    const key = `${config.QUEUE_PREFIX}:lease:renew`;
    const a = new LeasedLoop(redis, key, async () => undefined, silentLogger, 200);
    const b = new LeasedLoop(redis, key, async () => undefined, silentLogger, 200);
    const first = await a.acquire();
    expect(first).not.toBeNull();
    expect(await b.acquire()).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await a.acquire()).toEqual(first);
    await new Promise((resolve) => setTimeout(resolve, 120));
    // Renewed 120 ms ago for 200 ms: still a's.
    expect(await b.acquire()).toBeNull();
    expect(await a.release()).toBe(true);
    const second = await b.acquire();
    expect(second!.fence).toBeGreaterThan(first!.fence);
    // Fences keep growing when Redis has lost the counter (a restart without persistence).
    await b.release();
    await redis.del(`${key}:fence`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const third = await a.acquire();
    expect(third!.fence).toBeGreaterThan(second!.fence);
    await a.release();
    const fourth = await b.acquire();
    expect(fourth!.fence).toBeGreaterThan(third!.fence);
    // A release by a former holder is a no-op.
    expect(await a.release()).toBe(false);
    expect(await redis.get(key)).toMatch(new RegExp(`^${fourth!.fence}:`));
    expect(await b.release()).toBe(true);
  });

  it('an unfenced save (a catch-up outside the loop) still writes', async () => {
    const checkpoint = projectionCheckpoint(casesModels(connection).Projection, 'unfenced');
    await checkpoint.save('3-0', 7);
    await expect(checkpoint.save('3-1', 6)).rejects.toBeInstanceOf(LeaseLostError);
    await checkpoint.save('3-2');
    expect(await checkpoint.load()).toBe('3-2');
  });
});

describe('Redis checkpoint under a lease', () => {
  it('refuses a save from an older fence, so a late holder cannot move the checkpoint back', async () => {
    const key = `${config.QUEUE_PREFIX}:webhooks:checkpoint`;
    const checkpoint = redisCheckpoint(redis, key);
    await checkpoint.save('5-0', 3);
    await expect(checkpoint.save('4-0', 2)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await checkpoint.load()).toBe('5-0');
    await checkpoint.save('6-0', 4);
    expect(await checkpoint.load()).toBe('6-0');
  });
});

describe('fenced read-model counters', () => {
  it('a batch applied late by a holder with an older fence adds nothing to the statistics', async () => {
    const { Statistics } = casesModels(connection);
    const created = (id: string, caseId: string) => ({
      id,
      event: {
        type: 'case.created' as const,
        caseId,
        version: 1,
        at: '2024-03-01T00:00:00Z',
        before: null,
        after: eventFacts(),
      },
    });
    const total = async () => (await Statistics.findOne({ _id: 'all' }).lean().exec())?.cases;
    // The new holder (fence 8) applied two events; the paused one (fence 7) wakes with the second.
    await applyStatistics(casesModels(connection), { entries: [created('10-0', 'c1')], lastId: '10-0' }, 8);
    const after = await total();
    expect(after).toBe(1);
    await expect(
      applyStatistics(casesModels(connection), { entries: [created('11-0', 'c2')], lastId: '11-0' }, 7),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(await total()).toBe(after);
    await applyStatistics(casesModels(connection), { entries: [created('11-0', 'c2')], lastId: '11-0' }, 8);
    expect(await total()).toBe(2);
  });
});
