import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import type { Redis } from 'ioredis';
import { CaseEventHub } from '../../gateway/subscriptions/index.js';
import type { Principal } from '../../shared/auth.js';
import { caseEventStream, publishCaseEvents, type CaseEvent } from '../../shared/case-events/index.js';
import { createRedis, duplicateRedis } from '../../shared/redis.js';
import type { CaseEventMessage } from '../../shared/case-events/index.js';
import { eventFacts } from '../helpers/event-facts.js';
import { silentLogger, testConfig } from '../helpers/system.js';

/** The gateway's event hub on a real Redis: order, handoff from replay to live, slow subscribers, the window. */
describe('case event hub', () => {
  const config = testConfig();
  let redis: Redis;
  const admin: Principal = { subject: 'ops', role: 'ADMIN' };
  const facts = (partnerId: string) =>
    eventFacts({ memberState: 'BE', partnerId, countryOfOrigin: 'AF', status: 'ACCEPTED' });
  const events = (n: number, partnerId = 'weldo'): CaseEvent[] =>
    Array.from({ length: n }, (_, i) => ({
      type: 'case.updated',
      caseId: `c${i}`,
      version: i,
      at: new Date().toISOString(),
      before: facts(partnerId),
      after: facts(partnerId),
    }));
  const hubs: CaseEventHub[] = [];
  const newHub = async (maxQueue = 10_000) => {
    const hub = new CaseEventHub(duplicateRedis(redis, 'hub-reader'), redis, config.QUEUE_PREFIX, silentLogger, {
      windowMs: 3_600_000,
      maxQueue,
      blockMs: 100,
    });
    await hub.start();
    hubs.push(hub);
    return hub;
  };
  const take = async (iterator: AsyncIterableIterator<CaseEventMessage>, n: number) => {
    const out: CaseEventMessage[] = [];
    for (let i = 0; i < n; i++) out.push((await iterator.next()).value as CaseEventMessage);
    return out;
  };
  const ids = async (count: number) =>
    (await redis.xrevrange(caseEventStream(config.QUEUE_PREFIX), '+', '-', 'COUNT', count)).map(([id]) => id).reverse();

  beforeAll(() => {
    redis = createRedis(config, 'hub-test');
  });
  afterAll(async () => {
    for (const hub of hubs) await hub.stop();
    await redis.del(caseEventStream(config.QUEUE_PREFIX), `${caseEventStream(config.QUEUE_PREFIX)}:floor`);
    redis.disconnect();
  });

  it('live events in stream order, only those the principal may see', async () => {
    const hub = await newHub();
    const all = await hub.subscribe(admin, null, null);
    const weldo = await hub.subscribe({ subject: 'w', role: 'PARTNER', partnerId: 'weldo' }, null, null);
    await publishCaseEvents(redis, config.QUEUE_PREFIX, [...events(3, 'irara'), ...events(2, 'weldo')]);
    const published = await ids(5);
    expect((await take(all, 5)).map((m) => m.id)).toEqual(published);
    expect((await take(weldo, 2)).map((m) => m.id)).toEqual(published.slice(3));
    await all.return!();
    await weldo.return!();
    expect(hub.subscriberCount).toBe(0);
  });

  it('a resume replays from the stream, then hands over to live events without a gap or a repeat', async () => {
    const hub = await newHub();
    await publishCaseEvents(redis, config.QUEUE_PREFIX, events(4));
    const [before] = await ids(5);
    await new Promise((r) => setTimeout(r, 300)); // the hub has read them
    const resumed = await hub.subscribe(admin, null, before!);
    await publishCaseEvents(redis, config.QUEUE_PREFIX, events(3));
    const expected = (await ids(7)).slice(0);
    expect((await take(resumed, 7)).map((m) => m.id)).toEqual(expected);
    // Resuming ahead of this instance (events seen on another one) repeats nothing.
    const latest = (await ids(1))[0]!;
    const ahead = await hub.subscribe(admin, null, latest);
    await publishCaseEvents(redis, config.QUEUE_PREFIX, events(1));
    expect((await take(ahead, 1)).map((m) => m.id)).toEqual(await ids(1));
    await resumed.return!();
    await ahead.return!();
  });

  it('a subscriber that falls behind gets what was queued, then SUBSCRIBER_TOO_SLOW with where to resume', async () => {
    const hub = await newHub(3);
    const slow = await hub.subscribe(admin, null, null);
    await publishCaseEvents(redis, config.QUEUE_PREFIX, events(6));
    await new Promise((r) => setTimeout(r, 400));
    const got = await take(slow, 3);
    expect(got.map((m) => m.id)).toEqual((await ids(6)).slice(0, 3));
    const error = await slow.next().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GraphQLError);
    expect((error as GraphQLError).extensions).toMatchObject({ code: 'SUBSCRIBER_TOO_SLOW', resumeAfter: got[2]!.id });
    expect(hub.subscriberCount).toBe(0);
  });

  it('trims to the window and refuses resume points before it', async () => {
    const hub = await newHub();
    const now = Date.now();
    await hub.trim(now); // the window is an hour: entries from before now - 1 h may be dropped
    const floor = `${now - 3_600_000}-0`;
    expect(await redis.get(`${caseEventStream(config.QUEUE_PREFIX)}:floor`)).toBe(floor);
    await expect(hub.subscribe(admin, null, `${now - 3_600_001}-0`)).rejects.toMatchObject({
      extensions: { code: 'RESUME_POINT_EXPIRED', oldestKept: floor },
    });
    const atFloor = await hub.subscribe(admin, null, floor);
    await publishCaseEvents(redis, config.QUEUE_PREFIX, events(1));
    // Everything since the floor comes back first: the whole stream of this file, in order.
    const length = await redis.xlen(caseEventStream(config.QUEUE_PREFIX));
    expect((await take(atFloor, length)).map((m) => m.id)).toEqual(await ids(length));
    await atFloor.return!();
    await expect(hub.subscribe(admin, null, '1-0; DROP')).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });
});
