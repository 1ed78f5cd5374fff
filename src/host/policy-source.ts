/**
 * Where `replay`, `explain` and `diff` get a policy from: a policy document (`--policy`), a real machine's
 * `netsh wfp show state` / `show filters` dump (`--state`, read-only) or the durable store (`--store`).
 * Each gives a FilterEngine (the indexed classifier for documents; the BFE's engine otherwise).
 *
 * Real policies reference third-party callouts whose code openwfp does not have. An unregistered callout
 * would act as Windows makes it act (C14: a terminating callout blocks), which is rarely what the user
 * wants to learn; so every referenced callout that is not registered gets an explicit, reported
 * assumption — a declarative behaviour (default `continue`; `--callout KEY=block|permit|continue|...`).
 * Built-in callouts are assumed the same way (their kernel halves are Windows' own), except those whose
 * behaviour is documented by what they are: the two SILENT_DROP callouts Windows Firewall's stealth mode
 * puts at INBOUND_TRANSPORT_DISCARD ("silently drops inbound packets with no listening TCP endpoint",
 * ../shared/reference/providers.json) block by default, which suppresses the stack's RST (C17, F6).
 */
import { readFileSync } from "node:fs";
import { describeError, type Guid, OpenWfpError } from "../base/index.ts";
import {
  behaviourClassifyFn,
  type BehaviourWord,
  BEHAVIOUR_WORDS,
  createIndexedClassifier,
  type FilterEngine,
  loadPolicyDocument,
  parseBehaviour,
} from "../engine/index.ts";
import { openHost } from "./host.ts";

export type PolicySourceSpec =
  | { readonly kind: "policy"; readonly path: string }
  | { readonly kind: "state"; readonly path: string }
  | { readonly kind: "store"; readonly path: string };

/** A callout whose behaviour was assumed, and how often its filters were consulted (for the report). */
export interface CalloutAssumption {
  readonly calloutKey: Guid;
  readonly calloutName: string;
  readonly behaviour: BehaviourWord | string;
  /** Given with --callout (true) or the default (false). */
  readonly explicit: boolean;
  /** Filters that reference it. */
  readonly filters: number;
}

export interface LoadedPolicySource {
  readonly engine: FilterEngine;
  readonly description: string;
  readonly assumptions: readonly CalloutAssumption[];
  /** Filters of a dump left out of the engine (unsupported SDDL), with why. */
  readonly skipped: readonly { readonly filterKey: string; readonly reason: string }[];
  close(): void;
}

/**
 * Built-in callouts whose behaviour is known from their documentation, by key: the default assumed for
 * them instead of the fallback (an explicit `--callout` still wins).
 */
export const DOCUMENTED_CALLOUT_BEHAVIOURS: ReadonlyMap<string, BehaviourWord> = new Map<string, BehaviourWord>([
  // FWPM_CALLOUT_WFP_TRANSPORT_LAYER_V4_SILENT_DROP / _V6_SILENT_DROP (INBOUND_TRANSPORT_V4/V6_DISCARD).
  ["eda08606-2494-4d78-89bc-67837c03b969", "block"],
  ["8693cc74-a075-4156-b476-9286eece814e", "block"],
]);

/** Parses `--callout KEY=BEHAVIOUR` options. */
export function parseCalloutOptions(values: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq <= 0)
      throw new OpenWfpError("E_USAGE", `--callout expects KEY=BEHAVIOUR, got ${JSON.stringify(v)}`, {
        path: "--callout",
      });
    const key = v
      .slice(0, eq)
      .trim()
      .toLowerCase()
      .replace(/^\{|\}$/g, "");
    const word = v.slice(eq + 1).trim();
    parseBehaviour(word, `--callout ${key}`);
    out.set(key, word);
  }
  return out;
}

/**
 * Registers a declarative behaviour for every callout the engine's filters use and nobody registered.
 * `overrides` maps callout keys (lower-case GUIDs) to behaviour words; the rest get their documented
 * behaviour (DOCUMENTED_CALLOUT_BEHAVIOURS) or else `fallback`.
 */
export function assumeCallouts(
  engine: FilterEngine,
  overrides: ReadonlyMap<string, string> = new Map(),
  fallback: BehaviourWord = "continue",
): CalloutAssumption[] {
  if (!BEHAVIOUR_WORDS.includes(fallback)) throw new OpenWfpError("E_USAGE", `unknown behaviour ${fallback}`);
  const uses = new Map<Guid, number>();
  for (const f of engine.filters()) {
    const key = f.action.calloutKey;
    if (key !== undefined) uses.set(key, (uses.get(key) ?? 0) + 1);
  }
  const out: CalloutAssumption[] = [];
  for (const [calloutKey, filters] of [...uses].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (engine.isCalloutRegistered(calloutKey)) continue;
    const given = overrides.get(calloutKey);
    const word = given ?? DOCUMENTED_CALLOUT_BEHAVIOURS.get(calloutKey) ?? fallback;
    engine.registerCallout({
      calloutKey,
      classifyFn: behaviourClassifyFn(parseBehaviour(word, `--callout ${calloutKey}`)),
    });
    out.push({
      calloutKey,
      calloutName: engine.getCallout(calloutKey)?.name ?? "",
      behaviour: word,
      explicit: given !== undefined,
      filters,
    });
  }
  for (const key of overrides.keys()) {
    if (!uses.has(key as Guid))
      throw new OpenWfpError("E_USAGE", `no filter of this policy uses callout ${key}`, { path: `--callout ${key}` });
  }
  return out;
}

/** Opens a policy source and prepares its engine (callout assumptions applied). */
export async function loadPolicySource(
  spec: PolicySourceSpec,
  callouts: ReadonlyMap<string, string> = new Map(),
): Promise<LoadedPolicySource> {
  if (spec.kind === "policy") {
    let text: string;
    try {
      text = readFileSync(spec.path, "utf8");
    } catch (e) {
      throw new OpenWfpError("E_FILE", `cannot read policy ${spec.path}: ${describeError(e)}`, { path: spec.path });
    }
    const { engine } = loadPolicyDocument(text, { engineInit: { classifier: createIndexedClassifier() } });
    const assumptions = assumeCallouts(engine, callouts);
    return { engine, description: `policy ${spec.path}`, assumptions, skipped: [], close: () => {} };
  }
  const host = await openHost(spec.kind === "state" ? { state: spec.path } : { store: spec.path });
  const engine = host.bfe.engine;
  const assumptions = assumeCallouts(engine, callouts);
  return {
    engine,
    description: `${spec.kind === "state" ? "netsh dump" : "store"} ${spec.path}`,
    assumptions,
    skipped: host.skipped.map((s) => ({ filterKey: s.filterKey, reason: s.reason })),
    close: () => host.close(),
  };
}
