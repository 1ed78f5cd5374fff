import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GUID_NULL, guidFromBytes, guidToBytes, newGuid, parseGuid, tryParseGuid } from "./guid.ts";
import { SeededRng } from "./rng.ts";

describe("GUIDs", () => {
  it("parse with or without braces and normalise case", () => {
    const g = parseGuid("{C38D57D1-05A7-4C33-904F-7FBCEEE60E82}");
    assert.equal(g, "c38d57d1-05a7-4c33-904f-7fbceee60e82");
    assert.equal(parseGuid("c38d57d1-05a7-4c33-904f-7fbceee60e82"), g);
  });
  it("reject unbalanced braces and bad text", () => {
    for (const bad of [
      "{c38d57d1-05a7-4c33-904f-7fbceee60e82",
      "c38d57d1-05a7-4c33-904f-7fbceee60e8",
      "zz8d57d1-05a7-4c33-904f-7fbceee60e82",
      "",
    ]) {
      assert.equal(tryParseGuid(bad), undefined, bad);
    }
    assert.throws(() => parseGuid("nope"), { code: "E_INVALID_GUID" });
  });
  it("use the Windows structure layout for bytes (Data1–3 little endian)", () => {
    const g = parseGuid("00112233-4455-6677-8899-aabbccddeeff");
    assert.deepEqual(
      [...guidToBytes(g)],
      [0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff],
    );
    assert.equal(guidFromBytes(guidToBytes(g)), g);
    assert.equal(guidFromBytes(new Uint8Array(16)), GUID_NULL);
  });
  it("new GUIDs are version 4 and reproducible from a seed", () => {
    const a = newGuid((n) => new SeededRng(7).bytes(n));
    const b = newGuid((n) => new SeededRng(7).bytes(n));
    assert.equal(a, b);
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
