/**
 * The packet observer as it was before its hot path was rebuilt (string keys, an object per flow, a shim
 * AleFlow for every flow, facts and layer data built for every packet): kept as the reference the
 * differential test (observer.test.ts) compares PacketObserver with, classification by classification.
 * One change from that version: an inbound packet without a flow key (an unknown protocol, ICMP that is
 * neither echo nor error) was classified twice at INBOUND_TRANSPORT; it is classified once here, as in
 * PacketObserver.
 */
import type { IpAddress } from "../base/index.ts";
import {
  type AleFlow,
  type ClassifyFacts,
  type ClassifyInput,
  type ClassifyPoint,
  type ClassifyResult,
  type InterfaceFacts,
  type IpPacketInfo,
  layerOfPoint,
  type PacketLabel,
  type PacketLayerData,
  packetFacts,
  packetLabel,
  parseIpPacket,
  type Shim,
  type StreamCalloutIoPacket,
} from "../shim/index.ts";
import { FWP_CONDITION_FLAG, FWPS_STREAM_FLAG, type Layer } from "../fwp/index.ts";
import { type Result, ok, err } from "../base/index.ts";
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type WireError } from "../wire/index.ts";
import { LocalAddresses } from "./local.ts";
import type { ObservedDirection, ObservedVerdict, ObserverOptions } from "./observer.ts";
import { LruMap } from "../shim/index.ts";

const FLAG = FWP_CONDITION_FLAG;

interface ObserverCounters {
  packets: number;
  permitted: number;
  dropped: number;
  droppedByFlow: number;
  malformed: number;
  flowsCreated: number;
  flowsBlocked: number;
  inbound: number;
  outbound: number;
  loopback: number;
  forwarded: number;
  fragments: number;
}

interface FlowState {
  readonly flow: AleFlow | undefined;
  blocked: boolean;
  /** TCP: the handshake step reached (0 SYN seen, 1 SYN-ACK seen, 2 established). */
  handshake: number;
  /** TCP: FLOW_ESTABLISHED was indicated. */
  established: boolean;
}

const DEFAULT_IFACE: InterfaceFacts = {
  index: 2,
  luid: (6n << 48n) | (2n << 24n),
  type: 6,
  tunnelType: 0,
  subInterfaceIndex: 0,
  profileId: 1,
};

const PERMIT: ObservedVerdict = Object.freeze({ permit: true, direction: "forward" as const, newFlow: false });

export class ReferencePacketObserver {
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
    inbound: 0,
    outbound: 0,
    loopback: 0,
    forwarded: 0,
    fragments: 0,
  };
  /** Flow states by key (blocked flows too), least recently used first; bounded like the shim's table. */
  readonly #states = new LruMap<string, FlowState>();
  readonly #groups = new Map<string, boolean>();
  readonly #groupLimit: number;
  /** Per layer: the policy object last seen and whether it had filters. */
  readonly #emptiness = new Map<number, { policy: object; empty: boolean }>();

  constructor(options: ObserverOptions) {
    this.shim = options.shim;
    this.local = new LocalAddresses(options.local);
    this.iface = options.iface ?? DEFAULT_IFACE;
    this.#groupLimit = options.fragmentGroups ?? 4096;
    const previous = this.shim.flows.onFlowEnd;
    this.shim.flows.onFlowEnd = (flow, why) => {
      this.#states.delete(flow.key);
      previous?.(flow, why);
    };
  }

  /** Live flows (the shim's table plus blocked flows it does not hold). */
  get flowCount(): number {
    return this.#states.size;
  }

  /** Observes the IP packet at bytes[offset, end) at time `nowNs` (the shim's clock should read the same). */
  observe(bytes: Uint8Array, offset = 0, end = bytes.length): Result<ObservedVerdict, WireError> {
    this.counters.packets++;
    const parsed = parseIpPacket(bytes, offset, end);
    if (!parsed.ok) {
      this.counters.malformed++;
      return err(parsed.error);
    }
    const p = parsed.value;
    const srcLocal = this.local.has(p.src);
    const dstLocal =
      this.local.has(p.dst) || p.dst.isMulticast() || (p.dst.version === 4 && p.dst.value === 0xffffffff);
    let v: ObservedVerdict;
    if (srcLocal && this.local.has(p.dst)) {
      this.counters.loopback++;
      v = this.#path(bytes, p, "outbound", FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK, "loopback");
      if (v.permit) v = this.#path(bytes, p, "inbound", FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK, "loopback");
    } else if (srcLocal) {
      this.counters.outbound++;
      v = this.#path(bytes, p, "outbound", 0, "outbound");
    } else if (dstLocal) {
      this.counters.inbound++;
      v = this.#path(bytes, p, "inbound", 0, "inbound");
    } else {
      this.counters.forwarded++;
      v = this.#forward(bytes, p);
    }
    if (v.permit) this.counters.permitted++;
    else {
      this.counters.dropped++;
      if (v.byFlow === true) this.counters.droppedByFlow++;
    }
    return ok(v);
  }

  #empty(layer: Layer): boolean {
    const policy = this.shim.engine.layerPolicy(layer);
    const cached = this.#emptiness.get(layer.runtimeId);
    if (cached !== undefined && cached.policy === policy) return cached.empty;
    const empty = policy.sublayers.every((s) => s.filters.length === 0);
    this.#emptiness.set(layer.runtimeId, { policy, empty });
    return empty;
  }

  /** Classifies at a point unless its layer has no filter; returns the blocking result, or undefined. */
  #at(point: ClassifyPoint, input: ClassifyInput): { layer: Layer; result: ClassifyResult } | undefined {
    const layer = layerOfPoint(point, input.facts.ipVersion);
    if (this.#empty(layer)) return undefined;
    const v = this.shim.classify(layer, input);
    return v.permit ? undefined : { layer, result: v.result };
  }

  #forward(bytes: Uint8Array, p: IpPacketInfo): ObservedVerdict {
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes,
      ipOffset: p.offset,
      end: p.offset + p.length,
      dataOffset: p.offset,
    };
    const blocked = this.#at("IPFORWARD", {
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
    if (blocked === undefined) return PERMIT;
    return { permit: false, direction: "forward", layer: blocked.layer, result: blocked.result, newFlow: false };
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

  #path(
    bytes: Uint8Array,
    p: IpPacketInfo,
    direction: "inbound" | "outbound",
    loopFlag: number,
    kind: ObservedDirection,
  ): ObservedVerdict {
    const t = p.transport;
    const inbound = direction === "inbound";
    const iface = this.iface;
    let label: PacketLabel = packetLabel(p);
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes,
      ipOffset: p.offset,
      ...(t !== undefined ? { transportOffset: t.offset, payloadOffset: t.offset + t.headerLength } : {}),
      end: p.offset + p.length,
      dataOffset: inbound ? p.offset + p.ipHeaderLength : p.offset,
    };
    const ipMeta = { ipHeaderSize: p.ipHeaderLength, compartmentId: 1 };
    const drop = (b: { layer: Layer; result: ClassifyResult }): ObservedVerdict => ({
      permit: false,
      direction: kind,
      layer: b.layer,
      result: b.result,
      newFlow: false,
    });
    const ipFacts = packetFacts(p, direction, { iface, flags: loopFlag });
    if (p.fragment !== undefined) {
      this.counters.fragments++;
      const key = this.#fragmentKey(p);
      if (inbound) {
        const a = this.#at("INBOUND_IPPACKET", { facts: ipFacts, packet: "fragment", layerData, metadata: ipMeta });
        if (a !== undefined) return drop(a);
        const b = this.#at("INBOUND_IPPACKET", {
          facts: { ...ipFacts, flags: loopFlag | FLAG.FWP_CONDITION_FLAG_IS_FRAGMENT },
          packet: "fragment",
          layerData,
          metadata: ipMeta,
        });
        if (b !== undefined) return drop(b);
      }
      if (p.fragment.offset !== 0 || t === undefined) {
        const group = this.#groups.get(key);
        if (group === false) return { permit: false, direction: kind, byFlow: true, newFlow: false };
        return { permit: true, direction: kind, newFlow: false };
      }
      label = "reassembled";
      if (inbound) {
        const r = this.#at("INBOUND_IPPACKET", {
          facts: { ...ipFacts, flags: loopFlag | FLAG.FWP_CONDITION_FLAG_IS_REASSEMBLED },
          packet: label,
          layerData,
          metadata: ipMeta,
        });
        if (r !== undefined) {
          this.#rememberGroup(key, false);
          return drop(r);
        }
      }
      const v = this.#upper(bytes, p, direction, loopFlag, kind, label, layerData);
      this.#rememberGroup(key, v.permit);
      return v;
    }
    if (inbound) {
      const a = this.#at("INBOUND_IPPACKET", { facts: ipFacts, packet: label, layerData, metadata: ipMeta });
      if (a !== undefined) return drop(a);
    }
    return this.#upper(bytes, p, direction, loopFlag, kind, label, layerData);
  }

  /** The transport and ALE layers (and, outbound, the IP packet layer last). */
  #upper(
    bytes: Uint8Array,
    p: IpPacketInfo,
    direction: "inbound" | "outbound",
    loopFlag: number,
    kind: ObservedDirection,
    label: PacketLabel,
    layerData: PacketLayerData,
  ): ObservedVerdict {
    const inbound = direction === "inbound";
    const iface = this.iface;
    const t = p.transport;
    const facts = packetFacts(p, direction, {
      iface,
      ...(inbound ? { arrivalInterface: iface } : { nextHopInterface: iface }),
      flags: loopFlag,
    });
    const drop = (b: { layer: Layer; result: ClassifyResult }, newFlow = false): ObservedVerdict => ({
      permit: false,
      direction: kind,
      layer: b.layer,
      result: b.result,
      newFlow,
    });
    const meta = {
      ipHeaderSize: p.ipHeaderLength,
      ...(t !== undefined ? { transportHeaderSize: t.headerLength } : {}),
      compartmentId: 1,
      packetDirection: inbound ? 1 : 0,
    };
    const icmpError = t?.icmpError === true;
    if (icmpError) return this.#icmpError(p, facts, direction, kind, layerData, meta);
    const flowKey = this.#flowKey(p, direction);
    let state = flowKey === undefined ? undefined : this.#states.touch(flowKey);
    if (state !== undefined && state.flow !== undefined && state.flow.state === "closed") {
      this.#states.delete(flowKey as string);
      state = undefined;
    }
    if (state?.blocked === true) return { permit: false, direction: kind, byFlow: true, newFlow: false };
    const isTcp = t?.tcpFlags !== undefined;
    const flags = t?.tcpFlags ?? 0;
    let newFlow = false;
    if (state === undefined && flowKey !== undefined) {
      // Who opened the flow: its first packet, except that a SYN-ACK means the other side did.
      const synAck = isTcp && (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
      const opener: "inbound" | "outbound" = synAck ? (inbound ? "outbound" : "inbound") : direction;
      if (inbound && opener === "inbound") {
        const tr = this.#at("INBOUND_TRANSPORT", {
          facts,
          packet: label,
          layerData,
          metadata: { ...meta, aleClassifyRequired: true },
        });
        if (tr !== undefined) return drop(tr);
      }
      const created = this.#authorize(
        p,
        facts,
        opener,
        direction,
        label,
        layerData,
        meta,
        flowKey,
        isTcp ? (flags & TCP_SYN ? 0 : 2) : 2,
      );
      if (created.blocked !== undefined) return drop(created.blocked, true);
      state = created.state;
      newFlow = true;
      if (!(inbound && opener === "inbound")) {
        if (inbound) {
          const tr = this.#at("INBOUND_TRANSPORT", {
            facts,
            packet: label,
            layerData,
            metadata: meta,
            ...(state.flow !== undefined ? { flow: state.flow } : {}),
          });
          if (tr !== undefined) return drop(tr, true);
        }
      }
    } else if (inbound) {
      const tr = this.#at("INBOUND_TRANSPORT", {
        facts,
        packet: label,
        layerData,
        metadata: meta,
        ...(state?.flow !== undefined ? { flow: state.flow } : {}),
      });
      if (tr !== undefined) return drop(tr);
      if (state?.flow !== undefined && this.shim.reauthorizationDue(state.flow)) {
        const r = this.shim.reauthorize(state.flow, {
          facts: { ...state.flow.facts, direction },
          packet: label,
          layerData,
          metadata: meta,
        });
        if (!r.permit) {
          state.blocked = true;
          return { permit: false, direction: kind, layer: r.layer, result: r.result, newFlow: false };
        }
      }
    } else if (state?.flow !== undefined && this.shim.reauthorizationDue(state.flow)) {
      const r = this.shim.reauthorize(state.flow, {
        facts: { ...state.flow.facts, direction },
        packet: label,
        layerData,
        metadata: meta,
      });
      if (!r.permit) {
        state.blocked = true;
        return { permit: false, direction: kind, layer: r.layer, result: r.result, newFlow: false };
      }
    }
    // TCP handshake: FLOW_ESTABLISHED with the final ACK (outbound before transport, inbound after).
    if (isTcp && state !== undefined && !state.established) {
      if (flags & TCP_SYN) state.handshake = flags & TCP_ACK ? Math.max(state.handshake, 1) : 0;
      else if (flags & TCP_ACK && state.handshake >= 1) state.handshake = 2;
      if (state.handshake === 2) {
        const finalAckFromOpener = state.flow !== undefined && direction === state.flow.direction;
        if (finalAckFromOpener || state.flow === undefined) {
          state.established = true;
          if (state.flow !== undefined) this.#established(state.flow, direction, "ACK", layerData, meta);
        }
      }
    }
    const flow = state?.flow;
    const withFlow = flow !== undefined ? { flow } : {};
    if (isTcp) {
      const payload = t?.payloadLength ?? 0;
      if (payload > 0 || flags & (TCP_FIN | TCP_RST)) {
        const streamBlock = this.#stream(bytes, p, direction, facts, flags, label, flow);
        if (streamBlock !== undefined) return drop(streamBlock, newFlow);
      }
    } else if (flowKey !== undefined) {
      const dd = this.#at("DATAGRAM_DATA", { facts, packet: label, layerData, metadata: meta, ...withFlow });
      if (dd !== undefined) return drop(dd, newFlow);
    }
    if (!inbound) {
      const ot = this.#at("OUTBOUND_TRANSPORT", { facts, packet: label, layerData, metadata: meta, ...withFlow });
      if (ot !== undefined) return drop(ot, newFlow);
      const oi = this.#at("OUTBOUND_IPPACKET", {
        facts: packetFacts(p, "outbound", { iface, nextHopInterface: iface, flags: loopFlag }),
        packet: label,
        layerData,
        metadata: {
          ipHeaderSize: p.ipHeaderLength,
          ...(t !== undefined ? { transportHeaderSize: t.headerLength } : {}),
          compartmentId: 1,
        },
      });
      if (oi !== undefined) return drop(oi, newFlow);
    }
    return { permit: true, direction: kind, newFlow };
  }

  /** The ALE key of a packet's flow: TCP/UDP 5-tuple from the local end, ICMP echo by (remote, id). */
  #flowKey(p: IpPacketInfo, direction: "inbound" | "outbound"): string | undefined {
    const t = p.transport;
    if (t === undefined) return undefined;
    const local = addressKey(direction === "inbound" ? p.dst : p.src);
    const remote = addressKey(direction === "inbound" ? p.src : p.dst);
    if (t.icmpId !== undefined) return `i|${local}|${remote}|${t.icmpId}`;
    if (t.srcPort === undefined || t.dstPort === undefined) return undefined;
    const lp = direction === "inbound" ? t.dstPort : t.srcPort;
    const rp = direction === "inbound" ? t.srcPort : t.dstPort;
    return `${p.protocol}|${local}|${lp}|${remote}|${rp}`;
  }

  /** ALE authorization of a new flow (connect or recv-accept), FLOW_ESTABLISHED for non-TCP. */
  #authorize(
    p: IpPacketInfo,
    facts: ClassifyFacts,
    opener: "inbound" | "outbound",
    direction: "inbound" | "outbound",
    label: PacketLabel,
    layerData: PacketLayerData,
    meta: Record<string, unknown>,
    key: string,
    handshake: number,
  ):
    | { state: FlowState; blocked?: undefined }
    | { blocked: { layer: Layer; result: ClassifyResult }; state?: undefined } {
    this.counters.flowsCreated++;
    // The facts are the local end's whatever the packet's direction; the flow's direction is its opener's.
    const aleFacts: ClassifyFacts = opener === direction ? facts : { ...facts, direction: opener };
    const isTcp = p.transport?.tcpFlags !== undefined;
    const aleLabel: PacketLabel = isTcp
      ? opener === "outbound"
        ? "none"
        : "SYN"
      : label === "datagram"
        ? "first-datagram"
        : label;
    const authPoint: ClassifyPoint = opener === "outbound" ? "ALE_AUTH_CONNECT" : "ALE_AUTH_RECV_ACCEPT";
    if (opener === "outbound") {
      const cr = this.#at("ALE_CONNECT_REDIRECT", {
        facts: { ...aleFacts, flags: (aleFacts.flags ?? 0) & ~FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK },
        packet: "none",
        logDirection: "none",
        metadata: meta,
      });
      void cr; // a redirect layer's verdict does not block (D24)
    }
    const authLayer = layerOfPoint(authPoint, aleFacts.ipVersion);
    const auth = this.#at(authPoint, {
      facts: aleFacts,
      packet: aleLabel,
      metadata: meta,
      ...(isTcp && opener === "outbound" ? {} : { layerData }),
    });
    if (auth !== undefined) {
      this.counters.flowsBlocked++;
      this.#rememberBlocked(key);
      return { blocked: auth };
    }
    const flow = this.shim.createFlow(key, authLayer, aleFacts, opener, p.protocol);
    const state: FlowState = { flow, blocked: false, handshake, established: false };
    this.#remember(key, state);
    if (!isTcp || handshake === 2) {
      state.established = true;
      this.#established(flow, opener, aleLabel === "none" ? "ACK" : aleLabel, layerData, meta);
    }
    return { state };
  }

  /** Files a flow state, evicting the least recently used one (and closing its flow) past the capacity. */
  #remember(key: string, state: FlowState): void {
    const cap = this.shim.flows.capacity;
    while (this.#states.size >= cap) {
      const oldest = this.#states.oldest();
      if (oldest === undefined) break;
      this.#states.delete(oldest.key);
      if (oldest.value.flow !== undefined) this.shim.closeFlow(oldest.value.flow);
    }
    this.#states.set(key, state);
  }

  #rememberBlocked(key: string): void {
    this.#remember(key, { flow: undefined, blocked: true, handshake: 0, established: true });
  }

  #established(
    flow: AleFlow,
    direction: "inbound" | "outbound",
    label: PacketLabel,
    layerData: PacketLayerData,
    meta: Record<string, unknown>,
  ): void {
    this.#at("ALE_FLOW_ESTABLISHED", {
      facts: { ...flow.facts, direction },
      packet: label,
      layerData,
      metadata: meta,
      flow,
    });
  }

  #stream(
    bytes: Uint8Array,
    p: IpPacketInfo,
    direction: "inbound" | "outbound",
    facts: ClassifyFacts,
    flags: number,
    label: PacketLabel,
    flow: AleFlow | undefined,
  ): { layer: Layer; result: ClassifyResult } | undefined {
    const t = p.transport;
    if (t === undefined) return undefined;
    const start = t.offset + t.headerLength;
    const data = bytes.subarray(start, Math.max(start, p.offset + p.length));
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
    return this.#at("STREAM", {
      facts: { ...facts, direction },
      packet: label === "SYN" || label === "SYN-ACK" ? "data" : label,
      layerData: io,
      metadata: { ...(flow !== undefined ? { flowHandle: flow.flowHandle } : {}), compartmentId: 1 },
      ...(flow !== undefined ? { flow } : {}),
    });
  }

  #icmpError(
    p: IpPacketInfo,
    facts: ClassifyFacts,
    direction: "inbound" | "outbound",
    kind: ObservedDirection,
    layerData: PacketLayerData,
    meta: Record<string, unknown>,
  ): ObservedVerdict {
    const t = p.transport;
    const f: ClassifyFacts = { ...facts, icmpType: t?.icmpType ?? 0, icmpCode: t?.icmpCode ?? 0 };
    const point: ClassifyPoint = direction === "inbound" ? "INBOUND_ICMP_ERROR" : "OUTBOUND_ICMP_ERROR";
    const b = this.#at(point, { facts: f, packet: "icmp-error", layerData, metadata: meta });
    if (b !== undefined) return { permit: false, direction: kind, layer: b.layer, result: b.result, newFlow: false };
    if (direction === "outbound") {
      const ot = this.#at("OUTBOUND_TRANSPORT", { facts, packet: "icmp-error", layerData, metadata: meta });
      if (ot !== undefined)
        return { permit: false, direction: kind, layer: ot.layer, result: ot.result, newFlow: false };
      const oi = this.#at("OUTBOUND_IPPACKET", {
        facts: packetFacts(p, "outbound", { iface: this.iface, flags: facts.flags ?? 0 }),
        packet: "icmp-error",
        layerData,
        metadata: meta,
      });
      if (oi !== undefined)
        return { permit: false, direction: kind, layer: oi.layer, result: oi.result, newFlow: false };
    }
    return { permit: true, direction: kind, newFlow: false };
  }
}

/** An address as a short key: IPv4 as its number, IPv6 as hex. */
function addressKey(a: IpAddress): string {
  if (a.version === 4) return String(a.value);
  let k = "";
  for (let i = 0; i < 16; i++) k += ((a.bytes[i] as number) | 0x100).toString(16).slice(1);
  return k;
}
