import { Schema, Types, type Connection, type Model } from 'mongoose';
import { mayReadDataProtectionRecords, requirePrincipal } from '../../../shared/access.js';
import { forbidden } from '../../../shared/errors.js';
import type { Principal } from '../../../shared/auth.js';
import type { RequestIdSource } from '../../../shared/http.js';
import { checkPageSize } from '../../../shared/pagination.js';
import type { CaseDoc } from '../case/models.js';
import { modelOn } from '../../../shared/mongo.js';

/** One read of one case's personal data in one request: append-only, never updated. */
export interface PersonalDataReadDoc {
  _id: Types.ObjectId;
  at: Date;
  requestId: string | null;
  /** Who made the request id: the client (its well-formed `x-request-id`) or the gateway. */
  requestIdSource?: RequestIdSource | null;
  actor: { role: string; subject: string; memberState?: string; partnerId?: string };
  caseId: string;
  caseMemberState: string;
  fields: string[];
  /** The support desk's justified access the read was made under. */
  grantId?: string;
}

const personalDataReadSchema = new Schema<PersonalDataReadDoc>(
  {},
  { collection: 'personalDataReads', versionKey: false, strict: false },
);
personalDataReadSchema.index({ caseId: 1, _id: -1 }, { name: 'caseId_id' });
personalDataReadSchema.index({ 'actor.subject': 1, _id: -1 }, { name: 'actorSubject_id' });

export function personalDataReadModel(connection: Connection): Model<PersonalDataReadDoc> {
  return modelOn<PersonalDataReadDoc>(connection, 'PersonalDataRead', personalDataReadSchema);
}

/**
 * Collects, during one request, which personal fields of which cases were served, and
 * writes them once the response is ready: one entry per case (who, which case, which
 * fields, when, request id). Nothing is recorded for a request that served no personal data.
 */
export class PersonalDataAudit {
  private readonly reads = new Map<string, { caseMemberState: string; fields: Set<string>; grantId?: string }>();

  constructor(
    private readonly model: Model<PersonalDataReadDoc>,
    private readonly principal: Principal | null,
    private readonly requestId: string | null,
    private readonly requestIdSource: RequestIdSource | null = null,
  ) {}

  /** Notes that `field` of `doc` is served in this response. */
  read(doc: Pick<CaseDoc, '_id' | 'memberState'>, field: string, grantId?: string): void {
    const caseId = doc._id.toHexString();
    const entry = this.reads.get(caseId) ?? { caseMemberState: doc.memberState, fields: new Set<string>() };
    entry.fields.add(field);
    if (grantId) entry.grantId = grantId;
    this.reads.set(caseId, entry);
  }

  async flush(now = new Date()): Promise<number> {
    if (this.reads.size === 0 || !this.principal) return 0;
    const { role, subject, memberState, partnerId } = this.principal;
    const actor = { role, subject, ...(memberState ? { memberState } : {}), ...(partnerId ? { partnerId } : {}) };
    const docs = [...this.reads].map(([caseId, entry]) => ({
      _id: new Types.ObjectId(),
      at: now,
      requestId: this.requestId,
      requestIdSource: this.requestIdSource,
      actor,
      caseId,
      caseMemberState: entry.caseMemberState,
      fields: [...entry.fields].sort(),
      ...(entry.grantId ? { grantId: entry.grantId } : {}),
    }));
    this.reads.clear();
    await this.model.collection.insertMany(docs);
    return docs.length;
  }
}

/** Administrators and the data protection officer read the log, newest first. */
export async function personalDataReads(
  model: Model<PersonalDataReadDoc>,
  principal: Principal | null,
  args: { caseId?: string | null; actorSubject?: string | null; first?: number | null },
): Promise<PersonalDataReadDoc[]> {
  requirePrincipal(principal, 'personalDataReads');
  if (!mayReadDataProtectionRecords(principal))
    throw forbidden('Only administrators and the data protection officer read the personal data access log');
  const first = checkPageSize(args.first);
  const filter: Record<string, string> = {};
  if (args.caseId) filter.caseId = args.caseId;
  if (args.actorSubject) filter['actor.subject'] = args.actorSubject;
  return model.find(filter).sort({ _id: -1 }).limit(first).lean<PersonalDataReadDoc[]>().exec();
}
