import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ReassemblyQueue } from "./reassembly.ts";
import { SendBuffer } from "./send-buffer.ts";

const bytes = (...v: number[]): Uint8Array => Uint8Array.from(v);

describe("send buffer", () => {
  it("takes only what fits and hands out copies across the ring's wrap", () => {
    const b = new SendBuffer(8);
    assert.equal(b.write(bytes(1, 2, 3, 4, 5, 6)), 6);
    b.drop(4);
    assert.equal(b.write(bytes(7, 8, 9, 10, 11, 12, 13)), 6); // 2 held + 6 = capacity
    assert.equal(b.free, 0);
    assert.equal(b.write(bytes(99)), 0);
    const r = b.read(0, 8);
    assert.deepEqual([...r], [5, 6, 7, 8, 9, 10, 11, 12]);
    r[0] = 0;
    assert.deepEqual([...b.read(0, 2)], [5, 6], "read returns a copy");
    assert.deepEqual([...b.read(6, 10)], [11, 12], "reads are clipped");
    b.drop(100);
    assert.equal(b.length, 0);
  });
});

describe("reassembly queue", () => {
  it("holds out-of-order ranges, merges neighbours and releases them in order", () => {
    const q = new ReassemblyQueue(100, 4);
    assert.equal(q.insert(10, bytes(10, 11, 12)), "stored");
    assert.equal(q.insert(20, bytes(20, 21)), "stored");
    assert.equal(q.insert(13, bytes(13, 14)), "stored"); // touches [10,13): merges
    assert.deepEqual(q.ranges(), [
      [10, 15],
      [20, 22],
    ]);
    assert.equal(q.bytes, 7);
    assert.equal(q.insert(11, bytes(11, 12)), "duplicate");
    assert.equal(q.takeInOrder(), undefined, "nothing at RCV.NXT yet");
    q.advance(10); // bytes 0..9 arrived in order
    assert.deepEqual([...(q.takeInOrder() ?? [])], [10, 11, 12, 13, 14]);
    assert.deepEqual(q.ranges(), [[5, 7]]);
    q.advance(5);
    assert.deepEqual([...(q.takeInOrder() ?? [])], [20, 21]);
    assert.equal(q.bytes, 0);
  });

  it("refuses a new range beyond its range limit but still merges into held ones", () => {
    const q = new ReassemblyQueue(100, 2);
    q.insert(10, bytes(1));
    q.insert(20, bytes(2));
    assert.equal(q.insert(30, bytes(3)), "full");
    assert.equal(q.insert(11, bytes(4)), "stored");
    assert.equal(q.insert(12, bytes(5, 6, 7, 8, 9, 10, 11, 12)), "stored"); // bridges both ranges
    assert.deepEqual(q.ranges(), [[10, 21]]);
  });

  it("never stores past its capacity", () => {
    const q = new ReassemblyQueue(16, 4);
    assert.equal(q.insert(14, bytes(1, 2, 3, 4)), "stored");
    assert.deepEqual(q.ranges(), [[14, 16]]);
    assert.equal(q.insert(16, bytes(1)), "duplicate");
  });

  it("agrees with a byte-map model under random inserts and advances", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant("insert" as const), off: fc.nat(60), len: fc.integer({ min: 1, max: 12 }) }),
            fc.record({ kind: fc.constant("advance" as const), n: fc.integer({ min: 1, max: 10 }) }),
          ),
          { maxLength: 60 },
        ),
        (ops) => {
          const cap = 64;
          const q = new ReassemblyQueue(cap, 1000);
          let base = 0; // absolute offset of RCV.NXT
          const model = new Map<number, number>(); // absolute offset -> byte
          for (const op of ops) {
            if (op.kind === "insert") {
              const data = new Uint8Array(op.len);
              for (let i = 0; i < op.len; i++) data[i] = (base + op.off + i) & 0xff;
              q.insert(op.off, data);
              for (let i = 0; i < op.len && op.off + i < cap; i++)
                model.set(base + op.off + i, (base + op.off + i) & 0xff);
            } else {
              q.advance(op.n);
              base += op.n;
              for (const k of [...model.keys()]) if (k < base) model.delete(k);
            }
            const taken = q.takeInOrder();
            if (taken !== undefined) {
              for (let i = 0; i < taken.length; i++) {
                if (taken[i] !== ((base + i) & 0xff) || !model.has(base + i)) return false;
                model.delete(base + i);
              }
              base += taken.length;
            }
            if (q.bytes !== model.size) return false;
          }
          return true;
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });
});
