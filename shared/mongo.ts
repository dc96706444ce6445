import mongoose, { type Connection } from 'mongoose';
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
  await connection.asPromise();
  return connection;
}

/** Mongo's "already exists" style errors are harmless when creating indexes twice. */
export async function ensureIndexes(connection: Connection): Promise<void> {
  for (const model of Object.values(connection.models)) {
    await model.createCollection().catch((error: unknown) => {
      if (!(error instanceof Error) || !/already exists/i.test(error.message)) throw error;
    });
    await model.createIndexes();
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
