/**
 * UDP header (RFC 768): view, repr, emit and checksum. Over IPv4 a checksum of 0 means "not computed";
 * a computed checksum of 0 is sent as 0xffff (RFC 768), which over IPv6 is mandatory because the
 * checksum may not be omitted there (RFC 8200 §8.1).
 */
import { ok, type Result, type Ok } from "../base/result.ts";
import type { ChecksumMode } from "./checksum.ts";
import { type WireError, wireError } from "./error.ts";
import {
  computeTransportChecksum,
  IP_PROTOCOL_UDP,
  type PseudoHeaderAddresses,
  verifyTransportChecksum,
  writeChecksumField,
} from "./transport-checksum.ts";

const SRC_PORT = 0;
const DST_PORT = 2;
const LENGTH = 4;
const CHECKSUM = 6;
export const UDP_HEADER_LENGTH = 8;

const NO_BYTES = new Uint8Array(0);

/** The hot half of `check`: the 8 header bytes lie in bytes[offset, end) and the length covers them. */
function udpHeaderFits(bytes: Uint8Array, offset: number, end: number): boolean {
  return (
    offset >= 0 &&
    end <= bytes.length &&
    end - offset >= UDP_HEADER_LENGTH &&
    u16(bytes, offset + LENGTH) >= UDP_HEADER_LENGTH
  );
}

function u16(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 8) | (b[i + 1] as number);
}

function put16(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
}

/**
 * A checked UDP header. `check` requires the 8 header bytes before `end` and a length field of at least
 * 8. A length larger than what is present (a capture cut short by its snap length) is not an error:
 * `truncated` reports it and `payloadEnd` stops at `end`. `end` should be the end of the IP payload as
 * captured.
 */
export class UdpView implements Ok<UdpView> {
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

  static check(bytes: Uint8Array, offset = 0, end: number = bytes.length): Result<UdpView, WireError> {
    // Kept small so that the JIT inlines it (and the view) into the caller; faults are in `fault`.
    if (udpHeaderFits(bytes, offset, end)) return new UdpView(bytes, offset, end);
    return UdpView.fault(bytes, offset, end, undefined);
  }

  /** A view for `recheck` to reuse, showing no bytes until a recheck passes. */
  static reusable(): UdpView {
    return new UdpView(NO_BYTES, 0, 0);
  }

  /**
   * `check` without the allocation, for loops over many packets: validates bytes[offset, end) exactly as
   * `check` does and, when it passes, points this view there and returns it (offsets are not optional here:
   * a loop knows them, and defaults would cost the JIT's inlining budget in the hot path). A failed recheck returns the
   * error `check` gives and leaves the view as it was. What the view showed before is gone: copy what must
   * outlive the next recheck.
   */
  recheck(bytes: Uint8Array, offset: number, end: number): Result<UdpView, WireError> {
    if (udpHeaderFits(bytes, offset, end)) return this.show(bytes, offset, end);
    return UdpView.fault(bytes, offset, end, this);
  }

  /** `check` (into a new view) or `recheck` (into `into`) for input the fast test refused, in check order. */
  private static fault(
    bytes: Uint8Array,
    offset: number,
    end: number,
    into: UdpView | undefined,
  ): Result<UdpView, WireError> {
    const limit = Math.min(end, bytes.length);
    if (offset < 0 || limit - offset < UDP_HEADER_LENGTH) return wireError("udp", "header", offset, "header truncated");
    const length = u16(bytes, offset + LENGTH);
    if (length < UDP_HEADER_LENGTH) {
      return wireError("udp", "length", offset + LENGTH, `length ${length} is below the header size 8`);
    }
    return into === undefined ? new UdpView(bytes, offset, limit) : into.show(bytes, offset, limit);
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
  /** The length field: header plus payload, as declared. */
  get length(): number {
    return u16(this.bytes, this.offset + LENGTH);
  }
  get checksum(): number {
    return u16(this.bytes, this.offset + CHECKSUM);
  }
  get payloadOffset(): number {
    return this.offset + UDP_HEADER_LENGTH;
  }
  /** End of the payload: offset + length, or `end` when fewer bytes were captured. */
  get payloadEnd(): number {
    return Math.min(this.offset + this.length, this.end);
  }
  /** True when the datagram declares more bytes than are present. */
  get truncated(): boolean {
    return this.offset + this.length > this.end;
  }
}

/** The meaningful fields of a UDP header. The length field is `8 + payloadLength`. */
export interface UdpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  /** The checksum as read (0 over IPv4: none). Written by emit in "keep" mode. */
  readonly checksum: number;
  /** Payload length as declared by the length field. */
  readonly payloadLength: number;
}

export function parseUdp(bytes: Uint8Array, offset = 0, end: number = bytes.length): Result<UdpRepr, WireError> {
  const checked = UdpView.check(bytes, offset, end);
  if (!checked.ok) return checked;
  const v = checked.value;
  return ok({ srcPort: v.srcPort, dstPort: v.dstPort, checksum: v.checksum, payloadLength: v.length - 8 });
}

/**
 * Writes the 8-byte header for `repr` at out[offset...] and returns 8. For "compute" and "wrong" the
 * payload must already follow the header and `addresses` is required; "keep" writes `repr.checksum`
 * (0 to send no checksum over IPv4). Throws RangeError when `out` is too small or the length exceeds
 * 65535 (a caller's bug).
 */
export function emitUdpHeader(
  repr: UdpRepr,
  out: Uint8Array,
  offset: number,
  addresses?: PseudoHeaderAddresses,
  mode: ChecksumMode = addresses === undefined ? "keep" : "compute",
): number {
  const length = UDP_HEADER_LENGTH + repr.payloadLength;
  if (length > 0xffff) throw new RangeError(`udp: length ${length} exceeds 65535`);
  const needed = offset + (mode === "keep" ? UDP_HEADER_LENGTH : length);
  if (offset < 0 || needed > out.length)
    throw new RangeError(`udp: buffer of ${out.length} bytes cannot hold ${needed}`);
  put16(out, offset + SRC_PORT, repr.srcPort);
  put16(out, offset + DST_PORT, repr.dstPort);
  put16(out, offset + LENGTH, length);
  put16(out, offset + CHECKSUM, repr.checksum);
  if (mode !== "keep") {
    if (addresses === undefined) throw new RangeError(`udp: checksum mode "${mode}" needs pseudo-header addresses`);
    fillUdpChecksum(out, offset, offset + length, addresses, mode, repr.checksum);
  }
  return UDP_HEADER_LENGTH;
}

/** The checksum to send for the datagram bytes[start, end): computed, with 0 sent as 0xffff. */
export function computeUdpChecksum(
  bytes: Uint8Array,
  start: number,
  end: number,
  addresses: PseudoHeaderAddresses,
): number {
  const c = computeTransportChecksum(addresses, IP_PROTOCOL_UDP, bytes, start, end, start + CHECKSUM);
  return c === 0 ? 0xffff : c;
}

/** Fills the checksum field of the datagram out[start, end) according to `mode`; returns the value written. */
export function fillUdpChecksum(
  out: Uint8Array,
  start: number,
  end: number,
  addresses: PseudoHeaderAddresses,
  mode: ChecksumMode = "compute",
  kept = 0,
): number {
  if (mode === "keep") return writeChecksumField(out, start + CHECKSUM, kept, mode, kept);
  return writeChecksumField(out, start + CHECKSUM, computeUdpChecksum(out, start, end, addresses), mode, kept);
}

/**
 * "none" when the field is 0 over IPv4 (no checksum sent), "good" when it verifies, "bad" otherwise
 * (a 0 over IPv6 is "bad": RFC 8200 §8.1 forbids omitting it).
 */
export type UdpChecksumStatus = "none" | "good" | "bad";

export function verifyUdpChecksum(
  bytes: Uint8Array,
  start: number,
  end: number,
  addresses: PseudoHeaderAddresses,
): UdpChecksumStatus {
  const field = u16(bytes, start + CHECKSUM);
  if (field === 0) return addresses.version === 4 ? "none" : "bad";
  return verifyTransportChecksum(addresses, IP_PROTOCOL_UDP, bytes, start, end) ? "good" : "bad";
}
