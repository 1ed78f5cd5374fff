/**
 * Test callouts: one call registers both halves of a callout at a layer (FwpmCalloutAdd0 +
 * FwpsCalloutRegister) and adds a filter that invokes it, so a test reads like the driver it models.
 */
import type {
  CalloutClassifyFn,
  CalloutFlowDeleteFn,
  CalloutActionType,
  FilterConditionSpec,
  FilterEngine,
} from "../../engine/index.ts";
import { type FwpmLayerName, type FwpValue, getLayer, type Layer } from "../../fwp/index.ts";

export interface TestCallout {
  readonly calloutKey: string;
  readonly calloutId: number;
  readonly filterId: bigint;
  readonly layer: Layer;
}

export interface TestCalloutOptions {
  readonly flowDeleteFn?: CalloutFlowDeleteFn;
  /** FWP_CALLOUT_FLAG_* of the registration. */
  readonly flags?: number;
  readonly action?: CalloutActionType;
  readonly sublayer?: string;
  readonly weight?: FwpValue;
  readonly conditions?: readonly FilterConditionSpec[];
  /** Register the management half only (no classifyFn registered). */
  readonly unregistered?: boolean;
}

let next = 0;

/** A fresh callout key. */
export function calloutKey(): string {
  next++;
  return `c0ffee00-0000-4000-8000-${next.toString(16).padStart(12, "0")}`;
}

/** Adds and registers a callout at `layer` with a filter that invokes it. */
export function addCallout(
  engine: FilterEngine,
  layer: FwpmLayerName,
  classifyFn: CalloutClassifyFn,
  options: TestCalloutOptions = {},
): TestCallout {
  const key = calloutKey();
  const c = engine.addCallout({ calloutKey: key, name: `test callout ${key.slice(-4)}`, applicableLayer: layer });
  if (options.unregistered !== true) {
    engine.registerCallout({
      calloutKey: key,
      classifyFn,
      ...(options.flowDeleteFn !== undefined ? { flowDeleteFn: options.flowDeleteFn } : {}),
      ...(options.flags !== undefined ? { flags: options.flags } : {}),
    });
  }
  const f = engine.addFilter({
    name: `test filter ${key.slice(-4)}`,
    layer,
    action: { type: options.action ?? "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: key },
    ...(options.sublayer !== undefined ? { sublayer: options.sublayer } : {}),
    ...(options.weight !== undefined ? { weight: options.weight } : {}),
    ...(options.conditions !== undefined ? { conditions: options.conditions } : {}),
  });
  return { calloutKey: key, calloutId: c.calloutId, filterId: f.filterId, layer: getLayer(layer) };
}

/** Registers a callout's management half and kernel half without any filter (for flow contexts). */
export function registerCallout(
  engine: FilterEngine,
  layer: FwpmLayerName,
  classifyFn: CalloutClassifyFn,
  options: Pick<TestCalloutOptions, "flowDeleteFn" | "flags"> = {},
): { readonly calloutKey: string; readonly calloutId: number } {
  const key = calloutKey();
  const c = engine.addCallout({ calloutKey: key, name: `test callout ${key.slice(-4)}`, applicableLayer: layer });
  engine.registerCallout({
    calloutKey: key,
    classifyFn,
    ...(options.flowDeleteFn !== undefined ? { flowDeleteFn: options.flowDeleteFn } : {}),
    ...(options.flags !== undefined ? { flags: options.flags } : {}),
  });
  return { calloutKey: key, calloutId: c.calloutId };
}

/** The filter of a callout adding after the fact (to bind a registered callout to a layer). */
export function addCalloutFilter(
  engine: FilterEngine,
  layer: FwpmLayerName,
  calloutKeyValue: string,
  action: CalloutActionType = "FWP_ACTION_CALLOUT_TERMINATING",
): bigint {
  return engine.addFilter({
    name: `test filter for ${calloutKeyValue.slice(-4)}`,
    layer,
    action: { type: action, calloutKey: calloutKeyValue },
  }).filterId;
}
