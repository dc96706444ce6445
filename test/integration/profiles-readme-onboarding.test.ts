import type { Worker } from 'bullmq';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../shared/auth.js';

import { casesModels, type CaseDoc } from '../../subgraphs/cases/case/models.js';

import { startTestSystem, testConfig, type TestSystem, startTestWorker } from '../helpers/system.js';

/**
 * Poland (Office for Foreigners, UdSC) onboarded from the README's profile section alone: the
 * profile in profiles/pl-udsc.json is installed through the graph by the Polish authority, the
 * export is previewed and pushed, and every row must become exactly what
 * test/fixtures/profiles/pl-udsc.expected.json (written independently of the profile) says.
 */

interface Person {
  name?: string;
  dateOfBirth?: string;
  sex?: string;
  relationship?: string;
  vulnerabilities?: string[];
  detailsUnknown?: boolean;
}
interface CanonicalRecord {
  memberState: string;
  caseReference: string;
  recordVersion: number;
  returnType: string;
  charterFlight: boolean;
  packages: string[];
  countryOfOrigin: string;
  departureDate: string | null;
  arrivalDate: string | null;
  mainApplicant: Person;
  familyMembers: Person[];
  eligibility: { legalStay: boolean; temporaryProtection: boolean; applicationSigned: boolean; requestDate: string };
}
interface Expected {
  accepted: Array<{ line: number; record: CanonicalRecord; stored: { familySize: number; entitlementEur: number } }>;
  rejected: Array<{ line: number; caseReference: string; path: string; column: string }>;
}
interface PreviewRow {
  position: number;
  line: number;
  caseReference: string | null;
  accepted: boolean;
  record: CanonicalRecord | null;
  eligibility: { outcome: string; requestDate: string | null } | null;
  problems: Array<{ path: string; column: string | null; line: number; message: string }>;
}
interface Preview {
  ok: boolean;
  profile: { name: string; memberState: string; source: string };
  counts: { read: number; accepted: number; rejected: number };
  feedError: unknown;
  rows: PreviewRow[];
}
interface Report {
  status: string;
  profile: { name: string; version: number } | null;
  counts: Record<string, number>;
  rejected: Array<{
    position: number;
    line: number | null;
    caseReference: string | null;
    path: string;
    message: string;
  }>;
}

const fixture = (name: string) => new URL(`../fixtures/profiles/${name}`, import.meta.url);
const exportCsv = readFileSync(fixture('pl-udsc.csv'));
const expected = JSON.parse(readFileSync(fixture('pl-udsc.expected.json'), 'utf8')) as Expected;
const profileJson = readFileSync(new URL('../../profiles/pl-udsc.json', import.meta.url), 'utf8');

describe('Poland onboarded from the README alone: profile pl-udsc installed, previewed, pushed', () => {
  let system: TestSystem;
  let worker: Worker;
  let token: string;
  let previewed: Preview;

  const postCsv = (path: string) =>
    fetch(`${system.gateway.url}${path}?profile=pl-udsc`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${token}` },
      body: exportCsv,
    });
  const finished = async (feedId: string): Promise<Report> => {
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
  const stored = (caseReference: string) =>
    casesModels(system.connections.cases).Case.findOne({ memberState: 'PL', caseReference }).lean<CaseDoc>().exec();

  beforeAll(async () => {
    // An empty profiles folder: the only pl-udsc this system knows is the one installed below.
    system = await startTestSystem({
      config: testConfig({ PROFILES_DIR: mkdtempSync(join(tmpdir(), 'avrr-profiles-')) }),
    });
    token = await mintToken({ subject: 'pl-udsc-system', role: 'MEMBER_STATE', memberState: 'PL' }, system.config);
    worker = startTestWorker(system, 'test-pl-profile-worker');
  });
  afterAll(async () => {
    await worker?.close();
    await system?.stop();
  });

  it('the Polish authority installs the profile through the graph (createFeedProfile)', async () => {
    const installed = await system.graphql<{
      createFeedProfile: { name: string; version: number; memberState: string; status: string };
    }>(
      `mutation($profile: String!) {
        createFeedProfile(profile: $profile, note: "onboarding from the README") { name version memberState status }
      }`,
      { profile: profileJson },
      { authorization: `Bearer ${token}` },
    );
    expect(installed.body.errors).toBeUndefined();
    expect(installed.body.data!.createFeedProfile).toEqual({
      name: 'pl-udsc',
      version: 1,
      memberState: 'PL',
      status: 'ACTIVE',
    });
    // No restart: the push API lists it (polled: the gateway learns of it asynchronously).
    let names: string[] = [];
    for (let i = 0; i < 100 && !names.includes('pl-udsc'); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      const listed = await fetch(`${system.gateway.url}/ingest/v1/profiles`, {
        headers: { authorization: `Bearer ${token}` },
      });
      names = ((await listed.json()) as Array<{ name: string }>).map((p) => p.name);
    }
    expect(names).toContain('pl-udsc');
  });

  it('the preview turns each accepted row into exactly the expected record and names the rejected row', async () => {
    const response = await postCsv('/ingest/v1/preview');
    expect(response.status).toBe(200);
    previewed = (await response.json()) as Preview;
    expect(previewed).toMatchObject({
      ok: false,
      feedError: null,
      profile: { name: 'pl-udsc', memberState: 'PL', source: 'installed' },
      counts: {
        read: expected.accepted.length + expected.rejected.length,
        accepted: expected.accepted.length,
        rejected: expected.rejected.length,
      },
    });
    for (const want of expected.accepted) {
      const row = previewed.rows.find((r) => r.line === want.line);
      expect(row, `line ${want.line}`).toBeDefined();
      expect(row!.problems).toEqual([]);
      expect(row!.accepted).toBe(true);
      expect(row!.caseReference).toBe(want.record.caseReference);
      expect(row!.record).toEqual(want.record);
      expect(row!.eligibility?.requestDate).toBe(want.record.eligibility.requestDate);
    }
    for (const want of expected.rejected) {
      const row = previewed.rows.find((r) => r.line === want.line);
      expect(row, `line ${want.line}`).toBeDefined();
      expect(row!).toMatchObject({ accepted: false, record: null, caseReference: want.caseReference });
      expect(row!.problems.map(({ line, path, column }) => ({ line, path, column }))).toEqual([
        { line: want.line, path: want.path, column: want.column },
      ]);
      expect(row!.problems[0]!.message).toContain(`column "${want.column}"`);
    }
  });

  it('the push stores every field of every accepted row, rejects the other, the report names the profile', async () => {
    const response = await postCsv('/ingest/v1/feeds');
    expect(response.status).toBe(202);
    const report = await finished(((await response.json()) as { feedId: string }).feedId);
    expect(report.status).toBe('DONE_WITH_ERRORS');
    expect(report.profile).toEqual({ name: 'pl-udsc', version: 1 });
    expect(report.counts).toMatchObject({
      received: expected.accepted.length + expected.rejected.length,
      created: expected.accepted.length,
      rejected: expected.rejected.length,
    });
    // The same rejection as the preview's, with the same path and message.
    expect(report.rejected).toEqual(
      expected.rejected.map((want) => {
        const row = previewed.rows.find((r) => r.line === want.line)!;
        return {
          position: row.position,
          line: want.line,
          caseReference: want.caseReference,
          path: want.path,
          message: row.problems[0]!.message,
        };
      }),
    );
    for (const want of expected.rejected) expect(await stored(want.caseReference)).toBeNull();

    for (const { line, record, stored: facts } of expected.accepted) {
      const doc = await stored(record.caseReference);
      expect(doc, `line ${line}`).not.toBeNull();
      const outcome = previewed.rows.find((r) => r.line === line)!.eligibility!.outcome;
      expect({
        memberState: doc!.memberState,
        caseReference: doc!.caseReference,
        recordVersion: doc!.recordVersion,
        returnType: doc!.returnType,
        charterFlight: doc!.charterFlight,
        packages: doc!.packages,
        countryOfOrigin: doc!.countryOfOrigin,
        departureDate: doc!.departureDate,
        arrivalDate: doc!.arrivalDate,
        mainApplicant: doc!.mainApplicant,
        familyMembers: doc!.familyMembers,
        familySize: doc!.familySize,
        outcome: doc!.eligibility?.outcome,
        requestDate: doc!.eligibility?.requestDate,
      }).toEqual({
        memberState: record.memberState,
        caseReference: record.caseReference,
        recordVersion: record.recordVersion,
        returnType: record.returnType,
        charterFlight: record.charterFlight,
        packages: record.packages,
        countryOfOrigin: record.countryOfOrigin,
        departureDate: record.departureDate,
        arrivalDate: record.arrivalDate,
        mainApplicant: record.mainApplicant,
        // Members with unknown details count towards familySize but are not stored as persons.
        familyMembers: record.familyMembers.filter((m) => !m.detailsUnknown),
        familySize: facts.familySize,
        outcome,
        requestDate: record.eligibility.requestDate,
      });
      expect(doc!.familySize).toBe(1 + record.familyMembers.length);
    }
  });

  it('the graph answers each case with its family size and its entitlement in EUR', async () => {
    for (const { record, stored: facts } of expected.accepted) {
      const doc = await stored(record.caseReference);
      const byId = await system.graphql<{
        case: { caseReference: string; familySize: number; entitlement: { totalEur: number } };
      }>(`query($id: ID!) { case(id: $id) { caseReference familySize entitlement { totalEur } } }`, {
        id: doc!._id.toHexString(),
      });
      expect(byId.body.errors).toBeUndefined();
      expect(byId.body.data!.case).toEqual({
        caseReference: record.caseReference,
        familySize: facts.familySize,
        entitlement: { totalEur: facts.entitlementEur },
      });
      const byReference = await system.graphql<{
        caseByReference: {
          familySize: number;
          packages: string[];
          mainApplicant: { name: string };
          entitlement: { totalEur: number };
        };
      }>(
        `query($ms: ID!, $ref: String!) {
          caseByReference(memberState: $ms, caseReference: $ref) {
            familySize packages mainApplicant { name } entitlement { totalEur }
          }
        }`,
        { ms: record.memberState, ref: record.caseReference },
        { authorization: `Bearer ${token}` },
      );
      expect(byReference.body.errors).toBeUndefined();
      expect(byReference.body.data!.caseByReference).toEqual({
        familySize: facts.familySize,
        packages: record.packages,
        mainApplicant: { name: record.mainApplicant.name },
        entitlement: { totalEur: facts.entitlementEur },
      });
    }
  });
});
