import type { Redis } from 'ioredis';
import type { Connection, Model } from 'mongoose';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { connectDatabase, type SubgraphName } from '../mongo.js';
import { createRedis } from '../redis.js';
import { ALL_TAG, bumpCacheTags, projectorTag } from '../cache-tags.js';
import { CaseEventReader, projectionCheckpoint, redisEventSource, streamTail, type CaseEventBatch } from './reader.js';

/** Where a read model keeps the id of the last event it applied, next to the read model itself. */
export type ProjectionModel = Model<{ _id: string; lastEventId: string }>;

export interface ReadModelProjectorSpec {
  /** The consumer's name: its lease and its logs. */
  name: string;
  projection: ProjectionModel;
  /** The projection document's `_id` (one per read model). */
  projectionId: string;
  /**
   * Applies one batch to the read model; the checkpoint moves only once it has finished.
   * `fence` is the lease's (none in a catch-up outside the loop): writes to shared counters carry it.
   */
  apply: (batch: CaseEventBatch, fence?: number) => Promise<unknown>;
  batchSize: number;
}

export interface ReadModelProjectorOptions {
  batchSize?: number;
  blockMs?: number;
  leaseMs?: number;
}

/**
 * Keeps a read model from the case event stream: read from the beginning, one writer at a
 * time (a Redis lease, because FerretDB's `$inc` is not atomic under concurrent writers),
 * the checkpoint stored with the read model, so a replay after a crash never counts an event
 * twice (each read-model document also remembers the last event it applied).
 */
export class ReadModelProjector {
  private readonly reader: CaseEventReader;
  private readonly checkpointStore;

  constructor(
    spec: ReadModelProjectorSpec,
    redis: Redis,
    prefix: string,
    logger: Logger,
    options: ReadModelProjectorOptions = {},
  ) {
    this.checkpointStore = projectionCheckpoint(spec.projection, spec.projectionId);
    // The gateway's cached answers from this read model (gateway/cache/): invalidated after each
    // batch is applied (also a failed one: it may have written part), never before.
    const tag = projectorTag(spec.name);
    const apply = async (batch: CaseEventBatch, fence?: number) => {
      try {
        return await spec.apply(batch, fence);
      } finally {
        await bumpCacheTags(redis, prefix, [tag], (error) =>
          logger.warn({ projector: spec.name, err: String(error) }, 'cache invalidation failed'),
        );
      }
    };
    this.reader = new CaseEventReader(
      redisEventSource(redis, prefix),
      apply,
      {
        name: spec.name,
        checkpoint: this.checkpointStore,
        startAt: 'beginning',
        batchSize: options.batchSize ?? spec.batchSize,
        blockMs: options.blockMs ?? 1_000,
        lease: { redis, key: `${prefix}:lease:${spec.name}`, ms: options.leaseMs },
      },
      logger,
    );
  }

  /** The id of the last event applied ('0-0' before the first). */
  async checkpoint(): Promise<string> {
    return (await this.checkpointStore.load()) ?? '0-0';
  }

  /** Applies every event after the checkpoint, in batches; returns how many were read. */
  catchUp(): Promise<number> {
    return this.reader.catchUp();
  }

  /** Reads up to one batch (waiting up to blockMs for new entries) and applies it. */
  applyBatch(blockMs?: number): Promise<number> {
    return this.reader.readOnce(blockMs);
  }

  start(): void {
    this.reader.start();
  }

  async stop(): Promise<void> {
    await this.reader.stop();
  }
}

/**
 * Moves a read model's checkpoint to the end of the stream (after the read model was written
 * directly, as a seed does).
 */
export async function resetProjectionCheckpoint(
  projection: ProjectionModel,
  projectionId: string,
  redis: Redis,
  prefix: string,
): Promise<void> {
  const last = await streamTail(redis, prefix);
  await projection.updateOne({ _id: projectionId }, { $set: { lastEventId: last } }, { upsert: true }).exec();
  // The read model was written outside its projector: no cached answer of the gateway stays current.
  await bumpCacheTags(redis, prefix, [ALL_TAG]);
}

/** A projector running on connections of its own (a blocking read holds its Redis connection). */
export interface RunningProjector<P extends ReadModelProjector> {
  projector: P;
  close: () => Promise<void>;
}

/**
 * Starts a projector as its subgraph's process runs it: its own connection to the subgraph's
 * database and its own Redis connection (named after the projector), both closed by `close`.
 */
export async function startOwnProjector<P extends ReadModelProjector>(
  config: Config,
  subgraph: SubgraphName,
  name: string,
  logger: Logger,
  make: (connection: Connection, redis: Redis) => P,
): Promise<RunningProjector<P>> {
  const connection = await connectDatabase(config, subgraph);
  const redis = createRedis(config, name, logger);
  const projector = make(connection, redis);
  projector.start();
  return {
    projector,
    close: async () => {
      await projector.stop();
      redis.disconnect();
      await connection.close();
    },
  };
}
