import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { operationNotInSafelist } from '../shared/errors.js';
import { z } from 'zod';
import type { Guard } from './guards.js';

/** Apollo's persisted-query manifest (what `generate-persisted-query-manifest` writes). */
const manifestSchema = z.object({
  format: z.literal('apollo-persisted-query-manifest'),
  version: z.literal(1),
  operations: z
    .array(
      z.object({
        id: z.string().regex(/^[0-9a-f]{64}$/, 'must be the SHA-256 of body, 64 lowercase hex digits'),
        name: z.string().optional(),
        type: z.enum(['query', 'mutation', 'subscription']).optional(),
        body: z.string().min(1),
      }),
    )
    .min(1),
});

export interface Safelist {
  /** Operation bodies by SHA-256. */
  operations: ReadonlyMap<string, string>;
  /** Apollo's APQ cache, read-only: a client may send only the hash of a listed operation. */
  cache: KeyValueCache<string>;
  /** Refuses every operation whose text is not listed, over HTTP and WebSocket alike. */
  guard: Guard;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Reads and checks a manifest; a bad file stops the gateway with what and where. */
export function loadSafelist(file: string): Safelist {
  let parsed: z.infer<typeof manifestSchema>;
  try {
    const result = manifestSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!result.success)
      throw new Error(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    parsed = result.data;
  } catch (error) {
    throw new Error(`GRAPHQL_SAFELIST_FILE ${file}: ${(error as Error).message}`);
  }
  const operations = new Map<string, string>();
  parsed.operations.forEach((op, i) => {
    if (sha256(op.body) !== op.id)
      throw new Error(`GRAPHQL_SAFELIST_FILE ${file}: operations.${i}.id is not the SHA-256 of its body`);
    operations.set(op.id, op.body);
  });
  const cache: KeyValueCache<string> = {
    get: async (key) => operations.get(key.replace(/^apq:/, '')),
    set: async () => undefined,
    delete: async () => undefined,
  };
  const guard: Guard = {
    name: 'safelist',
    allow: ({ source }) => {
      if (!operations.has(sha256(source))) throw operationNotInSafelist();
    },
  };
  return { operations, cache, guard };
}
