import type { Principal } from '../../shared/auth.js';
import { maySetBudgets } from '../../shared/access.js';
import { badUserInput, forbidden, principalRequired, tariffNotFound } from '../../shared/errors.js';
import type { Package, ReturnType } from '../../shared/domain.js';
import type DataLoader from 'dataloader';
import type { CaseEvent } from '../../shared/case-events/index.js';
import { DateScalar, DateTimeScalar } from '../../shared/scalars.js';
import { CentsScalar, DEFAULT_OBJECTIVE_PEOPLE, financeSummary, recordDisbursement, spendLine, type DisbursementInput } from './ledger-resolvers.js';
import type { CaseFinanceDoc, DisbursementDoc, LedgerModels, SpendDoc } from './models-ledger.js';
import type { GraphQLResolverMap } from '../../shared/subgraph.js';
import type { FinanceLoaders } from './loaders.js';
import type { FinanceAccess } from './access.js';
import type { FinanceModels } from './models.js';
import { computeEntitlement, TariffNotFoundError, type Entitlement, type TariffRow } from './rules.js';

export interface FinanceContext {
  principal: Principal | null;
  models: FinanceModels & LedgerModels;
  /** Appends events (disbursements) to the case event stream. */
  publish: (events: ReadonlyArray<CaseEvent>) => Promise<unknown>;
  ledger: {
    caseById: DataLoader<string, CaseFinanceDoc | null>;
    disbursementsByCase: DataLoader<string, DisbursementDoc[]>;
    spendByYear: DataLoader<string, SpendDoc | null>;
  };
  loaders: FinanceLoaders;
  /** The access rules, applied in one place (access.ts). */
  access: FinanceAccess;
  /** Today, YYYY-MM-DD; injectable so tests are not date-dependent. */
  today: () => string;
}

/** The fields the gateway sends for `@requires`. */
interface CaseRepresentation {
  id: string;
  packages?: Package[];
  returnType?: ReturnType;
  familySize?: number;
  departureDate?: string | null;
}

export const financeResolvers: GraphQLResolverMap<FinanceContext> = {
  Date: DateScalar,
  DateTime: DateTimeScalar,
  Cents: CentsScalar,
  Mutation: {
    recordDisbursement: (_: unknown, args: DisbursementInput, ctx: FinanceContext) =>
      recordDisbursement(ctx.models, ctx.principal, { ...args, caseId: String(args.caseId) }, ctx.publish),
    setAnnualBudget: async (_: unknown, args: { year: number; amountCents: number; objectivePeople?: number | null }, ctx: FinanceContext) => {
      if (!ctx.principal) throw principalRequired('setAnnualBudget');
      if (!maySetBudgets(ctx.principal)) throw forbidden('Only the support desk or an administrator sets budgets');
      const objectivePeople = args.objectivePeople ?? DEFAULT_OBJECTIVE_PEOPLE;
      if (args.amountCents < 0 || objectivePeople < 0) {
        throw badUserInput('amountCents and objectivePeople must not be negative');
      }
      await financeSummary(ctx.models, args.year); // validates the year
      await ctx.models.Budget.updateOne({ _id: String(args.year) }, { $set: { amountCents: args.amountCents, objectivePeople } }, { upsert: true }).exec();
      return financeSummary(ctx.models, args.year);
    },
  },
  Partner: {
    __resolveReference: (ref: { id: string }) => ({ id: String(ref.id) }),
    spend: async (partner: { id: string }, args: { year: number }, ctx: FinanceContext) => {
      ctx.access.aggregates(`the spend of ${partner.id}`, partner.id);
      return spendLine(await ctx.ledger.spendByYear.load(String(args.year)), 'byPartner', partner.id);
    },
  },
  CountryOfOrigin: {
    __resolveReference: (ref: { code: string }) => ({ code: String(ref.code) }),
    spend: async (country: { code: string }, args: { year: number }, ctx: FinanceContext) => {
      ctx.access.aggregates('the spend per country');
      return spendLine(await ctx.ledger.spendByYear.load(String(args.year)), 'byCountry', country.code);
    },
  },
  Query: {
    financeSummary: (_: unknown, args: { year: number }, ctx: FinanceContext) => {
      ctx.access.aggregates('the programme finance summary');
      return financeSummary(ctx.models, args.year);
    },
    tariffs: async (_: unknown, args: { on?: string | null }, ctx: FinanceContext) => {
      const rows = await ctx.loaders.tariffs.load('all');
      const on = args.on;
      return on ? rows.filter((row) => row.validFrom <= on && (row.validTo === null || row.validTo >= on)) : rows;
    },
  },
  Case: {
    // No database read here: the entity is the representation plus computed fields.
    __resolveReference: (ref: CaseRepresentation) => ref,
    commitment: async (ref: CaseRepresentation, _: unknown, ctx: FinanceContext) => {
      const ledger = await ctx.access.caseLedger(ref.id);
      return ledger?.committedAt ? { amountCents: ledger.committedCents, committedAt: ledger.committedAt } : null;
    },
    disbursements: async (ref: CaseRepresentation, _: unknown, ctx: FinanceContext) => {
      await ctx.access.caseLedger(ref.id);
      return ctx.ledger.disbursementsByCase.load(ref.id);
    },
    disbursedCents: async (ref: CaseRepresentation, _: unknown, ctx: FinanceContext) => (await ctx.access.caseLedger(ref.id))?.disbursedCents ?? 0,
    entitlement: async (ref: CaseRepresentation, _: unknown, ctx: FinanceContext): Promise<Entitlement | null> => {
      // Computed from the representation alone (no stored data); still not for those who read no cases.
      ctx.access.readsCases();
      if (!ref.packages || !ref.returnType || ref.familySize == null) return null;
      const rows: TariffRow[] = await ctx.loaders.tariffs.load('all');
      try {
        return computeEntitlement(
          {
            packages: ref.packages,
            returnType: ref.returnType,
            familySize: ref.familySize,
            referenceDate: ref.departureDate ?? ctx.today(),
          },
          rows,
        );
      } catch (error) {
        if (error instanceof TariffNotFoundError) {
          throw tariffNotFound(error.message, error.pkg, error.date);
        }
        throw error;
      }
    },
  },
  Disbursement: {},
  Entitlement: {
    totalEur: (entitlement: Entitlement) => entitlement.totalCents / 100,
  },
};
