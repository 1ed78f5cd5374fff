import assert from "node:assert/strict";
import { test } from "node:test";
import { SeededRng } from "../../base/rng.ts";
import { compareBytes } from "../../fwp/value.ts";
import { hashBytes, hashString, hashV6Prefix } from "./hash.ts";
import { IntervalIndex, type IntervalInput } from "./interval-index.ts";
import { PostingsBuilder, U32Table } from "./postings.ts";
import { sortUnique } from "./sort.ts";

const numberOrder = (a: number, b: number): number => a - b;

test("sortUnique sorts ascending and drops repeats, for small and large inputs", () => {
  const rng = new SeededRng(7);
  for (const n of [0, 1, 2, 5, 15, 16, 17, 100, 5000]) {
    const a = new Int32Array(n + 3);
    const ref: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = rng.nextInt(n < 50 ? 10 : 3000);
      a[i] = v;
      ref.push(v);
    }
    const expected = [...new Set(ref)].sort(numberOrder);
    const len = sortUnique(a, n);
    assert.deepEqual([...a.subarray(0, len)], expected, `n=${n}`);
  }
});

test("sortUnique copes with already sorted, reversed and constant input", () => {
  for (const make of [(i: number) => i, (i: number) => 999 - i, () => 4]) {
    const a = Int32Array.from({ length: 1000 }, (_, i) => make(i));
    const len = sortUnique(a, 1000);
    const expected = [...new Set(Array.from({ length: 1000 }, (_, i) => make(i)))].sort(numberOrder);
    assert.deepEqual([...a.subarray(0, len)], expected);
  }
});

test("U32Table maps full-range 32-bit keys to buckets and misses absent keys", () => {
  const table = new U32Table(1000);
  const builder = new PostingsBuilder();
  const keys = [0, 1, 0xffffffff, 0x80000000, 0x0a000001, 0xc0a80001];
  const buckets = keys.map((k) => table.getOrAdd(k, () => builder.newBucket()));
  assert.deepEqual(buckets, [0, 1, 2, 3, 4, 5]);
  keys.forEach((k, i) => {
    assert.equal(table.get(k), i);
  });
  assert.equal(table.get(2), -1);
  assert.equal(table.get(0x7fffffff), -1);
  assert.equal(
    table.getOrAdd(0xffffffff, () => builder.newBucket()),
    2,
    "existing key keeps its bucket",
  );
  assert.equal(table.size, keys.length);
});

test("PostingsBuilder packs buckets in rank order and keeps a repeated rank once", () => {
  const b = new PostingsBuilder();
  const x = b.newBucket();
  const y = b.newBucket();
  const z = b.newBucket();
  b.add(y, 0);
  b.add(x, 1);
  b.add(y, 1);
  b.add(y, 1);
  b.add(x, 4);
  const { starts, ranks } = b.build();
  const list = (k: number): number[] => [...ranks.subarray(starts[k], starts[k + 1])];
  assert.deepEqual(list(x), [1, 4]);
  assert.deepEqual(list(y), [0, 1]);
  assert.deepEqual(list(z), []);
});

test("hashes agree exactly on equal inputs and separate the prefix bits that matter", () => {
  assert.equal(hashBytes(Uint8Array.of(1, 2, 3)), hashBytes(new Uint8Array([1, 2, 3])));
  assert.notEqual(hashBytes(Uint8Array.of(1, 2, 3)), hashBytes(Uint8Array.of(1, 2, 3, 0)));
  assert.equal(hashString("C:\\x.exe"), hashString("C:\\x.exe"));
  assert.notEqual(hashString("a"), hashString("b"));
  const a = new Uint8Array(16);
  const b = new Uint8Array(16);
  a[0] = 0xfe;
  a[1] = 0x80;
  b[0] = 0xfe;
  b[1] = 0xbf; // same first 10 bits as a (fe80::/10 contains febf::)
  b[15] = 9;
  assert.equal(hashV6Prefix(a, 10), hashV6Prefix(b, 10));
  assert.equal(hashV6Prefix(a, 0), hashV6Prefix(b, 0));
  assert.notEqual(hashV6Prefix(a, 11), hashV6Prefix(b, 11));
  assert.notEqual(hashV6Prefix(a, 128), hashV6Prefix(b, 128));
});

function bruteStab<K>(inputs: readonly IntervalInput<K>[], key: K, compare: (a: K, b: K) => number): number[] {
  return [
    ...new Set(
      inputs
        .filter(
          (iv) =>
            (iv.low === undefined || compare(iv.low, key) <= 0) &&
            (iv.high === undefined || compare(key, iv.high) <= 0),
        )
        .map((iv) => iv.rank),
    ),
  ].sort(numberOrder);
}

test("IntervalIndex finds exactly the intervals containing a point, in both layouts (numbers, open ends, endpoints)", () => {
  const rng = new SeededRng(11);
  for (let round = 0; round < 30; round++) {
    const inputs: IntervalInput<number>[] = [];
    const count = rng.nextRange(0, 60);
    for (let rank = 0; rank < count; rank++) {
      // Some filters carry several intervals (an OR group), possibly overlapping.
      for (let k = rng.nextRange(1, 2); k > 0; k--) {
        const a = rng.nextInt(100);
        const b = rng.nextInt(100);
        inputs.push({
          low: rng.chance(0.15) ? undefined : Math.min(a, b),
          high: rng.chance(0.15) ? undefined : Math.max(a, b),
          rank,
        });
      }
    }
    // Both layouts: per-slot lists (the default for little overlap) and the segment tree (budget 0).
    for (const index of [new IntervalIndex(inputs, numberOrder), new IntervalIndex(inputs, numberOrder, 0)]) {
      const out = new Int32Array(inputs.length + 1);
      for (let key = -2; key <= 102; key++) {
        const n = sortUnique(out, index.stab(key, out, 0));
        assert.deepEqual([...out.subarray(0, n)], bruteStab(inputs, key, numberOrder), `round ${round} key ${key}`);
      }
    }
  }
});

test("IntervalIndex orders byte strings lexicographically with a shorter prefix first (§A11)", () => {
  const inputs: IntervalInput<Uint8Array>[] = [
    { low: Uint8Array.of(1), high: Uint8Array.of(1, 5), rank: 0 },
    { low: Uint8Array.of(1, 5), high: Uint8Array.of(2), rank: 1 },
    { low: undefined, high: Uint8Array.of(0, 255), rank: 2 },
  ];
  for (const index of [new IntervalIndex(inputs, compareBytes), new IntervalIndex(inputs, compareBytes, 0)]) {
    const out = new Int32Array(8);
    const probe = (key: Uint8Array): number[] => {
      const n = sortUnique(out, index.stab(key, out, 0));
      return [...out.subarray(0, n)];
    };
    for (const key of [
      Uint8Array.of(0),
      Uint8Array.of(1),
      Uint8Array.of(1, 0),
      Uint8Array.of(1, 5),
      Uint8Array.of(1, 5, 0),
      Uint8Array.of(2),
      Uint8Array.of(2, 0),
    ]) {
      assert.deepEqual(probe(key), bruteStab(inputs, key, compareBytes), `key ${[...key]}`);
    }
  }
});
