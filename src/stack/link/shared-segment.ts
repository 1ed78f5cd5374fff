/**
 * A broadcast domain joining any number of ports: an Ethernet hub or a learning switch.
 *
 * - `"hub"`: every frame is repeated to every other port; NICs drop frames not addressed to them.
 * - `"switch"` (the default): a transparent bridge (IEEE 802.1D §7/§8, the 802.1Q filtering database):
 *   it learns each frame's source MAC on the port it came in by, forwards a frame for a learned unicast
 *   MAC to that port only (or nowhere when it is the port the frame came from), and floods broadcast,
 *   multicast (the group bit, the low bit of the first octet) and unknown unicast to every other port.
 *   Learned entries age out after 300 s without traffic from that MAC (802.1D's recommended aging time).
 *   The database is bounded, as a switch's is: when it is full, aged entries are swept out (at most once
 *   a second) and, if none had aged, a new MAC is not learned — frames for it are flooded — and counted
 *   (a MAC flood cannot grow the simulator's memory).
 *   A frame too short to hold its two MAC addresses is dropped.
 *
 * Every receiver gets its own copy of the frame, after the segment's delay (0: at the same instant, after
 * the events already due). There is no bandwidth or collision model.
 */
import type { Scheduler } from "../sim/scheduler.ts";
import type { LinkCounters, Port } from "./port.ts";

export interface SharedSegmentOptions {
  /** "switch" (default) or "hub". */
  readonly mode?: "switch" | "hub";
  /** Delay from transmit to delivery in ns. Default 0. */
  readonly delayNs?: bigint;
  /** Filtering database aging time in ns (switch). Default 300 s. */
  readonly agingNs?: bigint;
  /** Prefix of port names: "<name>.0", "<name>.1", ... Default "lan". */
  readonly name?: string;
  /** Filtering database entries at most (switch). Default 8192. */
  readonly maxEntries?: number;
}

export interface SegmentCounters extends LinkCounters {
  /** Frames sent to every other port (broadcast, multicast, unknown unicast, or any frame on a hub). */
  framesFlooded: number;
  /** Frames a switch sent to one learned port. */
  framesForwarded: number;
  /** Frames a switch discarded because their destination was learned on the port they came from. */
  framesFiltered: number;
  /** Source MACs a switch did not learn because its filtering database was full. */
  learningRefused: number;
}

class SegmentPort implements Port {
  receive: ((frame: Uint8Array) => void) | undefined;

  constructor(
    readonly name: string,
    readonly id: number,
    private readonly carry: (from: SegmentPort, frame: Uint8Array) => void,
  ) {}

  transmit(frame: Uint8Array): void {
    this.carry(this, frame);
  }

  attach(receive: (frame: Uint8Array) => void): void {
    this.receive = receive;
  }
}

interface Learned {
  readonly port: SegmentPort;
  seenNs: bigint;
}

const MAC_PAIR = 12;

export class SharedSegment {
  readonly counters: SegmentCounters = {
    framesSent: 0,
    framesDelivered: 0,
    bytesSent: 0,
    framesDropped: 0,
    framesFlooded: 0,
    framesForwarded: 0,
    framesFiltered: 0,
    learningRefused: 0,
  };
  readonly mode: "switch" | "hub";
  readonly #ports: SegmentPort[] = [];
  /** Filtering database: 48-bit MAC as a number → where it was last seen. */
  readonly #learned = new Map<number, Learned>();
  readonly #delayNs: bigint;
  readonly #agingNs: bigint;
  readonly #name: string;
  readonly #maxEntries: number;
  #sweptAtNs: bigint | undefined;

  constructor(
    private readonly scheduler: Scheduler,
    options: SharedSegmentOptions = {},
  ) {
    this.mode = options.mode ?? "switch";
    this.#delayNs = options.delayNs ?? 0n;
    if (this.#delayNs < 0n) throw new RangeError("shared segment: a delay cannot be negative");
    this.#agingNs = options.agingNs ?? 300_000_000_000n;
    this.#name = options.name ?? "lan";
    this.#maxEntries = options.maxEntries ?? 8192;
    if (!Number.isInteger(this.#maxEntries) || this.#maxEntries < 1)
      throw new RangeError(`shared segment: maxEntries ${this.#maxEntries}`);
  }

  /** Entries in the filtering database now (aged ones not yet swept included). */
  get learnedCount(): number {
    return this.#learned.size;
  }

  /** Plugs a new port into the segment. */
  port(name = `${this.#name}.${this.#ports.length}`): Port {
    const p = new SegmentPort(name, this.#ports.length, (from, frame) => this.#carry(from, frame));
    this.#ports.push(p);
    return p;
  }

  /** The port a switch has learned `mac` (6 bytes) on, if any and not aged out. */
  learnedPort(mac: Uint8Array): Port | undefined {
    return this.#lookup(macKey(mac, 0));
  }

  /** A frame transmitted by `from`: learn, then forward, filter or flood. */
  #carry(from: SegmentPort, frame: Uint8Array): void {
    this.counters.framesSent++;
    this.counters.bytesSent += frame.length;
    if (this.mode === "hub") {
      this.counters.framesFlooded++;
      this.#flood(from, frame);
      return;
    }
    if (frame.length < MAC_PAIR) {
      this.counters.framesDropped++;
      return;
    }
    const src = macKey(frame, 6);
    // A group address as source is invalid (IEEE 802.3 §3.2.3): forwarded, but never learned.
    if (((frame[6] as number) & 1) === 0) this.#learn(src, from);
    if (((frame[0] as number) & 1) === 1) {
      this.counters.framesFlooded++;
      this.#flood(from, frame);
      return;
    }
    const to = this.#lookup(macKey(frame, 0));
    if (to === undefined) {
      this.counters.framesFlooded++;
      this.#flood(from, frame);
    } else if (to === from) {
      this.counters.framesFiltered++;
    } else {
      this.counters.framesForwarded++;
      this.#send(to, frame.slice());
    }
  }

  #learn(mac: number, port: SegmentPort): void {
    const now = this.scheduler.nowNs();
    const e = this.#learned.get(mac);
    if (e !== undefined && e.port === port) e.seenNs = now;
    else if (e !== undefined || this.#room(now)) this.#learned.set(mac, { port, seenNs: now });
    else this.counters.learningRefused++;
  }

  /** Whether a new entry fits, after sweeping out aged ones when the database is full. */
  #room(now: bigint): boolean {
    if (this.#learned.size < this.#maxEntries) return true;
    if (this.#sweptAtNs !== undefined && now - this.#sweptAtNs < 1_000_000_000n) return false;
    this.#sweptAtNs = now;
    for (const [mac, e] of this.#learned) if (now - e.seenNs > this.#agingNs) this.#learned.delete(mac);
    return this.#learned.size < this.#maxEntries;
  }

  #lookup(mac: number): SegmentPort | undefined {
    const e = this.#learned.get(mac);
    if (e === undefined) return undefined;
    if (this.scheduler.nowNs() - e.seenNs > this.#agingNs) {
      this.#learned.delete(mac);
      return undefined;
    }
    return e.port;
  }

  #flood(from: SegmentPort, frame: Uint8Array): void {
    for (const p of this.#ports) if (p !== from) this.#send(p, frame.slice());
  }

  #send(to: SegmentPort, copy: Uint8Array): void {
    this.scheduler.after(this.#delayNs, () => {
      const receive = to.receive;
      if (receive === undefined) {
        this.counters.framesDropped++;
        return;
      }
      this.counters.framesDelivered++;
      receive(copy);
    });
  }
}

/** A 48-bit MAC at bytes[offset] as an exact number (fits in a double). */
function macKey(bytes: Uint8Array, offset: number): number {
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * 256 + (bytes[offset + i] ?? 0);
  return v;
}
