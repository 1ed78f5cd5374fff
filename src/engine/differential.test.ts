/**
 * Differential property test: FilterEngine over the linear reference classifier and over the indexed
 * classifier must return identical ClassifyResults and identical traces, and invoke the callouts
 * identically, for seeded random policies (several sublayers and weights, every match type over many
 * data types at real layers, static and callout actions with deterministic callout behaviours,
 * unregistered callouts, EMPTY/UINT8/UINT64 weights, non-default grouping and EMPTY options) and random
 * incoming values biased to hit filter values. Filters are deleted between rounds so layers recompile.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SeededRng } from "../base/rng.ts";
import { isFwpError } from "../fwp/index.ts";
import type { Classifier } from "./classifier.ts";
import { FilterEngine } from "./engine.ts";
import { createIndexedClassifier, indexedClassifier } from "./indexed/index.ts";
import {
  type CalloutCall,
  calloutRegistrations,
  RANDOM_POLICY_LAYERS,
  type RandomPolicy,
  randomIncoming,
  randomPolicy,
} from "./indexed/random-policy.testing.ts";
import { linearClassifier } from "./linear.ts";
import type { ClassifyResult } from "./model.ts";

const SEED = 0xd1ff;
/** Every other policy indexes even its smallest sublayers (the default scans sublayers of ≤ 8 filters). */
const alwaysIndexed = createIndexedClassifier({ scanUpTo: 0 });
const POLICIES = 500;
const CLASSIFICATIONS_PER_POLICY = 24;

interface Side {
  readonly engine: FilterEngine;
  readonly calls: CalloutCall[];
}

/** An engine holding the policy (same GUID source for both sides); returns each add's outcome. */
function load(policy: RandomPolicy, classifier: Classifier): { side: Side; outcomes: string[] } {
  const rng = new SeededRng(SEED);
  const engine = new FilterEngine({ classifier, options: policy.options, randomBytes: (n) => rng.bytes(n) });
  const calls: CalloutCall[] = [];
  for (const s of policy.sublayers) engine.addSublayer(s);
  for (const c of policy.callouts) engine.addCallout(c);
  for (const r of calloutRegistrations(policy, calls)) engine.registerCallout(r);
  const outcomes = policy.filters.map((spec) => {
    try {
      return `added ${engine.addFilter(spec).filterId}`;
    } catch (e) {
      if (!isFwpError(e)) throw e;
      return `rejected ${e.message}`;
    }
  });
  return { side: { engine, calls }, outcomes };
}

test("linear and indexed classifiers give identical results, traces and callout calls (seeded)", (t) => {
  const rng = new SeededRng(SEED);
  let cases = 0;
  let decided = 0;
  let filtersAdded = 0;
  for (let p = 0; p < POLICIES; p++) {
    const layerName = RANDOM_POLICY_LAYERS[p % RANDOM_POLICY_LAYERS.length] as string;
    const policy = randomPolicy(rng, layerName, rng.nextRange(0, 40));
    const linear = load(policy, linearClassifier);
    const indexed = load(policy, p % 2 === 0 ? indexedClassifier : alwaysIndexed);
    assert.deepEqual(indexed.outcomes, linear.outcomes, `policy ${p}: add outcomes`);
    filtersAdded += linear.outcomes.filter((o) => o.startsWith("added")).length;
    for (let k = 0; k < CLASSIFICATIONS_PER_POLICY; k++) {
      // Halfway through, delete a few filters from both engines: the layer recompiles.
      if (k === CLASSIFICATIONS_PER_POLICY / 2) {
        const ids = linear.side.engine.filters(policy.layer).map((f) => f.filterId);
        for (let d = Math.min(3, ids.length); d > 0; d--) {
          const id = ids.splice(rng.nextInt(ids.length), 1)[0] as bigint;
          linear.side.engine.deleteFilter(id);
          indexed.side.engine.deleteFilter(id);
        }
      }
      const incomingValues = randomIncoming(rng, policy);
      const trace = rng.chance(0.75);
      const request = { layer: policy.layer, incomingValues, trace };
      const expected: ClassifyResult = linear.side.engine.classify(request);
      const actual: ClassifyResult = indexed.side.engine.classify(request);
      assert.deepStrictEqual(actual, expected, `policy ${p} (${layerName}) classification ${k}`);
      cases++;
      if (expected.decidingFilter !== null) decided++;
    }
    assert.deepStrictEqual(indexed.side.calls, linear.side.calls, `policy ${p}: callout invocations`);
  }
  t.diagnostic(
    `${cases} differential cases over ${POLICIES} policies (${filtersAdded} filters); ${decided} decided by a filter`,
  );
  assert.ok(cases >= 10_000);
  // The generator must make filters decide often, or the comparison proves little.
  assert.ok(decided > cases / 3, `only ${decided}/${cases} classifications were decided by a filter`);
});
