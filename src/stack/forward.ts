/**
 * Forwarding (F10): a packet arriving on an interface with forwarding enabled, for an address this host
 * does not own, is routed: IPFORWARD is classified once per packet (never INBOUND/OUTBOUND_IPPACKET), the
 * hop limit is decremented (time exceeded when it runs out, RFC 1812 §5.3.1), and the packet leaves by
 * the route's interface, fragmented when it is larger than that interface's MTU and may be (DF clear,
 * IPv4) or answered with "fragmentation needed" / "packet too big" (RFC 1191, RFC 8201).
 *
 * With `groupForwardedFragments` (netsh `groupforwardedfragments=enabled`) the fragments of a datagram
 * are held until all have arrived, each is indicated as itself, then the group once with
 * IS_FRAGMENT_GROUP; the group's verdict decides for all of them. Held groups are bounded in number and
 * time; overflow and timeouts are counted.
 */
import {
  FWP_CONDITION_FLAG,
  type InjectionTag,
  type IpPacketInfo,
  type PacketLayerData,
  parseIpPacket,
} from "../shim/index.ts";
import { EtherType, Ipv4View } from "../wire/index.ts";
import type { Host } from "./host.ts";
import { fragmentIpv4 } from "./ip/fragment.ts";
import type { NetInterface } from "./nic.ts";

export interface ForwarderOptions {
  /** Indicate each forwarded fragment and then its group (default false, as Windows). */
  readonly groupForwardedFragments?: boolean;
  /** Most fragment groups held at once (default 256). */
  readonly maxGroups?: number;
  /** How long a group waits for its missing fragments (default 60 s). */
  readonly groupTimeoutNs?: bigint;
}

interface Group {
  readonly arrival: NetInterface;
  readonly fragments: { readonly packet: Uint8Array; readonly info: IpPacketInfo }[];
  readonly startedNs: bigint;
}

export interface ForwarderCounters {
  forwarded: number;
  blocked: number;
  noRoute: number;
  hopLimitExceeded: number;
  fragmentationNeeded: number;
  fragmentsOut: number;
  groupsIndicated: number;
  groupsDropped: number;
}

export class Forwarder {
  readonly counters: ForwarderCounters = {
    forwarded: 0,
    blocked: 0,
    noRoute: 0,
    hopLimitExceeded: 0,
    fragmentationNeeded: 0,
    fragmentsOut: 0,
    groupsIndicated: 0,
    groupsDropped: 0,
  };
  readonly #groups = new Map<string, Group>();
  readonly groupForwardedFragments: boolean;
  readonly #maxGroups: number;
  readonly #groupTimeoutNs: bigint;

  constructor(
    readonly host: Host,
    options: ForwarderOptions = {},
  ) {
    this.groupForwardedFragments = options.groupForwardedFragments ?? false;
    this.#maxGroups = options.maxGroups ?? 256;
    this.#groupTimeoutNs = options.groupTimeoutNs ?? 60_000_000_000n;
  }

  /** `injection` tags a packet injected into the receive path for a non-local destination (F10, D33). */
  forward(arrival: NetInterface, packet: Uint8Array, info: IpPacketInfo, injection?: InjectionTag): void {
    const host = this.host;
    if (info.ttl <= 1) {
      this.counters.hopLimitExceeded++;
      host.ip.discard("HopLimitExceeded");
      host.icmp.sendTimeExceeded(packet, info, 0);
      return;
    }
    if (this.groupForwardedFragments && info.fragment !== undefined) {
      this.#hold(arrival, packet, info);
      return;
    }
    const out = this.#routeOut(packet, info);
    if (out === undefined) return;
    if (!this.#classify(arrival, out, packet, info, 0, undefined, injection)) return;
    this.#send(out, packet, info);
  }

  /**
   * A forward-injected packet (FwpsInjectForwardAsync0): out of `out` as the forwarding path sends it,
   * indicated at no WFP layer (D31, F10). False when the hop limit ran out (time exceeded is sent).
   */
  sendInjected(out: NetInterface, packet: Uint8Array, info: IpPacketInfo): boolean {
    if (info.ttl <= 1) {
      this.counters.hopLimitExceeded++;
      this.host.ip.discard("HopLimitExceeded");
      this.host.icmp.sendTimeExceeded(packet, info, 0);
      return false;
    }
    this.#send(out, packet, info);
    return true;
  }

  #routeOut(packet: Uint8Array, info: IpPacketInfo): NetInterface | undefined {
    const host = this.host;
    const r = host.routes(info.version).lookup(info.dst);
    const out = r === undefined ? undefined : host.interfaceByIndex(r.route.interfaceIndex);
    if (r === undefined || out === undefined || out.kind === "loopback") {
      this.counters.noRoute++;
      host.ip.discard("NoRoute");
      host.icmp.sendUnreachable(packet, info, false);
      return undefined;
    }
    return out;
  }

  #classify(
    arrival: NetInterface,
    out: NetInterface,
    packet: Uint8Array,
    info: IpPacketInfo,
    flags: number,
    label?: "fragment-group",
    injection?: InjectionTag,
  ): boolean {
    const layerData: PacketLayerData = {
      kind: "packet",
      bytes: packet,
      ipOffset: 0,
      end: info.length,
      dataOffset: 0,
      ...(injection !== undefined ? { injection } : {}),
    };
    const v = this.host.shim.classifyAt("IPFORWARD", {
      facts: {
        ipVersion: info.version,
        sourceAddress: info.src,
        destinationAddress: info.dst,
        arrivalInterface: arrival.facts,
        nextHopInterface: out.facts,
        flags,
      },
      packet: label ?? (info.fragment !== undefined ? "fragment" : "datagram"),
      logDirection: "none",
      layerData,
      metadata: { compartmentId: 1, sourceInterfaceIndex: arrival.index, destinationInterfaceIndex: out.index },
    });
    if (!v.permit) this.counters.blocked++;
    return v.permit;
  }

  #send(out: NetInterface, packet: Uint8Array, info: IpPacketInfo): void {
    const host = this.host;
    const copy = packet.slice(0, info.length);
    if (info.version === 4) {
      const view = Ipv4View.check(copy, 0, copy.length);
      if (!view.ok) return;
      view.value.ttl = info.ttl - 1;
      view.value.fillChecksum();
    } else copy[7] = info.ttl - 1;
    const r = host.routes(info.version).lookup(info.dst);
    const nextHop = r?.nextHop ?? info.dst;
    host.resolveNeighbor(out, nextHop, (mac) => {
      if (mac === undefined) {
        host.ip.discard("AddressResolutionFailure");
        host.icmp.sendUnreachable(packet, info, true);
        return;
      }
      const etherType = info.version === 4 ? EtherType.Ipv4 : EtherType.Ipv6;
      if (copy.length <= out.mtu) {
        this.counters.forwarded++;
        host.ip.counters.forwarded++;
        host.transmit(out, mac, etherType, copy);
        return;
      }
      const dontFragment = info.version === 6 || (copy[6] as number) & 0x40;
      if (dontFragment) {
        this.counters.fragmentationNeeded++;
        host.ip.discard("DontFragmentMtuExceeded");
        host.icmp.sendFragmentationNeeded(packet, info, out.mtu);
        return;
      }
      const pieces = fragmentIpv4(copy, out.mtu);
      if (!pieces.ok) return;
      this.counters.forwarded++;
      host.ip.counters.forwarded++;
      for (const f of pieces.value) {
        this.counters.fragmentsOut++;
        host.transmit(out, mac, etherType, f);
      }
    });
  }

  #hold(arrival: NetInterface, packet: Uint8Array, info: IpPacketInfo): void {
    const f = info.fragment as NonNullable<IpPacketInfo["fragment"]>;
    const now = this.host.scheduler.nowNs();
    for (const [k, g] of this.#groups) {
      if (now - g.startedNs > this.#groupTimeoutNs) {
        this.#groups.delete(k);
        this.counters.groupsDropped++;
      }
    }
    const key = `${info.src}|${info.dst}|${info.protocol}|${f.identification}`;
    let g = this.#groups.get(key);
    if (g === undefined) {
      if (this.#groups.size >= this.#maxGroups) {
        this.counters.groupsDropped++;
        return;
      }
      g = { arrival, fragments: [], startedNs: now };
      this.#groups.set(key, g);
    }
    if (g.fragments.length >= 64) {
      this.#groups.delete(key);
      this.counters.groupsDropped++;
      return;
    }
    g.fragments.push({ packet: packet.slice(0, info.length), info });
    if (!complete(g)) return;
    this.#groups.delete(key);
    const out = this.#routeOut(packet, info);
    if (out === undefined) return;
    const permitted = g.fragments.filter((x) => this.#classify(g.arrival, out, x.packet, x.info, 0));
    this.counters.groupsIndicated++;
    const first = g.fragments.find((x) => x.info.fragment?.offset === 0) ?? g.fragments[0];
    if (first === undefined) return;
    const groupOk = this.#classify(
      g.arrival,
      out,
      first.packet,
      first.info,
      FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_FRAGMENT_GROUP,
      "fragment-group",
    );
    if (!groupOk) return;
    for (const x of permitted) {
      const p = parseIpPacket(x.packet);
      if (p.ok) this.#send(out, x.packet, p.value);
    }
  }
}

/** All fragments of a group present: offsets cover [0, end of the last) with no gap. */
function complete(g: Group): boolean {
  const pieces = g.fragments
    .map((x) => ({
      start: x.info.fragment?.offset ?? 0,
      end: (x.info.fragment?.offset ?? 0) + x.info.length - x.info.ipHeaderLength,
      more: x.info.fragment?.moreFragments ?? false,
    }))
    .sort((a, b) => a.start - b.start);
  if (!pieces.some((p) => !p.more)) return false;
  let covered = 0;
  for (const p of pieces) {
    if (p.start > covered) return false;
    covered = Math.max(covered, p.end);
    if (!p.more) return covered === p.end;
  }
  return false;
}
