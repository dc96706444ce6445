import type { Worker } from 'bullmq';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';
import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';
import { startTestSystem, startTestWorker, testConfig, type TestSystem } from '../helpers/system.js';

/**
 * The constructs no shipped sample export uses, end to end through the push API: family members
 * as repeated column groups described by a header template, a split by separator, title case, a
 * value map with a default, a code list over a list column, and unknown columns ignored.
 */
const PROFILE = {
  name: 'be-constructs-demo',
  description: 'A Belgian-style export with children in column groups',
  memberState: 'BE',
  delimiter: ';',
  encoding: 'utf-8',
  dateFormat: 'dd.mm.yyyy',
  columns: {
    Dossier: { split: { separator: '/', into: ['caseReference', 'recordVersion'] } },
    Retour: {
      field: 'returnType',
      transforms: [{ map: { volontaire: 'VOLUNTARY', forcé: 'FORCED' }, default: 'FORCED' }],
    },
    Paquets: 'packages',
    Pays: 'countryOfOrigin',
    Départ: 'departureDate',
    Demandeur: { field: 'mainApplicant.name', transforms: ['trim', 'title'] },
    Naissance: 'mainApplicant.dateOfBirth',
    Sexe: 'mainApplicant.sex',
  },
  memberGroups: [
    {
      header: 'Enfant{n} {field}',
      from: 1,
      count: 3,
      fields: { Nom: 'name', Né: 'dateOfBirth', Sexe: 'sex' },
      constants: { relationship: 'CHILD' },
    },
  ],
  unknownColumns: 'ignore',
  codeLists: {
    packages: { arrivee: 'POST_ARRIVAL', retour: 'POST_RETURN' },
    'person.sex': { m: 'MALE', f: 'FEMALE' },
  },
  // The export has no signature column: the profile states it (a missing signature would refuse POST_RETURN).
  constants: { memberState: 'BE', 'eligibility.applicationSigned': true },
};

const EXPORT = [
  'Dossier;Retour;Paquets;Pays;Départ;Demandeur;Naissance;Sexe;Enfant1 Nom;Enfant1 Né;Enfant1 Sexe;' +
    'Enfant2 Nom;Enfant2 Né;Enfant2 Sexe;Bureau',
  'BE-2024-77/3;Volontaire;arrivee|retour;MA;02.05.2024;  AMRANI youssef ;01.01.1980;m;Sara Amrani;01.06.2015;F;' +
    ';;;Bruxelles',
  'BE-2024-78/1;???;arrivee;TN;03.05.2024;BEN SALAH amal;02.02.1990;f;Adam Ben Salah;04.04.2018;m;' +
    'Lina Ben Salah;05.05.2020;f;Liège',
].join('\r\n');

describe('profile constructs no sample export uses, end to end through the push API', () => {
  let system: TestSystem;
  let worker: Worker;
  let token: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'avrr-profiles-'));
    writeFileSync(join(dir, `${PROFILE.name}.json`), JSON.stringify(PROFILE));
    system = await startTestSystem({ config: testConfig({ PROFILES_DIR: dir }) });
    token = await mintToken({ subject: 'be-system', role: 'MEMBER_STATE', memberState: 'BE' }, system.config);
    worker = startTestWorker(system, 'test-constructs-worker');
  });
  afterAll(async () => {
    await worker?.close();
    await system?.stop();
  });

  it('groups, split, title case, a map with a default, a code list over a list, an ignored column', async () => {
    const headers = { 'content-type': 'text/csv', authorization: `Bearer ${token}` };
    let pushed: Response | undefined;
    // The gateway reads the seeded profile from the cases subgraph shortly after both start.
    for (let i = 0; i < 100; i++) {
      pushed = await fetch(`${system.gateway.url}/ingest/v1/feeds?profile=${PROFILE.name}`, {
        method: 'POST',
        headers,
        body: EXPORT,
      });
      if (pushed.status !== 503) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(pushed!.status).toBe(202);
    const { report } = (await pushed!.json()) as { report: string };
    let status = '';
    let body: { status: string; counts: Record<string, number>; rejected: unknown[] } | undefined;
    for (let i = 0; i < 400 && !['DONE', 'DONE_WITH_ERRORS', 'FAILED'].includes(status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      body = (await (await fetch(`${system.gateway.url}${report}`, { headers })).json()) as typeof body;
      status = body!.status;
    }
    expect(body).toMatchObject({ status: 'DONE', counts: { created: 2, rejected: 0 } });

    const stored = (reference: string) =>
      casesModels(system.connections.cases)
        .Case.findOne({ memberState: 'BE', caseReference: reference })
        .lean<CaseDoc>()
        .exec();
    const first = await stored('BE-2024-77');
    expect(first).toMatchObject({
      recordVersion: 3,
      returnType: 'VOLUNTARY',
      packages: ['POST_ARRIVAL', 'POST_RETURN'],
      countryOfOrigin: 'MA',
      departureDate: '2024-05-02',
      mainApplicant: { name: 'Amrani Youssef', dateOfBirth: '1980-01-01', sex: 'MALE' },
      familySize: 2,
    });
    expect(first!.familyMembers).toEqual([
      { name: 'Sara Amrani', dateOfBirth: '2015-06-01', sex: 'FEMALE', relationship: 'CHILD', vulnerabilities: [] },
    ]);
    const second = await stored('BE-2024-78');
    expect(second).toMatchObject({
      recordVersion: 1,
      // "???" is in no map: the map's default.
      returnType: 'FORCED',
      packages: ['POST_ARRIVAL'],
      countryOfOrigin: 'TN',
      mainApplicant: { name: 'Ben Salah Amal', dateOfBirth: '1990-02-02', sex: 'FEMALE' },
      familySize: 3,
    });
    expect(second!.familyMembers.map((m) => [m.name, m.dateOfBirth, m.sex, m.relationship])).toEqual([
      ['Adam Ben Salah', '2018-04-04', 'MALE', 'CHILD'],
      ['Lina Ben Salah', '2020-05-05', 'FEMALE', 'CHILD'],
    ]);
  });
});
