/**
 * The shim: one named classify point per layer family, called where Windows classifies (flows.json,
 * wfp-semantics.md §D–G). A point turns the stack's facts into the layer's incoming values and metadata,
 * calls the engine, logs the classification, and — when the layer blocked and did not absorb — indicates
 * the same data at the layer's discard twin with FWPS_DISCARD_METADATA0 {GENERAL, FIREWALL_POLICY,
 * filterId} (F20, C17). Enforcement (drop, RST, ICMP suppression, teardown) is the caller's, on the
 * verdict returned. Stack-originated discards (no endpoint, port unreachable, bad header) go through
 * `discard`.
 *
 * ALE state lives in `flows` (AleFlowTable). A flow remembers the layer policy its authorization saw;
 * when that layer's filters change, the next packet reauthorizes it (`reauthorizationDue` /
 * `reauthorize`, G7–G12) at the layer where the flow was created, with IS_REAUTHORIZE and
 * REAUTHORIZE_REASON_POLICY_CHANGE.
 */
import type { Clock } from "../base/index.ts";
import type { CalloutDispatch, ClassifyMetadata, ClassifyResult, FilterEngine, LayerPolicy } from "../engine/index.ts";
import {
  FWP_CONDITION_FLAG,
  FWP_CONDITION_REAUTHORIZE_REASON,
  FWPS_DISCARD_MODULE,
  FWPS_GENERAL_DISCARD_REASON,
  FWP_EMPTY_VALUE,
  type FwpmLayerName,
  type FwpValue,
  getLayer,
  type Layer,
} from "../fwp/index.ts";
import type { ClassifyFacts, PacketDirection } from "./facts.ts";
import { type AleAuthFamily, type AleFlow, AleFlowTable, type AleFlowTableOptions, AUTH_LAYER_NAMES } from "./flows.ts";
import { type DiscardMetadata, type MetadataInput, metadataFor } from "./metadata.ts";
import type { PacketLabel } from "./packet.ts";
import { Fwps } from "./services/fwps.ts";
import { ClassifyContext, CompletionHandle } from "./services/pend.ts";
import type { StackHooks } from "./services/stack-hooks.ts";
import { conditionFlags, type IncomingValueWriter, incomingValueWriter, writeIncomingValues } from "./values.ts";

/** The classify points, named after their layers without `FWPM_LAYER_` and the IP version. */
export type ClassifyPoint =
  | "INBOUND_IPPACKET"
  | "OUTBOUND_IPPACKET"
  | "IPFORWARD"
  | "INBOUND_TRANSPORT"
  | "OUTBOUND_TRANSPORT"
  | "STREAM"
  | "STREAM_PACKET"
  | "DATAGRAM_DATA"
  | "INBOUND_ICMP_ERROR"
  | "OUTBOUND_ICMP_ERROR"
  | "ALE_BIND_REDIRECT"
  | "ALE_RESOURCE_ASSIGNMENT"
  | "ALE_AUTH_LISTEN"
  | "ALE_CONNECT_REDIRECT"
  | "ALE_AUTH_CONNECT"
  | "ALE_AUTH_RECV_ACCEPT"
  | "ALE_FLOW_ESTABLISHED"
  | "ALE_ENDPOINT_CLOSURE"
  | "ALE_RESOURCE_RELEASE";

/** The layer of a classify point for an IP version. */
export function layerOfPoint(point: ClassifyPoint, ipVersion: 4 | 6): Layer {
  let pair = POINT_LAYERS.get(point);
  if (pair === undefined) {
    pair = [getLayer(`FWPM_LAYER_${point}_V4` as FwpmLayerName), getLayer(`FWPM_LAYER_${point}_V6` as FwpmLayerName)];
    POINT_LAYERS.set(point, pair);
  }
  return pair[ipVersion === 4 ? 0 : 1];
}

const POINT_LAYERS = new Map<ClassifyPoint, readonly [Layer, Layer]>();

/** How a classification shows in the log: flows.json's step vocabulary plus the decision. */
export interface ClassifyRecord {
  /** The injected clock's nanoseconds. */
  readonly time: bigint;
  readonly host: string;
  readonly layer: Layer;
  /** The packet's direction, or "none" for socket operations and forwarding. */
  readonly direction: PacketDirection | "none";
  readonly packet: PacketLabel;
  readonly action: ClassifyResult["action"];
  readonly absorbed: boolean;
  readonly decidingFilter: ClassifyResult["decidingFilter"];
  /** FWP_CONDITION_FLAG_* of the classification. */
  readonly flags: number;
  readonly facts: ClassifyFacts;
  readonly result: ClassifyResult;
  readonly metadata: MetadataInput;
  /** Fragment number (1-based) for fragment indications. */
  readonly fragment?: number;
  /** Which socket a loopback indication belongs to ("client" / "server"), when the caller says. */
  readonly side?: string;
}

/** One classification's input beyond the layer. */
export interface ClassifyInput {
  readonly facts: ClassifyFacts;
  /** Default "none". */
  readonly packet?: PacketLabel;
  /** Default: facts.direction, else "none". */
  readonly logDirection?: PacketDirection | "none";
  readonly metadata?: MetadataInput;
  readonly layerData?: unknown;
  readonly classifyContext?: unknown;
  /** The ALE flow of the packet, for flow handles and callout flow contexts. */
  readonly flow?: AleFlow;
  readonly fragment?: number;
  readonly side?: string;
  /**
   * Each callout gets its own layer data (the stream layer's waterfall, services/stream.ts). The caller
   * then enforces per callout: no discard-layer indication follows a block (the caller indicates its own).
   */
  readonly calloutDispatch?: CalloutDispatch;
}

export interface ShimVerdict {
  readonly layer: Layer;
  /** The layer permitted the data (BLOCK absorbed or not is `permit: false`). */
  readonly permit: boolean;
  /** BLOCK with FWPS_CLASSIFY_OUT_FLAG_ABSORB: dropped silently, no discard indication (C16). */
  readonly absorbed: boolean;
  readonly result: ClassifyResult;
  /** The discard-layer classification that followed a non-absorbed block, if the layer has a twin. */
  readonly discard?: ClassifyResult;
}

/** A classification in progress (`Shim.indication`). */
export interface ShimIndication {
  readonly layer: Layer;
  readonly metadata: MetadataInput;
  readonly layerData: unknown;
}

export interface ShimInit {
  readonly engine: FilterEngine;
  readonly clock: Clock;
  /** The host's name in the log. */
  readonly host?: string;
  /** Receives every classification, in order. */
  readonly log?: (record: ClassifyRecord) => void;
  /** Ask the engine for a trace on every classification (explain, learners). */
  readonly trace?: boolean;
  readonly flows?: AleFlowTableOptions;
}

/**
 * What the shim derives from one layer policy object (`engine.layerPolicy`; the engine builds a new one
 * whenever the layer's filters change, so identity says "unchanged"): whether any filter is there (an empty
 * layer permits without a classification being observable, C15, so the packet observer skips it), whether
 * any is a callout filter, and how incoming values are built. Without callout filters only the engine's
 * condition matching reads a classification's incoming values and nothing reads its metadata, so the shim
 * feeds only the fields the filters' conditions read, into one reused array, and passes no metadata;
 * with a callout filter (callouts read FWPS_INCOMING_VALUES0 and the metadata) or a trace, everything.
 */
export interface LayerPlan {
  readonly policy: LayerPolicy;
  /** No filter at the layer. */
  readonly empty: boolean;
  /** Some filter's action is a callout (its classifyFn sees values, metadata, layer data and flows). */
  readonly callouts: boolean;
  /** The writer of the fields classification needs (all of them with callouts). */
  readonly writer: IncomingValueWriter;
  /** Without callouts: the array `writer` refills for every classification (FWP_EMPTY elsewhere). */
  readonly values: FwpValue[] | undefined;
}

const NO_METADATA: ClassifyMetadata = Object.freeze({});
const NO_METADATA_INPUT: MetadataInput = Object.freeze({});

/** The input's metadata, with the flow's FLOW_HANDLE (unless given) and, at a discard layer, the discard metadata. */
function metadataInputOf(input: ClassifyInput, discard: DiscardMetadata | undefined): MetadataInput {
  let m = input.metadata;
  if (discard !== undefined) m = { ...m, discardMetadata: discard };
  const flow = input.flow;
  if (flow !== undefined && m?.flowHandle === undefined) m = { ...m, flowHandle: flow.flowHandle };
  return m ?? NO_METADATA_INPUT;
}

function planOf(layer: Layer, policy: LayerPolicy): LayerPlan {
  let empty = true;
  let callouts = false;
  const read = new Set<number>();
  for (const s of policy.sublayers) {
    for (const f of s.filters) {
      empty = false;
      const t = f.action.type;
      if (t !== "FWP_ACTION_BLOCK" && t !== "FWP_ACTION_PERMIT") callouts = true;
      for (const c of f.conditions) read.add(c.fieldIndex);
    }
  }
  const writer = incomingValueWriter(layer, callouts ? undefined : read);
  const values = callouts ? undefined : new Array<FwpValue>(writer.size).fill(FWP_EMPTY_VALUE);
  return { policy, empty, callouts, writer, values };
}

/** Counters a host shows (visible drop counters). */
export interface ShimCounters {
  classifications: number;
  blocked: number;
  absorbed: number;
  discardIndications: number;
  reauthorizations: number;
}

export class Shim {
  readonly engine: FilterEngine;
  readonly clock: Clock;
  readonly host: string;
  readonly flows: AleFlowTable;
  readonly counters: ShimCounters = {
    classifications: 0,
    blocked: 0,
    absorbed: 0,
    discardIndications: 0,
    reauthorizations: 0,
  };
  log: ((record: ClassifyRecord) => void) | undefined;
  trace: boolean;
  /** The callout services (Fwps*) of this host. */
  readonly fwps: Fwps;
  #stack: StackHooks | undefined;
  // The classification running now, innermost (see `indication`).
  #indicationLayer: Layer | undefined;
  #indicationMetadata: MetadataInput | undefined;
  #indicationData: unknown;
  /** Per layer (by runtime id): the plan of the layer policy last seen. */
  readonly #plans: (LayerPlan | undefined)[] = [];
  /** Per layer: the engine's policyVersion when its plan was last found current. */
  readonly #planVersions: number[] = [];

  constructor(init: ShimInit) {
    this.engine = init.engine;
    this.clock = init.clock;
    this.host = init.host ?? "host";
    this.log = init.log;
    this.trace = init.trace ?? false;
    this.flows = new AleFlowTable(init.flows);
    this.flows.onFlowEnd = (flow) => this.#deleteFlowContexts(flow);
    this.fwps = new Fwps(this);
  }

  /** Connects the stack the callout services act on (injection, pend completion, stream continue). */
  attachStack(hooks: StackHooks): void {
    this.#stack = hooks;
  }

  /** The attached stack, if any. */
  get stack(): StackHooks | undefined {
    return this.#stack;
  }

  /**
   * The classification in progress (the innermost one while a callout classifies re-entrantly), or
   * undefined outside classify: the callout services read where a call comes from (a clone remembers the
   * layer and ALE_CLASSIFY_REQUIRED of the indication it was made from, D37).
   */
  get indication(): ShimIndication | undefined {
    const layer = this.#indicationLayer;
    if (layer === undefined) return undefined;
    return { layer, metadata: this.#indicationMetadata ?? {}, layerData: this.#indicationData };
  }

  /** Classifies at a classify point, for the IP version of the facts. */
  classifyAt(point: ClassifyPoint, input: ClassifyInput): ShimVerdict {
    return this.classify(layerOfPoint(point, input.facts.ipVersion), input);
  }

  /** True when any filter exists at the point's layer (STREAM_PACKET is indicated only then, E19). */
  hasFilters(point: ClassifyPoint, ipVersion: 4 | 6): boolean {
    return !this.layerPlan(layerOfPoint(point, ipVersion)).empty;
  }

  /**
   * The plan of `layer`'s current policy (see LayerPlan), rebuilt when the layer's filters change. While the
   * engine's policyVersion is the one a plan was last found current at, no layer policy has changed and the
   * plan is returned without asking the engine.
   */
  layerPlan(layer: Layer): LayerPlan {
    const id = layer.runtimeId;
    const version = this.engine.policyVersion;
    const cached = this.#plans[id];
    if (cached !== undefined && this.#planVersions[id] === version) return cached;
    const policy = this.engine.layerPolicy(layer);
    this.#planVersions[id] = version;
    if (cached !== undefined && cached.policy === policy) return cached;
    const plan = planOf(layer, policy);
    this.#plans[id] = plan;
    return plan;
  }

  /**
   * Classifies at `layer`; when it blocks without absorbing and the layer has a discard twin, indicates
   * the same data there (the twin's verdict does not change the outcome: the data is already dropped).
   */
  classify(layer: Layer, input: ClassifyInput): ShimVerdict {
    const result = this.#classifyOnce(layer, input);
    const permit = result.action === "FWP_ACTION_PERMIT";
    if (permit) return { layer, permit, absorbed: false, result };
    this.counters.blocked++;
    if (input.calloutDispatch !== undefined) return { layer, permit, absorbed: result.absorbed, result };
    if (result.absorbed) {
      this.counters.absorbed++;
      return { layer, permit, absorbed: true, result };
    }
    if (layer.discardLayer === null) return { layer, permit, absorbed: false, result };
    const discard = this.#classifyOnce(getLayer(layer.discardLayer), input, {
      discardModule: FWPS_DISCARD_MODULE.FWPS_DISCARD_MODULE_GENERAL,
      discardReason: FWPS_GENERAL_DISCARD_REASON.FWPS_DISCARD_FIREWALL_POLICY,
      filterId: result.decidingFilter?.filterId ?? 0n,
    });
    this.counters.discardIndications++;
    return { layer, permit, absorbed: false, result, discard };
  }

  /**
   * A discard the stack decided (F5, F6, F20): indicates the data at the discard layer of `point` with
   * the stack's reason. The returned result tells whether a filter there blocked, which suppresses the
   * stack's answer (RST, ICMP error): "stealth" (F6).
   */
  discard(point: ClassifyPoint, input: ClassifyInput, discard: DiscardMetadata): ClassifyResult {
    const base = layerOfPoint(point, input.facts.ipVersion);
    const layer = base.discardLayer === null ? base : getLayer(base.discardLayer);
    this.counters.discardIndications++;
    return this.#classifyOnce(layer, input, discard);
  }

  // ---------------------------------------------------------------------------------------------
  // ALE flows
  // ---------------------------------------------------------------------------------------------

  /** The layer policy identity a flow authorized at `layer` will be compared against. */
  policyOf(layer: Layer): object {
    return this.layerPlan(layer).policy;
  }

  /**
   * Files a new authorized flow after a PERMIT at ALE_AUTH_CONNECT or ALE_AUTH_RECV_ACCEPT (`authLayer`).
   * `key` is empty for flows the caller keeps itself (a TCP connection).
   */
  createFlow(
    key: string,
    authLayer: Layer,
    facts: ClassifyFacts,
    direction: PacketDirection,
    protocol: number,
  ): AleFlow {
    return this.flows.create({
      key,
      protocol,
      authLayer,
      authFamily: authLayer.subFamily as AleAuthFamily,
      direction,
      facts,
      policy: this.policyOf(authLayer),
      lastActivityNs: this.clock.nowNs(),
    });
  }

  /**
   * A flow whose first authorization (ALE_AUTH_CONNECT / ALE_AUTH_RECV_ACCEPT) is about to be classified:
   * it has its FLOW_HANDLE during that classification (callouts may associate contexts, D14). Afterwards
   * the caller `admitFlow`s it (PERMIT), `holdFlow`s it (pended, D19) or `closeFlow`s it (BLOCK: flowDeleteFn
   * runs for contexts associated meanwhile).
   */
  beginFlow(
    key: string,
    authLayer: Layer,
    facts: ClassifyFacts,
    direction: PacketDirection,
    protocol: number,
  ): AleFlow {
    return this.flows.begin({
      key,
      protocol,
      authLayer,
      authFamily: authLayer.subFamily as AleAuthFamily,
      direction,
      facts,
      policy: this.policyOf(authLayer),
      lastActivityNs: this.clock.nowNs(),
    });
  }

  /** The flow's authorization permitted it: authorized (and filed under its key). */
  admitFlow(flow: AleFlow): void {
    flow.policy = this.policyOf(flow.authLayer);
    this.flows.admit(flow);
  }

  /** The flow's authorization was pended (D19): its later packets find it and are held. */
  holdFlow(flow: AleFlow): void {
    this.flows.hold(flow);
  }

  /** A filter was added to or removed from the layer where the flow was authorized (G7a, G12). */
  reauthorizationDue(flow: AleFlow): boolean {
    return flow.state === "authorized" && this.policyOf(flow.authLayer) !== flow.policy;
  }

  /**
   * Reauthorizes `flow` for the packet described by `packetFacts` (G8–G10): classified at the layer where
   * the flow was created, whatever the packet's direction, with the flow's ALE facts, IS_REAUTHORIZE and
   * `reason` (default POLICY_CHANGE). Interface facts come from the packet only when it travels in the
   * flow's direction (G9: the others are FWP_EMPTY). A PERMIT keeps the flow and records the new policy;
   * a BLOCK goes to the discard layer and closes the flow (the caller tears the connection down).
   */
  reauthorize(
    flow: AleFlow,
    input: ClassifyInput,
    reason: number = FWP_CONDITION_REAUTHORIZE_REASON.FWP_CONDITION_REAUTHORIZE_REASON_POLICY_CHANGE,
  ): ShimVerdict {
    this.counters.reauthorizations++;
    const p = input.facts;
    const sameDirection = p.direction === flow.direction;
    const { arrivalInterface: _a, nextHopInterface: _n, ...kept } = flow.facts;
    const from = sameDirection ? p : flow.facts;
    const facts: ClassifyFacts = {
      ...kept,
      direction: p.direction ?? flow.direction,
      flags: ((flow.facts.flags ?? 0) | FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_REAUTHORIZE) >>> 0,
      reauthorizeReason: reason,
      ...(from.iface !== undefined ? { iface: from.iface } : {}),
      ...(sameDirection && p.arrivalInterface !== undefined ? { arrivalInterface: p.arrivalInterface } : {}),
      ...(sameDirection && p.nextHopInterface !== undefined ? { nextHopInterface: p.nextHopInterface } : {}),
    };
    // A reauthorization carries a COMPLETION_HANDLE like the initial one, but cannot be pended (G11).
    const metadata = {
      ...input.metadata,
      completionHandle: input.metadata?.completionHandle ?? new CompletionHandle(),
    };
    const verdict = this.classify(flow.authLayer, { ...input, facts, flow, metadata });
    if (verdict.permit) flow.policy = this.policyOf(flow.authLayer);
    else this.flows.close(flow);
    return verdict;
  }

  /** Ends a flow: flowDeleteFn runs for each callout context on it (D17). */
  closeFlow(flow: AleFlow): void {
    this.flows.close(flow);
  }

  /** The ALE auth layer of a family for an IP version. */
  authLayer(family: AleAuthFamily, ipVersion: 4 | 6): Layer {
    return getLayer(AUTH_LAYER_NAMES[family][ipVersion === 4 ? 0 : 1]);
  }

  /**
   * The classify context of a classification the caller passed none for: one object rebound to every
   * classification (a handle acquired in one is stale in the next), a fresh one for a nested classification.
   */
  #lendClassifyContext(): ClassifyContext {
    const c = this.#ambientContext;
    return c.live ? new ClassifyContext(true) : c;
  }

  readonly #ambientContext = new ClassifyContext(true);

  #deleteFlowContexts(flow: AleFlow): void {
    for (const [calloutId, { layer, context }] of flow.contexts) {
      this.engine.flowDeleted(layer, calloutId, context);
    }
    flow.contexts.clear();
  }

  /**
   * One classification at `layer` (with `discard`, the indication at a discard layer: the input's metadata
   * plus FWPS_DISCARD_METADATA0).
   */
  #classifyOnce(layer: Layer, input: ClassifyInput, discard?: DiscardMetadata): ClassifyResult {
    const facts = input.facts;
    const plan = this.layerPlan(layer);
    const lean = plan.values !== undefined && !this.trace;
    const log = this.log;
    // The metadata as the caller gave it, with the flow's handle and the discard metadata: for callouts and
    // the log only.
    const metadataInput = lean && log === undefined ? NO_METADATA_INPUT : metadataInputOf(input, discard);
    const result = lean
      ? // No callout filter: no callout runs, so nothing reads the metadata, the indication, the classify
        // context or the flow's classification count; the filters read only the fields they name.
        this.engine.classify({
          layer,
          incomingValues: writeIncomingValues(plan.writer, facts, plan.values as FwpValue[]),
          metadata: NO_METADATA,
          layerData: input.layerData,
          classifyContext: input.classifyContext,
          trace: false,
        })
      : this.#classifyWithCallouts(layer, input, metadataInput);
    this.counters.classifications++;
    if (log !== undefined) {
      log({
        time: this.clock.nowNs(),
        host: this.host,
        layer,
        direction: input.logDirection ?? facts.direction ?? "none",
        packet: input.packet ?? "none",
        action: result.action,
        absorbed: result.absorbed,
        decidingFilter: result.decidingFilter,
        flags: conditionFlags(facts),
        facts,
        result,
        metadata: metadataInput,
        ...(input.fragment !== undefined ? { fragment: input.fragment } : {}),
        ...(input.side !== undefined ? { side: input.side } : {}),
      });
    }
    return result;
  }

  /** A classification that callouts (or a trace) see: every incoming value, the metadata, the services. */
  #classifyWithCallouts(layer: Layer, input: ClassifyInput, metadataInput: MetadataInput): ClassifyResult {
    const facts = input.facts;
    const flow = input.flow;
    const outerLayer = this.#indicationLayer;
    const outerMetadata = this.#indicationMetadata;
    const outerData = this.#indicationData;
    this.#indicationLayer = layer;
    this.#indicationMetadata = metadataInput;
    this.#indicationData = input.layerData;
    // Callout services (services/pend.ts, flow-context.ts): bind the classify context and completion handle
    // to this classification, and count it as in progress on its flow (D16, D19, D21).
    const classifyContext = input.classifyContext ?? this.#lendClassifyContext();
    const boundContext = classifyContext instanceof ClassifyContext ? classifyContext : undefined;
    boundContext?.enter(layer, input.layerData);
    const completion = metadataInput.completionHandle;
    const boundCompletion = completion instanceof CompletionHandle ? completion : undefined;
    if (boundCompletion !== undefined) {
      boundCompletion.layer = layer;
      boundCompletion.reauthorize = ((facts.flags ?? 0) & FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_REAUTHORIZE) !== 0;
      boundCompletion.live = true;
    }
    if (flow !== undefined) flow.classifying++;
    const writer = incomingValueWriter(layer);
    const result = this.engine.classify({
      layer,
      incomingValues: writeIncomingValues(writer, facts, new Array<FwpValue>(writer.size).fill(FWP_EMPTY_VALUE)),
      metadata: metadataFor(layer, metadataInput) as unknown as ClassifyMetadata,
      layerData: input.layerData,
      classifyContext,
      ...(flow !== undefined && flow.contexts.size > 0
        ? {
            flowContext: (calloutId: number) => {
              const c = flow.contexts.get(calloutId);
              return c !== undefined && c.layer === layer ? c.context : 0n;
            },
          }
        : {}),
      trace: this.trace,
      ...(input.calloutDispatch !== undefined ? { calloutDispatch: input.calloutDispatch } : {}),
    });
    this.#indicationLayer = outerLayer;
    this.#indicationMetadata = outerMetadata;
    this.#indicationData = outerData;
    boundContext?.leave();
    if (boundCompletion !== undefined) boundCompletion.live = false;
    if (flow !== undefined) {
      flow.classifying--;
      this.fwps.flowContexts.classifyEnded(this, flow);
    }
    return result;
  }
}
