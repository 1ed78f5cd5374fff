/**
 * Engine options: every rule of wfp-semantics.md §I that concerns the filter engine (inferred, not
 * documented by Microsoft) is a switch here, with the documented default. `resolveEngineOptions` fills
 * in the defaults.
 */
import type { BuiltinSublayerName, FwpConditionValue, Layer } from "../fwp/index.ts";
import type { DecisionAction, MatchTypeName } from "./model.ts";
import { defaultAutoWeight } from "./weight.ts";

/** What the automatic-weight function sees of one condition (B4). */
export interface AutoWeightCondition {
  readonly fieldIndex: number;
  readonly matchType: MatchTypeName;
  readonly value: FwpConditionValue;
}

export interface EngineOptions {
  /**
   * C15 [INF]: the decision when no filter at the layer returned PERMIT or BLOCK.
   * Default FWP_ACTION_PERMIT (an empty WFP passes traffic).
   */
  readonly noMatchAction?: DecisionAction;
  /**
   * C10 [INF]: a CALLOUT_TERMINATING callout that writes CONTINUE (breaking its contract) lets the next
   * filter run, like CALLOUT_UNKNOWN. When false the filter acts as BLOCK (hard). Default true.
   */
  readonly terminatingCalloutContinueContinues?: boolean;
  /**
   * C12 [INF]: whatever a CALLOUT_INSPECTION callout writes is treated as CONTINUE. When false, its
   * PERMIT/BLOCK is honoured like CALLOUT_UNKNOWN's. Default true.
   */
  readonly inspectionWritesIgnored?: boolean;
  /**
   * C13 [INF]: what classifyOut.actionType holds when a callout is invoked: "decision-or-continue"
   * (the running decision, or CONTINUE when none) or "continue" (always CONTINUE).
   * Default "decision-or-continue".
   */
  readonly classifyOutPreload?: "decision-or-continue" | "continue";
  /** C14 [INF]: the substitute BLOCK of an unregistered terminating/unknown callout is hard. Default true. */
  readonly unregisteredBlockIsHard?: boolean;
  /**
   * C14 [INF]: the substitute PERMIT (PERMIT_IF_CALLOUT_UNREGISTERED) follows static defaults: soft
   * unless the filter has CLEAR_ACTION_RIGHT. When false it is always hard. Default true.
   */
  readonly unregisteredPermitFollowsStaticDefaults?: boolean;
  /**
   * C6 [INF]: the engine clears the write right on a callout's PERMIT when the filter carries
   * CLEAR_ACTION_RIGHT (doing the callout's duty for it). Default false: hardness comes only from the
   * rights the callout returns.
   */
  readonly engineAppliesClearActionRightToCallouts?: boolean;
  /**
   * A3 [INF]: same-field conditions form one OR group wherever they appear in the list (true), or only
   * when adjacent (false: "consecutive conditions with the same fieldKey"). Default true.
   */
  readonly groupNonAdjacentSameField?: boolean;
  /**
   * A4 [INF]: negative conditions (NOT_EQUAL, NOT_PREFIX) on a field are OR-ed with the field's other
   * conditions like any other (false, literal reading: `PORT!=80 OR PORT!=443` is always true); when
   * true each negative condition is AND-ed on its own (`PORT!=80 AND PORT!=443`). Default false.
   */
  readonly andNegativeSameFieldConditions?: boolean;
  /**
   * A6 [INF]: an FWP_EMPTY incoming value fails NOT_EQUAL against a non-empty value (true); when false
   * such a condition matches. Default true.
   */
  readonly emptyNoMatchForNotEqual?: boolean;
  /** A16 [INF]: FWP_MATCH_NOT_EQUAL is accepted with address-mask values, as negated EQUAL. Default true. */
  readonly addressMaskNotEqual?: boolean;
  /** B11 [INF]: order of filters of equal effective weight in one sublayer. Default "filterId-asc" (older first). */
  readonly filterTieBreak?: "filterId-asc" | "filterId-desc";
  /** B11 [INF]: order of sublayers of equal weight. Default "key-asc" (GUID byte order). */
  readonly sublayerTieBreak?: "key-asc" | "key-desc";
  /**
   * B4 [INF]: the automatic weight part in [0, 2^60) of a filter with FWP_EMPTY or FWP_UINT8 weight.
   * Default `defaultAutoWeight` (weight.ts). A replacement must keep B4's properties 2, 3 and 5.
   */
  readonly autoWeight?: (layer: Layer, conditions: readonly AutoWeightCondition[]) => bigint;
  /**
   * B7 [OBS]: weights of built-in sublayers, overriding the observed table (MPSSVC sublayers were not
   * observed; their defaults are configuration).
   */
  readonly builtinSublayerWeights?: Partial<Record<BuiltinSublayerName, number>>;
  /** D12 [INF]: the result of a DELETE_FILTER notify is ignored (the delete always proceeds). Default true. */
  readonly notifyDeleteResultIgnored?: boolean;
  /** First run-time filter id handed out (H20 [INF]: ids are sequential). Default 1n. */
  readonly firstFilterId?: bigint;
}

export type ResolvedEngineOptions = Required<Omit<EngineOptions, "builtinSublayerWeights">> & {
  readonly builtinSublayerWeights: Partial<Record<BuiltinSublayerName, number>>;
};

/** The options with every default filled in. */
export function resolveEngineOptions(options: EngineOptions = {}): ResolvedEngineOptions {
  return {
    noMatchAction: options.noMatchAction ?? "FWP_ACTION_PERMIT",
    terminatingCalloutContinueContinues: options.terminatingCalloutContinueContinues ?? true,
    inspectionWritesIgnored: options.inspectionWritesIgnored ?? true,
    classifyOutPreload: options.classifyOutPreload ?? "decision-or-continue",
    unregisteredBlockIsHard: options.unregisteredBlockIsHard ?? true,
    unregisteredPermitFollowsStaticDefaults: options.unregisteredPermitFollowsStaticDefaults ?? true,
    engineAppliesClearActionRightToCallouts: options.engineAppliesClearActionRightToCallouts ?? false,
    groupNonAdjacentSameField: options.groupNonAdjacentSameField ?? true,
    andNegativeSameFieldConditions: options.andNegativeSameFieldConditions ?? false,
    emptyNoMatchForNotEqual: options.emptyNoMatchForNotEqual ?? true,
    addressMaskNotEqual: options.addressMaskNotEqual ?? true,
    filterTieBreak: options.filterTieBreak ?? "filterId-asc",
    sublayerTieBreak: options.sublayerTieBreak ?? "key-asc",
    autoWeight: options.autoWeight ?? defaultAutoWeight,
    builtinSublayerWeights: options.builtinSublayerWeights ?? {},
    notifyDeleteResultIgnored: options.notifyDeleteResultIgnored ?? true,
    firstFilterId: options.firstFilterId ?? 1n,
  };
}
