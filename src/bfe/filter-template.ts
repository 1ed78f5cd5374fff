/**
 * FWPM_FILTER_ENUM_TEMPLATE0 (H23–H27): which filters an enumeration or a filter change subscription
 * selects. A template names a layer (required), optionally a provider, conditions (AND-ed, one per field —
 * a second condition on a field is FWP_E_DUPLICATE_CONDITION), an enum type, flags, an action mask and a
 * callout key.
 *
 * H24 model [INF]: per field F, T_F is the template's value set (every value when it has no condition on
 * F) and S_F the filter's (every value when unconstrained). FULLY_CONTAINED ⇔ ∀F: T_F ⊆ S_F; OVERLAPPING
 * ⇔ ∀F: T_F ∩ S_F ≠ ∅. Sets of ordered values (integers, IPv4 / IPv6 addresses, masks, ranges) are
 * computed exactly as unions of intervals; a single-value EQUAL template condition on any other type is
 * decided by matching the value against the filter's conditions; anything else is decided structurally
 * (contained only by an identical condition; overlapping assumed).
 * Source: https://learn.microsoft.com/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_filter_enum_template0
 */
import type { Guid } from "../base/guid.ts";
import { tryParseGuid } from "../base/guid.ts";
import type { Filter, FilterCondition, FilterConditionSpec, FilterEngine } from "../engine/index.ts";
import { matchCondition } from "../engine/index.ts";
import {
  FWP_ACTION_FLAG,
  FWP_ACTION_TYPE,
  FWP_FILTER_ENUM_FLAG,
  FWP_FILTER_ENUM_TYPE,
  FwpError,
  type FwpConditionValue,
  type FwpValue,
  findLayer,
  type Layer,
  type LayerRef,
  valuesEqual,
} from "../fwp/index.ts";
import { FILTER_FLAG_BOOTTIME, FILTER_FLAG_DISABLED } from "./objects.ts";

export const ENUM_FLAG_BEST_TERMINATING_MATCH: number =
  FWP_FILTER_ENUM_FLAG.FWP_FILTER_ENUM_FLAG_BEST_TERMINATING_MATCH;
export const ENUM_FLAG_SORTED: number = FWP_FILTER_ENUM_FLAG.FWP_FILTER_ENUM_FLAG_SORTED;
export const ENUM_FLAG_BOOTTIME_ONLY: number = FWP_FILTER_ENUM_FLAG.FWP_FILTER_ENUM_FLAG_BOOTTIME_ONLY;
export const ENUM_FLAG_INCLUDE_BOOTTIME: number = FWP_FILTER_ENUM_FLAG.FWP_FILTER_ENUM_FLAG_INCLUDE_BOOTTIME;
export const ENUM_FLAG_INCLUDE_DISABLED: number = FWP_FILTER_ENUM_FLAG.FWP_FILTER_ENUM_FLAG_INCLUDE_DISABLED;
const KNOWN_ENUM_FLAGS =
  ENUM_FLAG_BEST_TERMINATING_MATCH |
  ENUM_FLAG_SORTED |
  ENUM_FLAG_BOOTTIME_ONLY |
  ENUM_FLAG_INCLUDE_BOOTTIME |
  ENUM_FLAG_INCLUDE_DISABLED;
const ACTION_FLAG_CALLOUT: number = FWP_ACTION_FLAG.FWP_ACTION_FLAG_CALLOUT;
const ACTION_FLAG_TERMINATING: number = FWP_ACTION_FLAG.FWP_ACTION_FLAG_TERMINATING;

export type FilterEnumType = "FWP_FILTER_ENUM_FULLY_CONTAINED" | "FWP_FILTER_ENUM_OVERLAPPING";

/** FWPM_FILTER_ENUM_TEMPLATE0 as callers give it. */
export interface FilterEnumTemplate {
  /** Only this provider's filters. */
  readonly providerKey?: Guid | string;
  /** layerKey (required): FWPM_LAYER_* GUID or name, FWPS name or run-time id. */
  readonly layer: LayerRef | string;
  /** Default FWP_FILTER_ENUM_OVERLAPPING [INF]. */
  readonly enumType?: FilterEnumType | number;
  /** FWP_FILTER_ENUM_FLAG_* (H25). */
  readonly flags?: number;
  /** AND-ed, at most one per field (H23). */
  readonly conditions?: readonly FilterConditionSpec[];
  /** Return a filter only if (its FWP_ACTION_TYPE value & actionMask) != 0 (H26). Default 0xFFFFFFFF. */
  readonly actionMask?: number;
  /** Only filters calling this callout; required when actionMask selects callout actions only (H26). */
  readonly calloutKey?: Guid | string;
}

/** A validated template. */
export interface CompiledFilterTemplate {
  readonly layer: Layer;
  readonly providerKey: Guid | undefined;
  readonly fullyContained: boolean;
  readonly flags: number;
  readonly conditions: readonly FilterCondition[];
  readonly actionMask: number;
  readonly calloutKey: Guid | undefined;
}

function fail(
  code:
    | "FWP_E_INVALID_PARAMETER"
    | "FWP_E_INVALID_FLAGS"
    | "FWP_E_INVALID_ENUMERATOR"
    | "FWP_E_DUPLICATE_CONDITION"
    | "FWP_E_NEVER_MATCH"
    | "FWP_E_LAYER_NOT_FOUND",
  path: string,
  detail: string,
): never {
  throw new FwpError(code, { path, detail });
}

function guidOf(x: unknown, path: string): Guid | undefined {
  if (x === undefined || x === null) return undefined;
  const g = typeof x === "string" ? tryParseGuid(x) : undefined;
  if (g === undefined) fail("FWP_E_INVALID_PARAMETER", path, `${JSON.stringify(x)} is not a GUID.`);
  return g;
}

/**
 * Validates a template (conditions as FwpmFilterAdd0 would check them, through `engine`). Errors:
 * INVALID_PARAMETER (no layer, bad GUIDs, a callout-only mask without calloutKey), LAYER_NOT_FOUND,
 * INVALID_FLAGS, INVALID_ENUMERATOR (enumType), DUPLICATE_CONDITION (two conditions on one field), the
 * condition errors of §A.5, and NEVER_MATCH (H27 [INF]: actionMask 0, or a calloutKey with a mask that
 * excludes callout actions).
 */
export function compileFilterTemplate(template: FilterEnumTemplate, engine: FilterEngine): CompiledFilterTemplate {
  if (typeof template !== "object" || template === null)
    fail("FWP_E_INVALID_PARAMETER", "", "A template must be an object.");
  if (template.layer === undefined || template.layer === null)
    fail("FWP_E_INVALID_PARAMETER", "layer", "An enumeration template needs a layer (H23).");
  const layer = findLayer(template.layer);
  if (layer === undefined || layer.key === null)
    fail("FWP_E_LAYER_NOT_FOUND", "layer", `No layer ${JSON.stringify(template.layer)}.`);
  const providerKey = guidOf(template.providerKey, "providerKey");
  const calloutKey = guidOf(template.calloutKey, "calloutKey");
  let fullyContained: boolean;
  const t = template.enumType ?? "FWP_FILTER_ENUM_OVERLAPPING";
  if (t === "FWP_FILTER_ENUM_FULLY_CONTAINED" || t === FWP_FILTER_ENUM_TYPE.FWP_FILTER_ENUM_FULLY_CONTAINED)
    fullyContained = true;
  else if (t === "FWP_FILTER_ENUM_OVERLAPPING" || t === FWP_FILTER_ENUM_TYPE.FWP_FILTER_ENUM_OVERLAPPING)
    fullyContained = false;
  else return fail("FWP_E_INVALID_ENUMERATOR", "enumType", `${JSON.stringify(t)} is not an FWP_FILTER_ENUM_TYPE.`);
  const flags = template.flags ?? 0;
  if (!Number.isInteger(flags) || flags < 0 || (flags & ~KNOWN_ENUM_FLAGS) !== 0)
    fail("FWP_E_INVALID_FLAGS", "flags", `Unknown FWP_FILTER_ENUM_FLAG bits in ${flags}.`);
  const actionMask = template.actionMask ?? 0xffffffff;
  if (!Number.isInteger(actionMask) || actionMask < 0 || actionMask > 0xffffffff)
    fail("FWP_E_INVALID_PARAMETER", "actionMask", "actionMask is a UINT32.");
  if (actionMask === 0) fail("FWP_E_NEVER_MATCH", "actionMask", "An action mask of 0 matches no filter (H27).");
  if ((actionMask & ACTION_FLAG_CALLOUT) !== 0 && (actionMask & ~ACTION_FLAG_CALLOUT) === 0 && calloutKey === undefined)
    fail(
      "FWP_E_INVALID_PARAMETER",
      "calloutKey",
      "An action mask of FWP_ACTION_FLAG_CALLOUT needs a calloutKey (H26).",
    );
  if (calloutKey !== undefined && (actionMask & ACTION_FLAG_CALLOUT) === 0)
    fail(
      "FWP_E_NEVER_MATCH",
      "calloutKey",
      "A calloutKey with an action mask excluding callout actions matches nothing (H27).",
    );
  const specs = template.conditions ?? [];
  const conditions = engine.compileConditions(layer, specs);
  const seen = new Set<Guid>();
  conditions.forEach((c, i) => {
    if (seen.has(c.fieldKey))
      fail(
        "FWP_E_DUPLICATE_CONDITION",
        `conditions[${i}].fieldKey`,
        `A template has one condition per field; ${c.conditionName} repeats (H23).`,
      );
    seen.add(c.fieldKey);
  });
  return { layer, providerKey, fullyContained, flags, conditions, actionMask, calloutKey };
}

/** Boot-time / disabled selection of H25: BOOTTIME_ONLY wins; otherwise both are excluded unless included. */
export function passesLifetimeFlags(filter: Filter, flags: number): boolean {
  const bootTime = (filter.flags & FILTER_FLAG_BOOTTIME) !== 0;
  if ((flags & ENUM_FLAG_BOOTTIME_ONLY) !== 0) return bootTime;
  if (bootTime && (flags & ENUM_FLAG_INCLUDE_BOOTTIME) === 0) return false;
  if ((filter.flags & FILTER_FLAG_DISABLED) !== 0 && (flags & ENUM_FLAG_INCLUDE_DISABLED) === 0) return false;
  return true;
}

/** Whether one filter is selected by the template (everything but the BEST_TERMINATING_MATCH / SORTED post-processing). */
export function filterMatchesTemplate(filter: Filter, t: CompiledFilterTemplate): boolean {
  if (filter.layer !== t.layer) return false;
  if (t.providerKey !== undefined && filter.providerKey !== t.providerKey) return false;
  if (!passesLifetimeFlags(filter, t.flags)) return false;
  if ((FWP_ACTION_TYPE[filter.action.type] & t.actionMask) === 0) return false;
  if (t.calloutKey !== undefined && filter.action.calloutKey !== t.calloutKey) return false;
  return conditionsSelect(filter, t);
}

/** H24 over every field either side constrains. */
function conditionsSelect(filter: Filter, t: CompiledFilterTemplate): boolean {
  const fields = new Set<Guid>();
  for (const c of filter.conditions) fields.add(c.fieldKey);
  for (const c of t.conditions) fields.add(c.fieldKey);
  for (const field of fields) {
    const tc = t.conditions.find((c) => c.fieldKey === field);
    const groups = filter.conditionGroups.filter((g) => g[0]?.fieldKey === field);
    if (!fieldSelects(groups, tc, t.layer, t.fullyContained)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Value sets as unions of closed bigint intervals
// ---------------------------------------------------------------------------------------------

type Interval = readonly [bigint, bigint];
/** Sorted, disjoint, non-adjacent intervals. */
type IntervalSet = readonly Interval[];

function normalise(list: Interval[]): IntervalSet {
  const sorted = list.filter(([a, b]) => a <= b).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && a <= last[1] + 1n) {
      if (b > last[1]) last[1] = b;
    } else out.push([a, b]);
  }
  return out;
}

function intersect(x: IntervalSet, y: IntervalSet): IntervalSet {
  const out: Interval[] = [];
  for (const [a, b] of x) {
    for (const [c, d] of y) {
      let lo = a;
      if (c > lo) lo = c;
      let hi = b;
      if (d < hi) hi = d;
      if (lo <= hi) out.push([lo, hi]);
    }
  }
  return normalise(out);
}

function complement(x: IntervalSet, domain: Interval): IntervalSet {
  const out: Interval[] = [];
  let next = domain[0];
  for (const [a, b] of x) {
    if (a > next) out.push([next, a - 1n]);
    next = b + 1n;
  }
  if (next <= domain[1]) out.push([next, domain[1]]);
  return out;
}

function sameSet(x: IntervalSet, y: IntervalSet): boolean {
  return x.length === y.length && x.every(([a, b], i) => y[i]?.[0] === a && y[i]?.[1] === b);
}

const DOMAINS: Readonly<Record<string, Interval>> = {
  FWP_UINT8: [0n, 0xffn],
  FWP_UINT16: [0n, 0xffffn],
  FWP_UINT32: [0n, 0xffffffffn],
  FWP_UINT64: [0n, 0xffffffffffffffffn],
  FWP_INT8: [-0x80n, 0x7fn],
  FWP_INT16: [-0x8000n, 0x7fffn],
  FWP_INT32: [-0x80000000n, 0x7fffffffn],
  FWP_INT64: [-0x8000000000000000n, 0x7fffffffffffffffn],
  FWP_BYTE_ARRAY16_TYPE: [0n, (1n << 128n) - 1n],
};

function bytesToBigint(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

/** A single ordered value as a bigint, or undefined when the type has no interval model. */
function point(v: FwpValue): bigint | undefined {
  switch (v.type) {
    case "FWP_UINT8":
    case "FWP_UINT16":
    case "FWP_UINT32":
    case "FWP_INT8":
    case "FWP_INT16":
    case "FWP_INT32":
      return BigInt(v.value);
    case "FWP_UINT64":
    case "FWP_INT64":
      return v.value;
    case "FWP_BYTE_ARRAY16_TYPE":
      return bytesToBigint(v.value);
    default:
      return undefined;
  }
}

/** The values a condition value stands for under EQUAL (a point, a mask's block, a range). */
function span(v: FwpConditionValue): Interval | undefined {
  switch (v.type) {
    case "FWP_V4_ADDR_MASK": {
      const mask = BigInt(v.mask >>> 0);
      const base = BigInt(v.addr >>> 0) & mask;
      return [base, base | (~mask & 0xffffffffn)];
    }
    case "FWP_V6_ADDR_MASK": {
      const host = v.prefixLength >= 128 ? 0n : (1n << BigInt(128 - v.prefixLength)) - 1n;
      const base = bytesToBigint(v.addr) & ~host;
      return [base, base | host];
    }
    case "FWP_RANGE_TYPE": {
      const lo = point(v.valueLow);
      const hi = point(v.valueHigh);
      return lo === undefined || hi === undefined ? undefined : [lo, hi];
    }
    default: {
      const p = point(v);
      return p === undefined ? undefined : [p, p];
    }
  }
}

/** The value set of one condition within `domain`, or undefined when it has no interval model. */
function conditionSet(c: FilterCondition, domain: Interval): IntervalSet | undefined {
  const s = span(c.value);
  if (s === undefined) return undefined;
  const [lo, hi] = s;
  switch (c.matchType) {
    case "FWP_MATCH_EQUAL":
    case "FWP_MATCH_RANGE":
      return normalise([[lo, hi]]);
    case "FWP_MATCH_NOT_EQUAL":
      return complement(normalise([[lo, hi]]), domain);
    case "FWP_MATCH_GREATER":
      return normalise([[hi + 1n, domain[1]]]);
    case "FWP_MATCH_GREATER_OR_EQUAL":
      return normalise([[lo, domain[1]]]);
    case "FWP_MATCH_LESS":
      return normalise([[domain[0], lo - 1n]]);
    case "FWP_MATCH_LESS_OR_EQUAL":
      return normalise([[domain[0], hi]]);
    default:
      return undefined;
  }
}

/** S_F of a filter: AND across its groups on F of the OR within each group; undefined when not modelled. */
function filterSet(groups: readonly (readonly FilterCondition[])[], domain: Interval): IntervalSet | undefined {
  let acc: IntervalSet = [domain];
  for (const g of groups) {
    const union: Interval[] = [];
    for (const c of g) {
      const s = conditionSet(c, domain);
      if (s === undefined) return undefined;
      union.push(...s);
    }
    acc = intersect(acc, normalise(union));
  }
  return acc;
}

function fieldDomain(layer: Layer, field: Guid): Interval | undefined {
  const f = layer.fields.find((x) => x.conditionKey === field);
  return f === undefined || f.dataType === null ? undefined : DOMAINS[f.dataType];
}

function fieldSelects(
  groups: readonly (readonly FilterCondition[])[],
  tc: FilterCondition | undefined,
  layer: Layer,
  fullyContained: boolean,
): boolean {
  if (groups.length === 0) return true; // S_F = every value: contains and meets any T_F.
  const field = (groups[0] as readonly FilterCondition[])[0]?.fieldKey as Guid;
  const domain = fieldDomain(layer, field);
  if (domain !== undefined) {
    const s = filterSet(groups, domain);
    const t = tc === undefined ? [domain] : conditionSet(tc, domain);
    if (s !== undefined && t !== undefined) {
      const meet = intersect(t, s);
      return fullyContained ? sameSet(meet, normalise([...t])) : meet.length > 0;
    }
  }
  // No interval model: a single-value EQUAL template condition is decided by matching.
  if (tc !== undefined && tc.matchType === "FWP_MATCH_EQUAL" && !isCompound(tc.value)) {
    const v = tc.value as FwpValue;
    return groups.every((g) => g.some((c) => matchCondition(c, v)));
  }
  if (tc === undefined) return !fullyContained;
  if (!fullyContained) return true;
  return (
    groups.length === 1 &&
    groups[0]?.length === 1 &&
    groups[0][0]?.matchType === tc.matchType &&
    valuesEqual(groups[0][0].value, tc.value)
  );
}

function isCompound(v: FwpConditionValue): boolean {
  return v.type === "FWP_V4_ADDR_MASK" || v.type === "FWP_V6_ADDR_MASK" || v.type === "FWP_RANGE_TYPE";
}

/** A filter's action is terminating (BLOCK, PERMIT, CALLOUT_TERMINATING). */
export function isTerminatingAction(filter: Filter): boolean {
  return (FWP_ACTION_TYPE[filter.action.type] & ACTION_FLAG_TERMINATING) !== 0;
}
