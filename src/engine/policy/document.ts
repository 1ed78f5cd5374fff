/**
 * Policy documents: the shape (docs/policy.md) checked member by member, names resolved, keys minted
 * and condition values parsed against each field's data type at the filter's layer. The result,
 * `ParsedPolicy`, holds everything needed to program a FilterEngine; nothing here touches an engine.
 * Every error is an FwpError with the Windows code and the path of the member at fault
 * (`filters[3].conditions[1].value`); malformed text is a PolicySyntaxError with line and column.
 * What only the engine can check (match type against value type, V16; a callout's layer against the
 * filter's, V10; GUID references to objects outside the document) is checked by loadPolicyDocument.
 */
import type { Guid } from "../../base/guid.ts";
import { tryParseGuid } from "../../base/guid.ts";
import {
  type DriveDevices,
  FWPM_CALLOUT,
  FWPM_PROVIDER,
  FWPM_SUBLAYER,
  type FwpConditionValue,
  FwpError,
  type FwpErrorName,
  type FwpValue,
  getLayer,
  FWP_EMPTY_VALUE,
  type FwpDataTypeName,
  type Layer,
  type ParseValueOptions,
  parseConditionValue,
} from "../../fwp/index.ts";
import { type CalloutBehaviour, parseBehaviour } from "./behaviour.ts";
import { fastConditionValue } from "./fast-value.ts";
import { type ResolvedField, resolveField } from "./fields.ts";
import { hashKeyMinter, type KeyMinter, type PolicyObjectKind } from "./keys.ts";
import {
  CALLOUT_FLAG_WORDS,
  FILTER_FLAG_WORDS,
  type FilterActionName,
  filterActionByWord,
  isCalloutAction,
  type MatchName,
  matchTypeByWord,
  PROVIDER_FLAG_WORDS,
  parseFlags,
  SUBLAYER_FLAG_WORDS,
} from "./names.ts";
import { type PolicyFormat, parsePolicyText } from "./syntax.ts";
import { parseFilterWeight } from "./weight.ts";

export const POLICY_VERSION = 1;

interface PolicyObjectBase {
  readonly key: Guid;
  /** The key was minted from the name (no `key` in the document). */
  readonly keyMinted: boolean;
  readonly name: string;
  readonly description: string | undefined;
  /** Path of the object in the document, e.g. `filters[3]`. */
  readonly path: string;
}

export interface PolicyProvider extends PolicyObjectBase {
  readonly flags: number;
}

export interface PolicySublayer extends PolicyObjectBase {
  readonly weight: number;
  readonly providerKey: Guid | undefined;
  readonly flags: number;
}

export interface PolicyCallout extends PolicyObjectBase {
  readonly layer: Layer;
  readonly providerKey: Guid | undefined;
  readonly flags: number;
  /** Absent: the callout is added but not registered (C14 applies to its filters). */
  readonly behaviour: CalloutBehaviour | undefined;
}

export interface PolicyCondition {
  readonly fieldKey: Guid;
  /** The FWPM_CONDITION_* name of the layer's field. */
  readonly conditionName: string;
  readonly matchType: MatchName;
  readonly value: FwpConditionValue;
  /** Path of the condition (`filters[3].conditions[1]`). */
  readonly path: string;
  /** Path of the value text (`filters[3].conditions[1].value`, or `...value[0]` in a list). */
  readonly valuePath: string;
}

export interface PolicyFilter extends PolicyObjectBase {
  readonly layer: Layer;
  /** undefined → the layer's default sublayer. */
  readonly sublayerKey: Guid | undefined;
  readonly weight: FwpValue;
  readonly action: FilterActionName;
  readonly calloutKey: Guid | undefined;
  readonly flags: number;
  readonly providerKey: Guid | undefined;
  readonly conditions: readonly PolicyCondition[];
}

export interface ParsedPolicy {
  readonly version: number;
  readonly providers: readonly PolicyProvider[];
  readonly sublayers: readonly PolicySublayer[];
  readonly callouts: readonly PolicyCallout[];
  readonly filters: readonly PolicyFilter[];
}

export interface ParsePolicyOptions {
  /** Text format; by default `{`/`[` first means JSON, anything else YAML. Ignored for objects. */
  readonly format?: PolicyFormat;
  /** Makes the keys of objects written without one (default: hashKeyMinter()). */
  readonly mintKey?: KeyMinter;
  /** Drive → NT device map for application paths (app ids). */
  readonly driveDevices?: DriveDevices;
}

const TOP_KEYS = ["version", "description", "providers", "sublayers", "callouts", "filters"] as const;
const PROVIDER_KEYS = ["key", "name", "description", "flags"] as const;
const SUBLAYER_KEYS = ["key", "name", "description", "weight", "providerKey", "flags"] as const;
const CALLOUT_KEYS = ["key", "name", "description", "layer", "providerKey", "flags", "behaviour"] as const;
const FILTER_KEYS = [
  "key",
  "name",
  "description",
  "layer",
  "sublayer",
  "weight",
  "action",
  "callout",
  "flags",
  "providerKey",
  "conditions",
] as const;
const CONDITION_KEYS = ["field", "match", "value"] as const;

function fail(code: FwpErrorName, path: string, detail: string): never {
  throw new FwpError(code, path === "" ? { detail } : { path, detail });
}

type Obj = Record<string, unknown>;

function isObject(x: unknown): x is Obj {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}

/** Checks that `x` is an object with only `allowed` members; returns it. */
function shape(x: unknown, allowed: readonly string[], path: string, what: string): Obj {
  if (!isObject(x)) return fail("FWP_E_INVALID_PARAMETER", path, `Expected ${what} (an object).`);
  for (const k of Object.keys(x)) {
    if (!allowed.includes(k)) {
      fail(
        "FWP_E_INVALID_PARAMETER",
        join(path, k),
        `Unknown member ${JSON.stringify(k)}; allowed: ${allowed.join(", ")}.`,
      );
    }
  }
  return x;
}

function join(path: string, member: string): string {
  return path === "" ? member : `${path}.${member}`;
}

function list(x: unknown, path: string): readonly unknown[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) return fail("FWP_E_INVALID_PARAMETER", path, "Expected an array.");
  return x;
}

function optionalString(o: Obj, member: string, path: string): string | undefined {
  const v = o[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") return fail("FWP_E_INVALID_PARAMETER", join(path, member), "Expected a string.");
  return v;
}

function displayName(o: Obj, path: string): string {
  const v = o.name;
  if (typeof v !== "string" || v.trim() === "") {
    return fail("FWP_E_NULL_DISPLAY_NAME", join(path, "name"), "Every object needs a non-empty `name` (V2).");
  }
  return v;
}

/**
 * A layer written in a document or on a command line: an FWPM_LAYER_* or FWPS_LAYER_* name, the name
 * without its FWPM_LAYER_ prefix (`ALE_AUTH_CONNECT_V4`), a run-time id (number or digits) or a layer
 * GUID. Anything else is FWP_E_LAYER_NOT_FOUND at `path`.
 */
export function parseLayerRef(v: unknown, path: string): Layer {
  if (typeof v === "number") return getLayer(v, path);
  if (typeof v !== "string" || v.trim() === "")
    return fail("FWP_E_LAYER_NOT_FOUND", path, "A layer is a name, a run-time id or a GUID.");
  const t = v.trim();
  if (/^\d+$/.test(t)) return getLayer(Number(t), path);
  try {
    return getLayer(t, path);
  } catch (e) {
    if (/^[A-Z0-9_]+$/.test(t)) {
      try {
        return getLayer(`FWPM_LAYER_${t}`, path);
      } catch {
        // fall through to the original error
      }
    }
    throw e;
  }
}

function layerOf(o: Obj, path: string): Layer {
  return parseLayerRef(o.layer, join(path, "layer"));
}

const REF_ERRORS: Readonly<Record<"provider" | "sublayer" | "callout", FwpErrorName>> = {
  provider: "FWP_E_PROVIDER_NOT_FOUND",
  sublayer: "FWP_E_SUBLAYER_NOT_FOUND",
  callout: "FWP_E_CALLOUT_NOT_FOUND",
};
const BUILTIN_KEYS: Readonly<Record<"provider" | "sublayer" | "callout", Readonly<Record<string, Guid>>>> = {
  provider: FWPM_PROVIDER,
  sublayer: FWPM_SUBLAYER,
  callout: FWPM_CALLOUT,
};

/**
 * What is declared of one kind of object. Each test-and-insert is one set operation (a set that did not
 * grow already had the member), as a 100,000-filter document makes 100,000 of each.
 */
interface Declared {
  /** Name → key (providers, sublayers and callouts, whose names are unique). */
  readonly names: Map<string, Guid>;
  readonly keys: Set<Guid>;
  /** The keys in declaration order and the path of each: who used a key first, for the error. */
  readonly keyOrder: Guid[];
  readonly pathOrder: string[];
  /** Names of objects minted a key so far; for a name met more than once, the ordinal of the next. */
  readonly mintedNames: Set<string>;
  readonly repeats: Map<string, number>;
}

function declared(): Declared {
  return { names: new Map(), keys: new Set(), keyOrder: [], pathOrder: [], mintedNames: new Set(), repeats: new Map() };
}

class Resolver {
  readonly #declared: Readonly<Record<PolicyObjectKind, Declared>> = {
    provider: declared(),
    sublayer: declared(),
    callout: declared(),
    filter: declared(),
  };
  readonly #mint: KeyMinter;

  constructor(mint: KeyMinter) {
    this.#mint = mint;
  }

  /** The key of a declared object: its `key` (a GUID) or one minted from its name. */
  declare(kind: PolicyObjectKind, o: Obj, name: string, path: string): { key: Guid; minted: boolean } {
    const d = this.#declared[kind];
    let key: Guid;
    let minted = false;
    const written = o.key;
    if (written === undefined || written === null) {
      // The ordinal counts earlier objects of this kind and name that were minted a key.
      const mintedNames = d.mintedNames;
      const before = mintedNames.size;
      mintedNames.add(name);
      let ordinal = 0;
      if (mintedNames.size === before) {
        ordinal = d.repeats.get(name) ?? 1;
        d.repeats.set(name, ordinal + 1);
      }
      key = this.#mint(kind, name, ordinal);
      minted = true;
    } else {
      const guid = typeof written === "string" ? tryParseGuid(written) : undefined;
      if (guid === undefined) {
        return fail("FWP_E_INVALID_PARAMETER", join(path, "key"), `A key is a GUID, got ${JSON.stringify(written)}.`);
      }
      key = guid;
    }
    const keys = d.keys;
    const before = keys.size;
    keys.add(key);
    if (keys.size === before) {
      const other = d.pathOrder[d.keyOrder.indexOf(key)];
      fail(
        "FWP_E_ALREADY_EXISTS",
        join(path, minted ? "name" : "key"),
        `The ${kind} key ${key} is already used by ${other}.`,
      );
    }
    d.keyOrder.push(key);
    d.pathOrder.push(path);
    if (kind !== "filter") {
      const names = d.names;
      if (names.has(name))
        fail("FWP_E_ALREADY_EXISTS", join(path, "name"), `Another ${kind} is named ${JSON.stringify(name)}.`);
      names.set(name, key);
    }
    return { key, minted };
  }

  /**
   * A reference to a provider, sublayer or callout: a GUID, the name of one declared in the document,
   * or a built-in name (FWPM_SUBLAYER_UNIVERSAL, ...). Anything else is FWP_E_*_NOT_FOUND.
   */
  reference(kind: "provider" | "sublayer" | "callout", value: unknown, path: string): Guid | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string" || value.trim() === "") {
      return fail(REF_ERRORS[kind], path, `A ${kind} reference is a GUID or a name.`);
    }
    const t = value.trim();
    const guid = tryParseGuid(t);
    if (guid !== undefined) return guid;
    const names = this.#declared[kind].names;
    const declared = names.get(t);
    if (declared !== undefined) return declared;
    const builtins = BUILTIN_KEYS[kind];
    if (Object.hasOwn(builtins, t)) return builtins[t];
    const known = [...names.keys()];
    return fail(
      REF_ERRORS[kind],
      path,
      `No ${kind} ${JSON.stringify(t)} in this document${known.length > 0 ? ` (declared: ${known.join(", ")})` : ""}.`,
    );
  }
}

/**
 * `${list}[${i}]` in one flat string (Array.prototype.join writes one; a template literal makes a chain of
 * partial strings): a policy keeps the path of each of its filters and conditions.
 */
function flatPath(list: string, i: number): string {
  return [list, "[", i, "]"].join("");
}

function valueTexts(v: unknown, path: string): { text: string; path: string }[] {
  const one = (x: unknown, p: string): { text: string; path: string } => {
    if (typeof x === "string") return { text: x, path: p };
    if (typeof x === "number" && Number.isFinite(x)) return { text: String(x), path: p };
    if (typeof x === "bigint") return { text: x.toString(), path: p };
    return fail("FWP_E_INVALID_PARAMETER", p, "A condition value is text, a number, or a list of them.");
  };
  if (Array.isArray(v)) {
    if (v.length === 0) return fail("FWP_E_INVALID_PARAMETER", path, "An empty list of values matches nothing.");
    return v.map((x, j) => one(x, `${path}[${j}]`));
  }
  if (v === undefined) return fail("FWP_E_INVALID_PARAMETER", path, "Every condition needs a `value`.");
  return [one(v, path)];
}

/** Layer references met before (text → layer), so each filter's `layer` is one map look-up. */
const layerRefs = new Map<string, Layer>();
/** Field names met before, per layer (successes only; a miss goes to resolveField for its error). */
const fieldRefs = new WeakMap<Layer, Map<string, ResolvedField>>();
/** Entries a text-keyed memo keeps before it starts over (documents name a handful of layers and fields). */
const MEMO_LIMIT = 4096;

/** layerOf for the hot loop: a layer written as text is looked up once per document text, not per filter. */
function cachedLayerOf(o: Obj, path: string): Layer {
  const v = o.layer;
  if (typeof v !== "string") return layerOf(o, path);
  const hit = layerRefs.get(v);
  if (hit !== undefined) return hit;
  const layer = layerOf(o, path);
  if (layerRefs.size >= MEMO_LIMIT) layerRefs.clear();
  layerRefs.set(v, layer);
  return layer;
}

/** resolveField, memoised per layer; the path of the `field` member is made only when resolving fails. */
function cachedField(layer: Layer, name: string, conditionPath: string): ResolvedField {
  let byName = fieldRefs.get(layer);
  if (byName === undefined) {
    byName = new Map();
    fieldRefs.set(layer, byName);
  }
  const hit = byName.get(name);
  if (hit !== undefined) return hit;
  const resolved = resolveField(layer, name, join(conditionPath, "field"));
  if (byName.size >= MEMO_LIMIT) byName.clear();
  byName.set(name, resolved);
  return resolved;
}

/**
 * A condition value: fastConditionValue for the common texts, else parseConditionValue without a path
 * (the path only names the member in errors); when that fails it is called again with the path, so the
 * error is the one the call with the path throws.
 */
function conditionValue(
  dataType: FwpDataTypeName,
  text: string,
  valuePath: string,
  options: ParseValueOptions,
): FwpConditionValue {
  const fast = fastConditionValue(dataType, text);
  if (fast !== undefined) return fast;
  try {
    return parseConditionValue(dataType, text, options);
  } catch (e) {
    parseConditionValue(dataType, text, { ...options, path: valuePath });
    throw e;
  }
}

function parseConditions(layer: Layer, raw: unknown, path: string, options: ParseValueOptions): PolicyCondition[] {
  const out: PolicyCondition[] = [];
  const items = list(raw, path);
  for (let k = 0; k < items.length; k++) {
    const cPath = flatPath(path, k);
    const o = shape(items[k], CONDITION_KEYS, cPath, "a condition");
    if (typeof o.field !== "string") {
      fail(
        "FWP_E_CONDITION_NOT_FOUND",
        join(cPath, "field"),
        "Every condition needs a `field` (a condition name or alias).",
      );
    }
    const resolved = cachedField(layer, o.field as string, cPath);
    let written: MatchName | undefined;
    if (o.match !== undefined) {
      written = typeof o.match === "string" ? matchTypeByWord(o.match) : undefined;
      if (written === undefined) {
        fail("FWP_E_INVALID_ENUMERATOR", join(cPath, "match"), `Unknown match type ${JSON.stringify(o.match)}.`);
      }
    }
    const v = o.value;
    if (typeof v === "string") {
      // One value written as text, the usual case: no list of (text, path) pairs.
      const valuePath = join(cPath, "value");
      out.push(
        policyCondition(resolved, written, conditionValue(resolved.dataType, v, valuePath, options), cPath, valuePath),
      );
      continue;
    }
    for (const { text, path: valuePath } of valueTexts(v, join(cPath, "value"))) {
      out.push(
        policyCondition(
          resolved,
          written,
          conditionValue(resolved.dataType, text, valuePath, options),
          cPath,
          valuePath,
        ),
      );
    }
  }
  // An array grown by push keeps room for 16 more; a policy keeps one list per filter, so keep it exact.
  return out.slice();
}

function policyCondition(
  resolved: ResolvedField,
  written: MatchName | undefined,
  value: FwpConditionValue,
  path: string,
  valuePath: string,
): PolicyCondition {
  return {
    fieldKey: resolved.fieldKey,
    conditionName: resolved.field.condition,
    matchType: written ?? (value.type === "FWP_RANGE_TYPE" ? "FWP_MATCH_RANGE" : "FWP_MATCH_EQUAL"),
    value,
    path,
    valuePath,
  };
}

/**
 * Checks a policy document (text or already-parsed data) and resolves it. Throws PolicySyntaxError
 * for malformed text and FwpError (code + path) for everything else.
 */
export function parsePolicyDocument(input: string | unknown, options: ParsePolicyOptions = {}): ParsedPolicy {
  const data = typeof input === "string" ? parsePolicyText(input, options.format) : input;
  const top = shape(data, TOP_KEYS, "", "a policy document");
  const version = top.version ?? POLICY_VERSION;
  if (version !== POLICY_VERSION) {
    fail(
      "FWP_E_INVALID_PARAMETER",
      "version",
      `This loader reads version ${POLICY_VERSION}, got ${JSON.stringify(version)}.`,
    );
  }
  const r = new Resolver(options.mintKey ?? hashKeyMinter());

  const providers = list(top.providers, "providers").map((p, i): PolicyProvider => {
    const path = `providers[${i}]`;
    const o = shape(p, PROVIDER_KEYS, path, "a provider");
    const name = displayName(o, path);
    const { key, minted } = r.declare("provider", o, name, path);
    return {
      key,
      keyMinted: minted,
      name,
      description: optionalString(o, "description", path),
      flags: o.flags === undefined ? 0 : parseFlags(o.flags, PROVIDER_FLAG_WORDS, join(path, "flags")),
      path,
    };
  });

  const sublayers = list(top.sublayers, "sublayers").map((s, i): PolicySublayer => {
    const path = `sublayers[${i}]`;
    const o = shape(s, SUBLAYER_KEYS, path, "a sublayer");
    const name = displayName(o, path);
    const { key, minted } = r.declare("sublayer", o, name, path);
    const w = o.weight;
    if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 0xffff) {
      fail(
        "FWP_E_INVALID_WEIGHT",
        join(path, "weight"),
        `A sublayer weight is an integer 0..65535 (B6), got ${JSON.stringify(w ?? null)}.`,
      );
    }
    return {
      key,
      keyMinted: minted,
      name,
      description: optionalString(o, "description", path),
      weight: w as number,
      providerKey: r.reference("provider", o.providerKey, join(path, "providerKey")),
      flags: o.flags === undefined ? 0 : parseFlags(o.flags, SUBLAYER_FLAG_WORDS, join(path, "flags")),
      path,
    };
  });

  const callouts = list(top.callouts, "callouts").map((c, i): PolicyCallout => {
    const path = `callouts[${i}]`;
    const o = shape(c, CALLOUT_KEYS, path, "a callout");
    const name = displayName(o, path);
    const { key, minted } = r.declare("callout", o, name, path);
    return {
      key,
      keyMinted: minted,
      name,
      description: optionalString(o, "description", path),
      layer: layerOf(o, path),
      providerKey: r.reference("provider", o.providerKey, join(path, "providerKey")),
      flags: o.flags === undefined ? 0 : parseFlags(o.flags, CALLOUT_FLAG_WORDS, join(path, "flags")),
      behaviour: o.behaviour === undefined ? undefined : parseBehaviour(o.behaviour, join(path, "behaviour")),
      path,
    };
  });

  // The hot loop (100,000 filters is a real blocklist): a member's path is made only for an error or for
  // the result, and what repeats from filter to filter (layer, field names) is resolved once.
  const valueOptions: ParseValueOptions =
    options.driveDevices === undefined ? {} : { driveDevices: options.driveDevices };
  const filterItems = list(top.filters, "filters");
  const filters: PolicyFilter[] = [];
  for (let i = 0; i < filterItems.length; i++) {
    const path = flatPath("filters", i);
    const o = shape(filterItems[i], FILTER_KEYS, path, "a filter");
    const name = displayName(o, path);
    const { key, minted } = r.declare("filter", o, name, path);
    const layer = cachedLayerOf(o, path);
    const action = typeof o.action === "string" ? filterActionByWord(o.action) : undefined;
    if (action === undefined) {
      fail(
        "FWP_E_INVALID_ACTION_TYPE",
        join(path, "action"),
        `Expected block, permit, callout-terminating, callout-inspection or callout-unknown, got ${JSON.stringify(o.action ?? null)}.`,
      );
    }
    let calloutKey: Guid | undefined;
    if (isCalloutAction(action)) {
      if (o.callout === undefined || o.callout === null) {
        fail(
          "FWP_E_CALLOUT_NOT_FOUND",
          join(path, "callout"),
          `A ${o.action} filter names its callout in \`callout\`.`,
        );
      }
      calloutKey = r.reference("callout", o.callout, join(path, "callout"));
    } else if (o.callout !== undefined) {
      fail("FWP_E_INVALID_PARAMETER", join(path, "callout"), `A ${o.action} filter has no callout.`);
    }
    filters.push({
      key,
      keyMinted: minted,
      name,
      description: optionalString(o, "description", path),
      layer,
      sublayerKey:
        o.sublayer === undefined || o.sublayer === null
          ? undefined
          : r.reference("sublayer", o.sublayer, join(path, "sublayer")),
      weight:
        o.weight === undefined || o.weight === null
          ? FWP_EMPTY_VALUE
          : parseFilterWeight(o.weight, join(path, "weight")),
      action,
      calloutKey,
      flags: o.flags === undefined ? 0 : parseFlags(o.flags, FILTER_FLAG_WORDS, join(path, "flags")),
      providerKey:
        o.providerKey === undefined || o.providerKey === null
          ? undefined
          : r.reference("provider", o.providerKey, join(path, "providerKey")),
      conditions: parseConditions(layer, o.conditions, [path, ".conditions"].join(""), valueOptions),
      path,
    });
  }

  return { version: POLICY_VERSION, providers, sublayers, callouts, filters };
}
