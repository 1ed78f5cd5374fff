/**
 * IPv4 header (RFC 791 §3.1): a zero-copy view, the parsed repr with options decoded, and emit.
 *
 *   0: version(4) IHL(4) | 1: DSCP(6) ECN(2) | 2: total length | 4: identification |
 *   6: flags(3: reserved, DF, MF) fragment offset(13, in 8-byte units) | 8: TTL | 9: protocol |
 *   10: header checksum | 12: source | 16: destination | 20: options, up to IHL*4
 *
 * The view validates once: version 4, IHL ≥ 5, the whole header (with options) captured, and total
 * length ≥ header length. A total length larger than the captured bytes is not an error (the capture's
 * snap length cut the packet): the view reports `truncated` and clamps `payloadEnd`.
 *
 * Fragment offsets are in bytes everywhere in this API (the wire field × 8).
 */
import { Ipv4Address } from "../base/ip.ts";
import { ok, type Result, type Ok } from "../base/result.ts";
import {
  type ChecksumMode,
  checksumVerifies,
  finishChecksum,
  internetChecksum,
  sumWords,
  wrongChecksum,
} from "./checksum.ts";
import { type WireError, wireError } from "./error.ts";

export const IPV4_MIN_HEADER_LENGTH = 20;
export const IPV4_MAX_HEADER_LENGTH = 60;

const VER_IHL = 0;
const TOS = 1;
const TOTAL_LENGTH = 2;
const IDENTIFICATION = 4;
const FLAGS_FRAGMENT = 6;
const TTL = 8;
const PROTOCOL = 9;
const CHECKSUM = 10;
const SRC = 12;
const DST = 16;

const FLAG_RESERVED = 0x8000;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;

/** Option type bytes (RFC 791 §3.1, RFC 2113), copied flag and class included. */
export const Ipv4OptionType = {
  EndOfList: 0,
  NoOperation: 1,
  RecordRoute: 7,
  Timestamp: 68,
  LooseSourceRoute: 131,
  StrictSourceRoute: 137,
  RouterAlert: 148,
} as const;

/** One entry of a timestamp option; `address` is present for flags 1 and 3. */
export interface Ipv4TimestampEntry {
  readonly address?: Ipv4Address;
  /** Milliseconds since midnight UT, or any value with the high bit set (RFC 791). */
  readonly timestamp: number;
}

/**
 * A decoded option. Route and timestamp options keep their pointer and every slot (filled or not), so
 * emit reproduces them. A known type whose length does not fit its layout, and every unknown type, is
 * kept as `raw` (type byte plus the bytes after the length byte).
 */
export type Ipv4Option =
  | { readonly kind: "eol" }
  | { readonly kind: "nop" }
  | {
      readonly kind: "recordRoute" | "looseSourceRoute" | "strictSourceRoute";
      /** 1-based offset within the option of the next free slot (RFC 791: minimum 4). */
      readonly pointer: number;
      readonly addresses: readonly Ipv4Address[];
    }
  | {
      readonly kind: "timestamp";
      readonly pointer: number;
      /** Count of modules that could not register a timestamp (4 bits). */
      readonly overflow: number;
      /** 0: timestamps only; 1: address + timestamp; 3: prespecified addresses + timestamp. */
      readonly flag: number;
      readonly entries: readonly Ipv4TimestampEntry[];
    }
  | { readonly kind: "routerAlert"; readonly value: number }
  | { readonly kind: "raw"; readonly type: number; readonly data: Uint8Array };

export interface Ipv4Repr {
  readonly src: Ipv4Address;
  readonly dst: Ipv4Address;
  readonly protocol: number;
  readonly ttl: number;
  readonly identification: number;
  readonly dscp: number;
  readonly ecn: number;
  readonly dontFragment: boolean;
  readonly moreFragments: boolean;
  /** In bytes; a multiple of 8. */
  readonly fragmentOffset: number;
  readonly options: readonly Ipv4Option[];
  /** Total length minus header length: what the header declares, not what was captured. */
  readonly payloadLength: number;
  /** The header checksum as found (parse) or to write with ChecksumMode "keep" (emit). */
  readonly checksum: number;
}

/** A zero-copy view of an IPv4 header validated by `check`; getters cannot fail. */
export class Ipv4View implements Ok<Ipv4View> {
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

  static check(bytes: Uint8Array, offset = 0, end = bytes.length): Result<Ipv4View, WireError> {
    // Kept small so that the JIT inlines it (and the view) into the caller; faults are in `fault`.
    if (ipv4HeaderFits(bytes, offset, end)) return new Ipv4View(bytes, offset, end);
    return Ipv4View.fault(bytes, offset, end, undefined);
  }

  /** A view for `recheck` to reuse, showing no bytes until a recheck passes. */
  static reusable(): Ipv4View {
    return new Ipv4View(NO_BYTES, 0, 0);
  }

  /**
   * `check` without the allocation, for loops over many packets: validates bytes[offset, end) exactly as
   * `check` does and, when it passes, points this view there and returns it (offsets are not optional here:
   * a loop knows them, and defaults would cost the JIT's inlining budget in the hot path). A failed recheck returns the
   * error `check` gives and leaves the view as it was. What the view showed before is gone: copy what must
   * outlive the next recheck.
   */
  recheck(bytes: Uint8Array, offset: number, end: number): Result<Ipv4View, WireError> {
    if (ipv4HeaderFits(bytes, offset, end)) return this.show(bytes, offset, end);
    return Ipv4View.fault(bytes, offset, end, this);
  }

  /** `check` (into a new view) or `recheck` (into `into`) for input the fast test refused, in check order. */
  private static fault(
    bytes: Uint8Array,
    offset: number,
    end: number,
    into: Ipv4View | undefined,
  ): Result<Ipv4View, WireError> {
    const captured = Math.max(0, end - offset);
    if (offset < 0 || end > bytes.length || captured < 1) {
      return wireError("ipv4", "header", offset, "header truncated (no bytes captured)");
    }
    const first = bytes[offset] as number;
    if (first >>> 4 !== 4) return wireError("ipv4", "version", offset, `version is ${first >>> 4}, not 4`);
    if (captured < IPV4_MIN_HEADER_LENGTH) {
      return wireError("ipv4", "header", offset, `header truncated (need 20 bytes, have ${captured})`);
    }
    const headerLength = (first & 0x0f) * 4;
    if (headerLength < IPV4_MIN_HEADER_LENGTH) {
      return wireError("ipv4", "ihl", offset, `IHL ${first & 0x0f} is below the minimum of 5`);
    }
    if (headerLength > captured) {
      return wireError(
        "ipv4",
        "options",
        offset + IPV4_MIN_HEADER_LENGTH,
        `header truncated (IHL gives ${headerLength} bytes, ${captured} captured)`,
      );
    }
    const totalLength = ((bytes[offset + 2] as number) << 8) | (bytes[offset + 3] as number);
    if (totalLength < headerLength) {
      return wireError(
        "ipv4",
        "totalLength",
        offset + TOTAL_LENGTH,
        `total length ${totalLength} is shorter than the header (${headerLength})`,
      );
    }
    return into === undefined ? new Ipv4View(bytes, offset, end) : into.show(bytes, offset, end);
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

  private u32(at: number): number {
    const b = this.bytes;
    const o = this.offset + at;
    return (
      (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>>
      0
    );
  }

  private setU16(at: number, value: number): void {
    this.bytes[this.offset + at] = (value >>> 8) & 0xff;
    this.bytes[this.offset + at + 1] = value & 0xff;
  }

  private setU32(at: number, value: number): void {
    const o = this.offset + at;
    this.bytes[o] = value >>> 24;
    this.bytes[o + 1] = (value >>> 16) & 0xff;
    this.bytes[o + 2] = (value >>> 8) & 0xff;
    this.bytes[o + 3] = value & 0xff;
  }

  get version(): number {
    return (this.bytes[this.offset + VER_IHL] as number) >>> 4;
  }

  /** Header length in bytes (IHL × 4), 20–60. */
  get headerLength(): number {
    return ((this.bytes[this.offset + VER_IHL] as number) & 0x0f) * 4;
  }

  /** Differentiated services code point (RFC 2474), the upper 6 bits of the former TOS byte. */
  get dscp(): number {
    return (this.bytes[this.offset + TOS] as number) >>> 2;
  }

  set dscp(value: number) {
    this.bytes[this.offset + TOS] = ((value & 0x3f) << 2) | ((this.bytes[this.offset + TOS] as number) & 0x03);
  }

  /** Explicit congestion notification (RFC 3168), the lower 2 bits. */
  get ecn(): number {
    return (this.bytes[this.offset + TOS] as number) & 0x03;
  }

  set ecn(value: number) {
    this.bytes[this.offset + TOS] = ((this.bytes[this.offset + TOS] as number) & 0xfc) | (value & 0x03);
  }

  get totalLength(): number {
    return u16(this.bytes, this.offset + TOTAL_LENGTH);
  }

  /** Rewrites the field only; the view's validation (≥ header length) is the caller's concern. */
  set totalLength(value: number) {
    this.setU16(TOTAL_LENGTH, value);
  }

  get identification(): number {
    return u16(this.bytes, this.offset + IDENTIFICATION);
  }

  set identification(value: number) {
    this.setU16(IDENTIFICATION, value);
  }

  /** The reserved ("evil", RFC 3514) flag bit; zero in well-formed packets. */
  get reservedFlag(): boolean {
    return (u16(this.bytes, this.offset + FLAGS_FRAGMENT) & FLAG_RESERVED) !== 0;
  }

  get dontFragment(): boolean {
    return (u16(this.bytes, this.offset + FLAGS_FRAGMENT) & FLAG_DF) !== 0;
  }

  set dontFragment(value: boolean) {
    const word = u16(this.bytes, this.offset + FLAGS_FRAGMENT);
    this.setU16(FLAGS_FRAGMENT, value ? word | FLAG_DF : word & ~FLAG_DF);
  }

  get moreFragments(): boolean {
    return (u16(this.bytes, this.offset + FLAGS_FRAGMENT) & FLAG_MF) !== 0;
  }

  set moreFragments(value: boolean) {
    const word = u16(this.bytes, this.offset + FLAGS_FRAGMENT);
    this.setU16(FLAGS_FRAGMENT, value ? word | FLAG_MF : word & ~FLAG_MF);
  }

  /** Fragment offset in bytes (the 13-bit field × 8). */
  get fragmentOffset(): number {
    return (u16(this.bytes, this.offset + FLAGS_FRAGMENT) & 0x1fff) * 8;
  }

  /** Sets the offset in bytes; the low 3 bits are dropped (offsets are multiples of 8). */
  set fragmentOffset(bytes: number) {
    this.setU16(FLAGS_FRAGMENT, (u16(this.bytes, this.offset + FLAGS_FRAGMENT) & 0xe000) | ((bytes >>> 3) & 0x1fff));
  }

  /** True for any fragment of a larger datagram: MF set or a non-zero offset. */
  get isFragment(): boolean {
    return (u16(this.bytes, this.offset + FLAGS_FRAGMENT) & 0x3fff) !== 0;
  }

  get ttl(): number {
    return this.bytes[this.offset + TTL] as number;
  }

  set ttl(value: number) {
    this.bytes[this.offset + TTL] = value & 0xff;
  }

  get protocol(): number {
    return this.bytes[this.offset + PROTOCOL] as number;
  }

  set protocol(value: number) {
    this.bytes[this.offset + PROTOCOL] = value & 0xff;
  }

  get checksum(): number {
    return u16(this.bytes, this.offset + CHECKSUM);
  }

  set checksum(value: number) {
    this.setU16(CHECKSUM, value);
  }

  /** Source address as an unsigned 32-bit number (10.0.0.1 = 0x0a000001). */
  get srcAddress(): number {
    return this.u32(SRC);
  }

  set srcAddress(value: number) {
    this.setU32(SRC, value);
  }

  get dstAddress(): number {
    return this.u32(DST);
  }

  set dstAddress(value: number) {
    this.setU32(DST, value);
  }

  /** The option bytes, padding included (a subarray, empty when IHL is 5). */
  get optionsBytes(): Uint8Array {
    return this.bytes.subarray(this.offset + IPV4_MIN_HEADER_LENGTH, this.offset + this.headerLength);
  }

  get payloadOffset(): number {
    return this.offset + this.headerLength;
  }

  /** End of the payload: offset + total length, clamped to the captured bytes. */
  get payloadEnd(): number {
    return Math.min(this.offset + this.totalLength, this.end);
  }

  /** True when fewer bytes were captured than the total length declares. */
  get truncated(): boolean {
    return this.end - this.offset < this.totalLength;
  }

  /** True when the header checksum verifies (RFC 1071). */
  checksumValid(): boolean {
    return checksumVerifies(this.bytes, this.offset, this.offset + this.headerLength);
  }

  /** The checksum the header should carry: the header summed with the checksum field taken as zero. */
  computeChecksum(): number {
    const o = this.offset;
    return finishChecksum(
      sumWords(this.bytes, o + CHECKSUM + 2, o + this.headerLength, sumWords(this.bytes, o, o + CHECKSUM)),
    );
  }

  /** Recomputes and stores the header checksum (after in-place edits such as a TTL decrement). */
  fillChecksum(): void {
    this.checksum = this.computeChecksum();
  }
}

/**
 * Decodes the options in bytes[start, end) (a header's option area). Parsing stops at End of Option
 * List; what follows is padding. Errors name the option's length byte: a missing length, a length
 * below 2, or an option running past the header.
 */
export function parseIpv4Options(bytes: Uint8Array, start: number, end: number): Result<Ipv4Option[], WireError> {
  const options: Ipv4Option[] = [];
  let at = start;
  while (at < end) {
    const type = bytes[at] as number;
    if (type === Ipv4OptionType.EndOfList) {
      options.push({ kind: "eol" });
      break;
    }
    if (type === Ipv4OptionType.NoOperation) {
      options.push({ kind: "nop" });
      at++;
      continue;
    }
    if (at + 1 >= end) return wireError("ipv4", "option.length", at + 1, `option ${type} has no length byte`);
    const length = bytes[at + 1] as number;
    if (length < 2) return wireError("ipv4", "option.length", at + 1, `option ${type} length ${length} is below 2`);
    if (at + length > end) {
      return wireError("ipv4", "option.length", at + 1, `option ${type} length ${length} runs past the header`);
    }
    options.push(decodeOption(bytes, at, type, length));
    at += length;
  }
  return ok(options);
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

function decodeOption(bytes: Uint8Array, at: number, type: number, length: number): Ipv4Option {
  const kind =
    type === Ipv4OptionType.RecordRoute
      ? "recordRoute"
      : type === Ipv4OptionType.LooseSourceRoute
        ? "looseSourceRoute"
        : type === Ipv4OptionType.StrictSourceRoute
          ? "strictSourceRoute"
          : undefined;
  if (kind !== undefined && length >= 3 && (length - 3) % 4 === 0) {
    const addresses: Ipv4Address[] = [];
    for (let p = at + 3; p < at + length; p += 4) addresses.push(new Ipv4Address(readU32(bytes, p)));
    return { kind, pointer: bytes[at + 2] as number, addresses };
  }
  if (type === Ipv4OptionType.Timestamp && length >= 4) {
    const flag = (bytes[at + 3] as number) & 0x0f;
    const entrySize = flag === 0 ? 4 : flag === 1 || flag === 3 ? 8 : 0;
    if (entrySize !== 0 && (length - 4) % entrySize === 0) {
      const entries: Ipv4TimestampEntry[] = [];
      for (let p = at + 4; p < at + length; p += entrySize) {
        entries.push(
          entrySize === 4
            ? { timestamp: readU32(bytes, p) }
            : { address: new Ipv4Address(readU32(bytes, p)), timestamp: readU32(bytes, p + 4) },
        );
      }
      return {
        kind: "timestamp",
        pointer: bytes[at + 2] as number,
        overflow: (bytes[at + 3] as number) >>> 4,
        flag,
        entries,
      };
    }
  }
  if (type === Ipv4OptionType.RouterAlert && length === 4) {
    return { kind: "routerAlert", value: ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number) };
  }
  return { kind: "raw", type, data: bytes.slice(at + 2, at + length) };
}

/** Parses the header into a repr (options decoded). The checksum is reported, not verified. */
export function parseIpv4(bytes: Uint8Array, offset = 0, end = bytes.length): Result<Ipv4Repr, WireError> {
  const checked = Ipv4View.check(bytes, offset, end);
  if (!checked.ok) return checked;
  const v = checked.value;
  const options = parseIpv4Options(bytes, offset + IPV4_MIN_HEADER_LENGTH, v.payloadOffset);
  if (!options.ok) return options;
  return ok({
    src: new Ipv4Address(v.srcAddress),
    dst: new Ipv4Address(v.dstAddress),
    protocol: v.protocol,
    ttl: v.ttl,
    identification: v.identification,
    dscp: v.dscp,
    ecn: v.ecn,
    dontFragment: v.dontFragment,
    moreFragments: v.moreFragments,
    fragmentOffset: v.fragmentOffset,
    options: options.value,
    payloadLength: v.totalLength - v.headerLength,
    checksum: v.checksum,
  });
}

/** Encoded size of one option. */
export function ipv4OptionLength(option: Ipv4Option): number {
  switch (option.kind) {
    case "eol":
    case "nop":
      return 1;
    case "recordRoute":
    case "looseSourceRoute":
    case "strictSourceRoute":
      return 3 + 4 * option.addresses.length;
    case "timestamp":
      return 4 + (option.flag === 0 ? 4 : 8) * option.entries.length;
    case "routerAlert":
      return 4;
    case "raw":
      return 2 + option.data.length;
  }
}

/** Header length for a repr: 20 plus the options rounded up to a multiple of 4. */
export function ipv4HeaderLength(repr: Ipv4Repr): number {
  let options = 0;
  for (const option of repr.options) options += ipv4OptionLength(option);
  return IPV4_MIN_HEADER_LENGTH + ((options + 3) & ~3);
}

/**
 * Writes the header (options, then zero padding, which reads as End of Option List) at out[offset] and
 * returns its length. Total length = header length + repr.payloadLength. The checksum is computed
 * (default), taken from repr.checksum ("keep"), or deliberately wrong ("wrong").
 *
 * Throws RangeError for a repr that cannot be encoded: options beyond 40 bytes, a fragment offset that
 * is not a multiple of 8 or too large, a total length above 65535, or an option whose fields overflow.
 * Reprs come from code, not from the wire.
 */
export function emitIpv4Header(
  repr: Ipv4Repr,
  out: Uint8Array,
  offset: number,
  checksum: ChecksumMode = "compute",
): number {
  const headerLength = ipv4HeaderLength(repr);
  if (headerLength > IPV4_MAX_HEADER_LENGTH) throw new RangeError(`ipv4: header of ${headerLength} bytes exceeds 60`);
  if (offset < 0 || offset + headerLength > out.length) throw new RangeError("ipv4: output buffer too small");
  const totalLength = headerLength + repr.payloadLength;
  if (!isUint(repr.payloadLength, 0xffff) || totalLength > 0xffff) {
    throw new RangeError(`ipv4: total length ${totalLength} out of range`);
  }
  if (!isUint(repr.fragmentOffset, 0x1fff * 8) || repr.fragmentOffset % 8 !== 0) {
    throw new RangeError(`ipv4: fragment offset ${repr.fragmentOffset} is not a multiple of 8 below 65536`);
  }
  for (const [name, value, max] of [
    ["protocol", repr.protocol, 0xff],
    ["ttl", repr.ttl, 0xff],
    ["identification", repr.identification, 0xffff],
    ["dscp", repr.dscp, 0x3f],
    ["ecn", repr.ecn, 3],
    ["checksum", repr.checksum, 0xffff],
  ] as const) {
    if (!isUint(value, max)) throw new RangeError(`ipv4: ${name} ${value} out of range`);
  }
  const o = offset;
  out[o + VER_IHL] = 0x40 | (headerLength >>> 2);
  out[o + TOS] = (repr.dscp << 2) | repr.ecn;
  out[o + TOTAL_LENGTH] = totalLength >>> 8;
  out[o + TOTAL_LENGTH + 1] = totalLength & 0xff;
  out[o + IDENTIFICATION] = repr.identification >>> 8;
  out[o + IDENTIFICATION + 1] = repr.identification & 0xff;
  const flags = (repr.dontFragment ? FLAG_DF : 0) | (repr.moreFragments ? FLAG_MF : 0) | (repr.fragmentOffset >>> 3);
  out[o + FLAGS_FRAGMENT] = flags >>> 8;
  out[o + FLAGS_FRAGMENT + 1] = flags & 0xff;
  out[o + TTL] = repr.ttl;
  out[o + PROTOCOL] = repr.protocol;
  out[o + CHECKSUM] = 0;
  out[o + CHECKSUM + 1] = 0;
  repr.src.writeTo(out, o + SRC);
  repr.dst.writeTo(out, o + DST);
  let at = o + IPV4_MIN_HEADER_LENGTH;
  for (const option of repr.options) at = writeOption(option, out, at);
  out.fill(0, at, o + headerLength);
  const correct = internetChecksum(out, o, o + headerLength);
  const value = checksum === "compute" ? correct : checksum === "keep" ? repr.checksum : wrongChecksum(correct);
  out[o + CHECKSUM] = value >>> 8;
  out[o + CHECKSUM + 1] = value & 0xff;
  return headerLength;
}

function isUint(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

function writeOption(option: Ipv4Option, out: Uint8Array, at: number): number {
  const length = ipv4OptionLength(option);
  if (length > 0xff) throw new RangeError("ipv4: option longer than 255 bytes");
  switch (option.kind) {
    case "eol":
      out[at] = Ipv4OptionType.EndOfList;
      return at + 1;
    case "nop":
      out[at] = Ipv4OptionType.NoOperation;
      return at + 1;
    case "recordRoute":
    case "looseSourceRoute":
    case "strictSourceRoute": {
      out[at] =
        option.kind === "recordRoute"
          ? Ipv4OptionType.RecordRoute
          : option.kind === "looseSourceRoute"
            ? Ipv4OptionType.LooseSourceRoute
            : Ipv4OptionType.StrictSourceRoute;
      out[at + 1] = length;
      if (!isUint(option.pointer, 0xff)) throw new RangeError("ipv4: route option pointer out of range");
      out[at + 2] = option.pointer;
      let p = at + 3;
      for (const address of option.addresses) {
        address.writeTo(out, p);
        p += 4;
      }
      return p;
    }
    case "timestamp": {
      if (!isUint(option.pointer, 0xff) || !isUint(option.overflow, 15) || !isUint(option.flag, 15)) {
        throw new RangeError("ipv4: timestamp option field out of range");
      }
      out[at] = Ipv4OptionType.Timestamp;
      out[at + 1] = length;
      out[at + 2] = option.pointer;
      out[at + 3] = (option.overflow << 4) | option.flag;
      let p = at + 4;
      for (const entry of option.entries) {
        if (option.flag !== 0) {
          if (entry.address === undefined) throw new RangeError("ipv4: timestamp entry needs an address");
          entry.address.writeTo(out, p);
          p += 4;
        }
        writeU32(out, p, entry.timestamp >>> 0);
        p += 4;
      }
      return p;
    }
    case "routerAlert":
      if (!isUint(option.value, 0xffff)) throw new RangeError("ipv4: router alert value out of range");
      out[at] = Ipv4OptionType.RouterAlert;
      out[at + 1] = 4;
      out[at + 2] = option.value >>> 8;
      out[at + 3] = option.value & 0xff;
      return at + 4;
    case "raw":
      if (!isUint(option.type, 0xff) || option.type <= 1) throw new RangeError("ipv4: raw option type out of range");
      out[at] = option.type;
      out[at + 1] = length;
      out.set(option.data, at + 2);
      return at + length;
  }
}

const NO_BYTES = new Uint8Array(0);

/**
 * The hot half of `check`: bytes[offset, end) holds a whole header whose total length covers it. 0x45–0x4f
 * is version 4 with IHL ≥ 5; `bytes[offset]` is undefined, and every test false, when offset is no index.
 */
function ipv4HeaderFits(bytes: Uint8Array, offset: number, end: number): boolean {
  const first = bytes[offset] as number;
  const headerLength = (first & 0x0f) * 4;
  return (
    first >= 0x45 &&
    first <= 0x4f &&
    end <= bytes.length &&
    headerLength <= end - offset &&
    u16(bytes, offset + TOTAL_LENGTH) >= headerLength
  );
}

/** Big-endian 16-bit word at `i` (a free function: small enough for the JIT to inline into every getter). */
function u16(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 8) | (b[i + 1] as number);
}
