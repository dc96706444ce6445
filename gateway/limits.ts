import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';

/**
 * How long a slot held by a gateway instance lives in Redis without being refreshed: an
 * instance that dies holding slots (connections, pushes) gives them back after this long.
 */
export const SLOT_LEASE_MS = 30_000;

/** How long a limit check may wait for Redis before the work is refused as "try again". */
const CHECK_TIMEOUT_MS = 3_000;

export class LimitCheckUnavailable extends Error {
  constructor() {
    super('the limit could not be checked (Redis did not answer); try again shortly');
    this.name = 'LimitCheckUnavailable';
  }
}

/** `promise`, or LimitCheckUnavailable once CHECK_TIMEOUT_MS has passed (commands wait for Redis while it is away). */
export function checked<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LimitCheckUnavailable()), CHECK_TIMEOUT_MS);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Expired members go; then, unless `member` already holds a slot, it takes one if fewer
 * than the limit are held. Redis's clock, so instances with skewed clocks agree.
 * Returns [taken (1/0), slots held now].
 */
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
  return {1, redis.call('ZCARD', KEYS[1])}
end
local held = redis.call('ZCARD', KEYS[1])
if held >= limit then return {0, held} end
redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
redis.call('PEXPIRE', KEYS[1], lease)
return {1, held + 1}
`;

/**
 * Refreshes the lease of members this instance still holds (those it no longer holds are left to expire
 * or are already gone).
 */
const REFRESH_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], lease)
return 1
`;

/**
 * Counted slots shared by every gateway instance: one Redis sorted set per key (a
 * principal's connections, a Member State's pushes in flight), one member per slot, each
 * with an expiry this instance refreshes while it holds it. Released on close; an instance
 * that dies gives its slots back after SLOT_LEASE_MS.
 */
export class SharedSlots {
  private readonly held = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly leaseMs = SLOT_LEASE_MS,
  ) {}

  /**
   * Takes a slot of `key` for `member` if fewer than `limit` are held: `{ taken, held }`. Throws
   * LimitCheckUnavailable when Redis does not answer in time.
   */
  async acquire(key: string, member: string, limit: number): Promise<{ taken: boolean; held: number }> {
    const [taken, held] = (await checked(this.redis.eval(ACQUIRE_SCRIPT, 1, key, this.leaseMs, limit, member))) as [
      number,
      number,
    ];
    if (taken === 1) {
      let members = this.held.get(key);
      if (!members) this.held.set(key, (members = new Set()));
      members.add(member);
      this.schedule();
    }
    return { taken: taken === 1, held };
  }

  /** Gives the slot back (at once for every instance); never throws. */
  async release(key: string, member: string): Promise<void> {
    const members = this.held.get(key);
    if (!members?.delete(member)) return;
    if (members.size === 0) this.held.delete(key);
    if (this.held.size === 0) this.stopRefreshing();
    try {
      await checked(this.redis.zrem(key, member));
    } catch (error) {
      // Left to expire within the lease.
      this.logger.warn({ err: error, key }, 'releasing a shared slot failed; it expires by itself');
    }
  }

  /** Slots this instance holds for `key`. */
  heldHere(key: string): number {
    return this.held.get(key)?.size ?? 0;
  }

  /** Gives back every slot this instance holds. */
  async releaseAll(): Promise<void> {
    const all = [...this.held].flatMap(([key, members]) => [...members].map((member) => [key, member] as const));
    await Promise.all(all.map(([key, member]) => this.release(key, member)));
    this.stopRefreshing();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  private stopRefreshing(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async refresh(): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const [key, members] of this.held) pipeline.eval(REFRESH_SCRIPT, 1, key, this.leaseMs, ...members);
    try {
      await checked(pipeline.exec());
    } catch (error) {
      this.logger.warn({ err: error }, 'refreshing shared slots failed; retrying');
    }
  }
}

/** A refusal of the push API: status, code, message, Retry-After. */
export interface PushRefusal {
  status: number;
  code: string;
  message: string;
  retryAfterSeconds: number;
  limit: string;
}

/**
 * The push API's limits per Member State, shared by every gateway instance through Redis:
 * INGEST_PUSHES_PER_MINUTE pushes a minute and INGEST_PUSHES_IN_FLIGHT pushes being read at
 * once. Checked before a byte of the body is read.
 */
export function pushLimits(config: Config, redis: Redis, logger: Pick<Logger, 'warn'>) {
  const rate =
    config.INGEST_PUSHES_PER_MINUTE > 0
      ? new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `${config.QUEUE_PREFIX}:ingest-rate`,
          points: config.INGEST_PUSHES_PER_MINUTE,
          duration: 60,
        })
      : undefined;
  const slots = new SharedSlots(redis, logger);
  const inFlightKey = (memberState: string) => `${config.QUEUE_PREFIX}:ingest-in-flight:${memberState}`;
  return {
    /** Admits one push of `memberState` (call `release` when it is answered), or says why not. */
    async admit(memberState: string, pushId: string): Promise<{ release: () => Promise<void> } | PushRefusal> {
      try {
        if (rate) {
          try {
            await checked(rate.consume(memberState));
          } catch (rejection) {
            if (!(rejection instanceof RateLimiterRes)) throw rejection;
            const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
            return {
              status: 429,
              code: 'RATE_LIMITED',
              limit: 'INGEST_PUSHES_PER_MINUTE',
              retryAfterSeconds: seconds,
              message:
                `${memberState} pushed ${config.INGEST_PUSHES_PER_MINUTE} feeds in the last minute, ` +
                `the most allowed (INGEST_PUSHES_PER_MINUTE); retry in ${seconds} s`,
            };
          }
        }
        const key = inFlightKey(memberState);
        const { taken } = await slots.acquire(key, pushId, config.INGEST_PUSHES_IN_FLIGHT);
        if (!taken) {
          return {
            status: 429,
            code: 'TOO_MANY_PUSHES_IN_FLIGHT',
            limit: 'INGEST_PUSHES_IN_FLIGHT',
            retryAfterSeconds: 5,
            message:
              `${memberState} already has ${config.INGEST_PUSHES_IN_FLIGHT} pushes being received, the ` +
              `most allowed at once (INGEST_PUSHES_IN_FLIGHT); wait for one to be answered`,
          };
        }
        return { release: () => slots.release(key, pushId) };
      } catch (error) {
        if (!(error instanceof LimitCheckUnavailable)) throw error;
        return {
          status: 503,
          code: 'SERVICE_UNAVAILABLE',
          limit: 'redis',
          retryAfterSeconds: 5,
          message: `The push could not be admitted: ${error.message}`,
        };
      }
    },
  };
}

/**
 * Per-event fetches in flight at this gateway instance, per key (a principal, or the rights
 * shared by principals whose fetches are shared): at most `limit` at once, the others wait
 * in order, for at most `maxWaitMs`.
 */
export class FetchSlots {
  private readonly keys = new Map<
    string,
    { active: number; waiting: Array<{ grant: () => void; timer: NodeJS.Timeout }> }
  >();

  constructor(
    readonly limit: number,
    readonly maxWaitMs: number,
  ) {}

  /** Resolves with a release function once a slot is free; rejects with FetchSlotTimeout after maxWaitMs. */
  acquire(key: string): Promise<() => void> {
    let entry = this.keys.get(key);
    if (!entry) this.keys.set(key, (entry = { active: 0, waiting: [] }));
    const slot = entry;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const next = slot.waiting.shift();
      if (next) {
        clearTimeout(next.timer);
        next.grant();
      } else {
        slot.active--;
        if (slot.active === 0) this.keys.delete(key);
      }
    };
    if (slot.active < this.limit) {
      slot.active++;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        // A slot handed over: `active` stays as it is.
        grant: () => resolve(release),
        timer: setTimeout(() => {
          slot.waiting.splice(slot.waiting.indexOf(waiter), 1);
          reject(new FetchSlotTimeout(this.limit, this.maxWaitMs));
        }, this.maxWaitMs),
      };
      waiter.timer.unref();
      slot.waiting.push(waiter);
    });
  }

  /** Fetches in flight for `key` at this instance (for tests and metrics). */
  active(key: string): number {
    return this.keys.get(key)?.active ?? 0;
  }
}

export class FetchSlotTimeout extends Error {
  constructor(
    readonly limit: number,
    readonly waitedMs: number,
  ) {
    super(
      `this principal's subscriptions already had ${limit} case fetches in flight at this gateway ` +
        `(SUBSCRIPTION_FETCHES_IN_FLIGHT) for ${waitedMs} ms`,
    );
    this.name = 'FetchSlotTimeout';
  }
}
