import { describe, expect, it } from 'vitest';
import { queuedReport } from '../../subgraphs/cases/ingestion/receipts.js';
import { DuplicateFinder, duplicatesInChunk, isReplayedWrite } from '../../subgraphs/cases/ingestion/duplicates.js';

describe('duplicates: found in one place', () => {
  it('names the first record of a case for every later one, across the records it is shown', () => {
    const finder = new DuplicateFinder();
    expect(finder.see({ caseReference: 'BE-1' }, 0, 2)).toBeUndefined();
    expect(finder.see({ caseReference: 'BE-2' }, 1, 3)).toBeUndefined();
    expect(finder.see({ caseReference: 'BE-1' }, 2, 4)).toEqual({ position: 0, line: 2 });
    expect(finder.see({ caseReference: 'BE-1' }, 3, 5)).toEqual({ position: 0, line: 2 });
  });

  it('remembers no record without a usable reference (none, not text, or longer than any valid one)', () => {
    const long = 'X'.repeat(65);
    const records = [
      null,
      { caseReference: 7 },
      { caseReference: 7 },
      { caseReference: long },
      { caseReference: long },
      'text',
    ];
    expect(duplicatesInChunk(records, 0)).toEqual({});
  });

  it('within a chunk, by feed position and line', () => {
    const records = [{ caseReference: 'A' }, { caseReference: 'B' }, { caseReference: 'A' }];
    expect(duplicatesInChunk(records, 40, [7, 8, 9])).toEqual({ 42: { position: 40, line: 7 } });
    expect(duplicatesInChunk(records, 40)).toEqual({ 42: { position: 40, line: null } });
  });

  it('a replayed write is this very feed position', () => {
    const mark = { feedId: 'feed_a', position: 5, outcome: 'created' as const };
    expect(isReplayedWrite(mark, 'feed_a', 5)).toBe(true);
    expect(isReplayedWrite(mark, 'feed_a', 6)).toBe(false);
    expect(isReplayedWrite(mark, 'feed_b', 5)).toBe(false);
    expect(isReplayedWrite(undefined, 'feed_a', 5)).toBe(false);
  });
});

describe('the report of a feed the store does not have yet', () => {
  it("is QUEUED by the store's rule, counting only what was received", () => {
    const receipt = {
      feedId: 'feed_x',
      memberState: 'BE',
      received: 12,
      totalChunks: 2,
      createdAt: '2024-05-01T10:00:00.000Z',
    };
    expect(JSON.parse(JSON.stringify(queuedReport(receipt)))).toEqual({
      id: 'feed_x',
      memberState: 'BE',
      status: 'QUEUED',
      counts: { received: 12, created: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0 },
      chunks: { total: 2, done: 0, failed: 0 },
      errors: [],
      rejected: [],
      rejectedOmitted: 0,
      profile: null,
      createdAt: '2024-05-01T10:00:00.000Z',
    });
  });
});
