/**
 * The callout services: the kernel-mode Fwps* API in TypeScript idiom, one object per host (`shim.fwps`).
 * A callout ported from a driver calls the same functions by the same names (camelCase, version suffix
 * dropped): `fwps.flowAssociateContext(flowId, layerId, calloutId, context)` for
 * FwpsFlowAssociateContext0, `fwps.injectNetworkSendAsync(...)` for FwpsInjectNetworkSendAsync0, … and
 * gets NTSTATUS names back (errors as values on the data path). docs/callouts.md maps every function to
 * its Windows counterpart.
 */
import type { Shim } from "../shim.ts";
import type { Guid } from "../../base/index.ts";
import type { ClassifyOut } from "../../engine/index.ts";
import type { SocketAddress, StreamData } from "../packet.ts";
import { FlowContextState } from "./flow-context.ts";
import {
  type AcquireClassifyHandleResult,
  acquireClassifyHandle,
  type ClassifyHandleCounters,
  completeClassify,
  completeOperation,
  type PendOperationResult,
  pendClassify,
  pendOperation,
  releaseClassifyHandle,
} from "./pend.ts";
import {
  type AcquireWritableLayerDataResult,
  acquireWritableLayerDataPointer,
  applyModifiedLayerData,
  type ConnectionRedirectStateResult,
  queryConnectionRedirectState,
  type RedirectHandleCreateResult,
  redirectHandleCreate,
  redirectHandleDestroy,
} from "./redirect.ts";
import {
  type AddressFamily,
  type InjectCompleteFn,
  type InjectionHandle,
  type InjectionHandleCreateResult,
  type NetBufferList,
  type NetBufferListResult,
  PacketInjection,
  type PacketInjectionStateResult,
  packetInjectionState,
  type TransportSendParams,
} from "./injection.ts";
import type { NtStatus } from "./status.ts";
import { type CloneStreamDataResult, StreamService } from "./stream.ts";

export class Fwps {
  constructor(readonly shim: Shim) {}

  // ---- flow contexts (services/flow-context.ts) ----

  /** @internal Contexts whose flowDeleteFn waits for a classification of their flow (D16). */
  readonly flowContexts = new FlowContextState();

  /**
   * FwpsFlowAssociateContext0 (D14, D15): `flowContext` for the callout's classifyFn at `layerId` (a
   * run-time FWPS_LAYER_* id where flows exist) of the flow `flowId` (FLOW_HANDLE metadata). Errors:
   * STATUS_INVALID_PARAMETER (context 0, a callout without flowDeleteFn, no such flow),
   * STATUS_OBJECT_NAME_EXISTS (this callout already has a context on the flow), STATUS_FWP_INCOMPATIBLE_LAYER
   * (a layer without flows), STATUS_FWP_LAYER_NOT_FOUND, STATUS_FWP_CALLOUT_NOT_FOUND (not registered).
   */
  flowAssociateContext(flowId: bigint, layerId: number, calloutId: number, flowContext: bigint): NtStatus {
    return this.flowContexts.associate(this.shim, flowId, layerId, calloutId, flowContext);
  }

  /**
   * FwpsFlowRemoveContext0 (D16): STATUS_SUCCESS (flowDeleteFn ran), STATUS_PENDING (a classification of
   * the flow runs; flowDeleteFn runs when it returns), STATUS_UNSUCCESSFUL (no such context).
   */
  flowRemoveContext(flowId: bigint, layerId: number, calloutId: number): NtStatus {
    return this.flowContexts.remove(this.shim, flowId, layerId, calloutId);
  }

  /**
   * FwpsFlowAbort0: ends the flow — the stack resets the TCP connection or drops the datagram flow after
   * the current event, and flowDeleteFn runs for its contexts. STATUS_INVALID_PARAMETER for no such flow.
   */
  flowAbort(flowId: bigint): NtStatus {
    const flow = this.shim.flows.byHandle(flowId);
    if (flow === undefined) return "STATUS_INVALID_PARAMETER";
    const stack = this.shim.stack;
    if (stack?.abortFlow === undefined) {
      this.shim.closeFlow(flow);
      return "STATUS_SUCCESS";
    }
    stack.defer(() => {
      if (flow.state === "closed") return;
      stack.abortFlow?.(flow);
      this.shim.closeFlow(flow);
    });
    return "STATUS_SUCCESS";
  }

  // ---- callout registration (D3) ----

  /**
   * FwpsCalloutUnregisterByKey0 (D3): STATUS_DEVICE_BUSY while a flow of this host still carries a context
   * of the callout (remove each with FwpsFlowRemoveContext0, or let the flows end, then retry);
   * STATUS_FWP_CALLOUT_NOT_FOUND when it is not registered. Filters that reference it stay (C14).
   */
  calloutUnregisterByKey(calloutKey: Guid | string): NtStatus {
    const e = this.shim.engine;
    if (!e.isCalloutRegistered(calloutKey)) return "STATUS_FWP_CALLOUT_NOT_FOUND";
    const id = e.getCallout(calloutKey)?.calloutId;
    if (id !== undefined && this.#carriesContext(id)) return "STATUS_DEVICE_BUSY";
    e.unregisterCallout(calloutKey);
    return "STATUS_SUCCESS";
  }

  /** FwpsCalloutUnregisterById0 (D3): as calloutUnregisterByKey, by run-time callout id. */
  calloutUnregisterById(calloutId: number): NtStatus {
    const e = this.shim.engine;
    if (e.calloutRegistration(calloutId) === undefined) return "STATUS_FWP_CALLOUT_NOT_FOUND";
    if (this.#carriesContext(calloutId)) return "STATUS_DEVICE_BUSY";
    e.unregisterCallout(calloutId);
    return "STATUS_SUCCESS";
  }

  #carriesContext(calloutId: number): boolean {
    for (const f of this.shim.flows.live()) if (f.contexts.has(calloutId)) return true;
    return false;
  }

  // ---- pending and classify handles (services/pend.ts) ----

  /** Counts of classify handles: every acquire must be released (D21). */
  readonly classifyHandleCounters: ClassifyHandleCounters = { acquired: 0, released: 0, pended: 0, completed: 0 };

  /** Classify handles acquired and not released. */
  get outstandingClassifyHandles(): number {
    return this.classifyHandleCounters.acquired - this.classifyHandleCounters.released;
  }

  /**
   * FwpsPendOperation0 (D19): pends the initial authorization whose metadata gave `completionHandle`, at
   * RESOURCE_ASSIGNMENT, AUTH_LISTEN, AUTH_CONNECT or AUTH_RECV_ACCEPT; the callout then returns BLOCK +
   * ABSORB. STATUS_FWP_CANNOT_PEND at a reauthorization or elsewhere; STATUS_INVALID_PARAMETER for no handle.
   */
  pendOperation(completionHandle: unknown): PendOperationResult {
    return pendOperation(completionHandle);
  }

  /**
   * FwpsCompleteOperation0 (D20): resumes the pended operation after the current event — AUTH_CONNECT
   * (and RESOURCE_ASSIGNMENT, AUTH_LISTEN) is classified again at once with IS_REAUTHORIZE and reason
   * CLASSIFY_COMPLETION; AUTH_RECV_ACCEPT just ends the pend (the callout reinjects its clone). Returns
   * STATUS_INVALID_PARAMETER for a context that is not pended (Windows' function is void).
   */
  completeOperation(completionContext: unknown, netBufferList?: unknown): NtStatus {
    return completeOperation(completionContext, netBufferList, this.#defer());
  }

  /** FwpsAcquireClassifyHandle0: from classifyFn's classifyContext, inside classifyFn. */
  acquireClassifyHandle(classifyContext: unknown, flags = 0): AcquireClassifyHandleResult {
    return acquireClassifyHandle(classifyContext, flags, this.classifyHandleCounters);
  }

  /**
   * FwpsPendClassify0 (D21): only at ENDPOINT_CLOSURE, CONNECT_REDIRECT, BIND_REDIRECT (else
   * STATUS_FWP_CANNOT_PEND); the callout then returns BLOCK with WRITE cleared.
   */
  pendClassify(classifyHandle: unknown, filterId: bigint, flags: number, classifyOut: ClassifyOut): NtStatus {
    return pendClassify(classifyHandle, filterId, flags, classifyOut, this.classifyHandleCounters);
  }

  /**
   * FwpsCompleteClassify0 (D21, D27): a classifyOut is the final answer, null asks the stack to classify
   * the indication again; the stack resumes after the current event.
   */
  completeClassify(classifyHandle: unknown, flags: number, classifyOut: Readonly<ClassifyOut> | null): NtStatus {
    return completeClassify(classifyHandle, flags, classifyOut, this.#defer(), this.classifyHandleCounters);
  }

  /** FwpsReleaseClassifyHandle0. */
  releaseClassifyHandle(classifyHandle: unknown): NtStatus {
    return releaseClassifyHandle(classifyHandle, this.classifyHandleCounters);
  }

  #defer(): ((fn: () => void) => void) | undefined {
    const stack = this.shim.stack;
    return stack === undefined ? undefined : (fn) => stack.defer(fn);
  }

  // ---- connect and bind redirection (services/redirect.ts) ----

  /** FwpsRedirectHandleCreate0 (D26): once per driver; needed to redirect to a local process (D29). */
  redirectHandleCreate(providerKey: Guid | string, flags = 0): RedirectHandleCreateResult {
    return redirectHandleCreate(providerKey, flags);
  }

  /** FwpsRedirectHandleDestroy0. */
  redirectHandleDestroy(redirectHandle: unknown): void {
    redirectHandleDestroy(redirectHandle);
  }

  /**
   * FwpsQueryConnectionRedirectState0 (D26): `redirectRecords` is CONNECT_REDIRECT's REDIRECT_RECORD_HANDLE
   * metadata (`redirectRecords`). REDIRECTED_BY_SELF / PREVIOUSLY_REDIRECTED_BY_SELF: do not redirect again.
   */
  queryConnectionRedirectState(redirectRecords: unknown, redirectHandle: unknown): ConnectionRedirectStateResult {
    return queryConnectionRedirectState(redirectRecords, redirectHandle);
  }

  /**
   * FwpsAcquireWritableLayerDataPointer0 (D26): a writable FWPS_CONNECT_REQUEST0 / FWPS_BIND_REQUEST0 for
   * the classification of `classifyHandle`; sets classifyOut BLOCK and clears WRITE.
   */
  acquireWritableLayerDataPointer(
    classifyHandle: unknown,
    filterId: bigint,
    flags: number,
    classifyOut: ClassifyOut,
  ): AcquireWritableLayerDataResult {
    return acquireWritableLayerDataPointer(classifyHandle, filterId, flags, classifyOut);
  }

  /**
   * FwpsApplyModifiedLayerData0 (D26–D29): applies the acquired copy; only applied modifications change
   * the connection or the bind. Returns a status (Windows' function is void): see redirect.ts.
   */
  applyModifiedLayerData(classifyHandle: unknown, modifiedLayerData: unknown, flags = 0): NtStatus {
    const stack = this.shim.stack;
    const isLocal = (a: SocketAddress["address"]): boolean => stack?.isLocalAddress?.(a) ?? a.isLoopback();
    return applyModifiedLayerData(classifyHandle, modifiedLayerData, flags, isLocal);
  }

  // ---- packet injection (services/injection.ts) ----

  #packetInjection: PacketInjection | undefined;

  /** This host's injection handles and owned NBLs, with counters. */
  get packetInjection(): PacketInjection {
    this.#packetInjection ??= new PacketInjection(this.shim);
    return this.#packetInjection;
  }

  /** FwpsInjectionHandleCreate0 (D32): flags are FWPS_INJECTION_TYPE_* bits (0 = transport, stream, forward). */
  injectionHandleCreate(addressFamily: AddressFamily, flags: number): InjectionHandleCreateResult {
    return this.packetInjection.handleCreate(addressFamily, flags);
  }

  /** FwpsInjectionHandleDestroy0. Injections already accepted still complete. */
  injectionHandleDestroy(injectionHandle: InjectionHandle | null): NtStatus {
    return this.packetInjection.handleDestroy(injectionHandle);
  }

  /** FwpsQueryPacketInjectionState0 (D33) for a layer data object of any layer. */
  queryPacketInjectionState(
    injectionHandle: InjectionHandle | null,
    netBufferList: unknown,
  ): PacketInjectionStateResult {
    return packetInjectionState(injectionHandle, netBufferList);
  }

  /** FwpsAllocateCloneNetBufferList0 (D40): a clone sharing the indicated packet's bytes. */
  allocateCloneNetBufferList(originalNetBufferList: unknown): NetBufferListResult {
    return this.packetInjection.allocateClone(originalNetBufferList);
  }

  /** FwpsFreeCloneNetBufferList0. */
  freeCloneNetBufferList(netBufferList: NetBufferList): void {
    this.packetInjection.free(netBufferList);
  }

  /**
   * FwpsAllocateNetBufferAndNetBufferList0: a new NBL describing data[dataOffset, dataOffset + dataLength)
   * (not copied), which begins with an IP header ("ip", default) or a transport header ("transport").
   */
  allocateNetBufferAndNetBufferList(
    data: Uint8Array,
    dataOffset = 0,
    dataLength: number = data.length - dataOffset,
    headers: "ip" | "transport" = "ip",
  ): NetBufferListResult {
    return this.packetInjection.allocate(data, dataOffset, dataLength, headers);
  }

  /** FwpsFreeNetBufferList0. */
  freeNetBufferList(netBufferList: NetBufferList): void {
    this.packetInjection.free(netBufferList);
  }

  /**
   * FwpsInjectNetworkSendAsync0: an IP packet into the send path; re-indicated at OUTBOUND_IPPACKET, then
   * the wire (D31). The handle's family is the packet's (D32).
   */
  injectNetworkSendAsync(
    injectionHandle: InjectionHandle | null,
    injectionContext: unknown,
    flags: number,
    compartmentId: number,
    netBufferList: NetBufferList | null,
    completionFn: InjectCompleteFn | null,
    completionContext: unknown,
  ): NtStatus {
    return this.packetInjection.inject(
      "network-send",
      injectionHandle,
      injectionContext,
      flags,
      compartmentId,
      null,
      netBufferList,
      completionFn,
      completionContext,
      {},
    );
  }

  /** FwpsInjectNetworkReceiveAsync0: an IP packet or fragment into the bottom of the receive path (D31). */
  injectNetworkReceiveAsync(
    injectionHandle: InjectionHandle | null,
    injectionContext: unknown,
    flags: number,
    compartmentId: number,
    interfaceIndex: number,
    subInterfaceIndex: number,
    netBufferList: NetBufferList | null,
    completionFn: InjectCompleteFn | null,
    completionContext: unknown,
  ): NtStatus {
    return this.packetInjection.inject(
      "network-receive",
      injectionHandle,
      injectionContext,
      flags,
      compartmentId,
      null,
      netBufferList,
      completionFn,
      completionContext,
      { interfaceIndex, subInterfaceIndex },
    );
  }

  /**
   * FwpsInjectForwardAsync0: an IP packet out of `interfaceIndex` by the forwarding path, indicated at no
   * WFP layer (D31, F10).
   */
  injectForwardAsync(
    injectionHandle: InjectionHandle | null,
    injectionContext: unknown,
    flags: number,
    addressFamily: AddressFamily,
    compartmentId: number,
    interfaceIndex: number,
    netBufferList: NetBufferList | null,
    completionFn: InjectCompleteFn | null,
    completionContext: unknown,
  ): NtStatus {
    return this.packetInjection.inject(
      "forward",
      injectionHandle,
      injectionContext,
      flags,
      compartmentId,
      addressFamily,
      netBufferList,
      completionFn,
      completionContext,
      { interfaceIndex },
    );
  }

  /**
   * FwpsInjectTransportSendAsync1: a transport segment (NBL at the transport header) into the top of the
   * send path of a live endpoint: ALE if needed, DATAGRAM_DATA, OUTBOUND_TRANSPORT, then the network (D31,
   * D36).
   */
  injectTransportSendAsync(
    injectionHandle: InjectionHandle | null,
    injectionContext: unknown,
    endpointHandle: bigint,
    flags: number,
    sendArgs: TransportSendParams | null,
    addressFamily: AddressFamily,
    compartmentId: number,
    netBufferList: NetBufferList | null,
    completionFn: InjectCompleteFn | null,
    completionContext: unknown,
  ): NtStatus {
    return this.packetInjection.inject(
      "transport-send",
      injectionHandle,
      injectionContext,
      flags,
      compartmentId,
      addressFamily,
      netBufferList,
      completionFn,
      completionContext,
      { endpointHandle, ...(sendArgs !== null ? { sendParams: sendArgs } : {}) },
    );
  }

  /**
   * FwpsInjectTransportReceiveAsync0: an IP packet (NBL retreated to the IP header) into the bottom of the
   * receive path: network, transport, ALE recv-accept if needed, DATAGRAM_DATA (D31); refused for a packet
   * indicated with ALE_CLASSIFY_REQUIRED outside ALE_AUTH_RECV_ACCEPT (D37).
   */
  injectTransportReceiveAsync(
    injectionHandle: InjectionHandle | null,
    injectionContext: unknown,
    reserved: unknown,
    flags: number,
    addressFamily: AddressFamily,
    compartmentId: number,
    interfaceIndex: number,
    subInterfaceIndex: number,
    netBufferList: NetBufferList | null,
    completionFn: InjectCompleteFn | null,
    completionContext: unknown,
  ): NtStatus {
    return this.packetInjection.inject(
      "transport-receive",
      injectionHandle,
      injectionContext,
      reserved == null ? flags : -1,
      compartmentId,
      addressFamily,
      netBufferList,
      completionFn,
      completionContext,
      { interfaceIndex, subInterfaceIndex },
    );
  }

  // ---- stream layer (services/stream.ts) ----

  #stream: StreamService | undefined;

  /** This host's stream layer (§E): every TCP connection's stream classifier, which the TCP layer drives. */
  get stream(): StreamService {
    this.#stream ??= new StreamService(this.shim);
    return this.#stream;
  }

  /**
   * FwpsStreamInjectAsync0 (E12): `dataLength` bytes of `netBufferList` (from allocateNetBufferAndNetBufferList
   * or cloneStreamData) into flow `flowId`'s stream at callout `calloutId`'s place, in the direction
   * `streamFlags` names (RECEIVE or SEND, optionally *_DISCONNECT; a disconnect may come without data:
   * `netBufferList` null, and then no completion). From classifyFn of that flow, or out of band while the
   * stream is deferred, after a pended FIN, or in out-of-band mode. completionFn runs after the data went on.
   */
  streamInjectAsync(
    injectionHandle: InjectionHandle | null,
    injectionContext: unknown,
    flags: number,
    flowId: bigint,
    calloutId: number,
    layerId: number,
    streamFlags: number,
    netBufferList: NetBufferList | null,
    dataLength: number,
    completionFn: InjectCompleteFn | null,
    completionContext: unknown,
  ): NtStatus {
    return this.stream.inject(
      injectionHandle,
      injectionContext,
      flags,
      flowId,
      calloutId,
      layerId,
      streamFlags,
      netBufferList,
      dataLength,
      completionFn,
      completionContext,
    );
  }

  /** FwpsStreamContinue0 (E8): resumes the inbound stream `calloutId` deferred; not from classifyFn. */
  streamContinue(flowId: bigint, calloutId: number, layerId: number, streamFlags: number): NtStatus {
    return this.stream.continue(flowId, calloutId, layerId, streamFlags);
  }

  /**
   * FwpsCloneStreamData0 (E18): a copy of `streamData` (the indication's, or a part the callout describes)
   * as an NBL the callout owns. The pool handles are accepted and ignored; `allocateCloneFlags` must be 0.
   */
  cloneStreamData(
    streamData: StreamData | null,
    _netBufferListPoolHandle: unknown,
    _netBufferPoolHandle: unknown,
    allocateCloneFlags: number,
  ): CloneStreamDataResult {
    return this.stream.cloneStreamData(streamData, allocateCloneFlags);
  }

  /** FwpsDiscardClonedStreamData0: frees a clone that will not be injected. */
  discardClonedStreamData(
    netBufferListChain: NetBufferList,
    _allocateCloneFlags: number,
    _dispatchLevel: boolean,
  ): void {
    this.packetInjection.free(netBufferListChain);
  }

  /** FwpsCopyStreamDataToBuffer0: the first `bytesToCopy` bytes of `streamData` into `buffer`; returns bytesCopied. */
  copyStreamDataToBuffer(streamData: StreamData, buffer: Uint8Array, bytesToCopy: number): number {
    return this.stream.copyStreamDataToBuffer(streamData, buffer, bytesToCopy);
  }
}
