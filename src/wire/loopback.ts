/**
 * BSD loopback encapsulations: a 4-byte address family before the network-layer packet.
 *
 * - LINKTYPE_NULL (0): the family is in the byte order of the machine that wrote the capture, so a
 *   reader must accept both. Families are small numbers, so a value whose upper 16 bits are zero when
 *   read big-endian was written big-endian; otherwise it was written little-endian
 *   (tcpdump.org/linktypes/LINKTYPE_NULL.html).
 * - LINKTYPE_LOOP (108): OpenBSD's variant, always in network byte order.
 *
 * AF_INET is 2 everywhere; AF_INET6 differs by system: 24 (NetBSD, OpenBSD, BSD/OS), 28 (FreeBSD,
 * DragonFly BSD) and 30 (Darwin/macOS).
 */
import { ok, type Result } from "../base/result.ts";
import { type WireError, wireError } from "./error.ts";
import { EtherType } from "./ethertype.ts";

export const LOOPBACK_HEADER_LENGTH = 4;

export const LoopbackFamily = {
  Inet: 2,
  /** AF_INET6 on NetBSD, OpenBSD and BSD/OS. */
  Inet6Bsd: 24,
  /** AF_INET6 on FreeBSD and DragonFly BSD. */
  Inet6FreeBsd: 28,
  /** AF_INET6 on Darwin (macOS, iOS). */
  Inet6Darwin: 30,
} as const;

/** Which encapsulation: LINKTYPE_NULL (host byte order, either accepted) or LINKTYPE_LOOP (network order). */
export type LoopbackEncapsulation = "null" | "loop";

/** Byte order the family was written in. */
export type LoopbackByteOrder = "big" | "little";

export interface LoopbackRepr {
  readonly family: number;
  /** Always "big" for LINKTYPE_LOOP. */
  readonly byteOrder: LoopbackByteOrder;
}

export class LoopbackView {
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly end: number;
  readonly byteOrder: LoopbackByteOrder;

  private constructor(bytes: Uint8Array, offset: number, end: number, byteOrder: LoopbackByteOrder) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
    this.byteOrder = byteOrder;
  }

  static check(
    bytes: Uint8Array,
    offset = 0,
    end = bytes.length,
    encapsulation: LoopbackEncapsulation = "null",
  ): Result<LoopbackView, WireError> {
    if (offset < 0 || end > bytes.length || end - offset < LOOPBACK_HEADER_LENGTH) {
      return wireError(
        "loopback",
        "family",
        offset,
        `header truncated (need ${LOOPBACK_HEADER_LENGTH} bytes, have ${Math.max(0, end - offset)})`,
      );
    }
    const highZero = bytes[offset] === 0 && bytes[offset + 1] === 0;
    const byteOrder: LoopbackByteOrder = encapsulation === "loop" || highZero ? "big" : "little";
    return ok(new LoopbackView(bytes, offset, end, byteOrder));
  }

  /** The address family, read in the detected byte order. */
  get family(): number {
    const b = this.bytes;
    const o = this.offset;
    const value =
      this.byteOrder === "big"
        ? ((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)
        : ((b[o + 3] as number) << 24) | ((b[o + 2] as number) << 16) | ((b[o + 1] as number) << 8) | (b[o] as number);
    return value >>> 0;
  }

  /** The EtherType the family stands for (IPv4 or IPv6), or undefined for other families. */
  get etherType(): number | undefined {
    return loopbackFamilyEtherType(this.family);
  }

  get payloadOffset(): number {
    return this.offset + LOOPBACK_HEADER_LENGTH;
  }

  toRepr(): LoopbackRepr {
    return { family: this.family, byteOrder: this.byteOrder };
  }
}

export function parseLoopback(
  bytes: Uint8Array,
  offset = 0,
  end = bytes.length,
  encapsulation: LoopbackEncapsulation = "null",
): Result<LoopbackRepr, WireError> {
  const view = LoopbackView.check(bytes, offset, end, encapsulation);
  return view.ok ? ok(view.value.toRepr()) : view;
}

/** IPv4 for AF_INET, IPv6 for any of the BSD AF_INET6 values, else undefined. */
export function loopbackFamilyEtherType(family: number): number | undefined {
  if (family === LoopbackFamily.Inet) return EtherType.Ipv4;
  if (
    family === LoopbackFamily.Inet6Bsd ||
    family === LoopbackFamily.Inet6FreeBsd ||
    family === LoopbackFamily.Inet6Darwin
  ) {
    return EtherType.Ipv6;
  }
  return undefined;
}

export function loopbackHeaderLength(_repr?: LoopbackRepr): number {
  return LOOPBACK_HEADER_LENGTH;
}

/** Writes the 4-byte family in `repr.byteOrder` and returns 4. Throws RangeError for a family outside 32 bits. */
export function emitLoopbackHeader(repr: LoopbackRepr, out: Uint8Array, offset: number): number {
  if (offset < 0 || offset + LOOPBACK_HEADER_LENGTH > out.length) {
    throw new RangeError("loopback: output buffer too small");
  }
  const f = repr.family;
  if (!Number.isInteger(f) || f < 0 || f > 0xffffffff) throw new RangeError("loopback: family out of range");
  const bytes = [f >>> 24, (f >>> 16) & 0xff, (f >>> 8) & 0xff, f & 0xff];
  if (repr.byteOrder === "little") bytes.reverse();
  out.set(bytes, offset);
  return LOOPBACK_HEADER_LENGTH;
}
