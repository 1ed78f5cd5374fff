/**
 * FilterEngine: the kernel filter engine in model form. It keeps providers, provider contexts,
 * sublayers, management callouts, callout registrations and filters; validates every add (§A.5);
 * weighs filters (§B); and classifies one layer at a time with arbitration (§C) over a pluggable
 * Classifier (linear by default). A layer is compiled lazily on its first classify after a change.
 *
 * Every engine starts with the built-in sublayers (B7 weights, weight.ts), the built-in providers and
 * the built-in management callouts (unregistered until a registration arrives; C14 applies).
 *
 * Flow contexts are owned by the shim (D14–D17): it passes them to classify through
 * `ClassifyRequest.flowContext` and, when a flow with contexts ends, calls `flowDeleted(layer,
 * callout, flowContext)` once per context so the callout's flowDeleteFn runs.
 */
import type { Guid } from "../base/guid.ts";
import { GUID_NULL, guidToBytes, newGuid } from "../base/guid.ts";
import { SeededRng } from "../base/rng.ts";
import {
  BUILTIN_CALLOUTS,
  BUILTIN_PROVIDERS,
  BUILTIN_SUBLAYERS,
  compareBytes,
  FWPM_SUBLAYER,
  FwpError,
  type FwpErrorName,
  type FwpValue,
  FWP_CALLOUT_FLAG,
  FWPM_FILTER_FLAG,
  findLayer,
  type Layer,
  type LayerRef,
} from "../fwp/index.ts";
import { type ArbitrationInput, ArbitrationRecorder, arbitrate, type RuntimeCallout } from "./arbitrate.ts";
import type { Classifier, CompiledLayer, LayerPolicy, SublayerPolicy } from "./classifier.ts";
import { compileFilter, type FilterCompileContext, isCalloutAction } from "./compile-filter.ts";
import { linearClassifier } from "./linear.ts";
import { freshGuid, guidOfValue } from "./lookup.ts";
import { FILTER_FLAG_DISABLED, providerFields } from "./provider-spec.ts";
import type {
  Callout,
  CalloutRegistration,
  CalloutSpec,
  ClassifyRequest,
  ClassifyResult,
  Filter,
  FilterCondition,
  FilterConditionSpec,
  FilterSpec,
  Provider,
  ProviderContext,
  ProviderContextSpec,
  ProviderSpec,
  Sublayer,
  SublayerSpec,
} from "./model.ts";
import { type EngineOptions, type ResolvedEngineOptions, resolveEngineOptions } from "./options.ts";
import { buildTrace } from "./trace.ts";
import { BUILTIN_SUBLAYER_WEIGHTS, DEFAULT_SUBLAYER_NAME } from "./weight.ts";

export interface FilterEngineInit {
  /** Default linearClassifier. */
  readonly classifier?: Classifier;
  readonly options?: EngineOptions;
  /** Source of random bytes for fresh GUIDs (A17). Default: a SeededRng with a fixed seed. */
  readonly randomBytes?: (n: number) => Uint8Array;
}

interface LayerState {
  readonly policy: LayerPolicy;
  readonly compiled: CompiledLayer;
}

/**
 * One change of an atomic batch (`applyBatch`). Adds take the same specs as the single calls (with the
 * restore fields `filterId` / `effectiveWeight` / `calloutId` / `providerContextId` when ids must be kept).
 */
export type EngineBatchOp =
  | { readonly op: "addProvider"; readonly spec: ProviderSpec }
  | { readonly op: "addProviderContext"; readonly spec: ProviderContextSpec }
  | { readonly op: "addSublayer"; readonly spec: SublayerSpec }
  | { readonly op: "addCallout"; readonly spec: CalloutSpec }
  | { readonly op: "addFilter"; readonly spec: FilterSpec }
  | { readonly op: "deleteProvider"; readonly key: Guid | string }
  | { readonly op: "deleteProviderContext"; readonly key: Guid | string }
  | { readonly op: "deleteSublayer"; readonly key: Guid | string }
  | { readonly op: "deleteCallout"; readonly key: Guid | string | number }
  | { readonly op: "deleteFilter"; readonly key: bigint | Guid | string };

/** What each op of a batch added or deleted, in op order. */
export type EngineBatchResult = Provider | ProviderContext | Sublayer | Callout | Filter;

/** One op a fork's batch applied, with what it added or deleted. */
interface StagedOp {
  readonly op: EngineBatchOp["op"];
  /** The op itself for deletes (replayed as they are); null for adds (their result is published). */
  readonly remove: EngineBatchOp | null;
  readonly result: EngineBatchResult;
}

/**
 * While a batch applies: the pre-batch state of every layer it touched, for classify (atomic publication).
 * Both maps are made on first use. Only foreign code — a callout's notifyFn, the batch's beforePublish —
 * can classify while a batch runs, so a batch that runs none (a one-op batch on a fork: the BFE stages each
 * call of a transaction so) keeps no deltas.
 */
interface BatchState {
  /** Foreign code may run during the batch (registrations or beforePublish): keep what classify needs. */
  readonly watched: boolean;
  /** Compiled pre-batch states. */
  frozen: Map<number, LayerState> | null;
  /**
   * Touched layers that were not compiled when first touched: what the batch added to and removed from
   * each, so the pre-batch filter set can be rebuilt (and compiled) only if a classify asks for it during
   * the batch. Recording a delta costs O(1) per op, so a batch of n adds stays linear.
   */
  deltas: Map<number, { readonly added: Set<Filter>; readonly removed: Set<Filter> }> | null;
}

const FIRST_CALLOUT_ID = 1;

const FILTER_FLAG_BOOTTIME: number = FWPM_FILTER_FLAG.FWPM_FILTER_FLAG_BOOTTIME;
const CALLOUT_FLAG_ENABLE_COMMIT_ADD_NOTIFY: number = FWP_CALLOUT_FLAG.FWP_CALLOUT_FLAG_ENABLE_COMMIT_ADD_NOTIFY;

/**
 * Which filters classify with respect to FWPM_FILTER_FLAG_BOOTTIME (H15): "boot" — the TCP/IP driver has
 * started and BFE has not, only boot-time filters are enforced; "removed" — BFE has started and removed them
 * from enforcement (they stay objects: enumerable, exportable); "enforced" — every filter classifies, boot-time
 * ones included (a bare engine's default, and BfeOpenInit.bootTimeFiltersAfterStart "enforced").
 */
export type BootTimeEnforcement = "boot" | "enforced" | "removed";

function fail(code: FwpErrorName, path: string | undefined, detail: string): never {
  throw new FwpError(code, path === undefined ? { detail } : { path, detail });
}

const keyOf = guidOfValue;

/** Ids up to this are Smis (small integers) on every 64-bit V8. */
const SMALL_ID = 0x3fff_ffffn;

/**
 * A filterId as a Map key: a number when it is small (as filterIds are), the bigint otherwise. A Map
 * compares small-number keys in place, while every bigint key is an object it must read to compare:
 * at 100k filters that made each look-up a cache miss or two.
 */
function idKey(id: bigint): number | bigint {
  return id <= SMALL_ID && id >= 0n ? Number(id) : id;
}

export class FilterEngine {
  readonly classifier: Classifier;
  readonly options: ResolvedEngineOptions;
  readonly #init: FilterEngineInit;
  #batch: BatchState | null = null;
  readonly #randomBytes: (n: number) => Uint8Array;
  // The object tables. A fork published by applyStaged hands them to its origin and keeps reading them;
  // while #shared it copies them before its first change (#own).
  #providers = new Map<Guid, Provider>();
  #providerContexts = new Map<Guid, ProviderContext>();
  #sublayers = new Map<Guid, Sublayer>();
  #callouts = new Map<Guid, Callout>();
  #calloutsById = new Map<number, Callout>();
  #filters = new Map<Guid, Filter>();
  /** By filterId, as idKey gives it (a small number for the usual ids); insertion order is filters() order. */
  #filtersById = new Map<number | bigint, Filter>();
  #filtersByLayer = new Map<number, Set<Filter>>();
  /** The tables belong to another engine (this fork was published): copy them before changing anything. */
  #shared = false;
  readonly #registrations = new Map<Guid, RuntimeCallout>();
  readonly #compiled = new Map<number, LayerState>();
  #defaultSublayer: Sublayer;
  readonly #scratch: Filter[][] = [];
  #depth = 0;
  #nextFilterId: bigint;
  #nextCalloutId = FIRST_CALLOUT_ID;
  #nextProviderContextId = 1n;
  readonly #registered = (key: Guid): RuntimeCallout | undefined => this.#registrations.get(key);
  /** What compileFilter looks up, made once (an add allocates no closures). */
  readonly #compileContext: FilterCompileContext;
  /**
   * Counts changes to the object tables; an engine whose count is unchanged holds the same objects. A
   * fork's staged outcomes may be published as they are only while its origin's count is unchanged.
   */
  #version = 0;
  /** For a fork: the engine it was taken from and that engine's #version at the time. */
  #origin: FilterEngine | null = null;
  #originVersion = 0;
  /**
   * For a fork: every op its batches applied since it was taken, with its result, in order; valid while
   * #version === #journalVersion (any change outside a batch breaks it for good).
   */
  #journal: StagedOp[] | null = null;
  #journalVersion = 0;
  #journalBroken = false;
  /** H15: which filters classify with respect to FWPM_FILTER_FLAG_BOOTTIME (setBootTimeEnforcement). */
  #bootTime: BootTimeEnforcement = "enforced";
  /** See `policyVersion`: bumped by `#policiesChanged` wherever a layer's policy object may be replaced. */
  #policyVersion = 0;

  constructor(init: FilterEngineInit = {}) {
    this.#init = init;
    this.classifier = init.classifier ?? linearClassifier;
    this.options = resolveEngineOptions(init.options);
    this.#compileContext = {
      options: this.options,
      sublayer: (k) => this.#sublayers.get(k),
      defaultSublayer: () => this.#defaultSublayer,
      provider: (k) => this.#providers.get(k),
      providerContext: (k) => this.#providerContexts.get(k),
      callout: (k) => this.#callouts.get(k),
      filterKeyExists: (k) => this.#filters.has(k),
      newGuid: () => freshGuid(this.#randomBytes),
    };
    if (init.randomBytes !== undefined) this.#randomBytes = init.randomBytes;
    else {
      const rng = new SeededRng(0x0ff1ce);
      this.#randomBytes = (n) => rng.bytes(n);
    }
    this.#nextFilterId = this.options.firstFilterId;
    for (const p of BUILTIN_PROVIDERS) {
      if (p.aliasOf !== null || this.#providers.has(p.key)) continue;
      this.#providers.set(
        p.key,
        Object.freeze({
          providerKey: p.key,
          name: p.name,
          description: p.description ?? undefined,
          flags: 1,
          builtin: true,
        }),
      );
    }
    for (const s of BUILTIN_SUBLAYERS) {
      if (s.aliasOf !== null || this.#sublayers.has(s.key)) continue;
      const name = s.name as keyof typeof BUILTIN_SUBLAYER_WEIGHTS;
      const weight = this.options.builtinSublayerWeights[name] ?? BUILTIN_SUBLAYER_WEIGHTS[name] ?? 0;
      this.#sublayers.set(
        s.key,
        Object.freeze({
          subLayerKey: s.key,
          name: s.name,
          description: s.description ?? undefined,
          weight,
          flags: 1,
          providerKey: undefined,
          builtin: true,
        }),
      );
    }
    const def = this.#sublayers.get(FWPM_SUBLAYER[DEFAULT_SUBLAYER_NAME]);
    if (def === undefined) throw new Error("built-in default sublayer missing from BUILTIN_SUBLAYERS");
    this.#defaultSublayer = def;
    for (const c of BUILTIN_CALLOUTS) {
      if (c.aliasOf !== null || c.documentationOnly || this.#callouts.has(c.key)) continue;
      const layer = c.layer === null ? null : (findLayer(c.layer) ?? null);
      this.#storeCallout({
        calloutKey: c.key,
        calloutId: this.#nextCalloutId++,
        name: c.name,
        description: c.description ?? undefined,
        applicableLayer: layer,
        providerKey: undefined,
        flags: 0x10000,
        builtin: true,
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Providers and provider contexts
  // ---------------------------------------------------------------------------------------------

  /** FwpmProviderAdd0. Errors: NULL_DISPLAY_NAME, ALREADY_EXISTS, INVALID_PARAMETER (bad key). */
  addProvider(spec: ProviderSpec): Provider {
    this.#own();
    const key = keyOf(spec.providerKey);
    if (key === undefined || key === GUID_NULL)
      return fail("FWP_E_INVALID_PARAMETER", "providerKey", "providerKey must be a GUID.");
    if (typeof spec.name !== "string")
      return fail("FWP_E_NULL_DISPLAY_NAME", "name", "A provider needs a display name.");
    if (this.#providers.has(key)) return fail("FWP_E_ALREADY_EXISTS", "providerKey", `Provider ${key} exists.`);
    const p: Provider = Object.freeze({
      providerKey: key,
      name: spec.name,
      description: spec.description,
      ...providerFields(spec),
      builtin: false,
    });
    this.#providers.set(key, p);
    this.#version++;
    return p;
  }

  /** FwpmProviderDeleteByKey0. Errors: PROVIDER_NOT_FOUND, BUILTIN_OBJECT, IN_USE. */
  deleteProvider(providerKey: Guid | string): void {
    this.#own();
    const key = keyOf(providerKey);
    const p = key === undefined ? undefined : this.#providers.get(key);
    if (p === undefined) fail("FWP_E_PROVIDER_NOT_FOUND", undefined, `No provider ${String(providerKey)}.`);
    if (p.builtin) fail("FWP_E_BUILTIN_OBJECT", undefined, `${p.name} is built in.`);
    const used =
      [...this.#filters.values()].some((f) => f.providerKey === p.providerKey) ||
      [...this.#sublayers.values()].some((s) => s.providerKey === p.providerKey) ||
      [...this.#callouts.values()].some((c) => c.providerKey === p.providerKey) ||
      [...this.#providerContexts.values()].some((c) => c.providerKey === p.providerKey);
    if (used) fail("FWP_E_IN_USE", undefined, `Provider ${p.name} is still referenced.`);
    this.#providers.delete(p.providerKey);
    this.#version++;
  }

  getProvider(providerKey: Guid | string): Provider | undefined {
    const key = keyOf(providerKey);
    return key === undefined ? undefined : this.#providers.get(key);
  }

  providers(): Provider[] {
    return [...this.#providers.values()];
  }

  /** FwpmProviderContextAdd0 (reduced). Errors: NULL_DISPLAY_NAME, PROVIDER_NOT_FOUND, ALREADY_EXISTS. */
  addProviderContext(spec: ProviderContextSpec): ProviderContext {
    this.#own();
    const key = keyOf(spec.providerContextKey);
    if (key === undefined || key === GUID_NULL) {
      return fail("FWP_E_INVALID_PARAMETER", "providerContextKey", "providerContextKey must be a GUID.");
    }
    if (typeof spec.name !== "string")
      return fail("FWP_E_NULL_DISPLAY_NAME", "name", "A provider context needs a display name.");
    let providerKey: Guid | undefined;
    if (spec.providerKey !== undefined) {
      providerKey = keyOf(spec.providerKey);
      if (providerKey === undefined || !this.#providers.has(providerKey)) {
        fail("FWP_E_PROVIDER_NOT_FOUND", "providerKey", `No provider ${String(spec.providerKey)}.`);
      }
    }
    if (this.#providerContexts.has(key))
      fail("FWP_E_ALREADY_EXISTS", "providerContextKey", `Provider context ${key} exists.`);
    const wanted = spec.providerContextId;
    if (wanted !== undefined) {
      if (typeof wanted !== "bigint" || wanted <= 0n || wanted > 0xffffffffffffffffn) {
        fail("FWP_E_INVALID_PARAMETER", "providerContextId", "providerContextId is a non-zero UINT64.");
      }
      for (const other of this.#providerContexts.values()) {
        if (other.providerContextId === wanted)
          fail("FWP_E_ALREADY_EXISTS", "providerContextId", `Provider context id ${wanted} is in use.`);
      }
    }
    const providerContextId = wanted ?? this.#nextProviderContextId;
    if (providerContextId >= this.#nextProviderContextId) this.#nextProviderContextId = providerContextId + 1n;
    const c: ProviderContext = Object.freeze({
      providerContextKey: key,
      providerContextId,
      name: spec.name,
      providerKey,
      flags: spec.flags ?? 0,
      data: spec.data,
    });
    this.#providerContexts.set(key, c);
    this.#version++;
    return c;
  }

  /** Errors: PROVIDER_CONTEXT_NOT_FOUND, IN_USE. */
  deleteProviderContext(providerContextKey: Guid | string): void {
    this.#own();
    const key = keyOf(providerContextKey);
    const c = key === undefined ? undefined : this.#providerContexts.get(key);
    if (c === undefined)
      fail("FWP_E_PROVIDER_CONTEXT_NOT_FOUND", undefined, `No provider context ${String(providerContextKey)}.`);
    if ([...this.#filters.values()].some((f) => f.providerContextKey === c.providerContextKey)) {
      fail("FWP_E_IN_USE", undefined, `Provider context ${c.name} is still referenced.`);
    }
    this.#providerContexts.delete(c.providerContextKey);
    this.#version++;
  }

  getProviderContext(providerContextKey: Guid | string): ProviderContext | undefined {
    const key = keyOf(providerContextKey);
    return key === undefined ? undefined : this.#providerContexts.get(key);
  }

  providerContexts(): ProviderContext[] {
    return [...this.#providerContexts.values()];
  }

  // ---------------------------------------------------------------------------------------------
  // Sublayers
  // ---------------------------------------------------------------------------------------------

  /**
   * FwpmSubLayerAdd0. Errors: NULL_DISPLAY_NAME (name), INVALID_FLAGS (flags), INVALID_WEIGHT (weight
   * not a UINT16), PROVIDER_NOT_FOUND (providerKey), ALREADY_EXISTS (subLayerKey).
   */
  addSublayer(spec: SublayerSpec): Sublayer {
    this.#own();
    if (typeof spec !== "object" || spec === null)
      return fail("FWP_E_NULL_POINTER", "", "A sublayer must be an object.");
    if (typeof spec.name !== "string")
      return fail("FWP_E_NULL_DISPLAY_NAME", "name", "A sublayer needs a display name.");
    const flags = spec.flags ?? 0;
    if (!Number.isInteger(flags) || (flags & ~1) !== 0)
      return fail("FWP_E_INVALID_FLAGS", "flags", "Unknown sublayer flag bits.");
    if (!Number.isInteger(spec.weight) || spec.weight < 0 || spec.weight > 0xffff) {
      return fail("FWP_E_INVALID_WEIGHT", "weight", `A sublayer weight is a UINT16, got ${String(spec.weight)}.`);
    }
    let providerKey: Guid | undefined;
    if (spec.providerKey !== undefined) {
      providerKey = keyOf(spec.providerKey);
      if (providerKey === undefined || !this.#providers.has(providerKey)) {
        return fail("FWP_E_PROVIDER_NOT_FOUND", "providerKey", `No provider ${String(spec.providerKey)}.`);
      }
    }
    let key: Guid;
    if (spec.subLayerKey === undefined) key = newGuid(this.#randomBytes);
    else {
      const k = keyOf(spec.subLayerKey);
      if (k === undefined) return fail("FWP_E_INVALID_PARAMETER", "subLayerKey", "subLayerKey must be a GUID.");
      key = k === GUID_NULL ? newGuid(this.#randomBytes) : k;
    }
    if (this.#sublayers.has(key)) fail("FWP_E_ALREADY_EXISTS", "subLayerKey", `Sublayer ${key} exists.`);
    const s: Sublayer = Object.freeze({
      subLayerKey: key,
      name: spec.name,
      description: spec.description,
      weight: spec.weight,
      flags,
      providerKey,
      builtin: false,
    });
    this.#sublayers.set(key, s);
    this.#version++;
    return s;
  }

  /** FwpmSubLayerDeleteByKey0. Errors: SUBLAYER_NOT_FOUND, BUILTIN_OBJECT, IN_USE (a filter lives in it). */
  deleteSublayer(subLayerKey: Guid | string): void {
    this.#own();
    const key = keyOf(subLayerKey);
    const s = key === undefined ? undefined : this.#sublayers.get(key);
    if (s === undefined) fail("FWP_E_SUBLAYER_NOT_FOUND", undefined, `No sublayer ${String(subLayerKey)}.`);
    if (s.builtin) fail("FWP_E_BUILTIN_OBJECT", undefined, `${s.name} is built in.`);
    if ([...this.#filters.values()].some((f) => f.sublayer === s))
      fail("FWP_E_IN_USE", undefined, `Sublayer ${s.name} holds filters.`);
    this.#sublayers.delete(s.subLayerKey);
    this.#version++;
  }

  getSublayer(subLayerKey: Guid | string): Sublayer | undefined {
    const key = keyOf(subLayerKey);
    return key === undefined ? undefined : this.#sublayers.get(key);
  }

  /** The default sublayer for subLayerKey GUID_NULL (B6: FWPM_SUBLAYER_UNIVERSAL). */
  get defaultSublayer(): Sublayer {
    return this.#defaultSublayer;
  }

  /** Every sublayer in evaluation order (weight desc, then the B11 tie-break). */
  sublayers(): Sublayer[] {
    return [...this.#sublayers.values()].sort((a, b) => this.#compareSublayers(a, b));
  }

  // ---------------------------------------------------------------------------------------------
  // Callouts
  // ---------------------------------------------------------------------------------------------

  /**
   * FwpmCalloutAdd0 (the management half, D1). Errors: NULL_DISPLAY_NAME, LAYER_NOT_FOUND
   * (applicableLayer), PROVIDER_NOT_FOUND, ALREADY_EXISTS (calloutKey).
   */
  addCallout(spec: CalloutSpec): Callout {
    this.#own();
    if (typeof spec !== "object" || spec === null)
      return fail("FWP_E_NULL_POINTER", "", "A callout must be an object.");
    if (typeof spec.name !== "string")
      return fail("FWP_E_NULL_DISPLAY_NAME", "name", "A callout needs a display name.");
    const layer = findLayer(spec.applicableLayer);
    if (layer === undefined || layer.key === null) {
      return fail("FWP_E_LAYER_NOT_FOUND", "applicableLayer", `No layer ${JSON.stringify(spec.applicableLayer)}.`);
    }
    let providerKey: Guid | undefined;
    if (spec.providerKey !== undefined) {
      providerKey = keyOf(spec.providerKey);
      if (providerKey === undefined || !this.#providers.has(providerKey)) {
        return fail("FWP_E_PROVIDER_NOT_FOUND", "providerKey", `No provider ${String(spec.providerKey)}.`);
      }
    }
    const k = keyOf(spec.calloutKey);
    if (k === undefined) return fail("FWP_E_INVALID_PARAMETER", "calloutKey", "calloutKey must be a GUID.");
    const key = k === GUID_NULL ? newGuid(this.#randomBytes) : k;
    if (this.#callouts.has(key)) fail("FWP_E_ALREADY_EXISTS", "calloutKey", `Callout ${key} exists.`);
    const wanted = spec.calloutId;
    if (wanted !== undefined) {
      if (!Number.isInteger(wanted) || wanted <= 0 || wanted > 0xffffffff) {
        fail("FWP_E_INVALID_PARAMETER", "calloutId", "calloutId is a non-zero UINT32.");
      }
      if (this.#calloutsById.has(wanted)) fail("FWP_E_ALREADY_EXISTS", "calloutId", `Callout id ${wanted} is in use.`);
    }
    const calloutId = wanted ?? this.#nextCalloutId;
    if (calloutId >= this.#nextCalloutId) this.#nextCalloutId = calloutId + 1;
    const c: Callout = {
      calloutKey: key,
      calloutId,
      name: spec.name,
      description: spec.description,
      applicableLayer: layer,
      providerKey,
      flags: spec.flags ?? 0,
      builtin: false,
    };
    this.#storeCallout(c);
    return this.#callouts.get(key) as Callout;
  }

  #storeCallout(c: Callout): void {
    const frozen = Object.freeze(c);
    this.#callouts.set(c.calloutKey, frozen);
    this.#calloutsById.set(c.calloutId, frozen);
    this.#version++;
    const runtime = this.#registrations.get(c.calloutKey);
    if (runtime !== undefined) runtime.calloutId = c.calloutId;
  }

  /** FwpmCalloutDeleteByKey0 / ById0. Errors: CALLOUT_NOT_FOUND, BUILTIN_OBJECT, IN_USE (D4). */
  deleteCallout(calloutKeyOrId: Guid | string | number): void {
    this.#own();
    const c = this.getCallout(calloutKeyOrId);
    if (c === undefined) fail("FWP_E_CALLOUT_NOT_FOUND", undefined, `No callout ${String(calloutKeyOrId)}.`);
    if (c.builtin) fail("FWP_E_BUILTIN_OBJECT", undefined, `${c.name} is built in.`);
    if ([...this.#filters.values()].some((f) => f.action.calloutKey === c.calloutKey)) {
      fail("FWP_E_IN_USE", undefined, `Callout ${c.name} is referenced by a filter.`);
    }
    this.#callouts.delete(c.calloutKey);
    this.#calloutsById.delete(c.calloutId);
    this.#version++;
    const runtime = this.#registrations.get(c.calloutKey);
    if (runtime !== undefined) runtime.calloutId = 0;
  }

  getCallout(calloutKeyOrId: Guid | string | number): Callout | undefined {
    if (typeof calloutKeyOrId === "number") return this.#calloutsById.get(calloutKeyOrId);
    const key = keyOf(calloutKeyOrId);
    return key === undefined ? undefined : this.#callouts.get(key);
  }

  callouts(): Callout[] {
    return [...this.#callouts.values()];
  }

  /**
   * FwpsCalloutRegister (the kernel half, D1–D2). Either half may come first. Existing filters are not
   * replayed to notifyFn (D13). Returns the run-time calloutId when the management callout exists.
   * Errors: ALREADY_EXISTS (already registered), INVALID_PARAMETER (bad key or no classifyFn).
   */
  registerCallout(registration: CalloutRegistration): number | undefined {
    const key = keyOf(registration.calloutKey);
    if (key === undefined) return fail("FWP_E_INVALID_PARAMETER", "calloutKey", "calloutKey must be a GUID.");
    if (typeof registration.classifyFn !== "function") {
      return fail("FWP_E_INVALID_PARAMETER", "classifyFn", "A callout registration needs a classifyFn.");
    }
    if (this.#registrations.has(key))
      return fail("FWP_E_ALREADY_EXISTS", "calloutKey", `Callout ${key} is already registered.`);
    const calloutId = this.#callouts.get(key)?.calloutId ?? 0;
    this.#registrations.set(key, { calloutKey: key, registration, calloutId });
    return calloutId === 0 ? undefined : calloutId;
  }

  /**
   * FwpsCalloutUnregisterByKey (D3): filters that reference it stay and follow C14 from now on.
   * Errors: CALLOUT_NOT_FOUND (not registered). Flow contexts are the shim's: it must call
   * `flowDeleted` for them first (Windows returns STATUS_DEVICE_BUSY otherwise).
   */
  unregisterCallout(calloutKeyOrId: Guid | string | number): void {
    const key =
      typeof calloutKeyOrId === "number" ? this.#calloutsById.get(calloutKeyOrId)?.calloutKey : keyOf(calloutKeyOrId);
    if (key === undefined || !this.#registrations.delete(key)) {
      fail("FWP_E_CALLOUT_NOT_FOUND", undefined, `Callout ${String(calloutKeyOrId)} is not registered.`);
    }
  }

  isCalloutRegistered(calloutKey: Guid | string): boolean {
    const key = keyOf(calloutKey);
    return key !== undefined && this.#registrations.has(key);
  }

  /**
   * The kernel half registered for a callout, by key or run-time id (the callout services check its
   * flowDeleteFn before associating a flow context, D15); undefined when not registered.
   */
  calloutRegistration(calloutKeyOrId: Guid | string | number): CalloutRegistration | undefined {
    const key =
      typeof calloutKeyOrId === "number" ? this.#calloutsById.get(calloutKeyOrId)?.calloutKey : keyOf(calloutKeyOrId);
    return key === undefined ? undefined : this.#registrations.get(key)?.registration;
  }

  /**
   * The end of a flow that carries a context of a callout (D17): calls that callout's flowDeleteFn
   * (layerId, calloutId, flowContext) once. The shim calls this for every context it associated.
   * Returns false when the callout is not registered or has no flowDeleteFn.
   */
  flowDeleted(layer: LayerRef | string, calloutKeyOrId: Guid | string | number, flowContext: bigint): boolean {
    const l = findLayer(layer);
    if (l === undefined) return fail("FWP_E_LAYER_NOT_FOUND", "layer", `No layer ${JSON.stringify(layer)}.`);
    const key =
      typeof calloutKeyOrId === "number" ? this.#calloutsById.get(calloutKeyOrId)?.calloutKey : keyOf(calloutKeyOrId);
    const runtime = key === undefined ? undefined : this.#registrations.get(key);
    const fn = runtime?.registration.flowDeleteFn;
    if (runtime === undefined || fn === undefined) return false;
    fn(l.runtimeId, runtime.calloutId, flowContext);
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Filters
  // ---------------------------------------------------------------------------------------------

  /**
   * FwpmFilterAdd0: validates (§A.5, FwpError with the path in the spec), weighs (§B), calls the
   * callout's notifyFn with FWPS_CALLOUT_NOTIFY_ADD_FILTER (a failure → FWP_E_CALLOUT_NOTIFICATION_FAILED,
   * the filter is not added, V21) and stores the filter. The layer recompiles on its next classify.
   */
  addFilter(spec: FilterSpec): Filter {
    this.#own();
    const wanted = (spec as { readonly filterId?: unknown } | null)?.filterId;
    if (wanted !== undefined) {
      if (typeof wanted !== "bigint" || wanted <= 0n || wanted > 0xffffffffffffffffn) {
        fail("FWP_E_INVALID_PARAMETER", "filterId", "filterId is a non-zero UINT64.");
      }
      if (this.#filtersById.has(idKey(wanted)))
        fail("FWP_E_ALREADY_EXISTS", "filterId", `Filter id ${wanted} is in use.`);
    }
    const filter = compileFilter(spec, this.#compileContext, wanted ?? this.#nextFilterId);
    this.#publishFilter(filter);
    return filter;
  }

  /** The end of an add: notifyFn ADD_FILTER (V21: a refusal fails the add), then the filter is stored. */
  #publishFilter(filter: Filter): void {
    this.#notifyAdd(filter);
    if (filter.filterId >= this.#nextFilterId) this.#nextFilterId = filter.filterId + 1n;
    this.#insertFilter(filter);
  }

  /** notifyFn ADD_FILTER for a filter about to be added; a refusal is FWP_E_CALLOUT_NOTIFICATION_FAILED (V21). */
  #notifyAdd(filter: Filter): void {
    if (isCalloutAction(filter.action.type)) {
      const notify = this.#registrations.get(filter.action.calloutKey as Guid)?.registration.notifyFn;
      if (notify !== undefined) {
        let okay: boolean;
        let cause: unknown;
        try {
          okay = notify("FWPS_CALLOUT_NOTIFY_ADD_FILTER", filter.filterKey, filter) !== false;
        } catch (e) {
          okay = false;
          cause = e;
        }
        if (!okay) {
          throw new FwpError("FWP_E_CALLOUT_NOTIFICATION_FAILED", {
            path: "action.calloutKey",
            detail: "The callout's notifyFn rejected the filter.",
            ...(cause === undefined ? {} : { cause }),
          });
        }
      }
    }
  }

  #insertFilter(filter: Filter): void {
    this.#touchLayer(filter.layer.runtimeId, filter, true);
    this.#filters.set(filter.filterKey, filter);
    this.#version++;
    this.#filtersById.set(idKey(filter.filterId), filter);
    let set = this.#filtersByLayer.get(filter.layer.runtimeId);
    if (set === undefined) {
      set = new Set();
      this.#filtersByLayer.set(filter.layer.runtimeId, set);
    }
    set.add(filter);
  }

  #removeFilter(filter: Filter): void {
    this.#touchLayer(filter.layer.runtimeId, filter, false);
    this.#filters.delete(filter.filterKey);
    this.#version++;
    this.#filtersById.delete(idKey(filter.filterId));
    this.#filtersByLayer.get(filter.layer.runtimeId)?.delete(filter);
  }

  /**
   * A layer's filter set is about to change (`filter` added or removed): inside a batch keep what is needed
   * to show classify the pre-batch state — the compiled state if there is one, else a delta.
   */
  #touchLayer(runtimeId: number, filter: Filter, adding: boolean): void {
    const batch = this.#batch;
    if (batch !== null && batch.frozen?.has(runtimeId) !== true) {
      const state = this.#compiled.get(runtimeId);
      if (state !== undefined) {
        batch.frozen ??= new Map();
        batch.frozen.set(runtimeId, state);
      } else if (batch.watched) {
        batch.deltas ??= new Map();
        let delta = batch.deltas.get(runtimeId);
        if (delta === undefined) {
          delta = { added: new Set(), removed: new Set() };
          batch.deltas.set(runtimeId, delta);
        }
        if (adding) {
          if (!delta.removed.delete(filter)) delta.added.add(filter);
        } else if (!delta.added.delete(filter)) delta.removed.add(filter);
      }
    }
    this.#compiled.delete(runtimeId);
    this.#policiesChanged();
  }

  #notifyQuietly(filter: Filter, type: "FWPS_CALLOUT_NOTIFY_ADD_FILTER" | "FWPS_CALLOUT_NOTIFY_DELETE_FILTER"): void {
    if (!isCalloutAction(filter.action.type)) return;
    const notify = this.#registrations.get(filter.action.calloutKey as Guid)?.registration.notifyFn;
    if (notify === undefined) return;
    try {
      notify(type, type === "FWPS_CALLOUT_NOTIFY_ADD_FILTER" ? filter.filterKey : null, filter);
    } catch {
      // A rollback cannot be refused; the callout's answer is ignored.
    }
  }

  /**
   * FwpmFilterDeleteByKey0 / ById0: calls notifyFn with DELETE_FILTER (filterKey null, D12); its
   * result is ignored unless `notifyDeleteResultIgnored` is off. Errors: FILTER_NOT_FOUND.
   */
  deleteFilter(filterIdOrKey: bigint | Guid | string): Filter {
    this.#own();
    const filter = this.getFilter(filterIdOrKey);
    if (filter === undefined) return fail("FWP_E_FILTER_NOT_FOUND", undefined, `No filter ${String(filterIdOrKey)}.`);
    this.#notifyDelete(filter);
    this.#removeFilter(filter);
    return filter;
  }

  /** notifyFn DELETE_FILTER (D12) for a filter about to be deleted; fails only when its answer counts. */
  #notifyDelete(filter: Filter): void {
    if (!isCalloutAction(filter.action.type)) return;
    const notify = this.#registrations.get(filter.action.calloutKey as Guid)?.registration.notifyFn;
    if (notify === undefined) return;
    let okay: boolean;
    try {
      okay = notify("FWPS_CALLOUT_NOTIFY_DELETE_FILTER", null, filter) !== false;
    } catch {
      okay = false;
    }
    if (!okay && !this.options.notifyDeleteResultIgnored) {
      fail("FWP_E_CALLOUT_NOTIFICATION_FAILED", undefined, "The callout's notifyFn rejected the delete.");
    }
  }

  /**
   * FWPS_CALLOUT_NOTIFY_ADD_FILTER_POST_COMMIT (D5, D12, H13): the BFE calls this once the transaction that
   * added `filters` has committed (explicit or implicit). Each filter still in this engine whose callout is
   * registered with FWP_CALLOUT_FLAG_ENABLE_COMMIT_ADD_NOTIFY (0x4) and a notifyFn hears of it, in order
   * (ADD_FILTER came during the add, or at commit for an explicit transaction). The commit is done, so the
   * answer is ignored and a throwing notifyFn changes nothing [INF]. A filter added and deleted again in the
   * same transaction is not in the engine and is not notified. Returns how many notifications were made.
   */
  notifyAddCommitted(filters: Iterable<Filter>): number {
    let any = false;
    for (const r of this.#registrations.values()) {
      if (
        ((r.registration.flags ?? 0) & CALLOUT_FLAG_ENABLE_COMMIT_ADD_NOTIFY) !== 0 &&
        r.registration.notifyFn !== undefined
      ) {
        any = true;
        break;
      }
    }
    if (!any) return 0;
    let told = 0;
    for (const filter of filters) {
      if (!isCalloutAction(filter.action.type) || this.#filters.get(filter.filterKey) !== filter) continue;
      const registration = this.#registrations.get(filter.action.calloutKey as Guid)?.registration;
      const notify = registration?.notifyFn;
      if (notify === undefined || ((registration?.flags ?? 0) & CALLOUT_FLAG_ENABLE_COMMIT_ADD_NOTIFY) === 0) continue;
      told++;
      try {
        notify("FWPS_CALLOUT_NOTIFY_ADD_FILTER_POST_COMMIT", filter.filterKey, filter);
      } catch {
        // After the commit nothing can be refused: the answer is ignored.
      }
    }
    return told;
  }

  /**
   * Validates and compiles conditions for `layer` exactly as FwpmFilterAdd0 would (V4, V13–V18, errors
   * with paths `conditions[i]…`), without adding anything: enumeration templates and subscriptions use it
   * (H23). Errors: LAYER_NOT_FOUND and the condition errors of §A.5.
   */
  compileConditions(layer: LayerRef | string, conditions: readonly FilterConditionSpec[]): readonly FilterCondition[] {
    const ctx: FilterCompileContext = {
      options: this.options,
      sublayer: () => this.#defaultSublayer,
      defaultSublayer: () => this.#defaultSublayer,
      provider: () => undefined,
      providerContext: () => undefined,
      callout: () => undefined,
      filterKeyExists: () => false,
      newGuid: () => GUID_NULL,
    };
    const probe = compileFilter(
      { name: "", layer: layer as LayerRef, conditions, action: { type: "FWP_ACTION_BLOCK" }, filterKey: GUID_NULL },
      ctx,
      0n,
    );
    return probe.conditions;
  }

  getFilter(filterIdOrKey: bigint | Guid | string): Filter | undefined {
    if (typeof filterIdOrKey === "bigint") return this.#filtersById.get(idKey(filterIdOrKey));
    const key = keyOf(filterIdOrKey);
    return key === undefined ? undefined : this.#filters.get(key);
  }

  /** Filters in filterId order, all or at one layer. */
  filters(layer?: LayerRef | string): Filter[] {
    if (layer === undefined) return [...this.#filtersById.values()];
    const l = findLayer(layer);
    if (l === undefined) return fail("FWP_E_LAYER_NOT_FOUND", "layer", `No layer ${JSON.stringify(layer)}.`);
    return [...(this.#filtersByLayer.get(l.runtimeId) ?? [])].sort((a, b) => (a.filterId < b.filterId ? -1 : 1));
  }

  // ---------------------------------------------------------------------------------------------
  // Batches and forks (used by the BFE to publish a committed transaction atomically, §H9)
  // ---------------------------------------------------------------------------------------------

  /**
   * Applies `ops` in order, all or nothing (H9: a commit reaches the engine atomically). Each op is
   * validated as the single call would be (errors carry the single call's path). When an op throws, or
   * `beforePublish` (run after the last op with every op's result, e.g. the durable store's commit) throws, every applied op is undone in reverse order and the
   * error is rethrown: the engine is as it was. While the batch runs, a classify (from a callout's
   * notifyFn, say) sees every touched layer as it was before the batch, so no classification ever sees
   * half of a batch. Undoing a filter add or delete tells its callout (notifyFn DELETE / ADD; the answer
   * is ignored). Ids handed out are not taken back (H20: ids are never reused).
   * Errors: those of the ops; FWP_E_TXN_IN_PROGRESS when a batch is already running (re-entrant call).
   */
  applyBatch(
    ops: Iterable<EngineBatchOp>,
    beforePublish?: (results: readonly EngineBatchResult[]) => void,
  ): EngineBatchResult[] {
    return this.#runBatch(ops, beforePublish);
  }

  /**
   * Publishes what `staged` — a fork of this engine — did since it was taken, all or nothing, exactly as
   * `applyBatch(replay(), beforePublish)` would: the BFE's commit of a transaction staged on a fork (H9).
   * When this engine holds exactly what it held when the fork was taken (nothing changed it since; the
   * BFE's write lock sees to that) and the fork was changed only by batches, every op the fork applied meets
   * this engine in the very state it met in the fork, so validating it again would give the same object:
   * the fork's objects are published as they are, and `replay` is not called. Otherwise `replay()` — ops
   * that re-create the fork's changes in order — is applied and validated as usual. Either way a callout
   * hears of each filter added or deleted (notifyFn; the fork has none registered) and may refuse it.
   *
   * Published as they are, the fork's objects arrive in O(1): once every callout has agreed and
   * `beforePublish` has returned, this engine takes the fork's object tables in place of its own (they
   * hold exactly its objects with the fork's changes applied). Until then classify sees this engine's own
   * tables, i.e. the pre-batch state, and `beforePublish` sees them too. The fork keeps reading the
   * tables it gave away and copies them before its next change, so neither engine can change the other.
   * Errors: those of applyBatch.
   */
  applyStaged(
    staged: FilterEngine,
    replay: () => Iterable<EngineBatchOp>,
    beforePublish?: (results: readonly EngineBatchResult[]) => void,
  ): EngineBatchResult[] {
    if (this.#batch !== null)
      fail("FWP_E_TXN_IN_PROGRESS", undefined, "A batch is already being applied to this engine.");
    const journal = staged.#journal;
    const adoptable =
      journal !== null &&
      staged !== this &&
      staged.#origin === this &&
      staged.#originVersion === this.#version &&
      !staged.#shared &&
      !staged.#journalBroken &&
      staged.#journalVersion === staged.#version;
    return adoptable ? this.#adopt(staged, journal, beforePublish) : this.#runBatch(replay(), beforePublish);
  }

  /** applyBatch's machinery: `ops` applied and validated one by one, all or nothing. */
  #runBatch(
    ops: Iterable<EngineBatchOp>,
    beforePublish: ((results: readonly EngineBatchResult[]) => void) | undefined,
  ): EngineBatchResult[] {
    if (this.#batch !== null)
      fail("FWP_E_TXN_IN_PROGRESS", undefined, "A batch is already being applied to this engine.");
    this.#own();
    if (Array.isArray(ops) && ops.length === 1 && beforePublish === undefined && this.#registrations.size === 0) {
      return [this.#applyOne(ops[0] as EngineBatchOp)];
    }
    const batch: BatchState = {
      watched: this.#registrations.size > 0 || beforePublish !== undefined,
      frozen: null,
      deltas: null,
    };
    this.#batch = batch;
    const versionBefore = this.#version;
    // A fork records what its batches did (applyStaged), as long as nothing else changed it.
    const journal =
      this.#journal !== null && !this.#journalBroken && this.#journalVersion === versionBefore ? this.#journal : null;
    const recorded = journal === null ? null : ([] as StagedOp[]);
    const undo: (() => void)[] = [];
    const results: EngineBatchResult[] = [];
    try {
      for (const op of ops) {
        const result = this.#applyOp(op, undo);
        results.push(result);
        if (recorded !== null) {
          const remove = op.op.startsWith("delete") ? op : null;
          recorded.push({ op: op.op, remove, result });
        }
      }
      beforePublish?.(results);
    } catch (e) {
      for (let i = undo.length - 1; i >= 0; i--) (undo[i] as () => void)();
      // The touched layers are back to their pre-batch filter sets: reuse their compiled states.
      if (batch.frozen !== null) for (const [id, state] of batch.frozen) this.#compiled.set(id, state);
      this.#policiesChanged();
      // The undo put every object back. Unless foreign code ran meanwhile (a notifyFn, the callback),
      // the engine holds what it held before, so a fork or a journal valid before stays valid.
      if (!batch.watched) this.#version = versionBefore;
      else this.#version++;
      throw e;
    } finally {
      this.#batch = null;
      // The touched layers' pre-batch policies stop being what layerPolicy returns.
      this.#policiesChanged();
    }
    if (this.#journal !== null && !this.#journalBroken) {
      if (journal === null || recorded === null) this.#journalBroken = true;
      else {
        for (const entry of recorded) journal.push(entry);
        this.#journalVersion = this.#version;
      }
    }
    return results;
  }

  /**
   * A batch of one op with no foreign code to run (no registration, no beforePublish): every op checks
   * everything before it changes anything, so the op alone is all or nothing and no classify can happen
   * meanwhile — the single call, recorded in a fork's journal as a batch is. (The BFE stages each call of a
   * transaction so: 100k of them for a 100k-filter transaction.)
   */
  #applyOne(op: EngineBatchOp): EngineBatchResult {
    const versionBefore = this.#version;
    const result = this.#applyOp(op, null);
    const journal = this.#journal;
    if (journal !== null && !this.#journalBroken) {
      if (this.#journalVersion !== versionBefore) this.#journalBroken = true;
      else {
        journal.push({ op: op.op, remove: op.op.startsWith("delete") ? op : null, result });
        this.#journalVersion = this.#version;
      }
    }
    return result;
  }

  /**
   * applyStaged's publication of a fork's journal (see there): every callout hears of its filters and may
   * refuse one (notifyFn, in journal order), then `beforePublish` runs, and only then does this engine
   * change — by taking the fork's tables. A refusal or a throwing `beforePublish` leaves it untouched
   * (callouts already told hear the opposite, as an undone batch tells them).
   */
  #adopt(
    staged: FilterEngine,
    journal: readonly StagedOp[],
    beforePublish: ((results: readonly EngineBatchResult[]) => void) | undefined,
  ): EngineBatchResult[] {
    this.#own();
    const results: EngineBatchResult[] = new Array(journal.length);
    for (let i = 0; i < journal.length; i++) results[i] = (journal[i] as StagedOp).result;
    const batch: BatchState = { watched: true, frozen: null, deltas: null };
    this.#batch = batch;
    const versionBefore = this.#version;
    /** Filter adds and deletes callouts were told of, for the undo. */
    const told: StagedOp[] = [];
    try {
      if (this.#registrations.size > 0) {
        for (const entry of journal) {
          if (entry.op === "addFilter") {
            this.#notifyAdd(entry.result as Filter);
            told.push(entry);
          } else if (entry.op === "deleteFilter") {
            this.#notifyDelete(entry.result as Filter);
            told.push(entry);
          }
        }
      }
      beforePublish?.(results);
    } catch (e) {
      for (let i = told.length - 1; i >= 0; i--) {
        const entry = told[i] as StagedOp;
        this.#notifyQuietly(
          entry.result as Filter,
          entry.op === "addFilter" ? "FWPS_CALLOUT_NOTIFY_DELETE_FILTER" : "FWPS_CALLOUT_NOTIFY_ADD_FILTER",
        );
      }
      // Foreign code ran (the callouts, the callback): a fork taken before is not known to be valid.
      this.#version++;
      throw e;
    } finally {
      this.#batch = null;
      this.#policiesChanged();
    }
    if (this.#version === versionBefore) this.#takeTables(staged, journal);
    else {
      // Foreign code changed this engine directly meanwhile: the fork's tables no longer hold all of it,
      // so its changes are applied to this engine's tables one by one instead (as they were validated).
      for (const entry of journal) this.#publishStaged(entry);
    }
    this.#version++;
    if (this.#journal !== null) this.#journalBroken = true;
    return results;
  }

  /** #adopt's publication: this engine takes the fork's tables (they hold its objects plus the journal's changes). */
  #takeTables(staged: FilterEngine, journal: readonly StagedOp[]): void {
    this.#providers = staged.#providers;
    this.#providerContexts = staged.#providerContexts;
    this.#sublayers = staged.#sublayers;
    this.#callouts = staged.#callouts;
    this.#calloutsById = staged.#calloutsById;
    this.#filters = staged.#filters;
    this.#filtersById = staged.#filtersById;
    this.#filtersByLayer = staged.#filtersByLayer;
    staged.#shared = true;
    staged.#journalBroken = true;
    staged.#compiled.clear();
    staged.#policiesChanged();
    if (staged.#nextFilterId > this.#nextFilterId) this.#nextFilterId = staged.#nextFilterId;
    if (staged.#nextCalloutId > this.#nextCalloutId) this.#nextCalloutId = staged.#nextCalloutId;
    if (staged.#nextProviderContextId > this.#nextProviderContextId)
      this.#nextProviderContextId = staged.#nextProviderContextId;
    let lastLayer = -1;
    for (const entry of journal) {
      switch (entry.op) {
        case "addFilter":
        case "deleteFilter": {
          const id = (entry.result as Filter).layer.runtimeId;
          if (id !== lastLayer) {
            this.#compiled.delete(id);
            this.#policiesChanged();
            lastLayer = id;
          }
          break;
        }
        case "addCallout": {
          const c = entry.result as Callout;
          const runtime = this.#registrations.get(c.calloutKey);
          if (runtime !== undefined) runtime.calloutId = c.calloutId;
          break;
        }
        case "deleteCallout": {
          const runtime = this.#registrations.get((entry.result as Callout).calloutKey);
          if (runtime !== undefined) runtime.calloutId = 0;
          break;
        }
        default:
          break;
      }
    }
  }

  /** #adopt's fallback: one op of the fork's journal applied to this engine's own tables, unchecked. */
  #publishStaged(entry: StagedOp): void {
    switch (entry.op) {
      case "addProvider": {
        const p = entry.result as Provider;
        this.#providers.set(p.providerKey, p);
        return;
      }
      case "addProviderContext": {
        const c = entry.result as ProviderContext;
        if (c.providerContextId >= this.#nextProviderContextId) this.#nextProviderContextId = c.providerContextId + 1n;
        this.#providerContexts.set(c.providerContextKey, c);
        return;
      }
      case "addSublayer": {
        const s = entry.result as Sublayer;
        this.#sublayers.set(s.subLayerKey, s);
        return;
      }
      case "addCallout": {
        const c = entry.result as Callout;
        if (c.calloutId >= this.#nextCalloutId) this.#nextCalloutId = c.calloutId + 1;
        this.#storeCallout(c);
        return;
      }
      case "addFilter": {
        const f = entry.result as Filter;
        if (f.filterId >= this.#nextFilterId) this.#nextFilterId = f.filterId + 1n;
        this.#insertFilter(f);
        return;
      }
      case "deleteProvider":
        this.#providers.delete((entry.result as Provider).providerKey);
        return;
      case "deleteProviderContext":
        this.#providerContexts.delete((entry.result as ProviderContext).providerContextKey);
        return;
      case "deleteSublayer":
        this.#sublayers.delete((entry.result as Sublayer).subLayerKey);
        return;
      case "deleteCallout": {
        const c = entry.result as Callout;
        this.#callouts.delete(c.calloutKey);
        this.#calloutsById.delete(c.calloutId);
        const runtime = this.#registrations.get(c.calloutKey);
        if (runtime !== undefined) runtime.calloutId = 0;
        return;
      }
      case "deleteFilter":
        this.#removeFilter(entry.result as Filter);
        return;
    }
  }

  /** Before a batch changes a published fork's tables: copy them (they are its origin's now). */
  #own(): void {
    if (!this.#shared) return;
    this.#shared = false;
    this.#providers = new Map(this.#providers);
    this.#providerContexts = new Map(this.#providerContexts);
    this.#sublayers = new Map(this.#sublayers);
    this.#callouts = new Map(this.#callouts);
    this.#calloutsById = new Map(this.#calloutsById);
    this.#filters = new Map(this.#filters);
    this.#filtersById = new Map(this.#filtersById);
    const byLayer = new Map<number, Set<Filter>>();
    for (const [k, v] of this.#filtersByLayer) byLayer.set(k, new Set(v));
    this.#filtersByLayer = byLayer;
    this.#compiled.clear();
    this.#policiesChanged();
  }

  /** One op of a batch; what undoes it goes on `undo` (none for a batch of one, #applyOne). */
  #applyOp(op: EngineBatchOp, undo: (() => void)[] | null): EngineBatchResult {
    switch (op.op) {
      case "addProvider": {
        const p = this.addProvider(op.spec);
        undo?.push(() => this.#providers.delete(p.providerKey));
        return p;
      }
      case "addProviderContext": {
        const c = this.addProviderContext(op.spec);
        undo?.push(() => this.#providerContexts.delete(c.providerContextKey));
        return c;
      }
      case "addSublayer": {
        const s = this.addSublayer(op.spec);
        undo?.push(() => this.#sublayers.delete(s.subLayerKey));
        return s;
      }
      case "addCallout": {
        const c = this.addCallout(op.spec);
        undo?.push(() => {
          this.#callouts.delete(c.calloutKey);
          this.#calloutsById.delete(c.calloutId);
          const runtime = this.#registrations.get(c.calloutKey);
          if (runtime !== undefined) runtime.calloutId = 0;
        });
        return c;
      }
      case "addFilter": {
        const f = this.addFilter(op.spec);
        undo?.push(() => {
          this.#removeFilter(f);
          this.#notifyQuietly(f, "FWPS_CALLOUT_NOTIFY_DELETE_FILTER");
        });
        return f;
      }
      case "deleteProvider": {
        const p = this.getProvider(op.key);
        this.deleteProvider(op.key);
        if (p !== undefined) undo?.push(() => this.#providers.set(p.providerKey, p));
        return p as Provider;
      }
      case "deleteProviderContext": {
        const c = this.getProviderContext(op.key);
        this.deleteProviderContext(op.key);
        if (c !== undefined) undo?.push(() => this.#providerContexts.set(c.providerContextKey, c));
        return c as ProviderContext;
      }
      case "deleteSublayer": {
        const s = this.getSublayer(op.key);
        this.deleteSublayer(op.key);
        if (s !== undefined) undo?.push(() => this.#sublayers.set(s.subLayerKey, s));
        return s as Sublayer;
      }
      case "deleteCallout": {
        const c = this.getCallout(op.key);
        this.deleteCallout(op.key);
        if (c !== undefined) undo?.push(() => this.#storeCallout(c));
        return c as Callout;
      }
      case "deleteFilter": {
        const f = this.deleteFilter(op.key);
        undo?.push(() => {
          this.#insertFilter(f);
          this.#notifyQuietly(f, "FWPS_CALLOUT_NOTIFY_ADD_FILTER");
        });
        return f;
      }
      default: {
        const never: never = op;
        return fail("FWP_E_INVALID_PARAMETER", "op", `Unknown batch op ${JSON.stringify(never)}.`);
      }
    }
  }

  /**
   * A staging copy: the same options, classifier and objects (shared immutable objects, copied
   * indexes), with no callout registrations (so no notifyFn runs) and nothing compiled. Changes to the
   * copy do not reach this engine; the BFE validates a transaction's calls against one and publishes
   * the outcome with `applyStaged`. O(number of objects).
   */
  fork(): FilterEngine {
    const e = new FilterEngine({ ...this.#init, randomBytes: this.#randomBytes });
    e.#origin = this;
    e.#originVersion = this.#version;
    e.#providers.clear();
    for (const [k, v] of this.#providers) e.#providers.set(k, v);
    for (const [k, v] of this.#providerContexts) e.#providerContexts.set(k, v);
    e.#sublayers.clear();
    for (const [k, v] of this.#sublayers) e.#sublayers.set(k, v);
    e.#defaultSublayer = this.#defaultSublayer;
    e.#callouts.clear();
    e.#calloutsById.clear();
    for (const [k, v] of this.#callouts) e.#callouts.set(k, v);
    for (const [k, v] of this.#calloutsById) e.#calloutsById.set(k, v);
    for (const [k, v] of this.#filters) e.#filters.set(k, v);
    for (const [k, v] of this.#filtersById) e.#filtersById.set(k, v);
    for (const [k, v] of this.#filtersByLayer) e.#filtersByLayer.set(k, new Set(v));
    e.#nextFilterId = this.#nextFilterId;
    e.#nextCalloutId = this.#nextCalloutId;
    e.#nextProviderContextId = this.#nextProviderContextId;
    e.#journal = [];
    e.#journalVersion = e.#version;
    e.#bootTime = this.#bootTime;
    return e;
  }

  // ---------------------------------------------------------------------------------------------
  // Classify
  // ---------------------------------------------------------------------------------------------

  #compareSublayers(a: Sublayer, b: Sublayer): number {
    if (a.weight !== b.weight) return b.weight - a.weight;
    const c = compareBytes(guidToBytes(a.subLayerKey), guidToBytes(b.subLayerKey));
    return this.options.sublayerTieBreak === "key-asc" ? c : -c;
  }

  #compareFilters(a: Filter, b: Filter): number {
    if (a.effectiveWeight !== b.effectiveWeight) return a.effectiveWeight > b.effectiveWeight ? -1 : 1;
    const c = a.filterId < b.filterId ? -1 : a.filterId > b.filterId ? 1 : 0;
    return this.options.filterTieBreak === "filterId-asc" ? c : -c;
  }

  /**
   * A number that changes whenever the policy of some layer may change — a filter added or deleted, a batch
   * or a staged transaction published or rolled back, the boot-time switch (H15) — and stays the same while
   * `layerPolicy` keeps returning the same object for every layer. What is derived from layer policies (the
   * shim's plans) is still valid while this reads the same: one comparison for all layers instead of a
   * `layerPolicy` call per layer. A published fork, which reads tables its origin changes (and builds a new
   * policy object for every call), reads a new number every time.
   */
  get policyVersion(): number {
    return this.#shared ? ++this.#policyVersion : this.#policyVersion;
  }

  #policiesChanged(): void {
    this.#policyVersion++;
  }

  /**
   * The layer's policy as classifiers see it: the sublayers holding filters at this layer in
   * evaluation order, each with its filters in evaluation order.
   */
  layerPolicy(layer: LayerRef | string): LayerPolicy {
    const l = findLayer(layer);
    if (l === undefined) return fail("FWP_E_LAYER_NOT_FOUND", "layer", `No layer ${JSON.stringify(layer)}.`);
    return this.#state(l).policy;
  }

  /** H15: which filters classify with respect to FWPM_FILTER_FLAG_BOOTTIME (see BootTimeEnforcement). */
  get bootTimeEnforcement(): BootTimeEnforcement {
    return this.#bootTime;
  }

  /**
   * H15: switches which filters classify with respect to FWPM_FILTER_FLAG_BOOTTIME — the BFE's start ends
   * the boot phase ("boot" → "removed"). One synchronous step with no foreign code in it: a classification
   * sees the policy before the switch or the one after, never a mix, so there is no instant at which
   * neither the boot-time filters nor the filters that replace them apply. Objects are untouched; every
   * layer recompiles on its next classify. Errors: FWP_E_TXN_IN_PROGRESS while a batch is being applied,
   * FWP_E_INVALID_PARAMETER for an unknown mode.
   */
  setBootTimeEnforcement(mode: BootTimeEnforcement): void {
    if (mode !== "boot" && mode !== "enforced" && mode !== "removed")
      fail("FWP_E_INVALID_PARAMETER", "mode", `${JSON.stringify(mode)} is not a BootTimeEnforcement.`);
    if (this.#batch !== null)
      fail("FWP_E_TXN_IN_PROGRESS", undefined, "Boot-time enforcement cannot change while a batch is applied.");
    if (mode === this.#bootTime) return;
    this.#bootTime = mode;
    this.#compiled.clear();
    this.#policiesChanged();
  }

  #buildPolicy(layer: Layer, filters: Iterable<Filter>): LayerPolicy {
    const bySublayer = new Map<Sublayer, Filter[]>();
    const bootTime = this.#bootTime;
    for (const f of filters) {
      if ((f.flags & FILTER_FLAG_DISABLED) !== 0) continue; // H16: kept as an object, never classified
      // H15: boot-time filters alone before BFE starts; after it, kept as objects but not classified.
      if (bootTime !== "enforced" && ((f.flags & FILTER_FLAG_BOOTTIME) !== 0) !== (bootTime === "boot")) continue;
      let list = bySublayer.get(f.sublayer);
      if (list === undefined) {
        list = [];
        bySublayer.set(f.sublayer, list);
      }
      list.push(f);
    }
    const sublayers: SublayerPolicy[] = [...bySublayer.keys()]
      .sort((a, b) => this.#compareSublayers(a, b))
      .map((sublayer) =>
        Object.freeze({
          sublayer,
          filters: Object.freeze((bySublayer.get(sublayer) as Filter[]).sort((a, b) => this.#compareFilters(a, b))),
        }),
      );
    return Object.freeze({ layer, sublayers: Object.freeze(sublayers) });
  }

  #state(layer: Layer): LayerState {
    const batch = this.#batch;
    if (batch !== null) {
      const frozen = batch.frozen?.get(layer.runtimeId);
      if (frozen !== undefined) return frozen;
      const delta = batch.deltas?.get(layer.runtimeId);
      if (delta !== undefined) {
        const before = new Set(this.#filtersByLayer.get(layer.runtimeId) ?? []);
        for (const f of delta.added) before.delete(f);
        for (const f of delta.removed) before.add(f);
        const policy = this.#buildPolicy(layer, before);
        const state = { policy, compiled: this.classifier.compile(policy) };
        batch.frozen ??= new Map();
        batch.frozen.set(layer.runtimeId, state);
        batch.deltas?.delete(layer.runtimeId);
        return state;
      }
    }
    let state = this.#compiled.get(layer.runtimeId);
    if (state === undefined) {
      const policy = this.#buildPolicy(layer, this.#filtersByLayer.get(layer.runtimeId) ?? []);
      state = { policy, compiled: this.classifier.compile(policy) };
      // A published fork reads tables its origin changes without telling it: it keeps no compiled state.
      if (!this.#shared) this.#compiled.set(layer.runtimeId, state);
    }
    return state;
  }

  /**
   * One classification at one layer (§0.3, §C.2). `trace: true` adds a Trace; without it nothing is
   * allocated per filter. Errors: LAYER_NOT_FOUND.
   */
  classify(request: ClassifyRequest): ClassifyResult {
    const ref = request.layer;
    const layer = typeof ref === "object" ? ref : findLayer(ref);
    if (layer === undefined) return fail("FWP_E_LAYER_NOT_FOUND", "layer", `No layer ${JSON.stringify(ref)}.`);
    const state = this.#state(layer);
    const values: readonly FwpValue[] = request.incomingValues;
    const input: ArbitrationInput = {
      layer,
      policy: state.policy,
      compiled: state.compiled,
      values,
      metadata: request.metadata,
      layerData: request.layerData,
      classifyContext: request.classifyContext,
      flowContext: request.flowContext,
      calloutDispatch: request.calloutDispatch,
    };
    const recorder = request.trace === true ? new ArbitrationRecorder() : null;
    const depth = this.#depth;
    let scratch = this.#scratch[depth];
    if (scratch === undefined) {
      scratch = [];
      this.#scratch[depth] = scratch;
    }
    this.#depth = depth + 1;
    try {
      const outcome = arbitrate(input, this.options, this.#registered, scratch, recorder);
      const result: ClassifyResult = {
        layer,
        action: outcome.action,
        decidingFilter: outcome.decidingFilter,
        rights: outcome.rights,
        absorbed: outcome.absorbed,
        vetoed: outcome.vetoed,
        terminatingFilters: outcome.terminatingFilters,
      };
      if (recorder === null) return result;
      return { ...result, trace: buildTrace(layer, state.policy, values, recorder, outcome) };
    } finally {
      this.#depth = depth;
    }
  }
}
