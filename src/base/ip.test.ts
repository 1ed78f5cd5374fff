import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IpPrefix, Ipv4Address, Ipv6Address, maskAddress, parseIpAddress } from "./ip.ts";

describe("IPv4 addresses", () => {
  it("parse and format dotted quads", () => {
    assert.equal(Ipv4Address.parse("10.0.0.1").value, 0x0a000001);
    assert.equal(Ipv4Address.parse("255.255.255.255").toString(), "255.255.255.255");
    assert.equal(new Ipv4Address(0).toString(), "0.0.0.0");
  });
  it("reject malformed text", () => {
    for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-4", "a.b.c.d", "1..2.3"]) {
      assert.equal(Ipv4Address.tryParse(bad), undefined, bad);
      assert.throws(() => Ipv4Address.parse(bad), { code: "E_INVALID_ADDRESS" });
    }
  });
  it("round-trip through bytes and the v4-mapped form", () => {
    const a = Ipv4Address.parse("192.168.1.200");
    assert.deepEqual([...a.toBytes()], [192, 168, 1, 200]);
    assert.ok(Ipv4Address.fromBytes(a.toBytes()).equals(a));
    const mapped = a.toV4Mapped();
    assert.equal(mapped.toString(), "::ffff:192.168.1.200");
    assert.ok(mapped.isV4Mapped());
    assert.ok(mapped.toV4()?.equals(a));
  });
});

describe("IPv6 addresses (RFC 5952 text)", () => {
  const cases: [string, string][] = [
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first of two equal runs
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group is not shortened
    ["2001:DB8::AB", "2001:db8::ab"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["fe80::260:97ff:fe07:69ea", "fe80::260:97ff:fe07:69ea"],
    ["::ffff:10.1.2.3", "::ffff:10.1.2.3"],
    ["0:0:0:0:0:ffff:0a01:0203", "::ffff:10.1.2.3"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"], // the longest run wins
    ["::1.2.3.4", "::102:304"],
  ];
  for (const [input, text] of cases) {
    it(`${input} → ${text}`, () => {
      assert.equal(Ipv6Address.parse(input).toString(), text);
      assert.equal(Ipv6Address.parse(text).toString(), text);
    });
  }
  it("rejects malformed text", () => {
    for (const bad of [
      "",
      ":",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "12345::",
      "g::",
      "1:2:3:4:5:6:7::8",
    ]) {
      assert.equal(Ipv6Address.tryParse(bad), undefined, bad);
    }
  });
  it("knows loopback, link-local and multicast", () => {
    assert.ok(Ipv6Address.parse("::1").isLoopback());
    assert.ok(Ipv6Address.parse("fe80::1").isLinkLocal());
    assert.ok(Ipv6Address.parse("ff02::1").isMulticast());
    assert.ok(!Ipv6Address.parse("2001:db8::1").isLinkLocal());
  });
});

describe("prefixes", () => {
  it("contain what they cover, at /0 and at full length", () => {
    const p = IpPrefix.parse("10.0.0.0/8");
    assert.ok(p.contains(parseIpAddress("10.255.1.2")));
    assert.ok(!p.contains(parseIpAddress("11.0.0.0")));
    assert.ok(!p.contains(parseIpAddress("::ffff:10.0.0.1")));
    assert.ok(IpPrefix.parse("0.0.0.0/0").contains(parseIpAddress("203.0.113.9")));
    assert.ok(IpPrefix.parse("1.2.3.4/32").contains(parseIpAddress("1.2.3.4")));
    assert.ok(!IpPrefix.parse("1.2.3.4/32").contains(parseIpAddress("1.2.3.5")));
    assert.ok(IpPrefix.parse("fe80::/10").contains(parseIpAddress("febf::1")));
    assert.ok(!IpPrefix.parse("fe80::/10").contains(parseIpAddress("fec0::1")));
    assert.ok(IpPrefix.parse("::/0").contains(parseIpAddress("2001:db8::1")));
  });
  it("a bare address is a host prefix", () => {
    assert.equal(IpPrefix.parse("2001:db8::1").toString(), "2001:db8::1/128");
    assert.equal(IpPrefix.parse("1.2.3.4").length, 32);
  });
  it("rejects lengths out of range", () => {
    assert.throws(() => IpPrefix.parse("1.2.3.4/33"), { code: "E_INVALID_ADDRESS" });
    assert.throws(() => IpPrefix.parse("::/129"), { code: "E_INVALID_ADDRESS" });
    assert.throws(() => IpPrefix.parse("::/x"), { code: "E_INVALID_ADDRESS" });
  });
  it("masks host bits", () => {
    assert.equal(maskAddress(parseIpAddress("10.1.2.3"), 12).toString(), "10.0.0.0");
    assert.equal(IpPrefix.parse("2001:db8:ffff::1/36").network().toString(), "2001:db8:f000::/36");
  });
});
