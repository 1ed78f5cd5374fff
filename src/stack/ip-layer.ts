/**
 * The IP layer of a host: where packets enter from a NIC or the loopback, are classified at the IP packet
 * and forward layers, reassembled, forwarded, or handed to a transport; and where transports' segments
 * leave, after route lookup and neighbour resolution (F7), classified at OUTBOUND_IPPACKET once before
 * fragmentation (F8), then fragmented to the MTU.
 *
 * Orders (flows.json): inbound local — INBOUND_IPPACKET, then the transport (F2); a fragment is indicated
 * twice (as an IP packet, then with IS_FRAGMENT) and the reassembled datagram once with IS_REASSEMBLED
 * (F9); a packet for another host is forwarded (IPFORWARD only, F10) when the arrival interface forwards,
 * else discarded at INBOUND_IPPACKET_DISCARD (IpDiscardNotLocallyDestined, F5 [INF]). Loopback traffic
 * goes down the outbound path and up the inbound path with IS_LOOPBACK (F14).
 */
import type { IpAddress } from "../base/index.ts";
import {
  type AleFlow,
  FWP_CONDITION_FLAG,
  FWPS_DISCARD_MODULE,
  IP_DISCARD_REASON,
  type InjectionTag,
  type IpPacketInfo,
  type PacketLabel,
  type PacketLayerData,
  parseIpPacket,
} from "../shim/index.ts";
import { checksumVerifies, EtherType, IpProtocol } from "../wire/index.ts";
import { buildIp } from "./build.ts";
import type { Host } from "./host.ts";
import { fragmentIpv4, fragmentIpv6 } from "./ip/fragment.ts";
import { Reassembler } from "./ip/reassembly.ts";
import type { NetInterface } from "./nic.ts";
import { packetFacts, packetLabel } from "./packet-facts.ts";

const FLAG = FWP_CONDITION_FLAG;

/** An IP_DISCARD_REASON without its "IpDiscard" prefix ("NoRoute", "PortUnreachable", ...). */
export type IpDiscardName = {
  [K in keyof typeof IP_DISCARD_REASON]: K extends `IpDiscard${infer N}` ? N : never;
}[keyof typeof IP_DISCARD_REASON];

/** Where a packet to a destination goes. */
export interface RouteResult {
  readonly iface: NetInterface;
  readonly nextHop: IpAddress;
  /** The source address to use. */
  readonly src: IpAddress;
  /** The destination is an address of this host: the packet loops back (F14). */
  readonly loopback: boolean;
}

/** An outbound transport message handed to the IP layer. */
export interface OutboundTransport {
  readonly route: RouteResult;
  readonly dst: IpAddress;
  readonly protocol: number;
  /** Transport header + payload, checksum filled. */
  readonly transport: Uint8Array;
  readonly label: PacketLabel;
  readonly flow?: AleFlow;
  readonly side?: string;
  readonly ttl?: number;
  readonly dontFragment?: boolean;
  /** The injection tag of a transport-send injected segment (D33), carried to OUTBOUND_IPPACKET. */
  readonly injection?: InjectionTag;
}

export interface IpCounters {
  packetsIn: number;
  packetsOut: number;
  forwarded: number;
  delivered: number;
  /** By IP_DISCARD_REASON name without its prefix ("MalformedHeader" for bytes that did not parse). */
  discards: Record<string, number>;
  fragmentsIn: number;
  reassembled: number;
  fragmentsOut: number;
  blockedByFilter: number;
}

export class IpLayer {
  readonly counters: IpCounters = {
    packetsIn: 0,
    packetsOut: 0,
    forwarded: 0,
    delivered: 0,
    discards: {},
    fragmentsIn: 0,
    reassembled: 0,
    fragmentsOut: 0,
    blockedByFilter: 0,
  };
  readonly reassembler: Reassembler;
  #nextIpv4Id = 1;
  #nextIpv6FragmentId = 1;
  /** Path MTU learned from ICMP "fragmentation needed" / "packet too big", by destination text. */
  readonly pathMtu = new Map<string, number>();

  constructor(readonly host: Host) {
    this.reassembler = new Reassembler(host.options.reassembly);
    this.#nextIpv4Id = 1 + host.rng.nextInt(0xfff0);
    this.#nextIpv6FragmentId = 1 + host.rng.nextInt(0x7ffffff0);
  }

  /** Counts a packet the IP layer dropped, by IP_DISCARD_REASON. */
  discard(reason: IpDiscardName): void {
    const d = this.counters.discards;
    d[reason] = (d[reason] ?? 0) + 1;
  }

  // -------------------------------------------------------------------------------------------
  // Output
  // -------------------------------------------------------------------------------------------

  /**
   * The route and source address for `dst`; `src` is the bound local address if any. Undefined when
   * there is no route (IpDiscardNoRoute).
   */
  route(dst: IpAddress, src?: IpAddress): RouteResult | undefined {
    const host = this.host;
    const local = host.interfaceOwning(dst);
    if (local !== undefined || host.isLoopbackAddress(dst)) {
      const lo = host.loopback;
      return { iface: lo, nextHop: dst, src: src ?? (host.isLoopbackAddress(dst) ? dst : dst), loopback: true };
    }
    const r = host.routes(dst.version).lookup(dst);
    if (r === undefined) return undefined;
    const iface = host.interfaceByIndex(r.route.interfaceIndex);
    if (iface === undefined) return undefined;
    const source = src ?? iface.primary(dst.version);
    if (source === undefined) return undefined;
    return { iface, nextHop: r.nextHop, src: source, loopback: false };
  }

  /** Sends a transport message: builds the IP header, resolves the next hop, classifies, fragments. */
  sendTransport(o: OutboundTransport): void {
    const src = o.route.src;
    const ipv4 = src.version === 4;
    const packet = buildIp(
      {
        src,
        dst: o.dst,
        protocol: o.protocol,
        ...(o.ttl !== undefined ? { ttl: o.ttl } : {}),
        identification: ipv4 ? this.#nextIpv4Id++ & 0xffff : 0,
        dontFragment: o.dontFragment ?? (ipv4 && o.protocol === IpProtocol.Tcp),
      },
      o.transport,
    );
    this.sendPacket(packet, o.route, o.label, o.flow, o.side, o.injection);
  }

  /**
   * Sends a complete IP packet from this host: neighbour resolution first (an unresolvable next hop is
   * never indicated, F7), then OUTBOUND_IPPACKET (F8: once, before fragmentation), then the wire.
   * `injection` tags an injected packet's indication (D33).
   */
  sendPacket(
    packet: Uint8Array,
    route: RouteResult,
    label: PacketLabel,
    flow?: AleFlow,
    side?: string,
    injection?: InjectionTag,
  ): void {
    const parsed = parseIpPacket(packet);
    if (!parsed.ok) {
      this.discard("MalformedHeader");
      return;
    }
    const info = parsed.value;
    const go = (mac: Uint8Array | undefined): void => {
      const flags = route.loopback ? FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK : 0;
      const facts = packetFacts(info, "outbound", {
        iface: route.iface.facts,
        nextHopInterface: route.iface.facts,
        flags,
      });
      const layerData: PacketLayerData = {
        kind: "packet",
        bytes: packet,
        ipOffset: 0,
        ...(info.transport !== undefined
          ? {
              transportOffset: info.transport.offset,
              payloadOffset: info.transport.offset + info.transport.headerLength,
            }
          : {}),
        end: packet.length,
        dataOffset: 0,
        ...(injection !== undefined ? { injection } : {}),
      };
      const v = this.host.shim.classifyAt("OUTBOUND_IPPACKET", {
        facts,
        packet: label,
        layerData,
        metadata: {
          ipHeaderSize: info.ipHeaderLength,
          ...(info.transport !== undefined ? { transportHeaderSize: info.transport.headerLength } : {}),
          compartmentId: 1,
          pathMtu: route.iface.mtu,
        },
        ...(flow !== undefined ? { flow } : {}),
        ...(side !== undefined ? { side } : {}),
      });
      if (!v.permit) {
        this.counters.blockedByFilter++;
        return;
      }
      this.counters.packetsOut++;
      if (route.loopback) {
        this.host.loopbackDeliver(packet, side);
        return;
      }
      this.#transmitFragmented(packet, info, route.iface, mac as Uint8Array);
    };
    if (route.loopback) go(undefined);
    else
      this.host.resolveNeighbor(route.iface, route.nextHop, (mac) => {
        if (mac === undefined) {
          this.discard("AddressResolutionFailure");
          this.host.onUnreachable(info, packet);
          return;
        }
        go(mac);
      });
  }

  #transmitFragmented(packet: Uint8Array, info: IpPacketInfo, iface: NetInterface, mac: Uint8Array): void {
    const mtu = Math.min(iface.mtu, this.pathMtu.get(info.dst.toString()) ?? Number.POSITIVE_INFINITY);
    const etherType = info.version === 4 ? EtherType.Ipv4 : EtherType.Ipv6;
    if (packet.length <= mtu) {
      this.host.transmit(iface, mac, etherType, packet);
      return;
    }
    const pieces =
      info.version === 4 ? fragmentIpv4(packet, mtu) : fragmentIpv6(packet, mtu, this.#nextIpv6FragmentId++ >>> 0);
    if (!pieces.ok) {
      // DF set on a locally generated packet: the sender learns it by an error (EMSGSIZE-like).
      this.discard("DontFragmentMtuExceeded");
      this.host.onFragmentationNeeded(info, packet, mtu);
      return;
    }
    for (const f of pieces.value) {
      this.counters.fragmentsOut++;
      this.host.transmit(iface, mac, etherType, f);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Input
  // -------------------------------------------------------------------------------------------

  /** A packet from a NIC (or the loopback, with `loopback`); `injection` tags an injected one (D33). */
  receive(iface: NetInterface, packet: Uint8Array, loopback: boolean, side?: string, injection?: InjectionTag): void {
    this.counters.packetsIn++;
    const parsed = parseIpPacket(packet);
    if (!parsed.ok) {
      this.discard("MalformedHeader");
      return;
    }
    const info = parsed.value;
    const host = this.host;
    const flags = loopback ? FLAG.FWP_CONDITION_FLAG_IS_LOOPBACK : 0;
    const broken = headerFault(packet, info);
    if (broken !== undefined) {
      host.shim.discard(
        "INBOUND_IPPACKET",
        { facts: packetFacts(info, "inbound", { iface: iface.facts, flags }), packet: packetLabel(info) },
        {
          discardModule: FWPS_DISCARD_MODULE.FWPS_DISCARD_MODULE_NETWORK,
          discardReason: IP_DISCARD_REASON[`IpDiscard${broken}`],
          filterId: 0n,
        },
      );
      this.discard(broken);
      return;
    }
    const local = loopback || host.isLocalDestination(iface, info.dst);
    if (!local) {
      if (iface.forwarding) {
        host.forwarder.forward(iface, packet, info, injection);
        return;
      }
      host.shim.discard(
        "INBOUND_IPPACKET",
        { facts: packetFacts(info, "inbound", { iface: iface.facts, flags }), packet: packetLabel(info) },
        {
          discardModule: FWPS_DISCARD_MODULE.FWPS_DISCARD_MODULE_NETWORK,
          discardReason: IP_DISCARD_REASON.IpDiscardNotLocallyDestined,
          filterId: 0n,
        },
      );
      this.discard("NotLocallyDestined");
      return;
    }
    if (info.fragment !== undefined) {
      this.#receiveFragment(iface, packet, info, flags, side, injection);
      return;
    }
    const label = host.inboundLabel(info);
    if (!this.#classifyInbound(iface, packet, info, flags, label, side, undefined, injection)) return;
    host.deliver(iface, packet, info, flags, label, side, injection);
  }

  /** INBOUND_IPPACKET for one indication; false when blocked. */
  #classifyInbound(
    iface: NetInterface,
    packet: Uint8Array,
    info: IpPacketInfo,
    flags: number,
    label: PacketLabel,
    side: string | undefined,
    fragment?: number,
    injection?: InjectionTag,
  ): boolean {
    const facts = packetFacts(info, "inbound", { iface: iface.facts, flags });
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes: packet,
      ipOffset: 0,
      ...(info.transport !== undefined
        ? { transportOffset: info.transport.offset, payloadOffset: info.transport.offset + info.transport.headerLength }
        : {}),
      end: info.length,
      dataOffset: info.ipHeaderLength,
      ...(injection !== undefined ? { injection } : {}),
    };
    const v = this.host.shim.classifyAt("INBOUND_IPPACKET", {
      facts,
      packet: label,
      layerData,
      metadata: {
        ipHeaderSize: info.ipHeaderLength,
        compartmentId: 1,
        ...(info.fragment !== undefined
          ? {
              fragmentMetadata: {
                fragmentIdentification: info.fragment.identification,
                fragmentOffset: info.fragment.offset,
                fragmentLength: info.length - info.ipHeaderLength,
              },
            }
          : {}),
      },
      ...(fragment !== undefined ? { fragment } : {}),
      ...(side !== undefined ? { side } : {}),
    });
    if (!v.permit) this.counters.blockedByFilter++;
    return v.permit;
  }

  #fragmentNumbers = new Map<string, number>();

  /** F9: each fragment as an IP packet, then as a fragment; the reassembled datagram with IS_REASSEMBLED. */
  #receiveFragment(
    iface: NetInterface,
    packet: Uint8Array,
    info: IpPacketInfo,
    flags: number,
    side?: string,
    injection?: InjectionTag,
  ): void {
    this.counters.fragmentsIn++;
    const f = info.fragment as NonNullable<IpPacketInfo["fragment"]>;
    const key = `${info.src}|${info.dst}|${info.version === 4 ? info.protocol : ""}|${f.identification}`;
    const n = (this.#fragmentNumbers.get(key) ?? 0) + 1;
    if (this.#fragmentNumbers.size > 4096) this.#fragmentNumbers.clear();
    this.#fragmentNumbers.set(key, n);
    if (!this.#classifyInbound(iface, packet, info, flags, "fragment", side, n, injection)) return;
    const asFragment = flags | FLAG.FWP_CONDITION_FLAG_IS_FRAGMENT;
    if (!this.#classifyInbound(iface, packet, info, asFragment, "fragment", side, n, injection)) return;
    const r = this.reassembler.input(packet, this.host.scheduler.nowNs());
    if (r.kind !== "complete") return;
    this.#fragmentNumbers.delete(key);
    this.counters.reassembled++;
    const whole = parseIpPacket(r.packet);
    if (!whole.ok) {
      this.discard("MalformedHeader");
      return;
    }
    const rflags = flags | FLAG.FWP_CONDITION_FLAG_IS_REASSEMBLED;
    if (!this.#classifyInbound(iface, r.packet, whole.value, rflags, "reassembled", side)) return;
    this.host.deliver(iface, r.packet, whole.value, flags, "reassembled", side);
  }

  /** Reassembly timeouts (RFC 791/8200): ICMP time exceeded (code 1) for datagrams whose first fragment came. */
  expireReassembly(): void {
    for (const e of this.reassembler.expire(this.host.scheduler.nowNs())) {
      this.discard("FirstFragmentIncomplete");
      if (e.firstFragment !== undefined) this.host.icmp.sendReassemblyTimeout(e.firstFragment);
    }
  }
}

/**
 * What is wrong with the header of a received packet that parsed: a datagram longer than the bytes that
 * arrived (a capture may cut a packet short, a link may not: RFC 791's Total Length, RFC 8200's Payload
 * Length), or an IPv4 header checksum that does not verify (RFC 1122 §3.2.1.2: MUST be verified, the
 * datagram silently discarded). Undefined when the header is sound.
 */
function headerFault(packet: Uint8Array, info: IpPacketInfo): "BadLength" | "BadChecksum" | undefined {
  const at = info.offset;
  const declared =
    info.version === 4
      ? ((packet[at + 2] as number) << 8) | (packet[at + 3] as number)
      : 40 + (((packet[at + 4] as number) << 8) | (packet[at + 5] as number));
  if (at + declared > packet.length) return "BadLength";
  if (info.version === 4 && !checksumVerifies(packet, at, at + info.ipHeaderLength)) return "BadChecksum";
  return undefined;
}
