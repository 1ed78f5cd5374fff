/**
 * The shims: named classify points that turn what the stack knows into a layer's incoming values,
 * metadata and layer data, call the filter engine, log the classification and report the verdict; and
 * the ALE flow table. Imports base, wire, fwp and engine only.
 *
 * @example
 * ```ts
 * const shim = new Shim({ engine, clock, host: "client", log: (r) => records.push(r) });
 * const v = shim.classifyAt("ALE_AUTH_CONNECT", {
 *   facts: { ipVersion: 4, direction: "outbound", protocol: 6, localAddress, remoteAddress, localPort, remotePort },
 * });
 * if (!v.permit) connectFails();
 * ```
 */
export type { ClassifyFacts, EmbeddedFacts, InterfaceFacts, PacketDirection, ProcessFacts } from "./facts.ts";
export {
  type AleAuthFamily,
  type AleFlow,
  AleFlowTable,
  type AleFlowTableCounters,
  type AleFlowTableOptions,
  AUTH_LAYER_NAMES,
} from "./flows.ts";
export {
  type DiscardMetadata,
  type FragmentMetadata,
  type MetadataInput,
  metadataFor,
  metadataMembersOf,
  type ShimMetadata,
} from "./metadata.ts";
export {
  type BindRequest,
  type ConnectRequest,
  type InjectionTag,
  type PacketLabel,
  type PacketLayerData,
  type SocketAddress,
  type StreamCalloutIoPacket,
  type StreamData,
  tcpSegmentLabel,
} from "./packet.ts";
export {
  type ClassifyInput,
  type ClassifyPoint,
  type ClassifyRecord,
  layerOfPoint,
  Shim,
  type ShimCounters,
  type ShimIndication,
  type ShimInit,
  type ShimVerdict,
} from "./shim.ts";
export {
  addressTypeOf,
  incomingValuesFor,
  knownConditions,
  SOCKET_PROPERTY_NAMES,
  socketPropertyBit,
} from "./values.ts";
export * from "./constants.ts";
export { type ProcessSpec, processFacts } from "./process.ts";
export { type IpFragmentInfo, type IpPacketInfo, parseIpPacket, type TransportInfo } from "./ip-packet.ts";
export { Fwps } from "./services/fwps.ts";
export type { StackHooks } from "./services/stack-hooks.ts";
export { FlowContextState, layerHasFlows } from "./services/flow-context.ts";
export {
  type AcquireClassifyHandleResult,
  ClassifyContext,
  type ClassifyCompletion,
  ClassifyHandle,
  type ClassifyHandleCounters,
  CompletionHandle,
  canPendClassify,
  canPendOperation,
  heldOperation,
  type PendedOperationState,
  PendedOperation,
  type PendOperationResult,
  type RedirectRequest,
} from "./services/pend.ts";
export {
  type AcquireWritableLayerDataResult,
  type ConnectionRedirectStateResult,
  RedirectHandle,
  type RedirectHandleCreateResult,
  type RedirectRecord,
  RedirectRecords,
} from "./services/redirect.ts";
export {
  type AddressFamily,
  FWPS_INJECTION_TYPE,
  FWPS_PACKET_INJECTION_STATE,
  type InjectCompleteFn,
  InjectionHandle,
  type InjectionHandleCreateResult,
  type InjectionKind,
  type InjectionRequest,
  type NetBufferList,
  type NetBufferListResult,
  ndisAdvanceNetBufferDataStart,
  ndisRetreatNetBufferDataStart,
  PacketInjection,
  type PacketInjectionState,
  type PacketInjectionStateResult,
  packetInjectionState,
  type TransportSendParams,
} from "./services/injection.ts";
export { type FwpNtStatus, type GenericNtStatus, isFwpNtStatus, type NtStatus, ntSuccess } from "./services/status.ts";
export {
  type CloneStreamDataResult,
  STREAM_MAX_ACCUMULATION,
  type StreamCounters,
  StreamDirection,
  type StreamEndpoint,
  StreamFlow,
  type StreamRefusal,
  StreamService,
} from "./services/stream.ts";
export { type PacketFactsOptions, packetFacts, packetLabel } from "./packet-facts.ts";
export type { ClassifyResult, Filter } from "../engine/index.ts";
export { LruMap } from "./lru.ts";
