import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { commandCounter } from '../helpers/commands.js';
import { asGateway, postGraphQL, startTestSystem, type TestSystem } from '../helpers/system.js';

/**
 * `casesById(ids:)` (issue #18: the subscription's batched case fetch): each element is what
 * `case(id:)` gives for that id, as that reader, in the order asked; one store read for all of
 * them; at most 100 ids; anonymous callers refused even with no ids.
 */
describe('casesById: several cases at once, each as case(id:) gives it', () => {
  let system: TestSystem;
  let docs: CaseDoc[];
  const SELECTION = 'caseReference status countryOfOrigin { name } partner { name } entitlement { totalCents }';
  beforeAll(async () => {
    system = await startTestSystem({ cases: 60 });
    docs = await casesModels(system.connections.cases).Case.find().sort({ _id: 1 }).limit(60).lean<CaseDoc[]>();
  });
  afterAll(async () => {
    await system?.stop();
  });

  const one = async (id: string, headers: Record<string, string>) =>
    (await system.graphql<{ case: unknown }>(`query($id: ID!) { case(id: $id) { ${SELECTION} } }`, { id }, headers))
      .body;
  const many = (ids: unknown, headers: Record<string, string>) =>
    system.graphql<{ casesById: unknown[] | null }>(
      `query($ids: [ID!]!) { casesById(ids: $ids) { ${SELECTION} } }`,
      { ids },
      headers,
    );

  it('gives, in the order asked, exactly what case(id:) gives each reader (null when unseen or unknown)', async () => {
    const withPartner = docs.find((d) => d.partnerId !== null)!;
    const otherPartner = docs.find((d) => d.partnerId !== null && d.partnerId !== withPartner.partnerId)!;
    const otherState = docs.find((d) => d.memberState !== withPartner.memberState)!;
    const readers: Principal[] = [
      { subject: 'admin', role: 'ADMIN' },
      { subject: 'analyst', role: 'EU_ANALYST' },
      { subject: 'partner', role: 'PARTNER', partnerId: withPartner.partnerId! },
      { subject: 'ministry', role: 'MEMBER_STATE', memberState: withPartner.memberState },
    ];
    const ids = [
      otherState._id.toHexString(),
      withPartner._id.toHexString(),
      'ffffffffffffffffffffffff', // well-formed, no such case
      otherPartner._id.toHexString(),
      'not-an-id',
      withPartner._id.toHexString(), // twice
    ];
    for (const reader of readers) {
      const headers = await system.as(reader);
      const { status, body } = await many(ids, headers);
      expect(status).toBe(200);
      const singles = await Promise.all(ids.map((id) => one(id, headers)));
      expect(body.data!.casesById).toEqual(singles.map((s) => s.data!.case));
      expect(body.errors ?? []).toEqual([]);
      // Not vacuous: every reader sees the case of its own partner/Member State (an analyst its pseudonym).
      expect(body.data!.casesById![1]).toMatchObject({ status: withPartner.status });
      if (reader.role === 'ADMIN')
        expect(body.data!.casesById![1]).toMatchObject({ caseReference: withPartner.caseReference });
    }
    const partner = (await many(ids, await system.as(readers[2]!))).body.data!.casesById!;
    expect(partner[3]).toBeNull(); // another partner's case
    const ministry = (await many(ids, await system.as(readers[3]!))).body.data!.casesById!;
    expect(ministry[0]).toBeNull(); // another Member State's case
  });

  it('reads the store once for all the ids', async () => {
    const counter = commandCounter(system.connections.cases);
    counter.start();
    const ids = docs.slice(0, 40).map((d) => d._id.toHexString());
    const { body } = await postGraphQL<{ casesById: Array<{ caseReference: string }> }>(
      `${system.subgraphs.cases.url}/graphql`,
      'query($ids: [ID!]!) { casesById(ids: $ids) { caseReference } }',
      { ids },
      asGateway(system.config, { subject: 'admin', role: 'ADMIN' }),
    );
    const commands = counter.stop().filter((c) => c === 'find');
    expect(body.data!.casesById.map((c) => c.caseReference)).toEqual(docs.slice(0, 40).map((d) => d.caseReference));
    expect(commands).toHaveLength(1);
  });

  it('refuses more than 100 ids, malformed arguments and anonymous callers, saying why', async () => {
    const admin = await system.as({ subject: 'admin', role: 'ADMIN' });
    const tooMany = await many(
      Array.from({ length: 101 }, () => docs[0]!._id.toHexString()),
      admin,
    );
    expect(tooMany.body.data?.casesById ?? null).toBeNull();
    expect(tooMany.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(tooMany.body.errors?.[0]?.message).toMatch(/at most 100 ids \(got 101\)/);
    // Exactly 100 is fine (duplicates included).
    const hundred = await many(
      Array.from({ length: 100 }, (_, i) => docs[i % docs.length]!._id.toHexString()),
      admin,
    );
    expect(hundred.body.errors ?? []).toEqual([]);
    expect(hundred.body.data!.casesById).toHaveLength(100);
    for (const hostile of [null, [null], [{ $gt: '' }], [['nested']], { ids: [] }]) {
      const { body } = await many(hostile, admin);
      expect(body.data ?? null).toBeNull();
      expect(body.errors?.[0]?.extensions?.code).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
    }
    // A long string id is an id that cannot exist: null, not an error or a scan.
    const long = await many(['x'.repeat(10_000), "'; db.dropDatabase(); '"], admin);
    expect(long.body.data!.casesById).toEqual([null, null]);
    const empty = await many([], admin);
    expect(empty.body.data!.casesById).toEqual([]);
    const anonymous = await many([], { authorization: '' });
    expect(anonymous.body.data?.casesById ?? null).toBeNull();
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe(
      (await one(docs[0]!._id.toHexString(), { authorization: '' })).errors?.[0]?.extensions?.code,
    );
    expect(anonymous.body.errors?.[0]?.extensions?.code).toMatch(/UNAUTHENTICATED|FORBIDDEN/);
  });
});
