import { describe, expect, it } from 'vitest';
import { checkPageSize, decodeCursor, encodeCursor } from '../../shared/pagination.js';
import { DateScalar, isCalendarDate } from '../../shared/scalars.js';

describe('Date scalar', () => {
  it.each([
    ['2024-02-29', true],
    ['2023-02-29', false],
    ['2024-13-01', false],
    ['2024-1-01', false],
    ['20240101', false],
    ['', false],
  ])('%s is a calendar date: %s', (value, ok) => {
    expect(isCalendarDate(value)).toBe(ok);
  });

  it('refuses non-strings with a coded error', () => {
    expect(() => DateScalar.parseValue({ $gt: '' })).toThrow(/Date must be a calendar date/);
  });
});

describe('cursors and page sizes', () => {
  it('round-trips a key', () => {
    expect(decodeCursor(encodeCursor('6b048312955c080de7a42f62'))).toBe('6b048312955c080de7a42f62');
  });

  it.each(['', 'not base64!', Buffer.from('{"$gt":""}').toString('base64url'), 'x'.repeat(500)])(
    'refuses forged cursor %s',
    (cursor) => {
      expect(() => decodeCursor(cursor)).toThrow(/not a cursor/);
    },
  );

  it.each([0, -1, 201, 1.5])('refuses page size %s', (size) => {
    expect(() => checkPageSize(size)).toThrow(/between 1 and 200/);
  });

  it('defaults to 50', () => {
    expect(checkPageSize(undefined)).toBe(50);
  });
});
