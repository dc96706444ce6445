import type { Package, ReturnType } from '../../../shared/domain.js';
import { tariffNotFound } from '../../../shared/errors.js';
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
  Query: {
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
  Entitlement: {
    totalEur: (entitlement: Entitlement) => entitlement.totalCents / 100,
  },
};
