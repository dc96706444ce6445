import type { Redis } from 'ioredis';

/**
 * Case events: one Redis Stream, ordered by its entry ids. Writers append after the
 * change is stored; the statistics projector (and, later, subscriptions) read in order.
 * Events carry no personal data.
 */
export function caseEventStream(prefix: string): string {
  return `${prefix}:case-events`;
}

/** Entries kept; older ones are trimmed (approximately). Read models must have caught up by then. */
export const CASE_EVENT_RETENTION = 1_000_000;

export interface CaseEvent<TFacts = unknown> {
  type: 'case.created' | 'case.updated' | 'case.transitioned' | 'case.erased' | 'case.disbursed';
  caseId: string;
  version: number;
  at: string;
  transition?: string;
  before: TFacts | null;
  after: TFacts | null;
  /** For `case.disbursed`: what the partner reported. */
  disbursement?: { amountCents: number; package: string; kind: string; date: string };
  /**
   * Who the case belongs to, for events without facts (`case.disbursed`): subscriptions
   * and webhooks deliver an event only to those who may see its case.
   */
  owner?: CaseOwnerFacts;
}

/** The part of an event's facts that decides who may receive it. */
export interface CaseOwnerFacts {
  memberState: string;
  partnerId: string | null;
  countryOfOrigin: string;
  status?: string;
}

/**
 * Appends events to the stream. With `onceKey`, the append happens at most once for that
 * key: a Lua script sets the key and appends every event atomically, so a chunk retried
 * after a crash neither loses its events nor publishes them twice. (On Redis Cluster the
 * stream and the key share a slot when QUEUE_PREFIX is a hash tag such as `{avrr}`.)
 */
export async function publishCaseEvents<T>(redis: Redis, prefix: string, events: ReadonlyArray<CaseEvent<T>>, onceKey?: string): Promise<boolean> {
  if (events.length === 0) return false;
  if (onceKey) {
    const appended = await redis.eval(PUBLISH_ONCE, 2, caseEventStream(prefix), `${prefix}:${onceKey}`, String(ONCE_KEY_TTL_SECONDS), String(CASE_EVENT_RETENTION), ...events.map((e) => JSON.stringify(e)));
    return appended === 1;
  }
  const pipeline = redis.pipeline();
  for (const event of events) {
    pipeline.xadd(caseEventStream(prefix), 'MAXLEN', '~', String(CASE_EVENT_RETENTION), '*', 'event', JSON.stringify(event));
  }
  const results = await pipeline.exec();
  const failed = results?.find(([error]) => error);
  if (failed) throw failed[0];
  return true;
}

/** How long a publish-once key is remembered: longer than any chunk can be retried. */
const ONCE_KEY_TTL_SECONDS = 45 * 86_400;

const PUBLISH_ONCE = `
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 3, #ARGV do redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[i]) end
return 1`;

/** Compares Redis stream ids ("ms-seq"). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

/** The id of the newest entry in the case event stream ('0-0' when empty). */
export async function streamTail(redis: Redis, prefix: string): Promise<string> {
  return (await redis.xrevrange(caseEventStream(prefix), '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
}
