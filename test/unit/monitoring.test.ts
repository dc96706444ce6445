import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { entryJsonOf, messageOf, type CaseEvent } from '../../shared/case-events/index.js';
import type { CaseDoc } from '../../subgraphs/cases/case/models.js';
import {
  checkInstrument,
  DEFAULT_INSTRUMENT_FILE,
  loadInstrument,
  MAX_INSTRUMENT_ITEMS,
  type Instrument,
} from '../../subgraphs/cases/monitoring/instrument.js';
import type { AssessmentDoc } from '../../subgraphs/cases/monitoring/models.js';
import { assessmentEvent, complaintEvent } from '../../subgraphs/cases/monitoring/records.js';
import {
  checkComplaintMove,
  checkFollowUp,
  checkSatisfaction,
  checkText,
  isOverdue,
  mayCompleteAction,
  mayRecordFeedback,
  mayRecordVisits,
  nextDueOn,
  visitScope,
  type ComplaintStatus,
} from '../../subgraphs/cases/monitoring/rules.js';
import { checkAnswers, scoreAssessment } from '../../subgraphs/cases/monitoring/scoring.js';
import { demoVisits, monitoringForCase, type MonitoredCase } from '../../scripts/demo/monitoring.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEFAULT_FILE = join(ROOT, DEFAULT_INSTRUMENT_FILE);

/** A small instrument: two economic items (weights 3 and 1), two social, one psychosocial; scale 1..5. */
function small(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const scale = [1, 2, 3, 4, 5].map((value) => ({ value, label: `v${value}` }));
  return {
    id: 'test',
    version: '2',
    title: 'Test instrument',
    basis: 'For tests',
    minAnsweredShare: 0.5,
    dimensions: { economic: { weight: 2 }, social: { weight: 1 }, psychosocial: { weight: 1 } },
    scales: { five: scale },
    items: [
      { id: 'E1', dimension: 'economic', text: 'Income', scale: 'five', weight: 3 },
      { id: 'E2', dimension: 'economic', text: 'Work', scale: 'five', weight: 1 },
      { id: 'S1', dimension: 'social', text: 'Housing', scale: 'five', weight: 1 },
      { id: 'S2', dimension: 'social', text: 'Network', scale: 'five', weight: 1 },
      { id: 'P1', dimension: 'psychosocial', text: 'Safety', scale: 'five', weight: 1 },
    ],
    ...overrides,
  };
}
function instrumentOf(raw: Record<string, unknown>): Instrument {
  const checked = checkInstrument(raw);
  if (!checked.ok) throw new Error(checked.problems.join('; '));
  return checked.instrument;
}

describe('the shipped instrument (config/instruments/rss-default.v1.json)', () => {
  it('loads, measures all three dimensions and says it is not the official weights', () => {
    const instrument = loadInstrument(DEFAULT_FILE);
    expect(instrument.id).toBe('rss-default');
    expect(instrument.version).toBe('1');
    expect(new Set(instrument.items.map((i) => i.dimension))).toEqual(new Set(['economic', 'social', 'psychosocial']));
    expect(instrument.basis).toMatch(/Reintegration Sustainability Survey/);
    expect(instrument.basis).toMatch(/not the official instrument's weights/);
  });
});

describe('scoring (weighted mean per dimension, normalised to 0..1; overall over dimensions)', () => {
  const instrument = instrumentOf(small());
  const all = (e1: number, e2: number, s1: number, s2: number, p1: number) => [
    { itemId: 'E1', value: e1 },
    { itemId: 'E2', value: e2 },
    { itemId: 'S1', value: s1 },
    { itemId: 'S2', value: s2 },
    { itemId: 'P1', value: p1 },
  ];
  it.each([
    ['every answer at the top', all(5, 5, 5, 5, 5), { economic: 1, social: 1, psychosocial: 1, overall: 1 }],
    ['every answer at the bottom', all(1, 1, 1, 1, 1), { economic: 0, social: 0, psychosocial: 0, overall: 0 }],
    // economic: (3*1 + 1*0)/4 = 0.75; social: (0.5+0.5)/2 = 0.5; psychosocial 0.25; overall (2*.75+.5+.25)/4
    [
      'item weights and dimension weights',
      all(5, 1, 3, 3, 2),
      { economic: 0.75, social: 0.5, psychosocial: 0.25, overall: 0.5625 },
    ],
    // E1 alone is 1 of 2 economic items: 50% answered meets minAnsweredShare 0.5.
    [
      'half a dimension answered is enough at minAnsweredShare 0.5',
      [
        { itemId: 'E1', value: 4 },
        { itemId: 'S2', value: 5 },
        { itemId: 'P1', value: 1 },
      ],
      { economic: 0.75, social: 1, psychosocial: 0, overall: 0.625 },
    ],
    [
      'a dimension without answers is null, and so is overall',
      [
        { itemId: 'E1', value: 5 },
        { itemId: 'S1', value: 5 },
      ],
      { economic: 1, social: 1, psychosocial: null, overall: null },
    ],
  ])('%s', (_, answers, expected) => {
    expect(scoreAssessment(instrument, answers)).toEqual(expected);
  });

  it('a dimension under its minimum share of answers is null', () => {
    const strict = instrumentOf(small({ minAnsweredShare: 1 }));
    const scores = scoreAssessment(strict, [
      { itemId: 'E1', value: 5 },
      { itemId: 'S1', value: 5 },
      { itemId: 'S2', value: 5 },
      { itemId: 'P1', value: 5 },
    ]);
    expect(scores).toEqual({ economic: null, social: 1, psychosocial: 1, overall: null });
  });

  it('scales need not start at 0 or 1: values are normalised between the scale ends', () => {
    const odd = instrumentOf(
      small({
        scales: {
          five: [
            { value: -2, label: 'a' },
            { value: 0, label: 'b' },
            { value: 2, label: 'c' },
          ],
        },
      }),
    );
    expect(scoreAssessment(odd, all(0, 0, 2, -2, 2))).toEqual({
      economic: 0.5,
      social: 0.5,
      psychosocial: 1,
      overall: 0.625,
    });
  });
});

describe('answers are checked against the instrument', () => {
  const instrument = instrumentOf(small());
  it.each([
    ['not a list', 'E1=5', 'must be a list'],
    ['empty', [], 'at least one answer'],
    ['an unknown item', [{ itemId: 'X9', value: 3 }], 'answer 0 names no item'],
    ['a value off the scale', [{ itemId: 'E1', value: 6 }], 'must be one of 1, 2, 3, 4, 5'],
    ['a fraction', [{ itemId: 'E1', value: 2.5 }], 'must be one of'],
    ['a string value', [{ itemId: 'E1', value: '5' }], 'must be one of'],
    [
      'an item twice',
      [
        { itemId: 'E1', value: 5 },
        { itemId: 'E1', value: 4 },
      ],
      'answers item E1 twice',
    ],
    ['more answers than items', Array.from({ length: 6 }, () => ({ itemId: 'E1', value: 1 })), 'at most 5 answers'],
    ['a prototype key as item', [{ itemId: '__proto__', value: 1 }], 'names no item'],
    ['null entries', [null], 'names no item'],
  ])('%s is refused', (_, raw, reason) => {
    const checked = checkAnswers(instrument, raw);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.reason).toContain(reason);
  });
  it('valid answers pass as given', () => {
    expect(checkAnswers(instrument, [{ itemId: 'P1', value: 2 }])).toEqual({
      ok: true,
      answers: [{ itemId: 'P1', value: 2 }],
    });
  });
});

describe('instrument files: malformed, oversized and hostile files refuse the start, naming path and fault', () => {
  const dir = mkdtempSync(join(tmpdir(), 'instrument-'));
  const write = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const many = Array.from({ length: MAX_INSTRUMENT_ITEMS + 1 }, (_, i) => ({
    id: `I${i}`,
    dimension: ['economic', 'social', 'psychosocial'][i % 3],
    text: 'x',
    scale: 'five',
    weight: 1,
  }));
  it.each([
    ['not JSON', '{ "id": ', /is not JSON/],
    [
      'a missing dimension weight',
      JSON.stringify(small({ dimensions: { economic: { weight: 1 } } })),
      /dimensions\.social/,
    ],
    ['too many items', JSON.stringify(small({ items: many })), /items: .*201|items: Array must contain at most 200/],
    [
      'an item text over 500 characters',
      JSON.stringify(small({ items: [{ ...(small().items as object[])[0], text: 'x'.repeat(501) }] })),
      /items\.0\.text/,
    ],
    ['an unknown key (a typo)', JSON.stringify(small({ weights: {} })), /Unrecognized key/],
    [
      'a negative weight',
      JSON.stringify(
        small({ dimensions: { economic: { weight: -1 }, social: { weight: 1 }, psychosocial: { weight: 1 } } }),
      ),
      /dimensions\.economic\.weight/,
    ],
    [
      'a scale of one option',
      JSON.stringify(small({ scales: { five: [{ value: 1, label: 'a' }] } })),
      /2 to 11 options/,
    ],
    [
      'duplicate scale values',
      JSON.stringify(
        small({
          scales: {
            five: [
              { value: 1, label: 'a' },
              { value: 1, label: 'b' },
            ],
          },
        }),
      ),
      /values must be distinct/,
    ],
    [
      'an item naming no scale',
      JSON.stringify(small({ items: [{ id: 'E1', dimension: 'economic', text: 't', scale: 'toString', weight: 1 }] })),
      /names no scale/,
    ],
    [
      'a dimension without items',
      JSON.stringify(small({ items: [{ id: 'E1', dimension: 'economic', text: 't', scale: 'five', weight: 1 }] })),
      /no item measures the social dimension/,
    ],
    [
      'duplicate item ids',
      JSON.stringify(
        small({
          items: [
            ...(small().items as object[]),
            { id: 'E1', dimension: 'social', text: 't', scale: 'five', weight: 1 },
          ],
        }),
      ),
      /"E1" is given twice/,
    ],
    [
      'a hostile item id',
      JSON.stringify(small({ items: [{ id: '$where', dimension: 'economic', text: 't', scale: 'five', weight: 1 }] })),
      /item id must be/,
    ],
    [
      'a bidi override in an item text',
      JSON.stringify(
        small({ items: [{ id: 'E1', dimension: 'economic', text: 'a\u202Eb', scale: 'five', weight: 1 }] }),
      ),
      /control or invisible/,
    ],
    ['a number as the file', '42', /\(root\)/],
    ['Infinity weight via 1e999', JSON.stringify(small()).replace('"weight":3', '"weight":1e999'), /weight/],
  ])('%s', (name, content, fault) => {
    const path = write(`${name.replace(/\W+/g, '-')}.json`, content);
    expect(() => loadInstrument(path)).toThrow(`Instrument file ${path}:`);
    expect(() => loadInstrument(path)).toThrow(fault);
  });
  it('a missing file and an oversized file', () => {
    expect(() => loadInstrument(join(dir, 'nope.json'))).toThrow(/nope\.json: cannot be read \(ENOENT\)/);
    const huge = write('huge.json', ' '.repeat(300 * 1024));
    expect(() => loadInstrument(huge)).toThrow(/more than 262144/);
  });
  it('a valid file loads', () => {
    const path = write('ok.json', JSON.stringify(small()));
    expect(loadInstrument(path).version).toBe('2');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ id: 'test' });
  });
});

describe('follow-up points', () => {
  it.each([
    ['2024-01-31', 3, '2024-04-30', '2024-06-01', true],
    ['2024-01-31', 3, '2024-04-29', '2024-06-01', false],
    ['2024-03-01', 6, '2024-09-01', '2024-12-01', true],
    ['2024-03-01', 12, '2025-02-28', '2025-06-01', false],
    ['2024-03-01', 3, '2024-06-02', '2024-06-01', false], // in the future
    [null, 3, '2024-06-01', '2024-06-01', false],
  ])('departure %s, %i months, assessed %s (today %s): %s', (departure, months, on, today, ok) => {
    const due = checkFollowUp(departure, months, on, today);
    expect(due.ok).toBe(ok);
  });
  it('says when it is due', () => {
    expect(checkFollowUp('2024-03-01', 12, '2024-06-01', '2025-06-01')).toMatchObject({
      ok: false,
      dueOn: '2025-03-01',
    });
  });
});

describe('feedback, complaints and visits: rules', () => {
  it.each([
    [[{ service: 'OVERALL', score: 5 }], true],
    [[], false],
    [[{ service: 'OVERALL', score: 0 }], false],
    [[{ service: 'OVERALL', score: 6 }], false],
    [[{ service: 'OVERALL', score: 4.5 }], false],
    [[{ service: 'SPA', score: 4 }], false],
    [[{ service: '__proto__', score: 4 }], false],
    [
      [
        { service: 'CASH', score: 4 },
        { service: 'CASH', score: 3 },
      ],
      false,
    ],
    [Array.from({ length: 13 }, () => ({ service: 'CASH', score: 3 })), false],
  ])('satisfaction %j: %s', (raw, ok) => {
    expect(checkSatisfaction(raw).ok).toBe(ok);
  });

  it.each([
    ['  fine  ', 10, 'fine'],
    ['', 10, null],
    ['x'.repeat(11), 10, null],
    ['a\u0000b', 10, null],
    ['a\u200Bb', 10, null],
    [42, 10, null],
  ])('text %j (max %i)', (raw, max, expected) => {
    const checked = checkText(raw, max);
    expect(checked.ok ? checked.text : null).toBe(expected);
  });

  const move = (role: 'PARTNER' | 'SUPPORT_DESK', from: ComplaintStatus, to: ComplaintStatus, resolution: boolean) =>
    checkComplaintMove(role, from, to, resolution);
  it.each([
    ['PARTNER', 'OPEN', 'IN_PROGRESS', false, 'ok'],
    ['PARTNER', 'IN_PROGRESS', 'RESOLVED', true, 'ok'],
    ['PARTNER', 'OPEN', 'RESOLVED', true, 'ok'],
    ['SUPPORT_DESK', 'IN_PROGRESS', 'REJECTED', true, 'ok'],
    ['PARTNER', 'IN_PROGRESS', 'REJECTED', true, 'FORBIDDEN'],
    ['PARTNER', 'IN_PROGRESS', 'RESOLVED', false, 'BAD_USER_INPUT'],
    ['PARTNER', 'OPEN', 'IN_PROGRESS', true, 'BAD_USER_INPUT'],
    ['SUPPORT_DESK', 'RESOLVED', 'IN_PROGRESS', false, 'ILLEGAL_COMPLAINT_STATUS'],
    ['SUPPORT_DESK', 'REJECTED', 'OPEN', false, 'ILLEGAL_COMPLAINT_STATUS'],
    ['SUPPORT_DESK', 'IN_PROGRESS', 'OPEN', false, 'ILLEGAL_COMPLAINT_STATUS'],
    ['SUPPORT_DESK', 'OPEN', 'OPEN', false, 'ILLEGAL_COMPLAINT_STATUS'],
  ] as const)('%s moves a complaint %s → %s (resolution: %s): %s', (role, from, to, resolution, outcome) => {
    const checked = move(role, from, to, resolution);
    expect(checked.ok ? 'ok' : checked.code).toBe(outcome);
  });

  it('who records, reads and completes', () => {
    expect(mayRecordFeedback({ role: 'PARTNER' })).toBe(true);
    expect(mayRecordFeedback({ role: 'SUPPORT_DESK' })).toBe(true);
    expect(mayRecordFeedback({ role: 'MEMBER_STATE' })).toBe(false);
    expect(mayRecordFeedback({ role: 'EU_ANALYST' })).toBe(false);
    expect(mayRecordVisits({ role: 'SUPPORT_DESK' })).toBe(true);
    expect(mayRecordVisits({ role: 'PARTNER' })).toBe(false);
    expect(visitScope({ subject: 'p', role: 'PARTNER', partnerId: 'weldo' })).toEqual({
      kind: 'partner',
      partnerId: 'weldo',
    });
    expect(visitScope({ subject: 'a', role: 'EU_ANALYST' })).toBeNull();
    expect(visitScope({ subject: 'm', role: 'MEMBER_STATE', memberState: 'BE' })).toBeNull();
    const partner = { subject: 'p', role: 'PARTNER' as const, partnerId: 'weldo' };
    expect(mayCompleteAction(partner, { partnerId: 'weldo' }, { owner: 'PARTNER' })).toBe(true);
    expect(mayCompleteAction(partner, { partnerId: 'weldo' }, { owner: 'SUPPORT_DESK' })).toBe(false);
    expect(mayCompleteAction(partner, { partnerId: 'irara' }, { owner: 'PARTNER' })).toBe(false);
    expect(mayCompleteAction({ subject: 'd', role: 'SUPPORT_DESK' }, { partnerId: 'x' }, { owner: 'PARTNER' })).toBe(
      true,
    );
  });

  it.each([
    [{ dueOn: '2024-05-31', completedOn: null }, '2024-06-01', true],
    [{ dueOn: '2024-06-01', completedOn: null }, '2024-06-01', false],
    [{ dueOn: '2024-05-01', completedOn: '2024-05-30' }, '2024-06-01', false],
  ])('overdue %j on %s: %s', (action, today, overdue) => {
    expect(isOverdue(action, today)).toBe(overdue);
  });

  it.each([
    [[], null],
    [
      [
        { dueOn: '2024-07-01', completedOn: null },
        { dueOn: '2024-05-01', completedOn: null },
      ],
      '2024-05-01',
    ],
    [
      [
        { dueOn: '2024-07-01', completedOn: null },
        { dueOn: '2024-05-01', completedOn: '2024-05-02' },
      ],
      '2024-07-01',
    ],
    [[{ dueOn: '2024-05-01', completedOn: '2024-05-02' }], null],
  ])('the next due date of %j is %s', (actions, expected) => {
    expect(nextDueOn(actions)).toBe(expected);
  });
});

describe('monitoring events carry the contract facts, never free text', () => {
  const doc = {
    _id: new Types.ObjectId(),
    memberState: 'BE',
    partnerId: 'weldo',
    countryOfOrigin: 'AF',
    status: 'PLAN_APPROVED',
    version: 7,
  } as unknown as CaseDoc;
  it('ASSESSMENT_RECORDED: scores, follow-up point, instrument version; the answers stay out', () => {
    const assessment = {
      _id: new Types.ObjectId(),
      followUpMonths: 6,
      instrumentVersion: '1',
      answers: [{ itemId: 'E1', value: 5 }],
      scores: { economic: 1, social: 0.5, psychosocial: null, overall: null },
      recordedAt: new Date('2024-09-01T10:00:00Z'),
    } as unknown as AssessmentDoc;
    const event = assessmentEvent(doc, assessment);
    const json = entryJsonOf(event);
    expect(JSON.parse(json)).toMatchObject({ type: 'case.assessed', publicType: 'ASSESSMENT_RECORDED' });
    expect(event.assessment).toEqual({
      assessmentId: assessment._id.toHexString(),
      followUpMonths: 6,
      instrumentVersion: '1',
      scores: { economic: 1, social: 0.5, psychosocial: null, overall: null },
    });
    expect(json).not.toContain('E1');
    // Subscribers are told what happened to which case, not the scores.
    const told = messageOf('1-0', event)!;
    expect(told).toMatchObject({ type: 'ASSESSMENT_RECORDED', caseId: doc._id.toHexString() });
    expect(JSON.stringify(told)).not.toContain('economic');
  });
  it('COMPLAINT_RECORDED and COMPLAINT_UPDATED carry category and status as feedback facts', () => {
    const complaint = { _id: new Types.ObjectId(), category: 'DELAY' as const, status: 'IN_PROGRESS' as const };
    const filed: CaseEvent = complaintEvent(doc, { ...complaint, status: 'OPEN' }, null, new Date());
    const moved: CaseEvent = complaintEvent(doc, complaint, 'OPEN', new Date());
    expect(JSON.parse(entryJsonOf(filed)).publicType).toBe('COMPLAINT_RECORDED');
    expect(JSON.parse(entryJsonOf(moved)).publicType).toBe('COMPLAINT_UPDATED');
    expect(moved.feedback).toEqual({
      feedbackId: complaint._id.toHexString(),
      satisfaction: {},
      complaint: { category: 'DELAY', status: 'IN_PROGRESS' },
    });
    expect(moved.complaint?.previousStatus).toBe('OPEN');
  });
});

describe('demo monitoring records (npm run seed)', () => {
  const instrument = loadInstrument(DEFAULT_FILE);
  const demo = (overrides: Partial<MonitoredCase> = {}, id = new Types.ObjectId('65f0000000000000000000a1')) =>
    monitoringForCase(
      {
        _id: id,
        memberState: 'BE',
        partnerId: 'weldo',
        countryOfOrigin: 'MA',
        status: 'COMPLETED',
        departureDate: '2024-01-15',
        ...overrides,
      },
      instrument,
      '2024-08-01',
      7,
    );
  it('assesses only at follow-ups that have passed, after the follow-up point, deterministically', () => {
    const records = demo();
    const points = records.assessments.map((a) => a.followUpMonths);
    expect(points.every((m) => m === 3 || m === 6)).toBe(true);
    for (const a of records.assessments) {
      expect(checkFollowUp('2024-01-15', a.followUpMonths, a.assessedOn, '2024-08-01').ok).toBe(true);
      expect(a.scores).toEqual(scoreAssessment(instrument, a.answers!));
    }
    const again = demo();
    expect(again.assessments.map((a) => [a.assessedOn, a.scores])).toEqual(
      records.assessments.map((a) => [a.assessedOn, a.scores]),
    );
  });
  it('no records for cases without a partner, before the plan, or without departure', () => {
    expect(demo({ partnerId: null }).assessments).toEqual([]);
    expect(demo({ status: 'ACCEPTED' }).assessments).toEqual([]);
    expect(demo({ departureDate: null }).assessments).toEqual([]);
  });
  it('across many cases: feedback for most, complaints for a few, harder countries score lower', () => {
    const overall = (country: string) => {
      const scores: number[] = [];
      for (let i = 0; i < 300; i++) {
        const id = new Types.ObjectId(`65f0000000000000${i.toString(16).padStart(8, '0')}`);
        const r = demo({ countryOfOrigin: country, departureDate: '2023-01-10' }, id);
        scores.push(...r.assessments.flatMap((a) => (a.scores.overall === null ? [] : [a.scores.overall])));
      }
      return scores.reduce((a, b) => a + b, 0) / scores.length;
    };
    expect(overall('AF')).toBeLessThan(overall('MA'));
    const many = Array.from({ length: 300 }, (_, i) =>
      demo({ departureDate: '2023-01-10' }, new Types.ObjectId(`65f1000000000000${i.toString(16).padStart(8, '0')}`)),
    );
    const feedback = many.filter((r) => r.feedback.length > 0).length;
    const complaints = many.filter((r) => r.complaints.length > 0).length;
    expect(feedback).toBeGreaterThan(120);
    expect(complaints).toBeGreaterThan(0);
    expect(complaints).toBeLessThan(40);
  });
  it('visits: two per partner, some with an overdue action', () => {
    const visits = demoVisits('2024-08-01');
    expect(visits).toHaveLength(10);
    expect(visits.some((v) => v.followUpActions.some((a) => isOverdue(a, '2024-08-01')))).toBe(true);
    for (const v of visits) expect(v.nextDueOn).toBe(nextDueOn(v.followUpActions));
  });
});
