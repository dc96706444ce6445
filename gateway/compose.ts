import { composeServices } from '@apollo/composition';
import type { GraphQLSchema } from 'graphql';
import { mergeSchemaSlices, readSchemaSlices } from '../shared/schema-slices.js';

/** The four subgraphs, in the order the gateway lists them. */
export const SUBGRAPHS = ['cases', 'partners', 'coverage', 'finance'] as const;
export type SubgraphId = (typeof SUBGRAPHS)[number];

export const SUPERGRAPH_FILE = new URL('./supergraph.graphql', import.meta.url);
/** The published API SDL (what clients see, `Subscription` included): written with the supergraph. */
export const PUBLISHED_SCHEMA_FILE = new URL('../docs/schema.graphql', import.meta.url);

/**
 * Hint codes we accept after review; every other hint fails composition, because hints
 * such as inconsistent field types or enum values usually mean two teams disagree.
 */
export const ACCEPTED_HINT_CODES: ReadonlySet<string> = new Set([]);

export class CompositionFailedError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Supergraph composition failed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'CompositionFailedError';
  }
}

/** Subgraphs whose root fields are not listed in the order of their schema slices (shared/schema-slices.ts). */

/** A subgraph's SDL as its slices read, joined (the subgraph's root `schema.graphql`, then its folders'). */
export function subgraphSdl(name: SubgraphId): string {
  return readSchemaSlices(new URL(`../subgraphs/${name}/`, import.meta.url));
}

/**
 * Composes the supergraph from the subgraphs' SDL slices, merged as the subgraphs merge them.
 * Routing URLs are placeholders the gateway overrides from its configuration, so the file
 * does not depend on hosts.
 */
export function composeSupergraph(overrides: Partial<Record<SubgraphId, string>> = {}): string {
  return composeGraph(overrides).supergraphSdl;
}

/** The supergraph (see composeSupergraph) and the API schema clients see (no federation internals). */
export function composeGraph(overrides: Partial<Record<SubgraphId, string>> = {}): {
  supergraphSdl: string;
  apiSchema: GraphQLSchema;
} {
  const result = composeServices(
    SUBGRAPHS.map((name) => ({
      name,
      typeDefs: mergeSchemaSlices(overrides[name] ?? subgraphSdl(name)),
      url: `http://${name}.subgraph.invalid/graphql`,
    })),
  );
  if (result.errors) throw new CompositionFailedError(result.errors.map((e) => e.message));
  const blocking = result.hints.filter((hint) => !ACCEPTED_HINT_CODES.has(hint.definition.code));
  if (blocking.length > 0)
    throw new CompositionFailedError(blocking.map((h) => `[hint ${h.definition.code}] ${h.message}`));
  return {
    supergraphSdl: `${result.supergraphSdl.trimEnd()}\n`,
    apiSchema: result.schema.toAPISchema().toGraphQLJSSchema(),
  };
}
