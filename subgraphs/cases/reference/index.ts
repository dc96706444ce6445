import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { RELEASED_COUNTRIES_OF_ORIGIN, RELEASED_MEMBER_STATES } from '../../coverage/released.js';
import { PROGRAMME_TARIFFS, type TariffRow } from '../../finance/tariffs/rules.js';
import { readReferenceCopy, syncReferenceCopy } from './copy.js';
import type { ListsData } from './rules.js';

/**
 * The reference lists the cases subgraph checks against: participating Member States (with
 * the day each joined), countries of origin and tariff versions (a plan stays within its
 * package's entitlement). Coverage and finance own these lists; a subgraph reads only its own
 * database, so the cases subgraph works from its own copy (copy.ts), kept from the
 * reference-data stream they publish their changes on (stream.ts), over the released lists.
 */
export interface ReferenceLists {
  memberStates: ReadonlySet<string>;
  countriesOfOrigin: ReadonlySet<string>;
  tariffs: readonly TariffRow[];
  /** Member State → the day it joined the programme, YYYY-MM-DD. */
  memberStateJoinedOn: ReadonlyMap<string, string>;
}

export const RELEASED_LISTS_DATA: ListsData = {
  memberStates: new Map(RELEASED_MEMBER_STATES.map((m) => [m.code, { name: m.name, joinedOn: m.joinedOn }])),
  countriesOfOrigin: new Map(RELEASED_COUNTRIES_OF_ORIGIN.map((c) => [c.code, { alpha3: c.alpha3, name: c.name }])),
  tariffs: PROGRAMME_TARIFFS,
};

export function listsOf(data: ListsData): ReferenceLists {
  return {
    memberStates: new Set(data.memberStates.keys()),
    countriesOfOrigin: new Set(data.countriesOfOrigin.keys()),
    tariffs: data.tariffs,
    memberStateJoinedOn: new Map([...data.memberStates].map(([code, m]) => [code, m.joinedOn])),
  };
}

export const RELEASED_REFERENCE_LISTS: ReferenceLists = listsOf(RELEASED_LISTS_DATA);

/** How long lists read from the copy are used before the copy is read again. */
export const REFERENCE_CACHE_MS = 2_000;
/** The deadline of a sync and a read of the copy. */
export const REFERENCE_DEADLINE_MS = 2_000;

interface CopySource {
  redis: Redis;
  prefix: string;
}
const sources = new WeakMap<Connection, CopySource>();
const cached = new WeakMap<Connection, { at: number; lists: Promise<ReferenceLists> }>();

/**
 * Keeps the copy on `connection` from the stream on `redis`: each read of the lists (at most
 * every REFERENCE_CACHE_MS) first applies the changes published since the last one. Called by
 * the cases subgraph and the ingestion worker when they start.
 */
export function keepReferenceCopy(connection: Connection, redis: Redis, prefix: string): void {
  sources.set(connection, { redis, prefix });
}

/** Forgets the cached lists (tests, and a process that has just applied a change itself). */
export function forgetReferenceLists(connection: Connection): void {
  cached.delete(connection);
}

async function readLists(connection: Connection): Promise<ReferenceLists> {
  const source = sources.get(connection);
  if (source) {
    try {
      await syncReferenceCopy(connection, source.redis, source.prefix, REFERENCE_DEADLINE_MS);
    } catch {
      // The stream is away: the copy as last applied still holds (a change shows on a later read).
    }
  }
  const data = await readReferenceCopy(connection, RELEASED_LISTS_DATA, REFERENCE_DEADLINE_MS);
  return listsOf(data);
}

/**
 * The lists in force now. Without a connection, the released lists; with the cases
 * subgraph's connection, its copy (cached briefly; a failed read falls back to the lists
 * read last, or fails when there are none).
 */
export async function referenceLists(connection?: Connection, now = Date.now()): Promise<ReferenceLists> {
  if (!connection) return RELEASED_REFERENCE_LISTS;
  const hit = cached.get(connection);
  if (hit && now - hit.at < REFERENCE_CACHE_MS) return hit.lists;
  const lists = readLists(connection);
  cached.set(connection, { at: now, lists });
  try {
    return await lists;
  } catch (error) {
    if (hit) {
      cached.set(connection, hit);
      return hit.lists;
    }
    cached.delete(connection);
    throw error;
  }
}
