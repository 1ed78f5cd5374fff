/**
 * The Address Resolution Protocol (RFC 826) as carried in Ethernet frames of EtherType 0x0806: a zero-copy
 * view over any hardware/protocol pairing, and the parsed repr and emitter for the one pairing a host
 * resolves with, Ethernet (hardware type 1, RFC 826 "ar$hrd") and IPv4 (protocol type 0x0800).
 *
 *   0: hardware type | 2: protocol type | 4: hardware length | 5: protocol length | 6: operation |
 *   8: sender hardware address (hlen) | sender protocol address (plen) |
 *      target hardware address (hlen) | target protocol address (plen)
 *
 * For Ethernet/IPv4 the message is 28 bytes; the frame that carries it is padded to the 60-byte Ethernet
 * minimum, and the padding is not part of the message (`length` stops before it). Operation codes follow
 * IANA's "ARP Operation Codes" registry: 1 request and 2 reply (RFC 826), 3/4 RARP (RFC 903), 8/9 InARP
 * (RFC 2390); a parsed repr keeps any code as read. MAC addresses in the repr are lower-case
 * colon-separated text, as in `EthernetRepr`.
 */
import { Ipv4Address } from "../base/ip.ts";
import { ok, type Ok, type Result } from "../base/result.ts";
import { type WireError, wireError } from "./error.ts";
import { formatMac, parseMac } from "./ethernet.ts";
import { EtherType } from "./ethertype.ts";

const HTYPE = 0;
const PTYPE = 2;
const HLEN = 4;
const PLEN = 5;
const OPER = 6;
const SHA = 8;

/** The fixed part before the addresses: hardware type, protocol type, the two lengths and the operation. */
export const ARP_FIXED_LENGTH = 8;
/** A whole Ethernet/IPv4 message: 8 + 2 × (6 + 4). */
export const ARP_ETHERNET_IPV4_LENGTH = 28;
/** Hardware type of Ethernet (10 Mb and every later speed) in IANA's "Hardware Types" registry. */
export const ARP_HARDWARE_ETHERNET = 1;

/** Operation codes (IANA "ARP Operation Codes"). */
export const ArpOperation = {
  request: 1,
  reply: 2,
  /** RFC 903. */
  reverseRequest: 3,
  reverseReply: 4,
  /** RFC 2390. */
  inverseRequest: 8,
  inverseReply: 9,
} as const;

function u16(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 8) | (b[i + 1] as number);
}

function put16(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
}

/**
 * A checked ARP message. `check` requires the 8 fixed bytes and both address pairs (whose sizes the
 * hardware and protocol length fields give) before `end`; bytes after them (Ethernet padding) are
 * ignored. The address getters are subarrays of the message; `isEthernetIpv4` says whether the
 * Ethernet/IPv4 accessors (`senderIpv4`, `targetIpv4`, `toRepr`) apply.
 */
export class ArpView implements Ok<ArpView> {
  /** A checked view is its own successful result: `check` allocates one object, not two (hot path). */
  get ok(): true {
    return true;
  }

  /** The view itself (see `ok`). */
  get value(): this {
    return this;
  }

  declare readonly bytes: Uint8Array;
  declare readonly offset: number;
  declare readonly end: number;

  private constructor(bytes: Uint8Array, offset: number, end: number) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  static check(bytes: Uint8Array, offset = 0, end: number = bytes.length): Result<ArpView, WireError> {
    // Hot path kept small so that the JIT inlines it (and the view) into the caller; faults are in `fault`.
    const limit = Math.min(end, bytes.length);
    if (
      offset >= 0 &&
      limit - offset >= ARP_FIXED_LENGTH &&
      limit - offset >= ARP_FIXED_LENGTH + 2 * ((bytes[offset + HLEN] as number) + (bytes[offset + PLEN] as number))
    ) {
      return new ArpView(bytes, offset, limit);
    }
    return ArpView.fault(bytes, offset, limit);
  }

  /** `check` for input it refused: the first fault found, in check order. */
  private static fault(bytes: Uint8Array, offset: number, limit: number): Result<ArpView, WireError> {
    const have = Math.max(0, limit - offset);
    if (offset < 0 || have < ARP_FIXED_LENGTH) {
      return wireError("arp", "header", Math.max(0, offset), `header truncated (need 8 bytes, have ${have})`);
    }
    const need = ARP_FIXED_LENGTH + 2 * ((bytes[offset + HLEN] as number) + (bytes[offset + PLEN] as number));
    if (have < need) {
      return wireError("arp", "addresses", offset + SHA, `addresses truncated (need ${need} bytes, have ${have})`);
    }
    return new ArpView(bytes, offset, limit);
  }

  /** ar$hrd: 1 for Ethernet. */
  get hardwareType(): number {
    return u16(this.bytes, this.offset + HTYPE);
  }
  /** ar$pro: an EtherType, 0x0800 for IPv4. */
  get protocolType(): number {
    return u16(this.bytes, this.offset + PTYPE);
  }
  /** ar$hln: bytes in each hardware address (6 for Ethernet). */
  get hardwareLength(): number {
    return this.bytes[this.offset + HLEN] as number;
  }
  /** ar$pln: bytes in each protocol address (4 for IPv4). */
  get protocolLength(): number {
    return this.bytes[this.offset + PLEN] as number;
  }
  /** ar$op (see ArpOperation). */
  get operation(): number {
    return u16(this.bytes, this.offset + OPER);
  }
  set operation(value: number) {
    put16(this.bytes, this.offset + OPER, value);
  }
  /** The message's own length: 8 + 2 × (hlen + plen); padding after it is not counted. */
  get length(): number {
    return ARP_FIXED_LENGTH + 2 * (this.hardwareLength + this.protocolLength);
  }
  /** True for hardware type 1 with 6-byte addresses and protocol type IPv4 with 4-byte addresses. */
  get isEthernetIpv4(): boolean {
    return (
      this.hardwareType === ARP_HARDWARE_ETHERNET &&
      this.protocolType === EtherType.Ipv4 &&
      this.hardwareLength === 6 &&
      this.protocolLength === 4
    );
  }

  private get spaOffset(): number {
    return this.offset + SHA + this.hardwareLength;
  }
  private get thaOffset(): number {
    return this.spaOffset + this.protocolLength;
  }
  private get tpaOffset(): number {
    return this.thaOffset + this.hardwareLength;
  }

  /** ar$sha (a subarray of the message). */
  get senderHardwareAddress(): Uint8Array {
    return this.bytes.subarray(this.offset + SHA, this.spaOffset);
  }
  /** ar$spa (a subarray of the message). */
  get senderProtocolAddress(): Uint8Array {
    return this.bytes.subarray(this.spaOffset, this.thaOffset);
  }
  /** ar$tha (a subarray of the message; zeros in a request, as RFC 826 leaves it unset). */
  get targetHardwareAddress(): Uint8Array {
    return this.bytes.subarray(this.thaOffset, this.tpaOffset);
  }
  /** ar$tpa (a subarray of the message). */
  get targetProtocolAddress(): Uint8Array {
    return this.bytes.subarray(this.tpaOffset, this.tpaOffset + this.protocolLength);
  }

  /** The sender's IPv4 address as an unsigned 32-bit number (meaningful when `isEthernetIpv4`). */
  get senderIpv4(): number {
    return u32(this.bytes, this.spaOffset);
  }
  /** The target's IPv4 address as an unsigned 32-bit number (meaningful when `isEthernetIpv4`). */
  get targetIpv4(): number {
    return u32(this.bytes, this.tpaOffset);
  }

  /** The Ethernet/IPv4 repr, or an error value naming the field that makes it another pairing. */
  toRepr(): Result<ArpRepr, WireError> {
    const o = this.offset;
    if (this.hardwareType !== ARP_HARDWARE_ETHERNET) {
      return wireError("arp", "hardwareType", o + HTYPE, `hardware type ${this.hardwareType} is not Ethernet (1)`);
    }
    if (this.protocolType !== EtherType.Ipv4) {
      const text = `0x${this.protocolType.toString(16).padStart(4, "0")}`;
      return wireError("arp", "protocolType", o + PTYPE, `protocol type ${text} is not IPv4 (0x0800)`);
    }
    if (this.hardwareLength !== 6) {
      return wireError("arp", "hardwareLength", o + HLEN, `hardware length ${this.hardwareLength} is not 6`);
    }
    if (this.protocolLength !== 4) {
      return wireError("arp", "protocolLength", o + PLEN, `protocol length ${this.protocolLength} is not 4`);
    }
    return ok({
      operation: this.operation,
      senderMac: formatMac(this.bytes, o + SHA),
      senderIp: new Ipv4Address(this.senderIpv4),
      targetMac: formatMac(this.bytes, this.thaOffset),
      targetIp: new Ipv4Address(this.targetIpv4),
    });
  }
}

function u32(b: Uint8Array, i: number): number {
  return (
    (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) >>> 0
  );
}

/** An Ethernet/IPv4 ARP message. */
export interface ArpRepr {
  /** ArpOperation.request or .reply; any other code is kept as read. */
  readonly operation: number;
  /** ar$sha, "aa:bb:cc:dd:ee:ff". */
  readonly senderMac: string;
  /** ar$spa; 0.0.0.0 in an address probe (RFC 5227 §2.1.1). */
  readonly senderIp: Ipv4Address;
  /** ar$tha; "00:00:00:00:00:00" in a request. */
  readonly targetMac: string;
  /** ar$tpa. */
  readonly targetIp: Ipv4Address;
}

/** Parses an Ethernet/IPv4 ARP message at bytes[offset, end); any other pairing is an error value. */
export function parseArp(bytes: Uint8Array, offset = 0, end: number = bytes.length): Result<ArpRepr, WireError> {
  const checked = ArpView.check(bytes, offset, end);
  if (!checked.ok) return checked;
  return checked.value.toRepr();
}

/**
 * Writes the 28-byte Ethernet/IPv4 message for `repr` at out[offset...] and returns 28. Throws
 * RangeError when `out` is too small, a MAC text is malformed or the operation is outside 16 bits:
 * reprs come from code, not from the wire.
 */
export function emitArp(repr: ArpRepr, out: Uint8Array, offset: number): number {
  if (offset < 0 || offset + ARP_ETHERNET_IPV4_LENGTH > out.length) {
    throw new RangeError(`arp: buffer of ${out.length} bytes cannot hold ${offset + ARP_ETHERNET_IPV4_LENGTH}`);
  }
  if (!Number.isInteger(repr.operation) || repr.operation < 0 || repr.operation > 0xffff) {
    throw new RangeError(`arp: operation ${repr.operation} out of range`);
  }
  const sha = macBytes(repr.senderMac);
  const tha = macBytes(repr.targetMac);
  put16(out, offset + HTYPE, ARP_HARDWARE_ETHERNET);
  put16(out, offset + PTYPE, EtherType.Ipv4);
  out[offset + HLEN] = 6;
  out[offset + PLEN] = 4;
  put16(out, offset + OPER, repr.operation);
  out.set(sha, offset + SHA);
  repr.senderIp.writeTo(out, offset + SHA + 6);
  out.set(tha, offset + SHA + 10);
  repr.targetIp.writeTo(out, offset + SHA + 16);
  return ARP_ETHERNET_IPV4_LENGTH;
}

function macBytes(text: string): Uint8Array {
  const mac = parseMac(text);
  if (mac === undefined) throw new RangeError(`arp: not a MAC address: ${JSON.stringify(text)}`);
  return mac;
}
