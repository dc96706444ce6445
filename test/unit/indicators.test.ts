import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/auth.js';
import { mayReceive, messageOf, type CaseEvent } from '../../shared/case-events/index.js';
import {
  IndicatorFileError,
  loadIndicatorFile,
  parseIndicatorFile,
  type IndicatorDefinition,
  type IndicatorFile,
} from '../../subgraphs/cases/indicators/definitions.js';
import { indicatorsOf } from '../../subgraphs/cases/indicators/background.js';
import {
  breachFilter,
  checkIndicatorQuery,
  presentValues,
  SuppressionContext,
} from '../../subgraphs/cases/indicators/read.js';
import {
  indicatorAccess,
  indicatorDelta,
  mayReadBreaches,
  shownValue,
  statusOf,
  suppressAcross,
  valueOf,
  type Counters,
} from '../../subgraphs/cases/indicators/rules.js';
import { complaintEvent } from '../../subgraphs/cases/monitoring/records.js';
import { Types } from 'mongoose';
import { breachEvent, breachesIn, indicatorIncrements } from '../../subgraphs/cases/indicators/store.js';
import { addInto } from '../../subgraphs/cases/statistics/facts.js';
import { eventFacts } from '../helpers/event-facts.js';

const shipped = indicatorsOf({});
const def = (id: string): IndicatorDefinition => shipped.indicators.find((d) => d.id === id)!;

/** Counters as stored: the sum of the events' deltas for one document. */
function countersOf(events: CaseEvent[], doc: string): Counters {
  const target: Record<string, unknown> = {};
  for (const event of events) {
    const inc = indicatorDelta(event).get(doc);
    if (inc) addInto(target, inc);
  }
  return target as Counters;
}

let seq = 0;
const created = (over: Parameters<typeof eventFacts>[0]): CaseEvent => ({
  type: 'case.created',
  caseId: `c${++seq}`,
  version: 1,
  at: '2024-03-02T00:00:00Z',
  before: null,
  after: eventFacts(over),
});
const assessed = (
  overall: number,
  months = 12,
  owner = { memberState: 'BE', countryOfOrigin: 'AF', partnerId: 'p1' },
) =>
  ({
    type: 'case.updated',
    caseId: `c${++seq}`,
    version: 2,
    at: '2024-05-10T00:00:00Z',
    before: null,
    after: null,
    owner,
    publicType: 'ASSESSMENT_RECORDED',
    assessment: {
      assessmentId: `a${seq}`,
      followUpMonths: months,
      instrumentVersion: 1,
      scores: { economic: 0.5, social: 0.25, psychosocial: 1, overall },
    },
  }) as unknown as CaseEvent;
const feedback = (ratings: Record<string, number>, complaint: { category: string; status: string } | null) =>
  ({
    type: 'case.updated',
    caseId: `c${++seq}`,
    version: 2,
    at: '2024-05-10T00:00:00Z',
    before: null,
    after: null,
    owner: { memberState: 'BE', countryOfOrigin: 'AF', partnerId: 'p1' },
    publicType: 'FEEDBACK_RECORDED',
    feedback: { feedbackId: `f${seq}`, satisfaction: ratings, complaint },
  }) as unknown as CaseEvent;

describe('the indicators file', () => {
  it('ships the programme process indicators and the outcome indicators, valid', () => {
    expect(shipped.indicators.map((d) => d.id)).toEqual(
      expect.arrayContaining([
        'time-to-acceptance',
        'time-to-plan-approval',
        'time-to-completion',
        'completion-rate',
        'withdrawal-rate',
        'plans-approved-first-time',
        'sustainable-at-12-months',
        'economic-score',
        'social-score',
        'psychosocial-score',
        'returnee-satisfaction',
        'open-complaints',
      ]),
    );
  });

  const base = shipped.indicators[0]!;
  const fileWith = (over: Record<string, unknown>, top: Record<string, unknown> = {}) =>
    JSON.stringify({ version: 1, indicators: [{ ...base, ...over }], ...top });
  const hostile: Array<[string, string, RegExp]> = [
    ['not JSON', '{"version": 1, indicators', /f\.json: not JSON/],
    ['empty', '', /not JSON/],
    ['an array', '[]', /\(file\): /],
    ['an unknown top-level key', fileWith({}, { run: 'rm -rf /' }), /Unrecognized key/],
    ['an unknown indicator key', fileWith({ script: 'return 1' }), /indicators\.0: Unrecognized key/],
    [
      'a measure kind the code does not implement',
      fileWith({ measure: { kind: 'EVAL', code: 'x' } }),
      /indicators\.0\.measure\.kind/,
    ],
    ['a rate outside the closed set', fileWith({ measure: { kind: 'RATE', rate: '__proto__' } }), /measure\.rate/],
    ['a hostile id', fileWith({ id: '$where' }), /indicators\.0\.id/],
    ['a too long name', fileWith({ name: 'x'.repeat(121) }), /indicators\.0\.name/],
    [
      'a minimum outside the unit',
      fileWith({ minimumStandard: 1_000, target: 1 }),
      /minimumStandard: must be within 0\.\.730/,
    ],
    [
      'a target worse than the minimum',
      fileWith({ minimumStandard: 5, target: 14 }),
      /target: must be at least as good/,
    ],
    ['a NaN-like minimum', fileWith({ minimumStandard: '1e999' }), /minimumStandard/],
    ['no scope', fileWith({ appliesTo: [] }), /appliesTo/],
    ['a scope twice', fileWith({ appliesTo: ['PARTNER', 'PARTNER'] }), /lists a scope twice/],
    [
      'a threshold finer than hundredths',
      fileWith({
        measure: { kind: 'SHARE_OF_SCORES_AT_LEAST', dimension: 'overall', followUpMonths: 12, threshold: 0.333 },
        minimumStandard: 0.5,
        target: 0.7,
        direction: 'HIGHER_IS_BETTER',
      }),
      /threshold: must be a multiple of 0\.01/,
    ],
    [
      'a follow-up point not offered',
      fileWith({ measure: { kind: 'MEAN_SCORE', dimension: 'overall', followUpMonths: 9 } }),
      /followUpMonths/,
    ],
    [
      'a duplicate id',
      JSON.stringify({ version: 1, indicators: [base, base] }),
      /indicators\.1\.id: time-to-acceptance is defined twice/,
    ],
    [
      'too many indicators',
      JSON.stringify({ version: 1, indicators: Array.from({ length: 101 }, (_, i) => ({ ...base, id: `i${i}` })) }),
      /indicators: .*100/,
    ],
    ['more than 256 KB', `{"version":1,"indicators":[],"x":"${'a'.repeat(300_000)}"}`, /larger than 262144 bytes/],
  ];
  it.each(hostile)('refuses %s, naming the file and the fault', (_, source, message) => {
    expect(() => parseIndicatorFile(source, 'f.json')).toThrow(IndicatorFileError);
    expect(() => parseIndicatorFile(source, 'f.json')).toThrow(message);
  });

  it('INDICATORS_FILE naming a malformed file refuses (the cases subgraph does not start), naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'indicators-'));
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({ version: 1, indicators: [{ ...base, direction: 'SIDEWAYS' }] }),
    );
    expect(() => indicatorsOf({ INDICATORS_FILE: join(dir, 'bad.json') })).toThrow(
      new RegExp(`${join(dir, 'bad.json')}: indicators\\.0\\.direction`),
    );
  });

  it('refuses a missing file by path', () => {
    expect(() => loadIndicatorFile('/nonexistent/indicators.json')).toThrow(
      /\/nonexistent\/indicators\.json: cannot be read \(ENOENT\)/,
    );
  });

  it('reads a valid file from disk, minimumCases defaulting to 5', () => {
    const dir = mkdtempSync(join(tmpdir(), 'indicators-'));
    const { minimumCases: _, ...rest } = base;
    writeFileSync(join(dir, 'i.json'), JSON.stringify({ version: 3, indicators: [rest] }));
    const file = loadIndicatorFile(join(dir, 'i.json'));
    expect(file.version).toBe(3);
    expect(file.indicators[0]!.minimumCases).toBe(5);
  });
});

describe('values per measure kind', () => {
  it('MEDIAN_DAYS: the median of the day histogram (odd and even counts), capped at 730 days', () => {
    const odd = [3, 10, 1].map((d) => created({ daysToKm1: d, accepted: true }));
    expect(valueOf(def('time-to-acceptance'), countersOf(odd, 'all|2024-03'))).toEqual({
      value: 3,
      numerator: null,
      denominator: null,
      cases: 3,
    });
    const even = [3, 10, 1, 20].map((d) => created({ daysToKm1: d }));
    expect(valueOf(def('time-to-acceptance'), countersOf(even, 'all|2024')).value).toBe(6.5);
    const long = [2_000, 900].map((d) => created({ daysKm2ToKm3: d }));
    expect(valueOf(def('time-to-completion'), countersOf(long, 'all|2024')).value).toBe(730);
    expect(valueOf(def('time-to-completion'), {}).value).toBeNull();
  });

  it('RATE: completion over ended, withdrawal over cases, plans approved first time over decided', () => {
    const events = [
      created({ status: 'COMPLETED', planApprovals: 1 }),
      created({ status: 'COMPLETED', planApprovals: 1, planRejections: 1 }),
      created({ status: 'WITHDRAWN' }),
      created({ status: 'PLAN_SUBMITTED' }),
    ];
    const c = countersOf(events, 'partner:p1|2024-03');
    expect(c).toEqual({});
    const all = countersOf(events, 'memberState:BE|2024-03');
    expect(valueOf(def('completion-rate'), all)).toMatchObject({ value: 2 / 3, numerator: 2, denominator: 3 });
    expect(valueOf(def('withdrawal-rate'), all)).toMatchObject({ value: 1 / 4, numerator: 1, denominator: 4 });
    expect(valueOf(def('plans-approved-first-time'), all)).toMatchObject({
      value: 1 / 2,
      numerator: 1,
      denominator: 2,
    });
  });

  it('SHARE_OF_SCORES_AT_LEAST: 12-month assessments at or over the threshold (0.66 counts)', () => {
    const events = [assessed(0.66), assessed(0.9), assessed(0.65), assessed(0.2), assessed(0.99, 6)];
    const c = countersOf(events, 'country:AF|2024-05');
    expect(valueOf(def('sustainable-at-12-months'), c)).toMatchObject({ value: 0.5, numerator: 2, denominator: 4 });
  });

  it('MEAN_SCORE: the mean of a dimension over every follow-up point', () => {
    const c = countersOf([assessed(0.5), assessed(0.7, 3)], 'partner:p1|2024');
    expect(valueOf(def('economic-score'), c)).toMatchObject({ value: 0.5, cases: 2 });
    expect(valueOf(def('social-score'), c).value).toBe(0.25);
  });

  it('an assessment with a dimension unscored (too few answers) still counts in the dimensions it scored', () => {
    // As recordSustainabilityAssessment publishes it: psychosocial too thinly answered, so overall null too.
    const partial = {
      ...assessed(0.5),
      assessment: {
        assessmentId: 'partial',
        followUpMonths: 12,
        instrumentVersion: '1',
        scores: { economic: 0.1, social: 0.75, psychosocial: null, overall: null },
      },
    } as unknown as CaseEvent;
    const c = countersOf([assessed(0.8), partial], 'partner:p1|2024');
    expect(valueOf(def('economic-score'), c)).toMatchObject({ value: 0.3, cases: 2 });
    expect(valueOf(def('social-score'), c)).toMatchObject({ value: 0.5, cases: 2 });
    // Unscored is not a score: only the full assessment is over the psychosocial and overall figures.
    expect(valueOf(def('psychosocial-score'), c)).toMatchObject({ value: 1, cases: 1 });
    expect(valueOf(def('sustainable-at-12-months'), c)).toMatchObject({ numerator: 1, denominator: 1 });
  });

  it('MEAN_SATISFACTION and open complaints from feedback; ratings outside 1..5 are not counted', () => {
    const events = [
      feedback({ reception: 5, housing: 3 }, null),
      feedback({ reception: 1, business: 9 }, { category: 'DELAY', status: 'OPEN' }),
      feedback({}, { category: 'CONDUCT', status: 'RESOLVED' }),
    ];
    const c = countersOf(events, 'all|2024-05');
    expect(valueOf(def('returnee-satisfaction'), c)).toMatchObject({
      value: 3,
      numerator: 9,
      denominator: 3,
      cases: 3,
    });
    expect(valueOf(def('open-complaints'), c)).toMatchObject({ value: 0.5, numerator: 1, denominator: 2 });
    const closed = {
      ...feedback({}, null),
      publicType: 'COMPLAINT_UPDATED',
      feedback: {
        feedbackId: 'f',
        satisfaction: {},
        complaint: { category: 'DELAY', status: 'RESOLVED', previousStatus: 'OPEN' },
      },
    } as unknown as CaseEvent;
    expect(valueOf(def('open-complaints'), countersOf([...events, closed], 'all|2024-05')).value).toBe(0);
  });
});

describe('complaints as the monitoring records publish them', () => {
  it('a complaint filed counts once, stays open while in progress, and is closed by its resolution', () => {
    const doc = {
      _id: new Types.ObjectId(),
      memberState: 'BE',
      partnerId: 'p1',
      countryOfOrigin: 'AF',
      status: 'COMPLETED' as const,
      version: 9,
    };
    const complaint = { _id: new Types.ObjectId(), category: 'DELAY' as const, status: 'OPEN' as const };
    const at = new Date('2024-05-10T00:00:00Z');
    const filed = complaintEvent(doc, complaint, null, at);
    const inProgress = complaintEvent(doc, { ...complaint, status: 'IN_PROGRESS' }, 'OPEN', at);
    const resolved = complaintEvent(doc, { ...complaint, status: 'RESOLVED' }, 'IN_PROGRESS', at);
    const open = (events: CaseEvent[]) => valueOf(def('open-complaints'), countersOf(events, 'memberState:BE|2024-05'));
    expect(open([filed])).toMatchObject({ value: 1, numerator: 1, denominator: 1 });
    expect(open([filed, inProgress])).toMatchObject({ value: 1, numerator: 1, denominator: 1 });
    expect(open([filed, inProgress, resolved])).toMatchObject({ value: 0, numerator: 0, denominator: 1 });
  });
});

describe('the event consumer', () => {
  it('a case change moves its contribution: before taken out, after added, zeros dropped', () => {
    const before = eventFacts({ partnerId: 'p1', status: 'ACCEPTED', accepted: true, daysToKm1: 4 });
    const after = { ...before, status: 'WITHDRAWN' as const };
    const delta = indicatorDelta({
      type: 'case.transitioned',
      caseId: 'x',
      version: 3,
      at: '2024-09-09T00:00:00Z',
      before,
      after,
    });
    expect([...delta.keys()].sort()).toEqual(
      ['all', 'country:AF', 'memberState:BE', 'partner:p1'].flatMap((s) => [`${s}|2024`, `${s}|2024-03`]).sort(),
    );
    expect(delta.get('partner:p1|2024-03')).toEqual({ ended: 1, withdrawn: 1 });
  });

  it('ignores malformed outcome facts (a score out of 0..1, a follow-up point not offered, no owner)', () => {
    const bad = [
      { ...assessed(1.5) },
      {
        ...assessed(0.5),
        assessment: {
          assessmentId: 'a',
          followUpMonths: 9,
          instrumentVersion: 1,
          scores: { economic: 0, social: 0, psychosocial: 0, overall: 0 },
        },
      },
      { ...assessed(0.5), owner: undefined },
      { ...feedback({ a: 3 }, null), feedback: { feedbackId: 'f', satisfaction: 'x', complaint: null } },
    ] as unknown as CaseEvent[];
    for (const event of bad) expect(indicatorDelta(event).size).toBe(0);
    expect(indicatorDelta(breachEvent(breachFacts('partner', 'p1'), new Date())).size).toBe(0);
  });

  it('a replayed event is not counted twice in a document that already counted it', () => {
    const entries = [
      { id: '5-0', event: created({ accepted: true }) },
      { id: '6-0', event: created({ accepted: true }) },
    ];
    const increments = indicatorIncrements(entries, new Map([['all|2024-03', '5-0']]));
    expect(increments.get('all|2024-03')).toEqual({ inc: { cases: 1, accepted: 1 }, lastId: '6-0' });
    expect(increments.get('all|2024')).toEqual({ inc: { cases: 2, accepted: 2 }, lastId: '6-0' });
  });
});

function breachFacts(kind: 'partner' | 'memberState' | 'all', key: string | null) {
  return {
    breachId: 'b',
    indicatorId: 'completion-rate',
    indicatorVersion: 1,
    scope: {
      perspective: ({ partner: 'PARTNER', memberState: 'MEMBER_STATE', all: 'PROGRAMME' } as const)[kind],
      key,
    },
    period: '2024-03',
    value: 0.2,
    cases: 5,
    minimumStandard: 0.7,
    direction: 'HIGHER_IS_BETTER' as const,
  };
}

describe('breaches', () => {
  const rate = 'completion-rate';
  const lower = 'withdrawal-rate';
  it.each([
    ['under a higher-is-better minimum', rate, { value: 0.6, numerator: 3, denominator: 5, cases: 5 }, 'BREACHED'],
    ['at the minimum', rate, { value: 0.7, numerator: 7, denominator: 10, cases: 10 }, 'BELOW_TARGET'],
    ['at the target', rate, { value: 0.85, numerator: 17, denominator: 20, cases: 20 }, 'TARGET_MET'],
    ['over too few cases', rate, { value: 0, numerator: 0, denominator: 4, cases: 4 }, 'INSUFFICIENT_DATA'],
    ['without a value', rate, { value: null, numerator: 0, denominator: 0, cases: 0 }, 'INSUFFICIENT_DATA'],
    ['over a lower-is-better minimum', lower, { value: 0.2, numerator: 1, denominator: 5, cases: 5 }, 'BREACHED'],
    [
      'under a lower-is-better minimum',
      lower,
      { value: 0.1, numerator: 1, denominator: 10, cases: 10 },
      'BELOW_TARGET',
    ],
    ['at a lower-is-better target', lower, { value: 0.05, numerator: 1, denominator: 20, cases: 20 }, 'TARGET_MET'],
  ] as const)('%s (%s)', (_, id, value, status) => {
    expect(statusOf(def(id), value)).toBe(status);
  });

  it('are found only in the scopes the minimum applies to, and cleared where no longer breached', () => {
    const events = Array.from({ length: 5 }, (_, i) =>
      created({ partnerId: 'p1', status: i === 0 ? 'COMPLETED' : 'WITHDRAWN' }),
    );
    const partner = { scope: 'partner:p1', period: '2024-03', c: countersOf(events, 'partner:p1|2024-03') };
    const found = breachesIn([def(rate), def(lower), def('plans-approved-first-time')], partner);
    expect(found.breached.map((b) => b.id)).toEqual([
      'completion-rate@1|partner:p1|2024-03',
      'withdrawal-rate@1|partner:p1|2024-03',
    ]);
    expect(found.breached[0]!.facts).toMatchObject({
      scope: { perspective: 'PARTNER', key: 'p1' },
      value: 0.2,
      cases: 5,
    });
    expect(found.clear).toEqual(['plans-approved-first-time@1|partner:p1|2024-03']);
    // The programme scope is not one completion-rate's minimum applies to.
    const programme = { scope: 'all', period: '2024-03', c: countersOf(events, 'all|2024-03') };
    expect(breachesIn([def(rate)], programme)).toEqual({ breached: [], clear: [] });
  });

  const principals: Record<string, Principal> = {
    partner: { subject: 'p', role: 'PARTNER', partnerId: 'p1' },
    otherPartner: { subject: 'q', role: 'PARTNER', partnerId: 'p2' },
    memberState: { subject: 'm', role: 'MEMBER_STATE', memberState: 'BE' },
    otherMemberState: { subject: 'n', role: 'MEMBER_STATE', memberState: 'NL' },
    analyst: { subject: 'a', role: 'EU_ANALYST' },
    desk: { subject: 'd', role: 'SUPPORT_DESK' },
    dpo: { subject: 'o', role: 'DATA_PROTECTION_OFFICER' },
  };
  it.each([
    ['partner', 'p1', ['partner', 'analyst', 'desk']],
    ['memberState', 'BE', ['memberState', 'analyst', 'desk']],
    ['all', null, ['analyst', 'desk']],
  ] as const)('a %s breach event reaches its scope and the central roles', (kind, key, receivers) => {
    const message = messageOf('9-0', breachEvent(breachFacts(kind, key), new Date('2024-04-01')))!;
    expect(message).toMatchObject({ type: 'INDICATOR_BREACHED', caseId: '', indicatorBreach: { value: 0.2 } });
    const reached = Object.entries(principals)
      .filter(([, p]) => mayReceive(p, message))
      .map(([name]) => name);
    expect(reached).toEqual(receivers);
    const scope = kind === 'all' ? 'all' : `${kind}:${key}`;
    expect(
      Object.entries(principals)
        .filter(([, p]) => mayReadBreaches(p, scope))
        .map(([n]) => n),
    ).toEqual(receivers);
  });
});

describe('who sees what', () => {
  const ms: Principal = { subject: 'm', role: 'MEMBER_STATE', memberState: 'BE' };
  const analyst: Principal = { subject: 'a', role: 'EU_ANALYST' };
  it('exact in the own scope, suppressed elsewhere; the DPO reads none', () => {
    expect(indicatorAccess(ms, 'memberState:BE')).toBe('EXACT');
    expect(indicatorAccess(ms, 'memberState:NL')).toBe('SUPPRESSED');
    expect(indicatorAccess(ms, 'all')).toBe('SUPPRESSED');
    expect(indicatorAccess({ subject: 'p', role: 'PARTNER', partnerId: 'p1' }, 'partner:p1')).toBe('EXACT');
    expect(indicatorAccess(analyst, 'memberState:BE')).toBe('SUPPRESSED');
    expect(indicatorAccess({ subject: 'd', role: 'SUPPORT_DESK' }, 'partner:p1')).toBe('EXACT');
    expect(indicatorAccess({ subject: 'o', role: 'DATA_PROTECTION_OFFICER' }, 'all')).toBe('NONE');
  });

  it.each([
    [
      'a rate with a small numerator',
      'completion-rate',
      { value: 0.25, numerator: 2, denominator: 8, cases: 8 },
      null,
      null,
      8,
    ],
    [
      'a rate over a small group',
      'completion-rate',
      { value: 0.5, numerator: 2, denominator: 4, cases: 4 },
      null,
      null,
      null,
    ],
    [
      'a rate with a small rest',
      'completion-rate',
      { value: 0.9, numerator: 9, denominator: 10, cases: 10 },
      null,
      null,
      10,
    ],
    [
      'a rate over enough on both sides',
      'completion-rate',
      { value: 0.5, numerator: 5, denominator: 10, cases: 10 },
      0.5,
      5,
      10,
    ],
    [
      'a median over a small group',
      'time-to-acceptance',
      { value: 3, numerator: null, denominator: null, cases: 4 },
      null,
      null,
      null,
    ],
    [
      'a median over enough',
      'time-to-acceptance',
      { value: 3, numerator: null, denominator: null, cases: 5 },
      3,
      null,
      5,
    ],
    [
      'a mean over a small group',
      'economic-score',
      { value: 0.5, numerator: 2, denominator: 4, cases: 4 },
      null,
      null,
      null,
    ],
  ] as const)('suppressed: %s', (_, id, raw, value, numerator, cases) => {
    const shown = shownValue(def(id), raw, 'SUPPRESSED', 5);
    expect(shown).toMatchObject({ value, numerator, cases });
    expect(shownValue(def(id), raw, 'EXACT', 5)).toMatchObject({ ...raw, suppressed: false });
  });

  it('presents a document: a Member State its own exact, the analyst WITHHELD', () => {
    const events = [created({ status: 'COMPLETED' }), created({ status: 'WITHDRAWN' })];
    const c = countersOf(events, 'memberState:BE|2024-03');
    const doc = { scope: 'memberState:BE', period: '2024-03', c };
    expect(presentValues(ms, [def('completion-rate')], doc, 5)[0]).toMatchObject({
      value: 0.5,
      numerator: 1,
      denominator: 2,
      casesCounted: 2,
      status: 'INSUFFICIENT_DATA',
    });
    expect(presentValues(analyst, [def('completion-rate')], doc, 5)[0]).toMatchObject({
      value: null,
      numerator: null,
      denominator: null,
      casesCounted: null,
      status: 'WITHHELD',
      scope: { perspective: 'MEMBER_STATE', key: 'BE' },
    });
  });
});

describe('query arguments', () => {
  const file: IndicatorFile = shipped;
  const ms: Principal = { subject: 'm', role: 'MEMBER_STATE', memberState: 'BE' };
  const desk: Principal = { subject: 'd', role: 'SUPPORT_DESK' };
  it('default to the own scope, the programme for central roles', () => {
    expect(checkIndicatorQuery(ms, file, {})).toMatchObject({ kind: 'MEMBER_STATE', key: 'BE', first: 100 });
    expect(checkIndicatorQuery(desk, file, {})).toMatchObject({ kind: 'PROGRAMME', key: null });
  });
  it.each([
    [{ indicator: 'nope' }, /indicator "nope" is not defined/],
    [{ indicator: 'x'.repeat(65) }, /not an indicator id/],
    [{ first: 0 }, /first must be 1 to 500/],
    [{ first: 501 }, /first must be 1 to 500/],
    [{ period: '2024-13' }, /period must be YYYY or YYYY-MM/],
    [{ period: '2024-01-01' }, /period/],
    [{ period: { $gt: '' } }, /period/],
    [{ perspective: 'PARTNER', key: '../../x' }, /key must be a code/],
    [{ perspective: 'PARTNER', key: 'a'.repeat(41) }, /key must be a code/],
    [{ key: 'BE' }, /key needs a perspective/],
    [{ perspective: 'PROGRAMME', key: 'BE' }, /takes no key/],
    [{ perspective: 'GALAXY' }, /perspective must be one of/],
  ])('refuses %j', (args, message) => {
    expect(() => checkIndicatorQuery(desk, file, args as never)).toThrow(message);
  });
  it("keeps a Member State's breaches to its own scope", () => {
    expect(breachFilter(ms, checkIndicatorQuery(ms, file, {}), null, true)).toEqual({
      scopeKind: 'MEMBER_STATE',
      scopeKey: 'BE',
    });
    const other = checkIndicatorQuery(ms, file, { perspective: 'MEMBER_STATE', key: 'NL' });
    expect(() => breachFilter(ms, other, null, false)).toThrow(/own scope only/);
    expect(breachFilter(desk, checkIndicatorQuery(desk, file, { period: '2024' }), true, true)).toEqual({
      period: '2024',
      open: true,
    });
  });
});

describe('suppression across the scopes of a kind (complementary, with the programme as total)', () => {
  const rate = def('withdrawal-rate');
  const median = def('time-to-acceptance');
  const r = (numerator: number, denominator: number) => ({
    value: denominator > 0 ? numerator / denominator : null,
    numerator,
    denominator,
    cases: denominator,
  });
  it('a lone small numerator takes a second scope with it, so the programme minus the shown cannot give it', () => {
    const siblings = [
      { scope: 'memberState:BE', raw: r(2, 20) },
      { scope: 'memberState:NL', raw: r(8, 30) },
      { scope: 'memberState:DE', raw: r(12, 40) },
    ];
    const { scopes, programme } = suppressAcross(rate, siblings, r(22, 90), 5);
    expect(scopes.get('memberState:BE')).toMatchObject({ value: null, numerator: null, denominator: 20 });
    // NL's numerator (8, the smallest other) is withheld with it; DE stays.
    expect(scopes.get('memberState:NL')).toMatchObject({ value: null, numerator: null });
    expect(scopes.get('memberState:DE')).toMatchObject({ value: 12 / 40, numerator: 12, denominator: 40 });
    expect(programme).toMatchObject({ value: 22 / 90, numerator: 22, denominator: 90, suppressed: false });
    // Programme minus every shown numerator leaves two unknowns: neither is given back.
    const shown = [...scopes.values()].filter((v) => v.numerator !== null);
    expect(shown).toHaveLength(1);
  });

  it('cases in no scope of the kind (no partner) are a row of their own, never shown', () => {
    const siblings = [
      { scope: 'partner:weldo', raw: r(6, 20) },
      { scope: 'partner:irara', raw: r(10, 25) },
    ];
    // 3 withdrawals in cases without a partner: withheld, so the one it pairs with is withheld too.
    const { scopes } = suppressAcross(rate, siblings, r(19, 60), 5);
    expect(scopes.get('partner:weldo')).toMatchObject({ numerator: null, suppressed: true });
    expect(scopes.get('partner:irara')).toMatchObject({ numerator: 10, suppressed: false });
  });

  it('medians and means: case counts suppressed as a list with the programme as total', () => {
    const m = (cases: number) => ({ value: 7, numerator: null, denominator: null, cases });
    const { scopes, programme } = suppressAcross(
      median,
      [
        { scope: 'country:AF', raw: m(3) },
        { scope: 'country:IQ', raw: m(10) },
        { scope: 'country:MA', raw: m(30) },
      ],
      m(43),
      5,
    );
    expect(scopes.get('country:AF')).toMatchObject({ value: null, cases: null });
    expect(scopes.get('country:IQ')).toMatchObject({ value: null, cases: null });
    expect(scopes.get('country:MA')).toMatchObject({ value: 7, cases: 30 });
    expect(programme).toMatchObject({ value: 7, cases: 43 });
  });

  it('every query of a period computes the same table (a scope listed alone or with the others)', () => {
    const doc = (scope: string, events: CaseEvent[]) => ({
      scope,
      period: '2024-03',
      c: countersOf(events, `${scope}|2024-03`),
    });
    const be = Array.from({ length: 10 }, (_, i) => created({ status: i < 2 ? 'WITHDRAWN' : 'SUBMITTED' }));
    const nl = Array.from({ length: 10 }, (_, i) =>
      created({ memberState: 'NL', status: i < 5 ? 'WITHDRAWN' : 'SUBMITTED' }),
    );
    const all = [...be, ...nl];
    const context = new SuppressionContext([doc('memberState:BE', all), doc('memberState:NL', all), doc('all', all)]);
    const analyst: Principal = { subject: 'a', role: 'EU_ANALYST' };
    const alone = presentValues(analyst, [rate], doc('memberState:NL', all), 5, context)[0]!;
    // NL's 5 of 10 would show on its own (suppressRate), but BE's 2 stands alone against the programme's 7.
    expect(shownValue(rate, valueOf(rate, doc('memberState:NL', all).c), 'SUPPRESSED', 5).value).toBe(0.5);
    expect(alone).toMatchObject({ value: null, status: 'WITHHELD' });
    const programme = presentValues(analyst, [rate], doc('all', all), 5, context)[0]!;
    expect(programme).toMatchObject({ value: 7 / 20, numerator: 7 });
  });

  it('a Member State knows its own exact value: the programme minus it and the shown others gives no one back', () => {
    const cases = (memberState: string, withdrawn: number, total: number) =>
      Array.from({ length: total }, (_, i) =>
        created({ memberState, status: i < withdrawn ? 'WITHDRAWN' : 'SUBMITTED' }),
      );
    // BE: 2 withdrawn of 5 (small); NL 10 of 20 and DE 12 of 30 would show on their own.
    const all = [...cases('BE', 2, 5), ...cases('NL', 10, 20), ...cases('DE', 12, 30)];
    const scopes = ['memberState:BE', 'memberState:NL', 'memberState:DE', 'all'];
    const docs = scopes.map((scope) => ({ scope, period: '2024-03', c: countersOf(all, `${scope}|2024-03`) }));
    const context = new SuppressionContext(docs);
    const belgium: Principal = { subject: 'be', role: 'MEMBER_STATE', memberState: 'BE' };
    const seen = docs.map((d) => presentValues(belgium, [rate], d, 5, context)[0]!);
    expect(seen[0]).toMatchObject({ numerator: 2, denominator: 5 }); // its own, exactly
    // Every case has a Member State: BE's own plus the others' add up to the programme's. With BE
    // known, no line of the others and the programme may hold exactly one withheld value.
    for (const part of ['numerator', 'denominator'] as const) {
      const others = seen.slice(1).map((v) => v[part]);
      expect(others.filter((v) => v === null).length, `${part}: ${JSON.stringify(others)}`).not.toBe(1);
    }
  });

  it("a month and its year: the year minus the scope's other months does not give a withheld month back", () => {
    // BE: January 5 withdrawn of 10, March 2 of 5 (withheld); NL and DE large enough on their own.
    const cases = (memberState: string, month: string, withdrawn: number, total: number) =>
      Array.from({ length: total }, (_, i) =>
        created({ memberState, month, status: i < withdrawn ? 'WITHDRAWN' : 'SUBMITTED' }),
      );
    const all = [
      ...cases('BE', '2024-01', 5, 10),
      ...cases('BE', '2024-03', 2, 5),
      ...cases('NL', '2024-01', 10, 20),
      ...cases('NL', '2024-03', 8, 20),
      ...cases('DE', '2024-01', 6, 20),
      ...cases('DE', '2024-03', 9, 20),
    ];
    const periods = ['2024-01', '2024-03', '2024'];
    const scopes = ['memberState:BE', 'memberState:NL', 'memberState:DE'];
    const docs = [...scopes, 'all'].flatMap((scope) =>
      periods.map((period) => ({ scope, period, c: countersOf(all, `${scope}|${period}`) })),
    );
    const context = new SuppressionContext(docs);
    const analyst: Principal = { subject: 'a', role: 'EU_ANALYST' };
    const seen = new Map(
      docs.map((d) => [`${d.scope}|${d.period}`, presentValues(analyst, [rate], d, 5, context)[0]!]),
    );
    expect(seen.get('memberState:BE|2024-03')).toMatchObject({ value: null, status: 'WITHHELD' });
    // Per scope, the months add up to the year: never exactly one of them withheld.
    for (const scope of [...scopes, 'all'])
      for (const part of ['numerator', 'denominator'] as const) {
        const line = periods.map((period) => seen.get(`${scope}|${period}`)![part]);
        expect(line.filter((v) => v === null).length, `${scope} ${part}: ${JSON.stringify(line)}`).not.toBe(1);
      }
    // Per period, the scopes add up to the programme: the same holds across them.
    for (const period of periods)
      for (const part of ['numerator', 'denominator'] as const) {
        const line = [...scopes, 'all'].map((scope) => seen.get(`${scope}|${period}`)![part]);
        expect(line.filter((v) => v === null).length, `${period} ${part}: ${JSON.stringify(line)}`).not.toBe(1);
      }
  });
});
