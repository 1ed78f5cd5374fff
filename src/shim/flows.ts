/**
 * ALE state (wfp-semantics.md §G.1, F3): a flow is authorized once — outbound at ALE_AUTH_CONNECT,
 * inbound at ALE_AUTH_RECV_ACCEPT — and its later packets in both directions pass the ALE layers
 * unclassified until a reauthorization is due (G7–G12). A TCP flow is one connection (G3); a UDP or
 * other non-TCP flow is one (local socket, remote address, remote port) and an ICMP flow one (type, code,
 * id) (G4); both idle out after 60 s. The table is bounded: past its capacity the least recently used
 * flow is evicted and counted, so hostile traffic cannot grow it.
 */
import type { FwpmLayerName, Layer, LayerSubFamily } from "../fwp/index.ts";
import type { ClassifyFacts, PacketDirection } from "./facts.ts";
import { LruMap } from "./lru.ts";

/** The ALE layer family where a flow was authorized: reauthorization happens there (G9). */
export type AleAuthFamily = Extract<LayerSubFamily, "auth-connect" | "auth-recv-accept">;

/** One ALE flow. Mutable by the shim only. */
export interface AleFlow {
  /** FLOW_HANDLE metadata (FwpsFlowAssociateContext0's flowId). */
  readonly flowHandle: bigint;
  /** The table key (empty for flows the stack keeps on a TCB). */
  readonly key: string;
  readonly protocol: number;
  /** Where the flow was authorized (the V4 or V6 layer of its family). */
  readonly authLayer: Layer;
  readonly authFamily: AleAuthFamily;
  /** The direction of the flow's first packet (G2). */
  readonly direction: PacketDirection;
  /** The ALE facts of the authorization: addresses, ports, process, interfaces (reused when reauthorizing). */
  readonly facts: ClassifyFacts;
  /** The layer policy the last authorization saw; a different one means a policy change (G7a, G12). */
  policy: object | undefined;
  /** Callout flow contexts by callout id (D14, D18). */
  readonly contexts: Map<number, { readonly layer: Layer; readonly context: bigint }>;
  lastActivityNs: bigint;
  /**
   * "authorizing" during the flow's first ALE authorization (its FLOW_HANDLE is already valid there, D14),
   * "pending" while that authorization is pended (D19–D20), "authorized" once permitted, "closed" once
   * torn down.
   */
  state: "authorizing" | "authorized" | "pending" | "closed";
  /** Classifications of this flow in progress (FwpsFlowRemoveContext0 answers STATUS_PENDING meanwhile, D16). */
  classifying: number;
}

export interface AleFlowTableOptions {
  /** Most flows kept (oldest activity evicted first). Default 65536. */
  readonly capacity?: number;
  /** Idle lifetime of non-TCP flows (G4). Default 60 s. */
  readonly idleNs?: bigint;
}

export interface AleFlowTableCounters {
  created: number;
  closed: number;
  evicted: number;
  expired: number;
}

/** Layers of a flow's family, per IP version. */
export const AUTH_LAYER_NAMES: Readonly<Record<AleAuthFamily, readonly [FwpmLayerName, FwpmLayerName]>> = {
  "auth-connect": ["FWPM_LAYER_ALE_AUTH_CONNECT_V4", "FWPM_LAYER_ALE_AUTH_CONNECT_V6"],
  "auth-recv-accept": ["FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6"],
};

/** What a new flow is made of (the table adds its handle, contexts and state). */
export type AleFlowInit = Omit<AleFlow, "flowHandle" | "contexts" | "state" | "policy" | "classifying"> & {
  readonly policy?: object;
};

export class AleFlowTable {
  readonly capacity: number;
  readonly idleNs: bigint;
  readonly counters: AleFlowTableCounters = { created: 0, closed: 0, evicted: 0, expired: 0 };
  readonly #byKey = new LruMap<string, AleFlow>();
  /** Every live flow by FLOW_HANDLE, filed or kept by the stack (FwpsFlowAssociateContext0's flowId). */
  /** By Number(flowHandle): handles stay far below 2^53, and number keys hash faster than bigints. */
  readonly #byHandle = new Map<number, AleFlow>();
  #nextHandle = 1n;
  /** Called for every flow that ends (closed, evicted or expired), e.g. to run flowDeleteFn (D17). */
  onFlowEnd: ((flow: AleFlow, why: "closed" | "evicted" | "expired") => void) | undefined;

  constructor(options: AleFlowTableOptions = {}) {
    this.capacity = Math.max(1, options.capacity ?? 65536);
    this.idleNs = options.idleNs ?? 60_000_000_000n;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** A new authorized flow; with a key it is also filed for lookups (UDP, ICMP, observed traffic). */
  create(init: AleFlowInit): AleFlow {
    const flow = this.begin(init);
    this.admit(flow);
    return flow;
  }

  /**
   * A flow whose first authorization is about to be classified ("authorizing"): it has its FLOW_HANDLE
   * (callouts may associate contexts during that classification, D14) but is not filed under its key
   * until `admit` (permitted) or `hold` (pended); a blocked authorization `close`s it.
   */
  begin(init: AleFlowInit): AleFlow {
    const flow: AleFlow = {
      flowHandle: this.#nextHandle++,
      key: init.key,
      protocol: init.protocol,
      authLayer: init.authLayer,
      authFamily: init.authFamily,
      direction: init.direction,
      facts: init.facts,
      policy: init.policy,
      contexts: new Map(),
      lastActivityNs: init.lastActivityNs,
      state: "authorizing",
      classifying: 0,
    };
    this.counters.created++;
    this.#byHandle.set(Number(flow.flowHandle), flow);
    return flow;
  }

  /** The flow's authorization permitted it: "authorized", filed under its key (if any). */
  admit(flow: AleFlow): void {
    if (flow.state === "closed") return;
    const wasFiled = flow.state === "pending";
    flow.state = "authorized";
    if (!wasFiled) this.#file(flow);
  }

  /**
   * The flow's authorization was pended (D19): "pending", filed under its key so that its later packets
   * find it (they are held, not authorized again, until the operation completes).
   */
  hold(flow: AleFlow): void {
    if (flow.state !== "authorizing") return;
    flow.state = "pending";
    this.#file(flow);
  }

  /** The live flow with this FLOW_HANDLE (filed or not). */
  byHandle(flowHandle: bigint): AleFlow | undefined {
    return this.#byHandle.get(Number(flowHandle));
  }

  #file(flow: AleFlow): void {
    if (flow.key === "") return;
    const old = this.#byKey.peek(flow.key);
    if (old !== undefined && old !== flow) this.close(old);
    while (this.#byKey.size >= this.capacity) {
      const oldest = this.#byKey.oldest();
      if (oldest === undefined) break;
      this.#end(oldest.value, "evicted");
    }
    this.#byKey.set(flow.key, flow);
  }

  /** The flow filed under `key`, marked as active at `nowNs` (moves it to the young end). */
  touch(key: string, nowNs: bigint): AleFlow | undefined {
    const flow = this.#byKey.peek(key);
    if (flow === undefined) return undefined;
    if (flow.protocol !== 6 && flow.state !== "pending" && nowNs - flow.lastActivityNs > this.idleNs) {
      this.#end(flow, "expired");
      return undefined;
    }
    flow.lastActivityNs = nowNs;
    this.#byKey.touch(key);
    return flow;
  }

  /** The flow under `key` without touching it. */
  peek(key: string): AleFlow | undefined {
    return this.#byKey.peek(key);
  }

  /** Ends a flow (connection closed, socket closed, reauthorization blocked). */
  close(flow: AleFlow): void {
    if (flow.state === "closed") return;
    this.#end(flow, "closed");
  }

  /** Removes non-TCP flows idle for longer than the idle lifetime. */
  expire(nowNs: bigint): number {
    let n = 0;
    for (const flow of this.#byKey.values()) {
      if (flow.protocol !== 6 && flow.state !== "pending" && nowNs - flow.lastActivityNs > this.idleNs) {
        this.#end(flow, "expired");
        n++;
      }
    }
    return n;
  }

  /** Every live flow, filed or not (in no particular order). */
  live(): IterableIterator<AleFlow> {
    return this.#byHandle.values();
  }

  /** Every filed flow, oldest activity first. */
  flows(): AleFlow[] {
    return this.#byKey.values();
  }

  #end(flow: AleFlow, why: "closed" | "evicted" | "expired"): void {
    flow.state = "closed";
    this.#byHandle.delete(Number(flow.flowHandle));
    if (flow.key !== "" && this.#byKey.peek(flow.key) === flow) this.#byKey.delete(flow.key);
    this.counters[why]++;
    this.onFlowEnd?.(flow, why);
  }
}
