import { Schema, type Connection, type Model } from 'mongoose';
import type { Package } from '../../shared/domain.js';

export interface PartnerDoc {
  _id: string;
  name: string;
  shortName: string;
  contractStart: string;
  contractEnd: string;
  capacity: number;
  serviceCatalogue: Array<{ package: Package; services: string[] }>;
  subcontractors: Array<{ name: string; countryCode: string; packages: Package[] }>;
}

const partnerSchema = new Schema<PartnerDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    shortName: { type: String, required: true },
    contractStart: { type: String, required: true },
    contractEnd: { type: String, required: true },
    capacity: { type: Number, required: true, min: 0 },
    serviceCatalogue: { type: Schema.Types.Mixed, default: () => [] },
    subcontractors: { type: Schema.Types.Mixed, default: () => [] },
  },
  { collection: 'partners', timestamps: true, versionKey: false },
);

export interface PartnersModels {
  Partner: Model<PartnerDoc>;
}

export function partnersModels(connection: Connection): PartnersModels {
  const existing = connection.models.Partner as Model<PartnerDoc> | undefined;
  return { Partner: existing ?? connection.model<PartnerDoc>('Partner', partnerSchema) };
}
