/**
 * Recording a simulation as a pcapng file Wireshark opens: one Interface Description Block per tapped
 * interface (if_name, if_tsresol = 9, i.e. nanoseconds), and an Enhanced Packet Block per frame stamped
 * with the scheduler's time (plus an optional epoch offset, so a capture can carry a realistic date).
 *
 * - `tap(port, name)` wraps a NIC's Port (smoltcp's PcapWriter device decorator): every frame sent
 *   through the returned port and every frame received from it is recorded, as LINKTYPE_ETHERNET (1),
 *   before it travels on.
 * - `loopback(name)` gives an interface for packets that never reach a link (Windows' loopback
 *   pseudo-interface): `record(ipPacket)` writes LINKTYPE_NULL (0) with the 4-byte BSD address-family
 *   header in little-endian (x86 host) order, AF_INET 2 or AF_INET6 24 (tcpdump.org's LINKTYPE_NULL
 *   values; Windows' own AF_INET6, 23, would read as IPX there), or LINKTYPE_RAW (101), the bare IP
 *   packet.
 *
 * Frames longer than the snap length are recorded cut to it, with their original length. Recording
 * after `close()` is ignored (the data path never throws); the sink's own I/O errors do throw.
 */
import type { Clock } from "../../base/index.ts";
import { type CaptureSink, FileSink, LinkType, PcapngWriter } from "../../capture/index.ts";
import { emitLoopbackHeader, LOOPBACK_HEADER_LENGTH, LoopbackFamily } from "../../wire/index.ts";
import type { Port } from "./port.ts";

export interface PcapRecorderOptions {
  /** Added to the scheduler's time to form each timestamp (ns since 1970). Default 0 (1970-01-01). */
  readonly epochNs?: bigint;
  /** if_snaplen of every interface; longer frames are cut. Default 262144; 0: no limit. */
  readonly snapLength?: number;
  /** shb_userappl. Default "openwfp". */
  readonly application?: string;
  /** The section's opt_comment. */
  readonly comment?: string;
}

export interface LoopbackTapOptions {
  /** "null" (default): LINKTYPE_NULL with the BSD family header; "raw": LINKTYPE_RAW. */
  readonly encapsulation?: "null" | "raw";
  /** if_description. */
  readonly description?: string;
}

/** A recorded interface that carries IP packets without a link header. */
export interface LoopbackTap {
  /** The pcapng interface ID (its IDB's position in the file). */
  readonly interfaceId: number;
  /** Records one IPv4 or IPv6 packet (the version nibble chooses the family) at the current time. */
  record(packet: Uint8Array): void;
}

export class PcapRecorder {
  readonly #clock: Clock;
  readonly #writer: PcapngWriter;
  readonly #epochNs: bigint;
  readonly #snapLength: number;
  #closed = false;
  /** Frames and packets written so far. */
  recorded = 0;

  constructor(clock: Clock, sink: CaptureSink, options: PcapRecorderOptions = {}) {
    this.#clock = clock;
    this.#epochNs = options.epochNs ?? 0n;
    this.#snapLength = options.snapLength ?? 262144;
    this.#writer = new PcapngWriter(sink, {
      application: options.application ?? "openwfp",
      ...(options.comment !== undefined ? { comment: options.comment } : {}),
    });
  }

  /** A recorder writing to `path` (created or truncated). */
  static toFile(clock: Clock, path: string, options: PcapRecorderOptions = {}): PcapRecorder {
    return new PcapRecorder(clock, new FileSink(path), options);
  }

  /**
   * Describes an Ethernet interface called `name` and returns a Port that behaves as `port` does while
   * recording every frame transmitted through it and every frame received from it.
   */
  tap(port: Port, name: string, description?: string): Port {
    const id = this.#addInterface(LinkType.EN10MB, name, description);
    const write = (frame: Uint8Array) => this.#write(id, frame);
    return {
      name,
      transmit(frame: Uint8Array): void {
        write(frame);
        port.transmit(frame);
      },
      attach(receive: (frame: Uint8Array) => void): void {
        port.attach((frame) => {
          write(frame);
          receive(frame);
        });
      },
    };
  }

  /** Describes a loopback interface called `name` (see the module comment for the encapsulations). */
  loopback(name: string, options: LoopbackTapOptions = {}): LoopbackTap {
    const raw = options.encapsulation === "raw";
    const interfaceId = this.#addInterface(raw ? LinkType.RAW : LinkType.NULL, name, options.description);
    const record = (packet: Uint8Array): void => {
      if (raw) {
        this.#write(interfaceId, packet);
        return;
      }
      const framed = new Uint8Array(LOOPBACK_HEADER_LENGTH + packet.length);
      const v6 = (packet[0] ?? 0) >>> 4 === 6;
      emitLoopbackHeader(
        { family: v6 ? LoopbackFamily.Inet6Bsd : LoopbackFamily.Inet, byteOrder: "little" },
        framed,
        0,
      );
      framed.set(packet, LOOPBACK_HEADER_LENGTH);
      this.#write(interfaceId, framed);
    };
    return { interfaceId, record };
  }

  /** Flushes and closes the sink; later frames are not recorded. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writer.close();
  }

  #addInterface(linkType: number, name: string, description: string | undefined): number {
    return this.#writer.addInterface({
      linkType,
      name,
      snapLength: this.#snapLength,
      timestampResolution: "nano",
      ...(description !== undefined ? { description } : {}),
    });
  }

  #write(interfaceId: number, data: Uint8Array): void {
    if (this.#closed) return;
    const cut = this.#snapLength > 0 && data.length > this.#snapLength;
    this.#writer.writePacket({
      interfaceId,
      timestampNs: this.#epochNs + this.#clock.nowNs(),
      data: cut ? data.subarray(0, this.#snapLength) : data,
      originalLength: data.length,
    });
    this.recorded++;
  }
}
