/**
 * EtherType values (IEEE 802 numbers, IEEE Registration Authority) used by the link-layer decoders here,
 * and the type-versus-length rule of IEEE 802.3 §3.2.6: a value of 1500 (0x05dc) or less in the
 * Type/Length field is a frame length (an 802.3/LLC frame), a value of 1536 (0x0600) or more is an
 * EtherType; the values between are undefined.
 */

export const EtherType = {
  Ipv4: 0x0800,
  Arp: 0x0806,
  WakeOnLan: 0x0842,
  /** Reverse ARP. */
  Rarp: 0x8035,
  /** IEEE 802.1Q customer VLAN tag (C-TAG) TPID. */
  Vlan: 0x8100,
  Ipv6: 0x86dd,
  /** IEEE 802.3 MAC control (pause frames). */
  MacControl: 0x8808,
  Mpls: 0x8847,
  MplsMulticast: 0x8848,
  PppoeDiscovery: 0x8863,
  PppoeSession: 0x8864,
  Eapol: 0x888e,
  /** IEEE 802.1ad service VLAN tag (S-TAG) TPID, the outer tag of QinQ. */
  QinQ: 0x88a8,
  Lldp: 0x88cc,
  MacSec: 0x88e5,
  Ptp: 0x88f7,
  /** Pre-standard QinQ outer tag TPID used by some switches before 802.1ad. */
  QinQLegacy: 0x9100,
} as const;

/** The largest Type/Length value that is a length (IEEE 802.3 §3.2.6). */
export const ETHERNET_MAX_LENGTH_FIELD = 1500;

/** The smallest Type/Length value that is an EtherType (IEEE 802.3 §3.2.6). */
export const ETHERTYPE_MIN = 0x0600;

/** True for the TPIDs that introduce a VLAN tag: 0x8100 (802.1Q), 0x88a8 (802.1ad) and 0x9100 (pre-standard). */
export function isVlanTpid(value: number): boolean {
  // Literal values (the EtherType entries of the same names): small enough for the JIT to inline everywhere.
  return value === 0x8100 || value === 0x88a8 || value === 0x9100;
}

/** True when a Type/Length field holds an 802.3 frame length rather than an EtherType. */
export function isLengthField(value: number): boolean {
  return value <= ETHERNET_MAX_LENGTH_FIELD;
}

const NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [EtherType.Ipv4, "IPv4"],
  [EtherType.Arp, "ARP"],
  [EtherType.WakeOnLan, "Wake-on-LAN"],
  [EtherType.Rarp, "RARP"],
  [EtherType.Vlan, "802.1Q"],
  [EtherType.Ipv6, "IPv6"],
  [EtherType.MacControl, "MAC Control"],
  [EtherType.Mpls, "MPLS"],
  [EtherType.MplsMulticast, "MPLS multicast"],
  [EtherType.PppoeDiscovery, "PPPoE discovery"],
  [EtherType.PppoeSession, "PPPoE session"],
  [EtherType.Eapol, "EAPOL"],
  [EtherType.QinQ, "802.1ad"],
  [EtherType.Lldp, "LLDP"],
  [EtherType.MacSec, "MACsec"],
  [EtherType.Ptp, "PTP"],
  [EtherType.QinQLegacy, "QinQ (0x9100)"],
]);

/** A short name ("IPv4", "802.1Q"), "802.3 length N" for a length field, or "0x88b5" for an unnamed type. */
export function etherTypeName(value: number): string {
  const name = NAMES.get(value);
  if (name !== undefined) return name;
  if (isLengthField(value)) return `802.3 length ${value}`;
  return `0x${value.toString(16).padStart(4, "0")}`;
}
