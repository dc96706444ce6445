import { readFileSync } from 'node:fs';
import {
  Kind,
  parse,
  type FieldNode,
  type FragmentDefinitionNode,
  type ObjectTypeDefinitionNode,
  type OperationDefinitionNode,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { casePageProjection } from '../../subgraphs/cases/case/projection.js';

/** The `cases` field nodes of a query's operation and its fragments, as a resolver's info holds them. */
function projectionOf(query: string, fieldName = 'cases'): Record<string, 1> | undefined {
  const document = parse(query);
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  )!;
  const fields = operation.selectionSet.selections.filter(
    (s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === fieldName,
  );
  return casePageProjection(fields, fragments);
}

const ALWAYS = { _id: 1, memberState: 1, partnerId: 1 };

describe('casePageProjection: a page of cases reads only what its selection needs', () => {
  it('summary fields read their own paths and the access fields', () => {
    expect(
      projectionOf('{ cases { totalCount edges { cursor node { id status countryOfOrigin { code } } } } }'),
    ).toEqual({ ...ALWAYS, status: 1, countryOfOrigin: 1 });
  });

  it('windows read the dates and the charter flag; the README federated page reads its fields', () => {
    expect(projectionOf('{ cases { edges { node { postReturnEndsOn } } } }')).toEqual({
      ...ALWAYS,
      departureDate: 1,
      arrivalDate: 1,
      charterFlight: 1,
    });
    expect(
      projectionOf(
        '{ cases(first: 50) { totalCount pageInfo { hasNextPage endCursor } edges { node { caseReference status ' +
          'familySize packages departureDate sendingMemberState { code } partner { id } returnType } } } }',
      ),
    ).toEqual({
      ...ALWAYS,
      caseReference: 1,
      status: 1,
      familySize: 1,
      packages: 1,
      departureDate: 1,
      returnType: 1,
    });
  });

  it('fragments, inline fragments and aliases are followed', () => {
    const query =
      '{ cases { ...Conn } } fragment Conn on CaseConnection ' +
      '{ edges { ... on CaseEdge { node { ...C s: status } } } }' +
      ' fragment C on Case { ref: caseReference ... on Case { version } }';
    expect(projectionOf(query)).toEqual({ ...ALWAYS, status: 1, caseReference: 1, version: 1 });
  });

  it.each([
    ['a personal field', '{ cases { edges { node { id closingReason } } } }'],
    ['a person', '{ cases { edges { node { mainApplicant { pseudonym } } } } }'],
    ['history', '{ cases { edges { node { history { transition } } } } }'],
    ['a plan', '{ cases { edges { node { reintegrationPlan { version } } } } }'],
    ['a field another module adds to Case', '{ cases { edges { node { messageThread { unread } } } } }'],
    ['an unknown connection field', '{ cases { nodes { id } } }'],
    ['an unknown edge field', '{ cases { edges { score node { id } } } }'],
    ['a field with arguments', '{ cases { edges { node { status(as: "x") } } } }'],
    ['a fragment that is not defined', '{ cases { edges { node { ...Missing } } } }'],
    ['a prototype name', '{ cases { edges { node { constructor toString __proto__ } } } }'],
    ['a prototype fragment name', '{ cases { edges { node { ...constructor } } } }'],
  ])('%s reads the whole document', (_, query) => {
    expect(projectionOf(query)).toBeUndefined();
  });

  it('a field selected both in and out of the table reads the whole document', () => {
    expect(projectionOf('{ cases { edges { node { id } } edges { node { history { at } } } } }')).toBeUndefined();
  });

  it('hostile nesting (fragments spreading each other) ends with the whole document, not a stack overflow', () => {
    const cyclic = '{ cases { edges { node { ...A } } } } fragment A on Case { id ...B } fragment B on Case { ...A }';
    expect(projectionOf(cyclic)).toBeUndefined();
    const deep = Array.from({ length: 40 }, (_, i) => `fragment F${i} on Case { id ...F${i + 1} }`).join(' ');
    expect(
      projectionOf(`{ cases { edges { node { ...F0 } } } } ${deep} fragment F40 on Case { status }`),
    ).toBeUndefined();
  });

  it('an oversized selection of summary fields stays one small projection', () => {
    const many = Array.from({ length: 5_000 }, (_, i) => `a${i}: status`).join(' ');
    expect(projectionOf(`{ cases { edges { node { ${many} } } } }`)).toEqual({ ...ALWAYS, status: 1 });
  });

  it('a selection with nothing under node still reads the ids and access fields', () => {
    expect(projectionOf('{ cases { totalCount } }')).toEqual(ALWAYS);
  });

  it('every Case field the table lets through is in the SDL, and none is personal', () => {
    const sdl = readFileSync(new URL('../../subgraphs/cases/case/schema.graphql', import.meta.url), 'utf8');
    const caseType = parse(sdl).definitions.find(
      (d): d is ObjectTypeDefinitionNode => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === 'Case',
    )!;
    const fields = caseType.fields ?? [];
    const allowed = fields.filter((field) => projectionOf(`{ cases { edges { node { ${field.name.value} } } } }`));
    for (const field of allowed) {
      const markings = (field.directives ?? []).map((d) => d.name.value);
      expect(markings, field.name.value).not.toContain('personal');
      expect(markings, field.name.value).not.toContain('pseudonymous');
    }
    const names = allowed.map((f) => f.name.value);
    expect(names).toContain('status');
    expect(names).toContain('caseReference');
    expect(names).not.toContain('history');
    expect(names).not.toContain('mainApplicant');
  });
});
