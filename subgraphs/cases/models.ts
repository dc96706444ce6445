import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { CASE_STATUSES, PACKAGES, RETURN_TYPES, SEXES, type CaseStatus, type Package, type ReturnType, type Sex } from '../../shared/domain.js';

export interface PersonDoc {
  name: string;
  dateOfBirth: string;
  sex: Sex;
  relationship?: string;
  vulnerabilities: string[];
}

export interface CaseDoc {
  _id: Types.ObjectId;
  memberState: string;
  caseReference: string;
  returnType: ReturnType;
  charterFlight: boolean;
  packages: Package[];
  countryOfOrigin: string;
  partnerId: string | null;
  status: CaseStatus;
  mainApplicant: PersonDoc;
  familyMembers: PersonDoc[];
  familySize: number;
  departureDate: string | null;
  arrivalDate: string | null;
  recordVersion: number;
  /** sha256 of the canonical record, to tell an identical re-push from a change. */
  contentHash: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const personSchema = new Schema<PersonDoc>(
  {
    name: { type: String, required: true },
    dateOfBirth: { type: String, required: true },
    sex: { type: String, enum: SEXES, required: true },
    relationship: { type: String },
    vulnerabilities: { type: [String], default: [] },
  },
  { _id: false },
);

const caseSchema = new Schema<CaseDoc>(
  {
    memberState: { type: String, required: true },
    caseReference: { type: String, required: true },
    returnType: { type: String, enum: RETURN_TYPES, required: true },
    charterFlight: { type: Boolean, default: false },
    packages: { type: [String], enum: PACKAGES, default: [] },
    countryOfOrigin: { type: String, required: true },
    partnerId: { type: String, default: null },
    status: { type: String, enum: CASE_STATUSES, required: true },
    mainApplicant: { type: personSchema, required: true },
    familyMembers: { type: [personSchema], default: [] },
    familySize: { type: Number, required: true, min: 1 },
    departureDate: { type: String, default: null },
    arrivalDate: { type: String, default: null },
    recordVersion: { type: Number, default: 1 },
    contentHash: { type: String, default: null },
    version: { type: Number, default: 0 },
  },
  { collection: 'cases', timestamps: true, versionKey: false, strict: 'throw' },
);

// One case per (Member State, national reference): ingestion upserts on this key.
caseSchema.index({ memberState: 1, caseReference: 1 }, { unique: true, name: 'memberState_caseReference' });
// List filters; _id keeps the pagination order stable.
caseSchema.index({ countryOfOrigin: 1, _id: 1 }, { name: 'countryOfOrigin_id' });
caseSchema.index({ partnerId: 1, _id: 1 }, { name: 'partnerId_id' });
caseSchema.index({ status: 1, _id: 1 }, { name: 'status_id' });
caseSchema.index({ memberState: 1, _id: 1 }, { name: 'memberState_id' });

export interface CasesModels {
  Case: Model<CaseDoc>;
}

export function casesModels(connection: Connection): CasesModels {
  const existing = connection.models.Case as Model<CaseDoc> | undefined;
  return { Case: existing ?? connection.model<CaseDoc>('Case', caseSchema) };
}
