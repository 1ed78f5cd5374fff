/**
 * ICMP for IPv4 (RFC 792): view, repr, emit and checksum (over the whole message, no pseudo-header).
 * Echo request/reply, destination unreachable (with the next-hop MTU of "fragmentation needed",
 * RFC 1191 §4), time exceeded, redirect and parameter problem are interpreted; every other type is
 * kept generic (`kind: "other"`) with its four header bytes and data.
 *
 * Error messages quote the original datagram's IP header and at least its first 8 data bytes (RFC 792;
 * RFC 1812 §4.3.2.3 allows more). The quote is parsed into `quoted`; a quote that is garbage yields an
 * error value there and never fails the ICMP parse. The quoted bytes themselves stay in `data`, which is
 * what emit writes, so parse → emit → parse is identical.
 */
import { Ipv4Address } from "../base/ip.ts";
import { ok, type Result } from "../base/result.ts";
import { type ChecksumMode, checksumVerifies } from "./checksum.ts";
import { type WireError, wireError } from "./error.ts";
import { type Ipv4Repr, parseIpv4 } from "./ipv4.ts";
import { computeChecksumExcludingField, writeChecksumField } from "./transport-checksum.ts";

const TYPE = 0;
const CODE = 1;
const CHECKSUM = 2;
const REST = 4;
export const ICMPV4_HEADER_LENGTH = 8;

export const ICMPV4_ECHO_REPLY = 0;
export const ICMPV4_DESTINATION_UNREACHABLE = 3;
export const ICMPV4_SOURCE_QUENCH = 4;
export const ICMPV4_REDIRECT = 5;
export const ICMPV4_ECHO_REQUEST = 8;
export const ICMPV4_TIME_EXCEEDED = 11;
export const ICMPV4_PARAMETER_PROBLEM = 12;

/** Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1). */
export const Icmpv4UnreachableCode = {
  netUnreachable: 0,
  hostUnreachable: 1,
  protocolUnreachable: 2,
  portUnreachable: 3,
  fragmentationNeeded: 4,
  sourceRouteFailed: 5,
  destinationNetworkUnknown: 6,
  destinationHostUnknown: 7,
  sourceHostIsolated: 8,
  networkProhibited: 9,
  hostProhibited: 10,
  networkUnreachableForTos: 11,
  hostUnreachableForTos: 12,
  communicationProhibited: 13,
  hostPrecedenceViolation: 14,
  precedenceCutoff: 15,
} as const;

const UNREACHABLE_NAMES: readonly string[] = Object.keys(Icmpv4UnreachableCode);

/** The name of a destination-unreachable code ("portUnreachable"), or undefined for an unassigned one. */
export function icmpv4UnreachableCodeName(code: number): string | undefined {
  return UNREACHABLE_NAMES[code];
}

/** Time exceeded codes (RFC 792). */
export const Icmpv4TimeExceededCode = { ttlExceededInTransit: 0, fragmentReassemblyTimeExceeded: 1 } as const;

/** Redirect codes (RFC 792). */
export const Icmpv4RedirectCode = { network: 0, host: 1, tosAndNetwork: 2, tosAndHost: 3 } as const;

/**
 * What an ICMPv4 error quotes: the original datagram's IPv4 header and, when its first bytes are there
 * and it is not a later fragment, the transport ports (TCP, UDP, DCCP, SCTP, UDP-Lite all start with
 * source and destination port) or the quoted ICMP message's type and code. These are the "embedded"
 * values WFP's ICMP error layers classify on (FWPM_LAYER_INBOUND_ICMP_ERROR_V4).
 */
export interface QuotedIpv4 {
  readonly ip: Ipv4Repr;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
}

/** Protocols whose header starts with 16-bit source and destination ports. */
function hasPorts(protocol: number): boolean {
  return protocol === 6 || protocol === 17 || protocol === 33 || protocol === 132 || protocol === 136;
}

/** Parses the datagram quoted in bytes[start, end) by an ICMPv4 error (the quote is usually cut short). */
export function parseQuotedIpv4(bytes: Uint8Array, start: number, end: number): Result<QuotedIpv4, WireError> {
  const ip = parseIpv4(bytes, start, end);
  if (!ip.ok) return ip;
  // parseIpv4 has checked the IHL: the quoted transport header starts right after the header.
  const at = start + ((bytes[start] as number) & 0x0f) * 4;
  const base = { ip: ip.value };
  if (ip.value.fragmentOffset !== 0) return ok(base);
  if (hasPorts(ip.value.protocol) && at + 4 <= end) {
    return ok({ ...base, srcPort: u16(bytes, at), dstPort: u16(bytes, at + 2) });
  }
  if (ip.value.protocol === 1 && at + 2 <= end) {
    return ok({ ...base, icmpType: bytes[at] as number, icmpCode: bytes[at + 1] as number });
  }
  return ok(base);
}

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

/** A checked ICMPv4 message: the 8-byte header is present before `end` (the end of the IP payload). */
export class Icmpv4View {
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly end: number;

  private constructor(bytes: Uint8Array, offset: number, end: number) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  static check(bytes: Uint8Array, offset = 0, end: number = bytes.length): Result<Icmpv4View, WireError> {
    const limit = Math.min(end, bytes.length);
    if (offset < 0 || limit - offset < ICMPV4_HEADER_LENGTH) {
      return wireError("icmpv4", "header", offset, "header truncated");
    }
    return ok(new Icmpv4View(bytes, offset, limit));
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
  /** Bytes 4–7 as an unsigned 32-bit number ("rest of header"). */
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
  /** Next-hop MTU of "fragmentation needed" (bytes 6–7, RFC 1191 §4). */
  get nextHopMtu(): number {
    return u16(this.bytes, this.offset + REST + 2);
  }
  /** Parameter problem pointer (byte 4). */
  get pointer(): number {
    return this.bytes[this.offset + REST] as number;
  }
  /** Redirect gateway address (bytes 4–7) as an unsigned 32-bit number. */
  get gateway(): number {
    return u32(this.bytes, this.offset + REST);
  }
  get payloadOffset(): number {
    return this.offset + ICMPV4_HEADER_LENGTH;
  }
  get payloadEnd(): number {
    return this.end;
  }
  /** True for the types that quote an offending datagram (3, 4, 5, 11, 12). */
  get isError(): boolean {
    const t = this.type;
    return (
      t === ICMPV4_DESTINATION_UNREACHABLE ||
      t === ICMPV4_SOURCE_QUENCH ||
      t === ICMPV4_REDIRECT ||
      t === ICMPV4_TIME_EXCEEDED ||
      t === ICMPV4_PARAMETER_PROBLEM
    );
  }
}

interface Icmpv4Common {
  readonly code: number;
  /** The checksum as read (written by emit in "keep" mode). */
  readonly checksum: number;
  /** Everything after the 8-byte header (zero-copy subarray when parsed). */
  readonly data: Uint8Array;
}

export interface Icmpv4Echo extends Icmpv4Common {
  readonly kind: "echoRequest" | "echoReply";
  readonly type: 8 | 0;
  readonly identifier: number;
  readonly sequence: number;
}

export interface Icmpv4EchoRequest extends Icmpv4Echo {
  readonly kind: "echoRequest";
  readonly type: 8;
}

export interface Icmpv4EchoReply extends Icmpv4Echo {
  readonly kind: "echoReply";
  readonly type: 0;
}

interface Icmpv4ErrorCommon extends Icmpv4Common {
  /** The quoted datagram's IPv4 header and ports, or why it could not be read. */
  readonly quoted: Result<QuotedIpv4, WireError>;
}

export interface Icmpv4DestinationUnreachable extends Icmpv4ErrorCommon {
  readonly kind: "destinationUnreachable";
  readonly type: 3;
  /** Bytes 6–7: the next-hop MTU for code 4 (RFC 1191); 0 otherwise. */
  readonly nextHopMtu: number;
  /** Bytes 4–5 (unused; RFC 4884 puts a length in byte 5), present only when nonzero. */
  readonly unused?: number;
}

export interface Icmpv4TimeExceeded extends Icmpv4ErrorCommon {
  readonly kind: "timeExceeded";
  readonly type: 11;
  /** Bytes 4–7 (unused), present only when nonzero. */
  readonly unused?: number;
}

/** Source quench (RFC 792; deprecated by RFC 6633 but still seen): an error that quotes the datagram. */
export interface Icmpv4SourceQuench extends Icmpv4ErrorCommon {
  readonly kind: "sourceQuench";
  readonly type: 4;
  /** Bytes 4–7 (unused), present only when nonzero. */
  readonly unused?: number;
}

export interface Icmpv4Redirect extends Icmpv4ErrorCommon {
  readonly kind: "redirect";
  readonly type: 5;
  readonly gateway: Ipv4Address;
}

export interface Icmpv4ParameterProblem extends Icmpv4ErrorCommon {
  readonly kind: "parameterProblem";
  readonly type: 12;
  /** Byte offset of the problem in the quoted datagram. */
  readonly pointer: number;
  /** Bytes 5–7 (unused), present only when nonzero. */
  readonly unused?: number;
}

export interface Icmpv4Other extends Icmpv4Common {
  readonly kind: "other";
  readonly type: number;
  /** Bytes 4–7 as an unsigned 32-bit number. */
  readonly rest: number;
}

export type Icmpv4Repr =
  | Icmpv4EchoRequest
  | Icmpv4EchoReply
  | Icmpv4DestinationUnreachable
  | Icmpv4TimeExceeded
  | Icmpv4SourceQuench
  | Icmpv4Redirect
  | Icmpv4ParameterProblem
  | Icmpv4Other;

type WithoutQuoted<T> = T extends unknown ? Omit<T, "quoted"> : never;
/** What emit needs: a repr, with or without its parsed `quoted` (emit writes `data`). */
export type Icmpv4EmitRepr = WithoutQuoted<Icmpv4Repr>;

/** Parses an ICMPv4 message occupying bytes[offset, end). Only a missing 8-byte header is an error. */
export function parseIcmpv4(bytes: Uint8Array, offset = 0, end: number = bytes.length): Result<Icmpv4Repr, WireError> {
  const checked = Icmpv4View.check(bytes, offset, end);
  if (!checked.ok) return checked;
  return ok(icmpv4ReprFromView(checked.value));
}

export function icmpv4ReprFromView(v: Icmpv4View): Icmpv4Repr {
  const code = v.code;
  const checksum = v.checksum;
  const data = v.bytes.subarray(v.payloadOffset, v.end);
  const b = v.bytes;
  const o = v.offset;
  switch (v.type) {
    case ICMPV4_ECHO_REQUEST:
      return { kind: "echoRequest", type: 8, code, checksum, identifier: v.identifier, sequence: v.sequence, data };
    case ICMPV4_ECHO_REPLY:
      return { kind: "echoReply", type: 0, code, checksum, identifier: v.identifier, sequence: v.sequence, data };
    case ICMPV4_DESTINATION_UNREACHABLE: {
      const quoted = parseQuotedIpv4(b, v.payloadOffset, v.end);
      const unused = u16(b, o + REST);
      const base = {
        kind: "destinationUnreachable",
        type: 3,
        code,
        checksum,
        nextHopMtu: v.nextHopMtu,
        data,
        quoted,
      } as const;
      return unused === 0 ? base : { ...base, unused };
    }
    case ICMPV4_TIME_EXCEEDED: {
      const quoted = parseQuotedIpv4(b, v.payloadOffset, v.end);
      const unused = v.restOfHeader;
      const base = { kind: "timeExceeded", type: 11, code, checksum, data, quoted } as const;
      return unused === 0 ? base : { ...base, unused };
    }
    case ICMPV4_SOURCE_QUENCH: {
      const quoted = parseQuotedIpv4(b, v.payloadOffset, v.end);
      const unused = v.restOfHeader;
      const base = { kind: "sourceQuench", type: 4, code, checksum, data, quoted } as const;
      return unused === 0 ? base : { ...base, unused };
    }
    case ICMPV4_REDIRECT:
      return {
        kind: "redirect",
        type: 5,
        code,
        checksum,
        gateway: new Ipv4Address(v.gateway),
        data,
        quoted: parseQuotedIpv4(b, v.payloadOffset, v.end),
      };
    case ICMPV4_PARAMETER_PROBLEM: {
      const quoted = parseQuotedIpv4(b, v.payloadOffset, v.end);
      const unused = v.restOfHeader & 0xffffff;
      const base = { kind: "parameterProblem", type: 12, code, checksum, pointer: v.pointer, data, quoted } as const;
      return unused === 0 ? base : { ...base, unused };
    }
    default:
      return { kind: "other", type: v.type, code, checksum, rest: v.restOfHeader, data };
  }
}

/** Length of the message `emitIcmpv4` writes: 8 + data. */
export function icmpv4Length(repr: Icmpv4EmitRepr): number {
  return ICMPV4_HEADER_LENGTH + repr.data.length;
}

/** Bytes 4–7 for a repr. */
function restOf(repr: Icmpv4EmitRepr): number {
  switch (repr.kind) {
    case "echoRequest":
    case "echoReply":
      return ((repr.identifier << 16) | repr.sequence) >>> 0;
    case "destinationUnreachable":
      return (((repr.unused ?? 0) << 16) | repr.nextHopMtu) >>> 0;
    case "timeExceeded":
    case "sourceQuench":
      return repr.unused ?? 0;
    case "redirect":
      return repr.gateway.value;
    case "parameterProblem":
      return ((repr.pointer << 24) | (repr.unused ?? 0)) >>> 0;
    case "other":
      return repr.rest;
  }
}

/**
 * Writes the whole message (header and data) at out[offset...] and returns its length. The checksum is
 * computed (default), kept from `repr.checksum`, or deliberately wrong. Throws RangeError when `out` is
 * too small (a caller's bug).
 */
export function emitIcmpv4(
  repr: Icmpv4EmitRepr,
  out: Uint8Array,
  offset: number,
  mode: ChecksumMode = "compute",
): number {
  const length = icmpv4Length(repr);
  if (offset < 0 || offset + length > out.length) {
    throw new RangeError(`icmpv4: buffer of ${out.length} bytes cannot hold ${offset + length}`);
  }
  out[offset + TYPE] = repr.type;
  out[offset + CODE] = repr.code;
  put16(out, offset + CHECKSUM, repr.checksum);
  put32(out, offset + REST, restOf(repr));
  out.set(repr.data, offset + ICMPV4_HEADER_LENGTH);
  fillIcmpv4Checksum(out, offset, offset + length, mode, repr.checksum);
  return length;
}

/** Fills the checksum of the message out[start, end) according to `mode`; returns the value written. */
export function fillIcmpv4Checksum(
  out: Uint8Array,
  start: number,
  end: number,
  mode: ChecksumMode = "compute",
  kept = 0,
): number {
  if (mode === "keep") return writeChecksumField(out, start + CHECKSUM, kept, mode, kept);
  const correct = computeChecksumExcludingField(out, start, end, start + CHECKSUM, 0);
  return writeChecksumField(out, start + CHECKSUM, correct, mode, kept);
}

/** True when the message bytes[start, end) carries a correct checksum (RFC 792: over the whole message). */
export function verifyIcmpv4Checksum(bytes: Uint8Array, start: number, end: number): boolean {
  return checksumVerifies(bytes, start, end);
}
