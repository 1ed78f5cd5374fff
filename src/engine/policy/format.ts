/**
 * Engine → policy document: the providers, sublayers, callouts and filters an engine holds, written
 * in the document form parsePolicyDocument reads back to the same objects. Every object is written
 * with its key; references use the referenced object's key (built-in objects by their FWPM_* name);
 * condition values use the text of formatConditionValue (IPv4 address fields dotted). Built-in objects
 * are not written. Declarative behaviours cannot be read back from a registered classifyFn, so they
 * are written only when the caller passes them (LoadedPolicy keeps them).
 */
import type { Guid } from "../../base/guid.ts";
import { formatConditionValue } from "../../fwp/index.ts";
import type { FilterEngine } from "../engine.ts";
import type { Filter } from "../model.ts";
import { type CalloutBehaviour, formatBehaviour } from "./behaviour.ts";
import { POLICY_VERSION } from "./document.ts";
import {
  actionWord,
  CALLOUT_FLAG_WORDS,
  FILTER_FLAG_WORDS,
  flagWordList,
  matchWord,
  PROVIDER_FLAG_WORDS,
  SUBLAYER_FLAG_WORDS,
} from "./names.ts";
import { formatFilterWeight } from "./weight.ts";

export interface FormatPolicyOptions {
  /** Declarative behaviours by callout key, written as each callout's `behaviour`. */
  readonly behaviours?: ReadonlyMap<Guid, CalloutBehaviour>;
}

/** A policy document as plain JSON-compatible data. */
export interface PolicyDocumentData {
  version: number;
  providers: Record<string, unknown>[];
  sublayers: Record<string, unknown>[];
  callouts: Record<string, unknown>[];
  filters: Record<string, unknown>[];
}

function put(o: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined && !(Array.isArray(value) && value.length === 0)) o[key] = value;
}

function flagsOut(flags: number, words: Parameters<typeof flagWordList>[1]): (string | number)[] | undefined {
  return flags === 0 ? undefined : flagWordList(flags, words);
}

function filterOut(
  f: Filter,
  refName: (kind: "sublayer" | "callout" | "provider", key: Guid) => string,
): Record<string, unknown> {
  const o: Record<string, unknown> = { key: f.filterKey, name: f.name };
  put(o, "description", f.description);
  o.layer = f.layer.fwpmName ?? f.layer.fwpsName;
  o.sublayer = refName("sublayer", f.sublayer.subLayerKey);
  put(o, "weight", formatFilterWeight(f.weight));
  o.action = actionWord(f.action.type);
  if (f.action.calloutKey !== undefined) o.callout = refName("callout", f.action.calloutKey);
  put(o, "flags", flagsOut(f.flags, FILTER_FLAG_WORDS));
  if (f.providerKey !== undefined) o.providerKey = refName("provider", f.providerKey);
  put(
    o,
    "conditions",
    f.conditions.map((c) => {
      const field = f.layer.fields[c.fieldIndex];
      const ipv4 = field?.fieldType === "FWPM_FIELD_IP_ADDRESS" && field.dataType === "FWP_UINT32";
      return { field: c.conditionName, match: matchWord(c.matchType), value: formatConditionValue(c.value, { ipv4 }) };
    }),
  );
  return o;
}

/** The engine's non-built-in objects as a policy document (filters in filterId order). */
export function formatPolicyDocument(engine: FilterEngine, options: FormatPolicyOptions = {}): PolicyDocumentData {
  const builtinNames = new Map<string, string>();
  for (const p of engine.providers()) if (p.builtin) builtinNames.set(`provider:${p.providerKey}`, p.name);
  for (const s of engine.sublayers()) if (s.builtin) builtinNames.set(`sublayer:${s.subLayerKey}`, s.name);
  for (const c of engine.callouts()) if (c.builtin) builtinNames.set(`callout:${c.calloutKey}`, c.name);
  const refName = (kind: string, key: Guid): string => builtinNames.get(`${kind}:${key}`) ?? key;

  const providers = engine
    .providers()
    .filter((p) => !p.builtin)
    .map((p) => {
      const o: Record<string, unknown> = { key: p.providerKey, name: p.name };
      put(o, "description", p.description);
      put(o, "flags", flagsOut(p.flags, PROVIDER_FLAG_WORDS));
      return o;
    });
  const sublayers = engine
    .sublayers()
    .filter((s) => !s.builtin)
    .map((s) => {
      const o: Record<string, unknown> = { key: s.subLayerKey, name: s.name };
      put(o, "description", s.description);
      o.weight = s.weight;
      if (s.providerKey !== undefined) o.providerKey = refName("provider", s.providerKey);
      put(o, "flags", flagsOut(s.flags, SUBLAYER_FLAG_WORDS));
      return o;
    });
  const callouts = engine
    .callouts()
    .filter((c) => !c.builtin && c.applicableLayer !== null)
    .map((c) => {
      const o: Record<string, unknown> = { key: c.calloutKey, name: c.name };
      put(o, "description", c.description);
      o.layer = c.applicableLayer?.fwpmName ?? c.applicableLayer?.fwpsName;
      if (c.providerKey !== undefined) o.providerKey = refName("provider", c.providerKey);
      put(o, "flags", flagsOut(c.flags, CALLOUT_FLAG_WORDS));
      const b = options.behaviours?.get(c.calloutKey);
      if (b !== undefined) o.behaviour = formatBehaviour(b);
      return o;
    });
  const filters = engine.filters().map((f) => filterOut(f, refName));
  return { version: POLICY_VERSION, providers, sublayers, callouts, filters };
}
