/**
 * IPv4 and IPv6 addresses and prefixes: parse, format (RFC 5952 text for IPv6), compare, and the
 * IPv4-mapped IPv6 form (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) that dual-stack sockets and WFP use.
 *
 * Addresses are immutable. An IPv4 address is held as an unsigned 32-bit number in network order
 * (`0x0a000001` is 10.0.0.1), which is also how WFP carries FWP_UINT32 remote addresses; an IPv6 address
 * is 16 bytes (FWP_BYTE_ARRAY16_TYPE).
 */
import { OpenWfpError } from "./errors.ts";

export class AddressError extends OpenWfpError {
  constructor(message: string, text: string) {
    super("E_INVALID_ADDRESS", `${message}: ${JSON.stringify(text)}`);
    this.name = "AddressError";
  }
}

export class Ipv4Address {
  readonly version = 4 as const;
  /** The address as an unsigned 32-bit integer, most significant byte first on the wire. */
  readonly value: number;

  constructor(value: number) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new AddressError("IPv4 address out of range", String(value));
    }
    this.value = value;
  }

  static readonly ANY = new Ipv4Address(0);
  static readonly LOOPBACK = new Ipv4Address(0x7f000001);
  static readonly BROADCAST = new Ipv4Address(0xffffffff);

  /** Parses dotted-quad text (exactly four decimal parts, 0–255, no leading zeros beyond "0"). */
  static parse(text: string): Ipv4Address {
    const value = parseIpv4Value(text);
    if (value === undefined) throw new AddressError("not an IPv4 address", text);
    return new Ipv4Address(value);
  }

  static tryParse(text: string): Ipv4Address | undefined {
    const value = parseIpv4Value(text);
    return value === undefined ? undefined : new Ipv4Address(value);
  }

  /** Reads 4 bytes in network order. The caller has checked the length. */
  static fromBytes(bytes: Uint8Array, offset = 0): Ipv4Address {
    return new Ipv4Address(readU32(bytes, offset));
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array(4);
    this.writeTo(out, 0);
    return out;
  }

  writeTo(bytes: Uint8Array, offset: number): void {
    bytes[offset] = this.value >>> 24;
    bytes[offset + 1] = (this.value >>> 16) & 0xff;
    bytes[offset + 2] = (this.value >>> 8) & 0xff;
    bytes[offset + 3] = this.value & 0xff;
  }

  /** The IPv4-mapped IPv6 address ::ffff:a.b.c.d. */
  toV4Mapped(): Ipv6Address {
    const bytes = new Uint8Array(16);
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    this.writeTo(bytes, 12);
    return new Ipv6Address(bytes);
  }

  isLoopback(): boolean {
    return this.value >>> 24 === 127;
  }

  isMulticast(): boolean {
    return this.value >>> 28 === 0xe;
  }

  isUnspecified(): boolean {
    return this.value === 0;
  }

  equals(other: IpAddress): boolean {
    return other.version === 4 && other.value === this.value;
  }

  compare(other: Ipv4Address): number {
    return this.value - other.value;
  }

  toString(): string {
    return formatIpv4(this.value);
  }

  toJSON(): string {
    return this.toString();
  }
}

export class Ipv6Address {
  readonly version = 6 as const;
  /** The 16 address bytes in network order. Never mutated after construction. */
  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    if (bytes.length !== 16) throw new AddressError("IPv6 address must be 16 bytes", `${bytes.length} bytes`);
    this.bytes = bytes;
  }

  static readonly ANY = new Ipv6Address(new Uint8Array(16));
  static readonly LOOPBACK = new Ipv6Address(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));

  /** Parses RFC 4291 §2.2 text: full, "::"-compressed, or with a trailing dotted quad. */
  static parse(text: string): Ipv6Address {
    const bytes = parseIpv6Bytes(text);
    if (bytes === undefined) throw new AddressError("not an IPv6 address", text);
    return new Ipv6Address(bytes);
  }

  static tryParse(text: string): Ipv6Address | undefined {
    const bytes = parseIpv6Bytes(text);
    return bytes === undefined ? undefined : new Ipv6Address(bytes);
  }

  /** Copies 16 bytes out of a buffer. The caller has checked the length. */
  static fromBytes(bytes: Uint8Array, offset = 0): Ipv6Address {
    return new Ipv6Address(bytes.slice(offset, offset + 16));
  }

  toBytes(): Uint8Array {
    return this.bytes.slice();
  }

  writeTo(bytes: Uint8Array, offset: number): void {
    bytes.set(this.bytes, offset);
  }

  /** True for ::ffff:0:0/96. */
  isV4Mapped(): boolean {
    for (let i = 0; i < 10; i++) if (this.bytes[i] !== 0) return false;
    return this.bytes[10] === 0xff && this.bytes[11] === 0xff;
  }

  /** The IPv4 address inside an IPv4-mapped address, or undefined. */
  toV4(): Ipv4Address | undefined {
    return this.isV4Mapped() ? new Ipv4Address(readU32(this.bytes, 12)) : undefined;
  }

  isLoopback(): boolean {
    return this.equals(Ipv6Address.LOOPBACK);
  }

  isMulticast(): boolean {
    return this.bytes[0] === 0xff;
  }

  isLinkLocal(): boolean {
    return this.bytes[0] === 0xfe && ((this.bytes[1] ?? 0) & 0xc0) === 0x80;
  }

  isUnspecified(): boolean {
    return this.bytes.every((b) => b === 0);
  }

  equals(other: IpAddress): boolean {
    if (other.version !== 6) return false;
    for (let i = 0; i < 16; i++) if (this.bytes[i] !== other.bytes[i]) return false;
    return true;
  }

  compare(other: Ipv6Address): number {
    for (let i = 0; i < 16; i++) {
      const d = (this.bytes[i] ?? 0) - (other.bytes[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  }

  /** RFC 5952 canonical text. */
  toString(): string {
    return formatIpv6(this.bytes);
  }

  toJSON(): string {
    return this.toString();
  }
}

export type IpAddress = Ipv4Address | Ipv6Address;

/** Parses either family: text with a ':' is IPv6, otherwise IPv4. */
export function parseIpAddress(text: string): IpAddress {
  return text.includes(":") ? Ipv6Address.parse(text) : Ipv4Address.parse(text);
}

export function tryParseIpAddress(text: string): IpAddress | undefined {
  return text.includes(":") ? Ipv6Address.tryParse(text) : Ipv4Address.tryParse(text);
}

/** An address prefix such as 10.0.0.0/8 or fe80::/10. Host bits in the address are kept as given. */
export class IpPrefix {
  readonly address: IpAddress;
  readonly length: number;

  constructor(address: IpAddress, length: number) {
    const max = address.version === 4 ? 32 : 128;
    if (!Number.isInteger(length) || length < 0 || length > max) {
      throw new AddressError(`prefix length must be 0–${max}`, `${address.toString()}/${length}`);
    }
    this.address = address;
    this.length = length;
  }

  /** Parses "ADDR/LEN"; a bare address is a host prefix (/32 or /128). */
  static parse(text: string): IpPrefix {
    const slash = text.indexOf("/");
    if (slash < 0) {
      const address = parseIpAddress(text);
      return new IpPrefix(address, address.version === 4 ? 32 : 128);
    }
    const lengthText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lengthText)) throw new AddressError("bad prefix length", text);
    return new IpPrefix(parseIpAddress(text.slice(0, slash)), Number(lengthText));
  }

  /** The prefix with host bits cleared. */
  network(): IpPrefix {
    return new IpPrefix(maskAddress(this.address, this.length), this.length);
  }

  contains(address: IpAddress): boolean {
    if (address.version !== this.address.version) return false;
    if (address.version === 4 && this.address.version === 4) {
      const mask = ipv4PrefixMask(this.length);
      return (address.value & mask) >>> 0 === (this.address.value & mask) >>> 0;
    }
    const a = (address as Ipv6Address).bytes;
    const b = (this.address as Ipv6Address).bytes;
    let bits = this.length;
    for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if (((a[i] ?? 0) & mask) !== ((b[i] ?? 0) & mask)) return false;
    }
    return true;
  }

  toString(): string {
    return `${this.address.toString()}/${this.length}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** The IPv4 netmask for a prefix length, as an unsigned 32-bit number (/0 → 0, /32 → 0xffffffff). */
export function ipv4PrefixMask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/** The address with every bit past `length` cleared. */
export function maskAddress(address: IpAddress, length: number): IpAddress {
  if (address.version === 4) return new Ipv4Address((address.value & ipv4PrefixMask(length)) >>> 0);
  const out = address.bytes.slice();
  for (let i = 0; i < 16; i++) {
    const bits = length - i * 8;
    const mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    out[i] = (out[i] ?? 0) & mask;
  }
  return new Ipv6Address(out);
}

/** Dotted-quad text of a 32-bit value. */
export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

/**
 * RFC 5952 text of 16 bytes read at `offset`: lower case, no leading zeros, the longest run of two or
 * more zero groups (the first on a tie) shortened to "::", and ::ffff:a.b.c.d for IPv4-mapped addresses.
 */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((bytes[offset + 2 * i] ?? 0) << 8) | (bytes[offset + 2 * i + 1] ?? 0));
  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  ) {
    return `::ffff:${formatIpv4(readU32(bytes, offset + 12))}`;
  }
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (g: number | undefined): string => (g ?? 0).toString(16);
  if (bestLength < 2) return groups.map(hex).join(":");
  const head = groups.slice(0, bestStart).map(hex).join(":");
  const tail = groups
    .slice(bestStart + bestLength)
    .map(hex)
    .join(":");
  return `${head}::${tail}`;
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (
    (((bytes[offset] ?? 0) << 24) |
      ((bytes[offset + 1] ?? 0) << 16) |
      ((bytes[offset + 2] ?? 0) << 8) |
      (bytes[offset + 3] ?? 0)) >>>
    0
  );
}

function parseIpv4Value(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

function parseIpv6Bytes(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  const doubleColon = text.indexOf("::");
  if (doubleColon >= 0 && text.indexOf("::", doubleColon + 1) >= 0) return undefined;
  const parseSide = (side: string, allowV4Tail: boolean): number[] | undefined => {
    if (side === "") return [];
    const pieces = side.split(":");
    const groups: number[] = [];
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] ?? "";
      if (allowV4Tail && i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4Value(piece);
        if (v4 === undefined) return undefined;
        groups.push(v4 >>> 16, v4 & 0xffff);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
      groups.push(Number.parseInt(piece, 16));
    }
    return groups;
  };
  let groups: number[];
  if (doubleColon >= 0) {
    const head = parseSide(text.slice(0, doubleColon), false);
    const tail = parseSide(text.slice(doubleColon + 2), true);
    if (head === undefined || tail === undefined) return undefined;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    const all = parseSide(text, true);
    if (all === undefined || all.length !== 8) return undefined;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >>> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}
