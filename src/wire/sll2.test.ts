import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EtherType } from "./ethertype.ts";
import { hex, packetsWithOracle } from "./link-ip-fixtures.testing.ts";
import { emitSll2Header, parseSll2, SLL2_HEADER_LENGTH, Sll2View } from "./sll2.ts";

const LINKTYPE_LINUX_SLL2 = 276;

/**
 * TShark 4.0.17 fields per frame (sll.etype, sll.ifindex, sll.hatype, sll.halen, sll.src.eth), read with
 * `tshark -T fields`; sll.pkttype comes from the JSON oracle beside each capture.
 */
type Row = { etype: number; ifindex: number; hatype: number; halen: number; address: string };
const TSHARK: Record<string, Row[]> = {
  "linux_sll/pcpp__Sll2Packet.pcap": [
    { etype: 0x0800, ifindex: 20, hatype: 1, halen: 6, address: "d2:cf:c2:50:15:ea" },
  ],
  "linux_sll/pcpp__sll2.pcap": Array.from({ length: 3 }, () => ({
    etype: 0x0800,
    ifindex: 20,
    hatype: 1,
    halen: 6,
    address: "f0:3f:95:8f:82:63",
  })),
  "linux_sll/zeek__linux_dlt_sll2.pcap": [
    { etype: 0x0800, ifindex: 1, hatype: 772, halen: 6, address: "00:00:00:00:00:00" },
    { etype: 0x0800, ifindex: 1, hatype: 772, halen: 6, address: "00:00:00:00:00:00" },
    { etype: 0x86dd, ifindex: 1, hatype: 772, halen: 6, address: "00:00:00:00:00:00" },
    { etype: 0x86dd, ifindex: 1, hatype: 772, halen: 6, address: "00:00:00:00:00:00" },
    { etype: 0x0806, ifindex: 26, hatype: 1, halen: 6, address: "8e:36:06:44:ac:af" },
    { etype: 0x8035, ifindex: 26, hatype: 1, halen: 6, address: "8e:36:06:44:ac:af" },
  ],
};

describe("Linux cooked capture v2 (LINKTYPE_LINUX_SLL2) on real captures", () => {
  for (const [path, expected] of Object.entries(TSHARK)) {
    it(`agrees with TShark on ${path}`, () => {
      const packets = packetsWithOracle(path);
      assert.equal(packets.length, expected.length);
      packets.forEach(({ packet, oracle }, i) => {
        const want = expected[i]!;
        assert.equal(packet.linkType, LINKTYPE_LINUX_SLL2);
        const view = Sll2View.check(packet.data);
        assert.ok(view.ok);
        const sll = view.value;
        assert.equal(sll.protocol, want.etype);
        assert.equal(sll.reserved, 0);
        assert.equal(sll.interfaceIndex, want.ifindex);
        assert.equal(sll.arphrdType, want.hatype);
        assert.equal(sll.packetType, Number(oracle["sll.pkttype"]));
        assert.equal(sll.addressLength, want.halen);
        assert.equal(sll.toRepr().address, want.address);
        assert.equal(sll.payloadOffset, 20);
        if (sll.protocol === EtherType.Ipv4 || sll.protocol === EtherType.Ipv6) {
          assert.equal(String(packet.data[20]! >>> 4), oracle["ip.version"]);
        }
      });
    });

    it(`parse → emit → parse is the identity with the original bytes on ${path}`, () => {
      for (const { packet } of packetsWithOracle(path)) {
        const repr = parseSll2(packet.data);
        assert.ok(repr.ok);
        const out = new Uint8Array(SLL2_HEADER_LENGTH);
        assert.equal(emitSll2Header(repr.value, out, 0), SLL2_HEADER_LENGTH);
        assert.equal(hex(out), hex(packet.data.subarray(0, SLL2_HEADER_LENGTH)));
        const again = parseSll2(out);
        assert.ok(again.ok);
        assert.deepEqual(again.value, repr.value);
      }
    });
  }
});

describe("SLL2 edge cases", () => {
  it("a header shorter than 20 bytes is an error at its start", () => {
    const r = Sll2View.check(new Uint8Array(19));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.protocol, "sll2");
      assert.equal(r.error.field, "header");
      assert.equal(r.error.offset, 0);
    }
  });

  it("reads an interface index with the top bit set as unsigned", () => {
    const bytes = new Uint8Array(20);
    bytes.set([0xff, 0xff, 0xff, 0xfe], 4);
    const view = Sll2View.check(bytes);
    assert.ok(view.ok);
    assert.equal(view.value.interfaceIndex, 0xfffffffe);
    const out = new Uint8Array(20);
    emitSll2Header(view.value.toRepr(), out, 0);
    assert.equal(hex(out), hex(bytes));
  });
});
