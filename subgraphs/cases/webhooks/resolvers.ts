import { signingSecretOf } from '../../../packages/client/src/webhooks.js';
import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import type { CasesContext } from '../context.js';
import type { WebhookDeliveryDoc, WebhookDoc } from './models.js';

/** A partner's webhooks and their deliveries (webhooks/api.ts does the work). */
export const webhookResolvers: GraphQLResolverMap<CasesContext> = {
  Webhook: {
    id: (doc: WebhookDoc & { revealSecret?: boolean }) => doc._id.toHexString(),
    secret: (doc: WebhookDoc & { revealSecret?: boolean }) => (doc.revealSecret ? doc.secret : null),
    signingSecret: (doc: WebhookDoc & { revealSecret?: boolean }) =>
      doc.revealSecret ? signingSecretOf(doc.secret) : null,
  },
  WebhookDelivery: {
    id: (doc: WebhookDeliveryDoc) => doc._id,
    payload: (doc: WebhookDeliveryDoc) => JSON.stringify(doc.payload),
  },
  Query: {
    webhooks: (_: unknown, __: unknown, ctx: CasesContext) => ctx.webhooks.list(ctx.principal),
    webhookDeliveries: (_: unknown, args: { status?: string | null; first?: number | null }, ctx: CasesContext) =>
      ctx.webhooks.deliveries(ctx.principal, args),
  },
  Mutation: {
    registerWebhook: async (_: unknown, args: { url: string; eventTypes: string[] }, ctx: CasesContext) => ({
      ...(await ctx.webhooks.register(ctx.principal, args)),
      revealSecret: true,
    }),
    deleteWebhook: (_: unknown, args: { id: string }, ctx: CasesContext) =>
      ctx.webhooks.delete(ctx.principal, String(args.id)),
    redeliverWebhook: (_: unknown, args: { deliveryId: string }, ctx: CasesContext) =>
      ctx.webhooks.redeliver(ctx.principal, String(args.deliveryId)),
  },
};
