/**
 * IPv6 base header (RFC 8200 §3) with its extension chain (ipv6-ext.ts): a zero-copy view, the parsed
 * repr, and emit.
 *
 *   0: version(4) traffic class(8) flow label(20) | 4: payload length | 6: next header | 7: hop limit |
 *   8: source (16) | 24: destination (16) | 40: extension headers, then the upper-layer header
 *
 * A payload length larger than the captured bytes is not an error (snap length): the view reports
 * `truncated` and clamps `payloadEnd`. A payload length of zero with a Hop-by-Hop header may be a
 * jumbogram (RFC 2675): the payload then runs to the end of the captured bytes.
 */
import { Ipv6Address } from "../base/ip.ts";
import { ok, type Result, type Ok } from "../base/result.ts";
import { type WireError, wireError } from "./error.ts";
import { IpProtocol } from "./ip-protocol.ts";
import {
  emitIpv6Extensions,
  type Ipv6ExtensionChain,
  type Ipv6ExtensionRepr,
  ipv6ExtensionsLength,
  ipv6ExtensionType,
  parseIpv6Extension,
  walkIpv6Extensions,
} from "./ipv6-ext.ts";

export const IPV6_HEADER_LENGTH = 40;

const PAYLOAD_LENGTH = 4;
const NEXT_HEADER = 6;
const HOP_LIMIT = 7;
const SRC = 8;
const DST = 24;

export interface Ipv6Repr {
  readonly src: Ipv6Address;
  readonly dst: Ipv6Address;
  readonly trafficClass: number;
  readonly flowLabel: number;
  readonly hopLimit: number;
  /** The base header's Next Header: the first extension's type, or the upper-layer protocol. */
  readonly nextHeader: number;
  /** The base header field: extension headers plus upper-layer data, as declared. */
  readonly payloadLength: number;
  /** In chain order. */
  readonly extensions: readonly Ipv6ExtensionRepr[];
  /** The protocol after the chain (see walkIpv6Extensions). */
  readonly upperProtocol: number;
}

/** A zero-copy view of the 40-byte IPv6 header validated by `check`; getters cannot fail. */
export class Ipv6View implements Ok<Ipv6View> {
  /** A checked view is its own successful result: `check` allocates one object, not two (hot path). */
  get ok(): true {
    return true;
  }

  /** The view itself (see `ok`). */
  get value(): this {
    return this;
  }

  // Declared, not class fields: the constructor (or `show`) sets them, and no field initialiser runs.
  declare readonly bytes: Uint8Array;
  declare readonly offset: number;
  declare readonly end: number;

  private constructor(bytes: Uint8Array, offset: number, end: number) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  static check(bytes: Uint8Array, offset = 0, end = bytes.length): Result<Ipv6View, WireError> {
    // Kept small so that the JIT inlines it (and the view) into the caller; faults are in `fault`.
    if (ipv6HeaderFits(bytes, offset, end)) return new Ipv6View(bytes, offset, end);
    return Ipv6View.fault(bytes, offset, end, undefined);
  }

  /** A view for `recheck` to reuse, showing no bytes until a recheck passes. */
  static reusable(): Ipv6View {
    return new Ipv6View(NO_BYTES, 0, 0);
  }

  /**
   * `check` without the allocation, for loops over many packets: validates bytes[offset, end) exactly as
   * `check` does and, when it passes, points this view there and returns it (offsets are not optional here:
   * a loop knows them, and defaults would cost the JIT's inlining budget in the hot path). A failed recheck returns the
   * error `check` gives and leaves the view as it was. What the view showed before is gone: copy what must
   * outlive the next recheck.
   */
  recheck(bytes: Uint8Array, offset: number, end: number): Result<Ipv6View, WireError> {
    if (ipv6HeaderFits(bytes, offset, end)) return this.show(bytes, offset, end);
    return Ipv6View.fault(bytes, offset, end, this);
  }

  /** `check` (into a new view) or `recheck` (into `into`) for input the fast test refused, in check order. */
  private static fault(
    bytes: Uint8Array,
    offset: number,
    end: number,
    into: Ipv6View | undefined,
  ): Result<Ipv6View, WireError> {
    const captured = Math.max(0, end - offset);
    if (offset < 0 || end > bytes.length || captured < 1) {
      return wireError("ipv6", "header", offset, "header truncated (no bytes captured)");
    }
    const version = (bytes[offset] as number) >>> 4;
    if (version !== 6) return wireError("ipv6", "version", offset, `version is ${version}, not 6`);
    if (captured < IPV6_HEADER_LENGTH) {
      return wireError("ipv6", "header", offset, `header truncated (need 40 bytes, have ${captured})`);
    }
    return into === undefined ? new Ipv6View(bytes, offset, end) : into.show(bytes, offset, end);
  }

  /** Points the view at a checked header: the one place where a view changes. */
  private show(bytes: Uint8Array, offset: number, end: number): this {
    const fields = this as { bytes: Uint8Array; offset: number; end: number };
    // Packet after packet the buffer is the same one: skipping that store skips the GC's write barrier.
    if (fields.bytes !== bytes) fields.bytes = bytes;
    fields.offset = offset;
    fields.end = end;
    return this;
  }

  private get firstWord(): number {
    return ((u16(this.bytes, this.offset + 0) << 16) | u16(this.bytes, this.offset + 2)) >>> 0;
  }

  private set firstWord(value: number) {
    const o = this.offset;
    this.bytes[o] = value >>> 24;
    this.bytes[o + 1] = (value >>> 16) & 0xff;
    this.bytes[o + 2] = (value >>> 8) & 0xff;
    this.bytes[o + 3] = value & 0xff;
  }

  get version(): number {
    return (this.bytes[this.offset] as number) >>> 4;
  }

  get trafficClass(): number {
    return (this.firstWord >>> 20) & 0xff;
  }

  set trafficClass(value: number) {
    this.firstWord = ((this.firstWord & 0xf00fffff) | ((value & 0xff) << 20)) >>> 0;
  }

  /** Differentiated services code point: the upper 6 bits of the traffic class (RFC 2474). */
  get dscp(): number {
    return this.trafficClass >>> 2;
  }

  /** Explicit congestion notification: the lower 2 bits of the traffic class (RFC 3168). */
  get ecn(): number {
    return this.trafficClass & 3;
  }

  get flowLabel(): number {
    return this.firstWord & 0xfffff;
  }

  set flowLabel(value: number) {
    this.firstWord = ((this.firstWord & 0xfff00000) | (value & 0xfffff)) >>> 0;
  }

  get payloadLength(): number {
    return u16(this.bytes, this.offset + PAYLOAD_LENGTH);
  }

  set payloadLength(value: number) {
    this.bytes[this.offset + PAYLOAD_LENGTH] = (value >>> 8) & 0xff;
    this.bytes[this.offset + PAYLOAD_LENGTH + 1] = value & 0xff;
  }

  get nextHeader(): number {
    return this.bytes[this.offset + NEXT_HEADER] as number;
  }

  set nextHeader(value: number) {
    this.bytes[this.offset + NEXT_HEADER] = value & 0xff;
  }

  get hopLimit(): number {
    return this.bytes[this.offset + HOP_LIMIT] as number;
  }

  set hopLimit(value: number) {
    this.bytes[this.offset + HOP_LIMIT] = value & 0xff;
  }

  /** Source address (a 16-byte subarray). */
  get srcAddress(): Uint8Array {
    return this.bytes.subarray(this.offset + SRC, this.offset + SRC + 16);
  }

  set srcAddress(value: Uint8Array) {
    this.bytes.set(value.subarray(0, 16), this.offset + SRC);
  }

  /** Destination address (a 16-byte subarray). */
  get dstAddress(): Uint8Array {
    return this.bytes.subarray(this.offset + DST, this.offset + DST + 16);
  }

  set dstAddress(value: Uint8Array) {
    this.bytes.set(value.subarray(0, 16), this.offset + DST);
  }

  /** First byte after the base header (extension headers, if any, start here). */
  get payloadOffset(): number {
    return this.offset + IPV6_HEADER_LENGTH;
  }

  /** True when the payload length is zero and a Hop-by-Hop header follows (RFC 2675 jumbogram form). */
  get jumbogram(): boolean {
    return this.payloadLength === 0 && this.nextHeader === IpProtocol.HopByHop;
  }

  /** payloadOffset + payload length, clamped to the captured bytes (the captured end for a jumbogram). */
  get payloadEnd(): number {
    if (this.jumbogram) return this.end;
    return Math.min(this.payloadOffset + this.payloadLength, this.end);
  }

  /** True when fewer bytes were captured than the payload length declares. */
  get truncated(): boolean {
    return this.end - this.payloadOffset < this.payloadLength;
  }

  /** Walks the extension chain within the payload (see walkIpv6Extensions). */
  extensions(): Result<Ipv6ExtensionChain, WireError> {
    return walkIpv6Extensions(this.bytes, this.payloadOffset, this.nextHeader, this.payloadEnd);
  }
}

/** Parses the base header and every extension header; an extension chain that does not fit is an error. */
export function parseIpv6(bytes: Uint8Array, offset = 0, end = bytes.length): Result<Ipv6Repr, WireError> {
  const checked = Ipv6View.check(bytes, offset, end);
  if (!checked.ok) return checked;
  const v = checked.value;
  const chain = v.extensions();
  if (!chain.ok) return chain;
  const extensions: Ipv6ExtensionRepr[] = [];
  for (const header of chain.value.headers) {
    const ext = parseIpv6Extension(bytes, header);
    if (!ext.ok) return ext;
    extensions.push(ext.value);
  }
  return ok({
    src: Ipv6Address.fromBytes(bytes, offset + SRC),
    dst: Ipv6Address.fromBytes(bytes, offset + DST),
    trafficClass: v.trafficClass,
    flowLabel: v.flowLabel,
    hopLimit: v.hopLimit,
    nextHeader: v.nextHeader,
    payloadLength: v.payloadLength,
    extensions,
    upperProtocol: chain.value.upperProtocol,
  });
}

/** 40 plus the encoded extension headers. */
export function ipv6HeaderLength(repr: Ipv6Repr): number {
  return IPV6_HEADER_LENGTH + ipv6ExtensionsLength(repr.extensions);
}

/**
 * Writes the base header and the extension chain at out[offset] and returns the bytes written. The
 * payload length is written as given. Throws RangeError when `nextHeader` disagrees with the chain (the
 * first extension's type, or `upperProtocol` when there is none), or a field is out of range.
 */
export function emitIpv6Header(repr: Ipv6Repr, out: Uint8Array, offset: number): number {
  const length = ipv6HeaderLength(repr);
  if (offset < 0 || offset + length > out.length) throw new RangeError("ipv6: output buffer too small");
  const firstExt = repr.extensions[0];
  const expected = firstExt === undefined ? repr.upperProtocol : ipv6ExtensionType(firstExt);
  if (repr.nextHeader !== expected) {
    throw new RangeError(`ipv6: nextHeader ${repr.nextHeader} disagrees with the chain (${expected})`);
  }
  for (const [name, value, max] of [
    ["trafficClass", repr.trafficClass, 0xff],
    ["flowLabel", repr.flowLabel, 0xfffff],
    ["hopLimit", repr.hopLimit, 0xff],
    ["payloadLength", repr.payloadLength, 0xffff],
    ["upperProtocol", repr.upperProtocol, 0xff],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`ipv6: ${name} out of range`);
  }
  const o = offset;
  out[o] = 0x60 | (repr.trafficClass >>> 4);
  out[o + 1] = ((repr.trafficClass & 0x0f) << 4) | (repr.flowLabel >>> 16);
  out[o + 2] = (repr.flowLabel >>> 8) & 0xff;
  out[o + 3] = repr.flowLabel & 0xff;
  out[o + PAYLOAD_LENGTH] = repr.payloadLength >>> 8;
  out[o + PAYLOAD_LENGTH + 1] = repr.payloadLength & 0xff;
  out[o + NEXT_HEADER] = repr.nextHeader;
  out[o + HOP_LIMIT] = repr.hopLimit;
  repr.src.writeTo(out, o + SRC);
  repr.dst.writeTo(out, o + DST);
  emitIpv6Extensions(repr.extensions, repr.upperProtocol, out, o + IPV6_HEADER_LENGTH);
  return length;
}

const NO_BYTES = new Uint8Array(0);

/** The hot half of `check` (`bytes[offset]` is undefined, and the test false, when offset is no index). */
function ipv6HeaderFits(bytes: Uint8Array, offset: number, end: number): boolean {
  return (bytes[offset] as number) >>> 4 === 6 && end <= bytes.length && end - offset >= IPV6_HEADER_LENGTH;
}

/** Big-endian 16-bit word at `i` (a free function: small enough for the JIT to inline into every getter). */
function u16(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 8) | (b[i + 1] as number);
}
