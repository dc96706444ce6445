import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * Runs `step` over and over while this instance holds a Redis lease, so that of several
 * replicas exactly one works at a time (projectors that must be single writers).
 * A failing step is logged and retried after a pause.
 */
export class LeasedLoop {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly token = randomUUID();

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly step: () => Promise<unknown>,
    private readonly logger: Logger,
    private readonly leaseMs = 15_000,
  ) {}

  /** Holds or takes the lease; false while another instance holds it. */
  private async lease(): Promise<boolean> {
    if ((await this.redis.set(this.key, this.token, 'PX', this.leaseMs, 'NX')) === 'OK') return true;
    if ((await this.redis.get(this.key)) === this.token) {
      await this.redis.pexpire(this.key, this.leaseMs);
      return true;
    }
    return false;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          if (await this.lease()) await this.step();
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
    if ((await this.redis.get(this.key)) === this.token) await this.redis.del(this.key);
  }
}
