import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EthernetView } from "./ethernet.ts";
import { EtherType, etherTypeName, isLengthField, isVlanTpid } from "./ethertype.ts";
import { allPackets } from "./link-ip-fixtures.testing.ts";

describe("EtherType values", () => {
  const frames = allPackets(["vlan", "icmp", "ipv6", "udp_dns", "tcp_session"], [1]);

  it("names every Type/Length value seen in the Ethernet captures, tags included", () => {
    const seen = new Set<number>();
    for (const { packet } of frames) {
      const view = EthernetView.check(packet.data);
      assert.ok(view.ok);
      for (let i = 0; i < view.value.tagCount; i++) seen.add(view.value.tagTpid(i));
      seen.add(view.value.etherType);
    }
    for (const value of seen) {
      const name = etherTypeName(value);
      assert.ok(!name.startsWith("0x"), `unnamed 0x${value.toString(16)}`);
    }
    for (const value of [EtherType.Ipv4, EtherType.Ipv6, EtherType.Arp, EtherType.Vlan, EtherType.QinQ]) {
      assert.ok(seen.has(value), `captures hold 0x${value.toString(16)}`);
    }
  });

  it("reads CDP frames behind a VLAN tag as 802.3 length fields (TShark: llc)", () => {
    const cdp = frames.filter(({ oracle }) => oracle["frame.protocols"]?.includes("llc"));
    assert.ok(cdp.length >= 6);
    for (const { packet } of cdp) {
      const view = EthernetView.check(packet.data);
      assert.ok(view.ok);
      assert.ok(isLengthField(view.value.etherType));
      assert.match(etherTypeName(view.value.etherType), /^802\.3 length \d+$/);
    }
  });

  it("recognises exactly the three VLAN TPIDs", () => {
    assert.deepEqual([0x8100, 0x88a8, 0x9100, 0x0800, 0x86dd, 0x9200].map(isVlanTpid), [
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
    assert.equal(isLengthField(1500), true);
    assert.equal(isLengthField(0x0600), false);
    assert.equal(etherTypeName(0x88b5), "0x88b5");
  });
});
