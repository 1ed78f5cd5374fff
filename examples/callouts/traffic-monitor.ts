/**
 * A per-flow traffic monitor, the flow-context pattern of the WDK samples (msnmntr, stmedit; wfp-semantics.md
 * D14–D18): an inspection callout at ALE_FLOW_ESTABLISHED sees every new flow and associates a context with
 * it (FwpsFlowAssociateContext0) for the data layer of the flow — STREAM for TCP, DATAGRAM_DATA for UDP —
 * whose callout is registered FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW, so it only runs on flows that carry its
 * context. That callout counts the bytes in each direction into the context; when the flow ends (close,
 * reset, socket close, idle expiry) the engine calls flowDeleteFn with the context, and the monitor files
 * the flow's report. Both IP versions, inspection only: the monitor never changes a decision.
 *
 * The default export makes it a scenario callout module (docs/scenarios.md): it keeps the host's `fwps`.
 *
 * @example
 * ```ts
 * const monitor = new TrafficMonitor(engine, shim.fwps);
 * // … traffic …
 * for (const r of monitor.reports) console.log(r.protocol, r.remote, r.bytesOut, r.bytesIn);
 * ```
 */
import { Ipv4Address, Ipv6Address } from "../../src/base/index.ts";
import type { CalloutClassifyFn, FilterEngine, InFixedValues } from "../../src/engine/index.ts";
import { FWPS_STREAM_FLAG, type FwpmLayerName, fieldIndex, getLayer } from "../../src/fwp/index.ts";
import type { Fwps, PacketLayerData, ShimMetadata, StreamCalloutIoPacket } from "../../src/shim/index.ts";

/** What the monitor reports for a flow that ended. */
export interface FlowReport {
  /** FLOW_HANDLE of the flow. */
  readonly flowId: bigint;
  readonly protocol: "tcp" | "udp";
  readonly ipVersion: 4 | 6;
  /** The flow's direction (FWP_DIRECTION at ALE_FLOW_ESTABLISHED): who opened it. */
  readonly direction: "outbound" | "inbound";
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Payload bytes this host sent on the flow (STREAM send / outbound datagrams). */
  readonly bytesOut: number;
  /** Payload bytes this host received on the flow. */
  readonly bytesIn: number;
  /** Stream indications or datagrams, each way. */
  readonly indicationsOut: number;
  readonly indicationsIn: number;
}

interface Counts {
  flowId: bigint;
  protocol: "tcp" | "udp";
  ipVersion: 4 | 6;
  direction: "outbound" | "inbound";
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  bytesOut: number;
  bytesIn: number;
  indicationsOut: number;
  indicationsIn: number;
}

const CONDITIONAL_ON_FLOW = 0x1;
const OUTBOUND = 0;

/** This port's callout keys: flow-established, stream and datagram-data, V4 and V6. */
const KEYS = {
  established: ["7a0f0000-5e0e-4a1d-9000-000000000041", "7a0f0000-5e0e-4a1d-9000-000000000061"],
  stream: ["7a0f0000-5e0e-4a1d-9000-000000000042", "7a0f0000-5e0e-4a1d-9000-000000000062"],
  datagram: ["7a0f0000-5e0e-4a1d-9000-000000000043", "7a0f0000-5e0e-4a1d-9000-000000000063"],
} as const;

function numberAt(values: InFixedValues, condition: string): number {
  const name = values.layer.fwpmName ?? values.layer.fwpsName;
  const i = fieldIndex(name, condition);
  const v = i === undefined ? undefined : values.incomingValues[i];
  return v !== undefined && "value" in v && typeof v.value === "number" ? v.value : 0;
}

function addressAt(values: InFixedValues, condition: string): string {
  const name = values.layer.fwpmName ?? values.layer.fwpsName;
  const i = fieldIndex(name, condition);
  const v = i === undefined ? undefined : values.incomingValues[i];
  if (v?.type === "FWP_UINT32") return new Ipv4Address(v.value).toString();
  if (v?.type === "FWP_BYTE_ARRAY16_TYPE") return Ipv6Address.fromBytes(v.value).toString();
  return "";
}

export class TrafficMonitor {
  /** Flows that ended, in the order they ended. */
  readonly reports: FlowReport[] = [];
  /** Flows with a context now, by context value. */
  readonly live = new Map<bigint, Counts>();
  /** FwpsFlowAssociateContext0 results that were not STATUS_SUCCESS (none expected). */
  readonly failures: string[] = [];
  #next = 1n;

  constructor(
    readonly engine: FilterEngine,
    readonly fwps: Fwps,
  ) {
    for (const [i, v] of ([4, 6] as const).entries()) {
      const V = v === 4 ? "V4" : "V6";
      const stream = this.#callout(KEYS.stream[i] as string, `FWPM_LAYER_STREAM_${V}`, this.#onStream, true);
      const datagram = this.#callout(
        KEYS.datagram[i] as string,
        `FWPM_LAYER_DATAGRAM_DATA_${V}`,
        this.#onDatagram,
        true,
      );
      const established: CalloutClassifyFn = (values, meta, _d, _c, _f, _ctx, out) => {
        out.actionType = "FWP_ACTION_CONTINUE";
        const flowId = (meta as unknown as ShimMetadata | undefined)?.flowHandle;
        if (flowId === undefined) return;
        const protocol = numberAt(values, "FWPM_CONDITION_IP_PROTOCOL");
        if (protocol !== 6 && protocol !== 17) return;
        const context = this.#next++;
        const target = protocol === 6 ? stream : datagram;
        const status = fwps.flowAssociateContext(flowId, target.layerId, target.calloutId, context);
        if (status !== "STATUS_SUCCESS") {
          this.failures.push(status);
          return;
        }
        this.live.set(context, {
          flowId,
          protocol: protocol === 6 ? "tcp" : "udp",
          ipVersion: v,
          direction: numberAt(values, "FWPM_CONDITION_DIRECTION") === OUTBOUND ? "outbound" : "inbound",
          localAddress: addressAt(values, "FWPM_CONDITION_IP_LOCAL_ADDRESS"),
          localPort: numberAt(values, "FWPM_CONDITION_IP_LOCAL_PORT"),
          remoteAddress: addressAt(values, "FWPM_CONDITION_IP_REMOTE_ADDRESS"),
          remotePort: numberAt(values, "FWPM_CONDITION_IP_REMOTE_PORT"),
          bytesOut: 0,
          bytesIn: 0,
          indicationsOut: 0,
          indicationsIn: 0,
        });
      };
      this.#callout(KEYS.established[i] as string, `FWPM_LAYER_ALE_FLOW_ESTABLISHED_${V}`, established, false);
    }
  }

  /** Registers a callout with the monitor's flowDeleteFn and an inspection filter invoking it. */
  #callout(key: string, layer: FwpmLayerName, classifyFn: CalloutClassifyFn, conditional: boolean) {
    this.engine.registerCallout({
      calloutKey: key,
      classifyFn,
      flowDeleteFn: (_layerId, _calloutId, context) => this.#flowDeleted(context),
      ...(conditional ? { flags: CONDITIONAL_ON_FLOW } : {}),
    });
    const c = this.engine.addCallout({ calloutKey: key, name: `traffic monitor (${layer})`, applicableLayer: layer });
    this.engine.addFilter({
      name: `traffic monitor (${layer})`,
      layer,
      action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey: key },
    });
    return { calloutId: c.calloutId, layerId: getLayer(layer).runtimeId };
  }

  #onStream: CalloutClassifyFn = (_values, _meta, layerData, _c, _f, context, out) => {
    out.actionType = "FWP_ACTION_CONTINUE";
    const counts = this.live.get(context);
    const io = layerData as StreamCalloutIoPacket | undefined;
    if (counts === undefined || io?.kind !== "stream") return;
    const n = io.streamData.dataLength;
    if ((io.streamData.flags & FWPS_STREAM_FLAG.FWPS_STREAM_FLAG_SEND) !== 0) {
      counts.bytesOut += n;
      if (n > 0) counts.indicationsOut++;
    } else {
      counts.bytesIn += n;
      if (n > 0) counts.indicationsIn++;
    }
  };

  #onDatagram: CalloutClassifyFn = (values, _meta, layerData, _c, _f, context, out) => {
    out.actionType = "FWP_ACTION_CONTINUE";
    const counts = this.live.get(context);
    const packet = layerData as PacketLayerData | undefined;
    if (counts === undefined || packet?.kind !== "packet" || packet.payloadOffset === undefined) return;
    const n = packet.end - packet.payloadOffset;
    if (numberAt(values, "FWPM_CONDITION_DIRECTION") === OUTBOUND) {
      counts.bytesOut += n;
      counts.indicationsOut++;
    } else {
      counts.bytesIn += n;
      counts.indicationsIn++;
    }
  };

  /** flowDeleteFn: the flow ended; its counts become a report. */
  #flowDeleted(context: bigint): void {
    const counts = this.live.get(context);
    if (counts === undefined) return;
    this.live.delete(context);
    this.reports.push({ ...counts });
  }
}

/** Per host, the monitor a scenario loaded (the tests read them). */
export const monitors = new Map<string, TrafficMonitor>();

/** Scenario callout module: a monitor on every host it applies to, with the host's callout services. */
export default function register(engine: FilterEngine, context: { readonly host: string; readonly fwps: Fwps }): void {
  monitors.set(context.host, new TrafficMonitor(engine, context.fwps));
}
