/**
 * ClassifyFacts for a packet as a host sees it (the simulated stack and the packet observer alike): which
 * end is local follows the direction (inbound: destination; outbound: source), ICMP type and code travel in
 * the port slots (F16), and the interface facts come from the NIC the packet arrives on or leaves by.
 */
import type { ClassifyFacts, InterfaceFacts, PacketDirection } from "./facts.ts";
import type { IpPacketInfo } from "./ip-packet.ts";
import { type PacketLabel, tcpSegmentLabel } from "./packet.ts";

export interface PacketFactsOptions {
  readonly iface?: InterfaceFacts;
  readonly arrivalInterface?: InterfaceFacts;
  readonly nextHopInterface?: InterfaceFacts;
  readonly flags?: number;
}

/** Facts of `p` travelling in `direction`. */
export function packetFacts(p: IpPacketInfo, direction: PacketDirection, o: PacketFactsOptions = {}): ClassifyFacts {
  const inbound = direction === "inbound";
  const t = p.transport;
  const icmp = t?.icmpType !== undefined;
  const srcPort = icmp ? t?.icmpType : t?.srcPort;
  const dstPort = icmp ? t?.icmpCode : t?.dstPort;
  // For ICMP the type is the "local port" and the code the "remote port" whatever the direction (F16).
  const localPort = icmp ? t?.icmpType : inbound ? dstPort : srcPort;
  const remotePort = icmp ? t?.icmpCode : inbound ? srcPort : dstPort;
  return {
    ipVersion: p.version,
    direction,
    protocol: p.protocol,
    localAddress: inbound ? p.dst : p.src,
    remoteAddress: inbound ? p.src : p.dst,
    ...(localPort !== undefined ? { localPort } : {}),
    ...(remotePort !== undefined ? { remotePort } : {}),
    ...(o.iface !== undefined ? { iface: o.iface } : {}),
    ...(o.arrivalInterface !== undefined ? { arrivalInterface: o.arrivalInterface } : {}),
    ...(o.nextHopInterface !== undefined ? { nextHopInterface: o.nextHopInterface } : {}),
    flags: o.flags ?? 0,
  };
}

/** The log label of a packet from its headers alone (the host refines datagrams to "first-datagram"). */
export function packetLabel(p: IpPacketInfo): PacketLabel {
  if (p.fragment !== undefined) return "fragment";
  const t = p.transport;
  if (t === undefined) return "datagram";
  if (t.tcpFlags !== undefined) return tcpSegmentLabel(t.tcpFlags, t.payloadLength);
  if (t.icmpType !== undefined) {
    if (t.icmpError === true) return "icmp-error";
    const v4 = p.version === 4;
    if (t.icmpType === (v4 ? 8 : 128)) return "echo-request";
    if (t.icmpType === (v4 ? 0 : 129)) return "echo-reply";
  }
  return "datagram";
}
