import { describe, expect, it } from 'vitest';
import type { CaseDoc } from '../../subgraphs/cases/case/models.js';
import {
  applyAssignments,
  assessChunk,
  chunkReport,
  decideAgainstStored,
  planRecord,
  type AssessedRecord,
  type ChunkSource,
} from '../../subgraphs/cases/ingestion/decisions.js';
import { validateRecord } from '../../subgraphs/cases/ingestion/record.js';
import { canonicalRecord } from '../helpers/records.js';

const source: ChunkSource = { feedId: 'feed_new', caseIdKey: 'k'.repeat(32) };
const now = new Date('2024-05-01T10:00:00.000Z');
const context = { requestWindowMonths: 6, now, problemsPerRecord: 20 };

function assessed(reference: string, extra: Record<string, unknown> = {}, position = 0): AssessedRecord {
  const result = validateRecord(canonicalRecord('BE', reference, extra));
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return { ...result.record, position };
}

/** The case as a first feed stored it (version 2, partner accepted or not), to decide a new record against. */
function storedCase(overrides: Partial<CaseDoc> = {}): CaseDoc {
  const first = planRecord(assessed('BE-1'), 0, { ...source, feedId: 'feed_old' }, new Date('2024-04-20T00:00:00Z'));
  return { ...first.created, version: 2, ...overrides };
}

describe('the decision about a record against the stored case', () => {
  const same = assessed('BE-1');
  const newer = assessed('BE-1', { recordVersion: 2, departureDate: '2024-04-03' });
  const older = assessed('BE-1', { recordVersion: 1, departureDate: '2024-04-09' });
  const cases: Array<[string, AssessedRecord, Partial<CaseDoc>, string, string | null]> = [
    ['the same content', same, {}, 'unchanged', null],
    ['a newer version', newer, {}, 'updated', 'case.updated'],
    ['the same version with other content', older, {}, 'stale', null],
    [
      'a newer version of an erased case',
      newer,
      {
        erasure: {
          at: now,
          actor: { role: 'ADMIN', subject: 'a' },
          kind: 'REQUEST',
          retained: { adults: 1, minors: 0, mainApplicantAge: 34 },
        },
      },
      'erased',
      null,
    ],
    [
      'a record this feed position created before a crash',
      same,
      { lastIngest: { feedId: 'feed_new', position: 0, outcome: 'created' } },
      'created',
      'case.created',
    ],
    [
      'a record this feed position updated before a crash',
      newer,
      { lastIngest: { feedId: 'feed_new', position: 0, outcome: 'updated', before: null } },
      'updated',
      'case.updated',
    ],
    [
      'the same position of another feed',
      same,
      { lastIngest: { feedId: 'feed_other', position: 0, outcome: 'created' } },
      'unchanged',
      null,
    ],
  ];
  it.each(cases)('%s → %s', (_, record, stored, outcome, eventType) => {
    const decision = decideAgainstStored(planRecord(record, 0, source, now), storedCase(stored), source, now);
    expect(decision.outcome).toBe(outcome);
    expect('event' in decision ? decision.event.type : null).toBe(eventType);
  });

  it('an update is written onto the version read, never onto an erased case, with its history entry and mark', () => {
    const decision = decideAgainstStored(planRecord(newer, 0, source, now), storedCase(), source, now);
    if (decision.outcome !== 'updated' || decision.replayed) throw new Error('expected an update');
    expect(decision.write.filter).toMatchObject({ version: 2, erasure: { $exists: false } });
    expect(decision.write.update.$inc).toEqual({ version: 1 });
    expect(decision.write.update.$set).toMatchObject({
      recordVersion: 2,
      departureDate: '2024-04-03',
      lastIngest: { feedId: 'feed_new', position: 0, outcome: 'updated' },
      'history.2': { version: 3, transition: 'ingested', actor: { subject: 'feed:feed_new' } },
    });
    expect(decision.event).toMatchObject({
      version: 3,
      at: now.toISOString(),
      before: { departureDate: '2024-04-02' },
      after: { departureDate: '2024-04-03' },
    });
  });

  it('reassigns the partner only while no partner has accepted the case', () => {
    const withPartner = { ...newer, partnerId: 'ettc' };
    const submitted = decideAgainstStored(
      planRecord(withPartner, 0, source, now),
      storedCase({ status: 'SUBMITTED' }),
      source,
      now,
    );
    const accepted = decideAgainstStored(
      planRecord(withPartner, 0, source, now),
      storedCase({ status: 'ACCEPTED', partnerId: 'weldo' }),
      source,
      now,
    );
    expect('write' in submitted && submitted.write.update.$set.partnerId).toBe('ettc');
    expect('write' in accepted && accepted.write.update.$set.partnerId).toBeUndefined();
  });

  it('a new case is planned SUBMITTED with its creation event, or CLOSED with its reasons when ineligible', () => {
    const planned = planRecord({ ...assessed('BE-9'), partnerId: 'weldo' }, 3, source, now);
    expect(planned.created).toMatchObject({
      status: 'SUBMITTED',
      partnerId: 'weldo',
      version: 0,
      lastIngest: { feedId: 'feed_new', position: 0 },
    });
    expect(planned.event).toMatchObject({ type: 'case.created', version: 0, before: null });
    const eligibility = {
      outcome: 'INELIGIBLE' as const,
      reasons: ['LEGAL_STAY'],
      requestDate: '2024-04-10',
      assessedAt: now,
      requestWindowMonths: 6,
    };
    const closed = planRecord({ ...assessed('BE-10'), position: undefined, assessed: eligibility }, 3, source, now);
    expect(closed.created).toMatchObject({
      status: 'CLOSED',
      closingReason: 'Ineligible: LEGAL_STAY',
      lastIngest: { position: 3 },
    });
  });
});

describe('the assessment of a chunk: what is refused before the store', () => {
  const chunk = (records: unknown[], extra: Record<string, unknown> = {}) => ({
    memberState: 'BE',
    firstPosition: 10,
    records,
    lines: records.map((_, i) => 100 + i),
    ...extra,
  });

  it.each([
    [
      'a second record of a case',
      [canonicalRecord('BE', 'BE-1'), canonicalRecord('BE', 'BE-1')],
      'caseReference',
      /same case reference is at position 10 \(line 100\)/,
    ],
    [
      'an invalid record',
      [{ ...canonicalRecord('BE', 'BE-1'), countryOfOrigin: 'ZZ' }],
      'countryOfOrigin',
      /country of origin/,
    ],
    [
      "another Member State's record",
      [canonicalRecord('FR', 'FR-1')],
      'memberState',
      /belongs to FR; this feed was pushed by BE/,
    ],
    [
      'support after return without a signed application',
      [
        canonicalRecord('BE', 'BE-1', {
          packages: ['POST_RETURN'],
          eligibility: { applicationSigned: false, requestDate: '2024-04-10' },
        }),
      ],
      'packages',
      /eligibility letter/,
    ],
  ])('refuses %s, naming %s', (_, records, path, message) => {
    const { accepted, rejections } = assessChunk(chunk(records), context);
    expect(rejections).toHaveLength(1);
    expect(rejections[0]!.entries[0]).toMatchObject({ path, message: expect.stringMatching(message) });
    expect(accepted).toHaveLength(records.length - 1);
  });

  it("takes the push API's duplicates when staged, and assesses the rest with their positions", () => {
    const records = [canonicalRecord('BE', 'BE-1'), canonicalRecord('BE', 'BE-2')];
    const { accepted, rejections } = assessChunk(
      chunk(records, { duplicates: { 11: { position: 3, line: 4 } } }),
      context,
    );
    expect(rejections[0]!.entries[0]).toMatchObject({
      position: 11,
      message: expect.stringContaining('position 3 (line 4)'),
    });
    expect(
      accepted.map((r) => [r.caseReference, r.position, r.assessed?.outcome, r.assessed?.requestWindowMonths]),
    ).toEqual([['BE-1', 10, 'ELIGIBLE', 6]]);
  });
});

describe('coverage answers and the chunk report', () => {
  it('a record no partner covers is refused naming why; the others get their partner', () => {
    const records = [assessed('BE-1', {}, 0), assessed('BE-2', {}, 1)];
    const { stored, rejections } = applyAssignments(records, records, [
      { partnerId: 'weldo' },
      { error: 'no partner covers MA' },
    ]);
    expect(stored.map((r) => [r.caseReference, r.partnerId])).toEqual([['BE-1', 'weldo']]);
    expect(rejections).toEqual([
      { entries: [{ position: 1, caseReference: 'BE-2', path: 'countryOfOrigin', message: 'no partner covers MA' }] },
    ]);
  });

  it('counts each rejected record once (an erased case too), keeps the first entries in order, with lines', () => {
    const job = { feedId: 'f', firstPosition: 10, records: [1, 2, 3, 4], lines: [100, 101, 102, 103] };
    const invalid = {
      entries: [13, 13].map((position, i) => ({ position, caseReference: null, path: `p${i}`, message: 'bad' })),
    };
    const stored = [assessed('BE-1', {}, 10), assessed('BE-2', {}, 11), assessed('BE-3', {}, 12)];
    const report = chunkReport(job, [invalid], stored, ['created', 'erased', 'unchanged'], 2);
    expect(report.counts).toEqual({ created: 1, updated: 0, unchanged: 1, stale: 0, rejected: 2 });
    expect(report.rejected.map((r) => [r.position, r.line, r.path])).toEqual([
      [11, 101, 'caseReference'],
      [13, 103, 'p0'],
    ]);
    expect(report.rejectedTotal).toBe(3);
    expect(report.received).toBe(4);
  });
});

describe('missing facts stay missing; a late insertion is checked against its insertion date (#15)', () => {
  const chunk = (records: unknown[]) => ({ memberState: 'BE', firstPosition: 0, records });
  const bare = (reference: string, extra: Record<string, unknown> = {}) => ({
    ...canonicalRecord('BE', reference),
    eligibility: undefined,
    ...extra,
  });

  it('refuses POST_RETURN when the record does not say whether the application was signed, naming the field', () => {
    const { accepted, rejections, gaps } = assessChunk(
      chunk([bare('BE-PR', { packages: ['POST_ARRIVAL', 'POST_RETURN'] })]),
      context,
    );
    expect(accepted).toEqual([]);
    expect(rejections[0]!.entries[0]).toMatchObject({
      path: 'eligibility.applicationSigned',
      message: expect.stringMatching(/^missing: .*send eligibility.applicationSigned$/),
    });
    // Refused, yet its gaps count in data quality.
    expect(gaps).toEqual([
      {
        missing: ['eligibility.requestDate', 'eligibility.applicationSigned'],
        defaulted: ['eligibility.legalStay', 'eligibility.temporaryProtection', 'charterFlight'],
      },
    ]);
  });

  it('stores no request date and no signature, lists them, and checks the window against the insertion day', () => {
    // Departed 2024-04-02; inserted 2024-05-01 (context.now): within 6 months.
    const { accepted } = assessChunk(chunk([bare('BE-A')]), context);
    expect(accepted[0]!.assessed).toMatchObject({
      outcome: 'ELIGIBILITY_LETTER_ONLY',
      requestDate: null,
      requestCheckedOn: '2024-05-01',
      applicationSigned: null,
      missingFacts: ['requestDate', 'applicationSigned'],
    });
    expect(accepted[0]!.lateInsertion).toBe(false);
    // Departed 2023-06-01, inserted 2024-05-01 without a request date: after the window, ineligible and late.
    const late = assessChunk(chunk([bare('BE-L', { departureDate: '2023-06-01' })]), context).accepted[0]!;
    expect(late.assessed).toMatchObject({
      outcome: 'INELIGIBLE',
      reasons: ['REQUEST_AFTER_WINDOW'],
      requestDate: null,
    });
    expect(late.lateInsertion).toBe(true);
    expect(planRecord(late, 0, source, now).created).toMatchObject({ status: 'CLOSED' });
  });

  it('a later push supplying the signature re-assesses the case, its window still checked on insertion', () => {
    const inserted = new Date('2024-05-01T00:00:00Z');
    const first = assessChunk(chunk([bare('BE-R')]), { ...context, now: inserted }).accepted[0]!;
    const stored = { ...planRecord(first, 0, { ...source, feedId: 'feed_old' }, inserted).created, version: 1 };
    expect(stored.eligibility).toMatchObject({ outcome: 'ELIGIBILITY_LETTER_ONLY' });
    // Pushed again a year later, signed, still without a request date.
    const later = new Date('2025-05-01T00:00:00Z');
    const signed = bare('BE-R', { recordVersion: 2, eligibility: { applicationSigned: true } });
    const again = assessChunk(chunk([signed]), { ...context, now: later }).accepted[0]!;
    // Against the push day alone it would be ineligible (more than 6 months after departure)...
    expect(again.assessed?.outcome).toBe('INELIGIBLE');
    // ...but the case was inserted on 2024-05-01: that day is checked.
    const decision = decideAgainstStored(planRecord(again, 0, source, later), stored, source, later);
    expect(decision.outcome).toBe('updated');
    const set = 'write' in decision ? decision.write.update.$set : {};
    expect(set.eligibility).toMatchObject({
      outcome: 'ELIGIBLE',
      requestDate: null,
      requestCheckedOn: '2024-05-01',
      applicationSigned: true,
      missingFacts: ['requestDate'],
    });
  });
});
