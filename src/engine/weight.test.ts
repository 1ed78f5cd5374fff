import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SeededRng } from "../base/rng.ts";
import { FWPM_SUBLAYER, fwpRange, fwpUint8, fwpUint16, fwpUint32, fwpUint64, fwpV4AddrMask } from "../fwp/index.ts";
import { FilterEngine } from "./engine.ts";
import { appId, incoming, testGuid } from "./engine-fixtures.testing.ts";
import type { FilterConditionSpec, FilterSpec } from "./model.ts";
import { AUTO_WEIGHT_MAX } from "./weight.ts";

const CONNECT = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
const TRANSPORT = "FWPM_LAYER_INBOUND_TRANSPORT_V4";

/** A pool of conditions valid at ALE_AUTH_CONNECT_V4 (positive match types first, negatives last). */
const POOL: readonly FilterConditionSpec[] = [
  { fieldKey: "FWPM_CONDITION_ALE_APP_ID", matchType: "FWP_MATCH_EQUAL", conditionValue: appId("\\a.exe") },
  {
    fieldKey: "FWPM_CONDITION_IP_LOCAL_ADDRESS",
    matchType: "FWP_MATCH_EQUAL",
    conditionValue: fwpV4AddrMask(0xc0a80000, 16),
  },
  {
    fieldKey: "FWPM_CONDITION_IP_LOCAL_PORT",
    matchType: "FWP_MATCH_RANGE",
    conditionValue: fwpRange(fwpUint16(1000), fwpUint16(2000)),
  },
  { fieldKey: "FWPM_CONDITION_IP_PROTOCOL", matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint8(6) },
  {
    fieldKey: "FWPM_CONDITION_IP_REMOTE_ADDRESS",
    matchType: "FWP_MATCH_EQUAL",
    conditionValue: fwpV4AddrMask(0x0a000001, 32),
  },
  { fieldKey: "FWPM_CONDITION_IP_REMOTE_PORT", matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint16(443) },
  { fieldKey: "FWPM_CONDITION_FLAGS", matchType: "FWP_MATCH_FLAGS_NONE_SET", conditionValue: fwpUint32(0x1) },
  { fieldKey: "FWPM_CONDITION_INTERFACE_TYPE", matchType: "FWP_MATCH_EQUAL", conditionValue: fwpUint32(6) },
  { fieldKey: "FWPM_CONDITION_COMPARTMENT_ID", matchType: "FWP_MATCH_GREATER", conditionValue: fwpUint32(0) },
  {
    fieldKey: "FWPM_CONDITION_ALE_PACKAGE_ID",
    matchType: "FWP_MATCH_NOT_EQUAL",
    conditionValue: { type: "FWP_SID", value: Uint8Array.of(1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) },
  },
];
const POSITIVE = POOL.length - 1;

function weightOf(conditions: readonly FilterConditionSpec[], weight?: FilterSpec["weight"], layer = CONNECT): bigint {
  const spec: FilterSpec = {
    name: "w",
    layer,
    conditions,
    action: { type: "FWP_ACTION_BLOCK" },
    ...(weight === undefined ? {} : { weight }),
  };
  return new FilterEngine().addFilter(spec).effectiveWeight;
}

function randomSubset(rng: SeededRng, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (rng.chance(0.5)) out.push(i);
  return out;
}

describe("§B.1 filter weights", () => {
  test("B1: FWP_UINT64 is the effective weight verbatim, whatever the conditions", () => {
    assert.equal(weightOf(POOL, fwpUint64(12345n)), 12345n);
    assert.equal(weightOf([], fwpUint64(0n)), 0n);
  });

  test("B4.1: a FWP_UINT8 weight n puts n in the top four bits (n = 0..15, any conditions)", () => {
    const rng = new SeededRng(42);
    for (let n = 0; n <= 15; n++) {
      const subset = randomSubset(rng, POOL.length).map((i) => POOL[i] as FilterConditionSpec);
      // Many conditions on one field still stay below 2^60 (saturation).
      const many = Array.from({ length: 20 }, () => POOL[0] as FilterConditionSpec);
      for (const cs of [subset, many, POOL]) {
        const w = weightOf(cs, fwpUint8(n));
        assert.equal(w >> 60n, BigInt(n));
        assert.equal(w & AUTO_WEIGHT_MAX, weightOf(cs));
      }
    }
  });

  test("B4.2: no conditions → automatic part 0 (UINT8 n alone is exactly n << 60)", () => {
    assert.equal(weightOf([]), 0n);
    assert.equal(weightOf([], fwpUint8(15)), 15n << 60n);
    assert.equal(weightOf([], fwpUint8(0)), 0n);
  });

  test("B4.3: a strict superset of conditions never weighs less; a positive condition weighs strictly more", () => {
    const rng = new SeededRng(7);
    for (let round = 0; round < 300; round++) {
      const subset = randomSubset(rng, POOL.length);
      const missing = [...POOL.keys()].filter((i) => !subset.includes(i));
      if (missing.length === 0) continue;
      const extra = missing[rng.nextInt(missing.length)] as number;
      const small = subset.map((i) => POOL[i] as FilterConditionSpec);
      const big = [...small, POOL[extra] as FilterConditionSpec];
      const ws = weightOf(small);
      const wb = weightOf(big);
      assert.ok(wb >= ws, `superset ${[...subset, extra]} weighs less than ${subset}`);
      if (extra < POSITIVE) assert.ok(wb > ws, `adding positive condition ${extra} did not increase the weight`);
    }
  });

  test("B4.3 (observed tie): adding ALE_PACKAGE_ID != S-1-0-0 contributes 0", () => {
    const small = POOL.slice(0, 3);
    assert.equal(weightOf([...small, POOL[POSITIVE] as FilterConditionSpec]), weightOf(small));
  });

  test("B4.4: the same single-field filter weighs differently at layers that place the field differently", () => {
    const proto: FilterConditionSpec = {
      fieldKey: "FWPM_CONDITION_IP_PROTOCOL",
      matchType: "FWP_MATCH_EQUAL",
      conditionValue: fwpUint8(17),
    };
    const atConnect = weightOf([proto], undefined, CONNECT);
    const atTransport = weightOf([proto], undefined, TRANSPORT);
    assert.ok(atConnect > 0n && atTransport > 0n);
    assert.notEqual(atConnect, atTransport);
  });

  test("B4.5: deterministic for a given layer and condition set (order and engine do not matter)", () => {
    const rng = new SeededRng(99);
    for (let round = 0; round < 50; round++) {
      const cs = randomSubset(rng, POOL.length).map((i) => POOL[i] as FilterConditionSpec);
      assert.equal(weightOf(cs), weightOf([...cs].reverse()));
    }
  });

  test("B4 model: a narrower mask or range is more specific than a wider one", () => {
    const mask = (len: number): FilterConditionSpec[] => [
      {
        fieldKey: "FWPM_CONDITION_IP_REMOTE_ADDRESS",
        matchType: "FWP_MATCH_EQUAL",
        conditionValue: fwpV4AddrMask(0, len),
      },
    ];
    assert.ok(weightOf(mask(32)) > weightOf(mask(24)));
    assert.ok(weightOf(mask(24)) > weightOf(mask(8)));
    const range = (hi: number): FilterConditionSpec[] => [
      {
        fieldKey: "FWPM_CONDITION_IP_REMOTE_PORT",
        matchType: "FWP_MATCH_RANGE",
        conditionValue: fwpRange(fwpUint16(0), fwpUint16(hi)),
      },
    ];
    assert.ok(weightOf(range(1)) > weightOf(range(1023)));
    assert.ok(weightOf(range(1023)) > weightOf(range(65535)));
  });

  test("an auto-weighted filter with more conditions is evaluated before a wider one in the same sublayer", () => {
    const e = new FilterEngine();
    const wide = e.addFilter({ name: "wide", layer: CONNECT, action: { type: "FWP_ACTION_PERMIT" } });
    const narrow = e.addFilter({
      name: "narrow",
      layer: CONNECT,
      conditions: [POOL[5] as FilterConditionSpec],
      action: { type: "FWP_ACTION_BLOCK" },
    });
    const r = e.classify({
      layer: CONNECT,
      incomingValues: incoming(CONNECT, { FWPM_CONDITION_IP_REMOTE_PORT: fwpUint16(443) }),
    });
    assert.equal(r.decidingFilter, narrow);
    assert.ok(narrow.effectiveWeight > wide.effectiveWeight);
  });

  test("EngineOptions.autoWeight replaces the model", () => {
    const e = new FilterEngine({ options: { autoWeight: (_layer, cs) => BigInt(cs.length * 1000) } });
    assert.equal(
      e.addFilter({ name: "x", layer: CONNECT, conditions: POOL.slice(0, 3), action: { type: "FWP_ACTION_BLOCK" } })
        .effectiveWeight,
      3000n,
    );
    assert.equal(
      e.addFilter({
        name: "y",
        layer: CONNECT,
        conditions: POOL.slice(0, 2),
        weight: fwpUint8(1),
        action: { type: "FWP_ACTION_BLOCK" },
      }).effectiveWeight,
      (1n << 60n) | 2000n,
    );
  });
});

describe("§B.2–B.3 sublayers and ordering", () => {
  test("B6/B7: every built-in sublayer exists with its observed weight; GUID_NULL goes to UNIVERSAL", () => {
    const e = new FilterEngine();
    const byName = new Map(e.sublayers().map((s) => [s.name, s]));
    const expected: Record<string, number> = {
      FWPM_SUBLAYER_INSPECTION: 0x0000,
      FWPM_SUBLAYER_TEREDO: 0x0001,
      FWPM_SUBLAYER_IPSEC_SECURITY_REALM: 0x3000,
      FWPM_SUBLAYER_TCP_CHIMNEY_OFFLOAD: 0x2000,
      FWPM_SUBLAYER_TCP_TEMPLATES: 0x2200,
      FWPM_SUBLAYER_SECURE_SOCKET: 0x4000,
      FWPM_SUBLAYER_LIPS: 0x7fff,
      FWPM_SUBLAYER_UNIVERSAL: 0x8000,
      FWPM_SUBLAYER_IPSEC_DOSP: 0x8800,
      FWPM_SUBLAYER_IPSEC_FORWARD_OUTBOUND_TUNNEL: 0x9000,
      FWPM_SUBLAYER_IPSEC_TUNNEL: 0xa000,
      FWPM_SUBLAYER_RPC_AUDIT: 0xc000,
    };
    for (const [name, weight] of Object.entries(expected)) {
      const s = byName.get(name);
      assert.ok(s !== undefined, name);
      assert.equal(s.weight, weight, name);
      assert.equal(s.subLayerKey, FWPM_SUBLAYER[name as keyof typeof FWPM_SUBLAYER]);
      assert.equal(s.builtin, true);
    }
    // The EDGE_TRAVERSAL alias shares TEREDO's GUID and is not a second sublayer.
    assert.equal(byName.has("FWPM_SUBLAYER_EDGE_TRAVERSAL"), false);
    assert.equal(e.defaultSublayer.name, "FWPM_SUBLAYER_UNIVERSAL");
    assert.equal(
      e.addFilter({ name: "f", layer: CONNECT, action: { type: "FWP_ACTION_BLOCK" } }).sublayer,
      e.defaultSublayer,
    );
  });

  test("B7: built-in weights can be overridden by configuration", () => {
    const e = new FilterEngine({ options: { builtinSublayerWeights: { FWPM_SUBLAYER_MPSSVC_WF: 0x1234 } } });
    assert.equal(e.getSublayer(FWPM_SUBLAYER.FWPM_SUBLAYER_MPSSVC_WF)?.weight, 0x1234);
  });

  test("B6/B10: a higher-weight sublayer is evaluated first, across built-in and added sublayers", () => {
    const e = new FilterEngine();
    const top = e.addSublayer({ subLayerKey: testGuid(1), name: "top", weight: 0xffff });
    e.addFilter({ name: "universal permit", layer: CONNECT, flags: 0x8, action: { type: "FWP_ACTION_PERMIT" } });
    const block = e.addFilter({
      name: "top block",
      layer: CONNECT,
      sublayer: top.subLayerKey,
      action: { type: "FWP_ACTION_BLOCK" },
    });
    const r = e.classify({ layer: CONNECT, incomingValues: [] });
    assert.equal(r.action, "FWP_ACTION_BLOCK");
    assert.equal(r.decidingFilter, block);
    assert.deepEqual(
      e.layerPolicy(CONNECT).sublayers.map((s) => s.sublayer.name),
      ["top", "FWPM_SUBLAYER_UNIVERSAL"],
    );
  });

  test("B11: equal filter weights are ordered by filterId (ascending by default, switchable)", () => {
    for (const tieBreak of ["filterId-asc", "filterId-desc"] as const) {
      const e = new FilterEngine({ options: { filterTieBreak: tieBreak } });
      const a = e.addFilter({ name: "a", layer: CONNECT, weight: fwpUint64(5), action: { type: "FWP_ACTION_PERMIT" } });
      const b = e.addFilter({ name: "b", layer: CONNECT, weight: fwpUint64(5), action: { type: "FWP_ACTION_BLOCK" } });
      const r = e.classify({ layer: CONNECT, incomingValues: [] });
      assert.equal(r.decidingFilter, tieBreak === "filterId-asc" ? a : b);
    }
  });

  test("B11: equal sublayer weights are ordered by GUID byte order (ascending by default, switchable)", () => {
    // The first group of a GUID is stored little endian, so {01000000-...} (bytes 00 00 00 01) sorts
    // before {00000002-...} (bytes 02 00 00 00) although its text sorts after.
    const k1 = "01000000-0000-4000-8000-000000000000";
    const k2 = "00000002-0000-4000-8000-000000000000";
    for (const tieBreak of ["key-asc", "key-desc"] as const) {
      const e = new FilterEngine({ options: { sublayerTieBreak: tieBreak } });
      const s1 = e.addSublayer({ subLayerKey: k1, name: "k1", weight: 7 });
      const s2 = e.addSublayer({ subLayerKey: k2, name: "k2", weight: 7 });
      e.addFilter({ name: "in k1", layer: CONNECT, sublayer: s1.subLayerKey, action: { type: "FWP_ACTION_BLOCK" } });
      e.addFilter({ name: "in k2", layer: CONNECT, sublayer: s2.subLayerKey, action: { type: "FWP_ACTION_BLOCK" } });
      const order = e.layerPolicy(CONNECT).sublayers.map((s) => s.sublayer.name);
      assert.deepEqual(order, tieBreak === "key-asc" ? ["k1", "k2"] : ["k2", "k1"]);
    }
  });
});
