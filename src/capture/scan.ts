/**
 * The fast paths for benchmarks, filters and replay: `scanCaptureFile` and `scanCaptureRecords` read a capture
 * in large chunks into one preallocated buffer (or, with `readAhead`, three) and call back once per packet
 * without creating any per-packet object: `scanCaptureFile` with a view of the bytes (buffer, offset, length,
 * link type), `scanCaptureRecords` with one reused `ScanRecord` that also carries what a `CapturedPacket` has
 * (index, interface, original length, timestamp, built as a bigint only when asked for). pcap records are
 * parsed inline here; pcapng blocks go through the shared decoder (no allocation per EPB). Both find the same
 * packets and report the same faults, at the same offsets, as the other readers.
 * Bad bytes and I/O faults end the scan with an error in the summary; an exception thrown by the callback
 * propagates to the caller (the file is closed first).
 */
import { readU32 } from "./bytes.ts";
import { ChunkedFile, ioError } from "./chunked-file.ts";
import { CaptureDecoder, MAX_CAPTURED_LENGTH, STEP_NEED_MORE, STEP_OTHER, STEP_PACKET } from "./decoder.ts";
import type { CaptureError } from "./error.ts";
import { pcapFractionNs } from "./timestamp.ts";
import type { CaptureFormat, InterfaceInfo } from "./types.ts";

/**
 * Called once per packet. `buffer[offset, offset + capturedLength)` is the packet; the buffer is reused, so
 * the view is valid only during the call (copy what must outlive it).
 */
export type ScanCallback = (buffer: Uint8Array, offset: number, capturedLength: number, linkType: number) => void;

/** Called once per packet with the scan's one record, refilled for each packet (see `ScanRecord`). */
export type ScanRecordCallback = (record: ScanRecord) => void;

const NO_BYTES = new Uint8Array(0);

/**
 * One packet of a record scan: what a `CapturedPacket` holds, as plain fields of one object the scan refills
 * for every packet, so that nothing is allocated per packet. The bytes are `buffer[offset, offset +
 * capturedLength)` of the reused chunk buffer; like the rest of the record they are valid only during the
 * callback. The timestamp is kept as the file stores it and made a bigint only by `timestampNs()`.
 */
export class ScanRecord {
  /** 1-based position among the packets of the file (`CapturedPacket.index`). */
  index = 0;
  /** Index into the file's interface list, all sections together (pcap: 0). */
  interfaceId = 0;
  /** LINKTYPE_* of the packet's interface. */
  linkType = 0;
  buffer: Uint8Array = NO_BYTES;
  offset = 0;
  capturedLength = 0;
  originalLength = 0;
  /**
   * The raw timestamp: pcap seconds and the fraction in ns (wrapped to a signed 32-bit integer as wiretap
   * does, see timestamp.ts); pcapng the high and low 32 bits of the unit count of the packet's interface.
   */
  timestampHigh = 0;
  timestampLow = 0;
  /** False for Simple Packet Blocks, which carry no timestamp (`timestampNs()` is then 0n). */
  hasTimestamp = true;
  readonly #decoder: CaptureDecoder;

  constructor(decoder: CaptureDecoder) {
    this.#decoder = decoder;
  }

  /** Time since the Unix epoch in ns, exactly as `CapturedPacket.timestampNs` (a new bigint each call). */
  timestampNs(): bigint {
    return this.hasTimestamp ? this.#decoder.timestampOf(this.interfaceId, this.timestampHigh, this.timestampLow) : 0n;
  }

  /** The packet's bytes: a view into the chunk buffer (an object per call; valid during the callback only). */
  data(): Uint8Array {
    return this.buffer.subarray(this.offset, this.offset + this.capturedLength);
  }

  /** Refills the record from the packet the decoder just read out of `buf`. */
  fromDecoder(d: CaptureDecoder, buf: Uint8Array): void {
    this.index = d.packetCount;
    this.interfaceId = d.interfaceId;
    this.linkType = d.linkType;
    this.buffer = buf;
    this.offset = d.dataStart;
    this.capturedLength = d.capturedLength;
    this.originalLength = d.originalLength;
    this.timestampHigh = d.tsHigh;
    this.timestampLow = d.tsLow;
    this.hasTimestamp = d.hasTimestamp;
  }
}

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
  /** Bytes read per chunk; default 1 MiB (2 MiB with `readAhead`). */
  readonly chunkSize?: number;
  /**
   * Read chunks with synchronous reads (default true): on a 2M-packet file, 1 MiB synchronous reads scanned
   * in about half the time of promise-based reads, and each blocks the event loop only for one chunk's copy
   * from the page cache. False uses FileHandle.read. With `readAhead`, this applies to the first chunk and
   * to records longer than the chunks read ahead.
   */
  readonly syncReads?: boolean;
  /**
   * Keep two chunks being read on libuv's thread pool while the callback works through the current one
   * (default false), so that reading overlaps with scanning; memory is then three chunk buffers. On the
   * 2M-packet benchmark file with 2 cores this took about 5% less wall time when a core was free, but more
   * when the machine was busy, and 15–25% more CPU time in all: the scan then reads bytes another core wrote,
   * where a synchronous read leaves them in this core's cache.
   */
  readonly readAhead?: boolean;
}

const DEFAULT_SCAN_CHUNK = 1024 * 1024;
const DEFAULT_READ_AHEAD_CHUNK = 2 * 1024 * 1024;
/** Chunks in flight with `readAhead`: one is often not enough to hide a read's hand-off latency. */
const READ_AHEAD_CHUNKS = 2;

export async function scanCaptureFile(
  path: string,
  onPacket: ScanCallback,
  options: ScanOptions = {},
): Promise<ScanSummary> {
  return drive(
    path,
    options,
    (file, d) => scanPcapRecords(file, d.littleEndian, d.linkType, onPacket),
    (file, d) => onPacket(file.buf, d.dataStart, d.capturedLength, d.linkType),
  );
}

/**
 * Like `scanCaptureFile`, with the whole record: `onRecord` gets the same `ScanRecord` for every packet,
 * refilled each time (its `buffer` is the reused chunk buffer, so it is valid only during the call).
 */
export async function scanCaptureRecords(
  path: string,
  onRecord: ScanRecordCallback,
  options: ScanOptions = {},
): Promise<ScanSummary> {
  let record: ScanRecord | undefined;
  return drive(
    path,
    options,
    (file, d) => {
      record ??= new ScanRecord(d);
      return scanPcapRecordsWhole(file, d, record, onRecord);
    },
    (file, d) => {
      record ??= new ScanRecord(d);
      record.fromDecoder(d, file.buf);
      onRecord(record);
    },
  );
}

/**
 * The scans' driver: opens the file, runs `pcapRecords` over the whole pcap records of each window (it returns
 * how many it handed out and moves `file.start` past them), and steps the decoder through everything else,
 * calling `packet` for each packet it reads (its fields are on the decoder).
 */
async function drive(
  path: string,
  options: ScanOptions,
  pcapRecords: (file: ChunkedFile, d: CaptureDecoder) => number,
  packet: (file: ChunkedFile, d: CaptureDecoder) => void,
): Promise<ScanSummary> {
  const readAhead = options.readAhead ?? false;
  const chunkSize = options.chunkSize ?? (readAhead ? DEFAULT_READ_AHEAD_CHUNK : DEFAULT_SCAN_CHUNK);
  const file = await ChunkedFile.open(path, chunkSize, {
    syncReads: options.syncReads ?? true,
    readAhead: readAhead ? READ_AHEAD_CHUNKS : 0,
  });
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
        // Whole pcap records in the window go straight to the callback.
        const start = file.start;
        const n = pcapRecords(file, d);
        packets += n;
        capturedBytes += file.start - start - 16 * n;
      }
      d.base = file.fileOffset;
      const step = d.step(file.buf, file.start, file.end, file.eof);
      if (step === STEP_PACKET) {
        packet(file, d);
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

/**
 * Calls `onPacket` for every whole pcap record in `file`'s window and moves `file.start` past them; returns
 * how many there were. A record with an oversized captured length is left for the decoder to report. Kept
 * apart from the async driver so that the JIT compiles this loop (and the callback into it) on its own.
 */
function scanPcapRecords(file: ChunkedFile, littleEndian: boolean, linkType: number, onPacket: ScanCallback): number {
  const b = file.buf;
  const e = file.end;
  let p = file.start;
  let n = 0;
  // One loop for both byte orders, so that the callback is inlined (if at all) once; the captured length is
  // read in place rather than by a helper, which the JIT might leave out of line once the callback is in.
  while (e - p >= 16) {
    const cap = littleEndian
      ? ((b[p + 8] as number) |
          ((b[p + 9] as number) << 8) |
          ((b[p + 10] as number) << 16) |
          ((b[p + 11] as number) << 24)) >>>
        0
      : (((b[p + 8] as number) << 24) |
          ((b[p + 9] as number) << 16) |
          ((b[p + 10] as number) << 8) |
          (b[p + 11] as number)) >>>
        0;
    if (cap > MAX_CAPTURED_LENGTH || e - p - 16 < cap) break;
    onPacket(b, p + 16, cap, linkType);
    p += 16 + cap;
    n++;
  }
  file.start = p;
  return n;
}

/**
 * scanPcapRecords for `scanCaptureRecords`: each whole record fills `record` (the decoder's packet count
 * follows, so that a packet the decoder reads later is numbered on from these).
 */
function scanPcapRecordsWhole(
  file: ChunkedFile,
  d: CaptureDecoder,
  record: ScanRecord,
  onRecord: ScanRecordCallback,
): number {
  const b = file.buf;
  const e = file.end;
  const le = d.littleEndian;
  const nano = d.pcapNanosecond;
  let p = file.start;
  let n = 0;
  record.buffer = b;
  record.interfaceId = 0;
  record.linkType = d.linkType;
  record.hasTimestamp = true;
  while (e - p >= 16) {
    const cap = readU32(b, p + 8, le);
    if (cap > MAX_CAPTURED_LENGTH || e - p - 16 < cap) break;
    record.index = d.packetCount + n + 1;
    record.timestampHigh = readU32(b, p, le);
    record.timestampLow = pcapFractionNs(readU32(b, p + 4, le), nano);
    record.offset = p + 16;
    record.capturedLength = cap;
    record.originalLength = readU32(b, p + 12, le);
    onRecord(record);
    p += 16 + cap;
    n++;
  }
  d.packetCount += n;
  file.start = p;
  return n;
}
