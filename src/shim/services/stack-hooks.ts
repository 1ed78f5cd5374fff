/**
 * What the callout services need from the stack that runs beside the shim: a way to run work after the
 * current classification (the Fwps*Async functions and completions never act inside classifyFn), and the
 * entry points where injected packets and stream data re-enter, where a pended operation resumes, where a
 * deferred stream continues. The host implements it (src/stack/services.ts) and attaches it with
 * `shim.attachStack(hooks)`. Sections are owned by the service that needs them.
 */
import type { IpAddress } from "../../base/index.ts";
import type { AleFlow } from "../flows.ts";
import type { InjectionRequest } from "./injection.ts";
import type { NtStatus } from "./status.ts";

export interface StackHooks {
  /** Runs `fn` at the current simulated instant, after the event that is running now. */
  defer(fn: () => void): void;

  // ---- flow contexts, pending, redirection (services/flow-context.ts, pend.ts, redirect.ts) ----

  /** FwpsFlowAbort0: tears down what `flow` belongs to (TCP: reset; UDP/ICMP: the flow is dropped). */
  abortFlow?(flow: AleFlow): void;
  /** `address` is one of this host's (a redirect to a local process needs a redirect handle, D29). */
  isLocalAddress?(address: IpAddress): boolean;

  // ---- packet injection (services/injection.ts) ----

  /**
   * Checks an injection when the callout asks for it, for what only the stack knows (the endpoint is live,
   * the interface exists, the bytes are a packet of the family): STATUS_SUCCESS, or the status the
   * Fwps*InjectAsync call returns at once. A stack without these two takes no injections
   * (STATUS_FWP_TCPIP_NOT_READY).
   */
  checkInjection?(request: InjectionRequest): NtStatus;
  /** Re-indicates the injected packet where D31 says it re-enters; returns the completed NBL's status. */
  injectPacket?(request: InjectionRequest): NtStatus;
}
