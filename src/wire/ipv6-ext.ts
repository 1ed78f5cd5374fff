/**
 * IPv6 extension headers (RFC 8200 §4): the bounded chain walk, the decoded form of each header kind,
 * the TLV options of Hop-by-Hop and Destination Options headers, and emit.
 *
 * Walked headers and their lengths:
 * - Hop-by-Hop Options 0, Routing 43, Destination Options 60: (Hdr Ext Len + 1) × 8 bytes
 *   (RFC 8200 §4.3, §4.4, §4.6). Mobility 135, HIP 139 and Shim6 140 use the same uniform format
 *   (RFC 6564) and are walked the same way.
 * - Fragment 44: 8 bytes (RFC 8200 §4.5). In a fragment with a non-zero offset the bytes after the
 *   Fragment header continue an earlier fragment, so the walk stops there.
 * - Authentication Header 51: (Payload Len + 2) × 4 bytes (RFC 4302 §2.2).
 * - ESP 50 ends the chain (everything after is encrypted, RFC 4303); so does No Next Header 59
 *   (RFC 8200 §4.7). Both count as recognised upper-layer values.
 *
 * Unknown values (RFC 8200 §4): a Next Header value that is not an extension header walked here ends
 * the chain and is reported as the upper-layer protocol; `upperRecognised` is false when this library
 * does not know the number (ip-protocol.ts), for the experimental values 253/254, for reserved 255, and
 * for Hop-by-Hop (0) anywhere but right after the IPv6 header (RFC 8200 §4.3 restricts it to that
 * position). A receiver would answer those with ICMPv6 Parameter Problem code 1.
 *
 * Every walked header is at least 8 bytes and must fit before `end`, so a walk takes at most
 * (end − offset) / 8 steps: a chain longer than the packet is an error naming the header's length field
 * and its absolute offset, never a loop.
 */
import { ok, type Result } from "../base/result.ts";
import { type WireError, wireError } from "./error.ts";
import { IpProtocol, isKnownIpProtocol } from "./ip-protocol.ts";

/** One header of a walked chain: its type (the Next Header value that announced it), offset and length. */
export interface Ipv6ExtensionHeader {
  readonly type: number;
  readonly offset: number;
  readonly length: number;
}

export interface Ipv6FragmentInfo {
  readonly identification: number;
  /** In bytes (the 13-bit field × 8). */
  readonly fragmentOffset: number;
  readonly moreFragments: boolean;
  /** Absolute offset of the Fragment header. */
  readonly headerOffset: number;
}

export interface Ipv6ExtensionChain {
  readonly headers: readonly Ipv6ExtensionHeader[];
  /** The Next Header value that ended the chain: a transport protocol, 50, 59, or an unknown value. */
  readonly upperProtocol: number;
  /** Absolute offset where the upper-layer header (or, after a non-first fragment, fragment data) starts. */
  readonly upperOffset: number;
  /** False when `upperProtocol` is not a value this library recognises (see the module comment). */
  readonly upperRecognised: boolean;
  /** Present when the chain holds a Fragment header (the first one, if several). */
  readonly fragment?: Ipv6FragmentInfo;
}

/** What a node must do with an option it does not recognise: the two high bits of the type (RFC 8200 §4.2). */
export type Ipv6OptionAction =
  | "skip"
  | "discard"
  | "discardAndReport"
  /** Report only when the destination is not multicast. */
  | "discardAndReportUnlessMulticast";

/** Option types with a decoded form. */
export const Ipv6OptionType = {
  Pad1: 0x00,
  PadN: 0x01,
  /** RFC 2711. */
  RouterAlert: 0x05,
  /** RFC 2675. */
  JumboPayload: 0xc2,
} as const;

/**
 * An option inside a Hop-by-Hop or Destination Options header. Types without a decoded form (and
 * decoded types with a length that does not fit) are `other`, with the action and may-change bits of
 * their type spelled out; emit derives those from `type`.
 */
export type Ipv6Option =
  | { readonly kind: "pad1" }
  /** `length` is the option data length (0–255); emit writes zeros. */
  | { readonly kind: "padN"; readonly length: number }
  | { readonly kind: "routerAlert"; readonly value: number }
  | { readonly kind: "jumboPayload"; readonly length: number }
  | {
      readonly kind: "other";
      readonly type: number;
      readonly data: Uint8Array;
      readonly action: Ipv6OptionAction;
      /** Option data may change en route (third-highest bit of the type). */
      readonly mayChange: boolean;
    };

/**
 * A decoded extension header. The chain order is the array order; each header's Next Header field is
 * derived on emit (the following header's type, or the upper-layer protocol).
 */
export type Ipv6ExtensionRepr =
  | { readonly kind: "hopByHop"; readonly options: readonly Ipv6Option[] }
  | { readonly kind: "destinationOptions"; readonly options: readonly Ipv6Option[] }
  | {
      readonly kind: "routing";
      readonly routingType: number;
      readonly segmentsLeft: number;
      /** Type-specific data after the first 4 bytes. */
      readonly data: Uint8Array;
    }
  | {
      readonly kind: "fragment";
      /** In bytes; a multiple of 8. */
      readonly fragmentOffset: number;
      readonly moreFragments: boolean;
      readonly identification: number;
    }
  | {
      readonly kind: "authentication";
      readonly spi: number;
      readonly sequence: number;
      /** Integrity check value (with any padding). */
      readonly icv: Uint8Array;
    }
  /** Mobility (135), HIP (139), Shim6 (140): RFC 6564 uniform format, body kept as bytes. */
  | { readonly kind: "generic"; readonly type: number; readonly data: Uint8Array };

const NAMES: ReadonlyMap<number, string> = new Map([
  [IpProtocol.HopByHop, "hopByHop"],
  [IpProtocol.Ipv6Route, "routing"],
  [IpProtocol.Ipv6Frag, "fragment"],
  [IpProtocol.Ipv6Opts, "destinationOptions"],
  [IpProtocol.Ah, "authentication"],
  [IpProtocol.Mobility, "mobility"],
  [IpProtocol.Hip, "hip"],
  [IpProtocol.Shim6, "shim6"],
]);

/** True for the extension header types this walk steps over (0, 43, 44, 51, 60, 135, 139, 140). */
export function isIpv6ExtensionHeader(nextHeader: number): boolean {
  return NAMES.has(nextHeader);
}

/** True when `protocol`, ending a chain, is a value this library recognises (see the module comment). */
export function isRecognisedUpperLayer(protocol: number): boolean {
  return (
    isKnownIpProtocol(protocol) &&
    protocol !== IpProtocol.HopByHop &&
    protocol !== IpProtocol.Experiment1 &&
    protocol !== IpProtocol.Experiment2 &&
    protocol !== IpProtocol.Reserved
  );
}

/** The action for an unrecognised option of this type (RFC 8200 §4.2). */
export function ipv6OptionAction(type: number): Ipv6OptionAction {
  switch (type >>> 6) {
    case 0:
      return "skip";
    case 1:
      return "discard";
    case 2:
      return "discardAndReport";
    default:
      return "discardAndReportUnlessMulticast";
  }
}

/** True when the option's data may change en route (RFC 8200 §4.2). */
export function ipv6OptionMayChange(type: number): boolean {
  return (type & 0x20) !== 0;
}

/**
 * Walks the extension headers that start at bytes[offset] (right after the IPv6 header) announced by
 * `firstNextHeader`, up to `end` (normally the IPv6 payload end). See the module comment for the rules.
 */
export function walkIpv6Extensions(
  bytes: Uint8Array,
  offset: number,
  firstNextHeader: number,
  end = bytes.length,
): Result<Ipv6ExtensionChain, WireError> {
  const headers: Ipv6ExtensionHeader[] = [];
  let fragment: Ipv6FragmentInfo | undefined;
  let next = firstNextHeader;
  let at = offset;
  const limit = Math.min(end, bytes.length);
  for (;;) {
    const name = NAMES.get(next);
    const misplacedHopByHop = next === IpProtocol.HopByHop && headers.length > 0;
    if (name === undefined || misplacedHopByHop) break;
    if (at + 2 > limit) {
      return wireError(
        "ipv6",
        `${name}.nextHeader`,
        at,
        `extension header truncated (${Math.max(0, limit - at)} bytes left)`,
      );
    }
    let length: number;
    if (next === IpProtocol.Ipv6Frag) length = 8;
    else if (next === IpProtocol.Ah) length = ((bytes[at + 1] as number) + 2) * 4;
    else length = ((bytes[at + 1] as number) + 1) * 8;
    if (next === IpProtocol.Ah && length < 12) {
      return wireError("ipv6", `${name}.length`, at + 1, `authentication header length ${length} is below 12`);
    }
    if (at + length > limit) {
      return wireError(
        "ipv6",
        next === IpProtocol.Ipv6Frag ? name : `${name}.length`,
        next === IpProtocol.Ipv6Frag ? at : at + 1,
        `extension header of ${length} bytes runs past the packet (${limit - at} bytes left)`,
      );
    }
    headers.push({ type: next, offset: at, length });
    const following = bytes[at] as number;
    if (next === IpProtocol.Ipv6Frag) {
      const word = ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number);
      const info: Ipv6FragmentInfo = {
        identification: readU32(bytes, at + 4),
        fragmentOffset: word & 0xfff8,
        moreFragments: (word & 1) !== 0,
        headerOffset: at,
      };
      fragment ??= info;
      if (info.fragmentOffset !== 0) {
        next = following;
        at += length;
        break;
      }
    }
    next = following;
    at += length;
  }
  const terminal = next === IpProtocol.Esp || next === IpProtocol.Ipv6NoNext;
  const chain = {
    headers,
    upperProtocol: next,
    upperOffset: at,
    upperRecognised: terminal || isRecognisedUpperLayer(next),
  };
  return ok(fragment === undefined ? chain : { ...chain, fragment });
}

/**
 * Where the destination address of an upper-layer pseudo-header is (RFC 8200 §8.1): with a Routing header
 * whose Segments Left is not 0, the packet has not reached its final destination, and the pseudo-header holds
 * that final destination — the last address of a type 0 (RFC 8200 §4.4, deprecated) or type 2 (RFC 6275 §6.4)
 * header, Segment List[0] of a Segment Routing header (type 4, RFC 8754 §2: the list is in reverse order).
 * Returns the absolute offset of those 16 bytes; "current" when the IPv6 header's Destination Address applies
 * (no Routing header, or Segments Left 0); undefined when the final destination cannot be told (another routing
 * type, such as RPL's compressed addresses, or a header too short to hold an address).
 */
export function ipv6PseudoHeaderDestination(
  bytes: Uint8Array,
  headers: readonly Ipv6ExtensionHeader[],
): number | "current" | undefined {
  const routing = headers.find((h) => h.type === IpProtocol.Ipv6Route);
  if (routing === undefined) return "current";
  const at = routing.offset;
  const routingType = bytes[at + 2] as number;
  if ((bytes[at + 3] as number) === 0) return "current";
  const addresses = Math.floor((routing.length - 8) / 16);
  if (addresses === 0) return undefined;
  if (routingType === 0 || routingType === 2) return at + 8 + (addresses - 1) * 16;
  if (routingType === 4) return at + 8;
  return undefined;
}

function readU32(bytes: Uint8Array, at: number): number {
  return (
    (((bytes[at] as number) << 24) |
      ((bytes[at + 1] as number) << 16) |
      ((bytes[at + 2] as number) << 8) |
      (bytes[at + 3] as number)) >>>
    0
  );
}

/**
 * Decodes the TLV options in bytes[start, end) of a Hop-by-Hop or Destination Options header. `name`
 * prefixes error fields ("hopByHop.option.length"). An option running past the header is an error.
 */
export function parseIpv6Options(
  bytes: Uint8Array,
  start: number,
  end: number,
  name = "options",
): Result<Ipv6Option[], WireError> {
  const options: Ipv6Option[] = [];
  let at = start;
  while (at < end) {
    const type = bytes[at] as number;
    if (type === Ipv6OptionType.Pad1) {
      options.push({ kind: "pad1" });
      at++;
      continue;
    }
    if (at + 2 > end) return wireError("ipv6", `${name}.option.length`, at + 1, `option ${type} has no length byte`);
    const length = bytes[at + 1] as number;
    if (at + 2 + length > end) {
      return wireError("ipv6", `${name}.option.length`, at + 1, `option ${type} length ${length} runs past the header`);
    }
    const data = at + 2;
    if (type === Ipv6OptionType.PadN) options.push({ kind: "padN", length });
    else if (type === Ipv6OptionType.RouterAlert && length === 2) {
      options.push({ kind: "routerAlert", value: ((bytes[data] as number) << 8) | (bytes[data + 1] as number) });
    } else if (type === Ipv6OptionType.JumboPayload && length === 4) {
      options.push({ kind: "jumboPayload", length: readU32(bytes, data) });
    } else {
      options.push({
        kind: "other",
        type,
        data: bytes.slice(data, data + length),
        action: ipv6OptionAction(type),
        mayChange: ipv6OptionMayChange(type),
      });
    }
    at = data + length;
  }
  return ok(options);
}

/** Decodes one header found by walkIpv6Extensions. */
export function parseIpv6Extension(
  bytes: Uint8Array,
  header: Ipv6ExtensionHeader,
): Result<Ipv6ExtensionRepr, WireError> {
  const at = header.offset;
  const end = at + header.length;
  switch (header.type) {
    case IpProtocol.HopByHop:
    case IpProtocol.Ipv6Opts: {
      const hbh = header.type === IpProtocol.HopByHop;
      const options = parseIpv6Options(bytes, at + 2, end, hbh ? "hopByHop" : "destinationOptions");
      if (!options.ok) return options;
      return ok(
        hbh ? { kind: "hopByHop", options: options.value } : { kind: "destinationOptions", options: options.value },
      );
    }
    case IpProtocol.Ipv6Route:
      return ok({
        kind: "routing",
        routingType: bytes[at + 2] as number,
        segmentsLeft: bytes[at + 3] as number,
        data: bytes.slice(at + 4, end),
      });
    case IpProtocol.Ipv6Frag: {
      const word = ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number);
      return ok({
        kind: "fragment",
        fragmentOffset: word & 0xfff8,
        moreFragments: (word & 1) !== 0,
        identification: readU32(bytes, at + 4),
      });
    }
    case IpProtocol.Ah:
      return ok({
        kind: "authentication",
        spi: readU32(bytes, at + 4),
        sequence: readU32(bytes, at + 8),
        icv: bytes.slice(at + 12, end),
      });
    default:
      return ok({ kind: "generic", type: header.type, data: bytes.slice(at + 2, end) });
  }
}

/** The Next Header value that announces this extension. */
export function ipv6ExtensionType(ext: Ipv6ExtensionRepr): number {
  switch (ext.kind) {
    case "hopByHop":
      return IpProtocol.HopByHop;
    case "destinationOptions":
      return IpProtocol.Ipv6Opts;
    case "routing":
      return IpProtocol.Ipv6Route;
    case "fragment":
      return IpProtocol.Ipv6Frag;
    case "authentication":
      return IpProtocol.Ah;
    case "generic":
      return ext.type;
  }
}

function optionLength(option: Ipv6Option): number {
  switch (option.kind) {
    case "pad1":
      return 1;
    case "padN":
      return 2 + option.length;
    case "routerAlert":
      return 4;
    case "jumboPayload":
      return 6;
    case "other":
      return 2 + option.data.length;
  }
}

function optionsHeaderLength(options: readonly Ipv6Option[]): number {
  let length = 2;
  for (const option of options) length += optionLength(option);
  return (length + 7) & ~7;
}

/** Encoded length of one extension header (options headers padded to a multiple of 8). */
export function ipv6ExtensionLength(ext: Ipv6ExtensionRepr): number {
  switch (ext.kind) {
    case "hopByHop":
    case "destinationOptions":
      return optionsHeaderLength(ext.options);
    case "routing":
      return 4 + ext.data.length;
    case "fragment":
      return 8;
    case "authentication":
      return 12 + ext.icv.length;
    case "generic":
      return 2 + ext.data.length;
  }
}

export function ipv6ExtensionsLength(extensions: readonly Ipv6ExtensionRepr[]): number {
  let length = 0;
  for (const ext of extensions) length += ipv6ExtensionLength(ext);
  return length;
}

/**
 * Writes one extension header with the given Next Header value and returns its length. Options headers
 * whose options do not fill a multiple of 8 bytes are completed with Pad1/PadN. Throws RangeError for a
 * repr that cannot be encoded (a length that is not a multiple of 8 — of 4 for AH — or too large, or a
 * field out of range).
 */
export function emitIpv6Extension(ext: Ipv6ExtensionRepr, nextHeader: number, out: Uint8Array, offset: number): number {
  const length = ipv6ExtensionLength(ext);
  if (offset < 0 || offset + length > out.length) throw new RangeError("ipv6: output buffer too small");
  if (!isUint(nextHeader, 0xff)) throw new RangeError("ipv6: next header out of range");
  out[offset] = nextHeader;
  switch (ext.kind) {
    case "hopByHop":
    case "destinationOptions": {
      writeLengthIn8(out, offset, length);
      let at = offset + 2;
      for (const option of ext.options) at = writeOption(option, out, at);
      const gap = offset + length - at;
      if (gap === 1) out[at] = Ipv6OptionType.Pad1;
      else if (gap > 1) {
        out[at] = Ipv6OptionType.PadN;
        out[at + 1] = gap - 2;
        out.fill(0, at + 2, offset + length);
      }
      return length;
    }
    case "routing":
      if (!isUint(ext.routingType, 0xff) || !isUint(ext.segmentsLeft, 0xff)) {
        throw new RangeError("ipv6: routing type or segments left out of range");
      }
      writeLengthIn8(out, offset, length);
      out[offset + 2] = ext.routingType;
      out[offset + 3] = ext.segmentsLeft;
      out.set(ext.data, offset + 4);
      return length;
    case "fragment": {
      if (!isUint(ext.fragmentOffset, 0xfff8) || ext.fragmentOffset % 8 !== 0) {
        throw new RangeError(`ipv6: fragment offset ${ext.fragmentOffset} is not a multiple of 8 below 65536`);
      }
      if (!isUint(ext.identification, 0xffffffff)) throw new RangeError("ipv6: fragment identification out of range");
      const word = ext.fragmentOffset | (ext.moreFragments ? 1 : 0);
      out[offset + 1] = 0;
      out[offset + 2] = word >>> 8;
      out[offset + 3] = word & 0xff;
      writeU32(out, offset + 4, ext.identification);
      return length;
    }
    case "authentication": {
      if (length % 4 !== 0 || length > (0xff + 2) * 4) throw new RangeError(`ipv6: AH length ${length} not encodable`);
      if (!isUint(ext.spi, 0xffffffff) || !isUint(ext.sequence, 0xffffffff)) {
        throw new RangeError("ipv6: AH SPI or sequence out of range");
      }
      out[offset + 1] = length / 4 - 2;
      out[offset + 2] = 0;
      out[offset + 3] = 0;
      writeU32(out, offset + 4, ext.spi);
      writeU32(out, offset + 8, ext.sequence);
      out.set(ext.icv, offset + 12);
      return length;
    }
    case "generic":
      // Only the RFC 6564 uniform-format types are generic; the others have their own kinds.
      if (ext.type !== IpProtocol.Mobility && ext.type !== IpProtocol.Hip && ext.type !== IpProtocol.Shim6) {
        throw new RangeError(`ipv6: ${ext.type} is not a uniform-format extension header`);
      }
      writeLengthIn8(out, offset, length);
      out.set(ext.data, offset + 2);
      return length;
  }
}

/**
 * Writes the whole chain, each header's Next Header pointing at the following one and the last at
 * `upperProtocol`; returns the bytes written.
 */
export function emitIpv6Extensions(
  extensions: readonly Ipv6ExtensionRepr[],
  upperProtocol: number,
  out: Uint8Array,
  offset: number,
): number {
  let at = offset;
  for (let i = 0; i < extensions.length; i++) {
    const following = extensions[i + 1];
    const next = following === undefined ? upperProtocol : ipv6ExtensionType(following);
    at += emitIpv6Extension(extensions[i] as Ipv6ExtensionRepr, next, out, at);
  }
  return at - offset;
}

function writeLengthIn8(out: Uint8Array, offset: number, length: number): void {
  if (length % 8 !== 0 || length > 256 * 8) throw new RangeError(`ipv6: extension length ${length} not encodable`);
  out[offset + 1] = length / 8 - 1;
}

function writeOption(option: Ipv6Option, out: Uint8Array, at: number): number {
  switch (option.kind) {
    case "pad1":
      out[at] = Ipv6OptionType.Pad1;
      return at + 1;
    case "padN":
      if (!isUint(option.length, 0xff)) throw new RangeError("ipv6: PadN length out of range");
      out[at] = Ipv6OptionType.PadN;
      out[at + 1] = option.length;
      out.fill(0, at + 2, at + 2 + option.length);
      return at + 2 + option.length;
    case "routerAlert":
      if (!isUint(option.value, 0xffff)) throw new RangeError("ipv6: router alert value out of range");
      out[at] = Ipv6OptionType.RouterAlert;
      out[at + 1] = 2;
      out[at + 2] = option.value >>> 8;
      out[at + 3] = option.value & 0xff;
      return at + 4;
    case "jumboPayload":
      if (!isUint(option.length, 0xffffffff)) throw new RangeError("ipv6: jumbo payload length out of range");
      out[at] = Ipv6OptionType.JumboPayload;
      out[at + 1] = 4;
      writeU32(out, at + 2, option.length);
      return at + 6;
    case "other":
      if (!isUint(option.type, 0xff) || option.type === 0 || option.data.length > 0xff) {
        throw new RangeError("ipv6: option type or length out of range");
      }
      out[at] = option.type;
      out[at + 1] = option.data.length;
      out.set(option.data, at + 2);
      return at + 2 + option.data.length;
  }
}

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

function isUint(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}
