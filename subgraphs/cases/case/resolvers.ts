import type { GraphQLResolveInfo } from 'graphql';
import { Types, type FilterQuery } from 'mongoose';
import type { CaseStatus, Package, ReturnType } from '../../../shared/domain.js';
import { mayLookUpByNationalReference, maySetEligibilityRules } from '../../../shared/access.js';
import { badUserInput, forbidden, principalRequired } from '../../../shared/errors.js';
import { checkPageSize, decodeCursor, encodeCursor } from '../../../shared/pagination.js';
import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import type { CasesContext } from '../context.js';
import { ageBandOf, CASE_OF, owned, type CaseOwned } from './access.js';
import { checkMemberState } from './arguments.js';
import { referenceLists } from '../reference/index.js';
import { caseWindows, effectiveRequestWindowMonths, PROGRAMME_REQUEST_WINDOW_MONTHS } from './windows.js';
import { allowedTransitions, TRANSITION_NAMES, TRANSITIONS } from './lifecycle.js';
import {
  packageSetsWithAny,
  type CaseDoc,
  type PersonDoc,
  type PlannedService,
  type ReintegrationPlanDoc,
} from './models.js';
import { linesOf, type DeliveryInput, type PlanLineInput } from './plan.js';
import { casePageProjection } from './projection.js';
import { applyTransition } from './transitions.js';

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
  const inList = <T>(values: T[] | null | undefined) =>
    values && values.length > 0 ? { $in: values.map(String) } : undefined;
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
  const range = <T>(
    from: T | null | undefined,
    to: T | null | undefined,
    fromName: string,
    toName: string,
    upperOp: '$lte' | '$lt',
  ) => {
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
async function listCases(
  ctx: CasesContext,
  filter: CaseFilterInput | null | undefined,
  firstArg: number | null | undefined,
  after: string | null | undefined,
  info: GraphQLResolveInfo | undefined,
) {
  const first = checkPageSize(firstArg);
  const afterId = parseAfter(after);
  // The principal's scope is part of the query: pages and totals only ever see visible cases.
  const base = ctx.access.restrict(caseFilterToQuery(filter));
  const pageQuery: FilterQuery<CaseDoc> = afterId ? { ...base, _id: { $gt: afterId } } : base;
  // Only the paths the selected fields read, when they are all summary fields (projection.ts).
  const projection = info ? casePageProjection(info.fieldNodes, info.fragments) : undefined;
  const docs = await ctx.models.Case.find(pageQuery, projection)
    .sort({ _id: 1 })
    .limit(first + 1)
    .batchSize(first + 1)
    .lean<CaseDoc[]>()
    .exec();
  const page = docs.slice(0, first);
  // A partial document must not answer a later lookup of the whole case.
  if (!projection) for (const doc of page) ctx.loaders.caseById.prime(doc._id.toHexString(), doc);
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

/**
 * A Member State narrows the programme's request window, never widens it (docs/domain.md,
 * "Who is eligible"): 1 to 6 months. Wider is refused naming the programme's limit.
 */
export function checkRequestWindowMonths(months: number): void {
  if (!Number.isInteger(months) || months < 1) {
    throw badUserInput(
      `requestWindowMonths must be a whole number of months from 1 to ${PROGRAMME_REQUEST_WINDOW_MONTHS}, ` +
        `got ${months}`,
      'requestWindowMonths',
      { reason: 'REQUEST_WINDOW_TOO_NARROW', limit: 1 },
    );
  }
  if (months > PROGRAMME_REQUEST_WINDOW_MONTHS) {
    throw badUserInput(
      `requestWindowMonths ${months} is wider than the programme allows: assistance may be requested up to ` +
        `${PROGRAMME_REQUEST_WINDOW_MONTHS} months after departure, and a Member State may only narrow that window`,
      'requestWindowMonths',
      { reason: 'REQUEST_WINDOW_TOO_WIDE', limit: PROGRAMME_REQUEST_WINDOW_MONTHS },
    );
  }
}

/**
 * A case's windows (windows.ts). Only the request window depends on the Member State's rules,
 * read through the request's loader (one read for a page of cases).
 */
async function windowsOf(doc: CaseDoc, ctx?: CasesContext) {
  const rules = ctx ? await ctx.loaders.memberStateRules.load(doc.memberState) : null;
  return caseWindows({
    departureDate: doc.departureDate ?? null,
    arrivalDate: doc.arrivalDate ?? null,
    charterFlight: doc.charterFlight ?? false,
    requestWindowMonths: effectiveRequestWindowMonths(rules?.requestWindowMonths),
  });
}

interface MutationArgs {
  caseId: string;
  expectedVersion?: number | null;
  reason?: string | null;
  summary?: string | null;
  report?: { arrivalDate: string; postArrivalServices: string[] };
  plan?: { services?: PlannedService[] | null; lines?: PlanLineInput[] | null };
  delivery?: DeliveryInput;
}

/** A plan version as the graph shows it; its free text guarded by the case's rules (`owned`). */
function planView(plan: ReintegrationPlanDoc, doc: CaseDoc, path: string) {
  return owned(
    {
      ...plan,
      version: plan.version ?? 1,
      services: plan.services.map((s) => owned(s, doc, `${path}services.`)),
      lines: linesOf(plan).map((line) =>
        owned(
          {
            ...line,
            deliveredOn:
              line.deliveries
                .map((d) => d.date)
                .sort()
                .at(-1) ?? null,
          },
          doc,
          `${path}lines.`,
        ),
      ),
    },
    doc,
    path,
  );
}

/** The case core: cases and their lifecycle, a partner's cases, eligibility rules. */
/** Ids one `casesById` may ask for (the subscription fetch of the gateway asks for at most 64). */
export const MAX_CASES_BY_ID = 100;

export const caseResolvers: GraphQLResolverMap<CasesContext> = {
  Person: {
    pseudonym: (person: PersonDoc & CaseOwned, _: unknown, ctx: CasesContext) =>
      ctx.access.personPseudonym(person[CASE_OF].doc.memberState, person),
    ageBand: (person: PersonDoc & CaseOwned) => ageBandOf(person.dateOfBirth, person[CASE_OF].doc),
    // Persons stored before the codes existed have none (README, "Vulnerability codes").
    vulnerabilityCodes: (person: PersonDoc) => person.vulnerabilityCodes ?? [],
  },
  Query: {
    cases: (
      _: unknown,
      args: { filter?: CaseFilterInput; first?: number; after?: string },
      ctx: CasesContext,
      info?: GraphQLResolveInfo,
    ) => listCases(ctx, args.filter, args.first, args.after, info),
    case: (_: unknown, args: { id: string }, ctx: CasesContext) => ctx.loaders.caseById.load(args.id),
    casesById: (_: unknown, args: { ids: string[] }, ctx: CasesContext) => {
      if (args.ids.length > MAX_CASES_BY_ID) {
        throw badUserInput(`casesById takes at most ${MAX_CASES_BY_ID} ids (got ${args.ids.length})`, 'ids');
      }
      ctx.access.restrict({}); // an anonymous caller is refused, even for no ids
      // Each id as `case(id:)` gives it: one batched, restricted read for all of them.
      return ctx.loaders.caseById.loadMany(args.ids);
    },
    eligibilityRules: async (_: unknown, args: { memberState: string }, ctx: CasesContext) => {
      const memberState = checkMemberState(args.memberState, (await referenceLists(ctx.models.Case.db)).memberStates);
      const doc = await ctx.loaders.memberStateRules.load(memberState);
      // What applies: a wider value stored by an earlier version counts as the programme's 6 months.
      return { memberState, requestWindowMonths: effectiveRequestWindowMonths(doc?.requestWindowMonths) };
    },
    caseByReference: (_: unknown, args: { memberState: string; caseReference: string }, ctx: CasesContext) => {
      // Analysts see pseudonymised references: looking a case up by its real one would undo that.
      if (!mayLookUpByNationalReference(ctx.principal)) {
        throw forbidden('EU analysts do not look cases up by national reference');
      }
      return ctx.models.Case.findOne(
        ctx.access.restrict({ memberState: String(args.memberState), caseReference: String(args.caseReference) }),
      )
        .lean<CaseDoc>()
        .exec();
    },
  },
  Mutation: {
    setEligibilityRules: async (
      _: unknown,
      args: { memberState: string; requestWindowMonths: number },
      ctx: CasesContext,
    ) => {
      const memberState = checkMemberState(args.memberState, (await referenceLists(ctx.models.Case.db)).memberStates);
      const principal = ctx.principal;
      if (!principal) throw principalRequired('setEligibilityRules');
      if (!maySetEligibilityRules(principal, memberState)) {
        throw forbidden(`Only ${memberState}'s own authority or an administrator sets its eligibility rules`);
      }
      checkRequestWindowMonths(args.requestWindowMonths);
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
              ...(args.report
                ? { arrivalDate: args.report.arrivalDate, postArrivalServices: args.report.postArrivalServices }
                : {}),
              ...(args.plan ? { plan: args.plan } : {}),
              ...(args.delivery ? { delivery: args.delivery } : {}),
            },
            args.expectedVersion,
          ),
      ]),
    ),
  },
  Partner: {
    // Cases holds no partner documents: the reference is all it needs.
    __resolveReference: (ref: { id: string }) => ({ id: String(ref.id) }),
    cases: (
      partner: { id: string },
      args: { filter?: CaseFilterInput; first?: number; after?: string },
      ctx: CasesContext,
      info?: GraphQLResolveInfo,
    ) => listCases(ctx, { ...(args.filter ?? {}), partners: [partner.id] }, args.first, args.after, info),
  },
  Case: {
    eligibility: (doc: CaseDoc) => ({
      outcome: 'ELIGIBLE',
      reasons: [],
      requestDate: null,
      assessedAt: null,
      requestWindowMonths: null,
      ...doc.eligibility,
      // Cases stored before missing facts were kept have none listed.
      missingFacts: doc.eligibility?.missingFacts ?? [],
    }),
    postArrivalEndsOn: async (doc: CaseDoc) => (await windowsOf(doc)).postArrivalEndsOn,
    postReturnEndsOn: async (doc: CaseDoc) => (await windowsOf(doc)).postReturnEndsOn,
    requestWindowEndsOn: async (doc: CaseDoc, _: unknown, ctx: CasesContext) =>
      (await windowsOf(doc, ctx)).requestWindowEndsOn,
    windowFlags: (doc: CaseDoc) => doc.windowFlags ?? [],
    __resolveReference: (ref: { id: string }, ctx: CasesContext) => ctx.loaders.caseById.load(ref.id),
    history: (doc: CaseDoc) =>
      (doc.history ?? [])
        .filter((entry) => entry != null)
        .map((entry) =>
          owned({ ...entry, actorRole: entry.actor.role, actorSubject: entry.actor.subject }, doc, 'history.'),
        ),
    reintegrationPlan: (doc: CaseDoc) =>
      doc.reintegrationPlan ? planView(doc.reintegrationPlan, doc, 'reintegrationPlan.') : null,
    reintegrationPlanVersions: (doc: CaseDoc) =>
      (doc.reintegrationPlanVersions ?? []).map((plan) => planView(plan, doc, 'reintegrationPlanVersions.')),
    erasure: (doc: CaseDoc) => (doc.erasure ? { at: doc.erasure.at, kind: doc.erasure.kind } : null),
    milestones: (doc: CaseDoc) => ({
      arrivedAt: null,
      ...(doc.milestones ?? { km1At: null, km2At: null, km3At: null }),
    }),
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
