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

export interface FinanceModels {
  Tariff: Model<TariffRow>;
}

export function financeModels(connection: Connection): FinanceModels {
  const existing = connection.models.Tariff as Model<TariffRow> | undefined;
  return { Tariff: existing ?? connection.model<TariffRow>('Tariff', tariffSchema) };
}
