/**
 * The filter engine's object model: what callers add (`FilterSpec`, `SublayerSpec`, `CalloutSpec`,
 * `ProviderSpec`), what the engine keeps after validation (`Filter`, `Sublayer`, `Callout`, immutable),
 * the kernel half of a callout (`CalloutRegistration` with classifyFn / notifyFn / flowDeleteFn), and the
 * classify call (`ClassifyRequest` → `ClassifyResult`, with an optional `Trace`).
 * Names follow FWPM_FILTER0 / FWPM_SUBLAYER0 / FWPM_CALLOUT0 / FWPS_CALLOUT2 / FWPS_CLASSIFY_OUT0.
 * Sources: wfp-semantics.md §0.2, §A, §B, §C, §D.1–D.3;
 * https://learn.microsoft.com/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_filter0,
 * https://learn.microsoft.com/windows-hardware/drivers/ddi/fwpsk/ns-fwpsk-fwps_classify_out0
 */
import type { Guid } from "../base/guid.ts";
import type {
  ConditionName,
  FWP_MATCH_TYPE,
  FwpConditionValue,
  FwpValue,
  Layer,
  LayerRef,
  SecurityDescriptor,
} from "../fwp/index.ts";

/** FWP_MATCH_TYPE names (0..12). */
export type MatchTypeName = Exclude<keyof typeof FWP_MATCH_TYPE, "FWP_MATCH_TYPE_MAX">;

/** Static filter actions (terminating, no callout). */
export type StaticActionType = "FWP_ACTION_BLOCK" | "FWP_ACTION_PERMIT";
/** Callout filter actions (§C1). */
export type CalloutActionType =
  | "FWP_ACTION_CALLOUT_TERMINATING"
  | "FWP_ACTION_CALLOUT_INSPECTION"
  | "FWP_ACTION_CALLOUT_UNKNOWN";
/** FWPM_ACTION0.type values a filter may carry (V8). */
export type FilterActionType = StaticActionType | CalloutActionType;
/** What a callout may write into classifyOut.actionType (§C1). */
export type ClassifyOutActionType =
  | "FWP_ACTION_BLOCK"
  | "FWP_ACTION_PERMIT"
  | "FWP_ACTION_CONTINUE"
  | "FWP_ACTION_NONE"
  | "FWP_ACTION_NONE_NO_MATCH";
/** A layer's final decision. */
export type DecisionAction = "FWP_ACTION_PERMIT" | "FWP_ACTION_BLOCK";

// ---------------------------------------------------------------------------------------------
// Management objects: specs (input) and compiled objects (output)
// ---------------------------------------------------------------------------------------------

/** FWPM_PROVIDER0, reduced to what the engine checks. */
export interface ProviderSpec {
  readonly providerKey: Guid | string;
  readonly name: string;
  readonly description?: string;
  /** FWPM_PROVIDER_FLAG_* (PERSISTENT 0x1). DISABLED (0x10) is output-only: FWP_E_INVALID_FLAGS (H16). */
  readonly flags?: number;
  /** FWPM_PROVIDER0.serviceName: the Windows service whose start type gates the provider at BFE start (H16). */
  readonly serviceName?: string;
  /** Restore only (the BFE's provider gating at start, H16): the provider shows FWPM_PROVIDER_FLAG_DISABLED. */
  readonly disabled?: boolean;
}

export interface Provider {
  readonly providerKey: Guid;
  readonly name: string;
  readonly description: string | undefined;
  readonly flags: number;
  readonly builtin: boolean;
  /** FWPM_PROVIDER0.serviceName (H16); absent when none. */
  readonly serviceName?: string;
}

/** FWPM_PROVIDER_CONTEXT0, reduced to its key, owner and opaque data. */
export interface ProviderContextSpec {
  readonly providerContextKey: Guid | string;
  readonly name: string;
  readonly providerKey?: Guid | string;
  readonly flags?: number;
  readonly data?: unknown;
  /** Restore only: the run-time id to keep (a store or dump holds it); absent → the next free id. */
  readonly providerContextId?: bigint;
}

export interface ProviderContext {
  readonly providerContextKey: Guid;
  /** Run-time id (FWPM_PROVIDER_CONTEXT0.providerContextId). */
  readonly providerContextId: bigint;
  readonly name: string;
  readonly providerKey: Guid | undefined;
  readonly flags: number;
  readonly data: unknown;
}

/** FWPM_SUBLAYER0: a priority bucket present in every layer (§0.2, B6). */
export interface SublayerSpec {
  /** Absent or GUID_NULL → a fresh key. */
  readonly subLayerKey?: Guid | string;
  readonly name: string;
  readonly description?: string;
  /** UINT16; higher is evaluated first (B6). */
  readonly weight: number;
  /** FWPM_SUBLAYER_FLAG_* (PERSISTENT 0x1). */
  readonly flags?: number;
  readonly providerKey?: Guid | string;
}

export interface Sublayer {
  readonly subLayerKey: Guid;
  readonly name: string;
  readonly description: string | undefined;
  readonly weight: number;
  readonly flags: number;
  readonly providerKey: Guid | undefined;
  /** One of BUILTIN_SUBLAYERS (cannot be deleted). */
  readonly builtin: boolean;
}

/** FWPM_CALLOUT0: the management half of a callout (D1). */
export interface CalloutSpec {
  readonly calloutKey: Guid | string;
  readonly name: string;
  readonly description?: string;
  /** The layer whose filters may reference this callout (V10). */
  readonly applicableLayer: LayerRef | string;
  readonly providerKey?: Guid | string;
  /** FWPM_CALLOUT_FLAG_* (PERSISTENT 0x10000, USES_PROVIDER_CONTEXT 0x20000). */
  readonly flags?: number;
  /** Restore only: the run-time calloutId to keep (a store or dump holds it); absent → the next free id. */
  readonly calloutId?: number;
}

export interface Callout {
  readonly calloutKey: Guid;
  /** Run-time id (FWPM_CALLOUT0.calloutId). */
  readonly calloutId: number;
  readonly name: string;
  readonly description: string | undefined;
  /** null for a built-in callout whose layer is unpublished. */
  readonly applicableLayer: Layer | null;
  readonly providerKey: Guid | undefined;
  readonly flags: number;
  readonly builtin: boolean;
}

/** FWPM_FILTER_CONDITION0 as callers give it. */
export interface FilterConditionSpec {
  /** Condition GUID, FWPM_CONDITION_* name or alias. */
  readonly fieldKey: Guid | string;
  /** FWP_MATCH_TYPE name or numeric value (0..12). */
  readonly matchType: MatchTypeName | number;
  readonly conditionValue: FwpConditionValue;
}

/** FWPM_ACTION0 as callers give it. */
export interface FilterActionSpec {
  /** FWP_ACTION_* name or numeric value (0x1001, 0x1002, 0x5003, 0x6004, 0x4005). */
  readonly type: FilterActionType | number;
  /** Required for callout actions. */
  readonly calloutKey?: Guid | string;
  /** Provider tag for static actions (§C2). */
  readonly filterType?: Guid | string;
}

/** FWPM_FILTER0 as callers give it (A17: filterId / effectiveWeight are assigned by the engine). */
export interface FilterSpec {
  /** Absent or GUID_NULL → a fresh GUID (A17). */
  readonly filterKey?: Guid | string;
  /** displayData.name; required (V2). */
  readonly name: string;
  readonly description?: string;
  /** layerKey: FWPM_LAYER_* GUID or name, FWPS name or run-time id. */
  readonly layer: LayerRef | string;
  /** subLayerKey; absent or GUID_NULL → the default sublayer (B6). */
  readonly sublayer?: Guid | string;
  /** FWP_EMPTY (default), FWP_UINT8 0..15 or FWP_UINT64 (B1). */
  readonly weight?: FwpValue;
  readonly conditions?: readonly FilterConditionSpec[];
  readonly action: FilterActionSpec;
  /** FWPM_FILTER_FLAG_* bits (V3). */
  readonly flags?: number;
  readonly providerKey?: Guid | string;
  /** Used with FWPM_FILTER_FLAG_HAS_PROVIDER_CONTEXT (V7). */
  readonly providerContextKey?: Guid | string;
  /** Used without HAS_PROVIDER_CONTEXT: an opaque 64-bit context. */
  readonly rawContext?: bigint;
  /**
   * Restore only: the filterId to keep (a store or a netsh dump holds it); absent → the next free id.
   * A filterId already in use is FWP_E_ALREADY_EXISTS.
   */
  readonly filterId?: bigint;
  /**
   * Restore only: the effective weight to keep as Windows (or an earlier run) computed it, instead of
   * computing it from `weight` (B1–B5). A UINT64; anything else is FWP_E_INVALID_WEIGHT.
   */
  readonly effectiveWeight?: bigint;
  /**
   * Restore only (the BFE's provider gating at start, H16): the filter is kept as an object with
   * FWPM_FILTER_FLAG_DISABLED (0x20) but never classified. Setting the DISABLED bit in `flags` instead is
   * FWP_E_INVALID_FLAGS (output-only).
   */
  readonly disabled?: boolean;
}

/**
 * One compiled condition. `fieldIndex` is the position of the field in incomingValue[] at the
 * filter's layer. `onEmpty` is the condition's result when the incoming value is FWP_EMPTY (A6,
 * fixed at add time from the engine options). `lowerText` / `suffix` / `securityDescriptor` are
 * precomputed operands for EQUAL_CASE_INSENSITIVE, PREFIX/NOT_PREFIX and SD-vs-token matching.
 */
export interface FilterCondition {
  /** Condition GUID. */
  readonly fieldKey: Guid;
  /** Canonical FWPM_CONDITION_* name of the field. */
  readonly conditionName: ConditionName;
  readonly fieldIndex: number;
  readonly matchType: MatchTypeName;
  /** FWP_MATCH_TYPE numeric value (0..12). */
  readonly matchCode: number;
  readonly value: FwpConditionValue;
  readonly onEmpty: boolean;
  /** EQUAL_CASE_INSENSITIVE: the condition string upper-cased. */
  readonly foldedText?: string;
  /** PREFIX / NOT_PREFIX on a byte blob: the blob without its terminating UTF-16 NUL (A13). */
  readonly suffixBytes?: Uint8Array;
  /** SD value against a token field: the decoded descriptor. */
  readonly securityDescriptor?: SecurityDescriptor;
}

/** FWPM_ACTION0 after validation. */
export interface FilterAction {
  readonly type: FilterActionType;
  readonly calloutKey?: Guid;
  readonly filterType?: Guid;
}

/** A filter as the engine keeps it: validated, weighted, immutable. */
export interface Filter {
  readonly filterId: bigint;
  readonly filterKey: Guid;
  readonly name: string;
  readonly description: string | undefined;
  readonly layer: Layer;
  readonly sublayer: Sublayer;
  /** The weight as given (B1). */
  readonly weight: FwpValue;
  /** The 64-bit weight used for ordering (B1–B5). */
  readonly effectiveWeight: bigint;
  /** Conditions in the order given. */
  readonly conditions: readonly FilterCondition[];
  /**
   * Conditions grouped by field: OR within a group, AND across groups (A2–A4). Groups are by field
   * key over the whole list, or by runs of adjacent same-field conditions when the engine option
   * `groupNonAdjacentSameField` is false.
   */
  readonly conditionGroups: readonly (readonly FilterCondition[])[];
  readonly action: FilterAction;
  /** FWPM_FILTER_FLAG_* bits. */
  readonly flags: number;
  readonly providerKey: Guid | undefined;
  readonly providerContextKey: Guid | undefined;
  readonly rawContext: bigint | undefined;
}

// ---------------------------------------------------------------------------------------------
// Callouts: the kernel half (FWPS_CALLOUT2)
// ---------------------------------------------------------------------------------------------

/** FWPS_INCOMING_VALUES0: the layer and its incoming values by field index. */
export interface InFixedValues {
  readonly layer: Layer;
  readonly incomingValues: readonly FwpValue[];
}

/** FWPS_INCOMING_METADATA_VALUES0 in model form: named metadata the shim supplies (§G.3). */
export type ClassifyMetadata = { readonly [name: string]: unknown };

/**
 * FWPS_CLASSIFY_OUT0: the engine pre-loads it (C13) and the callout writes its answer.
 * `rights` carries FWPS_RIGHT_ACTION_WRITE (0x1); `flags` FWPS_CLASSIFY_OUT_FLAG_* (ABSORB 0x1).
 */
export interface ClassifyOut {
  actionType: ClassifyOutActionType;
  rights: number;
  flags: number;
}

/** classifyFn (FWPS_CALLOUT_CLASSIFY_FN2): see §D.2. */
export type CalloutClassifyFn = (
  inFixedValues: InFixedValues,
  inMetaValues: ClassifyMetadata | undefined,
  layerData: unknown,
  classifyContext: unknown,
  filter: Filter,
  flowContext: bigint,
  classifyOut: ClassifyOut,
) => void;

/** FWPS_CALLOUT_NOTIFY_TYPE names. */
export type CalloutNotifyType =
  | "FWPS_CALLOUT_NOTIFY_ADD_FILTER"
  | "FWPS_CALLOUT_NOTIFY_DELETE_FILTER"
  | "FWPS_CALLOUT_NOTIFY_ADD_FILTER_POST_COMMIT";

/**
 * notifyFn (FWPS_CALLOUT_NOTIFY_FN2, D12): return true/undefined for success; false or a thrown error
 * for failure. A failing ADD rejects the filter add with FWP_E_CALLOUT_NOTIFICATION_FAILED; the
 * result of DELETE is ignored. On DELETE `filterKey` is null (as in Windows). ADD_FILTER_POST_COMMIT comes
 * after the BFE committed the filter's transaction, only with FWP_CALLOUT_FLAG_ENABLE_COMMIT_ADD_NOTIFY;
 * its result is ignored.
 */
export type CalloutNotifyFn = (
  notifyType: CalloutNotifyType,
  filterKey: Guid | null,
  filter: Filter,
) => boolean | undefined;

/** flowDeleteFn (FWPS_CALLOUT_FLOW_DELETE_NOTIFY_FN0, D17). */
export type CalloutFlowDeleteFn = (layerId: number, calloutId: number, flowContext: bigint) => void;

/** FwpsCalloutRegister: the kernel half of a callout (D1–D3). */
export interface CalloutRegistration {
  readonly calloutKey: Guid | string;
  readonly classifyFn: CalloutClassifyFn;
  readonly notifyFn?: CalloutNotifyFn;
  readonly flowDeleteFn?: CalloutFlowDeleteFn;
  /**
   * FWP_CALLOUT_FLAG_*: CONDITIONAL_ON_FLOW 0x1 is honoured (D8), ENABLE_COMMIT_ADD_NOTIFY 0x4 adds
   * ADD_FILTER_POST_COMMIT notifications after a BFE commit (D5, D12, H13).
   */
  readonly flags?: number;
}

// ---------------------------------------------------------------------------------------------
// Classify
// ---------------------------------------------------------------------------------------------

/**
 * One classification at one layer (§0.3). `incomingValues[i]` is the value of the layer's field i
 * (FWP_EMPTY where unknown; missing entries count as FWP_EMPTY).
 */
export interface ClassifyRequest {
  readonly layer: LayerRef | string;
  readonly incomingValues: readonly FwpValue[];
  readonly metadata?: ClassifyMetadata;
  readonly layerData?: unknown;
  readonly classifyContext?: unknown;
  /**
   * The flow's contexts (D14, D18): one bigint for every callout, or a lookup by callout id and key
   * returning 0n when that callout has no context on this flow.
   */
  readonly flowContext?: bigint | ((calloutId: number, calloutKey: Guid) => bigint);
  /** Build a Trace (off by default; nothing is allocated for it otherwise). */
  readonly trace?: boolean;
  /** Gives each callout its own layerData and sees each answer (the stream layer's waterfall, E11). */
  readonly calloutDispatch?: CalloutDispatch;
}

/** `CalloutDispatch.before` returns this to have the engine not invoke the callout this time. */
export const CALLOUT_NOT_INVOKED: unique symbol = Symbol("CALLOUT_NOT_INVOKED");

/**
 * A classification whose callouts each see different layer data: at the stream layer a callout sees only
 * the bytes the callouts above it let through (wfp-semantics.md E6, E11), so each gets its own
 * FWPS_STREAM_CALLOUT_IO_PACKET0. For every callout the engine is about to invoke (matched, registered,
 * not skipped by CONDITIONAL_ON_FLOW), in evaluation order, after it pre-loaded `classifyOut` (C13: the
 * running decision and the write right), it calls `before`, which returns the layerData to pass, or
 * CALLOUT_NOT_INVOKED: then the callout is not invoked and what `before` left in `classifyOut` is taken as
 * its answer. `after` follows each invocation, with what the callout wrote. Arbitration is unchanged.
 */
export interface CalloutDispatch {
  before(filter: Filter, calloutId: number, classifyOut: ClassifyOut): unknown;
  after(filter: Filter, calloutId: number, classifyOut: ClassifyOut): void;
}

export interface ClassifyResult {
  readonly layer: Layer;
  readonly action: DecisionAction;
  /**
   * The filter whose outcome set the final decision (the last applied outcome, or the vetoing
   * callout filter); null when no filter returned PERMIT or BLOCK (C15).
   */
  readonly decidingFilter: Filter | null;
  /** FWPS_RIGHT_ACTION_WRITE when the final decision is still overridable (soft), else 0. */
  readonly rights: number;
  /** BLOCK with FWPS_CLASSIFY_OUT_FLAG_ABSORB (C16). */
  readonly absorbed: boolean;
  /** A callout vetoed a hard permit (C7). */
  readonly vetoed: boolean;
  /** The filter that ended each sublayer that produced an outcome, in sublayer evaluation order. */
  readonly terminatingFilters: readonly Filter[];
  readonly trace?: Trace;
}

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

export interface TraceCondition {
  readonly condition: FilterCondition;
  readonly result: boolean;
}

/**
 * - "no-match": the filter's conditions do not match;
 * - "evaluated": matched and was evaluated (static action applied or callout invoked / substituted);
 * - "skipped": matched but a higher-weight filter of the sublayer already terminated it (C4).
 */
export type TraceFilterStatus = "no-match" | "evaluated" | "skipped";

export interface TraceFilter {
  readonly filter: Filter;
  readonly conditions: readonly TraceCondition[];
  readonly matched: boolean;
  readonly status: TraceFilterStatus;
  /**
   * What the filter returned: the static action, what the callout wrote (or CONTINUE for an
   * inspection callout / skipped unregistered inspection filter), the C14 substitute, or null when
   * not evaluated.
   */
  readonly action: ClassifyOutActionType | null;
  /** The callout was invoked (false for static filters and unregistered callouts). */
  readonly calloutInvoked: boolean;
  /** The callout is not registered (C14). */
  readonly calloutUnregistered: boolean;
  /** Rights offered to the filter (FWPS_RIGHT_ACTION_WRITE or 0); null when not evaluated. */
  readonly rightsBefore: number | null;
  /** Rights the filter's outcome carries (what the callout left, or the static hardness); null when not evaluated. */
  readonly rightsAfter: number | null;
  /** FWPS_CLASSIFY_OUT_FLAG_* the callout wrote (0 for static filters); null when not evaluated. */
  readonly flags: number | null;
  /** This filter ended its sublayer. */
  readonly terminating: boolean;
}

/** What happened when a sublayer's outcome met the running decision (§C.2 `apply`). */
export type TraceApply = "none" | "set" | "ignored" | "veto";

export interface TraceSublayer {
  readonly sublayer: Sublayer;
  /** Every filter of the sublayer at this layer, in evaluation order. */
  readonly filters: readonly TraceFilter[];
  readonly terminatingFilter: Filter | null;
  /** The sublayer's outcome, or null when no filter returned PERMIT/BLOCK. */
  readonly outcome: { readonly action: DecisionAction; readonly hard: boolean; readonly absorb: boolean } | null;
  readonly apply: TraceApply;
  readonly decisionBefore: DecisionAction | null;
  readonly decisionAfter: DecisionAction | null;
  readonly rightsBefore: number;
  readonly rightsAfter: number;
}

export interface Trace {
  readonly layer: Layer;
  /** Sublayers that have filters at this layer, in evaluation order. */
  readonly sublayers: readonly TraceSublayer[];
  readonly action: DecisionAction;
  readonly decidingFilter: Filter | null;
  readonly rights: number;
  readonly absorbed: boolean;
  readonly vetoed: boolean;
  /** No filter returned PERMIT or BLOCK; the action is the engine's no-match action (C15). */
  readonly noMatch: boolean;
}
