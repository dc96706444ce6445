import { describe, expect, it } from 'vitest';
import { InflightDedup } from '../../gateway/cache/inflight.js';

type Answer = { data: { n: number; list: number[] } };

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const copy = (value: Answer): Answer => JSON.parse(JSON.stringify(value)) as Answer;

describe('in-flight deduplication', () => {
  it('makes one call for identical concurrent keys and gives each waiter its own copy', async () => {
    const merged: Array<[number, string]> = [];
    const dedup = new InflightDedup<Answer>(copy, { onMerged: (n, label) => merged.push([n, label]) });
    let calls = 0;
    const gate = deferred<Answer>();
    const call = () => {
      calls += 1;
      return gate.promise;
    };
    const waits = [dedup.run('k', undefined, call, 'cases'), dedup.run('k', undefined, call, 'cases')];
    const other = dedup.run('other', undefined, async () => ({ data: { n: 9, list: [] } }));
    gate.resolve({ data: { n: 1, list: [1] } });
    const [a, b] = await Promise.all(waits);
    expect(calls).toBe(1);
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
    a!.data.list.push(2);
    expect(b!.data.list).toEqual([1]);
    expect((await other).data.n).toBe(9);
    expect(merged).toEqual([[1, 'cases']]);
    expect(dedup.size).toBe(0);
  });

  it('a call after the first settled starts afresh (no caching)', async () => {
    const dedup = new InflightDedup<Answer>(copy);
    let calls = 0;
    const call = async () => ({ data: { n: ++calls, list: [] } });
    expect((await dedup.run('k', undefined, call)).data.n).toBe(1);
    expect((await dedup.run('k', undefined, call)).data.n).toBe(2);
  });

  it('passes a failure to every waiter', async () => {
    const dedup = new InflightDedup<Answer>(copy);
    const gate = deferred<Answer>();
    const waits = [dedup.run('k', undefined, () => gate.promise), dedup.run('k', undefined, () => gate.promise)];
    gate.reject(new Error('subgraph down'));
    for (const wait of waits) await expect(wait).rejects.toThrow('subgraph down');
  });

  it('a waiter whose client leaves stops waiting; the shared call goes on for the others', async () => {
    const dedup = new InflightDedup<Answer>(copy);
    const gate = deferred<Answer>();
    let sharedSignal: AbortSignal | undefined;
    const call = (signal: AbortSignal) => {
      sharedSignal = signal;
      return gate.promise;
    };
    const leaving = new AbortController();
    const first = dedup.run('k', leaving.signal, call);
    const second = dedup.run('k', undefined, call);
    leaving.abort(new Error('client gone'));
    await expect(first).rejects.toThrow('client gone');
    expect(sharedSignal?.aborted).toBe(false);
    gate.resolve({ data: { n: 3, list: [] } });
    expect((await second).data.n).toBe(3);
  });

  it('aborts the shared call only when every waiter has left', async () => {
    const dedup = new InflightDedup<Answer>(copy);
    let sharedSignal: AbortSignal | undefined;
    const call = (signal: AbortSignal) => {
      sharedSignal = signal;
      return new Promise<Answer>(() => undefined);
    };
    const one = new AbortController();
    const two = new AbortController();
    const waits = [dedup.run('k', one.signal, call), dedup.run('k', two.signal, call)];
    await Promise.resolve();
    one.abort(new Error('one gone'));
    await expect(waits[0]).rejects.toThrow('one gone');
    expect(sharedSignal?.aborted).toBe(false);
    two.abort(new Error('two gone'));
    await expect(waits[1]).rejects.toThrow('two gone');
    expect(sharedSignal?.aborted).toBe(true);
    expect(dedup.size).toBe(0);
  });

  it('refuses at once a caller that has already left', async () => {
    const dedup = new InflightDedup<Answer>(copy);
    const gone = new AbortController();
    gone.abort(new Error('already gone'));
    let calls = 0;
    await expect(
      dedup.run('k', gone.signal, async () => {
        calls += 1;
        return { data: { n: 1, list: [] } };
      }),
    ).rejects.toThrow('already gone');
    expect(calls).toBe(0);
  });

  it('past maxKeys distinct keys, calls run on their own (bounded memory under many distinct queries)', async () => {
    const dedup = new InflightDedup<Answer>(copy, { maxKeys: 3 });
    const gates = Array.from({ length: 10 }, () => deferred<Answer>());
    const waits = gates.map((gate, i) => dedup.run(`k${i}`, undefined, () => gate.promise));
    expect(dedup.size).toBe(3);
    gates.forEach((gate, i) => gate.resolve({ data: { n: i, list: [] } }));
    expect((await Promise.all(waits)).map((a) => a.data.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(dedup.size).toBe(0);
  });
});
