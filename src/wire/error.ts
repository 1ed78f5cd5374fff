/**
 * Wire errors are values, not exceptions: a parser returns `Result<T, WireError>`. Each error names the
 * protocol, the field being read, the absolute byte offset in the frame, and why decoding stopped, e.g.
 * "tcp: header truncated at offset 34 (field dataOffset)".
 */
import { err, type Err } from "../base/result.ts";

export interface WireError {
  /** Protocol being decoded: "ethernet", "ipv4", "tcp", "pcapng", ... */
  readonly protocol: string;
  /** Field being read, e.g. "ihl", "dataOffset", "hopByHop.length". */
  readonly field: string;
  /** Absolute byte offset of that field within the buffer handed to the parser. */
  readonly offset: number;
  /** Why decoding stopped, in words. */
  readonly reason: string;
}

export function wireError(protocol: string, field: string, offset: number, reason: string): Err<WireError> {
  return err({ protocol, field, offset, reason });
}

/** "tcp: header truncated at offset 34 (field dataOffset)". */
export function formatWireError(e: WireError): string {
  return `${e.protocol}: ${e.reason} at offset ${e.offset} (field ${e.field})`;
}
