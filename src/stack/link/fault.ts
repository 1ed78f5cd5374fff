/**
 * A fault injector wrapping a Port (smoltcp's FaultInjector device decorator): seeded loss, duplication,
 * reordering and corruption, configured separately for the frames a NIC transmits (`outbound`) and the
 * frames the link delivers to it (`inbound`).
 *
 * For each frame, in this order: it may be lost; else it may be corrupted (a copy with the bits of one
 * random byte flipped by a random non-zero mask; with `corruptPayloadOnly` the byte is chosen after the
 * Ethernet header and its VLAN tags, so the frame still reaches its NIC and fails higher up, at a
 * checksum); then it may be duplicated (the copy follows right behind); then each copy may be held back
 * by a random extra delay on the scheduler, so frames sent after it overtake it. Frames not held back
 * pass through synchronously.
 *
 * Determinism: every fault kind of every direction draws from its own generator forked from the given
 * `SeededRng` at construction, so a run is replayed exactly by its seed, and switching one fault on or
 * off does not change which frames another fault picks.
 */
import type { SeededRng } from "../../base/index.ts";
import { EthernetView } from "../../wire/index.ts";
import type { Scheduler } from "../sim/scheduler.ts";
import type { Port } from "./port.ts";

/** Faults of one direction; every probability is in [0, 1] and defaults to 0. */
export interface FaultSpec {
  readonly loss?: number;
  readonly duplicate?: number;
  readonly reorder?: number;
  readonly corrupt?: number;
  /** The extra delay of a held-back frame, uniform in [min, max] ns. Default 1 ms to 10 ms. */
  readonly reorderDelayNs?: { readonly min: bigint; readonly max: bigint };
  /** Corrupt only bytes after the Ethernet header (and VLAN tags). Default false. */
  readonly corruptPayloadOnly?: boolean;
}

export interface FaultInjectorOptions {
  readonly rng: SeededRng;
  /** Faults on frames the NIC transmits. */
  readonly outbound?: FaultSpec;
  /** Faults on frames the link delivers to the NIC. */
  readonly inbound?: FaultSpec;
  /** The wrapping port's name. Default: the inner port's. */
  readonly name?: string;
}

/** What happened to the frames of one direction. */
export interface FaultCounters {
  /** Frames that entered the injector. */
  frames: number;
  lost: number;
  corrupted: number;
  /** Frames sent twice (each counted once). */
  duplicated: number;
  /** Copies held back by an extra delay. */
  reordered: number;
  /** Copies passed on (a duplicated frame counts twice). */
  passed: number;
}

export type FaultDirection = "outbound" | "inbound";

const DEFAULT_REORDER_DELAY = { min: 1_000_000n, max: 10_000_000n } as const;

/** One direction: its spec, its counters, and one generator per fault kind. */
class FaultChannel {
  readonly counters: FaultCounters = { frames: 0, lost: 0, corrupted: 0, duplicated: 0, reordered: 0, passed: 0 };
  spec: FaultSpec = {};
  readonly #loss: SeededRng;
  readonly #corrupt: SeededRng;
  readonly #duplicate: SeededRng;
  readonly #reorder: SeededRng;

  constructor(
    private readonly scheduler: Scheduler,
    rng: SeededRng,
  ) {
    this.#loss = rng.fork();
    this.#corrupt = rng.fork();
    this.#duplicate = rng.fork();
    this.#reorder = rng.fork();
  }

  handle(frame: Uint8Array, forward: (frame: Uint8Array) => void): void {
    const s = this.spec;
    const c = this.counters;
    c.frames++;
    if (fires(this.#loss, s.loss)) {
      c.lost++;
      return;
    }
    let data = frame;
    let owned = false;
    if (fires(this.#corrupt, s.corrupt)) {
      const corrupted = corruptCopy(frame, this.#corrupt, s.corruptPayloadOnly === true);
      if (corrupted !== undefined) {
        data = corrupted;
        owned = true;
        c.corrupted++;
      }
    }
    const copies = fires(this.#duplicate, s.duplicate) ? 2 : 1;
    if (copies === 2) c.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (fires(this.#reorder, s.reorder)) {
        c.reordered++;
        // Held back: the sender may reuse its buffer meanwhile, so the held copy is our own.
        const held = owned && i === 0 ? data : data.slice();
        this.scheduler.after(this.#delay(), () => {
          c.passed++;
          forward(held);
        });
      } else {
        c.passed++;
        forward(i === 0 ? data : data.slice());
      }
    }
  }

  #delay(): bigint {
    const range = this.spec.reorderDelayNs ?? DEFAULT_REORDER_DELAY;
    const span = range.max - range.min;
    return range.min + BigInt(this.#reorder.nextInt(Number(span) + 1));
  }
}

function fires(rng: SeededRng, p: number | undefined): boolean {
  return p !== undefined && p > 0 && rng.chance(p);
}

/** A copy of `frame` with one byte XOR-ed by a non-zero mask, or undefined when no byte may be touched. */
function corruptCopy(frame: Uint8Array, rng: SeededRng, payloadOnly: boolean): Uint8Array | undefined {
  let start = 0;
  if (payloadOnly) {
    const eth = EthernetView.check(frame, 0, frame.length);
    start = eth.ok ? eth.value.headerLength : frame.length;
  }
  if (start >= frame.length) return undefined;
  const copy = frame.slice();
  const at = start + rng.nextInt(frame.length - start);
  copy[at] = (copy[at] as number) ^ (1 + rng.nextInt(255));
  return copy;
}

function checkSpec(spec: FaultSpec, direction: FaultDirection): void {
  for (const kind of ["loss", "duplicate", "reorder", "corrupt"] as const) {
    const p = spec[kind];
    if (p !== undefined && !(p >= 0 && p <= 1)) {
      throw new RangeError(`fault injector: ${direction} ${kind} probability ${p} is not in [0, 1]`);
    }
  }
  const r = spec.reorderDelayNs;
  if (r !== undefined && (r.min < 0n || r.max < r.min || r.max - r.min >= 4294967296n)) {
    throw new RangeError(`fault injector: ${direction} reorder delay [${r.min}, ${r.max}] ns is not a valid range`);
  }
}

/** A Port that passes frames to and from `inner` through the configured faults. */
export class FaultInjector implements Port {
  readonly name: string;
  readonly #inner: Port;
  readonly #outbound: FaultChannel;
  readonly #inbound: FaultChannel;

  constructor(scheduler: Scheduler, inner: Port, options: FaultInjectorOptions) {
    this.name = options.name ?? inner.name;
    this.#inner = inner;
    this.#outbound = new FaultChannel(scheduler, options.rng);
    this.#inbound = new FaultChannel(scheduler, options.rng);
    this.configure("outbound", options.outbound ?? {});
    this.configure("inbound", options.inbound ?? {});
  }

  /** Replaces the faults of one direction (counters are kept). */
  configure(direction: FaultDirection, spec: FaultSpec): void {
    checkSpec(spec, direction);
    (direction === "outbound" ? this.#outbound : this.#inbound).spec = spec;
  }

  get outbound(): Readonly<FaultCounters> {
    return this.#outbound.counters;
  }

  get inbound(): Readonly<FaultCounters> {
    return this.#inbound.counters;
  }

  transmit(frame: Uint8Array): void {
    this.#outbound.handle(frame, (f) => this.#inner.transmit(f));
  }

  attach(receive: (frame: Uint8Array) => void): void {
    this.#inner.attach((frame) => this.#inbound.handle(frame, receive));
  }
}
