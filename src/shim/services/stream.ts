/**
 * The stream layer (wfp-semantics.md §E): one classifier per TCP connection and direction, which the
 * TCP layer drives. Inbound it sits between TCP's in-order delivery and the application, outbound between
 * the application's send and TCP's send buffer, so whatever the callouts do to the bytes — hold, drop,
 * insert, replace — TCP carries the edited stream and both ends' sequence numbers agree by construction.
 *
 * **Indications.** Every piece of stream the TCP layer hands over (a delivery of in-order bytes, the FIN
 * as a zero-length indication with *_DISCONNECT, a RST as RECEIVE_ABORT, an application send, shutdown as
 * SEND_DISCONNECT, abort as SEND_ABORT) is one STREAM classification: one `engine.classify`, one record in
 * the classify log. A classification may follow with no new data to re-indicate what a callout left
 * (E5's remainder) or to carry data injected out of band (E12); those are classifications too.
 *
 * **The waterfall (E6, E11) in one engine.classify.** The engine evaluates the STREAM filters in weight
 * order (sublayers by weight, filters by weight inside each). The stream classifier gives every callout it
 * invokes its own FWPS_STREAM_CALLOUT_IO_PACKET0 through the engine's `CalloutDispatch`, so that a callout
 * lower in that order sees only what the callouts above it passed on, in this very classification:
 * - Each stream callout is a *stage* of the flow's direction (one per calloutId). The bytes moving down
 *   the waterfall in a classification start as the new indication; at each callout the engine reaches,
 *   the stage presents its held bytes (a remainder or an accumulation) followed by what came down, and the
 *   callout's answer decides what goes on down: PERMIT passes the leading `countBytesEnforced` bytes (0 =
 *   all, E5 model default), BLOCK removes them (lower stages count them in `missedBytes`, E2), CONTINUE or
 *   NONE, and anything an INSPECTION filter writes (C12), passes all; what is not enforced stays with the
 *   stage and is indicated again in the next classification, before any new data (E5, E16). Bytes the
 *   callout injected from its classifyFn go down first, in place of what it blocks (E12).
 * - NEED_MORE_DATA (E7): the stage holds the bytes and is not called again until it holds
 *   `countBytesRequired` in total (the model's reading), the disconnect arrives (NO_MORE_DATA), or it holds
 *   `maxAccumulation` (8 MiB: BUFFER_LIMIT_REACHED, then the callout must decide); nothing reaches the
 *   stages below meanwhile. NEED_MORE_DATA with NO_MORE_DATA or BUFFER_LIMIT_REACHED set is refused.
 * - DEFER (E8, inbound only): the stage holds the bytes and the direction stops taking data from TCP, which
 *   stops consuming, so its receive window closes; `streamContinue` re-presents them. Deferring a FIN, or
 *   an outbound stream, is refused.
 * - DROP_CONNECTION (E9) tears the connection down (RST) after the classification; ignored from an
 *   INSPECTION filter. ALLOW_CONNECTION (E10): this callout is not called again for the flow, in either
 *   direction; its stage passes everything on.
 * - A stage with nothing to present is not invoked (the engine takes CONTINUE as its answer, or PERMIT when
 *   it passes on injected data or an allowed flow's data). A refused answer is recorded in `refusals` and
 *   handled as if streamAction were NONE.
 * - Static filters act through arbitration: when the running decision a callout is offered (C13) is a hard
 *   BLOCK that no stream callout produced, a static (or unregistered-callout, C14) filter above blocked:
 *   what comes down to that callout is removed; a BLOCK that decides the classification after the last
 *   callout removes what reaches the bottom. Such removals are indicated at STREAM_DISCARD (FIREWALL_POLICY);
 *   a callout's BLOCK is an edit of the stream and is not. A static block does not hold back a disconnect.
 *   With the engine option classifyOutPreload "continue" only the final decision is seen.
 * - The engine's final action is logged as is; it does not decide the bytes once a stream callout ran
 *   (E4, E11: the write right has no meaning at the stream layer).
 *
 * **Injection (E12, E18).** `streamInjectAsync` inserts bytes (and/or a FIN) at the injecting callout's
 * stage: they flow to the stages below it and never to that callout. From the classifyFn of a callout of
 * the same flow they go down with that callout's answer; out of band they are allowed while the stage is
 * deferred (or the direction is), holds a FIN it blocked, or has cloned and blocked what it was shown
 * (`cloneStreamData`, the out-of-band mode), and are carried down by a classification of their own after
 * the current event. completionFn runs after the data went down, never inside the call.
 *
 * Statuses (values, never thrown) — documented: STATUS_FWP_NULL_POINTER (no completionFn),
 * STATUS_FWP_INVALID_PARAMETER (no direction flag, a disconnect flag of the other direction),
 * STATUS_FWP_INJECT_HANDLE_CLOSING (destroyed handle); inferred [INF]: STATUS_FWP_INCOMPATIBLE_LAYER for a
 * layerId other than STREAM_V4/V6, STATUS_FWP_INJECT_HANDLE_STALE for a handle without the stream type,
 * STATUS_INVALID_PARAMETER for a flow that is gone or of the other family, a handle or NBL that is not
 * one, a bad length, reserved flags; STATUS_FWP_NULL_POINTER for no data without a disconnect flag;
 * STATUS_INVALID_DEVICE_STATE for a stream that is aborted or already disconnected at that stage, for
 * out-of-band injection outside the states above, for streamContinue inside classifyFn or on a stage that
 * is not deferred.
 * Sources: https://learn.microsoft.com/windows-hardware/drivers/network/stream-inspection,
 * .../ddi/fwpsk/ns-fwpsk-fwps_stream_callout_io_packet0_, .../ddi/fwpsk/ns-fwpsk-fwps_stream_data0_,
 * .../ddi/fwpsk/nf-fwpsk-fwpsstreaminjectasync0, .../ddi/fwpsk/nf-fwpsk-fwpsstreamcontinue0,
 * .../ddi/fwpsk/nf-fwpsk-fwpsclonestreamdata0, Windows-driver-samples network/trans/stmedit.
 */
import { CALLOUT_NOT_INVOKED, type CalloutDispatch, type ClassifyOut, type Filter } from "../../engine/index.ts";
import {
  FWPS_CLASSIFY_OUT_FLAG,
  FWPS_DISCARD_MODULE,
  FWPS_GENERAL_DISCARD_REASON,
  FWPS_INJECTION_TYPE,
  FWPS_STREAM_ACTION_TYPE,
  FWPS_STREAM_FLAG,
  getLayer,
  type Layer,
} from "../../fwp/index.ts";
import type { ClassifyFacts, PacketDirection } from "../facts.ts";
import type { AleFlow } from "../flows.ts";
import type { PacketLabel, StreamCalloutIoPacket, StreamData } from "../packet.ts";
import type { Shim, ShimVerdict } from "../shim.ts";
import { type InjectCompleteFn, InjectionHandle, type NetBufferList } from "./injection.ts";
import type { NtStatus } from "./status.ts";

const SF = FWPS_STREAM_FLAG;
const SA = FWPS_STREAM_ACTION_TYPE;
const NO_MORE_DATA = FWPS_CLASSIFY_OUT_FLAG.FWPS_CLASSIFY_OUT_FLAG_NO_MORE_DATA;
const BUFFER_LIMIT_REACHED = FWPS_CLASSIFY_OUT_FLAG.FWPS_CLASSIFY_OUT_FLAG_BUFFER_LIMIT_REACHED;
const RIGHT_ACTION_WRITE = 0x1;

/** E7: how much NEED_MORE_DATA may accumulate at one stage ("8 MB"). */
export const STREAM_MAX_ACCUMULATION = 8 * 1024 * 1024;

const RECEIVE_FLAGS =
  SF.FWPS_STREAM_FLAG_RECEIVE |
  SF.FWPS_STREAM_FLAG_RECEIVE_EXPEDITED |
  SF.FWPS_STREAM_FLAG_RECEIVE_DISCONNECT |
  SF.FWPS_STREAM_FLAG_RECEIVE_PUSH;
const SEND_FLAGS =
  SF.FWPS_STREAM_FLAG_SEND |
  SF.FWPS_STREAM_FLAG_SEND_EXPEDITED |
  SF.FWPS_STREAM_FLAG_SEND_NODELAY |
  SF.FWPS_STREAM_FLAG_SEND_DISCONNECT;

/** What the TCP layer gives the stream classifier of one connection. */
export interface StreamEndpoint {
  readonly flow: AleFlow;
  /** The facts of a STREAM classification in `direction` (addresses, ports, the loopback flag). */
  facts(direction: PacketDirection): ClassifyFacts;
  /** The loopback side, for the classify log. */
  readonly side?: string;
  /** Inbound bytes the stream layer passed: to the application. */
  deliver(bytes: Uint8Array): void;
  /** The inbound disconnect passed, after every byte before it. */
  deliverFin(): void;
  /** Outbound bytes the stream layer passed: to TCP's send buffer. */
  transmit(bytes: Uint8Array): void;
  /** The outbound disconnect passed: TCP sends its FIN after the bytes before it. */
  transmitFin(): void;
  /** The stream layer took `n` bytes TCP delivered (the receive window opens by as much). */
  consume(n: number): void;
  /** FWPS_STREAM_ACTION_DROP_CONNECTION (E9): abort the connection (RST). */
  dropConnection(): void;
}

/** A stream action the model refused (the answer was then handled as streamAction NONE). */
export interface StreamRefusal {
  readonly flowId: bigint;
  readonly calloutId: number;
  readonly direction: PacketDirection;
  readonly streamAction: number;
  readonly reason: string;
}

export interface StreamCounters {
  /** STREAM classifications. */
  classifications: number;
  /** Bytes the TCP layer indicated (inbound delivered by TCP, outbound written by the app). */
  bytesIndicated: number;
  /** Bytes that left the stream layer (to the app, to TCP). */
  bytesPassed: number;
  /** Bytes callouts blocked. */
  bytesBlocked: number;
  /** Bytes static filters blocked (indicated at STREAM_DISCARD). */
  bytesDiscarded: number;
  /** Bytes injected (accepted by streamInjectAsync). */
  bytesInjected: number;
  injectionsRefused: number;
  deferrals: number;
  drops: number;
}

/** What FwpsCloneStreamData0 gives: the clone (an NBL the callout owns) or the failure. */
export interface CloneStreamDataResult {
  readonly status: NtStatus;
  readonly netBufferListChain: NetBufferList | null;
}

/** Something waiting to enter a direction's waterfall from the TCP layer. */
interface TopItem {
  readonly bytes: Uint8Array | null;
  readonly fin: boolean;
  readonly abort: boolean;
}

/** Data injected at a stage, waiting to go down. */
interface Injected {
  readonly bytes: Uint8Array;
  readonly fin: boolean;
  readonly nbl: NetBufferList | null;
  readonly handle: InjectionHandle;
  readonly completionFn: InjectCompleteFn;
  readonly completionContext: unknown;
}

/** Bytes moving down the waterfall in one classification. */
class Carry {
  chunks: Uint8Array[] = [];
  length = 0;
  /** Bytes removed above (E2). */
  missed = 0;
  fin = false;
  abort = false;

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  drop(): number {
    const n = this.length;
    this.chunks = [];
    this.length = 0;
    this.missed += n;
    return n;
  }
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** One stream callout's place in a direction's waterfall. */
class Stage {
  /** Bytes presented and held: a remainder (E5), an accumulation (E7) or deferred data (E8). */
  held: Uint8Array[] = [];
  heldLength = 0;
  heldFin = false;
  /** NEED_MORE_DATA: present again once `heldLength` reaches this (0: not waiting). */
  required = 0;
  missed = 0;
  deferred = false;
  /** Cloned and blocked an indication (out-of-band mode, E18): may inject out of band. */
  outOfBand = false;
  /** Blocked an indication carrying the disconnect (a pended FIN): may inject out of band. */
  finHeld = false;
  /** A disconnect went down from this stage: nothing more may be injected here. */
  disconnected = false;
  /** Injected out of band (or into the other direction), waiting to go down. */
  outbox: Injected[] = [];

  constructor(readonly calloutId: number) {}

  /** Has something to present or emit without new data from above. */
  get ready(): boolean {
    return this.outbox.length > 0 || ((this.heldLength > 0 || this.heldFin) && this.required === 0 && !this.deferred);
  }

  hold(chunks: readonly Uint8Array[], fin: boolean): void {
    for (const c of chunks) {
      if (c.length === 0) continue;
      this.held.push(c);
      this.heldLength += c.length;
    }
    this.heldFin = this.heldFin || fin;
  }

  takeHeld(): { chunks: Uint8Array[]; length: number; fin: boolean } {
    const r = { chunks: this.held, length: this.heldLength, fin: this.heldFin };
    this.held = [];
    this.heldLength = 0;
    this.heldFin = false;
    return r;
  }
}

/** One classification of a direction in progress. */
interface Session {
  carry: Carry;
  readonly visited: Set<Stage>;
  /** Filters this classification dispatched (invoked or answered for). */
  readonly ours: Set<Filter>;
  /** A stream callout answered with a hard BLOCK (so a later hard BLOCK pre-load is not a static filter's). */
  calloutHardBlock: boolean;
  /** A static filter's hard BLOCK was seen above some callout. */
  staticBlock: boolean;
  staticDropped: Uint8Array[];
  staticDroppedLength: number;
  staticFilter: Filter | null;
  progressed: boolean;
  drop: boolean;
  readonly emitted: Injected[];
}

/** A callout invocation in progress. */
interface Invocation {
  readonly direction: StreamDirection;
  readonly stage: Stage;
  readonly session: Session;
  readonly io: StreamCalloutIoPacket;
  readonly input: Uint8Array;
  readonly fin: boolean;
  readonly abort: boolean;
  readonly limit: boolean;
  readonly next: Carry;
  readonly injected: Injected[];
  cloned: boolean;
}

/** One direction of a connection's stream: its stages and what waits to enter. */
export class StreamDirection {
  readonly stages = new Map<number, Stage>();
  readonly #top: TopItem[] = [];
  #pumping = false;
  /** Set by an injection that arrived while a classification was running. */
  needsPump = false;
  /** The disconnect left the stream layer (no more data passes). */
  finished = false;
  /** An abort went down: the stream is over. */
  aborted = false;
  #session: Session | undefined;
  readonly dispatch: CalloutDispatch;

  constructor(
    readonly flow: StreamFlow,
    readonly direction: PacketDirection,
  ) {
    this.dispatch = {
      before: (filter, calloutId, out) => this.#before(filter, calloutId, out),
      after: (filter, _calloutId, out) => this.#after(filter, out),
    };
  }

  get inbound(): boolean {
    return this.direction === "inbound";
  }

  /** FWPS_STREAM_FLAG_RECEIVE or _SEND. */
  get directionFlag(): number {
    return this.inbound ? SF.FWPS_STREAM_FLAG_RECEIVE : SF.FWPS_STREAM_FLAG_SEND;
  }

  get disconnectFlag(): number {
    return this.inbound ? SF.FWPS_STREAM_FLAG_RECEIVE_DISCONNECT : SF.FWPS_STREAM_FLAG_SEND_DISCONNECT;
  }

  get abortFlag(): number {
    return this.inbound ? SF.FWPS_STREAM_FLAG_RECEIVE_ABORT : SF.FWPS_STREAM_FLAG_SEND_ABORT;
  }

  /** A stage deferred the stream (E8): nothing new is taken from TCP. */
  get deferred(): boolean {
    for (const s of this.stages.values()) if (s.deferred) return true;
    return false;
  }

  /** Bytes held by the stream layer in this direction (not yet indicated, or held by stages). */
  get heldBytes(): number {
    let n = 0;
    for (const t of this.#top) n += t.bytes?.length ?? 0;
    for (const s of this.stages.values()) {
      n += s.heldLength;
      for (const o of s.outbox) n += o.bytes.length;
    }
    return n;
  }

  stage(calloutId: number): Stage {
    let s = this.stages.get(calloutId);
    if (s === undefined) {
      s = new Stage(calloutId);
      this.stages.set(calloutId, s);
    }
    return s;
  }

  /** New data (or a disconnect, or an abort) from the TCP layer. */
  enqueue(item: TopItem): void {
    if (this.aborted || this.flow.closed) return;
    if (item.abort) {
      // An abort overtakes what waits: nothing after it will be delivered.
      this.#top.length = 0;
    }
    this.#top.push(item);
    if (item.bytes !== null) this.flow.service.counters.bytesIndicated += item.bytes.length;
    this.pump();
  }

  /** Runs classifications while there is work; never re-entrantly for one direction. */
  pump(): void {
    if (this.#pumping) {
      this.needsPump = true;
      return;
    }
    this.#pumping = true;
    try {
      for (;;) {
        this.needsPump = false;
        if (this.flow.closed || this.aborted) break;
        const head = this.#top[0];
        const abortNow = head?.abort === true;
        let ready = false;
        for (const s of this.stages.values()) if (s.ready) ready = true;
        let top: TopItem | null = null;
        if (abortNow || !ready) {
          if (head === undefined || (this.deferred && !abortNow)) break;
          top = this.#top.shift() as TopItem;
          if (this.inbound && top.bytes !== null && top.bytes.length > 0) this.flow.endpoint.consume(top.bytes.length);
        }
        const progressed = this.#classify(top);
        if (!progressed && top === null) {
          this.#releaseOrphans();
          if (!this.needsPump) break;
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** One STREAM classification with `top` entering at the top of the waterfall (null: nothing new). */
  #classify(top: TopItem | null): boolean {
    const flow = this.flow;
    const service = flow.service;
    const shim = service.shim;
    const carry = new Carry();
    if (top?.bytes != null) carry.push(top.bytes);
    carry.fin = top?.fin === true;
    carry.abort = top?.abort === true;
    const session: Session = {
      carry,
      visited: new Set(),
      ours: new Set(),
      calloutHardBlock: false,
      staticBlock: false,
      staticDropped: [],
      staticDroppedLength: 0,
      staticFilter: null,
      progressed: top !== null,
      drop: false,
      emitted: [],
    };
    const layer = flow.layer;
    const topData = concat(carry.chunks, carry.length);
    const flags = this.directionFlag | (carry.fin ? this.disconnectFlag : 0) | (carry.abort ? this.abortFlag : 0);
    const io: StreamCalloutIoPacket = {
      kind: "stream",
      streamData: { flags, data: topData, dataLength: topData.length },
      missedBytes: 0,
      countBytesRequired: 0,
      countBytesEnforced: 0,
      streamAction: SA.FWPS_STREAM_ACTION_NONE,
    };
    const label: PacketLabel = carry.abort ? "RST" : carry.fin && carry.length === 0 ? "FIN" : "data";
    const facts = flow.endpoint.facts(this.direction);
    const side = flow.endpoint.side;
    const outer = this.#session;
    this.#session = session;
    service.counters.classifications++;
    let verdict: ShimVerdict;
    const depth = service.invocationDepth;
    try {
      verdict = shim.classify(layer, {
        facts,
        packet: label,
        layerData: io,
        metadata: { flowHandle: flow.flowId, compartmentId: 1 },
        flow: flow.endpoint.flow,
        ...(side !== undefined ? { side } : {}),
        calloutDispatch: this.dispatch,
      });
    } finally {
      this.#session = outer;
      service.invocationDepth = depth;
    }
    // A BLOCK that decided after the last stream callout (no stage saw a static block): what reached the
    // bottom is removed.
    const result = verdict.result;
    const decider = result.decidingFilter;
    if (
      result.action === "FWP_ACTION_BLOCK" &&
      !session.staticBlock &&
      (decider === null || !session.ours.has(decider))
    ) {
      this.#staticDrop(session, session.carry, decider);
    }
    if (session.staticBlock && session.staticFilter === null && decider !== null && !session.ours.has(decider))
      session.staticFilter = decider;
    if (session.staticBlock && (session.staticDroppedLength > 0 || session.ours.size === 0))
      this.#indicateDiscard(session, facts, side, session.ours.size === 0 ? io : null);
    for (const e of session.emitted) this.#complete(e, "STATUS_SUCCESS");
    const out = session.carry;
    if (out.abort || session.drop) {
      this.#abortStages();
    }
    if (session.drop) {
      service.counters.drops++;
      flow.drop();
      return true;
    }
    if (!out.abort) this.#releaseToBottom(out, session);
    if (out.abort) this.aborted = true;
    for (const d of flow.directions) if (d !== this && d.needsPump) d.pump();
    return session.progressed;
  }

  #staticDrop(session: Session, carry: Carry, filter: Filter | null): void {
    if (carry.length > 0) {
      session.staticDropped.push(...carry.chunks);
      session.staticDroppedLength += carry.length;
      this.flow.service.counters.bytesDiscarded += carry.length;
      carry.drop();
    }
    session.staticBlock = true;
    session.staticFilter = filter;
  }

  /** STREAM_DISCARD for what static filters removed (`whole`: the indication, when no stream callout ran). */
  #indicateDiscard(
    session: Session,
    facts: ClassifyFacts,
    side: string | undefined,
    whole: StreamCalloutIoPacket | null,
  ): void {
    const data = concat(session.staticDropped, session.staticDroppedLength);
    const io: StreamCalloutIoPacket = whole ?? {
      kind: "stream",
      streamData: { flags: this.directionFlag, data, dataLength: data.length },
      missedBytes: 0,
      countBytesRequired: 0,
      countBytesEnforced: 0,
      streamAction: SA.FWPS_STREAM_ACTION_NONE,
    };
    this.flow.service.shim.discard(
      "STREAM",
      {
        facts,
        packet: "data",
        layerData: io,
        metadata: { flowHandle: this.flow.flowId, compartmentId: 1 },
        flow: this.flow.endpoint.flow,
        ...(side !== undefined ? { side } : {}),
      },
      {
        discardModule: FWPS_DISCARD_MODULE.FWPS_DISCARD_MODULE_GENERAL,
        discardReason: FWPS_GENERAL_DISCARD_REASON.FWPS_DISCARD_FIREWALL_POLICY,
        filterId: session.staticFilter?.filterId ?? 0n,
      },
    );
  }

  /** What came out of the bottom of the waterfall: to the application or to TCP. */
  #releaseToBottom(out: Carry, session: Session): void {
    const endpoint = this.flow.endpoint;
    if (this.finished) return;
    let fin = out.fin;
    if (fin) {
      // Stages the engine did not reach (their filter went away, E13) give up what they hold first.
      for (const s of this.stages.values()) {
        if (session.visited.has(s)) continue;
        this.#drainStage(s, out);
      }
    }
    if (out.length > 0) {
      const bytes = concat(out.chunks, out.length);
      this.flow.service.counters.bytesPassed += bytes.length;
      if (this.inbound) endpoint.deliver(bytes);
      else endpoint.transmit(bytes);
    }
    if (this.flow.closed) fin = false;
    if (fin) {
      this.finished = true;
      if (this.inbound) endpoint.deliverFin();
      else endpoint.transmitFin();
    }
  }

  /** Moves a stage's held bytes and outbox into `out` (the stage's filter is gone). */
  #drainStage(s: Stage, out: Carry): void {
    for (const o of s.outbox) {
      out.push(o.bytes);
      if (o.fin) out.fin = true;
      this.#complete(o, "STATUS_SUCCESS");
    }
    s.outbox = [];
    const h = s.takeHeld();
    for (const c of h.chunks) out.push(c);
    if (h.fin) out.fin = true;
    s.required = 0;
    s.deferred = false;
  }

  /** Ready stages the engine no longer reaches: their data goes on, to the bottom. */
  #releaseOrphans(): void {
    const out = new Carry();
    for (const s of this.stages.values()) if (s.ready) this.#drainStage(s, out);
    if (out.length > 0 || out.fin) {
      const session: Session = {
        carry: out,
        visited: new Set(),
        ours: new Set(),
        calloutHardBlock: false,
        staticBlock: false,
        staticDropped: [],
        staticDroppedLength: 0,
        staticFilter: null,
        progressed: true,
        drop: false,
        emitted: [],
      };
      this.#releaseToBottom(out, session);
    }
  }

  /** The stream is over (abort, drop, close): what stages hold is gone; injections complete as failed. */
  #abortStages(): void {
    for (const s of this.stages.values()) {
      for (const o of s.outbox) this.#complete(o, "STATUS_UNSUCCESSFUL");
      s.outbox = [];
      s.takeHeld();
      s.required = 0;
      s.deferred = false;
    }
  }

  /** The flow closed: everything held is dropped. */
  close(): void {
    this.#abortStages();
    this.#top.length = 0;
  }

  #complete(e: Injected, status: NtStatus): void {
    const nbl = e.nbl;
    const service = this.flow.service;
    service.later(() => {
      e.handle.outstanding--;
      if (nbl === null) return;
      nbl.status = status;
      e.completionFn(e.completionContext, nbl, false);
    });
  }

  /** The session of the classification running in this direction (for injections from classifyFn). */
  get session(): Session | undefined {
    return this.#session;
  }

  // ---------------------------------------------------------------------------------------------
  // The engine's callout dispatch
  // ---------------------------------------------------------------------------------------------

  #before(filter: Filter, calloutId: number, out: ClassifyOut): unknown {
    const session = this.#session;
    if (session === undefined) return CALLOUT_NOT_INVOKED;
    const service = this.flow.service;
    const stage = this.stage(calloutId);
    session.ours.add(filter);
    if (session.visited.has(stage)) {
      // A second filter of the same callout: the stage already had its turn.
      out.actionType = "FWP_ACTION_CONTINUE";
      return CALLOUT_NOT_INVOKED;
    }
    session.visited.add(stage);
    const carry = session.carry;
    // A hard BLOCK no stream callout produced: a static filter above blocked what comes down (E11).
    if (
      out.actionType === "FWP_ACTION_BLOCK" &&
      (out.rights & RIGHT_ACTION_WRITE) === 0 &&
      !session.calloutHardBlock &&
      !session.staticBlock
    ) {
      this.#staticDrop(session, carry, null);
    }
    const next = new Carry();
    next.missed = carry.missed;
    next.abort = carry.abort;
    // Injected out of band: goes down first, one injection per classification (E12); the callout never
    // sees it.
    const o = stage.outbox.shift();
    if (o !== undefined) {
      next.push(o.bytes);
      if (o.fin) {
        next.fin = true;
        stage.disconnected = true;
      }
      session.emitted.push(o);
      session.progressed = true;
    }
    const emittedSomething = next.length > 0 || next.fin;
    if (this.flow.allowed.has(calloutId) && !carry.abort) {
      // ALLOW_CONNECTION (E10): not called again; everything passes.
      const h = stage.takeHeld();
      for (const c of h.chunks) next.push(c);
      for (const c of carry.chunks) next.push(c);
      next.fin = next.fin || carry.fin || h.fin;
      stage.required = 0;
      if (h.length > 0 || h.fin) session.progressed = true;
      session.carry = next;
      out.actionType = "FWP_ACTION_PERMIT";
      return CALLOUT_NOT_INVOKED;
    }
    stage.missed += carry.missed;
    const fin = carry.fin || stage.heldFin;
    const abort = carry.abort;
    if (abort) {
      // RECEIVE_ABORT / SEND_ABORT: what the stage holds is gone; it is told, with no data.
      stage.takeHeld();
      stage.required = 0;
      stage.deferred = false;
    }
    const held = abort ? { chunks: [], length: 0, fin: false } : stage.takeHeld();
    const chunks = [...held.chunks, ...carry.chunks];
    const length = held.length + carry.length;
    const presentNothing = length === 0 && !fin && !abort;
    const waiting = stage.required > 0 && length < stage.required && !fin && !abort && length < service.maxAccumulation;
    if (presentNothing || waiting || (stage.deferred && !abort)) {
      stage.hold(chunks, fin);
      session.carry = next;
      out.actionType = emittedSomething ? "FWP_ACTION_PERMIT" : "FWP_ACTION_CONTINUE";
      return CALLOUT_NOT_INVOKED;
    }
    stage.required = 0;
    const input = concat(chunks, length);
    const limit = length >= service.maxAccumulation;
    const flags = this.directionFlag | (fin ? this.disconnectFlag : 0) | (abort ? this.abortFlag : 0);
    const io: StreamCalloutIoPacket = {
      kind: "stream",
      streamData: { flags, data: input, dataLength: length },
      missedBytes: stage.missed,
      countBytesRequired: 0,
      countBytesEnforced: 0,
      streamAction: SA.FWPS_STREAM_ACTION_NONE,
    };
    stage.missed = 0;
    if (fin || abort) out.flags |= NO_MORE_DATA;
    if (limit) out.flags |= BUFFER_LIMIT_REACHED;
    session.progressed = true;
    service.pushInvocation({
      direction: this,
      stage,
      session,
      io,
      input,
      fin,
      abort,
      limit,
      next,
      injected: [],
      cloned: false,
    });
    return io;
  }

  #after(filter: Filter, out: ClassifyOut): void {
    const service = this.flow.service;
    const inv = service.popInvocation();
    if (inv === undefined || inv.direction !== this) return;
    const { stage, session, io, input, fin, abort, next } = inv;
    const inspection = filter.action.type === "FWP_ACTION_CALLOUT_INSPECTION";
    for (const e of inv.injected) {
      next.push(e.bytes);
      if (e.fin) {
        next.fin = true;
        stage.disconnected = true;
      }
      session.emitted.push(e);
    }
    session.carry = next;
    if (abort) {
      // Nothing can be decided about an aborted stream: the abort goes on down.
      return;
    }
    let action = io.streamAction;
    const refuse = (reason: string): void => {
      service.refuse({
        flowId: this.flow.flowId,
        calloutId: stage.calloutId,
        direction: this.direction,
        streamAction: action,
        reason,
      });
      action = SA.FWPS_STREAM_ACTION_NONE;
    };
    if (action === SA.FWPS_STREAM_ACTION_NEED_MORE_DATA && (fin || inv.limit)) {
      refuse(
        fin
          ? "NEED_MORE_DATA with FWPS_CLASSIFY_OUT_FLAG_NO_MORE_DATA set"
          : "NEED_MORE_DATA with FWPS_CLASSIFY_OUT_FLAG_BUFFER_LIMIT_REACHED set",
      );
    } else if (action === SA.FWPS_STREAM_ACTION_DEFER && !this.inbound) {
      refuse("DEFER on an outbound stream");
    } else if (action === SA.FWPS_STREAM_ACTION_DEFER && fin) {
      refuse("DEFER of a disconnect");
    } else if (action === SA.FWPS_STREAM_ACTION_DROP_CONNECTION && inspection) {
      action = SA.FWPS_STREAM_ACTION_NONE; // E9: ignored for CALLOUT_INSPECTION filters
    } else if (
      action < SA.FWPS_STREAM_ACTION_NONE ||
      action >= SA.FWPS_STREAM_ACTION_TYPE_MAX ||
      !Number.isInteger(action)
    ) {
      refuse(`unknown streamAction ${action}`);
    }
    const len = input.length;
    switch (action) {
      case SA.FWPS_STREAM_ACTION_NEED_MORE_DATA: {
        stage.hold([input], false);
        stage.required = Math.max(io.countBytesRequired, len + 1);
        return;
      }
      case SA.FWPS_STREAM_ACTION_DEFER: {
        stage.hold([input], false);
        stage.deferred = true;
        service.counters.deferrals++;
        return;
      }
      case SA.FWPS_STREAM_ACTION_DROP_CONNECTION: {
        session.drop = true;
        return;
      }
      case SA.FWPS_STREAM_ACTION_ALLOW_CONNECTION: {
        this.flow.allowed.add(stage.calloutId);
        next.push(input);
        if (fin) next.fin = true;
        return;
      }
      default:
        break;
    }
    const returned = out.actionType;
    const decides = !inspection && (returned === "FWP_ACTION_PERMIT" || returned === "FWP_ACTION_BLOCK");
    const requested = io.countBytesEnforced;
    const enforced = !decides || requested <= 0 || requested >= len ? len : Math.floor(requested);
    const block = decides && returned === "FWP_ACTION_BLOCK";
    if (block) {
      next.missed += enforced;
      service.counters.bytesBlocked += enforced;
      if ((out.rights & RIGHT_ACTION_WRITE) === 0) session.calloutHardBlock = true;
      if (enforced === len) {
        if (inv.cloned) stage.outOfBand = true;
        if (fin) stage.finHeld = true;
      }
    } else {
      next.push(enforced === len ? input : input.subarray(0, enforced));
    }
    if (enforced < len) {
      // E5: the rest is indicated again, in the next classification.
      stage.hold([input.subarray(enforced)], fin);
    } else if (fin && !block) {
      next.fin = true;
      stage.disconnected = true;
    }
  }
}

/** The stream layer's state of one connection: both directions, keyed by its FLOW_HANDLE. */
export class StreamFlow {
  readonly inbound: StreamDirection;
  readonly outbound: StreamDirection;
  /** Callouts that answered ALLOW_CONNECTION (E10). */
  readonly allowed = new Set<number>();
  closed = false;
  readonly layer: Layer;

  constructor(
    readonly service: StreamService,
    readonly endpoint: StreamEndpoint,
    ipVersion: 4 | 6,
  ) {
    this.inbound = new StreamDirection(this, "inbound");
    this.outbound = new StreamDirection(this, "outbound");
    this.layer = getLayer(ipVersion === 4 ? "FWPS_LAYER_STREAM_V4" : "FWPS_LAYER_STREAM_V6");
  }

  get flowId(): bigint {
    return this.endpoint.flow.flowHandle;
  }

  get directions(): readonly StreamDirection[] {
    return [this.inbound, this.outbound];
  }

  direction(d: PacketDirection): StreamDirection {
    return d === "inbound" ? this.inbound : this.outbound;
  }

  /** In-order bytes TCP delivered (STREAM inbound, FWPS_STREAM_FLAG_RECEIVE). */
  receive(bytes: Uint8Array): void {
    this.inbound.enqueue({ bytes, fin: false, abort: false });
  }

  /** The peer's FIN, after every byte (RECEIVE_DISCONNECT). */
  receiveFin(): void {
    this.inbound.enqueue({ bytes: null, fin: true, abort: false });
  }

  /** An acceptable RST (RECEIVE_ABORT): what the stream layer holds is dropped. */
  receiveAbort(): void {
    this.inbound.enqueue({ bytes: null, fin: false, abort: true });
  }

  /**
   * The application's send (STREAM outbound, FWPS_STREAM_FLAG_SEND). Returns the bytes the stream layer
   * took: all of them while the outbound stream is open, else 0.
   */
  send(bytes: Uint8Array): number {
    const out = this.outbound;
    if (this.closed || out.aborted || out.finished) return 0;
    out.enqueue({ bytes: bytes.slice(), fin: false, abort: false });
    return bytes.length;
  }

  /** The application shut the send side down (SEND_DISCONNECT after the data). */
  sendFin(): void {
    this.outbound.enqueue({ bytes: null, fin: true, abort: false });
  }

  /** The application aborted (SEND_ABORT). */
  sendAbort(): void {
    this.outbound.enqueue({ bytes: null, fin: false, abort: true });
  }

  /** DROP_CONNECTION: closes the flow's stream and asks the TCP layer to abort. */
  drop(): void {
    if (this.closed) return;
    this.close();
    this.endpoint.dropConnection();
  }

  /** The connection is gone: later injections into it fail; held data is dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inbound.close();
    this.outbound.close();
    this.service.forget(this);
  }
}

/** Where a call of streamInjectAsync / streamContinue lands. */
interface StreamTarget {
  readonly flow: StreamFlow;
  readonly direction: StreamDirection;
}

/** The stream layer of one host: every connection's stream classifier, and the stream Fwps functions. */
export class StreamService {
  readonly counters: StreamCounters = {
    classifications: 0,
    bytesIndicated: 0,
    bytesPassed: 0,
    bytesBlocked: 0,
    bytesDiscarded: 0,
    bytesInjected: 0,
    injectionsRefused: 0,
    deferrals: 0,
    drops: 0,
  };
  /** E7's accumulation limit (default 8 MiB). */
  maxAccumulation = STREAM_MAX_ACCUMULATION;
  /** The most recent refused stream actions (at most 64). */
  readonly refusals: StreamRefusal[] = [];
  readonly #flows = new Map<bigint, StreamFlow>();
  readonly #invocations: Invocation[] = [];

  constructor(readonly shim: Shim) {}

  /** The stream classifier of a new connection (its ALE flow in `endpoint.flow`). */
  open(endpoint: StreamEndpoint, ipVersion: 4 | 6): StreamFlow {
    const f = new StreamFlow(this, endpoint, ipVersion);
    this.#flows.set(f.flowId, f);
    return f;
  }

  /** The stream classifier of a live connection, by FLOW_HANDLE. */
  flow(flowId: bigint): StreamFlow | undefined {
    return this.#flows.get(flowId);
  }

  /** @internal */
  forget(f: StreamFlow): void {
    if (this.#flows.get(f.flowId) === f) this.#flows.delete(f.flowId);
  }

  /** @internal Runs `fn` after the current event (StackHooks.defer), or at once without a stack. */
  later(fn: () => void): void {
    const stack = this.shim.stack;
    if (stack !== undefined) stack.defer(fn);
    else fn();
  }

  /** @internal */
  refuse(r: StreamRefusal): void {
    this.refusals.push(r);
    if (this.refusals.length > 64) this.refusals.shift();
  }

  /** @internal Invocations in progress (a classification restores it, should a callout throw). */
  get invocationDepth(): number {
    return this.#invocations.length;
  }

  set invocationDepth(n: number) {
    this.#invocations.length = Math.min(n, this.#invocations.length);
  }

  /** @internal */
  pushInvocation(inv: Invocation): void {
    this.#invocations.push(inv);
  }

  /** @internal */
  popInvocation(): Invocation | undefined {
    return this.#invocations.pop();
  }

  /** The stream callout invocation running now (innermost), if any. */
  get #current(): Invocation | undefined {
    return this.#invocations[this.#invocations.length - 1];
  }

  #target(flowId: bigint, layerId: number, recv: boolean): StreamTarget | NtStatus {
    const layer = typeof layerId === "number" ? getLayerOrNull(layerId) : null;
    if (layer === null || (layer.fwpsName !== "FWPS_LAYER_STREAM_V4" && layer.fwpsName !== "FWPS_LAYER_STREAM_V6"))
      return "STATUS_FWP_INCOMPATIBLE_LAYER";
    const flow = typeof flowId === "bigint" ? this.#flows.get(flowId) : undefined;
    if (flow === undefined || flow.closed || flow.layer !== layer) return "STATUS_INVALID_PARAMETER";
    return { flow, direction: recv ? flow.inbound : flow.outbound };
  }

  /** FwpsStreamInjectAsync0 (E12). See the module comment for the statuses. */
  inject(
    injectionHandle: InjectionHandle | null,
    _injectionContext: unknown,
    flags: number,
    flowId: bigint,
    calloutId: number,
    layerId: number,
    streamFlags: number,
    netBufferList: NetBufferList | null,
    dataLength: number,
    completionFn: InjectCompleteFn | null,
    completionContext: unknown,
  ): NtStatus {
    const status = this.#checkInject(
      injectionHandle,
      flags,
      flowId,
      layerId,
      streamFlags,
      netBufferList,
      dataLength,
      completionFn,
    );
    if (typeof status === "string") {
      this.counters.injectionsRefused++;
      return status;
    }
    const { direction, fin } = status;
    const stage = direction.stage(calloutId);
    if (direction.aborted || stage.disconnected || direction.finished) {
      this.counters.injectionsRefused++;
      return "STATUS_INVALID_DEVICE_STATE";
    }
    const current = this.#current;
    const inline = current !== undefined && current.direction.flow === direction.flow;
    if (inline && current.abort && current.direction === direction) {
      // Nothing may be injected into an aborted stream (E3).
      this.counters.injectionsRefused++;
      return "STATUS_INVALID_DEVICE_STATE";
    }
    if (!inline && !(stage.deferred || direction.deferred || stage.outOfBand || stage.finHeld)) {
      this.counters.injectionsRefused++;
      return "STATUS_INVALID_DEVICE_STATE";
    }
    const nbl = netBufferList;
    const bytes = nbl === null ? new Uint8Array(0) : nbl.bytes.slice(nbl.dataOffset, nbl.dataOffset + dataLength);
    const handle = injectionHandle as InjectionHandle;
    handle.outstanding++;
    this.counters.bytesInjected += bytes.length;
    const entry: Injected = {
      bytes,
      fin,
      nbl,
      handle,
      completionFn: completionFn as InjectCompleteFn,
      completionContext,
    };
    if (fin) stage.disconnected = true;
    if (current !== undefined && current.direction === direction && current.stage === stage) {
      current.injected.push(entry);
      return "STATUS_SUCCESS";
    }
    stage.outbox.push(entry);
    // From a classifyFn of this flow: carried down when that classification ends; else after this event.
    if (inline) direction.needsPump = true;
    else this.later(() => direction.pump());
    return "STATUS_SUCCESS";
  }

  #checkInject(
    handle: InjectionHandle | null,
    flags: number,
    flowId: bigint,
    layerId: number,
    streamFlags: number,
    nbl: NetBufferList | null,
    dataLength: number,
    completionFn: InjectCompleteFn | null,
  ): { direction: StreamDirection; fin: boolean } | NtStatus {
    if (!(handle instanceof InjectionHandle)) return "STATUS_INVALID_PARAMETER";
    if (handle.destroyed) return "STATUS_FWP_INJECT_HANDLE_CLOSING";
    if (handle.flags !== 0 && (handle.flags & FWPS_INJECTION_TYPE.FWPS_INJECTION_TYPE_STREAM) === 0)
      return "STATUS_FWP_INJECT_HANDLE_STALE";
    if (flags !== 0) return "STATUS_INVALID_PARAMETER";
    const layer = getLayerOrNull(layerId);
    if (layer === null || (layer.fwpsName !== "FWPS_LAYER_STREAM_V4" && layer.fwpsName !== "FWPS_LAYER_STREAM_V6"))
      return "STATUS_FWP_INCOMPATIBLE_LAYER";
    if (typeof completionFn !== "function") return "STATUS_FWP_NULL_POINTER";
    if (!Number.isInteger(streamFlags)) return "STATUS_FWP_INVALID_PARAMETER";
    const recv = (streamFlags & SF.FWPS_STREAM_FLAG_RECEIVE) !== 0;
    const send = (streamFlags & SF.FWPS_STREAM_FLAG_SEND) !== 0;
    if (recv === send) return "STATUS_FWP_INVALID_PARAMETER"; // a direction flag, exactly one
    if ((streamFlags & ~(recv ? RECEIVE_FLAGS : SEND_FLAGS)) !== 0) return "STATUS_FWP_INVALID_PARAMETER";
    const fin =
      (streamFlags & (recv ? SF.FWPS_STREAM_FLAG_RECEIVE_DISCONNECT : SF.FWPS_STREAM_FLAG_SEND_DISCONNECT)) !== 0;
    if (nbl === null) {
      if (!fin) return "STATUS_FWP_NULL_POINTER";
    } else {
      if (!this.shim.fwps.packetInjection.owns(nbl)) return "STATUS_INVALID_PARAMETER";
      const room = nbl.end - nbl.dataOffset;
      if (!Number.isInteger(dataLength) || dataLength <= 0 || dataLength > room) return "STATUS_INVALID_PARAMETER";
    }
    const target = this.#target(flowId, layerId, recv);
    if (typeof target === "string") return target;
    return { direction: target.direction, fin };
  }

  /** FwpsStreamContinue0 (E8): resumes an inbound stream `calloutId` deferred, after the current event. */
  continue(flowId: bigint, calloutId: number, layerId: number, streamFlags: number): NtStatus {
    if (this.#invocations.length > 0) return "STATUS_INVALID_DEVICE_STATE"; // not from classifyFn
    if (
      !Number.isInteger(streamFlags) ||
      (streamFlags & SF.FWPS_STREAM_FLAG_RECEIVE) === 0 ||
      (streamFlags & SF.FWPS_STREAM_FLAG_SEND) !== 0
    )
      return "STATUS_FWP_INVALID_PARAMETER";
    const target = this.#target(flowId, layerId, true);
    if (typeof target === "string") return target;
    const stage = target.direction.stages.get(calloutId);
    if (stage === undefined || !stage.deferred) return "STATUS_INVALID_DEVICE_STATE";
    stage.deferred = false;
    const direction = target.direction;
    this.later(() => direction.pump());
    return "STATUS_SUCCESS";
  }

  /**
   * FwpsCloneStreamData0 (E18): a copy of the indicated stream data as an NBL the callout owns (free it with
   * discardClonedStreamData, or inject it). Cloning the data of the indication being classified marks its
   * callout's stage out of band once it blocks that indication.
   */
  cloneStreamData(streamData: StreamData | null, allocateCloneFlags: number): CloneStreamDataResult {
    if (streamData === null || !(streamData?.data instanceof Uint8Array))
      return { status: "STATUS_FWP_NULL_POINTER", netBufferListChain: null };
    if (allocateCloneFlags !== 0) return { status: "STATUS_INVALID_PARAMETER", netBufferListChain: null };
    const n = Math.max(0, Math.min(streamData.dataLength, streamData.data.length));
    const copy = streamData.data.slice(0, n);
    const r = this.shim.fwps.packetInjection.allocate(copy, 0, n, "transport");
    const current = this.#current;
    if (r.netBufferList !== null && current !== undefined && current.io.streamData === streamData)
      current.cloned = true;
    return { status: r.status, netBufferListChain: r.netBufferList };
  }

  /** FwpsCopyStreamDataToBuffer0: copies up to `bytesToCopy` leading bytes into `buffer`; returns how many. */
  copyStreamDataToBuffer(streamData: StreamData, buffer: Uint8Array, bytesToCopy: number): number {
    const n = Math.max(0, Math.min(bytesToCopy, streamData.dataLength, streamData.data.length, buffer.length));
    buffer.set(streamData.data.subarray(0, n), 0);
    return n;
  }
}

function getLayerOrNull(layerId: number): Layer | null {
  if (!Number.isInteger(layerId)) return null;
  try {
    return getLayer(layerId);
  } catch {
    return null;
  }
}
