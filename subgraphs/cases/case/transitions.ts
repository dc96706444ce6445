import type { GraphQLError } from 'graphql';
import { mongo, Types, type Connection } from 'mongoose';

type UpdateFilter<T extends mongo.Document> = mongo.UpdateFilter<T>;
type Document = mongo.Document;
import type { Principal } from '../../../shared/auth.js';
import { canSeeCase } from '../../../shared/access.js';
import {
  badInputField,
  caseNotFound,
  codedError,
  conflict,
  forbidden,
  principalRequired,
  transitionRefused,
  windowClosed,
} from '../../../shared/errors.js';
import type { CaseEvent } from '../../../shared/case-events/index.js';
import { decideTransition, type Actor, type TransitionName } from './lifecycle.js';
import { transitionEventType } from './transition-events.js';
import { arrivalBeforeDeparture, windowFlagChanges } from './window-flags.js';
import { factsOf } from '../statistics/facts.js';
import type { ActorRecord, CaseDoc, CaseEventDoc, CasesModels, HistoryEntry, PlannedService } from './models.js';
import {
  checkPlanLines,
  deliveryProblem,
  entitlementByPackage,
  linesOf,
  nextPlanLines,
  planExceedsEntitlement,
  planStorageProblem,
  planTotalCents,
  servicesOf,
  versionLimitProblem,
  type DeliveryInput,
  type PlanLineDoc,
  type PlanLineInput,
  type PlanProblem,
} from './plan.js';
import { computeEntitlement, TariffNotFoundError } from '../../finance/tariffs/rules.js';
import { referenceLists } from '../reference/index.js';
import { tariffNotFound } from '../../../shared/errors.js';

/** Parameters some transitions carry. */
export interface TransitionInput {
  reason?: string | null;
  arrivalDate?: string;
  postArrivalServices?: string[];
  /** `lines`, or the deprecated `services` (read as POST_RETURN lines). */
  plan?: { services?: PlannedService[] | null; lines?: PlanLineInput[] | null };
  summary?: string | null;
  delivery?: DeliveryInput;
}

/** What applyTransition works out before it writes: the new plan lines, a delivery's line. */
interface Prepared {
  planLines?: PlanLineDoc[];
}

const PLAN_TRANSITIONS: ReadonlySet<TransitionName> = new Set(['submitReintegrationPlan', 'amendReintegrationPlan']);

function planRefused(problem: PlanProblem): GraphQLError {
  return codedError(problem.code, problem.message, {
    ...(problem.details ?? {}),
    ...(problem.field ? { field: problem.field } : {}),
  });
}

/** The submitted lines: `lines`, or the legacy services as POST_RETURN lines; never both. */
function submittedLines(plan: TransitionInput['plan']): PlanLineInput[] {
  const hasLines = plan?.lines != null;
  const hasServices = plan?.services != null;
  if (hasLines === hasServices) {
    throw badInputField('a plan gives either lines or (deprecated) services, not both nor neither', 'plan');
  }
  if (hasLines) return plan!.lines!;
  return plan!.services!.map((s) => ({
    package: 'POST_RETURN',
    category: s.category,
    description: s.description,
    budgetCents: s.amountCents,
    provider: null,
  }));
}

/** The case's entitlement per package (tariffs of its departure date), none once found ineligible. */
async function caseEntitlementByPackage(doc: CaseDoc, now: Date, connection: Connection) {
  if (doc.eligibility?.outcome === 'INELIGIBLE') return new Map();
  try {
    const entitlement = computeEntitlement(
      {
        packages: doc.packages,
        returnType: doc.returnType,
        familySize: Math.max(1, doc.familySize),
        referenceDate: doc.departureDate ?? now.toISOString().slice(0, 10),
      },
      // The tariff versions in force, from this subgraph's copy of finance's list.
      (await referenceLists(connection)).tariffs,
    );
    return entitlementByPackage(entitlement.lines);
  } catch (error) {
    if (error instanceof TariffNotFoundError) throw tariffNotFound(error.message, error.pkg, error.date);
    throw error;
  }
}

/** The BSON bytes a case's plans take: its kept versions and its current lines (stored twice: lines, services). */
function storedBytes(versions: readonly unknown[], lines: readonly PlanLineDoc[]): number {
  return mongo.BSON.calculateObjectSize({ versions, lines, services: servicesOf(lines) });
}

/** Checks a plan or a delivery against the case (bounds, entitlement, amendments, windows); the lines to write. */
async function prepare(
  name: TransitionName,
  input: TransitionInput,
  doc: CaseDoc,
  now: Date,
  connection: Connection,
): Promise<Prepared> {
  if (PLAN_TRANSITIONS.has(name)) {
    const limit = versionLimitProblem(doc.reintegrationPlanVersions?.length ?? 0, doc.reintegrationPlan != null);
    if (limit) throw planRefused(limit);
    const submitted = submittedLines(input.plan);
    const shape = checkPlanLines(submitted, doc.packages);
    // The deprecated `services` input is told about in its own words.
    const legacy = input.plan?.services != null;
    if (shape && legacy && shape.field) {
      const field = shape.field.replace('plan.lines', 'plan.services').replace('.budgetCents', '.amountCents');
      throw planRefused({ ...shape, field, message: shape.message.replace('plan.lines', 'plan.services') });
    }
    if (shape) throw planRefused(shape);
    const previous = doc.reintegrationPlan ? linesOf(doc.reintegrationPlan) : null;
    const next = nextPlanLines(submitted, previous);
    if ('problem' in next) throw planRefused(next.problem);
    const over = planExceedsEntitlement(next.lines, await caseEntitlementByPackage(doc, now, connection));
    if (over) throw planRefused(over);
    const kept = [...(doc.reintegrationPlanVersions ?? []), ...(doc.reintegrationPlan ? [doc.reintegrationPlan] : [])];
    const size = planStorageProblem(storedBytes(kept, next.lines));
    if (size) throw planRefused(size);
    return { planLines: next.lines };
  }
  if (name === 'reportServiceDelivery') {
    const delivery = input.delivery!;
    const lines = doc.reintegrationPlan ? linesOf(doc.reintegrationPlan) : [];
    const problem = deliveryProblem(
      delivery,
      lines,
      {
        departureDate: doc.departureDate,
        arrivalDate: doc.arrivalDate,
        charterFlight: doc.charterFlight,
        requestWindowMonths: doc.eligibility?.requestWindowMonths ?? 6,
      },
      now.toISOString().slice(0, 10),
    );
    if (problem) throw planRefused(problem);
    const record = { ...delivery, recordedAt: now };
    const { lineId: _lineId, ...entry } = record;
    const planLines: PlanLineDoc[] = lines.map((line) =>
      line.lineId === delivery.lineId
        ? { ...line, status: 'DELIVERED', deliveries: [...line.deliveries, entry] }
        : line,
    );
    const size = planStorageProblem(storedBytes(doc.reintegrationPlanVersions ?? [], planLines));
    if (size) throw planRefused({ ...size, field: 'delivery' });
    return { planLines };
  }
  return {};
}

/** The lifecycle role a principal plays on this case, if any. */
export function actorFor(principal: Principal, doc: Pick<CaseDoc, 'memberState' | 'partnerId'>): Actor | null {
  if (principal.role === 'MEMBER_STATE' && principal.memberState === doc.memberState) return 'MEMBER_STATE';
  if (principal.role === 'PARTNER' && principal.partnerId !== undefined && principal.partnerId === doc.partnerId)
    return 'PARTNER';
  if (principal.role === 'SUPPORT_DESK') return 'SUPPORT_DESK';
  return null;
}

function actorRecord(principal: Principal): ActorRecord {
  return {
    role: principal.role,
    subject: principal.subject,
    ...(principal.memberState ? { memberState: principal.memberState } : {}),
    ...(principal.partnerId ? { partnerId: principal.partnerId } : {}),
  };
}

/** The case fields each transition sets, besides status and version. */
function changesFor(
  name: TransitionName,
  input: TransitionInput,
  now: Date,
  doc: CaseDoc,
  prepared: Prepared,
): Array<{ path: string; value: unknown }> {
  switch (name) {
    case 'reportArrival':
      return [
        { path: 'arrivalDate', value: input.arrivalDate },
        { path: 'postArrivalServices', value: input.postArrivalServices ?? [] },
        { path: 'milestones.arrivedAt', value: now },
      ];
    case 'submitReintegrationPlan':
    case 'amendReintegrationPlan': {
      const lines = prepared.planLines ?? [];
      const current = doc.reintegrationPlan;
      const changes: Array<{ path: string; value: unknown }> = [];
      // The version it replaces (rejected, or approved and now amended) is kept, oldest first.
      if (current) {
        changes.push({
          path: 'reintegrationPlanVersions',
          value: [...(doc.reintegrationPlanVersions ?? []), { ...current, version: current.version ?? 1 }],
        });
      }
      changes.push({
        path: 'reintegrationPlan',
        value: {
          version: current ? (current.version ?? 1) + 1 : 1,
          lines,
          services: servicesOf(lines),
          totalCents: planTotalCents(lines),
          submittedAt: now,
          decidedAt: null,
          rejectionReason: null,
        },
      });
      return changes;
    }
    case 'reportServiceDelivery':
      return [{ path: 'reintegrationPlan.lines', value: prepared.planLines ?? [] }];
    case 'approveReintegrationPlan':
      // KM2 is the first approval; an amendment approved later does not move it.
      return [
        { path: 'reintegrationPlan.decidedAt', value: now },
        ...(doc.milestones?.km2At ? [] : [{ path: 'milestones.km2At', value: now }]),
      ];
    case 'rejectReintegrationPlan':
      return [
        { path: 'reintegrationPlan.decidedAt', value: now },
        { path: 'reintegrationPlan.rejectionReason', value: input.reason },
      ];
    case 'reportCompletion':
      return [{ path: 'completionSummary', value: input.summary ?? null }];
    case 'approveCompletion':
      return [{ path: 'milestones.km3At', value: now }];
    case 'withdrawCase':
    case 'closeCase':
      return [{ path: 'closingReason', value: input.reason }];
    case 'acceptCase':
      // KM1: the application is complete once the partner accepts the case.
      return [{ path: 'milestones.km1At', value: now }];
  }
}

function validateInput(name: TransitionName, input: TransitionInput, doc: CaseDoc): void {
  if (input.reason != null && input.reason.length > 2_000) {
    throw badInputField('reason must be at most 2000 characters', 'reason');
  }
  if (input.summary != null && input.summary.length > 5_000) {
    throw badInputField('summary must be at most 5000 characters', 'summary');
  }
  if (name === 'reportArrival' && input.arrivalDate) {
    if (arrivalBeforeDeparture(doc.departureDate, input.arrivalDate)) {
      const message = `arrivalDate ${input.arrivalDate} is before the departure on ${doc.departureDate}`;
      throw windowClosed('BEFORE_WINDOW_OPENS', message, { boundary: doc.departureDate!, date: input.arrivalDate });
    }
    if (input.arrivalDate > new Date().toISOString().slice(0, 10)) {
      throw badInputField(`arrivalDate ${input.arrivalDate} is in the future`, 'arrivalDate');
    }
  }
}

/**
 * Applies one lifecycle transition. The event insert with `_id = <case>:<next version>` is
 * the guard: of two concurrent transitions from one version, exactly one wins; the other
 * gets CONFLICT. The case document is then updated by `_id` alone.
 */
export async function applyTransition(
  models: CasesModels,
  publish: (events: ReadonlyArray<CaseEvent>) => Promise<unknown>,
  principal: Principal | null,
  caseId: string,
  name: TransitionName,
  input: TransitionInput,
  expectedVersion?: number | null,
  now = new Date(),
): Promise<CaseDoc> {
  if (!principal) throw principalRequired(name);
  if (!/^[0-9a-f]{24}$/.test(caseId)) throw caseNotFound(caseId);
  const doc = await models.Case.findOne({ _id: new Types.ObjectId(caseId) })
    .lean<CaseDoc>()
    .exec();
  // A case the principal may not see is "not found", so its existence does not leak.
  if (!doc || !canSeeCase(principal, doc)) throw caseNotFound(caseId);
  const actor = actorFor(principal, doc);
  if (!actor) {
    throw forbidden(`${principal.role} cannot change cases`);
  }
  if (expectedVersion != null && expectedVersion !== doc.version) {
    throw caseChanged(caseId, doc.version, expectedVersion);
  }
  const decision = decideTransition(name, { status: doc.status, packages: doc.packages }, actor, input.reason);
  if (!decision.ok) throw transitionRefused(decision.refusal);
  validateInput(name, input, doc);
  const prepared = await prepare(name, input, doc, now, models.Case.db);
  // An erased case keeps going through its lifecycle, but no new free text is stored on it.
  if (doc.erasure) {
    input = { ...input, reason: null, summary: null };
    if (prepared.planLines) {
      prepared.planLines = prepared.planLines.map((line) => ({ ...line, description: '' }));
    }
  }

  const version = doc.version + 1;
  const changes = changesFor(name, input, now, doc, prepared);
  // A report made after its window closed is recorded, flagged (window-flags.ts), never lost.
  changes.push(...windowFlagChanges(name, input, doc, now));
  const entry: HistoryEntry = {
    version,
    transition: name,
    from: doc.status,
    to: decision.to,
    at: now,
    actor: actorRecord(principal),
    ...(input.reason ? { reason: input.reason } : {}),
  };
  const event: CaseEventDoc = { _id: `${caseId}:${version}`, caseId, ...entry, changes };
  try {
    await models.CaseEvent.insertMany([event], { lean: true });
  } catch (error) {
    if ((error as { code?: number }).code === 11000) {
      await rollForward(models, caseId, doc.version);
      const current = await models.Case.findOne({ _id: doc._id }, { version: 1 })
        .lean<Pick<CaseDoc, 'version'>>()
        .exec();
      throw caseChanged(caseId, current?.version ?? version, doc.version);
    }
    throw error;
  }
  if (!(await writeEvent(models, event))) {
    // Something else (a feed update, an erasure) moved the case between the guard and the
    // write: this step did not happen. Its log entry goes, and the caller reads again.
    await models.CaseEvent.deleteOne({ _id: event._id, at: event.at }).exec();
    const current = await models.Case.findOne({ _id: doc._id }, { version: 1 }).lean<Pick<CaseDoc, 'version'>>().exec();
    throw caseChanged(caseId, current?.version ?? version, doc.version);
  }
  const updated = (await models.Case.findOne({ _id: doc._id }).lean<CaseDoc>().exec())!;
  await publish([
    {
      type: 'case.transitioned',
      caseId,
      version,
      at: now.toISOString(),
      transition: name,
      ...transitionEventType(name),
      before: factsOf(doc),
      after: factsOf(updated),
    },
  ]);
  return updated;
}

function caseChanged(caseId: string, currentVersion: number, yourVersion: number): GraphQLError {
  return conflict(
    `Case ${caseId} changed meanwhile: it is at version ${currentVersion}, you acted on version ${yourVersion}; ` +
      'read it again and retry',
    { currentVersion, yourVersion },
  );
}

/** Writes an event's effect on the case, only onto the version before it; false if the case was elsewhere. */
async function writeEvent(models: CasesModels, event: CaseEventDoc): Promise<boolean> {
  const set: Record<string, unknown> = { status: event.to, version: event.version, updatedAt: event.at };
  for (const change of event.changes) set[change.path] = change.value;
  const { changes: _changes, _id: _eventId, caseId: _caseId, ...entry } = event;
  // Raw driver call: `history` and `milestones` are free-form (Mixed) for mongoose.
  // History entry n sits at index n-1: setting it by position (not $push) makes writing the
  // same event twice (a roll-forward racing the original writer) harmless.
  set[`history.${event.version - 1}`] = entry;
  const result = await models.Case.collection.updateOne(
    { _id: new Types.ObjectId(event.caseId), version: event.version - 1 },
    { $set: set } as unknown as UpdateFilter<Document>,
  );
  return result.matchedCount === 1;
}

const ROLL_FORWARD_AFTER_MS = 10_000;

/** A transition whose event was stored but whose case update was lost (crash): apply it now. */
async function rollForward(models: CasesModels, caseId: string, fromVersion: number): Promise<void> {
  const pending = await models.CaseEvent.findOne({ _id: `${caseId}:${fromVersion + 1}` })
    .lean<CaseEventDoc>()
    .exec();
  const current = await models.Case.findOne({ _id: new Types.ObjectId(caseId) }, { version: 1 })
    .lean<Pick<CaseDoc, 'version'>>()
    .exec();
  // Only an event its writer evidently abandoned: a fresh one is still being applied by it.
  const abandoned = pending && Date.now() - new Date(pending.at).getTime() > ROLL_FORWARD_AFTER_MS;
  if (!pending || !abandoned || !current || current.version !== fromVersion) return;
  // An erasure's guard is not a step to replay: the erasure applies itself, or a retry redoes it.
  if (pending.transition === 'erasePersonalData')
    await models.CaseEvent.deleteOne({ _id: pending._id, transition: 'erasePersonalData' }).exec();
  else await writeEvent(models, pending);
}
