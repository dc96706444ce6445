import { readdirSync, readFileSync } from 'node:fs';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import {
  GraphQLScalarType,
  Kind,
  parse,
  type DefinitionNode,
  type DocumentNode,
  type ObjectTypeDefinitionNode,
  type ObjectTypeExtensionNode,
} from 'graphql';

/**
 * A subgraph's SDL is cut into slices: `schema.graphql` at the subgraph's root (what the
 * whole subgraph shares: `@link`, directives, scalars) and one `schema.graphql` per feature
 * folder. The subgraphs and the composition (gateway/compose.ts) read them the same way,
 * through this module, so the four subgraphs keep one shape.
 */
export const SCHEMA_SLICE_FILE = 'schema.graphql';

/** The slice files under a subgraph folder, relative to it: the root's first, then the folders' in path order. */
export function schemaSlicePaths(dir: URL): string[] {
  const found: string[] = [];
  const walk = (relative: string) => {
    const entries = readdirSync(new URL(relative, dir), { withFileTypes: true });
    for (const entry of entries) {
      if (entry.isDirectory()) walk(`${relative}${entry.name}/`);
      else if (entry.isFile() && entry.name === SCHEMA_SLICE_FILE) found.push(`${relative}${entry.name}`);
    }
  };
  walk('');
  return sortSlicePaths(found);
}

/** Root slice first, then by path (plain code-point order, so the order is the same on every machine). */
export function sortSlicePaths(paths: readonly string[]): string[] {
  const depth = (path: string) => path.split('/').length;
  return [...paths].sort((a, b) => {
    if (depth(a) === 1 || depth(b) === 1) return depth(a) - depth(b);
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

/** The slices' text, joined in their order. `dir` must end with `/`. */
export function readSchemaSlices(dir: URL): string {
  return schemaSlicePaths(dir)
    .map((path) => readFileSync(new URL(path, dir), 'utf8').trimEnd())
    .join('\n\n')
    .concat('\n');
}

/**
 * One document from the slices. A slice adds fields to a type another slice defines with
 * `extend type`; those fields are folded into the definition (after its own fields, in slice
 * order), so the subgraph serves and composes the same schema as if it were one file.
 * Root fields are listed feature by feature, in slice order.
 */
export function mergeSchemaSlices(source: string | DocumentNode): DocumentNode {
  const document = typeof source === 'string' ? parse(source) : source;
  const definitions = new Map<string, ObjectTypeDefinitionNode>();
  for (const node of document.definitions) {
    if (node.kind === Kind.OBJECT_TYPE_DEFINITION) definitions.set(node.name.value, node);
  }
  const folded = new Map<string, ObjectTypeDefinitionNode>();
  const rest: DefinitionNode[] = [];
  for (const node of document.definitions) {
    if (node.kind === Kind.OBJECT_TYPE_EXTENSION && definitions.has(node.name.value)) {
      const name = node.name.value;
      folded.set(name, foldExtension(folded.get(name) ?? definitions.get(name)!, node));
    } else rest.push(node);
  }
  const merged = rest.map((node) =>
    node.kind === Kind.OBJECT_TYPE_DEFINITION ? (folded.get(node.name.value) ?? node) : node,
  );
  return { kind: Kind.DOCUMENT, definitions: merged };
}

function foldExtension(type: ObjectTypeDefinitionNode, extension: ObjectTypeExtensionNode): ObjectTypeDefinitionNode {
  const names = new Set((type.fields ?? []).map((field) => field.name.value));
  for (const field of extension.fields ?? []) {
    if (names.has(field.name.value)) throw new Error(`${type.name.value}.${field.name.value} is defined by two slices`);
  }
  return {
    ...type,
    interfaces: [...(type.interfaces ?? []), ...(extension.interfaces ?? [])],
    directives: [...(type.directives ?? []), ...(extension.directives ?? [])],
    fields: [...(type.fields ?? []), ...(extension.fields ?? [])],
  };
}

/** A subgraph's SDL: its slices read and merged. `dir` is the subgraph's folder URL, ending with `/`. */
export function loadSchemaFiles(dir: URL): DocumentNode {
  return mergeSchemaSlices(readSchemaSlices(dir));
}

type ResolverEntry<TContext> = GraphQLResolverMap<TContext>[string];

/** The features' resolver slices as one map; a type or field resolved by two slices is a mistake, not an override. */
export function mergeResolvers<TContext>(
  ...slices: ReadonlyArray<GraphQLResolverMap<TContext>>
): GraphQLResolverMap<TContext> {
  const merged: GraphQLResolverMap<TContext> = {};
  for (const slice of slices) {
    for (const [typeName, entry] of Object.entries(slice) as Array<[string, ResolverEntry<TContext>]>) {
      const existing = merged[typeName];
      if (existing === undefined) {
        merged[typeName] = entry instanceof GraphQLScalarType ? entry : { ...entry };
        continue;
      }
      if (existing instanceof GraphQLScalarType || entry instanceof GraphQLScalarType) {
        throw new Error(`${typeName} is resolved by two slices`);
      }
      for (const field of Object.keys(entry)) {
        if (field in existing) throw new Error(`${typeName}.${field} is resolved by two slices`);
      }
      merged[typeName] = { ...existing, ...entry } as ResolverEntry<TContext>;
    }
  }
  return merged;
}
