import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EtherType } from "./ethertype.ts";
import { hex, packetsWithOracle } from "./link-ip-fixtures.testing.ts";
import { ArphrdType, emitSllHeader, parseSll, SLL_HEADER_LENGTH, SllPacketType, SllView } from "./sll.ts";

const LINKTYPE_LINUX_SLL = 113;

/**
 * TShark 4.0.17 fields per frame (sll.hatype, sll.halen, sll.src.eth, sll.etype), read with
 * `tshark -T fields`; sll.pkttype comes from the JSON oracle beside each capture.
 */
const TSHARK: Record<string, { hatype: number; halen: number; address: string; etype: number }[]> = {
  "linux_sll/pcpp__SllPacket.pcap": [{ hatype: 1, halen: 6, address: "00:12:44:1e:74:00", etype: 0x86dd }],
  "linux_sll/tcpdump__tcp-handshake-nano_sll.pcap": Array.from({ length: 3 }, () => ({
    hatype: 512,
    halen: 0,
    address: "",
    etype: 0x0800,
  })),
  "pcap_format_edge/tcpdump__timestamp_invalid_micro.pcap": Array.from({ length: 3 }, () => ({
    hatype: 512,
    halen: 0,
    address: "",
    etype: 0x0800,
  })),
  "linux_sll/zeek__linuxsll-arp.pcap": [
    "cc:2d:e0:26:19:99",
    "00:50:56:8b:cf:fa",
    "00:50:56:8b:cf:fa",
    "00:50:56:8b:cf:fa",
    "00:50:56:8b:3f:0d",
    "00:50:56:8b:cf:fa",
    "00:50:56:8b:cf:fa",
    "00:50:56:8b:3f:0d",
    "00:50:56:8b:cf:fa",
    "00:50:56:8b:cf:fa",
    "00:50:56:8b:cf:fa",
    "00:50:56:8b:cf:fa",
  ].map((address) => ({ hatype: 1, halen: 6, address, etype: 0x0806 })),
};

describe("Linux cooked capture v1 (LINKTYPE_LINUX_SLL) on real captures", () => {
  for (const [path, expected] of Object.entries(TSHARK)) {
    it(`agrees with TShark on ${path}`, () => {
      const packets = packetsWithOracle(path);
      assert.equal(packets.length, expected.length);
      packets.forEach(({ packet, oracle }, i) => {
        const want = expected[i]!;
        assert.equal(packet.linkType, LINKTYPE_LINUX_SLL);
        const view = SllView.check(packet.data);
        assert.ok(view.ok);
        const sll = view.value;
        assert.equal(sll.packetType, Number(oracle["sll.pkttype"]));
        assert.equal(sll.arphrdType, want.hatype);
        assert.equal(sll.addressLength, want.halen);
        assert.equal(sll.toRepr().address, want.address);
        assert.equal(sll.protocol, want.etype);
        assert.equal(sll.payloadOffset, 16);
        const ipVersion = packet.data[16]! >>> 4;
        if (sll.protocol === EtherType.Ipv4) assert.equal(String(ipVersion), oracle["ip.version"]);
        if (sll.protocol === EtherType.Ipv6) assert.equal(String(ipVersion), oracle["ip.version"]);
      });
    });

    it(`parse → emit → parse is the identity with the original (canonical) bytes on ${path}`, () => {
      for (const { packet } of packetsWithOracle(path)) {
        const repr = parseSll(packet.data);
        assert.ok(repr.ok);
        const out = new Uint8Array(SLL_HEADER_LENGTH);
        assert.equal(emitSllHeader(repr.value, out, 0), SLL_HEADER_LENGTH);
        // Bytes of the 8-byte address field past the address are padding; pcpp__SllPacket holds
        // leftovers there (f6 7f), which emit writes as zero.
        const canonical = packet.data.slice(0, SLL_HEADER_LENGTH);
        canonical.fill(0, 6 + Math.min(repr.value.addressLength, 8), 14);
        assert.equal(hex(out), hex(canonical));
        const again = parseSll(out);
        assert.ok(again.ok);
        assert.deepEqual(again.value, repr.value);
      }
    });
  }

  it("names the packet directions and ARPHRD types TShark printed", () => {
    assert.equal(SllPacketType.Outgoing, 4);
    assert.equal(SllPacketType.Broadcast, 1);
    assert.equal(ArphrdType.Ppp, 512);
    assert.equal(ArphrdType.Loopback, 772);
  });
});

describe("SLL edge cases", () => {
  it("a header shorter than 16 bytes is an error at its start", () => {
    const r = SllView.check(new Uint8Array(40), 30);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.protocol, "sll");
      assert.equal(r.error.offset, 30);
    }
  });

  it("an address length over 8 keeps 8 bytes and round-trips the length field", () => {
    const bytes = Uint8Array.from([0, 3, 0x03, 0x20, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 0x86, 0xdd]);
    const repr = parseSll(bytes);
    assert.ok(repr.ok);
    assert.equal(repr.value.address, "01:02:03:04:05:06:07:08");
    assert.equal(repr.value.addressLength, 20);
    const out = new Uint8Array(16);
    emitSllHeader(repr.value, out, 0);
    assert.equal(hex(out), hex(bytes));
  });

  it("rewrites the protocol in place", () => {
    const bytes = new Uint8Array(16);
    const view = SllView.check(bytes);
    assert.ok(view.ok);
    view.value.protocol = EtherType.Ipv6;
    assert.equal(hex(bytes.subarray(14)), "86dd");
  });

  it("emit refuses an address longer than 8 bytes", () => {
    const repr = { packetType: 0, arphrdType: 1, addressLength: 9, address: "1:2:3:4:5:6:7:8:9", protocol: 0x800 };
    assert.throws(() => emitSllHeader(repr, new Uint8Array(16), 0), RangeError);
  });
});
