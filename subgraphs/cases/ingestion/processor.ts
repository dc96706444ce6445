import type { CaseEvent } from '../../../shared/case-events/index.js';
import { DEFAULT_ELIGIBILITY_RULES } from '../case/eligibility.js';
import type { CasesModels } from '../case/models.js';
import type { AssignPartners } from './assignment.js';
import { MAX_PROBLEMS_PER_REPORT, type ChunkReport, type IngestChunk } from './contract.js';
import { applyAssignments, assessChunk, chunkReport, servedRecords } from './decisions.js';
import { MAX_PROBLEMS_PER_RECORD } from './record.js';
import { upsertRecords } from './upsert.js';
import { applyChunkQuality } from '../quality/model.js';
import { qualityIncrement } from '../quality/rules.js';
import { referenceLists } from '../reference/index.js';

/** Publishes a chunk's case events; `onceKey` makes a retried chunk publish them at most once. */
export type PublishEvents = (events: ReadonlyArray<CaseEvent>, onceKey?: string) => Promise<unknown>;

/** Problems kept per record and rejection entries kept per chunk (README, "Limits on feeds"). */
export interface ProblemLimits {
  problemsPerRecord?: number;
  problemsPerReport?: number;
}

/**
 * Validates and stores one chunk. A bad record is reported and skipped; it never blocks
 * the good records beside it. The decisions are decisions.ts's; this reads the Member
 * State's rules, asks coverage, writes, and publishes. Tested without Redis.
 */
export async function processIngestChunk(
  job: IngestChunk,
  models: CasesModels,
  publish: PublishEvents,
  assignPartners: AssignPartners,
  caseIdKey: string,
  limits: ProblemLimits = {},
): Promise<ChunkReport> {
  const now = new Date();
  const today = now.toISOString().slice(0, 10);
  // The Member State's configured request window (README: configurable, 6 months by default).
  const rulesDoc = await models.MemberStateRules.findOne({ _id: job.memberState }).lean().exec();
  const requestWindowMonths = rulesDoc?.requestWindowMonths ?? DEFAULT_ELIGIBILITY_RULES.requestWindowMonths;
  const problemsPerRecord = limits.problemsPerRecord ?? MAX_PROBLEMS_PER_RECORD;
  // Checked against the cases subgraph's copy of the reference lists (Member States, countries).
  const reference = await referenceLists(models.Case.db);
  const assessed = assessChunk(job, { requestWindowMonths, now, problemsPerRecord, reference });
  // Partner assignment by coverage, for cases that will be served (not the ineligible).
  const served = servedRecords(assessed.accepted);
  const questions = served.map((r) => ({
    country: r.countryOfOrigin,
    packages: r.packages,
    on: r.departureDate ?? today,
  }));
  const answers = await assignPartners(questions);
  const assigned = applyAssignments(assessed.accepted, served, answers);
  const { outcomes, events } = await upsertRecords(models, assigned.stored, { feedId: job.feedId, caseIdKey });
  await publish(events, `ingest-published:${job.feedId}:${job.chunkIndex ?? job.firstPosition}`);
  const rejections = [...assessed.rejections, ...assigned.rejections];
  const report = chunkReport(
    job,
    rejections,
    assigned.stored,
    outcomes,
    limits.problemsPerReport ?? MAX_PROBLEMS_PER_REPORT,
  );
  // The Member State's data-quality read model, once per chunk (a retried chunk adds nothing again).
  const lateInsertions = assigned.stored.filter((r, i) => r.lateInsertion && outcomes[i] === 'created').length;
  const inc = qualityIncrement({
    received: job.records.length,
    rejected: report.counts.rejected,
    gaps: assessed.gaps,
    lateInsertions,
  });
  await applyChunkQuality(models, job.memberState, `${job.feedId}:${job.chunkIndex ?? job.firstPosition}`, inc, now);
  return report;
}
