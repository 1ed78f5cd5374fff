/**
 * The WDK "inspect" sample (Windows-driver-samples, network/trans/inspect), transport part, as a
 * TypeScript callout: out-of-band inspection (wfp-semantics.md D42). At OUTBOUND_TRANSPORT and
 * INBOUND_TRANSPORT, V4 and V6, the callout clones every packet, blocks and absorbs the original and
 * queues the clone; a worker — the sample's system thread, here whatever scheduler the host hands in —
 * inspects it later and either reinjects it unchanged (FwpsInjectTransportSendAsync1 outbound,
 * FwpsInjectTransportReceiveAsync0 inbound, after retreating to the IP header) or drops it when the
 * policy says so. As in the sample:
 * - without FWPS_RIGHT_ACTION_WRITE the callout leaves the classification alone;
 * - packets it injected itself (INJECTED_BY_SELF, PREVIOUSLY_INJECTED_BY_SELF) are permitted (D34);
 * - inbound packets indicated with ALE_CLASSIFY_REQUIRED are permitted (D22, D37): the sample inspects
 *   those at its ALE callouts by pending, which this example does not do;
 * - TCP is only injected out of band (D36): the worker, never classifyFn, injects.
 *
 * @example
 * ```ts
 * const inspector = registerInspect(engine, shim, {
 *   worker: (fn) => scheduler.after(ms(0.05), fn),
 *   policy: { blockedRemotePorts: [9999] },
 * });
 * ```
 */
import { type IpAddress, Ipv4Address, Ipv6Address } from "../../src/base/index.ts";
import {
  CLASSIFY_OUT_FLAG_ABSORB,
  type CalloutClassifyFn,
  type FilterEngine,
  type InFixedValues,
  RIGHT_ACTION_WRITE,
} from "../../src/engine/index.ts";
import { FWPM_FILTER_FLAG, FWPS_METADATA_FIELD, type FwpValue, fieldIndex } from "../../src/fwp/index.ts";
import {
  FWPS_INJECTION_TYPE,
  FWPS_PACKET_INJECTION_STATE,
  type InjectionHandle,
  type NetBufferList,
  type NtStatus,
  ndisRetreatNetBufferDataStart,
  type Shim,
  type ShimMetadata,
} from "../../src/shim/index.ts";

/** What the worker decides from (the sample's configuration: remote address and port). */
export interface InspectPolicy {
  /** Packets to or from these remote ports are dropped. */
  readonly blockedRemotePorts?: readonly number[];
  /** Packets to or from these remote addresses (text) are dropped. */
  readonly blockedRemoteAddresses?: readonly string[];
}

export interface InspectOptions {
  /** Runs inspection work later (the sample's worker thread), e.g. `(fn) => scheduler.after(delay, fn)`. */
  readonly worker: (fn: () => void) => void;
  readonly policy?: InspectPolicy;
  /** The sublayer weight of the sample's sublayer (default 0x100, below FWPM_SUBLAYER_UNIVERSAL as D37 asks). */
  readonly sublayerWeight?: number;
}

/** One packet the callout took out of the stack, and what the worker did with it. */
export interface InspectedPacket {
  readonly direction: "outbound" | "inbound";
  readonly ipVersion: 4 | 6;
  readonly protocol: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Bytes from the data offset the packet was indicated at. */
  readonly length: number;
  verdict: "pending" | "reinjected" | "dropped" | "injection-failed";
}

export interface InspectCounters {
  cloned: number;
  reinjected: number;
  dropped: number;
  completed: number;
  /** Indications of packets the callout injected itself, permitted. */
  selfInjectedPermitted: number;
  /** Inbound indications with ALE_CLASSIFY_REQUIRED, permitted for ALE. */
  aleClassifyRequired: number;
  injectionFailures: number;
}

/** The callout's state: what it inspected and its counters. */
export interface TransportInspector {
  readonly inspected: readonly InspectedPacket[];
  readonly counters: InspectCounters;
  /** Completion statuses of failed injections. */
  readonly failures: readonly NtStatus[];
}

const LAYERS = [
  "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
  "FWPM_LAYER_OUTBOUND_TRANSPORT_V6",
  "FWPM_LAYER_INBOUND_TRANSPORT_V4",
  "FWPM_LAYER_INBOUND_TRANSPORT_V6",
] as const;

const KEYS = {
  sublayer: "2e207682-d95f-4525-b966-969f26587f03",
  provider: "2e207682-d95f-4525-b966-969f26587f00",
  callouts: [
    "2e207682-d95f-4525-b966-969f26587f10",
    "2e207682-d95f-4525-b966-969f26587f11",
    "2e207682-d95f-4525-b966-969f26587f12",
    "2e207682-d95f-4525-b966-969f26587f13",
  ],
} as const;

const ALE_CLASSIFY_REQUIRED = FWPS_METADATA_FIELD.FWPS_METADATA_FIELD_ALE_CLASSIFY_REQUIRED;
const S = FWPS_PACKET_INJECTION_STATE;

/** Registers the inspect callouts and their filters on `engine`; `shim` is the host's (its Fwps services). */
export function registerInspect(engine: FilterEngine, shim: Shim, options: InspectOptions): TransportInspector {
  const fwps = shim.fwps;
  // One handle for transport injection of both families (AF_UNSPEC is fine for transport, D32).
  const created = fwps.injectionHandleCreate("AF_UNSPEC", FWPS_INJECTION_TYPE.FWPS_INJECTION_TYPE_TRANSPORT);
  if (created.handle === null) throw new Error(`FwpsInjectionHandleCreate0: ${created.status}`);
  const handle: InjectionHandle = created.handle;
  const inspected: InspectedPacket[] = [];
  const failures: NtStatus[] = [];
  const counters: InspectCounters = {
    cloned: 0,
    reinjected: 0,
    dropped: 0,
    completed: 0,
    selfInjectedPermitted: 0,
    aleClassifyRequired: 0,
    injectionFailures: 0,
  };
  const blockedPorts = new Set(options.policy?.blockedRemotePorts ?? []);
  const blockedAddresses = new Set(options.policy?.blockedRemoteAddresses ?? []);

  const complete = (_ctx: unknown, nbl: NetBufferList): void => {
    counters.completed++;
    if (nbl.status !== "STATUS_SUCCESS") failures.push(nbl.status);
    fwps.freeCloneNetBufferList(nbl);
  };

  const classify: CalloutClassifyFn = (values, metaIn, layerData, _ctx, filter, _flow, classifyOut) => {
    // No write right: a higher-weight callout owns the packet; leave it alone (D9, D41).
    if ((classifyOut.rights & RIGHT_ACTION_WRITE) === 0) return;
    const permit = (): void => {
      classifyOut.actionType = "FWP_ACTION_PERMIT";
      if ((filter.flags & FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT) !== 0)
        classifyOut.rights &= ~RIGHT_ACTION_WRITE;
    };
    const state = fwps.queryPacketInjectionState(handle, layerData).state;
    if (state === S.FWPS_PACKET_INJECTED_BY_SELF || state === S.FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF) {
      counters.selfInjectedPermitted++;
      return permit();
    }
    const meta = metaIn as unknown as ShimMetadata;
    const outbound = values.layer.direction === "outbound";
    if (!outbound && (meta.currentMetadataValues & ALE_CLASSIFY_REQUIRED) !== 0) {
      counters.aleClassifyRequired++;
      return permit();
    }
    const clone = fwps.allocateCloneNetBufferList(layerData).netBufferList;
    if (clone === null) return permit();
    counters.cloned++;
    const ipVersion = values.layer.ipVersion === "V6" ? 6 : 4;
    const remote = remoteAddressOf(values);
    const packet: InspectedPacket = {
      direction: outbound ? "outbound" : "inbound",
      ipVersion,
      protocol: u8(values, "FWPM_CONDITION_IP_PROTOCOL"),
      remoteAddress: remote.toString(),
      remotePort: u16(values, "FWPM_CONDITION_IP_REMOTE_PORT"),
      length: clone.end - clone.dataOffset,
      verdict: "pending",
    };
    inspected.push(packet);
    // What the worker needs after classifyFn returned (the sample's TL_INSPECT_PENDED_PACKET).
    const pended = {
      clone,
      af: ipVersion === 6 ? ("AF_INET6" as const) : ("AF_INET" as const),
      compartmentId: meta.compartmentId ?? 0,
      endpointHandle: meta.transportEndpointHandle ?? 0n,
      remote,
      remoteScopeId: meta.remoteScopeId ?? 0,
      interfaceIndex: u32(values, "FWPM_CONDITION_INTERFACE_INDEX"),
      subInterfaceIndex: u32(values, "FWPM_CONDITION_SUB_INTERFACE_INDEX"),
      retreat: (meta.ipHeaderSize ?? 0) + (meta.transportHeaderSize ?? 0),
    };
    options.worker(() => {
      if (blockedPorts.has(packet.remotePort) || blockedAddresses.has(packet.remoteAddress)) {
        packet.verdict = "dropped";
        counters.dropped++;
        fwps.freeCloneNetBufferList(pended.clone);
        return;
      }
      let status: NtStatus;
      if (outbound) {
        status = fwps.injectTransportSendAsync(
          handle,
          null,
          pended.endpointHandle,
          0,
          { remoteAddress: pended.remote, remoteScopeId: pended.remoteScopeId },
          pended.af,
          pended.compartmentId,
          pended.clone,
          complete,
          null,
        );
      } else {
        // The inbound transport layer indicates the NBL after the transport header; the receive
        // injection wants it from the IP header (D.8).
        ndisRetreatNetBufferDataStart(pended.clone, pended.retreat);
        status = fwps.injectTransportReceiveAsync(
          handle,
          null,
          null,
          0,
          pended.af,
          pended.compartmentId,
          pended.interfaceIndex,
          pended.subInterfaceIndex,
          pended.clone,
          complete,
          null,
        );
      }
      if (status === "STATUS_SUCCESS") {
        packet.verdict = "reinjected";
        counters.reinjected++;
      } else {
        // The injection failed: completionFn will not run, the clone is ours to free (D35).
        packet.verdict = "injection-failed";
        counters.injectionFailures++;
        failures.push(status);
        fwps.freeCloneNetBufferList(pended.clone);
      }
    });
    // Hard drop of the original: BLOCK, absorb, write right cleared (D41).
    classifyOut.actionType = "FWP_ACTION_BLOCK";
    classifyOut.flags |= CLASSIFY_OUT_FLAG_ABSORB;
    classifyOut.rights &= ~RIGHT_ACTION_WRITE;
  };

  engine.addProvider({ providerKey: KEYS.provider, name: "Transport Inspect Sample" });
  engine.addSublayer({
    subLayerKey: KEYS.sublayer,
    name: "Transport Inspect Sub-Layer",
    weight: options.sublayerWeight ?? 0x100,
    providerKey: KEYS.provider,
  });
  LAYERS.forEach((layer, i) => {
    const calloutKey = KEYS.callouts[i] as string;
    engine.addCallout({ calloutKey, name: `Transport Inspect Callout (${layer})`, applicableLayer: layer });
    engine.registerCallout({ calloutKey, classifyFn: classify });
    engine.addFilter({
      name: `Transport Inspect Filter (${layer})`,
      layer,
      sublayer: KEYS.sublayer,
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey },
    });
  });
  return { inspected, counters, failures };
}

function incoming(values: InFixedValues, condition: string): FwpValue | undefined {
  const i = fieldIndex(values.layer, condition);
  return i === undefined ? undefined : values.incomingValues[i];
}

function u8(values: InFixedValues, condition: string): number {
  const v = incoming(values, condition);
  return v?.type === "FWP_UINT8" ? v.value : 0;
}

function u16(values: InFixedValues, condition: string): number {
  const v = incoming(values, condition);
  return v?.type === "FWP_UINT16" ? v.value : 0;
}

function u32(values: InFixedValues, condition: string): number {
  const v = incoming(values, condition);
  return v?.type === "FWP_UINT32" ? v.value : 0;
}

/** FWPM_CONDITION_IP_REMOTE_ADDRESS: FWP_UINT32 (host order) at V4 layers, FWP_BYTE_ARRAY16_TYPE at V6. */
function remoteAddressOf(values: InFixedValues): IpAddress {
  const v = incoming(values, "FWPM_CONDITION_IP_REMOTE_ADDRESS");
  if (v?.type === "FWP_UINT32") return new Ipv4Address(v.value);
  if (v?.type === "FWP_BYTE_ARRAY16_TYPE") return new Ipv6Address(v.value);
  return values.layer.ipVersion === "V6" ? Ipv6Address.ANY : Ipv4Address.ANY;
}
