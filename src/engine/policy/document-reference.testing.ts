/**
 * parsePolicyDocument as it was before its filter loop was rebuilt (a path made for every member, every
 * value through parseConditionValue, a closure and a list per condition): kept as the reference the
 * differential test (document.test.ts) compares parsePolicyDocument with, on seeded good and bad
 * documents — the same policy, or the same error code, path and detail.
 */
import type { Guid } from "../../base/guid.ts";
import { tryParseGuid } from "../../base/guid.ts";
import {
  FWPM_CALLOUT,
  FWPM_PROVIDER,
  FWPM_SUBLAYER,
  FwpError,
  type FwpErrorName,
  getLayer,
  type Layer,
  parseConditionValue,
} from "../../fwp/index.ts";
import { parseBehaviour } from "./behaviour.ts";
import type {
  ParsedPolicy,
  ParsePolicyOptions,
  PolicyCallout,
  PolicyCondition,
  PolicyFilter,
  PolicyProvider,
  PolicySublayer,
} from "./document.ts";
import { resolveField } from "./fields.ts";
import { hashKeyMinter, type KeyMinter, type PolicyObjectKind } from "./keys.ts";
import {
  CALLOUT_FLAG_WORDS,
  FILTER_FLAG_WORDS,
  filterActionByWord,
  isCalloutAction,
  type MatchName,
  matchTypeByWord,
  PROVIDER_FLAG_WORDS,
  parseFlags,
  SUBLAYER_FLAG_WORDS,
} from "./names.ts";
import { parsePolicyText } from "./syntax.ts";
import { parseFilterWeight } from "./weight.ts";

const POLICY_VERSION = 1;

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
function parseLayerRef(v: unknown, path: string): Layer {
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

class Resolver {
  readonly #names = new Map<string, Map<string, Guid>>();
  readonly #keys = new Map<string, Map<Guid, string>>();
  readonly #ordinals = new Map<string, number>();
  readonly #mint: KeyMinter;

  constructor(mint: KeyMinter) {
    this.#mint = mint;
  }

  /** The key of a declared object: its `key` (a GUID) or one minted from its name. */
  declare(kind: PolicyObjectKind, o: Obj, name: string, path: string): { key: Guid; minted: boolean } {
    const keys = this.#keys.get(kind) ?? new Map<Guid, string>();
    this.#keys.set(kind, keys);
    const names = this.#names.get(kind) ?? new Map<string, Guid>();
    this.#names.set(kind, names);
    let key: Guid;
    let minted = false;
    const written = o.key;
    if (written === undefined || written === null) {
      const ordinalKey = `${kind}\0${name}`;
      const ordinal = this.#ordinals.get(ordinalKey) ?? 0;
      this.#ordinals.set(ordinalKey, ordinal + 1);
      key = this.#mint(kind, name, ordinal);
      minted = true;
    } else {
      const guid = typeof written === "string" ? tryParseGuid(written) : undefined;
      if (guid === undefined) {
        return fail("FWP_E_INVALID_PARAMETER", join(path, "key"), `A key is a GUID, got ${JSON.stringify(written)}.`);
      }
      key = guid;
    }
    const other = keys.get(key);
    if (other !== undefined) {
      fail(
        "FWP_E_ALREADY_EXISTS",
        join(path, minted ? "name" : "key"),
        `The ${kind} key ${key} is already used by ${other}.`,
      );
    }
    keys.set(key, path);
    if (kind !== "filter") {
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
    const declared = this.#names.get(kind)?.get(t);
    if (declared !== undefined) return declared;
    const builtins = BUILTIN_KEYS[kind];
    if (Object.hasOwn(builtins, t)) return builtins[t];
    const known = [...(this.#names.get(kind)?.keys() ?? [])];
    return fail(
      REF_ERRORS[kind],
      path,
      `No ${kind} ${JSON.stringify(t)} in this document${known.length > 0 ? ` (declared: ${known.join(", ")})` : ""}.`,
    );
  }
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

function parseConditions(layer: Layer, raw: unknown, path: string, options: ParsePolicyOptions): PolicyCondition[] {
  const out: PolicyCondition[] = [];
  list(raw, path).forEach((c, k) => {
    const cPath = `${path}[${k}]`;
    const o = shape(c, CONDITION_KEYS, cPath, "a condition");
    if (typeof o.field !== "string") {
      fail(
        "FWP_E_CONDITION_NOT_FOUND",
        join(cPath, "field"),
        "Every condition needs a `field` (a condition name or alias).",
      );
    }
    const resolved = resolveField(layer, o.field as string, join(cPath, "field"));
    let written: MatchName | undefined;
    if (o.match !== undefined) {
      written = typeof o.match === "string" ? matchTypeByWord(o.match) : undefined;
      if (written === undefined) {
        fail("FWP_E_INVALID_ENUMERATOR", join(cPath, "match"), `Unknown match type ${JSON.stringify(o.match)}.`);
      }
    }
    for (const { text, path: valuePath } of valueTexts(o.value, join(cPath, "value"))) {
      const value = parseConditionValue(resolved.dataType, text, {
        path: valuePath,
        ...(options.driveDevices === undefined ? {} : { driveDevices: options.driveDevices }),
      });
      const matchType = written ?? (value.type === "FWP_RANGE_TYPE" ? "FWP_MATCH_RANGE" : "FWP_MATCH_EQUAL");
      out.push({
        fieldKey: resolved.fieldKey,
        conditionName: resolved.field.condition,
        matchType,
        value,
        path: cPath,
        valuePath,
      });
    }
  });
  return out;
}

/**
 * Checks a policy document (text or already-parsed data) and resolves it. Throws PolicySyntaxError
 * for malformed text and FwpError (code + path) for everything else.
 */
export function parsePolicyDocumentReference(input: string | unknown, options: ParsePolicyOptions = {}): ParsedPolicy {
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

  const filters = list(top.filters, "filters").map((f, i): PolicyFilter => {
    const path = `filters[${i}]`;
    const o = shape(f, FILTER_KEYS, path, "a filter");
    const name = displayName(o, path);
    const { key, minted } = r.declare("filter", o, name, path);
    const layer = layerOf(o, path);
    const action = typeof o.action === "string" ? filterActionByWord(o.action) : undefined;
    if (action === undefined) {
      return fail(
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
    return {
      key,
      keyMinted: minted,
      name,
      description: optionalString(o, "description", path),
      layer,
      sublayerKey: r.reference("sublayer", o.sublayer, join(path, "sublayer")),
      weight: parseFilterWeight(o.weight, join(path, "weight")),
      action,
      calloutKey,
      flags: o.flags === undefined ? 0 : parseFlags(o.flags, FILTER_FLAG_WORDS, join(path, "flags")),
      providerKey: r.reference("provider", o.providerKey, join(path, "providerKey")),
      conditions: parseConditions(layer, o.conditions, join(path, "conditions"), options),
      path,
    };
  });

  return { version: POLICY_VERSION, providers, sublayers, callouts, filters };
}
