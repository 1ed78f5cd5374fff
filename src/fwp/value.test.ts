import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type FwpErrorName, isFwpError } from "./error.ts";
import { FWP_DATA_TYPE } from "./generated/enums.ts";
import { parseSid } from "./sid.ts";
import {
  checkValueFitsField,
  compareValues,
  dataTypeCode,
  dataTypeName,
  FWP_EMPTY_VALUE,
  fwpBitmapArray64,
  fwpBitmapIndex,
  fwpByteArray6,
  fwpByteArray16,
  fwpByteBlob,
  fwpDouble,
  fwpFloat,
  fwpInt8,
  fwpInt16,
  fwpInt32,
  fwpInt64,
  fwpRange,
  fwpSecurityDescriptor,
  fwpSid,
  fwpTokenInformation,
  fwpUint8,
  fwpUint16,
  fwpUint32,
  fwpUint64,
  fwpUnicodeString,
  fwpV4AddrMask,
  fwpV6AddrMask,
  isContiguousV4Mask,
  v4MaskPrefixLength,
  validateConditionValue,
  validateValue,
  valueFitsField,
  valuesEqual,
} from "./value.ts";

function throwsFwp(fn: () => unknown, code: FwpErrorName, path?: string): void {
  assert.throws(fn, (e: unknown) => isFwpError(e, code) && (path === undefined || e.path === path));
}

describe("integer values: 0, max, max+1 and negative", () => {
  const cases: [string, (n: number) => unknown, number, number][] = [
    ["FWP_UINT8", fwpUint8, 0, 255],
    ["FWP_UINT16", fwpUint16, 0, 65535],
    ["FWP_UINT32", fwpUint32, 0, 4294967295],
    ["FWP_INT8", fwpInt8, -128, 127],
    ["FWP_INT16", fwpInt16, -32768, 32767],
    ["FWP_INT32", fwpInt32, -2147483648, 2147483647],
    ["FWP_BITMAP_INDEX_TYPE", fwpBitmapIndex, 0, 63],
  ];
  for (const [type, make, min, max] of cases) {
    it(`${type} accepts ${min} and ${max}, refuses ${min - 1} and ${max + 1} as FWP_E_OUT_OF_BOUNDS`, () => {
      assert.deepEqual(make(min), { type, value: min });
      assert.deepEqual(make(max), { type, value: max });
      if (min === 0) assert.deepEqual(make(0), { type, value: 0 });
      throwsFwp(() => make(max + 1), "FWP_E_OUT_OF_BOUNDS");
      throwsFwp(() => make(min - 1), "FWP_E_OUT_OF_BOUNDS");
      throwsFwp(() => make(1.5), "FWP_E_INVALID_PARAMETER");
      throwsFwp(() => make(Number.NaN), "FWP_E_INVALID_PARAMETER");
    });
  }

  it("FWP_UINT64 holds 0..2^64-1 as bigint; INT64 -2^63..2^63-1", () => {
    assert.deepEqual(fwpUint64(0), { type: "FWP_UINT64", value: 0n });
    assert.equal(fwpUint64(0xffffffffffffffffn).value, 0xffffffffffffffffn);
    throwsFwp(() => fwpUint64(0x10000000000000000n), "FWP_E_OUT_OF_BOUNDS");
    throwsFwp(() => fwpUint64(-1n), "FWP_E_OUT_OF_BOUNDS");
    throwsFwp(() => fwpUint64(2 ** 53), "FWP_E_INVALID_PARAMETER");
    assert.equal(fwpInt64(-(2n ** 63n)).value, -(2n ** 63n));
    throwsFwp(() => fwpInt64(2n ** 63n), "FWP_E_OUT_OF_BOUNDS");
    throwsFwp(() => validateValue({ type: "FWP_UINT64", value: 5 }), "FWP_E_INVALID_PARAMETER");
  });
});

describe("other value types", () => {
  it("FWP_FLOAT rounds to 32 bits in the constructor and validation refuses a double", () => {
    assert.equal(fwpFloat(0.1).value, Math.fround(0.1));
    throwsFwp(() => validateValue({ type: "FWP_FLOAT", value: 0.1 }), "FWP_E_INVALID_PARAMETER");
    assert.equal(fwpDouble(0.1).value, 0.1);
    assert.ok(valuesEqual(fwpDouble(Number.NaN), fwpDouble(Number.NaN)));
  });

  it("byte arrays need exactly 16, 6 and 8 bytes; blobs at least one", () => {
    fwpByteArray16(new Uint8Array(16));
    throwsFwp(() => fwpByteArray16(new Uint8Array(15)), "FWP_E_INVALID_PARAMETER");
    fwpByteArray6(new Uint8Array(6));
    throwsFwp(() => fwpByteArray6(new Uint8Array(7)), "FWP_E_INVALID_PARAMETER");
    fwpBitmapArray64(new Uint8Array(8));
    throwsFwp(() => fwpBitmapArray64(new Uint8Array(0)), "FWP_E_INVALID_PARAMETER");
    assert.equal(fwpByteBlob(Uint8Array.of(1)).value.length, 1);
    throwsFwp(() => fwpByteBlob(new Uint8Array(0)), "FWP_E_ZERO_LENGTH_ARRAY");
  });

  it("SIDs and security descriptors are checked for shape", () => {
    fwpSid(parseSid("S-1-5-18"));
    throwsFwp(() => fwpSid(Uint8Array.of(1, 2, 3)), "FWP_E_INVALID_PARAMETER");
    // Header only: revision 1, control SE_SELF_RELATIVE, no owner/group/ACLs.
    const sd = Uint8Array.of(1, 0, 0, 0x80, ...new Array<number>(16).fill(0));
    fwpSecurityDescriptor(sd);
    const notSelfRelative = Uint8Array.of(1, 0, 0, 0, ...new Array<number>(16).fill(0));
    throwsFwp(() => fwpSecurityDescriptor(notSelfRelative), "FWP_E_INVALID_PARAMETER");
    const offsetOutside = sd.slice();
    offsetOutside[4] = 200;
    throwsFwp(() => fwpSecurityDescriptor(offsetOutside), "FWP_E_INVALID_PARAMETER");
  });

  it("tokens carry valid SIDs; strings carry no NUL", () => {
    const token = { sids: [{ sid: parseSid("S-1-5-18"), attributes: 7 }], restrictedSids: [] };
    assert.ok(valuesEqual(fwpTokenInformation(token), fwpTokenInformation(token)));
    throwsFwp(
      () =>
        validateValue(
          {
            type: "FWP_TOKEN_INFORMATION_TYPE",
            value: { sids: [{ sid: new Uint8Array(2), attributes: 0 }], restrictedSids: [] },
          },
          "v",
        ),
      "FWP_E_INVALID_PARAMETER",
      "v.value.sids[0]",
    );
    assert.equal(fwpUnicodeString("").value, "");
    throwsFwp(() => fwpUnicodeString("a\u0000b"), "FWP_E_INVALID_PARAMETER");
  });

  it("an unknown or sentinel type is FWP_E_INVALID_ENUMERATOR; masks are not FWP_VALUE0", () => {
    throwsFwp(() => validateValue({ type: "FWP_NOPE" }, "x"), "FWP_E_INVALID_ENUMERATOR", "x.type");
    throwsFwp(() => validateValue({ type: "FWP_DATA_TYPE_MAX" }), "FWP_E_INVALID_ENUMERATOR");
    throwsFwp(() => validateValue({ type: "FWP_V4_ADDR_MASK", addr: 0, mask: 0 }), "FWP_E_INVALID_ENUMERATOR");
    throwsFwp(() => validateValue(null), "FWP_E_INVALID_PARAMETER");
    assert.equal(validateValue({ type: "FWP_EMPTY" }).type, "FWP_EMPTY");
  });

  it("data type names map to the FWP_DATA_TYPE codes of enums.json", () => {
    assert.equal(dataTypeCode("FWP_RANGE_TYPE"), FWP_DATA_TYPE.FWP_RANGE_TYPE);
    assert.equal(dataTypeName(FWP_DATA_TYPE.FWP_SID), "FWP_SID");
    assert.equal(dataTypeName(FWP_DATA_TYPE.FWP_DATA_TYPE_MAX), undefined);
  });
});

describe("masks and ranges (§A.4)", () => {
  it("IPv4 masks /0 and /32 are valid; a non-contiguous mask is FWP_E_INVALID_NET_MASK", () => {
    assert.deepEqual(fwpV4AddrMask(0x0a000000, 0), { type: "FWP_V4_ADDR_MASK", addr: 0x0a000000, mask: 0 });
    assert.equal(fwpV4AddrMask(0x0a000001, 32).mask, 0xffffffff);
    assert.equal(fwpV4AddrMask(0x0a000000, 8).mask, 0xff000000);
    throwsFwp(() => fwpV4AddrMask(0, 33), "FWP_E_INVALID_NET_MASK");
    throwsFwp(
      () => validateConditionValue({ type: "FWP_V4_ADDR_MASK", addr: 0, mask: 0xff00ff00 }, "c"),
      "FWP_E_INVALID_NET_MASK",
      "c.mask",
    );
    assert.equal(isContiguousV4Mask(0xfffffffe), true);
    assert.equal(isContiguousV4Mask(0x7fffffff), false);
    assert.equal(v4MaskPrefixLength(0xfffff000), 20);
  });

  it("IPv6 prefixes 0 and 128 are valid, 129 is FWP_E_INVALID_NET_MASK", () => {
    fwpV6AddrMask(new Uint8Array(16), 0);
    fwpV6AddrMask(new Uint8Array(16), 128);
    throwsFwp(() => fwpV6AddrMask(new Uint8Array(16), 129), "FWP_E_INVALID_NET_MASK");
    throwsFwp(() => fwpV6AddrMask(new Uint8Array(4), 8), "FWP_E_INVALID_PARAMETER");
  });

  it("a range needs bounds of one sortable type with low <= high, else FWP_E_INVALID_RANGE", () => {
    const r = fwpRange(fwpUint16(1000), fwpUint16(2000));
    assert.equal(r.valueLow.type, "FWP_UINT16");
    fwpRange(fwpUint16(7), fwpUint16(7));
    throwsFwp(() => fwpRange(fwpUint16(2000), fwpUint16(1000)), "FWP_E_INVALID_RANGE");
    throwsFwp(() => fwpRange(fwpUint16(1), fwpUint32(2)), "FWP_E_INVALID_RANGE");
    throwsFwp(() => fwpRange(fwpDouble(1), fwpDouble(2)), "FWP_E_INVALID_RANGE");
    throwsFwp(() => fwpRange(FWP_EMPTY_VALUE, FWP_EMPTY_VALUE), "FWP_E_INVALID_RANGE");
    throwsFwp(
      () =>
        validateConditionValue(
          { type: "FWP_RANGE_TYPE", valueLow: { type: "FWP_UINT8", value: 256 }, valueHigh: fwpUint8(1) },
          "r",
        ),
      "FWP_E_OUT_OF_BOUNDS",
      "r.valueLow.value",
    );
    const lowV6 = new Uint8Array(16);
    const highV6 = new Uint8Array(16);
    highV6[0] = 0xfe;
    fwpRange(fwpByteArray16(lowV6), fwpByteArray16(highV6));
    throwsFwp(() => fwpRange(fwpByteArray16(highV6), fwpByteArray16(lowV6)), "FWP_E_INVALID_RANGE");
  });
});

describe("equality and order", () => {
  it("compares contents, not identity", () => {
    assert.ok(valuesEqual(fwpByteBlob(Uint8Array.of(1, 2)), fwpByteBlob(Uint8Array.of(1, 2))));
    assert.ok(!valuesEqual(fwpByteBlob(Uint8Array.of(1, 2)), fwpByteBlob(Uint8Array.of(1, 3))));
    assert.ok(!valuesEqual(fwpUint16(80), fwpUint32(80)));
    assert.ok(valuesEqual(fwpRange(fwpUint8(1), fwpUint8(2)), fwpRange(fwpUint8(1), fwpUint8(2))));
    assert.ok(!valuesEqual(fwpV4AddrMask(0x0a000000, 8), fwpV4AddrMask(0x0a000000, 16)));
    assert.ok(valuesEqual(FWP_EMPTY_VALUE, { type: "FWP_EMPTY" }));
  });

  it("orders integers, bigints, bytes (shorter prefix first) and strings; others have no order", () => {
    assert.equal(compareValues(fwpInt8(-1), fwpInt8(1)), -1);
    assert.equal(compareValues(fwpUint64(2n ** 63n), fwpUint64(1n)), 1);
    assert.equal(compareValues(fwpByteBlob(Uint8Array.of(1)), fwpByteBlob(Uint8Array.of(1, 0))), -1);
    assert.equal(compareValues(fwpUnicodeString("B"), fwpUnicodeString("a")), -1);
    assert.equal(compareValues(fwpUint8(1), fwpUint16(1)), undefined);
    assert.equal(compareValues(fwpSid(parseSid("S-1-5-18")), fwpSid(parseSid("S-1-5-18"))), undefined);
  });
});

describe("value types a field accepts (§A.2, A8)", () => {
  const v4Address = { dataType: "FWP_UINT32", fieldType: "FWPM_FIELD_IP_ADDRESS" };
  const flags = { dataType: "FWP_UINT32", fieldType: "FWPM_FIELD_FLAGS" };
  const v6Address = { dataType: "FWP_BYTE_ARRAY16_TYPE", fieldType: "FWPM_FIELD_IP_ADDRESS" };
  const user = { dataType: "FWP_TOKEN_ACCESS_INFORMATION_TYPE", fieldType: "FWPM_FIELD_RAW_DATA" };
  const port = { dataType: "FWP_UINT16", fieldType: "FWPM_FIELD_RAW_DATA" };
  const sd = Uint8Array.of(1, 0, 0, 0x80, ...new Array<number>(16).fill(0));

  it("the same type, masks on address fields, SDs on token fields, ranges of the field type, EMPTY anywhere", () => {
    assert.ok(valueFitsField(port, fwpUint16(80)));
    assert.ok(!valueFitsField(port, fwpUint32(80)));
    assert.ok(valueFitsField(v4Address, fwpV4AddrMask(0x0a000000, 8)));
    assert.ok(!valueFitsField(flags, fwpV4AddrMask(0x0a000000, 8)));
    assert.ok(valueFitsField(v6Address, fwpV6AddrMask(new Uint8Array(16), 10)));
    assert.ok(!valueFitsField(v4Address, fwpV6AddrMask(new Uint8Array(16), 10)));
    assert.ok(valueFitsField(user, fwpSecurityDescriptor(sd)));
    assert.ok(!valueFitsField(user, fwpSid(parseSid("S-1-5-18"))));
    assert.ok(valueFitsField(user, fwpSid(parseSid("S-1-5-18")), { enumTemplate: true }));
    assert.ok(valueFitsField(port, fwpRange(fwpUint16(1), fwpUint16(2))));
    assert.ok(!valueFitsField(port, fwpRange(fwpUint32(1), fwpUint32(2))));
    assert.ok(valueFitsField(port, FWP_EMPTY_VALUE));
    throwsFwp(
      () => checkValueFitsField(port, fwpUint8(6), "filters[0].conditions[2]"),
      "FWP_E_TYPE_MISMATCH",
      "filters[0].conditions[2]",
    );
  });
});
