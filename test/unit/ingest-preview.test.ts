import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { multipartBoundary, MultipartError, parseMultipart } from '../../gateway/multipart.js';
import { columnOf, previewFeed } from '../../gateway/preview.js';
import { previewTable, type PreviewAnswer } from '../../scripts/preview-table.js';
import { profileSchema, type FeedProfile } from '../../subgraphs/cases/ingestion/index.js';
import { canonicalRecord } from '../helpers/records.js';

const german = profileSchema.parse(
  JSON.parse(readFileSync(new URL('../../profiles/de-reag-garp.json', import.meta.url), 'utf8')),
) as FeedProfile;

const form = (boundary: string, parts: string[]) =>
  Buffer.from(`${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--\r\n`, 'latin1');

describe('multipartBoundary', () => {
  it.each([
    ['multipart/form-data; boundary=abc', 'abc'],
    ['Multipart/Form-Data; charset=utf-8; boundary="a b:c"', 'a b:c'],
    ['text/csv', null],
    [undefined, null],
  ])('%s → %s', (contentType, boundary) => expect(multipartBoundary(contentType)).toBe(boundary));

  it.each([
    ['multipart/form-data', /needs a boundary/],
    ['multipart/form-data; boundary=""', /1 to 70/],
    [`multipart/form-data; boundary=${'x'.repeat(71)}`, /1 to 70/],
  ])('%s is refused', (contentType, message) => expect(() => multipartBoundary(contentType)).toThrow(message));
});

describe('parseMultipart', () => {
  it('gives each part its raw bytes, file name and content type', () => {
    const body = Buffer.concat([
      Buffer.from('preamble\r\n--B\r\nContent-Disposition: form-data; name="profile"\r\n\r\n{"a":1}\r\n--B\r\n'),
      Buffer.from('Content-Disposition: form-data; name="file"; filename="x.csv"\r\nContent-Type: text/csv\r\n\r\n'),
      Buffer.from('Name\r\nM\xfcller\r\n', 'latin1'),
      Buffer.from('\r\n--B--\r\n'),
    ]);
    const parts = parseMultipart(body, 'B');
    expect([...parts.keys()]).toEqual(['profile', 'file']);
    expect(parts.get('profile')!.data.toString()).toBe('{"a":1}');
    expect(parts.get('file')).toMatchObject({ filename: 'x.csv', contentType: 'text/csv' });
    // Windows-1252 bytes stay as they were sent (ü is 0xFC), CRLFs inside the part too.
    expect(parts.get('file')!.data.equals(Buffer.from('Name\r\nM\xfcller\r\n', 'latin1'))).toBe(true);
  });

  it('an empty part and a part whose bytes look like a boundary without CRLF before it', () => {
    const parts = parseMultipart(form('B', ['Content-Disposition: form-data; name="file"\r\n\r\nx--B y']), 'B');
    expect(parts.get('file')!.data.toString()).toBe('x--B y');
    const empty = parseMultipart(form('B', ['Content-Disposition: form-data; name="file"\r\n\r\n']), 'B');
    expect(empty.get('file')!.data.length).toBe(0);
  });

  it.each([
    ['no boundary at all', Buffer.from('just text'), /does not start with its multipart boundary/],
    ['no closing boundary', Buffer.from('--B\r\nContent-Disposition: form-data; name="f"\r\n\r\ndata'), /closing/],
    ['ends after a boundary', Buffer.from('--B'), /ends without its closing boundary/],
    ['headers that never end', Buffer.from('--B\r\nContent-Disposition: form-data; name="f"'), /headers do not end/],
    ['a part without a name', form('B', ['Content-Disposition: form-data\r\n\r\nx']), /has no name/],
    ['a part without a disposition', form('B', ['Content-Type: text/csv\r\n\r\nx']), /Content-Disposition/],
    ['a header line without a colon', form('B', ['nonsense\r\n\r\nx']), /header line without a name/],
    [
      'a name sent twice',
      form('B', [
        'Content-Disposition: form-data; name="f"\r\n\r\n1',
        'Content-Disposition: form-data; name="f"\r\n\r\n2',
      ]),
      /sent twice/,
    ],
    [
      'too many parts',
      form(
        'B',
        Array.from({ length: 9 }, (_, i) => `Content-Disposition: form-data; name="p${i}"\r\n\r\n${i}`),
      ),
      /at most 8 parts/,
    ],
    [
      'headers past the bound',
      form('B', [`Content-Disposition: form-data; name="f"\r\nX-Pad: ${'a'.repeat(9000)}\r\n\r\nx`]),
      /longer than 8192 bytes/,
    ],
  ])('%s is refused', (_label, body, message) => {
    expect(() => parseMultipart(body, 'B')).toThrow(MultipartError);
    expect(() => parseMultipart(body, 'B')).toThrow(message);
  });
});

describe('columnOf', () => {
  it.each([
    ['mainApplicant.dateOfBirth', 'csv', german, 'Geburtsdatum'],
    ['familyMembers.0.sex', 'csv', german, 'Angehöriger1 Geschlecht'],
    ['packages.1', 'csv', german, 'Leistungen'],
    ['mainApplicant', 'csv', german, null],
    ['(record)', 'csv', german, null],
    ['packages.1', 'csv', undefined, 'packages'],
    ['mainApplicant.vulnerabilities.0', 'csv', undefined, 'mainApplicant.vulnerabilities'],
    ['familyMembers.3.name', 'csv', undefined, 'familyMembers.3.name'],
    ['familyMembers', 'csv', undefined, null],
    ['foo,bar', 'csv', undefined, null],
    ['mainApplicant.name', 'json', undefined, null],
  ] as const)('%s in %s (profile: %s) → %s', (path, format, profile, column) =>
    expect(columnOf(path, format, profile)).toBe(column),
  );
});

describe('previewFeed', () => {
  const context = { memberState: 'BE', requestWindowMonths: 6, now: new Date('2024-06-01'), problemsPerRecord: 20 };
  const ndjson = (records: unknown[]) => Buffer.from(records.map((r) => JSON.stringify(r)).join('\n'));

  it('each record: the canonical record and its eligibility, or null and every problem with its line', async () => {
    const preview = await previewFeed(
      ndjson([
        canonicalRecord('BE', 'BE-1'),
        canonicalRecord('BE', 'BE-2', { countryOfOrigin: 'XX', recordVersion: 0 }),
        canonicalRecord('DE', 'DE-1'),
        canonicalRecord('BE', 'BE-1'),
        canonicalRecord('BE', 'BE-3', { eligibility: { legalStay: true, requestDate: '2024-04-10' } }),
      ]),
      'ndjson',
      undefined,
      context,
    );
    expect(preview.counts).toEqual({ read: 5, accepted: 2, rejected: 3 });
    expect(preview.ok).toBe(false);
    expect(preview.rows[0]!.record).toMatchObject({ caseReference: 'BE-1', charterFlight: false, familyMembers: [] });
    expect(preview.rows[0]!.eligibility).toEqual({ outcome: 'ELIGIBLE', reasons: [], requestDate: '2024-04-10' });
    expect(preview.rows[1]).toMatchObject({ accepted: false, record: null, line: 2, caseReference: 'BE-2' });
    expect(preview.rows[1]!.problems.map((p) => [p.path, p.line, p.column])).toEqual([
      ['recordVersion', 2, null],
      ['countryOfOrigin', 2, null],
    ]);
    expect(preview.rows[2]!.problems[0]).toMatchObject({ path: 'memberState', message: /belongs to DE/ });
    expect(preview.rows[3]!.problems[0]!.message).toMatch(/the same case reference is at position 0 \(line 1\)/);
    expect(preview.rows[4]!.eligibility).toMatchObject({ outcome: 'INELIGIBLE', reasons: ['LEGAL_STAY'] });
    expect(preview.feedError).toBeNull();
  });

  it('reads the first records only; a broken record past them is not looked at', async () => {
    const body = Buffer.concat([
      ndjson(Array.from({ length: 7 }, (_, i) => canonicalRecord('BE', `B-${i}`))),
      Buffer.from('\n{'),
    ]);
    const preview = await previewFeed(body, 'ndjson', undefined, { ...context, maxRecords: 5 });
    expect(preview).toMatchObject({ truncated: true, ok: true, feedError: null, counts: { read: 5 } });
    const broken = await previewFeed(body, 'ndjson', undefined, { ...context, maxRecords: 10 });
    expect(broken.feedError).toMatchObject({ code: 'MALFORMED_FEED', line: 8 });
    expect(broken).toMatchObject({ truncated: false, ok: false, counts: { read: 7, accepted: 7 } });
  });

  it.each([
    ['an empty NDJSON body', '\n\n', 'ndjson', 'EMPTY_FEED'],
    ['an empty JSON array', '[]', 'json', 'EMPTY_FEED'],
    ['an empty JSON body', '', 'json', 'MALFORMED_FEED'],
    ['an unclosed JSON array', '[{"a":1}', 'json', 'MALFORMED_FEED'],
    ['a canonical CSV with a numbered list column', 'packages.0\nX\n', 'csv', 'MALFORMED_FEED'],
  ] as const)('%s: the push would be refused whole (%s)', async (_label, body, format, code) => {
    const preview = await previewFeed(Buffer.from(body), format, undefined, context);
    expect(preview.feedError?.code).toBe(code);
    expect(preview.ok).toBe(false);
  });

  it("a national CSV: problems name the profile's column", async () => {
    const csv =
      'Aktenzeichen;Version;Rückkehrart;Leistungen;Herkunftsland;Ausreisedatum;Name;Geburtsdatum;Geschlecht\r\n' +
      'DE-1;1;freiwillig;Ankunft;Türkei;05.03.2024;Jürgen Groß;31.02.1988;m\r\n';
    const preview = await previewFeed(Buffer.from(csv, 'latin1'), 'csv', german, { ...context, memberState: 'DE' });
    expect(preview.rows[0]!.mapped).toMatchObject({ mainApplicant: { name: 'Jürgen Groß' } });
    expect(preview.rows[0]!.problems).toEqual([
      {
        path: 'mainApplicant.dateOfBirth',
        column: 'Geburtsdatum',
        line: 2,
        message: expect.stringMatching(/calendar/),
      },
    ]);
  });
});

describe('previewTable', () => {
  it('one line per record, its problems under it, and what a preview does not check', () => {
    const answer: PreviewAnswer = {
      ok: false,
      format: 'csv',
      truncated: true,
      profile: { name: 'xx-try', source: 'request' },
      limits: { maxRecords: 100 },
      counts: { read: 2, accepted: 1, rejected: 1 },
      feedError: null,
      rows: [
        {
          position: 0,
          line: 2,
          caseReference: 'A-1',
          accepted: true,
          record: { familyMembers: [{}, {}] },
          eligibility: { outcome: 'INELIGIBLE', reasons: ['LEGAL_STAY'] },
          problems: [],
        },
        {
          position: 1,
          line: 3,
          caseReference: null,
          accepted: false,
          record: null,
          eligibility: null,
          problems: [{ path: 'mainApplicant.sex', column: 'Sexe', line: 3, message: 'Invalid enum value' }],
        },
      ],
      notChecked: ['partner assignment'],
    };
    const text = previewTable(answer);
    expect(text).toMatch(/preview of csv with profile xx-try \(sent, not installed\): read 2, would be accepted 1/);
    expect(text).toMatch(/only the first 100 records were read/);
    expect(text).toContain(
      [
        'record   line  case reference            result    persons  eligibility',
        '     0      2  A-1                       accepted        3  INELIGIBLE (LEGAL_STAY)',
        '     1      3  (none)                    REJECTED        -  -',
        '                column "Sexe", mainApplicant.sex: Invalid enum value',
      ].join('\n'),
    );
    expect(text).toMatch(/not checked by a preview: partner assignment\n$/);
  });
});
