/**
 * The real clock and real randomness: the only place in src/ that reads the wall clock or the operating
 * system's random source. Everything below host/ is handed these through `Clock` and `randomBytes`.
 */
import { randomBytes as cryptoRandomBytes } from "node:crypto";
import type { Clock } from "../base/index.ts";

/** Wall-clock time (nanoseconds since the Unix epoch), never moving backwards within one process. */
export class SystemClock implements Clock {
  #last = 0n;

  nowNs(): bigint {
    const now = BigInt(Date.now()) * 1_000_000n;
    if (now > this.#last) this.#last = now;
    return this.#last;
  }
}

/** n bytes from the operating system's cryptographic random source (GUIDs of new objects). */
export function systemRandomBytes(n: number): Uint8Array {
  return new Uint8Array(cryptoRandomBytes(n));
}

/**
 * "Call me back in N ms" over the real event loop, for the BFE's transaction lock wait (H4). The handle is
 * unref'd: a waiting transaction alone does not keep a CLI process alive.
 */
export const systemTimer = {
  after(ms: number, fire: () => void): () => void {
    const handle = setTimeout(fire, ms);
    handle.unref();
    return () => clearTimeout(handle);
  },
};
