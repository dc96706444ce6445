import { describe, expect, it } from 'vitest';
import { csvRowToRecord, FeedSyntaxError, formatOf, jsonErrorOffset, parseFeedBody } from '../../subgraphs/cases/ingestion/formats.js';

describe('feed body formats', () => {
  it.each([
    ['application/json', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['application/x-ndjson', 'ndjson'],
    ['text/csv; charset=UTF-8', 'csv'],
    ['text/plain', null],
    [undefined, null],
  ])('%s → %s', (type, format) => {
    expect(formatOf(type)).toBe(format);
  });

  it('reads a JSON array and {records}, keeping positions', () => {
    expect(parseFeedBody('json', '[{"a":1},{"a":2}]').map((r) => r.position)).toEqual([0, 1]);
    expect(parseFeedBody('json', '{"records":[{"a":1}]}')).toEqual([{ position: 0, line: null, record: { a: 1 } }]);
    expect(() => parseFeedBody('json', '{"a":1}')).toThrow(/array of records/);
  });

  it('names line and column of JSON errors, whatever V8 says', () => {
    const text = '[\n {"a": 1,\n  "b": }\n]';
    expect(jsonErrorOffset(text, `Unexpected token '}', ..."  "b": }\n]" is not valid JSON`)).toBe(text.indexOf('}'));
    expect(jsonErrorOffset('[1,', 'Unexpected end of JSON input')).toBe(3);
    expect(jsonErrorOffset('xx', 'Expected something in JSON at position 1')).toBe(1);
    try {
      parseFeedBody('json', text);
      expect.fail('should throw');
    } catch (error) {
      expect(error).toBeInstanceOf(FeedSyntaxError);
      expect((error as FeedSyntaxError).line).toBe(3);
    }
  });

  it('maps canonical CSV columns to nested records with typed values', () => {
    expect(
      csvRowToRecord({
        recordVersion: '3',
        charterFlight: 'true',
        packages: 'POST_ARRIVAL | POST_RETURN',
        'mainApplicant.name': ' Ана ',
        'familyMembers.1.name': 'B',
        'familyMembers.0.name': 'A',
        'eligibility.applicationSigned': 'false',
        departureDate: '',
      }),
    ).toEqual({
      recordVersion: 3,
      charterFlight: true,
      packages: ['POST_ARRIVAL', 'POST_RETURN'],
      mainApplicant: { name: 'Ана' },
      familyMembers: [{ name: 'A' }, { name: 'B' }],
      eligibility: { applicationSigned: false },
    });
  });

  it('refuses header columns that would reach a prototype', () => {
    expect(() => csvRowToRecord({ '__proto__.polluted': 'yes' })).toThrow(FeedSyntaxError);
    expect(() => csvRowToRecord({ 'mainApplicant.constructor.x': '1' })).toThrow(FeedSyntaxError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('strips a UTF-8 BOM and reads NDJSON line numbers', () => {
    expect(parseFeedBody('csv', '\uFEFFcaseReference\nBE-1\n')[0]!.record).toEqual({ caseReference: 'BE-1' });
    expect(parseFeedBody('ndjson', '{"a":1}\n\n{"a":2}\n').map((r) => r.line)).toEqual([1, 3]);
  });
});
