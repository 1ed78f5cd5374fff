/**
 * A simulated network: one scheduler (the simulation's clock), named links (shared Ethernet segments or
 * point-to-point cables), hosts, and optionally a pcapng recorder with one capture interface per NIC
 * attachment. NIC ports can be wrapped in a seeded fault injector (loss, reordering, duplication,
 * corruption). Everything is deterministic for a seed.
 */
import { SeededRng } from "../base/index.ts";
import type { CaptureSink } from "../capture/index.ts";
import type { Shim } from "../shim/index.ts";
import { Host, type HostOptions } from "./host.ts";
import { FaultInjector, type FaultSpec } from "./link/fault.ts";
import { PcapRecorder } from "./link/pcap-tap.ts";
import { PointToPointLink } from "./link/point-to-point.ts";
import type { Port } from "./link/port.ts";
import { SharedSegment } from "./link/shared-segment.ts";
import type { NetInterface } from "./nic.ts";
import { Scheduler } from "./sim/scheduler.ts";

export interface LinkSpec {
  /** "segment" (a switched Ethernet, any number of NICs, default) or "point-to-point" (exactly two). */
  readonly type?: "segment" | "point-to-point";
  /** One-way delay in nanoseconds. */
  readonly delayNs?: bigint;
  /** Point-to-point only: bits per second (serialization delay and a bounded queue). */
  readonly bandwidthBps?: number;
}

export interface AttachSpec {
  readonly addresses: readonly string[];
  readonly mtu?: number;
  /** IF_INDEX of the NIC (default 2, 3, …). */
  readonly index?: number;
  /** NET_LUID of the NIC (default from its IF_TYPE and index). */
  readonly luid?: bigint;
  /** INTERFACE_QUARANTINE_EPOCH (default 0). */
  readonly quarantineEpoch?: bigint;
  /** Default: 02:00:00:00:hh:nn from the host's and NIC's numbers. */
  readonly mac?: Uint8Array;
  /** Faults on frames this NIC sends (outbound) and receives (inbound). */
  readonly faults?: { readonly outbound?: FaultSpec; readonly inbound?: FaultSpec; readonly seed?: number };
}

interface LinkEntry {
  readonly segment?: SharedSegment;
  readonly p2p?: PointToPointLink;
  used: number;
}

export class Network {
  readonly scheduler: Scheduler;
  readonly hosts: Host[] = [];
  readonly rng: SeededRng;
  readonly recorder: PcapRecorder | undefined;
  readonly #links = new Map<string, LinkEntry>();
  readonly faultInjectors: FaultInjector[] = [];

  constructor(options: { readonly seed?: number; readonly startNs?: bigint; readonly capture?: CaptureSink } = {}) {
    this.scheduler = new Scheduler(options.startNs ?? 1_700_000_000_000_000_000n);
    this.rng = new SeededRng(options.seed ?? 1);
    this.recorder =
      options.capture === undefined
        ? undefined
        : new PcapRecorder(this.scheduler, options.capture, { application: "openwfp simulate" });
  }

  link(name: string, spec: LinkSpec = {}): void {
    if (this.#links.has(name)) throw new RangeError(`link ${name} already exists`);
    if (spec.type === "point-to-point") {
      this.#links.set(name, {
        p2p: new PointToPointLink(this.scheduler, {
          name,
          ...(spec.delayNs !== undefined ? { delayNs: spec.delayNs } : {}),
          ...(spec.bandwidthBps !== undefined ? { bandwidthBps: spec.bandwidthBps } : {}),
        }),
        used: 0,
      });
    } else {
      this.#links.set(name, {
        segment: new SharedSegment(this.scheduler, {
          name,
          ...(spec.delayNs !== undefined ? { delayNs: spec.delayNs } : {}),
        }),
        used: 0,
      });
    }
  }

  /** The shared segment called `name` (undefined for a point-to-point link or no link). */
  segment(name: string): SharedSegment | undefined {
    return this.#links.get(name)?.segment;
  }

  /** A new host whose classify points call `shim`. */
  host(name: string, shim: Shim, options: HostOptions = {}): Host {
    if (this.hosts.some((h) => h.name === name)) throw new RangeError(`host ${name} already exists`);
    const h = new Host(name, this.scheduler, shim, { seed: this.rng.nextU32(), ...options });
    this.hosts.push(h);
    return h;
  }

  /** Plugs a new NIC of `host` into link `linkName`. */
  attach(host: Host, nicName: string, linkName: string, spec: AttachSpec): NetInterface {
    const entry = this.#links.get(linkName);
    if (entry === undefined) throw new RangeError(`no link ${linkName}`);
    let port: Port;
    if (entry.p2p !== undefined) {
      if (entry.used >= 2) throw new RangeError(`point-to-point link ${linkName} already has two ends`);
      port = entry.used === 0 ? entry.p2p.a : entry.p2p.b;
    } else port = (entry.segment as SharedSegment).port(`${host.name}.${nicName}`);
    entry.used++;
    if (spec.faults !== undefined) {
      const f = new FaultInjector(this.scheduler, port, {
        rng: new SeededRng(spec.faults.seed ?? this.rng.nextU32()),
        ...(spec.faults.outbound !== undefined ? { outbound: spec.faults.outbound } : {}),
        ...(spec.faults.inbound !== undefined ? { inbound: spec.faults.inbound } : {}),
      });
      this.faultInjectors.push(f);
      port = f;
    }
    if (this.recorder !== undefined)
      port = this.recorder.tap(port, `${host.name}:${nicName}`, `${nicName} of ${host.name} on ${linkName}`);
    const hostIndex = this.hosts.indexOf(host) + 1;
    const mac = spec.mac ?? new Uint8Array([0x02, 0, 0, 0, hostIndex & 0xff, (host.interfaces.length + 1) & 0xff]);
    return host.addEthernet(nicName, port, {
      mac,
      addresses: spec.addresses,
      ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
      ...(spec.index !== undefined ? { index: spec.index } : {}),
      ...(spec.luid !== undefined ? { luid: spec.luid } : {}),
      ...(spec.quarantineEpoch !== undefined ? { quarantineEpoch: spec.quarantineEpoch } : {}),
    });
  }

  /** Runs the simulation until nothing is left to do or `untilNs` (absolute) is reached. */
  run(untilNs?: bigint): number {
    return this.scheduler.run(untilNs !== undefined ? { untilNs } : {});
  }

  /** Runs for `durationNs` of simulated time. */
  runFor(durationNs: bigint): number {
    return this.scheduler.runFor(durationNs);
  }

  close(): void {
    this.recorder?.close();
  }
}
