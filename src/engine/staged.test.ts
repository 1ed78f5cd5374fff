import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FwpError, fwpUint16 } from "../fwp/index.ts";
import { FilterEngine } from "./engine.ts";
import { incoming, testGuid } from "./engine-fixtures.testing.ts";
import type { EngineBatchOp } from "./engine.ts";
import type { Filter, FilterSpec } from "./model.ts";

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

/** Ops re-creating filters exactly (what the BFE's replay builds). */
function replayOf(filters: readonly Filter[]): EngineBatchOp[] {
  return filters.map((f) => ({
    op: "addFilter",
    spec: {
      ...block((f.conditions[0] as { readonly value: { readonly value: number } }).value.value),
      filterKey: f.filterKey,
      filterId: f.filterId,
      effectiveWeight: f.effectiveWeight,
    },
  }));
}

describe("applyStaged: publishing a fork's work (the BFE's commit)", () => {
  it("publishes the fork's own objects when the origin did not change: no op is validated again", () => {
    const e = new FilterEngine();
    const fork = e.fork();
    const staged = Array.from(
      { length: 50 },
      (_, i) => fork.applyBatch([{ op: "addFilter", spec: block(1000 + i) }])[0] as Filter,
    );
    let replays = 0;
    const published = e.applyStaged(fork, () => {
      replays++;
      return replayOf(staged);
    });
    assert.equal(replays, 0);
    assert.equal(published.length, 50);
    for (const f of staged) assert.equal(e.getFilter(f.filterKey), f, "the very object the fork made");
    assert.equal(action(e, 1000), "FWP_ACTION_BLOCK");
    assert.equal(e.addFilter(block(1)).filterId, (staged[49] as Filter).filterId + 1n, "ids continue above");
  });

  it("replays (and validates) when the origin changed after the fork was taken", () => {
    const e = new FilterEngine();
    const fork = e.fork();
    const staged = [fork.applyBatch([{ op: "addFilter", spec: block(80, { filterKey: testGuid(1) }) }])[0] as Filter];
    e.addFilter(block(81, { filterKey: testGuid(1), filterId: 9_000n })); // the same key, now taken in the origin
    let replays = 0;
    assert.throws(
      () =>
        e.applyStaged(fork, () => {
          replays++;
          return replayOf(staged);
        }),
      (x) => x instanceof FwpError && x.code === "FWP_E_ALREADY_EXISTS",
    );
    assert.equal(replays, 1);
    assert.equal(action(e, 80), "FWP_ACTION_PERMIT", "nothing of the batch stayed");
  });

  it("keeps publishing after a failed batch on the fork, replays once the fork was changed outside a batch", () => {
    const e = new FilterEngine();
    let replays = 0;
    const clean = e.fork();
    const b = clean.applyBatch([{ op: "addFilter", spec: block(72) }])[0] as Filter;
    assert.throws(() => clean.applyBatch([{ op: "addFilter", spec: block(73, { layer: "nope" as never }) }]));
    e.applyStaged(clean, () => {
      replays++;
      return replayOf([b]);
    });
    assert.equal(replays, 0, "a failed batch on the fork leaves its journal usable");
    assert.equal(e.getFilter(b.filterKey), b);

    const touched = e.fork();
    touched.applyBatch([{ op: "addFilter", spec: block(75) }]);
    touched.addFilter(block(76)); // a direct call: the journal no longer tells everything
    e.applyStaged(touched, () => {
      replays++;
      return [
        { op: "addFilter", spec: block(75) },
        { op: "addFilter", spec: block(76) },
      ];
    });
    assert.equal(replays, 1);
    assert.equal(action(e, 76), "FWP_ACTION_BLOCK");
  });

  it("a registered callout still hears of (and may refuse) an adopted filter", () => {
    const e = new FilterEngine();
    const calloutKey = testGuid(7);
    e.addCallout({ calloutKey, name: "c", applicableLayer: LAYER });
    const heard: string[] = [];
    e.registerCallout({
      calloutKey,
      classifyFn: () => {},
      notifyFn: (type, _key, f) => {
        heard.push(`${type} ${f.name}`);
        return f.name !== "refused";
      },
    });
    const fork = e.fork();
    fork.applyBatch([{ op: "addFilter", spec: block(1) }]);
    fork.applyBatch([
      {
        op: "addFilter",
        spec: { name: "ok", layer: LAYER, action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey } },
      },
    ]);
    assert.deepEqual(heard, [], "the fork has no registrations");
    e.applyStaged(fork, () => {
      throw new Error("not replayed");
    });
    assert.deepEqual(heard, ["FWPS_CALLOUT_NOTIFY_ADD_FILTER ok"]);
    const fork2 = e.fork();
    fork2.applyBatch([{ op: "addFilter", spec: block(2) }]);
    fork2.applyBatch([
      {
        op: "addFilter",
        spec: { name: "refused", layer: LAYER, action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey } },
      },
    ]);
    assert.throws(
      () => e.applyStaged(fork2, () => []),
      (x) => x instanceof FwpError && x.code === "FWP_E_CALLOUT_NOTIFICATION_FAILED",
    );
    assert.equal(action(e, 2), "FWP_ACTION_PERMIT", "all or nothing");
    assert.equal(action(e, 1), "FWP_ACTION_BLOCK");
  });

  it("until beforePublish returns, classify sees the pre-batch state; a throwing beforePublish changes nothing", () => {
    const e = new FilterEngine();
    e.addFilter(block(10));
    assert.equal(action(e, 10), "FWP_ACTION_BLOCK"); // layer compiled before the batch
    const fork = e.fork();
    fork.applyBatch([{ op: "addFilter", spec: block(11) }]);
    fork.applyBatch([{ op: "deleteFilter", key: (e.filters()[0] as Filter).filterKey }]);
    const seen: string[] = [];
    assert.throws(
      () =>
        e.applyStaged(
          fork,
          () => [],
          () => {
            seen.push(action(e, 10), action(e, 11));
            throw new Error("the store refused");
          },
        ),
      /the store refused/,
    );
    assert.deepEqual(seen, ["FWP_ACTION_BLOCK", "FWP_ACTION_PERMIT"]);
    assert.equal(action(e, 10), "FWP_ACTION_BLOCK");
    assert.equal(action(e, 11), "FWP_ACTION_PERMIT");
    assert.equal(e.filters().length, 1);
    // Published for real: both changes at once.
    const again = e.fork();
    again.applyBatch([{ op: "addFilter", spec: block(11) }]);
    again.applyBatch([{ op: "deleteFilter", key: (e.filters()[0] as Filter).filterKey }]);
    e.applyStaged(again, () => {
      throw new Error("not replayed");
    });
    assert.equal(action(e, 10), "FWP_ACTION_PERMIT");
    assert.equal(action(e, 11), "FWP_ACTION_BLOCK");
  });

  it("a published fork keeps reading, and its own later changes never reach the engine", () => {
    const e = new FilterEngine();
    const fork = e.fork();
    const a = fork.applyBatch([{ op: "addFilter", spec: block(20) }])[0] as Filter;
    e.applyStaged(fork, () => {
      throw new Error("not replayed");
    });
    assert.equal(fork.getFilter(a.filterKey), a);
    const b = fork.addFilter(block(21));
    fork.deleteFilter(a.filterKey);
    assert.equal(action(fork, 21), "FWP_ACTION_BLOCK");
    assert.equal(e.getFilter(b.filterKey), undefined, "the fork copied the tables before changing them");
    assert.equal(e.getFilter(a.filterKey), a);
    assert.equal(action(e, 20), "FWP_ACTION_BLOCK");
    assert.equal(action(e, 21), "FWP_ACTION_PERMIT");
    // Nor can the fork be published a second time as it is: its journal no longer tells everything.
    let replays = 0;
    e.applyStaged(fork, () => {
      replays++;
      return [];
    });
    assert.equal(replays, 1);
  });

  it("a callout that changes the engine while hearing of an adopted filter keeps its change", () => {
    const e = new FilterEngine();
    const calloutKey = testGuid(8);
    e.addCallout({ calloutKey, name: "c", applicableLayer: LAYER });
    let added: Filter | undefined;
    e.registerCallout({
      calloutKey,
      classifyFn: () => {},
      notifyFn: (type) => {
        if (type === "FWPS_CALLOUT_NOTIFY_ADD_FILTER" && added === undefined) added = e.addFilter(block(31));
        return true;
      },
    });
    const fork = e.fork();
    const staged = fork.applyBatch([
      {
        op: "addFilter",
        spec: { name: "inspect", layer: LAYER, action: { type: "FWP_ACTION_CALLOUT_INSPECTION", calloutKey } },
      },
      { op: "addFilter", spec: block(30) },
    ]);
    e.applyStaged(fork, () => {
      throw new Error("not replayed");
    });
    for (const f of staged as Filter[]) assert.equal(e.getFilter(f.filterKey), f);
    assert.ok(added !== undefined && e.getFilter(added.filterKey) === added);
    assert.equal(action(e, 30), "FWP_ACTION_BLOCK");
    assert.equal(action(e, 31), "FWP_ACTION_BLOCK");
  });

  it("a registration learns the run-time id of a callout the fork added", () => {
    const e = new FilterEngine();
    const calloutKey = testGuid(9);
    const ids: number[] = [];
    e.registerCallout({ calloutKey, classifyFn: () => {}, flowDeleteFn: (_layer, id) => ids.push(id) });
    const fork = e.fork();
    const c = fork.applyBatch([{ op: "addCallout", spec: { calloutKey, name: "late", applicableLayer: LAYER } }])[0];
    e.applyStaged(fork, () => {
      throw new Error("not replayed");
    });
    assert.equal(e.getCallout(calloutKey), c);
    e.flowDeleted(LAYER, calloutKey, 1n);
    assert.deepEqual(ids, [(c as { calloutId: number }).calloutId]);
  });
});
