/**
 * Test support for the transport decoder tests (tcp, udp, icmpv4, icmpv6, transport-checksum): finds
 * the transport header inside the Ethernet frames of the real captures, independently of the IP
 * modules under test elsewhere (a few lines of IPv4/IPv6 walking, enough for trusted fixtures), and
 * gives the pseudo-header addresses. Captures and oracles are read by link-ip-fixtures.testing.ts.
 */
import { Ipv4Address, Ipv6Address } from "../base/ip.ts";
import { type FixturePacket, type OraclePacket, packetsWithOracle } from "./link-ip-fixtures.testing.ts";
import type { PseudoHeaderAddresses } from "./transport-checksum.ts";

export interface TransportSegment {
  readonly path: string;
  readonly packet: FixturePacket;
  readonly oracle: OraclePacket;
  readonly frame: Uint8Array;
  /** Offset of the IP header. */
  readonly ipOffset: number;
  /** Upper-layer protocol number. */
  readonly protocol: number;
  /** Offset of the transport header. */
  readonly offset: number;
  /** End of the IP payload as captured (IP length bounded by the capture). */
  readonly end: number;
  /** End of the IP payload as declared by the IP header (may exceed the capture). */
  readonly declaredEnd: number;
  readonly addresses: PseudoHeaderAddresses;
}

function u16(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 8) | (b[i + 1] as number);
}

/** Locates the transport header of an Ethernet frame (skipping 802.1Q tags and IPv6 extension headers). */
export function locateTransport(frame: Uint8Array): Omit<TransportSegment, "path" | "packet" | "oracle"> | undefined {
  let at = 12;
  let etherType = u16(frame, at);
  while (etherType === 0x8100 || etherType === 0x88a8) {
    at += 4;
    etherType = u16(frame, at);
  }
  const ip = at + 2;
  if (etherType === 0x0800) {
    const ihl = ((frame[ip] as number) & 0x0f) * 4;
    const declaredEnd = ip + u16(frame, ip + 2);
    const fragment = u16(frame, ip + 6) & 0x1fff;
    if (fragment !== 0) return undefined;
    return {
      frame,
      ipOffset: ip,
      protocol: frame[ip + 9] as number,
      offset: ip + ihl,
      end: Math.min(declaredEnd, frame.length),
      declaredEnd,
      addresses: {
        version: 4,
        src: Ipv4Address.fromBytes(frame, ip + 12),
        dst: Ipv4Address.fromBytes(frame, ip + 16),
      },
    };
  }
  if (etherType === 0x86dd) {
    const declaredEnd = ip + 40 + u16(frame, ip + 4);
    let next = frame[ip + 6] as number;
    let offset = ip + 40;
    // RFC 8200 §8.1: with a Routing header, the pseudo-header holds the final destination.
    let finalDst = ip + 24;
    for (;;) {
      if (next === 43 && frame[offset + 2] === 0 && (frame[offset + 3] as number) > 0) {
        const addresses = (frame[offset + 1] as number) / 2;
        finalDst = offset + 8 + (addresses - 1) * 16;
      }
      if (next === 0 || next === 43 || next === 60) {
        const n = frame[offset] as number;
        offset += ((frame[offset + 1] as number) + 1) * 8;
        next = n;
      } else if (next === 44) {
        if ((u16(frame, offset + 2) & 0xfff8) !== 0) return undefined;
        next = frame[offset] as number;
        offset += 8;
      } else break;
    }
    return {
      frame,
      ipOffset: ip,
      protocol: next,
      offset,
      end: Math.min(declaredEnd, frame.length),
      declaredEnd,
      addresses: {
        version: 6,
        src: Ipv6Address.fromBytes(frame, ip + 8),
        dst: Ipv6Address.fromBytes(frame, finalDst),
      },
    };
  }
  return undefined;
}

/** Every first-fragment segment of `protocol` in the given Ethernet captures, with its oracle entry. */
export function segments(paths: readonly string[], protocol: number): TransportSegment[] {
  const out: TransportSegment[] = [];
  for (const path of paths) {
    for (const { packet, oracle } of packetsWithOracle(path)) {
      if (packet.linkType !== 1) continue;
      const found = locateTransport(packet.data);
      if (found !== undefined && found.protocol === protocol) out.push({ path, packet, oracle, ...found });
    }
  }
  return out;
}

/** The oracle's value for `field` as a number (hex "0x…" or decimal); for repeated fields, the `index`th. */
export function oracleNumber(oracle: OraclePacket, field: string, index = 0): number | undefined {
  const text = oracle[field];
  if (text === undefined) return undefined;
  const part = text.split("|")[index];
  return part === undefined ? undefined : Number(part);
}

/**
 * A deliberately naive reference for pseudo-header checksums, independent of checksum.ts: builds the
 * pseudo-header and a copy of the message with its checksum field zeroed, then adds 16-bit words.
 */
export function referenceChecksum(
  addresses: PseudoHeaderAddresses,
  protocol: number,
  message: Uint8Array,
  checksumIndex: number,
): number {
  const length = message.length;
  const pseudo =
    addresses.version === 4
      ? [...addresses.src.toBytes(), ...addresses.dst.toBytes(), 0, protocol, length >> 8, length & 0xff]
      : [
          ...addresses.src.toBytes(),
          ...addresses.dst.toBytes(),
          (length >>> 24) & 0xff,
          (length >>> 16) & 0xff,
          (length >>> 8) & 0xff,
          length & 0xff,
          0,
          0,
          0,
          protocol,
        ];
  const body = Array.from(message);
  body[checksumIndex] = 0;
  body[checksumIndex + 1] = 0;
  return referenceInternetChecksum([...pseudo, ...body]);
}

/** RFC 1071 checksum of a list of bytes, the obvious way. */
export function referenceInternetChecksum(bytes: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] ?? 0) * 256 + (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return 0xffff - sum;
}

/** Real Ethernet captures with TCP or UDP or ICMP, by folder, for the transport tests. */
export const TRANSPORT_FOLDERS = ["tcp_session", "tcp_rst", "udp_dns", "icmp", "ipv6"] as const;
