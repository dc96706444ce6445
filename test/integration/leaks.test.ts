import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayService } from '../../gateway/server.js';
import { mintToken, type Principal } from '../../shared/auth.js';
import { personalDataReadModel } from '../../subgraphs/cases/data-protection/audit.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import {
  postGraphQL,
  silentLogger,
  startTestSystem,
  testConfig,
  type GraphQLBody,
  type TestSystem,
} from '../helpers/system.js';

/**
 * What the system lets out (issue #12, items 4, 5, 6, 8 and 10), with the whole graph in
 * production mode: metrics off the public port, error bodies without internal addresses or
 * schema suggestions, tokens that must expire, request ids a client cannot disguise, and
 * staged personal data kept INGEST_STAGED_DAYS.
 */
const LISTED = 'query Partners { partners { id name } }';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('what reaches clients and logs (production mode)', () => {
  let system: TestSystem;
  let safelisted: GatewayService;
  let downPort: number;
  let caseId: string;
  const owner: Principal = { subject: 'be-officer', role: 'MEMBER_STATE', memberState: 'BE' };

  beforeAll(async () => {
    const config = testConfig({
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: 'p'.repeat(40),
      INTERNAL_SIGNING_KEY: 's'.repeat(40),
      PSEUDONYM_KEY: 'k'.repeat(40),
      CASE_ID_KEY: 'c'.repeat(40),
      INGEST_STAGED_DAYS: '2',
    });
    system = await startTestSystem({ cases: 5, seed: 3, config });
    // A second production gateway: a safelist, and the partners subgraph where nothing listens.
    downPort = await closedPort();
    const dir = mkdtempSync(join(tmpdir(), 'leaks-'));
    const file = join(dir, 'manifest.json');
    writeFileSync(
      file,
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [{ id: sha(LISTED), name: 'Partners', type: 'query', body: LISTED }],
      }),
    );
    safelisted = await startGateway({
      config: { ...config, GRAPHQL_SAFELIST_FILE: file },
      logger: silentLogger,
      port: 0,
      metricsPort: 0,
      subgraphUrls: {
        cases: `${system.subgraphs.cases.url}/graphql`,
        partners: `http://127.0.0.1:${downPort}/graphql`,
        coverage: `${system.subgraphs.coverage.url}/graphql`,
        finance: `${system.subgraphs.finance.url}/graphql`,
      },
    });
    const report = await system.ingest('BE', [
      {
        memberState: 'BE',
        caseReference: 'BE-LEAKS-1',
        recordVersion: 1,
        returnType: 'VOLUNTARY',
        packages: ['POST_ARRIVAL'],
        countryOfOrigin: 'AF',
        departureDate: '2024-03-01',
        mainApplicant: { name: 'Amina Rahimi', dateOfBirth: '1990-01-02', sex: 'FEMALE' },
        eligibility: { requestDate: '2024-03-10', applicationSigned: true },
      },
    ]);
    expect(report.counts.created, JSON.stringify(report.rejected)).toBe(1);
    caseId = (await casesModels(system.connections.cases)
      .Case.findOne({ caseReference: 'BE-LEAKS-1' })
      .lean<CaseDoc>()
      .exec())!._id.toHexString();
  });
  afterAll(async () => {
    await safelisted?.shutdown('test done');
    await system?.stop();
  });

  describe('4. metrics', () => {
    it('are not on the public port; they are on the internal metrics port, of every gateway', async () => {
      for (const gateway of [system.gateway, safelisted]) {
        const publicPort = await fetch(`${gateway.url}/metrics`);
        expect(publicPort.status).toBe(404);
        expect(await publicPort.text()).not.toContain('avrr_');
        expect(gateway.metrics.port).not.toBe(gateway.port);
        expect(gateway.metrics.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
        const internal = await fetch(gateway.metrics.url);
        expect(internal.status).toBe(200);
        expect(await internal.text()).toMatch(/avrr_ingest_queue_jobs\{state="waiting",service="gateway"\} \d+/);
        // The metrics port serves nothing else.
        expect((await fetch(gateway.metrics.url.replace(/\/metrics$/, '/graphql'))).status).toBe(404);
      }
    });
  });

  describe('5. error bodies in production', () => {
    it('no "Did you mean" for enum values, in literals and in variables, nor for fields', async () => {
      const literal = await system.graphql('{ cases(first: 1, filter: { statuses: [SUBMITED] }) { totalCount } }');
      const variable = await system.graphql(
        'query($s: [CaseStatus!]) { cases(first: 1, filter: { statuses: $s }) { totalCount } }',
        { s: ['SUBMITED'] },
      );
      const field = await system.graphql('{ casez(first: 1) { totalCount } }');
      for (const [name, { status, body }] of Object.entries({ literal, variable, field })) {
        expect(status, name).toBe(400);
        expect(body.errors!.length, name).toBeGreaterThan(0);
        for (const error of body.errors!) {
          expect(error.message, name).not.toMatch(/did you mean/i);
          expect(error.message, name).not.toContain('SUBMITTED');
          expect(['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT'], name).toContain(error.extensions?.code);
        }
      }
      expect(literal.body.errors![0]!.message).toContain('Value "SUBMITED" does not exist in "CaseStatus" enum.');
    });

    it('nor over WebSocket', async () => {
      // The token first: an 'open' handler attached after an await can miss the event.
      const token = await mintToken({ subject: 'a', role: 'ADMIN' }, system.config);
      const socket = new WebSocket(`${system.gateway.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      const refusal = new Promise<Array<{ message: string; extensions?: { code?: string } }>>((resolve, reject) => {
        socket.on('message', (data) => {
          const message = JSON.parse(String(data)) as { type: string; payload?: unknown };
          if (message.type === 'connection_ack')
            socket.send(
              JSON.stringify({
                id: '1',
                type: 'subscribe',
                payload: { query: 'subscription { caseEvents(filter: { types: [ACCEPTD] }) { id } }' },
              }),
            );
          if (message.type === 'error') resolve(message.payload as Array<{ message: string }>);
          if (message.type === 'next') reject(new Error(`not refused: ${String(data)}`));
        });
        socket.on('close', (code, reason) => reject(new Error(`closed ${code} ${String(reason)}`)));
      });
      socket.on('open', () =>
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
      );
      const errors = await refusal;
      socket.terminate();
      expect(errors.length).toBeGreaterThan(0);
      for (const error of errors) {
        expect(error.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
        expect(error.message).not.toMatch(/did you mean/i);
        expect(error.message).not.toContain('"ACCEPTED"');
      }
    });

    it('an unavailable subgraph is named, never where it is', async () => {
      const { body } = await postGraphQL<{ partners: unknown }>(
        `${safelisted.url}/graphql`,
        LISTED,
        undefined,
        await system.as({ subject: 'a', role: 'EU_ANALYST' }),
      );
      const error = body.errors![0]!;
      expect(error.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'partners' });
      expect(error.message).toBe('Subgraph "partners" is unavailable');
      const text = JSON.stringify(body);
      for (const internal of ['127.0.0.1', String(downPort), 'ECONNREFUSED', 'fetch failed', 'stacktrace'])
        expect(text).not.toContain(internal);
    });

    it('a safelist refusal keeps its code and message (it is not masked as an internal error)', async () => {
      const { status, body } = await postGraphQL(
        `${safelisted.url}/graphql`,
        '{ partners { id } }',
        undefined,
        await system.as({ subject: 'a', role: 'EU_ANALYST' }),
      );
      expect(status).toBe(400);
      expect(body.errors).toEqual([
        expect.objectContaining({
          message:
            'This gateway runs only the operations of its safelist (persisted operations); this one is not listed',
          extensions: { code: 'OPERATION_NOT_IN_SAFELIST' },
        }),
      ]);
    });
  });

  describe('6. tokens must expire', () => {
    const noExpiry = () =>
      new SignJWT({ role: 'ADMIN' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('forever')
        .setIssuer(system.config.AUTH_ISSUER)
        .setAudience(system.config.AUTH_AUDIENCE)
        .setIssuedAt()
        .sign(new TextEncoder().encode(system.config.AUTH_JWT_SECRET));

    it('over HTTP: a token without exp is 401 UNAUTHENTICATED, as is one living longer than allowed', async () => {
      const missing = await system.graphql('{ partners { id } }', undefined, {
        authorization: `Bearer ${await noExpiry()}`,
      });
      expect(missing.status).toBe(401);
      expect(missing.body.errors).toEqual([
        expect.objectContaining({ message: 'token has no expiry (exp)', extensions: { code: 'UNAUTHENTICATED' } }),
      ]);
      const tooLong = await system.graphql('{ partners { id } }', undefined, {
        authorization: `Bearer ${await mintToken({ subject: 'a', role: 'ADMIN' }, system.config, 30 * 86_400)}`,
      });
      expect(tooLong.status).toBe(401);
      expect(tooLong.body.errors![0]!.message).toMatch(/^token lifetime exceeds 86400 seconds/);
    });

    it('over WebSocket: a token without exp closes the socket with 4401 and the reason', async () => {
      // The token first: an 'open' handler attached after an await can miss the event.
      const token = await noExpiry();
      const socket = new WebSocket(`${system.gateway.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
      );
      socket.on('open', () =>
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
      );
      const stillOpen = new Promise<string>((resolve) =>
        setTimeout(() => resolve('still open after 5 s'), 5_000).unref(),
      );
      const outcome = await Promise.race([closed, stillOpen]);
      socket.terminate();
      expect(outcome).toEqual({ code: 4401, reason: 'Unauthorized: token has no expiry (exp)' });
    });
  });

  describe('8. request ids in the personal data access log', () => {
    it("keeps a well-formed client id, replaces one shaped like the gateway's own, says who made each", async () => {
      const headers = await system.as(owner);
      const read = (requestId: string) =>
        fetch(system.gatewayUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers, 'x-request-id': requestId },
          body: JSON.stringify({
            query: 'query($id: ID!) { case(id: $id) { mainApplicant { name } } }',
            variables: { id: caseId },
          }),
        }).then((r) => r.json() as Promise<GraphQLBody<{ case: { mainApplicant: { name: string } } }>>);
      expect((await read('client-req.42_a')).data!.case.mainApplicant.name).toBe('Amina Rahimi');
      expect((await read('ws:00000000-0000-0000-0000-000000000000:1-0')).data!.case.mainApplicant.name).toBe(
        'Amina Rahimi',
      );
      const entries = await personalDataReadModel(system.connections.cases)
        .find({ caseId })
        .sort({ _id: 1 })
        .lean()
        .exec();
      expect(entries).toHaveLength(2);
      expect(entries[0]).toMatchObject({ requestId: 'client-req.42_a', requestIdSource: 'CLIENT' });
      expect(entries[1]!.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(entries[1]).toMatchObject({ requestIdSource: 'GATEWAY' });
      // The DPO's view carries it too.
      const log = await system.graphql<{ personalDataReads: Array<{ requestId: string; requestIdSource: string }> }>(
        'query($c: ID) { personalDataReads(caseId: $c) { requestId requestIdSource } }',
        { c: caseId },
        await system.as({ subject: 'dpo', role: 'DATA_PROTECTION_OFFICER' }),
      );
      expect(log.body.data!.personalDataReads.map((e) => e.requestIdSource).sort()).toEqual(['CLIENT', 'GATEWAY']);
      expect(log.body.data!.personalDataReads.some((e) => e.requestId.startsWith('ws:'))).toBe(false);
    });
  });

  describe('10. staged personal data', () => {
    it('staged feed chunks expire after INGEST_STAGED_DAYS, not 30 days', async () => {
      const token = await mintToken(owner, system.config);
      const record = {
        memberState: 'BE',
        caseReference: 'BE-LEAKS-2',
        recordVersion: 1,
        returnType: 'VOLUNTARY',
        packages: ['POST_ARRIVAL'],
        countryOfOrigin: 'AF',
        departureDate: '2024-03-01',
        mainApplicant: { name: 'Omar Said', dateOfBirth: '1985-05-05', sex: 'MALE' },
        eligibility: { requestDate: '2024-03-10', applicationSigned: true },
      };
      const response = await fetch(`${system.gateway.url}/ingest/v1/feeds`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify([record]),
      });
      expect(response.status).toBe(202);
      const { feedId } = (await response.json()) as { feedId: string };
      const keys = await system.redis.keys(`${system.config.QUEUE_PREFIX}:feed-chunk:${feedId}:*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        const ttl = await system.redis.ttl(key);
        expect(ttl).toBeGreaterThan(86_400);
        expect(ttl).toBeLessThanOrEqual(2 * 86_400);
      }
    });
  });
});
