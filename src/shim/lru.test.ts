import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SeededRng } from "../base/index.ts";
import { LruMap } from "./lru.ts";

describe("LruMap", () => {
  it("evicts the least recently used entry; touch and set make an entry young", () => {
    const m = new LruMap<string, number>();
    m.set("a", 1);
    m.set("b", 2);
    m.set("c", 3);
    assert.equal(m.oldest()?.key, "a");
    assert.equal(m.touch("a"), 1);
    assert.equal(m.oldest()?.key, "b");
    m.set("b", 20);
    assert.deepEqual(m.values(), [3, 1, 20]);
    assert.equal(m.peek("c"), 3);
    assert.equal(m.oldest()?.key, "c", "peek does not touch");
    assert.ok(m.delete("c"));
    assert.equal(m.delete("c"), false);
    assert.deepEqual(m.values(), [1, 20]);
    assert.equal(m.size, 2);
  });

  it("agrees with a reference model over random operations", () => {
    const rng = new SeededRng(5);
    const m = new LruMap<number, number>();
    let model: [number, number][] = [];
    for (let i = 0; i < 20_000; i++) {
      const k = rng.nextInt(64);
      const op = rng.nextInt(4);
      if (op === 0) {
        m.set(k, i);
        model = model.filter(([x]) => x !== k);
        model.push([k, i]);
      } else if (op === 1) {
        const got = m.touch(k);
        const e = model.find(([x]) => x === k);
        assert.equal(got, e?.[1]);
        if (e !== undefined) model = [...model.filter(([x]) => x !== k), e];
      } else if (op === 2) {
        assert.equal(
          m.delete(k),
          model.some(([x]) => x === k),
        );
        model = model.filter(([x]) => x !== k);
      } else {
        assert.equal(m.oldest()?.key, model[0]?.[0]);
      }
    }
    assert.deepEqual(
      m.values(),
      model.map(([, v]) => v),
    );
  });
});
