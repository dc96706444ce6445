import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  batchOf,
  CaseEventReader,
  compareStreamIds,
  entryJsonOf,
  MemoryCheckpoint,
  messageOf,
  parseStreamEntry,
  publicTypeOf,
  type CaseEvent,
  type CaseEventBatch,
  type CaseEventReaderOptions,
  type CaseEventSource,
  type RawStreamEntry,
} from '../../shared/case-events/index.js';
import { TRANSITION_EVENT_TYPES, transitionEventType } from '../../subgraphs/cases/case/transition-events.js';
import { TRANSITION_NAMES } from '../../subgraphs/cases/case/lifecycle.js';
import { eventFacts } from '../helpers/event-facts.js';

const facts = eventFacts({ partnerId: 'weldo' });
const updated = (caseId: string): CaseEvent => ({
  type: 'case.updated',
  caseId,
  version: 1,
  at: '2024-03-01T00:00:00.000Z',
  before: facts,
  after: facts,
});
const raw = (id: string, event: CaseEvent): RawStreamEntry => [id, ['event', entryJsonOf(event)]];

/** A stream in memory: reads what follows `after`, as XREAD does. */
function memorySource(entries: RawStreamEntry[]): CaseEventSource & { reads: Array<[string, number, number]> } {
  const reads: Array<[string, number, number]> = [];
  return {
    reads,
    read: async (after, count, blockMs) => {
      reads.push([after, count, blockMs]);
      return entries.filter(([id]) => compareStreamIds(id, after) > 0).slice(0, count);
    },
    tail: async () => entries.at(-1)?.[0] ?? '0-0',
  };
}

const options = (over: Partial<CaseEventReaderOptions> = {}): CaseEventReaderOptions => ({
  name: 'test',
  checkpoint: new MemoryCheckpoint(),
  startAt: 'beginning',
  batchSize: 2,
  blockMs: 100,
  ...over,
});
const silent = pino({ level: 'silent' });

describe('the publisher writes the public event type', () => {
  it('every kind but a transition has its own; a transition has the one its writer gave, or none', () => {
    expect(publicTypeOf({ type: 'case.created' })).toBe('CREATED');
    expect(publicTypeOf({ type: 'case.erased' })).toBe('PERSONAL_DATA_ERASED');
    expect(publicTypeOf({ type: 'case.disbursed' })).toBe('DISBURSEMENT_RECORDED');
    expect(publicTypeOf({ type: 'case.transitioned' })).toBeUndefined();
    expect(publicTypeOf({ type: 'case.transitioned', publicType: 'CLOSED' })).toBe('CLOSED');
    expect(JSON.parse(entryJsonOf(updated('c1')))).toMatchObject({
      type: 'case.updated',
      publicType: 'UPDATED',
      caseId: 'c1',
    });
  });

  it('the cases lifecycle names every transition; an unknown name gets nothing', () => {
    expect(Object.keys(TRANSITION_EVENT_TYPES).sort()).toEqual([...TRANSITION_NAMES].sort());
    expect(transitionEventType('approveReintegrationPlan')).toEqual({ publicType: 'PLAN_APPROVED', milestone: 'KM2' });
    expect(transitionEventType('toString')).toEqual({});
    const event: CaseEvent = {
      ...updated('c1'),
      type: 'case.transitioned',
      transition: 'acceptCase',
      ...transitionEventType('acceptCase'),
    };
    const read = parseStreamEntry(['event', entryJsonOf(event)])!;
    // KM1 is the application, complete at acceptance; the arrival report is its own ARRIVED step.
    expect(messageOf('1-0', read)).toMatchObject({ type: 'ACCEPTED', milestone: 'KM1', transition: 'acceptCase' });
    expect(transitionEventType('reportArrival')).toEqual({ publicType: 'ARRIVED' });
  });
});

describe('the case event reader', () => {
  it('parses each entry once; an entry that does not parse is skipped but still read past', () => {
    const batch = batchOf([
      raw('1-0', updated('a')),
      ['2-0', ['event', '{broken']],
      ['3-0', ['other', '{}']],
      raw('4-0', updated('b')),
    ]);
    expect(batch!.entries.map((e) => [e.id, e.event.caseId])).toEqual([
      ['1-0', 'a'],
      ['4-0', 'b'],
    ]);
    expect(batch!.lastId).toBe('4-0');
    expect(batchOf([])).toBeNull();
  });

  it('hands batches in order and moves the checkpoint only after the consumer has finished', async () => {
    const source = memorySource([raw('1-0', updated('a')), raw('2-0', updated('b')), raw('3-0', updated('c'))]);
    const checkpoint = new MemoryCheckpoint();
    const seen: Array<{ ids: string[]; checkpointDuring: string | null }> = [];
    const reader = new CaseEventReader(
      source,
      async (batch: CaseEventBatch) => {
        seen.push({ ids: batch.entries.map((e) => e.id), checkpointDuring: checkpoint.position });
      },
      options({ checkpoint }),
      silent,
    );
    expect(await reader.readOnce()).toBe(2);
    expect(checkpoint.position).toBe('2-0');
    expect(await reader.catchUp()).toBe(1);
    expect(seen).toEqual([
      { ids: ['1-0', '2-0'], checkpointDuring: null },
      { ids: ['3-0'], checkpointDuring: '2-0' },
    ]);
    // Without a stored checkpoint the beginning reads from 0-0; catching up never waits.
    expect(source.reads[0]).toEqual(['0-0', 2, 100]);
    expect(source.reads.slice(1).every(([, , block]) => block === 0)).toBe(true);
  });

  it('a consumer that fails leaves the checkpoint where it was, so the batch is read again', async () => {
    const source = memorySource([raw('1-0', updated('a'))]);
    const checkpoint = new MemoryCheckpoint();
    let fail = true;
    const reader = new CaseEventReader(
      source,
      async () => {
        if (fail) throw new Error('store down');
      },
      options({ checkpoint }),
      silent,
    );
    await expect(reader.readOnce()).rejects.toThrow('store down');
    expect(checkpoint.position).toBeNull();
    fail = false;
    expect(await reader.readOnce()).toBe(1);
    expect(checkpoint.position).toBe('1-0');
  });

  it('a tail start stores the tail at once and hands only what comes after it', async () => {
    const entries = [raw('1-0', updated('old'))];
    const source = memorySource(entries);
    const checkpoint = new MemoryCheckpoint();
    const handled: string[] = [];
    const reader = new CaseEventReader(
      source,
      (b) => void handled.push(...b.entries.map((e) => e.event.caseId)),
      options({ checkpoint, startAt: 'tail' }),
      silent,
    );
    expect(await reader.readOnce()).toBe(0);
    expect(checkpoint.position).toBe('1-0');
    entries.push(raw('2-0', updated('new')));
    await reader.readOnce();
    expect(handled).toEqual(['new']);
  });

  it('a consumer that answers at once sees the checkpoint moved in the same tick', async () => {
    const source = memorySource([raw('5-0', updated('a'))]);
    const checkpoint = new MemoryCheckpoint();
    let positionRightAfter: string | null = 'unset';
    const reader = new CaseEventReader(
      source,
      () => {
        queueMicrotask(() => (positionRightAfter = checkpoint.position));
      },
      options({ checkpoint }),
      silent,
    );
    await reader.readOnce();
    expect(positionRightAfter).toBe('5-0');
  });
});
