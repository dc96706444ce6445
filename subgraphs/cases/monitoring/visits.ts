import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import type { Principal } from '../../../shared/auth.js';
import { PARTNERS } from '../../../shared/domain.js';
import { badUserInput, codedError, forbidden, notFound, principalRequired } from '../../../shared/errors.js';
import { decodeCursor, encodeCursor } from '../../../shared/pagination.js';
import type { FollowUpActionDoc, MonitoringModels, VisitDoc } from './models.js';
import { isRecordId, recordedBy } from './records.js';
import {
  ACTION_OWNERS,
  checkText,
  DEFAULT_VISIT_PAGE_SIZE,
  isDate,
  isOverdue,
  MAX_ACTION_DESCRIPTION_CHARS,
  MAX_FOLLOW_UP_ACTIONS,
  MAX_VISIT_FINDINGS_CHARS,
  MAX_VISIT_PAGE_SIZE,
  MAX_VISIT_SCOPE_CHARS,
  mayCompleteAction,
  mayRecordVisits,
  nextDueOn,
  visitScope,
  VISIT_KINDS,
  type ActionOwner,
} from './rules.js';

const PARTNER_IDS = new Set(PARTNERS.map((p) => p.id));

export interface VisitInput {
  partnerId: unknown;
  countryOfOrigin?: unknown;
  kind?: unknown;
  visitedOn: unknown;
  scope: unknown;
  findings: unknown;
  followUpActions?: unknown;
}

function text(value: unknown, max: number, field: string): string {
  const checked = checkText(value, max);
  if (!checked.ok) throw badUserInput(`Argument "${field}" ${checked.reason}`, field);
  return checked.text;
}

/** The support desk records a visit or partner review; every field is bounded and checked. */
export async function recordVisit(
  models: MonitoringModels,
  principal: Principal | null,
  input: VisitInput,
  today: string,
  now = new Date(),
): Promise<VisitDoc> {
  if (!principal) throw principalRequired('recordMonitoringVisit', true);
  if (!mayRecordVisits(principal))
    throw forbidden('Only the support desk (or an administrator) records monitoring visits');
  if (typeof input.partnerId !== 'string' || !PARTNER_IDS.has(input.partnerId))
    throw badUserInput('Argument "input.partnerId" names no partner', 'input.partnerId');
  let countryOfOrigin: string | null = null;
  if (input.countryOfOrigin != null) {
    if (typeof input.countryOfOrigin !== 'string' || !/^[A-Z]{2}$/.test(input.countryOfOrigin))
      throw badUserInput(
        'Argument "input.countryOfOrigin" must be a country code (2 capitals)',
        'input.countryOfOrigin',
      );
    countryOfOrigin = input.countryOfOrigin;
  }
  const kind = input.kind ?? 'FIELD_VISIT';
  if (typeof kind !== 'string' || !(VISIT_KINDS as readonly string[]).includes(kind))
    throw badUserInput('Argument "input.kind" names no kind of visit', 'input.kind');
  if (!isDate(input.visitedOn) || input.visitedOn > today)
    throw badUserInput('Argument "input.visitedOn" must be a date (YYYY-MM-DD), not in the future', 'input.visitedOn');
  const visitedOn = input.visitedOn;
  const scope = text(input.scope, MAX_VISIT_SCOPE_CHARS, 'input.scope');
  const findings = text(input.findings, MAX_VISIT_FINDINGS_CHARS, 'input.findings');
  const rawActions = input.followUpActions ?? [];
  if (!Array.isArray(rawActions) || rawActions.length > MAX_FOLLOW_UP_ACTIONS)
    throw badUserInput(
      `Argument "input.followUpActions" must be a list of at most ${MAX_FOLLOW_UP_ACTIONS} actions`,
      'input.followUpActions',
    );
  const followUpActions = rawActions.map((raw: unknown, i): FollowUpActionDoc => {
    const field = `input.followUpActions.${i}`;
    const a = (raw ?? {}) as { description?: unknown; dueOn?: unknown; owner?: unknown };
    if (!isDate(a.dueOn) || a.dueOn < visitedOn)
      throw badUserInput(`Argument "${field}.dueOn" must be a date on or after the visit`, `${field}.dueOn`);
    if (typeof a.owner !== 'string' || !(ACTION_OWNERS as readonly string[]).includes(a.owner))
      throw badUserInput(`Argument "${field}.owner" must be PARTNER or SUPPORT_DESK`, `${field}.owner`);
    return {
      id: randomBytes(6).toString('hex'),
      description: text(a.description, MAX_ACTION_DESCRIPTION_CHARS, `${field}.description`),
      dueOn: a.dueOn,
      owner: a.owner as ActionOwner,
      completedOn: null,
      completedBy: null,
    };
  });
  const visit: VisitDoc = {
    _id: new Types.ObjectId(),
    partnerId: input.partnerId,
    countryOfOrigin,
    kind,
    visitedOn,
    scope,
    findings,
    followUpActions,
    nextDueOn: nextDueOn(followUpActions),
    recordedBy: recordedBy(principal),
    recordedAt: now,
  };
  await models.Visit.collection.insertOne(visit);
  return visit;
}

const visitNotFound = (id: string) => notFound('MonitoringVisit', id, { visitId: id });

/**
 * Completes one follow-up action. A visit the caller may not read answers exactly as a missing
 * one; an action it may not complete (a partner and a support desk action) is FORBIDDEN.
 */
export async function completeAction(
  models: MonitoringModels,
  principal: Principal | null,
  visitId: string,
  actionId: string,
  completedOn: unknown,
  today: string,
): Promise<VisitDoc> {
  if (!principal) throw principalRequired('completeFollowUpAction', true);
  const scope = visitScope(principal);
  if (!scope) throw forbidden(`${principal.role} does not read monitoring visits`);
  const visit = isRecordId(visitId)
    ? await models.Visit.findOne({ _id: new Types.ObjectId(visitId) })
        .lean<VisitDoc>()
        .exec()
    : null;
  if (!visit || (scope.kind === 'partner' && visit.partnerId !== scope.partnerId)) throw visitNotFound(visitId);
  const action = visit.followUpActions.find((a) => a.id === actionId);
  if (!action) throw badUserInput(`Visit ${visitId} has no follow-up action ${actionId}`, 'actionId');
  if (!mayCompleteAction(principal, visit, action))
    throw forbidden(`Action ${actionId} is the support desk's to complete`, { visitId, actionId });
  const on = completedOn ?? today;
  if (!isDate(on) || on > today || on < visit.visitedOn)
    throw badUserInput('Argument "completedOn" must be a date between the visit and today', 'completedOn');
  if (action.completedOn !== null) return visit; // done already: completing twice changes nothing
  const completedBy = recordedBy(principal);
  // The whole list is written back, conditional on the list read (no positional operators: FerretDB).
  const followUpActions = visit.followUpActions.map((a) =>
    a.id === actionId ? { ...a, completedOn: on, completedBy } : a,
  );
  const result = await models.Visit.updateOne(
    { _id: visit._id, followUpActions: visit.followUpActions },
    { $set: { followUpActions, nextDueOn: nextDueOn(followUpActions) } },
  ).exec();
  if (result.matchedCount === 0)
    throw codedError('CONFLICT', `Visit ${visitId} changed meanwhile; read it again`, { visitId });
  return { ...visit, followUpActions, nextDueOn: nextDueOn(followUpActions) };
}

export interface VisitPage {
  visits: VisitDoc[];
  hasNextPage: boolean;
  totalCount: number;
}

/** A page of visits, newest first, in the caller's scope (a partner reads its own, whatever it asks). */
export async function readVisits(
  models: MonitoringModels,
  principal: Principal | null,
  args: { partnerId?: string | null; first?: number | null; after?: string | null; overdueOnly?: boolean | null },
  today: string,
): Promise<VisitPage> {
  if (!principal) throw principalRequired('monitoringVisits', true);
  const scope = visitScope(principal);
  if (!scope) throw forbidden(`${principal.role} does not read monitoring visits`);
  const size = args.first ?? DEFAULT_VISIT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_VISIT_PAGE_SIZE)
    throw badUserInput(`Argument "first" must be between 1 and ${MAX_VISIT_PAGE_SIZE}, got ${size}`, 'first');
  if (args.partnerId != null && !PARTNER_IDS.has(args.partnerId))
    throw badUserInput('Argument "partnerId" names no partner', 'partnerId');
  const filter: Record<string, unknown> = {};
  if (scope.kind === 'partner') {
    // Another partner's visits are not this partner's to read: it gets its own, or none.
    if (args.partnerId != null && args.partnerId !== scope.partnerId)
      return { visits: [], hasNextPage: false, totalCount: 0 };
    filter.partnerId = scope.partnerId;
  } else if (args.partnerId != null) filter.partnerId = args.partnerId;
  if (args.overdueOnly) filter.nextDueOn = { $ne: null, $lt: today };
  const total = { ...filter };
  if (args.after != null) {
    const key = decodeCursor(args.after);
    if (!isRecordId(key)) throw badUserInput('Argument "after" is not a cursor returned by this API', 'after');
    filter._id = { $lt: new Types.ObjectId(key) };
  }
  const [found, totalCount] = await Promise.all([
    models.Visit.find(filter)
      .sort({ _id: -1 })
      .limit(size + 1)
      .lean<VisitDoc[]>()
      .exec(),
    models.Visit.countDocuments(total).exec(),
  ]);
  return { visits: found.slice(0, size), hasNextPage: found.length > size, totalCount };
}

export const visitCursor = (visit: Pick<VisitDoc, '_id'>) => encodeCursor(visit._id.toHexString());

/** A visit as the graph serves it, with each action's overdue flag for `today`. */
export function visitView(visit: VisitDoc, today: string) {
  const actions = visit.followUpActions.map((a) => ({
    id: a.id,
    description: a.description,
    dueOn: a.dueOn,
    owner: a.owner,
    completedOn: a.completedOn,
    overdue: isOverdue(a, today),
  }));
  return {
    id: visit._id.toHexString(),
    partnerId: visit.partnerId,
    countryOfOrigin: visit.countryOfOrigin,
    kind: visit.kind,
    visitedOn: visit.visitedOn,
    scope: visit.scope,
    findings: visit.findings,
    recordedByRole: visit.recordedBy.role,
    recordedAt: visit.recordedAt,
    followUpActions: actions,
    overdueActions: actions.filter((a) => a.overdue).length,
  };
}
