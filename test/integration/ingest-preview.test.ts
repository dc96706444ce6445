import type { Worker } from 'bullmq';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/processes.js';
import { mintToken } from '../../shared/auth.js';

import { casesModels } from '../../subgraphs/cases/case/models.js';

import { feedModels } from '../../subgraphs/cases/ingestion/feeds.js';
import type { FeedPreview } from '../../gateway/preview.js';
import { canonicalRecord } from '../helpers/records.js';
import { startTestSystem, testConfig, type TestSystem, startTestWorker } from '../helpers/system.js';

type Preview = FeedPreview & {
  preview: true;
  stored: false;
  profile: { name: string; memberState: string | null; source: string } | null;
  limits: { maxRecords: number; maxBodyBytes: number };
  error?: { code: string; message: string; field?: string };
};

const MB = 1024 * 1024;
/** The shipped German profile: profiles sent in a request are made from it, so they follow its language. */
const GERMAN = JSON.parse(readFileSync(join(ROOT, 'profiles/de-reag-garp.json'), 'utf8')) as Record<string, unknown>;
const GERMAN_HEADER =
  'Aktenzeichen;Version;Bundesland;Rückkehrart;Charterflug;Leistungen;Herkunftsland;Ausreisedatum;Name;' +
  'Geburtsdatum;Geschlecht;Schutzbedarf;Angehöriger1 Name;Angehöriger1 Geburtsdatum;Angehöriger1 ' +
  'Geschlecht;Angehöriger1 Verhältnis;Antrag unterschrieben;Antragsdatum';
const germanRow = (reference: string, birth = '07.11.1988', signed = 'ja', packages = 'Ankunft,Reintegration') =>
  `${reference};1;Bayern;freiwillig;nein;${packages};Türkei;05.03.2024;Ayşe Müller-Lüdenscheidt;${birth};w;;` +
  `Emre Müller;02.02.2015;m;Kind;${signed};01.03.2024`;
/** A German export as the national system writes it: Windows-1252 (ş is not in it: written as s). */
const germanCsv = (rows: string[]) =>
  Buffer.from([GERMAN_HEADER, ...rows].join('\r\n').replace(/ş/g, 's') + '\r\n', 'latin1');

describe('feed preview: POST /ingest/v1/preview, npm run ingest -- --preview', () => {
  let system: TestSystem;
  let worker: Worker;
  let base: string;
  const tokens: Record<string, string> = {};

  const preview = async (
    body: string | Buffer | FormData,
    contentType: string | null,
    { token = tokens.be, query = '', headers = {} as Record<string, string> } = {},
  ): Promise<{ status: number; body: Preview; headers: Headers }> => {
    const response = await fetch(`${base}/ingest/v1/preview${query}`, {
      method: 'POST',
      headers: {
        ...(contentType ? { 'content-type': contentType } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body,
    });
    return { status: response.status, body: (await response.json()) as Preview, headers: response.headers };
  };
  const withProfile = (profile: unknown, file: Buffer | string, type = 'text/csv', name = 'export.csv') => {
    const form = new FormData();
    form.append('profile', new Blob([JSON.stringify(profile)], { type: 'application/json' }), 'profile.json');
    form.append('file', new Blob([file], { type }), name);
    return form;
  };
  const ndjson = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join('\n');

  /** Everything a push leaves behind: feeds and chunks stored, jobs queued, chunks staged, receipts. */
  const traces = async () => {
    const feeds = feedModels(system.connections.cases);
    const prefix = system.config.QUEUE_PREFIX;
    return {
      feeds: await feeds.Feed.countDocuments().exec(),
      chunks: await feeds.FeedChunk.countDocuments().exec(),
      cases: await casesModels(system.connections.cases).Case.countDocuments().exec(),
      jobs: (await system.redis.keys(`${prefix}:avrr-ingest:*`)).length,
      staged: (await system.redis.keys(`${prefix}:feed-chunk:*`)).length,
      receipts: (await system.redis.keys(`${prefix}:feed:*`)).length,
    };
  };

  beforeAll(async () => {
    system = await startTestSystem({
      config: testConfig({ MAX_BODY_BYTES: String(MB), INGEST_PUSHES_PER_MINUTE: '40', INGEST_CHUNK_SIZE: '3' }),
    });
    base = system.gateway.url;
    const ms = (memberState: string) =>
      mintToken({ subject: `${memberState.toLowerCase()}-system`, role: 'MEMBER_STATE', memberState }, system.config);
    for (const memberState of ['BE', 'DE', 'AT', 'FR']) tokens[memberState.toLowerCase()] = await ms(memberState);
    tokens.partner = await mintToken({ subject: 'p', role: 'PARTNER', partnerId: 'weldo' }, system.config);
    tokens.support = await mintToken({ subject: 's', role: 'SUPPORT_DESK' }, system.config);
  });
  afterAll(async () => {
    await worker?.close();
    await system?.stop();
  });

  it('canonical NDJSON: per record the canonical record or null, every problem, counts; nothing stored', async () => {
    const before = await traces();
    const { status, body } = await preview(
      ndjson([
        canonicalRecord('BE', 'BE-PV-1', {
          familyMembers: [{ name: 'Sara', dateOfBirth: '2016-05-01', sex: 'FEMALE' }],
        }),
        canonicalRecord('BE', 'BE-PV-2', { countryOfOrigin: 'ma', mainApplicant: { name: '', sex: 'X' } }),
        canonicalRecord('DE', 'DE-PV-1'),
        canonicalRecord('BE', 'BE-PV-3', {
          eligibility: { applicationSigned: false, requestDate: '2024-04-10' },
          packages: ['POST_RETURN'],
        }),
      ]),
      'application/x-ndjson',
    );
    expect(status).toBe(200);
    expect(body).toMatchObject({ preview: true, stored: false, format: 'ndjson', profile: null, ok: false });
    expect(body.limits).toEqual({ maxRecords: 100, maxBodyBytes: MB });
    expect(body.counts).toEqual({ read: 4, accepted: 1, rejected: 3 });
    expect(body.rows[0]).toMatchObject({
      position: 0,
      line: 1,
      accepted: true,
      eligibility: { outcome: 'ELIGIBLE', reasons: [] },
      problems: [],
    });
    expect(body.rows[0]!.record).toEqual({
      ...canonicalRecord('BE', 'BE-PV-1'),
      charterFlight: false,
      arrivalDate: null,
      familyMembers: [{ name: 'Sara', dateOfBirth: '2016-05-01', sex: 'FEMALE', vulnerabilities: [] }],
      mainApplicant: { name: 'Youssef El Amrani', dateOfBirth: '1990-02-02', sex: 'MALE', vulnerabilities: [] },
      eligibility: { legalStay: false, temporaryProtection: false, applicationSigned: true, requestDate: '2024-04-10' },
    });
    expect(body.rows[1]).toMatchObject({ accepted: false, record: null, caseReference: 'BE-PV-2' });
    expect(body.rows[1]!.problems.map((p) => `${p.line} ${p.path}`)).toEqual([
      '2 countryOfOrigin',
      '2 mainApplicant.name',
      '2 mainApplicant.dateOfBirth',
      '2 mainApplicant.sex',
    ]);
    expect(body.rows[2]!.problems).toEqual([
      { path: 'memberState', column: null, line: 3, message: expect.stringMatching(/belongs to DE; this feed was/) },
    ]);
    expect(body.rows[3]!.problems[0]).toMatchObject({ path: 'packages', message: /eligibility letter/ });
    expect(body.notChecked.join(' ')).toMatch(/partner assignment.*stored case/);
    expect(await traces()).toEqual(before);
  });

  it('says of each record what a push of the same body does: the worker rejects the same, the same way', async () => {
    worker = startTestWorker(system, 'test-preview-worker');
    const feed = ndjson([
      canonicalRecord('BE', 'BE-SAME-1'),
      canonicalRecord('BE', 'BE-SAME-2', { recordVersion: 0, arrivalDate: '2024-01-01' }),
      canonicalRecord('BE', 'BE-SAME-1'),
      { ...canonicalRecord('BE', 'BE-SAME-3'), $where: 'x', familyMembers: Array(15).fill({}) },
      canonicalRecord('BE', 'BE-SAME-4', { eligibility: { legalStay: true, requestDate: '2024-04-10' } }),
      canonicalRecord('FR', 'BE-SAME-5'),
    ]);
    const { body: said } = await preview(feed, 'application/x-ndjson');
    const pushed = await fetch(`${base}/ingest/v1/feeds`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${tokens.be}` },
      body: feed,
    });
    const { feedId } = (await pushed.json()) as { feedId: string };
    let report: { status: string; counts: Record<string, number>; rejected: Array<Record<string, unknown>> };
    for (;;) {
      const r = await fetch(`${base}/ingest/v1/feeds/${feedId}`, { headers: { authorization: `Bearer ${tokens.be}` } });
      report = (await r.json()) as typeof report;
      if (['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(report.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const fromPreview = said.rows.flatMap((row) =>
      row.problems.map((p) => ({ position: row.position, line: p.line, path: p.path, message: p.message })),
    );
    const fromPush = report.rejected.map(({ position, line, path, message }) => ({ position, line, path, message }));
    expect(fromPreview).toEqual(fromPush);
    expect(said.counts.accepted).toBe(report.counts.created);
    expect(said.rows.find((r) => r.caseReference === 'BE-SAME-4')!.eligibility!.outcome).toBe('INELIGIBLE');
  });

  it("an installed profile (?profile= or X-Feed-Profile): problems name the national file's column", async () => {
    const before = await traces();
    const csv = germanCsv([germanRow('DE-PV-1'), germanRow('DE-PV-2', '31.02.1988'), germanRow('DE-PV-3', 'gestern')]);
    for (const how of [{ query: '?profile=de-reag-garp' }, { headers: { 'x-feed-profile': 'de-reag-garp' } }]) {
      const { status, body } = await preview(csv, 'text/csv', { token: tokens.de, ...how });
      expect(status).toBe(200);
      expect(body.profile).toEqual({ name: 'de-reag-garp', memberState: 'DE', source: 'installed' });
      expect(body.counts).toEqual({ read: 3, accepted: 1, rejected: 2 });
      expect(body.rows[0]!.record).toMatchObject({
        memberState: 'DE',
        countryOfOrigin: 'TR',
        packages: ['POST_ARRIVAL', 'POST_RETURN'],
        mainApplicant: { name: 'Ayse Müller-Lüdenscheidt', dateOfBirth: '1988-11-07', sex: 'FEMALE' },
        familyMembers: [{ name: 'Emre Müller', relationship: 'CHILD' }],
      });
      const problems = body.rows.slice(1).flatMap((r) => r.problems.map((p) => `${p.line} ${p.column} ${p.path}`));
      expect(new Set(problems)).toEqual(
        new Set(['3 Geburtsdatum mainApplicant.dateOfBirth', '4 Geburtsdatum mainApplicant.dateOfBirth']),
      );
      expect(body.rows[1]!.problems[0]!.message).toBe('column "Geburtsdatum": must be a calendar date YYYY-MM-DD');
      expect(body.rows[1]!.mapped).toMatchObject({ mainApplicant: { dateOfBirth: '1988-02-31' } });
    }
    expect(await traces()).toEqual(before);
  });

  it('a profile sent in the body (multipart): tried before it is installed, validated as installed ones', async () => {
    const before = await traces();
    // A new dialect: the German one, renamed, with another header for the birth date.
    const columns = Object.entries(GERMAN.columns as Record<string, string>).map(([h, path]) =>
      h === 'Geburtsdatum' ? ['Geb.-Datum', path] : [h, path],
    );
    const trial = { ...GERMAN, name: 'de-trial', columns: Object.fromEntries(columns) };
    const csv = germanCsv([germanRow('DE-TRY-1'), germanRow('DE-TRY-2', '1988-11-07')]);
    const file = Buffer.from(csv.toString('latin1').replace('Geburtsdatum', 'Geb.-Datum'), 'latin1');
    const { status, body } = await preview(withProfile(trial, file), null, { token: tokens.de });
    expect(status).toBe(200);
    expect(body.profile).toEqual({ name: 'de-trial', memberState: 'DE', source: 'request' });
    expect(body.counts).toEqual({ read: 2, accepted: 1, rejected: 1 });
    expect(body.rows[0]!.record).toMatchObject({ mainApplicant: { name: 'Ayse Müller-Lüdenscheidt' } });
    expect(body.rows[1]!.problems[0]).toMatchObject({ column: 'Geb.-Datum', line: 3 });
    // The profile is not installed by being tried.
    const listed = (await (
      await fetch(`${base}/ingest/v1/profiles`, { headers: { authorization: `Bearer ${tokens.de}` } })
    ).json()) as Array<{ name: string }>;
    expect(listed.map((p) => p.name)).not.toContain('de-trial');

    // A bad profile: 400 naming the field.
    const bad = await preview(withProfile({ ...trial, dateFormat: 'yyyy/dd/mm' }, file), null, { token: tokens.de });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'BAD_REQUEST', field: 'dateFormat', message: /profile: dateFormat/ });
    const path = await preview(withProfile({ ...trial, columns: { X: 'main applicant' } }, file), null, {
      token: tokens.de,
    });
    expect(path.body.error).toMatchObject({ field: 'columns.X', message: /must be a canonical field path/ });
    // Another Member State's profile is refused as for a push; naming one and sending one is ambiguous.
    expect((await preview(withProfile(trial, file), null, { token: tokens.at })).status).toBe(403);
    const both = await preview(withProfile(trial, file), null, { token: tokens.de, query: '?profile=de-reag-garp' });
    expect(both.body.error!.message).toMatch(/not both/);
    // Canonical files go through multipart too (a part's type, or its file name, tells the format).
    const canonical = new FormData();
    canonical.append('file', new Blob([JSON.stringify([canonicalRecord('BE', 'BE-MP-1')])]), 'feed.json');
    const { body: json } = await preview(canonical, null);
    expect(json).toMatchObject({ format: 'json', ok: true, counts: { read: 1, accepted: 1 } });
    expect(await traces()).toEqual(before);
  });

  it('the same principals as a push: Member States only, a profile of its own Member State', async () => {
    const body = ndjson([canonicalRecord('BE', 'BE-ACL-1')]);
    expect((await preview(body, 'application/x-ndjson', { token: '' })).status).toBe(401);
    expect((await preview(body, 'application/x-ndjson', { token: 'not.a.token' })).status).toBe(401);
    for (const token of [tokens.partner, tokens.support])
      expect((await preview(body, 'application/x-ndjson', { token })).body.error!.code).toBe('FORBIDDEN');
    const foreign = await preview(germanCsv([germanRow('DE-1')]), 'text/csv', { query: '?profile=de-reag-garp' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error!.message).toMatch(/de-reag-garp is DE's national system/);
    expect((await preview(body, 'text/plain')).status).toBe(415);
    expect((await preview(body, 'application/x-ndjson', { query: '?profile=xx-none' })).body.error!.code).toBe(
      'UNKNOWN_PROFILE',
    );
    expect((await preview(body, 'application/json', { query: '?profile=de-reag-garp', token: tokens.de })).status).toBe(
      415,
    );
  });

  it('reads the first 100 records; a feed the push would refuse whole says so, with the records before', async () => {
    const many = ndjson(Array.from({ length: 150 }, (_, i) => canonicalRecord('BE', `BE-MANY-${i}`)));
    const { body } = await preview(`${many}\n{"broken`, 'application/x-ndjson');
    expect(body).toMatchObject({ truncated: true, ok: true, feedError: null, counts: { read: 100, accepted: 100 } });
    const broken = await preview('[{"caseReference":"BE-1"},\n{"caseReference": }]', 'application/json');
    expect(broken.status).toBe(200);
    expect(broken.body).toMatchObject({
      ok: false,
      counts: { read: 1 },
      feedError: { code: 'MALFORMED_FEED', line: 2 },
    });
    const empty = await preview('[]', 'application/json');
    expect(empty.body.feedError!.code).toBe('EMPTY_FEED');
    const notUtf8 = await preview(Buffer.from('memberState\n\xff\n', 'latin1'), 'text/csv');
    expect(notUtf8.body.feedError).toMatchObject({ code: 'MALFORMED_FEED', message: /not valid UTF-8/ });
  });

  it('hostile input at full size gets a clear 4xx, nothing is stored, and the gateway goes on answering', async () => {
    const before = await traces();
    // A body over the limit: declared, and streamed without a length.
    const over = Buffer.alloc(MB + 1, 'a');
    const declared = await preview(over, 'text/csv');
    expect(declared.status).toBe(413);
    expect(declared.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: /at most 1048576 bytes/ });
    const streamed = await fetch(`${base}/ingest/v1/preview`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${tokens.be}` },
      body: new Blob([over]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    // A 10 MB single line.
    const line = await preview(`{"caseReference":"${'x'.repeat(10 * MB)}"}`, 'application/x-ndjson');
    expect(line.status).toBe(413);
    // A profile mapping 5,000 columns, with a file of 5,000 columns.
    const wide = { ...GERMAN, name: 'de-wide', columns: {} as Record<string, string> };
    for (let i = 0; i < 5_000; i++) wide.columns[`Spalte${i}`] = `mainApplicant.name`;
    const header = Object.keys(wide.columns).join(';');
    const fiveThousand = await preview(withProfile(wide, `${header}\r\n${'x;'.repeat(4_999)}x\r\n`), null, {
      token: tokens.de,
    });
    expect(fiveThousand.status).toBe(400);
    expect(fiveThousand.body.error).toMatchObject({
      field: 'columns',
      message: /5000 columns; a profile maps at most 500/,
    });
    // Malformed multipart and malformed profile JSON.
    const boundary = 'multipart/form-data; boundary=XyZ';
    const cases: Array<[string | Buffer, string, RegExp]> = [
      ['--XyZ\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc', boundary, /closing boundary/],
      ['no boundary here', boundary, /does not start with its multipart boundary/],
      ['x', 'multipart/form-data', /needs a boundary/],
      ['--XyZ\r\nContent-Disposition: form-data; name="other"\r\n\r\nabc\r\n--XyZ--', boundary, /unexpected part/],
      ['--XyZ\r\nContent-Disposition: form-data; name="profile"\r\n\r\n{}\r\n--XyZ--', boundary, /"file" part/],
      [
        `--XyZ\r\nContent-Disposition: form-data; name="profile"\r\n\r\n{"name": \r\n--XyZ\r\n` +
          `Content-Disposition: form-data; name="file"\r\n\r\na;b\r\n--XyZ--`,
        boundary,
        /the profile part is not valid JSON/,
      ],
      [
        `--XyZ\r\nContent-Disposition: form-data; name="profile"\r\n\r\n${'['.repeat(MB - 200)}\r\n--XyZ\r\n` +
          `Content-Disposition: form-data; name="file"\r\n\r\na;b\r\n--XyZ--`,
        boundary,
        /the profile part is not valid JSON/,
      ],
    ];
    for (const [body, type, message] of cases) {
      const answer = await preview(body, type, { token: tokens.de });
      expect([answer.status, answer.body.error?.code]).toEqual([400, 'BAD_REQUEST']);
      expect(answer.body.error!.message).toMatch(message);
    }
    expect(await traces()).toEqual(before);
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
  });

  it('is rate-limited with the pushes of its Member State (INGEST_PUSHES_PER_MINUTE), others unaffected', async () => {
    const body = ndjson([canonicalRecord('AT', 'AT-RL-1')]);
    // One after the other: at once, two being received (INGEST_PUSHES_IN_FLIGHT) would refuse the rest.
    const answers: Array<Awaited<ReturnType<typeof preview>>> = [];
    for (let i = 0; i < 40; i++) answers.push(await preview(body, 'application/x-ndjson', { token: tokens.at }));
    // One earlier AT request (the foreign profile above) took one of the 40.
    expect(answers.filter((a) => a.status === 200).length).toBe(39);
    const limited = answers.find((a) => a.status === 429)!;
    expect(limited.body.error).toMatchObject({ code: 'RATE_LIMITED', limit: 'INGEST_PUSHES_PER_MINUTE' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const push = await fetch(`${base}/ingest/v1/feeds`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${tokens.at}` },
      body,
    });
    expect(push.status).toBe(429);
    expect(
      (await preview(ndjson([canonicalRecord('FR', 'FR-1')]), 'application/x-ndjson', { token: tokens.fr })).status,
    ).toBe(200);
  });

  it('the CLI: a readable table per record, exit 0 when every record maps cleanly, 1 otherwise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'preview-'));
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'scripts/ingest.ts', '--preview', '--url', base, ...args],
          { cwd: ROOT, timeout: 60_000, env: { ...process.env, AUTH_JWT_SECRET: system.config.AUTH_JWT_SECRET } },
          (error, stdout, stderr) =>
            resolve({ status: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
        );
      });
    const mixed = join(dir, 'export.csv');
    writeFileSync(mixed, germanCsv([germanRow('DE-CLI-1'), germanRow('DE-CLI-2', '31.02.1988')]));
    // The Member State comes from the profile: no --member-state needed.
    const result = await run(['--profile', 'de-reag-garp', mixed]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/preview of csv with profile de-reag-garp: read 2, would be accepted 1, rejected 1/);
    expect(result.stdout).toMatch(/ {5}0 {6}2 {2}DE-CLI-1 {18}accepted {8}2 {2}ELIGIBLE/);
    expect(result.stdout).toMatch(
      / {5}1 {6}3 {2}DE-CLI-2 .*REJECTED.*\n {16}column "Geburtsdatum", mainApplicant\.dateOfB/,
    );
    const clean = join(dir, 'clean.csv');
    writeFileSync(clean, germanCsv([germanRow('DE-CLI-3')]));
    expect((await run(['--profile', 'de-reag-garp', clean])).status).toBe(0);
    // A profile from a file, not installed; --json prints the whole answer.
    const profileFile = join(dir, 'de-trial.json');
    writeFileSync(profileFile, JSON.stringify({ ...GERMAN, name: 'de-trial' }));
    const tried = await run(['--profile-file', profileFile, '--json', clean]);
    expect(tried.status).toBe(0);
    expect(JSON.parse(tried.stdout)).toMatchObject({ profile: { name: 'de-trial', source: 'request' }, ok: true });
    // Canonical files by extension; a refusal exits 2 with the code.
    const feed = join(dir, 'feed.ndjson');
    writeFileSync(feed, ndjson([canonicalRecord('BE', 'BE-CLI-1')]));
    expect((await run(['--member-state', 'BE', feed])).status).toBe(0);
    const refused = await run(['--member-state', 'BE', '--profile', 'de-reag-garp', clean]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/refused \(403 FORBIDDEN\)/);
    expect((await run([feed])).stderr).toMatch(/--member-state is required/);
    expect(await traces()).toMatchObject({ staged: 0 });
  });
});
