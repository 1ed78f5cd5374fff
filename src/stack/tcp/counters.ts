/**
 * What a connection counts. Every inbound segment that is not (wholly) used is counted under one drop
 * reason, so a test or a host can tell hostile or stale input from loss.
 */

/**
 * Why an inbound segment (or part of it) was dropped:
 * - `outside-window`: fails the acceptability test of RFC 9293 §3.10.7.4 (or lies beyond the window).
 * - `duplicate`: lies wholly before RCV.NXT (already received), or repeats out-of-order bytes held.
 * - `bad-ack`: an unacceptable ACK: SYN-SENT/SYN-RECEIVED ACK of something not sent (answered with a RST),
 *   or an ACK older than SND.UNA − MAX.SND.WND (RFC 5961 §5.2, answered with a challenge ACK).
 * - `ack-unsent`: ACK of data not yet sent (SEG.ACK > SND.NXT): answered with an ACK.
 * - `rst-out-of-window`: RST outside the receive window (RFC 5961 §3.2), silently dropped.
 * - `rst-in-window`: RST in the window but not at RCV.NXT: answered with a challenge ACK.
 * - `rst-bad-ack`: RST in SYN-SENT whose ACK does not acknowledge our SYN.
 * - `syn-challenged`: SYN in a synchronized state, whatever its sequence number (RFC 5961 §4): answered with
 *   a challenge ACK.
 * - `no-ack`: a segment without ACK in a state that needs one.
 * - `no-syn`: SYN-SENT got neither SYN nor RST.
 * - `syn-data`: data or FIN carried by a SYN (not queued; the peer retransmits it).
 * - `reassembly-full`: out-of-order bytes that would need one range too many.
 * - `data-after-fin`: data beyond the peer's FIN, or data after the peer's FIN arrived.
 * - `wrong-port`: ports that do not belong to this connection (a demultiplexing bug).
 * - `closed`: arrived after the TCB was gone.
 */
export type TcpDropReason =
  | "outside-window"
  | "duplicate"
  | "bad-ack"
  | "ack-unsent"
  | "rst-out-of-window"
  | "rst-in-window"
  | "rst-bad-ack"
  | "syn-challenged"
  | "no-ack"
  | "no-syn"
  | "syn-data"
  | "reassembly-full"
  | "data-after-fin"
  | "wrong-port"
  | "closed";

export const TCP_DROP_REASONS: readonly TcpDropReason[] = [
  "outside-window",
  "duplicate",
  "bad-ack",
  "ack-unsent",
  "rst-out-of-window",
  "rst-in-window",
  "rst-bad-ack",
  "syn-challenged",
  "no-ack",
  "no-syn",
  "syn-data",
  "reassembly-full",
  "data-after-fin",
  "wrong-port",
  "closed",
];

export interface TcpCounters {
  segmentsIn: number;
  segmentsOut: number;
  /** Payload bytes delivered in order with onData. */
  bytesIn: number;
  /** Payload bytes sent, retransmissions included. */
  bytesOut: number;
  /** Segments resent: RTO, fast retransmit, partial-ACK retransmissions, SYN/SYN-ACK/FIN resends. */
  retransmissions: number;
  bytesRetransmitted: number;
  /** Retransmission-timer expirations. */
  timeouts: number;
  fastRetransmits: number;
  /** Duplicate ACKs received (RFC 5681 §2 definition). */
  duplicateAcksIn: number;
  /** Zero-window probes sent (persist timer). */
  windowProbes: number;
  /** Challenge ACKs sent (RFC 5961), and those suppressed by the rate limit. */
  challengeAcks: number;
  challengeAcksSuppressed: number;
  /** Segments whose data went to the reassembly queue. */
  outOfOrderSegments: number;
  /** Pure ACKs sent. */
  acksOut: number;
  /** RSTs sent. */
  resetsOut: number;
  drops: Record<TcpDropReason, number>;
}

export function newCounters(): TcpCounters {
  const drops = {} as Record<TcpDropReason, number>;
  for (const r of TCP_DROP_REASONS) drops[r] = 0;
  return {
    segmentsIn: 0,
    segmentsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    retransmissions: 0,
    bytesRetransmitted: 0,
    timeouts: 0,
    fastRetransmits: 0,
    duplicateAcksIn: 0,
    windowProbes: 0,
    challengeAcks: 0,
    challengeAcksSuppressed: 0,
    outOfOrderSegments: 0,
    acksOut: 0,
    resetsOut: 0,
    drops,
  };
}
