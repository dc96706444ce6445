import type { GraphQLError } from 'graphql';
import { Types, type mongo } from 'mongoose';

type UpdateFilter<T extends mongo.Document> = mongo.UpdateFilter<T>;
type Document = mongo.Document;
import type { Principal } from '../../../shared/auth.js';
import { canSeeCase } from '../../../shared/access.js';
import {
  badInputField,
  caseNotFound,
  conflict,
  forbidden,
  principalRequired,
  transitionRefused,
} from '../../../shared/errors.js';
import type { CaseEvent } from '../../../shared/case-events/index.js';
import { decideTransition, type Actor, type TransitionName } from './lifecycle.js';
import { transitionEventType } from './transition-events.js';
import { factsOf } from '../statistics/facts.js';
import type { ActorRecord, CaseDoc, CaseEventDoc, CasesModels, HistoryEntry, PlannedService } from './models.js';

/** Parameters some transitions carry. */
export interface TransitionInput {
  reason?: string | null;
  arrivalDate?: string;
  postArrivalServices?: string[];
  plan?: { services: PlannedService[] };
  summary?: string | null;
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
function changesFor(name: TransitionName, input: TransitionInput, now: Date): Array<{ path: string; value: unknown }> {
  switch (name) {
    case 'reportArrival':
      return [
        { path: 'arrivalDate', value: input.arrivalDate },
        { path: 'postArrivalServices', value: input.postArrivalServices ?? [] },
        { path: 'milestones.arrivedAt', value: now },
      ];
    case 'submitReintegrationPlan': {
      const services = input.plan?.services ?? [];
      return [
        {
          path: 'reintegrationPlan',
          value: {
            services,
            totalCents: services.reduce((sum, s) => sum + s.amountCents, 0),
            submittedAt: now,
            decidedAt: null,
            rejectionReason: null,
          },
        },
      ];
    }
    case 'approveReintegrationPlan':
      return [
        { path: 'reintegrationPlan.decidedAt', value: now },
        { path: 'milestones.km2At', value: now },
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
    if (doc.departureDate && input.arrivalDate < doc.departureDate) {
      const message = `arrivalDate ${input.arrivalDate} is before the departure on ${doc.departureDate}`;
      throw badInputField(message, 'arrivalDate');
    }
    if (input.arrivalDate > new Date().toISOString().slice(0, 10)) {
      throw badInputField(`arrivalDate ${input.arrivalDate} is in the future`, 'arrivalDate');
    }
  }
  if (name === 'submitReintegrationPlan') {
    const services = input.plan?.services ?? [];
    if (services.length === 0 || services.length > 30) {
      throw badInputField('a reintegration plan has 1 to 30 services', 'plan.services');
    }
    services.forEach((s, i) => {
      if (!Number.isInteger(s.amountCents) || s.amountCents < 0 || s.amountCents > 2_000_000) {
        const field = `plan.services.${i}.amountCents`;
        throw badInputField(`plan.services[${i}].amountCents must be 0 to 2000000 cents`, field);
      }
      if (s.description.trim().length === 0 || s.description.length > 1_000) {
        const field = `plan.services.${i}.description`;
        throw badInputField(`plan.services[${i}].description must be 1 to 1000 characters`, field);
      }
    });
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
  // An erased case keeps going through its lifecycle, but no new free text is stored on it.
  if (doc.erasure)
    input = {
      ...input,
      reason: null,
      summary: null,
      ...(input.plan ? { plan: { services: input.plan.services.map((s) => ({ ...s, description: '' })) } } : {}),
    };

  const version = doc.version + 1;
  const changes = changesFor(name, input, now);
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
