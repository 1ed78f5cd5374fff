/**
 * Ethernet II frames (IEEE 802.3 with an EtherType) and stacked VLAN tags: IEEE 802.1Q C-TAGs (TPID
 * 0x8100), IEEE 802.1ad S-TAGs (0x88a8) and the pre-standard QinQ TPID 0x9100, to any depth. Each tag is
 * a 2-byte TPID and a 2-byte TCI: priority code point (3 bits), drop eligible indicator (1 bit) and VLAN id
 * (12 bits) (IEEE 802.1Q §9.6). The frame check sequence is not part of what captures hold and is not
 * handled here.
 *
 * Layout: dst(6) src(6) [TPID(2) TCI(2)]* Type/Length(2) payload. A Type/Length of 1500 or less is an
 * 802.3 length (the payload is LLC); `etherType` then reports that length as is (see ethertype.ts).
 *
 * MAC addresses in the repr are lower-case colon-separated text ("aa:bb:cc:dd:ee:ff"): readable in
 * traces and JSON, comparable with ===.
 */
import { ok, type Result, type Ok } from "../base/result.ts";
import { type WireError, wireError } from "./error.ts";
import { isVlanTpid } from "./ethertype.ts";

/** Destination, source and Type/Length. */
export const ETHERNET_HEADER_LENGTH = 14;
/** TPID plus TCI. */
export const VLAN_TAG_LENGTH = 4;

const DST = 0;
const SRC = 6;
const TYPE = 12;

export interface VlanTag {
  /** Tag protocol identifier: 0x8100, 0x88a8 or 0x9100. */
  readonly tpid: number;
  /** Priority code point, 0–7. */
  readonly pcp: number;
  /** Drop eligible indicator (formerly CFI). */
  readonly dei: boolean;
  /** VLAN identifier, 0–4095. */
  readonly vid: number;
}

export interface EthernetRepr {
  /** "aa:bb:cc:dd:ee:ff". */
  readonly dst: string;
  readonly src: string;
  /** Outermost first. */
  readonly tags: readonly VlanTag[];
  /** The Type/Length field after the tags. */
  readonly etherType: number;
}

/** A zero-copy view of an Ethernet II header and its VLAN tags, validated once by `check`. */
export class EthernetView implements Ok<EthernetView> {
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
  /** Number of VLAN tags between the source address and the Type/Length field. */
  declare readonly tagCount: number;

  private constructor(bytes: Uint8Array, offset: number, end: number, tagCount: number) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
    this.tagCount = tagCount;
  }

  /** Validates that the addresses, every tag and the final Type/Length are inside bytes[offset, end). */
  static check(bytes: Uint8Array, offset = 0, end = bytes.length): Result<EthernetView, WireError> {
    // The common case (an untagged frame) is kept small so that the JIT inlines it, and the view, into the
    // caller; tagged frames and faults take the full walk.
    if (untaggedFits(bytes, offset, end)) return new EthernetView(bytes, offset, end, 0);
    return EthernetView.checkTagged(bytes, offset, end, undefined);
  }

  /** A view for `recheck` to reuse, showing no bytes until a recheck passes. */
  static reusable(): EthernetView {
    return new EthernetView(NO_BYTES, 0, 0, 0);
  }

  /**
   * `check` without the allocation, for loops over many packets: validates bytes[offset, end) exactly as
   * `check` does and, when it passes, points this view there and returns it (offsets are not optional here:
   * a loop knows them, and defaults would cost the JIT's inlining budget in the hot path). A failed recheck returns the
   * error `check` gives and leaves the view as it was. What the view showed before is gone: copy what must
   * outlive the next recheck.
   */
  recheck(bytes: Uint8Array, offset: number, end: number): Result<EthernetView, WireError> {
    if (untaggedFits(bytes, offset, end)) return this.show(bytes, offset, end, 0);
    return EthernetView.checkTagged(bytes, offset, end, this);
  }

  /**
   * `check` (into a new view) or `recheck` (into `into`) for tagged frames and faults: walks the tags, and
   * gives the first fault in check order.
   */
  private static checkTagged(
    bytes: Uint8Array,
    offset: number,
    end: number,
    into: EthernetView | undefined,
  ): Result<EthernetView, WireError> {
    if (offset < 0 || end > bytes.length || end - offset < ETHERNET_HEADER_LENGTH) {
      return wireError(
        "ethernet",
        "header",
        offset,
        `frame truncated (need ${ETHERNET_HEADER_LENGTH} bytes, have ${Math.max(0, end - offset)})`,
      );
    }
    let at = offset + TYPE;
    let tags = 0;
    // Each tag consumes 4 bytes, so the walk ends within (end - offset) / 4 steps.
    while (isVlanTpid(((bytes[at] as number) << 8) | (bytes[at + 1] as number))) {
      if (at + VLAN_TAG_LENGTH + 2 > end) {
        return wireError("ethernet", `tags[${tags}]`, at, "VLAN tag truncated");
      }
      at += VLAN_TAG_LENGTH;
      tags++;
    }
    return into === undefined ? new EthernetView(bytes, offset, end, tags) : into.show(bytes, offset, end, tags);
  }

  /** Points the view at a checked header: the one place where a view changes. */
  private show(bytes: Uint8Array, offset: number, end: number, tagCount: number): this {
    const fields = this as { bytes: Uint8Array; offset: number; end: number; tagCount: number };
    // Packet after packet the buffer is the same one: skipping that store skips the GC's write barrier.
    if (fields.bytes !== bytes) fields.bytes = bytes;
    fields.offset = offset;
    fields.end = end;
    fields.tagCount = tagCount;
    return this;
  }

  /** Destination MAC address (a subarray of the frame). */
  get dst(): Uint8Array {
    return this.bytes.subarray(this.offset + DST, this.offset + DST + 6);
  }

  /** Source MAC address (a subarray of the frame). */
  get src(): Uint8Array {
    return this.bytes.subarray(this.offset + SRC, this.offset + SRC + 6);
  }

  /** The tags, outermost first (allocates; see tagTpid/tagVid for the allocation-free form). */
  get tags(): VlanTag[] {
    const out: VlanTag[] = [];
    for (let i = 0; i < this.tagCount; i++) out.push(this.tag(i));
    return out;
  }

  /** Tag `index` (0 = outermost). The caller keeps index < tagCount. */
  tag(index: number): VlanTag {
    const tci = this.tagTci(index);
    return { tpid: this.tagTpid(index), pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff };
  }

  tagTpid(index: number): number {
    const at = this.offset + TYPE + VLAN_TAG_LENGTH * index;
    return ((this.bytes[at] as number) << 8) | (this.bytes[at + 1] as number);
  }

  /** The tag control information word: PCP(3) DEI(1) VID(12). */
  tagTci(index: number): number {
    const at = this.offset + TYPE + VLAN_TAG_LENGTH * index + 2;
    return ((this.bytes[at] as number) << 8) | (this.bytes[at + 1] as number);
  }

  tagVid(index: number): number {
    return this.tagTci(index) & 0x0fff;
  }

  /** Offset of the Type/Length field that follows the tags. */
  get etherTypeOffset(): number {
    return this.offset + TYPE + VLAN_TAG_LENGTH * this.tagCount;
  }

  /** The Type/Length after the tags: an EtherType, or an 802.3 length when ≤ 1500. */
  get etherType(): number {
    // The field ends where the payload starts; written this way the getter stays small enough to inline.
    return u16(this.bytes, this.payloadOffset - 2);
  }

  set etherType(value: number) {
    const at = this.etherTypeOffset;
    this.bytes[at] = value >>> 8;
    this.bytes[at + 1] = value & 0xff;
  }

  get headerLength(): number {
    return ETHERNET_HEADER_LENGTH + VLAN_TAG_LENGTH * this.tagCount;
  }

  get payloadOffset(): number {
    return this.offset + this.headerLength;
  }

  setDst(mac: Uint8Array): void {
    this.bytes.set(mac.subarray(0, 6), this.offset + DST);
  }

  setSrc(mac: Uint8Array): void {
    this.bytes.set(mac.subarray(0, 6), this.offset + SRC);
  }

  /** Rewrites the VLAN id of tag `index`, keeping its PCP and DEI. */
  setTagVid(index: number, vid: number): void {
    const at = this.offset + TYPE + VLAN_TAG_LENGTH * index + 2;
    const tci = (this.tagTci(index) & 0xf000) | (vid & 0x0fff);
    this.bytes[at] = tci >>> 8;
    this.bytes[at + 1] = tci & 0xff;
  }

  toRepr(): EthernetRepr {
    return {
      dst: formatMac(this.bytes, this.offset + DST),
      src: formatMac(this.bytes, this.offset + SRC),
      tags: this.tags,
      etherType: this.etherType,
    };
  }
}

export function parseEthernet(bytes: Uint8Array, offset = 0, end = bytes.length): Result<EthernetRepr, WireError> {
  const view = EthernetView.check(bytes, offset, end);
  return view.ok ? ok(view.value.toRepr()) : view;
}

export function ethernetHeaderLength(repr: EthernetRepr): number {
  return ETHERNET_HEADER_LENGTH + VLAN_TAG_LENGTH * repr.tags.length;
}

/**
 * Writes the header (addresses, tags, Type/Length) at out[offset] and returns its length. Throws
 * RangeError for a repr that cannot be encoded (a malformed MAC text, a field out of range, or a tag
 * whose TPID is not a VLAN TPID, which a parser would not read back as a tag): reprs come from code,
 * not from the wire.
 */
export function emitEthernetHeader(repr: EthernetRepr, out: Uint8Array, offset: number): number {
  const length = ethernetHeaderLength(repr);
  if (offset < 0 || offset + length > out.length) throw new RangeError("ethernet: output buffer too small");
  writeMac(repr.dst, out, offset + DST);
  writeMac(repr.src, out, offset + SRC);
  let at = offset + TYPE;
  for (const tag of repr.tags) {
    if (!isVlanTpid(tag.tpid)) throw new RangeError(`ethernet: 0x${tag.tpid.toString(16)} is not a VLAN TPID`);
    if (!inRange(tag.pcp, 7) || !inRange(tag.vid, 0xfff))
      throw new RangeError("ethernet: VLAN PCP or VID out of range");
    const tci = (tag.pcp << 13) | (tag.dei ? 0x1000 : 0) | tag.vid;
    out[at] = tag.tpid >>> 8;
    out[at + 1] = tag.tpid & 0xff;
    out[at + 2] = tci >>> 8;
    out[at + 3] = tci & 0xff;
    at += VLAN_TAG_LENGTH;
  }
  if (!inRange(repr.etherType, 0xffff)) throw new RangeError("ethernet: etherType out of range");
  out[at] = repr.etherType >>> 8;
  out[at + 1] = repr.etherType & 0xff;
  return length;
}

const NO_BYTES = new Uint8Array(0);

/** The hot half of `check`: an untagged frame whose header lies in bytes[offset, end). */
function untaggedFits(bytes: Uint8Array, offset: number, end: number): boolean {
  return (
    offset >= 0 &&
    end <= bytes.length &&
    end - offset >= ETHERNET_HEADER_LENGTH &&
    !isVlanTpid(u16(bytes, offset + TYPE))
  );
}

function u16(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 8) | (b[i + 1] as number);
}

function inRange(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}

const HEX = "0123456789abcdef";

/** "aa:bb:cc:dd:ee:ff" for 6 bytes at `offset`. */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  return formatLinkAddress(bytes, offset, 6);
}

/** Colon-separated lower-case hex of `length` bytes at `offset` ("" for length 0). */
export function formatLinkAddress(bytes: Uint8Array, offset: number, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) {
    const b = bytes[offset + i] ?? 0;
    if (i > 0) text += ":";
    text += (HEX[b >>> 4] as string) + (HEX[b & 15] as string);
  }
  return text;
}

/**
 * Bytes of colon-separated hex text ("aa:bb:cc:dd:ee:ff", each part one or two hex digits; "" → no
 * bytes), or undefined when the text is malformed.
 */
export function parseLinkAddress(text: string): Uint8Array | undefined {
  if (text === "") return new Uint8Array(0);
  const parts = text.split(":");
  const out = new Uint8Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (!/^[0-9a-fA-F]{1,2}$/.test(part)) return undefined;
    out[i] = Number.parseInt(part, 16);
  }
  return out;
}

/** The 6 bytes of "aa:bb:cc:dd:ee:ff", or undefined when the text is not a MAC address. */
export function parseMac(text: string): Uint8Array | undefined {
  const bytes = parseLinkAddress(text);
  return bytes !== undefined && bytes.length === 6 ? bytes : undefined;
}

function writeMac(text: string, out: Uint8Array, offset: number): void {
  const mac = parseMac(text);
  if (mac === undefined) throw new RangeError(`ethernet: not a MAC address: ${JSON.stringify(text)}`);
  out.set(mac, offset);
}
