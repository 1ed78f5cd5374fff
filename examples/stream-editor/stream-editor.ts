/**
 * The stream editor: the WDK "stmedit" sample (Windows-driver-samples network/trans/stmedit) in
 * TypeScript. A stream callout at FWPM_LAYER_STREAM_V4/V6 that replaces every occurrence of a byte
 * pattern in TCP streams, in one of three ways (wfp-semantics.md E16–E18):
 *
 * - `"inline"` (E16, E17 with NEED_MORE_DATA): from classifyFn. Bytes before a match are permitted with
 *   `countBytesEnforced`; a match at the start of an indication is blocked and the replacement injected in
 *   its place (FwpsStreamInjectAsync0 from classifyFn); a tail that could be the start of the pattern is
 *   permitted up to it, and then asked for with FWPS_STREAM_ACTION_NEED_MORE_DATA, so WFP presents it
 *   again together with the next data.
 * - `"scratch"` (E17, the scratch-buffer technique): the same, but a partial match at the end is blocked
 *   and kept in the editor's own buffer; the next indication completes it (the replacement is injected and
 *   the rest of the pattern blocked) or shows it was not the pattern (the kept bytes are injected back
 *   unchanged). The disconnect flushes it.
 * - `"out-of-band"` (E18, stmedit's OobEdit.c): every indication is cloned (FwpsCloneStreamData0) and
 *   blocked; a worker edits the queued data later and injects it in order, then the FIN it also pended. An
 *   inbound stream whose queue grows past `busyThreshold` is deferred (FWPS_STREAM_ACTION_DEFER, the TCP
 *   window closes) and resumed with FwpsStreamContinue0 once the queue is down to a quarter of it; a FIN
 *   is never deferred.
 *
 * The pattern may be split across TCP segments and the replacement may be longer or shorter than it;
 * the edit is above TCP, so both ends' sequence numbers stay consistent by construction. stmedit keeps one
 * global editor; this one keeps its state per flow and direction (keyed by FLOW_HANDLE), as its comments
 * advise a production driver to do.
 *
 * @example
 * ```ts
 * const editor = new StreamEditor(clientHost.shim, { find: "fox", replace: "cat", direction: "outbound" });
 * socket.send(new TextEncoder().encode("the quick brown fox")); // the server reads "the quick brown cat"
 * ```
 */
import type {
  CalloutClassifyFn,
  ClassifyOut,
  Filter,
  FilterConditionSpec,
  InFixedValues,
} from "../../src/engine/index.ts";
import { FWPS_CLASSIFY_OUT_FLAG } from "../../src/fwp/index.ts";
import {
  FWPS_INJECTION_TYPE,
  FWPS_STREAM_ACTION_TYPE,
  FWPS_STREAM_FLAG,
  type InjectionHandle,
  type NetBufferList,
  type NtStatus,
  type Shim,
  type StreamCalloutIoPacket,
} from "../../src/shim/index.ts";

const SF = FWPS_STREAM_FLAG;
const SA = FWPS_STREAM_ACTION_TYPE;
const NO_MORE_DATA = FWPS_CLASSIFY_OUT_FLAG.FWPS_CLASSIFY_OUT_FLAG_NO_MORE_DATA;
const BUFFER_LIMIT_REACHED = FWPS_CLASSIFY_OUT_FLAG.FWPS_CLASSIFY_OUT_FLAG_BUFFER_LIMIT_REACHED;
const DISCONNECT = SF.FWPS_STREAM_FLAG_RECEIVE_DISCONNECT | SF.FWPS_STREAM_FLAG_SEND_DISCONNECT;
const EXPEDITED = SF.FWPS_STREAM_FLAG_RECEIVE_EXPEDITED | SF.FWPS_STREAM_FLAG_SEND_EXPEDITED;

export type StreamEditMode = "inline" | "scratch" | "out-of-band";

export interface StreamEditorOptions {
  readonly find: string | Uint8Array;
  readonly replace: string | Uint8Array;
  /** Which streams to edit (stmedit: configInspectionOutbound). Default "outbound". */
  readonly direction?: "inbound" | "outbound" | "both";
  /** Default "inline". */
  readonly mode?: StreamEditMode;
  /** Extra filter conditions (e.g. a port); the filter matches every TCP stream without them. */
  readonly conditions?: readonly FilterConditionSpec[];
  /** IPv4 (default), IPv6 or both: one filter per layer. */
  readonly ipVersions?: readonly (4 | 6)[];
  /** Out of band: runs the worker later (stmedit's worker thread). Default: after the current event. */
  readonly schedule?: (work: () => void) => void;
  /** Out of band: at most this many queued bytes are edited per worker run. Default: all of them. */
  readonly workerBudget?: number;
  /** Out of band, inbound: defer the stream when more than this waits for the worker. Default 32 KiB. */
  readonly busyThreshold?: number;
  /** A GUID for the callout (default: a fixed one; give another to register two editors on one host). */
  readonly calloutKey?: string;
  /** The sublayer weight of the editor's filters (default 0x8000). */
  readonly sublayerWeight?: number;
}

/** What the editor did, for tests and curious users. */
export interface StreamEditorStats {
  indications: number;
  replacements: number;
  injections: number;
  injectionFailures: number;
  /** Inline mode: a tail that may begin the pattern was asked for again (NEED_MORE_DATA). */
  needMoreData: number;
  /** Scratch mode: a tail that may begin the pattern was blocked and kept. */
  scratchHolds: number;
  deferrals: number;
  continues: number;
  /** NTSTATUS of the last failed call, if any. */
  lastFailure: NtStatus | undefined;
}

const enc = new TextEncoder();
const asBytes = (v: string | Uint8Array): Uint8Array => (typeof v === "string" ? enc.encode(v) : v);

/** Index of `pattern` in `data` from `from`, or -1. */
export function indexOf(data: Uint8Array, pattern: Uint8Array, from = 0): number {
  const last = data.length - pattern.length;
  outer: for (let i = from; i <= last; i++) {
    for (let k = 0; k < pattern.length; k++) if (data[i + k] !== pattern[k]) continue outer;
    return i;
  }
  return -1;
}

/** Where the longest tail of `data` that is a proper prefix of `pattern` starts, or -1. */
export function partialTail(data: Uint8Array, pattern: Uint8Array): number {
  const first = Math.max(0, data.length - pattern.length + 1);
  outer: for (let i = first; i < data.length; i++) {
    for (let k = 0; i + k < data.length; k++) if (data[i + k] !== pattern[k]) continue outer;
    return i;
  }
  return -1;
}

/**
 * A find-and-replace over a stream given in pieces (the out-of-band worker's editor): `feed` returns the
 * edited bytes it can already decide, holding back a tail that may be the start of the pattern; `flush`
 * gives that tail back at the end of the stream.
 */
export class StreamReplacer {
  #tail = new Uint8Array(0);
  replacements = 0;

  constructor(
    readonly find: Uint8Array,
    readonly replace: Uint8Array,
  ) {
    if (find.length === 0) throw new RangeError("stream editor: empty pattern");
  }

  feed(bytes: Uint8Array): Uint8Array {
    const data = new Uint8Array(this.#tail.length + bytes.length);
    data.set(this.#tail, 0);
    data.set(bytes, this.#tail.length);
    const out: Uint8Array[] = [];
    let at = 0;
    for (;;) {
      const i = indexOf(data, this.find, at);
      if (i < 0) break;
      out.push(data.subarray(at, i), this.replace);
      this.replacements++;
      at = i + this.find.length;
    }
    const rest = data.subarray(at);
    const j = partialTail(rest, this.find);
    const keep = j < 0 ? rest.length : j;
    out.push(rest.subarray(0, keep));
    this.#tail = rest.slice(keep);
    return join(out);
  }

  flush(): Uint8Array {
    const t = this.#tail;
    this.#tail = new Uint8Array(0);
    return t;
  }
}

function join(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One stream direction of one flow, as the editor tracks it. */
interface EditState {
  /** Scratch mode: blocked bytes that are a proper prefix of the pattern. */
  scratch: Uint8Array;
  /** Out of band: indications cloned and waiting for the worker (a null entry is the FIN). */
  readonly queue: (Uint8Array | null)[];
  queuedBytes: number;
  readonly replacer: StreamReplacer;
  deferred: boolean;
  workerScheduled: boolean;
  flowId: bigint;
  layerId: number;
  /** The direction flag (RECEIVE or SEND) injections carry. */
  directionFlag: number;
  done: boolean;
}

const DEFAULT_KEY = "5731ed17-0000-4000-8000-00000000ed17";

/** The stream editor callout on one host. */
export class StreamEditor {
  readonly find: Uint8Array;
  readonly replace: Uint8Array;
  readonly mode: StreamEditMode;
  readonly stats: StreamEditorStats = {
    indications: 0,
    replacements: 0,
    injections: 0,
    injectionFailures: 0,
    needMoreData: 0,
    scratchHolds: 0,
    deferrals: 0,
    continues: 0,
    lastFailure: undefined,
  };
  readonly calloutIds: number[] = [];
  readonly #shim: Shim;
  readonly #options: StreamEditorOptions;
  readonly #handle: InjectionHandle;
  readonly #states = new Map<string, EditState>();
  /** calloutId by callout key (FWPS_FILTER0 names its callout by id; our Filter by key). */
  readonly #calloutIds = new Map<string, number>();

  constructor(shim: Shim, options: StreamEditorOptions) {
    this.#shim = shim;
    this.#options = options;
    this.find = asBytes(options.find);
    this.replace = asBytes(options.replace);
    if (this.find.length === 0) throw new RangeError("stream editor: empty pattern");
    this.mode = options.mode ?? "inline";
    const h = shim.fwps.injectionHandleCreate("AF_UNSPEC", FWPS_INJECTION_TYPE.FWPS_INJECTION_TYPE_STREAM);
    if (h.handle === null) throw new Error(`stream editor: FwpsInjectionHandleCreate0 failed with ${h.status}`);
    this.#handle = h.handle;
    const engine = shim.engine;
    const base = (options.calloutKey ?? DEFAULT_KEY).toLowerCase();
    const sublayerKey = `${base.slice(0, 24)}${"5b".repeat(6)}`;
    engine.addSublayer({ subLayerKey: sublayerKey, name: "stream editor", weight: options.sublayerWeight ?? 0x8000 });
    for (const v of options.ipVersions ?? [4]) {
      const key = `${base.slice(0, 24)}${(v === 4 ? "00000000" : "00000006") + base.slice(32)}`;
      const layer = `FWPM_LAYER_STREAM_V${v}`;
      const { calloutId } = engine.addCallout({ calloutKey: key, name: `stream editor v${v}`, applicableLayer: layer });
      const classifyFn: CalloutClassifyFn = (fixed, meta, data, _ctx, filter, _flowContext, out) =>
        this.#classify(fixed, meta as { flowHandle?: bigint }, data as StreamCalloutIoPacket, filter, out);
      engine.registerCallout({ calloutKey: key, classifyFn });
      engine.addFilter({
        name: `stream editor v${v}`,
        layer,
        sublayer: sublayerKey,
        ...(options.conditions !== undefined ? { conditions: options.conditions } : {}),
        action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: key },
      });
      this.calloutIds.push(calloutId);
      this.#calloutIds.set(key, calloutId);
    }
  }

  #edits(flags: number): boolean {
    const d = this.#options.direction ?? "outbound";
    const inbound = (flags & SF.FWPS_STREAM_FLAG_RECEIVE) !== 0;
    return d === "both" || (d === "inbound") === inbound;
  }

  #state(flowId: bigint, layerId: number, flags: number): EditState {
    const directionFlag = flags & (SF.FWPS_STREAM_FLAG_RECEIVE | SF.FWPS_STREAM_FLAG_SEND);
    const key = `${flowId}:${directionFlag}`;
    let s = this.#states.get(key);
    if (s === undefined) {
      s = {
        scratch: new Uint8Array(0),
        queue: [],
        queuedBytes: 0,
        replacer: new StreamReplacer(this.find, this.replace),
        deferred: false,
        workerScheduled: false,
        flowId,
        layerId,
        directionFlag,
        done: false,
      };
      this.#states.set(key, s);
    }
    return s;
  }

  #classify(
    fixed: InFixedValues,
    meta: { flowHandle?: bigint },
    io: StreamCalloutIoPacket,
    filter: Filter,
    out: ClassifyOut,
  ): void {
    const streamData = io.streamData;
    this.stats.indications++;
    // Let go the traffic the editor does not care about, and urgent data (stmedit does not edit it).
    if (!this.#edits(streamData.flags) || (streamData.flags & EXPEDITED) !== 0 || meta.flowHandle === undefined) {
      permitAll(io, out);
      return;
    }
    const state = this.#state(meta.flowHandle, fixed.layer.runtimeId, streamData.flags);
    const calloutId = this.#calloutIdOf(filter);
    if (this.mode === "out-of-band") this.#outOfBand(state, calloutId, io, out);
    else if (this.mode === "scratch") this.#scratch(state, calloutId, io, out);
    else this.#inline(state, calloutId, io, out);
  }

  #calloutIdOf(filter: Filter): number {
    return this.#calloutIds.get(String(filter.action.calloutKey)) ?? 0;
  }

  /** FwpsStreamInjectAsync0 of `bytes` (or of the FIN alone, `bytes` null) at the editor's place. */
  #inject(state: EditState, calloutId: number, bytes: Uint8Array | null, fin = false): boolean {
    const fwps = this.#shim.fwps;
    let nbl: NetBufferList | null = null;
    if (bytes !== null) {
      if (bytes.length === 0) return true;
      const r = fwps.allocateNetBufferAndNetBufferList(bytes, 0, bytes.length, "transport");
      if (r.netBufferList === null) return this.#failed(r.status);
      nbl = r.netBufferList;
    }
    const disconnect =
      state.directionFlag === SF.FWPS_STREAM_FLAG_RECEIVE
        ? SF.FWPS_STREAM_FLAG_RECEIVE_DISCONNECT
        : SF.FWPS_STREAM_FLAG_SEND_DISCONNECT;
    const status = fwps.streamInjectAsync(
      this.#handle,
      null,
      0,
      state.flowId,
      calloutId,
      state.layerId,
      state.directionFlag | (fin ? disconnect : 0),
      nbl,
      bytes?.length ?? 0,
      (_ctx, n) => fwps.freeNetBufferList(n),
      null,
    );
    if (status !== "STATUS_SUCCESS") {
      if (nbl !== null) fwps.freeNetBufferList(nbl);
      return this.#failed(status);
    }
    this.stats.injections++;
    return true;
  }

  #failed(status: NtStatus): false {
    this.stats.injectionFailures++;
    this.stats.lastFailure = status;
    return false;
  }

  /** Inject the replacement and block the pattern's bytes (the first `count` of this indication). */
  #replaceAtStart(
    state: EditState,
    calloutId: number,
    io: StreamCalloutIoPacket,
    out: ClassifyOut,
    count: number,
  ): void {
    if (!this.#inject(state, calloutId, this.replace)) {
      dropConnection(io, out);
      return;
    }
    this.stats.replacements++;
    block(io, out, count);
  }

  // ---- inline, with NEED_MORE_DATA (E16, E17) ----

  #inline(state: EditState, calloutId: number, io: StreamCalloutIoPacket, out: ClassifyOut): void {
    const data = io.streamData.data.subarray(0, io.streamData.dataLength);
    if (data.length === 0) {
      permitAll(io, out); // the disconnect (nothing is held outside WFP in this mode)
      return;
    }
    const i = indexOf(data, this.find);
    if (i === 0) {
      this.#replaceAtStart(state, calloutId, io, out, this.find.length);
      return;
    }
    if (i > 0) {
      permit(io, out, i);
      return;
    }
    const j = partialTail(data, this.find);
    const mustDecide = (out.flags & (NO_MORE_DATA | BUFFER_LIMIT_REACHED)) !== 0;
    if (j < 0 || mustDecide) permitAll(io, out);
    else if (j > 0) permit(io, out, j);
    else {
      this.stats.needMoreData++;
      needMoreData(io, out, this.find.length);
    }
  }

  // ---- inline, with a scratch buffer (E17) ----

  #scratch(state: EditState, calloutId: number, io: StreamCalloutIoPacket, out: ClassifyOut): void {
    const data = io.streamData.data.subarray(0, io.streamData.dataLength);
    const fin = (io.streamData.flags & DISCONNECT) !== 0;
    if (data.length === 0) {
      // The disconnect: the kept bytes were not the pattern after all.
      if (state.scratch.length > 0 && !this.#inject(state, calloutId, state.scratch)) {
        dropConnection(io, out);
        return;
      }
      state.scratch = new Uint8Array(0);
      permitAll(io, out);
      return;
    }
    if (state.scratch.length > 0) {
      // Give back the kept bytes that cannot begin the pattern together with this data.
      let s = state.scratch;
      let drop = 0;
      while (drop < s.length && !continues(s.subarray(drop), data, this.find)) drop++;
      if (drop > 0 && !this.#inject(state, calloutId, s.subarray(0, drop))) {
        dropConnection(io, out);
        return;
      }
      s = s.slice(drop);
      state.scratch = s;
      if (s.length > 0) {
        const need = this.find.length - s.length;
        if (data.length >= need) {
          // Completed: the replacement, and the rest of the pattern blocked.
          state.scratch = new Uint8Array(0);
          this.#replaceAtStart(state, calloutId, io, out, need);
          return;
        }
        // Still a prefix: keep this data too.
        const more = new Uint8Array(s.length + data.length);
        more.set(s, 0);
        more.set(data, s.length);
        if (fin) {
          state.scratch = new Uint8Array(0);
          if (!this.#inject(state, calloutId, more) || !this.#inject(state, calloutId, null, true)) {
            dropConnection(io, out);
            return;
          }
        } else {
          state.scratch = more;
          this.stats.scratchHolds++;
        }
        block(io, out, 0);
        return;
      }
    }
    const i = indexOf(data, this.find);
    if (i === 0) {
      this.#replaceAtStart(state, calloutId, io, out, this.find.length);
      return;
    }
    if (i > 0) {
      permit(io, out, i);
      return;
    }
    const j = partialTail(data, this.find);
    if (j < 0 || fin) permitAll(io, out);
    else if (j > 0) permit(io, out, j);
    else {
      state.scratch = data.slice();
      this.stats.scratchHolds++;
      block(io, out, 0);
    }
  }

  // ---- out of band (E18) ----

  #outOfBand(state: EditState, calloutId: number, io: StreamCalloutIoPacket, out: ClassifyOut): void {
    const streamData = io.streamData;
    const fin = (streamData.flags & DISCONNECT) !== 0;
    const inbound = state.directionFlag === SF.FWPS_STREAM_FLAG_RECEIVE;
    const threshold = this.#options.busyThreshold ?? 32 * 1024;
    if (inbound && !fin && state.queuedBytes + streamData.dataLength > threshold && state.queue.length > 0) {
      // Too much waits for the worker: stop the stream (TCP's window closes) until it catches up.
      io.streamAction = SA.FWPS_STREAM_ACTION_DEFER;
      out.actionType = "FWP_ACTION_NONE";
      if (!state.deferred) this.stats.deferrals++;
      state.deferred = true;
      this.#scheduleWorker(state, calloutId);
      return;
    }
    const clone = this.#shim.fwps.cloneStreamData(streamData, null, null, 0);
    if (clone.netBufferListChain === null) {
      this.#failed(clone.status);
      dropConnection(io, out);
      return;
    }
    const nbl = clone.netBufferListChain;
    const bytes = nbl.bytes.slice(nbl.dataOffset, nbl.end);
    this.#shim.fwps.discardClonedStreamData(nbl, 0, false);
    if (bytes.length > 0) {
      state.queue.push(bytes);
      state.queuedBytes += bytes.length;
    }
    if (fin) state.queue.push(null);
    block(io, out, 0);
    this.#scheduleWorker(state, calloutId);
  }

  #scheduleWorker(state: EditState, calloutId: number): void {
    if (state.workerScheduled) return;
    state.workerScheduled = true;
    const schedule = this.#options.schedule ?? ((fn: () => void) => this.#shim.stack?.defer(fn));
    schedule(() => {
      state.workerScheduled = false;
      this.#work(state, calloutId);
    });
  }

  /** The worker: edits queued data in order and injects it; the FIN goes last. */
  #work(state: EditState, calloutId: number): void {
    if (state.done) return;
    let budget = this.#options.workerBudget ?? Number.POSITIVE_INFINITY;
    while (state.queue.length > 0 && budget > 0) {
      const item = state.queue.shift() as Uint8Array | null;
      if (item === null) {
        const tail = state.replacer.flush();
        this.stats.replacements = this.#sumReplacements();
        if (!this.#inject(state, calloutId, tail) || !this.#inject(state, calloutId, null, true)) return;
        state.done = true;
        return;
      }
      state.queuedBytes -= item.length;
      budget -= item.length;
      const edited = state.replacer.feed(item);
      this.stats.replacements = this.#sumReplacements();
      if (!this.#inject(state, calloutId, edited)) return;
    }
    const threshold = this.#options.busyThreshold ?? 32 * 1024;
    if (state.deferred && state.queuedBytes <= threshold / 4) {
      const status = this.#shim.fwps.streamContinue(
        state.flowId,
        calloutId,
        state.layerId,
        SF.FWPS_STREAM_FLAG_RECEIVE,
      );
      if (status === "STATUS_SUCCESS") {
        state.deferred = false;
        this.stats.continues++;
      } else this.#failed(status);
    }
    if (state.queue.length > 0) this.#scheduleWorker(state, calloutId);
  }

  #sumReplacements(): number {
    let n = 0;
    for (const s of this.#states.values()) n += s.replacer.replacements;
    return n;
  }
}

/** Does `kept` followed by `data` still agree with the start of `pattern`? */
function continues(kept: Uint8Array, data: Uint8Array, pattern: Uint8Array): boolean {
  if (kept.length >= pattern.length) return false;
  for (let k = 0; k < kept.length; k++) if (kept[k] !== pattern[k]) return false;
  const n = Math.min(data.length, pattern.length - kept.length);
  for (let k = 0; k < n; k++) if (data[k] !== pattern[kept.length + k]) return false;
  return true;
}

function permitAll(io: StreamCalloutIoPacket, out: ClassifyOut): void {
  permit(io, out, 0);
}

function permit(io: StreamCalloutIoPacket, out: ClassifyOut, count: number): void {
  io.streamAction = SA.FWPS_STREAM_ACTION_NONE;
  io.countBytesEnforced = count;
  out.actionType = "FWP_ACTION_PERMIT";
}

function block(io: StreamCalloutIoPacket, out: ClassifyOut, count: number): void {
  io.streamAction = SA.FWPS_STREAM_ACTION_NONE;
  io.countBytesEnforced = count;
  out.actionType = "FWP_ACTION_BLOCK";
  out.rights &= ~1; // clear FWPS_RIGHT_ACTION_WRITE, as a blocking callout must
}

function needMoreData(io: StreamCalloutIoPacket, out: ClassifyOut, total: number): void {
  io.streamAction = SA.FWPS_STREAM_ACTION_NEED_MORE_DATA;
  io.countBytesRequired = total;
  out.actionType = "FWP_ACTION_NONE";
}

function dropConnection(io: StreamCalloutIoPacket, out: ClassifyOut): void {
  io.streamAction = SA.FWPS_STREAM_ACTION_DROP_CONNECTION;
  out.actionType = "FWP_ACTION_NONE";
}
