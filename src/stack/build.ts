/**
 * Packets from parts, through the wire module's emitters: transport messages with their pseudo-header
 * checksums (UDP, TCP, ICMPv4, ICMPv6) and the IP header in front of them. Every byte the stack sends is
 * built here, so captures of a simulation are real packets tshark reads without complaint.
 */
import type { IpAddress, Ipv4Address, Ipv6Address } from "../base/index.ts";
import {
  emitIcmpv4,
  emitIcmpv6,
  emitIpv4Header,
  emitIpv6Header,
  emitTcpHeader,
  emitUdpHeader,
  type Icmpv4EmitRepr,
  type Icmpv6EmitRepr,
  type PseudoHeaderAddresses,
  type TcpRepr,
  tcpHeaderLength,
} from "../wire/index.ts";

/** The pseudo-header addresses of a segment between `src` and `dst` (same version). */
export function pseudo(src: IpAddress, dst: IpAddress): PseudoHeaderAddresses {
  if (src.version === 4 && dst.version === 4) return { version: 4, src, dst };
  if (src.version === 6 && dst.version === 6) return { version: 6, src, dst };
  throw new RangeError("source and destination are of different IP versions");
}

/** A UDP datagram (header + payload) with its checksum. */
export function buildUdp(
  src: IpAddress,
  dst: IpAddress,
  srcPort: number,
  dstPort: number,
  payload: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out.set(payload, 8);
  emitUdpHeader({ srcPort, dstPort, checksum: 0, payloadLength: payload.length }, out, 0, pseudo(src, dst));
  return out;
}

/** A TCP segment (header with options + payload) with its checksum. */
export function buildTcp(src: IpAddress, dst: IpAddress, repr: TcpRepr, payload: Uint8Array): Uint8Array {
  const header = tcpHeaderLength(repr);
  const out = new Uint8Array(header + payload.length);
  out.set(payload, header);
  emitTcpHeader({ ...repr, payloadLength: payload.length }, out, 0, pseudo(src, dst));
  return out;
}

/** An ICMPv4 message with its checksum. */
export function buildIcmpv4(repr: Icmpv4EmitRepr): Uint8Array {
  const out = new Uint8Array(8 + repr.data.length);
  emitIcmpv4(repr, out, 0);
  return out;
}

/** An ICMPv6 message with its pseudo-header checksum. */
export function buildIcmpv6(src: Ipv6Address, dst: Ipv6Address, repr: Icmpv6EmitRepr): Uint8Array {
  const probe = new Uint8Array(4096 + 8);
  const n = emitIcmpv6(repr, probe, 0, { version: 6, src, dst });
  return probe.slice(0, n);
}

export interface IpHeaderSpec {
  readonly src: IpAddress;
  readonly dst: IpAddress;
  readonly protocol: number;
  /** TTL / hop limit; default 128 (Windows' default TTL). */
  readonly ttl?: number;
  /** IPv4 identification. */
  readonly identification?: number;
  readonly dontFragment?: boolean;
}

/** Default TTL of Windows hosts. */
export const DEFAULT_TTL = 128;

/** An IP packet: header (no options, no extension headers) in front of `payload`. */
export function buildIp(h: IpHeaderSpec, payload: Uint8Array): Uint8Array {
  if (h.src.version === 4 && h.dst.version === 4) {
    const out = new Uint8Array(20 + payload.length);
    emitIpv4Header(
      {
        src: h.src as Ipv4Address,
        dst: h.dst as Ipv4Address,
        protocol: h.protocol,
        ttl: h.ttl ?? DEFAULT_TTL,
        identification: (h.identification ?? 0) & 0xffff,
        dscp: 0,
        ecn: 0,
        dontFragment: h.dontFragment ?? false,
        moreFragments: false,
        fragmentOffset: 0,
        options: [],
        payloadLength: payload.length,
        checksum: 0,
      },
      out,
      0,
    );
    out.set(payload, 20);
    return out;
  }
  if (h.src.version === 6 && h.dst.version === 6) {
    const out = new Uint8Array(40 + payload.length);
    emitIpv6Header(
      {
        src: h.src,
        dst: h.dst,
        trafficClass: 0,
        flowLabel: 0,
        hopLimit: h.ttl ?? DEFAULT_TTL,
        nextHeader: h.protocol,
        payloadLength: payload.length,
        extensions: [],
        upperProtocol: h.protocol,
      },
      out,
      0,
    );
    out.set(payload, 40);
    return out;
  }
  throw new RangeError("source and destination are of different IP versions");
}
