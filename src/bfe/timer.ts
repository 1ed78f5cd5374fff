/**
 * Timers, injected (no real timers below src/host/). The BFE needs one thing from time besides the clock:
 * "call me back in N ms unless cancelled", for the transaction lock wait (H4). The host passes a timer over
 * the real event loop; tests drive a ManualTimer, so a 15 s wait takes no real time.
 */
import type { Clock } from "../base/clock.ts";
import { ManualClock } from "../base/clock.ts";

export interface BfeTimer {
  /** Calls `fire` once, `ms` milliseconds from now (by this timer's clock), unless the returned cancel runs first. */
  after(ms: number, fire: () => void): () => void;
}

interface Pending {
  readonly dueNs: bigint;
  readonly seq: number;
  readonly fire: () => void;
}

/**
 * A timer that fires only when told: `advanceMs` moves its ManualClock and runs every callback now due, in
 * due order (ties in registration order). Reading a plain Clock, `poll()` fires what that clock says is due.
 */
export class ManualTimer implements BfeTimer {
  readonly clock: Clock;
  #pending: Pending[] = [];
  #seq = 0;

  constructor(clock: Clock = new ManualClock()) {
    this.clock = clock;
  }

  after(ms: number, fire: () => void): () => void {
    const entry: Pending = {
      dueNs: this.clock.nowNs() + BigInt(Math.max(0, Math.ceil(ms))) * 1_000_000n,
      seq: this.#seq++,
      fire,
    };
    this.#pending.push(entry);
    return () => {
      this.#pending = this.#pending.filter((p) => p !== entry);
    };
  }

  /** Callbacks waiting to fire. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Advances the ManualClock by `ms` and fires what is due. */
  advanceMs(ms: number): void {
    if (!(this.clock instanceof ManualClock)) throw new TypeError("advanceMs needs a ManualClock");
    this.clock.advanceMs(ms);
    this.poll();
  }

  /** Fires every callback due at the clock's current time. */
  poll(): void {
    const now = this.clock.nowNs();
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.#pending) {
        if (
          p.dueNs <= now &&
          (next === undefined || p.dueNs < next.dueNs || (p.dueNs === next.dueNs && p.seq < next.seq))
        )
          next = p;
      }
      if (next === undefined) return;
      const chosen = next;
      this.#pending = this.#pending.filter((p) => p !== chosen);
      chosen.fire();
    }
  }
}
