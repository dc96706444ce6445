import { createHash } from 'node:crypto';
import {
  Kind,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type TypeNode,
} from 'graphql';
import type { Principal } from '../../shared/auth.js';
import { ALL_TAG, projectorTag, type CacheTag } from '../../shared/cache-tags.js';

/**
 * What may be cached, decided per subgraph fetch from the query plan's fetch document: a
 * fetch is cached only when every root field it selects is listed for that subgraph (or, for
 * `_entities`, every entity type it asks for), and then carries the union of their tags.
 * Everything else (cases, worklists, messages, audits, personal data) is never cached.
 */
export interface SubgraphCachePolicy {
  /** Root query fields and the tags whose change makes their answer stale. */
  root: Readonly<Record<string, readonly CacheTag[]>>;
  /** Entity types resolved through `_entities` and their tags. */
  entities: Readonly<Record<string, readonly CacheTag[]>>;
}

const COVERAGE: readonly CacheTag[] = ['ref:coverage'];
const PARTNERS: readonly CacheTag[] = ['ref:partners'];
const TARIFFS: readonly CacheTag[] = ['ref:finance'];
const LEDGER: readonly CacheTag[] = ['ref:finance', projectorTag('finance-projector')];
const STATISTICS: readonly CacheTag[] = [projectorTag('statistics-projector')];
const INDICATORS: readonly CacheTag[] = [projectorTag('indicator-projector')];

export const CACHE_POLICY: Readonly<Record<string, SubgraphCachePolicy>> = {
  partners: { root: { partners: PARTNERS, partner: PARTNERS }, entities: { Partner: PARTNERS } },
  coverage: {
    root: {
      countriesOfOrigin: COVERAGE,
      countryOfOrigin: COVERAGE,
      memberStates: COVERAGE,
      partnerAssignment: COVERAGE,
    },
    entities: { CountryOfOrigin: COVERAGE, MemberState: COVERAGE, Partner: COVERAGE },
  },
  finance: {
    root: { tariffs: TARIFFS, financeSummary: LEDGER, financeYears: LEDGER },
    // Case.entitlement reads the tariffs and the case's ledger entry; Partner/Country: spend.
    entities: { Case: LEDGER, Partner: LEDGER, CountryOfOrigin: LEDGER },
  },
  cases: {
    root: {
      statistics: STATISTICS,
      crossTabulation: STATISTICS,
      indicators: INDICATORS,
      indicatorValues: INDICATORS,
      indicatorValuesCsv: INDICATORS,
      // Breaches are opened and closed only by the indicator projector (and its rebuild, which bumps ref:all).
      indicatorBreaches: INDICATORS,
    },
    entities: {},
  },
};

/** The tags a mutation sent to `subgraph` bumps once it has answered. */
export function mutationTags(subgraph: string): CacheTag[] {
  return [`ref:${subgraph}`];
}

/**
 * Subgraphs whose answers may depend on the reader (not only the rights class): the cases
 * subgraph counts unread messages per reader and opens personal data per support-desk grant.
 */
const READER_SCOPED = new Set(['cases']);

export interface FetchAnalysis {
  kind: 'query' | 'mutation' | 'subscription' | 'invalid';
  /** The tags of a cacheable fetch; null: never cached. */
  tags: CacheTag[] | null;
  /** Whether the fetch selects a field the subgraph marks personal (logged per reader and request). */
  personal: boolean;
}

/**
 * Where personal data sits in the supergraph, by type: `Type.field` of every field marked
 * `@personal` or `@pseudonymous`, each object and interface type's fields with the named type
 * they return, and the object types an interface or union may be. A fetch document is walked
 * with it, so `SustainabilityAnswer.value` (personal) does not make `IndicatorValue.value`
 * (an aggregate) count as personal. Where a type cannot be told, the walk falls back to
 * `names`: any field of that name marked anywhere in the subgraph (over-matching only means
 * fewer merges and no caching, never a shared personal answer).
 */
export interface PersonalFieldIndex {
  /** `Type.field` of the marked fields. */
  fields: ReadonlySet<string>;
  /** Marked field names per subgraph (the fallback where the type is not known). */
  names: ReadonlyMap<string, ReadonlySet<string>>;
  /** Per object or interface type: field name → the named type it returns. */
  fieldTypes: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Per interface or union: the object types it may be. */
  possibleTypes: ReadonlyMap<string, ReadonlySet<string>>;
}

const isMarkedPersonal = (directives: readonly { name: { value: string } }[] | undefined) =>
  (directives ?? []).some((d) => d.name.value === 'personal' || d.name.value === 'pseudonymous');

/** Reads the personal marks and the type graph of a supergraph (see PersonalFieldIndex). */
export function personalFieldIndex(supergraphSdl: string): PersonalFieldIndex {
  const document = parse(supergraphSdl);
  const fields = new Set<string>();
  const fieldTypes = new Map<string, Map<string, string>>();
  const possibleTypes = new Map<string, Set<string>>();
  const possible = (abstract: string) => {
    let set = possibleTypes.get(abstract);
    if (!set) possibleTypes.set(abstract, (set = new Set()));
    return set;
  };
  for (const definition of document.definitions) {
    if (
      definition.kind === Kind.OBJECT_TYPE_DEFINITION ||
      definition.kind === Kind.OBJECT_TYPE_EXTENSION ||
      definition.kind === Kind.INTERFACE_TYPE_DEFINITION ||
      definition.kind === Kind.INTERFACE_TYPE_EXTENSION
    ) {
      const type = definition.name.value;
      const types = fieldTypes.get(type) ?? new Map<string, string>();
      fieldTypes.set(type, types);
      for (const field of definition.fields ?? []) {
        let named: TypeNode = field.type;
        while (named.kind !== Kind.NAMED_TYPE) named = named.type;
        types.set(field.name.value, named.name.value);
        if (isMarkedPersonal(field.directives)) fields.add(`${type}.${field.name.value}`);
      }
      if (definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.OBJECT_TYPE_EXTENSION) {
        for (const implemented of definition.interfaces ?? []) possible(implemented.name.value).add(type);
      }
    } else if (definition.kind === Kind.UNION_TYPE_DEFINITION || definition.kind === Kind.UNION_TYPE_EXTENSION) {
      for (const member of definition.types ?? []) possible(definition.name.value).add(member.name.value);
    }
  }
  // A mark on an interface's field holds for that field of every type implementing it (composition may keep
  // the mark on the interface only, and a planner selects through `... on Impl`).
  for (const [abstract, members] of possibleTypes) {
    for (const field of fieldTypes.get(abstract)?.keys() ?? []) {
      if (!fields.has(`${abstract}.${field}`)) continue;
      for (const member of members) fields.add(`${member}.${field}`);
    }
  }
  return { fields, names: personalFieldNamesBySubgraph(document), fieldTypes, possibleTypes };
}

/**
 * Field names of the personal fields (`@personal`, `@pseudonymous`) per subgraph, from the
 * supergraph's join directives: what PersonalFieldIndex falls back to where a type is unknown.
 */
export function personalFieldNamesBySubgraph(supergraph: string | DocumentNode): Map<string, Set<string>> {
  const document = typeof supergraph === 'string' ? parse(supergraph) : supergraph;
  const graphNames = new Map<string, string>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== 'join__Graph') continue;
    for (const value of definition.values ?? []) {
      const name = value.directives
        ?.find((d) => d.name.value === 'join__graph')
        ?.arguments?.find((a) => a.name.value === 'name')?.value;
      if (name?.kind === Kind.STRING) graphNames.set(value.name.value, name.value);
    }
  }
  const graphsOf = (directives: readonly { name: { value: string }; arguments?: readonly unknown[] }[], of: string) =>
    directives
      .filter((d) => d.name.value === of)
      .flatMap((d) =>
        (d.arguments as readonly { name: { value: string }; value: { kind: string; value?: string } }[]).flatMap((a) =>
          a.name.value === 'graph' && a.value.kind === Kind.ENUM ? [a.value.value ?? ''] : [],
        ),
      )
      .map((graph) => graphNames.get(graph) ?? graph.toLowerCase());
  const result = new Map<string, Set<string>>();
  for (const definition of document.definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION &&
      definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
      definition.kind !== Kind.INTERFACE_TYPE_EXTENSION
    )
      continue;
    const typeGraphs = graphsOf(definition.directives ?? [], 'join__type');
    for (const field of definition.fields ?? []) {
      const marks = field.directives ?? [];
      if (!isMarkedPersonal(marks)) continue;
      const fieldGraphs = graphsOf(marks, 'join__field');
      for (const graph of fieldGraphs.length > 0 ? fieldGraphs : typeGraphs) {
        const names = result.get(graph) ?? new Set<string>();
        names.add(field.name.value);
        result.set(graph, names);
      }
    }
  }
  return result;
}

/** The federation root field that resolves entities; its selections name their types by fragments. */
const ENTITIES_FIELD = '_entities';

/**
 * Whether a fetch document of `subgraph` selects a personal field, walking its selections
 * with their types (fragments followed, each spread of a fragment under a type once). The
 * walk is iterative (a deeply nested document cannot exhaust the stack).
 */
export function selectsPersonalField(document: DocumentNode, subgraph: string, index: PersonalFieldIndex): boolean {
  const names = index.names.get(subgraph) ?? new Set<string>();
  const definitions = document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [d] : []));
  const fragments = new Map(definitions.map((d) => [d.name.value, d] as const));
  // Two fragments of one name (invalid, never planned): which one a server would use cannot be told.
  if (fragments.size !== definitions.length) return true;
  // A type the index knows (object, interface or union); anything else is walked by name only.
  const known = (type: string | undefined | null): string | null =>
    type && (index.fieldTypes.has(type) || index.possibleTypes.has(type)) ? type : null;
  // The types a parent may be at run time: itself and, if abstract, each object type it may be.
  const concrete = (type: string): string[] => [type, ...(index.possibleTypes.get(type) ?? [])];
  const isPersonal = (parent: string | null, field: string): boolean =>
    parent === null ? names.has(field) : concrete(parent).some((t) => index.fields.has(`${t}.${field}`));
  // What a field returns; unknown (null) when its types disagree across what the parent may be.
  const childType = (parent: string | null, field: string): string | null => {
    if (parent === null || (parent === 'Query' && field === ENTITIES_FIELD)) return null;
    const returned = new Set(concrete(parent).flatMap((t) => index.fieldTypes.get(t)?.get(field) ?? []));
    return returned.size === 1 ? known([...returned][0]) : null;
  };
  const stack: Array<{ selectionSet: SelectionSetNode; parent: string | null }> = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const root = definition.operation === 'query' ? 'Query' : definition.operation === 'mutation' ? 'Mutation' : null;
    stack.push({ selectionSet: definition.selectionSet, parent: known(root) });
  }
  const spread = new Set<string>();
  while (stack.length > 0) {
    const { selectionSet, parent } = stack.pop()!;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name === '__typename') continue;
        if (isPersonal(parent, name)) return true;
        if (selection.selectionSet)
          stack.push({ selectionSet: selection.selectionSet, parent: childType(parent, name) });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition?.name.value;
        stack.push({
          selectionSet: selection.selectionSet,
          parent: condition === undefined ? parent : known(condition),
        });
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment) return true; // an unknown fragment: cannot tell, so personal
        if (spread.has(fragment.name.value)) continue;
        spread.add(fragment.name.value);
        stack.push({ selectionSet: fragment.selectionSet, parent: known(fragment.typeCondition.name.value) });
      }
    }
  }
  return false;
}

function typeConditions(
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
): string[] | null {
  const types: string[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '__typename') return null;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (!selection.typeCondition) return null;
      types.push(selection.typeCondition.name.value);
    } else {
      const fragment = fragments.get(selection.name.value);
      if (!fragment) return null;
      types.push(fragment.typeCondition.name.value);
    }
  }
  return types;
}

/** Reads a fetch document once: its kind, its cache tags (if cacheable) and whether it reads personal fields. */
export function analyseFetch(subgraph: string, query: string, personalIndex: PersonalFieldIndex): FetchAnalysis {
  let document: DocumentNode;
  try {
    document = parse(query, { noLocation: true });
  } catch {
    return { kind: 'invalid', tags: null, personal: true };
  }
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  if (operations.length !== 1) return { kind: 'invalid', tags: null, personal: true };
  const operation = operations[0]!;
  const personal = selectsPersonalField(document, subgraph, personalIndex);
  if (operation.operation !== 'query') return { kind: operation.operation, tags: null, personal };
  const fragments = new Map(
    document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
  );
  const policy = CACHE_POLICY[subgraph];
  if (!policy || personal) return { kind: 'query', tags: null, personal };
  const tags = new Set<CacheTag>();
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return { kind: 'query', tags: null, personal };
    const name = selection.name.value;
    if (name === '__typename') continue;
    if (name === '_entities') {
      const types = selection.selectionSet ? typeConditions(selection.selectionSet, fragments) : null;
      if (!types || types.length === 0) return { kind: 'query', tags: null, personal };
      for (const type of types) {
        const typeTags = Object.hasOwn(policy.entities, type) ? policy.entities[type] : undefined;
        if (!typeTags) return { kind: 'query', tags: null, personal };
        for (const tag of typeTags) tags.add(tag);
      }
      continue;
    }
    const rootTags = Object.hasOwn(policy.root, name) ? policy.root[name] : undefined;
    if (!rootTags) return { kind: 'query', tags: null, personal };
    for (const tag of rootTags) tags.add(tag);
  }
  if (tags.size === 0) return { kind: 'query', tags: null, personal };
  tags.add(ALL_TAG);
  return { kind: 'query', tags: [...tags].sort(), personal };
}

/** The rights class: what the subgraphs' access rules read of a principal (never the subject). */
export function rightsClass(principal: Principal | null): string {
  if (!principal) return 'anonymous';
  return `${principal.role}|${principal.memberState ?? ''}|${principal.partnerId ?? ''}`;
}

export interface KeyInput {
  subgraph: string;
  query: string;
  variables: unknown;
  principal: Principal | null;
  requestId?: string;
  requestIdSource?: string;
  analysis: FetchAnalysis;
}

const hash = (parts: readonly unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('base64url');

/**
 * The in-flight key: everything the subgraph's answer depends on. The rights class always;
 * the reader too on reader-scoped subgraphs; and the request id when the fetch reads personal
 * fields, so each reader's personal read is made (and logged) under its own request.
 */
export function inflightKey(input: KeyInput): string {
  const reader = READER_SCOPED.has(input.subgraph) || input.analysis.personal ? (input.principal?.subject ?? '') : '';
  const request = input.analysis.personal ? `${input.requestIdSource ?? ''}:${input.requestId ?? ''}` : '';
  return hash([input.subgraph, rightsClass(input.principal), reader, request, input.query, input.variables ?? null]);
}

/**
 * The cache key: subgraph, rights class, the UTC day (answers computed "as of today" change
 * at midnight), query text and variables. Only for cacheable fetches, which read no personal field.
 */
export function cacheKey(input: KeyInput, now: Date = new Date()): string {
  const day = now.toISOString().slice(0, 10);
  return hash([input.subgraph, rightsClass(input.principal), day, input.query, input.variables ?? null]);
}
