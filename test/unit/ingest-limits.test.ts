import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkCanonicalHeader, FeedSyntaxError, readFeed } from '../../subgraphs/cases/ingestion/formats.js';
import { feedReport, reportEntries, type FeedChunkDoc } from '../../subgraphs/cases/ingestion/feeds.js';
import { boundedArray, MAX_FAMILY_MEMBERS, validateRecord } from '../../subgraphs/cases/ingestion/record.js';

const record = (extra: Record<string, unknown> = {}) => ({
  memberState: 'BE',
  caseReference: 'BE-2024-1',
  recordVersion: 1,
  returnType: 'VOLUNTARY',
  packages: ['POST_ARRIVAL'],
  countryOfOrigin: 'MA',
  mainApplicant: { name: 'A B', dateOfBirth: '1990-01-01', sex: 'MALE' },
  ...extra,
});

describe('canonical CSV header: column paths are bounded before any row is read', () => {
  it('takes every family member index the programme allows, and refuses the next one naming the column', () => {
    expect(checkCanonicalHeader(['memberState', `familyMembers.${MAX_FAMILY_MEMBERS - 1}.name`])).toEqual([
      'memberState',
      `familyMembers.${MAX_FAMILY_MEMBERS - 1}.name`,
    ]);
    for (const column of [
      `familyMembers.${MAX_FAMILY_MEMBERS}.name`,
      'familyMembers.4000000.name',
      'familyMembers.100000000.sex',
      'familyMembers.99999999999999999999999.name',
      'familyMembers.0004000000.name',
    ]) {
      let error: unknown;
      try {
        checkCanonicalHeader(['memberState', 'caseReference', column]);
      } catch (e) {
        error = e;
      }
      expect(error, column).toBeInstanceOf(FeedSyntaxError);
      expect((error as FeedSyntaxError).message).toContain(`"${column}"`);
      expect((error as FeedSyntaxError).message).toContain(`at most ${MAX_FAMILY_MEMBERS} family members`);
      expect((error as FeedSyntaxError).line).toBe(1);
      expect((error as FeedSyntaxError).column).toBe(column);
    }
  });

  it('refuses an index in any other list (those are one cell joined with |) and prototype keys', () => {
    for (const column of [
      'packages.3000000',
      'mainApplicant.vulnerabilities.5',
      'familyMembers.0.vulnerabilities.7',
      'eligibility.9',
      '7',
      '__proto__.x',
      'mainApplicant.constructor',
    ]) {
      expect(() => checkCanonicalHeader(['memberState', column]), column).toThrow(FeedSyntaxError);
    }
  });

  it('the parser refuses a sparse column at the header, before building any record', async () => {
    const started = performance.now();
    await expect(
      readFeed('memberState,caseReference,familyMembers.100000000.name\nBE,BE-1,A\n', 'csv'),
    ).rejects.toThrow(/familyMembers\.100000000\.name/);
    expect(performance.now() - started).toBeLessThan(500);
    // The largest allowed index still reads.
    const [one] = await readFeed(
      `memberState,caseReference,familyMembers.${MAX_FAMILY_MEMBERS - 1}.name\nBE,BE-1,A\n`,
      'csv',
    );
    expect((one!.record as { familyMembers: unknown[] }).familyMembers).toHaveLength(MAX_FAMILY_MEMBERS);
  });
});

describe('array lengths are checked before their elements', () => {
  it('a too-long array is refused without validating one element', () => {
    let calls = 0;
    const counted = z.string().refine(() => {
      calls++;
      return true;
    });
    const schema = boundedArray(counted, 5);
    expect(schema.safeParse(['a', 'b']).success).toBe(true);
    expect(calls).toBe(2);
    calls = 0;
    const result = schema.safeParse(Array(200_000).fill('x'));
    expect(result.success).toBe(false);
    expect(calls).toBe(0);
    expect(result.error!.issues).toHaveLength(1);
    expect(result.error!.issues[0]!.message).toBe('must have at most 5 elements (got 200000)');
  });

  it('a family of 500,000 elements: one problem, found in milliseconds', () => {
    const started = performance.now();
    const result = validateRecord(record({ familyMembers: Array(500_000).fill(0) }));
    const ms = performance.now() - started;
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      { path: 'familyMembers', message: `must have at most ${MAX_FAMILY_MEMBERS} elements (got 500000)` },
    ]);
    expect(ms).toBeLessThan(200);
    // Vulnerabilities and packages the same way.
    const lists = validateRecord(
      record({
        packages: Array(100_000).fill('POST_ARRIVAL'),
        mainApplicant: {
          name: 'A B',
          dateOfBirth: '1990-01-01',
          sex: 'MALE',
          vulnerabilities: Array(100_000).fill('x'),
        },
      }),
    );
    expect(lists.ok ? [] : lists.problems.map((p) => p.path).sort()).toEqual([
      'mainApplicant.vulnerabilities',
      'packages',
    ]);
  });

  it('the published JSON Schema still says maxItems', async () => {
    const { CANONICAL_RECORD_JSON_SCHEMA } = await import('../../gateway/ingest.js');
    const properties = (
      CANONICAL_RECORD_JSON_SCHEMA as unknown as { properties: Record<string, { maxItems?: number; type?: string }> }
    ).properties;
    expect(properties.familyMembers).toMatchObject({ type: 'array', maxItems: MAX_FAMILY_MEMBERS });
    expect(properties.packages).toMatchObject({ type: 'array', maxItems: 3 });
  });
});

describe('problems kept per record and per report are capped, with the count of the rest', () => {
  it('a record with more problems than the cap keeps the first ones and says how many more', () => {
    const bad = { name: '', dateOfBirth: 'soon', sex: 'X', relationship: '', vulnerabilities: [''] };
    const input = record({
      familyMembers: Array(MAX_FAMILY_MEMBERS).fill(bad),
      ...Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`unknown${i}`, 1])),
    });
    const result = validateRecord(input, 20);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(21);
    const last = result.problems.at(-1)!;
    expect(last.path).toBe('(record)');
    expect(last.message).toMatch(/^and \d+ more problems in this record \(the first 20 are listed\)$/);
    const more = Number(/and (\d+) more/.exec(last.message)![1]);
    expect(more).toBeGreaterThan(50);
    // Unknown fields: a few named, the rest counted.
    const many = validateRecord(
      record(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`unknown${i}`, 1]))),
      20,
    );
    const unknown = (many.ok ? [] : many.problems).find((p) => p.message.startsWith('unknown field(s)'))!;
    expect(unknown.message).toMatch(/unknown field\(s\): unknown0, unknown1, .*unknown9 and 40 more$/);
    expect(unknown.path.length).toBeLessThan(200);
  });

  it('a report lists at most the cap, in feed order, and counts the rest', () => {
    const chunk = (index: number, n: number, omitted = 0): FeedChunkDoc => ({
      _id: `f:${index}`,
      feedId: 'f',
      chunkIndex: index,
      counts: { created: 0, updated: 0, unchanged: 0, stale: 0, rejected: n + omitted },
      rejected: Array.from({ length: n }, (_, i) => ({
        position: index * 1_000 + i,
        line: null,
        caseReference: null,
        path: 'x',
        message: 'y',
      })),
      rejectedTotal: n + omitted,
      failed: false,
      error: null,
      completedAt: new Date(),
    });
    const chunks = [chunk(2, 600), chunk(0, 600), chunk(1, 600, 400)];
    const feed = { _id: 'f', memberState: 'BE', received: 3_000, totalChunks: 3, createdAt: new Date() };
    const report = feedReport(feed, chunks, 1_000);
    expect(report.rejected).toHaveLength(1_000);
    expect(report.rejected[0]!.position).toBe(0);
    expect(report.rejected.at(-1)!.position).toBe(1_399);
    expect(report.rejectedOmitted).toBe(2_200 - 1_000);
    expect(report.counts.rejected).toBe(2_200);
    // Which chunks' entries a report needs: in chunk order, until the cap is filled.
    expect(
      reportEntries(
        chunks.map(({ rejected: _r, ...c }) => c),
        1_000,
      ),
    ).toEqual(['f:0', 'f:1']);
  });
});

describe('a staged chunk is bounded in bytes as well as records', () => {
  it('ends a chunk before the record that would pass INGEST_CHUNK_MAX_BYTES; knows chunk first positions', async () => {
    const { FeedStager } = await import('../../subgraphs/cases/ingestion/staging.js');
    const written = new Map<string, string>();
    const redis = {
      set: async (key: string, value: string) => void written.set(key, value),
      pipeline: () => ({ expire: () => undefined, exec: async () => [] }),
    };
    const stager = new FeedStager(redis as never, 'p', 'feed', 500, 3_600, 1024 * 1024);
    const big = 'x'.repeat(300_000);
    for (let position = 0; position < 10; position++)
      await stager.add({ position, line: position + 2, record: { caseReference: `R-${position}`, note: big } });
    await stager.commit();
    expect(stager.keys).toHaveLength(4);
    expect(stager.firstPositions).toEqual([0, 3, 6, 9]);
    for (const value of written.values()) expect(Buffer.byteLength(value)).toBeLessThan(1024 * 1024 + 1_000);
    const first = JSON.parse(written.get(stager.keys[1]!)!) as {
      records: Array<{ caseReference: string }>;
      lines: number[];
    };
    expect(first.records.map((r) => r.caseReference)).toEqual(['R-3', 'R-4', 'R-5']);
    expect(first.lines).toEqual([5, 6, 7]);
  });
});
