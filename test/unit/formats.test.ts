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
  sniffDelimiter,
  sniffEncoding,
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

describe('CSV dialects: encodings and delimiters sniffed, header offsets, no header', () => {
  it.each([
    ['a UTF-8 byte-order mark', Buffer.from('\uFEFFa;b\n', 'utf8'), 'utf-8'],
    [
      'a UTF-16 byte-order mark',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a;b\n', 'utf16le')]),
      'utf-16le',
    ],
    ['UTF-16 without a mark', Buffer.from('namn;född\n', 'utf16le'), 'utf-16le'],
    ['valid UTF-8', Buffer.from('namn;född;Ñúñez\n', 'utf8'), 'utf-8'],
    ['Latin bytes', Buffer.from('Name;Geburtsdatum;Müller\n', 'latin1'), 'windows-1252'],
    ['a character cut at the end of the sample', Buffer.from('Zoë', 'utf8').subarray(0, 3), 'utf-8'],
  ])('encoding: %s', (_, bytes, encoding) => {
    expect(sniffEncoding(bytes)).toBe(encoding);
  });

  it.each([
    ['a;b;c', ';'],
    ['a,b,c', ','],
    ['a\tb\tc', '\t'],
    ['a|b|c', '|'],
    ['"x;y;z",b,c', ','],
    ['single', ','],
  ])('delimiter of %j is %j', (line, delimiter) => {
    expect(sniffDelimiter(line)).toBe(delimiter);
  });

  const rows = (csv: Buffer | string, dialect: Parameters<typeof readFeed>[2]) =>
    readFeed(csv, 'csv', { ...dialect, mapRow: (row) => row });

  it('a header at an offset: lines above it are skipped, lines are counted from the top of the file', async () => {
    const csv = 'Export 2024;;\nsecond title\nref;name\nA-1;Zoë\nA-2;Олена\n';
    expect(await rows(csv, { headerLine: 3, delimiter: 'auto', encoding: 'auto' })).toEqual([
      { position: 0, line: 4, record: { ref: 'A-1', name: 'Zoë' } },
      { position: 1, line: 5, record: { ref: 'A-2', name: 'Олена' } },
    ]);
  });

  it('no header: cells named by position, the first row checked like a header', async () => {
    const seen: string[][] = [];
    const csv = Buffer.from('A-1|Müller|x\r\nA-2|Öz|y\r\n', 'latin1');
    const dialect = { headerLine: 'none' as const, delimiter: '|', encoding: 'windows-1252' as const };
    expect(await rows(csv, { ...dialect, checkHeader: (h) => void seen.push(h) })).toEqual([
      { position: 0, line: 1, record: { '#1': 'A-1', '#2': 'Müller', '#3': 'x' } },
      { position: 1, line: 2, record: { '#1': 'A-2', '#2': 'Öz', '#3': 'y' } },
    ]);
    expect(seen).toEqual([['#1', '#2', '#3']]);
    expect(await rows('skip me\nA-1,x\n', { headerLine: 'none', firstDataLine: 2 })).toEqual([
      { position: 0, line: 2, record: { '#1': 'A-1', '#2': 'x' } },
    ]);
  });

  it('UTF-16 exports are read', async () => {
    const csv = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('ref;name\nA-1;زينب\n', 'utf16le')]);
    expect(await rows(csv, { encoding: 'auto', delimiter: 'auto' })).toEqual([
      { position: 0, line: 2, record: { ref: 'A-1', name: 'زينب' } },
    ]);
  });

  it('a header naming a column twice is refused: the last cell would silently win', async () => {
    await expect(rows('name;name\na;b\n', { delimiter: ';' })).rejects.toThrow(/column "name" appears twice/);
    await expect(readFeed('caseReference,caseReference\na,b\n', 'csv')).rejects.toThrow(/appears twice/);
  });
});
