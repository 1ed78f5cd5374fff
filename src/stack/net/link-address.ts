/**
 * IP addresses that map to Ethernet addresses without asking anyone: the limited broadcast, IPv4 multicast
 * (RFC 1112 §6.4: 01:00:5e and the low 23 bits of the group) and IPv6 multicast (RFC 2464 §7: 33:33 and
 * the low 32 bits of the group), plus the solicited-node multicast address an IPv6 Neighbor Solicitation
 * is sent to (RFC 4291 §2.7.1: ff02::1:ff00:0/104 and the low 24 bits of the target).
 */
import { type IpAddress, Ipv6Address } from "../../base/index.ts";

/** ff:ff:ff:ff:ff:ff. Never modify. */
export const BROADCAST_MAC: Uint8Array = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/** The all-nodes multicast address ff02::1 (RFC 4291 §2.7.1). */
export const ALL_NODES = Ipv6Address.parse("ff02::1");

/**
 * The MAC an IP destination maps to directly: ff:ff:ff:ff:ff:ff for 255.255.255.255, 01:00:5e:xx:xx:xx for
 * IPv4 multicast, 33:33:xx:xx:xx:xx for IPv6 multicast; undefined for a unicast address (which needs ARP or
 * Neighbor Discovery). A subnet's directed broadcast needs the prefix and is the caller's to map.
 */
export function multicastMac(ip: IpAddress): Uint8Array | undefined {
  if (ip.version === 4) {
    if (ip.value === 0xffffffff) return BROADCAST_MAC.slice();
    if (!ip.isMulticast()) return undefined;
    return Uint8Array.of(0x01, 0x00, 0x5e, (ip.value >>> 16) & 0x7f, (ip.value >>> 8) & 0xff, ip.value & 0xff);
  }
  return ip.isMulticast() ? ipv6MulticastMac(ip) : undefined;
}

/** 33:33 and the low 32 bits of an IPv6 multicast group (RFC 2464 §7). */
export function ipv6MulticastMac(group: Ipv6Address): Uint8Array {
  const b = group.bytes;
  return Uint8Array.of(0x33, 0x33, b[12] as number, b[13] as number, b[14] as number, b[15] as number);
}

/** ff02::1:ffXX:XXXX for the low 24 bits of `target`. */
export function solicitedNodeAddress(target: Ipv6Address): Ipv6Address {
  const out = Ipv6Address.parse("ff02::1:ff00:0").toBytes();
  out[13] = target.bytes[13] as number;
  out[14] = target.bytes[14] as number;
  out[15] = target.bytes[15] as number;
  return new Ipv6Address(out);
}

/** True for a group (multicast or broadcast) MAC: the I/G bit, the low bit of the first octet. */
export function isGroupMac(mac: Uint8Array): boolean {
  return ((mac[0] ?? 0) & 1) === 1;
}

/** True when two MACs hold the same 6 bytes. */
export function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return a.length === b.length;
}
