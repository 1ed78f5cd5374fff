/**
 * ALE connect and bind redirection (wfp-semantics.md §D.5, D24–D30).
 *
 * At ALE_CONNECT_REDIRECT the layer data is FWPS_CONNECT_REQUEST0, at ALE_BIND_REDIRECT FWPS_BIND_REQUEST0;
 * the indicated copy is read-only: the stack acts only on what a callout applies through the API (D26):
 * FwpsAcquireClassifyHandle0 → FwpsAcquireWritableLayerDataPointer0 (a writable copy; it sets
 * classifyOut BLOCK and clears WRITE, so no later callout modifies the same indication) → edit →
 * FwpsApplyModifiedLayerData0 (once per acquire, even when nothing changed) → PERMIT →
 * FwpsReleaseClassifyHandle0. An applied modification becomes the indicated request for the callouts that
 * follow in the same classification, with `previousVersion` and `modifierFilterId` (D28).
 *
 * Redirecting to a local process (a proxy on this host) needs a redirect handle (FwpsRedirectHandleCreate0,
 * once per driver) put into `localRedirectHandle`, and the proxy's PID in `localRedirectTargetPID` (D29).
 * Each such redirection appends a record to the connection's redirect records; the proxy reads them from the
 * accepted socket and sets them on its outbound socket, whose CONNECT_REDIRECT then carries them as
 * REDIRECT_RECORD_HANDLE metadata: FwpsQueryConnectionRedirectState0 tells the redirecting callout it
 * already redirected this connection (loop protection, D26).
 * Sources: https://learn.microsoft.com/windows-hardware/drivers/network/using-bind-or-connect-redirection,
 * …/ddi/fwpsk/nf-fwpsk-fwpsacquirewritablelayerdatapointer0, …/nf-fwpsk-fwpsapplymodifiedlayerdata0,
 * …/nf-fwpsk-fwpsqueryconnectionredirectstate0, …/nf-fwpsk-fwpsredirecthandlecreate0,
 * …/ns-fwpsk-fwps_connect_request0, …/ns-fwpsk-fwps_bind_request0.
 */
import type { ClassifyOut } from "../../engine/index.ts";
import type { Guid } from "../../base/index.ts";
import { FWPS_CLASSIFY_FLAG, FWPS_CONNECTION_REDIRECT_STATE, FWPS_RIGHT } from "../../fwp/index.ts";
import type { BindRequest, ConnectRequest, SocketAddress } from "../packet.ts";
import { ClassifyHandle, copyRequest, isRedirectRequest, type RedirectRequest } from "./pend.ts";
import type { NtStatus } from "./status.ts";

const STATE = FWPS_CONNECTION_REDIRECT_STATE;

/** A redirect handle (FwpsRedirectHandleCreate0): identifies one redirecting driver. */
export class RedirectHandle {
  destroyed = false;
  constructor(
    readonly providerKey: Guid | string,
    readonly flags: number,
  ) {}
}

/** One redirection to a local process, as the connection's redirect records keep it. */
export interface RedirectRecord {
  readonly redirectHandle: RedirectHandle;
  /** The callout's localRedirectContext (owned by WFP after apply, D29). */
  readonly redirectContext: unknown;
  /** The filter whose callout redirected. */
  readonly modifierFilterId: bigint;
  /** Where the connection was going before this redirection. */
  readonly originalDestination: SocketAddress;
  /** Where it was sent instead. */
  readonly redirectedTo: SocketAddress;
}

/**
 * The redirect records of a connection (opaque to apps: SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS gives
 * them, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS takes them), oldest first. Immutable.
 */
export class RedirectRecords {
  constructor(readonly records: readonly RedirectRecord[]) {}

  /** These records plus one more redirection. */
  with(record: RedirectRecord): RedirectRecords {
    return new RedirectRecords([...this.records, record]);
  }

  /** The most recent redirection. */
  get last(): RedirectRecord | undefined {
    return this.records[this.records.length - 1];
  }
}

/** FwpsRedirectHandleCreate0's result. */
export interface RedirectHandleCreateResult {
  readonly status: NtStatus;
  readonly redirectHandle: RedirectHandle | undefined;
}

/** FwpsRedirectHandleCreate0: `flags` is reserved (0, else STATUS_FWP_INVALID_FLAGS [INF]). */
export function redirectHandleCreate(providerKey: Guid | string, flags: number): RedirectHandleCreateResult {
  if (flags !== 0) return { status: "STATUS_FWP_INVALID_FLAGS", redirectHandle: undefined };
  if (typeof providerKey !== "string" || providerKey.length === 0) {
    return { status: "STATUS_INVALID_PARAMETER", redirectHandle: undefined };
  }
  return { status: "STATUS_SUCCESS", redirectHandle: new RedirectHandle(providerKey, flags) };
}

/** FwpsRedirectHandleDestroy0: the handle no longer redirects; records that name it stay. */
export function redirectHandleDestroy(redirectHandle: unknown): void {
  if (redirectHandle instanceof RedirectHandle) redirectHandle.destroyed = true;
}

/** FwpsQueryConnectionRedirectState0's result (the model adds a status for a bad handle). */
export interface ConnectionRedirectStateResult {
  readonly status: NtStatus;
  /** FWPS_CONNECTION_REDIRECT_STATE value. */
  readonly state: number;
  /** This driver's localRedirectContext, for REDIRECTED_BY_SELF and PREVIOUSLY_REDIRECTED_BY_SELF. */
  readonly redirectContext: unknown;
}

/**
 * FwpsQueryConnectionRedirectState0 (D26): NOT_REDIRECTED when the connection has no records,
 * REDIRECTED_BY_SELF when this handle made the latest redirection, PREVIOUSLY_REDIRECTED_BY_SELF when it made
 * an earlier one that another driver redirected again, REDIRECTED_BY_OTHER otherwise. A value that is no live
 * redirect handle: STATUS_INVALID_PARAMETER and NOT_REDIRECTED.
 */
export function queryConnectionRedirectState(
  redirectRecords: unknown,
  redirectHandle: unknown,
): ConnectionRedirectStateResult {
  if (!(redirectHandle instanceof RedirectHandle) || redirectHandle.destroyed) {
    return {
      status: "STATUS_INVALID_PARAMETER",
      state: STATE.FWPS_CONNECTION_NOT_REDIRECTED,
      redirectContext: undefined,
    };
  }
  const records = redirectRecords instanceof RedirectRecords ? redirectRecords.records : [];
  if (records.length === 0) {
    return { status: "STATUS_SUCCESS", state: STATE.FWPS_CONNECTION_NOT_REDIRECTED, redirectContext: undefined };
  }
  let mine: RedirectRecord | undefined;
  for (const r of records) if (r.redirectHandle === redirectHandle) mine = r;
  if (mine === undefined) {
    return { status: "STATUS_SUCCESS", state: STATE.FWPS_CONNECTION_REDIRECTED_BY_OTHER, redirectContext: undefined };
  }
  const state =
    records[records.length - 1] === mine
      ? STATE.FWPS_CONNECTION_REDIRECTED_BY_SELF
      : STATE.FWPS_CONNECTION_PREVIOUSLY_REDIRECTED_BY_SELF;
  return { status: "STATUS_SUCCESS", state, redirectContext: mine.redirectContext };
}

/** FwpsAcquireWritableLayerDataPointer0's result. */
export interface AcquireWritableLayerDataResult {
  readonly status: NtStatus;
  /** The writable copy: FWPS_CONNECT_REQUEST0 or FWPS_BIND_REQUEST0. */
  readonly writableLayerData: ConnectRequest | BindRequest | undefined;
}

/**
 * FwpsAcquireWritableLayerDataPointer0 (D26, D27): a writable copy of the redirect layer's request, for the
 * classification the handle names (inline, or pended by FwpsPendClassify0). It sets classifyOut BLOCK and
 * clears FWPS_RIGHT_ACTION_WRITE (the callout sets PERMIT once it applied). Refused: not a usable classify
 * handle (STATUS_INVALID_PARAMETER), a layer without writable data (STATUS_FWP_INCOMPATIBLE_LAYER [INF]),
 * no FWPS_RIGHT_ACTION_WRITE offered — a higher-weight callout already decided (D9; STATUS_ACCESS_DENIED
 * [INF]) — or a copy acquired and not applied yet (STATUS_FWP_IN_USE [INF], checked first).
 */
export function acquireWritableLayerDataPointer(
  classifyHandle: unknown,
  filterId: bigint,
  flags: number,
  classifyOut: ClassifyOut | undefined,
): AcquireWritableLayerDataResult {
  if (!(classifyHandle instanceof ClassifyHandle) || !classifyHandle.usable || classifyOut === undefined) {
    return { status: "STATUS_INVALID_PARAMETER", writableLayerData: undefined };
  }
  if (flags !== 0) return { status: "STATUS_FWP_INVALID_FLAGS", writableLayerData: undefined };
  const c = classifyHandle.context;
  const applied = c.applied;
  // What the callout sees: the request as indicated, or as the last modifier left it (D28).
  const base = applied === undefined ? c.original : ({ ...applied, previousVersion: applied } as RedirectRequest);
  if (base === undefined) return { status: "STATUS_FWP_INCOMPATIBLE_LAYER", writableLayerData: undefined };
  if (c.acquired !== undefined) return { status: "STATUS_FWP_IN_USE", writableLayerData: undefined };
  if (c.live && (classifyOut.rights & FWPS_RIGHT.FWPS_RIGHT_ACTION_WRITE) === 0) {
    return { status: "STATUS_ACCESS_DENIED", writableLayerData: undefined };
  }
  const copy = copyRequest(base);
  c.acquired = { copy, filterId };
  classifyOut.actionType = "FWP_ACTION_BLOCK";
  classifyOut.rights &= ~FWPS_RIGHT.FWPS_RIGHT_ACTION_WRITE;
  return { status: "STATUS_SUCCESS", writableLayerData: copy };
}

/** True when `a` and `b` name the same address and port. */
function sameSocketAddress(a: SocketAddress, b: SocketAddress): boolean {
  return a.port === b.port && a.address.equals(b.address);
}

/**
 * FwpsApplyModifiedLayerData0 (D26–D28): applies the copy `modifiedLayerData` acquired through this handle.
 * The applied request becomes what the stack acts on; the callouts that follow in the classification see it
 * as their layerData, with `previousVersion` pointing at it and `modifierFilterId` naming the filter (D28).
 * Applying an unchanged copy is allowed (and required once per acquire) and changes nothing. Refused,
 * leaving the connection as it was: nothing acquired through this handle, or another object than the
 * acquired copy (STATUS_INVALID_PARAMETER); a connect request redirected to a local process — an address of
 * this host, or a non-zero `localRedirectTargetPID` — without a live redirect handle in
 * `localRedirectHandle` (STATUS_INVALID_PARAMETER: Windows requires the handle, D29; the failure mode is
 * [INF]); flags other than FWPS_CLASSIFY_FLAG_REAUTHORIZE_IF_MODIFIED_BY_OTHERS, which is itself only for
 * pended classifies (STATUS_FWP_INVALID_FLAGS). `isLocal` tells whether an address belongs to this host.
 */
export function applyModifiedLayerData(
  classifyHandle: unknown,
  modifiedLayerData: unknown,
  flags: number,
  isLocal: (address: SocketAddress["address"]) => boolean,
): NtStatus {
  if (!(classifyHandle instanceof ClassifyHandle) || !classifyHandle.usable) return "STATUS_INVALID_PARAMETER";
  const c = classifyHandle.context;
  const acquired = c.acquired;
  if (acquired === undefined || modifiedLayerData !== acquired.copy) return "STATUS_INVALID_PARAMETER";
  const reauthFlag = FWPS_CLASSIFY_FLAG.FWPS_CLASSIFY_FLAG_REAUTHORIZE_IF_MODIFIED_BY_OTHERS;
  if ((flags & ~reauthFlag) !== 0 || ((flags & reauthFlag) !== 0 && !c.isPended)) return "STATUS_FWP_INVALID_FLAGS";
  const copy = acquired.copy;
  const base = (c.applied ?? c.original) as RedirectRequest;
  if (copy.kind === "connect-request" && base.kind === "connect-request") {
    const handle = copy.localRedirectHandle;
    const liveHandle = handle instanceof RedirectHandle && !handle.destroyed;
    const remote = copy.remoteAddressAndPort;
    const redirected = !sameSocketAddress(remote, base.remoteAddressAndPort);
    const toLocalProcess = copy.localRedirectTargetPID !== 0 || (redirected && isLocal(remote.address));
    if ((toLocalProcess || (handle !== undefined && handle !== null)) && !liveHandle) {
      c.acquired = undefined;
      return "STATUS_INVALID_PARAMETER";
    }
  }
  c.acquired = undefined;
  if ((flags & reauthFlag) !== 0) c.reauthorizeIfModifiedByOthers = true;
  if (sameRequest(copy, base)) return "STATUS_SUCCESS";
  const applied = {
    ...copy,
    previousVersion: c.applied ?? null,
    modifierFilterId: acquired.filterId,
  } as RedirectRequest;
  c.applied = applied;
  // The callouts that follow in this classification see the modified request (D28).
  if (isRedirectRequest(c.layerData)) {
    Object.assign(c.layerData, copyRequest(applied), { previousVersion: applied, modifierFilterId: acquired.filterId });
  }
  return "STATUS_SUCCESS";
}

function sameRequest(a: RedirectRequest, b: RedirectRequest): boolean {
  if (!sameSocketAddress(a.localAddressAndPort, b.localAddressAndPort)) return false;
  if (a.kind === "bind-request" || b.kind === "bind-request") return a.kind === b.kind;
  return (
    sameSocketAddress(a.remoteAddressAndPort, b.remoteAddressAndPort) &&
    a.localRedirectTargetPID === b.localRedirectTargetPID &&
    a.localRedirectHandle === b.localRedirectHandle &&
    a.localRedirectContext === b.localRedirectContext
  );
}
