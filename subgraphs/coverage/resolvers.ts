import type { Principal } from '../../shared/auth.js';
import { mayChangeCoverage, mayChangeReferenceData } from '../../shared/access.js';
import {
  badUserInput,
  conflict,
  forbidden,
  noCoverage,
  principalRequired,
  serviceUnavailable,
} from '../../shared/errors.js';
import type { ReferenceChange } from '../cases/reference/stream.js';
import {
  checkNewCountry,
  checkNewMemberState,
  sameValues,
  type NewCountryInput,
  type NewMemberStateInput,
} from './reference-rules.js';
import { PROGRAMME_START } from './released.js';
import { PARTNERS, type Package } from '../../shared/domain.js';
import { isCalendarDate } from '../../shared/scalars.js';
import type { GraphQLResolverMap } from '../../shared/subgraph.js';
import { assignPartner, dayBefore } from './rules.js';
import type { CoverageLoaders } from './loaders.js';
import type { CountryDoc, CoverageDoc, CoverageModels, MemberStateDoc, ReferenceChangeDoc } from './models.js';

export interface CoverageContext {
  principal: Principal | null;
  models: CoverageModels;
  loaders: CoverageLoaders;
  /** Appends a change to the reference-data stream the cases subgraph keeps its copy from. */
  publishReference: (change: ReferenceChange) => Promise<string>;
}

const PARTNER_IDS: ReadonlySet<string> = new Set(PARTNERS.map((p) => p.id));

/** Only the support desk or an administrator changes reference data. */
function operator(ctx: CoverageContext, what: string): Principal {
  if (!ctx.principal) throw principalRequired(what);
  if (!mayChangeReferenceData(ctx.principal))
    throw forbidden('Only the support desk or an administrator changes reference data');
  return ctx.principal;
}

/** Publishes a stored change; on failure the caller is told to send the same request again (a retry republishes). */
async function publishStored(ctx: CoverageContext, change: ReferenceChange): Promise<void> {
  try {
    await ctx.publishReference(change);
  } catch (error) {
    throw serviceUnavailable(
      `The change is stored but not yet published to the cases subgraph (${(error as Error).message}); ` +
        'send the same request again',
    );
  }
}

async function audit(
  ctx: CoverageContext,
  principal: Principal,
  entry: Omit<ReferenceChangeDoc, 'at' | 'actor'>,
): Promise<void> {
  await ctx.models.ReferenceChange.create({
    at: new Date(),
    actor: { role: principal.role, subject: principal.subject },
    ...entry,
  });
}

export const coverageResolvers: GraphQLResolverMap<CoverageContext> = {
  Mutation: {
    addCountryOfOrigin: async (_: unknown, args: { input: NewCountryInput }, ctx: CoverageContext) => {
      const principal = operator(ctx, 'addCountryOfOrigin');
      const input = args.input;
      const check = checkNewCountry(input, PARTNER_IDS);
      if (!check.ok) throw badUserInput(check.message, `input.${check.field}`);
      const wanted = { _id: input.code, alpha3: input.alpha3, name: input.name };
      const stored = await ctx.models.Country.findById(input.code).lean<CountryDoc>().exec();
      if (stored && !sameValues(stored, wanted))
        throw conflict(
          `${input.code} is already a country of origin (${stored.alpha3}, ${stored.name}); ` +
            'change who serves it with assignCoverage',
          { field: 'input.code' },
        );
      if (!stored) {
        await ctx.models.Country.create(wanted);
        const period = {
          countryCode: input.code,
          partnerId: input.partnerId,
          packages: [...input.packages],
          validFrom: input.validFrom,
          validTo: null,
        };
        await ctx.models.Coverage.create(period);
        await audit(ctx, principal, {
          kind: 'COUNTRY_OF_ORIGIN',
          code: input.code,
          before: null,
          after: { code: input.code, alpha3: input.alpha3, name: input.name, coverage: period },
        });
        ctx.loaders.countryByCode.clear(input.code);
        ctx.loaders.coverageByCountry.clear(input.code);
      }
      await publishStored(ctx, { kind: 'COUNTRY_OF_ORIGIN', code: input.code, alpha3: input.alpha3, name: input.name });
      return ctx.loaders.countryByCode.load(input.code);
    },
    addMemberState: async (_: unknown, args: { input: NewMemberStateInput }, ctx: CoverageContext) => {
      const principal = operator(ctx, 'addMemberState');
      const input = args.input;
      const check = checkNewMemberState(input);
      if (!check.ok) throw badUserInput(check.message, `input.${check.field}`);
      const wanted = { _id: input.code, name: input.name, joinedOn: input.joinedOn };
      const stored = await ctx.models.MemberState.findById(input.code).lean<MemberStateDoc>().exec();
      if (stored && !sameValues({ ...stored, joinedOn: stored.joinedOn ?? PROGRAMME_START }, wanted))
        throw conflict(
          `${input.code} is already a participating Member State (${stored.name}, joined ` +
            `${stored.joinedOn ?? PROGRAMME_START})`,
          { field: 'input.code' },
        );
      if (!stored) {
        await ctx.models.MemberState.create(wanted);
        await audit(ctx, principal, {
          kind: 'MEMBER_STATE',
          code: input.code,
          before: null,
          after: { code: input.code, name: input.name, joinedOn: input.joinedOn },
        });
        ctx.loaders.memberStateByCode.clear(input.code);
      }
      await publishStored(ctx, { kind: 'MEMBER_STATE', code: input.code, name: input.name, joinedOn: input.joinedOn });
      return ctx.loaders.memberStateByCode.load(input.code);
    },
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
    referenceDataChanges: async (_: unknown, args: { first?: number | null }, ctx: CoverageContext) => {
      if (!ctx.principal) throw principalRequired('referenceDataChanges');
      if (!mayChangeReferenceData(ctx.principal))
        throw forbidden('Only the support desk or an administrator reads the reference data audit');
      const first = args.first ?? 50;
      if (!Number.isInteger(first) || first < 1 || first > 200) throw badUserInput('first must be 1-200', 'first');
      return ctx.models.ReferenceChange.find().sort({ at: -1 }).limit(first).lean<ReferenceChangeDoc[]>().exec();
    },
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
    joinedOn: (doc: MemberStateDoc) => doc.joinedOn ?? PROGRAMME_START,
  },
  ReferenceDataChange: {
    at: (doc: ReferenceChangeDoc) => new Date(doc.at).toISOString(),
    actor: (doc: ReferenceChangeDoc) => doc.actor.subject,
    actorRole: (doc: ReferenceChangeDoc) => doc.actor.role,
    before: (doc: ReferenceChangeDoc) => (doc.before ? JSON.stringify(doc.before) : null),
    after: (doc: ReferenceChangeDoc) => JSON.stringify(doc.after),
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
