/**
 * Condition fields as policy documents and `openwfp eval --value` name them: an FWPM_CONDITION_* name,
 * a condition GUID, or a short alias. Aliases are derived from the condition names, not typed by hand:
 *
 * 1. every keyed condition `FWPM_CONDITION_<REST>` gets the alias `camelCase(<REST>)`
 *    (`FWPM_CONDITION_IP_REMOTE_ADDRESS` → `ipRemoteAddress`, `FWPM_CONDITION_ALE_APP_ID` → `aleAppId`);
 * 2. when `<REST>` starts with `IP_` or `ALE_`, the rest after that prefix is an alias too
 *    (`remoteAddress`, `remotePort`, `protocol`, `appId`, `userId`) unless it is already rule 1's
 *    alias of another condition or two conditions would share it (then neither gets it);
 * 3. a few words people reach for: `app` (ALE_APP_ID), `user` (ALE_USER_ID), `proto` (IP_PROTOCOL).
 *
 * Aliases compare without case, `_` or `-`: `remoteAddress`, `remote_address` and `REMOTE-ADDRESS` are one
 * alias. A field is valid at a layer when the layer's FWPS_FIELDS_* list carries its GUID; SDK #define
 * aliases such as FWPM_CONDITION_ICMP_TYPE (= IP_LOCAL_PORT) resolve through the shared GUID.
 * Source: https://learn.microsoft.com/windows/win32/fwp/filtering-condition-identifiers-
 */
import type { Guid } from "../../base/guid.ts";
import { tryParseGuid } from "../../base/guid.ts";
import {
  CONDITIONS,
  type Condition,
  type FwpDataTypeName,
  FwpError,
  findCondition,
  isDataTypeName,
  type Layer,
  type LayerField,
  layerField,
} from "../../fwp/index.ts";

const PREFIX = "FWPM_CONDITION_";

/** How aliases compare: lower case, without `_` and `-`. */
export function normalizeAlias(text: string): string {
  return text.toLowerCase().replace(/[-_]/g, "");
}

function camel(upperSnake: string): string {
  return upperSnake
    .toLowerCase()
    .split("_")
    .map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1)))
    .join("");
}

const EXTRA_ALIASES: readonly (readonly [string, string])[] = [
  ["app", "FWPM_CONDITION_ALE_APP_ID"],
  ["user", "FWPM_CONDITION_ALE_USER_ID"],
  ["proto", "FWPM_CONDITION_IP_PROTOCOL"],
];

function buildAliases(): { byAlias: Map<string, Condition>; aliasOf: Map<string, string> } {
  const keyed = CONDITIONS.filter((c) => c.key !== null && c.name.startsWith(PREFIX));
  const byAlias = new Map<string, Condition>();
  const display = new Map<string, string>();
  for (const c of keyed) {
    const a = camel(c.name.slice(PREFIX.length));
    byAlias.set(normalizeAlias(a), c);
    display.set(normalizeAlias(a), a);
  }
  const short = new Map<string, Condition[]>();
  for (const c of keyed) {
    const rest = c.name.slice(PREFIX.length);
    const m = /^(?:IP|ALE)_(.+)$/.exec(rest);
    if (m?.[1] === undefined) continue;
    const a = camel(m[1]);
    const list = short.get(a) ?? [];
    list.push(c);
    short.set(a, list);
  }
  for (const [a, list] of short) {
    const n = normalizeAlias(a);
    const only = list[0];
    if (list.length !== 1 || only === undefined || byAlias.has(n)) continue;
    byAlias.set(n, only);
    display.set(n, a);
  }
  // The shortest rule-1/rule-2 alias of each condition, for listings (the extra words are not listed).
  const aliasOf = new Map<string, string>();
  for (const [n, c] of byAlias) {
    const a = display.get(n) ?? n;
    const cur = aliasOf.get(c.name);
    if (cur === undefined || a.length < cur.length) aliasOf.set(c.name, a);
  }
  for (const [a, name] of EXTRA_ALIASES) {
    const c = findCondition(name);
    if (c !== undefined && !byAlias.has(normalizeAlias(a))) byAlias.set(normalizeAlias(a), c);
  }
  return { byAlias, aliasOf };
}

const ALIASES = buildAliases();

/** Every alias (display spelling) with the condition it names, sorted by alias. */
export function conditionAliases(): readonly { readonly alias: string; readonly condition: string }[] {
  const out: { alias: string; condition: string }[] = [];
  const seen = new Set<string>();
  for (const c of CONDITIONS) {
    if (c.key === null) continue;
    const rest = c.name.slice(PREFIX.length);
    const candidates = [camel(rest)];
    const m = /^(?:IP|ALE)_(.+)$/.exec(rest);
    if (m?.[1] !== undefined) candidates.push(camel(m[1]));
    for (const [a, name] of EXTRA_ALIASES) if (name === c.name) candidates.push(a);
    for (const a of candidates) {
      const n = normalizeAlias(a);
      if (!seen.has(n) && ALIASES.byAlias.get(n) === c) {
        seen.add(n);
        out.push({ alias: a, condition: c.name });
      }
    }
  }
  return out.sort((x, y) => (x.alias < y.alias ? -1 : x.alias > y.alias ? 1 : 0));
}

/** The shortest alias of a condition name, if it has one. */
export function shortAlias(conditionName: string): string | undefined {
  return ALIASES.aliasOf.get(conditionName);
}

/** A condition by FWPM_CONDITION_* name, GUID or alias; undefined when none. */
export function findConditionByFieldName(text: string): Condition | undefined {
  const t = text.trim();
  const direct = findCondition(t);
  if (direct !== undefined && direct.key !== null) return direct;
  if (tryParseGuid(t) !== undefined) return undefined;
  return ALIASES.byAlias.get(normalizeAlias(t));
}

/** "FWPM_CONDITION_IP_REMOTE_PORT (remotePort)" for each field of the layer, in incomingValue[] order. */
export function describeLayerFields(layer: Layer): string {
  if (layer.fields.length === 0) return `${layer.fwpmName ?? layer.fwpsName} has no fields.`;
  const list = layer.fields.map((f) => {
    const a = shortAlias(f.condition);
    return a === undefined ? f.condition : `${f.condition} (${a})`;
  });
  return `Fields of ${layer.fwpmName ?? layer.fwpsName}: ${list.join(", ")}.`;
}

export interface ResolvedField {
  readonly field: LayerField;
  /** The condition GUID: FWPM_FILTER_CONDITION0.fieldKey. */
  readonly fieldKey: Guid;
  /** The data type values of this field are parsed as. */
  readonly dataType: FwpDataTypeName;
}

/**
 * Resolves a field name at a layer. Unknown name, or a field the layer lacks →
 * FWP_E_CONDITION_NOT_FOUND (§A.5 V13) naming the layer's valid fields; a field whose data type is
 * unpublished and cannot be inferred → FWP_E_TYPE_MISMATCH.
 */
export function resolveField(layer: Layer, name: string, path?: string): ResolvedField {
  const at = path === undefined ? {} : { path };
  const condition = findConditionByFieldName(name);
  if (condition === undefined || condition.key === null) {
    throw new FwpError("FWP_E_CONDITION_NOT_FOUND", {
      ...at,
      detail: `No condition ${JSON.stringify(name)}. ${describeLayerFields(layer)}`,
    });
  }
  const field = layerField(layer, condition.key);
  if (field === undefined) {
    throw new FwpError("FWP_E_CONDITION_NOT_FOUND", {
      ...at,
      detail: `${condition.name} is not a field of ${layer.fwpmName ?? layer.fwpsName}. ${describeLayerFields(layer)}`,
    });
  }
  const dataType = field.dataType ?? inferDataType(condition);
  if (dataType === undefined) {
    throw new FwpError("FWP_E_TYPE_MISMATCH", {
      ...at,
      detail: `The data type of ${field.condition} at ${layer.fwpmName ?? layer.fwpsName} is unpublished.`,
    });
  }
  return { field, fieldKey: field.conditionKey, dataType };
}

/** For fields without a published run-time type: the single documented condition value type, if any. */
function inferDataType(condition: Condition): FwpDataTypeName | undefined {
  const types = [...condition.incomingDataTypes, ...condition.conditionValueTypes].filter(isDataTypeName);
  const unique = [...new Set(types)];
  return unique.length === 1 ? unique[0] : undefined;
}
