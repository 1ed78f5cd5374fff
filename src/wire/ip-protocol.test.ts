import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatIpProtocol, IpProtocol, ipProtocolName, isKnownIpProtocol } from "./ip-protocol.ts";
import { ALL_FOLDERS, allPackets } from "./link-ip-fixtures.testing.ts";

describe("IP protocol numbers", () => {
  it("knows every ip.proto, ipv6.nxt and ipv6.fraghdr.nxt value TShark reported in the captures", () => {
    const seen = new Set<number>();
    for (const { oracle } of allPackets(ALL_FOLDERS, [0, 1, 101, 113, 228, 229, 276])) {
      for (const field of ["ip.proto", "ipv6.nxt", "ipv6.fraghdr.nxt"]) {
        for (const v of oracle[field]?.split("|") ?? []) seen.add(Number(v));
      }
    }
    assert.ok(seen.size >= 8);
    for (const value of seen) assert.ok(isKnownIpProtocol(value), `protocol ${value}`);
  });

  it("uses the IANA keywords", () => {
    assert.equal(ipProtocolName(IpProtocol.Tcp), "TCP");
    assert.equal(ipProtocolName(IpProtocol.Icmpv6), "IPv6-ICMP");
    assert.equal(ipProtocolName(IpProtocol.Ospf), "OSPFIGP");
    assert.equal(ipProtocolName(143), undefined);
    assert.equal(formatIpProtocol(143), "143");
    assert.equal(formatIpProtocol(IpProtocol.Ipv6Frag), "IPv6-Frag");
  });

  it("holds the values WFP's IPPROTO_* constants use", () => {
    assert.deepEqual(
      [IpProtocol.Icmp, IpProtocol.Igmp, IpProtocol.Tcp, IpProtocol.Udp, IpProtocol.Icmpv6],
      [1, 2, 6, 17, 58],
    );
  });
});
