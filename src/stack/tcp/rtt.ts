/**
 * The retransmission timeout of RFC 6298: SRTT and RTTVAR from round-trip samples (§2), bounds (§2.4
 * minimum, §2.5 maximum), exponential backoff on expiry (§5.5). Samples are taken only from segments
 * that were never retransmitted (Karn's rule, §3); the caller decides which segment is timed. All
 * values are nanoseconds; the arithmetic is plain floating point on integers, so it is deterministic.
 */
export interface RtoBounds {
  readonly initialNs: bigint;
  readonly minNs: bigint;
  readonly maxNs: bigint;
  /** Clock granularity G of RFC 6298 §2 (the simulator's clock is exact; 1 ms keeps RTO above SRTT). */
  readonly granularityNs?: bigint;
}

const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

export class RtoEstimator {
  readonly #min: number;
  readonly #max: number;
  readonly #granularity: number;
  #srtt: number | undefined;
  #rttvar = 0;
  /** RTO before backoff. */
  #base: number;
  /** Number of doublings applied since the last sample (§5.5). */
  #backoff = 0;

  constructor(bounds: RtoBounds) {
    this.#min = Number(bounds.minNs);
    this.#max = Number(bounds.maxNs);
    this.#granularity = Number(bounds.granularityNs ?? 1_000_000n);
    this.#base = Number(bounds.initialNs);
  }

  /** Smoothed round-trip time, or undefined before the first sample. */
  get srttNs(): number | undefined {
    return this.#srtt;
  }

  get rttvarNs(): number {
    return this.#rttvar;
  }

  /** The current timeout, with backoff, within [min, max]. */
  get rtoNs(): bigint {
    // §2.4 bounds the computed value; §5.5 then doubles the timer itself.
    return BigInt(Math.round(Math.min(this.#max, this.#bounded() * 2 ** this.#backoff)));
  }

  #bounded(): number {
    return Math.min(this.#max, Math.max(this.#min, this.#base));
  }

  /** Doublings applied since the last sample. */
  get backoff(): number {
    return this.#backoff;
  }

  /** A round-trip sample from a segment sent once (RFC 6298 §2.2–2.3); clears the backoff. */
  sample(rttNs: bigint): void {
    const r = Number(rttNs < 0n ? 0n : rttNs);
    if (this.#srtt === undefined) {
      this.#srtt = r;
      this.#rttvar = r / 2;
    } else {
      this.#rttvar = (1 - BETA) * this.#rttvar + BETA * Math.abs(this.#srtt - r);
      this.#srtt = (1 - ALPHA) * this.#srtt + ALPHA * r;
    }
    this.#base = this.#srtt + Math.max(this.#granularity, K * this.#rttvar);
    this.#backoff = 0;
  }

  /** The timer expired: double the timeout (§5.5), up to the maximum. */
  backOff(): void {
    if (this.#bounded() * 2 ** this.#backoff < this.#max) this.#backoff++;
  }

  /** Forgets the backoff: new data was acknowledged, so the path works again (as BSD clears t_rxtshift). */
  resetBackoff(): void {
    this.#backoff = 0;
  }

  /** RFC 6298 §5.7: after a SYN timed out, an RTO below 3 s is raised to 3 s once data transmission begins. */
  raiseAfterSynTimeout(floorNs: bigint): void {
    if (this.#srtt === undefined) {
      const f = Number(floorNs);
      if (this.#base < f) this.#base = f;
    }
  }
}
