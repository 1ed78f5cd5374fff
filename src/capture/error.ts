/**
 * Capture-file errors are values, not exceptions: a reader returns the packets read before a fault plus a
 * `CaptureError` naming the fault, the absolute byte offset in the file and the field being read there.
 */

/** Stable codes of capture-file faults. */
export type CaptureErrorCode =
  /** The file, a record header, record data or a block ends before its declared length. */
  | "E_CAPTURE_TRUNCATED"
  /** Neither a pcap magic (both byte orders, µs or ns) nor a pcapng Section Header Block; or a bad byte-order magic. */
  | "E_CAPTURE_BAD_MAGIC"
  /** A file or section header we cannot interpret: unsupported version, reserved link-type bits set. */
  | "E_CAPTURE_BAD_HEADER"
  /**
   * A pcap file header whose snap length is 0 (not fatal: read as libpcap's maximum for the link type, every
   * record still read in full). A pcapng IDB SnapLen of 0 is valid ("no limit") and not reported.
   */
  | "E_CAPTURE_ZERO_SNAPLEN"
  /** A captured length or block length above the sane limit (256 MiB). */
  | "E_CAPTURE_TOO_LARGE"
  /** A pcapng block length below 12, not a multiple of 4, or different from the trailing copy. */
  | "E_CAPTURE_BAD_BLOCK_LENGTH"
  /** A pcapng block whose body is inconsistent with its length (too short, data overrunning the block). */
  | "E_CAPTURE_BAD_BLOCK"
  /** A pcapng option or name record running past the end of its block. */
  | "E_CAPTURE_BAD_OPTION"
  /** A packet block naming an interface the section has not described. */
  | "E_CAPTURE_UNKNOWN_INTERFACE"
  /** The file could not be opened or read. */
  | "E_CAPTURE_IO";

export interface CaptureError {
  readonly code: CaptureErrorCode;
  /** Why reading stopped or skipped, in words. */
  readonly message: string;
  /** Absolute byte offset in the file of the field at fault. */
  readonly offset: number;
  /** The field being read, e.g. `pcap.record.caplen`, `pcapng.epb.interfaceId`. */
  readonly field: string;
  /**
   * True when reading stopped here; false when reading went on: only the faulty block was skipped, or (for
   * E_CAPTURE_ZERO_SNAPLEN) a header value was replaced and nothing was lost.
   */
  readonly fatal: boolean;
}

export function captureError(
  code: CaptureErrorCode,
  message: string,
  offset: number,
  field: string,
  fatal: boolean,
): CaptureError {
  return { code, message, offset, field, fatal };
}

/** "E_CAPTURE_TRUNCATED: record data ends at file end (field pcap.record.data, offset 1234)". */
export function formatCaptureError(e: CaptureError): string {
  return `${e.code}: ${e.message} (field ${e.field}, offset ${e.offset})`;
}
