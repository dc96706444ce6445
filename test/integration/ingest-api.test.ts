import type { Worker } from 'bullmq';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../scripts/processes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';

import { feedModels } from '../../subgraphs/cases/ingestion/feeds.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { startTestSystem, testConfig, type TestSystem, startTestWorker } from '../helpers/system.js';

interface Report {
  id: string;
  status: string;
  counts: Record<string, number>;
  rejected: Array<{
    position: number;
    line: number | null;
    caseReference: string | null;
    path: string;
    message: string;
  }>;
}

describe('push API: POST /ingest/v1/feeds, reports, schema', () => {
  let system: TestSystem;
  let worker: Worker;
  let base: string;
  let coverageDown = false;
  const tokens: Record<string, string> = {};
  const record = (ref: string, extra: Record<string, unknown> = {}) => ({
    memberState: 'BE',
    caseReference: ref,
    recordVersion: 1,
    returnType: 'VOLUNTARY',
    packages: ['POST_ARRIVAL', 'POST_RETURN'],
    countryOfOrigin: 'MA',
    departureDate: '2024-04-02',
    mainApplicant: { name: 'Youssef El Amrani يوسف', dateOfBirth: '1990-02-02', sex: 'MALE' },
    eligibility: { requestDate: '2024-04-10', applicationSigned: true },
    ...extra,
  });
  const push = (body: string | Buffer, contentType: string, token = tokens.be, headers: Record<string, string> = {}) =>
    fetch(`${base}/ingest/v1/feeds`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body,
    });
  const report = async (feedId: string, token = tokens.be): Promise<{ status: number; body: Report }> => {
    const response = await fetch(`${base}/ingest/v1/feeds/${feedId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as Report };
  };
  const finished = async (feedId: string): Promise<Report> => {
    for (let i = 0; i < 200; i++) {
      const { body } = await report(feedId);
      if (['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(body.status)) return body;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`feed ${feedId} did not finish`);
  };

  beforeAll(async () => {
    // Small chunks, so a feed of a few hundred records spans many jobs.
    system = await startTestSystem({
      config: testConfig({
        INGEST_CHUNK_SIZE: '20',
        INGEST_ATTEMPTS: '2',
        INGEST_BACKOFF_MS: '20',
        INGEST_MAX_BODY_BYTES: String(2 * 1024 * 1024),
      }),
    });
    base = system.gateway.url;
    tokens.be = await mintToken({ subject: 'be-system', role: 'MEMBER_STATE', memberState: 'BE' }, system.config);
    tokens.de = await mintToken({ subject: 'de-system', role: 'MEMBER_STATE', memberState: 'DE' }, system.config);
    tokens.partner = await mintToken({ subject: 'p', role: 'PARTNER', partnerId: 'weldo' }, system.config);
    worker = startTestWorker(system, 'test-ingest-worker', {
      // A switch to make coverage "unavailable" (a transient failure) for the replay test.
      assignPartners: (requests) =>
        coverageDown ? Promise.reject(new Error('coverage subgraph unreachable')) : system.assignPartners(requests),
    });
  });
  afterAll(async () => {
    await worker?.close();
    await system?.stop();
  });

  it('takes a JSON feed, answers 202 with the feed id, and reports every record once processed', async () => {
    const records = [
      record('BE-P-1'),
      record('BE-P-2', { countryOfOrigin: 'ma' }),
      record('BE-P-3', { memberState: 'DE' }),
    ];
    const response = await push(JSON.stringify({ records }), 'application/json');
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { feedId: string; received: number };
    expect(accepted.received).toBe(3);
    const done = await finished(accepted.feedId);
    expect(done.status).toBe('DONE_WITH_ERRORS');
    expect(done.counts).toEqual({ received: 3, created: 1, updated: 0, unchanged: 0, stale: 0, rejected: 2 });
    expect(done.rejected.map((r) => [r.position, r.caseReference, r.path])).toEqual([
      [1, 'BE-P-2', 'countryOfOrigin'],
      [2, 'BE-P-3', 'memberState'],
    ]);
    const stored = await casesModels(system.connections.cases)
      .Case.findOne({ memberState: 'BE', caseReference: 'BE-P-1' })
      .lean<CaseDoc>()
      .exec();
    expect(stored?.mainApplicant.name).toBe('Youssef El Amrani يوسف');
    expect(stored?.partnerId).toBe('life-makers');
    // Another Member State cannot read the report; the graph has the same report.
    expect((await report(accepted.feedId, tokens.de)).status).toBe(404);
    const graph = await system.graphql<{ ingestionFeed: { status: string; counts: { created: number } } }>(
      `query($id: ID!) { ingestionFeed(id: $id) { status counts { created } } }`,
      { id: accepted.feedId },
      { authorization: `Bearer ${tokens.be}` },
    );
    expect(graph.body.data!.ingestionFeed).toEqual({ status: 'DONE_WITH_ERRORS', counts: { created: 1 } });
  });

  it('a hostile feed: each bad record rejected with its field, duplicates named, the good ones stored', async () => {
    const member = { name: 'Ahmad Karimi', dateOfBirth: '2010-01-01', sex: 'MALE', relationship: 'CHILD' };
    const body =
      '[' +
      [
        // a family of 15: fine
        JSON.stringify(record('BE-H-1', { familyMembers: Array.from({ length: 14 }, () => member) })),
        // 16: refused
        JSON.stringify(record('BE-H-2', { familyMembers: Array.from({ length: 15 }, () => member) })),
        JSON.stringify(record('BE-H-3', { caseReference: { $gt: '' } })),
        JSON.stringify({ ...record('BE-H-4'), $where: 'sleep(1000)' }),
        JSON.stringify({ ...record('BE-H-5'), 'mainApplicant.name': 'x' }),
        `{"__proto__": {"memberState": "FR"}, ${JSON.stringify(record('BE-H-6')).slice(1)}`,
        JSON.stringify({ ...record('BE-H-7'), constructor: { prototype: { polluted: true } } }),
        JSON.stringify(record('BE-H-8', { countryOfOrigin: 'ma' })),
        JSON.stringify(record('BE-H-9', { countryOfOrigin: 'ZZ' })),
        JSON.stringify(record('BE-H-10', { mainApplicant: { name: 'A', dateOfBirth: '2999-01-01', sex: 'MALE' } })),
        JSON.stringify(record('BE-H-11', { departureDate: '2024-02-30' })),
        JSON.stringify(record('BE-H-1')), // the same case again in this feed
        JSON.stringify(record('BE-H-12', { memberState: 'FR' })),
        JSON.stringify(record('BE-H-13')),
      ].join(',\n') +
      ']';
    const response = await push(body, 'application/json');
    expect(response.status).toBe(202);
    const done = await finished(((await response.json()) as { feedId: string }).feedId);
    expect(done.counts).toEqual({ received: 14, created: 2, updated: 0, unchanged: 0, stale: 0, rejected: 12 });
    const byPosition = Object.fromEntries(done.rejected.map((r) => [r.position, r]));
    expect(byPosition[1]).toMatchObject({ caseReference: 'BE-H-2', path: 'familyMembers' });
    expect(byPosition[2]).toMatchObject({ caseReference: null, path: 'caseReference' });
    expect(byPosition[3]!.message).toMatch(/unknown field\(s\): \$where/);
    expect(byPosition[4]!.message).toMatch(/unknown field\(s\): mainApplicant\.name/);
    expect(byPosition[5]!.message).toMatch(/unknown field\(s\): __proto__/);
    expect(byPosition[6]!.message).toMatch(/unknown field\(s\): constructor/);
    expect(byPosition[7]).toMatchObject({ path: 'countryOfOrigin' });
    expect(byPosition[8]).toMatchObject({ path: 'countryOfOrigin' });
    expect(byPosition[9]).toMatchObject({ path: 'mainApplicant.dateOfBirth', message: 'must not be in the future' });
    expect(byPosition[10]).toMatchObject({ path: 'departureDate' });
    expect(byPosition[11]).toMatchObject({ caseReference: 'BE-H-1', path: 'caseReference' });
    expect(byPosition[11]!.message).toMatch(/duplicate in this feed: the same case reference is at position 0/);
    expect(byPosition[12]).toMatchObject({ path: 'memberState' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const cases = casesModels(system.connections.cases).Case;
    expect(await cases.countDocuments({ caseReference: { $regex: '^BE-H-' } }).exec()).toBe(2);
    // The family of 15 is whole, and its entitlement counts every member.
    const stored = await cases.findOne({ memberState: 'BE', caseReference: 'BE-H-1' }).lean<CaseDoc>().exec();
    expect(stored?.familySize).toBe(15);
    const graph = await system.graphql<{ case: { familySize: number; entitlement: { totalCents: number } } }>(
      'query($id: ID!) { case(id: $id) { familySize entitlement { totalCents } } }',
      { id: stored!._id.toHexString() },
      { authorization: `Bearer ${tokens.be}` },
    );
    // POST_ARRIVAL 615 EUR x 15 + POST_RETURN (voluntary) 2,000 EUR + 14 x 1,000 EUR.
    expect(graph.body.data!.case).toEqual({
      familySize: 15,
      entitlement: { totalCents: 615_00 * 15 + 2_000_00 + 14 * 1_000_00 },
    });
  });

  it('a feed failing to parse halfway or outgrowing the limit mid-stream leaves nothing staged or queued', async () => {
    const staged = async () => (await system.redis.keys(`${system.config.QUEUE_PREFIX}:feed-chunk:*`)).length;
    const before = await staged();
    // 100 good records (five chunks of 20 are staged) and then a broken line.
    const lines = Array.from({ length: 100 }, (_, i) => JSON.stringify(record(`BE-S-${i}`)));
    const broken = await push(`${lines.join('\n')}\n{"memberState": "BE",\n`, 'application/x-ndjson');
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ error: { code: 'MALFORMED_FEED', line: 101 } });
    // Sent without a length, so only the streamed count can stop it.
    const limit = system.config.INGEST_MAX_BODY_BYTES;
    const pieces = (async function* () {
      for (let sent = 0; sent <= limit; sent += lines[0]!.length + 1) yield Buffer.from(`${lines[0]}\n`);
    })();
    const tooLarge = await fetch(`${base}/ingest/v1/feeds`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${tokens.be}` },
      body: ReadableStream.from(pieces),
      duplex: 'half',
    } as RequestInit);
    expect(tooLarge.status).toBe(413);
    expect(await staged()).toBe(before);
    expect(
      await casesModels(system.connections.cases)
        .Case.countDocuments({ caseReference: { $regex: '^BE-S-' } })
        .exec(),
    ).toBe(0);
  });

  it('takes NDJSON and canonical CSV (with BOM), naming lines in rejections', async () => {
    const ndjson = [record('BE-N-1'), record('BE-N-2', { departureDate: '2024-02-30' })]
      .map((r) => JSON.stringify(r))
      .join('\n');
    const n = (await (await push(ndjson, 'application/x-ndjson')).json()) as { feedId: string };
    const nd = await finished(n.feedId);
    expect(nd.counts.created).toBe(1);
    expect(nd.rejected[0]).toMatchObject({ line: 2, path: 'departureDate' });
    const csv =
      '\uFEFFmemberState,caseReference,recordVersion,returnType,packages,countryOfOrigin,departureDate,' +
      'mainApplicant.name,mainApplicant.dateOfBirth,mainApplicant.sex,familyMembers.0.name,' +
      'familyMembers.0.dateOfBirth,familyMembers.0.sex,eligibility.applicationSigned,' +
      'eligibility.requestDate\n' +
      'BE,BE-C-1,1,VOLUNTARY,POST_ARRIVAL|POST_RETURN,GE,2024-04-01,' +
      'Олена Коваль,1985-01-01,FEMALE,Ana Koval,' +
      '2015-05-05,FEMALE,true,2024-04-03\n' +
      'BE,BE-C-2,1,VOLUNTARY,POST_ARRIVAL,GE,2024-04-01,Nino Beridze,2999-01-01,FEMALE,,,,true,2024-04-03\n';
    const c = (await (await push(csv, 'text/csv; charset=utf-8')).json()) as { feedId: string };
    const cd = await finished(c.feedId);
    expect(cd.counts).toMatchObject({ received: 2, created: 1, rejected: 1 });
    expect(cd.rejected[0]).toMatchObject({
      line: 3,
      caseReference: 'BE-C-2',
      path: 'mainApplicant.dateOfBirth',
      message: 'must not be in the future',
    });
    const stored = await casesModels(system.connections.cases)
      .Case.findOne({ memberState: 'BE', caseReference: 'BE-C-1' })
      .lean<CaseDoc>()
      .exec();
    expect(stored).toMatchObject({
      familySize: 2,
      mainApplicant: { name: 'Олена Коваль' },
      familyMembers: [{ name: 'Ana Koval' }],
    });
  });

  it('takes a national dialect through its profile, only from its own Member State', async () => {
    const csv =
      'zaaknummer,versie,terugkeer,charter,pakketten,land_herkomst,vertrekdatum,naam,geboortedatum,geslacht,' +
      'kwetsbaarheden,gezinslid1_naam,gezinslid1_geboortedatum,gezinslid1_geslacht,gezinslid1_relatie,' +
      'aanvraag_ondertekend,aanvraagdatum\n' +
      'NL-24-0100,1,zelfstandig,N,aankomst;herintegratie,GEO,2024-04-01,Levan Kapanadze,1979-09-09,M,,Nino ' +
      'Kapanadze,1981-01-01,V,partner,J,2024-04-02\n';
    const nl = await mintToken({ subject: 'nl-system', role: 'MEMBER_STATE', memberState: 'NL' }, system.config);
    const wrongState = await fetch(`${base}/ingest/v1/feeds?profile=nl-dtenv`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${tokens.be}` },
      body: csv,
    });
    expect(wrongState.status).toBe(403);
    const unknown = await fetch(`${base}/ingest/v1/feeds?profile=xx-nope`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${nl}` },
      body: csv,
    });
    expect(await unknown.json()).toMatchObject({ error: { code: 'UNKNOWN_PROFILE' } });
    const response = await fetch(`${base}/ingest/v1/feeds`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-feed-profile': 'nl-dtenv', authorization: `Bearer ${nl}` },
      body: csv,
    });
    expect(response.status).toBe(202);
    const { feedId } = (await response.json()) as { feedId: string };
    for (let i = 0; i < 200; i++) {
      const r = (await (
        await fetch(`${base}/ingest/v1/feeds/${feedId}`, { headers: { authorization: `Bearer ${nl}` } })
      ).json()) as Report;
      if (r.status === 'DONE') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const stored = await casesModels(system.connections.cases)
      .Case.findOne({ memberState: 'NL', caseReference: 'NL-24-0100' })
      .lean<CaseDoc>()
      .exec();
    expect(stored).toMatchObject({
      countryOfOrigin: 'GE',
      partnerId: 'ettc',
      returnType: 'VOLUNTARY',
      familySize: 2,
      familyMembers: [{ relationship: 'SPOUSE', sex: 'FEMALE' }],
    });
    // Each Member State lists its own profiles (and shared ones), never another's; anonymous callers none.
    const listed = async (token?: string) => {
      const response = await fetch(`${base}/ingest/v1/profiles`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      return { status: response.status, names: (await response.json()) as Array<{ name: string }> };
    };
    const admin = await mintToken({ subject: 'ops', role: 'SUPPORT_DESK' }, system.config);
    const all = await listed(admin);
    expect(all.names.map((p) => p.name)).toEqual(expect.arrayContaining(['de-reag-garp', 'nl-dtenv', 'fr-ofii']));
    const de = (await listed(tokens.de)).names.map((p) => p.name);
    expect(de).toContain('de-reag-garp');
    expect(de).not.toContain('nl-dtenv');
    expect(de).not.toContain('fr-ofii');
    expect((await listed(tokens.partner)).names).toEqual([]);
    expect((await listed()).status).toBe(401);
    // A refusal for an unknown profile names only what the caller may read.
    const notInstalled = await push('a;b\n', 'text/csv', tokens.de, { 'x-feed-profile': 'no-such-profile' });
    expect(notInstalled.status).toBe(400);
    const refusal = JSON.stringify(await notInstalled.json());
    expect(refusal).toContain('de-reag-garp');
    expect(refusal).not.toContain('nl-dtenv');
  });

  it('fairness: a small feed pushed after a huge one from another Member State is not starved', async () => {
    const de = await mintToken({ subject: 'de-system', role: 'MEMBER_STATE', memberState: 'DE' }, system.config);
    const big = Array.from({ length: 400 }, (_, i) => record(`DE-F-${i}`, { memberState: 'DE' }));
    const bigFeed = (await (await push(JSON.stringify(big), 'application/json', de)).json()) as { feedId: string };
    const smallFeed = (await (await push(JSON.stringify([record('BE-F-1')]), 'application/json')).json()) as {
      feedId: string;
    };
    const smallAccepted = Date.now();
    const small = await finished(smallFeed.feedId);
    expect(small.status).toBe('DONE');
    for (let i = 0; i < 400; i++) {
      if ((await report(bigFeed.feedId, de)).body.status === 'DONE') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await report(bigFeed.feedId, de)).body.counts.created).toBe(400);
    // Judged by the chunks' own completion times, so neither polling nor the store's speed moves the figures.
    // The small feed finished before the big one did; in arrival order it would have waited for every big chunk
    // still queued when it was accepted, and it waited for at most half of the 20 (the chunks in flight then, and
    // what the other workers took while it ran).
    const chunks = await feedModels(system.connections.cases)
      .FeedChunk.find({ feedId: { $in: [smallFeed.feedId, bigFeed.feedId] } })
      .lean()
      .exec();
    const doneAt = (feedId: string) => chunks.filter((c) => c.feedId === feedId).map((c) => c.completedAt.getTime());
    const [smallDone] = doneAt(smallFeed.feedId);
    const bigDone = doneAt(bigFeed.feedId);
    expect(bigDone).toHaveLength(20);
    expect(smallDone).toBeLessThan(Math.max(...bigDone));
    expect(bigDone.filter((t) => t > smallAccepted && t < smallDone!).length).toBeLessThanOrEqual(10);
  });

  it('a retried push with the same Idempotency-Key returns the same feed, processed once', async () => {
    const body = JSON.stringify([record('BE-I-1')]);
    const first = (await (
      await push(body, 'application/json', tokens.be, { 'idempotency-key': 'nightly-2024-04-10' })
    ).json()) as { feedId: string };
    const again = await push(body, 'application/json', tokens.be, { 'idempotency-key': 'nightly-2024-04-10' });
    expect(again.status).toBe(202);
    expect(((await again.json()) as { feedId: string }).feedId).toBe(first.feedId);
    expect((await finished(first.feedId)).counts.created).toBe(1);
    expect(await casesModels(system.connections.cases).Case.countDocuments({ caseReference: 'BE-I-1' }).exec()).toBe(1);
  });

  it('refuses malformed, oversized, unsupported, empty and unauthenticated pushes, queueing nothing', async () => {
    const before = await feedModels(system.connections.cases).Feed.countDocuments().exec();
    const badJson = await push('[{"memberState": "BE",\n "caseReference": }]', 'application/json');
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: { code: 'MALFORMED_FEED', line: 2, column: 19 } });
    const badCsv = await push('memberState,caseReference\nBE,"BE-1\n', 'text/csv');
    expect(badCsv.status).toBe(400);
    expect(await badCsv.json()).toMatchObject({ error: { code: 'MALFORMED_FEED', line: 2, column: 'caseReference' } });
    const badNd = await push(`${JSON.stringify(record('X'))}\n{oops}\n`, 'application/x-ndjson');
    expect(await badNd.json()).toMatchObject({ error: { code: 'MALFORMED_FEED', line: 2 } });
    expect((await push('<xml/>', 'application/xml')).status).toBe(415);
    expect((await push('[]', 'application/json')).status).toBe(400);
    expect((await push('[]', 'application/json', '')).status).toBe(401);
    expect((await push('[]', 'application/json', tokens.partner)).status).toBe(403);
    const huge = Buffer.alloc(system.config.INGEST_MAX_BODY_BYTES + 1, 0x20);
    expect((await push(huge, 'application/json')).status).toBe(413);
    const badKey = await push('[]', 'application/json', tokens.be, { 'idempotency-key': 'a b' });
    expect(badKey.status).toBe(400);
    await new Promise((r) => setTimeout(r, 200));
    expect(await feedModels(system.connections.cases).Feed.countDocuments().exec()).toBe(before);
  });

  it('the file-drop CLI pushes a file, prints the report and exits non-zero when records were rejected', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drop-'));
    const file = join(dir, 'feed.ndjson');
    writeFileSync(
      file,
      [record('BE-CLI-1'), record('BE-CLI-2', { countryOfOrigin: 'XX' })].map((r) => JSON.stringify(r)).join('\n'),
    );
    // Asynchronous: the gateway and worker under test run in this very process.
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'scripts/ingest.ts', ...args],
          { cwd: ROOT, timeout: 60_000, env: { ...process.env, AUTH_JWT_SECRET: system.config.AUTH_JWT_SECRET } },
          (error, stdout, stderr) =>
            resolve({ status: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
        );
      });
    const result = await run(['--member-state', 'BE', '--file', file, '--url', base, '--token', tokens.be!]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/DONE_WITH_ERRORS: received 2, created 1, .* rejected 1/);
    expect(result.stdout).toMatch(/rejected #1 \(line 2\) BE-CLI-2: countryOfOrigin: must be a country of origin/);
    const clean = join(dir, 'clean.json');
    writeFileSync(clean, JSON.stringify([record('BE-CLI-3')]));
    expect((await run(['--member-state', 'BE', '--file', clean, '--url', base, '--token', tokens.be!])).status).toBe(0);
    const bad = await run(['--member-state', 'be', '--file', clean]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--member-state must be a participating Member State/);
    const missing = await run(['--member-state', 'BE', '--file', join(dir, 'nope.csv'), '--url', base]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '[{"a": ]');
    const refused = await run(['--member-state', 'BE', '--file', broken, '--url', base, '--token', tokens.be!]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/refused \(400 MALFORMED_FEED\).* at line 1/);
  });

  it('the queues dashboard is for administrators only; the gateway exports queue metrics', async () => {
    expect((await fetch(`${base}/admin/queues`)).status).toBe(401);
    expect((await fetch(`${base}/admin/queues`, { headers: { authorization: `Bearer ${tokens.be}` } })).status).toBe(
      403,
    );
    expect((await fetch(`${base}/admin/queues?token=forged.token.value`, { redirect: 'manual' })).status).toBe(401);
    const admin = await mintToken({ subject: 'ops', role: 'ADMIN' }, system.config);
    const page = await fetch(`${base}/admin/queues`, { headers: { authorization: `Bearer ${admin}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const api = await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${admin}` } });
    expect(((await api.json()) as { queues: Array<{ name: string }> }).queues.map((q) => q.name)).toContain(
      'avrr-ingest',
    );
    const login = await fetch(`${base}/admin/queues?token=${admin}`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await fetch(`${base}/admin/queues`, { headers: { cookie: cookie.split(';')[0]! } })).status).toBe(200);

    // Metrics are served on the gateway's internal metrics port only, never on its public one.
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    const metrics = await (await fetch(system.gateway.metrics.url)).text();
    expect(metrics).toMatch(/avrr_ingest_queue_jobs\{state="completed",service="gateway"\} \d+/);
    expect(metrics).toMatch(/avrr_ingest_feeds_total\{member_state="BE",format="json",service="gateway"\} \d+/);
  });

  it('chunks that exhaust their retries make the feed FAILED, and replay once the cause is fixed', async () => {
    coverageDown = true;
    const { feedId } = (await (await push(JSON.stringify([record('BE-R-1')]), 'application/json')).json()) as {
      feedId: string;
    };
    const failed = await finished(feedId);
    expect(failed.status).toBe('FAILED');
    expect((failed as Report & { errors: string[] }).errors[0]).toMatch(/chunk 0: coverage subgraph unreachable/);
    coverageDown = false;
    const replay = `mutation($f: ID) { replayFailedIngestion(feedId: $f) }`;
    expect(
      (await system.graphql(replay, { f: feedId }, { authorization: `Bearer ${tokens.be}` })).body.errors![0]!
        .extensions!.code,
    ).toBe('FORBIDDEN');
    const desk = await mintToken({ subject: 'desk', role: 'SUPPORT_DESK' }, system.config);
    expect(
      (await system.graphql(replay, { f: 'feed_nope' }, { authorization: `Bearer ${desk}` })).body.errors![0]!
        .extensions!.code,
    ).toBe('BAD_USER_INPUT');
    const replayed = await system.graphql<{ replayFailedIngestion: number }>(
      replay,
      { f: feedId },
      { authorization: `Bearer ${desk}` },
    );
    expect(replayed.body.data!.replayFailedIngestion).toBe(1);
    const done = await finished(feedId);
    expect(done.status).toBe('DONE');
    expect(done.counts.created).toBe(1);
  });

  it('serves the canonical record as JSON Schema, from the workers validation', async () => {
    const response = await fetch(`${base}/ingest/v1/schema`);
    const schema = (await response.json()) as {
      type: string;
      required: string[];
      properties: Record<string, unknown>;
      additionalProperties: boolean;
    };
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(
      expect.arrayContaining([
        'memberState',
        'caseReference',
        'recordVersion',
        'returnType',
        'packages',
        'countryOfOrigin',
        'mainApplicant',
      ]),
    );
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['eligibility', 'familyMembers']));
  });
});
