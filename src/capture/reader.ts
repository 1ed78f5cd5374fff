/**
 * Reading a capture held in memory: `readCaptureSync` (everything at once), `iterateCaptureSync` (packets one
 * by one) and `CaptureReader` (pull-style, with the file's metadata). Packets' `data` are views into the
 * input buffer, not copies. Never throws on bad bytes: faults are in `errors`.
 */
import { CaptureDecoder, STEP_NEED_MORE, STEP_PACKET, STEP_STOP } from "./decoder.ts";
import type { CaptureError } from "./error.ts";
import type {
  CapturedPacket,
  CaptureFormat,
  CaptureReadResult,
  InterfaceInfo,
  InterfaceStatistics,
  NameRecord,
  SectionInfo,
} from "./types.ts";

export class CaptureReader {
  private readonly decoder = new CaptureDecoder();
  private pos = 0;

  constructor(private readonly buffer: Uint8Array) {}

  /** The next packet, or undefined at the end of the file or at a fatal fault. */
  next(): CapturedPacket | undefined {
    const d = this.decoder;
    const buf = this.buffer;
    for (;;) {
      const step = d.step(buf, this.pos, buf.length, true);
      if (step === STEP_STOP || step === STEP_NEED_MORE) return undefined;
      this.pos += d.consumed;
      if (step === STEP_PACKET) return d.packet(buf, false);
    }
  }

  get format(): CaptureFormat | undefined {
    return this.decoder.format;
  }
  get interfaces(): InterfaceInfo[] {
    return this.decoder.interfaces;
  }
  get sections(): SectionInfo[] {
    return this.decoder.sections;
  }
  get nameRecords(): NameRecord[] {
    return this.decoder.nameRecords;
  }
  get statistics(): InterfaceStatistics[] {
    return this.decoder.statistics;
  }
  get errors(): CaptureError[] {
    return this.decoder.errors;
  }
}

/** Every packet of a pcap or pcapng file in memory, with its interfaces and any faults. */
export function readCaptureSync(buffer: Uint8Array): CaptureReadResult {
  const reader = new CaptureReader(buffer);
  const packets: CapturedPacket[] = [];
  for (let p = reader.next(); p !== undefined; p = reader.next()) packets.push(p);
  return {
    format: reader.format,
    packets,
    interfaces: reader.interfaces,
    sections: reader.sections,
    nameRecords: reader.nameRecords,
    statistics: reader.statistics,
    errors: reader.errors,
  };
}

/** The packets of a file in memory, one by one; the generator's return value holds the metadata and faults. */
export function* iterateCaptureSync(buffer: Uint8Array): Generator<CapturedPacket, Omit<CaptureReadResult, "packets">> {
  const reader = new CaptureReader(buffer);
  for (let p = reader.next(); p !== undefined; p = reader.next()) yield p;
  return {
    format: reader.format,
    interfaces: reader.interfaces,
    sections: reader.sections,
    nameRecords: reader.nameRecords,
    statistics: reader.statistics,
    errors: reader.errors,
  };
}
