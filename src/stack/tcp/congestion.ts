/**
 * Congestion control: NewReno (RFC 5681 slow start, congestion avoidance, fast retransmit and fast
 * recovery, with RFC 6582's partial-acknowledgment rule). Pure arithmetic on byte counts; the connection
 * tells it what happened and asks for the window. Disabled, the window is unlimited (only the peer's
 * receive window bounds the sender).
 */
import { seqGe, seqLt } from "./seq.ts";

/** RFC 5681 §3.2: duplicate acknowledgments that trigger fast retransmit. */
export const DUP_ACK_THRESHOLD = 3;

export class CongestionControl {
  readonly enabled: boolean;
  #mss: number;
  #cwnd: number;
  #ssthresh = 0x3fffffff;
  /** In fast recovery: the highest sequence number sent when it began (RFC 6582 "recover"). */
  #recover: number | undefined;
  /** "recover" as last set by fast retransmit or a timeout: duplicate ACKs below it start no new recovery. */
  #lastRecover: number | undefined;

  constructor(enabled: boolean, mss: number) {
    this.enabled = enabled;
    this.#mss = mss;
    this.#cwnd = initialWindow(mss);
  }

  /** The congestion window in bytes (Infinity when disabled). */
  get cwnd(): number {
    return this.enabled ? this.#cwnd : Number.POSITIVE_INFINITY;
  }

  get ssthresh(): number {
    return this.#ssthresh;
  }

  get inRecovery(): boolean {
    return this.#recover !== undefined;
  }

  /** The effective send MSS became known (after the handshake): RFC 5681 §3.1 initial window. */
  setMss(mss: number): void {
    this.#mss = mss;
    this.#cwnd = initialWindow(mss);
  }

  /**
   * New data acknowledged (`acked` bytes; `ack` the new SND.UNA). Returns true when this is a partial
   * acknowledgment in fast recovery: the caller retransmits the next unacknowledged segment (RFC 6582 §3.2).
   */
  onNewAck(acked: number, ack: number): boolean {
    const mss = this.#mss;
    if (this.#recover !== undefined) {
      if (seqGe(ack, this.#recover)) {
        // Full acknowledgment: deflate (RFC 6582 §3.2 step 3).
        this.#cwnd = this.#ssthresh;
        this.#recover = undefined;
        return false;
      }
      // Partial acknowledgment: deflate by the amount acked, add back one MSS.
      this.#cwnd = Math.max(mss, this.#cwnd - acked + mss);
      return true;
    }
    if (this.#cwnd < this.#ssthresh) this.#cwnd += Math.min(acked, mss);
    else this.#cwnd += Math.max(1, Math.floor((mss * mss) / this.#cwnd));
    return false;
  }

  /**
   * A duplicate acknowledgment (`count` so far). Returns true on the one that should trigger fast
   * retransmit (RFC 5681 §3.2 step 2; not again while recovering the same loss, RFC 6582 §3.2 step 1).
   */
  onDuplicateAck(count: number, flightSize: number, sndMax: number, sndUna: number): boolean {
    if (this.#recover !== undefined) {
      this.#cwnd += this.#mss; // inflation (RFC 5681 §3.2 step 4)
      return false;
    }
    if (count !== DUP_ACK_THRESHOLD) return false;
    if (this.#lastRecover !== undefined && seqLt(sndUna, this.#lastRecover)) return false;
    this.#ssthresh = Math.max(Math.floor(flightSize / 2), 2 * this.#mss);
    this.#cwnd = this.#ssthresh + DUP_ACK_THRESHOLD * this.#mss;
    this.#recover = sndMax;
    this.#lastRecover = sndMax;
    return true;
  }

  /** The retransmission timer expired (RFC 5681 §3.1 equation 4; loss window of one segment). */
  onTimeout(flightSize: number, sndMax: number): void {
    this.#ssthresh = Math.max(Math.floor(flightSize / 2), 2 * this.#mss);
    this.#cwnd = this.#mss;
    this.#recover = undefined;
    this.#lastRecover = sndMax;
  }
}

/** RFC 5681 §3.1: IW = min(4·MSS, max(2·MSS, 4380)) bytes (RFC 3390). */
export function initialWindow(mss: number): number {
  return Math.min(4 * mss, Math.max(2 * mss, 4380));
}
