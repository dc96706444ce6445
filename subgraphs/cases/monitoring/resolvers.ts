import { Types } from 'mongoose';
import type { Principal } from '../../../shared/auth.js';
import { caseNotFound, forbidden, principalRequired } from '../../../shared/errors.js';
import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import { owned } from '../case/access.js';
import type { CaseDoc } from '../case/models.js';
import type { CasesContext } from '../context.js';
import { DIMENSIONS } from './instrument.js';
import type { AssessmentDoc, ComplaintDoc, FeedbackDoc } from './models.js';
import {
  complaintNotFound,
  fileComplaint,
  findComplaint,
  moveComplaint,
  recordAssessment,
  recordFeedback,
  type AssessmentInput,
  type FeedbackInput,
} from './records.js';
import { mayRecordFeedback } from './rules.js';
import { completeAction, readVisits, recordVisit, visitCursor, visitView, type VisitInput } from './visits.js';

/** Records below a case carry it (`owned`), so `@personal` on their fields guards and records them. */
function assessmentView(a: AssessmentDoc, doc: CaseDoc) {
  const path = 'sustainabilityAssessments.';
  return owned(
    {
      id: a._id.toHexString(),
      followUpMonths: a.followUpMonths,
      assessedOn: a.assessedOn,
      instrumentVersion: a.instrumentVersion,
      recordedAt: a.recordedAt,
      answeredItems: a.answeredItems,
      answers: a.answers?.map((answer) => owned({ ...answer }, doc, `${path}answers.`)) ?? null,
      scores: owned({ ...a.scores }, doc, `${path}scores.`),
    },
    doc,
    path,
  );
}

function feedbackView(f: FeedbackDoc, doc: CaseDoc) {
  return owned(
    {
      id: f._id.toHexString(),
      givenOn: f.givenOn,
      recordedByRole: f.recordedBy.role,
      recordedAt: f.recordedAt,
      satisfaction: Object.entries(f.satisfaction).map(([service, score]) =>
        owned({ service, score }, doc, 'returneeFeedback.satisfaction.'),
      ),
      comment: f.comment,
    },
    doc,
    'returneeFeedback.',
  );
}

function complaintView(c: ComplaintDoc, doc: CaseDoc) {
  return owned(
    {
      id: c._id.toHexString(),
      caseId: c.caseId,
      category: c.category,
      status: c.status,
      filedByRole: c.filedBy.role,
      filedAt: c.filedAt,
      updatedAt: c.updatedAt,
      description: c.description,
      resolution: c.resolution,
    },
    doc,
    'complaints.',
  );
}

/**
 * The case a monitoring record is about, as the caller may act on it. The role is checked
 * first, then the case is read through the access rules: a case out of scope answers exactly
 * as a missing one.
 */
async function monitoredCase(
  ctx: CasesContext,
  caseId: string,
  action: string,
  mayAct: (principal: Principal) => boolean,
  refusal: string,
): Promise<{ doc: CaseDoc; principal: Principal }> {
  const principal = ctx.principal;
  if (!principal) throw principalRequired(action, true);
  if (!mayAct(principal)) throw forbidden(refusal);
  const doc = await ctx.loaders.caseById.load(caseId);
  if (!doc) throw caseNotFound(caseId);
  // A partner acts on the cases assigned to it only: visible means assigned (shared/access.ts).
  if (principal.role === 'PARTNER' && (await ctx.access.personal(doc)) !== 'FULL') throw caseNotFound(caseId);
  return { doc, principal };
}

const erasedSince = (ctx: CasesContext, doc: CaseDoc) => async () =>
  (await ctx.models.Case.countDocuments({ _id: doc._id, erasure: { $exists: true, $ne: null } }).exec()) > 0;

const isPartner = (p: Principal) => p.role === 'PARTNER';

export const monitoringResolvers: GraphQLResolverMap<CasesContext> = {
  Case: {
    sustainabilityAssessments: async (doc: CaseDoc, _: unknown, ctx: CasesContext) => {
      if (!ctx.access.visible(doc)) return [];
      const found = await ctx.monitoring.models.Assessment.find({ caseId: doc._id.toHexString() })
        .sort({ followUpMonths: 1 })
        .limit(10)
        .lean<AssessmentDoc[]>()
        .exec();
      return found.map((a) => assessmentView(a, doc));
    },
    returneeFeedback: async (doc: CaseDoc, _: unknown, ctx: CasesContext) => {
      if (!ctx.access.visible(doc)) return [];
      const found = await ctx.monitoring.models.Feedback.find({ caseId: doc._id.toHexString() })
        .sort({ _id: -1 })
        .limit(100)
        .lean<FeedbackDoc[]>()
        .exec();
      return found.map((f) => feedbackView(f, doc));
    },
    complaints: async (doc: CaseDoc, _: unknown, ctx: CasesContext) => {
      if (!ctx.access.visible(doc)) return [];
      const found = await ctx.monitoring.models.Complaint.find({ caseId: doc._id.toHexString() })
        .sort({ _id: -1 })
        .limit(100)
        .lean<ComplaintDoc[]>()
        .exec();
      return found.map((c) => complaintView(c, doc));
    },
  },
  Query: {
    sustainabilityInstrument: (_: unknown, __: unknown, ctx: CasesContext) => {
      if (!ctx.principal) throw principalRequired('sustainabilityInstrument', true);
      const i = ctx.monitoring.instrument;
      return {
        id: i.id,
        version: i.version,
        title: i.title,
        basis: i.basis,
        minAnsweredShare: i.minAnsweredShare,
        dimensions: DIMENSIONS.map((d) => ({ dimension: d.toUpperCase(), weight: i.dimensionWeights[d] })),
        items: i.items.map((item) => ({ ...item, dimension: item.dimension.toUpperCase() })),
      };
    },
    monitoringVisits: async (
      _: unknown,
      args: { partnerId?: string | null; overdueOnly?: boolean | null; first?: number | null; after?: string | null },
      ctx: CasesContext,
    ) => {
      const today = ctx.worklist.today();
      const page = await readVisits(ctx.monitoring.models, ctx.principal, args, today);
      const edges = page.visits.map((v) => ({ cursor: visitCursor(v), node: visitView(v, today) }));
      return {
        edges,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: page.totalCount,
      };
    },
  },
  Mutation: {
    recordSustainabilityAssessment: async (
      _: unknown,
      args: { caseId: string; input: AssessmentInput },
      ctx: CasesContext,
    ) => {
      const { doc, principal } = await monitoredCase(
        ctx,
        args.caseId,
        'recordSustainabilityAssessment',
        isPartner,
        'The partner assigned to the case records its sustainability assessments',
      );
      const assessment = await recordAssessment(
        ctx.monitoring.models,
        ctx.publish,
        ctx.monitoring.instrument,
        doc,
        principal,
        args.input,
        ctx.worklist.today(),
        erasedSince(ctx, doc),
      );
      return assessmentView(assessment, doc);
    },
    recordReturneeFeedback: async (_: unknown, args: { caseId: string; input: FeedbackInput }, ctx: CasesContext) => {
      const { doc, principal } = await monitoredCase(
        ctx,
        args.caseId,
        'recordReturneeFeedback',
        mayRecordFeedback,
        'The partner assigned to the case or the support desk records returnee feedback',
      );
      const feedback = await recordFeedback(
        ctx.monitoring.models,
        ctx.publish,
        doc,
        principal,
        args.input,
        ctx.worklist.today(),
        erasedSince(ctx, doc),
      );
      return feedbackView(feedback, doc);
    },
    fileComplaint: async (
      _: unknown,
      args: { caseId: string; input: { category: unknown; description: unknown } },
      ctx: CasesContext,
    ) => {
      const { doc, principal } = await monitoredCase(
        ctx,
        args.caseId,
        'fileComplaint',
        mayRecordFeedback,
        'The partner assigned to the case or the support desk files complaints',
      );
      const complaint = await fileComplaint(
        ctx.monitoring.models,
        ctx.publish,
        doc,
        principal,
        args.input,
        erasedSince(ctx, doc),
      );
      return complaintView(complaint, doc);
    },
    updateComplaint: async (
      _: unknown,
      args: { id: string; input: { status: unknown; resolution?: unknown } },
      ctx: CasesContext,
    ) => {
      const principal = ctx.principal;
      if (!principal) throw principalRequired('updateComplaint', true);
      if (!mayRecordFeedback(principal))
        throw forbidden('The partner assigned to the case or the support desk updates complaints');
      const complaint = await findComplaint(ctx.monitoring.models, args.id);
      // A complaint on a case the caller may not see answers exactly as a missing one.
      const doc =
        complaint && Types.ObjectId.isValid(complaint.caseId)
          ? await ctx.loaders.caseById.load(complaint.caseId)
          : null;
      if (!complaint || !doc) throw complaintNotFound(args.id);
      if (principal.role === 'PARTNER' && (await ctx.access.personal(doc)) !== 'FULL') throw complaintNotFound(args.id);
      const updated = await moveComplaint(ctx.monitoring.models, ctx.publish, doc, complaint, principal, args.input);
      return complaintView(updated, doc);
    },
    recordMonitoringVisit: async (_: unknown, args: { input: VisitInput }, ctx: CasesContext) => {
      const today = ctx.worklist.today();
      return visitView(await recordVisit(ctx.monitoring.models, ctx.principal, args.input, today), today);
    },
    completeFollowUpAction: async (
      _: unknown,
      args: { visitId: string; actionId: string; completedOn?: string | null },
      ctx: CasesContext,
    ) => {
      const today = ctx.worklist.today();
      const visit = await completeAction(
        ctx.monitoring.models,
        ctx.principal,
        args.visitId,
        args.actionId,
        args.completedOn,
        today,
      );
      return visitView(visit, today);
    },
  },
};
