/**
 * Asynchronous classification (wfp-semantics.md §D.4), two families:
 *
 * - **Pended operations** (FwpsPendOperation0 / FwpsCompleteOperation0, D19–D20): at ALE_RESOURCE_ASSIGNMENT,
 *   ALE_AUTH_LISTEN, ALE_AUTH_CONNECT and ALE_AUTH_RECV_ACCEPT the stack hands every classification a
 *   `CompletionHandle` (metadata COMPLETION_HANDLE). A callout that cannot decide inline pends it, gets a
 *   completion context (`PendedOperation`) and returns BLOCK + ABSORB; the stack holds the socket operation.
 *   Completing it resumes the stack *after* the current event (never inside a classifyFn): at AUTH_CONNECT
 *   (and, by the model, RESOURCE_ASSIGNMENT and AUTH_LISTEN) the layer is classified again at once with
 *   IS_REAUTHORIZE and reason CLASSIFY_COMPLETION, and that answer decides; at AUTH_RECV_ACCEPT nothing is
 *   classified: the pend just ends, data held meanwhile is flushed, and the callout reinjects its clone.
 *   Only an initial authorization can be pended: with IS_REAUTHORIZE set, STATUS_FWP_CANNOT_PEND (G11).
 * - **Pended classifies** (FwpsAcquireClassifyHandle0 / FwpsPendClassify0 / FwpsCompleteClassify0 /
 *   FwpsReleaseClassifyHandle0, D21): every classification carries a classify context; a handle acquired
 *   from it inside classifyFn identifies that classification. It can be pended only at ALE_ENDPOINT_CLOSURE,
 *   ALE_CONNECT_REDIRECT and ALE_BIND_REDIRECT, where the stack passes its own `ClassifyContext` and waits
 *   for the completion; completing with a classifyOut gives the final answer, with null asks the stack to
 *   classify the indication again. Every acquire is paired with a release (`outstandingClassifyHandles`).
 *
 * NTSTATUS values are returned, never thrown. Windows declares FwpsCompleteOperation0, FwpsCompleteClassify0
 * and FwpsReleaseClassifyHandle0 void; the model returns a status from them too (a misuse is visible).
 * Sources: https://learn.microsoft.com/windows-hardware/drivers/ddi/fwpsk/nf-fwpsk-fwpspendoperation0,
 * …/nf-fwpsk-fwpscompleteoperation0, …/nf-fwpsk-fwpspendclassify0, …/nf-fwpsk-fwpscompleteclassify0,
 * …/nf-fwpsk-fwpsacquireclassifyhandle0, https://learn.microsoft.com/windows-hardware/drivers/network/processing-classify-callouts-asynchronously,
 * Windows-driver-samples network/trans/inspect (pend at AUTH_CONNECT / AUTH_RECV_ACCEPT).
 */
import type { ClassifyOut } from "../../engine/index.ts";
import type { Layer, LayerSubFamily } from "../../fwp/index.ts";
import type { BindRequest, ConnectRequest, SocketAddress } from "../packet.ts";
import type { NtStatus } from "./status.ts";

/** Layers where FwpsPendOperation0 is allowed (D19). */
const OPERATION_LAYERS: ReadonlySet<LayerSubFamily> = new Set<LayerSubFamily>([
  "resource-assignment",
  "auth-listen",
  "auth-connect",
  "auth-recv-accept",
]);

/** Layers where FwpsPendClassify0 is allowed (D21). */
const CLASSIFY_LAYERS: ReadonlySet<LayerSubFamily> = new Set<LayerSubFamily>([
  "endpoint-closure",
  "connect-redirect",
  "bind-redirect",
]);

/** True at a layer whose operations the stack lets callouts pend (FwpsPendOperation0, D19). */
export function canPendOperation(layer: Layer): boolean {
  return !layer.isDiscard && OPERATION_LAYERS.has(layer.subFamily);
}

/** True at a layer whose classifications can be pended (FwpsPendClassify0, D21). */
export function canPendClassify(layer: Layer): boolean {
  return !layer.isDiscard && CLASSIFY_LAYERS.has(layer.subFamily);
}

// ---------------------------------------------------------------------------------------------
// Pended operations
// ---------------------------------------------------------------------------------------------

/**
 * FWPS_METADATA_FIELD_COMPLETION_HANDLE: one per classification at a layer that can pend its operation.
 * The stack makes it and passes it in `MetadataInput.completionHandle`; the shim binds it to the
 * classification while the engine runs it.
 */
export class CompletionHandle {
  /** The layer of the classification running now (set by the shim). */
  layer: Layer | undefined;
  /** The classification runs now: a classifyFn may pend it. */
  live = false;
  /** The classification is a reauthorization (IS_REAUTHORIZE): it cannot be pended (G11). */
  reauthorize = false;
  /** The operation a callout pended through this handle. */
  operation: PendedOperation | undefined;
}

/** Where a pended operation is. */
export type PendedOperationState = "pended" | "completing" | "completed" | "cancelled";

/**
 * The completionContext FwpsPendOperation0 returns: the pended socket operation (bind, listen, connect,
 * accept or first datagram). The stack says what completion does (`whenCompleted`).
 */
export class PendedOperation {
  state: PendedOperationState = "pended";
  /** The NET_BUFFER_LIST the callout gave FwpsCompleteOperation0, if any. */
  packet: unknown;
  #resume: ((packet: unknown) => void) | undefined;
  #cancel: (() => void) | undefined;

  constructor(
    /** The layer the operation was pended at. */
    readonly layer: Layer,
  ) {}

  /** The stack's continuation: runs once, after FwpsCompleteOperation0, outside any classifyFn. */
  whenCompleted(resume: (packet: unknown) => void): void {
    this.#resume = resume;
  }

  /** The stack's clean-up when the operation is dropped without completion (socket closed meanwhile). */
  whenCancelled(cancel: () => void): void {
    this.#cancel = cancel;
  }

  /** The stack gave up the operation (its socket closed, or the layer permitted after all). */
  cancel(): void {
    if (this.state !== "pended") return;
    this.state = "cancelled";
    const c = this.#cancel;
    this.#cancel = undefined;
    c?.();
  }

  /** @internal Runs the stack's continuation (FwpsCompleteOperation0, deferred). */
  resume(): void {
    if (this.state !== "completing") return;
    this.state = "completed";
    const r = this.#resume;
    this.#resume = undefined;
    r?.(this.packet);
  }
}

/** FwpsPendOperation0's result: the status and, on success, the completion context. */
export interface PendOperationResult {
  readonly status: NtStatus;
  readonly completionContext: PendedOperation | undefined;
}

/**
 * FwpsPendOperation0 (D19): only inside the classifyFn of an initial authorization at RESOURCE_ASSIGNMENT,
 * AUTH_LISTEN, AUTH_CONNECT or AUTH_RECV_ACCEPT. STATUS_INVALID_PARAMETER when `completionHandle` is no
 * completion handle; STATUS_FWP_CANNOT_PEND at a reauthorization, at another layer (a discard layer, a
 * handle whose classification has ended) or for a classification already pended.
 */
export function pendOperation(completionHandle: unknown): PendOperationResult {
  if (!(completionHandle instanceof CompletionHandle)) {
    return { status: "STATUS_INVALID_PARAMETER", completionContext: undefined };
  }
  const layer = completionHandle.layer;
  if (
    !completionHandle.live ||
    layer === undefined ||
    !canPendOperation(layer) ||
    completionHandle.reauthorize ||
    completionHandle.operation !== undefined
  ) {
    return { status: "STATUS_FWP_CANNOT_PEND", completionContext: undefined };
  }
  const op = new PendedOperation(layer);
  completionHandle.operation = op;
  return { status: "STATUS_SUCCESS", completionContext: op };
}

/**
 * After a classification whose metadata carried `completionHandle`: the operation a callout pended there,
 * if the layer's decision holds it — a BLOCK (absorbed, as the callout must return). A layer that
 * permitted after all (a callout pended without blocking) cancels the pend: the operation goes on [INF].
 */
export function heldOperation(completionHandle: CompletionHandle, permitted: boolean): PendedOperation | undefined {
  const op = completionHandle.operation;
  if (op === undefined || op.state !== "pended") return undefined;
  if (permitted) {
    op.cancel();
    return undefined;
  }
  return op;
}

/**
 * FwpsCompleteOperation0 (D20): resumes the pended operation after the current event (`defer`).
 * STATUS_INVALID_PARAMETER for anything but a pended operation that is not completed yet.
 */
export function completeOperation(
  completionContext: unknown,
  packet: unknown,
  defer: ((fn: () => void) => void) | undefined,
): NtStatus {
  if (!(completionContext instanceof PendedOperation) || completionContext.state !== "pended") {
    return "STATUS_INVALID_PARAMETER";
  }
  completionContext.state = "completing";
  completionContext.packet = packet;
  if (defer !== undefined) defer(() => completionContext.resume());
  else completionContext.resume();
  return "STATUS_SUCCESS";
}

// ---------------------------------------------------------------------------------------------
// Classify handles
// ---------------------------------------------------------------------------------------------

/** A redirect layer's request (FWPS_CONNECT_REQUEST0 / FWPS_BIND_REQUEST0). */
export type RedirectRequest = ConnectRequest | BindRequest;

/** True for a FWPS_CONNECT_REQUEST0 / FWPS_BIND_REQUEST0. */
export function isRedirectRequest(v: unknown): v is RedirectRequest {
  const k = (v as { kind?: unknown } | null | undefined)?.kind;
  return k === "connect-request" || k === "bind-request";
}

function copyAddress(a: SocketAddress): SocketAddress {
  return { address: a.address, port: a.port };
}

/** A copy of a request whose addresses can be written without touching the original. */
export function copyRequest<R extends RedirectRequest>(r: R): R {
  if (r.kind === "bind-request") return { ...r, localAddressAndPort: copyAddress(r.localAddressAndPort) };
  const c = r as ConnectRequest;
  return {
    ...c,
    localAddressAndPort: copyAddress(c.localAddressAndPort),
    remoteAddressAndPort: copyAddress(c.remoteAddressAndPort),
  } as R;
}

/** What FwpsCompleteClassify0 said: a final classifyOut, or null (classify the indication again). */
export interface ClassifyCompletion {
  readonly classifyOut: Readonly<ClassifyOut> | null;
}

/**
 * The classifyContext of one classification (classifyFn's 4th argument). The stack passes its own at the
 * layers that can pend (ENDPOINT_CLOSURE, CONNECT_REDIRECT, BIND_REDIRECT) and waits on it; elsewhere the
 * shim lends one it rebinds for every classification.
 */
export class ClassifyContext {
  /** The layer of the classification it belongs to (set by the shim). */
  layer: Layer | undefined;
  /** The indicated layer data (FWPS_CONNECT_REQUEST0 / FWPS_BIND_REQUEST0 at the redirect layers). */
  layerData: unknown;
  /** A redirect layer's request as indicated, before any callout (writes to the indicated copy do not count). */
  original: RedirectRequest | undefined;
  /** The classification runs now (handles may be acquired). */
  live = false;
  /** Bumped for every classification the context is bound to; a handle of an earlier one is stale. */
  generation = 0;
  /** Set by FwpsPendClassify0 until the completion. */
  pended: { readonly filterId: bigint } | undefined;
  /** What FwpsCompleteClassify0 gave, once completed. */
  completion: ClassifyCompletion | undefined;
  /**
   * The request as the last FwpsApplyModifiedLayerData0 left it (D26): the only modification the stack
   * acts on (writing to the indicated copy does nothing).
   */
  applied: RedirectRequest | undefined;
  /** FwpsApplyModifiedLayerData0 was called with FWPS_CLASSIFY_FLAG_REAUTHORIZE_IF_MODIFIED_BY_OTHERS (D27). */
  reauthorizeIfModifiedByOthers = false;
  /** A writable copy acquired and not applied yet (FwpsAcquireWritableLayerDataPointer0). */
  acquired: { readonly copy: RedirectRequest; readonly filterId: bigint } | undefined;
  #onComplete: ((completion: ClassifyCompletion) => void) | undefined;

  constructor(
    /**
     * Lent by the shim for a classification whose caller passed no context: nobody waits on it, so it
     * cannot be pended.
     */
    readonly lent = false,
  ) {}

  /** @internal The shim binds the context to a classification. */
  enter(layer: Layer, layerData: unknown): void {
    if (this.lent) {
      this.pended = undefined;
      this.completion = undefined;
      this.applied = undefined;
      this.acquired = undefined;
      this.reauthorizeIfModifiedByOthers = false;
    }
    this.layer = layer;
    this.layerData = layerData;
    this.original = isRedirectRequest(layerData) ? copyRequest(layerData) : undefined;
    this.live = true;
    this.generation++;
  }

  /** @internal The classification returned. */
  leave(): void {
    this.live = false;
  }

  /** A callout pended this classification and has not completed it. */
  get isPended(): boolean {
    return this.pended !== undefined && this.completion === undefined;
  }

  /** The stack's continuation: runs once after FwpsCompleteClassify0, outside any classifyFn. */
  whenCompleted(fn: (completion: ClassifyCompletion) => void): void {
    this.#onComplete = fn;
  }

  /** @internal Runs the stack's continuation (deferred by completeClassify). */
  resume(): void {
    const c = this.completion;
    const fn = this.#onComplete;
    this.#onComplete = undefined;
    if (c !== undefined) fn?.(c);
  }
}

/** The classifyHandle (UINT64 in Windows): one acquisition of a classification's context. */
export class ClassifyHandle {
  /** Acquisitions and pends not yet released or completed. */
  references = 1;
  constructor(
    readonly context: ClassifyContext,
    /** The classification of `context` it was acquired in. */
    readonly generation: number,
  ) {}

  /** The handle still names a classification that runs now or is pended. */
  get usable(): boolean {
    const c = this.context;
    return this.references > 0 && c.generation === this.generation && (c.live || c.isPended);
  }
}

/** Counts of the classify-handle family, per host (every acquire must be released, D21). */
export interface ClassifyHandleCounters {
  acquired: number;
  released: number;
  pended: number;
  completed: number;
}

/** FwpsAcquireClassifyHandle0's result. */
export interface AcquireClassifyHandleResult {
  readonly status: NtStatus;
  readonly classifyHandle: ClassifyHandle | undefined;
}

/**
 * FwpsAcquireClassifyHandle0: only inside classifyFn, from its classifyContext argument; else
 * STATUS_INVALID_PARAMETER. `flags` is reserved (0; anything else STATUS_FWP_INVALID_FLAGS [INF]).
 */
export function acquireClassifyHandle(
  classifyContext: unknown,
  flags: number,
  counters: ClassifyHandleCounters,
): AcquireClassifyHandleResult {
  if (flags !== 0) return { status: "STATUS_FWP_INVALID_FLAGS", classifyHandle: undefined };
  if (!(classifyContext instanceof ClassifyContext) || !classifyContext.live) {
    return { status: "STATUS_INVALID_PARAMETER", classifyHandle: undefined };
  }
  counters.acquired++;
  return { status: "STATUS_SUCCESS", classifyHandle: new ClassifyHandle(classifyContext, classifyContext.generation) };
}

/**
 * FwpsPendClassify0 (D21): only inside classifyFn at ENDPOINT_CLOSURE, CONNECT_REDIRECT, BIND_REDIRECT
 * (elsewhere STATUS_FWP_CANNOT_PEND, as for a classification whose caller passed no context to wait on);
 * adds a reference to the handle. The callout then returns BLOCK with
 * WRITE cleared (D27); the stack waits for FwpsCompleteClassify0.
 */
export function pendClassify(
  classifyHandle: unknown,
  filterId: bigint,
  flags: number,
  classifyOut: ClassifyOut | undefined,
  counters: ClassifyHandleCounters,
): NtStatus {
  if (!(classifyHandle instanceof ClassifyHandle) || !classifyHandle.usable || classifyOut === undefined) {
    return "STATUS_INVALID_PARAMETER";
  }
  if (flags !== 0) return "STATUS_FWP_INVALID_FLAGS";
  const c = classifyHandle.context;
  if (!c.live || c.lent || c.layer === undefined || !canPendClassify(c.layer) || c.pended !== undefined) {
    return "STATUS_FWP_CANNOT_PEND";
  }
  c.pended = { filterId };
  c.completion = undefined;
  classifyHandle.references++;
  counters.pended++;
  return "STATUS_SUCCESS";
}

/**
 * FwpsCompleteClassify0 (D21, D27): ends a pend. A classifyOut is the final answer (copied); null asks the
 * stack to classify the indication again. Drops the reference the pend added. The stack resumes after the
 * current event. STATUS_INVALID_PARAMETER when the handle's classification is not pended.
 */
export function completeClassify(
  classifyHandle: unknown,
  flags: number,
  classifyOut: Readonly<ClassifyOut> | null,
  defer: ((fn: () => void) => void) | undefined,
  counters: ClassifyHandleCounters,
): NtStatus {
  if (!(classifyHandle instanceof ClassifyHandle) || !classifyHandle.context.isPended) {
    return "STATUS_INVALID_PARAMETER";
  }
  if (flags !== 0) return "STATUS_FWP_INVALID_FLAGS";
  const c = classifyHandle.context;
  c.completion = { classifyOut: classifyOut === null ? null : { ...classifyOut } };
  classifyHandle.references = Math.max(0, classifyHandle.references - 1);
  counters.completed++;
  if (defer !== undefined) defer(() => c.resume());
  else c.resume();
  return "STATUS_SUCCESS";
}

/** FwpsReleaseClassifyHandle0: drops the acquisition. STATUS_INVALID_PARAMETER when already released. */
export function releaseClassifyHandle(classifyHandle: unknown, counters: ClassifyHandleCounters): NtStatus {
  if (!(classifyHandle instanceof ClassifyHandle) || classifyHandle.references <= 0) return "STATUS_INVALID_PARAMETER";
  classifyHandle.references--;
  counters.released++;
  return "STATUS_SUCCESS";
}
