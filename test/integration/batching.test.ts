import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTRIES_OF_ORIGIN, MEMBER_STATES } from '../../shared/domain.js';
import type { SubgraphName } from '../../shared/mongo.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { commandCounter } from '../helpers/commands.js';
import { asGateway, postGraphQL, startTestSystem, type TestSystem } from '../helpers/system.js';

/**
 * Every entity reference is resolved in batches: N references cost the same number of
 * database commands as 1. Counted with MongoDB command monitoring on each subgraph's
 * own connection, against the real store.
 */
describe('entity references are batched (no N+1)', () => {
  let system: TestSystem;
  let docs: CaseDoc[];
  beforeAll(async () => {
    system = await startTestSystem({ cases: 150 });
    docs = await casesModels(system.connections.cases).Case.find().limit(100).lean<CaseDoc[]>();
  });
  afterAll(async () => {
    await system?.stop();
  });

  async function commandsForEntities(
    subgraph: SubgraphName,
    representations: unknown[],
    selection: string,
  ): Promise<string[]> {
    const counter = commandCounter(system.connections[subgraph]);
    counter.start();
    const { body } = await postGraphQL<{ _entities: unknown[] }>(
      `${system.subgraphs[subgraph].url}/graphql`,
      `query($r: [_Any!]!) { _entities(representations: $r) { ${selection} } }`,
      { r: representations },
      asGateway(system.config, { subject: 'test-admin', role: 'ADMIN' }),
    );
    const commands = counter.stop();
    expect(body.errors).toBeUndefined();
    expect(body.data!._entities).toHaveLength(representations.length);
    return commands;
  }

  const cases = (n: number) => docs.slice(0, n).map((d) => ({ __typename: 'Case', id: d._id.toHexString() }));
  const countries = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      __typename: 'CountryOfOrigin',
      code:
        COUNTRIES_OF_ORIGIN[i % COUNTRIES_OF_ORIGIN.length]!.code + (i >= COUNTRIES_OF_ORIGIN.length ? String(i) : ''),
    }));
  const memberStates = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      __typename: 'MemberState',
      code: MEMBER_STATES[i % MEMBER_STATES.length]!.code + (i >= MEMBER_STATES.length ? String(i) : ''),
    }));
  const partners = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      __typename: 'Partner',
      id: i < 5 ? ['caritas-be', 'irara', 'life-makers', 'ettc', 'weldo'][i] : `p-${i}`,
    }));
  const financeCases = (n: number) =>
    docs.slice(0, n).map((d) => ({
      __typename: 'Case',
      id: d._id.toHexString(),
      packages: d.packages,
      returnType: d.returnType,
      familySize: d.familySize,
      departureDate: d.departureDate,
    }));

  it.each([
    ['cases', cases, '... on Case { id caseReference }'],
    ['partners', partners, '... on Partner { id }'],
    ['coverage', countries, '... on CountryOfOrigin { code coverage { validFrom } }'],
    ['coverage', memberStates, '... on MemberState { code name }'],
    ['finance', financeCases, '... on Case { entitlement { totalCents } }'],
    ['cases', partners, '... on Partner { qualityIndicators { casesAssigned completionRate } }'],
    ['coverage', partners, '... on Partner { countriesServed { code name } }'],
    ['finance', partners, '... on Partner { spend(year: 2024) { committedCents } }'],
    ['finance', countries, '... on CountryOfOrigin { spend(year: 2024) { people } }'],
    ['finance', financeCases, '... on Case { commitment { amountCents } disbursedCents disbursements { seq } }'],
  ] as const)('%s: 100 references cost as many round trips as 1', async (subgraph, make, selection) => {
    const one = await commandsForEntities(subgraph, make(1), selection);
    const hundred = await commandsForEntities(subgraph, make(100), selection);
    expect(one.length).toBeGreaterThan(0);
    expect(hundred).toEqual(one);
  });

  it('a page of 100 cases through the gateway costs a constant number of commands per subgraph', async () => {
    const counters = Object.fromEntries(
      (['cases', 'partners', 'coverage', 'finance'] as const).map((n) => [n, commandCounter(system.connections[n])]),
    );
    for (const counter of Object.values(counters)) counter.start();
    const { body } = await system.graphql<{ cases: { edges: unknown[] } }>(
      `{ cases(first: 100) { edges { node { id sendingMemberState { name } countryOfOrigin { name coverage { ` +
        `partner { id } } } partner { name } entitlement { totalCents } } } } }`,
    );
    const counts = Object.fromEntries(Object.entries(counters).map(([n, c]) => [n, c.stop().sort()]));
    expect(body.errors).toBeUndefined();
    expect(body.data!.cases.edges).toHaveLength(100);
    // cases: the page (find; the total is counted only when asked); coverage: countries, Member States, coverage rows.
    expect(counts).toEqual({
      cases: ['find'],
      partners: ['find'],
      coverage: ['find', 'find', 'find'],
      // finance: the tariffs, and the ledger entries that say which cases have nothing to pay.
      finance: ['find', 'find'],
    });
  });
});
