import { Schema, type Connection, type Model } from 'mongoose';
import { PACKAGES, type Package } from '../../shared/domain.js';

export interface CountryDoc {
  _id: string;
  alpha3: string;
  name: string;
}

export interface MemberStateDoc {
  _id: string;
  name: string;
  /** The day it joined the programme, YYYY-MM-DD (the programme's start for those stored before). */
  joinedOn?: string;
}

/** One audited change to the reference data: who, when, what before and after. */
export interface ReferenceChangeDoc {
  at: Date;
  actor: { role: string; subject: string };
  kind: 'COUNTRY_OF_ORIGIN' | 'MEMBER_STATE';
  code: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
}

export interface CoverageDoc {
  countryCode: string;
  partnerId: string;
  packages: Package[];
  validFrom: string;
  validTo: string | null;
}

const countrySchema = new Schema<CountryDoc>(
  { _id: String, alpha3: { type: String, required: true }, name: { type: String, required: true } },
  { collection: 'countries', versionKey: false },
);
const memberStateSchema = new Schema<MemberStateDoc>(
  { _id: String, name: { type: String, required: true }, joinedOn: { type: String } },
  { collection: 'memberStates', versionKey: false },
);
const referenceChangeSchema = new Schema<ReferenceChangeDoc>(
  {
    at: { type: Date, required: true },
    actor: { role: String, subject: String },
    kind: { type: String, required: true },
    code: { type: String, required: true },
    before: { type: Schema.Types.Mixed, default: null },
    after: { type: Schema.Types.Mixed, required: true },
  },
  { collection: 'referenceChanges', versionKey: false },
);
referenceChangeSchema.index({ at: -1 }, { name: 'at_desc' });
const coverageSchema = new Schema<CoverageDoc>(
  {
    countryCode: { type: String, required: true },
    partnerId: { type: String, required: true },
    packages: { type: [String], enum: PACKAGES, required: true },
    validFrom: { type: String, required: true },
    validTo: { type: String, default: null },
  },
  { collection: 'coverage', versionKey: false, timestamps: true },
);
coverageSchema.index({ countryCode: 1, validFrom: 1 }, { name: 'countryCode_validFrom' });

export interface CoverageModels {
  Country: Model<CountryDoc>;
  MemberState: Model<MemberStateDoc>;
  Coverage: Model<CoverageDoc>;
  ReferenceChange: Model<ReferenceChangeDoc>;
}

export function coverageModels(connection: Connection): CoverageModels {
  const get = <T>(name: string, schema: Schema<T>) =>
    (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
  return {
    Country: get('Country', countrySchema),
    MemberState: get('MemberState', memberStateSchema),
    Coverage: get('Coverage', coverageSchema),
    ReferenceChange: get('ReferenceChange', referenceChangeSchema),
  };
}
