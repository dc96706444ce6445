import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * The lease a step runs under. `fence` grows by one every time the lease changes hands
 * (Redis INCR), so a write that records it and refuses a smaller one cannot come from a
 * holder that was paused past its lease while another took over.
 */
export interface Lease {
  readonly fence: number;
}

/**
 * Takes the lease (KEYS[1]) when free or renews it when ours, in one step, so no other
 * instance can take it between a check and a renewal. The value is `<fence>:<token>`;
 * the fence counter (KEYS[2]) moves only when the lease is newly taken. It is never below
 * Redis's clock in milliseconds, so fences keep growing even if Redis lost the counter (a
 * restart without persistence) while the store kept the fences written with it. Answers
 * the fence, or 0 while another instance holds the lease.
 */
const ACQUIRE = `
local held = redis.call('GET', KEYS[1])
if held then
  local sep = string.find(held, ':', 1, true)
  if sep and string.sub(held, sep + 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(held, 1, sep - 1))
  end
  return 0
end
local fence = redis.call('INCR', KEYS[2])
local now = redis.call('TIME')
local floor = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if fence < floor then
  fence = floor
  redis.call('SET', KEYS[2], fence)
end
redis.call('SET', KEYS[1], fence .. ':' .. ARGV[1], 'PX', ARGV[2])
return fence`;

/** Deletes the lease only while it is still ours (token and fence), so a late release touches no one else's. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

interface LeaseCommands {
  leaseAcquire(key: string, fenceKey: string, token: string, ms: number): Promise<number>;
  leaseRelease(key: string, value: string): Promise<number>;
}

function withLeaseCommands(redis: Redis): Redis & LeaseCommands {
  const commands = redis as Redis & Partial<LeaseCommands>;
  if (!commands.leaseAcquire) redis.defineCommand('leaseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  if (!commands.leaseRelease) redis.defineCommand('leaseRelease', { numberOfKeys: 1, lua: RELEASE });
  return redis as Redis & LeaseCommands;
}

/** Thrown by a fenced write that found a newer holder's mark: this holder has lost its lease. */
export class LeaseLostError extends Error {
  constructor(what: string, fence: number) {
    super(`${what}: lease lost (fence ${fence} is older than the stored one); write refused`);
    this.name = 'LeaseLostError';
  }
}

/**
 * Runs `step` over and over while this instance holds a Redis lease, so that of several
 * replicas exactly one works at a time (projectors that must be single writers). Taking,
 * renewing and releasing are single Lua scripts; the step gets the lease's fence for the
 * writes it guards. A failing step is logged and retried after a pause.
 */
export class LeasedLoop {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly token = randomUUID();
  private readonly redis: Redis & LeaseCommands;
  private fence = 0;

  constructor(
    redis: Redis,
    private readonly key: string,
    private readonly step: (lease: Lease) => Promise<unknown>,
    private readonly logger: Logger,
    private readonly leaseMs = 15_000,
  ) {
    this.redis = withLeaseCommands(redis);
  }

  /** Holds or takes the lease: its fence, or null while another instance holds it. */
  async acquire(): Promise<Lease | null> {
    const fence = Number(await this.redis.leaseAcquire(this.key, `${this.key}:fence`, this.token, this.leaseMs));
    this.fence = fence;
    return fence > 0 ? { fence } : null;
  }

  /** Gives the lease up if it is still this instance's (same token and fence); true when it was. */
  async release(): Promise<boolean> {
    if (this.fence === 0) return false;
    const released = (await this.redis.leaseRelease(this.key, `${this.fence}:${this.token}`)) === 1;
    this.fence = 0;
    return released;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          const lease = await this.acquire();
          if (lease) await this.step(lease);
          else await new Promise((resolve) => setTimeout(resolve, 1_000));
        } catch (error) {
          this.logger.error({ err: error, lease: this.key }, 'leased loop step failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.release();
  }
}
