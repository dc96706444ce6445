import type { Principal } from '../../../shared/auth.js';
import type { PersonalAccess } from '../../../shared/access.js';

/**
 * Case messages as pure rules: who posts and reads a case's thread, and the bounds of what
 * is posted and read. The thread is between the Member State that owns the case and the
 * partner assigned to it; the support desk joins it only while it holds a justified,
 * recorded access to the case. That is exactly who gets the case's personal data
 * (shared/access.ts, `personalAccess` = FULL), because a message's body is free text about
 * the returnee (docs/domain.md, "Personal data").
 */

/** What a message is about (the steps of a case where questions arise, docs/domain.md "A case's life"). */
export const MESSAGE_TOPICS = ['PLAN_CLARIFICATION', 'ARRIVAL', 'COMPLETION', 'GENERAL'] as const;
export type MessageTopic = (typeof MESSAGE_TOPICS)[number];

/** The roles that take part in a thread (the `Actor` enum of the cases SDL). */
export type MessageAuthorRole = 'MEMBER_STATE' | 'PARTNER' | 'SUPPORT_DESK';

/** A message's body: at most this many characters (Unicode code points), after trimming. */
export const MAX_MESSAGE_BODY_CHARS = 4_000;
/** One page of a thread holds at most this many messages. */
export const MAX_MESSAGE_PAGE_SIZE = 100;
export const DEFAULT_MESSAGE_PAGE_SIZE = 20;
/** A thread holds at most this many messages: a runaway client cannot grow one without bound. */
export const MAX_MESSAGES_PER_CASE = 2_000;

/**
 * Who may post on and read a case's thread: a principal with FULL personal access to the
 * case (the owning Member State, the assigned partner, the support desk with an open
 * access), in a role that takes part in threads. Analysts (pseudonymised access), other
 * Member States and partners, administrators and the DPO do not.
 */
export function mayUseCaseThread(principal: Principal | null, access: PersonalAccess): boolean {
  return principal !== null && access === 'FULL' && authorRoleOf(principal) !== null;
}

/** The role a principal posts under; null for roles that never post. */
export function authorRoleOf(principal: Pick<Principal, 'role'>): MessageAuthorRole | null {
  return principal.role === 'MEMBER_STATE' || principal.role === 'PARTNER' || principal.role === 'SUPPORT_DESK'
    ? principal.role
    : null;
}

/**
 * Message counts are shown to everyone who sees the case (a number of messages names no
 * one); bodies, authors and topics only to those who read the thread.
 */
export function mayCountCaseMessages(sees: boolean): boolean {
  return sees;
}

/** Control characters other than tab, line feed and carriage return: never part of a message. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/u;

export type BodyCheck = { ok: true; body: string } | { ok: false; reason: string };

/**
 * A body as stored: trimmed, in Unicode NFC, 1 to MAX_MESSAGE_BODY_CHARS characters, without
 * control characters, invisible formatting or bidirectional overrides (which could make a
 * message read differently from what it holds). The reason says what is wrong, never echoing
 * the text (it is personal data).
 */
export function checkMessageBody(raw: unknown): BodyCheck {
  if (typeof raw !== 'string') return { ok: false, reason: 'must be a string' };
  const body = raw.normalize('NFC').trim();
  if (body.length === 0) return { ok: false, reason: 'must not be empty' };
  const length = [...body].length;
  if (length > MAX_MESSAGE_BODY_CHARS)
    return { ok: false, reason: `must be at most ${MAX_MESSAGE_BODY_CHARS} characters, got ${length}` };
  const control = CONTROL.exec(body);
  if (control) {
    const code = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return { ok: false, reason: `must not contain control or invisible formatting characters (U+${code})` };
  }
  return { ok: true, body };
}

export type PageSizeCheck = { ok: true; size: number } | { ok: false; reason: string };

export function checkMessagePageSize(first: number | null | undefined): PageSizeCheck {
  const size = first ?? DEFAULT_MESSAGE_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_MESSAGE_PAGE_SIZE)
    return { ok: false, reason: `must be between 1 and ${MAX_MESSAGE_PAGE_SIZE}, got ${size}` };
  return { ok: true, size };
}

/** A message id as issued (a 24-hex-digit ObjectId); anything else names no message. */
export function isMessageId(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{24}$/i.test(value);
}

/**
 * The topic of a new message: the one given, else its parent's (a reply stays on the
 * question's topic), else GENERAL.
 */
export function topicOf(given: MessageTopic | null | undefined, parent: MessageTopic | null | undefined): MessageTopic {
  return given ?? parent ?? 'GENERAL';
}

/**
 * Whether a message counts as unread for a reader: posted after the reader's read marker
 * (message ids are ordered), and not by the reader itself.
 */
export function isUnread(
  message: { id: string; authorSubject: string },
  reader: { subject: string; readUpTo: string | null },
): boolean {
  if (message.authorSubject === reader.subject) return false;
  return reader.readUpTo === null || message.id.toLowerCase() > reader.readUpTo.toLowerCase();
}

/** A read marker moves forward only: marking an older message read keeps the newer marker. */
export function nextReadMarker(current: string | null, requested: string): string {
  return current !== null && current.toLowerCase() >= requested.toLowerCase() ? current : requested;
}
