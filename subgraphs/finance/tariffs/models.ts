import { Schema, type Connection, type Model } from 'mongoose';
import { PACKAGES } from '../../../shared/domain.js';
import { TARIFF_COMPONENTS, type TariffRow } from './rules.js';

const tariffSchema = new Schema<TariffRow>(
  {
    package: { type: String, enum: PACKAGES, required: true },
    component: { type: String, enum: TARIFF_COMPONENTS, required: true },
    amountCents: { type: Number, required: true, min: 0, validate: Number.isInteger },
    validFrom: { type: String, required: true },
    validTo: { type: String, default: null },
  },
  { collection: 'tariffs', versionKey: false, timestamps: true },
);
tariffSchema.index({ package: 1, component: 1, validFrom: 1 }, { unique: true, name: 'package_component_validFrom' });

/** One change to the tariffs, audited: who, when, the version closed (before) and the one added (after). */
export interface TariffChangeDoc {
  at: Date;
  actor: { role: string; subject: string };
  package: string;
  component: string;
  before: TariffRow | null;
  after: TariffRow;
}

const tariffChangeSchema = new Schema<TariffChangeDoc>(
  {
    at: { type: Date, required: true },
    actor: { role: String, subject: String },
    package: { type: String, required: true },
    component: { type: String, required: true },
    before: { type: Schema.Types.Mixed, default: null },
    after: { type: Schema.Types.Mixed, required: true },
  },
  { collection: 'tariffChanges', versionKey: false },
);
tariffChangeSchema.index({ at: -1 }, { name: 'at_desc' });

export interface FinanceModels {
  Tariff: Model<TariffRow>;
  TariffChange: Model<TariffChangeDoc>;
}

export function financeModels(connection: Connection): FinanceModels {
  const existing = connection.models.Tariff as Model<TariffRow> | undefined;
  const changes = connection.models.TariffChange as Model<TariffChangeDoc> | undefined;
  return {
    Tariff: existing ?? connection.model<TariffRow>('Tariff', tariffSchema),
    TariffChange: changes ?? connection.model<TariffChangeDoc>('TariffChange', tariffChangeSchema),
  };
}
