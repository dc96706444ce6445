import { parse as parseCsv } from 'csv-parse/sync';

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

function parseJson(text: string, lineOffset = 0): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const at = lineColumn(text, jsonErrorOffset(text, message));
    throw new FeedSyntaxError(`not valid JSON: ${message.replace(/ in JSON at position \d+.*$/, '').replace(/, \.\.\.".*$/s, '')}`, at.line + lineOffset, at.column);
  }
}

/** One parsed record and where it came from (array index or CSV / NDJSON line). */
export interface PositionedRecord {
  position: number;
  line: number | null;
  record: unknown;
}

const BOOLEAN_PATHS = /^(charterFlight|eligibility\.(legalStay|temporaryProtection|applicationSigned))$/;
const LIST_PATHS = /^(packages|mainApplicant\.vulnerabilities|familyMembers\.\d+\.vulnerabilities)$/;

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
    else if (LIST_PATHS.test(path)) typed = value.split('|').map((v) => v.trim()).filter(Boolean);
    const parts = path.split('.');
    let node: Record<string, unknown> | unknown[] = record;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const key: string | number = /^\d+$/.test(part) ? Number(part) : part;
      // Keys come from the header: refuse anything that could reach a prototype.
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw new FeedSyntaxError(`column "${path}" is not a canonical field`, 1, path);
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

/** Parses a whole feed body; a syntax error names its line and column, and nothing is kept. */
export function parseFeedBody(format: FeedFormat, text: string): PositionedRecord[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (format === 'json') {
    const parsed = parseJson(body);
    const records = Array.isArray(parsed) ? parsed : (parsed as { records?: unknown } | null)?.records;
    if (!Array.isArray(records)) throw new FeedSyntaxError('a JSON feed is an array of records or {"records": [...]}', 1, 1);
    return records.map((record, position) => ({ position, line: null, record }));
  }
  if (format === 'ndjson') {
    const out: PositionedRecord[] = [];
    body.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      out.push({ position: out.length, line: i + 1, record: parseJson(line, i) });
    });
    return out;
  }
  let rows: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    rows = parseCsv(body, { columns: true, bom: true, info: true, skip_empty_lines: true, relax_column_count: false }) as typeof rows;
  } catch (error) {
    const e = error as Error & { lines?: number; column?: string | number };
    throw new FeedSyntaxError(`not valid CSV: ${e.message}`, e.lines ?? 1, e.column ?? null);
  }
  return rows.map((row, position) => ({ position, line: row.info.lines, record: csvRowToRecord(row.record) }));
}
