import DataLoader from 'dataloader';

/**
 * A DataLoader that fetches many keys with one query and hands each key its document
 * (or null), in key order. `fetch` gets the distinct keys of one tick's batch.
 */
export function batchByKey<K extends string, V>(
  fetch: (keys: readonly K[]) => Promise<V[]>,
  keyOf: (value: V) => K,
  options: { maxBatchSize?: number } = {},
): DataLoader<K, V | null> {
  return new DataLoader<K, V | null>(
    async (keys) => {
      const found = new Map<K, V>();
      for (const value of await fetch(keys)) found.set(keyOf(value), value);
      return keys.map((key) => found.get(key) ?? null);
    },
    { maxBatchSize: options.maxBatchSize ?? 1_000 },
  );
}
