import type { Package, ReturnType } from '../../../shared/domain.js';
import { mayChangeReferenceData } from '../../../shared/access.js';
import {
  badUserInput,
  conflict,
  forbidden,
  principalRequired,
  serviceUnavailable,
  tariffNotFound,
} from '../../../shared/errors.js';
import type { TariffChangeDoc } from './models.js';
import { planTariffVersion, type TariffVersionInput } from './versions.js';
import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import type { FinanceContext } from '../context.js';
import { computeEntitlement, TariffNotFoundError, type Entitlement, type TariffRow } from './rules.js';
import { noEntitlementReason, type NoEntitlementReason } from '../ledger/rules.js';

/** The fields the gateway sends for `@requires`. */
export interface CaseRepresentation {
  id: string;
  packages?: Package[];
  returnType?: ReturnType;
  familySize?: number;
  departureDate?: string | null;
}

/** The tariffs and what a case is entitled to under them. */
export const tariffResolvers: GraphQLResolverMap<FinanceContext> = {
  Mutation: {
    addTariffVersion: async (_: unknown, args: { input: TariffVersionInput }, ctx: FinanceContext) => {
      if (!ctx.principal) throw principalRequired('addTariffVersion');
      if (!mayChangeReferenceData(ctx.principal))
        throw forbidden('Only the support desk or an administrator adds tariff versions');
      const input = args.input;
      const rows = await ctx.models.Tariff.find({ package: input.package, component: input.component }, { _id: 0 })
        .lean<TariffRow[]>()
        .exec();
      const plan = planTariffVersion(rows, input, ctx.today());
      if (!plan.ok) {
        if (plan.kind === 'CONFLICT') throw conflict(plan.message, { field: `input.${plan.field}` });
        throw badUserInput(plan.message, `input.${plan.field}`);
      }
      const version = { ...plan.insert };
      if (!plan.existing) {
        // The new version first, then the old one closed: in between, the latest start wins (tariffOn).
        await ctx.models.Tariff.create(version);
        const before = plan.close ? rows.find((r) => r.validFrom === plan.close!.validFrom)! : null;
        if (plan.close)
          await ctx.models.Tariff.updateOne(
            { package: input.package, component: input.component, validFrom: plan.close.validFrom },
            { $set: { validTo: plan.close.validTo } },
          ).exec();
        const audit: TariffChangeDoc = {
          at: new Date(),
          actor: { role: ctx.principal.role, subject: ctx.principal.subject },
          package: input.package,
          component: input.component,
          before: before ? { ...before, validTo: plan.close!.validTo } : null,
          after: version,
        };
        await ctx.models.TariffChange.create(audit);
      }
      // Published on every call, a retry included: the cases subgraph's copy applies it once.
      try {
        await ctx.publishReference({
          kind: 'TARIFF',
          package: version.package,
          component: version.component,
          amountCents: version.amountCents,
          validFrom: version.validFrom,
        });
      } catch (error) {
        throw serviceUnavailable(
          `The tariff version is stored but not yet published to the cases subgraph (${(error as Error).message}); ` +
            'send the same request again',
        );
      }
      return version;
    },
  },
  Query: {
    tariffChanges: async (_: unknown, args: { first?: number | null }, ctx: FinanceContext) => {
      if (!ctx.principal) throw principalRequired('tariffChanges');
      if (!mayChangeReferenceData(ctx.principal))
        throw forbidden('Only the support desk or an administrator reads the tariff audit');
      const first = args.first ?? 50;
      if (!Number.isInteger(first) || first < 1 || first > 200) throw badUserInput('first must be 1-200', 'first');
      return ctx.models.TariffChange.find().sort({ at: -1 }).limit(first).lean<TariffChangeDoc[]>().exec();
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
    entitlement: async (
      ref: CaseRepresentation,
      _: unknown,
      ctx: FinanceContext,
    ): Promise<(Entitlement & { noEntitlementReason?: NoEntitlementReason }) | null> => {
      // Computed from the representation alone (no stored data); still not for those who read no cases.
      ctx.access.readsCases();
      if (!ref.packages || !ref.returnType || ref.familySize == null) return null;
      // An ineligible or withdrawn case has none to pay (finance's ledger knows from the case events).
      const ledger = ref.id ? await ctx.ledger.caseById.load(String(ref.id)) : null;
      const none = ledger
        ? noEntitlementReason({ status: ledger.status ?? '', eligibilityOutcome: ledger.eligibilityOutcome })
        : null;
      if (none) {
        const referenceDate = ref.departureDate ?? ctx.today();
        return { currency: 'EUR', totalCents: 0, lines: [], referenceDate, noEntitlementReason: none };
      }
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
  TariffChange: {
    actor: (doc: TariffChangeDoc) => doc.actor.subject,
    actorRole: (doc: TariffChangeDoc) => doc.actor.role,
  },
  Entitlement: {
    totalEur: (entitlement: Entitlement) => entitlement.totalCents / 100,
  },
};
