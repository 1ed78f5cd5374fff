/**
 * The linear reference classifier: literally scans each sublayer's filters in evaluation order and
 * keeps those whose conditions match (filterMatches). The behaviour every other classifier must
 * reproduce (wfp-semantics.md §C4: "build the list of matching filters by weight desc").
 */
import type { FwpValue } from "../fwp/index.ts";
import type { Classifier, CompiledLayer, LayerPolicy } from "./classifier.ts";
import { filterMatches } from "./match.ts";
import type { Filter } from "./model.ts";

export const linearClassifier: Classifier = {
  name: "linear",
  compile(policy: LayerPolicy): CompiledLayer {
    const sublayers = policy.sublayers;
    return {
      collectMatches(sublayerIndex: number, values: readonly FwpValue[], out: Filter[]): number {
        const filters = sublayers[sublayerIndex]?.filters;
        if (filters === undefined) return 0;
        let n = 0;
        for (let i = 0; i < filters.length; i++) {
          const f = filters[i] as Filter;
          if (filterMatches(f, values)) out[n++] = f;
        }
        return n;
      },
    };
  },
};
