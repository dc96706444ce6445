import type { Redis } from 'ioredis';
import { traceCarrier } from '../telemetry/propagation.js';
import {
  CASE_EVENT_RETENTION,
  caseEventStream,
  type CaseEvent,
  type CaseEventKind,
  type CaseEventType,
} from './contract.js';

/** The public type of every kind of event that means one thing whatever caused it. */
const TYPE_OF_KIND: Readonly<Record<Exclude<CaseEventKind, 'case.transitioned'>, CaseEventType>> = {
  'case.created': 'CREATED',
  'case.updated': 'UPDATED',
  'case.erased': 'PERSONAL_DATA_ERASED',
  'case.disbursed': 'DISBURSEMENT_RECORDED',
  'case.messaged': 'MESSAGE_POSTED',
  'case.assessed': 'ASSESSMENT_RECORDED',
  'case.feedback': 'FEEDBACK_RECORDED',
  // A complaint's update says so itself (publicType COMPLAINT_UPDATED).
  'case.complaint': 'COMPLAINT_RECORDED',
  'indicator.breached': 'INDICATOR_BREACHED',
};

/**
 * What subscribers and webhooks are told an event is: the type its writer gave, else the
 * one its kind implies. A transition names its own (the cases lifecycle's table); one that
 * does not is told to no one (undefined).
 */
export function publicTypeOf(event: Pick<CaseEvent, 'type' | 'publicType'>): CaseEventType | undefined {
  if (event.publicType) return event.publicType;
  return event.type === 'case.transitioned' ? undefined : TYPE_OF_KIND[event.type];
}

/** The `event` field of an event's stream entry: its JSON, with its public type written in. */
export function entryJsonOf(event: CaseEvent): string {
  const publicType = publicTypeOf(event);
  return JSON.stringify(publicType ? { ...event, publicType } : event);
}

/**
 * Appends events to the stream. With `onceKey`, the append happens at most once for that
 * key: a Lua script sets the key and appends every event atomically, so a chunk retried
 * after a crash neither loses its events nor publishes them twice. (On Redis Cluster the
 * stream and the key share a slot when QUEUE_PREFIX is a hash tag such as `{avrr}`.)
 */
export async function publishCaseEvents(
  redis: Redis,
  prefix: string,
  events: ReadonlyArray<CaseEvent>,
  onceKey?: string,
): Promise<boolean> {
  if (events.length === 0) return false;
  const stream = caseEventStream(prefix);
  const retention = String(CASE_EVENT_RETENTION);
  // The writer's trace context rides in each entry, so readers continue its trace (README, Tracing).
  const carrier = traceCarrier();
  const trace = carrier ? JSON.stringify(carrier) : '';
  if (onceKey) {
    const once = `${prefix}:${onceKey}`;
    const appended = await redis.eval(
      PUBLISH_ONCE,
      2,
      stream,
      once,
      String(ONCE_KEY_TTL_SECONDS),
      retention,
      trace,
      ...events.map(entryJsonOf),
    );
    return appended === 1;
  }
  const pipeline = redis.pipeline();
  for (const event of events) {
    const fields = trace ? ['event', entryJsonOf(event), 'trace', trace] : ['event', entryJsonOf(event)];
    pipeline.xadd(stream, 'MAXLEN', '~', retention, '*', ...fields);
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
for i = 4, #ARGV do
  if ARGV[3] == '' then redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[i])
  else redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[i], 'trace', ARGV[3]) end
end
return 1`;
