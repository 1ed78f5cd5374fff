/**
 * The stack's side of the callout services (StackHooks, src/shim/services/stack-hooks.ts): where deferred
 * work runs, where injected packets re-enter the IP and transport layers, where pended ALE operations
 * resume and deferred streams continue. One per host, attached to its shim when the host is built.
 * Sections are owned by the service that needs them.
 */
import type { IpAddress } from "../base/index.ts";
import type { AleFlow, InjectionRequest, NtStatus, StackHooks } from "../shim/index.ts";
import type { Host } from "./host.ts";
import { StackInjection } from "./injection.ts";

export class HostServices implements StackHooks {
  constructor(readonly host: Host) {}

  defer(fn: () => void): void {
    this.host.scheduler.after(0n, fn);
  }

  // ---- flow contexts, pending, redirection (src/stack/ale.ts, ale-pend.ts) ----

  /** FwpsFlowAbort0: a TCP connection is reset, a UDP flow forgotten (the shim ends the flow after). */
  abortFlow(flow: AleFlow): void {
    if (!this.host.tcp.abortFlow(flow)) this.host.udp.abortFlow(flow);
  }

  isLocalAddress(address: IpAddress): boolean {
    return this.host.interfaceOwning(address) !== undefined;
  }

  // ---- packet injection (src/stack/injection.ts) ----

  #injection: StackInjection | undefined;

  /** Where injected packets re-enter this host (D31). */
  get injection(): StackInjection {
    this.#injection ??= new StackInjection(this.host);
    return this.#injection;
  }

  checkInjection(request: InjectionRequest): NtStatus {
    return this.injection.check(request);
  }

  injectPacket(request: InjectionRequest): NtStatus {
    return this.injection.inject(request);
  }
}
