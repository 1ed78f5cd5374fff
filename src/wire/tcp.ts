/**
 * TCP header (RFC 9293 §3.1): a zero-copy view, a parsed repr with options, emit, and checksum over the
 * pseudo-header. Options follow RFC 9293 §3.2 (EOL, NOP, MSS), RFC 7323 (window scale, timestamps) and
 * RFC 2018 (SACK-permitted, SACK); any other kind is kept as `{ kind, data }` so a header re-emits byte
 * for byte. The NS bit (RFC 3540, historic) is carried as flag bit 8.
 */
import { ok, type Result, type Ok } from "../base/result.ts";
import type { ChecksumMode } from "./checksum.ts";
import { type WireError, wireError } from "./error.ts";
import {
  fillTransportChecksum,
  IP_PROTOCOL_TCP,
  type PseudoHeaderAddresses,
  verifyTransportChecksum,
} from "./transport-checksum.ts";

// Field offsets from the start of the header.
const SRC_PORT = 0;
const DST_PORT = 2;
const SEQ = 4;
const ACK = 8;
const DATA_OFFSET = 12;
const FLAGS = 13;
const WINDOW = 14;
const CHECKSUM = 16;
const URGENT = 18;
/** Length of the header without options. */
export const TCP_HEADER_MIN_LENGTH = 20;
/** Longest header: data offset 15 words. */
export const TCP_HEADER_MAX_LENGTH = 60;

export const TCP_FIN = 0x001;
export const TCP_SYN = 0x002;
export const TCP_RST = 0x004;
export const TCP_PSH = 0x008;
export const TCP_ACK = 0x010;
export const TCP_URG = 0x020;
export const TCP_ECE = 0x040;
export const TCP_CWR = 0x080;
/** ECN nonce sum (RFC 3540, moved to historic by RFC 8311); the low bit of byte 12. */
export const TCP_NS = 0x100;

const FLAG_LETTERS = "CEUAPRSF";

/** Letters of the set flags from "CEUAPRSF", in that order ("AS" for SYN-ACK, "" for none). NS has no letter. */
export function tcpFlagLetters(flags: number): string {
  let s = "";
  for (let bit = 7; bit >= 0; bit--) if ((flags >>> bit) & 1) s += FLAG_LETTERS[7 - bit];
  return s;
}

const NO_BYTES = new Uint8Array(0);

/** The hot half of `check`: the whole header, options included, lies in bytes[offset, end). */
function tcpHeaderFits(bytes: Uint8Array, offset: number, end: number): boolean {
  if (offset < 0 || end > bytes.length || end - offset < TCP_HEADER_MIN_LENGTH) return false;
  const words = (bytes[offset + DATA_OFFSET] as number) >>> 4;
  return words >= 5 && offset + words * 4 <= end;
}

/** The hot half of `checkFixedHeader`. */
function fixedHeaderFits(bytes: Uint8Array, offset: number, end: number): boolean {
  return offset >= 0 && end <= bytes.length && end - offset >= TCP_HEADER_MIN_LENGTH;
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

/**
 * A checked TCP header inside `bytes`. `check` validates that the fixed header is present, that the data
 * offset is at least 5 and that the whole header (options included) lies before `end`; the getters
 * then cannot fail. `end` should be the end of the IP payload as captured (not the frame end, which may
 * include Ethernet padding).
 */
export class TcpView implements Ok<TcpView> {
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

  static check(bytes: Uint8Array, offset = 0, end: number = bytes.length): Result<TcpView, WireError> {
    // Kept small so that the JIT inlines it (and the view) into the caller; faults are in `fault`.
    if (tcpHeaderFits(bytes, offset, end)) return new TcpView(bytes, offset, end);
    return TcpView.fault(bytes, offset, end, undefined);
  }

  /** A view for `recheck` to reuse, showing no bytes until a recheck passes. */
  static reusable(): TcpView {
    return new TcpView(NO_BYTES, 0, 0);
  }

  /**
   * `check` without the allocation, for loops over many packets: validates bytes[offset, end) exactly as
   * `check` does and, when it passes, points this view there and returns it (offsets are not optional here:
   * a loop knows them, and defaults would cost the JIT's inlining budget in the hot path). A failed recheck returns the
   * error `check` gives and leaves the view as it was. What the view showed before is gone: copy what must
   * outlive the next recheck.
   */
  recheck(bytes: Uint8Array, offset: number, end: number): Result<TcpView, WireError> {
    if (tcpHeaderFits(bytes, offset, end)) return this.show(bytes, offset, end);
    return TcpView.fault(bytes, offset, end, this);
  }

  /** `check` (into a new view) or `recheck` (into `into`) for input the fast test refused, in check order. */
  private static fault(
    bytes: Uint8Array,
    offset: number,
    end: number,
    into: TcpView | undefined,
  ): Result<TcpView, WireError> {
    const limit = Math.min(end, bytes.length);
    if (offset < 0 || limit - offset < TCP_HEADER_MIN_LENGTH) {
      return wireError("tcp", "header", offset, "header truncated");
    }
    const words = (bytes[offset + DATA_OFFSET] as number) >>> 4;
    if (words < 5) {
      return wireError("tcp", "dataOffset", offset + DATA_OFFSET, `data offset ${words} is below the minimum 5`);
    }
    if (offset + words * 4 > limit) return wireError("tcp", "dataOffset", offset + DATA_OFFSET, "header truncated");
    return into === undefined ? new TcpView(bytes, offset, limit) : into.show(bytes, offset, limit);
  }

  /**
   * A view over the fixed 20-byte header only, for a segment whose options were cut short (a first IP
   * fragment, a short snap length): ports, numbers, flags and window can be read, options and payload
   * cannot. Use after `check` failed; `headerLength` still reports what the header declares.
   */
  static checkFixedHeader(bytes: Uint8Array, offset = 0, end: number = bytes.length): Result<TcpView, WireError> {
    if (fixedHeaderFits(bytes, offset, end)) return new TcpView(bytes, offset, end);
    return TcpView.checkFixedHeaderClamped(bytes, offset, end, undefined);
  }

  /** `checkFixedHeader` without the allocation, as `recheck` is to `check`. */
  recheckFixedHeader(bytes: Uint8Array, offset: number, end: number): Result<TcpView, WireError> {
    if (fixedHeaderFits(bytes, offset, end)) return this.show(bytes, offset, end);
    return TcpView.checkFixedHeaderClamped(bytes, offset, end, this);
  }

  /** `checkFixedHeader` for an `end` past the bytes (clamped to them) and for faults. */
  private static checkFixedHeaderClamped(
    bytes: Uint8Array,
    offset: number,
    end: number,
    into: TcpView | undefined,
  ): Result<TcpView, WireError> {
    const limit = Math.min(end, bytes.length);
    if (offset < 0 || limit - offset < TCP_HEADER_MIN_LENGTH) {
      return wireError("tcp", "header", offset, "header truncated");
    }
    return into === undefined ? new TcpView(bytes, offset, limit) : into.show(bytes, offset, limit);
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

  get srcPort(): number {
    return u16(this.bytes, this.offset + SRC_PORT);
  }
  get dstPort(): number {
    return u16(this.bytes, this.offset + DST_PORT);
  }
  /** Sequence number, unsigned 32-bit. */
  get seq(): number {
    return u32(this.bytes, this.offset + SEQ);
  }
  /** Acknowledgment number, unsigned 32-bit (meaningful when ACK is set). */
  get ack(): number {
    return u32(this.bytes, this.offset + ACK);
  }
  /** Header length in bytes (data offset × 4), 20–60. */
  get headerLength(): number {
    return ((this.bytes[this.offset + DATA_OFFSET] as number) >>> 4) * 4;
  }
  /** The 9 flag bits, NS as bit 8 (0x100) down to FIN as bit 0. */
  get flags(): number {
    return (((this.bytes[this.offset + DATA_OFFSET] as number) & 1) << 8) | (this.bytes[this.offset + FLAGS] as number);
  }
  /** The three reserved bits between the data offset and NS (should be zero). */
  get reserved(): number {
    return ((this.bytes[this.offset + DATA_OFFSET] as number) >>> 1) & 0x7;
  }
  get window(): number {
    return u16(this.bytes, this.offset + WINDOW);
  }
  get checksum(): number {
    return u16(this.bytes, this.offset + CHECKSUM);
  }
  get urgentPointer(): number {
    return u16(this.bytes, this.offset + URGENT);
  }
  /** The option bytes (zero-copy subarray; may be empty). */
  get optionsBytes(): Uint8Array {
    return this.bytes.subarray(this.offset + TCP_HEADER_MIN_LENGTH, this.offset + this.headerLength);
  }
  get optionsOffset(): number {
    return this.offset + TCP_HEADER_MIN_LENGTH;
  }
  get payloadOffset(): number {
    return this.offset + this.headerLength;
  }
  /** Payload bytes captured (up to `end`). */
  get payloadLength(): number {
    return this.end - this.payloadOffset;
  }
}

/** One SACK block (RFC 2018 §3): left edge inclusive, right edge exclusive, both sequence numbers. */
export interface TcpSackBlock {
  readonly left: number;
  readonly right: number;
}

/** An option of a kind this module does not interpret, kept verbatim (without kind and length bytes). */
export interface TcpUnknownOption {
  readonly kind: number;
  readonly data: Uint8Array;
}

export type TcpOption =
  | { readonly kind: "eol" }
  | { readonly kind: "nop" }
  | { readonly kind: "mss"; readonly value: number }
  | { readonly kind: "windowScale"; readonly shift: number }
  | { readonly kind: "sackPermitted" }
  | { readonly kind: "sack"; readonly blocks: readonly TcpSackBlock[] }
  | { readonly kind: "timestamps"; readonly value: number; readonly echo: number }
  | TcpUnknownOption;

const KIND_EOL = 0;
const KIND_NOP = 1;
const KIND_MSS = 2;
const KIND_WINDOW_SCALE = 3;
const KIND_SACK_PERMITTED = 4;
const KIND_SACK = 5;
const KIND_TIMESTAMPS = 8;

/** Option length each known kind must have (SACK: 2 + 8n, checked separately). */
function expectedLength(kind: number): number | undefined {
  switch (kind) {
    case KIND_MSS:
      return 4;
    case KIND_WINDOW_SCALE:
      return 3;
    case KIND_SACK_PERMITTED:
      return 2;
    case KIND_TIMESTAMPS:
      return 10;
    default:
      return undefined;
  }
}

/**
 * Parses the options in bytes[start, end). Parsing stops at EOL (RFC 9293 §3.2: what follows is
 * padding). Errors: a length byte missing or below 2, an option running past `end`, or a known kind
 * with the wrong length; each names the absolute offset of the offending byte.
 */
export function parseTcpOptions(bytes: Uint8Array, start: number, end: number): Result<TcpOption[], WireError> {
  const options: TcpOption[] = [];
  let i = start;
  while (i < end) {
    const kind = bytes[i] as number;
    if (kind === KIND_EOL) {
      options.push({ kind: "eol" });
      break;
    }
    if (kind === KIND_NOP) {
      options.push({ kind: "nop" });
      i += 1;
      continue;
    }
    if (i + 1 >= end) return wireError("tcp", "option.length", i + 1, `option kind ${kind} has no length byte`);
    const length = bytes[i + 1] as number;
    if (length < 2)
      return wireError("tcp", "option.length", i + 1, `option kind ${kind} has length ${length} (below 2)`);
    if (i + length > end) {
      return wireError("tcp", "option.length", i + 1, `option kind ${kind} of length ${length} runs past the header`);
    }
    const expected = expectedLength(kind);
    if (expected !== undefined && length !== expected) {
      return wireError("tcp", "option.length", i + 1, `option kind ${kind} has length ${length}, expected ${expected}`);
    }
    switch (kind) {
      case KIND_MSS:
        options.push({ kind: "mss", value: u16(bytes, i + 2) });
        break;
      case KIND_WINDOW_SCALE:
        options.push({ kind: "windowScale", shift: bytes[i + 2] as number });
        break;
      case KIND_SACK_PERMITTED:
        options.push({ kind: "sackPermitted" });
        break;
      case KIND_TIMESTAMPS:
        options.push({ kind: "timestamps", value: u32(bytes, i + 2), echo: u32(bytes, i + 6) });
        break;
      case KIND_SACK: {
        if (length < 10 || (length - 2) % 8 !== 0) {
          return wireError("tcp", "option.length", i + 1, `SACK option has length ${length}, expected 2 + 8n`);
        }
        const blocks: TcpSackBlock[] = [];
        for (let b = i + 2; b < i + length; b += 8) blocks.push({ left: u32(bytes, b), right: u32(bytes, b + 4) });
        options.push({ kind: "sack", blocks });
        break;
      }
      default:
        options.push({ kind, data: bytes.subarray(i + 2, i + length) });
    }
    i += length;
  }
  return ok(options);
}

/** Encoded size of one option in bytes. */
function optionLength(option: TcpOption): number {
  switch (option.kind) {
    case "eol":
    case "nop":
      return 1;
    case "mss":
      return 4;
    case "windowScale":
      return 3;
    case "sackPermitted":
      return 2;
    case "sack":
      return 2 + 8 * option.blocks.length;
    case "timestamps":
      return 10;
    default:
      return 2 + option.data.length;
  }
}

/** Encoded size of the options, padded with zeros to a multiple of 4. */
export function tcpOptionsLength(options: readonly TcpOption[]): number {
  let n = 0;
  for (const o of options) n += optionLength(o);
  return (n + 3) & ~3;
}

/** Header length (20 + padded options) that `emitTcpHeader` writes for `repr`. */
export function tcpHeaderLength(repr: Pick<TcpRepr, "options">): number {
  return TCP_HEADER_MIN_LENGTH + tcpOptionsLength(repr.options);
}

/** Writes the options at out[offset...], then zero padding to a multiple of 4; returns bytes written. */
export function emitTcpOptions(options: readonly TcpOption[], out: Uint8Array, offset: number): number {
  let i = offset;
  for (const o of options) {
    switch (o.kind) {
      case "eol":
        out[i++] = KIND_EOL;
        break;
      case "nop":
        out[i++] = KIND_NOP;
        break;
      case "mss":
        out[i] = KIND_MSS;
        out[i + 1] = 4;
        put16(out, i + 2, o.value);
        i += 4;
        break;
      case "windowScale":
        out[i] = KIND_WINDOW_SCALE;
        out[i + 1] = 3;
        out[i + 2] = o.shift;
        i += 3;
        break;
      case "sackPermitted":
        out[i] = KIND_SACK_PERMITTED;
        out[i + 1] = 2;
        i += 2;
        break;
      case "sack":
        out[i] = KIND_SACK;
        out[i + 1] = 2 + 8 * o.blocks.length;
        i += 2;
        for (const b of o.blocks) {
          put32(out, i, b.left);
          put32(out, i + 4, b.right);
          i += 8;
        }
        break;
      case "timestamps":
        out[i] = KIND_TIMESTAMPS;
        out[i + 1] = 10;
        put32(out, i + 2, o.value);
        put32(out, i + 6, o.echo);
        i += 10;
        break;
      default:
        out[i] = o.kind;
        out[i + 1] = 2 + o.data.length;
        out.set(o.data, i + 2);
        i += 2 + o.data.length;
    }
  }
  while ((i - offset) & 3) out[i++] = 0;
  return i - offset;
}

/** The meaningful fields of a TCP header. */
export interface TcpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  /** 9 flag bits (TCP_FIN … TCP_NS). */
  readonly flags: number;
  readonly window: number;
  readonly urgentPointer: number;
  readonly options: readonly TcpOption[];
  /** The checksum as read (used by emit in "keep" mode). */
  readonly checksum: number;
  /** Payload bytes after the header (as captured when parsed). */
  readonly payloadLength: number;
  /** The three reserved bits, present only when a parsed header had them set. */
  readonly reserved?: number;
}

/** Checks and parses a TCP header with its options (`end` as for `TcpView.check`). */
export function parseTcp(bytes: Uint8Array, offset = 0, end: number = bytes.length): Result<TcpRepr, WireError> {
  const checked = TcpView.check(bytes, offset, end);
  if (!checked.ok) return checked;
  return tcpReprFromView(checked.value);
}

/** Parses the options of an already-checked view into a repr. */
export function tcpReprFromView(view: TcpView): Result<TcpRepr, WireError> {
  const options = parseTcpOptions(view.bytes, view.optionsOffset, view.payloadOffset);
  if (!options.ok) return options;
  const base = {
    srcPort: view.srcPort,
    dstPort: view.dstPort,
    seq: view.seq,
    ack: view.ack,
    flags: view.flags,
    window: view.window,
    urgentPointer: view.urgentPointer,
    options: options.value,
    checksum: view.checksum,
    payloadLength: view.payloadLength,
  };
  const reserved = view.reserved;
  return ok(reserved === 0 ? base : { ...base, reserved });
}

/**
 * Writes the header for `repr` at out[offset...] and returns its length (`tcpHeaderLength(repr)`).
 * The payload (`repr.payloadLength` bytes) must already be in place right after the header when the
 * checksum is computed: mode "compute" and "wrong" need `addresses`; "keep" writes `repr.checksum`.
 * Throws RangeError when `out` is too small or the options do not fit in 40 bytes (a caller's bug,
 * never the result of parsing packet bytes).
 */
export function emitTcpHeader(
  repr: TcpRepr,
  out: Uint8Array,
  offset: number,
  addresses?: PseudoHeaderAddresses,
  mode: ChecksumMode = addresses === undefined ? "keep" : "compute",
): number {
  const headerLength = tcpHeaderLength(repr);
  if (headerLength > TCP_HEADER_MAX_LENGTH)
    throw new RangeError(`tcp: options need ${headerLength - 20} bytes (max 40)`);
  const needed = offset + headerLength + (mode === "keep" ? 0 : repr.payloadLength);
  if (offset < 0 || needed > out.length)
    throw new RangeError(`tcp: buffer of ${out.length} bytes cannot hold ${needed}`);
  put16(out, offset + SRC_PORT, repr.srcPort);
  put16(out, offset + DST_PORT, repr.dstPort);
  put32(out, offset + SEQ, repr.seq);
  put32(out, offset + ACK, repr.ack);
  out[offset + DATA_OFFSET] = ((headerLength / 4) << 4) | (((repr.reserved ?? 0) & 7) << 1) | ((repr.flags >>> 8) & 1);
  out[offset + FLAGS] = repr.flags & 0xff;
  put16(out, offset + WINDOW, repr.window);
  put16(out, offset + CHECKSUM, repr.checksum);
  put16(out, offset + URGENT, repr.urgentPointer);
  emitTcpOptions(repr.options, out, offset + TCP_HEADER_MIN_LENGTH);
  if (mode !== "keep") {
    if (addresses === undefined) throw new RangeError(`tcp: checksum mode "${mode}" needs pseudo-header addresses`);
    fillTcpChecksum(out, offset, offset + headerLength + repr.payloadLength, addresses, mode, repr.checksum);
  }
  return headerLength;
}

/** Fills the checksum of the segment out[start, end) (header + payload); returns the value written. */
export function fillTcpChecksum(
  out: Uint8Array,
  start: number,
  end: number,
  addresses: PseudoHeaderAddresses,
  mode: ChecksumMode = "compute",
  kept = 0,
): number {
  return fillTransportChecksum(addresses, IP_PROTOCOL_TCP, out, start, end, start + CHECKSUM, mode, kept);
}

/** True when the segment bytes[start, end) carries a correct checksum for `addresses`. */
export function verifyTcpChecksum(
  bytes: Uint8Array,
  start: number,
  end: number,
  addresses: PseudoHeaderAddresses,
): boolean {
  return verifyTransportChecksum(addresses, IP_PROTOCOL_TCP, bytes, start, end);
}
