/**
 * Links carry frames between ports. A NIC owns one `Port`: it calls `transmit` to put a frame on the
 * link and receives frames through the handler it sets with `attach`. Links (point-to-point, shared
 * segment) create ports; decorators (pcap tap, fault injector) wrap a port and return a port, like
 * smoltcp's device wrappers. Frames are Ethernet II bytes; a receiver must not keep a frame it does not
 * own (links hand each receiver its own copy).
 */

/** A NIC's attachment to a link. */
export interface Port {
  /** Sends a frame onto the link (the link delivers it later, after its delay). */
  transmit(frame: Uint8Array): void;
  /** Sets the handler that receives frames from the link (replacing any earlier one). */
  attach(receive: (frame: Uint8Array) => void): void;
  /** A name for logs and capture interfaces. */
  readonly name: string;
}

/** Counters every link keeps. */
export interface LinkCounters {
  framesSent: number;
  framesDelivered: number;
  bytesSent: number;
  /** Frames dropped by the link itself (a full queue, a fault injector). */
  framesDropped: number;
}
