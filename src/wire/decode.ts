/**
 * The packet dissector: from a link type and frame bytes to every layer openwfp understands — link header,
 * IPv4 or IPv6 (with its extension chain), then TCP, UDP, ICMPv4 or ICMPv6 (with the datagram an ICMP error
 * quotes). It never throws on bad bytes: decoding stops at the first layer that cannot be read, and the
 * reason is recorded with protocol, offset and field. Checksums are verified where the packet holds every
 * byte they cover (and, behind an IPv6 Routing header, the final destination can be told), and bad ones are
 * named.
 *
 * The result has two faces: `layers` (every field, nested, for the pretty-printer) and the flat summaries
 * `ip` / `tcp` / `udp` / `icmp` that the `decode --json` contract exposes.
 */
import { formatIpv4, formatIpv6, Ipv4Address, Ipv6Address } from "../base/ip.ts";
import { formatWireError, type WireError } from "./error.ts";
import { EthernetView, formatMac } from "./ethernet.ts";
import { EtherType, etherTypeName } from "./ethertype.ts";
import { type Icmpv4Repr, icmpv4ReprFromView, Icmpv4View, type QuotedIpv4, verifyIcmpv4Checksum } from "./icmpv4.ts";
import { type Icmpv6Repr, icmpv6ReprFromView, Icmpv6View, type QuotedIpv6, verifyIcmpv6Checksum } from "./icmpv6.ts";
import { formatIpProtocol, IpProtocol } from "./ip-protocol.ts";
import { parseIpv4Options, Ipv4View } from "./ipv4.ts";
import { Ipv6View } from "./ipv6.ts";
import { type Ipv6ExtensionChain, ipv6PseudoHeaderDestination, walkIpv6Extensions } from "./ipv6-ext.ts";
import { isDecodableLinkType, LinkType, linkTypeName } from "./link-type.ts";
import { LoopbackView } from "./loopback.ts";
import { SllView } from "./sll.ts";
import { Sll2View } from "./sll2.ts";
import { parseTcpOptions, type TcpOption, tcpFlagLetters, TcpView, verifyTcpChecksum } from "./tcp.ts";
import type { PseudoHeaderAddresses } from "./transport-checksum.ts";
import { UdpView, verifyUdpChecksum } from "./udp.ts";

/** One field of one layer, as text, with the problem found in it if any (a bad checksum, a bad length). */
export interface DecodedField {
  readonly name: string;
  readonly value: string;
  readonly problem?: string;
}

/** One protocol header of a packet; ICMP errors nest the datagram they quote as children. */
export interface DecodedLayer {
  readonly protocol: string;
  /** Offset of the header in the frame. */
  readonly offset: number;
  /** Header length in bytes (for IPv4/IPv6/TCP/UDP/ICMP the header only, not the payload). */
  readonly length: number;
  readonly fields: readonly DecodedField[];
  readonly children?: readonly DecodedLayer[];
}

export interface IpSummary {
  readonly version: 4 | 6;
  readonly src: string;
  readonly dst: string;
  /** IPv4 protocol; IPv6 upper-layer protocol after the extension headers. */
  readonly protocol: number;
  /** IPv4 TTL or IPv6 hop limit. */
  readonly ttl: number;
  /** IPv4 identification, or the IPv6 fragment header's identification. */
  readonly id?: number;
  /** In bytes. */
  readonly fragmentOffset?: number;
  readonly moreFragments?: boolean;
  readonly dontFragment?: boolean;
}

export interface TcpSummary {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: string;
  readonly window: number;
  /** Payload length per the IP header's lengths, not the captured bytes; absent when the header was cut short. */
  readonly payloadLength?: number;
}

export interface UdpSummary {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly length: number;
}

export interface IcmpSummary {
  readonly version: 4 | 6;
  readonly type: number;
  readonly code: number;
  /** For ICMP errors: the offending datagram's header as quoted in the message. */
  readonly quoted?: QuotedSummary;
}

export interface QuotedSummary {
  readonly version: 4 | 6;
  readonly src: string;
  readonly dst: string;
  /** IPv4 protocol, or IPv6 upper-layer protocol after the quoted extension headers. */
  readonly protocol: number;
  readonly srcPort?: number;
  readonly dstPort?: number;
}

export interface DecodedPacket {
  readonly linkType: number;
  readonly layers: DecodedLayer[];
  ip?: IpSummary;
  tcp?: TcpSummary;
  udp?: UdpSummary;
  icmp?: IcmpSummary;
  /** Where and why decoding stopped, e.g. "tcp: header truncated at offset 34 (field dataOffset)". */
  readonly errors: string[];
  /** Checksums that do not verify, e.g. "tcp: checksum 0x1234 is wrong at offset 50 (field checksum)". */
  readonly badChecksums: string[];
  /** Set when the frame's link type, or the protocol inside it, is one openwfp does not decode (not an error). */
  undecoded?: string;
}

/** Dissects one frame. `data` holds the captured bytes; `originalLength` is the length on the wire. */
export function decodePacket(linkType: number, data: Uint8Array): DecodedPacket {
  const packet: DecodedPacket = { linkType, layers: [], errors: [], badChecksums: [] };
  if (!isDecodableLinkType(linkType)) {
    packet.undecoded = `link type ${linkType} (${linkTypeName(linkType)})`;
    return packet;
  }
  const network = decodeLink(packet, linkType, data);
  if (network === undefined) return packet;
  decodeNetwork(packet, data, network.offset, network.etherType);
  return packet;
}

interface NetworkStart {
  readonly offset: number;
  /** EtherType of the network layer, or undefined for raw IP (read the version nibble). */
  readonly etherType: number | undefined;
}

function decodeLink(packet: DecodedPacket, linkType: number, data: Uint8Array): NetworkStart | undefined {
  switch (linkType) {
    case LinkType.EN10MB: {
      const r = EthernetView.check(data);
      if (!r.ok) return fail(packet, r.error);
      const v = r.value;
      packet.layers.push({
        protocol: "Ethernet II",
        offset: 0,
        length: 14,
        fields: [
          { name: "destination", value: formatMac(v.dst) },
          { name: "source", value: formatMac(v.src) },
          { name: "type", value: hex16(v.tags.length > 0 ? (v.tags[0]?.tpid ?? v.etherType) : v.etherType) },
        ],
      });
      v.tags.forEach((tag, i) => {
        packet.layers.push({
          protocol: tag.tpid === EtherType.Vlan ? "802.1Q" : "802.1ad",
          offset: 12 + 4 * i,
          length: 4,
          fields: [
            { name: "tpid", value: hex16(tag.tpid) },
            { name: "priority", value: String(tag.pcp) },
            { name: "dei", value: String(tag.dei) },
            { name: "vlan", value: String(tag.vid) },
          ],
        });
      });
      return { offset: v.payloadOffset, etherType: v.etherType };
    }
    case LinkType.NULL:
    case LinkType.LOOP: {
      const r = LoopbackView.check(data, 0, data.length, linkType === LinkType.LOOP ? "loop" : "null");
      if (!r.ok) return fail(packet, r.error);
      const v = r.value;
      packet.layers.push({
        protocol: linkType === LinkType.LOOP ? "BSD loopback (LOOP)" : "BSD loopback (NULL)",
        offset: 0,
        length: 4,
        fields: [{ name: "family", value: String(v.family) }],
      });
      if (v.etherType === undefined) {
        packet.undecoded = `loopback address family ${v.family}`;
        return undefined;
      }
      return { offset: v.payloadOffset, etherType: v.etherType };
    }
    case LinkType.LINUX_SLL: {
      const r = SllView.check(data);
      if (!r.ok) return fail(packet, r.error);
      const v = r.value;
      packet.layers.push({
        protocol: "Linux cooked (SLL)",
        offset: 0,
        length: v.payloadOffset,
        fields: [
          { name: "packet type", value: String(v.packetType) },
          { name: "ARPHRD type", value: String(v.arphrdType) },
          { name: "address", value: hexBytes(v.address) },
          { name: "protocol", value: hex16(v.protocol) },
        ],
      });
      return { offset: v.payloadOffset, etherType: v.protocol };
    }
    case LinkType.LINUX_SLL2: {
      const r = Sll2View.check(data);
      if (!r.ok) return fail(packet, r.error);
      const v = r.value;
      packet.layers.push({
        protocol: "Linux cooked (SLL2)",
        offset: 0,
        length: v.payloadOffset,
        fields: [
          { name: "protocol", value: hex16(v.protocol) },
          { name: "interface index", value: String(v.interfaceIndex) },
          { name: "ARPHRD type", value: String(v.arphrdType) },
          { name: "packet type", value: String(v.packetType) },
          { name: "address", value: hexBytes(v.address) },
        ],
      });
      return { offset: v.payloadOffset, etherType: v.protocol };
    }
    case LinkType.IPV4:
      return { offset: 0, etherType: EtherType.Ipv4 };
    case LinkType.IPV6:
      return { offset: 0, etherType: EtherType.Ipv6 };
    default:
      // LinkType.RAW: the version nibble says which IP.
      return { offset: 0, etherType: undefined };
  }
}

function decodeNetwork(packet: DecodedPacket, data: Uint8Array, offset: number, etherType: number | undefined): void {
  let type = etherType;
  if (type === undefined) {
    if (offset >= data.length) {
      fail(packet, { protocol: "raw", field: "version", offset, reason: "no IP header" });
      return;
    }
    const version = (data[offset] as number) >> 4;
    if (version === 4) type = EtherType.Ipv4;
    else if (version === 6) type = EtherType.Ipv6;
    else {
      fail(packet, { protocol: "raw", field: "version", offset, reason: `IP version ${version} is neither 4 nor 6` });
      return;
    }
  }
  if (type === EtherType.Ipv4) decodeIpv4(packet, data, offset);
  else if (type === EtherType.Ipv6) decodeIpv6(packet, data, offset);
  else packet.undecoded = `ethertype ${hex16(type)} (${etherTypeName(type) ?? "unknown"})`;
}

function decodeIpv4(packet: DecodedPacket, data: Uint8Array, offset: number): void {
  const r = Ipv4View.check(data, offset, data.length);
  if (!r.ok) {
    fail(packet, r.error);
    return;
  }
  const ip = r.value;
  const fields: DecodedField[] = [
    { name: "version", value: "4" },
    { name: "header length", value: String(ip.headerLength) },
    { name: "dscp", value: String(ip.dscp) },
    { name: "ecn", value: String(ip.ecn) },
    { name: "total length", value: String(ip.totalLength) },
    { name: "identification", value: `${hex16(ip.identification)} (${ip.identification})` },
    { name: "flags", value: `${ip.dontFragment ? "DF" : ""}${ip.moreFragments ? " MF" : ""}`.trim() || "none" },
    { name: "fragment offset", value: String(ip.fragmentOffset) },
    { name: "ttl", value: String(ip.ttl) },
    { name: "protocol", value: formatIpProtocol(ip.protocol) },
    checksumField("header checksum", ip.checksum, ip.checksumValid() ? "good" : "ipv4", packet, offset + 10),
    { name: "source", value: formatIpv4(ip.srcAddress) },
    { name: "destination", value: formatIpv4(ip.dstAddress) },
  ];
  if (ip.headerLength > 20) {
    const options = parseIpv4Options(data, offset + 20, offset + ip.headerLength);
    fields.push({ name: "options", value: options.ok ? options.value.map((o) => o.kind).join(", ") : "malformed" });
    if (!options.ok) packet.errors.push(formatWireError(options.error));
  }
  packet.layers.push({ protocol: "IPv4", offset, length: ip.headerLength, fields });
  packet.ip = {
    version: 4,
    src: formatIpv4(ip.srcAddress),
    dst: formatIpv4(ip.dstAddress),
    protocol: ip.protocol,
    ttl: ip.ttl,
    id: ip.identification,
    fragmentOffset: ip.fragmentOffset,
    moreFragments: ip.moreFragments,
    dontFragment: ip.dontFragment,
  };
  if (ip.fragmentOffset !== 0) return; // a non-first fragment carries no transport header
  const declaredEnd = offset + ip.totalLength;
  const checksummable = !ip.moreFragments && !ip.truncated;
  const addresses: PseudoHeaderAddresses = {
    version: 4,
    src: new Ipv4Address(ip.srcAddress),
    dst: new Ipv4Address(ip.dstAddress),
  };
  decodeTransport(packet, data, ip.protocol, ip.payloadOffset, ip.payloadEnd, declaredEnd, checksummable, addresses);
}

function decodeIpv6(packet: DecodedPacket, data: Uint8Array, offset: number): void {
  const r = Ipv6View.check(data, offset, data.length);
  if (!r.ok) {
    fail(packet, r.error);
    return;
  }
  const ip = r.value;
  packet.layers.push({
    protocol: "IPv6",
    offset,
    length: 40,
    fields: [
      { name: "version", value: "6" },
      { name: "traffic class", value: hex8(ip.trafficClass) },
      { name: "flow label", value: `0x${ip.flowLabel.toString(16).padStart(5, "0")}` },
      { name: "payload length", value: String(ip.payloadLength) },
      { name: "next header", value: formatIpProtocol(ip.nextHeader) },
      { name: "hop limit", value: String(ip.hopLimit) },
      { name: "source", value: formatIpv6(ip.srcAddress) },
      { name: "destination", value: formatIpv6(ip.dstAddress) },
    ],
  });
  const summary: { -readonly [K in keyof IpSummary]: IpSummary[K] } = {
    version: 6,
    src: formatIpv6(ip.srcAddress),
    dst: formatIpv6(ip.dstAddress),
    protocol: ip.nextHeader,
    ttl: ip.hopLimit,
  };
  packet.ip = summary;
  const walked = walkIpv6Extensions(data, ip.payloadOffset, ip.nextHeader, ip.payloadEnd);
  if (!walked.ok) {
    fail(packet, walked.error);
    return;
  }
  const chain: Ipv6ExtensionChain = walked.value;
  for (const h of chain.headers) {
    packet.layers.push({
      protocol: `IPv6 ${formatIpProtocol(h.type)}`,
      offset: h.offset,
      length: h.length,
      fields: [{ name: "length", value: String(h.length) }],
    });
  }
  summary.protocol = chain.upperProtocol;
  if (chain.fragment !== undefined) {
    summary.id = chain.fragment.identification;
    summary.fragmentOffset = chain.fragment.fragmentOffset;
    summary.moreFragments = chain.fragment.moreFragments;
    if (chain.fragment.fragmentOffset !== 0) return;
  }
  if (!chain.upperRecognised) {
    packet.undecoded = `IPv6 next header ${chain.upperProtocol} is not recognised (RFC 8200 §4)`;
    return;
  }
  const declaredEnd = ip.jumbogram ? ip.payloadEnd : ip.payloadOffset + ip.payloadLength;
  // RFC 8200 §8.1: behind a Routing header with segments left, the pseudo-header holds the final destination.
  const destination = ipv6PseudoHeaderDestination(data, chain.headers);
  const checksummable = chain.fragment === undefined && !ip.truncated && destination !== undefined;
  const dst =
    destination === "current" || destination === undefined
      ? ip.dstAddress
      : data.subarray(destination, destination + 16);
  const addresses: PseudoHeaderAddresses = {
    version: 6,
    src: new Ipv6Address(ip.srcAddress.slice()),
    dst: new Ipv6Address(dst.slice()),
  };
  decodeTransport(
    packet,
    data,
    chain.upperProtocol,
    chain.upperOffset,
    ip.payloadEnd,
    declaredEnd,
    checksummable,
    addresses,
  );
}

/**
 * Decodes the transport header at `offset`. `end` bounds the captured bytes of the IP payload and
 * `declaredEnd` is where the IP header says the payload ends (they differ when the capture was cut short).
 */
function decodeTransport(
  packet: DecodedPacket,
  data: Uint8Array,
  protocol: number,
  offset: number,
  end: number,
  declaredEnd: number,
  checksummable: boolean,
  addresses: PseudoHeaderAddresses,
): void {
  switch (protocol) {
    case IpProtocol.Tcp: {
      const r = TcpView.check(data, offset, end);
      if (!r.ok) {
        fail(packet, r.error);
        // The fixed 20 bytes may still be there (options cut by a fragment or the snap length).
        const fixed = TcpView.checkFixedHeader(data, offset, end);
        if (fixed.ok) packet.tcp = tcpSummary(fixed.value, undefined);
        return;
      }
      const tcp = r.value;
      const payloadLength = Math.max(0, declaredEnd - offset - tcp.headerLength);
      const verdict: ChecksumVerdict = checksummable
        ? verifyTcpChecksum(data, offset, end, addresses)
          ? "good"
          : "tcp"
        : "unverified";
      const options = parseTcpOptions(data, offset + 20, offset + tcp.headerLength);
      if (!options.ok) packet.errors.push(formatWireError(options.error));
      packet.layers.push({
        protocol: "TCP",
        offset,
        length: tcp.headerLength,
        fields: [
          { name: "source port", value: String(tcp.srcPort) },
          { name: "destination port", value: String(tcp.dstPort) },
          { name: "sequence", value: String(tcp.seq) },
          { name: "acknowledgement", value: String(tcp.ack) },
          { name: "header length", value: String(tcp.headerLength) },
          { name: "flags", value: `[${tcpFlagLetters(tcp.flags)}] ${hex16(tcp.flags)}` },
          { name: "window", value: String(tcp.window) },
          checksumField("checksum", tcp.checksum, verdict, packet, offset + 16),
          { name: "urgent pointer", value: String(tcp.urgentPointer) },
          ...(options.ok && options.value.length > 0
            ? [{ name: "options", value: formatTcpOptions(options.value) }]
            : []),
          { name: "payload length", value: String(payloadLength) },
        ],
      });
      packet.tcp = tcpSummary(tcp, payloadLength);
      return;
    }
    case IpProtocol.Udp: {
      const r = UdpView.check(data, offset, end);
      if (!r.ok) {
        fail(packet, r.error);
        return;
      }
      const udp = r.value;
      const status = checksummable ? verifyUdpChecksum(data, offset, end, addresses) : "unverified";
      packet.layers.push({
        protocol: "UDP",
        offset,
        length: 8,
        fields: [
          { name: "source port", value: String(udp.srcPort) },
          { name: "destination port", value: String(udp.dstPort) },
          { name: "length", value: String(udp.length) },
          status === "none"
            ? { name: "checksum", value: "0x0000 (none)" }
            : checksumField("checksum", udp.checksum, status === "bad" ? "udp" : status, packet, offset + 6),
        ],
      });
      packet.udp = { srcPort: udp.srcPort, dstPort: udp.dstPort, length: udp.length };
      return;
    }
    case IpProtocol.Icmp: {
      const r = Icmpv4View.check(data, offset, end);
      if (!r.ok) {
        fail(packet, r.error);
        return;
      }
      const verdict: ChecksumVerdict = checksummable
        ? verifyIcmpv4Checksum(data, offset, end)
          ? "good"
          : "icmpv4"
        : "unverified";
      const repr = icmpv4ReprFromView(r.value);
      packet.icmp = icmpSummary(4, repr);
      packet.layers.push(icmpLayer("ICMPv4", offset, repr, verdict, packet));
      return;
    }
    case IpProtocol.Icmpv6: {
      const r = Icmpv6View.check(data, offset, end);
      if (!r.ok) {
        fail(packet, r.error);
        return;
      }
      if (addresses.version !== 6) {
        packet.undecoded = "ICMPv6 inside IPv4";
        return;
      }
      const verdict: ChecksumVerdict = checksummable
        ? verifyIcmpv6Checksum(data, offset, end, addresses)
          ? "good"
          : "icmpv6"
        : "unverified";
      const repr = icmpv6ReprFromView(r.value);
      if (!repr.ok) {
        packet.icmp = { version: 6, type: r.value.type, code: r.value.code };
        fail(packet, repr.error);
        return;
      }
      packet.icmp = icmpSummary(6, repr.value);
      packet.layers.push(icmpLayer("ICMPv6", offset, repr.value, verdict, packet));
      return;
    }
    default:
      packet.undecoded = `IP protocol ${formatIpProtocol(protocol)}`;
  }
}

function tcpSummary(tcp: TcpView, payloadLength: number | undefined): TcpSummary {
  const summary = {
    srcPort: tcp.srcPort,
    dstPort: tcp.dstPort,
    seq: tcp.seq,
    ack: tcp.ack,
    flags: tcpFlagLetters(tcp.flags),
    window: tcp.window,
  };
  return payloadLength === undefined ? summary : { ...summary, payloadLength };
}

function icmpSummary(version: 4 | 6, repr: Icmpv4Repr | Icmpv6Repr): IcmpSummary {
  const base = { version, type: repr.type, code: repr.code };
  if (!("quoted" in repr) || !repr.quoted.ok) return base;
  const q = repr.quoted.value;
  const quoted: QuotedSummary = {
    version: q.ip.src instanceof Ipv4Address ? 4 : 6,
    src: q.ip.src.toString(),
    dst: q.ip.dst.toString(),
    protocol: "upperProtocol" in q.ip ? q.ip.upperProtocol : q.ip.protocol,
    ...(q.srcPort !== undefined ? { srcPort: q.srcPort } : {}),
    ...(q.dstPort !== undefined ? { dstPort: q.dstPort } : {}),
  };
  return { ...base, quoted };
}

function icmpLayer(
  protocol: "ICMPv4" | "ICMPv6",
  offset: number,
  repr: Icmpv4Repr | Icmpv6Repr,
  verdict: ChecksumVerdict,
  packet: DecodedPacket,
): DecodedLayer {
  const fields: DecodedField[] = [
    { name: "type", value: `${repr.type} (${repr.kind})` },
    { name: "code", value: String(repr.code) },
    checksumField("checksum", repr.checksum, verdict, packet, offset + 2),
  ];
  for (const [key, value] of Object.entries(repr)) {
    if (["type", "code", "checksum", "kind", "data", "quoted"].includes(key)) continue;
    fields.push({ name: key, value: formatValue(value) });
  }
  const children: DecodedLayer[] = [];
  if ("quoted" in repr) {
    const quoted = repr.quoted;
    if (quoted.ok) children.push(quotedLayer(quoted.value, offset + 8));
    else {
      fields.push({ name: "quoted datagram", value: "unreadable", problem: formatWireError(quoted.error) });
      packet.errors.push(formatWireError(quoted.error));
    }
  }
  return children.length > 0
    ? { protocol, offset, length: 8, fields, children }
    : { protocol, offset, length: 8, fields };
}

function quotedLayer(quoted: QuotedIpv4 | QuotedIpv6, offset: number): DecodedLayer {
  const ip = quoted.ip;
  const isV4 = ip.src instanceof Ipv4Address;
  const fields: DecodedField[] = [
    { name: "source", value: ip.src.toString() },
    { name: "destination", value: ip.dst.toString() },
    {
      name: "protocol",
      value: formatIpProtocol("upperProtocol" in ip ? ip.upperProtocol : (ip as { protocol: number }).protocol),
    },
  ];
  if (quoted.srcPort !== undefined) fields.push({ name: "source port", value: String(quoted.srcPort) });
  if (quoted.dstPort !== undefined) fields.push({ name: "destination port", value: String(quoted.dstPort) });
  if (quoted.icmpType !== undefined) fields.push({ name: "icmp type", value: String(quoted.icmpType) });
  if (quoted.icmpCode !== undefined) fields.push({ name: "icmp code", value: String(quoted.icmpCode) });
  return { protocol: isV4 ? "quoted IPv4" : "quoted IPv6", offset, length: isV4 ? 20 : 40, fields };
}

/** What checking a checksum found: right, not checked, or wrong (the protocol whose checksum it is). */
type ChecksumVerdict = "good" | "unverified" | "ipv4" | "tcp" | "udp" | "icmpv4" | "icmpv6";

/**
 * A checksum field: "good" and "unverified" (a fragment, or bytes not captured) are shown as such; any other
 * verdict is the protocol whose checksum is wrong, which is also named in `badChecksums`.
 */
function checksumField(
  name: string,
  value: number,
  verdict: ChecksumVerdict,
  packet: DecodedPacket,
  offset: number,
): DecodedField {
  if (verdict === "good") return { name, value: `${hex16(value)} (verified)` };
  if (verdict === "unverified") return { name, value: `${hex16(value)} (not verified)` };
  const problem = `${verdict}: checksum ${hex16(value)} is wrong at offset ${offset} (field checksum)`;
  packet.badChecksums.push(problem);
  return { name, value: hex16(value), problem: "wrong checksum" };
}

function fail(packet: DecodedPacket, error: WireError): undefined {
  packet.errors.push(formatWireError(error));
  return undefined;
}

function formatTcpOptions(options: readonly TcpOption[]): string {
  return options
    .map((o) => {
      switch (o.kind) {
        case "mss":
          return `mss ${o.value}`;
        case "windowScale":
          return `wscale ${o.shift}`;
        case "sackPermitted":
          return "sackOK";
        case "sack":
          return `sack ${o.blocks.map((b) => `${b.left}-${b.right}`).join(" ")}`;
        case "timestamps":
          return `ts ${o.value} ecr ${o.echo}`;
        case "nop":
          return "nop";
        case "eol":
          return "eol";
        default:
          return `kind ${o.kind}`;
      }
    })
    .join(", ");
}

function formatValue(value: unknown): string {
  if (value instanceof Uint8Array) return hexBytes(value);
  if (Array.isArray(value)) return value.map(formatValue).join(", ");
  if (value !== null && typeof value === "object") {
    if ("toString" in value && value.toString !== Object.prototype.toString) return String(value);
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? hexBytes(v) : v));
  }
  return String(value);
}

function hex8(n: number): string {
  return `0x${n.toString(16).padStart(2, "0")}`;
}

function hex16(n: number): string {
  return `0x${n.toString(16).padStart(4, "0")}`;
}

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
}
