/**
 * The BFE's object kinds and how each is written back as a complete spec: the spec the live engine is
 * given at commit and the data the durable store keeps. A spec rebuilt from an object restores it exactly
 * (same key, run-time id and effective weight), which is how a transaction reaches the engine and how
 * persistent objects come back when the BFE starts (H14, H15, H20).
 */
import type { Guid } from "../base/guid.ts";
import type {
  Callout,
  CalloutSpec,
  Filter,
  FilterSpec,
  Provider,
  ProviderContext,
  ProviderContextSpec,
  ProviderSpec,
  Sublayer,
  SublayerSpec,
} from "../engine/index.ts";
import {
  FWPM_CALLOUT_FLAG,
  FWPM_FILTER_FLAG,
  FWPM_PROVIDER_CONTEXT_FLAG,
  FWPM_PROVIDER_FLAG,
  FWPM_SUBLAYER_FLAG,
} from "../fwp/index.ts";
import { stringText, valueText } from "./codec.ts";
import type { BfeObjectType } from "./security/index.ts";

/** The management object kinds a session adds and deletes (the store's PersistedKind). */
export type ObjectKind = "provider" | "providerContext" | "sublayer" | "callout" | "filter";

export const OBJECT_KINDS: readonly ObjectKind[] = ["provider", "providerContext", "sublayer", "callout", "filter"];

/** The object of each kind as the engine keeps it. */
export interface ObjectOfKind {
  provider: Provider;
  providerContext: ProviderContext;
  sublayer: Sublayer;
  callout: Callout;
  filter: Filter;
}

export interface SpecOfKind {
  provider: ProviderSpec;
  providerContext: ProviderContextSpec;
  sublayer: SublayerSpec;
  callout: CalloutSpec;
  filter: FilterSpec;
}

export type BfeObject = ObjectOfKind[ObjectKind];

/** H14 lifetimes. "bootTime" applies to filters only. */
export type Lifetime = "builtin" | "dynamic" | "static" | "persistent" | "bootTime";

/** The security object type of a kind (security/object-type.ts). */
export function securityTypeOf(kind: ObjectKind): BfeObjectType {
  return kind;
}

/** The *_NOT_FOUND error of a kind (H18, H19). */
export function notFoundCode(
  kind: ObjectKind,
):
  | "FWP_E_PROVIDER_NOT_FOUND"
  | "FWP_E_PROVIDER_CONTEXT_NOT_FOUND"
  | "FWP_E_SUBLAYER_NOT_FOUND"
  | "FWP_E_CALLOUT_NOT_FOUND"
  | "FWP_E_FILTER_NOT_FOUND" {
  switch (kind) {
    case "provider":
      return "FWP_E_PROVIDER_NOT_FOUND";
    case "providerContext":
      return "FWP_E_PROVIDER_CONTEXT_NOT_FOUND";
    case "sublayer":
      return "FWP_E_SUBLAYER_NOT_FOUND";
    case "callout":
      return "FWP_E_CALLOUT_NOT_FOUND";
    default:
      return "FWP_E_FILTER_NOT_FOUND";
  }
}

/** The FWPM_*_FLAG_PERSISTENT bit of a kind. */
export function persistentFlag(kind: ObjectKind): number {
  switch (kind) {
    case "provider":
      return FWPM_PROVIDER_FLAG.FWPM_PROVIDER_FLAG_PERSISTENT;
    case "providerContext":
      return FWPM_PROVIDER_CONTEXT_FLAG.FWPM_PROVIDER_CONTEXT_FLAG_PERSISTENT;
    case "sublayer":
      return FWPM_SUBLAYER_FLAG.FWPM_SUBLAYER_FLAG_PERSISTENT;
    case "callout":
      return FWPM_CALLOUT_FLAG.FWPM_CALLOUT_FLAG_PERSISTENT;
    default:
      return FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_PERSISTENT;
  }
}

export const FILTER_FLAG_BOOTTIME: number = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_BOOTTIME;
export const FILTER_FLAG_DISABLED: number = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_DISABLED;
export const PROVIDER_FLAG_DISABLED: number = FWPM_PROVIDER_FLAG.FWPM_PROVIDER_FLAG_DISABLED;

/** The key of an object. */
export function keyOfObject(kind: ObjectKind, o: BfeObject): Guid {
  switch (kind) {
    case "provider":
      return (o as Provider).providerKey;
    case "providerContext":
      return (o as ProviderContext).providerContextKey;
    case "sublayer":
      return (o as Sublayer).subLayerKey;
    case "callout":
      return (o as Callout).calloutKey;
    default:
      return (o as Filter).filterKey;
  }
}

/** The run-time id of an object (filterId, calloutId, providerContextId); undefined for providers and sublayers. */
export function idOfObject(kind: ObjectKind, o: BfeObject): bigint | number | undefined {
  switch (kind) {
    case "providerContext":
      return (o as ProviderContext).providerContextId;
    case "callout":
      return (o as Callout).calloutId;
    case "filter":
      return (o as Filter).filterId;
    default:
      return undefined;
  }
}

/** FWPM_*.flags of an object. */
export function flagsOfObject(o: BfeObject): number {
  return o.flags;
}

/** The provider an object belongs to, if any. */
export function providerOfObject(kind: ObjectKind, o: BfeObject): Guid | undefined {
  return kind === "provider" ? undefined : (o as Exclude<BfeObject, Provider>).providerKey;
}

/** Built-in objects (H14): providers, sublayers and callouts the engine starts with. */
export function isBuiltin(kind: ObjectKind, o: BfeObject): boolean {
  return (kind === "provider" || kind === "sublayer" || kind === "callout") && (o as Provider).builtin;
}

/**
 * The durable store's text for a filter with its explicit descriptor `sd` (self-relative bytes) if any:
 * exactly storeTextOf(specOfObject("filter", f) + securityDescriptor), written from the filter without
 * building the spec — the store text of 100k filters a commit writes. Undefined where storeTextOf would be
 * (then the general path judges the data). Keep in step with specOfObject's filter case: the same members,
 * in the same order (codec.test.ts compares the two on many filters).
 */
export function filterStoreText(f: Filter, sd: Uint8Array | undefined): string | undefined {
  const keyText = guidText;
  const nameText = tableNameText;
  const weight = valueText(f.weight, 1);
  if (weight === undefined) return undefined;
  let conditions = "[";
  for (let i = 0; i < f.conditions.length; i++) {
    const c = f.conditions[i] as Filter["conditions"][number];
    const value = valueText(c.value, 3);
    if (value === undefined) return undefined;
    conditions += `${i === 0 ? "" : ","}{"fieldKey":${keyText(c.fieldKey)},"matchType":${nameText(c.matchType)},"conditionValue":${value}}`;
  }
  conditions += "]";
  const a = f.action;
  let action = `{"type":${nameText(a.type)}`;
  if (a.calloutKey !== undefined) action += `,"calloutKey":${keyText(a.calloutKey)}`;
  if (a.filterType !== undefined) action += `,"filterType":${keyText(a.filterType)}`;
  action += "}";
  const layer = f.layer.key ?? f.layer.runtimeId;
  let out =
    `{"filterKey":${keyText(f.filterKey)},"name":${stringText(f.name)},` +
    `"layer":${typeof layer === "string" ? keyText(layer) : `${layer}`},` +
    `"sublayer":${keyText(f.sublayer.subLayerKey)},"weight":${weight},"conditions":${conditions},` +
    `"action":${action},"flags":${(f.flags & ~FILTER_FLAG_DISABLED) >>> 0},` +
    `"filterId":{"$bigint":"${f.filterId}"},"effectiveWeight":{"$bigint":"${f.effectiveWeight}"}`;
  if (f.description !== undefined) out += `,"description":${stringText(f.description)}`;
  if (f.providerKey !== undefined) out += `,"providerKey":${keyText(f.providerKey)}`;
  if (f.providerContextKey !== undefined) out += `,"providerContextKey":${keyText(f.providerContextKey)}`;
  if (f.rawContext !== undefined) out += `,"rawContext":{"$bigint":"${f.rawContext}"}`;
  if ((f.flags & FILTER_FLAG_DISABLED) !== 0) out += ',"disabled":true';
  if (sd !== undefined) {
    const bytes = valueText(sd, 1);
    if (bytes === undefined) return undefined;
    out += `,"securityDescriptor":${bytes}`;
  }
  return `${out}}`;
}

/**
 * A key as JSON text. The engine keeps every key canonical (lower-case hex digits and hyphens, see
 * guidKey), which JSON writes as it is.
 */
function guidText(key: Guid): string {
  return `"${key}"`;
}

/** JSON text of the names filters take from the tables (match and action types), made once each. */
const nameTexts = new Map<string, string>();

function tableNameText(name: string): string {
  let t = nameTexts.get(name);
  if (t === undefined) {
    t = stringText(name);
    if (nameTexts.size < 256) nameTexts.set(name, t);
  }
  return t;
}

/** `base` (a fresh literal, extended in place) with the members of `extra` that are defined. */
function withOptional<T extends object>(base: T, extra: Record<string, unknown>): T {
  const out = base as Record<string, unknown>;
  for (const k in extra) {
    const v = extra[k];
    if (v !== undefined) out[k] = v;
  }
  return out as T;
}

/** The complete spec that re-creates `o` exactly (key, ids, effective weight). */
export function specOfObject<K extends ObjectKind>(kind: K, o: ObjectOfKind[K]): SpecOfKind[K] {
  switch (kind) {
    case "provider": {
      const p = o as Provider;
      // H16: DISABLED is output-only; a gated provider is restored with `disabled`.
      const disabled = (p.flags & PROVIDER_FLAG_DISABLED) !== 0;
      return withOptional<ProviderSpec>(
        { providerKey: p.providerKey, name: p.name, flags: (p.flags & ~PROVIDER_FLAG_DISABLED) >>> 0 },
        { description: p.description, serviceName: p.serviceName, disabled: disabled ? true : undefined },
      ) as SpecOfKind[K];
    }
    case "providerContext": {
      const c = o as ProviderContext;
      return withOptional<ProviderContextSpec>(
        {
          providerContextKey: c.providerContextKey,
          name: c.name,
          flags: c.flags,
          providerContextId: c.providerContextId,
        },
        { providerKey: c.providerKey, data: c.data },
      ) as SpecOfKind[K];
    }
    case "sublayer": {
      const s = o as Sublayer;
      return withOptional<SublayerSpec>(
        { subLayerKey: s.subLayerKey, name: s.name, weight: s.weight, flags: s.flags },
        { description: s.description, providerKey: s.providerKey },
      ) as SpecOfKind[K];
    }
    case "callout": {
      const c = o as Callout;
      return withOptional<CalloutSpec>(
        {
          calloutKey: c.calloutKey,
          name: c.name,
          applicableLayer: c.applicableLayer?.key ?? "",
          flags: c.flags,
          calloutId: c.calloutId,
        },
        { description: c.description, providerKey: c.providerKey },
      ) as SpecOfKind[K];
    }
    default: {
      const f = o as Filter;
      return withOptional<FilterSpec>(
        {
          filterKey: f.filterKey,
          name: f.name,
          layer: f.layer.key ?? f.layer.runtimeId,
          sublayer: f.sublayer.subLayerKey,
          weight: f.weight,
          conditions: f.conditions.map((c) => ({
            fieldKey: c.fieldKey,
            matchType: c.matchType,
            conditionValue: c.value,
          })),
          action: withOptional(
            { type: f.action.type },
            { calloutKey: f.action.calloutKey, filterType: f.action.filterType },
          ),
          flags: (f.flags & ~FILTER_FLAG_DISABLED) >>> 0,
          filterId: f.filterId,
          effectiveWeight: f.effectiveWeight,
        },
        {
          description: f.description,
          providerKey: f.providerKey,
          providerContextKey: f.providerContextKey,
          rawContext: f.rawContext,
          disabled: (f.flags & FILTER_FLAG_DISABLED) !== 0 ? true : undefined,
        },
      ) as SpecOfKind[K];
    }
  }
}
