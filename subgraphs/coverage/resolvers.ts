import type { Principal } from '../../shared/auth.js';
import { mayChangeCoverage } from '../../shared/access.js';
import { badUserInput, forbidden, noCoverage, principalRequired } from '../../shared/errors.js';
import { PARTNERS, type Package } from '../../shared/domain.js';
import { isCalendarDate } from '../../shared/scalars.js';
import type { GraphQLResolverMap } from '../../shared/subgraph.js';
import { assignPartner, dayBefore } from './rules.js';
import type { CoverageLoaders } from './loaders.js';
import type { CountryDoc, CoverageDoc, CoverageModels, MemberStateDoc } from './models.js';

export interface CoverageContext {
  principal: Principal | null;
  models: CoverageModels;
  loaders: CoverageLoaders;
}

export const coverageResolvers: GraphQLResolverMap<CoverageContext> = {
  Mutation: {
    assignCoverage: async (
      _: unknown,
      args: { countryOfOrigin: string; partnerId: string; packages: Package[]; validFrom: string },
      ctx: CoverageContext,
    ) => {
      if (!ctx.principal) throw principalRequired('assignCoverage');
      if (!mayChangeCoverage(ctx.principal)) {
        throw forbidden('Only the support desk or an administrator changes coverage');
      }
      const country = await ctx.loaders.countryByCode.load(String(args.countryOfOrigin));
      if (!country) {
        const given = JSON.stringify(args.countryOfOrigin).slice(0, 12);
        throw badUserInput(`${given} is not a country of origin of the programme`, 'countryOfOrigin');
      }
      if (!PARTNERS.some((p) => p.id === args.partnerId)) {
        throw badUserInput(`${JSON.stringify(args.partnerId).slice(0, 40)} is not a contracted partner`, 'partnerId');
      }
      if (!isCalendarDate(args.validFrom)) {
        throw badUserInput('validFrom must be a calendar date YYYY-MM-DD', 'validFrom');
      }
      if (args.packages.length === 0) throw badUserInput('packages must name at least one package', 'packages');
      const periods = await ctx.loaders.coverageByCountry.load(country._id);
      const current = periods.find((p) => p.validTo === null);
      if (current && current.validFrom >= args.validFrom) {
        const message = `validFrom must be after the current period's start (${current.validFrom})`;
        throw badUserInput(`${message}; history is not rewritten`, 'validFrom');
      }
      if (current)
        await ctx.models.Coverage.updateOne(
          { countryCode: country._id, validFrom: current.validFrom },
          { $set: { validTo: dayBefore(args.validFrom) } },
        ).exec();
      await ctx.models.Coverage.create({
        countryCode: country._id,
        partnerId: args.partnerId,
        packages: [...new Set(args.packages)],
        validFrom: args.validFrom,
        validTo: null,
      });
      ctx.loaders.coverageByCountry.clear(country._id);
      return country;
    },
  },
  Query: {
    partnerAssignment: async (
      _: unknown,
      args: { countryOfOrigin: string; packages: Package[]; on: string },
      ctx: CoverageContext,
    ) => {
      if (!isCalendarDate(args.on)) throw badUserInput('on must be a calendar date YYYY-MM-DD', 'on');
      const periods = await ctx.loaders.coverageByCountry.load(String(args.countryOfOrigin));
      const result = assignPartner(periods, String(args.countryOfOrigin), args.packages, args.on);
      if (!result.ok) throw noCoverage(result.message);
      return result.period;
    },
    countriesOfOrigin: (_: unknown, __: unknown, ctx: CoverageContext) =>
      ctx.models.Country.find().sort({ name: 1 }).lean<CountryDoc[]>().exec(),
    countryOfOrigin: (_: unknown, args: { code: string }, ctx: CoverageContext) =>
      ctx.loaders.countryByCode.load(String(args.code)),
    memberStates: (_: unknown, __: unknown, ctx: CoverageContext) =>
      ctx.models.MemberState.find().sort({ name: 1 }).lean<MemberStateDoc[]>().exec(),
  },
  CountryOfOrigin: {
    __resolveReference: (ref: { code: string }, ctx: CoverageContext) =>
      ctx.loaders.countryByCode.load(String(ref.code)),
    code: (doc: CountryDoc) => doc._id,
    coverage: (doc: CountryDoc, _: unknown, ctx: CoverageContext) => ctx.loaders.coverageByCountry.load(doc._id),
  },
  MemberState: {
    __resolveReference: (ref: { code: string }, ctx: CoverageContext) =>
      ctx.loaders.memberStateByCode.load(String(ref.code)),
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
