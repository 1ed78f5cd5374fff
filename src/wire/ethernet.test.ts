import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  EthernetView,
  emitEthernetHeader,
  ethernetHeaderLength,
  formatMac,
  parseEthernet,
  parseLinkAddress,
  parseMac,
} from "./ethernet.ts";
import { EtherType } from "./ethertype.ts";
import { allPackets, hex, packetsWithOracle } from "./link-ip-fixtures.testing.ts";

const LINKTYPE_ETHERNET = 1;
const FOLDERS = [
  "icmp",
  "ipv4_frag",
  "ipv6",
  "ipv6_frag",
  "pcapng_multi_if",
  "tcp_rst",
  "tcp_session",
  "udp_dns",
  "vlan",
];

/** The EtherType TShark dissected after the link layer, from frame.protocols ("eth:ethertype:vlan:ethertype:ip:..."). */
function etherTypeFromProtocols(protocols: string): number | "length" | undefined {
  const layers = protocols.split(":").filter((p) => p !== "eth" && p !== "ethertype" && p !== "vlan");
  const first = layers[0] === "ieee8021ad" ? layers[1] : layers[0];
  const byName: Record<string, number | "length"> = {
    ip: EtherType.Ipv4,
    ipv6: EtherType.Ipv6,
    arp: EtherType.Arp,
    llc: "length",
    lldp: EtherType.Lldp,
  };
  return first === undefined ? undefined : byName[first];
}

describe("Ethernet II and VLAN tags on every Ethernet capture", () => {
  const packets = allPackets(FOLDERS, [LINKTYPE_ETHERNET]);

  it("finds a meaningful number of Ethernet frames", () => {
    assert.ok(packets.length > 900, `only ${packets.length} frames`);
  });

  it("agrees with TShark on addresses, first type field, 802.1Q VLAN ids and the inner EtherType", () => {
    let checkedInner = 0;
    for (const { path, packet, oracle } of packets) {
      const where = `${path} #${packet.number}`;
      const view = EthernetView.check(packet.data);
      assert.ok(view.ok, where);
      const eth = view.value;
      assert.equal(formatMac(eth.dst), oracle["eth.dst"], where);
      assert.equal(formatMac(eth.src), oracle["eth.src"], where);
      const firstType = eth.tagCount > 0 ? eth.tagTpid(0) : eth.etherType;
      if (oracle["eth.type"] === undefined) {
        assert.ok(firstType <= 1500, `${where}: TShark saw a length field`);
      } else {
        assert.equal(firstType, Number(oracle["eth.type"]), where);
      }
      const dot1q = eth.tags.filter((t) => t.tpid === EtherType.Vlan).map((t) => String(t.vid));
      assert.equal(dot1q.join("|"), oracle["vlan.id"] ?? "", where);
      const inner = etherTypeFromProtocols(oracle["frame.protocols"] ?? "");
      if (inner === "length") assert.ok(eth.etherType <= 1500, where);
      else if (inner !== undefined) {
        assert.equal(eth.etherType, inner, where);
        checkedInner++;
      }
    }
    assert.ok(checkedInner > 900);
  });

  it("parse → emit → parse is the identity and emits the original header bytes", () => {
    for (const { path, packet } of packets) {
      const where = `${path} #${packet.number}`;
      const repr = parseEthernet(packet.data);
      assert.ok(repr.ok, where);
      const length = ethernetHeaderLength(repr.value);
      const out = new Uint8Array(length);
      assert.equal(emitEthernetHeader(repr.value, out, 0), length);
      assert.equal(hex(out), hex(packet.data.subarray(0, length)), where);
      const again = parseEthernet(out);
      assert.ok(again.ok, where);
      assert.deepEqual(again.value, repr.value, where);
    }
  });
});

describe("stacked VLAN tags", () => {
  it("reads three 802.1Q tags outermost first (zeek vlan-qinqinq)", () => {
    for (const { packet } of packetsWithOracle("vlan/zeek__vlan-qinqinq.pcap")) {
      const view = EthernetView.check(packet.data);
      assert.ok(view.ok);
      assert.equal(view.value.tagCount, 3);
      assert.deepEqual(
        view.value.tags.map((t) => t.vid),
        [30, 20, 10],
      );
      assert.equal(view.value.payloadOffset, 26);
      assert.equal(view.value.etherType, EtherType.Ipv4);
      assert.equal(packet.data[view.value.payloadOffset]! >>> 4, 4);
    }
  });

  it("reads an 802.1ad S-TAG over an 802.1Q C-TAG (tcpdump 802.1ad_QinQ; TShark ieee8021ad.id = 200)", () => {
    for (const { packet } of packetsWithOracle("vlan/tcpdump__802.1ad_QinQ.pcap")) {
      const repr = parseEthernet(packet.data);
      assert.ok(repr.ok);
      assert.deepEqual(repr.value.tags, [
        { tpid: EtherType.QinQ, pcp: 0, dei: false, vid: 200 },
        { tpid: EtherType.Vlan, pcp: 0, dei: false, vid: 2001 },
      ]);
      assert.equal(repr.value.etherType, EtherType.Arp);
    }
  });

  it("accepts the pre-standard 0x9100 TPID and encodes PCP and DEI", () => {
    const repr = {
      dst: "ff:ff:ff:ff:ff:ff",
      src: "02:00:00:00:00:01",
      tags: [
        { tpid: EtherType.QinQLegacy, pcp: 5, dei: true, vid: 4094 },
        { tpid: EtherType.Vlan, pcp: 7, dei: false, vid: 1 },
      ],
      etherType: EtherType.Ipv6,
    };
    const out = new Uint8Array(ethernetHeaderLength(repr));
    emitEthernetHeader(repr, out, 0);
    assert.equal(hex(out.subarray(12)), "9100bffe8100e00186dd");
    const back = parseEthernet(out);
    assert.ok(back.ok);
    assert.deepEqual(back.value, repr);
  });

  it("edits a VLAN id and the EtherType in place", () => {
    const { packet } = packetsWithOracle("vlan/zeek__vlan-qinqinq.pcap")[0]!;
    const copy = packet.data.slice();
    const view = EthernetView.check(copy);
    assert.ok(view.ok);
    view.value.setTagVid(1, 4000);
    view.value.etherType = EtherType.Ipv6;
    assert.deepEqual(
      view.value.tags.map((t) => t.vid),
      [30, 4000, 10],
    );
    assert.equal(hex(copy.subarray(24, 26)), "86dd");
    assert.equal(copy[14], packet.data[14]);
  });
});

describe("malformed Ethernet frames", () => {
  it("a frame shorter than 14 bytes is an error at its start", () => {
    const r = EthernetView.check(new Uint8Array(20), 7);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.protocol, "ethernet");
      assert.equal(r.error.field, "header");
      assert.equal(r.error.offset, 7);
    }
  });

  it("a VLAN tag cut short names the tag and its offset", () => {
    const frame = new Uint8Array(20);
    frame.set([0x81, 0x00, 0x00, 0x0a, 0x88, 0xa8, 0x00, 0x14], 12);
    const r = EthernetView.check(frame);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.field, "tags[1]");
      assert.equal(r.error.offset, 16);
    }
  });

  it("a frame made only of tags ends with an error, never a loop", () => {
    const frame = new Uint8Array(12 + 4 * 1000);
    for (let at = 12; at < frame.length; at += 4) frame.set([0x81, 0x00], at);
    const r = EthernetView.check(frame);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.offset, frame.length - 4);
  });

  it("respects `end` below the buffer length", () => {
    const frame = new Uint8Array(64);
    frame.set([0x81, 0x00], 12);
    assert.equal(EthernetView.check(frame, 0, 16).ok, false);
    assert.equal(EthernetView.check(frame, 0, 18).ok, true);
  });
});

describe("MAC address text", () => {
  it("parses and rejects", () => {
    assert.equal(hex(parseMac("AA:bb:0:d:ee:ff")!), "aabb000deeff");
    assert.equal(parseMac("aa:bb:cc:dd:ee"), undefined);
    assert.equal(parseMac("aa:bb:cc:dd:ee:fg"), undefined);
    assert.equal(parseLinkAddress("")!.length, 0);
  });

  it("emit refuses a malformed address", () => {
    const repr = { dst: "nope", src: "00:00:00:00:00:00", tags: [], etherType: 0x0800 };
    assert.throws(() => emitEthernetHeader(repr, new Uint8Array(14), 0), RangeError);
  });
});
