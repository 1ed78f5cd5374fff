/**
 * Packet injection (wfp-semantics.md D.6, D.7): injection handles (FwpsInjectionHandleCreate0 /
 * Destroy0), the injection state of a packet (FwpsQueryPacketInjectionState0), NET_BUFFER_LIST clones
 * and allocations (FwpsAllocateCloneNetBufferList0, FwpsAllocateNetBufferAndNetBufferList0, their frees,
 * NdisRetreat/AdvanceNetBufferDataStart), and the five injection functions
 * (FwpsInjectNetworkSendAsync0, FwpsInjectNetworkReceiveAsync0, FwpsInjectForwardAsync0,
 * FwpsInjectTransportSendAsync1, FwpsInjectTransportReceiveAsync0). Callouts reach all of it through
 * `shim.fwps` (Fwps, region "packet injection").
 *
 * An injection call checks its arguments and returns an NTSTATUS at once; the packet re-enters the stack
 * later (StackHooks.defer, after the classification that is running), where D31 says it does, and every
 * indication of it carries its `InjectionTag` on the layer data, so that FwpsQueryPacketInjectionState0
 * answers at every layer. completionFn runs once per NBL after the re-entry, with NET_BUFFER_LIST.Status
 * set; never when the call failed (D35).
 *
 * Statuses the pages document: STATUS_FWP_TCPIP_NOT_READY (no stack attached yet), _INJECT_HANDLE_CLOSING
 * (the handle was destroyed), _INJECT_HANDLE_STALE (network injection with a handle not created with
 * FWPS_INJECTION_TYPE_NETWORK). Statuses inferred here [INF], for what the pages leave as "other status
 * codes": STATUS_FWP_NULL_POINTER for a missing completionFn (the parameter is not optional),
 * STATUS_INVALID_PARAMETER for a wrong address family, non-zero reserved flags, an NBL the callout does
 * not own (not from an allocate call, freed, or still being injected), a dead transport endpoint (D36),
 * an unknown interface or compartment, bytes that are not a packet of the family; STATUS_FWP_INCOMPATIBLE_LAYER
 * for transport-receive injection of a packet indicated with ALE_CLASSIFY_REQUIRED outside
 * ALE_AUTH_RECV_ACCEPT (D37); STATUS_FWP_INJECT_HANDLE_STALE also for transport and forward injection with
 * a handle whose type bits exclude them.
 * Sources: https://learn.microsoft.com/windows-hardware/drivers/ddi/fwpsk/nf-fwpsk-fwpsinjectionhandlecreate0,
 * .../nf-fwpsk-fwpsinjectnetworksendasync0, .../nf-fwpsk-fwpsinjectnetworkreceiveasync0,
 * .../nf-fwpsk-fwpsinjectforwardasync0, .../nf-fwpsk-fwpsinjecttransportsendasync1,
 * .../nf-fwpsk-fwpsinjecttransportreceiveasync0, .../nf-fwpsk-fwpsquerypacketinjectionstate0,
 * .../nf-fwpsk-fwpsallocateclonenetbufferlist0, .../nc-fwpsk-fwps_inject_complete0
 */
import type { IpAddress } from "../../base/index.ts";
import { FWPS_INJECTION_TYPE, FWPS_PACKET_INJECTION_STATE } from "../../fwp/index.ts";
import type { InjectionTag, PacketLayerData } from "../packet.ts";
import type { Shim } from "../shim.ts";
import type { StackHooks } from "./stack-hooks.ts";
import type { NtStatus } from "./status.ts";

export { FWPS_INJECTION_TYPE, FWPS_PACKET_INJECTION_STATE };

/** ADDRESS_FAMILY of an injection handle or call. */
export type AddressFamily = "AF_INET" | "AF_INET6" | "AF_UNSPEC";

/** FWPS_PACKET_INJECTION_STATE: NOT_INJECTED 0, INJECTED_BY_SELF 1, INJECTED_BY_OTHER 2, PREVIOUSLY_INJECTED_BY_SELF 3. */
export type PacketInjectionState = 0 | 1 | 2 | 3;

/** Which injection function a request comes from (D31). */
export type InjectionKind = "network-send" | "network-receive" | "forward" | "transport-send" | "transport-receive";

/** UNSPECIFIED_COMPARTMENT_ID (0) and the default compartment (1): the only compartments of the model. */
const KNOWN_COMPARTMENTS: ReadonlySet<number> = new Set([0, 1]);

const ALL_INJECTION_TYPES = 0x3f;

/** An injection handle (FwpsInjectionHandleCreate0, D32). Opaque to callouts; compare by identity. */
export class InjectionHandle {
  #destroyed = false;
  /** Injections accepted and not yet completed. */
  outstanding = 0;

  constructor(
    /** The family the handle was created for; network injection needs AF_INET or AF_INET6 (D32). */
    readonly addressFamily: AddressFamily,
    /** FWPS_INJECTION_TYPE_* bits; 0 = transport, stream and forward. */
    readonly flags: number,
  ) {}

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** @internal FwpsInjectionHandleDestroy0. */
  markDestroyed(): void {
    this.#destroyed = true;
  }

  /** May this handle be used for `kind` (FwpsInjectionHandleCreate0's flags)? */
  allows(kind: InjectionKind): boolean {
    const f = this.flags;
    const T = FWPS_INJECTION_TYPE;
    if (kind === "network-send" || kind === "network-receive") return (f & T.FWPS_INJECTION_TYPE_NETWORK) !== 0;
    if (kind === "forward") return f === 0 || (f & T.FWPS_INJECTION_TYPE_FORWARD) !== 0;
    return f === 0 || (f & T.FWPS_INJECTION_TYPE_TRANSPORT) !== 0;
  }
}

/**
 * A NET_BUFFER_LIST the callout owns: a clone of an indicated one (shares its bytes, D40) or one it
 * allocated. Its data offset moves (`ndisRetreatNetBufferDataStart` / `ndisAdvanceNetBufferDataStart`);
 * `status` is NET_BUFFER_LIST.Status, the result of an injection, set before completionFn runs.
 */
export interface NetBufferList extends PacketLayerData {
  dataOffset: number;
  status: NtStatus;
  /** ParentNetBufferList: the NBL this one was cloned from; null for an allocated one. */
  readonly parent: PacketLayerData | null;
}

/** FWPS_INJECT_COMPLETE0: called once per injected NBL after the injection (D35). */
export type InjectCompleteFn = (
  completionContext: unknown,
  netBufferList: NetBufferList,
  dispatchLevel: boolean,
) => void;

/** FWPS_TRANSPORT_SEND_PARAMS1: where a transport-send injection goes. */
export interface TransportSendParams {
  readonly remoteAddress: IpAddress;
  readonly remoteScopeId?: number;
  /** WSACMSGHDR control data of the send (kept, not interpreted by the model). */
  readonly controlData?: Uint8Array;
}

export interface InjectionHandleCreateResult {
  readonly status: NtStatus;
  readonly handle: InjectionHandle | null;
}

export interface PacketInjectionStateResult {
  readonly state: PacketInjectionState;
  /** The injection context given at injection, for INJECTED_BY_SELF and PREVIOUSLY_INJECTED_BY_SELF; else null. */
  readonly injectionContext: unknown;
}

export interface NetBufferListResult {
  readonly status: NtStatus;
  readonly netBufferList: NetBufferList | null;
}

/** One injection as the stack receives it (StackHooks.checkInjection / injectPacket). */
export interface InjectionRequest {
  readonly kind: InjectionKind;
  /**
   * The bytes from the NBL's data offset to its end, copied when the call was made: an IP packet, or for
   * transport send the transport header and payload.
   */
  readonly packet: Uint8Array;
  readonly tag: InjectionTag;
  readonly ipVersion: 4 | 6;
  readonly compartmentId: number;
  /** Network / transport receive: the arrival interface; forward: the interface to send on. */
  readonly interfaceIndex?: number;
  readonly subInterfaceIndex?: number;
  /** Transport send. */
  readonly endpointHandle?: bigint;
  readonly sendParams?: TransportSendParams;
}

interface OwnedNbl {
  freed: boolean;
  inFlight: boolean;
  /** Where the clone was made: the layer of the indication and whether it required ALE classify. */
  readonly originLayerName: string | undefined;
  readonly aleClassifyRequired: boolean;
}

const S = FWPS_PACKET_INJECTION_STATE;

/** FwpsQueryPacketInjectionState0 (D33) over a layer data object (anything that is not a packet: NOT_INJECTED). */
export function packetInjectionState(handle: InjectionHandle | null, nbl: unknown): PacketInjectionStateResult {
  const tag = isPacketLayerData(nbl) ? nbl.injection : undefined;
  if (tag === undefined || handle === null) return { state: S.FWPS_PACKET_NOT_INJECTED, injectionContext: null };
  if (tag.handle === handle) return { state: S.FWPS_PACKET_INJECTED_BY_SELF, injectionContext: tag.context };
  for (let t = tag.previous; t !== undefined; t = t.previous) {
    if (t.handle === handle) return { state: S.FWPS_PACKET_PREVIOUSLY_INJECTED_BY_SELF, injectionContext: t.context };
  }
  return { state: S.FWPS_PACKET_INJECTED_BY_OTHER, injectionContext: null };
}

function isPacketLayerData(x: unknown): x is PacketLayerData {
  return typeof x === "object" && x !== null && (x as { kind?: unknown }).kind === "packet";
}

/**
 * NdisRetreatNetBufferDataStart: moves the data offset `bytes` back (to reach earlier headers, D.8).
 * The model has no backfill: moving before the first byte of the buffer is STATUS_INVALID_PARAMETER.
 */
export function ndisRetreatNetBufferDataStart(nbl: NetBufferList, bytes: number): NtStatus {
  if (!Number.isInteger(bytes) || bytes < 0 || nbl.dataOffset - bytes < 0) return "STATUS_INVALID_PARAMETER";
  nbl.dataOffset -= bytes;
  return "STATUS_SUCCESS";
}

/** NdisAdvanceNetBufferDataStart: moves the data offset `bytes` forward (not past the end). */
export function ndisAdvanceNetBufferDataStart(nbl: NetBufferList, bytes: number): NtStatus {
  if (!Number.isInteger(bytes) || bytes < 0 || nbl.dataOffset + bytes > nbl.end) return "STATUS_INVALID_PARAMETER";
  nbl.dataOffset += bytes;
  return "STATUS_SUCCESS";
}

/** The injection state of one host's callout services: its handles and the NBLs callouts own. */
export class PacketInjection {
  readonly #handles = new Set<InjectionHandle>();
  readonly #owned = new WeakMap<NetBufferList, OwnedNbl>();
  /** Injections accepted, completed, refused (counters a host shows). */
  readonly counters = { accepted: 0, completed: 0, refused: 0 };

  constructor(readonly shim: Shim) {}

  handleCreate(addressFamily: AddressFamily, flags: number): InjectionHandleCreateResult {
    if (!this.#stackReady()) return { status: "STATUS_FWP_TCPIP_NOT_READY", handle: null };
    if (addressFamily !== "AF_INET" && addressFamily !== "AF_INET6" && addressFamily !== "AF_UNSPEC")
      return { status: "STATUS_INVALID_PARAMETER", handle: null };
    if (!Number.isInteger(flags) || flags < 0 || (flags & ~ALL_INJECTION_TYPES) !== 0)
      return { status: "STATUS_INVALID_PARAMETER", handle: null };
    const handle = new InjectionHandle(addressFamily, flags);
    this.#handles.add(handle);
    return { status: "STATUS_SUCCESS", handle };
  }

  handleDestroy(handle: InjectionHandle | null): NtStatus {
    if (handle === null || !this.#handles.has(handle) || handle.destroyed) return "STATUS_INVALID_PARAMETER";
    handle.markDestroyed();
    this.#handles.delete(handle);
    return "STATUS_SUCCESS";
  }

  allocateClone(original: unknown): NetBufferListResult {
    if (!isPacketLayerData(original)) return { status: "STATUS_INVALID_PARAMETER", netBufferList: null };
    const here = this.shim.indication;
    const fromHere = here !== undefined && here.layerData === original;
    const clone: NetBufferList = {
      kind: "packet",
      bytes: original.bytes,
      ipOffset: original.ipOffset,
      ...(original.transportOffset !== undefined ? { transportOffset: original.transportOffset } : {}),
      ...(original.payloadOffset !== undefined ? { payloadOffset: original.payloadOffset } : {}),
      end: original.end,
      dataOffset: original.dataOffset,
      ...(original.injection !== undefined ? { injection: original.injection } : {}),
      status: "STATUS_SUCCESS",
      parent: original,
    };
    this.#owned.set(clone, {
      freed: false,
      inFlight: false,
      originLayerName: fromHere ? here.layer.fwpsName : undefined,
      aleClassifyRequired: fromHere && here.metadata.aleClassifyRequired === true,
    });
    return { status: "STATUS_SUCCESS", netBufferList: clone };
  }

  allocate(data: Uint8Array, dataOffset: number, dataLength: number, headers: "ip" | "transport"): NetBufferListResult {
    if (
      !Number.isInteger(dataOffset) ||
      !Number.isInteger(dataLength) ||
      dataOffset < 0 ||
      dataLength < 0 ||
      dataOffset + dataLength > data.length
    )
      return { status: "STATUS_INVALID_PARAMETER", netBufferList: null };
    const nbl: NetBufferList = {
      kind: "packet",
      bytes: data,
      ipOffset: headers === "ip" ? dataOffset : -1,
      ...(headers === "transport" ? { transportOffset: dataOffset } : {}),
      end: dataOffset + dataLength,
      dataOffset,
      status: "STATUS_SUCCESS",
      parent: null,
    };
    this.#owned.set(nbl, { freed: false, inFlight: false, originLayerName: undefined, aleClassifyRequired: false });
    return { status: "STATUS_SUCCESS", netBufferList: nbl };
  }

  /** FwpsFreeCloneNetBufferList0 / FwpsFreeNetBufferList0. An NBL still being injected is not freed. */
  free(nbl: NetBufferList): void {
    const owned = this.#owned.get(nbl);
    if (owned === undefined || owned.inFlight) return;
    owned.freed = true;
  }

  /** The NBL is one the callout allocated and has not freed. */
  owns(nbl: NetBufferList): boolean {
    const o = this.#owned.get(nbl);
    return o !== undefined && !o.freed;
  }

  /**
   * The common part of the five injection functions: the checks in the order of the module comment,
   * then the deferred re-entry and the completion.
   */
  inject(
    kind: InjectionKind,
    handle: InjectionHandle | null,
    injectionContext: unknown,
    flags: number,
    compartmentId: number,
    family: AddressFamily | null,
    nbl: NetBufferList | null,
    completionFn: InjectCompleteFn | null,
    completionContext: unknown,
    extra: Pick<InjectionRequest, "interfaceIndex" | "subInterfaceIndex" | "endpointHandle" | "sendParams">,
  ): NtStatus {
    const status = this.#check(kind, handle, flags, compartmentId, family, nbl, completionFn, extra);
    if (typeof status === "string") {
      this.counters.refused++;
      return status;
    }
    const { stack, owned, ipVersion } = status;
    const h = handle as InjectionHandle;
    const n = nbl as NetBufferList;
    const done = completionFn as InjectCompleteFn;
    const tag: InjectionTag = {
      handle: h,
      context: injectionContext ?? null,
      ...(n.injection !== undefined ? { previous: n.injection } : {}),
    };
    const request: InjectionRequest = {
      kind,
      packet: n.bytes.slice(n.dataOffset, n.end),
      tag,
      ipVersion,
      compartmentId,
      ...extra,
    };
    const refused = stack.checkInjection(request);
    if (refused !== "STATUS_SUCCESS") {
      this.counters.refused++;
      return refused;
    }
    this.counters.accepted++;
    h.outstanding++;
    owned.inFlight = true;
    stack.defer(() => {
      const result = stack.injectPacket(request);
      h.outstanding--;
      owned.inFlight = false;
      n.status = result;
      this.counters.completed++;
      done(completionContext, n, false);
    });
    return "STATUS_SUCCESS";
  }

  #stackReady(): boolean {
    const s = this.shim.stack;
    return s?.checkInjection !== undefined && s.injectPacket !== undefined;
  }

  #check(
    kind: InjectionKind,
    handle: InjectionHandle | null,
    flags: number,
    compartmentId: number,
    family: AddressFamily | null,
    nbl: NetBufferList | null,
    completionFn: InjectCompleteFn | null,
    extra: Pick<InjectionRequest, "sendParams">,
  ): NtStatus | { stack: ReadyStack; owned: OwnedNbl; ipVersion: 4 | 6 } {
    const stack = this.shim.stack;
    if (stack?.checkInjection === undefined || stack.injectPacket === undefined) return "STATUS_FWP_TCPIP_NOT_READY";
    if (handle === null || !(handle instanceof InjectionHandle)) return "STATUS_INVALID_PARAMETER";
    if (handle.destroyed) return "STATUS_FWP_INJECT_HANDLE_CLOSING";
    if (!this.#handles.has(handle)) return "STATUS_INVALID_PARAMETER";
    if (!handle.allows(kind)) return "STATUS_FWP_INJECT_HANDLE_STALE";
    if (flags !== 0) return "STATUS_INVALID_PARAMETER";
    if (typeof completionFn !== "function") return "STATUS_FWP_NULL_POINTER";
    const owned = nbl === null ? undefined : this.#owned.get(nbl);
    if (nbl === null || owned === undefined || owned.freed || owned.inFlight) return "STATUS_INVALID_PARAMETER";
    if (!KNOWN_COMPARTMENTS.has(compartmentId)) return "STATUS_INVALID_PARAMETER";
    // Network injection takes its family from the handle (one handle per family, D32); the others from
    // their addressFamily parameter, which a family-bound handle must match.
    const af = kind === "network-send" || kind === "network-receive" ? handle.addressFamily : family;
    if (af !== "AF_INET" && af !== "AF_INET6") return "STATUS_INVALID_PARAMETER";
    if (handle.addressFamily !== "AF_UNSPEC" && handle.addressFamily !== af) return "STATUS_INVALID_PARAMETER";
    const ipVersion = af === "AF_INET" ? 4 : 6;
    if (kind !== "transport-send") {
      // The NBL must begin with an IP header of the family.
      if (nbl.dataOffset >= nbl.end || (nbl.bytes[nbl.dataOffset] as number) >>> 4 !== ipVersion)
        return "STATUS_INVALID_PARAMETER";
    } else if (extra.sendParams == null || extra.sendParams.remoteAddress.version !== ipVersion) {
      // sendArgs may be NULL only for raw sends carrying their own IP header, which the model does not have.
      return "STATUS_INVALID_PARAMETER";
    }
    if (
      kind === "transport-receive" &&
      owned.aleClassifyRequired &&
      owned.originLayerName !== undefined &&
      !owned.originLayerName.startsWith("FWPS_LAYER_ALE_AUTH_RECV_ACCEPT")
    )
      return "STATUS_FWP_INCOMPATIBLE_LAYER";
    return { stack: stack as ReadyStack, owned, ipVersion };
  }
}

/** A stack that takes injections. */
type ReadyStack = StackHooks & Required<Pick<StackHooks, "checkInjection" | "injectPacket">>;
