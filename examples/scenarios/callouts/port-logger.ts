/**
 * A callout written in TypeScript for `openwfp simulate` (docs/scenarios.md, "callouts"): an inspection
 * callout at ALE_AUTH_CONNECT_V4 that records every outbound connection's remote port and a terminating
 * callout that blocks connections to port 8080. A scenario names this file in "callouts" and the
 * simulator calls the default export once for each host it applies to.
 */
import type { CalloutClassifyFn, FilterEngine } from "../../../src/engine/index.ts";
import { fieldIndex } from "../../../src/fwp/index.ts";

const LAYER = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
const REMOTE_PORT = fieldIndex(LAYER, "FWPM_CONDITION_IP_REMOTE_PORT") ?? -1;

/** Remote ports seen, per host (the test reads it). */
export const seen = new Map<string, number[]>();

export default function register(engine: FilterEngine, context: { readonly host: string }): void {
  const log: number[] = [];
  seen.set(context.host, log);
  const inspect: CalloutClassifyFn = (values, _meta, _data, _ctx, _filter, _flow, out) => {
    const v = values.incomingValues[REMOTE_PORT];
    if (v?.type === "FWP_UINT16") log.push(v.value);
    out.actionType = "FWP_ACTION_CONTINUE";
  };
  const block8080: CalloutClassifyFn = (values, _meta, _data, _ctx, _filter, _flow, out) => {
    const v = values.incomingValues[REMOTE_PORT];
    out.actionType = v?.type === "FWP_UINT16" && v.value === 8080 ? "FWP_ACTION_BLOCK" : "FWP_ACTION_CONTINUE";
  };
  const keys = { inspect: "b1a5e0c2-0000-4000-8000-00000000c001", block: "b1a5e0c2-0000-4000-8000-00000000c002" };
  engine.addCallout({ calloutKey: keys.inspect, name: "port logger", applicableLayer: LAYER });
  engine.addCallout({ calloutKey: keys.block, name: "block 8080", applicableLayer: LAYER });
  engine.registerCallout({ calloutKey: keys.inspect, classifyFn: inspect });
  engine.registerCallout({ calloutKey: keys.block, classifyFn: block8080 });
  engine.addFilter({
    name: "log every connect",
    layer: LAYER,
    action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey: keys.inspect },
  });
  engine.addFilter({
    name: "block 8080 (callout)",
    layer: LAYER,
    action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: keys.block },
  });
}
