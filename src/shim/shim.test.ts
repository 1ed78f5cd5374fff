import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv4Address, Ipv6Address, ManualClock, SeededRng } from "../base/index.ts";
import { FilterEngine, loadPolicyDocument } from "../engine/index.ts";
import {
  FWP_CONDITION_FLAG,
  FWP_CONDITION_REAUTHORIZE_REASON,
  FWPS_DISCARD_MODULE,
  FWPS_METADATA_FIELD,
  fieldIndex,
  getLayer,
  INET_DISCARD_REASON,
} from "../fwp/index.ts";
import type { ClassifyFacts, InterfaceFacts } from "./facts.ts";
import { AleFlowTable } from "./flows.ts";
import { metadataFor } from "./metadata.ts";
import { type ClassifyRecord, Shim } from "./shim.ts";
import { incomingValuesFor, uint16Value, uint8Value } from "./values.ts";

const eth0: InterfaceFacts = {
  index: 3,
  luid: 0x6000001000000n,
  type: 6,
  tunnelType: 0,
  subInterfaceIndex: 0,
  profileId: 1,
};
const v4 = (s: string) => Ipv4Address.parse(s);

const connectFacts: ClassifyFacts = {
  ipVersion: 4,
  direction: "outbound",
  protocol: 6,
  localAddress: v4("10.0.0.1"),
  remoteAddress: v4("10.0.0.2"),
  localPort: 50000,
  remotePort: 445,
  iface: eth0,
  nextHopInterface: eth0,
};

function valueAt(layer: string, condition: string, values: readonly { type: string }[]): unknown {
  const i = fieldIndex(layer, condition);
  assert.ok(i !== undefined, `${condition} at ${layer}`);
  return values[i];
}

describe("incoming values from facts (one condition table over each layer's fields)", () => {
  it("fills every field of ALE_AUTH_CONNECT_V4 the facts know, and leaves the rest FWP_EMPTY", () => {
    const layer = getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    const values = incomingValuesFor(layer, connectFacts);
    assert.equal(values.length, layer.fields.length);
    const L = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_IP_REMOTE_ADDRESS", values), { type: "FWP_UINT32", value: 0x0a000002 });
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_IP_REMOTE_PORT", values), { type: "FWP_UINT16", value: 445 });
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_IP_PROTOCOL", values), { type: "FWP_UINT8", value: 6 });
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_IP_LOCAL_INTERFACE", values), { type: "FWP_UINT64", value: eth0.luid });
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_NEXTHOP_INTERFACE_INDEX", values), { type: "FWP_UINT32", value: 3 });
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_IP_DESTINATION_ADDRESS_TYPE", values), { type: "FWP_UINT8", value: 1 });
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_FLAGS", values), { type: "FWP_UINT32", value: 0 });
    // No process facts: the identity fields stay empty (A6).
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_ALE_APP_ID", values), { type: "FWP_EMPTY" });
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_ARRIVAL_INTERFACE_INDEX", values), { type: "FWP_EMPTY" });
  });

  it("uses BYTE_ARRAY16 addresses at V6 layers and the local address's type", () => {
    const layer = getLayer("FWPM_LAYER_INBOUND_IPPACKET_V6");
    const facts: ClassifyFacts = {
      ipVersion: 6,
      direction: "inbound",
      localAddress: Ipv6Address.parse("ff02::1"),
      remoteAddress: Ipv6Address.parse("fe80::1"),
      iface: eth0,
    };
    const values = incomingValuesFor(layer, facts);
    const L = "FWPM_LAYER_INBOUND_IPPACKET_V6";
    const local = valueAt(L, "FWPM_CONDITION_IP_LOCAL_ADDRESS", values) as { type: string; value: Uint8Array };
    assert.equal(local.type, "FWP_BYTE_ARRAY16_TYPE");
    assert.equal(local.value[0], 0xff);
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_IP_LOCAL_ADDRESS_TYPE", values), { type: "FWP_UINT8", value: 3 });
  });

  it("puts ICMP error type/code and the quoted packet into the ICMP error layer's fields", () => {
    const L = "FWPM_LAYER_INBOUND_ICMP_ERROR_V4";
    const values = incomingValuesFor(getLayer(L), {
      ipVersion: 4,
      direction: "inbound",
      localAddress: v4("10.0.0.1"),
      remoteAddress: v4("10.0.0.9"),
      icmpType: 3,
      icmpCode: 3,
      embedded: {
        protocol: 17,
        localAddress: v4("10.0.0.1"),
        remoteAddress: v4("10.0.0.2"),
        localPort: 5000,
        remotePort: 53,
      },
    });
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_ICMP_TYPE", values), { type: "FWP_UINT16", value: 3 });
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_EMBEDDED_PROTOCOL", values), { type: "FWP_UINT8", value: 17 });
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_EMBEDDED_REMOTE_PORT", values), { type: "FWP_UINT16", value: 53 });
    assert.deepEqual(valueAt(L, "FWPM_CONDITION_EMBEDDED_REMOTE_ADDRESS", values), {
      type: "FWP_UINT32",
      value: 0x0a000002,
    });
  });
});

describe("metadata per layer (G13, D14)", () => {
  it("keeps only what the layer carries and sets currentMetadataValues", () => {
    const input = { flowHandle: 7n, processId: 42n, ipHeaderSize: 20, transportHeaderSize: 20, compartmentId: 1 };
    const atIp = metadataFor(getLayer("FWPM_LAYER_INBOUND_IPPACKET_V4"), input);
    assert.equal(atIp.flowHandle, undefined, "no flow handle at the IP packet layer (D14)");
    assert.equal(atIp.ipHeaderSize, 20);
    const atConnect = metadataFor(getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4"), input);
    assert.equal(atConnect.flowHandle, 7n);
    assert.equal(atConnect.processId, 42n);
    const F = FWPS_METADATA_FIELD;
    assert.equal(
      atConnect.currentMetadataValues,
      F.FWPS_METADATA_FIELD_FLOW_HANDLE |
        F.FWPS_METADATA_FIELD_PROCESS_ID |
        F.FWPS_METADATA_FIELD_TRANSPORT_HEADER_SIZE |
        F.FWPS_METADATA_FIELD_COMPARTMENT_ID,
    );
  });

  it("adds the discard reason at discard layers only, and ALE_CLASSIFY_REQUIRED at inbound transport", () => {
    const discardMetadata = { discardModule: 1, discardReason: 4, filterId: 0n };
    assert.equal(
      metadataFor(getLayer("FWPM_LAYER_INBOUND_TRANSPORT_V4"), { discardMetadata }).discardMetadata,
      undefined,
    );
    const d = metadataFor(getLayer("FWPM_LAYER_INBOUND_TRANSPORT_V4_DISCARD"), { discardMetadata });
    assert.deepEqual(d.discardMetadata, discardMetadata);
    const t = metadataFor(getLayer("FWPM_LAYER_INBOUND_TRANSPORT_V4"), { aleClassifyRequired: true });
    assert.equal(t.currentMetadataValues, FWPS_METADATA_FIELD.FWPS_METADATA_FIELD_ALE_CLASSIFY_REQUIRED);
  });
});

function shimWith(policy: unknown): { shim: Shim; log: ClassifyRecord[]; engine: FilterEngine; clock: ManualClock } {
  const { engine } = loadPolicyDocument(policy);
  const clock = new ManualClock(1_000_000_000n);
  const log: ClassifyRecord[] = [];
  return { shim: new Shim({ engine, clock, host: "client", log: (r) => log.push(r) }), log, engine, clock };
}

const BLOCK_445 = {
  filters: [
    {
      name: "block 445",
      layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
      action: "block",
      conditions: [{ field: "remotePort", value: "445" }],
    },
  ],
};

describe("classify points", () => {
  it("a block at ALE_AUTH_CONNECT is followed by the discard layer with GENERAL/FIREWALL_POLICY and the filter id (C17, F20)", () => {
    const { shim, log } = shimWith(BLOCK_445);
    const v = shim.classifyAt("ALE_AUTH_CONNECT", { facts: connectFacts, packet: "none" });
    assert.equal(v.permit, false);
    assert.equal(v.result.decidingFilter?.name, "block 445");
    assert.deepEqual(
      log.map((r) => [r.layer.fwpmName, r.action, r.direction, r.packet]),
      [
        ["FWPM_LAYER_ALE_AUTH_CONNECT_V4", "FWP_ACTION_BLOCK", "outbound", "none"],
        ["FWPM_LAYER_ALE_AUTH_CONNECT_V4_DISCARD", "FWP_ACTION_PERMIT", "outbound", "none"],
      ],
    );
    assert.deepEqual(log[1]?.metadata.discardMetadata, {
      discardModule: FWPS_DISCARD_MODULE.FWPS_DISCARD_MODULE_GENERAL,
      discardReason: 0,
      filterId: v.result.decidingFilter?.filterId,
    });
    assert.equal(log[0]?.time, 1_000_000_000n);
    assert.equal(shim.counters.blocked, 1);
  });

  it("a permit is not followed by a discard indication", () => {
    const { shim, log } = shimWith(BLOCK_445);
    const v = shim.classifyAt("ALE_AUTH_CONNECT", { facts: { ...connectFacts, remotePort: 80 } });
    assert.equal(v.permit, true);
    assert.equal(log.length, 1);
  });

  it("a stack discard is indicated at the discard layer with the stack's reason, and a block there means stealth (F6)", () => {
    const { shim, log } = shimWith({
      filters: [{ name: "stealth", layer: "FWPM_LAYER_INBOUND_TRANSPORT_V4_DISCARD", action: "block" }],
    });
    const reason = {
      discardModule: FWPS_DISCARD_MODULE.FWPS_DISCARD_MODULE_TRANSPORT,
      discardReason: INET_DISCARD_REASON.InetDiscardEndpointNotFound,
      filterId: 0n,
    };
    const r = shim.discard(
      "INBOUND_TRANSPORT",
      { facts: { ...connectFacts, direction: "inbound" }, packet: "SYN" },
      reason,
    );
    assert.equal(r.action, "FWP_ACTION_BLOCK");
    assert.equal(log[0]?.layer.fwpmName, "FWPM_LAYER_INBOUND_TRANSPORT_V4_DISCARD");
    assert.deepEqual(log[0]?.metadata.discardMetadata, reason);
  });

  it("STREAM_PACKET is active only when a filter exists there (E19)", () => {
    const { shim } = shimWith(BLOCK_445);
    assert.equal(shim.hasFilters("STREAM_PACKET", 4), false);
    assert.equal(shim.hasFilters("ALE_AUTH_CONNECT", 4), true);
  });

  it("a layer's plan is asked of the engine once per policy change, and follows every change", () => {
    const { shim, engine } = shimWith(BLOCK_445);
    const connect = getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    const transport = getLayer("FWPM_LAYER_OUTBOUND_TRANSPORT_V4");
    const asked = new Map<string, number>();
    const layerPolicy = engine.layerPolicy.bind(engine);
    engine.layerPolicy = (layer) => {
      const name = typeof layer === "object" ? String(layer.fwpmName ?? layer.runtimeId) : String(layer);
      asked.set(name, (asked.get(name) ?? 0) + 1);
      return layerPolicy(layer);
    };
    const plan = shim.layerPlan(connect);
    assert.equal(shim.layerPlan(transport).empty, true);
    for (let i = 0; i < 10; i++) {
      assert.equal(shim.layerPlan(connect), plan);
      // Blocked (port 445): the connect layer and then its discard layer are classified.
      assert.equal(shim.classify(connect, { facts: connectFacts }).permit, false);
    }
    assert.deepEqual(
      Object.fromEntries(asked),
      {
        FWPM_LAYER_ALE_AUTH_CONNECT_V4: 1,
        FWPM_LAYER_OUTBOUND_TRANSPORT_V4: 1,
        FWPM_LAYER_ALE_AUTH_CONNECT_V4_DISCARD: 1,
      },
      "once per layer while nothing changed",
    );
    const added = engine.addFilter({
      name: "block 80 out",
      layer: transport.fwpmName as string,
      action: { type: "FWP_ACTION_BLOCK" },
    });
    assert.equal(shim.layerPlan(transport).empty, false);
    assert.equal(shim.layerPlan(connect), plan, "an unchanged layer keeps its plan");
    engine.deleteFilter(added.filterId);
    assert.equal(shim.layerPlan(transport).empty, true);
  });
});

describe("ALE flows and reauthorization (G7–G12)", () => {
  it("a policy change at the flow's layer makes its next packet reauthorize there, with IS_REAUTHORIZE and POLICY_CHANGE", () => {
    const { shim, log, engine } = shimWith({ filters: [] });
    const recvLayer = shim.authLayer("auth-recv-accept", 4);
    const inbound: ClassifyFacts = {
      ...connectFacts,
      direction: "inbound",
      localPort: 445,
      remotePort: 50000,
      arrivalInterface: eth0,
    };
    const flow = shim.createFlow("", recvLayer, inbound, "inbound", 6);
    assert.equal(shim.reauthorizationDue(flow), false);
    engine.addFilter({
      name: "unrelated",
      layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
      action: { type: "FWP_ACTION_PERMIT" },
    });
    assert.equal(shim.reauthorizationDue(flow), false, "a change at another layer does not reauthorize (G7a)");
    const added = engine.addFilter({ name: "block now", layer: recvLayer, action: { type: "FWP_ACTION_BLOCK" } });
    assert.equal(shim.reauthorizationDue(flow), true);
    // An outbound packet of the inbound flow is reauthorized at RECV_ACCEPT (G9), without arrival fields.
    const v = shim.reauthorize(flow, { facts: { ...connectFacts, direction: "outbound" }, packet: "data" });
    assert.equal(v.permit, false);
    assert.equal(v.result.decidingFilter?.filterId, added.filterId);
    const first = log[0];
    assert.equal(first?.layer.fwpmName, "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4");
    assert.equal(first?.flags, FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_REAUTHORIZE);
    assert.equal(
      first?.facts.reauthorizeReason,
      FWP_CONDITION_REAUTHORIZE_REASON.FWP_CONDITION_REAUTHORIZE_REASON_POLICY_CHANGE,
    );
    assert.equal(first?.facts.arrivalInterface, undefined);
    assert.equal(first?.facts.localPort, 445, "the flow's own facts are used");
    assert.equal(log[1]?.layer.fwpmName, "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4_DISCARD");
    assert.equal(flow.state, "closed", "a blocked reauthorization tears the flow down (G10)");
  });

  it("a permitted reauthorization records the new policy, so the next packet passes without one", () => {
    const { shim, engine } = shimWith({ filters: [] });
    const layer = shim.authLayer("auth-connect", 4);
    const flow = shim.createFlow("k", layer, connectFacts, "outbound", 17);
    engine.addFilter({ name: "permit", layer, action: { type: "FWP_ACTION_PERMIT" } });
    assert.equal(shim.reauthorizationDue(flow), true);
    assert.equal(shim.reauthorize(flow, { facts: connectFacts }).permit, true);
    assert.equal(shim.reauthorizationDue(flow), false);
  });

  it("the flow table is bounded: past its capacity the least recently used flow is evicted and counted", () => {
    const table = new AleFlowTable({ capacity: 2 });
    const layer = getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    const make = (key: string) =>
      table.create({
        key,
        protocol: 17,
        authLayer: layer,
        authFamily: "auth-connect",
        direction: "outbound",
        facts: connectFacts,
        lastActivityNs: 0n,
      });
    make("a");
    make("b");
    table.touch("a", 1n);
    make("c");
    assert.deepEqual(
      table.flows().map((f) => f.key),
      ["a", "c"],
    );
    assert.equal(table.counters.evicted, 1);
  });

  it("non-TCP flows idle out after 60 s (G4)", () => {
    const table = new AleFlowTable();
    const layer = getLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    table.create({
      key: "u",
      protocol: 17,
      authLayer: layer,
      authFamily: "auth-connect",
      direction: "outbound",
      facts: connectFacts,
      lastActivityNs: 0n,
    });
    assert.ok(table.touch("u", 59_000_000_000n));
    assert.equal(table.touch("u", 119_000_000_001n), undefined);
    assert.equal(table.counters.expired, 1);
  });

  it("closing a flow with callout contexts calls flowDeleteFn once per context (D17)", () => {
    const engine = new FilterEngine();
    const calloutKey = "5f2b9a6e-0000-4000-8000-000000000001";
    const layer = getLayer("FWPM_LAYER_STREAM_V4");
    engine.addCallout({ calloutKey, name: "ctx", applicableLayer: layer });
    const deleted: bigint[] = [];
    const id = engine.registerCallout({
      calloutKey,
      classifyFn: () => {},
      flowDeleteFn: (_l, _c, ctx) => deleted.push(ctx),
    });
    assert.ok(id !== undefined);
    const shim = new Shim({ engine, clock: new ManualClock() });
    const flow = shim.createFlow("", shim.authLayer("auth-connect", 4), connectFacts, "outbound", 6);
    flow.contexts.set(id, { layer, context: 99n });
    shim.closeFlow(flow);
    assert.deepEqual(deleted, [99n]);
    shim.closeFlow(flow);
    assert.deepEqual(deleted, [99n], "once");
  });
});

describe("loopback kind and token groups", () => {
  it("a desktop app's loopback carries IS_NON_APPCONTAINER_LOOPBACK, an AppContainer app's IS_APPCONTAINER_LOOPBACK (F14)", async () => {
    const { processFacts } = await import("./process.ts");
    const { conditionFlags } = await import("./values.ts");
    const loop = FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK;
    const desktop = processFacts({ processId: 1, imagePath: "C:\\a.exe" });
    const packaged = processFacts({ processId: 2, imagePath: "C:\\b.exe", packageSid: "S-1-15-2-1-2-3-4-5-6-7" });
    assert.equal(
      conditionFlags({ ...connectFacts, flags: loop, process: desktop }),
      loop | FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_NON_APPCONTAINER_LOOPBACK,
    );
    assert.equal(
      conditionFlags({ ...connectFacts, flags: loop, process: packaged }),
      loop | FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_APPCONTAINER_LOOPBACK,
    );
    assert.equal(
      conditionFlags({ ...connectFacts, flags: loop }),
      loop,
      "without a process (packet layers): only IS_LOOPBACK",
    );
    assert.equal(conditionFlags({ ...connectFacts, flags: 0, process: desktop }), 0, "not loopback: nothing added");
  });

  it("a token holds the standard groups of its kind (Everyone, Authenticated Users, ...)", async () => {
    const { processFacts } = await import("./process.ts");
    const { formatSid } = await import("../fwp/index.ts");
    const sids = (p: ReturnType<typeof processFacts>) => p.token.sids.map((s) => formatSid(s.sid));
    assert.deepEqual(sids(processFacts({ processId: 1, imagePath: "C:\\a.exe", userSid: "S-1-5-21-1-2-3-1001" })), [
      "S-1-5-21-1-2-3-1001",
      "S-1-1-0",
      "S-1-5-11",
      "S-1-5-32-545",
      "S-1-5-4",
      "S-1-2-0",
    ]);
    assert.deepEqual(sids(processFacts({ processId: 4, imagePath: "System" })), [
      "S-1-5-18",
      "S-1-1-0",
      "S-1-5-11",
      "S-1-5-32-544",
    ]);
    assert.deepEqual(
      sids(processFacts({ processId: 4, imagePath: "System", standardGroups: false, groupSids: ["S-1-5-32-544"] })),
      ["S-1-5-18", "S-1-5-32-544"],
    );
  });
});

describe("a layer without callout filters classifies on the fields its conditions read", () => {
  it("decides exactly as a classification with every field built, over seeded facts and policies", () => {
    const rng = new SeededRng(17);
    const layers = ["FWPM_LAYER_ALE_AUTH_CONNECT_V4", "FWPM_LAYER_OUTBOUND_TRANSPORT_V4"] as const;
    const conditionsPool = [
      () => ({ field: "remotePort", value: String(rng.nextInt(4) * 100) }),
      () => ({ field: "remotePort", match: "range", value: `${rng.nextInt(200)}-${200 + rng.nextInt(200)}` }),
      () => ({ field: "protocol", value: rng.pick(["tcp", "udp"]) }),
      () => ({ field: "remoteAddress", value: `10.0.${rng.nextInt(4)}.0/24` }),
      () => ({ field: "localPort", match: "greater", value: String(rng.nextInt(60000)) }),
      () => ({ field: "flags", match: "flags-any-set", value: "FWP_CONDITION_FLAG_IS_LOOPBACK" }),
      () => ({ field: "interfaceIndex", value: String(rng.nextInt(4)) }),
    ];
    for (let round = 0; round < 20; round++) {
      const filters = Array.from({ length: 1 + rng.nextInt(6) }, (_, i) => ({
        name: `f${i}`,
        layer: rng.pick([...layers]),
        action: rng.pick(["block", "permit"]),
        weight: { range: rng.nextInt(15) },
        conditions: Array.from({ length: rng.nextInt(3) }, () => rng.pick(conditionsPool)()),
      }));
      const { engine } = loadPolicyDocument({ filters });
      const shim = new Shim({ engine, clock: new ManualClock() });
      for (let k = 0; k < 200; k++) {
        const facts: ClassifyFacts = {
          ...connectFacts,
          protocol: rng.pick([6, 17]),
          remoteAddress: new Ipv4Address((0x0a000000 | rng.nextInt(1024)) >>> 0),
          remotePort: rng.nextInt(500),
          localPort: rng.nextInt(65536),
          flags: rng.chance(0.2) ? FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK : 0,
          iface: { ...eth0, index: rng.nextInt(4) },
        };
        for (const name of layers) {
          const layer = getLayer(name);
          const full = engine.classify({ layer, incomingValues: incomingValuesFor(layer, facts) });
          const v = shim.classify(layer, { facts });
          assert.equal(v.result.action, full.action);
          assert.equal(v.result.decidingFilter, full.decidingFilter);
        }
      }
    }
  });

  it("small integer values are shared, frozen objects", () => {
    assert.equal(uint8Value(6), uint8Value(6));
    assert.equal(uint16Value(443), uint16Value(443 + 65536));
    assert.deepEqual(uint16Value(443), { type: "FWP_UINT16", value: 443 });
    assert.ok(Object.isFrozen(uint8Value(17)));
  });
});
