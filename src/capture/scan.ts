/**
 * The fast path for benchmarks and filters: `scanCaptureFile` reads a capture in large chunks into one
 * preallocated buffer and calls `onPacket` with a view of each record, without creating any per-packet object.
 * pcap records are parsed inline here; pcapng blocks go through the shared decoder (no allocation per EPB).
 * Bad bytes and I/O faults end the scan with an error in the summary; an exception thrown by `onPacket`
 * propagates to the caller (the file is closed first).
 */
import { ChunkedFile, ioError } from "./chunked-file.ts";
import { CaptureDecoder, MAX_CAPTURED_LENGTH, STEP_NEED_MORE, STEP_OTHER, STEP_PACKET } from "./decoder.ts";
import type { CaptureError } from "./error.ts";
import type { CaptureFormat, InterfaceInfo } from "./types.ts";

/**
 * Called once per packet. `buffer[offset, offset + capturedLength)` is the packet; the buffer is reused, so
 * the view is valid only during the call (copy what must outlive it).
 */
export type ScanCallback = (buffer: Uint8Array, offset: number, capturedLength: number, linkType: number) => void;

export interface ScanSummary {
  readonly format: CaptureFormat | undefined;
  readonly packets: number;
  /** Sum of the captured lengths. */
  readonly capturedBytes: number;
  readonly fileBytes: number;
  readonly interfaces: InterfaceInfo[];
  readonly errors: CaptureError[];
}

export interface ScanOptions {
  /** Bytes read per chunk; default 1 MiB. */
  readonly chunkSize?: number;
  /**
   * Read chunks with synchronous reads (default true): on a 2M-packet file, 1 MiB synchronous reads scanned
   * in about half the time of promise-based reads, and each blocks the event loop only for one chunk's copy
   * from the page cache. False uses FileHandle.read.
   */
  readonly syncReads?: boolean;
}

const DEFAULT_SCAN_CHUNK = 1024 * 1024;

export async function scanCaptureFile(
  path: string,
  onPacket: ScanCallback,
  options: ScanOptions = {},
): Promise<ScanSummary> {
  const file = await ChunkedFile.open(path, options.chunkSize ?? DEFAULT_SCAN_CHUNK, options.syncReads ?? true);
  if (!(file instanceof ChunkedFile)) {
    return { format: undefined, packets: 0, capturedBytes: 0, fileBytes: 0, interfaces: [], errors: [file] };
  }
  const d = new CaptureDecoder();
  const errors = d.errors;
  let packets = 0;
  let capturedBytes = 0;
  try {
    for (;;) {
      if (d.inPcapRecords) {
        // Inline pcap records: whole records in the window go straight to the callback.
        const b = file.buf;
        const e = file.end;
        const linkType = d.linkType;
        let p = file.start;
        if (d.littleEndian) {
          while (e - p >= 16) {
            const cap = (b[p + 8]! | (b[p + 9]! << 8) | (b[p + 10]! << 16) | (b[p + 11]! << 24)) >>> 0;
            if (cap > MAX_CAPTURED_LENGTH || e - p - 16 < cap) break;
            onPacket(b, p + 16, cap, linkType);
            p += 16 + cap;
            packets++;
            capturedBytes += cap;
          }
        } else {
          while (e - p >= 16) {
            const cap = ((b[p + 8]! << 24) | (b[p + 9]! << 16) | (b[p + 10]! << 8) | b[p + 11]!) >>> 0;
            if (cap > MAX_CAPTURED_LENGTH || e - p - 16 < cap) break;
            onPacket(b, p + 16, cap, linkType);
            p += 16 + cap;
            packets++;
            capturedBytes += cap;
          }
        }
        file.start = p;
      }
      d.base = file.fileOffset;
      const step = d.step(file.buf, file.start, file.end, file.eof);
      if (step === STEP_PACKET) {
        onPacket(file.buf, d.dataStart, d.capturedLength, d.linkType);
        packets++;
        capturedBytes += d.capturedLength;
        file.start += d.consumed;
      } else if (step === STEP_OTHER) {
        file.start += d.consumed;
      } else if (step === STEP_NEED_MORE) {
        try {
          await file.refill(d.needed);
        } catch (e) {
          errors.push(ioError(e, file.fileOffset + file.end));
          break;
        }
      } else {
        break;
      }
    }
  } finally {
    await file.close();
  }
  return { format: d.format, packets, capturedBytes, fileBytes: file.size, interfaces: d.interfaces, errors };
}
