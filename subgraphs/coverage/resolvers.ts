import type { Principal } from '../../shared/auth.js';
import type { GraphQLResolverMap } from '../../shared/subgraph.js';
import type { CoverageLoaders } from './loaders.js';
import type { CountryDoc, CoverageDoc, CoverageModels, MemberStateDoc } from './models.js';

export interface CoverageContext {
  principal: Principal | null;
  models: CoverageModels;
  loaders: CoverageLoaders;
}

export const coverageResolvers: GraphQLResolverMap<CoverageContext> = {
  Query: {
    countriesOfOrigin: (_: unknown, __: unknown, ctx: CoverageContext) =>
      ctx.models.Country.find().sort({ name: 1 }).lean<CountryDoc[]>().exec(),
    countryOfOrigin: (_: unknown, args: { code: string }, ctx: CoverageContext) =>
      ctx.loaders.countryByCode.load(String(args.code)),
    memberStates: (_: unknown, __: unknown, ctx: CoverageContext) =>
      ctx.models.MemberState.find().sort({ name: 1 }).lean<MemberStateDoc[]>().exec(),
  },
  CountryOfOrigin: {
    __resolveReference: (ref: { code: string }, ctx: CoverageContext) => ctx.loaders.countryByCode.load(String(ref.code)),
    code: (doc: CountryDoc) => doc._id,
    coverage: (doc: CountryDoc, _: unknown, ctx: CoverageContext) => ctx.loaders.coverageByCountry.load(doc._id),
  },
  MemberState: {
    __resolveReference: (ref: { code: string }, ctx: CoverageContext) => ctx.loaders.memberStateByCode.load(String(ref.code)),
    code: (doc: MemberStateDoc) => doc._id,
  },
  Partner: {
    __resolveReference: (ref: { id: string }) => ({ id: String(ref.id) }),
    countriesServed: async (partner: { id: string }, _: unknown, ctx: CoverageContext) => {
      const rows = await ctx.loaders.currentCoverageByPartner.load(partner.id);
      const countries = await ctx.loaders.countryByCode.loadMany(rows.map((row) => row.countryCode));
      return countries.filter((c): c is CountryDoc => c !== null && !(c instanceof Error));
    },
  },
  CoverageAssignment: {
    partner: (doc: CoverageDoc) => ({ id: doc.partnerId }),
  },
};
