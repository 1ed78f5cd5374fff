import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bfe } from "./bfe.ts";
import { blockPort, connectAction, openTestBfe } from "./bfe-fixtures.testing.ts";
import { ADMINISTRATOR } from "./security/index.ts";
import type { Filter } from "../engine/index.ts";

const PERSISTENT = 0x1;

describe("commit publishes the staged transaction (H9)", () => {
  it("the live engine holds the very filters the session's adds returned, and the store all of them", async () => {
    const { bfe, store, clock } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    const added: Filter[] = [];
    await s.transact(() => {
      for (let p = 1; p <= 200; p++) added.push(s.addFilter(blockPort(p, { flags: PERSISTENT })));
      s.deleteFilterByKey((added.pop() as Filter).filterKey);
    });
    for (const f of added) assert.equal(bfe.engine.getFilter(f.filterKey), f);
    assert.equal(connectAction(bfe, 199), "FWP_ACTION_BLOCK");
    assert.equal(connectAction(bfe, 200), "FWP_ACTION_PERMIT");
    const again = Bfe.open({ store, clock });
    const back = again.openSession(ADMINISTRATOR).enumFilters();
    assert.deepEqual(
      back.map((f) => [f.filterKey, f.filterId, f.effectiveWeight]),
      added.map((f) => [f.filterKey, f.filterId, f.effectiveWeight]),
    );
  });

  it("a live engine changed behind the lock's back is checked again at commit (replay)", async () => {
    const { bfe } = openTestBfe();
    const s = bfe.openSession(ADMINISTRATOR);
    await s.beginTransaction();
    const mine = s.addFilter(blockPort(80));
    const taken = bfe.engine.addFilter(blockPort(81, { filterId: mine.filterId }));
    assert.throws(() => s.commit(), /FWP_E_ALREADY_EXISTS|in use/);
    assert.equal(connectAction(bfe, 80), "FWP_ACTION_PERMIT");
    assert.equal(bfe.engine.getFilter(mine.filterId), taken);
    await s.beginTransaction();
    const next = s.addFilter(blockPort(82));
    bfe.engine.addFilter(blockPort(83, { filterId: 9_000n }));
    s.commit();
    assert.equal(connectAction(bfe, 82), "FWP_ACTION_BLOCK");
    assert.notEqual(bfe.engine.getFilter(next.filterKey), next, "validated again: an equal filter, not the staged one");
    assert.equal(bfe.engine.getFilter(next.filterKey)?.effectiveWeight, next.effectiveWeight);
  });
});
