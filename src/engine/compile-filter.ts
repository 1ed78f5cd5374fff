/**
 * Add-time validation and compilation of a filter (FwpmFilterAdd0; wfp-semantics.md §A.5). Checks run
 * in the V-table order, the first failure wins, and each throws FwpError with the Windows code and the
 * path in the spec (`conditions[1].conditionValue`):
 * V1 NULL_POINTER, V2 NULL_DISPLAY_NAME, V3 INVALID_FLAGS, V4 LAYER_NOT_FOUND (then INCOMPATIBLE_LAYER for a
 * boot-time filter at a user-mode layer, H15: bootTimeAtUserModeLayer), V5 SUBLAYER_NOT_FOUND,
 * V6 PROVIDER_NOT_FOUND, V7 PROVIDER_CONTEXT_NOT_FOUND, V8 INVALID_ACTION_TYPE, V9 CALLOUT_NOT_FOUND,
 * V10 INCOMPATIBLE_LAYER, V12 INVALID_WEIGHT, then per condition V13 CONDITION_NOT_FOUND,
 * V14 INVALID_ENUMERATOR, V15 TYPE_MISMATCH, V16 MATCH_TYPE_MISMATCH, V17 INVALID_RANGE /
 * INVALID_NET_MASK (and the value checks of validateConditionValue), V18 a malformed security
 * descriptor (FWP_E_INVALID_PARAMETER: ERROR_INVALID_SECURITY_DESCR is not an FWP_E_* code), then
 * V19 ALREADY_EXISTS and V20 LIFETIME_MISMATCH (a persistent or boot-time filter referencing a
 * non-persistent sublayer, provider or callout). V11 has no published layer table and is not
 * checked; V21 (notifyFn) is the engine's; V22–V24 belong to the BFE.
 */
import type { Guid } from "../base/guid.ts";
import { GUID_NULL } from "../base/guid.ts";
import {
  checkValueFitsField,
  decodeSecurityDescriptor,
  FWP_ACTION_TYPE,
  FWP_MATCH_TYPE,
  FWPM_FILTER_FLAG,
  FWPM_SUBLAYER,
  FwpError,
  type FwpErrorName,
  type FwpConditionValue,
  type FwpValue,
  isDataTypeName,
  type Layer,
  type LayerField,
  SORTABLE_TYPES,
  UNSIGNED_INTEGER_TYPES,
  validateConditionValue,
} from "../fwp/index.ts";
import { conditionOf, fieldOf, guidOfValue, layerOf } from "./lookup.ts";
import { foldCase, lengthWithoutNul } from "./match.ts";
import type {
  Callout,
  Filter,
  FilterAction,
  FilterActionType,
  FilterCondition,
  FilterSpec,
  MatchTypeName,
  Provider,
  ProviderContext,
  Sublayer,
} from "./model.ts";
import type { ResolvedEngineOptions } from "./options.ts";
import { effectiveWeightOf } from "./weight.ts";

/** What compileFilter needs to look up in the engine. */
export interface FilterCompileContext {
  readonly options: ResolvedEngineOptions;
  sublayer(key: Guid): Sublayer | undefined;
  defaultSublayer(): Sublayer;
  provider(key: Guid): Provider | undefined;
  providerContext(key: Guid): ProviderContext | undefined;
  callout(key: Guid): Callout | undefined;
  filterKeyExists(key: Guid): boolean;
  newGuid(): Guid;
}

const KNOWN_FILTER_FLAGS = (Object.values(FWPM_FILTER_FLAG) as number[]).reduce((a, b) => a | b, 0);
const PERSISTENT = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_PERSISTENT;
const BOOTTIME = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_BOOTTIME;
const DISABLED = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_DISABLED;
const HAS_PROVIDER_CONTEXT = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_HAS_PROVIDER_CONTEXT;
const PERMIT_IF_CALLOUT_UNREGISTERED = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED;
const PROVIDER_FLAG_PERSISTENT = 0x1;
const SUBLAYER_FLAG_PERSISTENT = 0x1;
const CALLOUT_FLAG_PERSISTENT = 0x10000;

const FILTER_ACTIONS: readonly FilterActionType[] = [
  "FWP_ACTION_BLOCK",
  "FWP_ACTION_PERMIT",
  "FWP_ACTION_CALLOUT_TERMINATING",
  "FWP_ACTION_CALLOUT_INSPECTION",
  "FWP_ACTION_CALLOUT_UNKNOWN",
];

const MATCH_TYPES = Object.keys(FWP_MATCH_TYPE).filter((n) => n !== "FWP_MATCH_TYPE_MAX") as MatchTypeName[];

function fail(code: FwpErrorName, path: string, detail: string): never {
  throw new FwpError(code, { path, detail });
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null;
}

/** A GUID from a spec field (GUID text, braces allowed); undefined when absent. */
const guidOf = guidOfValue;

/**
 * Name → the name itself, as the tables spell it: a filter keeps that one shared string, not the copy its
 * spec brought (a policy file or a store row parses a string of its own for every condition).
 */
const FILTER_ACTION_NAMES: ReadonlyMap<string, FilterActionType> = new Map(FILTER_ACTIONS.map((n) => [n, n]));
const MATCH_TYPE_NAMES: ReadonlyMap<string, MatchTypeName> = new Map(MATCH_TYPES.map((n) => [n, n]));

/** FWP_ACTION_* name or value → a filter action type, or undefined. */
export function filterActionTypeOf(x: unknown): FilterActionType | undefined {
  if (typeof x === "string") return FILTER_ACTION_NAMES.get(x);
  if (typeof x === "number") return FILTER_ACTIONS.find((n) => FWP_ACTION_TYPE[n] === x);
  return undefined;
}

/** FWP_MATCH_TYPE name or value (0..12) → name, or undefined. */
export function matchTypeOf(x: unknown): MatchTypeName | undefined {
  if (typeof x === "string") return MATCH_TYPE_NAMES.get(x);
  if (typeof x === "number") return MATCH_TYPES.find((n) => FWP_MATCH_TYPE[n] === x);
  return undefined;
}

export function isCalloutAction(type: FilterActionType): boolean {
  return type !== "FWP_ACTION_BLOCK" && type !== "FWP_ACTION_PERMIT";
}

/** V16: whether a match type may be used with a condition value of this type (§A.3). */
export function matchTypeAllows(
  matchType: MatchTypeName,
  value: FwpConditionValue,
  addressMaskNotEqual: boolean,
): boolean {
  const t = value.type;
  switch (matchType) {
    case "FWP_MATCH_EQUAL":
      return t !== "FWP_RANGE_TYPE";
    case "FWP_MATCH_GREATER":
    case "FWP_MATCH_LESS":
    case "FWP_MATCH_GREATER_OR_EQUAL":
    case "FWP_MATCH_LESS_OR_EQUAL":
      return t !== "FWP_RANGE_TYPE" && t !== "FWP_V4_ADDR_MASK" && t !== "FWP_V6_ADDR_MASK" && SORTABLE_TYPES.has(t);
    case "FWP_MATCH_RANGE":
      return t === "FWP_RANGE_TYPE";
    case "FWP_MATCH_FLAGS_ALL_SET":
    case "FWP_MATCH_FLAGS_ANY_SET":
    case "FWP_MATCH_FLAGS_NONE_SET":
      return (
        t !== "FWP_RANGE_TYPE" && t !== "FWP_V4_ADDR_MASK" && t !== "FWP_V6_ADDR_MASK" && UNSIGNED_INTEGER_TYPES.has(t)
      );
    case "FWP_MATCH_EQUAL_CASE_INSENSITIVE":
      return t === "FWP_UNICODE_STRING_TYPE";
    case "FWP_MATCH_NOT_EQUAL":
      if (t === "FWP_V4_ADDR_MASK" || t === "FWP_V6_ADDR_MASK") return addressMaskNotEqual;
      return t === "FWP_SID" || (t !== "FWP_RANGE_TYPE" && SORTABLE_TYPES.has(t));
    case "FWP_MATCH_PREFIX":
    case "FWP_MATCH_NOT_PREFIX":
      return t === "FWP_BYTE_BLOB_TYPE" || t === "FWP_UNICODE_STRING_TYPE";
  }
}

/** The weights and plain actions every filter may share (frozen): one object each, not one per filter. */
const EMPTY_WEIGHT: FwpValue = Object.freeze({ type: "FWP_EMPTY" });
const UINT8_WEIGHTS: readonly FwpValue[] = Array.from({ length: 16 }, (_, value) =>
  Object.freeze({ type: "FWP_UINT8" as const, value }),
);
const PLAIN_ACTIONS: ReadonlyMap<FilterActionType, FilterAction> = new Map(
  FILTER_ACTIONS.map((type) => [type, Object.freeze({ type })]),
);

/** V12: the input weight, checked (B1); frozen. */
function checkWeight(w: unknown): FwpValue {
  if (w === undefined) return EMPTY_WEIGHT;
  if (!isObject(w))
    return fail("FWP_E_INVALID_WEIGHT", "weight", "A weight is FWP_EMPTY, FWP_UINT8 0..15 or FWP_UINT64.");
  switch (w.type) {
    case "FWP_EMPTY":
      return EMPTY_WEIGHT;
    case "FWP_UINT8":
      if (typeof w.value !== "number" || !Number.isInteger(w.value) || w.value < 0 || w.value > 15) {
        fail("FWP_E_INVALID_WEIGHT", "weight.value", `A FWP_UINT8 weight is a range 0..15, got ${String(w.value)}.`);
      }
      return UINT8_WEIGHTS[w.value] as FwpValue;
    case "FWP_UINT64":
      if (typeof w.value !== "bigint" || w.value < 0n || w.value > 0xffffffffffffffffn) {
        fail("FWP_E_INVALID_WEIGHT", "weight.value", "A FWP_UINT64 weight is a bigint 0..2^64-1.");
      }
      return Object.freeze({ type: "FWP_UINT64", value: w.value });
    default:
      return fail(
        "FWP_E_INVALID_WEIGHT",
        "weight.type",
        `${String(w.type)} is not a weight type (FWP_EMPTY, FWP_UINT8, FWP_UINT64).`,
      );
  }
}

/** Checks the value has a known FWP_DATA_TYPE tag (and a range has tagged bounds) before V15. */
function checkValueShape(v: unknown, path: string): FwpConditionValue {
  if (!isObject(v)) return fail("FWP_E_NULL_POINTER", path, "A condition needs a conditionValue.");
  if (typeof v.type !== "string" || !isDataTypeName(v.type)) {
    return fail("FWP_E_INVALID_ENUMERATOR", `${path}.type`, `${JSON.stringify(v.type)} is not an FWP_DATA_TYPE.`);
  }
  if (v.type === "FWP_RANGE_TYPE") {
    for (const bound of ["valueLow", "valueHigh"] as const) {
      const b = v[bound];
      if (!isObject(b) || typeof b.type !== "string" || !isDataTypeName(b.type)) {
        fail("FWP_E_INVALID_RANGE", `${path}.${bound}`, "A range bound needs an FWP_DATA_TYPE.");
      }
    }
  }
  return v as unknown as FwpConditionValue;
}

/** `conditions[i]` and `conditions[i].conditionValue` for the usual handful of conditions, made once. */
const CONDITION_PATHS: readonly string[] = Array.from({ length: 16 }, (_, i) => `conditions[${i}]`);
const VALUE_PATHS: readonly string[] = CONDITION_PATHS.map((p) => `${p}.conditionValue`);

function compileCondition(spec: unknown, index: number, layer: Layer, options: ResolvedEngineOptions): FilterCondition {
  const path = CONDITION_PATHS[index] ?? `conditions[${index}]`;
  if (!isObject(spec)) return fail("FWP_E_NULL_POINTER", path, "A condition must be an object.");
  // V13
  const fieldKeyText = spec.fieldKey;
  const cond = typeof fieldKeyText === "string" ? conditionOf(fieldKeyText) : undefined;
  const field: LayerField | undefined = cond?.key === null || cond === undefined ? undefined : fieldOf(layer, cond.key);
  if (cond === undefined || field === undefined) {
    const what =
      cond === undefined
        ? `Unknown condition ${JSON.stringify(fieldKeyText)}.`
        : `${cond.name} is not a field of ${layer.fwpmName ?? layer.fwpsName}.`;
    return fail("FWP_E_CONDITION_NOT_FOUND", `${path}.fieldKey`, what);
  }
  // V14
  const matchType = matchTypeOf(spec.matchType);
  if (matchType === undefined) {
    return fail(
      "FWP_E_INVALID_ENUMERATOR",
      `${path}.matchType`,
      `${JSON.stringify(spec.matchType)} is not an FWP_MATCH_TYPE.`,
    );
  }
  // V15
  const valuePath = VALUE_PATHS[index] ?? `${path}.conditionValue`;
  const shaped = checkValueShape(spec.conditionValue, valuePath);
  checkValueFitsField(field, shaped, valuePath);
  // V16
  if (!matchTypeAllows(matchType, shaped, options.addressMaskNotEqual)) {
    const shown = shaped.type === "FWP_RANGE_TYPE" ? "FWP_RANGE_TYPE" : shaped.type;
    fail("FWP_E_MATCH_TYPE_MISMATCH", `${path}.matchType`, `${matchType} cannot be used with a ${shown} value.`);
  }
  // V17 (and the value's own checks)
  const value = validateConditionValue(shaped, valuePath);
  // V18
  const fieldType: string | null = field.dataType;
  const isToken = fieldType === "FWP_TOKEN_INFORMATION_TYPE" || fieldType === "FWP_TOKEN_ACCESS_INFORMATION_TYPE";
  const securityDescriptor =
    value.type === "FWP_SECURITY_DESCRIPTOR_TYPE" && isToken
      ? decodeSecurityDescriptor(value.value, valuePath)
      : undefined;

  const onEmpty =
    (matchType === "FWP_MATCH_EQUAL" && value.type === "FWP_EMPTY") ||
    (matchType === "FWP_MATCH_NOT_EQUAL" && value.type !== "FWP_EMPTY" && !options.emptyNoMatchForNotEqual);
  // One literal (one hidden class) for the common case; the optional members follow in a fixed order.
  const out: {
    -readonly [K in keyof FilterCondition]: FilterCondition[K];
  } = {
    fieldKey: cond.key as Guid,
    conditionName: field.condition,
    fieldIndex: field.index,
    matchType,
    matchCode: FWP_MATCH_TYPE[matchType],
    value,
    onEmpty,
  };
  if (matchType === "FWP_MATCH_EQUAL_CASE_INSENSITIVE" && value.type === "FWP_UNICODE_STRING_TYPE") {
    out.foldedText = foldCase(value.value);
  }
  if (
    (matchType === "FWP_MATCH_PREFIX" || matchType === "FWP_MATCH_NOT_PREFIX") &&
    value.type === "FWP_BYTE_BLOB_TYPE"
  ) {
    out.suffixBytes = value.value.slice(0, lengthWithoutNul(value.value));
  }
  if (securityDescriptor !== undefined) out.securityDescriptor = securityDescriptor;
  return Object.freeze(out) as FilterCondition;
}

/** Conditions grouped by field over the whole list, for the usual handful of conditions: no Map. */
function groupByField(conditions: readonly FilterCondition[]): FilterCondition[][] {
  const groups: FilterCondition[][] = [];
  for (const c of conditions) {
    let g: FilterCondition[] | undefined;
    for (const x of groups) {
      if ((x[0] as FilterCondition).fieldKey === c.fieldKey) {
        g = x;
        break;
      }
    }
    if (g === undefined) groups.push([c]);
    else g.push(c);
  }
  return groups;
}

/**
 * A2–A4: OR groups by field, over the whole list or over adjacent runs; with `andNegatives` each
 * NOT_EQUAL / NOT_PREFIX condition forms a group of its own (AND-ed).
 */
export function groupConditions(
  conditions: readonly FilterCondition[],
  nonAdjacent: boolean,
  andNegatives = false,
): readonly (readonly FilterCondition[])[] {
  if (andNegatives) {
    const negative = (c: FilterCondition): boolean =>
      c.matchType === "FWP_MATCH_NOT_EQUAL" || c.matchType === "FWP_MATCH_NOT_PREFIX";
    const positives = groupConditions(
      conditions.filter((c) => !negative(c)),
      nonAdjacent,
    );
    return Object.freeze([...positives, ...conditions.filter(negative).map((c) => Object.freeze([c]))]);
  }
  let groups: FilterCondition[][];
  if (nonAdjacent && conditions.length <= 16) groups = groupByField(conditions);
  else if (nonAdjacent) {
    groups = [];
    const byKey = new Map<string, FilterCondition[]>();
    for (const c of conditions) {
      let g = byKey.get(c.fieldKey);
      if (g === undefined) {
        g = [];
        byKey.set(c.fieldKey, g);
        groups.push(g);
      }
      g.push(c);
    }
  } else {
    groups = [];
    for (const c of conditions) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[0]?.fieldKey === c.fieldKey) last.push(c);
      else groups.push([c]);
    }
  }
  for (const g of groups) Object.freeze(g);
  // A copy of exactly its length: an array grown by push keeps room for more (some 120 bytes a filter).
  return Object.freeze(groups.slice());
}

/**
 * H15: FWPM_FILTER_FLAG_BOOTTIME is for kernel-mode layers only (boot-time filters are what the TCP/IP
 * driver enforces before BFE starts; user-mode layers — IKEEXT, IPSEC, RPC, KM_AUTHORIZATION — are
 * classified by BFE-side code that does not run before it). A boot-time filter at a layer whose `mode` is
 * "user" is refused with FWP_E_INCOMPATIBLE_LAYER, checked right after the layer is resolved (V4) [INF:
 * Windows documents the restriction but not the code it returns; INCOMPATIBLE_LAYER is the code WFP uses
 * for "this object cannot go at this layer" (V10); path `flags`].
 */
function bootTimeAtUserModeLayer(flags: number, layer: Layer): void {
  if ((flags & BOOTTIME) !== 0 && layer.mode === "user") {
    fail(
      "FWP_E_INCOMPATIBLE_LAYER",
      "flags",
      `FWPM_FILTER_FLAG_BOOTTIME needs a kernel-mode layer; ${layer.fwpmName ?? layer.fwpsName} is a user-mode layer (H15).`,
    );
  }
}

/**
 * Validates a filter spec and builds the Filter (everything but the notifyFn call, V21).
 * `filterId` is the id to give the filter when valid.
 */
export function compileFilter(spec: FilterSpec, ctx: FilterCompileContext, filterId: bigint): Filter {
  const options = ctx.options;
  // V1
  if (!isObject(spec)) return fail("FWP_E_NULL_POINTER", "", "A filter must be an object.");
  const s = spec as unknown as Record<string, unknown>;
  if (!isObject(s.action)) return fail("FWP_E_NULL_POINTER", "action", "A filter needs an action.");
  if (s.conditions !== undefined && !Array.isArray(s.conditions)) {
    return fail("FWP_E_NULL_POINTER", "conditions", "conditions must be an array.");
  }
  // V2
  if (typeof s.name !== "string") return fail("FWP_E_NULL_DISPLAY_NAME", "name", "A filter needs a display name.");
  // V3
  const flags = s.flags ?? 0;
  const actionType = filterActionTypeOf(s.action.type);
  if (typeof flags !== "number" || !Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
    return fail("FWP_E_INVALID_FLAGS", "flags", "flags must be an unsigned 32-bit integer.");
  }
  if ((flags & ~KNOWN_FILTER_FLAGS) !== 0) {
    fail("FWP_E_INVALID_FLAGS", "flags", `Unknown flag bits 0x${((flags & ~KNOWN_FILTER_FLAGS) >>> 0).toString(16)}.`);
  }
  if ((flags & DISABLED) !== 0)
    fail("FWP_E_INVALID_FLAGS", "flags", "FWPM_FILTER_FLAG_DISABLED cannot be set by the caller.");
  if ((flags & PERSISTENT) !== 0 && (flags & BOOTTIME) !== 0) {
    fail("FWP_E_INVALID_FLAGS", "flags", "PERSISTENT and BOOTTIME cannot be combined.");
  }
  if (
    (flags & PERMIT_IF_CALLOUT_UNREGISTERED) !== 0 &&
    actionType !== undefined &&
    actionType !== "FWP_ACTION_CALLOUT_TERMINATING" &&
    actionType !== "FWP_ACTION_CALLOUT_UNKNOWN"
  ) {
    fail(
      "FWP_E_INVALID_FLAGS",
      "flags",
      "PERMIT_IF_CALLOUT_UNREGISTERED needs a CALLOUT_TERMINATING or CALLOUT_UNKNOWN action.",
    );
  }
  // V4
  const layerRef = s.layer;
  const layer = layerOf(layerRef);
  if (layer === undefined || layer.key === null) {
    return fail(
      "FWP_E_LAYER_NOT_FOUND",
      "layer",
      `No layer ${JSON.stringify(typeof layerRef === "object" ? "(object)" : layerRef)}.`,
    );
  }
  bootTimeAtUserModeLayer(flags, layer);
  // V5
  let sublayer: Sublayer | undefined;
  if (s.sublayer === undefined || s.sublayer === null) sublayer = ctx.defaultSublayer();
  else {
    const key =
      typeof s.sublayer === "string" && Object.hasOwn(FWPM_SUBLAYER, s.sublayer)
        ? FWPM_SUBLAYER[s.sublayer as keyof typeof FWPM_SUBLAYER]
        : guidOf(s.sublayer);
    sublayer = key === GUID_NULL ? ctx.defaultSublayer() : key === undefined ? undefined : ctx.sublayer(key);
    if (sublayer === undefined)
      return fail("FWP_E_SUBLAYER_NOT_FOUND", "sublayer", `No sublayer ${JSON.stringify(s.sublayer)}.`);
  }
  // V6
  let provider: Provider | undefined;
  if (s.providerKey !== undefined) {
    const key = guidOf(s.providerKey);
    provider = key === undefined ? undefined : ctx.provider(key);
    if (provider === undefined)
      return fail("FWP_E_PROVIDER_NOT_FOUND", "providerKey", `No provider ${JSON.stringify(s.providerKey)}.`);
  }
  // V7
  let providerContext: ProviderContext | undefined;
  if ((flags & HAS_PROVIDER_CONTEXT) !== 0) {
    const key = guidOf(s.providerContextKey);
    providerContext = key === undefined ? undefined : ctx.providerContext(key);
    if (providerContext === undefined) {
      return fail(
        "FWP_E_PROVIDER_CONTEXT_NOT_FOUND",
        "providerContextKey",
        `No provider context ${JSON.stringify(s.providerContextKey)}.`,
      );
    }
  }
  // V8
  if (actionType === undefined) {
    return fail(
      "FWP_E_INVALID_ACTION_TYPE",
      "action.type",
      `${JSON.stringify(s.action.type)} is not a filter action type.`,
    );
  }
  // V9, V10
  let callout: Callout | undefined;
  if (isCalloutAction(actionType)) {
    const key = guidOf(s.action.calloutKey);
    callout = key === undefined ? undefined : ctx.callout(key);
    if (callout === undefined) {
      return fail("FWP_E_CALLOUT_NOT_FOUND", "action.calloutKey", `No callout ${JSON.stringify(s.action.calloutKey)}.`);
    }
    if (callout.applicableLayer !== null && callout.applicableLayer !== layer) {
      fail(
        "FWP_E_INCOMPATIBLE_LAYER",
        "action.calloutKey",
        `Callout ${callout.name} applies to ${callout.applicableLayer.fwpmName}, not ${layer.fwpmName}.`,
      );
    }
  }
  let filterType: Guid | undefined;
  if (!isCalloutAction(actionType) && s.action.filterType !== undefined) {
    filterType = guidOf(s.action.filterType);
    if (filterType === undefined) fail("FWP_E_INVALID_PARAMETER", "action.filterType", "filterType must be a GUID.");
  }
  // V12
  const weight = checkWeight(s.weight);
  // V13–V18
  const specs = (s.conditions ?? []) as readonly unknown[];
  const compiled: FilterCondition[] = [];
  for (let i = 0; i < specs.length; i++) compiled.push(compileCondition(specs[i], i, layer, options));
  // Kept by the filter for its lifetime: a copy of exactly its length (see groupConditions).
  const conditions = Object.freeze(compiled.slice());
  // V19
  let filterKey: Guid;
  if (s.filterKey === undefined || s.filterKey === null) filterKey = ctx.newGuid();
  else {
    const key = guidOf(s.filterKey);
    if (key === undefined) return fail("FWP_E_INVALID_PARAMETER", "filterKey", "filterKey must be a GUID.");
    filterKey = key === GUID_NULL ? ctx.newGuid() : key;
  }
  if (ctx.filterKeyExists(filterKey))
    fail("FWP_E_ALREADY_EXISTS", "filterKey", `A filter with key ${filterKey} exists.`);
  // V20
  if ((flags & (PERSISTENT | BOOTTIME)) !== 0) {
    if (!sublayer.builtin && (sublayer.flags & SUBLAYER_FLAG_PERSISTENT) === 0) {
      fail("FWP_E_LIFETIME_MISMATCH", "sublayer", "A persistent filter cannot live in a non-persistent sublayer.");
    }
    if (provider !== undefined && !provider.builtin && (provider.flags & PROVIDER_FLAG_PERSISTENT) === 0) {
      fail("FWP_E_LIFETIME_MISMATCH", "providerKey", "A persistent filter cannot reference a non-persistent provider.");
    }
    if (callout !== undefined && !callout.builtin && (callout.flags & CALLOUT_FLAG_PERSISTENT) === 0) {
      fail(
        "FWP_E_LIFETIME_MISMATCH",
        "action.calloutKey",
        "A persistent filter cannot reference a non-persistent callout.",
      );
    }
  }

  const restored = s.effectiveWeight;
  if (restored !== undefined && (typeof restored !== "bigint" || restored < 0n || restored > 0xffffffffffffffffn)) {
    fail("FWP_E_INVALID_WEIGHT", "effectiveWeight", "A restored effective weight is a UINT64.");
  }
  const autoPart = restored !== undefined || weight.type === "FWP_UINT64" ? 0n : options.autoWeight(layer, conditions);
  const action: FilterAction =
    callout !== undefined
      ? Object.freeze({ type: actionType, calloutKey: callout.calloutKey })
      : filterType !== undefined
        ? Object.freeze({ type: actionType, filterType })
        : (PLAIN_ACTIONS.get(actionType) as FilterAction);
  const filter: Filter = {
    filterId,
    filterKey,
    name: s.name,
    description: typeof s.description === "string" ? s.description : undefined,
    layer,
    sublayer,
    weight,
    effectiveWeight: typeof restored === "bigint" ? restored : effectiveWeightOf(weight, autoPart),
    conditions,
    conditionGroups: groupConditions(
      conditions,
      options.groupNonAdjacentSameField,
      options.andNegativeSameFieldConditions,
    ),
    action,
    flags: s.disabled === true ? (flags | DISABLED) >>> 0 : flags,
    providerKey: provider?.providerKey,
    providerContextKey: providerContext?.providerContextKey,
    rawContext: (flags & HAS_PROVIDER_CONTEXT) === 0 && typeof s.rawContext === "bigint" ? s.rawContext : undefined,
  };
  return Object.freeze(filter);
}
