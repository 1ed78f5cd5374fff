/**
 * Connection options and their defaults. Times are nanoseconds of the simulator's clock. Defaults follow
 * the RFCs where they give a number and Windows where it differs in a way a WFP user would see: the
 * minimum RTO is 300 ms (Windows' MinRto) rather than RFC 6298's 1 s, and TIME-WAIT lasts 2·MSL = 120 s
 * (Windows' TcpTimedWaitDelay default).
 */
import type { SeededRng } from "../../base/index.ts";

/** What the host tunes per connection (every field optional). */
export interface TcpTuning {
  /**
   * The MSS we advertise and the largest payload we send: the interface MTU minus the IP and TCP
   * headers (1460 for IPv4 over Ethernet, 1440 for IPv6). Default 1460.
   */
  readonly mss?: number;
  /**
   * The peer's MSS when its SYN carries no MSS option: 536 for IPv4, 1220 for IPv6 (RFC 9293 §3.7.1).
   * Default 536.
   */
  readonly defaultPeerMss?: number;
  /** Offer window scaling (RFC 7323 §2); it is used only when both SYNs carry the option. Default true. */
  readonly windowScaling?: boolean;
  /** Send buffer capacity in bytes (queued plus unacknowledged). Default 65536. */
  readonly sendBufferSize?: number;
  /**
   * Receive buffer in bytes: the advertised window is this minus the bytes delivered with `onData` and
   * not yet `consume`d. Default 65536.
   */
  readonly receiveBufferSize?: number;
  /** Most disjoint out-of-order ranges held for reassembly. Default 32. */
  readonly maxReassemblyRanges?: number;
  /** Nagle's algorithm (RFC 9293 §3.7.4). Default false. */
  readonly nagle?: boolean;
  /** Delay pure acknowledgments (RFC 9293 §3.8.6.3: every second full segment, else after `delayedAckNs`). Default false. */
  readonly delayedAck?: boolean;
  /** Default 200 ms. */
  readonly delayedAckNs?: bigint;
  /** Maximum segment lifetime; TIME-WAIT lasts twice this. Default 60 s. */
  readonly mslNs?: bigint;
  /** RFC 6298 §2.1 initial RTO. Default 1 s. */
  readonly rtoInitialNs?: bigint;
  /** Default 300 ms (Windows' MinRto; RFC 6298 §2.4 says 1 s). */
  readonly rtoMinNs?: bigint;
  /** RFC 6298 §2.5 upper bound. Default 60 s. */
  readonly rtoMaxNs?: bigint;
  /** Retransmissions of one data or FIN segment (or unanswered window probes) before giving up. Default 5. */
  readonly maxRetransmissions?: number;
  /** Retransmissions of a SYN or SYN-ACK before giving up (the connect timeout). Default 2 (1 s + 2 s + 4 s = 7 s). */
  readonly maxSynRetransmissions?: number;
  /** NewReno congestion control (RFC 5681, RFC 6582). Default true. */
  readonly congestionControl?: boolean;
  /** After close() in FIN-WAIT-2, give up on the peer's FIN after this long. Default 120 s; 0n disables. */
  readonly finWait2TimeoutNs?: bigint;
  /** Challenge ACKs sent per second at most (RFC 5961 §7). Default 10. */
  readonly challengeAckLimit?: number;
}

/** Where the initial sequence number comes from (RFC 9293 §3.4.1): a given value or a seeded generator. */
export interface TcpIsnSource {
  /** The ISN to use; wins over `rng`. */
  readonly isn?: number;
  /** Draws the ISN when `isn` is absent. */
  readonly rng?: SeededRng;
}

/** Options of an active open. */
export interface TcpConnectOptions extends TcpTuning, TcpIsnSource {
  readonly localPort: number;
  readonly remotePort: number;
}

/** Options of a passive open; the ports come from the SYN. */
export interface TcpAcceptOptions extends TcpTuning, TcpIsnSource {}

export type ResolvedTuning = { readonly [K in keyof TcpTuning]-?: NonNullable<TcpTuning[K]> };

export const TCP_DEFAULTS: ResolvedTuning = {
  mss: 1460,
  defaultPeerMss: 536,
  windowScaling: true,
  sendBufferSize: 65536,
  receiveBufferSize: 65536,
  maxReassemblyRanges: 32,
  nagle: false,
  delayedAck: false,
  delayedAckNs: 200_000_000n,
  mslNs: 60_000_000_000n,
  rtoInitialNs: 1_000_000_000n,
  rtoMinNs: 300_000_000n,
  rtoMaxNs: 60_000_000_000n,
  maxRetransmissions: 5,
  maxSynRetransmissions: 2,
  congestionControl: true,
  finWait2TimeoutNs: 120_000_000_000n,
  challengeAckLimit: 10,
};

/** Largest receive buffer: the window must stay below 2^30 (RFC 7323 §2.3). */
const MAX_BUFFER = 1 << 30;

/** Defaults filled in and every value checked; a bad value is the caller's bug (RangeError). */
export function resolveTuning(t: TcpTuning): ResolvedTuning {
  const r: ResolvedTuning = {
    mss: t.mss ?? TCP_DEFAULTS.mss,
    defaultPeerMss: t.defaultPeerMss ?? TCP_DEFAULTS.defaultPeerMss,
    windowScaling: t.windowScaling ?? TCP_DEFAULTS.windowScaling,
    sendBufferSize: t.sendBufferSize ?? TCP_DEFAULTS.sendBufferSize,
    receiveBufferSize: t.receiveBufferSize ?? TCP_DEFAULTS.receiveBufferSize,
    maxReassemblyRanges: t.maxReassemblyRanges ?? TCP_DEFAULTS.maxReassemblyRanges,
    nagle: t.nagle ?? TCP_DEFAULTS.nagle,
    delayedAck: t.delayedAck ?? TCP_DEFAULTS.delayedAck,
    delayedAckNs: t.delayedAckNs ?? TCP_DEFAULTS.delayedAckNs,
    mslNs: t.mslNs ?? TCP_DEFAULTS.mslNs,
    rtoInitialNs: t.rtoInitialNs ?? TCP_DEFAULTS.rtoInitialNs,
    rtoMinNs: t.rtoMinNs ?? TCP_DEFAULTS.rtoMinNs,
    rtoMaxNs: t.rtoMaxNs ?? TCP_DEFAULTS.rtoMaxNs,
    maxRetransmissions: t.maxRetransmissions ?? TCP_DEFAULTS.maxRetransmissions,
    maxSynRetransmissions: t.maxSynRetransmissions ?? TCP_DEFAULTS.maxSynRetransmissions,
    congestionControl: t.congestionControl ?? TCP_DEFAULTS.congestionControl,
    finWait2TimeoutNs: t.finWait2TimeoutNs ?? TCP_DEFAULTS.finWait2TimeoutNs,
    challengeAckLimit: t.challengeAckLimit ?? TCP_DEFAULTS.challengeAckLimit,
  };
  integer("mss", r.mss, 1, 65535);
  integer("defaultPeerMss", r.defaultPeerMss, 1, 65535);
  integer("sendBufferSize", r.sendBufferSize, 1, MAX_BUFFER);
  integer("receiveBufferSize", r.receiveBufferSize, 1, MAX_BUFFER);
  integer("maxReassemblyRanges", r.maxReassemblyRanges, 1, 1 << 16);
  integer("maxRetransmissions", r.maxRetransmissions, 0, 1000);
  integer("maxSynRetransmissions", r.maxSynRetransmissions, 0, 1000);
  integer("challengeAckLimit", r.challengeAckLimit, 0, 1 << 20);
  positive("delayedAckNs", r.delayedAckNs);
  positive("mslNs", r.mslNs);
  positive("rtoInitialNs", r.rtoInitialNs);
  positive("rtoMinNs", r.rtoMinNs);
  if (r.rtoMaxNs < r.rtoMinNs) throw new RangeError("tcp: rtoMaxNs is below rtoMinNs");
  if (r.finWait2TimeoutNs < 0n) throw new RangeError("tcp: finWait2TimeoutNs is negative");
  return r;
}

/** The ISN from the source: `isn` if given, else drawn from `rng`. */
export function chooseIsn(source: TcpIsnSource): number {
  if (source.isn !== undefined) {
    integer("isn", source.isn, 0, 0xffffffff);
    return source.isn;
  }
  if (source.rng === undefined) throw new RangeError("tcp: an ISN needs `isn` or `rng`");
  return source.rng.nextU32();
}

export function checkPort(name: string, port: number): void {
  integer(name, port, 0, 65535);
}

function integer(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`tcp: ${name} ${v} is outside ${min}..${max}`);
}

function positive(name: string, v: bigint): void {
  if (v <= 0n) throw new RangeError(`tcp: ${name} must be positive`);
}
