/**
 * IP protocol numbers (the IPv4 Protocol field and the IPv6 Next Header field share one IANA registry,
 * "Assigned Internet Protocol Numbers"), with the registry's keywords as names. WFP carries the same
 * numbers in FWPM_CONDITION_IP_PROTOCOL (IPPROTO_TCP = 6, IPPROTO_UDP = 17, ...).
 */

export const IpProtocol = {
  /** IPv6 Hop-by-Hop Options (RFC 8200 §4.3). */
  HopByHop: 0,
  Icmp: 1,
  Igmp: 2,
  /** IPv4 encapsulation (IP-in-IP, RFC 2003). */
  Ipv4: 4,
  Tcp: 6,
  Egp: 8,
  Udp: 17,
  Dccp: 33,
  /** IPv6 encapsulation (RFC 2473). */
  Ipv6: 41,
  /** IPv6 Routing header (RFC 8200 §4.4). */
  Ipv6Route: 43,
  /** IPv6 Fragment header (RFC 8200 §4.5). */
  Ipv6Frag: 44,
  Rsvp: 46,
  Gre: 47,
  /** Encapsulating Security Payload (RFC 4303). */
  Esp: 50,
  /** Authentication Header (RFC 4302). */
  Ah: 51,
  Icmpv6: 58,
  /** No Next Header for IPv6 (RFC 8200 §4.7). */
  Ipv6NoNext: 59,
  /** IPv6 Destination Options (RFC 8200 §4.6). */
  Ipv6Opts: 60,
  Eigrp: 88,
  Ospf: 89,
  EtherIp: 97,
  Pim: 103,
  IpComp: 108,
  Vrrp: 112,
  L2tp: 115,
  Sctp: 132,
  /** Mobility Header (RFC 6275). */
  Mobility: 135,
  UdpLite: 136,
  MplsInIp: 137,
  /** Host Identity Protocol (RFC 7401). */
  Hip: 139,
  Shim6: 140,
  /** Reserved for experimentation and testing (RFC 3692, RFC 4727). */
  Experiment1: 253,
  Experiment2: 254,
  Reserved: 255,
} as const;

const NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [IpProtocol.HopByHop, "HOPOPT"],
  [IpProtocol.Icmp, "ICMP"],
  [IpProtocol.Igmp, "IGMP"],
  [IpProtocol.Ipv4, "IPv4"],
  [IpProtocol.Tcp, "TCP"],
  [IpProtocol.Egp, "EGP"],
  [IpProtocol.Udp, "UDP"],
  [IpProtocol.Dccp, "DCCP"],
  [IpProtocol.Ipv6, "IPv6"],
  [IpProtocol.Ipv6Route, "IPv6-Route"],
  [IpProtocol.Ipv6Frag, "IPv6-Frag"],
  [IpProtocol.Rsvp, "RSVP"],
  [IpProtocol.Gre, "GRE"],
  [IpProtocol.Esp, "ESP"],
  [IpProtocol.Ah, "AH"],
  [IpProtocol.Icmpv6, "IPv6-ICMP"],
  [IpProtocol.Ipv6NoNext, "IPv6-NoNxt"],
  [IpProtocol.Ipv6Opts, "IPv6-Opts"],
  [IpProtocol.Eigrp, "EIGRP"],
  [IpProtocol.Ospf, "OSPFIGP"],
  [IpProtocol.EtherIp, "ETHERIP"],
  [IpProtocol.Pim, "PIM"],
  [IpProtocol.IpComp, "IPComp"],
  [IpProtocol.Vrrp, "VRRP"],
  [IpProtocol.L2tp, "L2TP"],
  [IpProtocol.Sctp, "SCTP"],
  [IpProtocol.Mobility, "Mobility Header"],
  [IpProtocol.UdpLite, "UDPLite"],
  [IpProtocol.MplsInIp, "MPLS-in-IP"],
  [IpProtocol.Hip, "HIP"],
  [IpProtocol.Shim6, "Shim6"],
  [IpProtocol.Experiment1, "Experiment 253"],
  [IpProtocol.Experiment2, "Experiment 254"],
  [IpProtocol.Reserved, "Reserved"],
]);

/** The IANA keyword for a protocol number ("TCP", "IPv6-ICMP"), or undefined when this table lacks it. */
export function ipProtocolName(value: number): string | undefined {
  return NAMES.get(value);
}

/** The IANA keyword, or the decimal number when the table lacks it ("TCP", "143"). */
export function formatIpProtocol(value: number): string {
  return NAMES.get(value) ?? String(value);
}

/** True when this table names the protocol number. */
export function isKnownIpProtocol(value: number): boolean {
  return NAMES.has(value);
}
