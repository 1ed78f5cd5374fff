import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FwpError, fwpUint8, fwpUint16 } from "../fwp/index.ts";
import { FilterEngine } from "./engine.ts";
import { incoming, testGuid } from "./engine-fixtures.testing.ts";
import type { FilterSpec } from "./model.ts";

const LAYER = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
const PORT = "FWPM_CONDITION_IP_REMOTE_PORT";

function block(port: number, extra: Partial<FilterSpec> = {}): FilterSpec {
  return {
    name: `block ${port}`,
    layer: LAYER,
    action: { type: "FWP_ACTION_BLOCK" },
    conditions: [{ fieldKey: PORT, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(port) }],
    ...extra,
  };
}

function action(engine: FilterEngine, port: number): string {
  return engine.classify({ layer: LAYER, incomingValues: incoming(LAYER, { [PORT]: fwpUint16(port) }) }).action;
}

describe("restore fields (a store or a netsh dump keeps ids and effective weights)", () => {
  it("a filter keeps the given filterId and effectiveWeight; later ids continue above it", () => {
    const e = new FilterEngine();
    const f = e.addFilter(
      block(80, { filterId: 70_000n, effectiveWeight: 0x0123_4567_89ab_cdefn, weight: fwpUint8(3) }),
    );
    assert.equal(f.filterId, 70_000n);
    assert.equal(f.effectiveWeight, 0x0123_4567_89ab_cdefn);
    assert.equal(e.addFilter(block(81)).filterId, 70_001n);
  });

  it("a filterId in use is FWP_E_ALREADY_EXISTS and a bad effectiveWeight FWP_E_INVALID_WEIGHT", () => {
    const e = new FilterEngine();
    const f = e.addFilter(block(80));
    assert.throws(
      () => e.addFilter(block(81, { filterId: f.filterId })),
      (x) => x instanceof FwpError && x.code === "FWP_E_ALREADY_EXISTS" && x.path === "filterId",
    );
    assert.throws(
      () => e.addFilter(block(81, { effectiveWeight: -1n })),
      (x) => x instanceof FwpError && x.code === "FWP_E_INVALID_WEIGHT",
    );
    assert.throws(
      () => e.addFilter(block(81, { effectiveWeight: 1n << 64n })),
      (x) => x instanceof FwpError && x.code === "FWP_E_INVALID_WEIGHT",
    );
  });

  it("callouts keep calloutId and provider contexts keep providerContextId", () => {
    const e = new FilterEngine();
    const c = e.addCallout({ calloutKey: testGuid(1), name: "c", applicableLayer: LAYER, calloutId: 500 });
    assert.equal(c.calloutId, 500);
    assert.equal(e.addCallout({ calloutKey: testGuid(2), name: "d", applicableLayer: LAYER }).calloutId, 501);
    assert.throws(
      () => e.addCallout({ calloutKey: testGuid(3), name: "x", applicableLayer: LAYER, calloutId: 500 }),
      (x) => x instanceof FwpError && x.code === "FWP_E_ALREADY_EXISTS",
    );
    const pc = e.addProviderContext({ providerContextKey: testGuid(4), name: "pc", providerContextId: 9n });
    assert.equal(pc.providerContextId, 9n);
    assert.equal(e.addProviderContext({ providerContextKey: testGuid(5), name: "pc2" }).providerContextId, 10n);
  });
});

describe("applyBatch: all or nothing (H9 atomic publication)", () => {
  it("applies every op in order and returns what each added or deleted", () => {
    const e = new FilterEngine();
    const old = e.addFilter(block(22));
    const results = e.applyBatch([
      { op: "addSublayer", spec: { subLayerKey: testGuid(10), name: "s", weight: 7 } },
      { op: "addFilter", spec: block(23, { sublayer: testGuid(10) }) },
      { op: "deleteFilter", key: old.filterKey },
    ]);
    assert.equal(results.length, 3);
    assert.equal(action(e, 23), "FWP_ACTION_BLOCK");
    assert.equal(action(e, 22), "FWP_ACTION_PERMIT");
  });

  it("a failing op undoes the ones before it and the engine classifies as before", () => {
    const e = new FilterEngine();
    const old = e.addFilter(block(22));
    assert.equal(action(e, 22), "FWP_ACTION_BLOCK"); // compiled before the batch
    assert.throws(
      () =>
        e.applyBatch([
          { op: "addSublayer", spec: { subLayerKey: testGuid(10), name: "s", weight: 7 } },
          { op: "addFilter", spec: block(23, { sublayer: testGuid(10) }) },
          { op: "deleteFilter", key: old.filterKey },
          { op: "addFilter", spec: block(24, { sublayer: testGuid(99) }) },
        ]),
      (x) => x instanceof FwpError && x.code === "FWP_E_SUBLAYER_NOT_FOUND",
    );
    assert.equal(action(e, 22), "FWP_ACTION_BLOCK");
    assert.equal(action(e, 23), "FWP_ACTION_PERMIT");
    assert.equal(e.getSublayer(testGuid(10)), undefined);
    assert.deepEqual(
      e.filters().map((f) => f.filterKey),
      [old.filterKey],
    );
  });

  it("a failing publish step (the store's commit) undoes the whole batch", () => {
    const e = new FilterEngine();
    assert.throws(
      () =>
        e.applyBatch([{ op: "addFilter", spec: block(23) }], () => {
          throw new Error("disk full");
        }),
      /disk full/,
    );
    assert.equal(e.filters().length, 0);
    assert.equal(action(e, 23), "FWP_ACTION_PERMIT");
  });

  it("a classify made while the batch applies (from a callout's notifyFn) sees the state before the batch", () => {
    const e = new FilterEngine();
    const calloutKey = testGuid(30);
    e.addCallout({ calloutKey, name: "watch", applicableLayer: LAYER });
    const seen: string[] = [];
    e.registerCallout({
      calloutKey,
      classifyFn: () => {},
      notifyFn: (type) => {
        if (type === "FWPS_CALLOUT_NOTIFY_ADD_FILTER") seen.push(`${action(e, 23)}/${action(e, 24)}`);
        return true;
      },
    });
    e.applyBatch([
      { op: "addFilter", spec: block(23) },
      {
        op: "addFilter",
        spec: { name: "inspect", layer: LAYER, action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey } },
      },
      { op: "addFilter", spec: block(24) },
    ]);
    // Mid-batch (block 23 already applied) the layer still classified as before the batch.
    assert.deepEqual(seen, ["FWP_ACTION_PERMIT/FWP_ACTION_PERMIT"]);
    assert.equal(action(e, 23), "FWP_ACTION_BLOCK");
    assert.equal(action(e, 24), "FWP_ACTION_BLOCK");
  });

  it("a nested batch is refused", () => {
    const e = new FilterEngine();
    assert.throws(
      () => e.applyBatch([{ op: "addFilter", spec: block(1) }], () => e.applyBatch([])),
      (x) => x instanceof FwpError && x.code === "FWP_E_TXN_IN_PROGRESS",
    );
    assert.equal(e.filters().length, 0);
  });
});

describe("fork: a staging copy", () => {
  it("changes to the fork do not reach the original, and the fork starts from the original's objects", () => {
    const e = new FilterEngine();
    const f = e.addFilter(block(22));
    const fork = e.fork();
    assert.equal(fork.getFilter(f.filterId), f);
    fork.addFilter(block(23));
    fork.deleteFilter(f.filterKey);
    assert.equal(action(fork, 23), "FWP_ACTION_BLOCK");
    assert.equal(action(e, 23), "FWP_ACTION_PERMIT");
    assert.equal(action(e, 22), "FWP_ACTION_BLOCK");
    assert.equal(fork.addFilter(block(24)).filterId, f.filterId + 2n);
  });

  it("compileConditions validates like an add without adding", () => {
    const e = new FilterEngine();
    const cs = e.compileConditions(LAYER, [
      { fieldKey: PORT, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(5) },
    ]);
    assert.equal(cs[0]?.conditionName, "FWPM_CONDITION_IP_REMOTE_PORT");
    assert.throws(
      () => e.compileConditions(LAYER, [{ fieldKey: PORT, matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint8(5) }]),
      (x) => x instanceof FwpError && x.code === "FWP_E_TYPE_MISMATCH" && x.path === "conditions[0].conditionValue",
    );
    assert.equal(e.filters().length, 0);
  });
});
