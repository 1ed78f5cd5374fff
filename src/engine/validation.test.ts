import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  FWP_EMPTY_VALUE,
  type FwpConditionValue,
  FwpError,
  type FwpErrorName,
  fwpByteBlob,
  fwpRange,
  fwpUint8,
  fwpUint16,
  fwpUint32,
  fwpUint64,
  fwpUnicodeString,
  fwpV4AddrMask,
} from "../fwp/index.ts";
import { FilterEngine } from "./engine.ts";
import { answers, scriptedCallout, testGuid } from "./engine-fixtures.testing.ts";
import type { FilterSpec } from "./model.ts";

const CONNECT = "FWPM_LAYER_ALE_AUTH_CONNECT_V4";
const LISTEN = "FWPM_LAYER_ALE_AUTH_LISTEN_V4";

function rejects(fn: () => unknown, code: FwpErrorName, path?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FwpError, `expected FwpError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (path !== undefined) assert.equal(e.path, path);
    return true;
  });
}

const base: FilterSpec = { name: "f", layer: CONNECT, action: { type: "FWP_ACTION_BLOCK" } };
const withCondition = (
  fieldKey: string,
  matchType: string | number,
  conditionValue: unknown,
  extra: unknown[] = [],
): FilterSpec =>
  ({
    ...base,
    conditions: [...extra, { fieldKey, matchType, conditionValue }],
  }) as unknown as FilterSpec;
const portOk = {
  fieldKey: "FWPM_CONDITION_IP_REMOTE_PORT",
  matchType: "FWP_MATCH_EQUAL",
  conditionValue: fwpUint16(80),
};

describe("§A.5 add-time validation", () => {
  test("V1: a missing action is FWP_E_NULL_POINTER at action", () => {
    rejects(
      () => new FilterEngine().addFilter({ name: "f", layer: CONNECT } as unknown as FilterSpec),
      "FWP_E_NULL_POINTER",
      "action",
    );
  });
  test("V2: a missing display name is FWP_E_NULL_DISPLAY_NAME at name", () => {
    rejects(
      () =>
        new FilterEngine().addFilter({ layer: CONNECT, action: { type: "FWP_ACTION_BLOCK" } } as unknown as FilterSpec),
      "FWP_E_NULL_DISPLAY_NAME",
      "name",
    );
  });
  test("V3: unknown flag bits, DISABLED, PERSISTENT+BOOTTIME, PERMIT_IF_CALLOUT_UNREGISTERED on a static action", () => {
    const e = new FilterEngine();
    rejects(() => e.addFilter({ ...base, flags: 0x100000 }), "FWP_E_INVALID_FLAGS", "flags");
    rejects(() => e.addFilter({ ...base, flags: 0x20 }), "FWP_E_INVALID_FLAGS", "flags");
    rejects(() => e.addFilter({ ...base, flags: 0x3 }), "FWP_E_INVALID_FLAGS", "flags");
    rejects(() => e.addFilter({ ...base, flags: 0x10 }), "FWP_E_INVALID_FLAGS", "flags");
  });
  test("V3 comes before V4: bad flags and an unknown layer report the flags", () => {
    rejects(
      () => new FilterEngine().addFilter({ ...base, layer: "FWPM_LAYER_NOPE", flags: 0x20 }),
      "FWP_E_INVALID_FLAGS",
      "flags",
    );
  });
  test("V4: an unknown layer is FWP_E_LAYER_NOT_FOUND at layer (names, GUIDs and ids resolve)", () => {
    const e = new FilterEngine();
    rejects(() => e.addFilter({ ...base, layer: "FWPM_LAYER_NOPE" }), "FWP_E_LAYER_NOT_FOUND", "layer");
    rejects(() => e.addFilter({ ...base, layer: 999 }), "FWP_E_LAYER_NOT_FOUND", "layer");
    rejects(() => e.addFilter({ ...base, layer: testGuid(1) }), "FWP_E_LAYER_NOT_FOUND", "layer");
    assert.equal(e.addFilter({ ...base, layer: "FWPS_LAYER_ALE_AUTH_CONNECT_V4" }).layer.fwpmName, CONNECT);
  });
  test("H15 (after V4): a boot-time filter at a user-mode layer is FWP_E_INCOMPATIBLE_LAYER at flags; kernel-mode layers take it", () => {
    const e = new FilterEngine();
    for (const layer of ["FWPM_LAYER_IKEEXT_V4", "FWPM_LAYER_RPC_UM", "FWPM_LAYER_IPSEC_V6"]) {
      rejects(() => e.addFilter({ ...base, layer, flags: 0x2 }), "FWP_E_INCOMPATIBLE_LAYER", "flags");
      // Not boot-time: the same filter is fine there.
      assert.equal(e.addFilter({ ...base, layer }).layer.fwpmName, layer);
    }
    assert.equal(e.addFilter({ ...base, flags: 0x2 }).flags, 0x2);
    assert.equal(e.addFilter({ ...base, layer: "FWPM_LAYER_IPFORWARD_V4", flags: 0x2 }).flags, 0x2);
  });
  test("V5: an unknown sublayer is FWP_E_SUBLAYER_NOT_FOUND; GUID_NULL means the default sublayer", () => {
    const e = new FilterEngine();
    rejects(() => e.addFilter({ ...base, sublayer: testGuid(9) }), "FWP_E_SUBLAYER_NOT_FOUND", "sublayer");
    const f = e.addFilter({ ...base, sublayer: "00000000-0000-0000-0000-000000000000" });
    assert.equal(f.sublayer.name, "FWPM_SUBLAYER_UNIVERSAL");
  });
  test("V6: an unknown provider is FWP_E_PROVIDER_NOT_FOUND at providerKey", () => {
    rejects(
      () => new FilterEngine().addFilter({ ...base, providerKey: testGuid(7) }),
      "FWP_E_PROVIDER_NOT_FOUND",
      "providerKey",
    );
  });
  test("V7: HAS_PROVIDER_CONTEXT with an unknown provider context", () => {
    const e = new FilterEngine();
    rejects(
      () => e.addFilter({ ...base, flags: 0x4, providerContextKey: testGuid(8) }),
      "FWP_E_PROVIDER_CONTEXT_NOT_FOUND",
      "providerContextKey",
    );
    e.addProviderContext({ providerContextKey: testGuid(8), name: "ctx" });
    assert.equal(e.addFilter({ ...base, flags: 0x4, providerContextKey: testGuid(8) }).providerContextKey, testGuid(8));
  });
  test("V8: an invalid action type is FWP_E_INVALID_ACTION_TYPE at action.type (CONTINUE is not a filter action)", () => {
    const e = new FilterEngine();
    rejects(() => e.addFilter({ ...base, action: { type: 0x2006 } }), "FWP_E_INVALID_ACTION_TYPE", "action.type");
    rejects(
      () => e.addFilter({ ...base, action: { type: "FWP_ACTION_NONE" as "FWP_ACTION_BLOCK" } }),
      "FWP_E_INVALID_ACTION_TYPE",
      "action.type",
    );
    assert.equal(e.addFilter({ ...base, action: { type: 0x1002 } }).action.type, "FWP_ACTION_PERMIT");
  });
  test("V9/V10: unknown callout; callout of another layer is FWP_E_INCOMPATIBLE_LAYER", () => {
    const e = new FilterEngine();
    rejects(
      () => e.addFilter({ ...base, action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: testGuid(5) } }),
      "FWP_E_CALLOUT_NOT_FOUND",
      "action.calloutKey",
    );
    const c = scriptedCallout(e, 1, LISTEN, answers.block);
    rejects(
      () => e.addFilter({ ...base, action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: c.key } }),
      "FWP_E_INCOMPATIBLE_LAYER",
      "action.calloutKey",
    );
  });
  test("V12: weights other than EMPTY / UINT8 0..15 / UINT64 are FWP_E_INVALID_WEIGHT", () => {
    const e = new FilterEngine();
    rejects(() => e.addFilter({ ...base, weight: fwpUint8(16) }), "FWP_E_INVALID_WEIGHT", "weight.value");
    rejects(() => e.addFilter({ ...base, weight: fwpUint32(1) }), "FWP_E_INVALID_WEIGHT", "weight.type");
    assert.equal(e.addFilter({ ...base, weight: fwpUint8(15) }).effectiveWeight >> 60n, 15n);
  });
  test("V13: a condition on a field the layer lacks is FWP_E_CONDITION_NOT_FOUND at conditions[i].fieldKey", () => {
    const e = new FilterEngine();
    rejects(
      () =>
        e.addFilter({
          ...withCondition("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", fwpUint16(1)),
          layer: LISTEN,
        }),
      "FWP_E_CONDITION_NOT_FOUND",
      "conditions[0].fieldKey",
    );
    rejects(
      () => e.addFilter(withCondition("FWPM_CONDITION_NO_SUCH_THING", "FWP_MATCH_EQUAL", fwpUint16(1), [portOk])),
      "FWP_E_CONDITION_NOT_FOUND",
      "conditions[1].fieldKey",
    );
  });
  test("V14: a match type out of range is FWP_E_INVALID_ENUMERATOR at conditions[i].matchType", () => {
    rejects(
      () => new FilterEngine().addFilter(withCondition("FWPM_CONDITION_IP_REMOTE_PORT", 13, fwpUint16(1), [portOk])),
      "FWP_E_INVALID_ENUMERATOR",
      "conditions[1].matchType",
    );
  });
  test("V15: a value of the wrong type for the field is FWP_E_TYPE_MISMATCH at conditions[i].conditionValue", () => {
    const e = new FilterEngine();
    rejects(
      () => e.addFilter(withCondition("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", fwpUint32(80), [portOk])),
      "FWP_E_TYPE_MISMATCH",
      "conditions[1].conditionValue",
    );
    rejects(
      () => e.addFilter(withCondition("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", fwpV4AddrMask(0, 0))),
      "FWP_E_TYPE_MISMATCH",
      "conditions[0].conditionValue",
    );
    rejects(
      () =>
        e.addFilter(
          withCondition("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_RANGE", fwpRange(fwpUint8(1), fwpUint8(2))),
        ),
      "FWP_E_TYPE_MISMATCH",
      "conditions[0].conditionValue",
    );
    // An address mask is fine on an address field, and FWP_EMPTY on any field.
    e.addFilter(withCondition("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_EQUAL", fwpV4AddrMask(0x0a000000, 8)));
    e.addFilter(withCondition("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", FWP_EMPTY_VALUE));
  });
  test("V16: a match type the value type does not allow is FWP_E_MATCH_TYPE_MISMATCH at conditions[i].matchType", () => {
    const e = new FilterEngine();
    const cases: [string, string, FwpConditionValue][] = [
      ["FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_RANGE", fwpUint16(1)],
      ["FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", fwpRange(fwpUint16(1), fwpUint16(2))],
      ["FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_PREFIX", fwpUint16(1)],
      ["FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL_CASE_INSENSITIVE", fwpUint16(1)],
      ["FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_GREATER", fwpV4AddrMask(0, 0)],
      ["FWPM_CONDITION_ALE_APP_ID", "FWP_MATCH_FLAGS_ALL_SET", fwpByteBlob(Uint8Array.of(1))],
      ["FWPM_CONDITION_ALE_PACKAGE_FAMILY_NAME", "FWP_MATCH_FLAGS_ANY_SET", fwpUnicodeString("x")],
      ["FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_GREATER", FWP_EMPTY_VALUE],
      ["FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_NOT_EQUAL", FWP_EMPTY_VALUE],
    ];
    for (const [field, mt, value] of cases) {
      rejects(
        () => e.addFilter(withCondition(field, mt, value, [portOk])),
        "FWP_E_MATCH_TYPE_MISMATCH",
        "conditions[1].matchType",
      );
    }
  });
  test("A16 option addressMaskNotEqual=false rejects NOT_EQUAL with an address mask", () => {
    const spec = withCondition("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_NOT_EQUAL", fwpV4AddrMask(0, 8));
    new FilterEngine().addFilter(spec);
    rejects(
      () => new FilterEngine({ options: { addressMaskNotEqual: false } }).addFilter(spec),
      "FWP_E_MATCH_TYPE_MISMATCH",
      "conditions[0].matchType",
    );
  });
  test("V17: an inverted range is FWP_E_INVALID_RANGE; a non-contiguous mask is FWP_E_INVALID_NET_MASK", () => {
    const e = new FilterEngine();
    const inverted = { type: "FWP_RANGE_TYPE", valueLow: fwpUint16(2000), valueHigh: fwpUint16(1000) };
    rejects(
      () => e.addFilter(withCondition("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_RANGE", inverted)),
      "FWP_E_INVALID_RANGE",
      "conditions[0].conditionValue",
    );
    const mixed = { type: "FWP_RANGE_TYPE", valueLow: fwpUint16(1), valueHigh: fwpUint32(2) };
    rejects(
      () => e.addFilter(withCondition("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_RANGE", mixed)),
      "FWP_E_INVALID_RANGE",
      "conditions[0].conditionValue",
    );
    const badMask = { type: "FWP_V4_ADDR_MASK", addr: 0x0a000000, mask: 0xff00ff00 };
    rejects(
      () => e.addFilter(withCondition("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_EQUAL", badMask)),
      "FWP_E_INVALID_NET_MASK",
      "conditions[0].conditionValue.mask",
    );
    const badPrefix = { type: "FWP_V6_ADDR_MASK", addr: new Uint8Array(16), prefixLength: 129 };
    rejects(
      () =>
        e.addFilter({
          ...withCondition("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_EQUAL", badPrefix),
          layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V6",
        }),
      "FWP_E_INVALID_NET_MASK",
      "conditions[0].conditionValue.prefixLength",
    );
    const emptyBlob = { type: "FWP_BYTE_BLOB_TYPE", value: new Uint8Array(0) };
    rejects(
      () => e.addFilter(withCondition("FWPM_CONDITION_ALE_APP_ID", "FWP_MATCH_EQUAL", emptyBlob)),
      "FWP_E_ZERO_LENGTH_ARRAY",
      "conditions[0].conditionValue.value",
    );
    const outOfBounds = { type: "FWP_UINT16", value: 65536 };
    rejects(
      () => e.addFilter(withCondition("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", outOfBounds)),
      "FWP_E_OUT_OF_BOUNDS",
      "conditions[0].conditionValue.value",
    );
  });
  test("V15 before V16 before V17: the first failing check of a condition wins", () => {
    const e = new FilterEngine();
    // Wrong type AND inverted: type mismatch is reported.
    const invertedU32 = { type: "FWP_RANGE_TYPE", valueLow: fwpUint32(2), valueHigh: fwpUint32(1) };
    rejects(
      () => e.addFilter(withCondition("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_RANGE", invertedU32)),
      "FWP_E_TYPE_MISMATCH",
    );
    // Right type, wrong match type, inverted: match type mismatch is reported.
    const inverted = { type: "FWP_RANGE_TYPE", valueLow: fwpUint16(2), valueHigh: fwpUint16(1) };
    rejects(
      () => e.addFilter(withCondition("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", inverted)),
      "FWP_E_MATCH_TYPE_MISMATCH",
    );
  });
  test("V18: a malformed security descriptor on a token field is rejected at its value", () => {
    const bad = { type: "FWP_SECURITY_DESCRIPTOR_TYPE", value: Uint8Array.of(1, 0, 0, 0) };
    rejects(
      () => new FilterEngine().addFilter(withCondition("FWPM_CONDITION_ALE_USER_ID", "FWP_MATCH_EQUAL", bad)),
      "FWP_E_INVALID_PARAMETER",
    );
  });
  test("V19: a filterKey already in use is FWP_E_ALREADY_EXISTS; a null key gets a fresh GUID (A17)", () => {
    const e = new FilterEngine();
    e.addFilter({ ...base, filterKey: testGuid(1) });
    rejects(() => e.addFilter({ ...base, filterKey: testGuid(1) }), "FWP_E_ALREADY_EXISTS", "filterKey");
    const a = e.addFilter({ ...base, filterKey: "00000000-0000-0000-0000-000000000000" });
    const b = e.addFilter(base);
    assert.notEqual(a.filterKey, "00000000-0000-0000-0000-000000000000");
    assert.notEqual(a.filterKey, b.filterKey);
    assert.ok(b.filterId > a.filterId);
  });
  test("V20: a persistent filter in a non-persistent sublayer is FWP_E_LIFETIME_MISMATCH", () => {
    const e = new FilterEngine();
    const s = e.addSublayer({ subLayerKey: testGuid(2), name: "dyn", weight: 1 });
    rejects(() => e.addFilter({ ...base, sublayer: s.subLayerKey, flags: 0x1 }), "FWP_E_LIFETIME_MISMATCH", "sublayer");
    e.addFilter({ ...base, flags: 0x1 }); // built-in sublayers are persistent
  });
  test("a rejected add leaves nothing behind", () => {
    const e = new FilterEngine();
    rejects(
      () => e.addFilter(withCondition("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_EQUAL", fwpUint32(1))),
      "FWP_E_TYPE_MISMATCH",
    );
    assert.equal(e.filters().length, 0);
    assert.equal(e.addFilter(base).filterId, 1n);
  });
});

describe("sublayer, callout and provider management errors", () => {
  test("sublayers: duplicate key, bad weight, missing name, unknown provider, in-use and built-in deletes", () => {
    const e = new FilterEngine();
    e.addSublayer({ subLayerKey: testGuid(1), name: "s", weight: 10 });
    rejects(
      () => e.addSublayer({ subLayerKey: testGuid(1), name: "s2", weight: 10 }),
      "FWP_E_ALREADY_EXISTS",
      "subLayerKey",
    );
    rejects(
      () => e.addSublayer({ subLayerKey: testGuid(2), name: "s", weight: 0x10000 }),
      "FWP_E_INVALID_WEIGHT",
      "weight",
    );
    rejects(() => e.addSublayer({ subLayerKey: testGuid(2), weight: 1 } as never), "FWP_E_NULL_DISPLAY_NAME", "name");
    rejects(
      () => e.addSublayer({ subLayerKey: testGuid(2), name: "s", weight: 1, providerKey: testGuid(3) }),
      "FWP_E_PROVIDER_NOT_FOUND",
      "providerKey",
    );
    const f = e.addFilter({ ...base, sublayer: testGuid(1) });
    rejects(() => e.deleteSublayer(testGuid(1)), "FWP_E_IN_USE");
    e.deleteFilter(f.filterId);
    e.deleteSublayer(testGuid(1));
    rejects(() => e.deleteSublayer(testGuid(1)), "FWP_E_SUBLAYER_NOT_FOUND");
    rejects(() => e.deleteSublayer(e.defaultSublayer.subLayerKey), "FWP_E_BUILTIN_OBJECT");
  });
  test("callouts: duplicate key, unknown layer, in-use delete, unknown delete", () => {
    const e = new FilterEngine();
    const c = scriptedCallout(e, 1, CONNECT, answers.block);
    rejects(
      () => e.addCallout({ calloutKey: c.key, name: "again", applicableLayer: CONNECT }),
      "FWP_E_ALREADY_EXISTS",
      "calloutKey",
    );
    rejects(
      () => e.addCallout({ calloutKey: testGuid(9), name: "x", applicableLayer: "FWPM_LAYER_NOPE" }),
      "FWP_E_LAYER_NOT_FOUND",
      "applicableLayer",
    );
    const f = e.addFilter({ ...base, action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey: c.key } });
    rejects(() => e.deleteCallout(c.key), "FWP_E_IN_USE");
    e.deleteFilter(f.filterKey);
    e.deleteCallout(c.key);
    rejects(() => e.deleteCallout(c.key), "FWP_E_CALLOUT_NOT_FOUND");
  });
  test("providers: duplicate, in-use delete, built-in delete", () => {
    const e = new FilterEngine();
    e.addProvider({ providerKey: testGuid(4), name: "p" });
    rejects(() => e.addProvider({ providerKey: testGuid(4), name: "p" }), "FWP_E_ALREADY_EXISTS", "providerKey");
    const f = e.addFilter({ ...base, providerKey: testGuid(4) });
    rejects(() => e.deleteProvider(testGuid(4)), "FWP_E_IN_USE");
    e.deleteFilter(f.filterId);
    e.deleteProvider(testGuid(4));
    const builtin = e.providers().find((p) => p.builtin);
    assert.ok(builtin !== undefined);
    rejects(() => e.deleteProvider(builtin.providerKey), "FWP_E_BUILTIN_OBJECT");
  });
  test("filters: deleting an unknown filter is FWP_E_FILTER_NOT_FOUND", () => {
    rejects(() => new FilterEngine().deleteFilter(5n), "FWP_E_FILTER_NOT_FOUND");
  });
  test("classify at an unknown layer is FWP_E_LAYER_NOT_FOUND", () => {
    rejects(
      () => new FilterEngine().classify({ layer: "FWPM_LAYER_NOPE", incomingValues: [] }),
      "FWP_E_LAYER_NOT_FOUND",
    );
  });
  test("weights accept UINT64 verbatim", () => {
    assert.equal(
      new FilterEngine().addFilter({ ...base, weight: fwpUint64(0xffffffffffffffffn) }).effectiveWeight,
      0xffffffffffffffffn,
    );
  });
});
