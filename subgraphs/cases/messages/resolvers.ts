import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import type { CasesContext } from '../context.js';
import { owned } from '../case/access.js';
import type { CaseDoc } from '../case/models.js';
import type { CaseMessageDoc } from './models.js';
import { mayCountCaseMessages, mayUseCaseThread, type MessageTopic } from './rules.js';
import {
  markRead,
  messageCursor,
  postMessage,
  readThread,
  threadCase,
  unreadCount,
  type MessageOrder,
} from './thread.js';

/** A message as the graph serves it: tagged with its case, so `@personal` on `body` guards and records it. */
function messageView(message: CaseMessageDoc, doc: CaseDoc) {
  return owned(
    {
      id: message._id.toHexString(),
      topic: message.topic,
      authorRole: message.author.role,
      authorSubject: message.author.subject,
      inReplyTo: message.inReplyTo?.toHexString() ?? null,
      postedAt: message.postedAt,
      body: message.body,
    },
    doc,
    'messages.',
  );
}

/** Whether this request reads the case's thread (FULL personal access in a role that takes part). */
async function readsThread(doc: CaseDoc, ctx: CasesContext): Promise<boolean> {
  return mayUseCaseThread(ctx.principal, await ctx.access.personal(doc));
}

export const messageResolvers: GraphQLResolverMap<CasesContext> = {
  Case: {
    messages: async (
      doc: CaseDoc,
      args: { first?: number | null; after?: string | null; order?: MessageOrder | null },
      ctx: CasesContext,
    ) => {
      if (!(await readsThread(doc, ctx))) return null;
      const page = await readThread(ctx.messages.models, doc._id.toHexString(), args);
      const edges = page.messages.map((m) => ({ cursor: messageCursor(m), node: messageView(m, doc) }));
      return {
        edges,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: page.totalCount,
      };
    },
    messageCount: async (doc: CaseDoc, _: unknown, ctx: CasesContext) =>
      mayCountCaseMessages(ctx.access.visible(doc)) ? ctx.messages.counts.load(doc._id.toHexString()) : 0,
    unreadMessageCount: async (doc: CaseDoc, _: unknown, ctx: CasesContext) => {
      if (!ctx.principal || !(await readsThread(doc, ctx))) return null;
      return unreadCount(ctx.messages.models, doc._id.toHexString(), ctx.principal.subject);
    },
  },
  Mutation: {
    postCaseMessage: async (
      _: unknown,
      args: { caseId: string; body: string; topic?: MessageTopic | null; inReplyTo?: string | null },
      ctx: CasesContext,
    ) => {
      const found = await ctx.loaders.caseById.load(args.caseId);
      const { doc, principal } = await threadCase(ctx.access, found, args.caseId, 'postCaseMessage');
      const erasedSince = async () =>
        (await ctx.models.Case.countDocuments({ _id: doc._id, erasure: { $exists: true, $ne: null } }).exec()) > 0;
      const message = await postMessage(ctx.messages.models, ctx.publish, doc, principal, args, erasedSince);
      return messageView(message, doc);
    },
    markCaseMessagesRead: async (_: unknown, args: { caseId: string; upTo?: string | null }, ctx: CasesContext) => {
      const found = await ctx.loaders.caseById.load(args.caseId);
      const { doc, principal } = await threadCase(ctx.access, found, args.caseId, 'markCaseMessagesRead');
      await markRead(ctx.messages.models, doc._id.toHexString(), principal, args.upTo);
      return doc;
    },
  },
};
