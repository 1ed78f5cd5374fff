/**
 * Linux "cooked" capture header, version 1 (LINKTYPE_LINUX_SLL = 113, DLT_LINUX_SLL), which libpcap
 * writes for captures on the "any" device and on interfaces without a usable link header. 16 bytes, all
 * big-endian (tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html):
 *
 *   packet type (2) | ARPHRD type (2) | link-layer address length (2) | address (8, zero-padded) | protocol (2)
 *
 * The protocol is an EtherType for most ARPHRD types; for ARPHRD_NETLINK it is the netlink protocol, and
 * the values 1 (Novell 802.3) and 4 (802.2 LLC) stand for frames without an EtherType.
 */
import { ok, type Result } from "../base/result.ts";
import { type WireError, wireError } from "./error.ts";
import { formatLinkAddress, parseLinkAddress } from "./ethernet.ts";

export const SLL_HEADER_LENGTH = 16;
/** Bytes reserved for the link-layer address in SLL and SLL2 headers. */
export const SLL_ADDRESS_CAPACITY = 8;

/** Where the packet went, as Linux's PACKET_* values (linux/if_packet.h). */
export const SllPacketType = {
  /** Sent to us. */
  Host: 0,
  Broadcast: 1,
  Multicast: 2,
  /** Sent to someone else (seen in promiscuous mode). */
  OtherHost: 3,
  /** Sent by us. */
  Outgoing: 4,
} as const;

/** ARPHRD_* link types seen in cooked captures (linux/if_arp.h). */
export const ArphrdType = {
  Ether: 1,
  Ieee802: 6,
  Ppp: 512,
  Tunnel: 768,
  Tunnel6: 769,
  Loopback: 772,
  Sit: 776,
  IpGre: 778,
  Ieee80211: 801,
  Ieee80211Radiotap: 803,
  Netlink: 824,
  Ip6Gre: 823,
  None: 0xfffe,
  Void: 0xffff,
} as const;

export interface SllRepr {
  readonly packetType: number;
  readonly arphrdType: number;
  /** The address length field as captured (may exceed 8; only 8 bytes are stored). */
  readonly addressLength: number;
  /** The first min(addressLength, 8) address bytes as colon-separated hex ("" when none). */
  readonly address: string;
  /** EtherType (or netlink protocol, or 1/4 for non-EtherType frames). */
  readonly protocol: number;
}

const PACKET_TYPE = 0;
const ARPHRD = 2;
const ADDRESS_LENGTH = 4;
const ADDRESS = 6;
const PROTOCOL = 14;

export class SllView {
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly end: number;

  private constructor(bytes: Uint8Array, offset: number, end: number) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  static check(bytes: Uint8Array, offset = 0, end = bytes.length): Result<SllView, WireError> {
    if (offset < 0 || end > bytes.length || end - offset < SLL_HEADER_LENGTH) {
      return wireError(
        "sll",
        "header",
        offset,
        `header truncated (need ${SLL_HEADER_LENGTH} bytes, have ${Math.max(0, end - offset)})`,
      );
    }
    return ok(new SllView(bytes, offset, end));
  }

  private u16(at: number): number {
    return ((this.bytes[this.offset + at] as number) << 8) | (this.bytes[this.offset + at + 1] as number);
  }

  get packetType(): number {
    return this.u16(PACKET_TYPE);
  }

  get arphrdType(): number {
    return this.u16(ARPHRD);
  }

  get addressLength(): number {
    return this.u16(ADDRESS_LENGTH);
  }

  /** The stored address bytes: min(addressLength, 8) of them (a subarray). */
  get address(): Uint8Array {
    const start = this.offset + ADDRESS;
    return this.bytes.subarray(start, start + Math.min(this.addressLength, SLL_ADDRESS_CAPACITY));
  }

  get protocol(): number {
    return this.u16(PROTOCOL);
  }

  set protocol(value: number) {
    this.bytes[this.offset + PROTOCOL] = value >>> 8;
    this.bytes[this.offset + PROTOCOL + 1] = value & 0xff;
  }

  get payloadOffset(): number {
    return this.offset + SLL_HEADER_LENGTH;
  }

  toRepr(): SllRepr {
    const length = this.addressLength;
    return {
      packetType: this.packetType,
      arphrdType: this.arphrdType,
      addressLength: length,
      address: formatLinkAddress(this.bytes, this.offset + ADDRESS, Math.min(length, SLL_ADDRESS_CAPACITY)),
      protocol: this.protocol,
    };
  }
}

export function parseSll(bytes: Uint8Array, offset = 0, end = bytes.length): Result<SllRepr, WireError> {
  const view = SllView.check(bytes, offset, end);
  return view.ok ? ok(view.value.toRepr()) : view;
}

export function sllHeaderLength(_repr?: SllRepr): number {
  return SLL_HEADER_LENGTH;
}

/**
 * Writes the 16-byte header and returns 16. Address bytes past the given address are zero. Throws
 * RangeError when the address text is malformed or longer than 8 bytes, or a field is out of range.
 */
export function emitSllHeader(repr: SllRepr, out: Uint8Array, offset: number): number {
  if (offset < 0 || offset + SLL_HEADER_LENGTH > out.length) throw new RangeError("sll: output buffer too small");
  const address = encodeSllAddress("sll", repr.address);
  for (const [value, max] of [
    [repr.packetType, 0xffff],
    [repr.arphrdType, 0xffff],
    [repr.addressLength, 0xffff],
    [repr.protocol, 0xffff],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError("sll: field out of range");
  }
  writeU16(out, offset + PACKET_TYPE, repr.packetType);
  writeU16(out, offset + ARPHRD, repr.arphrdType);
  writeU16(out, offset + ADDRESS_LENGTH, repr.addressLength);
  out.fill(0, offset + ADDRESS, offset + ADDRESS + SLL_ADDRESS_CAPACITY);
  out.set(address, offset + ADDRESS);
  writeU16(out, offset + PROTOCOL, repr.protocol);
  return SLL_HEADER_LENGTH;
}

/** The bytes of an SLL/SLL2 address text; throws RangeError when malformed or longer than 8 bytes. */
export function encodeSllAddress(protocol: string, text: string): Uint8Array {
  const bytes = parseLinkAddress(text);
  if (bytes === undefined || bytes.length > SLL_ADDRESS_CAPACITY) {
    throw new RangeError(`${protocol}: bad link-layer address ${JSON.stringify(text)}`);
  }
  return bytes;
}

function writeU16(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 8;
  out[at + 1] = value & 0xff;
}
