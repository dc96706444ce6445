import { AsyncLocalStorage } from 'node:async_hooks';
import mongoose, { type Aggregate, type Connection, type Model, type Query, type Schema } from 'mongoose';
import type { Config } from './config.js';

export type SubgraphName = 'cases' | 'partners' | 'coverage' | 'finance';

/** Each subgraph has its own database; the prefix lets tests and tenants stay apart. */
export function databaseName(config: Pick<Config, 'MONGO_DB_PREFIX'>, subgraph: SubgraphName): string {
  return `${config.MONGO_DB_PREFIX}_${subgraph}`;
}

/**
 * Opens a dedicated connection to one subgraph's database. `monitorCommands` is on so
 * tests and metrics can count round trips (see test/integration/batching.test.ts).
 */
export async function connectDatabase(
  config: Pick<Config, 'MONGO_URL' | 'MONGO_DB_PREFIX'>,
  subgraph: SubgraphName,
): Promise<Connection> {
  const connection = mongoose.createConnection(config.MONGO_URL, {
    dbName: databaseName(config, subgraph),
    monitorCommands: true,
    serverSelectionTimeoutMS: 10_000,
    maxPoolSize: 20,
    // Indexes are created explicitly by ensureIndexes(), not on every model compile.
    autoIndex: false,
    autoCreate: false,
  });
  // Every read made while serving a request carries a server-side deadline (maxTimeMS):
  // what is left of the request (withDbDeadline), so no query goes on after the gateway
  // gave up on it. Background work (a rebuild, a retention run) reads without one, or
  // sets its own.
  connection.plugin(deadlinePlugin);
  await connection.asPromise();
  return connection;
}

/**
 * The longest a database read may run: a little under the gateway's subgraph deadline
 * (SUBGRAPH_TIMEOUT_MS), so the store has stopped before the gateway answers the client.
 */
export function dbTimeoutMs(config: Pick<Config, 'SUBGRAPH_TIMEOUT_MS' | 'DB_TIMEOUT_MS'>): number {
  return (
    config.DB_TIMEOUT_MS ?? Math.max(Math.floor(config.SUBGRAPH_TIMEOUT_MS * 0.8), config.SUBGRAPH_TIMEOUT_MS - 500)
  );
}

/** The request a piece of database work serves: when it must be done by, and whether its caller left. */
export interface DbDeadline {
  /** Epoch milliseconds. */
  deadline: number;
  signal: AbortSignal;
}

const deadlines = new AsyncLocalStorage<DbDeadline>();

/** Runs `work` with its database reads bounded by `deadline` and stopped once `signal` aborts. */
export function withDbDeadline<T>(deadline: DbDeadline, work: () => T): T {
  return deadlines.run(deadline, work);
}

/** Thrown instead of starting a read whose request is over (its caller gone, or its time up). */
export class RequestOverError extends Error {
  constructor(reason: string) {
    super(`database read not started: ${reason}`);
    this.name = 'RequestOverError';
  }
}

/**
 * The maxTimeMS a read started now gets: the connection's (or the query's own) limit,
 * shortened to what is left of the current request. Throws when the request is over.
 */
export function readBudgetMs(limit: number | undefined, now = Date.now()): number | undefined {
  const current = deadlines.getStore();
  if (!current) return limit;
  if (current.signal.aborted) throw new RequestOverError('the caller cancelled the request');
  const left = current.deadline - now;
  if (left <= 0) throw new RequestOverError('the request ran out of time');
  return limit === undefined ? left : Math.min(limit, left);
}

/**
 * The abort signal of the request a read serves, if any. Given to the driver, it stops a read
 * already running when the caller leaves: the driver closes that connection, and the store
 * cancels a command whose client closed its connection (MongoDB does; FerretDB with
 * tools/ferretdb/patches/07).
 */
export function requestSignal(): AbortSignal | undefined {
  return deadlines.getStore()?.signal;
}

const QUERY_OPS =
  /^(find|findOne|countDocuments|count|distinct|estimatedDocumentCount|findOneAnd(?:Update|Delete|Replace))$/;
/** Reads only: a write cut off by its connection would leave its outcome unknown. */
const READ_OPS = /^(find|findOne|countDocuments|count|distinct|estimatedDocumentCount)$/;

function deadlinePlugin(schema: Schema): void {
  schema.pre(QUERY_OPS, { query: true, document: false }, function (this: Query<unknown, unknown>) {
    const own = this.getOptions().maxTimeMS;
    const budget = readBudgetMs(typeof own === 'number' ? own : undefined);
    if (budget !== undefined) this.maxTimeMS(budget);
  });
  schema.pre(READ_OPS, { query: true, document: false }, function (this: Query<unknown, unknown>) {
    const signal = requestSignal();
    if (signal) this.setOptions({ signal } as Parameters<typeof this.setOptions>[0]);
  });
  schema.pre('aggregate', function (this: Aggregate<unknown>) {
    const own = this.options.maxTimeMS;
    const budget = readBudgetMs(typeof own === 'number' ? own : undefined);
    if (budget !== undefined) this.option({ maxTimeMS: budget });
    const signal = requestSignal();
    if (signal) this.option({ signal } as Parameters<typeof this.option>[0]);
  });
}

/** The model `name` on `connection`: compiled once, the same one for every later caller. */
export function modelOn<T>(connection: Connection, name: string, schema: Schema<T>): Model<T> {
  return (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
}

/** Mongo's "already exists" style errors are harmless when creating indexes twice. */
export async function ensureIndexes(connection: Connection): Promise<void> {
  for (const model of Object.values(connection.models)) {
    await model.createCollection().catch((error: unknown) => {
      if (!(error instanceof Error) || !/already exists/i.test(error.message)) throw error;
    });
    // A model may first bring stored data to what a new index needs (an older index it replaces, duplicates).
    const prepare = (model as { prepareIndexes?: () => Promise<void> }).prepareIndexes;
    if (prepare) await prepare.call(model);
    await model.createIndexes();
  }
}

/**
 * Empties a collection in batches of `_id`s. One `deleteMany({})` over hundreds of thousands
 * of documents fails on FerretDB's SQLite backend ("too many SQL variables": it deletes by
 * a list of every id), and a half-filled bench database must still be clearable.
 */
export async function clearCollection(model: Pick<Model<never>, 'collection'>, batch = 5_000): Promise<void> {
  for (;;) {
    const ids = (await model.collection.find({}, { projection: { _id: 1 }, limit: batch }).toArray()).map((d) => d._id);
    if (ids.length === 0) return;
    await model.collection.deleteMany({ _id: { $in: ids } });
  }
}

/**
 * A write that met another writer's lock: FerretDB's SQLite backend answers "database is
 * locked" (SQLITE_BUSY) when two writes to one database overlap. The write did not happen
 * and can be repeated at once; MongoDB never answers this.
 */
export function isWriteContention(error: unknown): boolean {
  return error instanceof Error && /SQLITE_BUSY|database is locked/.test(error.message);
}

/** Runs a write, repeating it after a short random pause while it meets lock contention. */
export async function retryOnContention<T>(write: () => Promise<T>, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isWriteContention(error) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * Math.min(200, 10 * 2 ** attempt)));
    }
  }
}
