/**
 * Writing pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html): one Section Header Block
 * (section length -1, i.e. unspecified), an Interface Description Block per `addInterface` (link type, snap
 * length, if_tsresol, and if_name / if_description when given), and an Enhanced Packet Block per packet.
 * Invalid arguments throw `CaptureWriteError`.
 */
import { pad4, writeU16, writeU32 } from "./bytes.ts";
import { CaptureWriteError, checkU32, type PacketToWrite } from "./pcap-writer.ts";
import type { CaptureSink } from "./sink.ts";
import { nsToUnits } from "./timestamp.ts";
import type { ByteOrder } from "./types.ts";

export interface PcapngWriterOptions {
  /** Default "little". */
  readonly byteOrder?: ByteOrder;
  /** shb_hardware, shb_os, shb_userappl and opt_comment of the section. */
  readonly hardware?: string;
  readonly os?: string;
  readonly application?: string;
  readonly comment?: string;
}

export interface PcapngInterfaceOptions {
  readonly linkType: number;
  /** Default 262144; 0 means no limit. */
  readonly snapLength?: number;
  /** if_tsresol: "micro" (10^-6, the default) or "nano" (10^-9). */
  readonly timestampResolution?: "micro" | "nano";
  readonly name?: string;
  readonly description?: string;
}

export interface PcapngPacketToWrite extends PacketToWrite {
  /** The interface from `addInterface`; default 0. */
  readonly interfaceId?: number;
}

const encoder = new TextEncoder();

export class PcapngWriter {
  private readonly le: boolean;
  private readonly units: bigint[] = [];
  private readonly header = new Uint8Array(28);
  private readonly trailer = new Uint8Array(8);
  packetsWritten = 0;

  constructor(
    private readonly sink: CaptureSink,
    options: PcapngWriterOptions = {},
  ) {
    this.le = (options.byteOrder ?? "little") === "little";
    const options_: [number, Uint8Array][] = [];
    if (options.comment !== undefined) options_.push([1, encoder.encode(options.comment)]);
    if (options.hardware !== undefined) options_.push([2, encoder.encode(options.hardware)]);
    if (options.os !== undefined) options_.push([3, encoder.encode(options.os)]);
    if (options.application !== undefined) options_.push([4, encoder.encode(options.application)]);
    const body = new Uint8Array(16);
    writeU32(body, 0, 0x1a2b3c4d, this.le);
    writeU16(body, 4, 1, this.le);
    writeU16(body, 6, 0, this.le);
    body.fill(0xff, 8, 16);
    this.writeBlock(0x0a0d0d0a, body, options_);
  }

  /** Describes an interface; returns its ID for `writePacket`. */
  addInterface(options: PcapngInterfaceOptions): number {
    checkU32(options.linkType, "linkType", 0xffff);
    const snap = options.snapLength ?? 262144;
    checkU32(snap, "snapLength");
    const nano = options.timestampResolution === "nano";
    const body = new Uint8Array(8);
    writeU16(body, 0, options.linkType, this.le);
    writeU32(body, 4, snap, this.le);
    const options_: [number, Uint8Array][] = [];
    if (options.name !== undefined) options_.push([2, encoder.encode(options.name)]);
    if (options.description !== undefined) options_.push([3, encoder.encode(options.description)]);
    options_.push([9, Uint8Array.of(nano ? 9 : 6)]);
    this.writeBlock(1, body, options_);
    this.units.push(nano ? 1_000_000_000n : 1_000_000n);
    return this.units.length - 1;
  }

  writePacket(packet: PcapngPacketToWrite): void {
    const id = packet.interfaceId ?? 0;
    const units = this.units[id];
    if (units === undefined) throw new CaptureWriteError(`interface ${id} has not been added`, "interfaceId");
    if (packet.timestampNs < 0n) throw new CaptureWriteError("timestamps before 1970 cannot be written", "timestampNs");
    const ts = nsToUnits(packet.timestampNs, units);
    if (ts > 0xffffffffffffffffn)
      throw new CaptureWriteError(`timestamp ${packet.timestampNs} ns is too large`, "timestampNs");
    const length = packet.data.length;
    const original = packet.originalLength ?? length;
    checkU32(original, "originalLength");
    if (original < length) {
      throw new CaptureWriteError(
        `original length ${original} is below the captured length ${length}`,
        "originalLength",
      );
    }
    const total = 32 + pad4(length);
    const h = this.header;
    writeU32(h, 0, 6, this.le);
    writeU32(h, 4, total, this.le);
    writeU32(h, 8, id, this.le);
    writeU32(h, 12, Number(ts >> 32n), this.le);
    writeU32(h, 16, Number(ts & 0xffffffffn), this.le);
    writeU32(h, 20, length, this.le);
    writeU32(h, 24, original, this.le);
    this.sink.write(h);
    this.sink.write(packet.data);
    const padding = pad4(length) - length;
    const t = this.trailer;
    t.fill(0, 0, 4);
    writeU32(t, 4, total, this.le);
    this.sink.write(t.subarray(4 - padding));
    this.packetsWritten++;
  }

  close(): void {
    this.sink.close();
  }

  private writeBlock(type: number, body: Uint8Array, options: readonly [number, Uint8Array][]): void {
    let optionBytes = 0;
    for (const [, v] of options) optionBytes += 4 + pad4(v.length);
    if (options.length > 0) optionBytes += 4;
    const total = 12 + pad4(body.length) + optionBytes;
    const b = new Uint8Array(total);
    writeU32(b, 0, type, this.le);
    writeU32(b, 4, total, this.le);
    b.set(body, 8);
    let p = 8 + pad4(body.length);
    for (const [code, v] of options) {
      writeU16(b, p, code, this.le);
      writeU16(b, p + 2, v.length, this.le);
      b.set(v, p + 4);
      p += 4 + pad4(v.length);
    }
    // opt_endofopt is the zeros already at p when options were written.
    writeU32(b, total - 4, total, this.le);
    this.sink.write(b);
  }
}
