/**
 * ICMP for IPv6 (RFC 4443) and Neighbor Discovery (RFC 4861): view, repr, emit and checksum (over the
 * IPv6 pseudo-header, RFC 4443 §2.3). Interpreted: echo request/reply; the error messages destination
 * unreachable, packet too big (MTU), time exceeded and parameter problem (pointer), whose quoted
 * packet is parsed into `quoted` (garbage there is an error value, never a failed parse); router
 * solicitation/advertisement, neighbor solicitation/advertisement and redirect with their options
 * (source/target link-layer address, prefix information, MTU; any other option kept as
 * `{ kind, data }`). Every other type is kept generic (`kind: "other"`).
 *
 * Reserved bits are kept (as optional fields present only when nonzero) so parse → emit → parse is
 * identical. Validity rules that belong to the receiver (hop limit 255, code 0, RFC 4861 §6.1) are
 * not checked here; an option of length 0 or running past the message is an error (RFC 4861 §4.6).
 */
import { Ipv6Address } from "../base/ip.ts";
import { ok, type Result } from "../base/result.ts";
import type { ChecksumMode } from "./checksum.ts";
import { type WireError, wireError } from "./error.ts";
import { type Ipv6Repr, Ipv6View, parseIpv6 } from "./ipv6.ts";
import {
  fillTransportChecksum,
  IP_PROTOCOL_ICMPV6,
  type Ipv6PseudoHeaderAddresses,
  verifyTransportChecksum,
} from "./transport-checksum.ts";

const TYPE = 0;
const CODE = 1;
const CHECKSUM = 2;
const REST = 4;
export const ICMPV6_HEADER_LENGTH = 8;

export const ICMPV6_DESTINATION_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAMETER_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_ROUTER_SOLICITATION = 133;
export const ICMPV6_ROUTER_ADVERTISEMENT = 134;
export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
export const ICMPV6_REDIRECT = 137;

/** Destination unreachable codes (RFC 4443 §3.1, RFC 6550 for 7, RFC 8554 for 8 in IANA's registry). */
export const Icmpv6UnreachableCode = {
  noRoute: 0,
  administrativelyProhibited: 1,
  beyondScopeOfSourceAddress: 2,
  addressUnreachable: 3,
  portUnreachable: 4,
  sourceAddressFailedPolicy: 5,
  rejectRouteToDestination: 6,
  errorInSourceRoutingHeader: 7,
  headersTooLong: 8,
} as const;

/** Time exceeded codes (RFC 4443 §3.3). */
export const Icmpv6TimeExceededCode = { hopLimitExceeded: 0, fragmentReassemblyTimeExceeded: 1 } as const;

/** Parameter problem codes (RFC 4443 §3.4, RFC 7112 for 3). */
export const Icmpv6ParameterProblemCode = {
  erroneousHeaderField: 0,
  unrecognizedNextHeader: 1,
  unrecognizedOption: 2,
  incompleteHeaderChain: 3,
} as const;

function u16(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 8) | (b[i + 1] as number);
}

function u32(b: Uint8Array, i: number): number {
  return (
    (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) >>> 0
  );
}

function put16(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
}

function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 24) & 0xff;
  b[i + 1] = (v >>> 16) & 0xff;
  b[i + 2] = (v >>> 8) & 0xff;
  b[i + 3] = v & 0xff;
}

/** A checked ICMPv6 message: the 8-byte header is present before `end` (the end of the IPv6 payload). */
export class Icmpv6View {
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly end: number;

  private constructor(bytes: Uint8Array, offset: number, end: number) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  static check(bytes: Uint8Array, offset = 0, end: number = bytes.length): Result<Icmpv6View, WireError> {
    const limit = Math.min(end, bytes.length);
    if (offset < 0 || limit - offset < ICMPV6_HEADER_LENGTH) {
      return wireError("icmpv6", "header", offset, "header truncated");
    }
    return ok(new Icmpv6View(bytes, offset, limit));
  }

  get type(): number {
    return this.bytes[this.offset + TYPE] as number;
  }
  get code(): number {
    return this.bytes[this.offset + CODE] as number;
  }
  get checksum(): number {
    return u16(this.bytes, this.offset + CHECKSUM);
  }
  /** Bytes 4–7 as an unsigned 32-bit number. */
  get restOfHeader(): number {
    return u32(this.bytes, this.offset + REST);
  }
  /** Echo identifier (bytes 4–5). */
  get identifier(): number {
    return u16(this.bytes, this.offset + REST);
  }
  /** Echo sequence number (bytes 6–7). */
  get sequence(): number {
    return u16(this.bytes, this.offset + REST + 2);
  }
  /** Packet-too-big MTU (bytes 4–7). */
  get mtu(): number {
    return this.restOfHeader;
  }
  /** Parameter-problem pointer (bytes 4–7). */
  get pointer(): number {
    return this.restOfHeader;
  }
  get payloadOffset(): number {
    return this.offset + ICMPV6_HEADER_LENGTH;
  }
  get payloadEnd(): number {
    return this.end;
  }
  /** True for error messages (types 0–127, RFC 4443 §2.1). */
  get isError(): boolean {
    return this.type < 128;
  }
}

// ---------------------------------------------------------------------------------------------------
// The packet quoted by an error message

/**
 * What an ICMPv6 error quotes: the invoking packet's IPv6 header with its extension chain and, when its
 * first bytes are there and it is not a later fragment, the transport ports (TCP, UDP, DCCP, SCTP,
 * UDP-Lite) or the quoted ICMPv6 message's type and code: the "embedded" values WFP's ICMP error
 * layers classify on (FWPM_LAYER_INBOUND_ICMP_ERROR_V6).
 */
export interface QuotedIpv6 {
  /** The quoted header; `ip.upperProtocol` is the protocol after the extension chain. */
  readonly ip: Ipv6Repr;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
}

/** Protocols whose header starts with 16-bit source and destination ports. */
function hasPorts(protocol: number): boolean {
  return protocol === 6 || protocol === 17 || protocol === 33 || protocol === 132 || protocol === 136;
}

/**
 * Parses the packet quoted in bytes[start, end) by an ICMPv6 error. The quote is usually cut short
 * (RFC 4443 §2.4 (c): as much as fits in the minimum MTU); the header, a version other than 6, or an
 * extension chain that does not fit in the quote is an error value.
 */
export function parseQuotedIpv6(bytes: Uint8Array, start: number, end: number): Result<QuotedIpv6, WireError> {
  const ip = parseIpv6(bytes, start, end);
  if (!ip.ok) return ip;
  const checked = Ipv6View.check(bytes, start, end);
  if (!checked.ok) return checked;
  const chain = checked.value.extensions();
  if (!chain.ok) return chain;
  const base = { ip: ip.value };
  const { upperOffset: at, upperProtocol, fragment } = chain.value;
  if (fragment !== undefined && fragment.fragmentOffset !== 0) return ok(base);
  if (hasPorts(upperProtocol) && at + 4 <= end) {
    return ok({ ...base, srcPort: u16(bytes, at), dstPort: u16(bytes, at + 2) });
  }
  if (upperProtocol === IP_PROTOCOL_ICMPV6 && at + 2 <= end) {
    return ok({ ...base, icmpType: bytes[at] as number, icmpCode: bytes[at + 1] as number });
  }
  return ok(base);
}

// ---------------------------------------------------------------------------------------------------
// Neighbor Discovery options (RFC 4861 §4.6)

const OPT_SOURCE_LL = 1;
const OPT_TARGET_LL = 2;
const OPT_PREFIX_INFO = 3;
const OPT_MTU = 5;

/** An option of a type this module does not interpret: `data` is everything after type and length. */
export interface NdUnknownOption {
  readonly kind: number;
  readonly data: Uint8Array;
}

export interface NdLinkLayerAddressOption {
  readonly kind: "sourceLinkLayerAddress" | "targetLinkLayerAddress";
  /**
   * The option's address bytes as lower-case colon-separated hex ("00:60:97:07:69:ea" on Ethernet);
   * for other links every byte up to the option's 8-byte boundary is included.
   */
  readonly address: string;
}

export interface NdPrefixInformationOption {
  readonly kind: "prefixInformation";
  readonly prefixLength: number;
  /** L flag: the prefix is on-link. */
  readonly onLink: boolean;
  /** A flag: usable for stateless address autoconfiguration (RFC 4862). */
  readonly autonomous: boolean;
  /** The other six flag bits (e.g. R of RFC 6275), present only when nonzero. */
  readonly otherFlags?: number;
  /** Seconds; 0xffffffff is infinity. */
  readonly validLifetime: number;
  readonly preferredLifetime: number;
  /** Reserved2, present only when nonzero. */
  readonly reserved?: number;
  readonly prefix: Ipv6Address;
}

export interface NdMtuOption {
  readonly kind: "mtu";
  readonly mtu: number;
  /** Reserved 16 bits, present only when nonzero. */
  readonly reserved?: number;
}

export type NdOption = NdLinkLayerAddressOption | NdPrefixInformationOption | NdMtuOption | NdUnknownOption;

function hexColon(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) {
    if (i > start) s += ":";
    s += (bytes[i] as number).toString(16).padStart(2, "0");
  }
  return s;
}

/** Parses "aa:bb:..." back into bytes; undefined when the text is not colon-separated hex bytes. */
function parseHexColon(text: string): Uint8Array | undefined {
  if (text === "") return new Uint8Array(0);
  const parts = text.split(":");
  const out = new Uint8Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (!/^[0-9a-fA-F]{2}$/.test(p)) return undefined;
    out[i] = Number.parseInt(p, 16);
  }
  return out;
}

/** Parses the ND options in bytes[start, end). */
export function parseNdOptions(bytes: Uint8Array, start: number, end: number): Result<NdOption[], WireError> {
  const options: NdOption[] = [];
  let i = start;
  while (i < end) {
    if (i + 2 > end) return wireError("icmpv6", "ndOption.length", i, "option header truncated");
    const type = bytes[i] as number;
    const units = bytes[i + 1] as number;
    if (units === 0) return wireError("icmpv6", "ndOption.length", i + 1, `option type ${type} has length 0`);
    const length = units * 8;
    if (i + length > end) {
      return wireError(
        "icmpv6",
        "ndOption.length",
        i + 1,
        `option type ${type} of ${length} bytes runs past the message`,
      );
    }
    switch (type) {
      case OPT_SOURCE_LL:
      case OPT_TARGET_LL:
        options.push({
          kind: type === OPT_SOURCE_LL ? "sourceLinkLayerAddress" : "targetLinkLayerAddress",
          address: hexColon(bytes, i + 2, i + length),
        });
        break;
      case OPT_PREFIX_INFO: {
        if (units !== 4) {
          return wireError(
            "icmpv6",
            "ndOption.length",
            i + 1,
            `prefix information option has length ${units}, expected 4`,
          );
        }
        const flags = bytes[i + 3] as number;
        const reserved = u32(bytes, i + 12);
        const base: NdPrefixInformationOption = {
          kind: "prefixInformation",
          prefixLength: bytes[i + 2] as number,
          onLink: (flags & 0x80) !== 0,
          autonomous: (flags & 0x40) !== 0,
          validLifetime: u32(bytes, i + 4),
          preferredLifetime: u32(bytes, i + 8),
          prefix: Ipv6Address.fromBytes(bytes, i + 16),
        };
        const withFlags = (flags & 0x3f) === 0 ? base : { ...base, otherFlags: flags & 0x3f };
        options.push(reserved === 0 ? withFlags : { ...withFlags, reserved });
        break;
      }
      case OPT_MTU: {
        if (units !== 1)
          return wireError("icmpv6", "ndOption.length", i + 1, `MTU option has length ${units}, expected 1`);
        const reserved = u16(bytes, i + 2);
        const mtu = u32(bytes, i + 4);
        options.push(reserved === 0 ? { kind: "mtu", mtu } : { kind: "mtu", mtu, reserved });
        break;
      }
      default:
        options.push({ kind: type, data: bytes.subarray(i + 2, i + length) });
    }
    i += length;
  }
  return ok(options);
}

/** Encoded size of one option (a multiple of 8), or throws RangeError for a malformed address text. */
function ndOptionLength(o: NdOption): number {
  switch (o.kind) {
    case "sourceLinkLayerAddress":
    case "targetLinkLayerAddress":
      return (2 + linkLayerBytes(o.address).length + 7) & ~7;
    case "prefixInformation":
      return 32;
    case "mtu":
      return 8;
    default:
      return (2 + o.data.length + 7) & ~7;
  }
}

function linkLayerBytes(address: string): Uint8Array {
  const bytes = parseHexColon(address);
  if (bytes === undefined)
    throw new RangeError(`icmpv6: link-layer address ${JSON.stringify(address)} is not hex bytes`);
  return bytes;
}

/** Encoded size of the options. */
export function ndOptionsLength(options: readonly NdOption[]): number {
  let n = 0;
  for (const o of options) n += ndOptionLength(o);
  return n;
}

/** Writes the options at out[offset...] (each zero-padded to 8 bytes); returns bytes written. */
export function emitNdOptions(options: readonly NdOption[], out: Uint8Array, offset: number): number {
  let i = offset;
  for (const o of options) {
    const length = ndOptionLength(o);
    if (length > 255 * 8) throw new RangeError(`icmpv6: option of ${length} bytes is too long`);
    out.fill(0, i, i + length);
    out[i + 1] = length / 8;
    switch (o.kind) {
      case "sourceLinkLayerAddress":
      case "targetLinkLayerAddress":
        out[i] = o.kind === "sourceLinkLayerAddress" ? OPT_SOURCE_LL : OPT_TARGET_LL;
        out.set(linkLayerBytes(o.address), i + 2);
        break;
      case "prefixInformation":
        out[i] = OPT_PREFIX_INFO;
        out[i + 2] = o.prefixLength;
        out[i + 3] = (o.onLink ? 0x80 : 0) | (o.autonomous ? 0x40 : 0) | ((o.otherFlags ?? 0) & 0x3f);
        put32(out, i + 4, o.validLifetime);
        put32(out, i + 8, o.preferredLifetime);
        put32(out, i + 12, o.reserved ?? 0);
        o.prefix.writeTo(out, i + 16);
        break;
      case "mtu":
        out[i] = OPT_MTU;
        put16(out, i + 2, o.reserved ?? 0);
        put32(out, i + 4, o.mtu);
        break;
      default:
        out[i] = o.kind;
        out.set(o.data, i + 2);
    }
    i += length;
  }
  return i - offset;
}

// ---------------------------------------------------------------------------------------------------
// Reprs

interface Icmpv6Common {
  readonly code: number;
  /** The checksum as read (written by emit in "keep" mode). */
  readonly checksum: number;
}

export interface Icmpv6EchoRequest extends Icmpv6Common {
  readonly kind: "echoRequest";
  readonly type: 128;
  readonly identifier: number;
  readonly sequence: number;
  readonly data: Uint8Array;
}

export interface Icmpv6EchoReply extends Icmpv6Common {
  readonly kind: "echoReply";
  readonly type: 129;
  readonly identifier: number;
  readonly sequence: number;
  readonly data: Uint8Array;
}

interface Icmpv6ErrorCommon extends Icmpv6Common {
  /** The quoted packet (as much as fits), zero-copy when parsed; this is what emit writes. */
  readonly data: Uint8Array;
  /** The quoted IPv6 header and what follows it, or why it could not be read. */
  readonly quoted: Result<QuotedIpv6, WireError>;
}

export interface Icmpv6DestinationUnreachable extends Icmpv6ErrorCommon {
  readonly kind: "destinationUnreachable";
  readonly type: 1;
  /** Bytes 4–7 (unused; RFC 4884 puts a length in byte 4), present only when nonzero. */
  readonly unused?: number;
}

export interface Icmpv6PacketTooBig extends Icmpv6ErrorCommon {
  readonly kind: "packetTooBig";
  readonly type: 2;
  readonly mtu: number;
}

export interface Icmpv6TimeExceeded extends Icmpv6ErrorCommon {
  readonly kind: "timeExceeded";
  readonly type: 3;
  /** Bytes 4–7 (unused), present only when nonzero. */
  readonly unused?: number;
}

export interface Icmpv6ParameterProblem extends Icmpv6ErrorCommon {
  readonly kind: "parameterProblem";
  readonly type: 4;
  /** Byte offset of the problem within the quoted packet. */
  readonly pointer: number;
}

export interface Icmpv6RouterSolicitation extends Icmpv6Common {
  readonly kind: "routerSolicitation";
  readonly type: 133;
  /** Bytes 4–7, present only when nonzero. */
  readonly reserved?: number;
  readonly options: readonly NdOption[];
}

export interface Icmpv6RouterAdvertisement extends Icmpv6Common {
  readonly kind: "routerAdvertisement";
  readonly type: 134;
  /** 0: unspecified. */
  readonly curHopLimit: number;
  /** M flag: addresses via DHCPv6. */
  readonly managed: boolean;
  /** O flag: other configuration via DHCPv6. */
  readonly otherConfig: boolean;
  /** The other six bits of the flags byte (H, Prf, Proxy, ...), present only when nonzero. */
  readonly otherFlags?: number;
  /** Seconds; 0: not a default router. */
  readonly routerLifetime: number;
  /** Milliseconds; 0: unspecified. */
  readonly reachableTime: number;
  /** Milliseconds; 0: unspecified. */
  readonly retransTimer: number;
  readonly options: readonly NdOption[];
}

export interface Icmpv6NeighborSolicitation extends Icmpv6Common {
  readonly kind: "neighborSolicitation";
  readonly type: 135;
  /** Bytes 4–7, present only when nonzero. */
  readonly reserved?: number;
  readonly target: Ipv6Address;
  readonly options: readonly NdOption[];
}

export interface Icmpv6NeighborAdvertisement extends Icmpv6Common {
  readonly kind: "neighborAdvertisement";
  readonly type: 136;
  /** R flag: the sender is a router. */
  readonly router: boolean;
  /** S flag: sent in response to a solicitation. */
  readonly solicited: boolean;
  /** O flag: override an existing cache entry. */
  readonly override: boolean;
  /** The 29 reserved bits, present only when nonzero. */
  readonly reserved?: number;
  readonly target: Ipv6Address;
  readonly options: readonly NdOption[];
}

export interface Icmpv6Redirect extends Icmpv6Common {
  readonly kind: "redirect";
  readonly type: 137;
  /** Bytes 4–7, present only when nonzero. */
  readonly reserved?: number;
  /** The better first hop. */
  readonly target: Ipv6Address;
  /** The destination being redirected. */
  readonly destination: Ipv6Address;
  readonly options: readonly NdOption[];
}

export interface Icmpv6Other extends Icmpv6Common {
  readonly kind: "other";
  readonly type: number;
  /** Bytes 4–7 as an unsigned 32-bit number. */
  readonly rest: number;
  readonly data: Uint8Array;
}

export type Icmpv6Repr =
  | Icmpv6EchoRequest
  | Icmpv6EchoReply
  | Icmpv6DestinationUnreachable
  | Icmpv6PacketTooBig
  | Icmpv6TimeExceeded
  | Icmpv6ParameterProblem
  | Icmpv6RouterSolicitation
  | Icmpv6RouterAdvertisement
  | Icmpv6NeighborSolicitation
  | Icmpv6NeighborAdvertisement
  | Icmpv6Redirect
  | Icmpv6Other;

type WithoutQuoted<T> = T extends unknown ? Omit<T, "quoted"> : never;
/** What emit needs: a repr, with or without its parsed `quoted` (emit writes `data`). */
export type Icmpv6EmitRepr = WithoutQuoted<Icmpv6Repr>;

/** Fixed part (bytes after the 8-byte header, before options) of each ND message. */
function ndFixedLength(type: number): number {
  switch (type) {
    case ICMPV6_ROUTER_ADVERTISEMENT:
      return 8;
    case ICMPV6_NEIGHBOR_SOLICITATION:
    case ICMPV6_NEIGHBOR_ADVERTISEMENT:
      return 16;
    case ICMPV6_REDIRECT:
      return 32;
    default:
      return 0;
  }
}

/**
 * Parses an ICMPv6 message occupying bytes[offset, end). Errors: the 8-byte header missing, an ND
 * message shorter than its fixed part, or a malformed ND option. A garbage quote in an error message is
 * reported inside `quoted`.
 */
export function parseIcmpv6(bytes: Uint8Array, offset = 0, end: number = bytes.length): Result<Icmpv6Repr, WireError> {
  const checked = Icmpv6View.check(bytes, offset, end);
  if (!checked.ok) return checked;
  return icmpv6ReprFromView(checked.value);
}

export function icmpv6ReprFromView(v: Icmpv6View): Result<Icmpv6Repr, WireError> {
  const b = v.bytes;
  const o = v.offset;
  const type = v.type;
  const code = v.code;
  const checksum = v.checksum;
  const rest = v.restOfHeader;
  const body = v.payloadOffset;
  const data = b.subarray(body, v.end);
  switch (type) {
    case ICMPV6_ECHO_REQUEST:
      return ok({ kind: "echoRequest", type, code, checksum, identifier: v.identifier, sequence: v.sequence, data });
    case ICMPV6_ECHO_REPLY:
      return ok({ kind: "echoReply", type, code, checksum, identifier: v.identifier, sequence: v.sequence, data });
    case ICMPV6_DESTINATION_UNREACHABLE: {
      const base = {
        kind: "destinationUnreachable",
        type,
        code,
        checksum,
        data,
        quoted: parseQuotedIpv6(b, body, v.end),
      } as const;
      return ok(rest === 0 ? base : { ...base, unused: rest });
    }
    case ICMPV6_PACKET_TOO_BIG:
      return ok({
        kind: "packetTooBig",
        type,
        code,
        checksum,
        mtu: rest,
        data,
        quoted: parseQuotedIpv6(b, body, v.end),
      });
    case ICMPV6_TIME_EXCEEDED: {
      const base = {
        kind: "timeExceeded",
        type,
        code,
        checksum,
        data,
        quoted: parseQuotedIpv6(b, body, v.end),
      } as const;
      return ok(rest === 0 ? base : { ...base, unused: rest });
    }
    case ICMPV6_PARAMETER_PROBLEM:
      return ok({
        kind: "parameterProblem",
        type,
        code,
        checksum,
        pointer: rest,
        data,
        quoted: parseQuotedIpv6(b, body, v.end),
      });
    case ICMPV6_ROUTER_SOLICITATION:
    case ICMPV6_ROUTER_ADVERTISEMENT:
    case ICMPV6_NEIGHBOR_SOLICITATION:
    case ICMPV6_NEIGHBOR_ADVERTISEMENT:
    case ICMPV6_REDIRECT: {
      const fixedEnd = body + ndFixedLength(type);
      if (fixedEnd > v.end) return wireError("icmpv6", "ndMessage", o, "message truncated");
      const parsed = parseNdOptions(b, fixedEnd, v.end);
      if (!parsed.ok) return parsed;
      return ok(ndRepr(v, parsed.value));
    }
    default:
      return ok({ kind: "other", type, code, checksum, rest, data });
  }
}

function ndRepr(v: Icmpv6View, options: NdOption[]): Icmpv6Repr {
  const b = v.bytes;
  const body = v.payloadOffset;
  const code = v.code;
  const checksum = v.checksum;
  const rest = v.restOfHeader;
  switch (v.type) {
    case ICMPV6_ROUTER_SOLICITATION: {
      const base = { kind: "routerSolicitation", type: 133, code, checksum, options } as const;
      return rest === 0 ? base : { ...base, reserved: rest };
    }
    case ICMPV6_ROUTER_ADVERTISEMENT: {
      const flags = b[v.offset + 5] as number;
      const base = {
        kind: "routerAdvertisement",
        type: 134,
        code,
        checksum,
        curHopLimit: b[v.offset + 4] as number,
        managed: (flags & 0x80) !== 0,
        otherConfig: (flags & 0x40) !== 0,
        routerLifetime: u16(b, v.offset + 6),
        reachableTime: u32(b, body),
        retransTimer: u32(b, body + 4),
        options,
      } as const;
      return (flags & 0x3f) === 0 ? base : { ...base, otherFlags: flags & 0x3f };
    }
    case ICMPV6_NEIGHBOR_SOLICITATION: {
      const base = {
        kind: "neighborSolicitation",
        type: 135,
        code,
        checksum,
        target: Ipv6Address.fromBytes(b, body),
        options,
      } as const;
      return rest === 0 ? base : { ...base, reserved: rest };
    }
    case ICMPV6_NEIGHBOR_ADVERTISEMENT: {
      const reserved = rest & 0x1fffffff;
      const base = {
        kind: "neighborAdvertisement",
        type: 136,
        code,
        checksum,
        router: (rest & 0x80000000) !== 0,
        solicited: (rest & 0x40000000) !== 0,
        override: (rest & 0x20000000) !== 0,
        target: Ipv6Address.fromBytes(b, body),
        options,
      } as const;
      return reserved === 0 ? base : { ...base, reserved };
    }
    default: {
      const base = {
        kind: "redirect",
        type: 137,
        code,
        checksum,
        target: Ipv6Address.fromBytes(b, body),
        destination: Ipv6Address.fromBytes(b, body + 16),
        options,
      } as const;
      return rest === 0 ? base : { ...base, reserved: rest };
    }
  }
}

/** Length of the message `emitIcmpv6` writes. */
export function icmpv6Length(repr: Icmpv6EmitRepr): number {
  switch (repr.kind) {
    case "routerSolicitation":
    case "routerAdvertisement":
    case "neighborSolicitation":
    case "neighborAdvertisement":
    case "redirect":
      return ICMPV6_HEADER_LENGTH + ndFixedLength(repr.type) + ndOptionsLength(repr.options);
    default:
      return ICMPV6_HEADER_LENGTH + repr.data.length;
  }
}

/**
 * Writes the whole message at out[offset...] and returns its length. "compute" (the default when
 * `addresses` is given) and "wrong" need the IPv6 pseudo-header addresses; "keep" writes `repr.checksum`.
 * Throws RangeError when `out` is too small or a repr field cannot be encoded (a caller's bug).
 */
export function emitIcmpv6(
  repr: Icmpv6EmitRepr,
  out: Uint8Array,
  offset: number,
  addresses?: Ipv6PseudoHeaderAddresses,
  mode: ChecksumMode = addresses === undefined ? "keep" : "compute",
): number {
  const length = icmpv6Length(repr);
  if (offset < 0 || offset + length > out.length) {
    throw new RangeError(`icmpv6: buffer of ${out.length} bytes cannot hold ${offset + length}`);
  }
  const body = offset + ICMPV6_HEADER_LENGTH;
  out[offset + TYPE] = repr.type;
  out[offset + CODE] = repr.code;
  put16(out, offset + CHECKSUM, repr.checksum);
  switch (repr.kind) {
    case "echoRequest":
    case "echoReply":
      put16(out, offset + REST, repr.identifier);
      put16(out, offset + REST + 2, repr.sequence);
      out.set(repr.data, body);
      break;
    case "destinationUnreachable":
    case "timeExceeded":
      put32(out, offset + REST, repr.unused ?? 0);
      out.set(repr.data, body);
      break;
    case "packetTooBig":
      put32(out, offset + REST, repr.mtu);
      out.set(repr.data, body);
      break;
    case "parameterProblem":
      put32(out, offset + REST, repr.pointer);
      out.set(repr.data, body);
      break;
    case "other":
      put32(out, offset + REST, repr.rest);
      out.set(repr.data, body);
      break;
    case "routerSolicitation":
      put32(out, offset + REST, repr.reserved ?? 0);
      emitNdOptions(repr.options, out, body);
      break;
    case "routerAdvertisement":
      out[offset + 4] = repr.curHopLimit;
      out[offset + 5] = (repr.managed ? 0x80 : 0) | (repr.otherConfig ? 0x40 : 0) | ((repr.otherFlags ?? 0) & 0x3f);
      put16(out, offset + 6, repr.routerLifetime);
      put32(out, body, repr.reachableTime);
      put32(out, body + 4, repr.retransTimer);
      emitNdOptions(repr.options, out, body + 8);
      break;
    case "neighborSolicitation":
      put32(out, offset + REST, repr.reserved ?? 0);
      repr.target.writeTo(out, body);
      emitNdOptions(repr.options, out, body + 16);
      break;
    case "neighborAdvertisement": {
      const flags =
        (repr.router ? 0x80000000 : 0) | (repr.solicited ? 0x40000000 : 0) | (repr.override ? 0x20000000 : 0);
      put32(out, offset + REST, (flags | ((repr.reserved ?? 0) & 0x1fffffff)) >>> 0);
      repr.target.writeTo(out, body);
      emitNdOptions(repr.options, out, body + 16);
      break;
    }
    case "redirect":
      put32(out, offset + REST, repr.reserved ?? 0);
      repr.target.writeTo(out, body);
      repr.destination.writeTo(out, body + 16);
      emitNdOptions(repr.options, out, body + 32);
      break;
  }
  if (mode !== "keep") {
    if (addresses === undefined) throw new RangeError(`icmpv6: checksum mode "${mode}" needs pseudo-header addresses`);
    fillIcmpv6Checksum(out, offset, offset + length, addresses, mode, repr.checksum);
  }
  return length;
}

/** Fills the checksum of the message out[start, end) according to `mode`; returns the value written. */
export function fillIcmpv6Checksum(
  out: Uint8Array,
  start: number,
  end: number,
  addresses: Ipv6PseudoHeaderAddresses,
  mode: ChecksumMode = "compute",
  kept = 0,
): number {
  return fillTransportChecksum(addresses, IP_PROTOCOL_ICMPV6, out, start, end, start + CHECKSUM, mode, kept);
}

/** True when the message bytes[start, end) carries a correct checksum over the IPv6 pseudo-header. */
export function verifyIcmpv6Checksum(
  bytes: Uint8Array,
  start: number,
  end: number,
  addresses: Ipv6PseudoHeaderAddresses,
): boolean {
  return verifyTransportChecksum(addresses, IP_PROTOCOL_ICMPV6, bytes, start, end);
}
