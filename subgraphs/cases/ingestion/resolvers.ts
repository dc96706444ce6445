import { feedScope, mayReadFeed, mayReplayIngestion } from '../../../shared/access.js';
import { badUserInput, forbidden, principalRequired } from '../../../shared/errors.js';
import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import { checkMemberState } from '../case/arguments.js';
import type { CasesContext } from '../context.js';
import { loadFeedReports, type FeedDoc } from './feeds.js';
import { referenceLists } from '../reference/index.js';

/** The feeds' reports and the replay of failed chunks (the push API itself is the gateway's, gateway/ingest.ts). */
export const ingestionResolvers: GraphQLResolverMap<CasesContext> = {
  Query: {
    ingestionFeed: async (_: unknown, args: { id: string }, ctx: CasesContext) => {
      const feed = await ctx.feeds.Feed.findOne({ _id: String(args.id) })
        .lean<FeedDoc>()
        .exec();
      if (!feed || !mayReadFeed(ctx.principal, feed.memberState)) return null;
      return (await loadFeedReports(ctx.feeds, [feed], ctx.problemsPerReport))[0];
    },
    ingestionFeeds: async (
      _: unknown,
      args: { memberState?: string | null; first?: number | null },
      ctx: CasesContext,
    ) => {
      const scope = feedScope(ctx.principal);
      if (scope.kind === 'none') return [];
      // A Member State authority lists its own feeds, whatever it asks; the others name one or none.
      const named = async () =>
        args.memberState
          ? checkMemberState(args.memberState, (await referenceLists(ctx.models.Case.db)).memberStates)
          : undefined;
      const memberState = scope.kind === 'memberState' ? scope.memberState : await named();
      const first = Math.min(Math.max(args.first ?? 20, 1), 100);
      const feeds = await ctx.feeds.Feed.find(memberState ? { memberState } : {})
        .sort({ createdAt: -1 })
        .limit(first)
        .lean<FeedDoc[]>()
        .exec();
      return loadFeedReports(ctx.feeds, feeds, ctx.problemsPerReport);
    },
    // Managed profiles (profile-store.ts): who reads what is the store's rule.
    feedProfiles: (_: unknown, args: { includeRetired?: boolean | null }, ctx: CasesContext) =>
      ctx.profiles.list(ctx.principal, args.includeRetired ?? false),
    feedProfile: (_: unknown, args: { name: string; version?: number | null }, ctx: CasesContext) =>
      ctx.profiles.get(ctx.principal, args.name, args.version),
    feedProfileChanges: (_: unknown, args: { name?: string | null; first?: number | null }, ctx: CasesContext) =>
      ctx.profiles.changes(ctx.principal, args.name, args.first ?? 50),
  },
  Mutation: {
    replayFailedIngestion: async (_: unknown, args: { feedId?: string | null }, ctx: CasesContext) => {
      if (!ctx.principal) throw principalRequired('replayFailedIngestion');
      if (!mayReplayIngestion(ctx.principal)) {
        throw forbidden('Only administrators and the support desk replay ingestion');
      }
      if (args.feedId != null && !/^feed_[0-9a-f-]{36}$/.test(args.feedId)) {
        throw badUserInput('feedId is not a feed id (feed_<uuid>)', 'feedId');
      }
      return ctx.replayFailed(args.feedId ?? undefined);
    },
    createFeedProfile: (_: unknown, args: { profile: string; note?: string | null }, ctx: CasesContext) =>
      ctx.profiles.create(ctx.principal, args.profile, args.note ?? null, ctx.requestId),
    newFeedProfileVersion: (
      _: unknown,
      args: { name: string; profile: string; note?: string | null },
      ctx: CasesContext,
    ) => ctx.profiles.newVersion(ctx.principal, args.name, args.profile, args.note ?? null, ctx.requestId),
    retireFeedProfile: (_: unknown, args: { name: string; note?: string | null }, ctx: CasesContext) =>
      ctx.profiles.retire(ctx.principal, args.name, args.note ?? null, ctx.requestId),
  },
};
