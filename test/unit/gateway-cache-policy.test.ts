import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  analyseFetch,
  cacheKey,
  inflightKey,
  personalFieldIndex,
  personalFieldNamesBySubgraph,
  selectsPersonalField,
  rightsClass,
  type KeyInput,
} from '../../gateway/cache/policy.js';
import { SUPERGRAPH_FILE } from '../../gateway/compose.js';
import type { Principal } from '../../shared/auth.js';

const personal = personalFieldNamesBySubgraph(readFileSync(SUPERGRAPH_FILE, 'utf8'));
const index = personalFieldIndex(readFileSync(SUPERGRAPH_FILE, 'utf8'));
const analyse = (subgraph: string, query: string) => analyseFetch(subgraph, query, index);
const ENTITIES = (body: string) =>
  `query($representations:[_Any!]!){_entities(representations:$representations){${body}}}`;

const be: Principal = { subject: 'be-1', role: 'MEMBER_STATE', memberState: 'BE' };
const de: Principal = { subject: 'de-1', role: 'MEMBER_STATE', memberState: 'DE' };

describe('personal fields per subgraph, from the supergraph', () => {
  it('marks the cases subgraph personal fields and none of the partners subgraph', () => {
    expect(personal.get('cases')?.has('mainApplicant')).toBe(true);
    expect(personal.get('cases')?.has('dateOfBirth')).toBe(true);
    // Person.name is personal in cases; Partner.name in partners is not.
    expect(personal.get('partners')?.has('name') ?? false).toBe(false);
  });
});

describe('which subgraph fetches are cached', () => {
  it('caches reference data and aggregates, with the tags that invalidate them', () => {
    expect(analyse('partners', '{partners{id name capacity}}')).toEqual({
      kind: 'query',
      tags: ['ref:all', 'ref:partners'],
      personal: false,
    });
    expect(analyse('coverage', ENTITIES('...on CountryOfOrigin{name}')).tags).toEqual(['ref:all', 'ref:coverage']);
    expect(analyse('finance', ENTITIES('...on Case{entitlement{totalCents}}')).tags).toEqual([
      'proj:finance-projector',
      'ref:all',
      'ref:finance',
    ]);
    expect(analyse('cases', '{statistics{totalCases}}').tags).toEqual(['proj:statistics-projector', 'ref:all']);
    expect(analyse('cases', 'query Q($f:StatisticsFilter){__typename statistics(filter:$f){scope}}').tags).toEqual([
      'proj:statistics-projector',
      'ref:all',
    ]);
  });

  it('never caches cases, audits, unknown subgraphs, mixed roots or unknown entity types', () => {
    expect(analyse('cases', '{cases(first:50){edges{node{id}}}}').tags).toBeNull();
    expect(analyse('cases', '{statistics{totalCases} cases(first:1){totalCount}}').tags).toBeNull();
    expect(analyse('coverage', '{referenceDataChanges{at}}').tags).toBeNull();
    expect(analyse('finance', '{tariffChanges{at}}').tags).toBeNull();
    expect(analyse('elsewhere', '{partners{id}}').tags).toBeNull();
    expect(analyse('cases', ENTITIES('...on Partner{qualityIndicators{casesAssigned}}')).tags).toBeNull();
    expect(analyse('partners', ENTITIES('...on Partner{name} ...on Secret{x}')).tags).toBeNull();
    expect(analyse('partners', ENTITIES('id')).tags).toBeNull();
    // A root field named like an inherited object property is not a policy entry.
    expect(analyse('partners', '{constructor toString}').tags).toBeNull();
  });

  it('follows named fragments and refuses a spread of an unknown fragment', () => {
    const named = `${ENTITIES('...P')} fragment P on Partner{name}`;
    expect(analyse('partners', named).tags).toEqual(['ref:all', 'ref:partners']);
    expect(analyse('partners', ENTITIES('...Missing')).tags).toBeNull();
  });

  it('never caches mutations, subscriptions, several operations or what does not parse', () => {
    expect(analyse('coverage', 'mutation{addMemberState(input:{code:"IE"}){code}}')).toMatchObject({
      kind: 'mutation',
      tags: null,
    });
    expect(analyse('cases', 'subscription{caseEvents{id}}')).toMatchObject({ kind: 'subscription', tags: null });
    expect(analyse('partners', '{partners{id}} query B{partners{id}}')).toMatchObject({ kind: 'invalid', tags: null });
    expect(analyse('partners', '{partners{')).toMatchObject({ kind: 'invalid', tags: null, personal: true });
    expect(analyse('partners', '')).toMatchObject({ kind: 'invalid', tags: null });
    // Hostile: deeply nested selections parse or fail, never throw out of the analysis.
    const deep = `{partners${'{a'.repeat(5_000)}${'}'.repeat(5_000)}}`;
    expect(() => analyse('partners', deep)).not.toThrow();
  });

  it('marks fetches that read personal fields (never cached, merged per request)', () => {
    const query = '{case(id:"1"){mainApplicant{name dateOfBirth}}}';
    expect(analyse('cases', query)).toEqual({ kind: 'query', tags: null, personal: true });
    expect(analyse('cases', '{statistics{totalCases} x: case(id:"1"){mainApplicant{name}}}').tags).toBeNull();
  });
});

describe('personal fields by type, not by name', () => {
  it('an aggregate named like a personal field is cached; the personal field of that name is not', () => {
    // SustainabilityAnswer.value is personal; IndicatorValue.value and IndicatorBreach.value are aggregates.
    expect(index.fields.has('SustainabilityAnswer.value')).toBe(true);
    expect(analyse('cases', '{indicatorBreaches(open:true,first:100){id period value minimumStandard}}')).toEqual({
      kind: 'query',
      tags: ['proj:indicator-projector', 'ref:all'],
      personal: false,
    });
    const values =
      'query Q($p:IndicatorScopeKind!){indicators{id} indicatorValues(perspective:$p,first:500){...V}} ' +
      'fragment V on IndicatorValue{indicatorId period value casesCounted}';
    expect(analyse('cases', values)).toMatchObject({ personal: false, tags: ['proj:indicator-projector', 'ref:all'] });
  });

  it('finds a personal field however it is reached: nested, in fragments, through _entities, or by a name only', () => {
    const answers = 'case(id:"1"){sustainabilityAssessments{answers{itemId value}}}';
    const personalSelections = [
      `{${answers}}`,
      '{x:case(id:"1"){...F}} fragment F on Case{mainApplicant{pseudonym}}',
      '{case(id:"1"){... on Case{familyMembers{ageBand}}}}',
      ENTITIES('... on Case{mainApplicant{name}}'),
      ENTITIES('...C') + ' fragment C on Case{caseReference mainApplicant{dateOfBirth}}',
      // A type the index does not know: every marked name counts.
      '{unknownRoot{value}}',
      ENTITIES('... on NoSuchType{value}'),
      // A spread of a fragment the document does not define.
      '{case(id:"1"){...Missing}}',
    ];
    for (const query of personalSelections) {
      expect(selectsPersonalField(parse(query), 'cases', index), query).toBe(true);
    }
    expect(selectsPersonalField(parse('{indicatorValues(perspective:PROGRAMME){value}}'), 'cases', index)).toBe(false);
    // Known types all the way down: the answers' value is found by type (the name fallback is not needed).
    const byType = { ...index, names: new Map() };
    expect(selectsPersonalField(parse(`{${answers}}`), 'cases', byType)).toBe(true);
    expect(selectsPersonalField(parse('{indicatorValues(perspective:PROGRAMME){value}}'), 'cases', byType)).toBe(false);
    // A fragment spread twice is walked once, and a cycle ends.
    const twice = '{a:case(id:"1"){...F} b:case(id:"2"){...F}} fragment F on Case{status}';
    expect(selectsPersonalField(parse(twice), 'cases', index)).toBe(false);
    expect(selectsPersonalField(parse('{case(id:"1"){...F}} fragment F on Case{...F}'), 'cases', index)).toBe(false);
  });

  it('on an interface or union, a field personal on any type it may be counts', () => {
    const sdl = `
      type Query { things: [Thing] any: [Either] }
      interface Thing { id: ID score: Float }
      type Open implements Thing { id: ID score: Float }
      type Closed implements Thing { id: ID score: Float @personal }
      type Aggregate { score: Float }
      union Either = Open | Aggregate
    `;
    const small = personalFieldIndex(sdl);
    expect(selectsPersonalField(parse('{things{id score}}'), 'x', small)).toBe(true);
    expect(selectsPersonalField(parse('{things{id}}'), 'x', small)).toBe(false);
    expect(selectsPersonalField(parse('{any{... on Aggregate{score}}}'), 'x', small)).toBe(false);
    expect(selectsPersonalField(parse('{any{... on Thing{score}}}'), 'x', small)).toBe(true);
  });

  it('a mark on an interface field holds for every type implementing it, by type and by name', () => {
    // Composition may keep the mark on the interface only; a planner selects through `... on Impl`.
    const sdl = `
      type Query { things: [Thing] any: [Either] }
      interface Thing { id: ID secret: String @personal }
      type Open implements Thing { id: ID secret: String }
      type Closed implements Thing { id: ID secret: String }
      type Other { id: ID }
      union Either = Open | Other
    `;
    const small = personalFieldIndex(sdl);
    expect(selectsPersonalField(parse('{things{... on Open{secret}}}'), 'x', small)).toBe(true);
    expect(selectsPersonalField(parse('{any{... on Open{secret}}}'), 'x', small)).toBe(true);
    expect(selectsPersonalField(parse('{things{id}}'), 'x', small)).toBe(false);
    const graphs = `
      enum join__Graph { X @join__graph(name: "x", url: "http://x") }
      interface Thing @join__type(graph: X) { secret: String @personal }
    `;
    expect(personalFieldNamesBySubgraph(graphs).get('x')?.has('secret')).toBe(true);
  });

  it('two fragments of one name, or an entity type named like an object property, are never judged shareable', () => {
    const twice = '{case(id:"1"){...F}} fragment F on Case{mainApplicant{name}} fragment F on Case{status}';
    expect(selectsPersonalField(parse(twice), 'cases', index)).toBe(true);
    expect(analyse('coverage', ENTITIES('... on constructor{__typename}')).tags).toBeNull();
    expect(analyse('coverage', ENTITIES('... on __proto__{__typename}')).tags).toBeNull();
  });

  it('walks a deeply nested document without exhausting the stack', () => {
    const deep = parse(`{case(id:"1")${'{a'.repeat(1_000)}${'}'.repeat(1_000)}}`, { maxTokens: 100_000 });
    expect(selectsPersonalField(deep, 'cases', index)).toBe(false);
  });
});

describe('keys', () => {
  const base = (over: Partial<KeyInput> = {}): KeyInput => ({
    subgraph: 'cases',
    query: '{statistics{totalCases}}',
    variables: null,
    principal: be,
    requestId: 'r1',
    requestIdSource: 'GATEWAY',
    analysis: analyse('cases', '{statistics{totalCases}}'),
    ...over,
  });

  it('the rights class is role, Member State and partner, never the subject', () => {
    expect(rightsClass(be)).toBe('MEMBER_STATE|BE|');
    expect(rightsClass({ ...be, subject: 'someone-else' })).toBe(rightsClass(be));
    expect(rightsClass(de)).not.toBe(rightsClass(be));
    expect(rightsClass({ subject: 'p', role: 'PARTNER', partnerId: 'weldo' })).not.toBe(
      rightsClass({ subject: 'p', role: 'PARTNER', partnerId: 'irara' }),
    );
    expect(rightsClass(null)).toBe('anonymous');
  });

  it('no two rights classes, days, variables or subgraphs share a cache key', () => {
    const day = new Date('2024-06-01T12:00:00Z');
    const key = cacheKey(base(), day);
    expect(cacheKey(base({ principal: { ...be, subject: 'other' } }), day)).toBe(key);
    expect(cacheKey(base({ principal: de }), day)).not.toBe(key);
    expect(cacheKey(base({ principal: null }), day)).not.toBe(key);
    expect(cacheKey(base({ variables: { f: 1 } }), day)).not.toBe(key);
    expect(cacheKey(base({ subgraph: 'partners' }), day)).not.toBe(key);
    expect(cacheKey(base(), new Date('2024-06-02T00:00:01Z'))).not.toBe(key);
  });

  it('merges across readers of one rights class only where the answer cannot depend on the reader', () => {
    const partners = analyse('partners', '{partners{id}}');
    const a = inflightKey(base({ subgraph: 'partners', analysis: partners }));
    expect(inflightKey(base({ subgraph: 'partners', analysis: partners, principal: { ...be, subject: 'x' } }))).toBe(a);
    expect(inflightKey(base({ subgraph: 'partners', analysis: partners, requestId: 'r2' }))).toBe(a);
    // The cases subgraph answers per reader (unread messages, support-desk grants).
    expect(inflightKey(base({ principal: { ...be, subject: 'x' } }))).not.toBe(inflightKey(base()));
    // A personal read is never merged across requests (each is logged under its own request id).
    const personalRead = analyse('cases', '{case(id:"1"){mainApplicant{name}}}');
    const p = inflightKey(base({ analysis: personalRead }));
    expect(inflightKey(base({ analysis: personalRead, requestId: 'r2' }))).not.toBe(p);
    expect(inflightKey(base({ analysis: personalRead, requestIdSource: 'CLIENT' }))).not.toBe(p);
    expect(inflightKey(base({ analysis: personalRead }))).toBe(p);
  });
});
