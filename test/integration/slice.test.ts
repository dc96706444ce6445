import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTRIES_OF_ORIGIN, PARTNERS } from '../../shared/domain.js';
import { CASE_FILTER_FIELDS, casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

const PAGE_QUERY = /* GraphQL */ `
  query Page($first: Int, $after: String, $filter: CaseFilter) {
    cases(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          id
          caseReference
          familySize
          packages
          returnType
          departureDate
          sendingMemberState {
            code
            name
          }
          countryOfOrigin {
            code
            name
          }
          partner {
            id
            name
          }
          entitlement {
            currency
            totalCents
            totalEur
            lines {
              package
              component
              persons
              unitCents
              amountCents
            }
          }
        }
      }
    }
  }
`;

interface PageNode {
  id: string;
  caseReference: string;
  familySize: number;
  packages: string[];
  returnType: string;
  departureDate: string;
  sendingMemberState: { code: string; name: string };
  countryOfOrigin: { code: string; name: string };
  partner: { id: string; name: string } | null;
  entitlement: { currency: string; totalCents: number; totalEur: number; lines: unknown[] };
}
interface PageData {
  cases: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: Array<{ cursor: string; node: PageNode }>;
  };
}

/** Entitlement computed here from docs/domain.md's table, independently of the finance code. */
function expectedEntitlementCents(doc: CaseDoc): number {
  // An ineligible or withdrawn case has nothing to pay (docs/domain.md).
  if (doc.eligibility?.outcome === 'INELIGIBLE' || doc.status === 'WITHDRAWN') return 0;
  let total = 0;
  if (doc.packages.includes('POST_ARRIVAL')) total += 615_00 * doc.familySize;
  if (doc.packages.includes('CHARTER_ARRIVAL')) total += 205_00 * doc.familySize;
  if (doc.packages.includes('POST_RETURN'))
    total += (doc.returnType === 'VOLUNTARY' ? 2_000_00 : 1_000_00) + 1_000_00 * (doc.familySize - 1);
  return total;
}

describe('a page of cases across all four subgraphs', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({ cases: 300 });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('resolves country name, partner name and entitlement from the store', async () => {
    const { status, body } = await system.graphql<PageData>(PAGE_QUERY, { first: 50 });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const page = body.data!.cases;
    expect(page.totalCount).toBe(300);
    expect(page.edges).toHaveLength(50);
    expect(page.pageInfo.hasNextPage).toBe(true);

    const stored = await casesModels(system.connections.cases).Case.find().sort({ _id: 1 }).limit(50).lean<CaseDoc[]>();
    const countryName = new Map(COUNTRIES_OF_ORIGIN.map((c) => [c.code, c.name]));
    const partnerName = new Map(PARTNERS.map((p) => [p.id, p.name]));
    page.edges.forEach(({ node }, i) => {
      const doc = stored[i]!;
      expect(node.id).toBe(doc._id.toHexString());
      expect(node.caseReference).toBe(doc.caseReference);
      expect(node.countryOfOrigin).toEqual({ code: doc.countryOfOrigin, name: countryName.get(doc.countryOfOrigin) });
      // An ineligible case is closed at insertion without a partner.
      expect(node.partner).toEqual(doc.partnerId ? { id: doc.partnerId, name: partnerName.get(doc.partnerId) } : null);
      expect(node.sendingMemberState.code).toBe(doc.memberState);
      expect(node.entitlement.currency).toBe('EUR');
      expect(node.entitlement.totalCents).toBe(expectedEntitlementCents(doc));
      expect(node.entitlement.totalEur).toBe(expectedEntitlementCents(doc) / 100);
    });
  });

  it('pages through every case exactly once with cursors', async () => {
    const seen = new Set<string>();
    let after: string | null = null;
    let pages = 0;
    do {
      const { body }: { body: { data?: PageData | null } } = await system.graphql<PageData>(
        `query($after: String) { cases(first: 120, after: $after) { pageInfo { hasNextPage endCursor } edges ` +
          `{ node { id } } } }`,
        { after },
      );
      const page: PageData['cases'] = body.data!.cases;
      for (const edge of page.edges) {
        expect(seen.has(edge.node.id)).toBe(false);
        seen.add(edge.node.id);
      }
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      pages++;
    } while (after && pages < 10);
    expect(seen.size).toBe(300);
    expect(pages).toBe(3);
  });

  it('filters by country and partner, with totals that match the store', async () => {
    const { Case } = casesModels(system.connections.cases);
    const expected = await Case.countDocuments({ countryOfOrigin: 'IQ', partnerId: 'life-makers' });
    expect(expected).toBeGreaterThan(0);
    const { body } = await system.graphql<PageData>(PAGE_QUERY, {
      first: 200,
      filter: { countriesOfOrigin: ['IQ'], partners: ['life-makers'] },
    });
    expect(body.errors).toBeUndefined();
    expect(body.data!.cases.totalCount).toBe(expected);
    for (const { node } of body.data!.cases.edges) {
      expect(node.countryOfOrigin.code).toBe('IQ');
      expect(node.partner?.name).toBe('Life Makers Foundation');
    }
  });

  it('finds one case by id and by (Member State, case reference)', async () => {
    const doc = await casesModels(system.connections.cases).Case.findOne().lean<CaseDoc>();
    const { body } = await system.graphql<{ case: { caseReference: string }; caseByReference: { id: string } }>(
      `query($id: ID!, $ms: ID!, $ref: String!) { case(id: $id) { caseReference } ` +
        `caseByReference(memberState: $ms, caseReference: $ref) { id } }`,
      { id: doc!._id.toHexString(), ms: doc!.memberState, ref: doc!.caseReference },
    );
    expect(body.data).toEqual({
      case: { caseReference: doc!.caseReference },
      caseByReference: { id: doc!._id.toHexString() },
    });
  });

  it('answers null, not an error, for an id that does not exist', async () => {
    const { body } = await system.graphql(
      `{ a: case(id: "000000000000000000000000") { id } b: case(id: "not-an-id") { id } }`,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ a: null, b: null });
  });

  it('the store has the unique (Member State, case reference) key and the list indexes', async () => {
    const indexes = await system.connections.cases.db!.collection('cases').listIndexes().toArray();
    const unique = indexes.find((i) => i.name === 'memberState_caseReference');
    expect(unique).toMatchObject({ unique: true, key: { memberState: 1, caseReference: 1 } });
    // One index per filterable field (the scopes among them): the field, then _id (page
    // order), then every other filterable field.
    for (const field of CASE_FILTER_FIELDS) {
      const index = indexes.find((i) => i.name === `${field.replace('.', '_')}_id_filters`);
      expect(index, field).toBeDefined();
      expect(Object.keys(index!.key as object)).toEqual([
        field,
        '_id',
        ...CASE_FILTER_FIELDS.filter((f) => f !== field),
      ]);
    }
    const { Case } = casesModels(system.connections.cases);
    const existing = await Case.findOne().lean<CaseDoc>().exec();
    await expect(
      Case.collection.insertOne({
        memberState: existing!.memberState,
        caseReference: existing!.caseReference,
      } as never),
    ).rejects.toMatchObject({ code: 11000 });
  });

  it('serves countries, Member States, partners and tariffs', async () => {
    const { body } = await system.graphql<{
      countriesOfOrigin: unknown[];
      memberStates: unknown[];
      partners: unknown[];
      tariffs: Array<{ amountCents: number }>;
    }>(
      `{ countriesOfOrigin { code } memberStates { code } partners { id } tariffs(on: "2024-01-15") { package ` +
        `component amountCents } }`,
    );
    expect(body.data!.countriesOfOrigin).toHaveLength(37);
    expect(body.data!.memberStates).toHaveLength(26);
    expect(body.data!.partners).toHaveLength(5);
    expect(body.data!.tariffs.map((t) => t.amountCents).sort((a, b) => a - b)).toEqual([
      20_500, 61_500, 100_000, 100_000, 200_000,
    ]);
  });
});
