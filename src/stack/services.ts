/**
 * The stack's side of the callout services (StackHooks, src/shim/services/stack-hooks.ts): where deferred
 * work runs, where injected packets re-enter the IP and transport layers, where pended ALE operations
 * resume and deferred streams continue. One per host, attached to its shim when the host is built.
 * Sections are owned by the service that needs them.
 */
import type { StackHooks } from "../shim/index.ts";
import type { Host } from "./host.ts";

export class HostServices implements StackHooks {
  constructor(readonly host: Host) {}

  defer(fn: () => void): void {
    this.host.scheduler.after(0n, fn);
  }
}
