/**
 * The classifier interface: how the engine finds, per sublayer, the filters whose conditions match a
 * classification. Arbitration (§C), callouts and trace live in the engine and work over any
 * Classifier; a classifier only answers "which filters of this sublayer match, in evaluation order".
 * Implementations must decide matches with `filterMatches` (match.ts), the one definition of condition
 * semantics, so that every classifier agrees by construction; indexes may only narrow the candidates.
 */
import type { FwpValue, Layer } from "../fwp/index.ts";
import type { Filter, Sublayer } from "./model.ts";

/** One sublayer's filters at a layer, in evaluation order (effectiveWeight desc, then the tie-break). */
export interface SublayerPolicy {
  readonly sublayer: Sublayer;
  readonly filters: readonly Filter[];
}

/**
 * Everything a classifier needs for one layer: the sublayers that hold filters at this layer, in
 * evaluation order (weight desc, then the B11 tie-break), each with its filters in evaluation order
 * (effectiveWeight desc, then filterId asc by default).
 */
export interface LayerPolicy {
  readonly layer: Layer;
  readonly sublayers: readonly SublayerPolicy[];
}

export interface CompiledLayer {
  /**
   * Finds every filter of `policy.sublayers[sublayerIndex]` whose conditions all match `values`, in
   * evaluation order, in one of two styles:
   * - clears `out` and pushes the matches (returns nothing); or, allocation-free,
   * - writes the matches to `out[0..n)` without truncating it and returns `n` (entries past `n` are
   *   stale and ignored). `out.length = 0` releases V8's backing store, so push-style growth
   *   allocates on every call; the count style reuses the array.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: push-style implementations declared `: void` stay assignable.
  collectMatches(sublayerIndex: number, values: readonly FwpValue[], out: Filter[]): number | void;
}

export interface Classifier {
  readonly name: string;
  /** Builds the per-layer structure; called again whenever the layer's filters change. */
  compile(policy: LayerPolicy): CompiledLayer;
}

/**
 * The matches of one sublayer as a fresh array, whichever style `collectMatches` uses (for tests and
 * tools; the classify path uses the count directly and allocates nothing).
 */
export function collectMatchList(
  compiled: CompiledLayer,
  sublayerIndex: number,
  values: readonly FwpValue[],
): Filter[] {
  const out: Filter[] = [];
  const n = compiled.collectMatches(sublayerIndex, values, out);
  return typeof n === "number" ? out.slice(0, n) : out;
}
