import type DataLoader from 'dataloader';
import { Types } from 'mongoose';
import { batchByKey } from '../../shared/loaders.js';
import type { CaseDoc, CasesModels, StatisticsDoc } from './models.js';

export interface CasesLoaders {
  caseById: DataLoader<string, CaseDoc | null>;
  /** Statistics read-model documents by scope (`partner:weldo`, ...). */
  statisticsByScope: DataLoader<string, StatisticsDoc | null>;
}

export function createCasesLoaders(models: CasesModels): CasesLoaders {
  return {
    caseById: batchByKey<string, CaseDoc>(
      async (ids) => {
        // Ids that are not ObjectIds cannot exist; they resolve to null, not an error.
        const valid = ids.filter((id) => Types.ObjectId.isValid(id) && /^[0-9a-f]{24}$/i.test(id));
        if (valid.length === 0) return [];
        return models.Case.find({ _id: { $in: valid.map((id) => new Types.ObjectId(id)) } }).lean<CaseDoc[]>().exec();
      },
      (doc) => doc._id.toHexString(),
    ),
    statisticsByScope: batchByKey<string, StatisticsDoc>(
      (scopes) => models.Statistics.find({ _id: { $in: [...scopes] } }).lean<StatisticsDoc[]>().exec(),
      (doc) => doc._id,
    ),
  };
}
