/**
 * Time, injected. Nothing below src/host/ reads the real clock: it is handed a `Clock`, so every scenario
 * and every test is deterministic. Time is nanoseconds since the Unix epoch as a bigint (pcap and pcapng
 * timestamps fit without loss), with a millisecond view for convenience.
 */
export interface Clock {
  /** Nanoseconds since 1970-01-01T00:00:00Z. */
  nowNs(): bigint;
}

/** A clock that moves only when told to: the clock of simulations and tests. */
export class ManualClock implements Clock {
  #now: bigint;

  constructor(startNs = 0n) {
    this.#now = startNs;
  }

  nowNs(): bigint {
    return this.#now;
  }

  /** Moves time forward; moving backwards is refused. */
  advanceNs(deltaNs: bigint): void {
    if (deltaNs < 0n) throw new RangeError("a clock cannot move backwards");
    this.#now += deltaNs;
  }

  advanceMs(deltaMs: number): void {
    this.advanceNs(BigInt(Math.round(deltaMs * 1e6)));
  }

  setNs(nowNs: bigint): void {
    if (nowNs < this.#now) throw new RangeError("a clock cannot move backwards");
    this.#now = nowNs;
  }
}

/** A timestamp as "seconds.nanoseconds" text with 9 decimals, e.g. "1020580534.846229000". */
export function formatEpochNs(ns: bigint): string {
  const negative = ns < 0n;
  const abs = negative ? -ns : ns;
  const seconds = abs / 1_000_000_000n;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, "0");
  return `${negative ? "-" : ""}${seconds}.${fraction}`;
}
