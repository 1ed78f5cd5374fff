import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { utf16leNulTerminatedToString } from "./app-id.ts";
import { type FwpErrorName, isFwpError } from "./error.ts";
import { IPPROTO } from "./generated/enums.ts";
import { parseSid } from "./sid.ts";
import { type FwpConditionValue, type FwpDataTypeName, valuesEqual } from "./value.ts";
import { formatConditionValue, parseConditionValue } from "./value-text.ts";

function throwsFwp(fn: () => unknown, code: FwpErrorName, path?: string): void {
  assert.throws(fn, (e: unknown) => isFwpError(e, code) && (path === undefined || e.path === path));
}

describe("parseConditionValue", () => {
  it("IPv4 text on a UINT32 field: an address (host order), a prefix, a range", () => {
    assert.deepEqual(parseConditionValue("FWP_UINT32", "10.0.0.1"), { type: "FWP_UINT32", value: 0x0a000001 });
    assert.deepEqual(parseConditionValue("FWP_UINT32", "10.0.0.0/8"), {
      type: "FWP_V4_ADDR_MASK",
      addr: 0x0a000000,
      mask: 0xff000000,
    });
    assert.deepEqual(parseConditionValue("FWP_UINT32", "0.0.0.0/0"), { type: "FWP_V4_ADDR_MASK", addr: 0, mask: 0 });
    assert.deepEqual(parseConditionValue("FWP_V4_ADDR_MASK", "192.168.1.7"), {
      type: "FWP_V4_ADDR_MASK",
      addr: 0xc0a80107,
      mask: 0xffffffff,
    });
    const r = parseConditionValue("FWP_UINT32", "10.0.0.1-10.0.0.9");
    assert.equal(r.type, "FWP_RANGE_TYPE");
    assert.equal(formatConditionValue(r, { ipv4: true }), "10.0.0.1-10.0.0.9");
  });

  it("IPv6 text on a BYTE_ARRAY16 field: an address and a prefix; the wrong family is FWP_E_TYPE_MISMATCH", () => {
    const v = parseConditionValue("FWP_BYTE_ARRAY16_TYPE", "fe80::1");
    assert.equal(v.type, "FWP_BYTE_ARRAY16_TYPE");
    const p = parseConditionValue("FWP_BYTE_ARRAY16_TYPE", "fe80::/10");
    assert.equal(p.type === "FWP_V6_ADDR_MASK" && p.prefixLength, 10);
    assert.equal(p.type === "FWP_V6_ADDR_MASK" && p.addr[0], 0xfe);
    assert.equal(formatConditionValue(p), "fe80::/10");
    throwsFwp(() => parseConditionValue("FWP_UINT32", "fe80::/10", { path: "c" }), "FWP_E_TYPE_MISMATCH", "c");
    throwsFwp(() => parseConditionValue("FWP_UINT32", "fe80::1"), "FWP_E_TYPE_MISMATCH");
    throwsFwp(() => parseConditionValue("FWP_BYTE_ARRAY16_TYPE", "10.0.0.1"), "FWP_E_TYPE_MISMATCH");
    throwsFwp(() => parseConditionValue("FWP_BYTE_ARRAY16_TYPE", "::/129"), "FWP_E_INVALID_NET_MASK");
    throwsFwp(() => parseConditionValue("FWP_UINT32", "10.0.0.0/33"), "FWP_E_INVALID_NET_MASK");
    assert.equal(formatConditionValue(parseConditionValue("FWP_BYTE_ARRAY16_TYPE", "::/128")), "::/128");
  });

  it("ports and port ranges; an inverted range is FWP_E_INVALID_RANGE", () => {
    assert.deepEqual(parseConditionValue("FWP_UINT16", "443"), { type: "FWP_UINT16", value: 443 });
    const r = parseConditionValue("FWP_UINT16", "1000-2000");
    assert.ok(r.type === "FWP_RANGE_TYPE");
    assert.deepEqual(
      [r.valueLow, r.valueHigh],
      [
        { type: "FWP_UINT16", value: 1000 },
        { type: "FWP_UINT16", value: 2000 },
      ],
    );
    throwsFwp(() => parseConditionValue("FWP_UINT16", "2000-1000", { path: "r" }), "FWP_E_INVALID_RANGE", "r");
    throwsFwp(() => parseConditionValue("FWP_UINT16", "65536"), "FWP_E_OUT_OF_BOUNDS");
    throwsFwp(() => parseConditionValue("FWP_UINT16", "-1"), "FWP_E_OUT_OF_BOUNDS");
    throwsFwp(() => parseConditionValue("FWP_UINT16", "http"), "FWP_E_INVALID_PARAMETER");
  });

  it("protocol names on UINT8 come from IPPROTO; flag names combine with |", () => {
    assert.deepEqual(parseConditionValue("FWP_UINT8", "tcp"), { type: "FWP_UINT8", value: IPPROTO.IPPROTO_TCP });
    assert.deepEqual(parseConditionValue("FWP_UINT8", "ICMPV6"), { type: "FWP_UINT8", value: IPPROTO.IPPROTO_ICMPV6 });
    assert.deepEqual(parseConditionValue("FWP_UINT8", "0x11"), { type: "FWP_UINT8", value: 17 });
    assert.deepEqual(
      parseConditionValue("FWP_UINT32", "FWP_CONDITION_FLAG_IS_LOOPBACK | FWP_CONDITION_FLAG_IS_IPSEC_SECURED"),
      { type: "FWP_UINT32", value: 3 },
    );
    throwsFwp(() => parseConditionValue("FWP_UINT8", "IPPROTO_RESERVED_RAW"), "FWP_E_OUT_OF_BOUNDS");
  });

  it("signed and 64-bit integers, including negative ranges", () => {
    const r = parseConditionValue("FWP_INT32", "-5--1");
    assert.ok(r.type === "FWP_RANGE_TYPE");
    assert.deepEqual(r.valueLow, { type: "FWP_INT32", value: -5 });
    assert.deepEqual(parseConditionValue("FWP_UINT64", "18446744073709551615"), {
      type: "FWP_UINT64",
      value: 0xffffffffffffffffn,
    });
    throwsFwp(() => parseConditionValue("FWP_UINT64", "18446744073709551616"), "FWP_E_OUT_OF_BOUNDS");
    throwsFwp(() => parseConditionValue("FWP_INT8", "-129"), "FWP_E_OUT_OF_BOUNDS");
  });

  it("application paths become app ids; System and quoted text are kept as written", () => {
    const v = parseConditionValue("FWP_BYTE_BLOB_TYPE", "C:\\Windows\\System32\\svchost.exe");
    assert.ok(v.type === "FWP_BYTE_BLOB_TYPE");
    assert.equal(utf16leNulTerminatedToString(v.value), "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe");
    assert.equal(formatConditionValue(v), "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe");
    const mapped = parseConditionValue("FWP_BYTE_BLOB_TYPE", "D:\\x.exe", {
      driveDevices: { d: "\\Device\\HarddiskVolume9" },
    });
    assert.equal(formatConditionValue(mapped), "\\device\\harddiskvolume9\\x.exe");
    const sys = parseConditionValue("FWP_BYTE_BLOB_TYPE", "System");
    assert.equal(sys.type === "FWP_BYTE_BLOB_TYPE" && utf16leNulTerminatedToString(sys.value), "System");
    const suffix = parseConditionValue("FWP_BYTE_BLOB_TYPE", '"\\Chrome.exe"');
    assert.equal(formatConditionValue(suffix), '"\\Chrome.exe"');
    throwsFwp(
      () => parseConditionValue("FWP_BYTE_BLOB_TYPE", "svchost.exe", { path: "a" }),
      "FWP_E_INVALID_PARAMETER",
      "a",
    );
    throwsFwp(
      () => parseConditionValue("FWP_BYTE_BLOB_TYPE", "A:\\x.exe", { path: "a" }),
      "FWP_E_INVALID_PARAMETER",
      "a",
    );
  });

  it("SIDs, security descriptors (also for token fields) and MAC addresses", () => {
    const sid = parseConditionValue("FWP_SID", "S-1-5-18");
    assert.ok(sid.type === "FWP_SID");
    assert.deepEqual(sid.value, parseSid("S-1-5-18"));
    const sd = parseConditionValue("FWP_TOKEN_ACCESS_INFORMATION_TYPE", "D:(A;;CC;;;S-1-5-18)");
    assert.equal(sd.type, "FWP_SECURITY_DESCRIPTOR_TYPE");
    assert.equal(formatConditionValue(sd), "D:(A;;CC;;;S-1-5-18)");
    const mac = parseConditionValue("FWP_BYTE_ARRAY6_TYPE", "00-1A-2b-3c-4d-5e");
    assert.equal(formatConditionValue(mac), "00-1a-2b-3c-4d-5e");
    // BYTE_ARRAY6 is not a sortable type (§A.3), so there is no MAC range.
    throwsFwp(
      () => parseConditionValue("FWP_BYTE_ARRAY6_TYPE", "00:00:00:00:00:01-00:00:00:00:00:09"),
      "FWP_E_INVALID_PARAMETER",
    );
    throwsFwp(() => parseConditionValue("FWP_SID", "S-1-5-x"), "FWP_E_INVALID_PARAMETER");
  });

  it("FWP_EMPTY on any field; unknown data types are FWP_E_INVALID_ENUMERATOR; FWP_RANGE_TYPE needs the bound type", () => {
    assert.deepEqual(parseConditionValue("FWP_UINT16", "FWP_EMPTY"), { type: "FWP_EMPTY" });
    assert.deepEqual(parseConditionValue("FWP_EMPTY", ""), { type: "FWP_EMPTY" });
    throwsFwp(() => parseConditionValue("FWP_NOPE" as FwpDataTypeName, "1"), "FWP_E_INVALID_ENUMERATOR");
    throwsFwp(() => parseConditionValue("FWP_RANGE_TYPE", "1-2"), "FWP_E_INVALID_PARAMETER");
  });
});

describe("formatConditionValue round-trips through parseConditionValue", () => {
  const cases: [FwpDataTypeName, string][] = [
    ["FWP_UINT8", "6"],
    ["FWP_UINT16", "1000-2000"],
    ["FWP_UINT32", "10.0.0.0/8"],
    ["FWP_UINT32", "4294967295"],
    ["FWP_UINT64", "0-18446744073709551615"],
    ["FWP_INT16", "-32768--1"],
    ["FWP_FLOAT", "1.5"],
    ["FWP_DOUBLE", "-0.25"],
    ["FWP_BYTE_ARRAY16_TYPE", "2001:db8::/32"],
    ["FWP_BYTE_ARRAY16_TYPE", "::ffff:10.0.0.1"],
    ["FWP_BYTE_ARRAY6_TYPE", "01-02-03-04-05-06"],
    ["FWP_BYTE_BLOB_TYPE", "\\device\\harddiskvolume3\\app.exe"],
    ["FWP_BYTE_BLOB_TYPE", "0x00ff10"],
    ["FWP_BYTE_BLOB_TYPE", "System"],
    ["FWP_SID", "S-1-5-21-1004336348-1177238915-682003330-512"],
    ["FWP_SECURITY_DESCRIPTOR_TYPE", "O:S-1-5-18D:(A;;CC;;;S-1-5-32-544)(D;;CC;;;S-1-1-0)"],
    ["FWP_UNICODE_STRING_TYPE", "Contoso Name"],
    ["FWP_BITMAP_ARRAY64_TYPE", "0x0102030405060708"],
    ["FWP_UINT16", "FWP_EMPTY"],
  ];
  for (const [type, text] of cases) {
    it(`${type} ${text}`, () => {
      const v: FwpConditionValue = parseConditionValue(type, text);
      const printed = formatConditionValue(v);
      assert.equal(printed, text);
      assert.ok(valuesEqual(parseConditionValue(type, printed), v));
    });
  }
});
