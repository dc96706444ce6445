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
  { _id: String, name: { type: String, required: true } },
  { collection: 'memberStates', versionKey: false },
);
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
}

export function coverageModels(connection: Connection): CoverageModels {
  const get = <T>(name: string, schema: Schema<T>) =>
    (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
  return {
    Country: get('Country', countrySchema),
    MemberState: get('MemberState', memberStateSchema),
    Coverage: get('Coverage', coverageSchema),
  };
}
