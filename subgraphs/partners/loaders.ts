import type DataLoader from 'dataloader';
import { batchByKey } from '../../shared/loaders.js';
import type { PartnerDoc, PartnersModels } from './models.js';

export interface PartnersLoaders {
  partnerById: DataLoader<string, PartnerDoc | null>;
}

export function createPartnersLoaders(models: PartnersModels): PartnersLoaders {
  return {
    partnerById: batchByKey<string, PartnerDoc>(
      (ids) =>
        models.Partner.find({ _id: { $in: [...ids] } })
          .lean<PartnerDoc[]>()
          .exec(),
      (doc) => doc._id,
    ),
  };
}
