import { LeaseLostError } from './leased-loop.js';

/**
 * Fencing for a single-writer document (README, "Leases and fencing"): the filter matches
 * only a document last written under the same or an older lease, and the update records
 * this lease's fence. Without a fence (a rebuild, a test's catch-up) the write is not fenced.
 */
export function fencedFilter<F extends object>(filter: F, fence: number | undefined): F {
  if (fence === undefined) return filter;
  return { ...filter, $or: [{ fence: { $exists: false } }, { fence: { $lte: fence } }] };
}

/** The `$set` with the fence recorded in it (unchanged without a fence). */
export function fencedSet<S extends object>(set: S, fence: number | undefined): S & { fence?: number } {
  return fence === undefined ? set : { ...set, fence };
}

/**
 * Runs a fenced upsert and turns a refusal into LeaseLostError: a newer fence on the
 * document makes the filter miss, the upsert then inserts the same `_id`, and the store
 * answers a duplicate key (11000).
 */
export async function fencedUpsert(
  what: string,
  fence: number | undefined,
  write: () => Promise<unknown>,
): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (fence !== undefined && (error as { code?: number }).code === 11000) throw new LeaseLostError(what, fence);
    throw error;
  }
}

/**
 * Runs a fenced update without upsert. Matching nothing under a fence is a refusal when
 * `newer` finds the document written under a newer fence (LeaseLostError); a document that
 * does not exist is left as an unfenced write would leave it.
 */
export async function refusedUnlessMatched(
  what: string,
  fence: number | undefined,
  write: () => Promise<{ matchedCount: number }>,
  newer: (fence: number) => Promise<boolean>,
): Promise<void> {
  const result = await write();
  if (fence !== undefined && result.matchedCount === 0 && (await newer(fence))) throw new LeaseLostError(what, fence);
}
