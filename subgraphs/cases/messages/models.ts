import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { modelOn } from '../../../shared/mongo.js';
import type { MessageAuthorRole, MessageTopic } from './rules.js';

/** One message of a case's thread. The body is personal data; everything else is not. */
export interface CaseMessageDoc {
  /** Ordered: the thread's order and its cursor. */
  _id: Types.ObjectId;
  caseId: string;
  /** The case's owner when posted (who the message was between). */
  caseMemberState: string;
  partnerId: string | null;
  topic: MessageTopic;
  author: { role: MessageAuthorRole; subject: string; memberState?: string; partnerId?: string };
  inReplyTo: Types.ObjectId | null;
  postedAt: Date;
  /** Null once the case's personal data was erased. */
  body: string | null;
  erasedAt?: Date;
}

/** How far one reader (a token subject) has read one case's thread. `_id` is `<caseId>:<subject>`. */
export interface CaseMessageReadDoc {
  _id: string;
  caseId: string;
  subject: string;
  /** The id of the newest message read (hex). */
  upTo: string;
  at: Date;
}

const messageSchema = new Schema<CaseMessageDoc>({}, { collection: 'caseMessages', versionKey: false, strict: false });
// The thread of a case, in order, either way (the cursor is the id).
messageSchema.index({ caseId: 1, _id: 1 }, { name: 'caseId_id' });

const readSchema = new Schema<CaseMessageReadDoc>(
  { _id: String },
  { collection: 'caseMessageReads', versionKey: false, strict: false },
);
readSchema.index({ caseId: 1 }, { name: 'caseId' });

export interface CaseMessageModels {
  Message: Model<CaseMessageDoc>;
  Read: Model<CaseMessageReadDoc>;
}

export function caseMessageModels(connection: Connection): CaseMessageModels {
  return {
    Message: modelOn<CaseMessageDoc>(connection, 'CaseMessage', messageSchema),
    Read: modelOn<CaseMessageReadDoc>(connection, 'CaseMessageRead', readSchema),
  };
}
