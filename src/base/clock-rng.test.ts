import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatEpochNs, ManualClock } from "./clock.ts";
import { SeededRng } from "./rng.ts";

describe("manual clock", () => {
  it("moves only forward and only when told", () => {
    const c = new ManualClock(5n);
    assert.equal(c.nowNs(), 5n);
    c.advanceMs(1.5);
    assert.equal(c.nowNs(), 1_500_005n);
    assert.throws(() => c.advanceNs(-1n), RangeError);
    assert.throws(() => c.setNs(0n), RangeError);
  });
  it("formats epoch nanoseconds with nine decimals", () => {
    assert.equal(formatEpochNs(1020580534846229000n), "1020580534.846229000");
    assert.equal(formatEpochNs(0n), "0.000000000");
    assert.equal(formatEpochNs(-1n), "-0.000000001");
  });
});

describe("seeded RNG", () => {
  it("replays the same sequence from the same seed", () => {
    const a = new SeededRng(42);
    const b = new SeededRng(42);
    for (let i = 0; i < 100; i++) assert.equal(a.nextU32(), b.nextU32());
    assert.notEqual(new SeededRng(1).nextU32(), new SeededRng(2).nextU32());
  });
  it("draws integers within bounds, roughly uniformly", () => {
    const r = new SeededRng(9);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 10000; i++) {
      const x = r.nextInt(10);
      assert.ok(x >= 0 && x < 10);
      counts[x] = (counts[x] ?? 0) + 1;
    }
    for (const c of counts) assert.ok(c > 850 && c < 1150, `bucket ${c}`);
    assert.throws(() => r.nextInt(0), RangeError);
    for (let i = 0; i < 1000; i++) {
      const f = r.nextFloat();
      assert.ok(f >= 0 && f < 1);
    }
  });
});
