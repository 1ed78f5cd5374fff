import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fwpByteBlob, fwpRange, fwpUint64, fwpV6AddrMask } from "../fwp/index.ts";
import { fromStoreData, toStoreData } from "./codec.ts";

describe("store data codec", () => {
  it("round-trips bigints, bytes and nested values through JSON text", () => {
    const value = {
      filterId: 18_446_744_073_709_551_615n,
      weight: fwpUint64(1n << 63n),
      conditions: [
        { conditionValue: fwpByteBlob(new Uint8Array([0x5c, 0x00, 0x00, 0x00])) },
        { conditionValue: fwpV6AddrMask(new Uint8Array(16).fill(0xfe), 64) },
        { conditionValue: fwpRange(fwpUint64(1n), fwpUint64(2n)) },
      ],
      description: undefined,
      name: "x",
    };
    const text = JSON.stringify(toStoreData(value));
    const back = fromStoreData(JSON.parse(text)) as Record<string, unknown>;
    const { description: _, ...expected } = value;
    assert.deepEqual(back, expected);
  });

  it("refuses what JSON would alter", () => {
    assert.throws(() => toStoreData({ n: Number.NaN }), /cannot be stored/);
    assert.throws(() => toStoreData({ f: () => 1 }), /cannot be stored/);
    assert.throws(() => fromStoreData({ $bytes: "xyz" }), /bad \$bytes/);
  });
});
