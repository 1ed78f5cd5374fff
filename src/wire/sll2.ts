/**
 * Linux "cooked" capture header, version 2 (LINKTYPE_LINUX_SLL2 = 276), which adds the interface index
 * and puts the protocol first. 20 bytes, big-endian (tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html):
 *
 *   protocol (2) | reserved, must be zero (2) | interface index (4) | ARPHRD type (2) |
 *   packet type (1) | link-layer address length (1) | address (8, zero-padded)
 *
 * Packet type and ARPHRD values are those of SLL v1 (see sll.ts: SllPacketType, ArphrdType).
 */
import { ok, type Result } from "../base/result.ts";
import { type WireError, wireError } from "./error.ts";
import { formatLinkAddress } from "./ethernet.ts";
import { encodeSllAddress, SLL_ADDRESS_CAPACITY } from "./sll.ts";

export const SLL2_HEADER_LENGTH = 20;

export interface Sll2Repr {
  /** EtherType (or netlink protocol, or 1/4 for non-EtherType frames). */
  readonly protocol: number;
  /** The capturing interface's ifindex. */
  readonly interfaceIndex: number;
  readonly arphrdType: number;
  readonly packetType: number;
  /** The address length field as captured (may exceed 8; only 8 bytes are stored). */
  readonly addressLength: number;
  /** The first min(addressLength, 8) address bytes as colon-separated hex ("" when none). */
  readonly address: string;
}

const PROTOCOL = 0;
const RESERVED = 2;
const INTERFACE_INDEX = 4;
const ARPHRD = 8;
const PACKET_TYPE = 10;
const ADDRESS_LENGTH = 11;
const ADDRESS = 12;

export class Sll2View {
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly end: number;

  private constructor(bytes: Uint8Array, offset: number, end: number) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  static check(bytes: Uint8Array, offset = 0, end = bytes.length): Result<Sll2View, WireError> {
    if (offset < 0 || end > bytes.length || end - offset < SLL2_HEADER_LENGTH) {
      return wireError(
        "sll2",
        "header",
        offset,
        `header truncated (need ${SLL2_HEADER_LENGTH} bytes, have ${Math.max(0, end - offset)})`,
      );
    }
    return ok(new Sll2View(bytes, offset, end));
  }

  private u16(at: number): number {
    return ((this.bytes[this.offset + at] as number) << 8) | (this.bytes[this.offset + at + 1] as number);
  }

  get protocol(): number {
    return this.u16(PROTOCOL);
  }

  set protocol(value: number) {
    this.bytes[this.offset + PROTOCOL] = value >>> 8;
    this.bytes[this.offset + PROTOCOL + 1] = value & 0xff;
  }

  /** The reserved field; zero in a well-formed header. */
  get reserved(): number {
    return this.u16(RESERVED);
  }

  get interfaceIndex(): number {
    return ((this.u16(INTERFACE_INDEX) << 16) | this.u16(INTERFACE_INDEX + 2)) >>> 0;
  }

  get arphrdType(): number {
    return this.u16(ARPHRD);
  }

  get packetType(): number {
    return this.bytes[this.offset + PACKET_TYPE] as number;
  }

  get addressLength(): number {
    return this.bytes[this.offset + ADDRESS_LENGTH] as number;
  }

  /** The stored address bytes: min(addressLength, 8) of them (a subarray). */
  get address(): Uint8Array {
    const start = this.offset + ADDRESS;
    return this.bytes.subarray(start, start + Math.min(this.addressLength, SLL_ADDRESS_CAPACITY));
  }

  get payloadOffset(): number {
    return this.offset + SLL2_HEADER_LENGTH;
  }

  toRepr(): Sll2Repr {
    const length = this.addressLength;
    return {
      protocol: this.protocol,
      interfaceIndex: this.interfaceIndex,
      arphrdType: this.arphrdType,
      packetType: this.packetType,
      addressLength: length,
      address: formatLinkAddress(this.bytes, this.offset + ADDRESS, Math.min(length, SLL_ADDRESS_CAPACITY)),
    };
  }
}

export function parseSll2(bytes: Uint8Array, offset = 0, end = bytes.length): Result<Sll2Repr, WireError> {
  const view = Sll2View.check(bytes, offset, end);
  return view.ok ? ok(view.value.toRepr()) : view;
}

export function sll2HeaderLength(_repr?: Sll2Repr): number {
  return SLL2_HEADER_LENGTH;
}

/**
 * Writes the 20-byte header (reserved field zero, address zero-padded) and returns 20. Throws RangeError
 * when the address text is malformed or longer than 8 bytes, or a field is out of range.
 */
export function emitSll2Header(repr: Sll2Repr, out: Uint8Array, offset: number): number {
  if (offset < 0 || offset + SLL2_HEADER_LENGTH > out.length) throw new RangeError("sll2: output buffer too small");
  const address = encodeSllAddress("sll2", repr.address);
  for (const [value, max] of [
    [repr.protocol, 0xffff],
    [repr.interfaceIndex, 0xffffffff],
    [repr.arphrdType, 0xffff],
    [repr.packetType, 0xff],
    [repr.addressLength, 0xff],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError("sll2: field out of range");
  }
  out[offset + PROTOCOL] = repr.protocol >>> 8;
  out[offset + PROTOCOL + 1] = repr.protocol & 0xff;
  out[offset + RESERVED] = 0;
  out[offset + RESERVED + 1] = 0;
  out[offset + INTERFACE_INDEX] = repr.interfaceIndex >>> 24;
  out[offset + INTERFACE_INDEX + 1] = (repr.interfaceIndex >>> 16) & 0xff;
  out[offset + INTERFACE_INDEX + 2] = (repr.interfaceIndex >>> 8) & 0xff;
  out[offset + INTERFACE_INDEX + 3] = repr.interfaceIndex & 0xff;
  out[offset + ARPHRD] = repr.arphrdType >>> 8;
  out[offset + ARPHRD + 1] = repr.arphrdType & 0xff;
  out[offset + PACKET_TYPE] = repr.packetType;
  out[offset + ADDRESS_LENGTH] = repr.addressLength;
  out.fill(0, offset + ADDRESS, offset + ADDRESS + SLL_ADDRESS_CAPACITY);
  out.set(address, offset + ADDRESS);
  return SLL2_HEADER_LENGTH;
}
