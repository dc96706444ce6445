import { Readable } from 'node:stream';
import { parse as parseCsvStream } from 'csv-parse';
import { MAX_FAMILY_MEMBERS } from './record.js';

/** Feed body formats the push API takes, by content type. */
export type FeedFormat = 'json' | 'ndjson' | 'csv';

export function formatOf(contentType: string | undefined): FeedFormat | null {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (type === 'application/x-ndjson' || type === 'application/ndjson') return 'ndjson';
  if (type === 'text/csv') return 'csv';
  return null;
}

export class FeedSyntaxError extends Error {
  constructor(
    message: string,
    public readonly line: number,
    public readonly column: number | string | null,
  ) {
    super(message);
    this.name = 'FeedSyntaxError';
  }
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Where V8's JSON.parse failed: its message gives a position, or quotes the text around an
 * unexpected token, or says the input ended.
 */
export function jsonErrorOffset(text: string, message: string): number {
  const position = /position (\d+)/.exec(message);
  if (position) return Number(position[1]);
  if (/end of JSON input/.test(message)) return text.length;
  const quoted = /Unexpected token '(.+?)', (?:\.\.\.)?"([\s\S]*?)"(?:\.\.\.)? is not valid JSON/.exec(message);
  if (quoted) {
    const [, token, context] = quoted as unknown as [string, string, string];
    const at = text.indexOf(context);
    if (at >= 0) return at + Math.max(0, context.indexOf(token));
  }
  return 0;
}

/** One parsed record and where it came from (array index or CSV / NDJSON line). */
export interface PositionedRecord {
  position: number;
  line: number | null;
  record: unknown;
}

const BOOLEAN_PATHS = /^(charterFlight|eligibility\.(legalStay|temporaryProtection|applicationSigned))$/;
const LIST_PATHS = /^(packages|(mainApplicant|familyMembers\.\d+)\.(vulnerabilities|vulnerabilityCodes))$/;

/**
 * Checks a canonical CSV header before any row is read (README, "Limits on feeds"). A number
 * in a column path is a family member's index, below MAX_FAMILY_MEMBERS: a column
 * `familyMembers.4000000.name` would make every row an array of four million places.
 * Other lists are one cell joined with `|`; prototype keys are refused. Throws naming the column.
 */
export function checkCanonicalHeader(header: string[]): string[] {
  for (const column of header) {
    const parts = column.split('.');
    parts.forEach((part, i) => {
      if (part === '__proto__' || part === 'constructor' || part === 'prototype')
        throw new FeedSyntaxError(`column "${column.slice(0, 80)}" is not a canonical field`, 1, column.slice(0, 80));
      if (!/^\d+$/.test(part)) return;
      if (i !== 1 || parts[0] !== 'familyMembers') {
        throw new FeedSyntaxError(
          `column "${column.slice(0, 80)}": only family members are numbered (familyMembers.0.name); ` +
            `other lists are one cell, values joined with |`,
          1,
          column.slice(0, 80),
        );
      }
      if (part.length > 6 || Number(part) >= MAX_FAMILY_MEMBERS) {
        throw new FeedSyntaxError(
          `column "${column.slice(0, 80)}": a case has at most ${MAX_FAMILY_MEMBERS} family members besides ` +
            `the main applicant, numbered familyMembers.0 to familyMembers.${MAX_FAMILY_MEMBERS - 1}`,
          1,
          column.slice(0, 80),
        );
      }
    });
  }
  return header;
}

/**
 * Canonical CSV: one column per canonical path (`mainApplicant.name`, `familyMembers.0.name`),
 * lists separated by `|`, booleans `true`/`false`. National dialects map onto this.
 */
export function csvRowToRecord(row: Record<string, string>): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [path, raw] of Object.entries(row)) {
    const value = raw.trim();
    if (value === '') continue;
    let typed: unknown = value;
    if (path === 'recordVersion') typed = /^\d+$/.test(value) ? Number(value) : value;
    else if (BOOLEAN_PATHS.test(path)) typed = value === 'true' ? true : value === 'false' ? false : value;
    else if (LIST_PATHS.test(path))
      typed = value
        .split('|')
        .map((v) => v.trim())
        .filter(Boolean);
    const parts = path.split('.');
    let node: Record<string, unknown> | unknown[] = record;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const key: string | number = /^\d+$/.test(part) ? Number(part) : part;
      // Keys come from the header: refuse anything that could reach a prototype.
      if (key === '__proto__' || key === 'constructor' || key === 'prototype')
        throw new FeedSyntaxError(`column "${path}" is not a canonical field`, 1, path);
      const container = node as Record<string | number, unknown>;
      if (last) container[key] = typed;
      else {
        container[key] ??= /^\d+$/.test(parts[i + 1]!) ? [] : {};
        node = container[key] as Record<string, unknown>;
      }
    });
  }
  return record;
}

/** The largest single record a feed may carry (a record is a few kilobytes; more is a broken or hostile body). */
export const MAX_RECORD_BYTES = 1024 * 1024;
/** The most records one feed may carry; larger pushes are split by the sender. */
export const MAX_FEED_RECORDS = 1_000_000;

export class FeedTooLargeError extends Error {}

/** Counts the body's bytes as they stream by; past `limit` the push is refused (413). */
export async function* limitBytes(source: AsyncIterable<Buffer | string>, limit: number): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    size += chunk.length;
    if (size > limit) throw new FeedTooLargeError(`the feed exceeds the limit of ${limit} bytes`);
    yield chunk;
  }
}

/** The encodings a feed may be sent in; `auto` in a dialect sniffs one of them. */
export type TextEncoding = 'utf-8' | 'windows-1252' | 'iso-8859-1' | 'utf-16le';

/** Bytes looked at to sniff an encoding. */
const SNIFF_BYTES = 64 * 1024;

/**
 * The encoding of a body's first bytes: a byte-order mark, else UTF-16 when every other byte
 * is zero, else UTF-8 when they are valid UTF-8, else Windows-1252 (the usual national export).
 */
export function sniffEncoding(head: Buffer): TextEncoding {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  let zeros = 0;
  for (let i = 1; i < head.length; i += 2) if (head[i] === 0) zeros++;
  if (head.length >= 4 && zeros > head.length / 2 / 2) return 'utf-16le';
  try {
    // `stream` so a character cut at the end of the sample is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return 'utf-8';
  } catch {
    return 'windows-1252';
  }
}

/** Reads the first bytes of a stream to sniff its encoding, then gives the whole stream back. */
async function sniffed(
  source: AsyncIterable<Buffer>,
): Promise<{ encoding: TextEncoding; body: AsyncIterable<Buffer> }> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < SNIFF_BYTES) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    head.push(next.value);
    size += next.value.length;
  }
  const encoding = sniffEncoding(Buffer.concat(head).subarray(0, SNIFF_BYTES));
  const body = (async function* () {
    yield* head;
    if (done) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  })();
  return { encoding, body };
}

const DELIMITERS = [',', ';', '\t', '|'] as const;

/** The delimiter of a CSV line: the most frequent of , ; tab | outside quotes (a comma when none is). */
export function sniffDelimiter(line: string): string {
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  let best: string = ',';
  for (const d of DELIMITERS) if (counts.get(d)! > counts.get(best)!) best = d;
  return best;
}

/** Reads decoded text until line `lineNumber` is whole, sniffs its delimiter, then gives the whole text back. */
async function sniffedDelimiter(
  text: AsyncGenerator<string>,
  lineNumber: number,
): Promise<{ delimiter: string; text: AsyncIterable<string> }> {
  let head = '';
  const pieces: string[] = [];
  let done = false;
  const lines = () => head.split('\n');
  while (lines().length <= lineNumber && head.length < MAX_RECORD_BYTES) {
    const next = await text.next();
    if (next.done) {
      done = true;
      break;
    }
    pieces.push(next.value);
    head += next.value;
  }
  const line = (lines()[lineNumber - 1] ?? '').slice(0, SNIFF_BYTES);
  const rest = (async function* () {
    yield* pieces;
    if (!done) yield* text;
  })();
  return { delimiter: sniffDelimiter(line), text: rest };
}

/** Decodes a byte stream as it arrives; bytes that are not valid UTF-8 are a syntax error naming the line. */
async function* decode(source: AsyncIterable<Buffer>, encoding: TextEncoding): AsyncGenerator<string> {
  // Strict for UTF-8, so a Latin-1 file pushed without its profile is refused instead of garbling names.
  const decoder = new TextDecoder(encoding, { fatal: encoding === 'utf-8' });
  let lines = 1;
  const counted = (text: string) => {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
    return text;
  };
  let current: Buffer | undefined;
  try {
    for await (const chunk of source) {
      current = chunk;
      const text = decoder.decode(chunk, { stream: true });
      if (text) yield counted(text);
    }
    current = undefined;
    const rest = decoder.decode();
    if (rest) yield counted(rest);
  } catch (error) {
    if (error instanceof TypeError) {
      // Where in the failing piece: the first replacement character a lenient decoder makes.
      const lenient = current ? new TextDecoder('utf-8').decode(current) : '';
      counted(lenient.slice(0, Math.max(0, lenient.indexOf('\uFFFD'))));
      throw new FeedSyntaxError(
        `not valid UTF-8 around line ${lines}: send UTF-8, or push with the profile of your national system, ` +
          `which names its encoding`,
        lines,
        null,
      );
    }
    throw error;
  }
}

/**
 * Finds the elements of a JSON feed (`[...]` or `{"records": [...]}`) as text, piece by
 * piece, so a large feed is never held whole. Only the element boundaries are found here:
 * each element is then read by JSON.parse, with the line and column of any error.
 */
export class JsonElementSplitter {
  private state: 'start' | 'key' | 'colon' | 'open' | 'value' | 'element' | 'next' | 'close' | 'end' = 'start';
  private wrapped = false;
  private key = '';
  private inString = false;
  private escaped = false;
  private stack: string[] = [];
  private element = '';
  private startLine = 1;
  private startColumn = 1;
  private line = 1;
  private column = 0;
  private count = 0;

  /** The records array ended: then only the wrapping object's `}` (if any) and spaces. */
  private closeArray(): void {
    this.state = this.wrapped ? 'close' : 'end';
  }

  private fail(message: string): never {
    throw new FeedSyntaxError(`not valid JSON: ${message}`, this.line, this.column);
  }

  /** Feeds the next piece of text; returns the elements it completed. */
  push(text: string): Array<{ text: string; line: number; column: number }> {
    const out: Array<{ text: string; line: number; column: number }> = [];
    let elementFrom = this.state === 'element' ? 0 : -1;
    const finish = (end: number) => {
      this.element += text.slice(elementFrom, end);
      if (this.element.length > MAX_RECORD_BYTES)
        this.fail(`a record starting at line ${this.startLine} is larger than ${MAX_RECORD_BYTES} bytes`);
      out.push({ text: this.element, line: this.startLine, column: this.startColumn });
      this.element = '';
      elementFrom = -1;
      this.state = 'next';
      this.count++;
    };
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '\n') {
        this.line++;
        this.column = 0;
      } else this.column++;
      const space = ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t';
      switch (this.state) {
        case 'start':
          if (space || ch === '\uFEFF') continue;
          if (ch === '[') this.state = 'value';
          else if (ch === '{') {
            this.wrapped = true;
            this.state = 'key';
          } else this.fail('a JSON feed is an array of records or {"records": [...]}');
          continue;
        case 'key':
          if (!this.inString) {
            if (space) continue;
            if (ch !== '"') this.fail('a JSON feed is an array of records or {"records": [...]}');
            this.inString = true;
            continue;
          }
          if (ch === '"') {
            this.inString = false;
            if (this.key !== 'records')
              this.fail(
                `a JSON feed is an array of records or {"records": [...]}; "${this.key.slice(0, 40)}" is not expected`,
              );
            this.state = 'colon';
          } else if (this.key.length < 64) this.key += ch;
          continue;
        case 'colon':
          if (space) continue;
          if (ch !== ':') this.fail('expected ":" after "records"');
          this.state = 'open';
          continue;
        case 'open':
          if (space) continue;
          if (ch !== '[') this.fail('"records" must be an array');
          this.state = 'value';
          continue;
        case 'value':
          if (space) continue;
          if (ch === ']' && this.count === 0 && this.element === '') {
            this.closeArray();
            continue;
          }
          if (ch === ']' || ch === ',') this.fail(`expected a record, found "${ch}"`);
          this.state = 'element';
          this.startLine = this.line;
          this.startColumn = this.column;
          elementFrom = i;
          this.stack = [];
          this.inString = false;
          i--; // read this character again as part of the element (never a newline: spaces were skipped)
          this.column--;
          continue;
        case 'element':
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (ch === '\\') this.escaped = true;
            else if (ch === '"') this.inString = false;
            continue;
          }
          if (ch === '"') this.inString = true;
          else if (ch === '{') this.stack.push('}');
          else if (ch === '[') this.stack.push(']');
          else if (ch === '}' || ch === ']') {
            if (this.stack.length === 0) {
              if (ch === ']') {
                // A scalar element ends at the array's end.
                finish(i);
                this.closeArray();
                continue;
              }
              this.fail(`unexpected "${ch}"`);
            }
            if (this.stack.pop() !== ch) this.fail(`unexpected "${ch}"`);
            if (this.stack.length === 0) finish(i + 1);
          } else if (ch === ',' && this.stack.length === 0) {
            finish(i);
            this.state = 'value';
          }
          continue;
        case 'next':
          if (space) continue;
          if (ch === ',') this.state = 'value';
          else if (ch === ']') this.closeArray();
          else this.fail(`expected "," or "]" after a record, found "${ch}"`);
          continue;
        case 'close':
          if (space) continue;
          if (ch !== '}') this.fail('expected "}" after the records array');
          this.state = 'end';
          continue;
        case 'end':
          if (!space) this.fail(`unexpected "${ch}" after the end of the feed`);
          continue;
      }
    }
    if (elementFrom >= 0) {
      this.element += text.slice(elementFrom);
      if (this.element.length > MAX_RECORD_BYTES)
        this.fail(`a record starting at line ${this.startLine} is larger than ${MAX_RECORD_BYTES} bytes`);
    }
    return out;
  }

  /** The body has ended: it must have closed its array (and object). */
  end(): void {
    if (this.state !== 'end')
      this.fail(this.state === 'start' ? 'the body is empty' : 'the feed ends before its array is closed');
  }
}

/** One element's text to a record; an error is placed at its line and column in the feed. */
function parseElement(text: string, line: number, column: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const at = lineColumn(text, jsonErrorOffset(text, message));
    throw new FeedSyntaxError(
      `not valid JSON: ${message.replace(/ in JSON at position \d+.*$/, '').replace(/, \.\.\.".*$/s, '')}`,
      line + at.line - 1,
      at.line === 1 ? column + at.column - 1 : at.column,
    );
  }
}

/** A CSV row as a record: canonical layout, or a national one through its profile. */
export type CsvRowMapper = (row: Record<string, string>, line: number) => unknown;

/** How a CSV body is written: the canonical layout by default, a national one as its profile says. */
export interface CsvDialect {
  /** `auto`: sniffed from the first bytes (sniffEncoding). */
  encoding?: TextEncoding | 'auto';
  /** `auto`: sniffed from the header line (or the first data line). */
  delimiter?: string;
  mapRow?: CsvRowMapper;
  trim?: boolean;
  /** The header's line (lines above it are skipped), or `none`: cells are named by position, `#1`, `#2`, ... */
  headerLine?: number | 'none';
  /** Without a header: the first line of data. */
  firstDataLine?: number;
  /** Checks the header (or the first row's positions) before any row is mapped; throws FeedSyntaxError. */
  checkHeader?: (header: string[]) => void;
}

/** A header naming a column twice would let the last cell silently win. */
function checkDistinct(header: string[], line: number): void {
  const seen = new Set<string>();
  for (const column of header) {
    if (seen.has(column))
      throw new FeedSyntaxError(
        `column "${column.slice(0, 80)}" appears twice in the header`,
        line,
        column.slice(0, 80),
      );
    seen.add(column);
  }
}

/**
 * Reads a feed body as it streams in and yields its records one by one with their
 * position and line. A syntax error anywhere throws FeedSyntaxError naming line and column;
 * the caller keeps nothing of a feed that fails.
 */
export async function* feedRecords(
  body: AsyncIterable<Buffer>,
  format: FeedFormat,
  dialect: CsvDialect = {},
): AsyncGenerator<PositionedRecord> {
  let encoding = dialect.encoding ?? 'utf-8';
  if (encoding === 'auto') ({ encoding, body } = await sniffed(body));
  const text = decode(body, encoding);
  let position = 0;
  const next = (record: unknown, line: number | null): PositionedRecord => {
    if (position >= MAX_FEED_RECORDS) throw new FeedTooLargeError(`the feed has more than ${MAX_FEED_RECORDS} records`);
    return { position: position++, line, record };
  };
  if (format === 'json') {
    const splitter = new JsonElementSplitter();
    for await (const piece of text)
      for (const element of splitter.push(piece))
        yield next(parseElement(element.text, element.line, element.column), null);
    splitter.end();
    return;
  }
  if (format === 'ndjson') {
    let pending = '';
    let line = 0;
    for await (const piece of text) {
      pending += piece;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const content = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        line++;
        if (content.trim() !== '') yield next(parseElement(content, line, 1), line);
      }
      if (pending.length > MAX_RECORD_BYTES)
        throw new FeedSyntaxError(
          `not valid NDJSON: line ${line + 1} is longer than ${MAX_RECORD_BYTES} bytes`,
          line + 1,
          null,
        );
    }
    line++;
    if (pending.trim() !== '') yield next(parseElement(pending, line, 1), line);
    return;
  }
  const headerLine = dialect.headerLine ?? 1;
  const positional = headerLine === 'none';
  const firstLine = headerLine === 'none' ? (dialect.firstDataLine ?? 1) : headerLine;
  let delimiter = dialect.delimiter ?? ',';
  let csvText: AsyncIterable<string> = text;
  if (delimiter === 'auto') ({ delimiter, text: csvText } = await sniffedDelimiter(text, firstLine));
  const parser = parseCsvStream({
    // The header is checked before any row: the canonical layout's paths, or the profile's columns.
    columns: positional
      ? false
      : (header: string[]) => {
          checkDistinct(header, firstLine);
          if (dialect.checkHeader) dialect.checkHeader(header);
          else if (!dialect.mapRow) checkCanonicalHeader(header);
          return header;
        },
    from_line: firstLine,
    bom: true,
    info: true,
    skip_empty_lines: true,
    relax_column_count: false,
    delimiter,
    trim: dialect.trim ?? false,
    max_record_size: MAX_RECORD_BYTES,
  });
  const input = Readable.from(csvText);
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  const mapRow: CsvRowMapper = dialect.mapRow ?? ((row) => csvRowToRecord(row));
  let positions: string[] | undefined;
  try {
    for await (const row of parser as AsyncIterable<{
      record: Record<string, string> | string[];
      info: { lines: number };
    }>) {
      let cells = row.record;
      if (Array.isArray(cells)) {
        // Without a header, cells are named by position; the first row's width is checked like a header.
        if (!positions) {
          positions = cells.map((_, i) => `#${i + 1}`);
          dialect.checkHeader?.(positions);
        }
        const values = cells;
        cells = Object.fromEntries(positions.map((p, i) => [p, values[i] ?? '']));
      }
      yield next(mapRow(cells, row.info.lines), row.info.lines);
    }
  } catch (error) {
    if (error instanceof FeedSyntaxError || error instanceof FeedTooLargeError) throw error;
    const e = error as Error & { lines?: number; column?: string | number; code?: string };
    if (!e.code?.startsWith('CSV_')) throw error;
    throw new FeedSyntaxError(`not valid CSV: ${e.message}`, e.lines ?? 1, e.column ?? null);
  } finally {
    input.destroy();
  }
}

/** Reads a whole body (tests, small files): the same parsing as the push API's stream. */
export async function readFeed(
  body: Buffer | string,
  format: FeedFormat,
  dialect: Parameters<typeof feedRecords>[2] = {},
): Promise<PositionedRecord[]> {
  const out: PositionedRecord[] = [];
  const source = (async function* () {
    yield typeof body === 'string' ? Buffer.from(body) : body;
  })();
  for await (const record of feedRecords(source, format, dialect)) out.push(record);
  return out;
}
