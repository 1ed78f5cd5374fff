/**
 * One TCP connection (RFC 9293): a deterministic state machine driven by inbound segments, application
 * calls and timers, emitting segments and events through its `TcpEnvironment`.
 *
 * Send side: SND.UNA ≤ SND.NXT ≤ SND.MAX. SND.MAX is the highest sequence number ever sent (BSD's
 * snd_max): an RTO pulls SND.NXT back to SND.UNA and resends from there (go-back-N, RFC 6298 §5.4
 * retransmits "the earliest segment", congestion control then admits one segment), and acknowledgments up
 * to SND.MAX stay acceptable. Pure ACKs carry SEQ = SND.MAX, as BSD does, so the peer never sees an ACK
 * from behind its RCV.NXT. Receive side: the advertised right edge (RCV.NXT + RCV.WND as last told to the
 * peer) never moves left (RFC 9293 §3.8.6.2.2); RCV.WND = receive buffer − bytes delivered but not
 * consumed, updated with receiver-side silly-window avoidance.
 *
 * Reentrancy: event callbacks may call back into the connection (send in onEstablished, consume in onData,
 * abort anywhere). Such calls only change state; segments are emitted once the outermost call returns,
 * and processing stops as soon as the connection is CLOSED.
 */
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpOption, type TcpRepr } from "../../wire/index.ts";
import { CongestionControl } from "./congestion.ts";
import { type TcpCounters, type TcpDropReason, newCounters } from "./counters.ts";
import { Deadline } from "./deadline.ts";
import type { TcpCloseReason, TcpEnvironment } from "./environment.ts";
import {
  checkPort,
  chooseIsn,
  type ResolvedTuning,
  resolveTuning,
  type TcpAcceptOptions,
  type TcpConnectOptions,
} from "./options.ts";
import { ReassemblyQueue } from "./reassembly.ts";
import { RtoEstimator } from "./rtt.ts";
import { makeRepr, MIN_PEER_MSS, readSynOptions, synOptions, windowShiftFor } from "./segment.ts";
import { SendBuffer } from "./send-buffer.ts";
import { seqAdd, seqDiff, seqGe, seqGt, seqInRange, seqLe, seqLt } from "./seq.ts";
import { isSynchronized, peerMaySend, type TcpState } from "./state.ts";

/** RFC 6298 §5.7: the RTO floor once data flows after a SYN timed out. */
const RTO_AFTER_SYN_TIMEOUT_NS = 3_000_000_000n;
/** Window of the challenge-ACK rate limit (RFC 5961 §7). */
const CHALLENGE_WINDOW_NS = 1_000_000_000n;
/** Persist backoff stops doubling here (the interval is capped at rtoMaxNs anyway). */
const MAX_PERSIST_BACKOFF = 16;

export class TcpConnection {
  readonly localPort: number;
  readonly remotePort: number;
  readonly counters: TcpCounters = newCounters();

  readonly #env: TcpEnvironment;
  readonly #t: ResolvedTuning;
  #state: TcpState;
  #closeReason: TcpCloseReason | undefined;

  // Send sequence space (RFC 9293 §3.3.1).
  readonly #iss: number;
  #sndUna: number;
  #sndNxt: number;
  #sndMax: number;
  #sndWnd = 0;
  #sndWl1 = 0;
  #sndWl2 = 0;
  #maxSndWnd = 0;
  /** Shift applied to the peer's window field (0 unless scaling was negotiated). */
  #sndShift = 0;
  /** Shift applied to the window field we send. */
  #rcvShift = 0;
  /** The shift we offer in our SYN (undefined when we do not offer scaling). */
  readonly #offeredShift: number | undefined;
  #wsEnabled = false;
  #effMss: number;
  /** The MSS the peer announced (or the default), and the path's limit from setMss(). */
  #peerMss: number;
  #pathMss: number | undefined;
  readonly #sendBuf: SendBuffer;
  /** Sequence number of send-buffer byte 0. */
  #bufSeq: number;
  /** shutdown() was called: a FIN follows the queued data. */
  #finQueued = false;
  #writeBlocked = false;

  // Receive sequence space.
  #irs = 0;
  #rcvNxt = 0;
  /** The right edge of the window last advertised (RCV.NXT + RCV.WND as the peer knows it). */
  #rcvAdvRight = 0;
  /** Bytes given to onData and not yet consumed. */
  #unconsumed = 0;
  readonly #reasm: ReassemblyQueue;
  /** Where the peer's FIN sits, once a segment carrying it was accepted (in order or not). */
  #remoteFinSeq: number | undefined;
  #readClosed = false;

  // Timers and their state.
  readonly #rto: RtoEstimator;
  readonly #retransmitTimer: Deadline;
  readonly #persistTimer: Deadline;
  readonly #delayedAckTimer: Deadline;
  readonly #timeWaitTimer: Deadline;
  readonly #finWait2Timer: Deadline;
  /** Consecutive retransmission timeouts without progress. */
  #retries = 0;
  #synRetries = 0;
  #synTimedOut = false;
  #persistBackoff = 0;
  #probesUnanswered = 0;
  /** The segment being timed for an RTT sample: its end sequence number and send time (Karn's rule). */
  #rttSeq: number | undefined;
  #rttStartNs = 0n;
  readonly #cc: CongestionControl;
  #dupAcks = 0;

  // Acknowledgment state.
  #ackNow = false;
  #segmentsSinceAck = 0;
  #challengeWindowStartNs = -CHALLENGE_WINDOW_NS;
  #challengesInWindow = 0;

  // Reentrancy.
  #depth = 0;
  #draining = false;
  #dirty = false;

  private constructor(
    env: TcpEnvironment,
    tuning: ResolvedTuning,
    localPort: number,
    remotePort: number,
    iss: number,
    state: TcpState,
  ) {
    this.#env = env;
    this.#t = tuning;
    this.localPort = localPort;
    this.remotePort = remotePort;
    this.#state = state;
    this.#iss = iss;
    this.#sndUna = iss;
    this.#sndNxt = seqAdd(iss, 1);
    this.#sndMax = this.#sndNxt;
    this.#bufSeq = this.#sndNxt;
    this.#sendBuf = new SendBuffer(tuning.sendBufferSize);
    this.#reasm = new ReassemblyQueue(tuning.receiveBufferSize, tuning.maxReassemblyRanges);
    this.#offeredShift = tuning.windowScaling ? windowShiftFor(tuning.receiveBufferSize) : undefined;
    this.#peerMss = tuning.defaultPeerMss;
    this.#effMss = Math.min(tuning.mss, Math.max(MIN_PEER_MSS, tuning.defaultPeerMss));
    this.#cc = new CongestionControl(tuning.congestionControl, this.#effMss);
    this.#rto = new RtoEstimator({ initialNs: tuning.rtoInitialNs, minNs: tuning.rtoMinNs, maxNs: tuning.rtoMaxNs });
    const s = env.scheduler;
    this.#retransmitTimer = new Deadline(s, () => this.#run(() => this.#onRetransmitTimeout()));
    this.#persistTimer = new Deadline(s, () => this.#run(() => this.#onPersistTimeout()));
    this.#delayedAckTimer = new Deadline(s, () => this.#run(() => this.#onDelayedAck()));
    this.#timeWaitTimer = new Deadline(s, () => this.#run(() => this.#terminate("closed")));
    this.#finWait2Timer = new Deadline(s, () => this.#run(() => this.#terminate("timed-out")));
  }

  /** Active open (RFC 9293 §3.10.1): emits the SYN and enters SYN-SENT. */
  static connect(env: TcpEnvironment, options: TcpConnectOptions): TcpConnection {
    checkPort("localPort", options.localPort);
    checkPort("remotePort", options.remotePort);
    const tuning = resolveTuning(options);
    const c = new TcpConnection(env, tuning, options.localPort, options.remotePort, chooseIsn(options), "SYN-SENT");
    c.#run(() => {
      c.#sendSyn(false);
      c.#rttSeq = c.#sndNxt;
      c.#rttStartNs = env.scheduler.nowNs();
      c.#retransmitTimer.set(c.#rto.rtoNs);
    });
    return c;
  }

  /**
   * Passive open from a listener (RFC 9293 §3.10.7.2): `syn` is the SYN the host accepted; emits the
   * SYN-ACK and enters SYN-RECEIVED. Throws RangeError when `syn` is not a SYN without ACK and RST (the
   * host's job to check; see `listenAction`).
   */
  static acceptSyn(env: TcpEnvironment, syn: TcpRepr, options: TcpAcceptOptions): TcpConnection {
    if ((syn.flags & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN) throw new RangeError("tcp: acceptSyn needs a SYN");
    const tuning = resolveTuning(options);
    const c = new TcpConnection(env, tuning, syn.dstPort, syn.srcPort, chooseIsn(options), "SYN-RECEIVED");
    c.#run(() => {
      c.counters.segmentsIn++;
      c.#takePeerSyn(syn, syn.payloadLength);
      c.#sndWnd = syn.window;
      c.#maxSndWnd = syn.window;
      c.#sndWl1 = syn.seq;
      c.#sndWl2 = c.#iss;
      c.#sendSyn(true);
      c.#rttSeq = c.#sndNxt;
      c.#rttStartNs = env.scheduler.nowNs();
      c.#retransmitTimer.set(c.#rto.rtoNs);
    });
    return c;
  }

  // ---------------------------------------------------------------------------------------------------
  // Observation.

  get state(): TcpState {
    return this.#state;
  }

  /** Why the TCB went away, once CLOSED. */
  get closeReason(): TcpCloseReason | undefined {
    return this.#closeReason;
  }

  get iss(): number {
    return this.#iss;
  }
  /** The peer's initial sequence number (0 before it is known). */
  get irs(): number {
    return this.#irs;
  }
  get sndUna(): number {
    return this.#sndUna;
  }
  get sndNxt(): number {
    return this.#sndNxt;
  }
  get rcvNxt(): number {
    return this.#rcvNxt;
  }
  /** The peer's window in bytes (scaled). */
  get sendWindow(): number {
    return this.#sndWnd;
  }
  /** The window we advertise now, in bytes, as of the last segment sent. */
  get receiveWindow(): number {
    return Math.max(0, seqDiff(this.#rcvAdvRight, this.#rcvNxt));
  }
  /** Largest payload we send (min of our MSS and the peer's). */
  get effectiveMss(): number {
    return this.#effMss;
  }
  /** Window scaling is in use (both SYNs carried the option). */
  get windowScaling(): boolean {
    return this.#wsEnabled;
  }
  /** The shifts in use: ours (applied to windows we send) and the peer's. */
  get windowShifts(): { readonly receive: number; readonly send: number } {
    return { receive: this.#rcvShift, send: this.#sndShift };
  }
  /** Room in the send buffer now. */
  get sendBufferFree(): number {
    return this.#sendBuf.free;
  }
  /** Bytes queued or in flight (not yet acknowledged). */
  get sendBufferUsed(): number {
    return this.#sendBuf.length;
  }
  /** Bytes delivered with onData and not yet consumed. */
  get unconsumed(): number {
    return this.#unconsumed;
  }
  /** Out-of-order bytes held, and how many ranges. */
  get reassembly(): { readonly bytes: number; readonly ranges: number } {
    return { bytes: this.#reasm.bytes, ranges: this.#reasm.rangeCount };
  }
  get rtoNs(): bigint {
    return this.#rto.rtoNs;
  }
  get srttNs(): number | undefined {
    return this.#rto.srttNs;
  }
  get cwnd(): number {
    return this.#cc.cwnd;
  }
  /** send() can still take data (not shut down, not closed). */
  get writable(): boolean {
    return (
      !this.#finQueued &&
      (this.#state === "SYN-SENT" ||
        this.#state === "SYN-RECEIVED" ||
        this.#state === "ESTABLISHED" ||
        this.#state === "CLOSE-WAIT")
    );
  }

  /**
   * In TIME-WAIT, may `syn` start a new incarnation of this connection? RFC 9293 §3.10.7.4 (and RFC 1122
   * §4.2.2.13): yes when its sequence number is beyond the old RCV.NXT. The host then calls `abort()` on
   * this TCB (which sends nothing in TIME-WAIT) and `acceptSyn` for the new one.
   */
  acceptsNewSyn(syn: TcpRepr): boolean {
    return (
      this.#state === "TIME-WAIT" &&
      (syn.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN &&
      seqGt(syn.seq, this.#rcvNxt)
    );
  }

  // ---------------------------------------------------------------------------------------------------
  // Application calls.

  /** Queues data; returns how many bytes the send buffer took (0 when full or no longer writable). */
  send(bytes: Uint8Array): number {
    if (!this.writable) return 0;
    const n = this.#sendBuf.write(bytes);
    if (n < bytes.length) this.#writeBlocked = true;
    if (n > 0) this.#run(() => {});
    return n;
  }

  /** The application took `n` of the bytes delivered: the window opens by as much. */
  consume(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.#unconsumed) {
      throw new RangeError(`tcp: consume(${n}) with ${this.#unconsumed} bytes unconsumed`);
    }
    if (n === 0) return;
    this.#run(() => {
      const before = this.receiveWindow;
      this.#unconsumed -= n;
      if (!peerMaySend(this.#state)) return;
      // Send a window update when the opening is worth it (RFC 9293 §3.8.6.2.2; as BSD: two segments or
      // half the buffer, or any SWS-permitted opening of a window that was (nearly) closed).
      const free = this.#t.receiveBufferSize - this.#unconsumed;
      const increase = free - before;
      const sws = this.#swsThreshold();
      const big = Math.min(2 * this.#t.mss, Math.floor(this.#t.receiveBufferSize / 2));
      if (increase >= sws && (before < sws || increase >= big)) this.#ackNow = true;
    });
  }

  /** Half-close: a FIN follows the queued data (RFC 9293 §3.10.4). Harmless when already shut down. */
  shutdown(): void {
    if (this.#finQueued || this.#state === "CLOSED") return;
    this.#run(() => {
      switch (this.#state) {
        case "SYN-SENT":
        case "SYN-RECEIVED":
          this.#finQueued = true; // sent once established
          break;
        case "ESTABLISHED":
          this.#finQueued = true;
          this.#state = "FIN-WAIT-1";
          break;
        case "CLOSE-WAIT":
          this.#finQueued = true;
          this.#state = "LAST-ACK";
          break;
        default:
          break;
      }
    });
  }

  /**
   * Close: shutdown and stop reading. In SYN-SENT the TCB is simply deleted (RFC 9293 §3.10.4). If bytes
   * delivered are still unconsumed, or new data arrives later, the connection is reset instead (RFC 1122
   * §4.2.2.13, RFC 2525 §2.17): onClosed("aborted").
   */
  close(): void {
    if (this.#state === "CLOSED") return;
    this.#run(() => {
      this.#readClosed = true;
      if (this.#state === "SYN-SENT") {
        this.#terminate("closed");
        return;
      }
      if (this.#unconsumed > 0 || this.#reasm.bytes > 0) {
        this.#resetConnection();
        return;
      }
      this.shutdown();
      if (this.#state === "FIN-WAIT-2") this.#armFinWait2();
    });
  }

  /**
   * The path MTU changed (RFC 1191 / RFC 8201, from an ICMP "fragmentation needed" or "packet too big"):
   * `mss` is the new MTU minus the IP and TCP headers. The effective MSS becomes min(our MSS, the peer's,
   * `mss`), never below 64; when it shrinks, unacknowledged data is resent at once in the new size (the
   * oversized segments were dropped on the path; not a congestion signal, so cwnd stays).
   */
  setMss(mss: number): void {
    if (!Number.isInteger(mss) || mss < 1) throw new RangeError(`tcp: setMss(${mss})`);
    if (this.#state === "CLOSED") return;
    this.#run(() => {
      this.#pathMss = mss;
      const before = this.#effMss;
      this.#effMss = this.#computeMss();
      if (this.#effMss < before && isSynchronized(this.#state) && seqLt(this.#sndUna, this.#sndNxt)) {
        this.#rttSeq = undefined;
        this.#sndNxt = this.#sndUna;
      }
    });
  }

  /**
   * Drops the TCB without a segment and without events (the host tore the connection down itself, e.g. a
   * failed WFP reauthorization, and already knows): no onClosed follows. Harmless when already CLOSED.
   */
  destroy(): void {
    if (this.#state === "CLOSED") return;
    this.#terminate("aborted", undefined, false);
  }

  /** Abort (RFC 9293 §3.10.5): RST to the peer where the state calls for one, then the TCB is gone. */
  abort(): void {
    if (this.#state === "CLOSED") return;
    this.#run(() => {
      switch (this.#state) {
        case "SYN-RECEIVED":
        case "ESTABLISHED":
        case "FIN-WAIT-1":
        case "FIN-WAIT-2":
        case "CLOSE-WAIT":
          this.#resetConnection();
          return;
        default:
          this.#terminate("aborted");
      }
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // Segment arrival (RFC 9293 §3.10.7).

  /** One inbound segment, already demultiplexed to this connection and checksum-verified by the host. */
  input(repr: TcpRepr, payload: Uint8Array): void {
    this.#run(() => this.#input(repr, payload));
  }

  #input(repr: TcpRepr, payload: Uint8Array): void {
    this.counters.segmentsIn++;
    if (this.#state === "CLOSED") {
      this.#drop("closed");
      return;
    }
    if (repr.dstPort !== this.localPort || repr.srcPort !== this.remotePort) {
      this.#drop("wrong-port");
      return;
    }
    if (this.#state === "SYN-SENT") {
      this.#inputSynSent(repr, payload);
      return;
    }
    this.#inputSynchronized(repr, payload);
    return;
  }

  /** RFC 9293 §3.10.7.3 "If the state is SYN-SENT". */
  #inputSynSent(repr: TcpRepr, payload: Uint8Array): void {
    const f = repr.flags;
    const hasAck = (f & TCP_ACK) !== 0;
    if (hasAck && (seqLe(repr.ack, this.#iss) || seqGt(repr.ack, this.#sndMax))) {
      if (f & TCP_RST) {
        this.#drop("rst-bad-ack");
        return;
      }
      this.#emitReset(repr.ack, undefined);
      this.#drop("bad-ack");
      return;
    }
    if (f & TCP_RST) {
      // RFC 5961 §3.2: in SYN-SENT a RST is acceptable when its ACK acknowledges our SYN.
      if (hasAck) {
        this.#reset();
        return;
      }
      this.#drop("rst-bad-ack");
      return;
    }
    if (!(f & TCP_SYN)) {
      this.#drop("no-syn");
      return;
    }
    this.#takePeerSyn(repr, payload.length);
    if (hasAck) {
      this.#sndWnd = repr.window; // never scaled in a SYN (RFC 7323 §2.2)
      this.#maxSndWnd = repr.window;
      this.#sndWl1 = repr.seq;
      this.#sndWl2 = repr.ack;
      this.#ackAdvances(repr.ack);
      this.#establish();
      if (this.#gone()) return;
      // The client's final ACK: FLOW_ESTABLISHED is classified with it (after onEstablished).
      this.#emitAck(true);
      return;
    }
    // Simultaneous open (RFC 9293 §3.5, figure 8).
    this.#state = "SYN-RECEIVED";
    this.#sndWnd = repr.window;
    this.#maxSndWnd = repr.window;
    this.#sndWl1 = repr.seq;
    this.#sndWl2 = this.#iss;
    this.#sendSyn(true);
  }

  /** RFC 9293 §3.10.7.4 "Otherwise" (SYN-RECEIVED and the synchronized states). */
  #inputSynchronized(repr: TcpRepr, payload: Uint8Array): void {
    const f = repr.flags;
    let seq = repr.seq;
    let syn = (f & TCP_SYN) !== 0;
    const fin = (f & TCP_FIN) !== 0;
    const rst = (f & TCP_RST) !== 0;
    const hasAck = (f & TCP_ACK) !== 0;

    if (this.#state === "SYN-RECEIVED" && syn && !rst && seq === this.#irs) {
      if (hasAck && seqGt(repr.ack, this.#sndUna) && seqLe(repr.ack, this.#sndMax)) {
        // The peer's SYN-ACK of a simultaneous open: its SYN is old news, its ACK completes ours.
        seq = seqAdd(seq, 1);
        syn = false;
      } else if (!hasAck) {
        // The peer retransmitted its SYN: our SYN-ACK was lost.
        this.#drop("duplicate");
        this.#sendSyn(true);
        this.counters.retransmissions++;
        return;
      }
    }

    const segLen = payload.length + (syn ? 1 : 0) + (fin ? 1 : 0);
    const rcvWnd = this.receiveWindow;

    // RST first: RFC 5961 §3.2 replaces the acceptability test for resets.
    if (rst) {
      if (seq === this.#rcvNxt) {
        // RFC 9293 §3.10.7.4 second check: in TIME-WAIT the connection already closed in order; the RST
        // (often the peer's host answering a duplicate of our last ACK, RFC 1337) only ends the wait.
        if (this.#state === "TIME-WAIT") this.#terminate("closed");
        else this.#reset();
        return;
      }
      if (seqInRange(seq, this.#rcvNxt, rcvWnd)) {
        this.#challengeAck();
        this.#drop("rst-in-window");
        return;
      }
      this.#drop("rst-out-of-window");
      return;
    }

    // First: the acceptability test (RFC 9293 §3.10.7.4 table). For zero-length segments the right edge
    // is included, as Linux does: a pure ACK sent at SND.MAX exactly at our right edge is not stale.
    let acceptable: boolean;
    if (segLen === 0) {
      acceptable =
        rcvWnd === 0 ? seq === this.#rcvNxt : seqGe(seq, this.#rcvNxt) && seqLe(seq, seqAdd(this.#rcvNxt, rcvWnd));
    } else {
      acceptable =
        rcvWnd > 0 &&
        (seqInRange(seq, this.#rcvNxt, rcvWnd) || seqInRange(seqAdd(seq, segLen - 1), this.#rcvNxt, rcvWnd));
    }
    if (!acceptable) {
      if (syn) {
        this.#challengeAck();
        this.#drop("syn-challenged");
        return;
      }
      const old = segLen > 0 && seqLe(seqAdd(seq, segLen), this.#rcvNxt);
      if (this.#state === "TIME-WAIT" && fin && seqAdd(seq, segLen) === this.#rcvNxt) {
        this.#timeWaitTimer.set(2n * this.#t.mslNs); // the peer's FIN again: restart 2·MSL
      }
      this.#ackNow = true;
      this.#drop(old ? "duplicate" : "outside-window");
      return;
    }

    // Fourth: SYN in the window (RFC 5961 §4).
    if (syn) {
      this.#challengeAck();
      this.#drop("syn-challenged");
      return;
    }

    // Fifth: the ACK field.
    if (!hasAck) {
      this.#drop("no-ack");
      return;
    }
    if (this.#state === "SYN-RECEIVED") {
      if (!(seqGt(repr.ack, this.#sndUna) && seqLe(repr.ack, this.#sndMax))) {
        this.#emitReset(repr.ack, undefined);
        this.#drop("bad-ack");
        return;
      }
      this.#ackAdvances(repr.ack);
      this.#sndWnd = repr.window * 2 ** this.#sndShift;
      this.#maxSndWnd = Math.max(this.#maxSndWnd, this.#sndWnd);
      this.#sndWl1 = seq;
      this.#sndWl2 = repr.ack;
      this.#establish();
      if (this.#gone()) return;
    } else {
      if (seqGt(repr.ack, this.#sndMax)) {
        this.#ackNow = true;
        this.#drop("ack-unsent");
        return;
      }
      if (seqLt(repr.ack, seqAdd(this.#sndUna, -this.#maxSndWnd))) {
        this.#challengeAck(); // RFC 5961 §5.2
        this.#drop("bad-ack");
        return;
      }
      this.#processAck(repr, seq, payload.length === 0 && !fin);
      if (this.#gone()) return;
    }

    // Sixth (URG) is not modelled: urgent data is delivered in line. Seventh and eighth: text and FIN.
    if (payload.length > 0 || fin) this.#processText(seq, payload, fin);
  }

  /** The SYN's sequence number and options (both handshake directions). */
  #takePeerSyn(syn: TcpRepr, payloadLength: number): void {
    this.#irs = syn.seq;
    this.#rcvNxt = seqAdd(syn.seq, 1);
    const o = readSynOptions(syn.options);
    this.#peerMss = o.mss ?? this.#t.defaultPeerMss;
    this.#effMss = this.#computeMss();
    this.#cc.setMss(this.#effMss);
    if (this.#offeredShift !== undefined && o.windowShift !== undefined) {
      this.#wsEnabled = true;
      this.#rcvShift = this.#offeredShift;
      this.#sndShift = o.windowShift;
    } else {
      this.#wsEnabled = false;
      this.#rcvShift = 0;
      this.#sndShift = 0;
    }
    // The peer's view of our window starts with what our SYN (or SYN-ACK) says, unscaled.
    this.#rcvAdvRight = seqAdd(this.#rcvNxt, this.#synWindow());
    if (payloadLength > 0 || syn.flags & TCP_FIN) this.counters.drops["syn-data"]++;
  }

  /** Our SYN was acknowledged (handshake, either direction). */
  #ackAdvances(ack: number): void {
    this.#sndUna = ack;
    if (seqLt(this.#sndNxt, ack)) this.#sndNxt = ack;
    if (this.#rttSeq !== undefined && seqGe(ack, this.#rttSeq)) {
      this.#rto.sample(this.#env.scheduler.nowNs() - this.#rttStartNs);
    }
    this.#rttSeq = undefined;
    this.#rto.resetBackoff();
    if (this.#synTimedOut) this.#rto.raiseAfterSynTimeout(RTO_AFTER_SYN_TIMEOUT_NS);
    this.#retransmitTimer.clear();
    this.#synRetries = 0;
  }

  #establish(): void {
    this.#state = this.#finQueued ? "FIN-WAIT-1" : "ESTABLISHED";
    this.#env.onEstablished();
  }

  /** ACK processing in the synchronized states (RFC 9293 §3.10.7.4 fifth; RFC 5681; RFC 6298 §5). */
  #processAck(repr: TcpRepr, seq: number, pure: boolean): void {
    const ack = repr.ack;
    const wnd = repr.window * 2 ** this.#sndShift;
    this.#probesUnanswered = 0;
    let freed = false;
    if (seqGt(ack, this.#sndUna)) {
      const acked = seqDiff(ack, this.#sndUna);
      const dataAcked = Math.min(acked, this.#sendBuf.length);
      if (dataAcked > 0) {
        this.#sendBuf.drop(dataAcked);
        this.#bufSeq = seqAdd(this.#bufSeq, dataAcked);
        freed = true;
      }
      this.#sndUna = ack;
      if (seqLt(this.#sndNxt, ack)) this.#sndNxt = ack;
      if (this.#rttSeq !== undefined && seqGe(ack, this.#rttSeq)) {
        this.#rto.sample(this.#env.scheduler.nowNs() - this.#rttStartNs);
        this.#rttSeq = undefined;
      }
      this.#retries = 0;
      this.#rto.resetBackoff();
      this.#dupAcks = 0;
      const partial = this.#cc.onNewAck(acked, ack);
      if (this.#sndNxt === this.#sndUna) this.#retransmitTimer.clear();
      else this.#retransmitTimer.set(this.#rto.rtoNs);
      if (partial && seqLt(this.#sndUna, this.#sndNxt)) this.#retransmitFirst();
    } else if (
      ack === this.#sndUna &&
      pure &&
      seqLt(this.#sndUna, this.#sndNxt) &&
      wnd === this.#sndWnd &&
      this.#sndWnd > 0
    ) {
      // A duplicate ACK as RFC 5681 §2 defines it.
      this.counters.duplicateAcksIn++;
      this.#dupAcks++;
      const flight = seqDiff(this.#sndNxt, this.#sndUna);
      if (this.#cc.onDuplicateAck(this.#dupAcks, flight, this.#sndMax, this.#sndUna)) {
        this.counters.fastRetransmits++;
        this.#retransmitFirst();
      }
    }
    // Window update (RFC 9293 §3.10.7.4: SND.WL1/SND.WL2 guard against old segments).
    if (seqLe(this.#sndUna, ack) && (seqLt(this.#sndWl1, seq) || (this.#sndWl1 === seq && seqLe(this.#sndWl2, ack)))) {
      this.#sndWnd = wnd;
      this.#sndWl1 = seq;
      this.#sndWl2 = ack;
      if (wnd > this.#maxSndWnd) this.#maxSndWnd = wnd;
    }
    // Our FIN acknowledged?
    if (this.#finQueued && this.#sndUna === this.#finEnd()) {
      switch (this.#state) {
        case "FIN-WAIT-1":
          this.#state = "FIN-WAIT-2";
          this.#retransmitTimer.clear();
          if (this.#readClosed) this.#armFinWait2();
          break;
        case "CLOSING":
          this.#enterTimeWait();
          break;
        case "LAST-ACK":
          this.#terminate("closed");
          return;
        default:
          break;
      }
    }
    if (freed && this.#writeBlocked && this.writable) {
      this.#writeBlocked = false;
      this.#env.onWritable?.();
    }
  }

  /** Segment text and FIN (RFC 9293 §3.10.7.4 seventh and eighth). */
  #processText(seq: number, payload: Uint8Array, fin: boolean): void {
    if (!peerMaySend(this.#state)) {
      // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer's FIN came already.
      if (payload.length > 0) this.#drop("data-after-fin");
      this.#ackNow = true;
      return;
    }
    let off = seqDiff(seq, this.#rcvNxt);
    let bytes = payload;
    if (off < 0) {
      bytes = bytes.subarray(Math.min(bytes.length, -off));
      off = 0;
    }
    let finHere = fin;
    const wnd = this.receiveWindow;
    if (off + bytes.length > wnd) {
      bytes = bytes.subarray(0, Math.max(0, wnd - off));
      finHere = false;
      this.#drop("outside-window");
    } else if (finHere && off + bytes.length === wnd) {
      finHere = false; // the FIN's sequence number lies just past the window
      this.#drop("outside-window");
    }
    if (this.#remoteFinSeq !== undefined) {
      const limit = seqDiff(this.#remoteFinSeq, this.#rcvNxt);
      if (off + bytes.length > limit) {
        bytes = bytes.subarray(0, Math.max(0, limit - off));
        this.#drop("data-after-fin");
      }
      if (finHere && seqAdd(this.#rcvNxt, off + bytes.length) !== this.#remoteFinSeq) finHere = false;
    }
    if (finHere) this.#remoteFinSeq = seqAdd(this.#rcvNxt, off + bytes.length);
    if (bytes.length > 0 && this.#readClosed) {
      // New data after close(): nobody will read it (RFC 1122 §4.2.2.13).
      this.#resetConnection();
      return;
    }
    if (off === 0 && bytes.length > 0) {
      const full = bytes.length >= this.#effMss;
      this.#deliver(bytes.slice(), false);
      if (this.#gone()) return;
      let filled = false;
      for (let more = this.#reasm.takeInOrder(); more !== undefined; more = this.#reasm.takeInOrder()) {
        filled = true;
        this.#deliver(more, true);
        if (this.#gone()) return;
      }
      // Out-of-order data still held, or a hole just filled: acknowledge at once (RFC 5681 §4.2).
      if (filled || this.#reasm.rangeCount > 0) this.#ackNow = true;
      else this.#scheduleAck(full);
    } else if (bytes.length > 0) {
      const r = this.#reasm.insert(off, bytes);
      if (r === "stored") this.counters.outOfOrderSegments++;
      else this.#drop(r === "duplicate" ? "duplicate" : "reassembly-full");
      this.#ackNow = true; // an immediate duplicate ACK (RFC 5681 §4.2)
    } else if (!finHere) {
      this.#ackNow = true;
    }
    if (this.#remoteFinSeq !== undefined && this.#rcvNxt === this.#remoteFinSeq && peerMaySend(this.#state)) {
      this.#processFin();
    } else if (finHere) {
      this.#ackNow = true;
    }
  }

  /** In-order bytes to the host; `fromQueue` when the reassembly queue already moved past them. */
  #deliver(bytes: Uint8Array, fromQueue: boolean): void {
    this.#rcvNxt = seqAdd(this.#rcvNxt, bytes.length);
    if (!fromQueue) this.#reasm.advance(bytes.length);
    this.#unconsumed += bytes.length;
    this.counters.bytesIn += bytes.length;
    this.#env.onData(bytes);
  }

  /** The peer's FIN in order (RFC 9293 §3.10.7.4 eighth). */
  #processFin(): void {
    this.#rcvNxt = seqAdd(this.#rcvNxt, 1);
    this.#reasm.clear();
    this.#ackNow = true;
    switch (this.#state) {
      case "ESTABLISHED":
        this.#state = "CLOSE-WAIT";
        break;
      case "FIN-WAIT-1":
        if (this.#finQueued && this.#sndUna === this.#finEnd()) this.#enterTimeWait();
        else this.#state = "CLOSING";
        break;
      case "FIN-WAIT-2":
        this.#enterTimeWait();
        break;
      default:
        break;
    }
    this.#finWait2Timer.clear();
    this.#env.onRemoteFin();
  }

  // ---------------------------------------------------------------------------------------------------
  // Timers.

  /** RFC 6298 §5.4–5.6 (and SYN / SYN-ACK retransmission). */
  #onRetransmitTimeout(): void {
    this.counters.timeouts++;
    if (this.#state === "SYN-SENT" || this.#state === "SYN-RECEIVED") {
      if (this.#synRetries >= this.#t.maxSynRetransmissions) {
        this.#terminate("timed-out");
        return;
      }
      this.#synRetries++;
      this.#synTimedOut = true;
      this.#rttSeq = undefined;
      this.#rto.backOff();
      this.#sendSyn(this.#state === "SYN-RECEIVED");
      this.counters.retransmissions++;
      this.#retransmitTimer.set(this.#rto.rtoNs);
      return;
    }
    if (!isSynchronized(this.#state) || this.#sndNxt === this.#sndUna) return;
    if (this.#retries >= this.#t.maxRetransmissions) {
      this.#terminate("timed-out");
      return;
    }
    this.#retries++;
    this.#rto.backOff();
    this.#cc.onTimeout(seqDiff(this.#sndNxt, this.#sndUna), this.#sndMax);
    this.#dupAcks = 0;
    this.#rttSeq = undefined;
    this.#sndNxt = this.#sndUna; // go back: resend from the earliest unacknowledged byte
    this.#retransmitTimer.set(this.#rto.rtoNs);
  }

  /** Zero-window probe (RFC 9293 §3.8.6.1): one octet (or the FIN) beyond the closed window. */
  #onPersistTimeout(): void {
    if (!this.#persistNeeded()) return;
    if (this.#probesUnanswered >= this.#t.maxRetransmissions) {
      this.#terminate("timed-out");
      return;
    }
    this.#probesUnanswered++;
    const dataEnd = seqAdd(this.#bufSeq, this.#sendBuf.length);
    const hasData = seqLt(this.#sndNxt, dataEnd);
    const payload = hasData ? this.#sendBuf.read(seqDiff(this.#sndNxt, this.#bufSeq), 1) : new Uint8Array(0);
    const flags = TCP_ACK | (hasData ? 0 : TCP_FIN);
    const end = seqAdd(this.#sndNxt, 1);
    if (seqGt(end, this.#sndMax)) this.#sndMax = end;
    this.counters.windowProbes++;
    this.counters.bytesOut += payload.length;
    this.#emit(flags, this.#sndNxt, payload);
    if (this.#persistBackoff < MAX_PERSIST_BACKOFF) this.#persistBackoff++;
    this.#persistTimer.set(this.#persistInterval());
  }

  #onDelayedAck(): void {
    if (isSynchronized(this.#state) || this.#state === "SYN-RECEIVED") this.#ackNow = true;
  }

  #armFinWait2(): void {
    if (this.#t.finWait2TimeoutNs > 0n) this.#finWait2Timer.set(this.#t.finWait2TimeoutNs);
  }

  #enterTimeWait(): void {
    this.#state = "TIME-WAIT";
    this.#retransmitTimer.clear();
    this.#persistTimer.clear();
    this.#finWait2Timer.clear();
    this.#sendBuf.clear();
    this.#timeWaitTimer.set(2n * this.#t.mslNs);
  }

  // ---------------------------------------------------------------------------------------------------
  // Output.

  /** Runs `fn`, then (outermost call only) emits whatever became due. */
  #run(fn: () => void): void {
    this.#depth++;
    this.#dirty = true;
    try {
      fn();
    } finally {
      this.#depth--;
    }
    if (this.#depth === 0) this.#drain();
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#dirty && this.#state !== "CLOSED") {
        this.#dirty = false;
        this.#transmit();
      }
    } finally {
      this.#draining = false;
    }
  }

  #transmit(): void {
    const st = this.#state;
    if (st === "SYN-SENT") {
      this.#ackNow = false;
      return;
    }
    if (st !== "SYN-RECEIVED" && st !== "FIN-WAIT-2" && st !== "TIME-WAIT") {
      // Bounded: every segment advances SND.NXT within the window.
      while (this.#state === st && this.#sendSegment()) {}
    }
    if (this.#state === "CLOSED") return;
    if (this.#ackNow) this.#emitAck(false);
    this.#updatePersist();
  }

  /** Sends the next segment if the windows, Nagle and sender-side SWS avoidance allow it. */
  #sendSegment(): boolean {
    const dataEnd = seqAdd(this.#bufSeq, this.#sendBuf.length);
    const sendEnd = this.#finQueued ? seqAdd(dataEnd, 1) : dataEnd;
    if (seqGe(this.#sndNxt, sendEnd)) return false;
    const inflight = seqDiff(this.#sndNxt, this.#sndUna);
    const usable = Math.min(this.#sndWnd, this.#cc.cwnd) - inflight;
    if (usable <= 0) return false;
    const avail = Math.max(0, seqDiff(dataEnd, this.#sndNxt));
    const n = Math.min(avail, usable, this.#effMss);
    const fin = this.#finQueued && seqAdd(this.#sndNxt, n) === dataEnd && usable > n;
    if (n === 0 && !fin) return false;
    if (n < this.#effMss && !fin) {
      // RFC 9293 §3.8.6.2.1: a short segment goes only when it empties the queue (and Nagle, if on, has
      // nothing in flight), or when nothing is in flight (so the connection cannot stall).
      if (n < avail && inflight > 0) return false;
      if (n === avail && this.#t.nagle && inflight > 0) return false;
    }
    this.#sendData(this.#sndNxt, n, fin);
    return true;
  }

  /** Emits data [seq, seq + n) (+ FIN) from the send buffer and advances SND.NXT / SND.MAX. */
  #sendData(seq: number, n: number, fin: boolean): void {
    const payload = this.#sendBuf.read(seqDiff(seq, this.#bufSeq), n);
    const end = seqAdd(seq, n + (fin ? 1 : 0));
    const retransmission = seqLt(seq, this.#sndMax);
    this.#sndNxt = end;
    if (seqGt(end, this.#sndMax)) this.#sndMax = end;
    this.#countSent(n, retransmission);
    if (!retransmission && this.#rttSeq === undefined) {
      this.#rttSeq = end;
      this.#rttStartNs = this.#env.scheduler.nowNs();
    }
    if (!this.#retransmitTimer.armed) this.#retransmitTimer.set(this.#rto.rtoNs);
    const dataEnd = seqAdd(this.#bufSeq, this.#sendBuf.length);
    const push = n > 0 && seqAdd(seq, n) === dataEnd ? TCP_PSH : 0;
    this.#emit(TCP_ACK | push | (fin ? TCP_FIN : 0), seq, payload);
  }

  /** Resends one segment from SND.UNA without moving SND.NXT (fast retransmit, partial ACK). */
  #retransmitFirst(): void {
    const dataEnd = seqAdd(this.#bufSeq, this.#sendBuf.length);
    const sentData = Math.max(0, Math.min(seqDiff(this.#sndMax, this.#sndUna), seqDiff(dataEnd, this.#sndUna)));
    const n = Math.min(sentData, this.#effMss);
    const fin = this.#finQueued && seqAdd(this.#sndUna, n) === dataEnd && seqGt(this.#sndMax, dataEnd);
    if (n === 0 && !fin) return;
    const payload = this.#sendBuf.read(seqDiff(this.#sndUna, this.#bufSeq), n);
    this.#countSent(n, true);
    const push = n > 0 && seqAdd(this.#sndUna, n) === dataEnd ? TCP_PSH : 0;
    this.#emit(TCP_ACK | push | (fin ? TCP_FIN : 0), this.#sndUna, payload);
  }

  #countSent(n: number, retransmission: boolean): void {
    this.counters.bytesOut += n;
    if (retransmission) {
      this.counters.retransmissions++;
      this.counters.bytesRetransmitted += n;
      this.#rttSeq = undefined; // Karn's rule
    }
  }

  #persistNeeded(): boolean {
    if (!isSynchronized(this.#state) || this.#sndWnd !== 0 || this.#sndNxt !== this.#sndUna) return false;
    const dataEnd = seqAdd(this.#bufSeq, this.#sendBuf.length);
    const sendEnd = this.#finQueued ? seqAdd(dataEnd, 1) : dataEnd;
    return seqLt(this.#sndNxt, sendEnd);
  }

  #updatePersist(): void {
    if (this.#persistNeeded()) {
      this.#retransmitTimer.clear();
      if (!this.#persistTimer.armed) this.#persistTimer.set(this.#persistInterval());
    } else if (this.#persistTimer.armed || this.#persistBackoff > 0) {
      this.#persistTimer.clear();
      this.#persistBackoff = 0;
    }
  }

  #persistInterval(): bigint {
    const base = this.#rto.rtoNs;
    const v = base * 2n ** BigInt(this.#persistBackoff);
    return v > this.#t.rtoMaxNs ? this.#t.rtoMaxNs : v;
  }

  #scheduleAck(fullSegment: boolean): void {
    if (!this.#t.delayedAck) {
      this.#ackNow = true;
      return;
    }
    // RFC 9293 §3.8.6.3 / RFC 5681 §4.2: at least every second full-sized segment, else within the delay.
    if (fullSegment) this.#segmentsSinceAck++;
    if (this.#segmentsSinceAck >= 2) this.#ackNow = true;
    else if (!this.#delayedAckTimer.armed) this.#delayedAckTimer.set(this.#t.delayedAckNs);
  }

  /** A challenge ACK (RFC 5961 §3.2, §4, §5.2), at most `challengeAckLimit` per second (§7). */
  #challengeAck(): void {
    const now = this.#env.scheduler.nowNs();
    if (now - this.#challengeWindowStartNs >= CHALLENGE_WINDOW_NS) {
      this.#challengeWindowStartNs = now;
      this.#challengesInWindow = 0;
    }
    if (this.#challengesInWindow >= this.#t.challengeAckLimit) {
      this.counters.challengeAcksSuppressed++;
      return;
    }
    this.#challengesInWindow++;
    this.counters.challengeAcks++;
    this.#ackNow = true;
  }

  #sendSyn(withAck: boolean): void {
    const shift = withAck ? (this.#wsEnabled ? this.#rcvShift : undefined) : this.#offeredShift;
    const options = synOptions(this.#t.mss, shift);
    this.#emit(withAck ? TCP_SYN | TCP_ACK : TCP_SYN, this.#iss, new Uint8Array(0), options);
  }

  #emitAck(completesHandshake: boolean): void {
    this.counters.acksOut++;
    this.#emit(TCP_ACK, this.#sndMax, new Uint8Array(0), [], completesHandshake);
  }

  /** A RST at `seq` (with ACK of `ack` when given). */
  #emitReset(seq: number, ack: number | undefined): void {
    this.counters.resetsOut++;
    const flags = ack === undefined ? TCP_RST : TCP_RST | TCP_ACK;
    const repr = makeRepr(this.localPort, this.remotePort, seq, ack ?? 0, flags, 0, 0);
    this.counters.segmentsOut++;
    this.#env.output({ repr, payload: new Uint8Array(0), completesHandshake: false });
  }

  #emit(
    flags: number,
    seq: number,
    payload: Uint8Array,
    options: readonly TcpOption[] = [],
    completesHandshake = false,
  ): void {
    const window = flags & TCP_SYN ? this.#synWindow() : this.#windowField();
    const ack = flags & TCP_ACK ? this.#rcvNxt : 0;
    if (flags & TCP_ACK) {
      this.#ackNow = false;
      this.#segmentsSinceAck = 0;
      this.#delayedAckTimer.clear();
    }
    const repr = makeRepr(this.localPort, this.remotePort, seq, ack, flags, window, payload.length, options);
    this.counters.segmentsOut++;
    this.#env.output({ repr, payload, completesHandshake });
  }

  /** The window of a SYN or SYN-ACK: never scaled (RFC 7323 §2.2). */
  #synWindow(): number {
    return Math.min(0xffff, Math.max(0, this.#t.receiveBufferSize - this.#unconsumed));
  }

  /** RFC 9293 §3.8.6.2.2: the right edge moves only by at least min(buffer / 2, MSS). */
  #swsThreshold(): number {
    return Math.max(1, Math.min(Math.floor(this.#t.receiveBufferSize / 2), this.#t.mss));
  }

  /** The window field to send now (scaled), recording the right edge it advertises. */
  #windowField(): number {
    const free = Math.max(0, this.#t.receiveBufferSize - this.#unconsumed);
    const current = this.receiveWindow;
    const wnd = free - current >= this.#swsThreshold() ? free : current;
    const scale = 2 ** this.#rcvShift;
    let field = Math.min(0xffff, Math.floor(wnd / scale));
    // Scaling rounds down: a window that is not a multiple of 2^shift (the unscaled one of our SYN, or
    // one kept for SWS avoidance) would come out smaller and move the right edge left. Round up instead,
    // as Linux's tcp_select_window does: the peer may then send up to 2^shift − 1 bytes past the buffer.
    if (field * scale < current) field = Math.min(0xffff, Math.ceil(current / scale));
    const right = seqAdd(this.#rcvNxt, field * scale);
    if (seqGt(right, this.#rcvAdvRight)) this.#rcvAdvRight = right;
    return field;
  }

  /** The sequence number just past our FIN (meaningful once shutdown() was called). */
  #finEnd(): number {
    return seqAdd(this.#bufSeq, this.#sendBuf.length + 1);
  }

  // ---------------------------------------------------------------------------------------------------
  // Ending.

  /** CLOSED (a method, so a check after a callback is not narrowed away by the compiler). */
  #gone(): boolean {
    return this.#state === "CLOSED";
  }

  #drop(reason: TcpDropReason): void {
    this.counters.drops[reason]++;
  }

  /** We reset the connection: RST at SND.MAX acknowledging RCV.NXT, then the TCB is gone. */
  #resetConnection(): void {
    this.#emitReset(this.#sndMax, this.#rcvNxt);
    this.#terminate("aborted");
  }

  /** An acceptable RST arrived. */
  #reset(): void {
    this.#terminate("reset", () => this.#env.onReset());
  }

  #terminate(reason: TcpCloseReason, before?: () => void, notify = true): void {
    if (this.#state === "CLOSED") return;
    this.#state = "CLOSED";
    this.#closeReason = reason;
    this.#retransmitTimer.clear();
    this.#persistTimer.clear();
    this.#delayedAckTimer.clear();
    this.#timeWaitTimer.clear();
    this.#finWait2Timer.clear();
    this.#sendBuf.clear();
    this.#reasm.clear();
    this.#ackNow = false;
    if (!notify) return;
    before?.();
    this.#env.onClosed(reason);
  }

  #computeMss(): number {
    // The floor guards against a tiny MSS from the peer or the path, never above our own MSS.
    const remote = Math.min(this.#peerMss, this.#pathMss ?? this.#peerMss);
    return Math.min(this.#t.mss, Math.max(MIN_PEER_MSS, remote));
  }
}
