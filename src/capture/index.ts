/**
 * capture/: reading and writing pcap and pcapng. Records and link types only; packet contents are wire/'s.
 *
 * - `readCaptureSync(bytes)`, `iterateCaptureSync(bytes)`, `CaptureReader`: a file in memory.
 * - `openCaptureStream(path)` → `CaptureStream`: any size, constant memory, AsyncIterable of packets.
 * - `scanCaptureFile(path, onPacket)`: the zero-allocation fast path (views into a reused chunk buffer);
 *   `scanCaptureRecords(path, onRecord)` the same with the whole record (one reused `ScanRecord`).
 * - `PcapWriter`, `PcapngWriter` over a `CaptureSink` (`ByteArraySink`, `FileSink`).
 * Malformed input never throws: faults are `CaptureError` values next to the packets read before them.
 */
export { type CaptureError, type CaptureErrorCode, formatCaptureError } from "./error.ts";
export { isDecodableLinkType, LinkType, linkTypeName, wiretapEncapsulation } from "./link-type.ts";
export { MAX_BLOCK_LENGTH, MAX_CAPTURED_LENGTH } from "./decoder.ts";
export { findOption, OptionCode, optionText, optionTexts } from "./options.ts";
export { pcapngTimestampNs, tsresolUnitsPerSecond } from "./timestamp.ts";
export type {
  ByteOrder,
  CapturedPacket,
  CaptureFormat,
  CaptureReadResult,
  InterfaceInfo,
  InterfaceStatistics,
  NameRecord,
  PcapngOption,
  SectionInfo,
} from "./types.ts";
export { CaptureReader, iterateCaptureSync, readCaptureSync } from "./reader.ts";
export { CaptureStream, type CaptureStreamOptions, openCaptureStream } from "./stream.ts";
export {
  type ScanCallback,
  type ScanOptions,
  ScanRecord,
  type ScanRecordCallback,
  type ScanSummary,
  scanCaptureFile,
  scanCaptureRecords,
} from "./scan.ts";
export { ByteArraySink, type CaptureSink, FileSink } from "./sink.ts";
export { CaptureWriteError, type PacketToWrite, PcapWriter, type PcapWriterOptions } from "./pcap-writer.ts";
export {
  type PcapngInterfaceOptions,
  type PcapngPacketToWrite,
  PcapngWriter,
  type PcapngWriterOptions,
} from "./pcapng-writer.ts";
