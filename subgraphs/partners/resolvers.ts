import type { Principal } from '../../shared/auth.js';
import type { GraphQLResolverMap } from '../../shared/subgraph.js';
import type { PartnersLoaders } from './loaders.js';
import type { PartnerDoc, PartnersModels } from './models.js';

export interface PartnersContext {
  principal: Principal | null;
  models: PartnersModels;
  loaders: PartnersLoaders;
}

export const partnersResolvers: GraphQLResolverMap<PartnersContext> = {
  Query: {
    partners: (_: unknown, __: unknown, ctx: PartnersContext) =>
      ctx.models.Partner.find().sort({ name: 1 }).lean<PartnerDoc[]>().exec(),
    partner: (_: unknown, args: { id: string }, ctx: PartnersContext) => ctx.loaders.partnerById.load(String(args.id)),
  },
  Partner: {
    __resolveReference: (ref: { id: string }, ctx: PartnersContext) => ctx.loaders.partnerById.load(String(ref.id)),
    id: (doc: PartnerDoc) => doc._id,
  },
};
