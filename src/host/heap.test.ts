import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { collectGarbage } from "./heap.ts";

describe("collectGarbage", () => {
  it("frees what nothing refers to any more, at once, without giving the global object a gc", () => {
    // 200,000 objects (tens of MB) made unreachable: one collection takes the heap back below what it held.
    let garbage: { i: number; s: string }[] | null = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
    const held = process.memoryUsage().heapUsed;
    assert.equal(garbage.length, 200_000);
    garbage = null;
    assert.equal(collectGarbage(), true);
    const after = process.memoryUsage().heapUsed;
    assert.ok(after < held - 8 * 1024 * 1024, `heap ${held} -> ${after} bytes`);
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, "undefined");
    assert.equal(collectGarbage(), true, "callable again");
  });
});
