/**
 * The packet observer. Differential: on every fixture capture, as the host owning one or both ends of the
 * first packet (or neither: forwarding), under policies that classify at every layer, block at each kind
 * of layer, put callouts where flows are visible, or change mid-capture (reauthorization), PacketObserver
 * gives the same verdict and makes the same classifications — layer, direction, label, facts, metadata,
 * decision — as the reference observer it replaced (observer-reference.testing.ts), except for FLOW_HANDLE
 * at layers without callout filters, which only a callout could read. The header reader agrees with
 * parseIpPacket on every packet, cut and damaged ones included. Then the flow table's own rules: bounded,
 * exact LRU eviction and idle expiry, each counted; a blocked flow stays blocked; callouts get a flow
 * whose contexts live as long as the flow.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type IpAddress, Ipv4Address, ManualClock, parseIpAddress, SeededRng } from "../base/index.ts";
import { type CapturedPacket, readCaptureSync } from "../capture/index.ts";
import { type FilterEngine, loadPolicyDocument } from "../engine/index.ts";
import { FWP_CONDITION_FLAG, type FwpmLayerName, getLayer } from "../fwp/index.ts";
import { type ClassifyRecord, parseIpPacket, Shim } from "../shim/index.ts";
import {
  emitEthernetHeader,
  emitIpv4Header,
  emitTcpHeader,
  emitUdpHeader,
  EtherType,
  IpProtocol,
  TCP_ACK,
  TCP_SYN,
} from "../wire/index.ts";
import { FlowTable } from "./flow-table.ts";
import { PacketHeaders } from "./headers.ts";
import { networkStart } from "./link.ts";
import { type ObservedVerdict, PacketObserver } from "./observer.ts";
import { ReferencePacketObserver } from "./observer-reference.testing.ts";

const ROOT = join(import.meta.dirname, "../../fixtures/captures");

function captureFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...captureFiles(path));
    else if (/\.(pcap|pcapng|cap)$/.test(name)) out.push(path);
  }
  return out;
}

interface IpFrame {
  readonly packet: CapturedPacket;
  readonly offset: number;
}

const CAPTURES: readonly { readonly name: string; readonly frames: readonly IpFrame[] }[] = captureFiles(ROOT).map(
  (path) => {
    const frames: IpFrame[] = [];
    for (const packet of readCaptureSync(readFileSync(path)).packets) {
      const s = networkStart(packet.linkType, packet.data);
      if (s.ok && s.value.kind === "ip") frames.push({ packet, offset: s.value.offset });
    }
    return { name: path.slice(ROOT.length + 1), frames };
  },
);

/** The host roles a capture is replayed as: one end of its first packet, both ends, or neither. */
function roles(frames: readonly IpFrame[]): { readonly name: string; readonly local: IpAddress[] }[] {
  for (const f of frames) {
    const p = parseIpPacket(f.packet.data, f.offset);
    if (!p.ok) continue;
    const elsewhere = parseIpAddress(p.value.version === 4 ? "192.0.2.254" : "2001:db8::fe");
    return [
      { name: "its source", local: [p.value.src] },
      { name: "both ends", local: [p.value.src, p.value.dst] },
      { name: "neither end", local: [elsewhere] },
    ];
  }
  return [];
}

const OBSERVER_LAYERS = [
  "INBOUND_IPPACKET",
  "OUTBOUND_IPPACKET",
  "IPFORWARD",
  "INBOUND_TRANSPORT",
  "OUTBOUND_TRANSPORT",
  "STREAM",
  "DATAGRAM_DATA",
  "INBOUND_ICMP_ERROR",
  "OUTBOUND_ICMP_ERROR",
  "ALE_CONNECT_REDIRECT",
  "ALE_AUTH_CONNECT",
  "ALE_AUTH_RECV_ACCEPT",
  "ALE_FLOW_ESTABLISHED",
] as const;

const both = (layer: string): FwpmLayerName[] => [
  `FWPM_LAYER_${layer}_V4` as FwpmLayerName,
  `FWPM_LAYER_${layer}_V6` as FwpmLayerName,
];

type FilterDoc = Record<string, unknown>;

/** A permit filter at every layer the observer classifies at: every classification happens and is logged. */
const PERMIT_EVERYWHERE: FilterDoc[] = OBSERVER_LAYERS.flatMap(both).map((layer) => ({
  name: `see ${layer}`,
  layer,
  action: "permit",
}));

interface PolicyCase {
  readonly name: string;
  readonly document: { callouts?: unknown[]; filters: FilterDoc[] };
  /** Applied to both engines before the packet at this fraction of the capture. */
  readonly change?: { readonly at: number; readonly filters: FilterDoc[] };
  /** Classifications the case must make over all captures (default 1000). */
  readonly minClassified?: number;
  /** No filter at an ALE layer and no callout: in auto mode the observer keeps no flows. */
  readonly flowless?: boolean;
}

const block = (layer: string, conditions: unknown[] = [], name = `block ${layer}`): FilterDoc[] =>
  both(layer).map((l) => ({ name, layer: l, action: "block", weight: { range: 15 }, conditions }));

/** A block at the IPv4 layer only. */
const block4 = (layer: string, conditions: unknown[]): FilterDoc[] => [
  { name: `block ${layer}`, layer: `FWPM_LAYER_${layer}_V4`, action: "block", conditions },
];

const POLICIES: readonly PolicyCase[] = [
  { name: "no filter", document: { filters: [] }, minClassified: 0, flowless: true },
  {
    name: "no ALE filter: blocks at the transport, STREAM, DATAGRAM_DATA and IP packet layers only",
    flowless: true,
    document: {
      filters: [
        ...block("OUTBOUND_TRANSPORT", [
          { field: "protocol", value: "tcp" },
          { field: "remotePort", value: [80, 21] },
        ]),
        ...block("INBOUND_TRANSPORT", [{ field: "protocol", value: "icmp" }]),
        ...block("STREAM", [{ field: "remotePort", value: [443] }]),
        ...block("DATAGRAM_DATA", [{ field: "remotePort", value: [53, 5353, 123] }]),
        ...block("INBOUND_IPPACKET", [
          { field: "flags", match: "flags-any-set", value: "FWP_CONDITION_FLAG_IS_FRAGMENT" },
        ]),
        ...both("OUTBOUND_IPPACKET").map((layer, i) => ({
          name: "block out to 10/8 or fd00::/8",
          layer,
          action: "block",
          weight: { range: 15 },
          conditions: [{ field: "remoteAddress", value: i === 0 ? "10.0.0.0/8" : "fd00::/8" }],
        })),
      ],
    },
    minClassified: 1000,
  },
  { name: "a permit filter at every layer", document: { filters: PERMIT_EVERYWHERE } },
  {
    name: "blocks at ALE (TCP 80/443 out, UDP in), at transport (ICMP) and at the IP packet layers (fragments)",
    document: {
      filters: [
        ...PERMIT_EVERYWHERE,
        ...block("ALE_AUTH_CONNECT", [
          { field: "protocol", value: "tcp" },
          { field: "remotePort", value: [80, 443, 21] },
        ]),
        ...block("ALE_AUTH_RECV_ACCEPT", [{ field: "protocol", value: "udp" }]),
        ...both("INBOUND_TRANSPORT").map((layer, i) => ({
          name: "block ICMP in",
          layer,
          action: "block",
          weight: { range: 15 },
          conditions: [{ field: "protocol", value: i === 0 ? "icmp" : "58" }],
        })),
        ...block("INBOUND_IPPACKET", [
          { field: "flags", match: "flags-any-set", value: "FWP_CONDITION_FLAG_IS_FRAGMENT" },
        ]),
        ...block("IPFORWARD"),
      ],
    },
  },
  {
    name: "blocks at STREAM, DATAGRAM_DATA, the ICMP error layers and OUTBOUND_IPPACKET",
    document: {
      filters: [
        ...PERMIT_EVERYWHERE,
        ...block("STREAM"),
        ...block("DATAGRAM_DATA", [{ field: "remotePort", value: [53, 5353, 123] }]),
        ...block("INBOUND_ICMP_ERROR"),
        ...block("OUTBOUND_ICMP_ERROR"),
        ...block("OUTBOUND_IPPACKET", [
          { field: "flags", match: "flags-none-set", value: "FWP_CONDITION_FLAG_IS_LOOPBACK" },
        ]),
      ],
    },
  },
  {
    name: "continue callouts wherever flows are visible, a blocking one at STREAM",
    document: {
      callouts: ["INBOUND_TRANSPORT", "OUTBOUND_TRANSPORT", "DATAGRAM_DATA", "ALE_FLOW_ESTABLISHED", "STREAM"].flatMap(
        (layer) =>
          both(layer).map((l) => ({
            name: `look at ${l}`,
            layer: l,
            behaviour: l.includes("STREAM") ? "block" : "continue",
          })),
      ),
      filters: [
        ...PERMIT_EVERYWHERE,
        ...["INBOUND_TRANSPORT", "OUTBOUND_TRANSPORT", "DATAGRAM_DATA", "ALE_FLOW_ESTABLISHED", "STREAM"].flatMap(
          (layer) =>
            both(layer).map((l) => ({
              name: `callout at ${l}`,
              layer: l,
              action: "callout-terminating",
              callout: `look at ${l}`,
              weight: { range: 15 },
              ...(l.includes("STREAM") ? { conditions: [{ field: "remotePort", value: [80, 21] }] } : {}),
            })),
        ),
      ],
    },
  },
  {
    name: "TCP blocked at ALE halfway through: established flows are reauthorized",
    document: { filters: [...PERMIT_EVERYWHERE] },
    change: {
      at: 0.5,
      filters: [
        ...block("ALE_AUTH_CONNECT", [{ field: "protocol", value: "tcp" }], "late block out"),
        ...block("ALE_AUTH_RECV_ACCEPT", [{ field: "protocol", value: "tcp" }], "late block in"),
      ],
    },
  },
  {
    name: "UDP permitted at ALE halfway through, with no other filter (flows without shim flows are reauthorized)",
    document: { filters: [] },
    minClassified: 300,
    change: {
      at: 0.5,
      filters: [
        ...both("ALE_AUTH_CONNECT").map((layer) => ({ name: "late permit", layer, action: "permit" })),
        ...block("ALE_AUTH_RECV_ACCEPT", [{ field: "protocol", value: "udp" }], "late block in"),
      ],
    },
  },
];

function engineOf(doc: PolicyCase["document"]): FilterEngine {
  return loadPolicyDocument(doc).engine;
}

function hasCallouts(engine: FilterEngine, r: ClassifyRecord): boolean {
  return engine
    .layerPolicy(r.layer)
    .sublayers.some((s) =>
      s.filters.some((f) => f.action.type !== "FWP_ACTION_BLOCK" && f.action.type !== "FWP_ACTION_PERMIT"),
    );
}

/** What two observers must agree on about one classification. */
function comparable(engine: FilterEngine, r: ClassifyRecord): unknown {
  const { flowHandle, completionHandle, ...metadata } = r.metadata as Record<string, unknown>;
  return {
    layer: r.layer.fwpsName,
    direction: r.direction,
    packet: r.packet,
    action: r.action,
    absorbed: r.absorbed,
    decidingFilter: r.decidingFilter?.filterId ?? null,
    flags: r.flags,
    facts: r.facts,
    metadata,
    // FLOW_HANDLE (a number either observer draws) where a callout can read it.
    ...(hasCallouts(engine, r) ? { hasFlowHandle: flowHandle !== undefined } : {}),
    hasCompletionHandle: completionHandle !== undefined,
    fragment: r.fragment,
  };
}

function verdictOf(v: ObservedVerdict, withFlow: boolean): unknown {
  return {
    permit: v.permit,
    direction: v.direction,
    layer: v.layer?.fwpsName,
    filter: v.result?.decidingFilter?.filterId,
    byFlow: v.byFlow === true,
    ...(withFlow ? { newFlow: v.newFlow } : {}),
  };
}

/**
 * Replays the frames through the observer and the reference side by side. With trackFlows "always" the two
 * must agree in everything; with "auto" the observer keeps no flows when the policy lets none matter, and must
 * still make exactly the reference's classifications and verdicts (only whether a packet opened a flow, and
 * the flow counters, may differ then).
 */
function replayBoth(
  policy: PolicyCase,
  frames: readonly IpFrame[],
  local: IpAddress[],
  trackFlows: "auto" | "always" = "always",
): { classified: number; untracked: number } {
  const sides = [0, 1].map(() => {
    const engine = engineOf(policy.document);
    const clock = new ManualClock();
    const log: ClassifyRecord[] = [];
    // No idle expiry: the reference expired flows only when told to.
    const shim = new Shim({ engine, clock, host: "local", log: (r) => log.push(r), flows: { idleNs: 1n << 62n } });
    return { engine, clock, log, shim };
  });
  const [a, b] = sides as [(typeof sides)[0], (typeof sides)[0]];
  const observer = new PacketObserver({ shim: a.shim, local, trackFlows });
  const reference = new ReferencePacketObserver({ shim: b.shim, local });
  const changeAt = policy.change === undefined ? -1 : Math.floor(frames.length * policy.change.at);
  let classified = 0;
  frames.forEach((f, i) => {
    if (i === changeAt) {
      for (const s of sides) loadPolicyDocument({ filters: policy.change?.filters ?? [] }, { engine: s.engine });
    }
    for (const s of sides) if (f.packet.timestampNs > s.clock.nowNs()) s.clock.setNs(f.packet.timestampNs);
    a.log.length = 0;
    b.log.length = 0;
    const va = observer.observe(f.packet.data, f.offset, f.packet.data.length);
    const vb = reference.observe(f.packet.data, f.offset, f.packet.data.length);
    const where = `packet ${f.packet.index}`;
    assert.equal(va.ok, vb.ok, where);
    const exact = trackFlows === "always" || observer.counters.untracked === 0;
    if (va.ok && vb.ok) assert.deepEqual(verdictOf(va.value, exact), verdictOf(vb.value, exact), where);
    // Untracked, the observer cannot know that a packet opens a flow, so INBOUND_TRANSPORT's
    // ALE_CLASSIFY_REQUIRED metadata is absent: only a callout could read it, and there is none then.
    const seen = (engine: FilterEngine, r: ClassifyRecord): unknown => {
      const c = comparable(engine, r) as { metadata?: Record<string, unknown> };
      if (exact || c.metadata === undefined) return c;
      const { aleClassifyRequired: _a, ...metadata } = c.metadata;
      return { ...c, metadata };
    };
    assert.deepEqual(
      a.log.map((r) => seen(a.engine, r)),
      b.log.map((r) => seen(b.engine, r)),
      where,
    );
    classified += a.log.length;
  });
  const { flowsEvicted: _e, flowsExpired: _x, untracked, ...counters } = observer.counters;
  if (untracked === 0) assert.deepEqual(counters, reference.counters);
  else {
    assert.equal(trackFlows, "auto");
    const { flowsCreated: _c, flowsBlocked: _b, ...rest } = counters;
    const { flowsCreated: _rc, flowsBlocked: _rb, ...referenceRest } = reference.counters;
    assert.deepEqual(rest, referenceRest);
  }
  return { classified, untracked };
}

describe("PacketObserver against the reference observer, on every fixture capture", () => {
  for (const policy of POLICIES) {
    for (const trackFlows of ["always", "auto"] as const) {
      // A policy change in auto mode may start tracking midway: the reference reauthorizes flows it has kept,
      // the observer authorizes them afresh (tested on its own below).
      if (trackFlows === "auto" && policy.change !== undefined) continue;
      it(`${policy.name} (flows: ${trackFlows}): the same verdict and the same classifications for every packet`, () => {
        let classified = 0;
        let untracked = 0;
        for (const c of CAPTURES) {
          for (const role of roles(c.frames)) {
            try {
              const r = replayBoth(policy, c.frames, role.local, trackFlows);
              classified += r.classified;
              untracked += r.untracked;
            } catch (e) {
              assert.fail(`${c.name} as ${role.name}: ${e instanceof Error ? e.message : String(e)}`);
            }
          }
        }
        assert.ok(classified >= (policy.minClassified ?? 1000), `only ${classified} classifications compared`);
        if (trackFlows === "auto" && policy.flowless === true) assert.ok(untracked > 1000, `${untracked} untracked`);
        else assert.equal(untracked, 0, "flows are kept whenever one could matter");
      });
    }
  }
});

describe("PacketHeaders reads what parseIpPacket reads", () => {
  const check = (bytes: Uint8Array, offset: number, end: number, where: string): void => {
    const h = new PacketHeaders();
    const error = h.read(bytes, offset, end);
    const p = parseIpPacket(bytes, offset, end);
    if (!p.ok) {
      assert.deepEqual(error, p.error, where);
      return;
    }
    assert.equal(error, undefined, where);
    assert.deepEqual(h.info(), p.value, where);
    assert.equal(h.fragment, p.value.fragment !== undefined, where);
    assert.equal(h.transport, p.value.transport !== undefined, where);
    assert.equal(h.length, p.value.length, where);
    assert.equal(h.payloadLength, p.value.transport?.payloadLength ?? 0, where);
    assert.equal(h.tcpFlags, p.value.transport?.tcpFlags ?? -1, where);
    assert.equal(h.srcPort, p.value.transport?.srcPort ?? -1, where);
  };

  it("on every packet of every fixture capture, whole, cut at every length and with damaged header bytes", () => {
    const rng = new SeededRng(7);
    let packets = 0;
    for (const c of CAPTURES) {
      for (const f of c.frames) {
        const data = f.packet.data;
        check(data, f.offset, data.length, `${c.name} packet ${f.packet.index}`);
        for (let end = f.offset; end < Math.min(data.length, f.offset + 80); end++) {
          check(data, f.offset, end, `${c.name} packet ${f.packet.index} cut at ${end}`);
        }
        for (let k = 0; k < 8; k++) {
          const damaged = data.slice();
          const at = f.offset + rng.nextInt(Math.min(60, data.length - f.offset));
          damaged[at] = rng.nextInt(256);
          check(damaged, f.offset, damaged.length, `${c.name} packet ${f.packet.index} byte ${at} damaged`);
        }
        packets++;
      }
    }
    assert.ok(packets > 1000);
  });
});

describe("FlowTable: keys to slots in least-recently-used order", () => {
  it("agrees with a Map and an ordered list under seeded churn, evicting the oldest entry when full", () => {
    const rng = new SeededRng(11);
    const index = new FlowTable(64);
    const model = new Map<string, number>();
    const order: string[] = [];
    const setKey = (n: number): string => {
      index.key.fill(0);
      index.key[0] = 17;
      index.key[2] = n;
      index.key[3] = n * 7;
      return String(n);
    };
    for (let step = 0; step < 20000; step++) {
      const k = setKey(rng.nextInt(200));
      const found = index.find();
      assert.equal(found >= 0, model.has(k));
      if (found >= 0) {
        assert.equal(found, model.get(k));
        if (rng.chance(0.2)) {
          index.remove(found);
          model.delete(k);
          order.splice(order.indexOf(k), 1);
        } else {
          index.touch(found);
          order.splice(order.indexOf(k), 1);
          order.push(k);
        }
      } else {
        if (index.size === index.capacity) {
          const oldest = order.shift() as string;
          assert.equal(index.oldest(), model.get(oldest));
          index.remove(index.oldest());
          model.delete(oldest);
          setKey(Number(k));
        }
        model.set(k, index.insert(1));
        order.push(k);
      }
      assert.equal(index.size, model.size);
    }
    // Walking from the oldest gives the model's order.
    const walked: number[] = [];
    for (let s = index.oldest(); s !== -1; s = index.younger(s)) walked.push(s);
    assert.deepEqual(
      walked,
      order.map((k) => model.get(k)),
    );
  });
});

describe("FlowTable: replacing the oldest flow in place", () => {
  it("is remove(oldest) then insert, reusing the slot: same keys, order, size and states as a Map model", () => {
    for (const seed of [1, 2, 3, 4]) {
      const rng = new SeededRng(seed);
      const capacity = 1 + rng.nextInt(40);
      const index = new FlowTable(capacity);
      /** key -> [slot, state], in use order (a Map iterates in insertion order: oldest first). */
      const model = new Map<string, [number, number]>();
      const setKey = (n: number): string => {
        index.key.fill(0);
        const v6 = n % 3 === 0;
        index.key[0] = (v6 ? 0x80000000 : 0) | (n % 2 === 0 ? 6 : 17);
        index.key[1] = (n * 2654435761) | 0;
        index.key[2] = n & 7; // few distinct words: keys collide in their first words
        index.key[3] = n >>> 3;
        if (v6) index.key[9] = n;
        return String(n);
      };
      for (let step = 0; step < 5000; step++) {
        const n = rng.nextInt(capacity * 3);
        const k = setKey(n);
        const found = index.find();
        const entry = model.get(k);
        assert.equal(found, entry === undefined ? -1 : entry[0]);
        if (entry !== undefined) {
          if (rng.chance(0.1)) {
            index.remove(found);
            model.delete(k);
          } else {
            index.touch(found);
            model.delete(k);
            model.set(k, entry);
          }
          continue;
        }
        const state = 1 + rng.nextInt(1000);
        if (index.size === index.capacity) {
          const [oldestKey, [oldestSlot]] = model.entries().next().value as [string, [number, number]];
          assert.equal(index.oldest(), oldestSlot);
          const slot = index.replaceOldest(state);
          assert.equal(slot, oldestSlot, "the oldest slot is reused");
          model.delete(oldestKey);
          model.set(k, [slot, state]);
          // The replaced key is gone, the new one is found.
          assert.equal(index.find(), slot);
          setKey(Number(oldestKey));
          assert.equal(index.find(), -1);
        } else {
          assert.throws(() => index.replaceOldest(state), RangeError);
          model.set(k, [index.insert(state), state]);
        }
        assert.equal(index.size, model.size);
      }
      const walked: number[] = [];
      for (let s = index.oldest(); s !== -1; s = index.younger(s)) walked.push(s);
      assert.deepEqual(
        walked,
        [...model.values()].map(([slot]) => slot),
      );
      for (const [k, [slot, state]] of model) {
        setKey(Number(k));
        assert.equal(index.find(), slot);
        assert.equal(index.state(slot), state);
        assert.equal(index.serial(slot), 0);
        assert.equal(index.time(slot), 0);
      }
    }
  });

  it("keeps a one-slot table working", () => {
    const index = new FlowTable(1);
    index.key[0] = 6;
    index.key[2] = 1;
    assert.equal(index.insert(5), 0);
    index.setSerial(0, 9);
    index.setTime(0, 3);
    index.key[2] = 2;
    assert.equal(index.find(), -1);
    assert.equal(index.replaceOldest(7), 0);
    assert.deepEqual([index.size, index.oldest(), index.younger(0), index.state(0)], [1, 0, -1, 7]);
    assert.deepEqual([index.serial(0), index.time(0), index.find()], [0, 0, 0]);
    index.key[2] = 1;
    assert.equal(index.find(), -1);
  });
});

const CLIENT = Ipv4Address.parse("10.0.0.1");

/** An Ethernet frame's IP packet: TCP or UDP between CLIENT:port and 203.0.113.(server) . */
function packetBytes(o: {
  readonly udp?: boolean;
  readonly outbound?: boolean;
  readonly clientPort: number;
  readonly server?: number;
  readonly flags?: number;
  readonly payload?: number;
}): Uint8Array {
  const frame = new Uint8Array(1514);
  const server = new Ipv4Address((0xcb007100 | (o.server ?? 1)) >>> 0);
  const out = o.outbound ?? true;
  const payload = o.payload ?? 0;
  const transport = o.udp === true ? 8 : 20;
  let at = emitEthernetHeader(
    { dst: "00:11:22:33:44:55", src: "66:77:88:99:aa:bb", tags: [], etherType: EtherType.Ipv4 },
    frame,
    0,
  );
  const ip = at;
  at += emitIpv4Header(
    {
      src: out ? CLIENT : server,
      dst: out ? server : CLIENT,
      protocol: o.udp === true ? IpProtocol.Udp : IpProtocol.Tcp,
      ttl: 64,
      identification: 1,
      dscp: 0,
      ecn: 0,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      options: [],
      payloadLength: transport + payload,
      checksum: 0,
    },
    frame,
    ip,
  );
  const srcPort = out ? o.clientPort : 80;
  const dstPort = out ? 80 : o.clientPort;
  if (o.udp === true) emitUdpHeader({ srcPort, dstPort, checksum: 0, payloadLength: payload }, frame, at);
  else
    emitTcpHeader(
      {
        srcPort,
        dstPort,
        seq: 1,
        ack: 1,
        flags: o.flags ?? TCP_ACK,
        window: 65535,
        urgentPointer: 0,
        options: [],
        checksum: 0,
        payloadLength: payload,
      },
      frame,
      at,
    );
  return frame.subarray(ip, ip + 20 + transport + payload);
}

/** A host observing as CLIENT; flows are kept whatever the policy unless `trackFlows` says "auto". */
function host(document: PolicyCase["document"], capacity = 65536, trackFlows: "auto" | "always" = "always") {
  const engine = engineOf(document);
  const clock = new ManualClock(1_000_000_000n);
  const log: ClassifyRecord[] = [];
  const shim = new Shim({ engine, clock, host: "local", log: (r) => log.push(r), flows: { capacity } });
  return { engine, clock, log, shim, observer: new PacketObserver({ shim, local: [CLIENT], trackFlows }) };
}

const observe = (o: PacketObserver, bytes: Uint8Array): ObservedVerdict => {
  const v = o.observe(bytes);
  assert.ok(v.ok);
  return v.value;
};

describe("PacketObserver flows kept only while they can matter (trackFlows auto, the default)", () => {
  it("no ALE filter and no callout: no flow is kept, the packets are counted untracked, the verdicts stand", () => {
    const h = host(
      { filters: block4("OUTBOUND_TRANSPORT", [{ field: "remoteAddress", value: "203.0.113.2" }]) },
      65536,
      "auto",
    );
    const web = packetBytes({ clientPort: 6000, server: 2 });
    const other = packetBytes({ clientPort: 6001, server: 3 });
    assert.equal(observe(h.observer, web).permit, false);
    assert.equal(observe(h.observer, other).permit, true);
    assert.equal(observe(h.observer, other).newFlow, false);
    assert.equal(h.observer.flowCount, 0);
    assert.equal(h.observer.counters.untracked, 3);
    assert.equal(h.observer.counters.flowsCreated, 0);
  });

  it("an ALE filter added: tracking starts, and a connection seen before is authorized by its next packet", () => {
    const h = host({ filters: [] }, 65536, "auto");
    const out = packetBytes({ clientPort: 6002, server: 2 });
    observe(h.observer, out);
    assert.equal(h.observer.flowCount, 0);
    loadPolicyDocument(
      { filters: block4("ALE_AUTH_CONNECT", [{ field: "remoteAddress", value: "203.0.113.2" }]) },
      { engine: h.engine },
    );
    h.log.length = 0;
    const v = observe(h.observer, out);
    assert.equal(v.permit, false);
    assert.equal(v.newFlow, true);
    assert.deepEqual(
      h.log.map((r) => r.layer.fwpsName),
      ["FWPS_LAYER_ALE_AUTH_CONNECT_V4", "FWPS_LAYER_ALE_AUTH_CONNECT_V4_DISCARD"],
      "authorized as a new flow (and the block indicated at the discard layer)",
    );
    assert.equal(
      (h.log[0]?.facts.flags ?? 0) & FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_REAUTHORIZE,
      0,
      "not a reauthorization: nothing was kept",
    );
    assert.equal(observe(h.observer, out).byFlow, true, "and remembered as blocked from then on");
    assert.equal(h.observer.flowCount, 1);
  });

  it("the last ALE filter removed: the table is emptied (callout flows closed) and packets pass untracked", () => {
    const h = host(
      { filters: block4("ALE_AUTH_CONNECT", [{ field: "remoteAddress", value: "203.0.113.2" }]) },
      65536,
      "auto",
    );
    assert.equal(observe(h.observer, packetBytes({ clientPort: 6003, server: 2 })).permit, false);
    observe(h.observer, packetBytes({ clientPort: 6004, server: 3 }));
    assert.equal(h.observer.flowCount, 2);
    for (const f of h.engine.filters()) h.engine.deleteFilter(f.filterId);
    const v = observe(h.observer, packetBytes({ clientPort: 6003, server: 2 }));
    assert.equal(v.permit, true, "nothing blocks it now: Windows would authorize a new connection");
    assert.equal(h.observer.flowCount, 0);
    assert.equal(h.observer.counters.untracked, 1);
  });
});

describe("PacketObserver flows", () => {
  it("the table is bounded: past its capacity the least recently used flow is evicted and counted", () => {
    const h = host(
      {
        filters: [
          {
            name: "block one server",
            layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
            action: "block",
            conditions: [{ field: "remoteAddress", value: "203.0.113.2" }],
          },
        ],
      },
      4,
    );
    const blockedFlow = packetBytes({ clientPort: 1000, server: 2 });
    assert.equal(observe(h.observer, blockedFlow).permit, false);
    for (let p = 1001; p <= 1003; p++) observe(h.observer, packetBytes({ clientPort: p }));
    // Touching the blocked flow keeps it young: the next new flow evicts port 1001's.
    assert.equal(observe(h.observer, blockedFlow).byFlow, true);
    observe(h.observer, packetBytes({ clientPort: 1004 }));
    assert.equal(h.observer.counters.flowsEvicted, 1);
    assert.equal(h.observer.flowCount, 4);
    assert.equal(observe(h.observer, blockedFlow).byFlow, true, "the blocked flow is still known");
    assert.equal(observe(h.observer, packetBytes({ clientPort: 1001 })).newFlow, true, "port 1001's flow was evicted");
    assert.equal(h.observer.counters.flowsEvicted, 2);
    assert.equal(h.observer.counters.flowsCreated, 6);
    assert.equal(h.observer.counters.flowsBlocked, 1);
  });

  it("a non-TCP flow idle for longer than the idle lifetime expires (counted); activity keeps it alive", () => {
    const h = host({ filters: [] });
    const dns = packetBytes({ udp: true, clientPort: 5000 });
    const tcp = packetBytes({ clientPort: 6000 });
    assert.equal(observe(h.observer, dns).newFlow, true);
    observe(h.observer, tcp);
    h.clock.advanceNs(59_000_000_000n);
    assert.equal(observe(h.observer, dns).newFlow, false);
    h.clock.advanceNs(59_000_000_000n);
    assert.equal(observe(h.observer, dns).newFlow, false, "59 s after its last packet: still alive");
    h.clock.advanceNs(61_000_000_000n);
    assert.equal(h.observer.expireFlows(h.clock.nowNs()), 1);
    assert.equal(h.observer.counters.flowsExpired, 1);
    assert.equal(observe(h.observer, tcp).newFlow, false, "TCP flows do not idle out");
    h.clock.advanceNs(61_000_000_000n);
    assert.equal(observe(h.observer, dns).newFlow, true, "a new flow after the expiry");
    h.clock.advanceNs(61_000_000_000n);
    assert.equal(observe(h.observer, dns).newFlow, true, "expired when its next packet came");
    assert.equal(h.observer.counters.flowsExpired, 2);
  });

  it("a flow blocked at ALE stays blocked: its later packets are dropped unclassified", () => {
    const h = host({ filters: block("ALE_AUTH_CONNECT") });
    assert.equal(observe(h.observer, packetBytes({ clientPort: 7000, flags: TCP_SYN })).permit, false);
    h.log.length = 0;
    const later = observe(h.observer, packetBytes({ clientPort: 7000, outbound: false, flags: TCP_SYN | TCP_ACK }));
    assert.equal(later.byFlow, true);
    assert.equal(h.log.length, 0);
    assert.equal(h.observer.counters.droppedByFlow, 1);
  });

  it("FLOW_ESTABLISHED comes with the client's final handshake ACK, once", () => {
    const h = host({
      filters: both("ALE_FLOW_ESTABLISHED").map((layer) => ({ name: "see", layer, action: "permit" })),
    });
    observe(h.observer, packetBytes({ clientPort: 7100, flags: TCP_SYN }));
    observe(h.observer, packetBytes({ clientPort: 7100, outbound: false, flags: TCP_SYN | TCP_ACK }));
    assert.equal(h.log.length, 0);
    observe(h.observer, packetBytes({ clientPort: 7100, flags: TCP_ACK }));
    observe(h.observer, packetBytes({ clientPort: 7100, flags: TCP_ACK, payload: 10 }));
    assert.deepEqual(
      h.log.map((r) => [r.layer.fwpmName, r.direction, r.packet]),
      [["FWPM_LAYER_ALE_FLOW_ESTABLISHED_V4", "outbound", "ACK"]],
    );
  });

  it("a callout where flows are visible gets the flow: its context lives as long as the flow, flowDeleteFn runs on eviction", () => {
    const engine = engineOf({ filters: [] });
    const deleted: bigint[] = [];
    const key = "c0ffee00-0000-4000-8000-00000000a001";
    const clock = new ManualClock(1n);
    const shim = new Shim({ engine, clock, host: "local", flows: { capacity: 2 } });
    const seen: bigint[] = [];
    engine.addCallout({ calloutKey: key, name: "ctx", applicableLayer: "FWPM_LAYER_OUTBOUND_TRANSPORT_V4" });
    engine.registerCallout({
      calloutKey: key,
      classifyFn: (_v, metadata, _d, _c, _f, flowContext, out) => {
        const handle = (metadata as { flowHandle?: bigint }).flowHandle as bigint;
        if (flowContext === 0n) {
          const id = engine.getCallout(key)?.calloutId as number;
          shim.fwps.flowAssociateContext(
            handle,
            getLayer("FWPM_LAYER_OUTBOUND_TRANSPORT_V4").runtimeId,
            id,
            handle * 10n,
          );
        } else seen.push(flowContext);
        out.actionType = "FWP_ACTION_CONTINUE";
      },
      flowDeleteFn: (_layer, _callout, context) => {
        deleted.push(context);
      },
    });
    engine.addFilter({
      name: "ctx",
      layer: "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
      action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey: key },
    });
    const observer = new PacketObserver({ shim, local: [CLIENT] });
    observe(observer, packetBytes({ clientPort: 1 }));
    observe(observer, packetBytes({ clientPort: 1 }));
    observe(observer, packetBytes({ clientPort: 2 }));
    assert.deepEqual(seen, [10n], "the second packet of the first flow finds its context");
    observe(observer, packetBytes({ clientPort: 3 }));
    assert.deepEqual(deleted, [10n], "evicting the first flow deleted its context");
    assert.equal(observer.counters.flowsEvicted, 1);
  });
});
