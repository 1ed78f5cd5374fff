/**
 * A full-duplex point-to-point link (a cable between two NICs): ports `a` and `b`, and one independent
 * channel per direction with
 *
 * - a propagation delay (the time a bit takes to cross the cable);
 * - optionally a bandwidth: each frame then occupies the transmitter for its serialization time,
 *   (bytes + per-frame overhead) × 8 / bits-per-second, and frames that arrive while it is busy wait in a
 *   bounded FIFO transmit queue; a frame that finds the queue full is dropped and counted (tail drop, as a
 *   NIC's transmit ring does).
 *
 * Frames are delivered in the order they were transmitted, as copies the receiver owns. Everything runs on
 * the simulation's scheduler; nothing is delivered synchronously inside `transmit`.
 */
import type { Scheduler } from "../sim/scheduler.ts";
import type { LinkCounters, Port } from "./port.ts";

/** One direction's physical properties. */
export interface ChannelOptions {
  /** One-way propagation delay in ns. Default 0 (delivered at the same instant, after events already due). */
  readonly delayNs?: bigint;
  /** Bits per second; absent: infinitely fast (no serialization delay, no queue). */
  readonly bandwidthBps?: number;
  /**
   * Frames that may wait behind the one being serialized (only with a bandwidth). Default 64. A frame that
   * finds this many waiting is dropped.
   */
  readonly queueFrames?: number;
  /**
   * Bytes added to every frame's serialization time: 24 models Ethernet's preamble and start delimiter (8),
   * frame check sequence (4) and inter-frame gap (12), which frames here do not carry. Default 0.
   */
  readonly overheadBytes?: number;
}

export interface PointToPointOptions extends ChannelOptions {
  /** Names the ports "<name>.a" and "<name>.b". Default "p2p". */
  readonly name?: string;
  /** Overrides for frames sent from a to b. */
  readonly aToB?: ChannelOptions;
  /** Overrides for frames sent from b to a. */
  readonly bToA?: ChannelOptions;
}

/** Counters of one direction, plus the deepest the transmit queue has been. */
export interface ChannelCounters extends LinkCounters {
  /** Frames dropped because the transmit queue was full (included in framesDropped). */
  queueDrops: number;
  /** Frames that arrived at a port with no receiver attached (included in framesDropped). */
  noReceiver: number;
  /** The most frames ever waiting in the transmit queue. */
  maxQueueDepth: number;
}

function newCounters(): ChannelCounters {
  return {
    framesSent: 0,
    framesDelivered: 0,
    bytesSent: 0,
    framesDropped: 0,
    queueDrops: 0,
    noReceiver: 0,
    maxQueueDepth: 0,
  };
}

/** One direction: a transmitter (with its queue) and the cable's delay. */
class Channel {
  readonly counters = newCounters();
  readonly #delayNs: bigint;
  readonly #bandwidthBps: number | undefined;
  readonly #queueFrames: number;
  readonly #overheadBytes: number;
  /** When the transmitter finishes the last frame accepted so far. */
  #busyUntilNs = 0n;
  /** Start times of accepted frames, in order; those not yet started are the queue. */
  readonly #starts: bigint[] = [];
  #head = 0;
  #receive: ((frame: Uint8Array) => void) | undefined;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly total: LinkCounters,
    options: ChannelOptions,
  ) {
    this.#delayNs = options.delayNs ?? 0n;
    if (this.#delayNs < 0n) throw new RangeError("point-to-point: a delay cannot be negative");
    this.#bandwidthBps = options.bandwidthBps;
    if (this.#bandwidthBps !== undefined && !(this.#bandwidthBps > 0 && Number.isFinite(this.#bandwidthBps))) {
      throw new RangeError(`point-to-point: bandwidth ${this.#bandwidthBps} must be a positive number`);
    }
    this.#queueFrames = options.queueFrames ?? 64;
    if (!Number.isInteger(this.#queueFrames) || this.#queueFrames < 0) {
      throw new RangeError(`point-to-point: queue of ${this.#queueFrames} frames`);
    }
    this.#overheadBytes = options.overheadBytes ?? 0;
  }

  attach(receive: (frame: Uint8Array) => void): void {
    this.#receive = receive;
  }

  /** Frames accepted but not yet being serialized. */
  queueDepth(nowNs: bigint): number {
    while (this.#head < this.#starts.length && (this.#starts[this.#head] as bigint) <= nowNs) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#starts.length) {
      this.#starts.splice(0, this.#head);
      this.#head = 0;
    }
    return this.#starts.length - this.#head;
  }

  send(frame: Uint8Array): void {
    const now = this.scheduler.nowNs();
    let doneNs = now;
    if (this.#bandwidthBps !== undefined) {
      const depth = this.queueDepth(now);
      const busy = this.#busyUntilNs > now;
      if (busy && depth >= this.#queueFrames) {
        this.#drop("queue");
        return;
      }
      const start = busy ? this.#busyUntilNs : now;
      const bits = (frame.length + this.#overheadBytes) * 8;
      doneNs = start + BigInt(Math.ceil((bits * 1e9) / this.#bandwidthBps));
      this.#busyUntilNs = doneNs;
      if (start > now) {
        this.#starts.push(start);
        if (depth + 1 > this.counters.maxQueueDepth) this.counters.maxQueueDepth = depth + 1;
      }
    }
    this.counters.framesSent++;
    this.counters.bytesSent += frame.length;
    this.total.framesSent++;
    this.total.bytesSent += frame.length;
    // The receiver's own copy, taken now: the sender may reuse its buffer as soon as transmit returns.
    const copy = frame.slice();
    this.scheduler.at(doneNs + this.#delayNs, () => this.#deliver(copy));
  }

  #deliver(frame: Uint8Array): void {
    const receive = this.#receive;
    if (receive === undefined) {
      this.#drop("noReceiver");
      return;
    }
    this.counters.framesDelivered++;
    this.total.framesDelivered++;
    receive(frame);
  }

  #drop(why: "queue" | "noReceiver"): void {
    this.counters.framesDropped++;
    this.total.framesDropped++;
    if (why === "queue") this.counters.queueDrops++;
    else this.counters.noReceiver++;
  }
}

class P2pPort implements Port {
  constructor(
    readonly name: string,
    private readonly out: Channel,
    private readonly into: Channel,
  ) {}

  transmit(frame: Uint8Array): void {
    this.out.send(frame);
  }

  attach(receive: (frame: Uint8Array) => void): void {
    this.into.attach(receive);
  }
}

/**
 * Two ports joined by a cable. Delivery order equals transmit order in each direction: the delay is fixed
 * per direction, serialization is FIFO, and the scheduler runs events due at the same instant in the order
 * they were scheduled.
 */
export class PointToPointLink {
  readonly a: Port;
  readonly b: Port;
  /** Both directions together. */
  readonly counters: LinkCounters = { framesSent: 0, framesDelivered: 0, bytesSent: 0, framesDropped: 0 };
  readonly #aToB: Channel;
  readonly #bToA: Channel;

  constructor(scheduler: Scheduler, options: PointToPointOptions = {}) {
    const name = options.name ?? "p2p";
    const { aToB, bToA, name: _name, ...shared } = options;
    this.#aToB = new Channel(scheduler, this.counters, { ...shared, ...aToB });
    this.#bToA = new Channel(scheduler, this.counters, { ...shared, ...bToA });
    this.a = new P2pPort(`${name}.a`, this.#aToB, this.#bToA);
    this.b = new P2pPort(`${name}.b`, this.#bToA, this.#aToB);
  }

  /** Counters of frames sent from a to b. */
  get aToB(): Readonly<ChannelCounters> {
    return this.#aToB.counters;
  }

  /** Counters of frames sent from b to a. */
  get bToA(): Readonly<ChannelCounters> {
    return this.#bToA.counters;
  }
}
