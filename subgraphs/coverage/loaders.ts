import DataLoader from 'dataloader';
import { batchByKey } from '../../shared/loaders.js';
import type { CountryDoc, CoverageDoc, CoverageModels, MemberStateDoc } from './models.js';

export interface CoverageLoaders {
  countryByCode: DataLoader<string, CountryDoc | null>;
  memberStateByCode: DataLoader<string, MemberStateDoc | null>;
  coverageByCountry: DataLoader<string, CoverageDoc[]>;
  /** Current coverage periods per partner. */
  currentCoverageByPartner: DataLoader<string, CoverageDoc[]>;
}

export function createCoverageLoaders(models: CoverageModels): CoverageLoaders {
  return {
    countryByCode: batchByKey<string, CountryDoc>(
      (codes) =>
        models.Country.find({ _id: { $in: [...codes] } })
          .lean<CountryDoc[]>()
          .exec(),
      (doc) => doc._id,
    ),
    memberStateByCode: batchByKey<string, MemberStateDoc>(
      (codes) =>
        models.MemberState.find({ _id: { $in: [...codes] } })
          .lean<MemberStateDoc[]>()
          .exec(),
      (doc) => doc._id,
    ),
    coverageByCountry: new DataLoader<string, CoverageDoc[]>(async (codes) => {
      const rows = await models.Coverage.find({ countryCode: { $in: [...codes] } })
        .sort({ validFrom: 1 })
        .lean<CoverageDoc[]>()
        .exec();
      const byCountry = new Map<string, CoverageDoc[]>();
      for (const row of rows) byCountry.set(row.countryCode, [...(byCountry.get(row.countryCode) ?? []), row]);
      return codes.map((code) => byCountry.get(code) ?? []);
    }),
    currentCoverageByPartner: new DataLoader<string, CoverageDoc[]>(async (partnerIds) => {
      const rows = await models.Coverage.find({ partnerId: { $in: [...partnerIds] }, validTo: null })
        .sort({ countryCode: 1 })
        .lean<CoverageDoc[]>()
        .exec();
      const byPartner = new Map<string, CoverageDoc[]>();
      for (const row of rows) byPartner.set(row.partnerId, [...(byPartner.get(row.partnerId) ?? []), row]);
      return partnerIds.map((id) => byPartner.get(id) ?? []);
    }),
  };
}
