/**
 * IP fragmentation on the sending side: one packet too large for the next hop's MTU becomes several
 * fragments, each a complete IP packet of at most `mtu` bytes.
 *
 * - IPv4 (RFC 791 §2.3 "Fragmentation", §3.2 "Fragmentation and reassembly" procedure): the payload is
 *   cut at multiples of 8 bytes; every fragment but the last has More Fragments set; the first fragment
 *   keeps the original header with every option; later fragments carry only options whose copied flag
 *   (the high bit of the type byte, RFC 791 §3.1) is set; every header checksum is recomputed. A packet
 *   with Don't Fragment set is refused with `needsFragmentation`: the caller answers with ICMP
 *   Destination Unreachable code 4 carrying the next-hop MTU (RFC 1191 §4). A packet that is already a
 *   fragment (a router re-fragmenting it) keeps its place: offsets are added to its own offset and its
 *   More Fragments flag stays set on its last piece.
 * - IPv6 (RFC 8200 §4.5): only the source fragments. The Unfragmentable Part (the IPv6 header and every
 *   extension header up to and including the last Routing header, else the Hop-by-Hop Options header)
 *   is repeated in every fragment, followed by a Fragment header; the Fragmentable Part is cut at
 *   multiples of 8 bytes; Payload Length is rewritten per fragment. The first fragment must hold the whole
 *   header chain, upper-layer header included (RFC 7112 §5); a packet whose chain would not fit is
 *   refused rather than sent as fragments every receiver drops.
 *
 * Fragments are new buffers the caller owns. The bytes are written directly (not re-emitted from a
 * repr) so that reassembling the fragments gives back the original packet byte for byte.
 */
import { err, ok, type Result } from "../../base/result.ts";
import { internetChecksum } from "../../wire/checksum.ts";
import { formatWireError } from "../../wire/error.ts";
import { IpProtocol } from "../../wire/ip-protocol.ts";
import { IPV4_MIN_HEADER_LENGTH, Ipv4View, parseIpv4Options } from "../../wire/ipv4.ts";
import { IPV6_HEADER_LENGTH, Ipv6View } from "../../wire/ipv6.ts";
import { emitIpv6Extension } from "../../wire/ipv6-ext.ts";
import { minimumUpperLayerHeader } from "./upper-layer.ts";

/**
 * RFC 791 (a 60-byte header plus the minimum 8-byte fragment), RFC 1191 §3: every IPv4 module must
 * forward 68-byte datagrams without further fragmentation.
 */
export const IPV4_MIN_MTU = 68;
/** RFC 8200 §5: every IPv6 link carries packets of 1280 bytes. */
export const IPV6_MIN_MTU = 1280;
/** Bytes of the IPv6 Fragment header (RFC 8200 §4.5). */
export const IPV6_FRAGMENT_HEADER_LENGTH = 8;

/** Why a packet could not be fragmented. `message` reads as a sentence fragment for logs. */
export type FragmentError =
  /** The bytes are not a well-formed IPv4 / IPv6 packet (or are shorter than its length field). */
  | { readonly kind: "malformed"; readonly message: string }
  /** The MTU is below the protocol's minimum (68 for IPv4, 1280 for IPv6). */
  | { readonly kind: "mtuTooSmall"; readonly message: string; readonly mtu: number; readonly minimum: number }
  /**
   * IPv4 with Don't Fragment set and larger than `mtu`: the caller sends ICMP "fragmentation needed and
   * DF set" (type 3 code 4) with `mtu` as the next-hop MTU (RFC 1191 §4).
   */
  | { readonly kind: "needsFragmentation"; readonly message: string; readonly mtu: number }
  /** IPv6: the packet already has a Fragment header (only the source fragments, once; RFC 8200 §4.5). */
  | { readonly kind: "alreadyFragmented"; readonly message: string }
  /** IPv6 jumbograms cannot be fragmented (RFC 2675 §3). */
  | { readonly kind: "jumbogram"; readonly message: string }
  /**
   * IPv6: the Unfragmentable Part plus the Fragment header leave no room for 8 bytes of data, or the
   * first fragment could not hold the whole header chain (RFC 7112 §5).
   */
  | { readonly kind: "headersTooLong"; readonly message: string };

function malformed(message: string): Result<never, FragmentError> {
  return err({ kind: "malformed", message });
}

function writeU16(out: Uint8Array, at: number, value: number): void {
  out[at] = (value >>> 8) & 0xff;
  out[at + 1] = value & 0xff;
}

/**
 * The options of an IPv4 header that later fragments carry (RFC 791 §3.1: those whose copied flag is
 * set), from the option area bytes[start, end), padded with End of Option List to a multiple of 4. The
 * area must have passed parseIpv4Options (every length fits).
 */
function copiedOptions(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const kept: number[] = [];
  let at = start;
  while (at < end) {
    const type = bytes[at] as number;
    if (type === 0) break;
    if (type === 1) {
      at++;
      continue;
    }
    const length = bytes[at + 1] as number;
    if ((type & 0x80) !== 0) for (let i = 0; i < length; i++) kept.push(bytes[at + i] as number);
    at += length;
  }
  const out = new Uint8Array((kept.length + 3) & ~3);
  out.set(kept);
  return out;
}

/**
 * Splits the IPv4 packet in `packet` (header with options, then payload; bytes past its total length
 * are ignored) into fragments of at most `mtu` bytes. A packet that fits is returned as one copy.
 * See the module comment for the rules (RFC 791 §3.2).
 */
export function fragmentIpv4(packet: Uint8Array, mtu: number): Result<Uint8Array[], FragmentError> {
  if (!Number.isInteger(mtu) || mtu < IPV4_MIN_MTU) {
    return err({
      kind: "mtuTooSmall",
      message: `MTU ${mtu} is below the IPv4 minimum of ${IPV4_MIN_MTU}`,
      mtu,
      minimum: IPV4_MIN_MTU,
    });
  }
  const checked = Ipv4View.check(packet);
  if (!checked.ok) return malformed(formatWireError(checked.error));
  const v = checked.value;
  if (v.truncated) return malformed(`total length ${v.totalLength} exceeds the ${packet.length} bytes given`);
  const headerLength = v.headerLength;
  const options = parseIpv4Options(packet, IPV4_MIN_HEADER_LENGTH, headerLength);
  if (!options.ok) return malformed(formatWireError(options.error));
  const total = v.totalLength;
  if (total <= mtu) return ok([packet.slice(0, total)]);
  if (v.dontFragment) {
    return err({ kind: "needsFragmentation", message: `${total}-byte packet has DF set and the MTU is ${mtu}`, mtu });
  }
  const payloadLength = total - headerLength;
  const baseOffset = v.fragmentOffset;
  if (baseOffset + payloadLength > 0xffff) {
    return malformed(`fragment offset ${baseOffset} plus ${payloadLength} bytes runs past 65535`);
  }
  const laterOptions = copiedOptions(packet, IPV4_MIN_HEADER_LENGTH, headerLength);
  const laterHeaderLength = IPV4_MIN_HEADER_LENGTH + laterOptions.length;
  // Reserved and DF bits of the flags word stay as they are; MF and the offset are rewritten.
  const keptFlags = ((packet[6] as number) << 8) & 0xc000;
  const fragments: Uint8Array[] = [];
  let at = 0;
  while (at < payloadLength) {
    const first = at === 0;
    const h = first ? headerLength : laterHeaderLength;
    const remaining = payloadLength - at;
    const last = remaining <= mtu - h;
    // Every fragment but the last carries a multiple of 8 bytes (RFC 791 §3.2); mtu ≥ 68 and h ≤ 60 leave ≥ 8.
    const size = last ? remaining : (mtu - h) & ~7;
    const out = new Uint8Array(h + size);
    if (first) out.set(packet.subarray(0, headerLength), 0);
    else {
      out.set(packet.subarray(0, IPV4_MIN_HEADER_LENGTH), 0);
      out.set(laterOptions, IPV4_MIN_HEADER_LENGTH);
      out[0] = 0x40 | (h >>> 2);
    }
    writeU16(out, 2, h + size);
    const more = !last || v.moreFragments;
    writeU16(out, 6, keptFlags | (more ? 0x2000 : 0) | ((baseOffset + at) >>> 3));
    writeU16(out, 10, 0);
    writeU16(out, 10, internetChecksum(out, 0, h));
    out.set(packet.subarray(headerLength + at, headerLength + at + size), h);
    fragments.push(out);
    at += size;
  }
  return ok(fragments);
}

/**
 * Splits the IPv6 packet in `packet` (bytes past its payload length are ignored) into fragments of at
 * most `mtu` bytes, each with a Fragment header carrying `identification` (an unsigned 32-bit value
 * the caller chooses, RFC 8200 §4.5 and RFC 7739). A packet that fits is returned as one copy, without
 * a Fragment header (RFC 8021 deprecates atomic fragments). Throws RangeError for an identification
 * out of range (it comes from code, not from the wire).
 */
export function fragmentIpv6(
  packet: Uint8Array,
  mtu: number,
  identification: number,
): Result<Uint8Array[], FragmentError> {
  if (!Number.isInteger(identification) || identification < 0 || identification > 0xffffffff) {
    throw new RangeError(`ipv6 fragment identification ${identification} is not an unsigned 32-bit value`);
  }
  if (!Number.isInteger(mtu) || mtu < IPV6_MIN_MTU) {
    return err({
      kind: "mtuTooSmall",
      message: `MTU ${mtu} is below the IPv6 minimum of ${IPV6_MIN_MTU}`,
      mtu,
      minimum: IPV6_MIN_MTU,
    });
  }
  const checked = Ipv6View.check(packet);
  if (!checked.ok) return malformed(formatWireError(checked.error));
  const v = checked.value;
  if (v.jumbogram) return err({ kind: "jumbogram", message: "jumbograms cannot be fragmented (RFC 2675 §3)" });
  if (v.truncated) {
    return malformed(`payload length ${v.payloadLength} exceeds the ${packet.length - IPV6_HEADER_LENGTH} bytes given`);
  }
  const chain = v.extensions();
  if (!chain.ok) return malformed(formatWireError(chain.error));
  if (chain.value.fragment !== undefined) {
    return err({ kind: "alreadyFragmented", message: "the packet already carries a Fragment header" });
  }
  const total = IPV6_HEADER_LENGTH + v.payloadLength;
  if (total <= mtu) return ok([packet.slice(0, total)]);

  // The Unfragmentable Part ends after the last Routing header, else after a leading Hop-by-Hop header.
  const headers = chain.value.headers;
  let lastUnfragmentable = -1;
  headers.forEach((h, i) => {
    if (h.type === IpProtocol.Ipv6Route || (h.type === IpProtocol.HopByHop && i === 0)) lastUnfragmentable = i;
  });
  const boundary = headers[lastUnfragmentable];
  const unfragmentableLength = boundary === undefined ? IPV6_HEADER_LENGTH : boundary.offset + boundary.length;
  const nextHeaderAt = boundary === undefined ? 6 : boundary.offset;
  const fragmentableNext = packet[nextHeaderAt] as number;

  const perFragment = mtu - unfragmentableLength - IPV6_FRAGMENT_HEADER_LENGTH;
  const room = perFragment & ~7;
  if (room < 8) {
    return err({
      kind: "headersTooLong",
      message: `an Unfragmentable Part of ${unfragmentableLength} bytes leaves no room for data in a ${mtu}-byte fragment`,
    });
  }
  const chainEnd = chain.value.upperOffset + minimumUpperLayerHeader(chain.value.upperProtocol);
  if (chainEnd - unfragmentableLength > room) {
    return err({
      kind: "headersTooLong",
      message: `the header chain (${chainEnd} bytes) does not fit in the first fragment (RFC 7112 §5)`,
    });
  }
  const fragmentableLength = total - unfragmentableLength;
  const fragments: Uint8Array[] = [];
  let at = 0;
  while (at < fragmentableLength) {
    const remaining = fragmentableLength - at;
    const last = remaining <= perFragment;
    const size = last ? remaining : room;
    const dataStart = unfragmentableLength + IPV6_FRAGMENT_HEADER_LENGTH;
    const out = new Uint8Array(dataStart + size);
    out.set(packet.subarray(0, unfragmentableLength), 0);
    out[nextHeaderAt] = IpProtocol.Ipv6Frag;
    writeU16(out, 4, dataStart + size - IPV6_HEADER_LENGTH);
    emitIpv6Extension(
      { kind: "fragment", fragmentOffset: at, moreFragments: !last, identification },
      fragmentableNext,
      out,
      unfragmentableLength,
    );
    out.set(packet.subarray(unfragmentableLength + at, unfragmentableLength + at + size), dataStart);
    fragments.push(out);
    at += size;
  }
  return ok(fragments);
}
