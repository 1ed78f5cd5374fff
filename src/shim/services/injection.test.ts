/**
 * The injection service on its own (no simulated stack): injection state from tags (D33), clones (D40),
 * data offsets, the order of the argument checks, and completion after the deferred re-entry (D35),
 * over a recording StackHooks.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv4Address } from "../../base/index.ts";
import { FilterEngine } from "../../engine/index.ts";
import type { InjectionTag, PacketLayerData } from "../packet.ts";
import { Shim } from "../shim.ts";
import {
  FWPS_INJECTION_TYPE,
  type InjectionHandle,
  type InjectionRequest,
  type NetBufferList,
  ndisAdvanceNetBufferDataStart,
  ndisRetreatNetBufferDataStart,
  packetInjectionState,
} from "./injection.ts";
import type { StackHooks } from "./stack-hooks.ts";
import type { NtStatus } from "./status.ts";

const NETWORK = FWPS_INJECTION_TYPE.FWPS_INJECTION_TYPE_NETWORK;

/** A stack that records requests and runs deferred work when told. */
class RecordingStack implements StackHooks {
  readonly deferred: (() => void)[] = [];
  readonly checked: InjectionRequest[] = [];
  readonly injected: InjectionRequest[] = [];
  refuse: NtStatus = "STATUS_SUCCESS";
  result: NtStatus = "STATUS_SUCCESS";
  defer(fn: () => void): void {
    this.deferred.push(fn);
  }
  checkInjection(r: InjectionRequest): NtStatus {
    this.checked.push(r);
    return this.refuse;
  }
  injectPacket(r: InjectionRequest): NtStatus {
    this.injected.push(r);
    return this.result;
  }
  runDeferred(): void {
    for (const fn of this.deferred.splice(0)) fn();
  }
}

function setup() {
  const shim = new Shim({ engine: new FilterEngine(), clock: { nowNs: () => 0n } });
  const stack = new RecordingStack();
  shim.attachStack(stack);
  return { shim, stack, fwps: shim.fwps };
}

/** An IPv4 UDP packet as INBOUND_IPPACKET indicates it (data offset after the 20-byte IP header). */
function inboundPacket(tag?: InjectionTag): PacketLayerData {
  const bytes = new Uint8Array(28);
  bytes[0] = 0x45;
  return {
    kind: "packet",
    bytes,
    ipOffset: 0,
    transportOffset: 20,
    payloadOffset: 28,
    end: 28,
    dataOffset: 20,
    ...(tag !== undefined ? { injection: tag } : {}),
  };
}

describe("FwpsQueryPacketInjectionState0 from a packet's tag (D33)", () => {
  const self = {};
  const other = {};
  const h = self as InjectionHandle;

  it("no tag: NOT_INJECTED; the handle's own tag: INJECTED_BY_SELF with its context", () => {
    assert.deepEqual(packetInjectionState(h, inboundPacket()), { state: 0, injectionContext: null });
    assert.deepEqual(packetInjectionState(h, inboundPacket({ handle: self, context: "mine" })), {
      state: 1,
      injectionContext: "mine",
    });
  });

  it("another handle's tag: INJECTED_BY_OTHER, no context", () => {
    assert.deepEqual(packetInjectionState(h, inboundPacket({ handle: other, context: "theirs" })), {
      state: 2,
      injectionContext: null,
    });
  });

  it("re-injected by another after this handle: PREVIOUSLY_INJECTED_BY_SELF with this handle's context", () => {
    const tag = {
      handle: other,
      context: "b",
      previous: { handle: {}, context: "c", previous: { handle: self, context: "a" } },
    };
    assert.deepEqual(packetInjectionState(h, inboundPacket(tag)), { state: 3, injectionContext: "a" });
  });

  it("anything that is not a packet (no layer data, stream data, a redirect request): NOT_INJECTED", () => {
    for (const x of [undefined, null, 7, { kind: "stream" }, { kind: "connect-request" }])
      assert.equal(packetInjectionState(h, x).state, 0);
  });
});

describe("clones and data offsets (D40, D.8)", () => {
  it("a clone shares the bytes, keeps the offsets and the tag, and names its parent", () => {
    const { fwps } = setup();
    const tag = { handle: {}, context: 1 };
    const original = inboundPacket(tag);
    const { status, netBufferList: c } = fwps.allocateCloneNetBufferList(original);
    assert.equal(status, "STATUS_SUCCESS");
    assert.ok(c !== null);
    assert.equal(c.bytes, original.bytes);
    assert.equal(c.dataOffset, 20);
    assert.equal(c.injection, tag);
    assert.equal(c.parent, original);
    assert.equal(fwps.allocateCloneNetBufferList({ kind: "stream" }).status, "STATUS_INVALID_PARAMETER");
  });

  it("retreat and advance move the data offset within the buffer only", () => {
    const { fwps } = setup();
    const c = fwps.allocateCloneNetBufferList(inboundPacket()).netBufferList as NetBufferList;
    assert.equal(ndisRetreatNetBufferDataStart(c, 20), "STATUS_SUCCESS");
    assert.equal(c.dataOffset, 0);
    assert.equal(ndisRetreatNetBufferDataStart(c, 1), "STATUS_INVALID_PARAMETER", "no backfill before the buffer");
    assert.equal(ndisAdvanceNetBufferDataStart(c, 28), "STATUS_SUCCESS");
    assert.equal(ndisAdvanceNetBufferDataStart(c, 1), "STATUS_INVALID_PARAMETER");
  });

  it("FwpsAllocateNetBufferAndNetBufferList0 describes the caller's bytes, IP or transport header first", () => {
    const { fwps } = setup();
    const data = new Uint8Array(40);
    const ip = fwps.allocateNetBufferAndNetBufferList(data, 4, 30).netBufferList as NetBufferList;
    assert.deepEqual([ip.ipOffset, ip.dataOffset, ip.end, ip.parent], [4, 4, 34, null]);
    const tr = fwps.allocateNetBufferAndNetBufferList(data, 0, 8, "transport").netBufferList as NetBufferList;
    assert.deepEqual([tr.ipOffset, tr.transportOffset], [-1, 0]);
    assert.equal(fwps.allocateNetBufferAndNetBufferList(data, 30, 20).status, "STATUS_INVALID_PARAMETER");
  });
});

describe("an injection call", () => {
  it("returns at once; the stack re-enters it later, then completionFn runs with the NBL's status (D35)", () => {
    const { fwps, stack } = setup();
    const h = fwps.injectionHandleCreate("AF_INET", NETWORK).handle as InjectionHandle;
    const c = fwps.allocateCloneNetBufferList(inboundPacket()).netBufferList as NetBufferList;
    ndisRetreatNetBufferDataStart(c, 20);
    const completed: [unknown, NtStatus][] = [];
    stack.result = "STATUS_UNSUCCESSFUL";
    const status = fwps.injectNetworkReceiveAsync(
      h,
      "ctx",
      0,
      1,
      2,
      0,
      c,
      (ctx, n) => completed.push([ctx, n.status]),
      "cc",
    );
    assert.equal(status, "STATUS_SUCCESS");
    assert.equal(stack.injected.length, 0, "nothing happens inside the call");
    assert.equal(h.outstanding, 1);
    assert.equal(
      fwps.injectNetworkReceiveAsync(h, "ctx", 0, 1, 2, 0, c, () => {}, null),
      "STATUS_INVALID_PARAMETER",
      "an NBL being injected cannot be injected again",
    );
    stack.runDeferred();
    const r = stack.injected[0] as InjectionRequest;
    assert.equal(r.kind, "network-receive");
    assert.equal(r.ipVersion, 4);
    assert.equal(r.interfaceIndex, 2);
    assert.equal(r.packet.length, 28, "from the data offset to the end");
    assert.deepEqual(r.tag, { handle: h, context: "ctx" });
    assert.deepEqual(completed, [["cc", "STATUS_UNSUCCESSFUL"]]);
    assert.equal(h.outstanding, 0);
  });

  it("re-injecting an injected packet's clone chains the tags (the history behind PREVIOUSLY_INJECTED_BY_SELF)", () => {
    const { fwps, stack } = setup();
    const h = fwps.injectionHandleCreate("AF_INET", NETWORK).handle as InjectionHandle;
    const earlier = { handle: {}, context: "first" };
    const c = fwps.allocateCloneNetBufferList(inboundPacket(earlier)).netBufferList as NetBufferList;
    ndisRetreatNetBufferDataStart(c, 20);
    fwps.injectNetworkReceiveAsync(h, null, 0, 0, 2, 0, c, () => {}, null);
    assert.deepEqual(stack.checked[0]?.tag, { handle: h, context: null, previous: earlier });
  });

  it("the stack's refusal is the call's status, and no completion follows", () => {
    const { fwps, stack } = setup();
    const h = fwps.injectionHandleCreate("AF_UNSPEC", 0).handle as InjectionHandle;
    const c = fwps.allocateNetBufferAndNetBufferList(new Uint8Array(8), 0, 8, "transport").netBufferList;
    stack.refuse = "STATUS_INVALID_PARAMETER";
    let completions = 0;
    const args = { remoteAddress: Ipv4Address.parse("10.0.0.2") };
    const s = fwps.injectTransportSendAsync(h, null, 5n, 0, args, "AF_INET", 1, c, () => completions++, null);
    assert.equal(s, "STATUS_INVALID_PARAMETER");
    stack.runDeferred();
    assert.equal(completions, 0);
    assert.equal(fwps.packetInjection.counters.refused, 1);
  });

  it("a handle of another host is not this host's: STATUS_INVALID_PARAMETER", () => {
    const a = setup();
    const b = setup();
    const h = b.fwps.injectionHandleCreate("AF_INET", NETWORK).handle;
    const c = a.fwps.allocateCloneNetBufferList(inboundPacket()).netBufferList as NetBufferList;
    ndisRetreatNetBufferDataStart(c, 20);
    assert.equal(
      a.fwps.injectNetworkReceiveAsync(h, null, 0, 1, 2, 0, c, () => {}, null),
      "STATUS_INVALID_PARAMETER",
    );
  });

  it("transport receive: the reserved parameter must be null", () => {
    const { fwps } = setup();
    const h = fwps.injectionHandleCreate("AF_UNSPEC", 0).handle;
    const c = fwps.allocateCloneNetBufferList(inboundPacket()).netBufferList as NetBufferList;
    ndisRetreatNetBufferDataStart(c, 20);
    const s = fwps.injectTransportReceiveAsync(h, null, {}, 0, "AF_INET", 1, 2, 0, c, () => {}, null);
    assert.equal(s, "STATUS_INVALID_PARAMETER");
    assert.equal(
      fwps.injectTransportReceiveAsync(h, null, null, 0, "AF_INET", 1, 2, 0, c, () => {}, null),
      "STATUS_SUCCESS",
    );
  });

  it("a clone made while classifying remembers the layer and ALE_CLASSIFY_REQUIRED of its indication", () => {
    const { shim, fwps } = setup();
    const engine = shim.engine;
    const h = fwps.injectionHandleCreate("AF_UNSPEC", 0).handle;
    const statuses: NtStatus[] = [];
    const key = "c0ffee00-0000-4000-8000-0000000000aa";
    engine.addCallout({ calloutKey: key, name: "x", applicableLayer: "FWPM_LAYER_INBOUND_TRANSPORT_V4" });
    engine.registerCallout({
      calloutKey: key,
      classifyFn: (_v, _m, data, _c, _f, _fl, out) => {
        const clone = fwps.allocateCloneNetBufferList(data).netBufferList as NetBufferList;
        clone.dataOffset = 0;
        statuses.push(fwps.injectTransportReceiveAsync(h, null, null, 0, "AF_INET", 1, 2, 0, clone, () => {}, null));
        out.actionType = "FWP_ACTION_PERMIT";
      },
    });
    engine.addFilter({
      name: "x",
      layer: "FWPM_LAYER_INBOUND_TRANSPORT_V4",
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: key },
    });
    for (const aleClassifyRequired of [true, false])
      shim.classifyAt("INBOUND_TRANSPORT", {
        facts: { ipVersion: 4, direction: "inbound", protocol: 17 },
        layerData: inboundPacket(),
        metadata: { aleClassifyRequired },
      });
    assert.deepEqual(statuses, ["STATUS_FWP_INCOMPATIBLE_LAYER", "STATUS_SUCCESS"]);
    assert.equal(shim.indication, undefined, "outside classify there is no indication");
  });
});
