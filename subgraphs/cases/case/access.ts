import { createHmac } from 'node:crypto';
import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import type { FilterQuery, Model } from 'mongoose';
import type { Principal } from '../../../shared/auth.js';
import {
  caseScope,
  inScope,
  mayOpenPersonalDataAccess,
  personalAccess,
  type CaseScope,
  type PersonalAccess,
} from '../../../shared/access.js';
import { forbidden, principalRequired } from '../../../shared/errors.js';
import type { PersonalDataAudit } from '../data-protection/audit.js';
import type { PersonalDataGrantDoc } from '../data-protection/support-access.js';
import type { CaseDoc, PersonDoc } from './models.js';
import { ageOn } from '../statistics/facts.js';

/**
 * The cases subgraph's one enforcement point. Built per request from the verified
 * principal, it
 * - restricts every case query (lists, counts, by id, by reference, entity references) to
 *   the cases the principal may see (`restrict`), so nothing else can be counted or paged;
 * - decides, per case, how much personal data the principal gets (`personal`), which the
 *   schema directives `@personal`, `@pseudonymous` and `@pseudonymised` apply to every
 *   field that carries them (`protectPersonalFields`), recording each served field in the
 *   access log.
 * The rules themselves are shared/access.ts.
 */
export class CaseAccess {
  readonly scope: CaseScope;
  private grants: Promise<Map<string, string>> | undefined;

  constructor(
    readonly principal: Principal | null,
    private readonly grantModel: Model<PersonalDataGrantDoc>,
    private readonly pseudonymKey: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.scope = caseScope(principal);
  }

  /**
   * `filter` narrowed to the visible cases. Anonymous callers get UNAUTHENTICATED, a
   * principal who reads no cases (the DPO) FORBIDDEN: an empty list would hide the reason.
   */
  restrict(filter: FilterQuery<CaseDoc>): FilterQuery<CaseDoc> {
    const scope = this.scope;
    if (scope.kind === 'none') {
      if (!this.principal) throw principalRequired('Case data', true);
      throw forbidden(`${this.principal.role} does not read case data`);
    }
    if (scope.kind === 'all') return filter;
    const condition: FilterQuery<CaseDoc> =
      scope.kind === 'memberState' ? { memberState: scope.memberState } : { partnerId: scope.partnerId };
    const [key] = Object.keys(condition) as [string];
    // A filter on the same field (memberStates: [...]) must hold as well: both, not either.
    return key in filter ? { $and: [filter, condition] } : { ...filter, ...condition };
  }

  visible(doc: Pick<CaseDoc, 'memberState' | 'partnerId'>): boolean {
    return inScope(this.scope, doc);
  }

  /** How much of this case's personal data this request gets. */
  async personal(doc: Pick<CaseDoc, '_id' | 'memberState' | 'partnerId'>): Promise<PersonalAccess> {
    if (!this.visible(doc)) return 'NONE';
    const grant = mayOpenPersonalDataAccess(this.principal) ? await this.grantFor(doc._id.toHexString()) : undefined;
    return personalAccess(this.principal, doc, grant !== undefined);
  }

  /** The support-desk user's open, justified access to this case, if any (its id). */
  async grantFor(caseId: string): Promise<string | undefined> {
    if (!this.principal || !mayOpenPersonalDataAccess(this.principal)) return undefined;
    this.grants ??= this.grantModel
      .find({ subject: this.principal.subject, expiresAt: { $gt: this.now() } })
      .lean<PersonalDataGrantDoc[]>()
      .exec()
      .then((docs) => new Map(docs.map((d) => [d.caseId, d._id.toHexString()])));
    return (await this.grants).get(caseId);
  }

  /** A stable pseudonym: the same input gives the same pseudonym across requests and cases. */
  pseudonym(kind: string, ...parts: string[]): string {
    const mac = createHmac('sha256', this.pseudonymKey)
      .update([kind, ...parts].join('\u0000'))
      .digest();
    return `${kind}-${base32(mac.subarray(0, 10))}`;
  }

  /** A person's pseudonym: one per person (Member State, normalised name, birth date). */
  personPseudonym(memberState: string, person: Pick<PersonDoc, 'name' | 'dateOfBirth'>): string {
    return this.pseudonym(
      'PS',
      memberState,
      person.name.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' '),
      person.dateOfBirth,
    );
  }
}

const BASE32 = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** Age bands analysts see instead of a birth date (ages on the case's departure, else insertion, day). */
export const AGE_BANDS = [
  [0, 4, '0-4'],
  [5, 11, '5-11'],
  [12, 17, '12-17'],
  [18, 24, '18-24'],
  [25, 34, '25-34'],
  [35, 49, '35-49'],
  [50, 64, '50-64'],
  [65, Infinity, '65+'],
] as const;

export function ageBand(age: number): string {
  return AGE_BANDS.find(([low, high]) => age >= low && age <= high)?.[2] ?? 'unknown';
}

export function ageBandOf(dateOfBirth: string, doc: Pick<CaseDoc, 'departureDate' | 'createdAt'>): string {
  const reference = doc.departureDate ?? new Date(doc.createdAt ?? Date.now()).toISOString().slice(0, 10);
  return ageBand(ageOn(dateOfBirth, reference));
}

/**
 * Objects below a case (a person, a history entry, a plan) carry the case they belong to
 * and their path in it, so a directive on their fields knows whose data it guards.
 */
export const CASE_OF = Symbol('caseOf');
export interface CaseOwned {
  [CASE_OF]: { doc: CaseDoc; path: string };
}

export function owned<T extends object>(value: T, doc: CaseDoc, path: string): T & CaseOwned {
  return Object.assign(Object.create(null) as object, value, { [CASE_OF]: { doc, path } }) as T & CaseOwned;
}

function ownerOf(parent: unknown): { doc: CaseDoc; path: string } | undefined {
  if (parent && typeof parent === 'object') {
    const tagged = (parent as Partial<CaseOwned>)[CASE_OF];
    if (tagged) return tagged;
    if ('_id' in parent && 'memberState' in parent) return { doc: parent as CaseDoc, path: '' };
  }
  return undefined;
}

export interface PersonalFieldsContext {
  access: CaseAccess;
  audit: PersonalDataAudit;
}

/** How a `@pseudonymised` field reads for EU analysts, by `Type.field`. */
export type Pseudonymisers = Record<string, (value: unknown, doc: CaseDoc, access: CaseAccess) => unknown>;

const DIRECTIVES = ['personal', 'pseudonymous', 'pseudonymised'] as const;
type Marking = (typeof DIRECTIVES)[number];

/**
 * Wraps every field the SDL marks, in place (the federation resolvers on the schema stay):
 * - `@personal`: served with FULL access only, else null;
 * - `@pseudonymous` (derived, e.g. a pseudonym or age band, or an object holding personal
 *   fields): served with FULL or PSEUDONYMISED access, else null;
 * - `@pseudonymised`: served as is, except to EU analysts, who get the pseudonymiser's value.
 * A `@personal` or `@pseudonymous` value that is served is recorded in the access log.
 * Returns the fields it wrapped, so a test can hold the SDL to a list.
 */
export function protectPersonalFields(schema: GraphQLSchema, pseudonymisers: Pseudonymisers): string[] {
  const wrapped: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    // By tag, not instanceof: @apollo/subgraph may build the schema with another copy of graphql (CJS).
    if (
      (type as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] !== 'GraphQLObjectType' ||
      type.name.startsWith('__')
    )
      continue;
    for (const field of Object.values((type as GraphQLObjectType).getFields())) {
      const markings = (field.astNode?.directives ?? [])
        .map((d) => d.name.value)
        .filter((name): name is Marking => (DIRECTIVES as readonly string[]).includes(name));
      if (markings.length === 0) continue;
      if (markings.length > 1)
        throw new Error(`${type.name}.${field.name} carries ${markings.join(' and ')}: one marking per field`);
      const marking = markings[0]!;
      const coordinate = `${type.name}.${field.name}`;
      const pseudonymiser = pseudonymisers[coordinate];
      if (marking === 'pseudonymised' && !pseudonymiser)
        throw new Error(`${coordinate} is @pseudonymised but has no pseudonymiser`);
      const resolve: GraphQLFieldResolver<unknown, PersonalFieldsContext> = field.resolve ?? defaultFieldResolver;
      field.resolve = async (parent, args, ctx, info) => {
        const owner = ownerOf(parent);
        // A marked field outside a case would be a schema mistake: refuse rather than serve.
        if (!owner) throw new Error(`${coordinate} is marked personal but its parent is not part of a case`);
        const level = await ctx.access.personal(owner.doc);
        if (marking === 'pseudonymised') {
          const value: unknown = await resolve(parent, args, ctx, info);
          return level === 'PSEUDONYMISED' && value != null ? pseudonymiser!(value, owner.doc, ctx.access) : value;
        }
        if (level === 'NONE' || (marking === 'personal' && level !== 'FULL')) return null;
        const value: unknown = await resolve(parent, args, ctx, info);
        // Leaves are recorded (`mainApplicant.name`); the objects holding them are not.
        const leaf =
          value != null &&
          (typeof value !== 'object' ||
            value instanceof Date ||
            (Array.isArray(value) && value.every((v) => typeof v !== 'object')));
        if (leaf) {
          const grantId = level === 'FULL' ? await ctx.access.grantFor(owner.doc._id.toHexString()) : undefined;
          ctx.audit.read(owner.doc, `${owner.path}${field.name}`, grantId);
        }
        return value;
      };
      wrapped.push(`${coordinate}@${marking}`);
    }
  }
  return wrapped.sort();
}

/** How EU analysts read `@pseudonymised` fields. */
export const casesPseudonymisers: Pseudonymisers = {
  'Case.caseReference': (value, doc, access) => access.pseudonym('CR', doc.memberState, String(value)),
};
