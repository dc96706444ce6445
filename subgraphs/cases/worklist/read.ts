import type { Principal } from '../../../shared/auth.js';
import { badUserInput, forbidden } from '../../../shared/errors.js';
import { checkPageSize, decodeCursor, encodeCursor } from '../../../shared/pagination.js';
import { checkMemberState } from '../case/arguments.js';
import { duenessOn, dueRangeOf, WORKLIST_KINDS, type WorklistKind } from './rules.js';
import { NO_DUE_DATE, type WorklistItemDoc } from './store.js';

type Filter = Record<string, unknown>;

/**
 * The worklist documents `principal` reads, as an index prefix: a Member State what waits for
 * it on its cases, a partner what waits for it on its assigned cases, the support desk (and
 * administrators) every open entry, or one Member State's with `memberState`. Other roles have
 * no worklist.
 */
export function worklistScope(
  principal: Principal,
  memberState?: string | null,
  participating?: ReadonlySet<string>,
): Filter {
  const narrowed = memberState != null ? checkMemberState(memberState, participating) : null;
  if (principal.role === 'MEMBER_STATE' && principal.memberState) {
    if (narrowed && narrowed !== principal.memberState)
      throw forbidden(`a Member State reads its own worklist (${principal.memberState}), not ${narrowed}'s`);
    return { awaitedBy: 'MEMBER_STATE', memberState: principal.memberState };
  }
  if (principal.role === 'PARTNER' && principal.partnerId)
    return { awaitedBy: 'PARTNER', partnerId: principal.partnerId, ...(narrowed ? { memberState: narrowed } : {}) };
  if (principal.role === 'SUPPORT_DESK' || principal.role === 'ADMIN')
    return { open: true, ...(narrowed ? { memberState: narrowed } : {}) };
  throw forbidden(`${principal.role} has no worklist: Member States, partners and the support desk have one`);
}

export function checkKind(kind: string): WorklistKind {
  if (!(WORKLIST_KINDS as readonly string[]).includes(kind))
    throw badUserInput(`kind must be one of ${WORKLIST_KINDS.join(', ')}`, 'kind');
  return kind as WorklistKind;
}

/** A page cursor is the last item's (due date, case id): the index order. */
function cursorKey(after: string | null | undefined): { dueOn: string; id: string } | null {
  if (after == null) return null;
  const [dueOn, id, ...rest] = decodeCursor(after).split('|');
  if (!dueOn || !id || rest.length > 0 || !/^\d{4}-\d{2}-\d{2}$/.test(dueOn) || !/^[0-9a-f]{24}$/.test(id))
    throw badUserInput('Argument "after" is not a cursor returned by myWorklist', 'after');
  return { dueOn, id };
}

/** The query of one worklist page: scope, the kind's due-date range, after the cursor; in (due date, id) order. */
export function worklistQuery(
  scope: Filter,
  kind: WorklistKind,
  today: string,
  dueSoonDays: number,
  after?: string | null,
): { count: Filter; page: Filter } {
  const range = dueRangeOf(kind, today, dueSoonDays);
  const due: Filter = {};
  if (range?.from) due.$gte = range.from;
  // An entry without a due date (NO_DUE_DATE) is never overdue nor due soon.
  if (range?.to) due.$lte = range.to < NO_DUE_DATE ? range.to : '9999-12-30';
  const count: Filter = { ...scope, ...(Object.keys(due).length > 0 ? { dueOn: due } : {}) };
  const key = cursorKey(after);
  const page = key
    ? { $and: [count, { $or: [{ dueOn: { $gt: key.dueOn } }, { dueOn: key.dueOn, _id: { $gt: key.id } }] }] }
    : count;
  return { count, page };
}

/** A stored item as the graph's WorklistItem. */
export function presentItem(doc: WorklistItemDoc, today: string, dueSoonDays: number) {
  const dueOn = doc.dueOn === NO_DUE_DATE ? null : doc.dueOn;
  const dueness = duenessOn(dueOn, today, dueSoonDays);
  return {
    caseId: doc._id,
    awaiting: doc.step,
    awaitedBy: doc.awaitedBy,
    since: doc.since,
    dueOn,
    dueBecause: dueOn ? doc.dueReason : null,
    overdue: dueness === 'OVERDUE',
    dueSoon: dueness === 'DUE_SOON',
  };
}

export const cursorOf = (doc: Pick<WorklistItemDoc, '_id' | 'dueOn'>) => encodeCursor(`${doc.dueOn}|${doc._id}`);

export { checkPageSize };
