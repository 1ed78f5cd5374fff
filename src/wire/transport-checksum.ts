/**
 * Checksums of the upper-layer protocols that cover a pseudo-header: TCP (RFC 9293 §3.1), UDP (RFC 768)
 * and ICMPv6 (RFC 4443 §2.3), over IPv4 (source, destination, zero, protocol, length) or IPv6
 * (RFC 8200 §8.1: source, destination, 32-bit length, next header). ICMPv4 has no pseudo-header
 * (RFC 792) and uses `messageChecksum`.
 *
 * Every checksum field sits at an even offset from the start of its header (TCP 16, UDP 6, ICMP 2), so the
 * value already in the field can be subtracted from the unfolded sum instead of zeroing the field first:
 * computing never writes to the buffer.
 */
import type { Ipv4Address, Ipv6Address } from "../base/ip.ts";
import {
  type ChecksumMode,
  finishChecksum,
  pseudoHeaderSumV4,
  pseudoHeaderSumV6,
  sumWords,
  wrongChecksum,
} from "./checksum.ts";

/**
 * The addresses that go into a pseudo-header, tagged with the IP version that carries the segment. Over
 * IPv6 with a Routing header, `dst` is the final destination (the last address of the Routing header),
 * not the IPv6 header's current destination (RFC 8200 §8.1).
 */
export type PseudoHeaderAddresses =
  | { readonly version: 4; readonly src: Ipv4Address; readonly dst: Ipv4Address }
  | { readonly version: 6; readonly src: Ipv6Address; readonly dst: Ipv6Address };

/** The IPv6 form only (ICMPv6 is never carried over IPv4). */
export type Ipv6PseudoHeaderAddresses = Extract<PseudoHeaderAddresses, { readonly version: 6 }>;

/** IP protocol numbers whose checksums cover a pseudo-header. */
export const IP_PROTOCOL_TCP = 6;
export const IP_PROTOCOL_UDP = 17;
export const IP_PROTOCOL_ICMPV6 = 58;

/** Unfolded sum of the pseudo-header for an upper-layer message of `length` bytes. */
export function pseudoHeaderSum(addresses: PseudoHeaderAddresses, protocol: number, length: number): number {
  if (addresses.version === 4) return pseudoHeaderSumV4(addresses.src.value, addresses.dst.value, protocol, length);
  return pseudoHeaderSumV6(addresses.src.bytes, 0, addresses.dst.bytes, 0, protocol, length);
}

/** Reads the big-endian 16-bit word at `offset`. */
function word(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] as number) << 8) | (bytes[offset + 1] as number);
}

/**
 * The checksum to store for the message bytes[start, end), ignoring whatever the field at
 * `checksumOffset` (absolute, even distance from `start`) holds now. `initial` is a pseudo-header sum
 * (0 for ICMPv4). A computed 0 is returned as 0 here; UDP's "send 0 as 0xffff" rule is the caller's.
 */
export function computeChecksumExcludingField(
  bytes: Uint8Array,
  start: number,
  end: number,
  checksumOffset: number,
  initial: number,
): number {
  // The current field value is one of the summed words; removing it leaves an exact non-negative sum.
  const sum = sumWords(bytes, start, end, initial) - word(bytes, checksumOffset);
  return finishChecksum(sum);
}

/** The checksum to store in a TCP, UDP or ICMPv6 message bytes[start, end) (field at `checksumOffset`). */
export function computeTransportChecksum(
  addresses: PseudoHeaderAddresses,
  protocol: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  checksumOffset: number,
): number {
  const initial = pseudoHeaderSum(addresses, protocol, end - start);
  return computeChecksumExcludingField(bytes, start, end, checksumOffset, initial);
}

/**
 * True when the message bytes[start, end), checksum field included, sums with its pseudo-header to
 * 0xffff. Note a UDP-over-IPv4 checksum of 0 means "none" (RFC 768); `verifyUdpChecksum` handles that.
 */
export function verifyTransportChecksum(
  addresses: PseudoHeaderAddresses,
  protocol: number,
  bytes: Uint8Array,
  start: number,
  end: number,
): boolean {
  const initial = pseudoHeaderSum(addresses, protocol, end - start);
  return finishChecksum(sumWords(bytes, start, end, initial)) === 0;
}

/**
 * Writes the 16-bit checksum field at `fieldOffset` according to `mode`: the `correct` value, the `kept`
 * value unchanged, or a value that certainly does not verify (`wrongChecksum`).
 */
export function writeChecksumField(
  out: Uint8Array,
  fieldOffset: number,
  correct: number,
  mode: ChecksumMode,
  kept: number,
): number {
  const value = mode === "compute" ? correct : mode === "keep" ? kept : wrongChecksum(correct);
  out[fieldOffset] = value >>> 8;
  out[fieldOffset + 1] = value & 0xff;
  return value;
}

/**
 * Fills the checksum field of the TCP, UDP or ICMPv6 message in out[start, end) according to `mode`
 * and returns the value written. With "keep", `kept` is written and nothing is computed.
 */
export function fillTransportChecksum(
  addresses: PseudoHeaderAddresses,
  protocol: number,
  out: Uint8Array,
  start: number,
  end: number,
  checksumOffset: number,
  mode: ChecksumMode,
  kept: number,
): number {
  if (mode === "keep") return writeChecksumField(out, checksumOffset, kept, mode, kept);
  const correct = computeTransportChecksum(addresses, protocol, out, start, end, checksumOffset);
  return writeChecksumField(out, checksumOffset, correct, mode, kept);
}
