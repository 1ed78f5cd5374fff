import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeValue } from "./codec.ts";
import { StoreError } from "./errors.ts";

const FILE = "/x/store.db";

describe("encodeValue: plain data takes the fast path with the same text", () => {
  it("plain JSON data encodes exactly as JSON.stringify does (undefined members dropped)", () => {
    const value = {
      filterKey: "0fc698f7-9080-489d-acf0-01d7023a8990",
      weight: { type: "FWP_UINT8", value: 3 },
      conditions: [{ fieldKey: "k", conditionValue: { type: "FWP_UINT16", value: 80 } }, null, true, -0, 1.5],
      description: undefined,
      filterId: { $bigint: "70000" },
      nested: Object.assign(Object.create(null) as object, { a: "b" }),
    };
    assert.equal(encodeValue(value, FILE, "data"), JSON.stringify(value));
    assert.equal(encodeValue("text", FILE, "data"), '"text"');
  });

  it("what needs the replacer still gets it: bigints, toJSON, refusals with their path", () => {
    assert.equal(encodeValue({ id: 5n, list: [1n] }, FILE, "data"), '{"id":"5","list":["1"]}');
    assert.equal(encodeValue({ when: { toJSON: () => "x" } }, FILE, "data"), '{"when":"x"}');
    const refused = (value: unknown, key: string): void =>
      assert.throws(
        () => encodeValue(value, FILE, "changes[3].data"),
        (e) => e instanceof StoreError && e.code === "E_STORE_INVALID_CHANGE" && e.message.includes(key),
      );
    refused({ n: Number.NaN }, '"n"');
    refused({ list: [1, undefined] }, '"1"');
    refused({ m: new Map() }, '"m"');
    refused({ f: () => 1 }, '"f"');
    refused(undefined, "changes[3].data");
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 100; i++) {
      const next: Record<string, unknown> = {};
      at.x = next;
      at = next;
    }
    assert.equal(encodeValue(deep, FILE, "data"), JSON.stringify(deep), "deep nesting falls back and still encodes");
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.throws(() => encodeValue(cycle, FILE, "data"), StoreError);
  });
});
