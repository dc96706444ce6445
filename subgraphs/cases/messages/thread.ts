import DataLoader from 'dataloader';
import { Types } from 'mongoose';
import type { Principal } from '../../../shared/auth.js';
import type { CaseEvent } from '../../../shared/case-events/index.js';
import { badUserInput, caseNotFound, forbidden, principalRequired } from '../../../shared/errors.js';
import { decodeCursor, encodeCursor } from '../../../shared/pagination.js';
import type { CaseAccess } from '../case/access.js';
import type { CaseDoc } from '../case/models.js';
import type { CaseMessageDoc, CaseMessageModels, CaseMessageReadDoc } from './models.js';
import {
  authorRoleOf,
  checkMessageBody,
  checkMessagePageSize,
  isMessageId,
  MAX_MESSAGES_PER_CASE,
  mayUseCaseThread,
  nextReadMarker,
  topicOf,
  type MessageTopic,
} from './rules.js';

/**
 * A case's thread: posting, reading a page, read markers and counts. Every function is
 * handed the case as the caller may see it (`ctx.loaders.caseById`, restricted by access);
 * the rules are rules.ts.
 */

/** Why a principal may not use the thread: the same answer for every principal who lacks access. */
function threadRefused(caseId: string): Error {
  return forbidden(
    `The thread of case ${caseId} is between the owning Member State and the assigned partner ` +
      '(and the support desk with an open personal data access to the case)',
    { caseId },
  );
}

/** The case as the caller may use its thread, or the error that says why not. */
export async function threadCase(
  access: CaseAccess,
  doc: CaseDoc | null,
  caseId: string,
  action: string,
): Promise<{ doc: CaseDoc; principal: Principal }> {
  if (!access.principal) throw principalRequired(action, true);
  if (!doc) throw caseNotFound(caseId);
  if (!mayUseCaseThread(access.principal, await access.personal(doc))) throw threadRefused(caseId);
  return { doc, principal: access.principal };
}

export interface PostInput {
  body: unknown;
  topic?: MessageTopic | null;
  inReplyTo?: string | null;
}

/** Stores a message on the case's thread and announces it (MESSAGE_POSTED, without the body). */
export async function postMessage(
  models: CaseMessageModels,
  publish: (events: ReadonlyArray<CaseEvent>) => Promise<unknown>,
  doc: CaseDoc,
  principal: Principal,
  input: PostInput,
  /** Whether the case's personal data has been erased by now (read from the store). */
  erasedSince: () => Promise<boolean>,
  now = new Date(),
): Promise<CaseMessageDoc> {
  const caseId = doc._id.toHexString();
  if (doc.erasure) throw forbidden(`The personal data of case ${caseId} was erased: its thread is closed`, { caseId });
  const body = checkMessageBody(input.body);
  if (!body.ok) throw badUserInput(`Argument "body" ${body.reason}`, 'body');
  let parent: CaseMessageDoc | null = null;
  if (input.inReplyTo != null) {
    parent = isMessageId(input.inReplyTo)
      ? await models.Message.findOne({ _id: new Types.ObjectId(input.inReplyTo), caseId })
          .lean<CaseMessageDoc>()
          .exec()
      : null;
    if (!parent) throw badUserInput(`Argument "inReplyTo" names no message of case ${caseId}`, 'inReplyTo');
  }
  const count = await models.Message.countDocuments({ caseId }).exec();
  if (count >= MAX_MESSAGES_PER_CASE)
    throw badUserInput(
      `The thread of case ${caseId} holds the most messages a thread may (${MAX_MESSAGES_PER_CASE})`,
      'caseId',
      {
        limit: MAX_MESSAGES_PER_CASE,
      },
    );
  const role = authorRoleOf(principal)!;
  const message: CaseMessageDoc = {
    _id: new Types.ObjectId(),
    caseId,
    caseMemberState: doc.memberState,
    partnerId: doc.partnerId ?? null,
    topic: topicOf(input.topic, parent?.topic),
    author: {
      role,
      subject: principal.subject,
      ...(principal.memberState ? { memberState: principal.memberState } : {}),
      ...(principal.partnerId ? { partnerId: principal.partnerId } : {}),
    },
    inReplyTo: parent?._id ?? null,
    postedAt: now,
    body: body.body,
  };
  await models.Message.collection.insertOne(message);
  // An erasure that marked the case while this message was being stored has scrubbed the thread
  // already, or is about to: a body stored after that mark is removed here (erasure marks, then scrubs).
  if (await erasedSince()) {
    await eraseThread(models, caseId, now);
    throw forbidden(`The personal data of case ${caseId} was erased: its thread is closed`, { caseId });
  }
  await publish([messagePostedEvent(doc, message)]);
  return message;
}

/** The case event of a posted message: who owns the case, which message; no body, no facts to count. */
export function messagePostedEvent(
  doc: Pick<CaseDoc, '_id' | 'memberState' | 'partnerId' | 'countryOfOrigin' | 'status' | 'version'>,
  message: Pick<CaseMessageDoc, '_id' | 'author' | 'topic' | 'postedAt'>,
): CaseEvent {
  return {
    type: 'case.messaged',
    caseId: doc._id.toHexString(),
    version: doc.version,
    at: message.postedAt.toISOString(),
    before: null,
    after: null,
    owner: {
      memberState: doc.memberState,
      partnerId: doc.partnerId ?? null,
      countryOfOrigin: doc.countryOfOrigin,
      status: doc.status,
    },
    caseMessage: { id: message._id.toHexString(), authorRole: message.author.role, topic: message.topic },
  };
}

export type MessageOrder = 'NEWEST_FIRST' | 'OLDEST_FIRST';

export interface MessagePage {
  messages: CaseMessageDoc[];
  hasNextPage: boolean;
  totalCount: number;
}

/** One page of a thread, by id either way; `after` is a cursor this API issued. */
export async function readThread(
  models: CaseMessageModels,
  caseId: string,
  args: { first?: number | null; after?: string | null; order?: MessageOrder | null },
): Promise<MessagePage> {
  const size = checkMessagePageSize(args.first);
  if (!size.ok) throw badUserInput(`Argument "first" ${size.reason}`, 'first');
  const newestFirst = (args.order ?? 'NEWEST_FIRST') === 'NEWEST_FIRST';
  const filter: Record<string, unknown> = { caseId };
  if (args.after != null) {
    const key = decodeCursor(args.after);
    if (!isMessageId(key)) throw badUserInput('Argument "after" is not a cursor returned by this API', 'after');
    filter._id = { [newestFirst ? '$lt' : '$gt']: new Types.ObjectId(key) };
  }
  const [found, totalCount] = await Promise.all([
    models.Message.find(filter)
      .sort({ _id: newestFirst ? -1 : 1 })
      .limit(size.size + 1)
      .lean<CaseMessageDoc[]>()
      .exec(),
    models.Message.countDocuments({ caseId }).exec(),
  ]);
  return { messages: found.slice(0, size.size), hasNextPage: found.length > size.size, totalCount };
}

export const messageCursor = (message: Pick<CaseMessageDoc, '_id'>) => encodeCursor(message._id.toHexString());

/** Marks the thread read up to `upTo` (default: its newest message) for the principal; the marker never moves back. */
export async function markRead(
  models: CaseMessageModels,
  caseId: string,
  principal: Principal,
  upTo: string | null | undefined,
  now = new Date(),
): Promise<void> {
  let target: string | null;
  if (upTo != null) {
    const found = isMessageId(upTo)
      ? await models.Message.countDocuments({ _id: new Types.ObjectId(upTo), caseId }).exec()
      : 0;
    if (found === 0) throw badUserInput(`Argument "upTo" names no message of case ${caseId}`, 'upTo');
    target = upTo.toLowerCase();
  } else {
    const newest = await models.Message.findOne({ caseId }).sort({ _id: -1 }).lean<CaseMessageDoc>().exec();
    target = newest?._id.toHexString() ?? null;
  }
  if (target === null) return; // nothing to read
  const _id = `${caseId}:${principal.subject}`;
  const current = await models.Read.findOne({ _id }).lean<CaseMessageReadDoc>().exec();
  const next = nextReadMarker(current?.upTo ?? null, target);
  if (current && next === current.upTo) return;
  await models.Read.updateOne(
    { _id },
    { $set: { caseId, subject: principal.subject, upTo: next, at: now } },
    { upsert: true },
  ).exec();
}

/** Messages by others after the reader's marker. */
export async function unreadCount(models: CaseMessageModels, caseId: string, subject: string): Promise<number> {
  const marker = await models.Read.findOne({ _id: `${caseId}:${subject}` })
    .lean<CaseMessageReadDoc>()
    .exec();
  const filter: Record<string, unknown> = { caseId, 'author.subject': { $ne: subject } };
  if (marker) filter._id = { $gt: new Types.ObjectId(marker.upTo) };
  return models.Message.countDocuments(filter).exec();
}

/** Message counts per case, one query per batch (a list of cases asks for many). */
export function messageCountLoader(models: CaseMessageModels): DataLoader<string, number> {
  return new DataLoader<string, number>(
    async (caseIds) => {
      const counts = await models.Message.aggregate<{ _id: string; n: number }>([
        { $match: { caseId: { $in: [...caseIds] } } },
        { $group: { _id: '$caseId', n: { $sum: 1 } } },
      ]).exec();
      const byCase = new Map(counts.map((c) => [c._id, c.n]));
      return caseIds.map((id) => byCase.get(id) ?? 0);
    },
    { maxBatchSize: 500 },
  );
}

/**
 * Erasure (data-protection/erasure.ts): every body of the case's thread is removed; who
 * posted what when, and on which topic, stays (as the case's history does). Returns how
 * many messages held a body. Idempotent.
 */
export async function eraseThread(models: CaseMessageModels, caseId: string, now = new Date()): Promise<number> {
  const result = await models.Message.updateMany(
    { caseId, body: { $ne: null } },
    { $set: { body: null, erasedAt: now } },
  ).exec();
  return result.modifiedCount;
}
