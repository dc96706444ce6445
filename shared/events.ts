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
}

export async function publishCaseEvents<T>(redis: Redis, prefix: string, events: ReadonlyArray<CaseEvent<T>>): Promise<void> {
  if (events.length === 0) return;
  const pipeline = redis.pipeline();
  for (const event of events) {
    pipeline.xadd(caseEventStream(prefix), 'MAXLEN', '~', String(CASE_EVENT_RETENTION), '*', 'event', JSON.stringify(event));
  }
  const results = await pipeline.exec();
  const failed = results?.find(([error]) => error);
  if (failed) throw failed[0];
}

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
