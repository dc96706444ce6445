import type { CaseEvent } from '../../../shared/events.js';
import type { CasesModels } from '../models.js';
import type { StatsFacts } from '../statistics/facts.js';
import { assessEligibility, DEFAULT_ELIGIBILITY_RULES } from '../eligibility.js';
import type { AssignPartners } from './assignment.js';
import { validateRecord } from './record.js';
import { upsertRecords, type AssessedRecord, type RecordOutcome } from './upsert.js';

export const INGEST_QUEUE = 'avrr-ingest';

/** One job: a slice of one feed, never a whole large feed. */
export interface IngestChunkJob {
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
}

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
  rejected: RejectedRecord[];
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
  job: IngestChunkJob,
  models: CasesModels,
  publish: (events: ReadonlyArray<CaseEvent<StatsFacts>>) => Promise<void>,
  assignPartners: AssignPartners,
): Promise<ChunkReport> {
  const counts = { created: 0, updated: 0, unchanged: 0, stale: 0, rejected: 0 };
  const now = new Date();
  const today = now.toISOString().slice(0, 10);
  // The Member State's configured request window (DOMAIN.md: configurable, default 6 months).
  const rulesDoc = await models.MemberStateRules.findOne({ _id: job.memberState }).lean().exec();
  const windowMonths = rulesDoc?.requestWindowMonths ?? DEFAULT_ELIGIBILITY_RULES.requestWindowMonths;
  const rejected: RejectedRecord[] = [];
  const valid: AssessedRecord[] = [];
  job.records.forEach((raw, i) => {
    const position = job.firstPosition + i;
    const result = validateRecord(raw);
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
  const { outcomes, events } = await upsertRecords(models, valid.filter((r) => !unassignable.has(r)));
  for (const outcome of outcomes) counts[outcome]++;
  await publish(events);
  const withLines = rejected.map((r) => ({ ...r, line: job.lines?.[r.position - job.firstPosition] ?? null }));
  return { feedId: job.feedId, received: job.records.length, counts, rejected: withLines };
}
