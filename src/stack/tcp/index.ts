/**
 * TCP (RFC 9293) as a pure, deterministic state machine, in the smoltcp style: it knows no addresses,
 * links or WFP. The host parses inbound segments, verifies checksums, demultiplexes them to a
 * `TcpConnection` (or a `TcpListener`), and wraps what the connection emits in IP. Time and timers come
 * from the simulator's `Scheduler`, the ISN from a `SeededRng` (or is given).
 *
 * ```ts
 * const env: TcpEnvironment = {
 *   scheduler,                                  // the simulator's Scheduler
 *   output: (seg) => host.send(seg.repr, seg.payload, seg.completesHandshake),
 *   onEstablished: () => {}, onData: (bytes) => app.push(bytes), onRemoteFin: () => {},
 *   onReset: () => {}, onClosed: (reason) => host.forget(conn), onWritable: () => app.resume(),
 * };
 * const conn = TcpConnection.connect(env, { localPort: 49152, remotePort: 80, rng, mss: mtu - 40 });
 * conn.input(repr, payload);                    // every inbound segment of this 4-tuple
 * conn.send(bytes); conn.consume(n); conn.shutdown(); conn.close(); conn.abort();
 * ```
 *
 * Host duties:
 * - Active open: `connect` emits the SYN. On the SYN-ACK, `onEstablished()` fires, then the final ACK is
 *   output with `completesHandshake: true` (WFP classifies the client's FLOW_ESTABLISHED with it; abort()
 *   inside onEstablished suppresses it and sends a RST instead).
 * - Passive open: for a segment to a listening port, `listenAction(repr)` says "accept-syn", "reset" or
 *   "drop". For a SYN: `listener.admitSyn()` (false: drop it), `TcpConnection.acceptSyn(env, syn, options)`
 *   (emits the SYN-ACK), then `listener.established()` in onEstablished (false: abort, backlog full) or
 *   `listener.synFailed()` if it closes half-open, and `listener.dequeued()` when the application takes
 *   it. Or `listener.acceptSyn(env, syn, options)` + `listener.accept()`, which do that bookkeeping.
 *   onEstablished fires on the server when the final ACK is processed.
 * - A segment for no connection (and not a RST) is answered with `resetFor(repr, payloadLength)`.
 * - In TIME-WAIT, `conn.acceptsNewSyn(syn)` says whether a SYN may open a new incarnation: then
 *   `abort()` the old TCB (silent in TIME-WAIT) and accept the SYN.
 * - `onData` bytes stay counted against the receive window until `consume(n)`: a host that stops
 *   consuming (WFP stream DEFER) closes the window, and the peer persists with zero-window probes.
 * - `setMss(mtu − headers)` on a path-MTU report; `destroy()` drops the TCB silently (no segment, no event).
 *
 * Guarantees: every RFC 9293 state and transition (simultaneous open and close, half-close, TIME-WAIT of
 * 2·MSL, default 120 s), RFC 5961 (RST exactly at RCV.NXT resets, in-window RST/SYN/old ACK draw a
 * rate-limited challenge ACK, out-of-window RST is dropped), MSS (ours sent, the peer's respected),
 * window scaling (RFC 7323 §2, when both SYNs offer it), RFC 6298 RTO (Karn, 300 ms minimum, 60 s maximum,
 * backoff, give-up), NewReno fast retransmit and recovery (RFC 5681, RFC 6582), optional Nagle and delayed
 * ACK, persist timer, SWS avoidance on both sides. Bounded memory: send buffer, receive window,
 * reassembly ranges; hostile segments are dropped and counted by reason (`counters.drops`), never thrown.
 *
 * Not modelled: SACK, timestamps (PAWS, RTTM), urgent data (delivered in line), ECN, TCP Fast Open (data on
 * a SYN is not queued; the peer retransmits it), keep-alive.
 */
export { CongestionControl, DUP_ACK_THRESHOLD, initialWindow } from "./congestion.ts";
export { TcpConnection } from "./connection.ts";
export { newCounters, TCP_DROP_REASONS, type TcpCounters, type TcpDropReason } from "./counters.ts";
export type { TcpCloseReason, TcpEnvironment, TcpOutSegment, TcpScheduler } from "./environment.ts";
export {
  type ListenAction,
  listenAction,
  TcpListener,
  type TcpListenerCounters,
  type TcpListenerOptions,
} from "./listener.ts";
export {
  TCP_DEFAULTS,
  type TcpAcceptOptions,
  type TcpConnectOptions,
  type TcpIsnSource,
  type TcpTuning,
} from "./options.ts";
export { resetFor } from "./reset.ts";
export { MAX_WINDOW_SHIFT, MIN_PEER_MSS, segmentLength } from "./segment.ts";
export { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from "./seq.ts";
export { isSynchronized, type TcpState } from "./state.ts";
