/**
 * The callout services: the kernel-mode Fwps* API in TypeScript idiom, one object per host (`shim.fwps`).
 * A callout ported from a driver calls the same functions by the same names (camelCase, version suffix
 * dropped): `fwps.flowAssociateContext(flowId, layerId, calloutId, context)` for
 * FwpsFlowAssociateContext0, `fwps.injectNetworkSendAsync(...)` for FwpsInjectNetworkSendAsync0, … and
 * gets NTSTATUS names back (errors as values on the data path). docs/callouts.md maps every function to
 * its Windows counterpart.
 */
import type { Shim } from "../shim.ts";

export class Fwps {
  constructor(readonly shim: Shim) {}

  // ---- flow contexts (services/flow-context.ts) ----

  // ---- pending and classify handles (services/pend.ts) ----

  // ---- connect and bind redirection (services/redirect.ts) ----

  // ---- packet injection (services/injection.ts) ----

  // ---- stream layer (services/stream.ts) ----
}
