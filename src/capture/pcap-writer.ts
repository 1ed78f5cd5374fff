/**
 * Writing classic pcap (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html): a 24-byte file
 * header with the chosen byte order and precision (µs magic a1b2c3d4 or ns magic a1b23c4d), then one record
 * per packet. Invalid arguments (a timestamp before 1970 or after 2106, an original length below the data
 * length) throw `CaptureWriteError`: writing is the caller's explicit request, not untrusted input.
 */
import { OpenWfpError } from "../base/errors.ts";
import { writeU16, writeU32 } from "./bytes.ts";
import type { CaptureSink } from "./sink.ts";
import type { ByteOrder } from "./types.ts";

export class CaptureWriteError extends OpenWfpError {
  constructor(message: string, field: string) {
    super("E_CAPTURE_WRITE", message, { field });
    this.name = "CaptureWriteError";
  }
}

/** What a writer needs of a packet; a `CapturedPacket` fits. */
export interface PacketToWrite {
  readonly timestampNs: bigint;
  readonly data: Uint8Array;
  /** Length on the wire; defaults to `data.length`. */
  readonly originalLength?: number;
}

export interface PcapWriterOptions {
  readonly linkType: number;
  /** Default 262144. 0 is written as is (meaning "not specified"). */
  readonly snapLength?: number;
  /** Default "little". */
  readonly byteOrder?: ByteOrder;
  /** Default "micro" (fraction in µs, truncated); "nano" keeps every nanosecond. */
  readonly precision?: "micro" | "nano";
}

export class PcapWriter {
  private readonly le: boolean;
  private readonly nano: boolean;
  private readonly header = new Uint8Array(16);
  packetsWritten = 0;

  constructor(
    private readonly sink: CaptureSink,
    options: PcapWriterOptions,
  ) {
    checkU32(options.linkType, "linkType", 0xffff);
    const snap = options.snapLength ?? 262144;
    checkU32(snap, "snapLength");
    this.le = (options.byteOrder ?? "little") === "little";
    this.nano = options.precision === "nano";
    const h = new Uint8Array(24);
    writeU32(h, 0, this.nano ? 0xa1b23c4d : 0xa1b2c3d4, this.le);
    writeU16(h, 4, 2, this.le);
    writeU16(h, 6, 4, this.le);
    writeU32(h, 16, snap, this.le);
    writeU32(h, 20, options.linkType, this.le);
    sink.write(h);
  }

  writePacket(packet: PacketToWrite): void {
    const ns = packet.timestampNs;
    if (ns < 0n || ns >= 0x1_0000_0000n * 1_000_000_000n) {
      throw new CaptureWriteError(`timestamp ${ns} ns does not fit pcap's unsigned 32-bit seconds`, "timestampNs");
    }
    const length = packet.data.length;
    const original = packet.originalLength ?? length;
    checkU32(original, "originalLength");
    if (original < length) {
      throw new CaptureWriteError(
        `original length ${original} is below the captured length ${length}`,
        "originalLength",
      );
    }
    const fraction = Number(ns % 1_000_000_000n);
    const h = this.header;
    writeU32(h, 0, Number(ns / 1_000_000_000n), this.le);
    writeU32(h, 4, this.nano ? fraction : Math.floor(fraction / 1000), this.le);
    writeU32(h, 8, length, this.le);
    writeU32(h, 12, original, this.le);
    this.sink.write(h);
    this.sink.write(packet.data);
    this.packetsWritten++;
  }

  close(): void {
    this.sink.close();
  }
}

export function checkU32(v: number, field: string, max = 0xffffffff): void {
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new CaptureWriteError(`${field} ${v} is out of range 0..${max}`, field);
}
