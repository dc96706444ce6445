import {
  erasureRecordsScope,
  mayEraseCase,
  mayOpenPersonalDataAccess,
  mayReadDataProtectionRecords,
  requirePrincipal,
} from '../../../shared/access.js';
import { badUserInput, caseNotFound, forbidden } from '../../../shared/errors.js';
import { checkPageSize } from '../../../shared/pagination.js';
import type { GraphQLResolverMap } from '../../../shared/subgraph.js';
import type { CasesContext } from '../context.js';
import { personalDataReads, type PersonalDataReadDoc } from './audit.js';
import { listErasures, type ErasureDoc } from './erasure.js';
import type { RetentionRunDoc } from './retention.js';
import { listGrants, openGrant, type PersonalDataGrantDoc } from './support-access.js';

const REQUEST_REFERENCE = /^[\p{L}\p{N} ._:/#()-]{1,100}$/u;

/** The personal data access log, justified support access, erasure and the retention runs. */
export const dataProtectionResolvers: GraphQLResolverMap<CasesContext> = {
  PersonalDataErasure: {
    id: (doc: ErasureDoc) => doc._id.toHexString(),
    actorRole: (doc: ErasureDoc) => doc.actor.role,
    actorSubject: (doc: ErasureDoc) => doc.actor.subject,
    caseFields: (doc: ErasureDoc) => doc.erased.caseFields,
    transitionLogEntries: (doc: ErasureDoc) => doc.erased.transitionLog,
    feedReportEntries: (doc: ErasureDoc) => doc.erased.feedReports,
    stagedRecords: (doc: ErasureDoc) => doc.erased.stagedRecords,
    messageBodies: (doc: ErasureDoc) => doc.erased.messages ?? 0,
    monitoringRecords: (doc: ErasureDoc) => doc.erased.monitoringRecords ?? 0,
  },
  PersonalDataAccessGrant: {
    id: (doc: PersonalDataGrantDoc) => doc._id.toHexString(),
  },
  RetentionRun: {
    id: (doc: RetentionRunDoc) => doc._id.toHexString(),
    // Runs recorded before the count existed did not finish interrupted erasures apart.
    unfinished: (doc: RetentionRunDoc) => doc.unfinished ?? 0,
  },
  PersonalDataRead: {
    id: (doc: PersonalDataReadDoc) => doc._id.toHexString(),
    actorRole: (doc: PersonalDataReadDoc) => doc.actor.role,
    actorSubject: (doc: PersonalDataReadDoc) => doc.actor.subject,
    actorMemberState: (doc: PersonalDataReadDoc) => doc.actor.memberState ?? null,
    actorPartnerId: (doc: PersonalDataReadDoc) => doc.actor.partnerId ?? null,
  },
  Query: {
    personalDataReads: (
      _: unknown,
      args: { caseId?: string | null; actorSubject?: string | null; first?: number | null },
      ctx: CasesContext,
    ) => personalDataReads(ctx.personalDataReadLog, ctx.principal, args),
    personalDataAccessGrants: (
      _: unknown,
      args: { caseId?: string | null; first?: number | null },
      ctx: CasesContext,
    ) => listGrants(ctx.dataProtection.grants, ctx.principal, args),
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
    retentionRuns: (_: unknown, args: { first?: number | null }, ctx: CasesContext) => {
      requirePrincipal(ctx.principal, 'retentionRuns');
      if (!mayReadDataProtectionRecords(ctx.principal))
        throw forbidden('Only administrators and the data protection officer read retention reports');
      return ctx.dataProtection.retention.Run.find({})
        .sort({ _id: -1 })
        .limit(checkPageSize(args.first))
        .lean<RetentionRunDoc[]>()
        .exec();
    },
  },
  Mutation: {
    erasePersonalData: async (_: unknown, args: { caseId: string; requestReference: string }, ctx: CasesContext) => {
      const principal = requirePrincipal(ctx.principal, 'erasePersonalData');
      const caseId = String(args.caseId);
      const doc = await ctx.loaders.caseById.load(caseId);
      if (!doc) throw caseNotFound(caseId);
      if (!mayEraseCase(principal, doc))
        throw forbidden('Only the Member State that owns the case erases its personal data');
      if (!REQUEST_REFERENCE.test(args.requestReference)) {
        throw badUserInput(
          'requestReference must be 1 to 100 letters, digits, spaces or . _ : / # ( ) - ' +
            '(your reference of the request, no personal data)',
          'requestReference',
        );
      }
      const actor = { role: principal.role, subject: principal.subject, memberState: principal.memberState! };
      return ctx.dataProtection.erase(doc._id, {
        actor,
        requestReference: args.requestReference,
        requestId: ctx.requestId,
      });
    },
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
      return openGrant(
        ctx.dataProtection.grants,
        principal,
        { caseId: doc._id.toHexString(), caseMemberState: doc.memberState },
        args.justification,
        ctx.dataProtection.supportAccessMinutes,
        ctx.requestId,
      );
    },
  },
};
