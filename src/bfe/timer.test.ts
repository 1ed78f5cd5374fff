import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../base/clock.ts";
import { ManualTimer } from "./timer.ts";

describe("ManualTimer", () => {
  it("fires callbacks in due order as its clock advances, and not after cancel", () => {
    const clock = new ManualClock(0n);
    const timer = new ManualTimer(clock);
    const fired: string[] = [];
    timer.after(20, () => fired.push("b"));
    timer.after(10, () => fired.push("a"));
    const cancel = timer.after(15, () => fired.push("cancelled"));
    cancel();
    timer.advanceMs(19);
    assert.deepEqual(fired, ["a"]);
    timer.advanceMs(1);
    assert.deepEqual(fired, ["a", "b"]);
    assert.equal(timer.pendingCount, 0);
  });
});
