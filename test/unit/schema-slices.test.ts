import { describe, expect, it } from 'vitest';
import { GraphQLScalarType, Kind, print, type DocumentNode, type ObjectTypeDefinitionNode } from 'graphql';
import { mergeResolvers, mergeSchemaSlices, schemaSlicePaths, sortSlicePaths } from '../../shared/schema-slices.js';
import type { GraphQLResolverMap } from '../../shared/subgraph.js';
import { casesResolvers, casesTypeDefs } from '../../subgraphs/cases/subgraph.js';
import { financeResolvers, financeTypeDefs } from '../../subgraphs/finance/subgraph.js';

function fieldsOf(document: DocumentNode, type: string): string[] {
  const node = document.definitions.find(
    (d): d is ObjectTypeDefinitionNode => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === type,
  );
  return (node?.fields ?? []).map((field) => field.name.value);
}

describe('schema slices (shared/schema-slices.ts)', () => {
  it('reads the root slice first, then the folders in path order', () => {
    expect(
      sortSlicePaths(['webhooks/schema.graphql', 'case/schema.graphql', 'schema.graphql', 'a/b/schema.graphql']),
    ).toEqual(['schema.graphql', 'a/b/schema.graphql', 'case/schema.graphql', 'webhooks/schema.graphql']);
    expect(schemaSlicePaths(new URL('../../subgraphs/cases/', import.meta.url))).toEqual([
      'schema.graphql',
      'case/schema.graphql',
      'data-protection/schema.graphql',
      'indicators/schema.graphql',
      'ingestion/schema.graphql',
      'messages/schema.graphql',
      'monitoring/schema.graphql',
      'quality/schema.graphql',
      'statistics/schema.graphql',
      'webhooks/schema.graphql',
      'worklist/schema.graphql',
    ]);
    expect(schemaSlicePaths(new URL('../../subgraphs/partners/', import.meta.url))).toEqual(['schema.graphql']);
  });

  it('folds extensions into the definition, after its own fields, wherever the definition is', () => {
    const merged = mergeSchemaSlices(
      'extend type Query { b: Int }\n"The root." type Query { a: Int }\n' +
        'extend type Query { c: Int }\ntype T { x: Int }',
    );
    expect(merged.definitions.map((d) => d.kind)).toEqual([Kind.OBJECT_TYPE_DEFINITION, Kind.OBJECT_TYPE_DEFINITION]);
    expect(fieldsOf(merged, 'Query')).toEqual(['a', 'b', 'c']);
    expect(print(merged)).toContain('"The root."');
    // An extension of a type no slice defines is left for the composition to judge.
    expect(mergeSchemaSlices('extend type Other { a: Int }').definitions[0]?.kind).toBe(Kind.OBJECT_TYPE_EXTENSION);
  });

  it('refuses a field defined by two slices', () => {
    expect(() => mergeSchemaSlices('type Query { a: Int }\nextend type Query { a: String }')).toThrow(
      'Query.a is defined by two slices',
    );
  });

  it('lists root fields feature by feature, and the finance fields of Case in their published order', () => {
    // The case core's slice comes first (its folder sorts first), then each feature's.
    expect(fieldsOf(casesTypeDefs, 'Query')).toEqual([
      ...['cases', 'case', 'casesById', 'caseByReference', 'eligibilityRules'],
      ...['personalDataReads', 'personalDataErasures', 'personalDataAccessGrants', 'retentionRuns'],
      ...['indicators', 'indicatorValues', 'indicatorValuesCsv', 'indicatorBreaches'],
      ...['ingestionFeed', 'ingestionFeeds', 'feedProfiles', 'feedProfile', 'feedProfileChanges'],
      // Monitoring records (#16, M2).
      ...['sustainabilityInstrument', 'monitoringVisits'],
      'dataQuality',
      'statistics',
      'crossTabulation',
      ...['webhooks', 'webhookDeliveries'],
      'myWorklist',
    ]);
    expect(fieldsOf(casesTypeDefs, 'Partner')).toEqual(['id', 'cases', 'qualityIndicators']);
    expect(fieldsOf(financeTypeDefs, 'Query')).toEqual(['tariffs', 'tariffChanges', 'financeSummary', 'financeYears']);
    expect(fieldsOf(financeTypeDefs, 'Case').slice(-5)).toEqual([
      'entitlement',
      'commitment',
      'disbursements',
      'disbursedCents',
      'paidByPlanLine',
    ]);
  });

  it('the merged resolvers resolve every root field of the merged schema', () => {
    for (const [typeDefs, resolvers] of [
      [casesTypeDefs, casesResolvers],
      [financeTypeDefs, financeResolvers],
    ] as const) {
      for (const root of ['Query', 'Mutation']) {
        const resolved = Object.keys(resolvers[root] ?? {});
        expect(fieldsOf(typeDefs, root).filter((field) => !resolved.includes(field))).toEqual([]);
      }
    }
  });
});

describe('mergeResolvers', () => {
  const scalar = new GraphQLScalarType({ name: 'S' });
  const a: GraphQLResolverMap<unknown> = { S: scalar, Query: { a: () => 1 }, T: { x: () => 'x' } };
  const b: GraphQLResolverMap<unknown> = { Query: { b: () => 2 }, U: { y: () => 'y' } };

  it('merges the slices type by type, keeping scalars as they are', () => {
    const merged = mergeResolvers(a, b);
    expect(merged.S).toBe(scalar);
    expect(Object.keys(merged.Query ?? {})).toEqual(['a', 'b']);
    expect(Object.keys(merged).sort()).toEqual(['Query', 'S', 'T', 'U']);
    // The slices themselves are not changed.
    expect(Object.keys(a.Query ?? {})).toEqual(['a']);
  });

  it('refuses a field or a scalar resolved by two slices', () => {
    expect(() => mergeResolvers(a, { Query: { a: () => 3 } })).toThrow('Query.a is resolved by two slices');
    expect(() => mergeResolvers(a, { S: new GraphQLScalarType({ name: 'S' }) })).toThrow('S is resolved by two slices');
  });
});
