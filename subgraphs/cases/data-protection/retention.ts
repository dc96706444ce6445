import type { Redis } from 'ioredis';
import { Schema, Types, type Connection, type Model } from 'mongoose';
import type { CaseStatus } from '../../../shared/domain.js';
import { publishCaseEvents } from '../../../shared/case-events/index.js';
import { eraseCase, erasureModel, type ErasureDeps, type ErasureDoc } from './erasure.js';
import { feedModels } from '../ingestion/feeds.js';
import { casesModels, type CaseDoc } from '../case/models.js';
import type { Lease } from '../../../shared/leased-loop.js';
import { modelOn } from '../../../shared/mongo.js';

/** Cases listed in one run's report (the counts cover all). */
export const MAX_REPORTED_CASES = 1_000;

/** A case has ended in one of these; its retention period runs from the day it got there. */
export const ENDED_STATUSES: readonly CaseStatus[] = ['COMPLETED', 'WITHDRAWN', 'CLOSED'];

/** When the case reached its ended status: the last history entry into it, else its last change. */
export function endedAt(doc: Pick<CaseDoc, 'status' | 'history' | 'updatedAt'>): Date | null {
  if (!ENDED_STATUSES.includes(doc.status)) return null;
  const entry = [...(doc.history ?? [])]
    .reverse()
    .find((h) => h && h.to === doc.status && h.transition !== 'erasePersonalData');
  return new Date(entry?.at ?? doc.updatedAt);
}

export interface RetentionCandidate {
  caseId: string;
  memberState: string;
  status: CaseStatus;
  endedAt: Date;
  /** When a dry-run report first listed it. */
  firstListedAt: Date;
}

/** One run of the retention job: what was due, what was purged. Append-only. */
export interface RetentionRunDoc {
  _id: Types.ObjectId;
  at: Date;
  dryRun: boolean;
  retentionDays: number;
  /**
   * The lease fence the scheduled job ran under (README, "Leases and fencing"); absent for a run from the
   * command line. Two runs that overlapped show different fences; erasure and notices are idempotent.
   */
  fence?: number;
  /** Cases ended before this instant are due. */
  cutoff: Date;
  due: number;
  /**
   * Due cases purged in this run (listed in a dry-run report at least the notice period before); in a
   * dry run, those a real run would purge.
   */
  purged: number;
  /** Due cases still inside their notice period: purged by a later run. */
  awaitingNotice: number;
  /** Due cases whose purge failed in this run (retried by the next). */
  failed: number;
  /**
   * Erasures interrupted midway (on request or by retention), finished by this run (in a dry run: by a real
   * one), whatever the case's age; not counted in `due`, which is about the cutoff.
   */
  unfinished: number;
  cases: Array<
    Omit<RetentionCandidate, 'firstListedAt'> & {
      firstListedAt: Date;
      action: 'PURGED' | 'WOULD_PURGE' | 'LISTED' | 'FAILED';
      error?: string;
    }
  >;
}

/** The first time a dry-run report listed a case (its notice): `_id` is the case id. */
interface RetentionNoticeDoc {
  _id: string;
  firstListedAt: Date;
}

const runSchema = new Schema<RetentionRunDoc>({}, { collection: 'retentionRuns', versionKey: false, strict: false });
const noticeSchema = new Schema<RetentionNoticeDoc>(
  { _id: String },
  { collection: 'retentionNotices', versionKey: false, strict: false },
);

export interface RetentionModels {
  Run: Model<RetentionRunDoc>;
  Notice: Model<RetentionNoticeDoc>;
}

export function retentionModels(connection: Connection): RetentionModels {
  return {
    Run: modelOn<RetentionRunDoc>(connection, 'RetentionRun', runSchema),
    Notice: modelOn<RetentionNoticeDoc>(connection, 'RetentionNotice', noticeSchema),
  };
}

/** What erasure and retention work with: the cases database, Redis, and the event stream. */
export function dataProtectionDeps(
  connection: Connection,
  redis: Redis,
  queuePrefix: string,
): ErasureDeps & { retention: RetentionModels } {
  return {
    models: casesModels(connection),
    feeds: feedModels(connection),
    erasures: erasureModel(connection),
    retention: retentionModels(connection),
    redis,
    queuePrefix,
    publish: (events) => publishCaseEvents(redis, queuePrefix, events),
  };
}

export interface RetentionSettings {
  retentionDays: number;
  noticeHours: number;
}

/**
 * Runs the retention job once. Every case that ended more than `retentionDays` ago and
 * still holds personal data is due. A due case is first only listed (its notice starts);
 * it is purged by a later run once it has been listed for `noticeHours`, so an operator
 * always sees a dry-run report of a purge before it happens. With `dryRun`, nothing is
 * purged and no notice starts: the report says what a real run would do now.
 */
export async function runRetention(
  deps: ErasureDeps & { retention: RetentionModels },
  settings: RetentionSettings,
  options: { dryRun: boolean; now?: Date; fence?: number },
): Promise<RetentionRunDoc> {
  const now = options.now ?? new Date();
  const cutoff = new Date(now.getTime() - settings.retentionDays * 86_400_000);
  const noticeBefore = new Date(now.getTime() - settings.noticeHours * 3_600_000);
  // updatedAt bounds the scan from above: a case changed after the cutoff did not end before it.
  // A case whose erasure was interrupted (marked, not complete) is due again, to finish it.
  const ended = await deps.models.Case.find({
    'erasure.complete': { $ne: true },
    // Ended long enough ago, or an erasure (on request or by retention) interrupted midway, whatever the status.
    $or: [{ status: { $in: [...ENDED_STATUSES] }, updatedAt: { $lt: cutoff } }, { erasure: { $exists: true } }],
  })
    .select({ _id: 1, memberState: 1, status: 1, history: 1, updatedAt: 1, erasure: 1 })
    .lean<CaseDoc[]>()
    .exec();
  // A mark whose erasure record exists is an erasure that finished but for its flag: not due, only flagged.
  const marked = ended.filter((doc) => doc.erasure !== undefined).map((doc) => doc._id.toHexString());
  const recorded = new Set(
    marked.length === 0
      ? []
      : (
          await deps.erasures
            .find({ caseId: { $in: marked } }, { caseId: 1 })
            .lean<ErasureDoc[]>()
            .exec()
        ).map((r) => r.caseId),
  );
  if (!options.dryRun && recorded.size > 0)
    await deps.models.Case.updateMany(
      { _id: { $in: [...recorded].map((id) => new Types.ObjectId(id)) } },
      { $set: { 'erasure.complete': true } },
    ).exec();
  const due = ended
    .filter((doc) => !recorded.has(doc._id.toHexString()))
    .map((doc) => ({ doc, endedAt: endedAt(doc) }))
    // An interrupted erasure is finished whatever its age.
    .filter(
      (c): c is { doc: CaseDoc; endedAt: Date } =>
        c.doc.erasure !== undefined || (c.endedAt !== null && c.endedAt < cutoff),
    )
    .map((c) => ({ doc: c.doc, endedAt: c.endedAt ?? new Date(c.doc.updatedAt) }));
  const unfinished = due.filter((c) => c.doc.erasure !== undefined).length;
  const notices = new Map(
    (
      await deps.retention.Notice.find({ _id: { $in: due.map((c) => c.doc._id.toHexString()) } })
        .lean<RetentionNoticeDoc[]>()
        .exec()
    ).map((n) => [n._id, n.firstListedAt]),
  );
  const cases: RetentionRunDoc['cases'] = [];
  for (const { doc, endedAt: at } of due) {
    const caseId = doc._id.toHexString();
    const firstListedAt = notices.get(caseId) ?? now;
    // An interrupted erasure was decided already (on request or after its notice): finish it now.
    const noticeServed = doc.erasure !== undefined || (notices.has(caseId) && firstListedAt <= noticeBefore);
    if (!options.dryRun && noticeServed) {
      try {
        await eraseCase(
          deps,
          doc._id,
          {
            actor: { role: 'SYSTEM', subject: 'retention-job' },
            kind: 'RETENTION',
            requestReference: null,
            requestId: null,
          },
          now,
        );
        cases.push({
          caseId,
          memberState: doc.memberState,
          status: doc.status,
          endedAt: at,
          firstListedAt,
          action: 'PURGED',
        });
      } catch (error) {
        // One case that cannot be erased now does not hold up the others; the next run tries again.
        cases.push({
          caseId,
          memberState: doc.memberState,
          status: doc.status,
          endedAt: at,
          firstListedAt,
          action: 'FAILED',
          error: (error as Error).message.slice(0, 200),
        });
      }
    } else if (options.dryRun && noticeServed) {
      cases.push({
        caseId,
        memberState: doc.memberState,
        status: doc.status,
        endedAt: at,
        firstListedAt,
        action: 'WOULD_PURGE',
      });
    } else {
      if (!options.dryRun && !notices.has(caseId))
        await deps.retention.Notice.updateOne(
          { _id: caseId },
          { $setOnInsert: { firstListedAt: now } },
          { upsert: true },
        ).exec();
      cases.push({
        caseId,
        memberState: doc.memberState,
        status: doc.status,
        endedAt: at,
        firstListedAt,
        action: 'LISTED',
      });
    }
  }
  const purged = cases.filter((c) => c.action === 'PURGED' || c.action === 'WOULD_PURGE').length;
  const failed = cases.filter((c) => c.action === 'FAILED').length;
  const awaitingNotice = cases.filter((c) => c.action === 'LISTED').length;
  const run: RetentionRunDoc = {
    _id: new Types.ObjectId(),
    at: now,
    dryRun: options.dryRun,
    retentionDays: settings.retentionDays,
    ...(options.fence === undefined ? {} : { fence: options.fence }),
    cutoff,
    due: due.length - unfinished,
    purged,
    failed,
    unfinished,
    awaitingNotice,
    // The report keeps the first cases (the counts above are whole); a run over more is rare.
    cases: cases.slice(0, MAX_REPORTED_CASES),
  };
  // A dry run changes nothing, its own record included (README, "Retention").
  if (!options.dryRun) await deps.retention.Run.collection.insertOne(run);
  return run;
}

/**
 * One step of the scheduled job, for a LeasedLoop: runs retention when the last run (any
 * instance's, kept in Redis) is older than `intervalMs`, else waits a second.
 */
export function retentionStep(
  deps: ErasureDeps & { retention: RetentionModels },
  settings: RetentionSettings & { intervalMs: number },
  onRun: (run: RetentionRunDoc) => void,
): (lease?: Lease) => Promise<void> {
  const lastRunKey = `${deps.queuePrefix}:retention:last-run`;
  return async (lease) => {
    const last = Number((await deps.redis.get(lastRunKey)) ?? 0);
    if (Date.now() - last < settings.intervalMs) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return;
    }
    await deps.redis.set(lastRunKey, String(Date.now()));
    onRun(await runRetention(deps, settings, { dryRun: false, ...(lease ? { fence: lease.fence } : {}) }));
  };
}
