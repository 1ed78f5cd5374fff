/**
 * Simulated time: a clock that moves only from event to event, and a queue of timed events. Events due
 * at the same instant run in the order they were scheduled, so a scenario is deterministic and runs as
 * fast as the CPU allows. The scheduler is the `Clock` every component of a simulation is given.
 */
import type { Clock } from "../../base/index.ts";

/** A scheduled event; `cancel()` removes it (cancelling twice or after it ran is harmless). */
export interface Timer {
  readonly dueNs: bigint;
  cancel(): void;
  readonly cancelled: boolean;
}

class Entry implements Timer {
  cancelled = false;
  constructor(
    readonly dueNs: bigint,
    readonly seq: number,
    readonly run: () => void,
  ) {}
  cancel(): void {
    this.cancelled = true;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.dueNs < b.dueNs || (a.dueNs === b.dueNs && a.seq < b.seq);
}

export interface RunLimits {
  /** Stop before the first event due after this time (the clock is left at this time). */
  readonly untilNs?: bigint;
  /** Stop after this many events (a runaway guard). Default 50,000,000. */
  readonly maxEvents?: number;
}

export class Scheduler implements Clock {
  #now: bigint;
  #seq = 0;
  readonly #heap: Entry[] = [];
  /** Events run so far. */
  eventsRun = 0;

  constructor(startNs = 0n) {
    this.#now = startNs;
  }

  nowNs(): bigint {
    return this.#now;
  }

  /** Pending (not cancelled) events, approximately (cancelled entries are dropped lazily). */
  get pending(): number {
    return this.#heap.length;
  }

  /**
   * When the next event is due, or undefined when none is left: lets a driver step event by event and
   * stop at a time of its own (a run with `untilNs` moves the clock to that time when it ends).
   */
  get nextDueNs(): bigint | undefined {
    while (this.#heap[0]?.cancelled === true) this.#pop();
    return this.#heap[0]?.dueNs;
  }

  /** Runs `fn` after `delayNs` (0 = at the current instant, after the events already due now). */
  after(delayNs: bigint, fn: () => void): Timer {
    if (delayNs < 0n) throw new RangeError("a timer cannot be due in the past");
    return this.at(this.#now + delayNs, fn);
  }

  /** Runs `fn` at `dueNs` (not before the current time). */
  at(dueNs: bigint, fn: () => void): Timer {
    const e = new Entry(dueNs < this.#now ? this.#now : dueNs, this.#seq++, fn);
    this.#push(e);
    return e;
  }

  /**
   * Runs events in time order until none is left, the limit time is reached, or `maxEvents` ran.
   * Returns the number of events run. An exception thrown by an event propagates (the simulation is
   * then in an undefined state).
   */
  run(limits: RunLimits = {}): number {
    const max = limits.maxEvents ?? 50_000_000;
    let n = 0;
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined) break;
      if (top.cancelled) {
        this.#pop();
        continue;
      }
      if (limits.untilNs !== undefined && top.dueNs > limits.untilNs) break;
      if (n >= max) break;
      this.#pop();
      this.#now = top.dueNs;
      n++;
      this.eventsRun++;
      top.run();
    }
    if (limits.untilNs !== undefined && this.#now < limits.untilNs) this.#now = limits.untilNs;
    return n;
  }

  /** Runs for `durationNs` of simulated time from now. */
  runFor(durationNs: bigint, maxEvents?: number): number {
    return this.run({ untilNs: this.#now + durationNs, ...(maxEvents !== undefined ? { maxEvents } : {}) });
  }

  #push(e: Entry): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as Entry;
      if (!before(e, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = e;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop() as Entry;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r] as Entry, h[l] as Entry) ? r : l;
      if (!before(h[c] as Entry, last)) break;
      h[i] = h[c] as Entry;
      i = c;
    }
    h[i] = last;
  }
}

/** Nanoseconds from milliseconds (exact for integers). */
export function ms(n: number): bigint {
  return BigInt(Math.round(n * 1_000_000));
}

/** Nanoseconds from seconds. */
export function seconds(n: number): bigint {
  return BigInt(Math.round(n * 1e9));
}
