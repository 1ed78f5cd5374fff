import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Ipv4Address, ManualClock } from "../../base/index.ts";
import { incoming, testGuid } from "../../engine/engine-fixtures.testing.ts";
import { CLASSIFY_OUT_FLAG_ABSORB, FilterEngine } from "../../engine/index.ts";
import { FWPM_NET_EVENT_FLAG as F, fwpUint8, fwpUint64, getLayer } from "../../fwp/index.ts";
import { FILETIME_UNIX_EPOCH, filetimeFromEpochNs } from "./filetime.ts";
import { netEventFromClassify } from "./from-classify.ts";

const CONNECT = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
const CONNECT_DISCARD = "FWPM_LAYER_ALE_AUTH_CONNECT_V4_DISCARD";
const TRANSPORT = "FWPM_LAYER_OUTBOUND_TRANSPORT_V4";
const TCP = { FWPM_CONDITION_IP_PROTOCOL: fwpUint8(6) };
const OUT = {
  direction: "outbound",
  ipProtocol: 6,
  localAddr: Ipv4Address.parse("192.168.1.17"),
  remoteAddr: Ipv4Address.parse("20.212.88.117"),
  localPort: 49704,
  remotePort: 443,
} as const;

/** Two sublayers: `high` (weight 0x200) evaluated before `low` (weight 0x100). */
function twoSublayers(): { engine: FilterEngine; high: string; low: string } {
  const engine = new FilterEngine();
  const high = engine.addSublayer({ subLayerKey: testGuid(0x51), name: "high", weight: 0x200 }).subLayerKey;
  const low = engine.addSublayer({ subLayerKey: testGuid(0x52), name: "low", weight: 0x100 }).subLayerKey;
  return { engine, high, low };
}

describe("netEventFromClassify (H34–H36)", () => {
  test("a hard block in the higher sublayer gives CLASSIFY_DROP naming it, with both sublayers' terminating filters in order", () => {
    const { engine, high, low } = twoSublayers();
    const block = engine.addFilter({ name: "b", layer: CONNECT, sublayer: high, action: { type: "FWP_ACTION_BLOCK" } });
    const permit = engine.addFilter({
      name: "p",
      layer: CONNECT,
      sublayer: low,
      action: { type: "FWP_ACTION_PERMIT" },
    });
    const clock = new ManualClock(1_729_630_133_891_000_000n);
    const result = engine.classify({ layer: CONNECT, incomingValues: incoming(CONNECT, TCP) });
    const event = netEventFromClassify(result, OUT, clock.nowNs());
    assert.ok(event !== null && event.type === "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP");
    assert.equal(event.classifyDrop.filterId, block.filterId);
    // H35: ALE_AUTH_CONNECT_V4 has run-time layer id 48.
    assert.equal(event.classifyDrop.layerId, 48);
    assert.equal(event.classifyDrop.msFwpDirection, "MS_FWP_DIRECTION_OUT");
    assert.equal(event.classifyDrop.vetoed, false);
    assert.deepEqual(event.internalFields.terminatingFiltersInfo, [
      { filterId: block.filterId, subLayer: high, actionType: "FWP_ACTION_BLOCK" },
      { filterId: permit.filterId, subLayer: low, actionType: "FWP_ACTION_PERMIT" },
    ]);
    // 2024-10-22T20:48:53.891Z as FILETIME.
    assert.equal(event.header.timeStamp, 133_741_037_338_910_000n);
    assert.equal(event.header.ipVersion, "FWP_IP_VERSION_V4");
    assert.equal(event.header.remotePort, 443);
    const expected =
      F.FWPM_NET_EVENT_FLAG_IP_PROTOCOL_SET |
      F.FWPM_NET_EVENT_FLAG_LOCAL_ADDR_SET |
      F.FWPM_NET_EVENT_FLAG_REMOTE_ADDR_SET |
      F.FWPM_NET_EVENT_FLAG_LOCAL_PORT_SET |
      F.FWPM_NET_EVENT_FLAG_REMOTE_PORT_SET |
      F.FWPM_NET_EVENT_FLAG_IP_VERSION_SET;
    assert.equal(event.header.flags, expected);
    assert.equal(event.header.appId, undefined);
  });

  test("a permit at ALE_AUTH_CONNECT gives CLASSIFY_ALLOW naming the highest sublayer's permit", () => {
    const { engine, high, low } = twoSublayers();
    const hi = engine.addFilter({ name: "hi", layer: CONNECT, sublayer: high, action: { type: "FWP_ACTION_PERMIT" } });
    engine.addFilter({ name: "lo", layer: CONNECT, sublayer: low, action: { type: "FWP_ACTION_PERMIT" } });
    const result = engine.classify({ layer: CONNECT, incomingValues: incoming(CONNECT, TCP) });
    const event = netEventFromClassify(result, OUT, 0n);
    assert.ok(event !== null && event.type === "FWPM_NET_EVENT_TYPE_CLASSIFY_ALLOW");
    assert.equal(event.classifyAllow.filterId, hi.filterId);
    assert.equal(event.classifyAllow.layerId, getLayer(CONNECT).runtimeId);
    assert.equal(event.internalFields.terminatingFiltersInfo.length, 2);
    assert.equal(event.header.timeStamp, FILETIME_UNIX_EPOCH);
  });

  test("a permit outside the ALE authorization layers raises no event", () => {
    const engine = new FilterEngine();
    engine.addFilter({ name: "p", layer: TRANSPORT, action: { type: "FWP_ACTION_PERMIT" } });
    const result = engine.classify({ layer: TRANSPORT, incomingValues: incoming(TRANSPORT, {}) });
    assert.equal(result.action, "FWP_ACTION_PERMIT");
    assert.equal(netEventFromClassify(result, OUT, 0n), null);
  });

  test("a block at a discard layer raises no event", () => {
    const engine = new FilterEngine();
    engine.addFilter({ name: "b", layer: CONNECT_DISCARD, action: { type: "FWP_ACTION_BLOCK" } });
    const result = engine.classify({ layer: CONNECT_DISCARD, incomingValues: incoming(CONNECT_DISCARD, {}) });
    assert.equal(result.action, "FWP_ACTION_BLOCK");
    assert.equal(netEventFromClassify(result, OUT, 0n), null);
  });

  test("an absorbed block is silent (C16)", () => {
    const engine = new FilterEngine();
    const key = testGuid(0xca1);
    engine.addCallout({ calloutKey: key, name: "absorb", applicableLayer: CONNECT });
    engine.registerCallout({
      calloutKey: key,
      classifyFn: (_v, _m, _d, _c, _f, _fc, out) => {
        out.actionType = "FWP_ACTION_BLOCK";
        out.flags |= CLASSIFY_OUT_FLAG_ABSORB;
      },
    });
    engine.addFilter({
      name: "c",
      layer: CONNECT,
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: key },
    });
    const result = engine.classify({ layer: CONNECT, incomingValues: incoming(CONNECT, {}) });
    assert.equal(result.absorbed, true);
    assert.equal(netEventFromClassify(result, OUT, 0n), null);
  });

  test("a callout veto of a hard permit is a drop by the vetoing filter, flagged as a veto (C7)", () => {
    const { engine, high, low } = twoSublayers();
    const key = testGuid(0xca2);
    engine.addCallout({ calloutKey: key, name: "veto", applicableLayer: CONNECT });
    engine.registerCallout({
      calloutKey: key,
      classifyFn: (_v, _m, _d, _c, _f, _fc, out) => {
        out.actionType = "FWP_ACTION_BLOCK";
      },
    });
    // CLEAR_ACTION_RIGHT (0x8) makes the permit hard.
    engine.addFilter({
      name: "hard permit",
      layer: CONNECT,
      sublayer: high,
      flags: 0x8,
      action: { type: "FWP_ACTION_PERMIT" },
    });
    const veto = engine.addFilter({
      name: "veto",
      layer: CONNECT,
      sublayer: low,
      weight: fwpUint64(5n),
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: key },
    });
    const result = engine.classify({ layer: CONNECT, incomingValues: incoming(CONNECT, {}) });
    const event = netEventFromClassify(result, OUT, 0n);
    assert.ok(event !== null && event.type === "FWPM_NET_EVENT_TYPE_CLASSIFY_DROP");
    assert.equal(event.classifyDrop.vetoed, true);
    assert.equal(event.classifyDrop.filterId, veto.filterId);
    // The callout filter's entry reports what it returned, not its action type.
    assert.equal(event.internalFields.terminatingFiltersInfo[1]?.actionType, "FWP_ACTION_BLOCK");
  });

  test("inbound traffic to a multicast or broadcast address is marked so the log can apply keywords", () => {
    const engine = new FilterEngine();
    engine.addFilter({ name: "b", layer: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", action: { type: "FWP_ACTION_BLOCK" } });
    const layer = "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4";
    const result = engine.classify({ layer, incomingValues: incoming(layer, {}) });
    const at = (addr: string) =>
      netEventFromClassify(result, { direction: "inbound", localAddr: Ipv4Address.parse(addr) }, 0n)?.cast;
    assert.equal(at("239.255.255.250"), "multicast");
    assert.equal(at("255.255.255.255"), "broadcast");
    assert.equal(at("192.168.1.17"), "unicast");
  });

  test("FILETIME conversion truncates to 100 ns", () => {
    assert.equal(filetimeFromEpochNs(199n), FILETIME_UNIX_EPOCH + 1n);
    assert.equal(filetimeFromEpochNs(-1n), FILETIME_UNIX_EPOCH - 1n);
  });
});
