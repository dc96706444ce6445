import DataLoader from 'dataloader';
import type { FinanceModels } from './models.js';
import type { TariffRow } from './rules.js';

export interface FinanceLoaders {
  /** All tariff versions, read once per request however many cases ask (key is ignored). */
  tariffs: DataLoader<'all', TariffRow[]>;
}

export function createFinanceLoaders(models: FinanceModels): FinanceLoaders {
  return {
    tariffs: new DataLoader<'all', TariffRow[]>(async (keys) => {
      const rows = await models.Tariff.find({}, { _id: 0, createdAt: 0, updatedAt: 0 }).lean<TariffRow[]>().exec();
      return keys.map(() => rows);
    }),
  };
}
