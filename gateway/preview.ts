import {
  assessChunk,
  feedRecords,
  FeedSyntaxError,
  FeedTooLargeError,
  profileDialect,
  type FeedFormat,
  type FeedProfile,
} from '../subgraphs/cases/ingestion/index.js';

/**
 * The feed preview (README, "Previewing a feed"): the first records of a feed read, mapped and checked by
 * the very functions a push and its worker run (feedRecords, the profile's dialect, assessChunk), so what
 * the preview says of a record is what the push would do with it. Nothing is staged, queued or stored.
 */

/** Records a preview reads; the rest of the body is not parsed. */
export const PREVIEW_MAX_RECORDS = 100;

/**
 * What a preview cannot know, because it happens only when the worker stores the feed: listed in every
 * answer so that a clean preview is not read as a promise.
 */
export const NOT_CHECKED_BY_PREVIEW = [
  'partner assignment: a record whose country and packages no partner covers on its departure date is ' +
    'refused when stored',
  'the stored case: whether a record creates, updates or leaves a case unchanged, is stale (an older ' +
    'recordVersion), or targets a case whose personal data was erased',
] as const;

/** One problem of one record, placed in the file: canonical field, national column, line. */
export interface PreviewProblem {
  path: string;
  /** The column the field came from (the profile's, or the canonical CSV's), when it can be told. */
  column: string | null;
  line: number | null;
  message: string;
}

export interface PreviewRow {
  position: number;
  line: number | null;
  caseReference: string | null;
  /** True when the worker would go on to store the record (problems empty). */
  accepted: boolean;
  /** The canonical record it becomes (defaults filled in), or null when it would be rejected. */
  record: unknown;
  /** The eligibility the worker would assess, for an accepted record. */
  eligibility: { outcome: string; reasons: string[]; requestDate: string | null } | null;
  /** What the reader and the profile made of the row, before validation: where a value went, or did not. */
  mapped: unknown;
  problems: PreviewProblem[];
}

/** Why a push of this body would be refused whole (the push API's code, message, line and column). */
export interface PreviewFeedError {
  code: 'MALFORMED_FEED' | 'PAYLOAD_TOO_LARGE' | 'EMPTY_FEED';
  message: string;
  line: number | null;
  column: number | string | null;
}

export interface FeedPreview {
  format: FeedFormat;
  /** True when a push would be taken and every record read would be stored (as far as a preview can tell). */
  ok: boolean;
  /** More records followed the first PREVIEW_MAX_RECORDS; they were not read. */
  truncated: boolean;
  counts: { read: number; accepted: number; rejected: number };
  feedError: PreviewFeedError | null;
  rows: PreviewRow[];
  requestWindowMonths: number;
  notChecked: readonly string[];
}

export interface PreviewContext {
  /** The Member State the push would come from: a record of another is rejected, as in a push. */
  memberState: string;
  requestWindowMonths: number;
  now: Date;
  problemsPerRecord: number;
  maxRecords?: number;
}

/** Every string in a profile's mapping of one column, whatever shape the mapping has. */
function targetsOf(mapping: unknown, depth = 0): string[] {
  if (typeof mapping === 'string') return [mapping];
  if (depth > 4 || !mapping || typeof mapping !== 'object') return [];
  return Object.values(mapping).flatMap((value) => targetsOf(value, depth + 1));
}

/**
 * The national column a canonical field came from: the profile's columns whose mapping names the field or
 * a list or object above it (`packages` for `packages.1`). Canonical CSV names its columns by field path;
 * JSON has no columns.
 */
export function columnOf(path: string, format: FeedFormat, profile?: FeedProfile): string | null {
  if (path === '(record)' || path.includes(',')) return null;
  if (profile) {
    const covers = (target: string) => target === path || path.startsWith(`${target}.`);
    const headers = Object.entries(profile.columns as Record<string, unknown>)
      .filter(([, mapping]) => targetsOf(mapping).some(covers))
      .map(([header]) => header);
    return headers.length > 0 ? headers.join(' + ') : null;
  }
  if (format !== 'csv') return null;
  // A list other than the family is one cell (`packages`, `mainApplicant.vulnerabilities`).
  const cell = path.replace(/^((?!familyMembers$).+)\.\d+$/, '$1');
  return /^(mainApplicant|eligibility|familyMembers(\.\d+)?)$/.test(cell) ? null : cell;
}

/** One buffer as the byte stream the feed reader takes (what `req.iterator()` gives a push). */
async function* bytes(body: Buffer): AsyncGenerator<Buffer> {
  yield body;
}

/**
 * Reads the first records of `body` as a push would (the profile's dialect for a national CSV) and
 * assesses them as the worker would, for `context.memberState`. Never throws for what the body holds.
 */
export async function previewFeed(
  body: Buffer,
  format: FeedFormat,
  profile: FeedProfile | undefined,
  context: PreviewContext,
): Promise<FeedPreview> {
  const maxRecords = context.maxRecords ?? PREVIEW_MAX_RECORDS;
  const read: Array<{ position: number; line: number | null; record: unknown }> = [];
  let feedError: PreviewFeedError | null = null;
  let truncated = false;
  const records = feedRecords(bytes(body), format, profile ? profileDialect(profile) : {});
  try {
    for (;;) {
      const next = await records.next();
      if (next.done) break;
      if (read.length >= maxRecords) {
        truncated = true;
        break;
      }
      read.push(next.value);
    }
  } catch (error) {
    // A record past the first ones is not previewed, whatever it holds: there was more, that is all.
    if (read.length >= maxRecords && (error instanceof FeedSyntaxError || error instanceof FeedTooLargeError))
      truncated = true;
    else if (error instanceof FeedSyntaxError)
      feedError = { code: 'MALFORMED_FEED', message: error.message, line: error.line, column: error.column };
    else if (error instanceof FeedTooLargeError)
      feedError = { code: 'PAYLOAD_TOO_LARGE', message: error.message, line: null, column: null };
    else throw error;
  } finally {
    await records.return(undefined);
  }
  if (!feedError && read.length === 0)
    feedError = { code: 'EMPTY_FEED', message: 'The feed has no records', line: null, column: null };

  const lines = read.map((r) => r.line);
  const assessed = assessChunk(
    { memberState: context.memberState, firstPosition: 0, records: read.map((r) => r.record), lines },
    {
      requestWindowMonths: context.requestWindowMonths,
      now: context.now,
      problemsPerRecord: context.problemsPerRecord,
    },
  );
  const problems = new Map<number, PreviewProblem[]>();
  for (const entry of assessed.rejections.flatMap((r) => r.entries)) {
    const line = lines[entry.position] ?? null;
    const list = problems.get(entry.position) ?? [];
    list.push({ path: entry.path, column: columnOf(entry.path, format, profile), line, message: entry.message });
    problems.set(entry.position, list);
  }
  const accepted = new Map(assessed.accepted.map((a) => [a.position!, a]));
  const rows = read.map(({ position, line, record: mapped }): PreviewRow => {
    const taken = accepted.get(position);
    const reference = (mapped as { caseReference?: unknown } | null)?.caseReference;
    const caseReference = typeof reference === 'string' ? reference.slice(0, 64) : null;
    if (!taken) {
      const found = problems.get(position) ?? [];
      return {
        position,
        line,
        caseReference,
        accepted: false,
        record: null,
        eligibility: null,
        mapped,
        problems: found,
      };
    }
    const { assessed: eligibility, position: _position, partnerId: _partner, lateInsertion: _late, ...record } = taken;
    return {
      position,
      line,
      caseReference,
      accepted: true,
      record,
      eligibility: eligibility
        ? { outcome: eligibility.outcome, reasons: eligibility.reasons, requestDate: eligibility.requestDate }
        : null,
      mapped,
      problems: [],
    };
  });
  const rejected = rows.filter((r) => !r.accepted).length;
  return {
    format,
    ok: !feedError && rejected === 0,
    truncated,
    counts: { read: rows.length, accepted: rows.length - rejected, rejected },
    feedError,
    rows,
    requestWindowMonths: context.requestWindowMonths,
    notChecked: NOT_CHECKED_BY_PREVIEW,
  };
}
