import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  loadProfiles,
  parseWithProfile,
  ProfileError,
  toIsoDate,
} from '../../subgraphs/cases/ingestion/profiles/index.js';
import { validateRecord } from '../../subgraphs/cases/ingestion/record.js';

const profiles = loadProfiles(fileURLToPath(new URL('../../profiles', import.meta.url)));
const profile = (name: string) => profiles.get(name)!;

describe('national CSV dialect profiles', () => {
  it('ships at least three valid profiles', () => {
    expect([...profiles.keys()].sort()).toEqual(['de-reag-garp', 'fr-ofii', 'nl-dtenv']);
  });

  it('Germany: semicolons, Windows-1252, dd.mm.yyyy, German names and codes', async () => {
    const csv =
      'Aktenzeichen;Version;Bundesland;Rückkehrart;Charterflug;Leistungen;Herkunftsland;Ausreisedatum;Name;' +
      'Geburtsdatum;Geschlecht;Schutzbedarf;Angehöriger1 Name;Angehöriger1 Geburtsdatum;Angehöriger1 ' +
      'Geschlecht;Angehöriger1 Verhältnis;Antrag unterschrieben;Antragsdatum\r\n' +
      'DE-BY-2024-0042;1;Bayern;freiwillig;nein;Ankunft,Reintegration;Türkei;05.03.2024;Ayse Müller;' +
      '07.11.1988;w;;Emre Müller;02.02.2015;m;Kind;ja;01.03.2024\r\n';
    const [row] = await parseWithProfile(profile('de-reag-garp'), Buffer.from(csv, 'latin1'));
    expect(row!.line).toBe(2);
    expect(row!.record).toEqual({
      caseReference: 'DE-BY-2024-0042',
      recordVersion: 1,
      memberState: 'DE',
      returnType: 'VOLUNTARY',
      charterFlight: false,
      packages: ['POST_ARRIVAL', 'POST_RETURN'],
      countryOfOrigin: 'TR',
      departureDate: '2024-03-05',
      mainApplicant: { name: 'Ayse Müller', dateOfBirth: '1988-11-07', sex: 'FEMALE' },
      familyMembers: [{ name: 'Emre Müller', dateOfBirth: '2015-02-02', sex: 'MALE', relationship: 'CHILD' }],
      eligibility: { applicationSigned: true, requestDate: '2024-03-01' },
    });
    expect(validateRecord(row!.record).ok).toBe(true);
  });

  it('Netherlands: UTF-8 with BOM, ISO dates, alpha-3 countries, Dutch codes, names in any script', async () => {
    const csv =
      '\uFEFFzaaknummer,versie,terugkeer,charter,pakketten,land_herkomst,vertrekdatum,naam,geboortedatum,' +
      'geslacht,kwetsbaarheden,gezinslid1_naam,gezinslid1_geboortedatum,gezinslid1_geslacht,gezinslid1_relatie,' +
      'aanvraag_ondertekend,aanvraagdatum\n' +
      'NL-24-0007,2,gedwongen,J,charter;aankomst,IRQ,2024-04-01,زينب حسين,1990-05-17,V,MEDICAL_CONDITION,,,,,' +
      'N,2024-04-02\n';
    const [row] = await parseWithProfile(profile('nl-dtenv'), Buffer.from(csv, 'utf8'));
    expect(row!.record).toMatchObject({
      caseReference: 'NL-24-0007',
      recordVersion: 2,
      memberState: 'NL',
      returnType: 'FORCED',
      charterFlight: true,
      packages: ['CHARTER_ARRIVAL', 'POST_ARRIVAL'],
      countryOfOrigin: 'IQ',
      mainApplicant: { name: 'زينب حسين', sex: 'FEMALE', vulnerabilities: ['MEDICAL_CONDITION'] },
      eligibility: { applicationSigned: false, requestDate: '2024-04-02' },
    });
    expect(validateRecord(row!.record).ok).toBe(true);
  });

  it('France: tabs, ISO-8859-1, dd/mm/yyyy, French country names', async () => {
    const csv =
      'NUM_DOSSIER\tVERSION\tTYPE_RETOUR\tVOL_CHARTER\tAIDES\tPAYS_ORIGINE\tDATE_DEPART\tNOM_PRENOM\t' +
      'DATE_NAISSANCE\tSEXE\tCONJOINT_NOM\tCONJOINT_DATE_NAISSANCE\tCONJOINT_SEXE\tDEMANDE_SIGNEE\t' +
      'DATE_DEMANDE\n' +
      'OFII-2024-1193\t1\tvolontaire\tnon\taccueil+réinsertion\tSénégal\t12/02/2024\tMamadou Diallo\t' +
      '01/01/1985\tH\tAïssatou Diallo\t03/04/1987\tF\toui\t10/02/2024\n';
    const [row] = await parseWithProfile(profile('fr-ofii'), Buffer.from(csv, 'latin1'));
    expect(row!.record).toMatchObject({
      memberState: 'FR',
      countryOfOrigin: 'SN',
      packages: ['POST_ARRIVAL', 'POST_RETURN'],
      departureDate: '2024-02-12',
      familyMembers: [{ name: 'Aïssatou Diallo', dateOfBirth: '1987-04-03', sex: 'FEMALE' }],
    });
    expect(validateRecord(row!.record).ok).toBe(true);
  });

  it('leaves unmappable values as written, so validation names the field', async () => {
    const csv = 'Aktenzeichen;Herkunftsland;Ausreisedatum\nDE-1;Atlantis;31.02.2024\n';
    const [row] = await parseWithProfile(profile('de-reag-garp'), Buffer.from(csv, 'latin1'));
    expect(row!.record).toMatchObject({ countryOfOrigin: 'Atlantis', departureDate: '2024-02-31' });
    const result = validateRecord(row!.record);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.problems.map((p) => p.path)).toEqual(expect.arrayContaining(['countryOfOrigin', 'departureDate']));
  });

  it('refuses columns the profile does not know, naming them', async () => {
    await expect(
      parseWithProfile(profile('de-reag-garp'), Buffer.from('Aktenzeichen;Passnummer\nDE-1;X\n', 'latin1')),
    ).rejects.toThrow(/columns not in profile de-reag-garp: Passnummer/);
  });

  it.each([
    ['31.12.2024', 'dd.mm.yyyy', '2024-12-31'],
    ['1/2/2024', 'dd/mm/yyyy', '2024-02-01'],
    ['1/2/2024', 'mm/dd/yyyy', '2024-01-02'],
    ['2024-2-3', 'yyyy-mm-dd', '2024-02-03'],
    ['gestern', 'dd.mm.yyyy', 'gestern'],
  ] as const)('date %s in %s → %s', (value, format, iso) => {
    expect(toIsoDate(value, format)).toBe(iso);
  });

  it('a broken profile file stops loading, naming the file and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'profiles-'));
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({
        name: 'Bad Name',
        description: 'x',
        delimiter: ':',
        encoding: 'utf-8',
        dateFormat: 'yyyy-mm-dd',
        columns: {},
      }),
    );
    expect(() => loadProfiles(dir)).toThrow(ProfileError);
    expect(() => loadProfiles(dir)).toThrow(/profile bad\.json: name must be 2-40 lowercase.*delimiter/);
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    expect(() => loadProfiles(dir)).toThrow(/profile bad\.json: not valid JSON/);
  });
});
