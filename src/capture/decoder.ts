/**
 * The capture decoder: one state machine for pcap and pcapng that every reader shares (whole buffer,
 * streamed chunks, benchmark scan). The caller hands it a window `buf[pos, end)` of the file and whether the
 * file ends at `end`; `step` reads one record or block and says what it was, without allocating for packets:
 * the packet's fields are left on the decoder (`dataStart`, `capturedLength`, ...) until the next step.
 *
 * The format is sniffed from the magic, never from a file name. Faults become `CaptureError` values:
 * faults in the framing (truncation, bad lengths, bad headers) stop reading; faults inside a block whose
 * framing is intact (an EPB naming an unknown interface, data overrunning its block) skip that block.
 * Nothing is allocated from a length field: lengths above `MAX_CAPTURED_LENGTH` are rejected, and a record is
 * only handed out once all of its bytes are present.
 *
 * A pcap file header with a snap length of 0 is read on, with a non-fatal `E_CAPTURE_ZERO_SNAPLEN` naming
 * offset 16 (`pcap.header.snaplen`): the pcap format has no "no limit" value, and libpcap reads 0 as the
 * maximum for the link type (`pcapSnapLengthFallback`). In a pcapng IDB, SnapLen 0 means "no limit" by the
 * specification and is valid. Tolerated without an error: a captured length above the snap length or above the
 * original length (up to `MAX_CAPTURED_LENGTH`; records are never cut to the snap length), and pcap FCS bits in
 * the link-type field (reported as `fcsLength`).
 * Rejected like libpcap and Wireshark do: reserved link-type bits (0x03FF0000) set, pcap major version ≠ 2,
 * pcapng major version ≠ 1.
 */
import { formatIpv4, formatIpv6 } from "../base/ip.ts";
import { copyBytes, pad4, readI64, readU16, readU32 } from "./bytes.ts";
import { type CaptureError, type CaptureErrorCode, captureError } from "./error.ts";
import { findOption, OptionCode, optionText, parseOptions } from "./options.ts";
import { pcapFractionNs, pcapngTimestampNs, pcapTimestampNs, tsresolUnitsPerSecond } from "./timestamp.ts";
import type {
  CapturedPacket,
  CaptureFormat,
  InterfaceInfo,
  InterfaceStatistics,
  NameRecord,
  SectionInfo,
} from "./types.ts";

/** `step` read a packet: its fields are on the decoder. */
export const STEP_PACKET = 1;
/** `step` read a header or a non-packet block (or skipped a faulty block). */
export const STEP_OTHER = 2;
/** `step` needs `needed` bytes from `pos` before it can go on. */
export const STEP_NEED_MORE = 3;
/** Reading is over: clean end of file, or a fatal error (the last of `errors`). */
export const STEP_STOP = 4;

/** Largest captured length (and so record) accepted: 256 MiB. */
export const MAX_CAPTURED_LENGTH = 256 * 1024 * 1024;
/** Largest pcapng block accepted: a maximal packet plus room for headers and options. */
export const MAX_BLOCK_LENGTH = MAX_CAPTURED_LENGTH + 64 * 1024;

const STATE_START = 0;
const STATE_PCAP = 1;
const STATE_PCAPNG = 2;
const STATE_DONE = 3;

const BLOCK_PB = 0x00000002;
const BLOCK_IDB = 0x00000001;
const BLOCK_NRB = 0x00000004;
const BLOCK_ISB = 0x00000005;
const BLOCK_SPB = 0x00000003;
const BLOCK_EPB = 0x00000006;
const BLOCK_SHB = 0x0a0d0d0a;

/** libpcap's LT_RESERVED1 bits of the pcap link-type field: must be zero (libpcap and Wireshark reject it). */
const PCAP_LINKTYPE_RESERVED = 0x03ff0000;
/** LT_FCS_LENGTH_PRESENT; the FCS length in 16-bit words is then in the top 4 bits. */
const PCAP_FCS_PRESENT = 0x04000000;

/**
 * The snap length libpcap uses for a pcap file whose header says 0 (`pcap_adjust_snapshot` falls back to
 * `max_snaplen_for_dlt`): 128 MiB for DBUS (231), 1 MiB for USBPCAP (249), 8 MiB for EBHSCR (279), 262144
 * (MAXIMUM_SNAPLEN) for every other link type.
 */
export function pcapSnapLengthFallback(linkType: number): number {
  switch (linkType) {
    case 231:
      return 128 * 1024 * 1024;
    case 249:
      return 1024 * 1024;
    case 279:
      return 8 * 1024 * 1024;
    default:
      return 262144;
  }
}

export class CaptureDecoder {
  format: CaptureFormat | undefined = undefined;
  readonly interfaces: InterfaceInfo[] = [];
  readonly sections: SectionInfo[] = [];
  readonly nameRecords: NameRecord[] = [];
  readonly statistics: InterfaceStatistics[] = [];
  readonly errors: CaptureError[] = [];

  /** File offset of `buf[0]` for the next `step` (error offsets are file offsets). */
  base = 0;
  /** Bytes used by the last STEP_PACKET / STEP_OTHER. */
  consumed = 0;
  /** Bytes needed from `pos` after STEP_NEED_MORE. */
  needed = 0;

  /** Packets read so far; the index of the last packet. */
  packetCount = 0;
  /** Last packet: position of its data in `buf`, lengths, interface, link type and raw timestamp. */
  dataStart = 0;
  capturedLength = 0;
  originalLength = 0;
  interfaceId = 0;
  linkType = 0;
  /** pcap: seconds and the wrapped ns fraction; pcapng: high and low 32 bits of the unit count. */
  tsHigh = 0;
  tsLow = 0;
  /** False for Simple Packet Blocks, which carry no timestamp. */
  hasTimestamp = true;

  /** pcap only: the file's byte order and link type, for the scan fast path. */
  littleEndian = true;
  private state = STATE_START;
  private nanosecond = false;

  private sectionLittleEndian = true;
  private sectionFirstInterface = 0;
  private readonly ifUnits: bigint[] = [];
  private readonly ifOffset: bigint[] = [];

  /** True while reading pcap records (the scan reads those inline). */
  get inPcapRecords(): boolean {
    return this.state === STATE_PCAP;
  }

  /** True once reading is over (clean end or fatal fault). */
  get done(): boolean {
    return this.state === STATE_DONE;
  }

  /** Reads one record or block from `buf[pos, end)`; `eof` says the file ends at `end`. */
  step(buf: Uint8Array, pos: number, end: number, eof: boolean): number {
    switch (this.state) {
      case STATE_PCAP:
        return this.pcapRecord(buf, pos, end, eof);
      case STATE_PCAPNG:
        return this.pcapngBlock(buf, pos, end, eof);
      case STATE_START:
        return this.fileHeader(buf, pos, end, eof);
      default:
        return STEP_STOP;
    }
  }

  /** pcap only: the fractions of the file's timestamps are nanoseconds (magic a1b23c4d), not microseconds. */
  get pcapNanosecond(): boolean {
    return this.nanosecond;
  }

  /** The last packet's timestamp in ns since the epoch (0n for a Simple Packet Block). */
  timestampNs(): bigint {
    return this.hasTimestamp ? this.timestampOf(this.interfaceId, this.tsHigh, this.tsLow) : 0n;
  }

  /** A raw timestamp (`tsHigh`, `tsLow` as a packet of `interfaceId` leaves them) in ns since the epoch. */
  timestampOf(interfaceId: number, high: number, low: number): bigint {
    if (this.format === "pcap") return pcapTimestampNs(high, low);
    return pcapngTimestampNs(high, low, this.ifUnits[interfaceId] ?? 1_000_000n, this.ifOffset[interfaceId] ?? 0n);
  }

  /** The last packet as a value; `copy` makes `data` own its bytes (needed when `buf` is reused). */
  packet(buf: Uint8Array, copy: boolean): CapturedPacket {
    const start = this.dataStart;
    const end = start + this.capturedLength;
    return {
      index: this.packetCount,
      interfaceId: this.interfaceId,
      linkType: this.linkType,
      timestampNs: this.timestampNs(),
      originalLength: this.originalLength,
      capturedLength: this.capturedLength,
      data: copy ? copyBytes(buf, start, end) : buf.subarray(start, end),
    };
  }

  /** Records a truncation at file end, for a reader that learns of the end some other way. */
  truncatedAt(offset: number, field: string): number {
    return this.fail("E_CAPTURE_TRUNCATED", "file ends inside a record", offset, field);
  }

  // ---- helpers --------------------------------------------------------------------------------------

  private fail(code: CaptureErrorCode, message: string, offset: number, field: string): number {
    this.errors.push(captureError(code, message, offset, field, true));
    this.state = STATE_DONE;
    return STEP_STOP;
  }

  private skip(code: CaptureErrorCode, message: string, offset: number, field: string, length: number): number {
    this.errors.push(captureError(code, message, offset, field, false));
    this.consumed = length;
    return STEP_OTHER;
  }

  private short(pos: number, needed: number, eof: boolean, what: string, field: string): number {
    if (!eof) {
      this.needed = needed;
      return STEP_NEED_MORE;
    }
    return this.fail(
      "E_CAPTURE_TRUNCATED",
      `file ends inside the ${what} (${needed} bytes needed)`,
      this.base + pos,
      field,
    );
  }

  // ---- file header ----------------------------------------------------------------------------------

  private fileHeader(buf: Uint8Array, pos: number, end: number, eof: boolean): number {
    const avail = end - pos;
    if (avail < 4) return this.short(pos, 4, eof, "magic number", "magic");
    if (buf[pos] === 0x0a && buf[pos + 1] === 0x0d && buf[pos + 2] === 0x0d && buf[pos + 3] === 0x0a) {
      this.format = "pcapng";
      this.state = STATE_PCAPNG;
      return this.pcapngBlock(buf, pos, end, eof);
    }
    const magic = readU32(buf, pos, true);
    let le: boolean;
    let nano: boolean;
    if (magic === 0xa1b2c3d4) [le, nano] = [true, false];
    else if (magic === 0xa1b23c4d) [le, nano] = [true, true];
    else if (magic === 0xd4c3b2a1) [le, nano] = [false, false];
    else if (magic === 0x4d3cb2a1) [le, nano] = [false, true];
    else {
      const hex = magic.toString(16).padStart(8, "0");
      return this.fail("E_CAPTURE_BAD_MAGIC", `not a pcap or pcapng file (magic 0x${hex})`, this.base + pos, "magic");
    }
    if (avail < 24) return this.short(pos, 24, eof, "pcap file header", "pcap.header");
    const versionMajor = readU16(buf, pos + 4, le);
    const versionMinor = readU16(buf, pos + 6, le);
    if (versionMajor !== 2) {
      return this.fail(
        "E_CAPTURE_BAD_HEADER",
        `pcap version ${versionMajor}.${versionMinor} is not supported`,
        this.base + pos + 4,
        "pcap.header.versionMajor",
      );
    }
    let snapLength = readU32(buf, pos + 16, le);
    const linkTypeField = readU32(buf, pos + 20, le);
    if ((linkTypeField & PCAP_LINKTYPE_RESERVED) !== 0) {
      const hex = linkTypeField.toString(16).padStart(8, "0");
      return this.fail(
        "E_CAPTURE_BAD_HEADER",
        `reserved bits of the link-type field are not zero (0x${hex})`,
        this.base + pos + 20,
        "pcap.header.linkType",
      );
    }
    if (snapLength === 0) {
      snapLength = pcapSnapLengthFallback(linkTypeField & 0xffff);
      this.errors.push(
        captureError(
          "E_CAPTURE_ZERO_SNAPLEN",
          `zero snap length, read as ${snapLength} as libpcap does; every record is still read in full`,
          this.base + pos + 16,
          "pcap.header.snaplen",
          false,
        ),
      );
    }
    this.format = "pcap";
    this.littleEndian = le;
    this.nanosecond = nano;
    this.linkType = linkTypeField & 0xffff;
    const fcs = (linkTypeField & PCAP_FCS_PRESENT) !== 0 ? (linkTypeField >>> 28) * 2 : undefined;
    this.sections.push({
      offset: this.base + pos,
      byteOrder: le ? "little" : "big",
      versionMajor,
      versionMinor,
      options: [],
    });
    const units = nano ? 1_000_000_000n : 1_000_000n;
    this.interfaces.push({
      id: 0,
      section: 0,
      sectionInterfaceId: 0,
      linkType: this.linkType,
      snapLength,
      timestampUnitsPerSecond: units,
      timestampOffsetSeconds: 0n,
      ...(fcs !== undefined ? { fcsLength: fcs } : {}),
      options: [],
    });
    this.ifUnits.push(units);
    this.ifOffset.push(0n);
    this.state = STATE_PCAP;
    this.consumed = 24;
    return STEP_OTHER;
  }

  // ---- pcap records ---------------------------------------------------------------------------------

  private pcapRecord(buf: Uint8Array, pos: number, end: number, eof: boolean): number {
    const avail = end - pos;
    if (avail === 0 && eof) {
      this.state = STATE_DONE;
      return STEP_STOP;
    }
    if (avail < 16) return this.short(pos, 16, eof, "record header", "pcap.record.header");
    const le = this.littleEndian;
    const captured = readU32(buf, pos + 8, le);
    if (captured > MAX_CAPTURED_LENGTH) {
      return this.fail(
        "E_CAPTURE_TOO_LARGE",
        `captured length ${captured} is over the ${MAX_CAPTURED_LENGTH}-byte limit`,
        this.base + pos + 8,
        "pcap.record.caplen",
      );
    }
    if (avail < 16 + captured) return this.short(pos, 16 + captured, eof, "record data", "pcap.record.data");
    this.tsHigh = readU32(buf, pos, le);
    this.tsLow = pcapFractionNs(readU32(buf, pos + 4, le), this.nanosecond);
    this.capturedLength = captured;
    this.originalLength = readU32(buf, pos + 12, le);
    this.dataStart = pos + 16;
    this.interfaceId = 0;
    this.hasTimestamp = true;
    this.packetCount++;
    this.consumed = 16 + captured;
    return STEP_PACKET;
  }

  // ---- pcapng blocks --------------------------------------------------------------------------------

  private pcapngBlock(buf: Uint8Array, pos: number, end: number, eof: boolean): number {
    const avail = end - pos;
    if (avail === 0 && eof) {
      this.state = STATE_DONE;
      return STEP_STOP;
    }
    if (avail < 8) return this.short(pos, 8, eof, "block header", "pcapng.block.header");
    const isShb = buf[pos] === 0x0a && buf[pos + 1] === 0x0d && buf[pos + 2] === 0x0d && buf[pos + 3] === 0x0a;
    let le = this.sectionLittleEndian;
    if (isShb) {
      if (avail < 12) return this.short(pos, 12, eof, "section header", "pcapng.shb.byteOrderMagic");
      const bom = readU32(buf, pos + 8, true);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else {
        const hex = bom.toString(16).padStart(8, "0");
        return this.fail(
          "E_CAPTURE_BAD_MAGIC",
          `bad byte-order magic 0x${hex} in section header`,
          this.base + pos + 8,
          "pcapng.shb.byteOrderMagic",
        );
      }
    }
    const type = isShb ? BLOCK_SHB : readU32(buf, pos, le);
    const length = readU32(buf, pos + 4, le);
    if (length < 12 || length % 4 !== 0) {
      return this.fail(
        "E_CAPTURE_BAD_BLOCK_LENGTH",
        `block length ${length} is ${length < 12 ? "below 12" : "not a multiple of 4"}`,
        this.base + pos + 4,
        "pcapng.block.length",
      );
    }
    if (length > MAX_BLOCK_LENGTH) {
      return this.fail(
        "E_CAPTURE_TOO_LARGE",
        `block length ${length} is over the ${MAX_BLOCK_LENGTH}-byte limit`,
        this.base + pos + 4,
        "pcapng.block.length",
      );
    }
    if (avail < length) return this.short(pos, length, eof, `block of ${length} bytes`, "pcapng.block");
    const trailing = readU32(buf, pos + length - 4, le);
    if (trailing !== length) {
      return this.fail(
        "E_CAPTURE_BAD_BLOCK_LENGTH",
        `trailing block length ${trailing} differs from leading length ${length}`,
        this.base + pos + length - 4,
        "pcapng.block.trailingLength",
      );
    }
    this.consumed = length;
    switch (type) {
      case BLOCK_EPB:
        return this.enhancedPacket(buf, pos, length, le);
      case BLOCK_SHB:
        return this.sectionHeader(buf, pos, length, le);
      case BLOCK_IDB:
        return this.interfaceDescription(buf, pos, length, le);
      case BLOCK_SPB:
        return this.simplePacket(buf, pos, length, le);
      case BLOCK_PB:
        return this.obsoletePacket(buf, pos, length, le);
      case BLOCK_ISB:
        return this.interfaceStatistics(buf, pos, length, le);
      case BLOCK_NRB:
        return this.nameResolution(buf, pos, length, le);
      default:
        // Custom blocks (0x00000BAD, 0x40000BAD), Decryption Secrets, systemd Journal and any unknown type:
        // skipped by their length, which the trailer has just confirmed.
        return STEP_OTHER;
    }
  }

  private sectionHeader(buf: Uint8Array, pos: number, length: number, le: boolean): number {
    if (length < 28) {
      return this.fail(
        "E_CAPTURE_BAD_BLOCK",
        `section header of ${length} bytes (28 needed)`,
        this.base + pos + 4,
        "pcapng.shb.length",
      );
    }
    const versionMajor = readU16(buf, pos + 12, le);
    const versionMinor = readU16(buf, pos + 14, le);
    if (versionMajor !== 1) {
      return this.fail(
        "E_CAPTURE_BAD_HEADER",
        `pcapng version ${versionMajor}.${versionMinor} is not supported`,
        this.base + pos + 12,
        "pcapng.shb.versionMajor",
      );
    }
    const options = parseOptions(buf, pos + 24, pos + length - 4, le, this.base, "pcapng.shb.option", this.errors);
    this.sections.push({
      offset: this.base + pos,
      byteOrder: le ? "little" : "big",
      versionMajor,
      versionMinor,
      sectionLength: readI64(buf, pos + 16, le),
      options,
    });
    this.sectionLittleEndian = le;
    this.sectionFirstInterface = this.interfaces.length;
    return STEP_OTHER;
  }

  private interfaceDescription(buf: Uint8Array, pos: number, length: number, le: boolean): number {
    // An IDB we cannot read would shift every later interface ID of the section: stop rather than guess.
    if (length < 20) {
      return this.fail(
        "E_CAPTURE_BAD_BLOCK",
        `interface description of ${length} bytes (20 needed)`,
        this.base + pos + 4,
        "pcapng.idb.length",
      );
    }
    const linkType = readU16(buf, pos + 8, le);
    const snapLength = readU32(buf, pos + 12, le);
    const options = parseOptions(buf, pos + 16, pos + length - 4, le, this.base, "pcapng.idb.option", this.errors);
    const tsresol = findOption(options, OptionCode.IF_TSRESOL);
    const units =
      tsresol !== undefined && tsresol.value.length >= 1 ? tsresolUnitsPerSecond(tsresol.value[0]!) : 1_000_000n;
    const tsoffset = findOption(options, OptionCode.IF_TSOFFSET);
    const offset = tsoffset !== undefined && tsoffset.value.length === 8 ? readI64(tsoffset.value, 0, le) : 0n;
    const name = findOption(options, OptionCode.IF_NAME);
    const description = findOption(options, OptionCode.IF_DESCRIPTION);
    const fcs = findOption(options, OptionCode.IF_FCSLEN);
    const id = this.interfaces.length;
    this.interfaces.push({
      id,
      section: this.sections.length - 1,
      sectionInterfaceId: id - this.sectionFirstInterface,
      linkType,
      snapLength,
      timestampUnitsPerSecond: units,
      timestampOffsetSeconds: offset,
      // if_fcslen is in bits (pcapng draft §4.2); we report bytes like the pcap header's FCS field.
      ...(fcs !== undefined && fcs.value.length >= 1 ? { fcsLength: fcs.value[0]! >>> 3 } : {}),
      ...(name !== undefined ? { name: optionText(name.value) } : {}),
      ...(description !== undefined ? { description: optionText(description.value) } : {}),
      options,
    });
    this.ifUnits.push(units);
    this.ifOffset.push(offset);
    return STEP_OTHER;
  }

  /** Global interface id for a section-local one, or -1 (after recording a skip) when it does not exist. */
  private resolveInterface(local: number, pos: number, fieldOffset: number, field: string, length: number): number {
    const global = this.sectionFirstInterface + local;
    if (local >= this.interfaces.length - this.sectionFirstInterface) {
      this.skip(
        "E_CAPTURE_UNKNOWN_INTERFACE",
        `interface ${local} is not described in this section`,
        this.base + pos + fieldOffset,
        field,
        length,
      );
      return -1;
    }
    return global;
  }

  private enhancedPacket(buf: Uint8Array, pos: number, length: number, le: boolean): number {
    if (length < 32) {
      return this.skip(
        "E_CAPTURE_BAD_BLOCK",
        `enhanced packet block of ${length} bytes (32 needed)`,
        this.base + pos + 4,
        "pcapng.epb.length",
        length,
      );
    }
    const captured = readU32(buf, pos + 20, le);
    if (captured > length - 32) {
      return this.skip(
        "E_CAPTURE_BAD_BLOCK",
        `captured length ${captured} does not fit in a block of ${length} bytes`,
        this.base + pos + 20,
        "pcapng.epb.caplen",
        length,
      );
    }
    const id = this.resolveInterface(readU32(buf, pos + 8, le), pos, 8, "pcapng.epb.interfaceId", length);
    if (id < 0) return STEP_OTHER;
    this.interfaceId = id;
    this.linkType = this.interfaces[id]!.linkType;
    this.tsHigh = readU32(buf, pos + 12, le);
    this.tsLow = readU32(buf, pos + 16, le);
    this.hasTimestamp = true;
    this.capturedLength = captured;
    this.originalLength = readU32(buf, pos + 24, le);
    this.dataStart = pos + 28;
    this.packetCount++;
    return STEP_PACKET;
  }

  private obsoletePacket(buf: Uint8Array, pos: number, length: number, le: boolean): number {
    if (length < 32) {
      return this.skip(
        "E_CAPTURE_BAD_BLOCK",
        `packet block of ${length} bytes (32 needed)`,
        this.base + pos + 4,
        "pcapng.pb.length",
        length,
      );
    }
    const captured = readU32(buf, pos + 20, le);
    if (captured > length - 32) {
      return this.skip(
        "E_CAPTURE_BAD_BLOCK",
        `captured length ${captured} does not fit in a block of ${length} bytes`,
        this.base + pos + 20,
        "pcapng.pb.caplen",
        length,
      );
    }
    const id = this.resolveInterface(readU16(buf, pos + 8, le), pos, 8, "pcapng.pb.interfaceId", length);
    if (id < 0) return STEP_OTHER;
    this.interfaceId = id;
    this.linkType = this.interfaces[id]!.linkType;
    this.tsHigh = readU32(buf, pos + 12, le);
    this.tsLow = readU32(buf, pos + 16, le);
    this.hasTimestamp = true;
    this.capturedLength = captured;
    this.originalLength = readU32(buf, pos + 24, le);
    this.dataStart = pos + 28;
    this.packetCount++;
    return STEP_PACKET;
  }

  /**
   * Simple Packet Block (pcapng draft §4.4): interface 0 of the section, no timestamp, only the original
   * length; the captured length is the smallest of the original length, the snap length (0 = none) and the
   * room the block leaves for data.
   */
  private simplePacket(buf: Uint8Array, pos: number, length: number, le: boolean): number {
    if (length < 16) {
      return this.skip(
        "E_CAPTURE_BAD_BLOCK",
        `simple packet block of ${length} bytes (16 needed)`,
        this.base + pos + 4,
        "pcapng.spb.length",
        length,
      );
    }
    const id = this.resolveInterface(0, pos, 0, "pcapng.spb", length);
    if (id < 0) return STEP_OTHER;
    const iface = this.interfaces[id]!;
    const original = readU32(buf, pos + 8, le);
    let captured = Math.min(original, length - 16);
    if (iface.snapLength !== 0 && iface.snapLength < captured) captured = iface.snapLength;
    this.interfaceId = id;
    this.linkType = iface.linkType;
    this.tsHigh = 0;
    this.tsLow = 0;
    this.hasTimestamp = false;
    this.capturedLength = captured;
    this.originalLength = original;
    this.dataStart = pos + 12;
    this.packetCount++;
    return STEP_PACKET;
  }

  private interfaceStatistics(buf: Uint8Array, pos: number, length: number, le: boolean): number {
    if (length < 24) {
      return this.skip(
        "E_CAPTURE_BAD_BLOCK",
        `interface statistics block of ${length} bytes (24 needed)`,
        this.base + pos + 4,
        "pcapng.isb.length",
        length,
      );
    }
    const id = this.resolveInterface(readU32(buf, pos + 8, le), pos, 8, "pcapng.isb.interfaceId", length);
    if (id < 0) return STEP_OTHER;
    const options = parseOptions(buf, pos + 20, pos + length - 4, le, this.base, "pcapng.isb.option", this.errors);
    this.statistics.push({
      interfaceId: id,
      timestampNs: pcapngTimestampNs(
        readU32(buf, pos + 12, le),
        readU32(buf, pos + 16, le),
        this.ifUnits[id]!,
        this.ifOffset[id]!,
      ),
      options,
    });
    return STEP_OTHER;
  }

  /** Name Resolution Block (pcapng draft §4.5): nrb_record_ipv4 (1) and nrb_record_ipv6 (2) are read. */
  private nameResolution(buf: Uint8Array, pos: number, length: number, le: boolean): number {
    const limit = pos + length - 4;
    let p = pos + 8;
    while (p + 4 <= limit) {
      const type = readU16(buf, p, le);
      const size = readU16(buf, p + 2, le);
      if (type === 0) break;
      if (p + 4 + size > limit) {
        this.errors.push(
          captureError(
            "E_CAPTURE_BAD_OPTION",
            `name record of ${size} bytes runs past the end of its block`,
            this.base + p + 2,
            "pcapng.nrb.record.length",
            false,
          ),
        );
        break;
      }
      const v = p + 4;
      if (type === 1 && size >= 4) {
        this.nameRecords.push({
          family: 4,
          address: formatIpv4(readU32(buf, v, false)),
          names: names(buf, v + 4, v + size),
        });
      } else if (type === 2 && size >= 16) {
        this.nameRecords.push({ family: 6, address: formatIpv6(buf, v), names: names(buf, v + 16, v + size) });
      }
      p += 4 + pad4(size);
    }
    return STEP_OTHER;
  }
}

/** The zero-terminated names of a name record's value. */
function names(buf: Uint8Array, start: number, end: number): string[] {
  const out: string[] = [];
  let s = start;
  for (let i = start; i <= end; i++) {
    if (i === end || buf[i] === 0) {
      if (i > s) out.push(optionText(buf.subarray(s, i)));
      s = i + 1;
    }
  }
  return out;
}
