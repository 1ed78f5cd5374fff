/**
 * The packet observer: drives the shims for traffic openwfp does not terminate — a capture being replayed,
 * later live traffic — from the packets alone. Given the host's local addresses, each IP packet is
 * outbound (from a local address), inbound (to one), loopback (both) or forwarded (neither), and crosses
 * the layers a Windows host would classify it at (flows.json, wfp-semantics.md §F):
 *
 * - outbound: for the first packet of a flow, ALE_CONNECT_REDIRECT and ALE_AUTH_CONNECT (TCP: before the
 *   SYN; UDP and ICMP echo: the first datagram), then ALE_FLOW_ESTABLISHED (UDP/ICMP at once; TCP with the
 *   client's final handshake ACK); STREAM for TCP data or DATAGRAM_DATA for datagrams; OUTBOUND_TRANSPORT
 *   (OUTBOUND_ICMP_ERROR first for ICMP errors); OUTBOUND_IPPACKET.
 * - inbound: INBOUND_IPPACKET; INBOUND_ICMP_ERROR for ICMP errors, else INBOUND_TRANSPORT; for the first
 *   packet of a flow ALE_AUTH_RECV_ACCEPT, then ALE_FLOW_ESTABLISHED (TCP: with the remote's final ACK);
 *   STREAM or DATAGRAM_DATA.
 * - forwarded: IPFORWARD only (F10). Loopback: the outbound path, then the inbound path, with IS_LOOPBACK.
 *
 * A flow blocked at ALE stays in the table as blocked, so its later packets are dropped without being
 * classified again (the connection never existed). A TCP flow first seen mid-stream is authorized with
 * its first packet, in the direction its ports say: a SYN-ACK means the other side connected [INF].
 * Fragments: inbound, each is indicated at INBOUND_IPPACKET twice (as a packet, then with IS_FRAGMENT,
 * F9); the first fragment's transport header stands for the datagram at the upper layers (labelled
 * "reassembled", with IS_REASSEMBLED at INBOUND_IPPACKET), and later fragments share the datagram's
 * verdict; outbound, only the first fragment is indicated (F8) and the others follow it. The observer does
 * not reassemble payloads [INF]. Layers with no filter are passed without a classification (their
 * verdict is PERMIT, C15), which keeps replay cheap.
 *
 * Cost per packet (capture replay classifies millions): headers are read into a reused `PacketHeaders`;
 * facts, layer data and metadata are built only when a layer with filters classifies the packet. Flows
 * live in a bounded table with exact LRU eviction and idle expiry of non-TCP flows (each counted), keyed
 * by numbers (`FlowIndex`) with their state in typed arrays: blocked, handshake step, established, who
 * opened the flow, and the layer policy its authorization saw (reauthorization, G12). A shim `AleFlow` —
 * FLOW_HANDLE, callout flow contexts — is made for a flow only when a callout filter can see it: the first
 * time the flow is classified at a layer with a callout filter, or when it is reauthorized. Layers without
 * callout filters classify without a flow (no FLOW_HANDLE in their metadata: only a callout reads it).
 * Nothing grows with the input.
 *
 * While no ALE layer holds a filter and no callout filter sits where a flow would be handed to it, no verdict
 * can depend on a flow, and by default (`trackFlows: "auto"`) the observer keeps none: packets cross the
 * packet layers without a table lookup (`counters.untracked`), which halves the cost of a replay under such a
 * policy. The classifications are the same as with flows, but for INBOUND_TRANSPORT's ALE_CLASSIFY_REQUIRED
 * metadata on a flow's first packet, which only a callout could read. A policy change that makes flows matter
 * starts tracking with an empty table (connections are then authorized by the next packet seen, as in a
 * capture that starts mid-connection); one that makes them irrelevant empties it. `trackFlows: "always"`
 * keeps flows regardless.
 */
import { err, type IpAddress, Ipv4Address, type Ok, ok, type Result } from "../base/index.ts";
import { FWP_CONDITION_FLAG, FWPS_STREAM_FLAG, type Layer } from "../fwp/index.ts";
import {
  type AleFlow,
  type ClassifyFacts,
  type ClassifyInput,
  type ClassifyPoint,
  type ClassifyResult,
  type InterfaceFacts,
  type IpPacketInfo,
  layerOfPoint,
  type MetadataInput,
  type PacketLabel,
  type PacketLayerData,
  packetFacts,
  packetLabel,
  type Shim,
  type ShimVerdict,
  type StreamCalloutIoPacket,
  tcpSegmentLabel,
} from "../shim/index.ts";
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type WireError } from "../wire/index.ts";
import { FlowTable } from "./flow-table.ts";
import { PacketHeaders } from "./headers.ts";
import { LocalAddresses } from "./local.ts";

const FLAG = FWP_CONDITION_FLAG;

export type ObservedDirection = "inbound" | "outbound" | "loopback" | "forward";

/** What became of one packet. */
export interface ObservedVerdict {
  readonly permit: boolean;
  readonly direction: ObservedDirection;
  /** The layer that dropped it, and its classification (absent when permitted, or dropped by a blocked flow). */
  readonly layer?: Layer;
  readonly result?: ClassifyResult;
  /** Dropped because its flow was blocked at ALE earlier. */
  readonly byFlow?: boolean;
  /** This packet opened an ALE flow. */
  readonly newFlow: boolean;
}

export interface ObserverOptions {
  /**
   * The host's shim: its engine holds the policy. Its flow table's capacity and idle lifetime bound the
   * observer's flows; the AleFlows the observer makes (see the module comment) are kept by the observer,
   * not filed in that table.
   */
  readonly shim: Shim;
  /** The host's addresses. */
  readonly local: readonly IpAddress[];
  /** The interface the traffic is on (INTERFACE_INDEX, IP_LOCAL_INTERFACE, …); default index 2, Ethernet. */
  readonly iface?: InterfaceFacts;
  /** Fragment groups remembered at once (default 4096). */
  readonly fragmentGroups?: number;
  /**
   * "auto" (default): keep flows only while the policy lets one matter (see `#tracksFlows`); "always": keep
   * them whatever the policy (for the flow counters, or to have flows ready when a policy change needs them).
   */
  readonly trackFlows?: "auto" | "always";
}

export interface ObserverCounters {
  packets: number;
  permitted: number;
  dropped: number;
  droppedByFlow: number;
  malformed: number;
  flowsCreated: number;
  flowsBlocked: number;
  /** Flows pushed out of the full table (least recently used first), blocked ones included. */
  flowsEvicted: number;
  /** Non-TCP flows idle for longer than the idle lifetime (G4). */
  flowsExpired: number;
  inbound: number;
  outbound: number;
  loopback: number;
  forwarded: number;
  fragments: number;
  /**
   * Packets with a flow key passed without flow tracking: no ALE layer held a filter and no callout could
   * see a flow, so no verdict could depend on one (see the module comment).
   */
  untracked: number;
}

const DEFAULT_IFACE: InterfaceFacts = {
  index: 2,
  luid: (6n << 48n) | (2n << 24n),
  type: 6,
  tunnelType: 0,
  subInterfaceIndex: 0,
  profileId: 1,
};

type Direction = "inbound" | "outbound";

// Which interface facts besides `iface` a packet's facts carry.
const NO_INTERFACE = 0;
const ARRIVAL = 1;
const NEXT_HOP = 2;

/** The layers of the classify points the observer uses, for one IP version. */
interface PointLayers {
  readonly inboundIp: Layer;
  readonly outboundIp: Layer;
  readonly forward: Layer;
  readonly inboundTransport: Layer;
  readonly outboundTransport: Layer;
  readonly stream: Layer;
  readonly datagramData: Layer;
  readonly inboundIcmpError: Layer;
  readonly outboundIcmpError: Layer;
  readonly connectRedirect: Layer;
  readonly authConnect: Layer;
  readonly authRecvAccept: Layer;
  readonly flowEstablished: Layer;
}

function pointLayers(v: 4 | 6): PointLayers {
  const at = (p: ClassifyPoint) => layerOfPoint(p, v);
  return {
    inboundIp: at("INBOUND_IPPACKET"),
    outboundIp: at("OUTBOUND_IPPACKET"),
    forward: at("IPFORWARD"),
    inboundTransport: at("INBOUND_TRANSPORT"),
    outboundTransport: at("OUTBOUND_TRANSPORT"),
    stream: at("STREAM"),
    datagramData: at("DATAGRAM_DATA"),
    inboundIcmpError: at("INBOUND_ICMP_ERROR"),
    outboundIcmpError: at("OUTBOUND_ICMP_ERROR"),
    connectRedirect: at("ALE_CONNECT_REDIRECT"),
    authConnect: at("ALE_AUTH_CONNECT"),
    authRecvAccept: at("ALE_AUTH_RECV_ACCEPT"),
    flowEstablished: at("ALE_FLOW_ESTABLISHED"),
  };
}

const LAYERS_V4 = pointLayers(4);
const LAYERS_V6 = pointLayers(6);

// Flow state bits (per slot).
const BLOCKED = 1;
const ESTABLISHED = 2;
/** TCP: the handshake step reached (0 SYN seen, 1 SYN-ACK seen, 2 established), in bits 2–3. */
const HANDSHAKE_SHIFT = 2;
const HANDSHAKE_MASK = 3 << HANDSHAKE_SHIFT;
/** The flow was opened from outside (authorized at ALE_AUTH_RECV_ACCEPT). */
const OPENED_INBOUND = 16;
/** The packet that authorized the flow was inbound (the interface facts its ALE facts carry). */
const AUTHORIZED_BY_INBOUND = 32;
/** The slot holds a flow. */
const IN_USE = 64;
/** The flow has a shim flow (`#flow`). */
const HAS_FLOW = 128;
/** ICMP echo flows: the type << 8 | code of the packet that authorized the flow (its ALE port facts). */
const ICMP_SHIFT = 16;
/** What a shim flow made for a flow whose authorization's policy no longer exists remembers instead. */
const GONE_POLICY: object = Object.freeze({});

const KEY_IPV6 = 0x80000000;
/** 2^51 ns (26 days): relative activity times stay exact far beyond it. */
const REBASE_AT = 1n << 51n;
const REBASE_AT_NUMBER = 2 ** 51;
const KEY_ECHO = 0x40000000;

const KINDS: readonly ObservedDirection[] = ["inbound", "outbound", "loopback", "forward"];

function frozenOk(v: ObservedVerdict): Ok<ObservedVerdict> {
  return Object.freeze(ok(Object.freeze(v)));
}

/** The verdicts that carry no classification, made once: [kind * 2 + newFlow], [kind] (kinds as in KINDS). */
const PERMITS = KINDS.flatMap((direction) => [
  frozenOk({ permit: true, direction, newFlow: false }),
  frozenOk({ permit: true, direction, newFlow: true }),
]);
const BY_FLOW = KINDS.map((direction) => frozenOk({ permit: false, direction, byFlow: true, newFlow: false }));

/** The kind's index in KINDS (a comparison or three: these are asked once per packet). */
function kindIndex(kind: ObservedDirection): number {
  return kind === "inbound" ? 0 : kind === "outbound" ? 1 : kind === "loopback" ? 2 : 3;
}

function permitted(kind: ObservedDirection, newFlow: boolean): Ok<ObservedVerdict> {
  return PERMITS[kindIndex(kind) * 2 + (newFlow ? 1 : 0)] as Ok<ObservedVerdict>;
}

function droppedByFlow(kind: ObservedDirection): Ok<ObservedVerdict> {
  return BY_FLOW[kindIndex(kind)] as Ok<ObservedVerdict>;
}

function dropped(kind: ObservedDirection, b: ShimVerdict, newFlow = false): Ok<ObservedVerdict> {
  return ok({ permit: false, direction: kind, layer: b.layer, result: b.result, newFlow });
}

export class PacketObserver {
  readonly shim: Shim;
  readonly local: LocalAddresses;
  readonly iface: InterfaceFacts;
  readonly counters: ObserverCounters = {
    packets: 0,
    permitted: 0,
    dropped: 0,
    droppedByFlow: 0,
    malformed: 0,
    flowsCreated: 0,
    flowsBlocked: 0,
    flowsEvicted: 0,
    flowsExpired: 0,
    inbound: 0,
    outbound: 0,
    loopback: 0,
    forwarded: 0,
    fragments: 0,
    untracked: 0,
  };
  readonly #groups = new Map<string, boolean>();
  readonly #groupLimit: number;
  readonly #idleNs: bigint;

  /** Flows (blocked ones too): state, policy serial and last activity per slot. */
  readonly #table: FlowTable;
  /**
   * Non-TCP flows' last activity is kept in ns after `#base` (exact: integers below 2^53, rebased when the
   * clock runs far from the base), so that no timestamp object is kept per flow.
   */
  #base: bigint | undefined = undefined;
  #nowAt: bigint | undefined = undefined;
  #nowRel = 0;
  readonly #idle: number;
  /** The shim flow of a slot with HAS_FLOW, made once a callout can see the flow. */
  readonly #flow: (AleFlow | undefined)[];
  /**
   * A flow remembers the auth layer policy its authorization saw as a serial number (0: none): serials by
   * policy object, the policies by serial (weakly: a policy nobody holds can never be current again), and
   * the last policy and serial seen per layer.
   */
  readonly #serials = new WeakMap<object, number>();
  readonly #policies = new Map<number, WeakRef<object>>();
  #nextSerial = 0;
  readonly #lastPolicy: (object | undefined)[] = [];
  readonly #lastSerial: number[] = [];
  readonly #slotOfFlow = new Map<number, number>();
  /** Whether flows are tracked, decided at the engine's policyVersion `#tracksAt`. */
  #tracks = true;
  #tracksAt: number | undefined = undefined;
  readonly #alwaysTrack: boolean;

  // The packet being observed, and what has been built for the path it is on (reset per path).
  readonly #h = new PacketHeaders();
  #dir: Direction = "outbound";
  #loopFlag = 0;
  #labelOverride: PacketLabel | undefined = undefined;
  #facts: ClassifyFacts | undefined = undefined;
  #ipFacts: ClassifyFacts | undefined = undefined;
  #layerData: PacketLayerData | undefined = undefined;
  #meta: MetadataInput | undefined = undefined;

  constructor(options: ObserverOptions) {
    this.shim = options.shim;
    this.local = new LocalAddresses(options.local);
    this.iface = options.iface ?? DEFAULT_IFACE;
    this.#groupLimit = options.fragmentGroups ?? 4096;
    this.#alwaysTrack = options.trackFlows === "always";
    this.#idleNs = this.shim.flows.idleNs;
    this.#idle = Number(this.#idleNs);
    const capacity = this.shim.flows.capacity;
    this.#table = new FlowTable(capacity);
    this.#flow = new Array<AleFlow | undefined>(capacity).fill(undefined);
    const previous = this.shim.flows.onFlowEnd;
    this.shim.flows.onFlowEnd = (flow, why) => {
      // A flow of ours ended elsewhere (a reauthorization blocked it, a callout service closed it).
      const slot = this.#slotOfFlow.get(Number(flow.flowHandle));
      if (slot !== undefined && this.#flow[slot] === flow) this.#free(slot);
      previous?.(flow, why);
    };
  }

  /** Live flows, blocked ones included. */
  get flowCount(): number {
    return this.#table.size;
  }

  /** Observes the IP packet at bytes[offset, end) at time `nowNs` (the shim's clock should read the same). */
  observe(bytes: Uint8Array, offset = 0, end = bytes.length): Result<ObservedVerdict, WireError> {
    this.counters.packets++;
    const h = this.#h;
    const error = h.read(bytes, offset, end);
    if (error !== undefined) {
      this.counters.malformed++;
      return err(error);
    }
    let srcLocal: boolean;
    let dstIsLocal: boolean;
    let dstLocal: boolean;
    if (h.version === 4) {
      srcLocal = this.local.hasV4(h.src4);
      dstIsLocal = this.local.hasV4(h.dst4);
      dstLocal = dstIsLocal || h.dst4 >>> 28 === 0xe || h.dst4 === 0xffffffff;
    } else {
      srcLocal = this.local.has(h.src);
      dstIsLocal = this.local.has(h.dst);
      dstLocal = dstIsLocal || h.dst.isMulticast();
    }
    let v: Ok<ObservedVerdict>;
    if (srcLocal && dstIsLocal) {
      this.counters.loopback++;
      v = this.#path("outbound", FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK, "loopback");
      if (v.value.permit) v = this.#path("inbound", FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK, "loopback");
    } else if (srcLocal) {
      this.counters.outbound++;
      v = this.#path("outbound", 0, "outbound");
    } else if (dstLocal) {
      this.counters.inbound++;
      v = this.#path("inbound", 0, "inbound");
    } else {
      this.counters.forwarded++;
      v = this.#forward();
    }
    if (v.value.permit) this.counters.permitted++;
    else {
      this.counters.dropped++;
      if (v.value.byFlow === true) this.counters.droppedByFlow++;
    }
    return v;
  }

  /** Removes non-TCP flows idle for longer than the idle lifetime (G4) at `nowNs`; returns how many. */
  expireFlows(nowNs: bigint): number {
    // An empty table (flows untracked, or none yet) has nothing to sweep through.
    if (this.#table.size === 0) return 0;
    return this.#sweep(this.#relative(nowNs));
  }

  #sweep(nowRel: number): number {
    // In slot order (the memory's), not use order: a sweep reads every flow.
    const table = this.#table;
    let n = 0;
    for (let s = 0; s < table.capacity; s++) {
      if ((table.state(s) & (IN_USE | BLOCKED)) === IN_USE && this.#expired(s, nowRel)) {
        this.counters.flowsExpired++;
        this.#free(s);
        n++;
      }
    }
    return n;
  }

  /** The clock's time in ns after `#base`, computed once per clock reading. */
  #now(): number {
    const now = this.shim.clock.nowNs();
    if (now === this.#nowAt) return this.#nowRel;
    const rel = this.#relative(now);
    this.#nowAt = now;
    this.#nowRel = rel;
    return rel;
  }

  #relative(now: bigint): number {
    if (this.#base === undefined) this.#base = now;
    const d = now - this.#base;
    if (d <= REBASE_AT && d >= -REBASE_AT) return Number(d);
    // Far from the base: what has idled out goes, then every activity moves to the new base (exactly, for
    // idle lifetimes below 2^51 ns: the flows left are younger than that).
    const rel = Number(d);
    this.#sweep(rel);
    this.#base = now;
    const table = this.#table;
    for (let s = table.oldest(); s !== -1; s = table.younger(s)) {
      table.setTime(s, Math.max(table.time(s) - rel, -REBASE_AT_NUMBER));
    }
    this.#nowAt = undefined;
    return 0;
  }

  // ---------------------------------------------------------------------------------------------
  // What a classification is built from, made on first use for the path being walked
  // ---------------------------------------------------------------------------------------------

  #startPath(direction: Direction, loopFlag: number): void {
    this.#dir = direction;
    this.#loopFlag = loopFlag;
    this.#labelOverride = undefined;
    this.#facts = undefined;
    this.#ipFacts = undefined;
    this.#layerData = undefined;
    this.#meta = undefined;
  }

  /** Facts at the transport and ALE layers: the packet's, with the interface it arrives on or leaves by. */
  #packetFacts(): ClassifyFacts {
    this.#facts ??= this.#factsOf(this.#dir, this.#dir === "inbound" ? ARRIVAL : NEXT_HOP);
    return this.#facts;
  }

  /** Facts at the IP packet layer. */
  #packetIpFacts(): ClassifyFacts {
    this.#ipFacts ??= this.#factsOf(this.#dir, NO_INTERFACE);
    return this.#ipFacts;
  }

  /**
   * packetFacts of the packet travelling in `direction`, with the arrival or next-hop interface or neither:
   * for a packet the fast path read, built from its numbers (the same facts, without the IpPacketInfo).
   */
  #factsOf(direction: Direction, which: number): ClassifyFacts {
    const h = this.#h;
    const iface = this.iface;
    const flags = this.#loopFlag;
    if (!h.fast) {
      return packetFacts(h.info(), direction, {
        iface,
        ...(which === ARRIVAL ? { arrivalInterface: iface } : which === NEXT_HOP ? { nextHopInterface: iface } : {}),
        flags,
      });
    }
    const inbound = direction === "inbound";
    const localAddress = new Ipv4Address(inbound ? h.dst4 : h.src4);
    const remoteAddress = new Ipv4Address(inbound ? h.src4 : h.dst4);
    const localPort = inbound ? h.dstPort : h.srcPort;
    const remotePort = inbound ? h.srcPort : h.dstPort;
    const protocol = h.protocol;
    if (which === ARRIVAL) {
      return {
        ipVersion: 4,
        direction,
        protocol,
        localAddress,
        remoteAddress,
        localPort,
        remotePort,
        iface,
        arrivalInterface: iface,
        flags,
      };
    }
    if (which === NEXT_HOP) {
      return {
        ipVersion: 4,
        direction,
        protocol,
        localAddress,
        remoteAddress,
        localPort,
        remotePort,
        iface,
        nextHopInterface: iface,
        flags,
      };
    }
    return { ipVersion: 4, direction, protocol, localAddress, remoteAddress, localPort, remotePort, iface, flags };
  }

  #label(): PacketLabel {
    const override = this.#labelOverride;
    if (override !== undefined) return override;
    const h = this.#h;
    if (!h.fast) return packetLabel(h.info());
    return h.tcpFlags >= 0 ? tcpSegmentLabel(h.tcpFlags, h.payloadLength) : "datagram";
  }

  #packetLayerData(): PacketLayerData {
    let d = this.#layerData;
    if (d === undefined) {
      const h = this.#h;
      const dataOffset = this.#dir === "inbound" ? h.offset + h.ipHeaderLength : h.offset;
      // Written out rather than spread: this is built for every packet a layer classifies.
      d = h.transport
        ? {
            kind: "packet",
            bytes: h.bytes,
            ipOffset: h.offset,
            transportOffset: h.transportOffset,
            payloadOffset: h.transportOffset + h.transportHeaderLength,
            end: h.offset + h.length,
            dataOffset,
          }
        : { kind: "packet", bytes: h.bytes, ipOffset: h.offset, end: h.offset + h.length, dataOffset };
      this.#layerData = d;
    }
    return d;
  }

  /** Metadata at the transport, ALE, stream-less upper layers. */
  #upperMeta(): MetadataInput {
    let m = this.#meta;
    if (m === undefined) {
      const h = this.#h;
      const packetDirection = this.#dir === "inbound" ? 1 : 0;
      m = h.transport
        ? {
            ipHeaderSize: h.ipHeaderLength,
            transportHeaderSize: h.transportHeaderLength,
            compartmentId: 1,
            packetDirection,
          }
        : { ipHeaderSize: h.ipHeaderLength, compartmentId: 1, packetDirection };
      this.#meta = m;
    }
    return m;
  }

  #ipMeta(): MetadataInput {
    return { ipHeaderSize: this.#h.ipHeaderLength, compartmentId: 1 };
  }

  /** True when the layer holds a filter (an empty one permits without a classification, C15). */
  #live(layer: Layer): boolean {
    return !this.shim.layerPlan(layer).empty;
  }

  /** Classifies at `layer`; the verdict when it blocked, else undefined. */
  #blocks(layer: Layer, input: ClassifyInput): ShimVerdict | undefined {
    const v = this.shim.classify(layer, input);
    return v.permit ? undefined : v;
  }

  // ---------------------------------------------------------------------------------------------
  // Paths
  // ---------------------------------------------------------------------------------------------

  #forward(): Ok<ObservedVerdict> {
    const h = this.#h;
    const layer = (h.version === 4 ? LAYERS_V4 : LAYERS_V6).forward;
    if (!this.#live(layer)) return permitted("forward", false);
    const p = h.info();
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes: h.bytes,
      ipOffset: p.offset,
      end: p.offset + p.length,
      dataOffset: p.offset,
    };
    const blocked = this.#blocks(layer, {
      facts: {
        ipVersion: p.version,
        sourceAddress: p.src,
        destinationAddress: p.dst,
        arrivalInterface: this.iface,
        nextHopInterface: this.iface,
        flags: 0,
      },
      packet: p.fragment !== undefined ? "fragment" : "datagram",
      logDirection: "none",
      layerData,
    });
    return blocked === undefined ? permitted("forward", false) : dropped("forward", blocked);
  }

  #fragmentKey(p: IpPacketInfo): string {
    return `${p.src}|${p.dst}|${p.version === 4 ? p.protocol : ""}|${p.fragment?.identification ?? 0}`;
  }

  #rememberGroup(key: string, permit: boolean): void {
    if (this.#groups.size >= this.#groupLimit) {
      const oldest = this.#groups.keys().next().value as string;
      this.#groups.delete(oldest);
    }
    this.#groups.set(key, permit);
  }

  #path(direction: Direction, loopFlag: number, kind: ObservedDirection): Ok<ObservedVerdict> {
    this.#startPath(direction, loopFlag);
    const h = this.#h;
    const inbound = direction === "inbound";
    const inboundIp = (h.version === 4 ? LAYERS_V4 : LAYERS_V6).inboundIp;
    if (h.fragment) {
      this.counters.fragments++;
      const p = h.info();
      const key = this.#fragmentKey(p);
      if (inbound && this.#live(inboundIp)) {
        const ipFacts = this.#packetIpFacts();
        const layerData = this.#packetLayerData();
        const a = this.#blocks(inboundIp, { facts: ipFacts, packet: "fragment", layerData, metadata: this.#ipMeta() });
        if (a !== undefined) return dropped(kind, a);
        const b = this.#blocks(inboundIp, {
          facts: { ...ipFacts, flags: loopFlag | FLAG.FWP_CONDITION_FLAG_IS_FRAGMENT },
          packet: "fragment",
          layerData,
          metadata: this.#ipMeta(),
        });
        if (b !== undefined) return dropped(kind, b);
      }
      if (p.fragment?.offset !== 0 || p.transport === undefined) {
        const group = this.#groups.get(key);
        if (group === false) return droppedByFlow(kind);
        return permitted(kind, false);
      }
      this.#labelOverride = "reassembled";
      if (inbound && this.#live(inboundIp)) {
        const r = this.#blocks(inboundIp, {
          facts: { ...this.#packetIpFacts(), flags: loopFlag | FLAG.FWP_CONDITION_FLAG_IS_REASSEMBLED },
          packet: "reassembled",
          layerData: this.#packetLayerData(),
          metadata: this.#ipMeta(),
        });
        if (r !== undefined) {
          this.#rememberGroup(key, false);
          return dropped(kind, r);
        }
      }
      const v = this.#upper(direction, kind);
      this.#rememberGroup(key, v.value.permit);
      return v;
    }
    if (inbound && this.#live(inboundIp)) {
      const a = this.#blocks(inboundIp, {
        facts: this.#packetIpFacts(),
        packet: this.#label(),
        layerData: this.#packetLayerData(),
        metadata: this.#ipMeta(),
      });
      if (a !== undefined) return dropped(kind, a);
    }
    return this.#upper(direction, kind);
  }

  /** The transport and ALE layers (and, outbound, the IP packet layer last). */
  #upper(direction: Direction, kind: ObservedDirection): Ok<ObservedVerdict> {
    const h = this.#h;
    const inbound = direction === "inbound";
    const L = h.version === 4 ? LAYERS_V4 : LAYERS_V6;
    if (h.icmpError) return this.#icmpError(direction, kind);
    const keyed = this.#writeKey(direction);
    const tracked = keyed && this.#tracksFlows();
    if (keyed && !tracked) this.counters.untracked++;
    let slot = -1;
    if (tracked) {
      slot = this.#table.find();
      if (slot >= 0) slot = this.#revisit(slot);
    }
    if (slot >= 0 && (this.#table.state(slot) & BLOCKED) !== 0) return droppedByFlow(kind);
    const isTcp = h.tcpFlags >= 0;
    const flags = isTcp ? h.tcpFlags : 0;
    let newFlow = false;
    if (slot < 0 && tracked) {
      // Who opened the flow: its first packet, except that a SYN-ACK means the other side did.
      const synAck = isTcp && (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
      const opener: Direction = synAck ? (inbound ? "outbound" : "inbound") : direction;
      if (inbound && opener === "inbound" && this.#live(L.inboundTransport)) {
        const tr = this.#blocks(L.inboundTransport, {
          facts: this.#packetFacts(),
          packet: this.#label(),
          layerData: this.#packetLayerData(),
          metadata: { ...this.#upperMeta(), aleClassifyRequired: true },
        });
        if (tr !== undefined) return dropped(kind, tr);
      }
      const created = this.#authorize(direction, opener, isTcp ? (flags & TCP_SYN ? 0 : 2) : 2);
      if (typeof created !== "number") return dropped(kind, created, true);
      slot = created;
      newFlow = true;
      if (inbound && opener !== "inbound" && this.#live(L.inboundTransport)) {
        const tr = this.#blocks(L.inboundTransport, this.#upperInput(slot, L.inboundTransport));
        if (tr !== undefined) return dropped(kind, tr, true);
      }
    } else if (inbound) {
      if (this.#live(L.inboundTransport)) {
        const tr = this.#blocks(L.inboundTransport, this.#upperInput(slot, L.inboundTransport));
        if (tr !== undefined) return dropped(kind, tr);
      }
      if (slot >= 0) {
        const r = this.#reauthorizeIfDue(slot, kind);
        if (r !== undefined) return r;
      }
    } else if (slot >= 0) {
      const r = this.#reauthorizeIfDue(slot, kind);
      if (r !== undefined) return r;
    }
    // TCP handshake: FLOW_ESTABLISHED with the opener's final ACK (outbound before transport, inbound after).
    if (isTcp && slot >= 0) {
      let bits = this.#table.state(slot);
      if ((bits & ESTABLISHED) === 0) {
        let step = (bits & HANDSHAKE_MASK) >>> HANDSHAKE_SHIFT;
        if (flags & TCP_SYN) step = flags & TCP_ACK ? Math.max(step, 1) : 0;
        else if (flags & TCP_ACK && step >= 1) step = 2;
        bits = (bits & ~HANDSHAKE_MASK) | (step << HANDSHAKE_SHIFT);
        const fromOpener = ((bits & OPENED_INBOUND) !== 0) === inbound;
        if (step === 2 && fromOpener) bits |= ESTABLISHED;
        this.#table.setState(slot, bits);
        if ((bits & ESTABLISHED) !== 0 && this.#live(L.flowEstablished)) this.#established(slot, direction, "ACK");
      }
    }
    if (isTcp) {
      if ((h.payloadLength > 0 || flags & (TCP_FIN | TCP_RST)) && this.#live(L.stream)) {
        const streamBlock = this.#stream(direction, flags, slot, L.stream);
        if (streamBlock !== undefined) return dropped(kind, streamBlock, newFlow);
      }
    } else if (keyed && this.#live(L.datagramData)) {
      const dd = this.#blocks(L.datagramData, this.#upperInput(slot, L.datagramData));
      if (dd !== undefined) return dropped(kind, dd, newFlow);
    }
    if (!inbound) {
      if (this.#live(L.outboundTransport)) {
        const ot = this.#blocks(L.outboundTransport, this.#upperInput(slot, L.outboundTransport));
        if (ot !== undefined) return dropped(kind, ot, newFlow);
      }
      if (this.#live(L.outboundIp)) {
        const oi = this.#blocks(L.outboundIp, {
          facts: this.#packetFacts(),
          packet: this.#label(),
          layerData: this.#packetLayerData(),
          metadata: {
            ipHeaderSize: h.ipHeaderLength,
            ...(h.transport ? { transportHeaderSize: h.transportHeaderLength } : {}),
            compartmentId: 1,
          },
        });
        if (oi !== undefined) return dropped(kind, oi, newFlow);
      }
    }
    return permitted(kind, newFlow);
  }

  /** The input of a transport or datagram-data classification, with the flow when a callout can see it. */
  #upperInput(slot: number, layer: Layer): ClassifyInput {
    const flow = slot >= 0 ? this.#flowFor(slot, layer) : undefined;
    const facts = this.#packetFacts();
    const packet = this.#label();
    const layerData = this.#packetLayerData();
    const metadata = this.#upperMeta();
    return flow !== undefined ? { facts, packet, layerData, metadata, flow } : { facts, packet, layerData, metadata };
  }

  // ---------------------------------------------------------------------------------------------
  // Flows
  // ---------------------------------------------------------------------------------------------

  /**
   * Writes the packet's ALE flow key (seen from the local end) into the index's key: TCP/UDP by protocol,
   * addresses and ports, ICMP echo by addresses and identifier. False when the packet has none.
   */
  #writeKey(direction: Direction): boolean {
    const h = this.#h;
    if (!h.transport) return false;
    const inbound = direction === "inbound";
    let w0: number;
    let w1: number;
    if (h.icmpId >= 0) {
      w0 = KEY_ECHO | h.protocol;
      w1 = h.icmpId;
    } else if (h.srcPort >= 0 && h.dstPort >= 0) {
      w0 = h.protocol;
      w1 = inbound ? (h.dstPort << 16) | h.srcPort : (h.srcPort << 16) | h.dstPort;
    } else {
      return false;
    }
    const k = this.#table.key;
    if (h.version === 4) {
      k[0] = w0;
      k[1] = w1;
      k[2] = inbound ? h.dst4 : h.src4;
      k[3] = inbound ? h.src4 : h.dst4;
    } else {
      k[0] = KEY_IPV6 | w0;
      k[1] = w1;
      const p = h.info();
      writeWords(k, 2, inbound ? p.dst : p.src);
      writeWords(k, 6, inbound ? p.src : p.dst);
    }
    return true;
  }

  /**
   * Whether the policy lets a flow matter: some ALE layer the observer classifies at (connect redirect, auth
   * connect, recv-accept, flow established; either IP version) holds a filter, or a callout filter sits at a
   * layer where the observer would hand it the flow (transport, stream, datagram data, ICMP error). When
   * neither, every verdict is a function of the packet alone, so flows are not kept: the table is emptied and
   * packets pass without a lookup (`counters.untracked`). Decided once per engine policyVersion; when a
   * policy change makes flows matter again, tracking starts afresh and each connection is authorized by the
   * first packet seen, as in a capture that starts mid-connection.
   */
  #tracksFlows(): boolean {
    if (this.#alwaysTrack) return true;
    const version = this.shim.engine.policyVersion;
    if (version === this.#tracksAt) return this.#tracks;
    this.#tracksAt = version;
    let tracks = false;
    for (const L of [LAYERS_V4, LAYERS_V6]) {
      for (const l of [L.connectRedirect, L.authConnect, L.authRecvAccept, L.flowEstablished]) {
        if (!this.shim.layerPlan(l).empty) tracks = true;
      }
      for (const l of [
        L.inboundTransport,
        L.outboundTransport,
        L.stream,
        L.datagramData,
        L.inboundIcmpError,
        L.outboundIcmpError,
      ]) {
        if (this.shim.layerPlan(l).callouts) tracks = true;
      }
    }
    if (!tracks && this.#table.size > 0) {
      for (let s = this.#table.oldest(); s !== -1; s = this.#table.oldest()) this.#free(s);
    }
    this.#tracks = tracks;
    return tracks;
  }

  /** A found flow: gone if its shim flow was closed or it idled out (then -1), else touched. */
  #revisit(slot: number): number {
    const table = this.#table;
    const flow = (table.state(slot) & HAS_FLOW) !== 0 ? this.#flow[slot] : undefined;
    if (flow !== undefined && flow.state === "closed") {
      this.#free(slot);
      return -1;
    }
    if (table.protocolOf(slot) !== 6) {
      const now = this.#now();
      if (this.#expired(slot, now)) {
        this.counters.flowsExpired++;
        this.#free(slot);
        return -1;
      }
      table.setTime(slot, now);
    }
    table.touch(slot);
    if (flow !== undefined) flow.lastActivityNs = this.shim.clock.nowNs();
    return slot;
  }

  /** A permitted non-TCP flow idle for longer than the idle lifetime at `nowRel` (blocked flows stay). */
  #expired(slot: number, nowRel: number): boolean {
    const table = this.#table;
    return (
      table.protocolOf(slot) !== 6 && (table.state(slot) & BLOCKED) === 0 && nowRel - table.time(slot) > this.#idle
    );
  }

  /** A slot for the flow in the key, evicting the least recently used flow when the table is full. */
  #file(bits: number): number {
    const table = this.#table;
    let slot: number;
    if (table.size >= table.capacity) {
      // The oldest flow goes and its slot takes the new one.
      this.counters.flowsEvicted++;
      const flow = this.#detach(table.oldest());
      if (flow !== undefined && flow.state !== "closed") this.shim.closeFlow(flow);
      slot = table.replaceOldest(bits | IN_USE);
    } else {
      slot = table.insert(bits | IN_USE);
    }
    if (table.protocolOf(slot) !== 6) table.setTime(slot, this.#now());
    return slot;
  }

  /** Forgets a flow, closing its shim flow (flowDeleteFn runs for its contexts, D17). */
  #free(slot: number): void {
    const flow = this.#detach(slot);
    this.#table.remove(slot);
    if (flow !== undefined && flow.state !== "closed") this.shim.closeFlow(flow);
  }

  /** The slot's shim flow, if it has one, no longer filed under the slot (the caller closes it). */
  #detach(slot: number): AleFlow | undefined {
    if ((this.#table.state(slot) & HAS_FLOW) === 0) return undefined;
    const flow = this.#flow[slot];
    if (flow !== undefined) {
      this.#flow[slot] = undefined;
      this.#slotOfFlow.delete(Number(flow.flowHandle));
    }
    return flow;
  }

  /** The serial of `layer`'s current policy (`current`, when the caller has just read it). */
  #serialOf(layer: Layer, current?: object): number {
    const policy = current ?? this.shim.policyOf(layer);
    const id = layer.runtimeId;
    if (this.#lastPolicy[id] === policy) return this.#lastSerial[id] as number;
    let serial = this.#serials.get(policy);
    if (serial === undefined) {
      serial = ++this.#nextSerial;
      this.#serials.set(policy, serial);
      if (this.#policies.size >= 1024) {
        for (const [k, ref] of this.#policies) if (ref.deref() === undefined) this.#policies.delete(k);
      }
      this.#policies.set(serial, new WeakRef(policy));
    }
    this.#lastPolicy[id] = policy;
    this.#lastSerial[id] = serial;
    return serial;
  }

  #authLayer(slot: number): Layer {
    const L = this.#h.version === 4 ? LAYERS_V4 : LAYERS_V6;
    return (this.#table.state(slot) & OPENED_INBOUND) !== 0 ? L.authRecvAccept : L.authConnect;
  }

  /**
   * The ALE facts of a flow's authorization — the local end's addresses and ports, the opener's
   * direction, the interface facts of the packet that authorized it — rebuilt from a packet of the flow
   * (same key, so the same addresses and ports; for ICMP the authorizing packet's type and code).
   */
  #aleFacts(slot: number): ClassifyFacts {
    const bits = this.#table.state(slot);
    const f = this.#factsOf(this.#dir, (bits & AUTHORIZED_BY_INBOUND) !== 0 ? ARRIVAL : NEXT_HOP);
    const direction: Direction = (bits & OPENED_INBOUND) !== 0 ? "inbound" : "outbound";
    if (this.#h.icmpType < 0) return { ...f, direction };
    const icmp = bits >>> ICMP_SHIFT;
    return { ...f, direction, localPort: icmp >>> 8, remotePort: icmp & 0xff };
  }

  /** The flow's shim flow: the one it has, or a new one when a callout filter at `layer` can see it. */
  #flowFor(slot: number, layer: Layer): AleFlow | undefined {
    if ((this.#table.state(slot) & HAS_FLOW) !== 0) return this.#flow[slot];
    if (!this.shim.layerPlan(layer).callouts) return undefined;
    return this.#materialize(slot);
  }

  #materialize(slot: number): AleFlow {
    const table = this.#table;
    const bits = table.state(slot);
    const flow = this.shim.createFlow(
      "",
      this.#authLayer(slot),
      this.#aleFacts(slot),
      (bits & OPENED_INBOUND) !== 0 ? "inbound" : "outbound",
      this.#h.protocol,
    );
    const serial = table.serial(slot);
    flow.policy = this.#policies.get(serial)?.deref() ?? GONE_POLICY;
    if (table.protocolOf(slot) !== 6) flow.lastActivityNs = (this.#base ?? 0n) + BigInt(table.time(slot));
    table.setState(slot, bits | HAS_FLOW);
    this.#flow[slot] = flow;
    this.#slotOfFlow.set(Number(flow.flowHandle), slot);
    return flow;
  }

  /**
   * A filter was added to or removed from the layer where the flow was authorized: reauthorizes it with
   * this packet (G7–G12). A block ends the flow (the next packet starts a new one) and drops the packet.
   */
  #reauthorizeIfDue(slot: number, kind: ObservedDirection): Ok<ObservedVerdict> | undefined {
    let flow = (this.#table.state(slot) & HAS_FLOW) !== 0 ? this.#flow[slot] : undefined;
    if (flow !== undefined) {
      if (!this.shim.reauthorizationDue(flow)) return undefined;
    } else {
      if (this.#table.serial(slot) === this.#serialOf(this.#authLayer(slot))) return undefined;
      flow = this.#materialize(slot);
    }
    const r = this.shim.reauthorize(flow, {
      facts: { ...flow.facts, direction: this.#dir },
      packet: this.#label(),
      layerData: this.#packetLayerData(),
      metadata: this.#upperMeta(),
    });
    if (!r.permit) return ok({ permit: false, direction: kind, layer: r.layer, result: r.result, newFlow: false });
    this.#table.setSerial(slot, this.#serialOf(flow.authLayer));
    return undefined;
  }

  /**
   * ALE authorization of a new flow (connect or recv-accept), FLOW_ESTABLISHED for non-TCP. Returns the
   * flow's slot, or the blocking verdict (the flow is then remembered as blocked).
   */
  #authorize(direction: Direction, opener: Direction, handshake: number): number | ShimVerdict {
    this.counters.flowsCreated++;
    const h = this.#h;
    const L = h.version === 4 ? LAYERS_V4 : LAYERS_V6;
    const isTcp = h.tcpFlags >= 0;
    if (opener === "outbound" && this.#live(L.connectRedirect)) {
      const f = this.#openerFacts(direction, opener);
      // A redirect layer's verdict does not block (D24).
      this.shim.classify(L.connectRedirect, {
        facts: { ...f, flags: (f.flags ?? 0) & ~FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK },
        packet: "none",
        logDirection: "none",
        metadata: this.#upperMeta(),
      });
    }
    const authLayer = opener === "outbound" ? L.authConnect : L.authRecvAccept;
    const authPlan = this.shim.layerPlan(authLayer);
    if (!authPlan.empty) {
      const auth = this.#blocks(authLayer, {
        facts: this.#openerFacts(direction, opener),
        packet: this.#aleLabel(opener),
        metadata: this.#upperMeta(),
        ...(isTcp && opener === "outbound" ? {} : { layerData: this.#packetLayerData() }),
      });
      if (auth !== undefined) {
        this.counters.flowsBlocked++;
        this.#file(BLOCKED | ESTABLISHED);
        return auth;
      }
    }
    const slot = this.#file(
      (opener === "inbound" ? OPENED_INBOUND : 0) |
        (direction === "inbound" ? AUTHORIZED_BY_INBOUND : 0) |
        (handshake << HANDSHAKE_SHIFT),
    );
    const table = this.#table;
    // The policy the authorization saw (a callout classified there may have changed it since).
    table.setSerial(slot, this.#serialOf(authLayer, authPlan.callouts ? undefined : authPlan.policy));
    if (h.icmpType >= 0) {
      table.setState(slot, table.state(slot) | ((((h.icmpType & 0xff) << 8) | (h.icmpCode & 0xff)) << ICMP_SHIFT));
    }
    if (!isTcp || handshake === 2) {
      table.setState(slot, table.state(slot) | ESTABLISHED);
      if (this.#live(L.flowEstablished)) {
        const label = this.#aleLabel(opener);
        this.#established(slot, opener, label === "none" ? "ACK" : label);
      }
    }
    return slot;
  }

  /** The label of a new flow's packet at ALE: for TCP the handshake's, else the first datagram's. */
  #aleLabel(opener: Direction): PacketLabel {
    if (this.#h.tcpFlags >= 0) return opener === "outbound" ? "none" : "SYN";
    const label = this.#label();
    return label === "datagram" ? "first-datagram" : label;
  }

  /** The facts are the local end's whatever the packet's direction; the flow's direction is its opener's. */
  #openerFacts(direction: Direction, opener: Direction): ClassifyFacts {
    const facts = this.#packetFacts();
    return opener === direction ? facts : { ...facts, direction: opener };
  }

  /** ALE_FLOW_ESTABLISHED for the flow (the caller has found the layer live). */
  #established(slot: number, direction: Direction, label: PacketLabel): void {
    const layer = (this.#h.version === 4 ? LAYERS_V4 : LAYERS_V6).flowEstablished;
    const flow = this.#flowFor(slot, layer);
    this.shim.classify(layer, {
      facts: { ...(flow !== undefined ? flow.facts : this.#aleFacts(slot)), direction },
      packet: label,
      layerData: this.#packetLayerData(),
      metadata: this.#upperMeta(),
      ...(flow !== undefined ? { flow } : {}),
    });
  }

  #stream(direction: Direction, flags: number, slot: number, layer: Layer): ShimVerdict | undefined {
    const h = this.#h;
    const flow = slot >= 0 ? this.#flowFor(slot, layer) : undefined;
    const start = h.transportOffset + h.transportHeaderLength;
    const data = h.bytes.subarray(start, Math.max(start, h.offset + h.length));
    const SF = FWPS_STREAM_FLAG;
    const dirFlag = direction === "inbound" ? SF.FWPS_STREAM_FLAG_RECEIVE : SF.FWPS_STREAM_FLAG_SEND;
    const fin =
      flags & TCP_FIN
        ? direction === "inbound"
          ? SF.FWPS_STREAM_FLAG_RECEIVE_DISCONNECT
          : SF.FWPS_STREAM_FLAG_SEND_DISCONNECT
        : 0;
    const rst =
      flags & TCP_RST
        ? direction === "inbound"
          ? SF.FWPS_STREAM_FLAG_RECEIVE_ABORT
          : SF.FWPS_STREAM_FLAG_SEND_ABORT
        : 0;
    const io: StreamCalloutIoPacket = {
      kind: "stream",
      streamData: { flags: dirFlag | fin | rst, data, dataLength: data.length },
      missedBytes: 0,
      countBytesRequired: 0,
      countBytesEnforced: 0,
      streamAction: 0,
    };
    const label = this.#label();
    return this.#blocks(layer, {
      facts: { ...this.#packetFacts(), direction },
      packet: label === "SYN" || label === "SYN-ACK" ? "data" : label,
      layerData: io,
      metadata: { ...(flow !== undefined ? { flowHandle: flow.flowHandle } : {}), compartmentId: 1 },
      ...(flow !== undefined ? { flow } : {}),
    });
  }

  #icmpError(direction: Direction, kind: ObservedDirection): Ok<ObservedVerdict> {
    const h = this.#h;
    const L = h.version === 4 ? LAYERS_V4 : LAYERS_V6;
    const errorLayer = direction === "inbound" ? L.inboundIcmpError : L.outboundIcmpError;
    if (this.#live(errorLayer)) {
      const facts = this.#packetFacts();
      const b = this.#blocks(errorLayer, {
        facts: { ...facts, icmpType: h.icmpType, icmpCode: h.icmpCode },
        packet: "icmp-error",
        layerData: this.#packetLayerData(),
        metadata: this.#upperMeta(),
      });
      if (b !== undefined) return dropped(kind, b);
    }
    if (direction === "outbound") {
      if (this.#live(L.outboundTransport)) {
        const ot = this.#blocks(L.outboundTransport, {
          facts: this.#packetFacts(),
          packet: "icmp-error",
          layerData: this.#packetLayerData(),
          metadata: this.#upperMeta(),
        });
        if (ot !== undefined) return dropped(kind, ot);
      }
      if (this.#live(L.outboundIp)) {
        const oi = this.#blocks(L.outboundIp, {
          facts: packetFacts(h.info(), "outbound", { iface: this.iface, flags: this.#loopFlag }),
          packet: "icmp-error",
          layerData: this.#packetLayerData(),
          metadata: this.#upperMeta(),
        });
        if (oi !== undefined) return dropped(kind, oi);
      }
    }
    return permitted(kind, false);
  }
}

/** An IPv6 address as four big-endian words into `k[at..at+4)`. */
function writeWords(k: Int32Array, at: number, a: IpAddress): void {
  if (a.version === 4) {
    k.fill(0, at, at + 4);
    k[at] = a.value;
    return;
  }
  const b = a.bytes;
  for (let i = 0; i < 4; i++) {
    const o = i * 4;
    k[at + i] =
      (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>>
      0;
  }
}
