/**
 * Flow contexts (wfp-semantics.md §D.3, D14–D18): a callout attaches one 64-bit context to an ALE flow,
 * for delivery as `flowContext` to its classifyFn at one layer of that flow; flowDeleteFn gets it back
 * once when the flow ends (TCP close or reset, UDP socket close, idle expiry, a failed reauthorization,
 * FwpsFlowAbort0) or when the callout removes it.
 *
 * Flow ids are FLOW_HANDLE metadata, present only at the layers where a flow exists (transport, stream,
 * datagram data, ALE_AUTH_CONNECT, ALE_AUTH_RECV_ACCEPT, ALE_FLOW_ESTABLISHED, STREAM_PACKET and their
 * discard twins). Associating for any other layer (IPPACKET, IPFORWARD, ICMP_ERROR, RESOURCE_ASSIGNMENT /
 * RELEASE, AUTH_LISTEN, ENDPOINT_CLOSURE, the redirect layers) is refused with STATUS_FWP_INCOMPATIBLE_LAYER
 * [INF: the page lists the layers, not the status].
 * Sources: https://learn.microsoft.com/windows-hardware/drivers/ddi/fwpsk/nf-fwpsk-fwpsflowassociatecontext0,
 * …/nf-fwpsk-fwpsflowremovecontext0, …/nf-fwpsk-fwpsflowabort0, …/nc-fwpsk-fwps_callout_flow_delete_notify_fn0,
 * https://learn.microsoft.com/windows-hardware/drivers/network/associating-context-with-a-data-flow.
 */
import type { FilterEngine } from "../../engine/index.ts";
import { findLayer, type Layer, type LayerSubFamily } from "../../fwp/index.ts";
import type { AleFlow, AleFlowTable } from "../flows.ts";
import type { NtStatus } from "./status.ts";

/** Layer sub-families where FLOW_HANDLE exists (D14). */
const FLOW_LAYERS: ReadonlySet<LayerSubFamily> = new Set<LayerSubFamily>([
  "transport",
  "stream",
  "datagram-data",
  "auth-connect",
  "auth-recv-accept",
  "flow-established",
  "stream-packet",
]);

/** True when flows exist at `layer` (FLOW_HANDLE metadata, D14). */
export function layerHasFlows(layer: Layer): boolean {
  return FLOW_LAYERS.has(layer.subFamily);
}

/** A context removed while a classification of its flow ran: flowDeleteFn runs when it returns (D16). */
interface DeferredDelete {
  readonly layer: Layer;
  readonly calloutId: number;
  readonly context: bigint;
}

/** What the flow-context services act on: the host's flows, its engine and its deferred work. */
export interface FlowContextHost {
  readonly engine: FilterEngine;
  readonly flows: AleFlowTable;
}

/** Per host: contexts whose flowDeleteFn waits for a classification to end, and flows to abort. */
export class FlowContextState {
  readonly #deferred = new Map<AleFlow, DeferredDelete[]>();

  /** FwpsFlowAssociateContext0 (D14, D15). */
  associate(host: FlowContextHost, flowId: bigint, layerId: number, calloutId: number, flowContext: bigint): NtStatus {
    if (flowContext === 0n) return "STATUS_INVALID_PARAMETER";
    const layer = findLayer(layerId);
    if (layer === undefined) return "STATUS_FWP_LAYER_NOT_FOUND";
    if (!layerHasFlows(layer)) return "STATUS_FWP_INCOMPATIBLE_LAYER";
    const registration = host.engine.calloutRegistration(calloutId);
    if (registration === undefined) return "STATUS_FWP_CALLOUT_NOT_FOUND";
    if (registration.flowDeleteFn === undefined) return "STATUS_INVALID_PARAMETER";
    const flow = host.flows.byHandle(flowId);
    if (flow === undefined) return "STATUS_INVALID_PARAMETER";
    if (flow.contexts.has(calloutId)) return "STATUS_OBJECT_NAME_EXISTS";
    flow.contexts.set(calloutId, { layer, context: flowContext });
    return "STATUS_SUCCESS";
  }

  /**
   * FwpsFlowRemoveContext0 (D16): STATUS_SUCCESS after flowDeleteFn ran; STATUS_PENDING when a classification
   * of the flow is running (flowDeleteFn runs when it returns); STATUS_UNSUCCESSFUL when this callout has no
   * context at `layerId` on the flow (or the flow has ended: its contexts went with it).
   */
  remove(host: FlowContextHost, flowId: bigint, layerId: number, calloutId: number): NtStatus {
    const flow = host.flows.byHandle(flowId);
    const c = flow?.contexts.get(calloutId);
    if (flow === undefined || c === undefined || c.layer.runtimeId !== layerId) return "STATUS_UNSUCCESSFUL";
    flow.contexts.delete(calloutId);
    const d: DeferredDelete = { layer: c.layer, calloutId, context: c.context };
    if (flow.classifying > 0) {
      const list = this.#deferred.get(flow);
      if (list === undefined) this.#deferred.set(flow, [d]);
      else list.push(d);
      return "STATUS_PENDING";
    }
    host.engine.flowDeleted(d.layer, d.calloutId, d.context);
    return "STATUS_SUCCESS";
  }

  /** The last classification of `flow` in progress returned: the flowDeleteFn calls that waited for it. */
  classifyEnded(host: FlowContextHost, flow: AleFlow): void {
    if (flow.classifying > 0) return;
    const list = this.#deferred.get(flow);
    if (list === undefined) return;
    this.#deferred.delete(flow);
    for (const d of list) host.engine.flowDeleted(d.layer, d.calloutId, d.context);
  }
}
