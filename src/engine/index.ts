/**
 * The filter engine: filters with conditions (§A), weights and sublayers (§B), arbitration (§C),
 * callouts (§D.1–D.3) and classify traces, over a pluggable Classifier. Imports only base and fwp.
 *
 * @example
 * ```ts
 * const engine = new FilterEngine();
 * engine.addFilter({
 *   name: "block 10.0.0.0/8",
 *   layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
 *   conditions: [{ fieldKey: "FWPM_CONDITION_IP_REMOTE_ADDRESS", matchType: "FWP_MATCH_EQUAL",
 *                  conditionValue: fwpV4AddrMask(0x0a000000, 8) }],
 *   action: { type: "FWP_ACTION_BLOCK" },
 * });
 * engine.classify({ layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4", incomingValues }).action; // "FWP_ACTION_BLOCK"
 * ```
 */
export {
  type ArbitrationOutcome,
  CLASSIFY_OUT_FLAG_ABSORB,
  RIGHT_ACTION_WRITE,
} from "./arbitrate.ts";
export {
  type Classifier,
  type CompiledLayer,
  collectMatchList,
  type LayerPolicy,
  type SublayerPolicy,
} from "./classifier.ts";
export { filterActionTypeOf, groupConditions, matchTypeAllows, matchTypeOf } from "./compile-filter.ts";
export {
  type BootTimeEnforcement,
  type EngineBatchOp,
  type EngineBatchResult,
  FilterEngine,
  type FilterEngineInit,
} from "./engine.ts";
export { linearClassifier } from "./linear.ts";
export { freshGuid, guidKey, isCanonicalGuid, layerOf } from "./lookup.ts";
export { filterMatches, matchCondition } from "./match.ts";
export { CALLOUT_NOT_INVOKED } from "./model.ts";
export type {
  Callout,
  CalloutActionType,
  CalloutDispatch,
  CalloutClassifyFn,
  CalloutFlowDeleteFn,
  CalloutNotifyFn,
  CalloutNotifyType,
  CalloutRegistration,
  CalloutSpec,
  ClassifyMetadata,
  ClassifyOut,
  ClassifyOutActionType,
  ClassifyRequest,
  ClassifyResult,
  DecisionAction,
  Filter,
  FilterAction,
  FilterActionSpec,
  FilterActionType,
  FilterCondition,
  FilterConditionSpec,
  FilterSpec,
  InFixedValues,
  MatchTypeName,
  Provider,
  ProviderContext,
  ProviderContextSpec,
  ProviderSpec,
  StaticActionType,
  Sublayer,
  SublayerSpec,
  Trace,
  TraceApply,
  TraceCondition,
  TraceFilter,
  TraceFilterStatus,
  TraceSublayer,
} from "./model.ts";
export {
  type AutoWeightCondition,
  type EngineOptions,
  type ResolvedEngineOptions,
  resolveEngineOptions,
} from "./options.ts";
export {
  AUTO_WEIGHT_BITS,
  AUTO_WEIGHT_MAX,
  BUILTIN_SUBLAYER_WEIGHTS,
  DEFAULT_SUBLAYER_NAME,
  defaultAutoWeight,
  effectiveWeightOf,
  WEIGHT_RANGE_MAX,
} from "./weight.ts";
export * from "./policy/index.ts";
export {
  createIndexedClassifier,
  type IndexedClassifierOptions,
  IndexedLayer,
  indexedClassifier,
} from "./indexed/index.ts";
