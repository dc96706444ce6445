import { requirePrincipal } from '../../../shared/access.js';
import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import type { CasesContext } from '../context.js';
import { checkKind, checkPageSize, cursorOf, presentItem, worklistQuery, worklistScope } from './read.js';
import type { WorklistItemDoc } from './store.js';
import { referenceLists } from '../reference/index.js';

interface WorklistArgs {
  kind: string;
  first?: number | null;
  after?: string | null;
  memberState?: string | null;
}

/** `myWorklist`: pages of the worklist read model (worklist/store.ts), each one index read. */
export const worklistResolvers: GraphQLResolverMap<CasesContext> = {
  Query: {
    myWorklist: async (_: unknown, args: WorklistArgs, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'myWorklist');
      const kind = checkKind(args.kind);
      const size = checkPageSize(args.first);
      const scope = worklistScope(principal, args.memberState, (await referenceLists(ctx.models.Case.db)).memberStates);
      const { today, thresholds, Worklist } = ctx.worklist;
      const day = today();
      const query = worklistQuery(scope, kind, day, thresholds.dueSoonDays, args.after);
      const [docs, totalCount] = await Promise.all([
        Worklist.find(query.page)
          .sort({ dueOn: 1, _id: 1 })
          .limit(size + 1)
          .lean<WorklistItemDoc[]>()
          .exec(),
        Worklist.countDocuments(query.count).exec(),
      ]);
      const page = docs.slice(0, size);
      return {
        edges: page.map((doc) => ({ cursor: cursorOf(doc), node: presentItem(doc, day, thresholds.dueSoonDays) })),
        pageInfo: { hasNextPage: docs.length > size, endCursor: page.length > 0 ? cursorOf(page.at(-1)!) : null },
        totalCount,
      };
    },
  },
  WorklistItem: {
    // Through the case access rules: a case the caller may not see (any more) is null.
    case: (item: { caseId: string }, _: unknown, ctx: CasesContext) => ctx.loaders.caseById.load(item.caseId),
  },
};
