/**
 * Builds the classify trace from the layer policy, the incoming values and what the arbiter recorded.
 * It lists every filter of every sublayer (matching or not) with each condition's result, so two
 * classifiers with the same match sets produce identical traces by construction. Only called when a
 * trace is requested.
 */
import type { FwpValue, Layer } from "../fwp/index.ts";
import type { ArbitrationOutcome, ArbitrationRecorder } from "./arbitrate.ts";
import type { LayerPolicy } from "./classifier.ts";
import { matchCondition } from "./match.ts";
import type { Filter, Trace, TraceFilter, TraceSublayer } from "./model.ts";

export function buildTrace(
  layer: Layer,
  policy: LayerPolicy,
  values: readonly FwpValue[],
  recorder: ArbitrationRecorder,
  outcome: ArbitrationOutcome,
): Trace {
  const sublayers: TraceSublayer[] = policy.sublayers.map((sp, si): TraceSublayer => {
    const rec = recorder.sublayers[si];
    const matched = new Set<Filter>(rec?.matches ?? []);
    const filters = sp.filters.map((filter): TraceFilter => {
      const conditions = filter.conditions.map((condition) => ({
        condition,
        result: matchCondition(condition, values[condition.fieldIndex]),
      }));
      const isMatch = matched.has(filter);
      const r = recorder.filters.get(filter);
      return {
        filter,
        conditions,
        matched: isMatch,
        status: !isMatch ? "no-match" : r !== undefined ? "evaluated" : "skipped",
        action: r?.action ?? null,
        calloutInvoked: r?.calloutInvoked ?? false,
        calloutUnregistered: r?.calloutUnregistered ?? false,
        rightsBefore: r?.rightsBefore ?? null,
        rightsAfter: r?.rightsAfter ?? null,
        flags: r?.flags ?? null,
        terminating: r?.terminating ?? false,
      };
    });
    return {
      sublayer: sp.sublayer,
      filters,
      terminatingFilter: rec?.terminatingFilter ?? null,
      outcome: rec?.outcome ?? null,
      apply: rec?.apply ?? "none",
      decisionBefore: rec?.decisionBefore ?? null,
      decisionAfter: rec?.decisionAfter ?? null,
      rightsBefore: rec?.rightsBefore ?? 0,
      rightsAfter: rec?.rightsAfter ?? 0,
    };
  });
  return {
    layer,
    sublayers,
    action: outcome.action,
    decidingFilter: outcome.decidingFilter,
    rights: outcome.rights,
    absorbed: outcome.absorbed,
    vetoed: outcome.vetoed,
    noMatch: outcome.noMatch,
  };
}
