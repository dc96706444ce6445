import type { Principal } from '../../shared/auth.js';
import { GraphQLError } from 'graphql';
import type { Package, ReturnType } from '../../shared/domain.js';
import { DateScalar } from '../../shared/scalars.js';
import type { GraphQLResolverMap } from '../../shared/subgraph.js';
import type { FinanceLoaders } from './loaders.js';
import type { FinanceModels } from './models.js';
import { computeEntitlement, TariffNotFoundError, type Entitlement, type TariffRow } from './rules.js';

export interface FinanceContext {
  principal: Principal | null;
  models: FinanceModels;
  loaders: FinanceLoaders;
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
    entitlement: async (ref: CaseRepresentation, _: unknown, ctx: FinanceContext): Promise<Entitlement | null> => {
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
          throw new GraphQLError(error.message, { extensions: { code: 'TARIFF_NOT_FOUND', package: error.pkg, date: error.date } });
        }
        throw error;
      }
    },
  },
  Entitlement: {
    totalEur: (entitlement: Entitlement) => entitlement.totalCents / 100,
  },
};
