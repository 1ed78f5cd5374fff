/**
 * The stream layer on its own (§E): one connection's stream classifier over a recording endpoint and a
 * stack that runs deferred work when told. Each test names the rule it checks.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv4Address, ManualClock } from "../../base/index.ts";
import { type CalloutClassifyFn, FilterEngine, type FilterActionType } from "../../engine/index.ts";
import {
  FWPS_CLASSIFY_OUT_FLAG,
  FWPS_INJECTION_TYPE,
  FWPS_STREAM_ACTION_TYPE,
  FWPS_STREAM_FLAG,
  getLayer,
} from "../../fwp/index.ts";
import type { ClassifyFacts } from "../facts.ts";
import type { StreamCalloutIoPacket } from "../packet.ts";
import { type ClassifyRecord, Shim } from "../shim.ts";
import type { InjectionHandle, InjectionRequest, NetBufferList } from "./injection.ts";
import type { StackHooks } from "./stack-hooks.ts";
import type { NtStatus } from "./status.ts";
import type { StreamEndpoint, StreamFlow } from "./stream.ts";

const SF = FWPS_STREAM_FLAG;
const SA = FWPS_STREAM_ACTION_TYPE;
const STREAM_V4 = getLayer("FWPS_LAYER_STREAM_V4").runtimeId;
const STREAM_V6 = getLayer("FWPS_LAYER_STREAM_V6").runtimeId;
const TRANSPORT_V4 = getLayer("FWPS_LAYER_OUTBOUND_TRANSPORT_V4").runtimeId;
const NO_MORE_DATA = FWPS_CLASSIFY_OUT_FLAG.FWPS_CLASSIFY_OUT_FLAG_NO_MORE_DATA;
const BUFFER_LIMIT_REACHED = FWPS_CLASSIFY_OUT_FLAG.FWPS_CLASSIFY_OUT_FLAG_BUFFER_LIMIT_REACHED;

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

class DeferringStack implements StackHooks {
  readonly queue: (() => void)[] = [];
  defer(fn: () => void): void {
    this.queue.push(fn);
  }
  checkInjection(_r: InjectionRequest): NtStatus {
    return "STATUS_SUCCESS";
  }
  injectPacket(_r: InjectionRequest): NtStatus {
    return "STATUS_SUCCESS";
  }
  run(): void {
    while (this.queue.length > 0) (this.queue.shift() as () => void)();
  }
}

/** One indication a callout saw. */
interface Seen {
  readonly data: string;
  readonly flags: number;
  readonly missed: number;
  readonly outFlags: number;
}

type StreamFn = (io: StreamCalloutIoPacket, out: Parameters<CalloutClassifyFn>[6], ctx: CalloutCtx) => void;

interface CalloutCtx {
  readonly flowId: bigint;
  readonly calloutId: number;
  readonly layerId: number;
  readonly seen: Seen[];
}

const facts: ClassifyFacts = {
  ipVersion: 4,
  direction: "outbound",
  protocol: 6,
  localAddress: Ipv4Address.parse("10.0.0.1"),
  remoteAddress: Ipv4Address.parse("10.0.0.2"),
  localPort: 50000,
  remotePort: 80,
};

function harness() {
  const engine = new FilterEngine();
  const log: ClassifyRecord[] = [];
  const shim = new Shim({ engine, clock: new ManualClock(), host: "h", log: (r) => log.push(r) });
  const stack = new DeferringStack();
  shim.attachStack(stack);
  const aleFlow = shim.createFlow("", shim.authLayer("auth-connect", 4), facts, "outbound", 6);
  const app = {
    received: [] as Uint8Array[],
    sent: [] as Uint8Array[],
    finIn: 0,
    finOut: 0,
    consumed: 0,
    dropped: 0,
  };
  const endpoint: StreamEndpoint = {
    flow: aleFlow,
    facts: (direction) => ({ ...facts, direction }),
    deliver: (b) => app.received.push(b.slice()),
    deliverFin: () => app.finIn++,
    transmit: (b) => app.sent.push(b.slice()),
    transmitFin: () => app.finOut++,
    consume: (n) => {
      app.consumed += n;
    },
    dropConnection: () => app.dropped++,
  };
  const stream: StreamFlow = shim.fwps.stream.open(endpoint, 4);
  const handleResult = shim.fwps.injectionHandleCreate("AF_UNSPEC", FWPS_INJECTION_TYPE.FWPS_INJECTION_TYPE_STREAM);
  const handle = handleResult.handle as InjectionHandle;
  let next = 0;
  /** A stream callout in its own sublayer; earlier callouts get higher sublayer weights. */
  const callout = (fn: StreamFn, action: FilterActionType = "FWP_ACTION_CALLOUT_TERMINATING"): CalloutCtx => {
    next++;
    const key = `5e7e0000-0000-4000-8000-${next.toString(16).padStart(12, "0")}`;
    const sub = `5e7e0000-0000-4000-9000-${next.toString(16).padStart(12, "0")}`;
    engine.addSublayer({ subLayerKey: sub, name: `s${next}`, weight: 0x1000 - next });
    const seen: Seen[] = [];
    const { calloutId } = engine.addCallout({
      calloutKey: key,
      name: `c${next}`,
      applicableLayer: "FWPM_LAYER_STREAM_V4",
    });
    const ctx: CalloutCtx = { flowId: aleFlow.flowHandle, calloutId, layerId: STREAM_V4, seen };
    engine.registerCallout({
      calloutKey: key,
      classifyFn: (_v, meta, data, _c, _filter, _fc, out) => {
        const io = data as StreamCalloutIoPacket;
        seen.push({
          data: str(io.streamData.data),
          flags: io.streamData.flags,
          missed: io.missedBytes,
          outFlags: out.flags,
        });
        assert.equal((meta as { flowHandle?: bigint }).flowHandle, aleFlow.flowHandle);
        fn(io, out, ctx);
      },
    });
    engine.addFilter({
      name: `f${next}`,
      layer: "FWPM_LAYER_STREAM_V4",
      sublayer: sub,
      action: { type: action, calloutKey: key },
    });
    return ctx;
  };
  /** What STREAM_V4_DISCARD indications carried (a callout there records it). */
  const discarded: string[] = [];
  const discardKey = "5e7e0000-0000-4000-b000-000000000001";
  engine.addCallout({ calloutKey: discardKey, name: "discard log", applicableLayer: "FWPM_LAYER_STREAM_V4_DISCARD" });
  engine.registerCallout({
    calloutKey: discardKey,
    classifyFn: (_v, _m, data, _c, _f, _fc, out) => {
      discarded.push(str((data as StreamCalloutIoPacket).streamData.data));
      out.actionType = "FWP_ACTION_CONTINUE";
    },
  });
  engine.addFilter({
    name: "discard log",
    layer: "FWPM_LAYER_STREAM_V4_DISCARD",
    action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey: discardKey },
  });
  const nbl = (s: string | Uint8Array): NetBufferList => {
    const bytes = typeof s === "string" ? text(s) : s;
    const r = shim.fwps.allocateNetBufferAndNetBufferList(bytes, 0, bytes.length, "transport");
    return r.netBufferList as NetBufferList;
  };
  const completions: string[] = [];
  const done = (ctx: unknown, n: NetBufferList) => completions.push(`${String(ctx)}:${n.status}`);
  /** streamInjectAsync with the harness's handle. */
  const inject = (
    c: CalloutCtx,
    flags: number,
    data: string | null,
    completion: typeof done | null = done,
    ctx: unknown = data,
  ): NtStatus =>
    shim.fwps.streamInjectAsync(
      handle,
      null,
      0,
      c.flowId,
      c.calloutId,
      c.layerId,
      flags,
      data === null ? null : nbl(data),
      data === null ? 0 : text(data).length,
      completion,
      ctx,
    );
  const streamRecords = () => log.filter((r) => r.layer.fwpsName === "FWPS_LAYER_STREAM_V4");
  return {
    engine,
    discarded,
    shim,
    stack,
    stream,
    app,
    handle,
    callout,
    inject,
    nbl,
    done,
    completions,
    log,
    streamRecords,
    received: () => app.received.map(str).join(""),
    sent: () => app.sent.map(str).join(""),
  };
}

const permit = (out: Parameters<CalloutClassifyFn>[6]) => {
  out.actionType = "FWP_ACTION_PERMIT";
};

describe("stream indications (E1, E3)", () => {
  it("with no filter, each indication is one STREAM classification and passes unchanged, FIN after the data", () => {
    const h = harness();
    h.stream.receive(text("hello "));
    h.stream.receive(text("world"));
    h.stream.receiveFin();
    assert.equal(h.received(), "hello world");
    assert.equal(h.app.finIn, 1);
    assert.equal(h.app.consumed, 11, "every byte the stream layer took is consumed from TCP at once");
    assert.deepEqual(
      h.streamRecords().map((r) => `${r.direction}:${r.packet}`),
      ["inbound:data", "inbound:data", "inbound:FIN"],
    );
  });

  it("flags: RECEIVE on every inbound indication, RECEIVE_DISCONNECT on the FIN, SEND / SEND_DISCONNECT outbound", () => {
    const h = harness();
    const c = h.callout((_io, out) => permit(out));
    h.stream.receive(text("a"));
    h.stream.receiveFin();
    h.stream.send(text("b"));
    h.stream.sendFin();
    assert.deepEqual(
      c.seen.map((s) => [s.data, s.flags]),
      [
        ["a", SF.FWPS_STREAM_FLAG_RECEIVE],
        ["", SF.FWPS_STREAM_FLAG_RECEIVE | SF.FWPS_STREAM_FLAG_RECEIVE_DISCONNECT],
        ["b", SF.FWPS_STREAM_FLAG_SEND],
        ["", SF.FWPS_STREAM_FLAG_SEND | SF.FWPS_STREAM_FLAG_SEND_DISCONNECT],
      ],
    );
    assert.equal(c.seen[1]?.outFlags, NO_MORE_DATA, "the disconnect comes with NO_MORE_DATA");
    assert.equal(h.sent(), "b");
    assert.equal(h.app.finOut, 1);
  });

  it("a RST is a zero-length RECEIVE_ABORT indication; what the stream layer held is dropped", () => {
    const h = harness();
    const c = h.callout((io, out) => {
      if (io.streamData.dataLength > 0 && (io.streamData.flags & SF.FWPS_STREAM_FLAG_RECEIVE_ABORT) === 0) {
        io.streamAction = SA.FWPS_STREAM_ACTION_NEED_MORE_DATA;
        io.countBytesRequired = 100;
        out.actionType = "FWP_ACTION_NONE";
      }
    });
    h.stream.receive(text("held"));
    h.stream.receiveAbort();
    assert.deepEqual(
      c.seen.map((s) => [s.data, s.flags]),
      [
        ["held", SF.FWPS_STREAM_FLAG_RECEIVE],
        ["", SF.FWPS_STREAM_FLAG_RECEIVE | SF.FWPS_STREAM_FLAG_RECEIVE_ABORT],
      ],
    );
    assert.equal(h.received(), "");
    assert.equal(h.streamRecords().at(-1)?.packet, "RST");
  });
});

describe("PERMIT, BLOCK and countBytesEnforced (E5, E6)", () => {
  it("E16 inline replace: n‖p‖m is seen as n+p+m, p+m, m; the stream carries n‖p′‖m; p′ is not re-indicated", () => {
    const h = harness();
    const c = h.callout((io, out, ctx) => {
      const s = str(io.streamData.data);
      const at = s.indexOf("fox");
      if (at > 0) {
        out.actionType = "FWP_ACTION_PERMIT";
        io.countBytesEnforced = at;
      } else if (at === 0) {
        assert.equal(h.inject(ctx, io.streamData.flags, "cat"), "STATUS_SUCCESS");
        out.actionType = "FWP_ACTION_BLOCK";
        out.rights = 0;
        io.countBytesEnforced = 3;
      } else {
        out.actionType = "FWP_ACTION_PERMIT";
        io.countBytesEnforced = io.streamData.dataLength;
      }
    });
    h.stream.receive(text("the quick brown fox jumps"));
    assert.deepEqual(
      c.seen.map((s) => s.data),
      ["the quick brown fox jumps", "fox jumps", " jumps"],
    );
    assert.equal(h.received(), "the quick brown cat jumps");
    assert.equal(h.streamRecords().length, 3, "the two remainders are classifications of their own");
    assert.deepEqual(h.completions, [], "completion runs after the call, never inside it");
    h.stack.run();
    assert.deepEqual(h.completions, ["cat:STATUS_SUCCESS"]);
    assert.equal(h.app.consumed, 25);
  });

  it("countBytesEnforced 0 with PERMIT or BLOCK means the whole indication (E5, model default)", () => {
    const h = harness();
    h.callout((io, out) => {
      out.actionType = str(io.streamData.data).startsWith("x") ? "FWP_ACTION_BLOCK" : "FWP_ACTION_PERMIT";
      io.countBytesEnforced = 0;
    });
    h.stream.receive(text("keep "));
    h.stream.receive(text("xdrop "));
    h.stream.receive(text("keep"));
    assert.equal(h.received(), "keep keep");
    assert.equal(h.shim.fwps.stream.counters.bytesBlocked, 6);
  });

  it("CONTINUE passes everything on; an INSPECTION filter's BLOCK is ignored (C12)", () => {
    const h = harness();
    h.callout((_io, out) => {
      out.actionType = "FWP_ACTION_CONTINUE";
    }, "FWP_ACTION_CALLOUT_UNKNOWN");
    h.callout((_io, out) => {
      out.actionType = "FWP_ACTION_BLOCK";
    }, "FWP_ACTION_CALLOUT_INSPECTION");
    h.stream.send(text("through"));
    assert.equal(h.sent(), "through");
  });
});

describe("the waterfall across sublayers (E11, E2)", () => {
  it("a lower callout sees only what the upper one let through, with the blocked bytes as missedBytes", () => {
    const h = harness();
    const upper = h.callout((io, out) => {
      const s = str(io.streamData.data);
      const at = s.indexOf("secret");
      if (at > 0) {
        out.actionType = "FWP_ACTION_PERMIT";
        io.countBytesEnforced = at;
      } else if (at === 0) {
        out.actionType = "FWP_ACTION_BLOCK";
        out.rights = 0;
        io.countBytesEnforced = 6;
      } else permit(out);
    });
    const lower = h.callout((_io, out) => permit(out));
    h.stream.receive(text("a secret b"));
    assert.deepEqual(
      upper.seen.map((s) => s.data),
      ["a secret b", "secret b", " b"],
    );
    assert.deepEqual(
      lower.seen.map((s) => [s.data, s.missed]),
      [
        ["a ", 0],
        [" b", 6],
      ],
      "the lower callout never sees 'secret'; its next call reports the 6 bytes it missed",
    );
    assert.equal(h.received(), "a  b");
  });

  it("data injected by the upper callout is visible to the lower one, and never re-indicated to the injector", () => {
    const h = harness();
    const upper = h.callout((io, out, ctx) => {
      if (str(io.streamData.data) === "old") {
        h.inject(ctx, SF.FWPS_STREAM_FLAG_SEND, "new!");
        out.actionType = "FWP_ACTION_BLOCK";
        out.rights = 0;
      } else permit(out);
    });
    const lower = h.callout((_io, out) => permit(out));
    h.stream.send(text("old"));
    assert.deepEqual(
      upper.seen.map((s) => s.data),
      ["old"],
    );
    assert.deepEqual(
      lower.seen.map((s) => [s.data, s.missed]),
      [["new!", 3]],
    );
    assert.equal(h.sent(), "new!");
  });

  it("while the upper callout accumulates (NEED_MORE_DATA), nothing reaches the lower one", () => {
    const h = harness();
    h.callout((io, out) => {
      if (io.streamData.dataLength < 6) {
        io.streamAction = SA.FWPS_STREAM_ACTION_NEED_MORE_DATA;
        io.countBytesRequired = 6;
        out.actionType = "FWP_ACTION_NONE";
      } else permit(out);
    });
    const lower = h.callout((_io, out) => permit(out));
    h.stream.receive(text("ab"));
    h.stream.receive(text("cd"));
    assert.equal(lower.seen.length, 0);
    h.stream.receive(text("ef"));
    assert.deepEqual(
      lower.seen.map((s) => s.data),
      ["abcdef"],
    );
  });

  it("a static BLOCK in a higher sublayer removes the data for every callout below (E11), indicated at STREAM_DISCARD", () => {
    const h = harness();
    const sub = "5e7e0000-0000-4000-a000-000000000001";
    h.engine.addSublayer({ subLayerKey: sub, name: "top", weight: 0xffff });
    const f = h.engine.addFilter({
      name: "block stream",
      layer: "FWPM_LAYER_STREAM_V4",
      sublayer: sub,
      action: { type: "FWP_ACTION_BLOCK" },
    });
    const below = h.callout((_io, out) => permit(out));
    h.stream.receive(text("gone"));
    assert.deepEqual(below.seen, [], "the callout below the block is not called with the data");
    assert.equal(h.received(), "");
    const discard = h.log.find((r) => r.layer.fwpsName === "FWPS_LAYER_STREAM_V4_DISCARD");
    assert.ok(discard !== undefined, "STREAM_DISCARD indicated");
    assert.equal(discard.metadata.discardMetadata?.filterId, f.filterId);
    assert.deepEqual(h.discarded, ["gone"]);
  });

  it("with no callout, a static BLOCK drops the indication and indicates it at STREAM_DISCARD (as before)", () => {
    const h = harness();
    h.engine.addFilter({ name: "block stream", layer: "FWPM_LAYER_STREAM_V4", action: { type: "FWP_ACTION_BLOCK" } });
    h.stream.send(text("x"));
    h.stream.sendFin();
    assert.equal(h.sent(), "");
    assert.equal(h.app.finOut, 1, "a static block does not hold back the disconnect");
    assert.deepEqual(h.discarded, ["x", ""], "each blocked indication, the disconnect too");
  });
});

describe("NEED_MORE_DATA (E7)", () => {
  it("holds the bytes and presents them again with new data once the total reaches countBytesRequired", () => {
    const h = harness();
    const c = h.callout((io, out) => {
      if (io.streamData.dataLength < 5 && (out.flags & NO_MORE_DATA) === 0) {
        io.streamAction = SA.FWPS_STREAM_ACTION_NEED_MORE_DATA;
        io.countBytesRequired = 5;
        out.actionType = "FWP_ACTION_NONE";
      } else permit(out);
    });
    h.stream.receive(text("ab"));
    h.stream.receive(text("c"));
    h.stream.receive(text("de"));
    assert.deepEqual(
      c.seen.map((s) => s.data),
      ["ab", "abcde"],
      "not called until five bytes are held",
    );
    assert.equal(h.received(), "abcde");
    assert.equal(h.app.consumed, 5, "held bytes are consumed from TCP: accumulation does not close the window");
  });

  it("the disconnect presents what is held, with NO_MORE_DATA; asking for more then is refused", () => {
    const h = harness();
    const c = h.callout((io, out) => {
      io.streamAction = SA.FWPS_STREAM_ACTION_NEED_MORE_DATA;
      io.countBytesRequired = 100;
      out.actionType = "FWP_ACTION_NONE";
    });
    h.stream.receive(text("tail"));
    h.stream.receiveFin();
    assert.deepEqual(
      c.seen.map((s) => [s.data, s.flags, s.outFlags]),
      [
        ["tail", SF.FWPS_STREAM_FLAG_RECEIVE, 0],
        ["tail", SF.FWPS_STREAM_FLAG_RECEIVE | SF.FWPS_STREAM_FLAG_RECEIVE_DISCONNECT, NO_MORE_DATA],
      ],
    );
    const r = h.shim.fwps.stream.refusals.at(-1);
    assert.equal(r?.streamAction, SA.FWPS_STREAM_ACTION_NEED_MORE_DATA);
    assert.match(r?.reason ?? "", /NO_MORE_DATA/);
    assert.equal(h.received(), "tail", "the refused answer is handled as streamAction NONE (FWP_ACTION_NONE passes)");
    assert.equal(h.app.finIn, 1);
  });

  it("at 8 MiB held the callout is called with BUFFER_LIMIT_REACHED and must decide", () => {
    const h = harness();
    const calls: { length: number; limit: boolean }[] = [];
    h.callout((io, out) => {
      const limit = (out.flags & BUFFER_LIMIT_REACHED) !== 0;
      calls.push({ length: io.streamData.dataLength, limit });
      if (!limit) {
        io.streamAction = SA.FWPS_STREAM_ACTION_NEED_MORE_DATA;
        io.countBytesRequired = 0xffff_ffff;
        out.actionType = "FWP_ACTION_NONE";
      } else permit(out);
    });
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 130; i++) h.stream.receive(chunk);
    assert.deepEqual(
      calls.map((c) => `${c.length}${c.limit ? " limit" : ""}`),
      [`${64 * 1024}`, `${8 * 1024 * 1024} limit`, `${64 * 1024}`],
      "called with the first chunk, then not before 8 MiB are held, then afresh",
    );
    assert.equal(
      h.app.received.reduce((n, b) => n + b.length, 0),
      8 * 1024 * 1024,
    );
  });

  it("NEED_MORE_DATA with BUFFER_LIMIT_REACHED is refused", () => {
    const h = harness();
    h.shim.fwps.stream.maxAccumulation = 8;
    h.callout((io, out) => {
      io.streamAction = SA.FWPS_STREAM_ACTION_NEED_MORE_DATA;
      io.countBytesRequired = 100;
      out.actionType = "FWP_ACTION_NONE";
    });
    h.stream.send(text("12345"));
    h.stream.send(text("6789"));
    assert.match(h.shim.fwps.stream.refusals.at(-1)?.reason ?? "", /BUFFER_LIMIT_REACHED/);
    assert.equal(h.sent(), "123456789");
  });
});

describe("DEFER and FwpsStreamContinue0 (E8)", () => {
  it("inbound: the stream stops taking data from TCP (nothing consumed) until streamContinue re-presents it", () => {
    const h = harness();
    let defer = true;
    const c = h.callout((io, out) => {
      if (defer && io.streamData.dataLength > 0) {
        io.streamAction = SA.FWPS_STREAM_ACTION_DEFER;
        out.actionType = "FWP_ACTION_NONE";
      } else permit(out);
    });
    h.stream.receive(text("first"));
    h.stream.receive(text("second"));
    h.stream.receiveFin();
    assert.equal(h.app.consumed, 5, "only the deferred indication was taken; the rest stays in TCP's window");
    assert.deepEqual(
      c.seen.map((s) => s.data),
      ["first"],
    );
    assert.equal(h.received(), "");
    defer = false;
    assert.equal(
      h.shim.fwps.streamContinue(c.flowId, c.calloutId, STREAM_V4, SF.FWPS_STREAM_FLAG_RECEIVE),
      "STATUS_SUCCESS",
    );
    assert.equal(h.received(), "", "resumes after the current event");
    h.stack.run();
    assert.equal(h.received(), "firstsecond");
    assert.equal(h.app.consumed, 11);
    assert.equal(h.app.finIn, 1);
    assert.deepEqual(
      c.seen.map((s) => s.data),
      ["first", "first", "second", ""],
    );
  });

  it("streamContinue: not from classifyFn, not on a stage that is not deferred, RECEIVE only, stream layers only", () => {
    const h = harness();
    let inside: NtStatus | undefined;
    const c = h.callout((io, out, ctx) => {
      inside = h.shim.fwps.streamContinue(ctx.flowId, ctx.calloutId, STREAM_V4, SF.FWPS_STREAM_FLAG_RECEIVE);
      io.streamAction = SA.FWPS_STREAM_ACTION_DEFER;
      out.actionType = "FWP_ACTION_NONE";
    });
    h.stream.receive(text("x"));
    assert.equal(inside, "STATUS_INVALID_DEVICE_STATE");
    const fw = h.shim.fwps;
    assert.equal(
      fw.streamContinue(c.flowId, c.calloutId, STREAM_V4, SF.FWPS_STREAM_FLAG_SEND),
      "STATUS_FWP_INVALID_PARAMETER",
    );
    assert.equal(
      fw.streamContinue(c.flowId, c.calloutId, TRANSPORT_V4, SF.FWPS_STREAM_FLAG_RECEIVE),
      "STATUS_FWP_INCOMPATIBLE_LAYER",
    );
    assert.equal(
      fw.streamContinue(c.flowId + 99n, c.calloutId, STREAM_V4, SF.FWPS_STREAM_FLAG_RECEIVE),
      "STATUS_INVALID_PARAMETER",
    );
    assert.equal(
      fw.streamContinue(c.flowId, c.calloutId + 1, STREAM_V4, SF.FWPS_STREAM_FLAG_RECEIVE),
      "STATUS_INVALID_DEVICE_STATE",
    );
    assert.equal(fw.streamContinue(c.flowId, c.calloutId, STREAM_V4, SF.FWPS_STREAM_FLAG_RECEIVE), "STATUS_SUCCESS");
    assert.equal(
      fw.streamContinue(c.flowId, c.calloutId, STREAM_V4, SF.FWPS_STREAM_FLAG_RECEIVE),
      "STATUS_INVALID_DEVICE_STATE",
    );
  });

  it("DEFER on an outbound stream, or of a disconnect, is refused", () => {
    const h = harness();
    h.callout((io, out) => {
      io.streamAction = SA.FWPS_STREAM_ACTION_DEFER;
      out.actionType = "FWP_ACTION_NONE";
    });
    h.stream.send(text("out"));
    assert.match(h.shim.fwps.stream.refusals.at(-1)?.reason ?? "", /outbound/);
    assert.equal(h.sent(), "out");
    h.stream.receiveFin();
    assert.match(h.shim.fwps.stream.refusals.at(-1)?.reason ?? "", /disconnect/);
    assert.equal(h.app.finIn, 1);
  });
});

describe("DROP_CONNECTION and ALLOW_CONNECTION (E9, E10)", () => {
  it("DROP_CONNECTION tears the connection down; later injection finds no flow", () => {
    const h = harness();
    const c = h.callout((io, out) => {
      io.streamAction = SA.FWPS_STREAM_ACTION_DROP_CONNECTION;
      out.actionType = "FWP_ACTION_NONE";
    }, "FWP_ACTION_CALLOUT_UNKNOWN");
    h.stream.receive(text("bad"));
    assert.equal(h.app.dropped, 1);
    assert.equal(h.received(), "");
    assert.equal(h.stream.closed, true);
    assert.equal(h.inject(c, SF.FWPS_STREAM_FLAG_RECEIVE, "late"), "STATUS_INVALID_PARAMETER");
  });

  it("DROP_CONNECTION from an INSPECTION filter is ignored", () => {
    const h = harness();
    h.callout((io, out) => {
      io.streamAction = SA.FWPS_STREAM_ACTION_DROP_CONNECTION;
      out.actionType = "FWP_ACTION_NONE";
    }, "FWP_ACTION_CALLOUT_INSPECTION");
    h.stream.receive(text("fine"));
    assert.equal(h.app.dropped, 0);
    assert.equal(h.received(), "fine");
  });

  it("ALLOW_CONNECTION: the callout is not called again for the flow, in either direction", () => {
    const h = harness();
    const c = h.callout((io, out) => {
      io.streamAction = SA.FWPS_STREAM_ACTION_ALLOW_CONNECTION;
      out.actionType = "FWP_ACTION_NONE";
    });
    const lower = h.callout((_io, out) => permit(out));
    h.stream.receive(text("1"));
    h.stream.receive(text("2"));
    h.stream.send(text("3"));
    assert.equal(c.seen.length, 1);
    assert.equal(lower.seen.length, 3, "callouts below still see everything");
    assert.equal(h.received(), "12");
    assert.equal(h.sent(), "3");
  });
});

describe("FwpsStreamInjectAsync0 (E12)", () => {
  it("refuses what Windows refuses", () => {
    const h = harness();
    let statuses: Record<string, NtStatus> = {};
    const c = h.callout((io, out, ctx) => {
      const fw = h.shim.fwps;
      const n = h.nbl("zz");
      const go = (
        layerId: number,
        flags: number,
        data: NetBufferList | null,
        fn: typeof h.done | null,
        handle: InjectionHandle | null = h.handle,
      ) =>
        fw.streamInjectAsync(
          handle,
          null,
          0,
          ctx.flowId,
          ctx.calloutId,
          layerId,
          flags,
          data,
          data === null ? 0 : 2,
          fn,
          null,
        );
      statuses = {
        nonStreamLayer: go(TRANSPORT_V4, SF.FWPS_STREAM_FLAG_RECEIVE, n, h.done),
        otherFamily: go(STREAM_V6, SF.FWPS_STREAM_FLAG_RECEIVE, n, h.done),
        noDirection: go(STREAM_V4, 0, n, h.done),
        bothDirections: go(STREAM_V4, SF.FWPS_STREAM_FLAG_RECEIVE | SF.FWPS_STREAM_FLAG_SEND, n, h.done),
        wrongDisconnect: go(STREAM_V4, SF.FWPS_STREAM_FLAG_RECEIVE | SF.FWPS_STREAM_FLAG_SEND_DISCONNECT, n, h.done),
        abortFlag: go(STREAM_V4, SF.FWPS_STREAM_FLAG_RECEIVE | SF.FWPS_STREAM_FLAG_RECEIVE_ABORT, n, h.done),
        nullCompletion: go(STREAM_V4, SF.FWPS_STREAM_FLAG_RECEIVE, n, null),
        nullDataNoDisconnect: go(STREAM_V4, SF.FWPS_STREAM_FLAG_RECEIVE, null, h.done),
        notAHandle: go(STREAM_V4, SF.FWPS_STREAM_FLAG_RECEIVE, n, h.done, null),
        foreignNbl: go(STREAM_V4, SF.FWPS_STREAM_FLAG_RECEIVE, { ...n } as NetBufferList, h.done),
      };
      void io;
      permit(out);
    });
    h.stream.receive(text("x"));
    assert.deepEqual(statuses, {
      nonStreamLayer: "STATUS_FWP_INCOMPATIBLE_LAYER",
      otherFamily: "STATUS_INVALID_PARAMETER",
      noDirection: "STATUS_FWP_INVALID_PARAMETER",
      bothDirections: "STATUS_FWP_INVALID_PARAMETER",
      wrongDisconnect: "STATUS_FWP_INVALID_PARAMETER",
      abortFlag: "STATUS_FWP_INVALID_PARAMETER",
      nullCompletion: "STATUS_FWP_NULL_POINTER",
      nullDataNoDisconnect: "STATUS_FWP_NULL_POINTER",
      notAHandle: "STATUS_INVALID_PARAMETER",
      foreignNbl: "STATUS_INVALID_PARAMETER",
    });
    assert.equal(h.received(), "x", "nothing was injected");
    h.stack.run();
    assert.deepEqual(h.completions, [], "a refused injection never completes (D35)");
    // Out of band, outside the allowed states.
    assert.equal(h.inject(c, SF.FWPS_STREAM_FLAG_RECEIVE, "oob"), "STATUS_INVALID_DEVICE_STATE");
  });

  it("handles: a destroyed one is closing, one without the stream type is stale", () => {
    const h = harness();
    const fw = h.shim.fwps;
    const net = fw.injectionHandleCreate("AF_INET", FWPS_INJECTION_TYPE.FWPS_INJECTION_TYPE_NETWORK).handle;
    const gone = fw.injectionHandleCreate("AF_UNSPEC", 0).handle;
    fw.injectionHandleDestroy(gone);
    const got: NtStatus[] = [];
    h.callout((_io, out, ctx) => {
      for (const handle of [net, gone])
        got.push(
          fw.streamInjectAsync(
            handle,
            null,
            0,
            ctx.flowId,
            ctx.calloutId,
            STREAM_V4,
            SF.FWPS_STREAM_FLAG_SEND,
            h.nbl("a"),
            1,
            h.done,
            null,
          ),
        );
      permit(out);
    });
    h.stream.send(text("s"));
    assert.deepEqual(got, ["STATUS_FWP_INJECT_HANDLE_STALE", "STATUS_FWP_INJECT_HANDLE_CLOSING"]);
  });

  it("into a closed flow, and after the stage's disconnect went down, injection fails", () => {
    const h = harness();
    const c = h.callout((_io, out) => permit(out));
    h.stream.sendFin();
    assert.equal(h.inject(c, SF.FWPS_STREAM_FLAG_SEND, "late"), "STATUS_INVALID_DEVICE_STATE");
    h.stream.close();
    assert.equal(h.inject(c, SF.FWPS_STREAM_FLAG_SEND, "later"), "STATUS_INVALID_PARAMETER");
  });

  it("inline injection into the other direction of the flow goes down that direction after the classification", () => {
    const h = harness();
    h.callout((io, out, ctx) => {
      if ((io.streamData.flags & SF.FWPS_STREAM_FLAG_RECEIVE) !== 0 && str(io.streamData.data) === "ping") {
        assert.equal(h.inject(ctx, SF.FWPS_STREAM_FLAG_SEND, "pong"), "STATUS_SUCCESS");
        out.actionType = "FWP_ACTION_BLOCK";
        out.rights = 0;
      } else permit(out);
    });
    h.stream.receive(text("ping"));
    assert.equal(h.received(), "");
    assert.equal(h.sent(), "pong");
  });
});

describe("out-of-band editing (E18): clone, block, inject later", () => {
  it("clones every indication, blocks it, and re-injects edited data in order, then the FIN", () => {
    const h = harness();
    const queue: { data: Uint8Array; fin: boolean }[] = [];
    const editor = h.callout((io, out) => {
      const clone = h.shim.fwps.cloneStreamData(io.streamData, null, null, 0);
      assert.equal(clone.status, "STATUS_SUCCESS");
      const nbl = clone.netBufferListChain as NetBufferList;
      queue.push({
        data: nbl.bytes.slice(nbl.dataOffset, nbl.end),
        fin: (io.streamData.flags & SF.FWPS_STREAM_FLAG_RECEIVE_DISCONNECT) !== 0,
      });
      h.shim.fwps.discardClonedStreamData(nbl, 0, false);
      out.actionType = "FWP_ACTION_BLOCK";
      out.rights = 0;
      io.countBytesEnforced = 0;
    });
    const lower = h.callout((_io, out) => permit(out));
    h.stream.receive(text("abc"));
    h.stream.receive(text("def"));
    h.stream.receiveFin();
    assert.equal(h.received(), "");
    assert.equal(h.app.finIn, 0, "the FIN is pended with the data");
    // The worker, out of band.
    for (const item of queue) {
      if (item.data.length > 0)
        assert.equal(h.inject(editor, SF.FWPS_STREAM_FLAG_RECEIVE, str(item.data).toUpperCase()), "STATUS_SUCCESS");
      if (item.fin)
        assert.equal(
          h.inject(editor, SF.FWPS_STREAM_FLAG_RECEIVE | SF.FWPS_STREAM_FLAG_RECEIVE_DISCONNECT, null),
          "STATUS_SUCCESS",
        );
    }
    assert.equal(h.received(), "", "injected data goes down after the current event");
    h.stack.run();
    assert.equal(h.received(), "ABCDEF");
    assert.equal(h.app.finIn, 1);
    assert.deepEqual(
      editor.seen.map((s) => s.data),
      ["abc", "def", ""],
      "the editor never sees its own data",
    );
    assert.deepEqual(
      lower.seen.map((s) => s.data),
      ["ABC", "DEF", ""],
      "the lower callout sees the injected data",
    );
    assert.deepEqual(
      h.completions,
      ["ABC:STATUS_SUCCESS", "DEF:STATUS_SUCCESS"],
      "no completion for the data-less FIN",
    );
  });

  it("copyStreamDataToBuffer copies the leading bytes", () => {
    const h = harness();
    let copied = "";
    h.callout((io, out) => {
      const buf = new Uint8Array(3);
      const n = h.shim.fwps.copyStreamDataToBuffer(io.streamData, buf, 3);
      copied = str(buf.subarray(0, n));
      permit(out);
    });
    h.stream.send(text("abcdef"));
    assert.equal(copied, "abc");
  });
});
