import { Schema, Types, type Connection, type Model } from 'mongoose';
import type { Principal } from '../../../shared/auth.js';
import { mayOpenPersonalDataAccess, mayReadDataProtectionRecords, requirePrincipal } from '../../../shared/access.js';
import { badUserInput, forbidden } from '../../../shared/errors.js';
import { checkPageSize } from '../../../shared/pagination.js';
import { modelOn } from '../../../shared/mongo.js';

/**
 * A support-desk user's access to one case's personal data: opened with a written
 * justification, limited in time, never changed or deleted (append-only). While it is open
 * that user reads the case's personal data, and each read is logged with the grant's id.
 */
export interface PersonalDataGrantDoc {
  _id: Types.ObjectId;
  caseId: string;
  caseMemberState: string;
  subject: string;
  justification: string;
  openedAt: Date;
  expiresAt: Date;
  requestId: string | null;
}

const grantSchema = new Schema<PersonalDataGrantDoc>(
  {},
  { collection: 'personalDataGrants', versionKey: false, strict: false },
);
grantSchema.index({ subject: 1, expiresAt: -1 }, { name: 'subject_expiresAt' });
grantSchema.index({ caseId: 1, _id: -1 }, { name: 'caseId_id' });

export function personalDataGrantModel(connection: Connection): Model<PersonalDataGrantDoc> {
  return modelOn<PersonalDataGrantDoc>(connection, 'PersonalDataGrant', grantSchema);
}

export const JUSTIFICATION_MIN = 20;
export const JUSTIFICATION_MAX = 2_000;

/** Checks who asks and why; the case must already be known visible to the caller. */
export async function openGrant(
  model: Model<PersonalDataGrantDoc>,
  principal: Principal | null,
  target: { caseId: string; caseMemberState: string },
  justification: string,
  minutes: number,
  requestId: string | null,
  now = new Date(),
): Promise<PersonalDataGrantDoc> {
  const who = requirePrincipal(principal, 'openPersonalDataAccess');
  if (!mayOpenPersonalDataAccess(who)) {
    throw forbidden(
      'Only the support desk opens justified access to personal data; ' +
        'the owning Member State and the assigned partner read it without',
    );
  }
  const text = justification.trim();
  if (text.length < JUSTIFICATION_MIN || text.length > JUSTIFICATION_MAX) {
    throw badUserInput(
      `justification must be ${JUSTIFICATION_MIN} to ${JUSTIFICATION_MAX} characters ` +
        `saying why this case's personal data is needed (got ${text.length})`,
      'justification',
    );
  }
  const grant: PersonalDataGrantDoc = {
    _id: new Types.ObjectId(),
    caseId: target.caseId,
    caseMemberState: target.caseMemberState,
    subject: who.subject,
    justification: text,
    openedAt: now,
    expiresAt: new Date(now.getTime() + minutes * 60_000),
    requestId,
  };
  await model.collection.insertOne(grant);
  return grant;
}

export async function listGrants(
  model: Model<PersonalDataGrantDoc>,
  principal: Principal | null,
  args: { caseId?: string | null; first?: number | null },
): Promise<PersonalDataGrantDoc[]> {
  requirePrincipal(principal, 'personalDataAccessGrants');
  if (!mayReadDataProtectionRecords(principal))
    throw forbidden('Only administrators and the data protection officer read the record of justified accesses');
  const filter = args.caseId ? { caseId: String(args.caseId) } : {};
  return model.find(filter).sort({ _id: -1 }).limit(checkPageSize(args.first)).lean<PersonalDataGrantDoc[]>().exec();
}
