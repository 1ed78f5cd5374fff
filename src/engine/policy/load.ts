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
import type { Filter, FilterSpec, Sublayer } from "../model.ts";
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

function filterSpec(f: PolicyFilter): FilterSpec {
  return {
    filterKey: f.key,
    name: f.name,
    ...(f.description === undefined ? {} : { description: f.description }),
    layer: f.layer,
    ...(f.sublayerKey === undefined ? {} : { sublayer: f.sublayerKey }),
    weight: f.weight,
    conditions: f.conditions.map((c) => ({ fieldKey: c.fieldKey, matchType: c.matchType, conditionValue: c.value })),
    action: { type: f.action, ...(f.calloutKey === undefined ? {} : { calloutKey: f.calloutKey }) },
    flags: f.flags,
    ...(f.providerKey === undefined ? {} : { providerKey: f.providerKey }),
  };
}

/**
 * Parses a policy document (text, JSON or YAML, or data) and programs an engine with it. Throws
 * PolicySyntaxError for malformed text and FwpError with the document path otherwise.
 */
export function loadPolicyDocument(input: string | unknown, options: LoadPolicyOptions = {}): LoadedPolicy {
  const policy = parsePolicyDocument(input, options);
  const engine = options.engine ?? new FilterEngine(options.engineInit ?? {});
  const undo: (() => void)[] = [];
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
      undo.push(() => engine.deleteProvider(p.key));
      providers.set(p.name, p.key);
    }
    const sublayers = new Map<string, Sublayer>();
    for (const s of policy.sublayers) {
      let added: Sublayer;
      try {
        added = engine.addSublayer({
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
      undo.push(() => engine.deleteSublayer(s.key));
      sublayers.set(s.name, added);
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
      undo.push(() => engine.deleteCallout(c.key));
      if (c.behaviour !== undefined) {
        try {
          engine.registerCallout({ calloutKey: c.key, classifyFn: behaviourClassifyFn(c.behaviour) });
        } catch (e) {
          relocate(e, `${c.path}.behaviour`);
        }
        undo.push(() => engine.unregisterCallout(c.key));
        behaviours.set(c.key, c.behaviour);
      }
      callouts.set(c.name, c.key);
    }
    const filters: Filter[] = [];
    for (const f of policy.filters) {
      let added: Filter;
      try {
        added = engine.addFilter(filterSpec(f));
      } catch (e) {
        relocate(e, e instanceof FwpError ? filterMemberPath(f, e) : f.path);
      }
      undo.push(() => engine.deleteFilter(added.filterKey));
      filters.push(added);
    }
    return { engine, policy, providers, sublayers, callouts, filters, behaviours };
  } catch (e) {
    for (let i = undo.length - 1; i >= 0; i--) {
      try {
        undo[i]?.();
      } catch {
        // Best effort: the original error is the one to report.
      }
    }
    throw e;
  }
}
