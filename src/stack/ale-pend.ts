/**
 * Socket calls whose ALE classifications a callout may pend (wfp-semantics.md §D.4):
 * - `pendableOperation`: RESOURCE_ASSIGNMENT, AUTH_LISTEN, AUTH_CONNECT (FwpsPendOperation0, D19). The
 *   first classification carries a COMPLETION_HANDLE; when a callout pended it (and the layer blocked, as
 *   the callout must), the operation waits for FwpsCompleteOperation0, then the layer is classified again
 *   (the caller's `again`: IS_REAUTHORIZE, reason CLASSIFY_COMPLETION) and that answer decides (D20).
 * - `pendableClassify`: BIND_REDIRECT, CONNECT_REDIRECT, ENDPOINT_CLOSURE (FwpsPendClassify0, D21). The
 *   classification carries the stack's own classify context; a pended one waits for FwpsCompleteClassify0:
 *   with a classifyOut the indication is done, with null it is classified again, indicating the request
 *   as modified so far. The stack acts on the request as the last FwpsApplyModifiedLayerData0 left it.
 * - `socketCall`: a call the app makes (bind, listen, connect, sendto) runs to its end at once — a failure
 *   is thrown, as the call returns it — or, when something in it was pended, returns and finishes later (a
 *   failure then is the socket's, `onLateFailure`). While a call is held, later calls on the same socket
 *   wait for it, as they would behind a blocking call [INF].
 */
import {
  type ClassifyContext,
  ClassifyContext as ClassifyContextClass,
  CompletionHandle,
  heldOperation,
  type PendedOperation,
  type ShimVerdict,
} from "../shim/index.ts";
import { type SocketBase, SocketFailure } from "./sockets.ts";

/** The end of a step: no failure, or the socket failure the call reports. */
export type Done = (failure?: SocketFailure) => void;

/** Runs `fn`; a SocketFailure it throws ends the step through `done`. */
export function attempt(done: Done, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof SocketFailure) done(e);
    else throw e;
  }
}

interface CallQueue {
  busy: boolean;
  readonly waiting: (() => void)[];
}

const queues = new WeakMap<SocketBase, CallQueue>();

function queueOf(s: SocketBase): CallQueue {
  let q = queues.get(s);
  if (q === undefined) {
    q = { busy: false, waiting: [] };
    queues.set(s, q);
  }
  return q;
}

/** True while a call on `s` waits for a pended classification. */
export function callHeld(s: SocketBase): boolean {
  return queues.get(s)?.busy === true;
}

/**
 * Runs an app's socket call made of steps that may be pended. Finished at once: a failure is thrown.
 * Held: returns; later calls on `s` queue behind it; a failure goes to `onLateFailure`.
 */
export function socketCall(s: SocketBase, step: (done: Done) => void, onLateFailure: (f: SocketFailure) => void): void {
  const q = queueOf(s);
  if (q.busy) {
    q.waiting.push(() => runLate(s, step, onLateFailure));
    return;
  }
  let sync = true;
  let finished = false;
  let failure: SocketFailure | undefined;
  q.busy = true;
  const done: Done = (f) => {
    if (finished) return;
    finished = true;
    if (sync) {
      failure = f;
      return;
    }
    q.busy = false;
    if (f !== undefined) onLateFailure(f);
    drain(q);
  };
  attempt(done, () => step(done));
  sync = false;
  if (!finished) return;
  q.busy = false;
  if (failure !== undefined) throw failure;
}

/** A queued call: it cannot throw to the app any more. */
function runLate(s: SocketBase, step: (done: Done) => void, onLateFailure: (f: SocketFailure) => void): void {
  try {
    socketCall(s, step, onLateFailure);
  } catch (e) {
    if (e instanceof SocketFailure) onLateFailure(e);
    else throw e;
  }
}

function drain(q: CallQueue): void {
  while (!q.busy && q.waiting.length > 0) (q.waiting.shift() as () => void)();
}

/**
 * An ALE classification whose operation may be pended (D19–D20). `first` classifies with the given
 * completion handle; `then(verdict, late)` gets the final verdict — `late` after a completion, when `again`
 * classified the layer once more, unless `wanted()` says the operation was given up meanwhile (its socket
 * closed): then nothing is classified and `then` gets undefined. `onHold` runs when the operation was
 * pended (the caller holds its flow).
 */
export function pendableOperation(
  first: (completionHandle: CompletionHandle) => ShimVerdict,
  again: (completionHandle: CompletionHandle) => ShimVerdict,
  then: (verdict: ShimVerdict | undefined, late: boolean) => void,
  onHold?: (operation: PendedOperation) => void,
  wanted: () => boolean = () => true,
): void {
  const handle = new CompletionHandle();
  const v = first(handle);
  const op = heldOperation(handle, v.permit);
  if (op === undefined) {
    then(v, false);
    return;
  }
  op.whenCompleted(() => then(wanted() ? again(new CompletionHandle()) : undefined, true));
  onHold?.(op);
}

/**
 * A classification that may be pended by FwpsPendClassify0 (D21). `classify` indicates `layerData` with
 * the context given; `then(final, late)` gets the request as applied (or `layerData` when nobody applied a
 * change) once the classification is done — at once, or after FwpsCompleteClassify0.
 */
export function pendableClassify<T>(
  classify: (classifyContext: ClassifyContext, layerData: T) => ShimVerdict,
  layerData: T,
  then: (final: T, late: boolean) => void,
  late = false,
): void {
  const ctx = new ClassifyContextClass();
  classify(ctx, layerData);
  // Only what was applied counts: writes to the indicated copy do not (D25, D26).
  const current = (): T => ((ctx.applied ?? ctx.original) as T | undefined) ?? layerData;
  if (!ctx.isPended) {
    then(current(), late);
    return;
  }
  ctx.whenCompleted((c) => {
    const now = current();
    if (c.classifyOut === null) pendableClassify(classify, now, then, true);
    else then(now, true);
  });
}
