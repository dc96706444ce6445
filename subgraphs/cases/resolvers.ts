import type { Principal } from '../../shared/auth.js';
import type { CaseEvent } from '../../shared/case-events/index.js';
import { medianFromHistogram, presentStatistics, scopeForFilter, type StatisticsFilter } from './statistics/read.js';
import type { StatisticsDoc } from './models.js';
import { loadFeedReports, type FeedDoc, type FeedModels } from './ingestion/feeds.js';
import { Types, type FilterQuery, type Model } from 'mongoose';
import { personalDataReads, type PersonalDataAudit, type PersonalDataReadDoc } from './audit.js';
import { MEMBER_STATE_CODES, type CaseStatus, type Package, type ReturnType } from '../../shared/domain.js';
import { DEFAULT_ELIGIBILITY_RULES } from './eligibility.js';
import { checkPageSize, decodeCursor, encodeCursor } from '../../shared/pagination.js';
import { DateScalar, DateTimeScalar } from '../../shared/scalars.js';
import type { GraphQLResolverMap } from '../../shared/subgraph.js';
import type { CasesLoaders } from './loaders.js';
import { allowedTransitions, TRANSITION_NAMES, TRANSITIONS } from './lifecycle.js';
import { packageSetsWithAny, type CaseDoc, type CasesModels, type PlannedService } from './models.js';
import { applyTransition } from './transitions.js';
import {
  defaultStatisticsScope,
  erasureRecordsScope,
  feedScope,
  mayEraseCase,
  mayLookUpByNationalReference,
  mayOpenPersonalDataAccess,
  mayReadDataProtectionRecords,
  mayReadFeed,
  mayReadStatistics,
  mayReplayIngestion,
  maySetEligibilityRules,
  requirePrincipal,
} from '../../shared/access.js';
import { badUserInput, caseNotFound, forbidden, principalRequired } from '../../shared/errors.js';
import { ageBandOf, CASE_OF, owned, type CaseAccess, type CaseOwned, type Pseudonymisers } from './access.js';
import { listErasures, type ErasureDoc } from './erasure.js';
import type { RetentionModels, RetentionRunDoc } from './retention.js';
import { listGrants, openGrant, type PersonalDataGrantDoc } from './support-access.js';
import type { PersonDoc } from './models.js';
import type { WebhookApi, WebhookDeliveryDoc, WebhookDoc } from './webhooks.js';

export interface CasesContext {
  principal: Principal | null;
  feeds: FeedModels;
  models: CasesModels;
  loaders: CasesLoaders;
  /** Retries exhausted ingestion chunk jobs (all, or one feed's); returns how many. */
  replayFailed: (feedId?: string) => Promise<number>;
  /** Appends case events to the stream (after the change is stored). */
  publish: (events: ReadonlyArray<CaseEvent>) => Promise<unknown>;
  /** Records the personal data this request serves (written when the response is ready). */
  audit: PersonalDataAudit;
  personalDataReadLog: Model<PersonalDataReadDoc>;
  webhooks: WebhookApi;
  /** This request's view of the cases: the one place the access rules are applied. */
  access: CaseAccess;
  requestId: string | null;
  /** Rejection entries an ingestion report lists (INGEST_MAX_PROBLEMS_PER_REPORT); the rest are counted. */
  problemsPerReport?: number;
  dataProtection: {
    grants: Model<PersonalDataGrantDoc>;
    erasures: Model<ErasureDoc>;
    retention: RetentionModels;
    supportAccessMinutes: number;
    /** Erases one case's personal data everywhere (erasure.ts), returning its record. */
    erase: (caseId: Types.ObjectId, who: { actor: { role: string; subject: string; memberState?: string }; requestReference: string; requestId: string | null }) => Promise<ErasureDoc>;
  };
}

export interface CaseFilterInput {
  memberStates?: string[] | null;
  countriesOfOrigin?: string[] | null;
  partners?: string[] | null;
  statuses?: CaseStatus[] | null;
  returnTypes?: ReturnType[] | null;
  packages?: Package[] | null;
  eligibilityOutcomes?: string[] | null;
  departureFrom?: string | null;
  departureTo?: string | null;
  createdFrom?: Date | null;
  createdTo?: Date | null;
}

/** Builds the Mongo filter from GraphQL input; values are typed scalars, never operators. */
export function caseFilterToQuery(filter: CaseFilterInput | null | undefined): FilterQuery<CaseDoc> {
  const query: FilterQuery<CaseDoc> = {};
  const inList = <T>(values: T[] | null | undefined) => (values && values.length > 0 ? { $in: values.map(String) } : undefined);
  const memberState = inList(filter?.memberStates);
  const country = inList(filter?.countriesOfOrigin);
  const partner = inList(filter?.partners);
  const status = inList(filter?.statuses);
  const returnType = inList(filter?.returnTypes);
  if (memberState) query.memberState = memberState;
  if (country) query.countryOfOrigin = country;
  if (partner) query.partnerId = partner;
  if (status) query.status = status;
  if (returnType) query.returnType = returnType;
  if (filter?.packages && filter.packages.length > 0) query.packageSet = { $in: packageSetsWithAny(filter.packages) };
  const outcomes = inList(filter?.eligibilityOutcomes);
  if (outcomes) query['eligibility.outcome'] = outcomes;
  const range = <T>(from: T | null | undefined, to: T | null | undefined, fromName: string, toName: string, upperOp: '$lte' | '$lt') => {
    if (from != null && to != null && from > to) {
      throw badUserInput(`filter.${fromName} is after filter.${toName}`, 'filter');
    }
    if (from == null && to == null) return undefined;
    return { ...(from != null ? { $gte: from } : {}), ...(to != null ? { [upperOp]: to } : {}) };
  };
  const departure = range(filter?.departureFrom, filter?.departureTo, 'departureFrom', 'departureTo', '$lte');
  if (departure) query.departureDate = departure;
  const created = range(filter?.createdFrom, filter?.createdTo, 'createdFrom', 'createdTo', '$lt');
  if (created) query.createdAt = created;
  return query;
}

/** A Relay page of cases in `_id` order, with the total counted only when asked for. */
async function listCases(ctx: CasesContext, filter: CaseFilterInput | null | undefined, firstArg: number | null | undefined, after: string | null | undefined) {
  const first = checkPageSize(firstArg);
  const afterId = parseAfter(after);
  // The principal's scope is part of the query: pages and totals only ever see visible cases.
  const base = ctx.access.restrict(caseFilterToQuery(filter));
  const pageQuery: FilterQuery<CaseDoc> = afterId ? { ...base, _id: { $gt: afterId } } : base;
  const docs = await ctx.models.Case.find(pageQuery).sort({ _id: 1 }).limit(first + 1).batchSize(first + 1).lean<CaseDoc[]>().exec();
  const page = docs.slice(0, first);
  for (const doc of page) ctx.loaders.caseById.prime(doc._id.toHexString(), doc);
  const edges = page.map((doc) => ({ cursor: encodeCursor(doc._id.toHexString()), node: doc }));
  return {
    edges,
    // Counted only when asked for: a count visits every matching document.
    totalCount: () => ctx.models.Case.countDocuments(base).exec(),
    pageInfo: { hasNextPage: docs.length > first, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

function parseAfter(after: string | null | undefined): Types.ObjectId | undefined {
  if (after == null) return undefined;
  const key = decodeCursor(after);
  if (!/^[0-9a-f]{24}$/.test(key)) {
    throw badUserInput('Argument "after" is not a cursor returned by this API', 'after');
  }
  return new Types.ObjectId(key);
}

/** A partner's quality indicators from its statistics document (DOMAIN.md: quality monitoring). */
export function qualityIndicators(doc: StatisticsDoc | null) {
  const d = (doc ?? {}) as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  const status = (d.byStatus ?? {}) as Record<string, number>;
  const ended = n(status.COMPLETED) + n(status.WITHDRAWN) + n(status.CLOSED);
  const decisions = n(d.planRejections) + n(d.planApprovals);
  const km2 = ((d.durations ?? {}) as Record<string, { days?: Record<string, number> }>).km1ToKm2;
  return {
    casesAssigned: n(d.cases),
    casesAccepted: n(d.accepted),
    medianDaysArrivalToApprovedPlan: medianFromHistogram(km2?.days ?? {}),
    completionRate: ended > 0 ? n(status.COMPLETED) / ended : null,
    planRejectionShare: decisions > 0 ? n(d.planRejections) / decisions : null,
  };
}

function checkMemberState(code: string): string {
  if (!MEMBER_STATE_CODES.has(code)) {
    throw badUserInput(
      `${JSON.stringify(code).slice(0, 20)} is not a participating Member State (ISO 3166-1 alpha-2, capitals)`,
      'memberState',
    );
  }
  return code;
}

interface MutationArgs {
  caseId: string;
  expectedVersion?: number | null;
  reason?: string | null;
  summary?: string | null;
  report?: { arrivalDate: string; postArrivalServices: string[] };
  plan?: { services: PlannedService[] };
}

/** How EU analysts read `@pseudonymised` fields. */
export const casesPseudonymisers: Pseudonymisers = {
  'Case.caseReference': (value, doc, access) => access.pseudonym('CR', doc.memberState, String(value)),
};

const REQUEST_REFERENCE = /^[\p{L}\p{N} ._:/#()-]{1,100}$/u;

export const casesResolvers: GraphQLResolverMap<CasesContext> = {
  PersonalDataErasure: {
    id: (doc: ErasureDoc) => doc._id.toHexString(),
    actorRole: (doc: ErasureDoc) => doc.actor.role,
    actorSubject: (doc: ErasureDoc) => doc.actor.subject,
    caseFields: (doc: ErasureDoc) => doc.erased.caseFields,
    transitionLogEntries: (doc: ErasureDoc) => doc.erased.transitionLog,
    feedReportEntries: (doc: ErasureDoc) => doc.erased.feedReports,
    stagedRecords: (doc: ErasureDoc) => doc.erased.stagedRecords,
  },
  PersonalDataAccessGrant: {
    id: (doc: PersonalDataGrantDoc) => doc._id.toHexString(),
  },
  Webhook: {
    id: (doc: WebhookDoc & { revealSecret?: boolean }) => doc._id.toHexString(),
    secret: (doc: WebhookDoc & { revealSecret?: boolean }) => (doc.revealSecret ? doc.secret : null),
  },
  WebhookDelivery: {
    id: (doc: WebhookDeliveryDoc) => doc._id,
    payload: (doc: WebhookDeliveryDoc) => JSON.stringify(doc.payload),
  },
  RetentionRun: {
    id: (doc: RetentionRunDoc) => doc._id.toHexString(),
  },
  Person: {
    pseudonym: (person: PersonDoc & CaseOwned, _: unknown, ctx: CasesContext) => ctx.access.personPseudonym(person[CASE_OF].doc.memberState, person),
    ageBand: (person: PersonDoc & CaseOwned) => ageBandOf(person.dateOfBirth, person[CASE_OF].doc),
  },
  PersonalDataRead: {
    id: (doc: PersonalDataReadDoc) => doc._id.toHexString(),
    actorRole: (doc: PersonalDataReadDoc) => doc.actor.role,
    actorSubject: (doc: PersonalDataReadDoc) => doc.actor.subject,
    actorMemberState: (doc: PersonalDataReadDoc) => doc.actor.memberState ?? null,
    actorPartnerId: (doc: PersonalDataReadDoc) => doc.actor.partnerId ?? null,
  },
  Date: DateScalar,
  DateTime: DateTimeScalar,
  Query: {
    personalDataReads: (_: unknown, args: { caseId?: string | null; actorSubject?: string | null; first?: number | null }, ctx: CasesContext) =>
      personalDataReads(ctx.personalDataReadLog, ctx.principal, args),
    personalDataAccessGrants: (_: unknown, args: { caseId?: string | null; first?: number | null }, ctx: CasesContext) => listGrants(ctx.dataProtection.grants, ctx.principal, args),
    personalDataErasures: (_: unknown, args: { caseId?: string | null; first?: number | null }, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'personalDataErasures');
      const filter: { caseId?: string; caseMemberState?: string } = args.caseId ? { caseId: String(args.caseId) } : {};
      const scope = erasureRecordsScope(principal);
      if (scope.kind === 'memberState') filter.caseMemberState = scope.memberState;
      else if (scope.kind === 'none') {
        throw forbidden(
          'Only administrators, the data protection officer and the owning Member State read erasure records',
        );
      }
      return listErasures(ctx.dataProtection.erasures, filter, checkPageSize(args.first));
    },
    webhooks: (_: unknown, __: unknown, ctx: CasesContext) => ctx.webhooks.list(ctx.principal),
    webhookDeliveries: (_: unknown, args: { status?: string | null; first?: number | null }, ctx: CasesContext) => ctx.webhooks.deliveries(ctx.principal, args),
    retentionRuns: (_: unknown, args: { first?: number | null }, ctx: CasesContext) => {
      requirePrincipal(ctx.principal, 'retentionRuns');
      if (!mayReadDataProtectionRecords(ctx.principal)) throw forbidden('Only administrators and the data protection officer read retention reports');
      return ctx.dataProtection.retention.Run.find({}).sort({ _id: -1 }).limit(checkPageSize(args.first)).lean<RetentionRunDoc[]>().exec();
    },
    cases: (_: unknown, args: { filter?: CaseFilterInput; first?: number; after?: string }, ctx: CasesContext) => listCases(ctx, args.filter, args.first, args.after),
    case: (_: unknown, args: { id: string }, ctx: CasesContext) => ctx.loaders.caseById.load(args.id),
    // One read-model document by _id: constant time whatever the number of cases.
    statistics: async (_: unknown, args: { filter?: StatisticsFilter | null }, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'statistics');
      const named = Object.values(args.filter ?? {}).some((v) => v != null && v !== '');
      const scope = named ? scopeForFilter(args.filter) : defaultStatisticsScope(principal);
      if (!mayReadStatistics(principal, scope)) throw forbidden(`${principal.role} reads the statistics of its own cases only (scope ${defaultStatisticsScope(principal)}), not ${scope}`);
      const doc = await ctx.models.Statistics.findOne({ _id: scope }).lean<StatisticsDoc>().exec();
      return presentStatistics(scope, doc);
    },
    ingestionFeed: async (_: unknown, args: { id: string }, ctx: CasesContext) => {
      const feed = await ctx.feeds.Feed.findOne({ _id: String(args.id) }).lean<FeedDoc>().exec();
      if (!feed || !mayReadFeed(ctx.principal, feed.memberState)) return null;
      return (await loadFeedReports(ctx.feeds, [feed], ctx.problemsPerReport))[0];
    },
    ingestionFeeds: async (_: unknown, args: { memberState?: string | null; first?: number | null }, ctx: CasesContext) => {
      const scope = feedScope(ctx.principal);
      if (scope.kind === 'none') return [];
      // A Member State authority lists its own feeds, whatever it asks; the others name one or none.
      const named = () => (args.memberState ? checkMemberState(args.memberState) : undefined);
      const memberState = scope.kind === 'memberState' ? scope.memberState : named();
      const first = Math.min(Math.max(args.first ?? 20, 1), 100);
      const feeds = await ctx.feeds.Feed.find(memberState ? { memberState } : {}).sort({ createdAt: -1 }).limit(first).lean<FeedDoc[]>().exec();
      return loadFeedReports(ctx.feeds, feeds, ctx.problemsPerReport);
    },
    eligibilityRules: async (_: unknown, args: { memberState: string }, ctx: CasesContext) => {
      const memberState = checkMemberState(args.memberState);
      const doc = await ctx.models.MemberStateRules.findOne({ _id: memberState }).lean().exec();
      return { memberState, requestWindowMonths: doc?.requestWindowMonths ?? DEFAULT_ELIGIBILITY_RULES.requestWindowMonths };
    },
    caseByReference: (_: unknown, args: { memberState: string; caseReference: string }, ctx: CasesContext) => {
      // Analysts see pseudonymised references: looking a case up by its real one would undo that.
      if (!mayLookUpByNationalReference(ctx.principal)) {
        throw forbidden('EU analysts do not look cases up by national reference');
      }
      return ctx.models.Case.findOne(ctx.access.restrict({ memberState: String(args.memberState), caseReference: String(args.caseReference) })).lean<CaseDoc>().exec();
    },
  },
  Mutation: {
    erasePersonalData: async (_: unknown, args: { caseId: string; requestReference: string }, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'erasePersonalData');
      const caseId = String(args.caseId);
      const doc = await ctx.loaders.caseById.load(caseId);
      if (!doc) throw caseNotFound(caseId);
      if (!mayEraseCase(principal, doc)) throw forbidden('Only the Member State that owns the case erases its personal data');
      if (!REQUEST_REFERENCE.test(args.requestReference)) {
        throw badUserInput(
          'requestReference must be 1 to 100 letters, digits, spaces or . _ : / # ( ) - ' +
            '(your reference of the request, no personal data)',
          'requestReference',
        );
      }
      const actor = { role: principal.role, subject: principal.subject, memberState: principal.memberState! };
      return ctx.dataProtection.erase(doc._id, { actor, requestReference: args.requestReference, requestId: ctx.requestId });
    },
    registerWebhook: async (_: unknown, args: { url: string; eventTypes: string[] }, ctx: CasesContext) => ({ ...(await ctx.webhooks.register(ctx.principal, args)), revealSecret: true }),
    deleteWebhook: (_: unknown, args: { id: string }, ctx: CasesContext) => ctx.webhooks.delete(ctx.principal, String(args.id)),
    redeliverWebhook: (_: unknown, args: { deliveryId: string }, ctx: CasesContext) => ctx.webhooks.redeliver(ctx.principal, String(args.deliveryId)),
    openPersonalDataAccess: async (_: unknown, args: { caseId: string; justification: string }, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'openPersonalDataAccess');
      if (!mayOpenPersonalDataAccess(principal)) {
        throw forbidden(
          'Only the support desk opens justified access to personal data; ' +
            'the owning Member State and the assigned partner read it without',
        );
      }
      const caseId = String(args.caseId);
      const doc = await ctx.loaders.caseById.load(caseId);
      if (!doc) throw caseNotFound(caseId);
      return openGrant(ctx.dataProtection.grants, principal, { caseId: doc._id.toHexString(), caseMemberState: doc.memberState }, args.justification, ctx.dataProtection.supportAccessMinutes, ctx.requestId);
    },
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
    setEligibilityRules: async (_: unknown, args: { memberState: string; requestWindowMonths: number }, ctx: CasesContext) => {
      const memberState = checkMemberState(args.memberState);
      const principal = ctx.principal;
      if (!principal) throw principalRequired('setEligibilityRules');
      if (!maySetEligibilityRules(principal, memberState)) {
        throw forbidden(`Only ${memberState}'s own authority or an administrator sets its eligibility rules`);
      }
      if (!Number.isInteger(args.requestWindowMonths) || args.requestWindowMonths < 0 || args.requestWindowMonths > 60) {
        const message = `requestWindowMonths must be 0 to 60, got ${args.requestWindowMonths}`;
        throw badUserInput(message, 'requestWindowMonths');
      }
      await ctx.models.MemberStateRules.updateOne(
        { _id: memberState },
        { $set: { requestWindowMonths: args.requestWindowMonths, updatedBy: principal.subject } },
        { upsert: true },
      ).exec();
      return { memberState, requestWindowMonths: args.requestWindowMonths };
    },
    ...Object.fromEntries(
    TRANSITION_NAMES.map((name) => [
      name,
      (_: unknown, args: MutationArgs, ctx: CasesContext) =>
        applyTransition(
          ctx.models,
          ctx.publish,
          ctx.principal,
          String(args.caseId),
          name,
          {
            reason: args.reason,
            summary: args.summary,
            ...(args.report ? { arrivalDate: args.report.arrivalDate, postArrivalServices: args.report.postArrivalServices } : {}),
            ...(args.plan ? { plan: args.plan } : {}),
          },
          args.expectedVersion,
        ),
    ]),
    ),
  },
  Partner: {
    // Cases holds no partner documents: the reference is all it needs.
    __resolveReference: (ref: { id: string }) => ({ id: String(ref.id) }),
    cases: (partner: { id: string }, args: { filter?: CaseFilterInput; first?: number; after?: string }, ctx: CasesContext) =>
      listCases(ctx, { ...(args.filter ?? {}), partners: [partner.id] }, args.first, args.after),
    qualityIndicators: async (partner: { id: string }, _: unknown, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'qualityIndicators');
      const scope = `partner:${partner.id}`;
      if (!mayReadStatistics(principal, scope)) throw forbidden(`${principal.role} does not read the quality indicators of ${partner.id}`);
      return qualityIndicators(await ctx.loaders.statisticsByScope.load(scope));
    },
  },
  Case: {
    eligibility: (doc: CaseDoc) => doc.eligibility ?? { outcome: 'ELIGIBLE', reasons: [], requestDate: null, assessedAt: null, requestWindowMonths: null },
    __resolveReference: (ref: { id: string }, ctx: CasesContext) => ctx.loaders.caseById.load(ref.id),
    history: (doc: CaseDoc) =>
      (doc.history ?? []).filter((entry) => entry != null).map((entry) => owned({ ...entry, actorRole: entry.actor.role, actorSubject: entry.actor.subject }, doc, 'history.')),
    reintegrationPlan: (doc: CaseDoc) =>
      doc.reintegrationPlan
        ? owned({ ...doc.reintegrationPlan, services: doc.reintegrationPlan.services.map((s) => owned(s, doc, 'reintegrationPlan.services.')) }, doc, 'reintegrationPlan.')
        : null,
    erasure: (doc: CaseDoc) => (doc.erasure ? { at: doc.erasure.at, kind: doc.erasure.kind } : null),
    milestones: (doc: CaseDoc) => doc.milestones ?? { km1At: null, km2At: null, km3At: null },
    postArrivalServices: (doc: CaseDoc) => doc.postArrivalServices ?? [],
    allowedTransitions: (doc: CaseDoc) =>
      allowedTransitions(doc.status, doc).map((transition) => ({ transition, actors: TRANSITIONS[transition].actors })),
    // Who gets these (and their fields) is decided by the SDL's directives (access.ts), not here.
    mainApplicant: (doc: CaseDoc) => (doc.mainApplicant ? owned(doc.mainApplicant, doc, 'mainApplicant.') : null),
    familyMembers: (doc: CaseDoc) => (doc.familyMembers ?? []).map((person) => owned(person, doc, 'familyMembers.')),
    id: (doc: CaseDoc) => doc._id.toHexString(),
    sendingMemberState: (doc: CaseDoc) => ({ code: doc.memberState }),
    countryOfOrigin: (doc: CaseDoc) => ({ code: doc.countryOfOrigin }),
    partner: (doc: CaseDoc) => (doc.partnerId ? { id: doc.partnerId } : null),
  },
};
