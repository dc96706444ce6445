import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { FetchSlots, FetchSlotTimeout } from '../../gateway/limits.js';
import { placeErrors } from '../../gateway/subscriptions/index.js';

/** Issue #12, item 9: where each error of a per-event case fetch goes (never dropped). */
describe('errors of a per-event case fetch', () => {
  const unavailable = (serviceName: string, path?: Array<string | number>) => ({
    message: `Subgraph "${serviceName}" is unavailable`,
    ...(path ? { path } : {}),
    extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName },
  });

  it('a case missing because the root fetch failed becomes CASE_FETCH_FAILED with the reason and the subgraph', () => {
    const result = placeErrors(null, [], [unavailable('cases')], true);
    expect(result).toBeInstanceOf(GraphQLError);
    expect((result as GraphQLError).extensions).toEqual({
      code: 'CASE_FETCH_FAILED',
      reason: 'SUBGRAPH_UNAVAILABLE',
      serviceName: 'cases',
    });
    expect((result as GraphQLError).message).toBe('The case could not be fetched: Subgraph "cases" is unavailable');
  });

  it('a case null without a failure (not visible) stays null; an answer about it (NOT_FOUND) passes as is', () => {
    expect(placeErrors(null, [], [unavailable('finance')], false)).toEqual({
      value: null,
      unplaced: [],
      failed: false,
    });
    const notFound = placeErrors(
      null,
      [{ message: 'No case x', path: ['c1'], extensions: { code: 'NOT_FOUND' } }],
      [],
      false,
    );
    expect((notFound as GraphQLError).extensions).toEqual({ code: 'NOT_FOUND' });
  });

  it('a field error goes to its field (even below a propagated null); one naming no field goes with the case', () => {
    const value = { caseReference: 'BE-1', entitlement: null, familyMembers: [{ name: 'A' }, null] };
    const result = placeErrors(
      value,
      [
        { message: 'No tariff', path: ['c0', 'entitlement'], extensions: { code: 'TARIFF_NOT_FOUND' } },
        { message: 'broken', path: ['c0', 'familyMembers', 1, 'name'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      ],
      [unavailable('partners')],
      false,
    ) as { value: Record<string, unknown>; unplaced: GraphQLError[]; failed: boolean };
    expect(result.failed).toBe(true);
    expect(result.value.caseReference).toBe('BE-1');
    expect(result.value.entitlement).toBeInstanceOf(GraphQLError);
    expect((result.value.entitlement as GraphQLError).extensions.code).toBe('TARIFF_NOT_FOUND');
    expect((result.value.familyMembers as unknown[])[1]).toBeInstanceOf(GraphQLError);
    expect(result.unplaced.map((e) => e.extensions)).toEqual([
      { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'partners' },
    ]);
  });
});

describe('fetch slots per principal', () => {
  it('grants at most the limit at once, in order, and refuses a wait past the deadline naming the limit', async () => {
    const slots = new FetchSlots(2, 100);
    const first = await slots.acquire('p');
    await slots.acquire('p');
    expect(slots.active('p')).toBe(2);
    const third = slots.acquire('p');
    const other = await slots.acquire('q'); // another key is not held up
    other();
    first();
    const release = await third; // handed over in order
    expect(slots.active('p')).toBe(2);
    const late = slots.acquire('p');
    await expect(late).rejects.toBeInstanceOf(FetchSlotTimeout);
    await expect(late).rejects.toThrow(/2 case fetches in flight .*SUBSCRIPTION_FETCHES_IN_FLIGHT/);
    release();
    release(); // twice is once
    expect(slots.active('p')).toBe(1);
  });
});
