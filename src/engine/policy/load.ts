/**
 * Programs a FilterEngine from a policy document: providers, sublayers, callouts (registering a
 * classifyFn for each declarative behaviour), then filters, in document order. The engine does the
 * add-time validation of §A.5; its FwpErrors are re-thrown with the document path of the member at
 * fault (`filters[3].conditions[1].value`), keeping the code and detail. A failed load removes what it
 * had added, so an engine passed in is left as it was.
 */
import type { Guid } from "../../base/guid.ts";
import { FwpError, type FwpErrorName } from "../../fwp/index.ts";
import { FilterEngine, type FilterEngineInit } from "../engine.ts";
import type { Filter, FilterConditionSpec, FilterSpec, Sublayer } from "../model.ts";
import { behaviourClassifyFn, type CalloutBehaviour } from "./behaviour.ts";
import { type ParsedPolicy, type ParsePolicyOptions, type PolicyFilter, parsePolicyDocument } from "./document.ts";

export interface LoadPolicyOptions extends ParsePolicyOptions {
  /** The engine to program; by default a new one built from `engineInit`. */
  readonly engine?: FilterEngine;
  readonly engineInit?: FilterEngineInit;
}

export interface LoadedPolicy {
  readonly engine: FilterEngine;
  readonly policy: ParsedPolicy;
  /** Provider name → key. */
  readonly providers: ReadonlyMap<string, Guid>;
  /** Sublayer name → the engine's sublayer. */
  readonly sublayers: ReadonlyMap<string, Sublayer>;
  /** Callout name → key. */
  readonly callouts: ReadonlyMap<string, Guid>;
  /** The engine's filters, in document order. */
  readonly filters: readonly Filter[];
  /** The declarative behaviours registered, by callout key (for formatPolicyDocument). */
  readonly behaviours: ReadonlyMap<Guid, CalloutBehaviour>;
}

/** The document member an engine error about a filter points at. */
function filterMemberPath(f: PolicyFilter, e: FwpError): string {
  const p = e.path ?? "";
  const cond = /conditions?\[(\d+)\](.*)$/.exec(p);
  if (cond !== null) {
    const c = f.conditions[Number(cond[1])];
    if (c !== undefined) {
      const rest = cond[2] ?? "";
      if (/match/i.test(rest)) return `${c.path}.match`;
      if (/field/i.test(rest)) return `${c.path}.field`;
      if (/value/i.test(rest) || rest === "") {
        return e.code === "FWP_E_MATCH_TYPE_MISMATCH" ? `${c.path}.match` : c.valuePath;
      }
      return c.path;
    }
  }
  const byMember: readonly [RegExp, string][] = [
    [/weight/i, "weight"],
    [/sub[lL]ayer/, "sublayer"],
    [/callout/i, "callout"],
    [/providerContext/i, ""],
    [/provider/i, "providerKey"],
    [/action/i, "action"],
    [/flags/i, "flags"],
    [/layer/i, "layer"],
    [/filterKey|\bkey\b/i, f.keyMinted ? "name" : "key"],
    [/name/i, "name"],
  ];
  for (const [re, member] of byMember) if (re.test(p)) return member === "" ? f.path : `${f.path}.${member}`;
  const byCode: Partial<Record<FwpErrorName, string>> = {
    FWP_E_ALREADY_EXISTS: f.keyMinted ? "name" : "key",
    FWP_E_SUBLAYER_NOT_FOUND: "sublayer",
    FWP_E_CALLOUT_NOT_FOUND: "callout",
    FWP_E_INCOMPATIBLE_LAYER: "callout",
    FWP_E_INVALID_WEIGHT: "weight",
    FWP_E_INVALID_FLAGS: "flags",
    FWP_E_PROVIDER_NOT_FOUND: "providerKey",
    FWP_E_INVALID_ACTION_TYPE: "action",
    FWP_E_ACTION_INCOMPATIBLE_WITH_LAYER: "action",
    FWP_E_LAYER_NOT_FOUND: "layer",
    FWP_E_NULL_DISPLAY_NAME: "name",
  };
  const member = byCode[e.code];
  return member === undefined ? f.path : `${f.path}.${member}`;
}

function relocate(e: unknown, path: string): never {
  if (e instanceof FwpError) {
    throw new FwpError(e.code, { path, ...(e.detail === undefined ? {} : { detail: e.detail }), cause: e });
  }
  throw e;
}

/** The engine's spec of a document filter; optional members are present only when the document has them. */
function filterSpec(f: PolicyFilter): FilterSpec {
  const conditions: FilterConditionSpec[] = [];
  for (const c of f.conditions)
    conditions.push({ fieldKey: c.fieldKey, matchType: c.matchType, conditionValue: c.value });
  const spec: { -readonly [K in keyof FilterSpec]: FilterSpec[K] } = {
    filterKey: f.key,
    name: f.name,
    layer: f.layer,
    weight: f.weight,
    conditions,
    action: f.calloutKey === undefined ? { type: f.action } : { type: f.action, calloutKey: f.calloutKey },
    flags: f.flags,
  };
  if (f.description !== undefined) spec.description = f.description;
  if (f.sublayerKey !== undefined) spec.sublayer = f.sublayerKey;
  if (f.providerKey !== undefined) spec.providerKey = f.providerKey;
  return spec;
}

/**
 * What a load has added so far, undone in the reverse order of the adds: filters, then callouts (each
 * unregistered before it is deleted), sublayers and providers. Counts, not a closure per object: a
 * 100,000-filter document would otherwise keep 100,000 closures alive until it is loaded.
 */
interface Added {
  providers: number;
  sublayers: number;
  callouts: number;
  /** Callouts whose behaviour was registered. */
  readonly registered: Set<Guid>;
}

function undoLoad(engine: FilterEngine, policy: ParsedPolicy, added: Added, filters: readonly Filter[]): void {
  const bestEffort = (step: () => void): void => {
    try {
      step();
    } catch {
      // Best effort: the original error is the one to report.
    }
  };
  for (let i = filters.length - 1; i >= 0; i--) {
    const key = (filters[i] as Filter).filterKey;
    bestEffort(() => engine.deleteFilter(key));
  }
  for (let i = added.callouts - 1; i >= 0; i--) {
    const key = (policy.callouts[i] as ParsedPolicy["callouts"][number]).key;
    if (added.registered.has(key)) bestEffort(() => engine.unregisterCallout(key));
    bestEffort(() => engine.deleteCallout(key));
  }
  for (let i = added.sublayers - 1; i >= 0; i--) {
    const key = (policy.sublayers[i] as ParsedPolicy["sublayers"][number]).key;
    bestEffort(() => engine.deleteSublayer(key));
  }
  for (let i = added.providers - 1; i >= 0; i--) {
    const key = (policy.providers[i] as ParsedPolicy["providers"][number]).key;
    bestEffort(() => engine.deleteProvider(key));
  }
}

/**
 * Parses a policy document (text, JSON or YAML, or data) and programs an engine with it. Throws
 * PolicySyntaxError for malformed text and FwpError with the document path otherwise.
 */
export function loadPolicyDocument(input: string | unknown, options: LoadPolicyOptions = {}): LoadedPolicy {
  const policy = parsePolicyDocument(input, options);
  const engine = options.engine ?? new FilterEngine(options.engineInit ?? {});
  const added: Added = { providers: 0, sublayers: 0, callouts: 0, registered: new Set() };
  const filters: Filter[] = [];
  try {
    const providers = new Map<string, Guid>();
    for (const p of policy.providers) {
      try {
        engine.addProvider({
          providerKey: p.key,
          name: p.name,
          flags: p.flags,
          ...(p.description === undefined ? {} : { description: p.description }),
        });
      } catch (e) {
        relocate(e, `${p.path}.${p.keyMinted ? "name" : "key"}`);
      }
      added.providers++;
      providers.set(p.name, p.key);
    }
    const sublayers = new Map<string, Sublayer>();
    for (const s of policy.sublayers) {
      let sublayer: Sublayer;
      try {
        sublayer = engine.addSublayer({
          subLayerKey: s.key,
          name: s.name,
          weight: s.weight,
          flags: s.flags,
          ...(s.description === undefined ? {} : { description: s.description }),
          ...(s.providerKey === undefined ? {} : { providerKey: s.providerKey }),
        });
      } catch (e) {
        const member = e instanceof FwpError && e.code === "FWP_E_PROVIDER_NOT_FOUND" ? "providerKey" : undefined;
        relocate(
          e,
          `${s.path}.${member ?? (e instanceof FwpError && e.code === "FWP_E_ALREADY_EXISTS" ? (s.keyMinted ? "name" : "key") : "weight")}`,
        );
      }
      added.sublayers++;
      sublayers.set(s.name, sublayer);
    }
    const callouts = new Map<string, Guid>();
    const behaviours = new Map<Guid, CalloutBehaviour>();
    for (const c of policy.callouts) {
      try {
        engine.addCallout({
          calloutKey: c.key,
          name: c.name,
          applicableLayer: c.layer,
          flags: c.flags,
          ...(c.description === undefined ? {} : { description: c.description }),
          ...(c.providerKey === undefined ? {} : { providerKey: c.providerKey }),
        });
      } catch (e) {
        const code = e instanceof FwpError ? e.code : undefined;
        const member =
          code === "FWP_E_PROVIDER_NOT_FOUND"
            ? "providerKey"
            : code === "FWP_E_LAYER_NOT_FOUND"
              ? "layer"
              : c.keyMinted
                ? "name"
                : "key";
        relocate(e, `${c.path}.${member}`);
      }
      added.callouts++;
      if (c.behaviour !== undefined) {
        try {
          engine.registerCallout({ calloutKey: c.key, classifyFn: behaviourClassifyFn(c.behaviour) });
        } catch (e) {
          relocate(e, `${c.path}.behaviour`);
        }
        added.registered.add(c.key);
        behaviours.set(c.key, c.behaviour);
      }
      callouts.set(c.name, c.key);
    }
    for (const f of policy.filters) {
      let filter: Filter;
      try {
        filter = engine.addFilter(filterSpec(f));
      } catch (e) {
        relocate(e, e instanceof FwpError ? filterMemberPath(f, e) : f.path);
      }
      filters.push(filter);
    }
    return { engine, policy, providers, sublayers, callouts, filters, behaviours };
  } catch (e) {
    undoLoad(engine, policy, added, filters);
    throw e;
  }
}
