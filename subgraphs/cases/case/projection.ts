import { Kind, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

/**
 * The stored paths a page of cases must read for what the query selects, so a list reads
 * its cases' summary fields instead of whole documents (a stored case is about 5 KB: its
 * history, plans, persons). A projection is only used when every selected `Case` field is
 * one whose resolver reads nothing but the paths named here; any other field (personal
 * data, history, plans, fields other modules add to `Case`) reads the whole document, as
 * before. The result is the same either way: a projection only leaves out what no
 * selected resolver reads.
 */

/** Read by every case whatever is selected: the id, and what access decisions look at (access.ts). */
const ALWAYS = ['_id', 'memberState', 'partnerId'] as const;

/** `Case` fields whose resolvers (resolvers.ts, or the default resolver) read only these paths. */
const CASE_FIELD_PATHS: Readonly<Record<string, readonly string[]>> = {
  __typename: [],
  id: [],
  caseReference: ['caseReference'],
  sendingMemberState: [],
  returnType: ['returnType'],
  charterFlight: ['charterFlight'],
  packages: ['packages'],
  countryOfOrigin: ['countryOfOrigin'],
  partner: [],
  status: ['status'],
  familySize: ['familySize'],
  departureDate: ['departureDate'],
  arrivalDate: ['arrivalDate'],
  version: ['version'],
  createdAt: ['createdAt'],
  updatedAt: ['updatedAt'],
  windowFlags: ['windowFlags'],
  milestones: ['milestones'],
  postArrivalServices: ['postArrivalServices'],
  eligibility: ['eligibility'],
  erasure: ['erasure'],
  // windows.ts: the dates, the charter flag; the Member State's rules come from its own loader.
  postArrivalEndsOn: ['departureDate', 'arrivalDate', 'charterFlight'],
  postReturnEndsOn: ['departureDate', 'arrivalDate', 'charterFlight'],
  requestWindowEndsOn: ['departureDate', 'arrivalDate', 'charterFlight'],
};

/** Selections deeper than this are not looked into (the whole document is read). */
const MAX_FRAGMENT_DEPTH = 16;

type Fragments = Readonly<Record<string, FragmentDefinitionNode>>;

/**
 * The fields selected in `selectionSet`, fragments spread and inlined (aliases and
 * `@include`/`@skip` ignored: a field that may be selected is counted as selected).
 * Undefined when a fragment is unknown or nested too deeply.
 */
function selectedFields(
  selectionSet: SelectionSetNode | undefined,
  fragments: Fragments,
  depth = 0,
): FieldNode[] | undefined {
  if (!selectionSet) return [];
  if (depth > MAX_FRAGMENT_DEPTH) return undefined;
  const fields: FieldNode[] = [];
  for (const selection of selectionSet.selections) {
    let inner: FieldNode[] | undefined;
    if (selection.kind === Kind.FIELD) {
      fields.push(selection);
      continue;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      inner = selectedFields(selection.selectionSet, fragments, depth + 1);
    } else {
      const fragment = Object.hasOwn(fragments, selection.name.value) ? fragments[selection.name.value] : undefined;
      inner = fragment ? selectedFields(fragment.selectionSet, fragments, depth + 1) : undefined;
    }
    if (!inner) return undefined;
    fields.push(...inner);
  }
  return fields;
}

/** The children of every field named `name` in `fields`; undefined if a selection cannot be read. */
function childrenOf(fields: readonly FieldNode[], name: string, fragments: Fragments): FieldNode[] | undefined {
  const children: FieldNode[] = [];
  for (const field of fields) {
    if (field.name.value !== name) continue;
    const inner = selectedFields(field.selectionSet, fragments);
    if (!inner) return undefined;
    children.push(...inner);
  }
  return children;
}

/**
 * The projection for a `CaseConnection` selected by `connectionFields` (the `cases` field
 * nodes of the resolver's info), or undefined when the whole document must be read.
 */
export function casePageProjection(
  connectionFields: readonly FieldNode[],
  fragments: Fragments,
): Record<string, 1> | undefined {
  const connection: FieldNode[] = [];
  for (const field of connectionFields) {
    const inner = selectedFields(field.selectionSet, fragments);
    if (!inner) return undefined;
    connection.push(...inner);
  }
  for (const field of connection) {
    if (!['edges', 'pageInfo', 'totalCount', '__typename'].includes(field.name.value)) return undefined;
  }
  const edges = childrenOf(connection, 'edges', fragments);
  if (!edges) return undefined;
  for (const field of edges) {
    if (!['node', 'cursor', '__typename'].includes(field.name.value)) return undefined;
  }
  const nodes = childrenOf(edges, 'node', fragments);
  if (!nodes) return undefined;
  const paths = new Set<string>(ALWAYS);
  for (const field of nodes) {
    const name = field.name.value;
    const read = Object.hasOwn(CASE_FIELD_PATHS, name) ? CASE_FIELD_PATHS[name] : undefined;
    if (!read) return undefined;
    // A field with arguments is not one this table knows how to read.
    if (field.arguments && field.arguments.length > 0) return undefined;
    for (const path of read) paths.add(path);
  }
  return Object.fromEntries([...paths].map((path) => [path, 1 as const]));
}
