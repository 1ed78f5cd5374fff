import assert from "node:assert/strict";
import { PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, test } from "node:test";
import { fwpUint16, fwpUint32, fwpUint64, getLayer } from "../fwp/index.ts";
import type { Classifier, LayerPolicy } from "./classifier.ts";
import { FilterEngine } from "./engine.ts";
import { incoming, testGuid } from "./engine-fixtures.testing.ts";
import { linearClassifier } from "./linear.ts";

const CONNECT = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
const LISTEN = "FWPM_LAYER_ALE_AUTH_LISTEN_V4";

function countingClassifier(): { classifier: Classifier; compiled: LayerPolicy[] } {
  const compiled: LayerPolicy[] = [];
  return {
    compiled,
    classifier: {
      name: "counting",
      compile(policy) {
        compiled.push(policy);
        return linearClassifier.compile(policy);
      },
    },
  };
}

describe("FilterEngine", () => {
  test("a layer is compiled lazily, once per change, and only the changed layer recompiles", () => {
    const { classifier, compiled } = countingClassifier();
    const e = new FilterEngine({ classifier });
    assert.equal(e.classifier, classifier);
    e.addFilter({ name: "a", layer: CONNECT, action: { type: "FWP_ACTION_BLOCK" } });
    assert.equal(compiled.length, 0);
    e.classify({ layer: CONNECT, incomingValues: [] });
    e.classify({ layer: CONNECT, incomingValues: [] });
    assert.equal(compiled.length, 1);
    e.addFilter({ name: "b", layer: LISTEN, action: { type: "FWP_ACTION_BLOCK" } });
    e.classify({ layer: CONNECT, incomingValues: [] });
    assert.equal(compiled.length, 1);
    const c = e.addFilter({
      name: "c",
      layer: CONNECT,
      weight: fwpUint64(1n << 62n),
      action: { type: "FWP_ACTION_PERMIT" },
    });
    const r = e.classify({ layer: CONNECT, incomingValues: [] });
    assert.equal(compiled.length, 2);
    assert.equal(r.decidingFilter, c);
    e.deleteFilter(c.filterKey);
    assert.equal(e.classify({ layer: CONNECT, incomingValues: [] }).action, "FWP_ACTION_BLOCK");
    assert.equal(compiled.length, 3);
    assert.equal(compiled[2]?.layer, getLayer(CONNECT));
  });

  test("the layer policy holds only sublayers with filters, in evaluation order, filters by weight then id", () => {
    const e = new FilterEngine();
    const s = e.addSublayer({ subLayerKey: testGuid(1), name: "mine", weight: 0x10 });
    const a = e.addFilter({ name: "a", layer: CONNECT, weight: fwpUint64(1), action: { type: "FWP_ACTION_BLOCK" } });
    const b = e.addFilter({ name: "b", layer: CONNECT, weight: fwpUint64(2), action: { type: "FWP_ACTION_BLOCK" } });
    const c = e.addFilter({ name: "c", layer: CONNECT, weight: fwpUint64(2), action: { type: "FWP_ACTION_BLOCK" } });
    const d = e.addFilter({ name: "d", layer: CONNECT, sublayer: s.subLayerKey, action: { type: "FWP_ACTION_BLOCK" } });
    const p = e.layerPolicy(CONNECT);
    assert.deepEqual(
      p.sublayers.map((x) => [x.sublayer.name, x.filters]),
      [
        ["FWPM_SUBLAYER_UNIVERSAL", [b, c, a]],
        ["mine", [d]],
      ],
    );
    assert.deepEqual(e.filters(CONNECT), [a, b, c, d]);
    assert.deepEqual(e.filters(), [a, b, c, d]);
    assert.equal(e.getFilter(b.filterKey), b);
    assert.equal(e.getFilter(b.filterId), b);
    assert.equal(e.layerPolicy(LISTEN).sublayers.length, 0);
  });

  test("layers resolve by FWPM name, FWPS name, run-time id, GUID or Layer object", () => {
    const e = new FilterEngine();
    e.addFilter({ name: "a", layer: CONNECT, action: { type: "FWP_ACTION_BLOCK" } });
    const layer = getLayer(CONNECT);
    for (const ref of [CONNECT, layer.fwpsName, layer.runtimeId, layer.key as string, layer]) {
      assert.equal(e.classify({ layer: ref, incomingValues: [] }).action, "FWP_ACTION_BLOCK");
    }
  });

  test("filters are immutable and carry their compiled conditions and groups", () => {
    const e = new FilterEngine();
    const f = e.addFilter({
      name: "ports",
      layer: CONNECT,
      conditions: [
        { fieldKey: "FWPM_CONDITION_IP_REMOTE_PORT", matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(80) },
        { fieldKey: "FWPM_CONDITION_IP_REMOTE_ADDRESS", matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint32(1) },
        { fieldKey: "FWPM_CONDITION_IP_REMOTE_PORT", matchType: 0, conditionValue: fwpUint16(443) },
      ],
      action: { type: "FWP_ACTION_BLOCK" },
    });
    assert.ok(Object.isFrozen(f));
    assert.deepEqual(
      f.conditionGroups.map((g) => g.map((c) => c.conditionName)),
      [["FWPM_CONDITION_IP_REMOTE_PORT", "FWPM_CONDITION_IP_REMOTE_PORT"], ["FWPM_CONDITION_IP_REMOTE_ADDRESS"]],
    );
    assert.equal(f.conditions[2]?.matchType, "FWP_MATCH_EQUAL");
    assert.equal(f.conditions[0]?.fieldIndex, 7);
  });

  test("the untraced classify path allocates nothing per filter (no young-generation GCs over many filters)", async () => {
    const e = new FilterEngine();
    const calKey = testGuid(0x77);
    e.addCallout({ calloutKey: calKey, name: "no-op", applicableLayer: CONNECT });
    let invoked = 0;
    e.registerCallout({
      calloutKey: calKey,
      classifyFn: () => {
        invoked++;
      },
    });
    // 3000 non-matching filters, 300 matching inspection callouts that do nothing, then a permit.
    for (let i = 0; i < 3000; i++) {
      e.addFilter({
        name: `port ${i}`,
        layer: CONNECT,
        weight: fwpUint64(10_000 + i),
        conditions: [
          { fieldKey: "FWPM_CONDITION_IP_REMOTE_PORT", matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(i) },
        ],
        action: { type: "FWP_ACTION_BLOCK" },
      });
    }
    for (let i = 0; i < 300; i++) {
      e.addFilter({
        name: `insp ${i}`,
        layer: CONNECT,
        weight: fwpUint64(100 + i),
        action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey: calKey },
      });
    }
    e.addFilter({ name: "permit", layer: CONNECT, weight: fwpUint64(1), action: { type: "FWP_ACTION_PERMIT" } });
    const values = incoming(CONNECT, { FWPM_CONDITION_IP_REMOTE_PORT: fwpUint16(65000) });

    // Measure heap growth between two forced full GCs' worth of quiet: after gc(), 300 untraced
    // classifications must neither trigger a GC nor grow the heap by a byte per filter.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    async function measure(runs: number, trace: boolean): Promise<{ gcs: number; bytesPerRun: number }> {
      let gcs = 0;
      const obs = new PerformanceObserver((list) => {
        gcs += list.getEntries().length;
      });
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
      obs.observe({ entryTypes: ["gc"] });
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < runs; i++)
        e.classify(
          trace ? { layer: CONNECT, incomingValues: values, trace } : { layer: CONNECT, incomingValues: values },
        );
      const after = process.memoryUsage().heapUsed;
      await new Promise((resolve) => setTimeout(resolve, 10));
      obs.disconnect();
      return { gcs, bytesPerRun: (after - before) / runs };
    }
    e.classify({ layer: CONNECT, incomingValues: values }); // compile and warm up outside the measurement
    const untraced = await measure(300, false);
    const traced = await measure(5, true);
    assert.equal(invoked, 301 * 300 + 5 * 300);
    assert.equal(untraced.gcs, 0, "untraced classifications triggered a GC");
    assert.ok(untraced.bytesPerRun < 3301, `untraced: ${untraced.bytesPerRun} bytes per classification`);
    // Control: the traced path allocates per filter, so the measurement can see it.
    assert.ok(traced.bytesPerRun > 100 * 3301 || traced.gcs > 0, `control: traced ${traced.bytesPerRun} bytes`);
  });
});
