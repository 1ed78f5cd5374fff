/**
 * The indexed classifier: per layer, one `SublayerIndex` per sublayer (hash tables on exact-match
 * fields, per-length prefix tables for IPv4/IPv6 address masks, segment-tree interval indexes for
 * ranges and comparisons, a residual list for filters with no indexable condition group). It returns
 * exactly what the linear reference returns — candidates are verified with the shared `filterMatches`
 * (match.ts) and emitted in the sublayer's evaluation order — at a cost that grows with the number of
 * candidates rather than the number of filters. See wfp-semantics.md §A.1–A.4 for the semantics the
 * indexes respect, and §B.3 for the order.
 */
import type { FwpValue } from "../../fwp/index.ts";
import type { Classifier, CompiledLayer, LayerPolicy } from "../classifier.ts";
import type { Filter } from "../model.ts";
import { SublayerIndex } from "./sublayer-index.ts";

export interface IndexedClassifierOptions {
  /**
   * A sublayer with at most this many filters is scanned like the linear classifier instead of being
   * indexed (probing every index costs more than checking a handful of filters). Default 8.
   */
  readonly scanUpTo?: number;
}

/** A compiled layer: the sublayer indexes and one scratch buffer for candidate ranks. */
export class IndexedLayer implements CompiledLayer {
  readonly #sublayers: readonly SublayerIndex[];
  readonly #scratch: Int32Array;

  constructor(policy: LayerPolicy, options: IndexedClassifierOptions = {}) {
    const scanUpTo = options.scanUpTo ?? 8;
    this.#sublayers = policy.sublayers.map((s) => new SublayerIndex(s.filters, scanUpTo));
    let max = 1;
    for (const s of this.#sublayers) if (s.maxCandidates > max) max = s.maxCandidates;
    this.#scratch = new Int32Array(max);
  }

  /** Index shape per sublayer (for tests and the benchmark): probes and residual filters. */
  describe(): { readonly probes: number; readonly residual: number }[] {
    return this.#sublayers.map((s) => ({ probes: s.probeCount, residual: s.residualCount }));
  }

  /** Count style: writes the matches to out[0..n) and returns n (see CompiledLayer). */
  collectMatches(sublayerIndex: number, values: readonly FwpValue[], out: Filter[]): number {
    const s = this.#sublayers[sublayerIndex];
    return s === undefined ? 0 : s.collect(values, out, this.#scratch);
  }
}

/** An indexed classifier with non-default options (tests use `scanUpTo: 0` to index every sublayer). */
export function createIndexedClassifier(options: IndexedClassifierOptions = {}): Classifier {
  return Object.freeze({
    name: "indexed",
    compile(policy: LayerPolicy): IndexedLayer {
      return new IndexedLayer(policy, options);
    },
  });
}

export const indexedClassifier: Classifier = createIndexedClassifier();
