/**
 * FwpsFlowAssociateContext0 / FwpsFlowRemoveContext0 / FwpsFlowAbort0 on a bare shim (D14–D18): what each
 * returns, where a context is delivered, when flowDeleteFn runs. The lifecycle through real connections is
 * in src/stack/flow-contexts.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv4Address, ManualClock } from "../../base/index.ts";
import { FilterEngine } from "../../engine/index.ts";
import { type FwpmLayerName, getLayer, LAYERS } from "../../fwp/index.ts";
import type { ClassifyFacts } from "../facts.ts";
import type { AleFlow } from "../flows.ts";
import { Shim } from "../shim.ts";
import { addCallout, registerCallout } from "./callout-fixtures.testing.ts";
import { layerHasFlows } from "./flow-context.ts";

const v4 = (s: string) => Ipv4Address.parse(s);
const facts: ClassifyFacts = {
  ipVersion: 4,
  direction: "outbound",
  protocol: 6,
  localAddress: v4("10.0.0.1"),
  remoteAddress: v4("10.0.0.2"),
  localPort: 50000,
  remotePort: 80,
};

function setup() {
  const engine = new FilterEngine();
  const shim = new Shim({ engine, clock: new ManualClock(1n) });
  const deleted: [number, number, bigint][] = [];
  const seen: bigint[] = [];
  const stream = addCallout(
    engine,
    "FWPM_LAYER_STREAM_V4",
    (_v, _m, _d, _c, _f, flowContext, out) => {
      seen.push(flowContext);
      out.actionType = "FWP_ACTION_CONTINUE";
    },
    { flowDeleteFn: (layerId, calloutId, ctx) => deleted.push([layerId, calloutId, ctx]) },
  );
  const flow = shim.createFlow("", getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4"), facts, "outbound", 6);
  const streamLayer = getLayer("FWPM_LAYER_STREAM_V4");
  const classifyStream = (f: AleFlow = flow) =>
    shim.classify(streamLayer, { facts, flow: f, packet: "data", metadata: { flowHandle: f.flowHandle } });
  return { engine, shim, deleted, seen, stream, flow, streamLayer, classifyStream };
}

describe("FwpsFlowAssociateContext0 (D14, D15)", () => {
  it("a context is delivered as flowContext to the callout at the layer it names, 0 elsewhere and on other flows", () => {
    const { shim, seen, stream, flow, streamLayer, classifyStream } = setup();
    assert.equal(
      shim.fwps.flowAssociateContext(flow.flowHandle, streamLayer.runtimeId, stream.calloutId, 42n),
      "STATUS_SUCCESS",
    );
    classifyStream();
    const other = shim.createFlow("", getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4"), facts, "outbound", 6);
    classifyStream(other);
    assert.deepEqual(seen, [42n, 0n]);
  });

  it("a context for another layer of the flow is not delivered at this one (D18)", () => {
    const { shim, seen, stream, flow, classifyStream } = setup();
    const established = getLayer("FWPM_LAYER_ALE_FLOW_ESTABLISHED_V4");
    assert.equal(
      shim.fwps.flowAssociateContext(flow.flowHandle, established.runtimeId, stream.calloutId, 7n),
      "STATUS_SUCCESS",
    );
    classifyStream();
    assert.deepEqual(seen, [0n]);
  });

  it("refuses context 0, a callout without flowDeleteFn, an unknown flow, an unregistered callout (STATUS_INVALID_PARAMETER / CALLOUT_NOT_FOUND)", () => {
    const { engine, shim, stream, flow, streamLayer } = setup();
    const id = streamLayer.runtimeId;
    assert.equal(shim.fwps.flowAssociateContext(flow.flowHandle, id, stream.calloutId, 0n), "STATUS_INVALID_PARAMETER");
    const noDelete = registerCallout(engine, "FWPM_LAYER_STREAM_V4", () => {});
    assert.equal(
      shim.fwps.flowAssociateContext(flow.flowHandle, id, noDelete.calloutId, 1n),
      "STATUS_INVALID_PARAMETER",
    );
    assert.equal(shim.fwps.flowAssociateContext(9999n, id, stream.calloutId, 1n), "STATUS_INVALID_PARAMETER");
    const unregistered = addCallout(engine, "FWPM_LAYER_STREAM_V4", () => {}, { unregistered: true });
    assert.equal(
      shim.fwps.flowAssociateContext(flow.flowHandle, id, unregistered.calloutId, 1n),
      "STATUS_FWP_CALLOUT_NOT_FOUND",
    );
    assert.equal(
      shim.fwps.flowAssociateContext(flow.flowHandle, 4242, stream.calloutId, 1n),
      "STATUS_FWP_LAYER_NOT_FOUND",
    );
  });

  it("a second context of the same callout on the flow is STATUS_OBJECT_NAME_EXISTS; another callout may add its own", () => {
    const { engine, shim, stream, flow, streamLayer } = setup();
    const id = streamLayer.runtimeId;
    assert.equal(shim.fwps.flowAssociateContext(flow.flowHandle, id, stream.calloutId, 1n), "STATUS_SUCCESS");
    assert.equal(
      shim.fwps.flowAssociateContext(flow.flowHandle, id, stream.calloutId, 2n),
      "STATUS_OBJECT_NAME_EXISTS",
    );
    const dd = getLayer("FWPM_LAYER_DATAGRAM_DATA_V4").runtimeId;
    assert.equal(
      shim.fwps.flowAssociateContext(flow.flowHandle, dd, stream.calloutId, 2n),
      "STATUS_OBJECT_NAME_EXISTS",
    );
    const other = registerCallout(engine, "FWPM_LAYER_STREAM_V4", () => {}, { flowDeleteFn: () => {} });
    assert.equal(shim.fwps.flowAssociateContext(flow.flowHandle, id, other.calloutId, 3n), "STATUS_SUCCESS");
  });

  const noFlowLayers: FwpmLayerName[] = [
    "FWPM_LAYER_INBOUND_IPPACKET_V4",
    "FWPM_LAYER_OUTBOUND_IPPACKET_V6",
    "FWPM_LAYER_IPFORWARD_V4",
    "FWPM_LAYER_INBOUND_ICMP_ERROR_V4",
    "FWPM_LAYER_OUTBOUND_ICMP_ERROR_V6",
    "FWPM_LAYER_ALE_RESOURCE_ASSIGNMENT_V4",
    "FWPM_LAYER_ALE_RESOURCE_RELEASE_V4",
    "FWPM_LAYER_ALE_AUTH_LISTEN_V6",
    "FWPM_LAYER_ALE_ENDPOINT_CLOSURE_V4",
    "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4",
    "FWPM_LAYER_ALE_BIND_REDIRECT_V6",
  ];
  for (const name of noFlowLayers) {
    it(`refuses a layer without flows: ${name.replace("FWPM_LAYER_", "")} → STATUS_FWP_INCOMPATIBLE_LAYER`, () => {
      const { shim, stream, flow } = setup();
      assert.equal(
        shim.fwps.flowAssociateContext(flow.flowHandle, getLayer(name).runtimeId, stream.calloutId, 5n),
        "STATUS_FWP_INCOMPATIBLE_LAYER",
      );
    });
  }

  it("accepts every layer where FLOW_HANDLE exists (D14), discard twins included", () => {
    const flowLayers = LAYERS.filter((l) => layerHasFlows(l)).map((l) => l.fwpsName.replace("FWPS_LAYER_", ""));
    for (const want of [
      "INBOUND_TRANSPORT_V4",
      "OUTBOUND_TRANSPORT_V6_DISCARD",
      "STREAM_V4",
      "DATAGRAM_DATA_V6",
      "ALE_AUTH_CONNECT_V4",
      "ALE_AUTH_RECV_ACCEPT_V6",
      "ALE_FLOW_ESTABLISHED_V4",
      "STREAM_PACKET_V6",
    ])
      assert.ok(flowLayers.includes(want), want);
    const { shim, engine, flow } = setup();
    for (const l of LAYERS.filter((x) => layerHasFlows(x))) {
      const c = registerCallout(engine, "FWPM_LAYER_STREAM_V4", () => {}, { flowDeleteFn: () => {} });
      assert.equal(
        shim.fwps.flowAssociateContext(flow.flowHandle, l.runtimeId, c.calloutId, 1n),
        "STATUS_SUCCESS",
        l.fwpsName,
      );
    }
  });
});

describe("FwpsFlowRemoveContext0 (D16)", () => {
  it("STATUS_SUCCESS: flowDeleteFn runs before it returns, with the layer, callout and context; the context is gone", () => {
    const { shim, deleted, seen, stream, flow, streamLayer, classifyStream } = setup();
    shim.fwps.flowAssociateContext(flow.flowHandle, streamLayer.runtimeId, stream.calloutId, 9n);
    assert.equal(
      shim.fwps.flowRemoveContext(flow.flowHandle, streamLayer.runtimeId, stream.calloutId),
      "STATUS_SUCCESS",
    );
    assert.deepEqual(deleted, [[streamLayer.runtimeId, stream.calloutId, 9n]]);
    classifyStream();
    assert.deepEqual(seen, [0n]);
    shim.closeFlow(flow);
    assert.equal(deleted.length, 1, "not deleted twice");
  });

  it("STATUS_UNSUCCESSFUL without a context (none, another layer, an ended flow)", () => {
    const { shim, stream, flow, streamLayer } = setup();
    assert.equal(
      shim.fwps.flowRemoveContext(flow.flowHandle, streamLayer.runtimeId, stream.calloutId),
      "STATUS_UNSUCCESSFUL",
    );
    shim.fwps.flowAssociateContext(flow.flowHandle, streamLayer.runtimeId, stream.calloutId, 9n);
    const dd = getLayer("FWPM_LAYER_DATAGRAM_DATA_V4").runtimeId;
    assert.equal(shim.fwps.flowRemoveContext(flow.flowHandle, dd, stream.calloutId), "STATUS_UNSUCCESSFUL");
    shim.closeFlow(flow);
    assert.equal(
      shim.fwps.flowRemoveContext(flow.flowHandle, streamLayer.runtimeId, stream.calloutId),
      "STATUS_UNSUCCESSFUL",
    );
  });

  it("STATUS_PENDING inside a classification of the flow: flowDeleteFn runs once that classification returns", () => {
    const engine = new FilterEngine();
    const shim = new Shim({ engine, clock: new ManualClock(1n) });
    const events: string[] = [];
    const streamLayer = getLayer("FWPM_LAYER_STREAM_V4");
    let status = "";
    const c = addCallout(
      engine,
      "FWPM_LAYER_STREAM_V4",
      (_v, meta, _d, _c, _f, flowContext, out) => {
        events.push(`classify ${flowContext}`);
        status = shim.fwps.flowRemoveContext(meta?.flowHandle as bigint, streamLayer.runtimeId, c.calloutId);
        events.push(`removed ${status}`);
        out.actionType = "FWP_ACTION_CONTINUE";
      },
      { flowDeleteFn: (_l, _c, ctx) => events.push(`flowDeleteFn ${ctx}`) },
    );
    const flow = shim.createFlow("", getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4"), facts, "outbound", 6);
    shim.fwps.flowAssociateContext(flow.flowHandle, streamLayer.runtimeId, c.calloutId, 5n);
    shim.classify(streamLayer, { facts, flow, packet: "data" });
    events.push("returned");
    assert.equal(status, "STATUS_PENDING");
    assert.deepEqual(events, ["classify 5", "removed STATUS_PENDING", "flowDeleteFn 5", "returned"]);
  });
});

describe("flowDeleteFn when a flow ends (D17)", () => {
  it("runs once per context — each callout's own — when the flow closes, never for a flow without context", () => {
    const { engine, shim, deleted, stream, flow, streamLayer } = setup();
    const second: bigint[] = [];
    const other = registerCallout(engine, "FWPM_LAYER_DATAGRAM_DATA_V4", () => {}, {
      flowDeleteFn: (_l, _c, ctx) => second.push(ctx),
    });
    shim.fwps.flowAssociateContext(flow.flowHandle, streamLayer.runtimeId, stream.calloutId, 1n);
    shim.fwps.flowAssociateContext(
      flow.flowHandle,
      getLayer("FWPM_LAYER_DATAGRAM_DATA_V4").runtimeId,
      other.calloutId,
      2n,
    );
    const bare = shim.createFlow("", getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4"), facts, "outbound", 6);
    shim.closeFlow(bare);
    assert.deepEqual(deleted, []);
    shim.closeFlow(flow);
    shim.closeFlow(flow);
    assert.deepEqual(deleted, [[streamLayer.runtimeId, stream.calloutId, 1n]]);
    assert.deepEqual(second, [2n]);
  });

  it("runs for a UDP flow that idles out and for one evicted from a full table", () => {
    const engine = new FilterEngine();
    const clock = new ManualClock(1n);
    const shim = new Shim({ engine, clock, flows: { capacity: 2, idleNs: 1000n } });
    const deleted: bigint[] = [];
    const c = registerCallout(engine, "FWPM_LAYER_DATAGRAM_DATA_V4", () => {}, {
      flowDeleteFn: (_l, _c, ctx) => deleted.push(ctx),
    });
    const dd = getLayer("FWPM_LAYER_DATAGRAM_DATA_V4").runtimeId;
    const auth = getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    const a = shim.createFlow("a", auth, { ...facts, protocol: 17 }, "outbound", 17);
    shim.fwps.flowAssociateContext(a.flowHandle, dd, c.calloutId, 1n);
    clock.advanceNs(2000n);
    shim.flows.expire(clock.nowNs());
    assert.deepEqual(deleted, [1n]);
    const b = shim.createFlow("b", auth, { ...facts, protocol: 17 }, "outbound", 17);
    shim.fwps.flowAssociateContext(b.flowHandle, dd, c.calloutId, 2n);
    shim.createFlow("c", auth, { ...facts, protocol: 17 }, "outbound", 17);
    shim.createFlow("d", auth, { ...facts, protocol: 17 }, "outbound", 17);
    assert.deepEqual(deleted, [1n, 2n], "evicted");
  });

  it("FwpsFlowAbort0 without a stack ends the flow at once; an unknown flow is STATUS_INVALID_PARAMETER", () => {
    const { shim, deleted, stream, flow, streamLayer } = setup();
    shim.fwps.flowAssociateContext(flow.flowHandle, streamLayer.runtimeId, stream.calloutId, 3n);
    assert.equal(shim.fwps.flowAbort(flow.flowHandle), "STATUS_SUCCESS");
    assert.equal(flow.state, "closed");
    assert.deepEqual(deleted, [[streamLayer.runtimeId, stream.calloutId, 3n]]);
    assert.equal(shim.fwps.flowAbort(flow.flowHandle), "STATUS_INVALID_PARAMETER");
  });
});

describe("FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW (D5, D8)", () => {
  it("the callout is invoked only on flows that carry its context", () => {
    const engine = new FilterEngine();
    const shim = new Shim({ engine, clock: new ManualClock(1n) });
    const seen: bigint[] = [];
    const c = addCallout(
      engine,
      "FWPM_LAYER_STREAM_V4",
      (_v, _m, _d, _c, _f, ctx, out) => {
        seen.push(ctx);
        out.actionType = "FWP_ACTION_CONTINUE";
      },
      { flags: 0x1, flowDeleteFn: () => {} },
    );
    const auth = getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    const stream = getLayer("FWPM_LAYER_STREAM_V4");
    const withContext = shim.createFlow("", auth, facts, "outbound", 6);
    const without = shim.createFlow("", auth, facts, "outbound", 6);
    shim.fwps.flowAssociateContext(withContext.flowHandle, stream.runtimeId, c.calloutId, 77n);
    shim.classify(stream, { facts, flow: without, packet: "data" });
    shim.classify(stream, { facts, flow: withContext, packet: "data" });
    shim.classify(stream, { facts, packet: "data" });
    assert.deepEqual(seen, [77n]);
  });
});

describe("FwpsCalloutUnregisterByKey0 / ById0 (D3)", () => {
  it("STATUS_DEVICE_BUSY while a flow carries the callout's context; success once it is removed", () => {
    const { engine, shim, deleted, stream, flow, streamLayer } = setup();
    assert.equal(
      shim.fwps.flowAssociateContext(flow.flowHandle, streamLayer.runtimeId, stream.calloutId, 5n),
      "STATUS_SUCCESS",
    );
    assert.equal(shim.fwps.calloutUnregisterByKey(stream.calloutKey), "STATUS_DEVICE_BUSY");
    assert.equal(shim.fwps.calloutUnregisterById(stream.calloutId), "STATUS_DEVICE_BUSY");
    assert.equal(engine.isCalloutRegistered(stream.calloutKey), true, "still registered");
    assert.equal(
      shim.fwps.flowRemoveContext(flow.flowHandle, streamLayer.runtimeId, stream.calloutId),
      "STATUS_SUCCESS",
    );
    assert.deepEqual(deleted, [[streamLayer.runtimeId, stream.calloutId, 5n]]);
    assert.equal(shim.fwps.calloutUnregisterByKey(stream.calloutKey), "STATUS_SUCCESS");
    assert.equal(engine.isCalloutRegistered(stream.calloutKey), false);
    assert.equal(shim.fwps.calloutUnregisterByKey(stream.calloutKey), "STATUS_FWP_CALLOUT_NOT_FOUND");
    assert.equal(shim.fwps.calloutUnregisterById(stream.calloutId), "STATUS_FWP_CALLOUT_NOT_FOUND");
  });

  it("a flow that ended takes its contexts with it: unregistering then succeeds, by id", () => {
    const { engine, shim, stream, flow, streamLayer } = setup();
    shim.fwps.flowAssociateContext(flow.flowHandle, streamLayer.runtimeId, stream.calloutId, 9n);
    assert.equal(shim.fwps.calloutUnregisterById(stream.calloutId), "STATUS_DEVICE_BUSY");
    shim.closeFlow(flow);
    assert.equal(shim.fwps.calloutUnregisterById(stream.calloutId), "STATUS_SUCCESS");
    assert.equal(engine.isCalloutRegistered(stream.calloutKey), false);
  });
});
