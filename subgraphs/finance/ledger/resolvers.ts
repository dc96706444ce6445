import { maySetBudgets } from '../../../shared/access.js';
import { badUserInput, forbidden, principalRequired } from '../../../shared/errors.js';
import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import type { FinanceContext } from '../context.js';
import type { CaseRepresentation } from '../tariffs/resolvers.js';
import { paidByLine } from './rules.js';
import {
  CentsScalar,
  DEFAULT_OBJECTIVE_PEOPLE,
  financeSummary,
  financeYears,
  recordDisbursement,
  spendLine,
  type DisbursementInput,
} from './summary.js';

/** The ledger: a case's commitment and disbursements, the spend per dimension, the yearly summary and budget. */
export const ledgerResolvers: GraphQLResolverMap<FinanceContext> = {
  Cents: CentsScalar,
  Mutation: {
    recordDisbursement: (_: unknown, args: DisbursementInput, ctx: FinanceContext) =>
      recordDisbursement(ctx.models, ctx.principal, { ...args, caseId: String(args.caseId) }, ctx.publish),
    setAnnualBudget: async (
      _: unknown,
      args: { year: number; amountCents: number; objectivePeople?: number | null },
      ctx: FinanceContext,
    ) => {
      if (!ctx.principal) throw principalRequired('setAnnualBudget');
      if (!maySetBudgets(ctx.principal)) throw forbidden('Only the support desk or an administrator sets budgets');
      const objectivePeople = args.objectivePeople ?? DEFAULT_OBJECTIVE_PEOPLE;
      if (args.amountCents < 0 || objectivePeople < 0) {
        throw badUserInput('amountCents and objectivePeople must not be negative');
      }
      await financeSummary(ctx.models, args.year); // validates the year
      await ctx.models.Budget.updateOne(
        { _id: String(args.year) },
        { $set: { amountCents: args.amountCents, objectivePeople } },
        { upsert: true },
      ).exec();
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
    financeYears: (_: unknown, _args: unknown, ctx: FinanceContext) => {
      ctx.access.aggregates('the years with financial data');
      return financeYears(ctx.models);
    },
  },
  Case: {
    commitment: async (ref: CaseRepresentation, _: unknown, ctx: FinanceContext) => {
      const ledger = await ctx.access.caseLedger(ref.id);
      return ledger?.committedAt ? { amountCents: ledger.committedCents, committedAt: ledger.committedAt } : null;
    },
    disbursements: async (ref: CaseRepresentation, _: unknown, ctx: FinanceContext) => {
      await ctx.access.caseLedger(ref.id);
      return ctx.ledger.disbursementsByCase.load(ref.id);
    },
    disbursedCents: async (ref: CaseRepresentation, _: unknown, ctx: FinanceContext) =>
      (await ctx.access.caseLedger(ref.id))?.disbursedCents ?? 0,
    paidByPlanLine: async (ref: CaseRepresentation, _: unknown, ctx: FinanceContext) => {
      await ctx.access.caseLedger(ref.id);
      return paidByLine(await ctx.ledger.disbursementsByCase.load(ref.id));
    },
  },
  Disbursement: { planLineId: (d: { planLineId?: string | null }) => d.planLineId ?? null },
};
