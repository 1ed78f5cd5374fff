import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { seqAdd, seqDiff, seqGe, seqGt, seqInRange, seqLe, seqLt, seqMax, seqMin } from "./seq.ts";

describe("sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4)", () => {
  it("adds with wraparound", () => {
    assert.equal(seqAdd(0xffffffff, 1), 0);
    assert.equal(seqAdd(0xfffffff0, 0x20), 0x10);
    assert.equal(seqAdd(5, -10), 0xfffffffb);
  });

  it("orders numbers across the wrap", () => {
    assert.ok(seqLt(0xfffffff0, 0x10));
    assert.ok(seqGt(0x10, 0xfffffff0));
    assert.ok(seqLe(7, 7) && seqGe(7, 7));
    assert.equal(seqDiff(0x10, 0xfffffff0), 0x20);
    assert.equal(seqDiff(0xfffffff0, 0x10), -0x20);
    assert.equal(seqMax(0xfffffff0, 0x10), 0x10);
    assert.equal(seqMin(0xfffffff0, 0x10), 0xfffffff0);
  });

  it("tests ranges that straddle 2^32", () => {
    assert.ok(seqInRange(0x5, 0xfffffffe, 10));
    assert.ok(seqInRange(0xfffffffe, 0xfffffffe, 10));
    assert.ok(!seqInRange(0x8, 0xfffffffe, 10));
    assert.ok(!seqInRange(0xfffffffd, 0xfffffffe, 10));
    assert.ok(!seqInRange(0xfffffffe, 0xfffffffe, 0));
  });

  it("a + n is after a for every 0 < n < 2^31, and the distance comes back", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 0x7fffffff }), (a, n) => {
        const b = seqAdd(a, n);
        return seqLt(a, b) && seqGt(b, a) && seqDiff(b, a) === n && seqDiff(a, b) === -n && seqInRange(b, a, n + 1);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
