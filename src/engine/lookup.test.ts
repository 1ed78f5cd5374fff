import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newGuid, SeededRng, tryParseGuid } from "../base/index.ts";
import { findCondition, findLayer } from "../fwp/index.ts";
import { conditionOf, fieldOf, freshGuid, guidKey, isCanonicalGuid, layerOf } from "./lookup.ts";

describe("hot-path lookups give the plain lookups' answers", () => {
  it("freshGuid draws the same bytes and formats the same text as newGuid", () => {
    for (let seed = 1; seed <= 500; seed++) {
      const a = new SeededRng(seed);
      const b = new SeededRng(seed);
      assert.equal(
        freshGuid((n) => a.bytes(n)),
        newGuid((n) => b.bytes(n)),
      );
    }
    // A source that does not return 16 bytes falls back to newGuid's own handling.
    assert.equal(
      freshGuid(() => new Uint8Array(8).fill(0xab)),
      newGuid(() => new Uint8Array(8).fill(0xab)),
    );
  });

  it("guidKey and isCanonicalGuid agree with tryParseGuid", () => {
    const rng = new SeededRng(9);
    const texts = [
      "",
      "not a guid",
      "00000000-0000-0000-0000-000000000000",
      "{6E0B1A2C-3D4E-4F50-8A6B-7C8D9E0F1A2B}",
      " 6e0b1a2c-3d4e-4f50-8a6b-7c8d9e0f1a2b ",
      "6e0b1a2c-3d4e-4f50-8a6b-7c8d9e0f1a2b",
      "6e0b1a2c-3d4e-4f50-8a6b-7c8d9e0f1a2g",
      "6e0b1a2c3d4e-4f50-8a6b-7c8d9e0f1a2b-",
      "{6e0b1a2c-3d4e-4f50-8a6b-7c8d9e0f1a2b",
    ];
    for (let i = 0; i < 200; i++) texts.push(newGuid((n) => rng.bytes(n)));
    for (const t of texts) {
      assert.equal(guidKey(t), tryParseGuid(t), t);
      assert.equal(isCanonicalGuid(t), tryParseGuid(t) === t, t);
    }
  });

  it("conditionOf, layerOf and fieldOf resolve as findCondition, findLayer and layer.fields do", () => {
    const layer = findLayer("FWPM_LAYER_ALE_AUTH_CONNECT_V4");
    assert.ok(layer?.key);
    for (const ref of ["FWPM_LAYER_ALE_AUTH_CONNECT_V4", layer.key, layer.key.toUpperCase(), "nope", 42, layer]) {
      assert.equal(layerOf(ref), findLayer(ref as string));
      assert.equal(layerOf(ref), findLayer(ref as string), "a second (memoised) answer is the same");
    }
    assert.equal(layerOf(null), undefined);
    for (const f of layer.fields) {
      const byName = conditionOf(f.condition);
      assert.equal(byName, findCondition(f.condition));
      assert.equal(conditionOf(f.conditionKey), findCondition(f.conditionKey));
      assert.equal(
        fieldOf(layer, f.conditionKey),
        layer.fields.find((x) => x.conditionKey === f.conditionKey),
      );
    }
    assert.equal(conditionOf("FWPM_CONDITION_NOPE"), undefined);
  });
});
