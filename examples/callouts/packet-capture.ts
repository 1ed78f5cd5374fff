/**
 * User-mode packet capture, the design of the seed articles (../../shared/seeds): a WFP callout that hands
 * every IP packet to an application. It sits at the six IP packet layers — INBOUND_IPPACKET,
 * OUTBOUND_IPPACKET and IPFORWARD, V4 and V6 — and absorbs each packet it did not inject itself, queueing
 * a copy for "user mode". User code reads the queue with `for await (const p of capture)` and answers
 * each packet with a verdict: permit (reinjected unchanged), drop, or new bytes (reinjected after their
 * checksums are fixed, D39). Reinjection uses the layer's function (D31): network receive inbound,
 * network send outbound, forward for forwarded packets, with one injection handle per family (D32).
 * The copy is deep (FwpsAllocateNetBufferAndNetBufferList0), as the clone guidelines ask of a callout
 * that waits for user mode: no clone is held while the application thinks.
 *
 * User mode runs outside the simulation's clock: `drive` steps the scheduler one event at a time and
 * waits whenever a packet waits for its verdict, so a run is deterministic and user mode takes no
 * simulated time.
 *
 * @example
 * ```ts
 * const capture = new PacketCapture(engine, shim);
 * const served = capture.serve((p) => (isBad(p.bytes) ? "drop" : "permit"));
 * await drive(net.scheduler, [capture], net.scheduler.nowNs() + seconds(1));
 * capture.close();
 * await served;
 * ```
 */
import type { Ipv4Address, Ipv6Address } from "../../src/base/index.ts";
import {
  CLASSIFY_OUT_FLAG_ABSORB,
  type CalloutClassifyFn,
  type FilterEngine,
  type InFixedValues,
  RIGHT_ACTION_WRITE,
} from "../../src/engine/index.ts";
import { fieldIndex } from "../../src/fwp/index.ts";
import {
  FWPS_INJECTION_TYPE,
  FWPS_PACKET_INJECTION_STATE,
  type InjectionHandle,
  type NetBufferList,
  type NtStatus,
  parseIpPacket,
  type Shim,
  type ShimMetadata,
} from "../../src/shim/index.ts";
import type { Scheduler } from "../../src/stack/index.ts";
import {
  fillIcmpv4Checksum,
  fillIcmpv6Checksum,
  fillTcpChecksum,
  fillUdpChecksum,
  IpProtocol,
  Ipv4View,
} from "../../src/wire/index.ts";

/** The three IP packet layer kinds (each in V4 and V6). */
export type CaptureLayer = "INBOUND_IPPACKET" | "OUTBOUND_IPPACKET" | "IPFORWARD";

/** What user code answers: reinject as is, drop, or reinject these bytes instead. */
export type Verdict = "permit" | "drop" | Uint8Array;

/** One packet handed to user mode. */
export interface CapturedPacket {
  /** 0, 1, 2, … in the order the layers indicated the packets. */
  readonly seq: number;
  readonly layer: CaptureLayer;
  readonly ipVersion: 4 | 6;
  /** A copy of the packet from its IP header. */
  readonly bytes: Uint8Array;
  /** Inbound: the arrival interface; outbound: the interface it leaves by; forward: the destination interface. */
  readonly interfaceIndex: number;
  readonly subInterfaceIndex: number;
  /** Answers the packet (once; later answers are ignored). */
  reply(verdict: Verdict): void;
  readonly answered: boolean;
}

export interface PacketCaptureOptions {
  /** Default all three. */
  readonly layers?: readonly CaptureLayer[];
  /** Default both. */
  readonly ipVersions?: readonly (4 | 6)[];
}

export interface PacketCaptureCounters {
  captured: number;
  permitted: number;
  dropped: number;
  modified: number;
  /** Indications of packets the capture reinjected, let through (D34). */
  reinjectedSeen: number;
  completed: number;
  injectionFailures: number;
}

const S = FWPS_PACKET_INJECTION_STATE;

let nextCalloutKey = 0;

/**
 * The capture callout on one host's engine and shim, readable as an async iterator of packets. Only one
 * consumer should iterate it.
 */
export class PacketCapture implements AsyncIterable<CapturedPacket> {
  readonly counters: PacketCaptureCounters = {
    captured: 0,
    permitted: 0,
    dropped: 0,
    modified: 0,
    reinjectedSeen: 0,
    completed: 0,
    injectionFailures: 0,
  };
  /** Statuses of injections that failed (the call or its completion). */
  readonly failures: NtStatus[] = [];
  readonly #shim: Shim;
  readonly #handles: { readonly 4: InjectionHandle; readonly 6: InjectionHandle };
  readonly #queue: CapturedPacket[] = [];
  readonly #readers: ((r: IteratorResult<CapturedPacket>) => void)[] = [];
  #waiting = 0;
  #idle: (() => void)[] = [];
  #closed = false;
  #seq = 0;

  constructor(engine: FilterEngine, shim: Shim, options: PacketCaptureOptions = {}) {
    this.#shim = shim;
    const fwps = shim.fwps;
    const flags = FWPS_INJECTION_TYPE.FWPS_INJECTION_TYPE_NETWORK | FWPS_INJECTION_TYPE.FWPS_INJECTION_TYPE_FORWARD;
    const h4 = fwps.injectionHandleCreate("AF_INET", flags);
    const h6 = fwps.injectionHandleCreate("AF_INET6", flags);
    if (h4.handle === null || h6.handle === null) throw new Error(`FwpsInjectionHandleCreate0: ${h4.status}`);
    this.#handles = { 4: h4.handle, 6: h6.handle };
    const classify: CalloutClassifyFn = (values, meta, data, _c, _f, _flow, out) =>
      this.#classify(values, meta as unknown as ShimMetadata, data, out);
    for (const layer of options.layers ?? (["INBOUND_IPPACKET", "OUTBOUND_IPPACKET", "IPFORWARD"] as const))
      for (const v of options.ipVersions ?? ([4, 6] as const)) {
        const name = `FWPM_LAYER_${layer}_V${v}`;
        nextCalloutKey++;
        const calloutKey = `5eed0000-0000-4000-8000-${nextCalloutKey.toString(16).padStart(12, "0")}`;
        engine.addCallout({ calloutKey, name: `user-mode capture (${name})`, applicableLayer: name });
        engine.registerCallout({ calloutKey, classifyFn: classify });
        engine.addFilter({
          name: `user-mode capture (${name})`,
          layer: name,
          action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey },
        });
      }
  }

  /** Packets handed out and not yet answered. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Resolves when no packet waits for a verdict. */
  whenAnswered(): Promise<void> {
    if (this.#waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<CapturedPacket> {
    return {
      next: () => {
        const p = this.#queue.shift();
        if (p !== undefined) return Promise.resolve({ value: p, done: false });
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#readers.push(resolve));
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /** Reads every packet and answers it with `handler`'s verdict, until the capture is closed. */
  async serve(handler: (p: CapturedPacket) => Verdict | Promise<Verdict>): Promise<void> {
    for await (const p of this) p.reply(await handler(p));
  }

  /** Ends the iteration; packets still queued are permitted (so nothing is lost by closing). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#queue.splice(0)) p.reply("permit");
    for (const r of this.#readers.splice(0)) r({ value: undefined, done: true });
  }

  #classify(
    values: InFixedValues,
    meta: ShimMetadata,
    data: unknown,
    out: { actionType: string; rights: number; flags: number },
  ): void {
    if ((out.rights & RIGHT_ACTION_WRITE) === 0) return;
    const fwps = this.#shim.fwps;
    const ipVersion = values.layer.ipVersion === "V6" ? 6 : 4;
    const handle = this.#handles[ipVersion];
    const state = fwps.queryPacketInjectionState(handle, data).state;
    if (state === S.FWPS_PACKET_INJECTED_BY_SELF || state === S.FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF) {
      this.counters.reinjectedSeen++;
      out.actionType = "FWP_ACTION_PERMIT";
      return;
    }
    const nbl = data as { bytes: Uint8Array; ipOffset: number; end: number } | undefined;
    if (this.#closed || nbl === undefined || nbl.ipOffset < 0) {
      out.actionType = "FWP_ACTION_PERMIT";
      return;
    }
    const layer =
      values.layer.subFamily === "ip-forward"
        ? "IPFORWARD"
        : (`${values.layer.direction === "inbound" ? "IN" : "OUT"}BOUND_IPPACKET` as const);
    const index = (condition: string): number => {
      const i = fieldIndex(values.layer, condition);
      const v = i === undefined ? undefined : values.incomingValues[i];
      return v?.type === "FWP_UINT32" ? v.value : 0;
    };
    const forward = layer === "IPFORWARD";
    const packet = this.#packet({
      seq: this.#seq++,
      layer,
      ipVersion,
      // The inbound layer indicates the NBL after the IP header; the copy starts at it (D.8).
      bytes: nbl.bytes.slice(nbl.ipOffset, nbl.end),
      interfaceIndex: index(forward ? "FWPM_CONDITION_DESTINATION_INTERFACE_INDEX" : "FWPM_CONDITION_INTERFACE_INDEX"),
      subInterfaceIndex: index(
        forward ? "FWPM_CONDITION_DESTINATION_SUB_INTERFACE_INDEX" : "FWPM_CONDITION_SUB_INTERFACE_INDEX",
      ),
      compartmentId: meta.compartmentId ?? 0,
    });
    this.counters.captured++;
    this.#waiting++;
    const reader = this.#readers.shift();
    if (reader !== undefined) reader({ value: packet, done: false });
    else this.#queue.push(packet);
    out.actionType = "FWP_ACTION_BLOCK";
    out.flags |= CLASSIFY_OUT_FLAG_ABSORB;
    out.rights &= ~RIGHT_ACTION_WRITE;
  }

  #packet(p: Omit<CapturedPacket, "reply" | "answered"> & { readonly compartmentId: number }): CapturedPacket {
    let answered = false;
    const reply = (verdict: Verdict): void => {
      if (answered) return;
      answered = true;
      this.#answer(p, verdict);
    };
    return {
      seq: p.seq,
      layer: p.layer,
      ipVersion: p.ipVersion,
      bytes: p.bytes,
      interfaceIndex: p.interfaceIndex,
      subInterfaceIndex: p.subInterfaceIndex,
      get answered() {
        return answered;
      },
      reply,
    };
  }

  #answer(p: Omit<CapturedPacket, "reply" | "answered"> & { readonly compartmentId: number }, verdict: Verdict): void {
    if (verdict === "drop") this.counters.dropped++;
    else this.#reinject(p, verdict);
    this.#waiting--;
    if (this.#waiting === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  #reinject(
    p: Omit<CapturedPacket, "reply" | "answered"> & { readonly compartmentId: number },
    verdict: Exclude<Verdict, "drop">,
  ): void {
    const fwps = this.#shim.fwps;
    let bytes = p.bytes;
    if (verdict === "permit") this.counters.permitted++;
    else {
      this.counters.modified++;
      bytes = verdict.slice();
      fixChecksums(bytes);
    }
    const nbl = fwps.allocateNetBufferAndNetBufferList(bytes).netBufferList as NetBufferList;
    const handle = this.#handles[p.ipVersion];
    const done = (_ctx: unknown, n: NetBufferList): void => {
      this.counters.completed++;
      if (n.status !== "STATUS_SUCCESS") {
        this.counters.injectionFailures++;
        this.failures.push(n.status);
      }
      fwps.freeNetBufferList(n);
    };
    const af = p.ipVersion === 6 ? "AF_INET6" : "AF_INET";
    const status =
      p.layer === "OUTBOUND_IPPACKET"
        ? fwps.injectNetworkSendAsync(handle, null, 0, p.compartmentId, nbl, done, null)
        : p.layer === "INBOUND_IPPACKET"
          ? fwps.injectNetworkReceiveAsync(
              handle,
              null,
              0,
              p.compartmentId,
              p.interfaceIndex,
              p.subInterfaceIndex,
              nbl,
              done,
              null,
            )
          : fwps.injectForwardAsync(handle, null, 0, af, p.compartmentId, p.interfaceIndex, nbl, done, null);
    if (status !== "STATUS_SUCCESS") {
      this.counters.injectionFailures++;
      this.failures.push(status);
      fwps.freeNetBufferList(nbl);
    }
  }
}

/**
 * Runs `scheduler` until `untilNs` (or until nothing is left to do), one event at a time, waiting for user
 * mode whenever one of `captures` has packets without a verdict. User mode thus takes no simulated time.
 */
export async function drive(scheduler: Scheduler, captures: readonly PacketCapture[], untilNs?: bigint): Promise<void> {
  for (;;) {
    if (captures.some((c) => c.waiting > 0)) {
      await Promise.all(captures.map((c) => c.whenAnswered()));
      continue;
    }
    const due = scheduler.nextDueNs;
    if (due === undefined || (untilNs !== undefined && due > untilNs)) break;
    scheduler.run({ maxEvents: 1 });
  }
  if (untilNs !== undefined && scheduler.nowNs() < untilNs) scheduler.run({ untilNs });
}

/**
 * Recomputes the checksums of an IP packet in place (D39): the IPv4 header's, and the TCP, UDP, ICMPv4 or
 * ICMPv6 checksum of an unfragmented packet (UDP over IPv4 keeps 0, "no checksum", if it had it).
 * Returns false when the bytes are not an IP packet.
 */
export function fixChecksums(packet: Uint8Array): boolean {
  const parsed = parseIpPacket(packet);
  if (!parsed.ok) return false;
  const info = parsed.value;
  if (info.version === 4) {
    const view = Ipv4View.check(packet, 0, packet.length);
    if (view.ok) view.value.fillChecksum();
  }
  const t = info.transport;
  if (t === undefined || info.fragment !== undefined) return true;
  const start = t.offset;
  const end = info.offset + info.length;
  const addresses =
    info.version === 4
      ? { version: 4 as const, src: info.src as Ipv4Address, dst: info.dst as Ipv4Address }
      : { version: 6 as const, src: info.src as Ipv6Address, dst: info.dst as Ipv6Address };
  switch (info.protocol) {
    case IpProtocol.Tcp:
      fillTcpChecksum(packet, start, end, addresses);
      break;
    case IpProtocol.Udp:
      if (!(info.version === 4 && packet[start + 6] === 0 && packet[start + 7] === 0))
        fillUdpChecksum(packet, start, end, addresses);
      break;
    case IpProtocol.Icmp:
      if (info.version === 4) fillIcmpv4Checksum(packet, start, end);
      break;
    case IpProtocol.Icmpv6:
      if (addresses.version === 6) fillIcmpv6Checksum(packet, start, end, addresses);
      break;
  }
  return true;
}
