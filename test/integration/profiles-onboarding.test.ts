import type { Worker } from 'bullmq';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';

import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';

import { startTestSystem, testConfig, type TestSystem, startTestWorker } from '../helpers/system.js';

interface Report {
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

const sample = (name: string) => readFileSync(new URL(`../fixtures/profiles/${name}.csv`, import.meta.url));

/** Stored fields a feed writes, without ids, history and timestamps. */
const fieldsOf = (doc: CaseDoc | null) =>
  doc && {
    caseReference: doc.caseReference,
    recordVersion: doc.recordVersion,
    returnType: doc.returnType,
    charterFlight: doc.charterFlight,
    packages: doc.packages,
    countryOfOrigin: doc.countryOfOrigin,
    departureDate: doc.departureDate,
    arrivalDate: doc.arrivalDate,
    mainApplicant: doc.mainApplicant,
    familyMembers: doc.familyMembers,
    familySize: doc.familySize,
    outcome: doc.eligibility?.outcome,
    requestDate: doc.eligibility?.requestDate,
  };

describe('onboarding national dialects by profile: every field of every row through the push API', () => {
  let system: TestSystem;
  let worker: Worker;
  const tokens: Record<string, string> = {};

  const push = (profile: string, body: Buffer | string, token: string) =>
    fetch(`${system.gateway.url}/ingest/v1/feeds?profile=${profile}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${token}` },
      body,
    });
  const finished = async (feedId: string, token: string): Promise<Report> => {
    for (let i = 0; i < 400; i++) {
      const response = await fetch(`${system.gateway.url}/ingest/v1/feeds/${feedId}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await response.json()) as Report;
      if (['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(body.status)) return body;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`feed ${feedId} did not finish`);
  };
  const pushed = async (profile: string, body: Buffer | string, token: string) => {
    const response = await push(profile, body, token);
    expect(response.status).toBe(202);
    return finished(((await response.json()) as { feedId: string }).feedId, token);
  };
  const stored = (memberState: string, caseReference: string) =>
    casesModels(system.connections.cases).Case.findOne({ memberState, caseReference }).lean<CaseDoc>().exec();

  beforeAll(async () => {
    system = await startTestSystem({
      config: testConfig({ INGEST_MAX_BODY_BYTES: String(4 * 1024 * 1024) }),
    });
    tokens.se = await mintToken({ subject: 'se-system', role: 'MEMBER_STATE', memberState: 'SE' }, system.config);
    tokens.it = await mintToken({ subject: 'it-system', role: 'MEMBER_STATE', memberState: 'IT' }, system.config);
    worker = startTestWorker(system, 'test-profiles-worker');
  });
  afterAll(async () => {
    await worker?.close();
    await system?.stop();
  });

  it('Sweden: header on line 3, names joined, family head count, office columns ignored, bad date named', async () => {
    const report = await pushed('se-migrationsverket', sample('se-migrationsverket'), tokens.se!);
    expect(report.counts).toMatchObject({ received: 4, created: 3, rejected: 1 });
    expect(report.rejected).toEqual([
      {
        position: 3,
        line: 7,
        caseReference: 'SE-2024-0104',
        path: 'departureDate',
        message:
          'column "Avresedatum": "31/02/2024" is not a date in any of the formats "yyyy-mm-dd", "yyyymmdd", "yymmdd"',
      },
    ]);
    const person = (name: string, dateOfBirth: string, sex: string) => ({
      name,
      dateOfBirth,
      sex,
      vulnerabilities: [],
    });
    expect(fieldsOf(await stored('SE', 'SE-2024-0101'))).toEqual({
      caseReference: 'SE-2024-0101',
      recordVersion: 1,
      returnType: 'VOLUNTARY',
      charterFlight: false,
      packages: ['POST_ARRIVAL', 'POST_RETURN'],
      countryOfOrigin: 'IQ',
      departureDate: '2024-05-02',
      arrivalDate: null,
      mainApplicant: person("Zaynab Al-Sa'di", '1988-04-12', 'FEMALE'),
      familyMembers: [],
      familySize: 4,
      outcome: 'ELIGIBLE',
      requestDate: '2024-04-20',
    });
    expect(fieldsOf(await stored('SE', 'SE-2024-0102'))).toEqual({
      caseReference: 'SE-2024-0102',
      recordVersion: 2,
      returnType: 'FORCED',
      charterFlight: true,
      packages: ['CHARTER_ARRIVAL', 'POST_ARRIVAL'],
      countryOfOrigin: 'GE',
      departureDate: '2024-05-15',
      arrivalDate: null,
      mainApplicant: person('Giorgi Beridze', '1985-01-01', 'MALE'),
      familyMembers: [],
      familySize: 1,
      outcome: 'ELIGIBILITY_LETTER_ONLY',
      requestDate: '2024-05-10',
    });
    // The family name was sent decomposed (NFD): stored exactly as sent.
    expect(fieldsOf(await stored('SE', 'SE-2024-0103'))).toEqual({
      caseReference: 'SE-2024-0103',
      recordVersion: 1,
      returnType: 'VOLUNTARY',
      charterFlight: false,
      packages: ['POST_ARRIVAL'],
      countryOfOrigin: 'SO',
      departureDate: '2024-05-20',
      arrivalDate: null,
      mainApplicant: person('Hodan ' + 'Cabdi Xasan Ñúñez'.normalize('NFD'), '2001-02-03', 'FEMALE'),
      familyMembers: [],
      familySize: 2,
      outcome: 'ELIGIBLE',
      requestDate: '2024-05-01',
    });
    expect(await stored('SE', 'SE-2024-0104')).toBeNull();
  });

  it('a family of 4 given as a count gets the entitlement of 4 (615 × 4 + 2,000 + 1,000 × 3 EUR)', async () => {
    const doc = await stored('SE', 'SE-2024-0101');
    const view = await system.graphql<{ case: { familySize: number; entitlement: { totalCents: number } } }>(
      `query($id: ID!) { case(id: $id) { familySize entitlement { totalCents } } }`,
      { id: doc!._id.toHexString() },
    );
    expect(view.body.errors).toBeUndefined();
    expect(view.body.data!.case).toEqual({ familySize: 4, entitlement: { totalCents: 7_460_00 } });
  });

  it('Italy: no header, Windows-1252, reference and version split, members listed in a cell', async () => {
    const report = await pushed('it-viminale', sample('it-viminale'), tokens.it!);
    expect(report.counts).toMatchObject({ received: 4, created: 3, rejected: 1 });
    expect(report.rejected).toEqual([
      {
        position: 3,
        line: 4,
        caseReference: null,
        path: 'caseReference',
        message:
          'column "#1": "Pratica n. 13 del 2024" does not match ^Pratica\\s+([A-Z]{2}-\\d{4}-\\d{4})\\s+v(\\d{1,3})$',
      },
    ]);
    const person = (name: string, dateOfBirth: string, sex: string, relationship?: string) => ({
      name,
      dateOfBirth,
      sex,
      ...(relationship ? { relationship } : {}),
      vulnerabilities: [],
    });
    expect(fieldsOf(await stored('IT', 'RM-2024-0042'))).toEqual({
      caseReference: 'RM-2024-0042',
      recordVersion: 2,
      returnType: 'VOLUNTARY',
      charterFlight: false,
      packages: ['POST_ARRIVAL', 'POST_RETURN'],
      countryOfOrigin: 'TN',
      departureDate: '2024-05-12',
      arrivalDate: null,
      mainApplicant: person('BEN ALI Mohamed', '1985-02-03', 'MALE'),
      familyMembers: [
        person('Fatma Ben Ali', '1990-04-03', 'FEMALE', 'SPOUSE'),
        person('Aïcha Ben Ali', '2015-12-12', 'FEMALE', 'CHILD'),
      ],
      familySize: 3,
      outcome: 'ELIGIBLE',
      requestDate: '2024-05-02',
    });
    expect(fieldsOf(await stored('IT', 'MI-2024-0777'))).toEqual({
      caseReference: 'MI-2024-0777',
      recordVersion: 1,
      returnType: 'FORCED',
      charterFlight: true,
      packages: ['POST_ARRIVAL'],
      countryOfOrigin: 'EG',
      departureDate: '2024-05-20',
      arrivalDate: null,
      mainApplicant: person('MAHMOUD Ahmed Samir', '1990-09-17', 'MALE'),
      familyMembers: [],
      familySize: 1,
      outcome: 'ELIGIBILITY_LETTER_ONLY',
      requestDate: '2024-05-15',
    });
    expect(fieldsOf(await stored('IT', 'NA-2024-0013'))).toEqual({
      caseReference: 'NA-2024-0013',
      recordVersion: 1,
      returnType: 'VOLUNTARY',
      charterFlight: false,
      packages: ['POST_ARRIVAL', 'POST_RETURN'],
      countryOfOrigin: 'NG',
      departureDate: '2024-06-01',
      arrivalDate: null,
      mainApplicant: person('OKAFOR Chidinma', '1996-02-29', 'FEMALE'),
      familyMembers: [person('Chukwuemeka Okafor', '2020-01-01', 'MALE', 'CHILD')],
      familySize: 2,
      outcome: 'ELIGIBLE',
      requestDate: '2024-05-20',
    });
  });

  it('hostile input at full size: 1 MB pattern cell, thousands of members, unknown column', async () => {
    const good = sample('it-viminale').toString('latin1').split('\r\n')[0]!;
    const huge = `Pratica ${'A'.repeat(1_000_000)} v1` + good.slice(good.indexOf('|'));
    const members = Array.from({ length: 5_000 }, (_, i) => `Figlio ${i}, 01/01/15, M, figlio`).join('; ');
    const many = good.replace('RM-2024-0042', 'RM-2024-0043').replace(/\|[^|]*coniuge[^|]*\|/, `|${members}|`);
    const started = Date.now();
    const report = await pushed('it-viminale', Buffer.from(`${huge}\r\n${many}\r\n`, 'latin1'), tokens.it!);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(report.counts).toMatchObject({ received: 2, rejected: 2 });
    expect(report.rejected.map((r) => [r.line, r.path, r.message.slice(0, 40)])).toEqual([
      [1, 'caseReference', 'column "#1": "Pratica AAAAAAAAAAAAAAAAAA'],
      [2, 'familyMembers', 'column "#10": must have at most 14 eleme'],
    ]);
    const unknown = await push('se-migrationsverket', 'a;b;c\n\nÄrendenummer;Passnummer\nSE-1;X\n', tokens.se!);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      error: {
        code: 'MALFORMED_FEED',
        message: expect.stringMatching(/columns not in profile se-migrationsverket: Passnummer/),
      },
    });
    const twice = await push('se-migrationsverket', 'a\nb\nÄrendenummer;Ärendenummer\nSE-1;SE-2\n', tokens.se!);
    expect(await twice.json()).toMatchObject({
      error: { message: expect.stringMatching(/appears twice in the header/) },
    });
  });
});
