/** The values capture readers produce: packets, interfaces, sections, name records and statistics. */
import type { CaptureError } from "./error.ts";

export type CaptureFormat = "pcap" | "pcapng";
export type ByteOrder = "little" | "big";

/** One captured frame, in file order. */
export interface CapturedPacket {
  /** 1-based position among the packets of the file. */
  readonly index: number;
  /**
   * Index into the file's interface list, all sections together (pcap: always 0). tshark 4.0's
   * `frame.interface_id` is the section-local number instead: `interfaces[interfaceId].sectionInterfaceId`.
   */
  readonly interfaceId: number;
  /** LINKTYPE_* value of the packet's interface (low 16 bits of the pcap link-type field). */
  readonly linkType: number;
  /** Time since the Unix epoch in nanoseconds (see timestamp.ts for the rules). 0n for Simple Packet Blocks. */
  readonly timestampNs: bigint;
  /** Length of the frame on the wire. */
  readonly originalLength: number;
  /** Number of bytes stored in the file, `data.length`. */
  readonly capturedLength: number;
  /** The captured bytes. The sync reader returns views into the input buffer (no copy). */
  readonly data: Uint8Array;
}

/** A pcapng option: code and raw value (padding removed). */
export interface PcapngOption {
  readonly code: number;
  readonly value: Uint8Array;
}

/** An interface: the single implicit one of a pcap file, or one pcapng Interface Description Block. */
export interface InterfaceInfo {
  /** Index in the file's interface list (all sections together, in file order). */
  readonly id: number;
  /** 0-based index of the section (pcapng SHB) that described it; 0 for pcap. */
  readonly section: number;
  /** Interface ID within its section, as packet blocks refer to it. */
  readonly sectionInterfaceId: number;
  readonly linkType: number;
  /**
   * Snapshot length. pcapng: as the IDB says, 0 meaning "no limit". pcap: as the header says, except that a 0
   * (reported as E_CAPTURE_ZERO_SNAPLEN) is read as libpcap reads it, its maximum for the link type (262144
   * for most). Records longer than the snap length are still read in full.
   */
  readonly snapLength: number;
  /** Timestamp units per second: 1e6 for µs pcap / pcapng default, 1e9 for ns, 2^n for binary if_tsresol. */
  readonly timestampUnitsPerSecond: bigint;
  /** pcapng if_tsoffset: seconds added to every timestamp of this interface. */
  readonly timestampOffsetSeconds: bigint;
  /** Frame check sequence length in bytes, when the file says (pcap link-type FCS bits, pcapng if_fcslen). */
  readonly fcsLength?: number;
  readonly name?: string;
  readonly description?: string;
  /** All options of the IDB, in order (empty for pcap). */
  readonly options: readonly PcapngOption[];
}

/** A pcap file header or a pcapng Section Header Block. */
export interface SectionInfo {
  readonly offset: number;
  readonly byteOrder: ByteOrder;
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** pcapng section length, -1n when unspecified; undefined for pcap. */
  readonly sectionLength?: bigint;
  readonly options: readonly PcapngOption[];
}

/** One record of a pcapng Name Resolution Block. */
export interface NameRecord {
  readonly family: 4 | 6;
  /** The address as text ("192.0.2.1", "2001:db8::1"). */
  readonly address: string;
  readonly names: readonly string[];
}

/** A pcapng Interface Statistics Block. */
export interface InterfaceStatistics {
  readonly interfaceId: number;
  readonly timestampNs: bigint;
  readonly options: readonly PcapngOption[];
}

/** Everything a whole-file read produces. */
export interface CaptureReadResult {
  /** Undefined only when the magic was unreadable. */
  readonly format: CaptureFormat | undefined;
  readonly packets: CapturedPacket[];
  readonly interfaces: InterfaceInfo[];
  readonly sections: SectionInfo[];
  readonly nameRecords: NameRecord[];
  readonly statistics: InterfaceStatistics[];
  /** Faults met, in file order; a fatal one ends the list. Empty for a well-formed file. */
  readonly errors: CaptureError[];
}
