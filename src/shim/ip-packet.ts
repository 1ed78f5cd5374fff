/**
 * One IP packet read the way the classify points need it: version, addresses, the upper-layer protocol
 * after IPv6 extension headers, header sizes (ipHeaderSize / transportHeaderSize metadata), fragment
 * fields, and the transport header's ports, TCP flags and ICMP type/code/identifier. Both the simulated
 * stack and the packet observer (capture replay) read packets through this, so that their facts agree.
 * Bad bytes come back as a WireError value naming protocol, field and offset; nothing throws.
 */
import { err, type IpAddress, Ipv4Address, Ipv6Address, ok, type Result } from "../base/index.ts";
import {
  Icmpv4View,
  Icmpv6View,
  IpProtocol,
  Ipv4View,
  Ipv6View,
  TcpView,
  UdpView,
  type WireError,
  wireError,
} from "../wire/index.ts";

export interface IpFragmentInfo {
  readonly identification: number;
  /** In bytes. */
  readonly offset: number;
  readonly moreFragments: boolean;
}

/** The transport header of a first (or unfragmented) packet. */
export interface TransportInfo {
  readonly offset: number;
  readonly headerLength: number;
  /** TCP / UDP ports; for ICMP the type and code travel separately. */
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** TCP flag bits (TCP_SYN ...). */
  readonly tcpFlags?: number;
  readonly tcpSeq?: number;
  readonly tcpAck?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** ICMP echo identifier and sequence. */
  readonly icmpId?: number;
  readonly icmpSeq?: number;
  /** The ICMP message is an error (it quotes a datagram). */
  readonly icmpError?: boolean;
  /** Payload bytes after the transport header. */
  readonly payloadLength: number;
}

export interface IpPacketInfo {
  readonly version: 4 | 6;
  readonly src: IpAddress;
  readonly dst: IpAddress;
  /** IPv4 protocol; IPv6 upper-layer protocol after the extension headers. */
  readonly protocol: number;
  readonly ttl: number;
  /** Offset of the IP header in the bytes. */
  readonly offset: number;
  /** IPv4 header with options; IPv6 base header plus extension headers. */
  readonly ipHeaderLength: number;
  /** From `offset` to the end of the datagram (total length, clamped to the bytes). */
  readonly length: number;
  readonly fragment?: IpFragmentInfo;
  /** Absent for a non-first fragment, an unknown protocol, or a first fragment that ends inside it. */
  readonly transport?: TransportInfo;
}

/** Reads the IP packet at bytes[offset, end). */
export function parseIpPacket(bytes: Uint8Array, offset = 0, end = bytes.length): Result<IpPacketInfo, WireError> {
  if (offset >= end) return wireError("ip", "version", offset, "empty packet");
  const version = (bytes[offset] as number) >>> 4;
  if (version === 4) {
    const c = Ipv4View.check(bytes, offset, end);
    if (!c.ok) return c;
    const v = c.value;
    const fragment =
      v.moreFragments || v.fragmentOffset !== 0
        ? { identification: v.identification, offset: v.fragmentOffset, moreFragments: v.moreFragments }
        : undefined;
    const base = {
      version: 4 as const,
      src: new Ipv4Address(v.srcAddress),
      dst: new Ipv4Address(v.dstAddress),
      protocol: v.protocol,
      ttl: v.ttl,
      offset,
      ipHeaderLength: v.headerLength,
      length: v.payloadEnd - offset,
      ...(fragment !== undefined ? { fragment } : {}),
    };
    if (fragment !== undefined && fragment.offset !== 0) return ok(base);
    const t = transportOf(bytes, v.payloadOffset, v.payloadEnd, v.protocol, 4);
    // A first fragment may end inside its transport header: no transport, reassembly judges it (RFC 1858).
    if (!t.ok) return fragment !== undefined ? ok(base) : t;
    return ok(t.value === undefined ? base : { ...base, transport: t.value });
  }
  if (version === 6) {
    const c = Ipv6View.check(bytes, offset, end);
    if (!c.ok) return c;
    const v = c.value;
    const chain = v.extensions();
    if (!chain.ok) return chain;
    const f = chain.value.fragment;
    const fragment =
      f !== undefined
        ? { identification: f.identification, offset: f.fragmentOffset, moreFragments: f.moreFragments }
        : undefined;
    const base = {
      version: 6 as const,
      src: new Ipv6Address(v.srcAddress.slice()),
      dst: new Ipv6Address(v.dstAddress.slice()),
      protocol: chain.value.upperProtocol,
      ttl: v.hopLimit,
      offset,
      ipHeaderLength: chain.value.upperOffset - offset,
      length: v.payloadEnd - offset,
      ...(fragment !== undefined ? { fragment } : {}),
    };
    if (fragment !== undefined && fragment.offset !== 0) return ok(base);
    const t = transportOf(bytes, chain.value.upperOffset, v.payloadEnd, chain.value.upperProtocol, 6);
    if (!t.ok) return fragment !== undefined ? ok(base) : t; // reassembly judges it (RFC 7112)
    return ok(t.value === undefined ? base : { ...base, transport: t.value });
  }
  return wireError("ip", "version", offset, `version ${version} is neither 4 nor 6`);
}

function transportOf(
  bytes: Uint8Array,
  at: number,
  end: number,
  protocol: number,
  ipVersion: 4 | 6,
): Result<TransportInfo | undefined, WireError> {
  if (protocol === IpProtocol.Tcp) {
    const c = TcpView.check(bytes, at, end);
    if (!c.ok) return c;
    const t = c.value;
    return ok({
      offset: at,
      headerLength: t.headerLength,
      srcPort: t.srcPort,
      dstPort: t.dstPort,
      tcpFlags: t.flags,
      tcpSeq: t.seq,
      tcpAck: t.ack,
      payloadLength: end - t.payloadOffset,
    });
  }
  if (protocol === IpProtocol.Udp) {
    const c = UdpView.check(bytes, at, end);
    if (!c.ok) return c;
    const u = c.value;
    return ok({
      offset: at,
      headerLength: 8,
      srcPort: u.srcPort,
      dstPort: u.dstPort,
      payloadLength: u.payloadEnd - u.payloadOffset,
    });
  }
  if ((protocol === IpProtocol.Icmp && ipVersion === 4) || (protocol === IpProtocol.Icmpv6 && ipVersion === 6)) {
    const c = ipVersion === 4 ? Icmpv4View.check(bytes, at, end) : Icmpv6View.check(bytes, at, end);
    if (!c.ok) return err(c.error);
    const m = c.value;
    const echo = ipVersion === 4 ? m.type === 0 || m.type === 8 : m.type === 128 || m.type === 129;
    return ok({
      offset: at,
      headerLength: 8,
      icmpType: m.type,
      icmpCode: m.code,
      icmpError: m.isError,
      ...(echo ? { icmpId: m.identifier, icmpSeq: m.sequence } : {}),
      payloadLength: end - at - 8,
    });
  }
  return ok(undefined);
}
