import { describe, expect, it } from 'vitest';
import {
  csvRowToRecord,
  FeedSyntaxError,
  feedRecords,
  formatOf,
  jsonErrorOffset,
  JsonElementSplitter,
  MAX_RECORD_BYTES,
  readFeed,
} from '../../subgraphs/cases/ingestion/formats.js';

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

  it('reads a JSON array and {records}, keeping positions', async () => {
    expect((await readFeed('[{"a":1},{"a":2}]', 'json')).map((r) => r.position)).toEqual([0, 1]);
    expect(await readFeed(' {"records" : [{"a":1}] }\n', 'json')).toEqual([
      { position: 0, line: null, record: { a: 1 } },
    ]);
    expect(await readFeed('[]', 'json')).toEqual([]);
    expect((await readFeed('[1, "x,]", {"b": [1, {"c": "]}"}]}, null]', 'json')).map((r) => r.record)).toEqual([
      1,
      'x,]',
      { b: [1, { c: ']}' }] },
      null,
    ]);
    await expect(readFeed('{"a":1}', 'json')).rejects.toThrow(/array of records/);
    await expect(readFeed('{"records":[], "x": 1}', 'json')).rejects.toThrow(/expected "}"/);
  });

  it('finds JSON elements across arbitrary piece boundaries', () => {
    const text = '[\n {"name": "Ολγα \\"Ω\\" [x]"},\n {"n": [1,2,{"m":"}"}]}\n]';
    const whole = new JsonElementSplitter().push(text).map((e) => e.text);
    for (let cut = 1; cut < text.length; cut++) {
      const splitter = new JsonElementSplitter();
      const parts = [...splitter.push(text.slice(0, cut)), ...splitter.push(text.slice(cut))].map((e) => e.text);
      splitter.end();
      expect(parts).toEqual(whole);
    }
    expect(whole.map((t) => JSON.parse(t) as unknown)).toEqual([
      { name: 'Ολγα "Ω" ' + '[x]' },
      { n: [1, 2, { m: '}' }] },
    ]);
  });

  it.each([
    ['[{"a":1} {"b":2}]', 1, 10, /expected "," or "\]"/],
    ['[{"a":1},]', 1, 10, /expected a record/],
    ['[\n{"a":1},\n{"a":]', 3, 6, /unexpected "\]"/],
    ['[{"a":1}', 1, 8, /before its array is closed/],
    ['[{"a":1}] x', 1, 11, /after the end/],
    ['', 1, 0, /empty/],
    ['nope', 1, 1, /array of records/],
  ])('places a structural JSON error: %j', async (text, line, column, message) => {
    const error = (await readFeed(text, 'json').catch((e: unknown) => e)) as FeedSyntaxError;
    expect(error).toBeInstanceOf(FeedSyntaxError);
    expect(error.message).toMatch(message);
    expect([error.line, error.column]).toEqual([line, column]);
  });

  it('refuses a single record over the size limit without holding the rest', async () => {
    const huge = `[{"a":"${'x'.repeat(MAX_RECORD_BYTES + 10)}"}]`;
    await expect(readFeed(huge, 'json')).rejects.toThrow(/larger than/);
    await expect(readFeed(`{"a":"${'x'.repeat(MAX_RECORD_BYTES + 10)}`, 'ndjson')).rejects.toThrow(/longer than/);
  });

  it('refuses bytes that are not UTF-8 without a profile, naming the line', async () => {
    const error = (await readFeed(
      Buffer.concat([Buffer.from('{"a":1}\n{"name":"'), Buffer.from('Jos\xe9', 'latin1'), Buffer.from('"}\n')]),
      'ndjson',
    ).catch((e: unknown) => e)) as FeedSyntaxError;
    expect(error).toBeInstanceOf(FeedSyntaxError);
    expect(error.message).toMatch(/not valid UTF-8/);
    expect(error.line).toBe(2);
  });

  it('streams: records come out before the body has ended', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const body = (async function* () {
      yield Buffer.from('{"n":1}\n{"n":2}\n');
      await gate;
      yield Buffer.from('{"n":3}\n');
    })();
    const iterator = feedRecords(body, 'ndjson');
    expect((await iterator.next()).value?.record).toEqual({ n: 1 });
    expect((await iterator.next()).value?.record).toEqual({ n: 2 });
    release();
    expect((await iterator.next()).value?.record).toEqual({ n: 3 });
    expect((await iterator.next()).done).toBe(true);
  });

  it('names line and column of JSON errors, whatever V8 says', async () => {
    const text = '[\n {"a": 1,\n  "b": }\n]';
    expect(jsonErrorOffset(text, `Unexpected token '}', ..."  "b": }\n]" is not valid JSON`)).toBe(text.indexOf('}'));
    expect(jsonErrorOffset('[1,', 'Unexpected end of JSON input')).toBe(3);
    expect(jsonErrorOffset('xx', 'Expected something in JSON at position 1')).toBe(1);
    const error = (await readFeed(text, 'json').catch((e: unknown) => e)) as FeedSyntaxError;
    expect(error).toBeInstanceOf(FeedSyntaxError);
    expect([error.line, error.column]).toEqual([3, 8]);
    const inElement = (await readFeed('[{"a":1},\n  {"a": tru}]', 'json').catch((e: unknown) => e)) as FeedSyntaxError;
    expect([inElement.line, inElement.column]).toEqual([2, 12]);
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

  it('strips a UTF-8 BOM and reads NDJSON line numbers', async () => {
    expect((await readFeed('\uFEFFcaseReference\nBE-1\n', 'csv'))[0]!.record).toEqual({ caseReference: 'BE-1' });
    expect((await readFeed('{"a":1}\n\n{"a":2}\r\n{"a":3}', 'ndjson')).map((r) => r.line)).toEqual([1, 3, 4]);
    expect((await readFeed('\uFEFF[{"a":1}]', 'json'))[0]!.record).toEqual({ a: 1 });
  });

  it('names the line of a CSV error', async () => {
    const error = (await readFeed('caseReference,recordVersion\nBE-1,1\nBE-2,1,extra\n', 'csv').catch(
      (e: unknown) => e,
    )) as FeedSyntaxError;
    expect(error).toBeInstanceOf(FeedSyntaxError);
    expect(error.line).toBe(3);
  });
});
