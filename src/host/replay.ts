/**
 * The composition root of `openwfp replay`: streams a capture (constant memory), finds each frame's IP
 * packet, passes it through the packet observer (src/observe) over the policy's engine with the capture's
 * own timestamps as the clock, and writes permitted and dropped frames to pcapng files, net events
 * (CLASSIFY_DROP, CLASSIFY_ALLOW) as NDJSON, and a summary: packets per verdict, per layer and per
 * deciding filter, flows, directions, malformed and non-IP frames, and the callout assumptions made.
 * Malformed packets are counted and written to the permitted file (no filter saw them, so nothing dropped
 * them) [INF]; non-IP frames likewise pass. Every input frame goes to exactly one of the two outputs.
 */
import { closeSync, openSync, statSync, writeSync } from "node:fs";
import { describeError, type IpAddress, ManualClock, OpenWfpError, parseIpAddress } from "../base/index.ts";
import { netEventFromClassify } from "../bfe/index.ts";
import type { NetEventHeaderInput } from "../bfe/netevents/types.ts";
import { FileSink, formatCaptureError, PcapngWriter, type ScanRecord, scanCaptureRecords } from "../capture/index.ts";
import { networkStart, PacketObserver, simpleIpOffset } from "../observe/index.ts";
import { type ClassifyRecord, Shim } from "../shim/index.ts";
import type { WireError } from "../wire/index.ts";
import { collectGarbage } from "./heap.ts";
import { type CalloutAssumption, loadPolicySource, type PolicySourceSpec } from "./policy-source.ts";

export interface ReplayRequest {
  readonly capturePath: string;
  readonly source: PolicySourceSpec;
  /** The host's own addresses (what makes a packet inbound or outbound). */
  readonly local: readonly string[];
  /** `--callout KEY=BEHAVIOUR` assumptions. */
  readonly callouts?: ReadonlyMap<string, string>;
  readonly permittedPath?: string;
  readonly droppedPath?: string;
  readonly eventsPath?: string;
  /** ALE flows kept at once (default 65536; older ones are evicted and counted). */
  readonly flowCapacity?: number;
  /**
   * Keep flows even when the policy lets none matter (no ALE filter, no callout), for the flow counts; by
   * default such a policy is replayed without a flow table (`flows.untracked`).
   */
  readonly trackFlows?: boolean;
  /** Called now and then with the bytes read so far and the file size. */
  readonly onProgress?: (bytesRead: number, totalBytes: number) => void;
}

export interface FilterCount {
  readonly id: string;
  readonly key: string;
  readonly name: string;
  readonly layer: string;
  readonly sublayer: string;
  packets: number;
}

export interface ReplaySummary {
  readonly capture: string;
  readonly policy: string;
  packets: number;
  permitted: number;
  dropped: number;
  /** Dropped because their flow had been blocked at ALE. */
  droppedByFlow: number;
  /** Frames whose IP packet could not be read (counted, passed). */
  malformed: number;
  /** Frames that carry no IP packet (ARP, other link types). */
  notIp: number;
  readonly directions: { inbound: number; outbound: number; loopback: number; forward: number };
  /** Dropped packets by the layer that dropped them. */
  readonly droppedByLayer: Record<string, number>;
  /** Dropped packets by deciding filter (most first). */
  readonly droppedByFilter: FilterCount[];
  /** `untracked`: packets passed without flow tracking, the policy letting no flow matter. */
  readonly flows: { created: number; blocked: number; evicted: number; expired: number; untracked: number };
  netEvents: number;
  /** Faults of the capture file (it was read up to them). */
  readonly captureErrors: string[];
  readonly assumptions: readonly CalloutAssumption[];
  /** Up to 20 examples of malformed packets: "packet 12: tcp: header truncated at offset 34 (field dataOffset)". */
  readonly malformedExamples: string[];
}

function parseLocal(values: readonly string[]): IpAddress[] {
  const out: IpAddress[] = [];
  for (const v of values.flatMap((x) => x.split(","))) {
    const t = v.trim();
    if (t === "") continue;
    try {
      out.push(parseIpAddress(t));
    } catch (e) {
      throw new OpenWfpError("E_USAGE", `--local: ${describeError(e)}`, { path: "--local" });
    }
  }
  if (out.length === 0) throw new OpenWfpError("E_USAGE", "--local needs at least one address", { path: "--local" });
  return out;
}

class NdjsonFile {
  readonly #fd: number;
  #buffer = "";
  constructor(path: string) {
    try {
      this.#fd = openSync(path, "w");
    } catch (e) {
      throw new OpenWfpError("E_FILE", `cannot write ${path}: ${describeError(e)}`, { path });
    }
  }
  write(value: unknown): void {
    this.#buffer += `${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v))}\n`;
    if (this.#buffer.length > 1 << 20) this.flush();
  }
  flush(): void {
    if (this.#buffer !== "") writeSync(this.#fd, this.#buffer);
    this.#buffer = "";
  }
  close(): void {
    this.flush();
    closeSync(this.#fd);
  }
}

/** A pcapng writer that adds an interface for each input interface when it first shows up. */
class CaptureOut {
  readonly #writer: PcapngWriter;
  readonly #ids = new Map<number, number>();
  constructor(path: string) {
    this.#writer = new PcapngWriter(new FileSink(path), { application: "openwfp replay" });
  }
  write(interfaceId: number, linkType: number, timestampNs: bigint, data: Uint8Array, originalLength: number): void {
    let id = this.#ids.get(interfaceId);
    if (id === undefined) {
      id = this.#writer.addInterface({ linkType, timestampResolution: "nano", snapLength: 0 });
      this.#ids.set(interfaceId, id);
    }
    this.#writer.writePacket({ interfaceId: id, timestampNs, data, originalLength });
  }
  close(): void {
    this.#writer.close();
  }
}

function netEventInput(r: ClassifyRecord): NetEventHeaderInput {
  const f = r.facts;
  const local = f.localAddress ?? f.sourceAddress;
  const remote = f.remoteAddress ?? f.destinationAddress;
  return {
    direction: f.direction ?? "outbound",
    ...(f.protocol !== undefined ? { ipProtocol: f.protocol } : {}),
    ...(local !== undefined ? { localAddr: local } : {}),
    ...(remote !== undefined ? { remoteAddr: remote } : {}),
    ...(f.localPort !== undefined ? { localPort: f.localPort } : {}),
    ...(f.remotePort !== undefined ? { remotePort: f.remotePort } : {}),
    isLoopback: ((f.flags ?? 0) & 1) !== 0,
  };
}

export async function replay(request: ReplayRequest): Promise<ReplaySummary> {
  const local = parseLocal(request.local);
  let size = 0;
  try {
    size = statSync(request.capturePath).size;
  } catch (e) {
    throw new OpenWfpError("E_FILE", `cannot read capture ${request.capturePath}: ${describeError(e)}`, {
      path: request.capturePath,
    });
  }
  const source = await loadPolicySource(request.source, request.callouts);
  // What loading left behind goes now, before the stream, not along with its first seconds (see heap.ts).
  collectGarbage();
  const clock = new ManualClock();
  const events = request.eventsPath !== undefined ? new NdjsonFile(request.eventsPath) : undefined;
  const summary: ReplaySummary = {
    capture: request.capturePath,
    policy: source.description,
    packets: 0,
    permitted: 0,
    dropped: 0,
    droppedByFlow: 0,
    malformed: 0,
    notIp: 0,
    directions: { inbound: 0, outbound: 0, loopback: 0, forward: 0 },
    droppedByLayer: {},
    droppedByFilter: [],
    flows: { created: 0, blocked: 0, evicted: 0, expired: 0, untracked: 0 },
    netEvents: 0,
    captureErrors: [],
    assumptions: source.assumptions,
    malformedExamples: [],
  };
  const shim = new Shim({
    engine: source.engine,
    clock,
    host: "local",
    flows: { capacity: request.flowCapacity ?? 65536 },
    ...(events !== undefined
      ? {
          log: (r: ClassifyRecord) => {
            if (r.action === "FWP_ACTION_PERMIT" && r.layer.family !== "ale") return;
            const e = netEventFromClassify(r.result, netEventInput(r), r.time);
            if (e === null) return;
            summary.netEvents++;
            events.write(e);
          },
        }
      : {}),
  });
  const observer = new PacketObserver({ shim, local, trackFlows: request.trackFlows === true ? "always" : "auto" });
  const permittedOut = request.permittedPath !== undefined ? new CaptureOut(request.permittedPath) : undefined;
  const droppedOut = request.droppedPath !== undefined ? new CaptureOut(request.droppedPath) : undefined;
  const byFilter = new Map<bigint, FilterCount>();
  let bytesRead = 0;
  let nextExpiry = 0n;
  const malformed = (index: number, e: WireError, base: number): void => {
    summary.malformed++;
    if (summary.malformedExamples.length < 20)
      summary.malformedExamples.push(
        `packet ${index}: ${e.protocol}: ${e.reason} at offset ${e.offset - base} (field ${e.field})`,
      );
  };
  // Called for every packet with the scan's one reused record: the frame is r.buffer[r.offset, frameEnd).
  const onRecord = (r: ScanRecord): void => {
    summary.packets++;
    bytesRead += r.capturedLength + 16;
    if ((summary.packets & 0xffff) === 0) request.onProgress?.(bytesRead, size);
    const now = r.timestampNs();
    if (now > clock.nowNs()) clock.setNs(now);
    if (now >= nextExpiry) {
      observer.expireFlows(now);
      nextExpiry = now + 1_000_000_000n;
    }
    const bytes = r.buffer;
    const frameStart = r.offset;
    const frameEnd = frameStart + r.capturedLength;
    let permit = true;
    let ipAt = simpleIpOffset(r.linkType, bytes, frameStart, frameEnd);
    if (ipAt < 0) {
      const start = networkStart(r.linkType, r.data());
      if (!start.ok) malformed(r.index, start.error, 0);
      else if (start.value.kind === "not-ip") summary.notIp++;
      else ipAt = start.value.offset;
    }
    if (ipAt >= 0) {
      // The observer reads the IP packet in place; its errors' offsets are from the frame's start.
      const v = observer.observe(bytes, frameStart + ipAt, frameEnd);
      if (!v.ok) malformed(r.index, v.error, frameStart);
      else {
        const o = v.value;
        summary.directions[o.direction]++;
        permit = o.permit;
        if (!permit) {
          if (o.byFlow === true) summary.droppedByFlow++;
          const layerName = o.layer?.fwpmName ?? (o.byFlow === true ? "(flow blocked at ALE)" : "(unknown)");
          summary.droppedByLayer[layerName] = (summary.droppedByLayer[layerName] ?? 0) + 1;
          const f = o.result?.decidingFilter;
          if (f !== undefined && f !== null) {
            let c = byFilter.get(f.filterId);
            if (c === undefined) {
              c = {
                id: f.filterId.toString(),
                key: f.filterKey,
                name: f.name,
                layer: f.layer.fwpmName ?? f.layer.fwpsName,
                sublayer: f.sublayer.name,
                packets: 0,
              };
              byFilter.set(f.filterId, c);
            }
            c.packets++;
          }
        }
      }
    }
    if (permit) {
      summary.permitted++;
      permittedOut?.write(r.interfaceId, r.linkType, now, r.data(), r.originalLength);
    } else {
      summary.dropped++;
      droppedOut?.write(r.interfaceId, r.linkType, now, r.data(), r.originalLength);
    }
  };
  try {
    const scanned = await scanCaptureRecords(request.capturePath, onRecord);
    for (const e of scanned.errors) summary.captureErrors.push(formatCaptureError(e));
  } finally {
    permittedOut?.close();
    droppedOut?.close();
    events?.close();
    source.close();
  }
  request.onProgress?.(size, size);
  const oc = observer.counters;
  summary.flows.created = oc.flowsCreated;
  summary.flows.blocked = oc.flowsBlocked;
  summary.flows.evicted = oc.flowsEvicted;
  summary.flows.expired = oc.flowsExpired;
  summary.flows.untracked = oc.untracked;
  summary.droppedByFilter.push(...[...byFilter.values()].sort((a, b) => b.packets - a.packets));
  return summary;
}

export { parseLocal };
