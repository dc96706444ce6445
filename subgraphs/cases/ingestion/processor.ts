import type { CaseEvent } from '../../../shared/case-events/index.js';
import type { CasesModels } from '../models.js';
import { assessEligibility, DEFAULT_ELIGIBILITY_RULES } from '../eligibility.js';
import type { AssignPartners } from './assignment.js';
import { MAX_PROBLEMS_PER_RECORD, validateRecord } from './record.js';
import { MAX_PROBLEMS_PER_REPORT } from './feeds.js';
import { upsertRecords, type AssessedRecord, type RecordOutcome } from './upsert.js';

export const INGEST_QUEUE = 'avrr-ingest';

/** One chunk of a feed as the worker processes it: never a whole large feed. */
export interface IngestChunk {
  feedId: string;
  /** The Member State that pushed the feed; it must own every record. */
  memberState: string;
  /** Position of records[0] in the feed (0-based), for reports. */
  firstPosition: number;
  records: unknown[];
  /** Line of each record in a CSV or NDJSON body (null for JSON arrays). */
  lines?: Array<number | null>;
  /** How many chunks and records the whole feed has (for its report). */
  totalChunks?: number;
  chunkIndex?: number;
  received?: number;
  /** Records whose case reference came earlier in the same feed: position → first position. */
  duplicates?: Record<number, { position: number; line: number | null }>;
}

/**
 * The BullMQ job: the chunk's records are staged in Redis under `payloadKey` by the push
 * API (so a job stays small and a feed is never held whole), or carried inline.
 */
export type IngestChunkJob = Omit<IngestChunk, 'records' | 'lines'> & { payloadKey?: string; records?: unknown[]; lines?: Array<number | null> };

/** Publishes a chunk's case events; `onceKey` makes a retried chunk publish them at most once. */
export type PublishEvents = (events: ReadonlyArray<CaseEvent>, onceKey?: string) => Promise<unknown>;

export interface RejectedRecord {
  position: number;
  line?: number | null;
  caseReference: string | null;
  path: string;
  message: string;
}

export interface ChunkReport {
  feedId: string;
  received: number;
  counts: Record<RecordOutcome | 'rejected', number>;
  /** The chunk's first rejection entries in feed order, at most the report's cap. */
  rejected: RejectedRecord[];
  /** How many entries there were before the cap. */
  rejectedTotal?: number;
}

/** Problems kept per record and rejection entries kept per chunk (README, "Limits on feeds"). */
export interface ProblemLimits {
  problemsPerRecord?: number;
  problemsPerReport?: number;
}

function referenceOf(raw: unknown): string | null {
  if (raw && typeof raw === 'object' && typeof (raw as { caseReference?: unknown }).caseReference === 'string') {
    return (raw as { caseReference: string }).caseReference.slice(0, 64);
  }
  return null;
}

/**
 * Validates and stores one chunk. A bad record is reported and skipped; it never blocks
 * the good records beside it. Pure apart from `models`, so it is tested without Redis.
 */
export async function processIngestChunk(
  job: IngestChunk,
  models: CasesModels,
  publish: PublishEvents,
  assignPartners: AssignPartners,
  caseIdKey: string,
  limits: ProblemLimits = {},
): Promise<ChunkReport> {
  const counts = { created: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0 };
  const now = new Date();
  const today = now.toISOString().slice(0, 10);
  // The Member State's configured request window (DOMAIN.md: configurable, default 6 months).
  const rulesDoc = await models.MemberStateRules.findOne({ _id: job.memberState }).lean().exec();
  const windowMonths = rulesDoc?.requestWindowMonths ?? DEFAULT_ELIGIBILITY_RULES.requestWindowMonths;
  const rejected: RejectedRecord[] = [];
  const valid: AssessedRecord[] = [];
  const seen = new Map<string, number>();
  job.records.forEach((raw, i) => {
    const position = job.firstPosition + i;
    // A feed carries one record per case: a second one is refused, never silently merged.
    const reference = referenceOf(raw);
    const earlier = job.duplicates?.[position] ?? (reference !== null && seen.has(reference) ? { position: seen.get(reference)!, line: job.lines?.[seen.get(reference)! - job.firstPosition] ?? null } : undefined);
    if (earlier) {
      rejected.push({
        position,
        caseReference: reference,
        path: 'caseReference',
        message: `duplicate in this feed: the same case reference is at position ${earlier.position}${earlier.line ? ` (line ${earlier.line})` : ''}; send one record per case, with the latest recordVersion`,
      });
      counts.rejected++;
      return;
    }
    if (reference !== null) seen.set(reference, position);
    const result = validateRecord(raw, limits.problemsPerRecord ?? MAX_PROBLEMS_PER_RECORD);
    if (!result.ok) {
      for (const problem of result.problems) rejected.push({ position, caseReference: referenceOf(raw), ...problem });
      counts.rejected++;
      return;
    }
    if (result.record.memberState !== job.memberState) {
      rejected.push({
        position,
        caseReference: result.record.caseReference,
        path: 'memberState',
        message: `belongs to ${result.record.memberState}; this feed was pushed by ${job.memberState}, which may only send its own cases`,
      });
      counts.rejected++;
      return;
    }
    const rules = { requestWindowMonths: windowMonths };
    const requestDate = result.record.eligibility.requestDate ?? today;
    const assessed = assessEligibility({ ...result.record.eligibility, requestDate, departureDate: result.record.departureDate }, rules);
    if (assessed.outcome === 'ELIGIBILITY_LETTER_ONLY' && result.record.packages.includes('POST_RETURN')) {
      rejected.push({
        position,
        caseReference: result.record.caseReference,
        path: 'packages',
        message: 'without a signed application the returnee gets an eligibility letter: support after arrival only; remove POST_RETURN or send eligibility.applicationSigned: true',
      });
      counts.rejected++;
      return;
    }
    valid.push({ ...result.record, assessed: { ...assessed, requestDate, assessedAt: now, requestWindowMonths: windowMonths }, position });
  });
  // Partner assignment by coverage, for cases that will be served (not the ineligible).
  const served = valid.filter((r) => r.assessed?.outcome !== 'INELIGIBLE');
  const answers = await assignPartners(served.map((r) => ({ country: r.countryOfOrigin, packages: r.packages, on: r.departureDate ?? today })));
  const unassignable = new Set<AssessedRecord>();
  served.forEach((record, i) => {
    const answer = answers[i]!;
    if ('partnerId' in answer) record.partnerId = answer.partnerId;
    else {
      rejected.push({ position: record.position!, caseReference: record.caseReference, path: 'countryOfOrigin', message: answer.error });
      counts.rejected++;
      unassignable.add(record);
    }
  });
  const stored = valid.filter((r) => !unassignable.has(r));
  const { outcomes, events } = await upsertRecords(models, stored, { feedId: job.feedId, caseIdKey });
  outcomes.forEach((outcome, i) => {
    if (outcome !== 'erased') {
      counts[outcome]++;
      return;
    }
    const record = stored[i]!;
    rejected.push({ position: record.position!, caseReference: record.caseReference, path: 'caseReference', message: 'the personal data of this case was erased; feeds no longer change it' });
    counts.rejected++;
  });
  await publish(events, `ingest-published:${job.feedId}:${job.chunkIndex ?? job.firstPosition}`);
  // A report lists its first entries only (a feed of a million bad records must not make a
  // report of millions): the chunk keeps at most that many, and counts the rest.
  const kept = rejected.sort((a, b) => a.position - b.position).slice(0, limits.problemsPerReport ?? MAX_PROBLEMS_PER_REPORT);
  const withLines = kept.map((r) => ({ ...r, line: job.lines?.[r.position - job.firstPosition] ?? null }));
  return { feedId: job.feedId, received: job.records.length, counts, rejected: withLines, rejectedTotal: rejected.length };
}
