/**
 * In-flight deduplication: while a call with key K runs, another call with K waits for its
 * answer instead of making its own. The shared call runs under an AbortSignal of its own,
 * aborted only when every waiter has left; a waiter whose own signal aborts stops waiting
 * at once. Each waiter gets its own copy of the answer (the gateway's executor merges into
 * the objects it is given), so no two requests ever share mutable objects.
 */
export interface InflightOptions {
  /** Called with how many waiters joined a call someone else started. */
  onMerged?: (waiters: number, label: string) => void;
  /** At most this many keys in flight; past it calls run on their own (no merging). */
  maxKeys?: number;
}

interface Flight<T> {
  label: string;
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
  joined: number;
}

export class AbortedWaitError extends Error {
  override readonly name = 'AbortError';
}

export class InflightDedup<T> {
  private readonly flights = new Map<string, Flight<T>>();

  constructor(
    private readonly copy: (value: T) => T,
    private readonly options: InflightOptions = {},
  ) {}

  /** Keys in flight now (for tests and bounds). */
  get size(): number {
    return this.flights.size;
  }

  /**
   * Runs `call` for `key`, or joins the call already in flight for it. `signal` is the
   * caller's: when it aborts, this caller stops waiting (rejects with its reason). `label`
   * goes to `onMerged` (the subgraph, for the metrics).
   */
  run(key: string, signal: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>, label = ''): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new AbortedWaitError('the caller left'));
    let flight = this.flights.get(key);
    if (!flight) {
      if (this.options.maxKeys !== undefined && this.flights.size >= this.options.maxKeys) {
        return call(signal ?? new AbortController().signal);
      }
      const controller = new AbortController();
      const created: Flight<T> = {
        label,
        controller,
        waiters: 0,
        joined: 0,
        promise: Promise.resolve()
          .then(() => call(controller.signal))
          .finally(() => {
            if (this.flights.get(key) === created) this.flights.delete(key);
            if (created.joined > 0) this.options.onMerged?.(created.joined, label);
          }),
      };
      flight = created;
      this.flights.set(key, flight);
    } else {
      flight.joined += 1;
    }
    return this.wait(flight, key, signal);
  }

  /**
   * Closes every call in flight under `label` to newcomers: they keep running for those already
   * waiting, and the next caller with their key starts a call of its own. After a write, so a read
   * that starts once the write has answered never receives an answer read before it.
   */
  closeToNewcomers(label: string): void {
    for (const [key, flight] of this.flights) if (flight.label === label) this.flights.delete(key);
  }

  private wait(flight: Flight<T>, key: string, signal: AbortSignal | undefined): Promise<T> {
    flight.waiters += 1;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const leave = () => {
        if (settled) return;
        settled = true;
        flight.waiters -= 1;
        if (flight.waiters === 0) {
          // Nobody waits any more: abandon the shared call, and let the next caller start afresh.
          if (this.flights.get(key) === flight) this.flights.delete(key);
          flight.controller.abort(signal?.reason ?? new AbortedWaitError('every waiter left'));
        }
        reject(signal?.reason ?? new AbortedWaitError('the caller left'));
      };
      signal?.addEventListener('abort', leave, { once: true });
      flight.promise.then(
        (value) => {
          signal?.removeEventListener('abort', leave);
          if (settled) return;
          settled = true;
          flight.waiters -= 1;
          try {
            // A call nobody joined hands its own answer over; a shared one, a copy to each.
            resolve(flight.joined === 0 ? value : this.copy(value));
          } catch (error) {
            reject(error);
          }
        },
        (error: unknown) => {
          signal?.removeEventListener('abort', leave);
          if (settled) return;
          settled = true;
          flight.waiters -= 1;
          reject(error);
        },
      );
    });
  }
}
