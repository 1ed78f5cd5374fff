import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatIpv6 } from "../base/ip.ts";
import { EtherType } from "./ethertype.ts";
import { IpProtocol } from "./ip-protocol.ts";
import { emitIpv6Header, type Ipv6Repr, Ipv6View, ipv6HeaderLength, parseIpv6 } from "./ipv6.ts";
import { first, hex, networkPackets } from "./link-ip-fixtures.testing.ts";

const packets = networkPackets(EtherType.Ipv6);

/** TShark's names for extension headers in frame.protocols. */
const EXTENSION_NAMES: Record<string, number> = {
  "ipv6.hopopts": IpProtocol.HopByHop,
  "ipv6.dstopts": IpProtocol.Ipv6Opts,
  "ipv6.routing": IpProtocol.Ipv6Route,
  "ipv6.fraghdr": IpProtocol.Ipv6Frag,
  ah: IpProtocol.Ah,
};
const UPPER_NAMES: Record<string, number> = {
  tcp: IpProtocol.Tcp,
  udp: IpProtocol.Udp,
  icmpv6: IpProtocol.Icmpv6,
  ospf: IpProtocol.Ospf,
};

/** The extension types and the upper-layer protocol TShark dissected after the (outer) IPv6 header. */
function chainFromProtocols(protocols: string): { types: number[]; upper: string | undefined } {
  const layers = protocols.split(":");
  let i = layers.indexOf("ipv6") + 1;
  const types: number[] = [];
  while (i < layers.length && EXTENSION_NAMES[layers[i]!] !== undefined) types.push(EXTENSION_NAMES[layers[i++]!]!);
  return { types, upper: layers[i] };
}

describe("IPv6 headers of every IPv6 packet in the captures", () => {
  it("finds IPv6 over Ethernet, SLL, SLL2, NULL and raw IP", () => {
    assert.ok(packets.length > 350, `only ${packets.length}`);
    const linkTypes = new Set(packets.map((p) => p.packet.linkType));
    for (const lt of [0, 1, 101, 113, 229, 276]) assert.ok(linkTypes.has(lt), `link type ${lt}`);
  });

  it("agrees with TShark on the base header", () => {
    for (const { path, packet, oracle, offset } of packets) {
      const where = `${path} #${packet.number}`;
      const checked = Ipv6View.check(packet.data, offset);
      assert.ok(checked.ok, where);
      const ip = checked.value;
      assert.equal(String(ip.version), first(oracle, "ip.version"), where);
      assert.equal(String(ip.payloadLength), first(oracle, "ipv6.plen"), where);
      assert.equal(String(ip.nextHeader), first(oracle, "ipv6.nxt"), where);
      assert.equal(String(ip.hopLimit), first(oracle, "ipv6.hlim"), where);
      assert.equal(ip.flowLabel, Number(first(oracle, "ipv6.flow")), where);
      assert.equal(formatIpv6(ip.srcAddress), first(oracle, "ipv6.src"), where);
      assert.equal(formatIpv6(ip.dstAddress), first(oracle, "ipv6.dst"), where);
      assert.equal(ip.payloadOffset, offset + 40);
      const captured = Number(oracle["frame.cap_len"]);
      assert.equal(ip.truncated, captured < offset + 40 + ip.payloadLength, where);
      assert.equal(ip.payloadEnd, Math.min(captured, offset + 40 + ip.payloadLength), where);
    }
  });

  it("walks the same extension chain TShark dissected and ends on the same upper-layer protocol", () => {
    let withExtensions = 0;
    for (const { path, packet, oracle, offset } of packets) {
      const where = `${path} #${packet.number}`;
      const ip = Ipv6View.check(packet.data, offset);
      assert.ok(ip.ok, where);
      const chain = ip.value.extensions();
      assert.ok(chain.ok, where);
      const expected = chainFromProtocols(oracle["frame.protocols"] ?? "");
      assert.deepEqual(
        chain.value.headers.map((h) => h.type),
        expected.types,
        where,
      );
      if (expected.types.length > 0) withExtensions++;
      if (expected.upper !== undefined && UPPER_NAMES[expected.upper] !== undefined) {
        assert.equal(chain.value.upperProtocol, UPPER_NAMES[expected.upper], where);
      }
      if (oracle["ipv6.fraghdr.nxt"] !== undefined) {
        assert.equal(chain.value.upperProtocol, Number(first(oracle, "ipv6.fraghdr.nxt")), where);
      }
      assert.equal(chain.value.upperRecognised, true, where);
      const last = chain.value.headers.at(-1);
      assert.equal(chain.value.upperOffset, last === undefined ? offset + 40 : last.offset + last.length, where);
    }
    assert.ok(withExtensions >= 25, `only ${withExtensions} packets with extension headers`);
  });

  it("parse → emit → parse is the identity and the emitted headers equal the original bytes", () => {
    for (const { path, packet, offset } of packets) {
      const where = `${path} #${packet.number}`;
      const repr = parseIpv6(packet.data, offset);
      assert.ok(repr.ok, where);
      const length = ipv6HeaderLength(repr.value);
      const out = new Uint8Array(length);
      assert.equal(emitIpv6Header(repr.value, out, 0), length, where);
      assert.equal(hex(out), hex(packet.data.subarray(offset, offset + length)), where);
      const again = parseIpv6(out, 0, length);
      assert.ok(again.ok, where);
      assert.deepEqual(again.value, repr.value, where);
    }
  });

  it("reports a snap-length cut as truncated, not as an error (pcpp SllPacket: 128 of 1296 bytes)", () => {
    const cut = packets.find((p) => p.path === "linux_sll/pcpp__SllPacket.pcap")!;
    const ip = Ipv6View.check(cut.packet.data, cut.offset);
    assert.ok(ip.ok);
    assert.equal(ip.value.payloadLength, 1240);
    assert.equal(ip.value.truncated, true);
    assert.equal(ip.value.payloadEnd, 128);
    assert.ok(parseIpv6(cut.packet.data, cut.offset).ok);
  });
});

describe("IPv6 base header edits and checks", () => {
  const sample = packets.find((p) => p.path.includes("icmp6-ping"))!;

  it("rewrites traffic class, flow label, hop limit and addresses in place", () => {
    const copy = sample.packet.data.slice();
    const ip = Ipv6View.check(copy, sample.offset);
    assert.ok(ip.ok);
    const v = ip.value;
    const src = v.srcAddress.slice();
    v.trafficClass = 0xb8;
    v.flowLabel = 0xabcde;
    v.hopLimit = 1;
    v.srcAddress = v.dstAddress.slice();
    v.dstAddress = src;
    assert.equal(v.trafficClass, 0xb8);
    assert.equal(v.dscp, 46);
    assert.equal(v.ecn, 0);
    assert.equal(v.flowLabel, 0xabcde);
    assert.equal(v.version, 6);
    assert.equal(v.hopLimit, 1);
    assert.equal(hex(v.dstAddress), hex(src));
  });

  it("emit refuses a nextHeader that disagrees with the chain", () => {
    const repr = parseIpv6(sample.packet.data, sample.offset);
    assert.ok(repr.ok);
    const bad: Ipv6Repr = { ...repr.value, nextHeader: IpProtocol.Tcp };
    assert.throws(() => emitIpv6Header(bad, new Uint8Array(100), 0), RangeError);
  });

  it("a version other than 6 is an error on field version", () => {
    const copy = sample.packet.data.slice(sample.offset);
    copy[0] = 0x45;
    const r = Ipv6View.check(copy);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.field, "version");
      assert.equal(r.error.offset, 0);
    }
  });

  it("a base header cut below 40 bytes is a truncation error at its start", () => {
    for (const n of [1, 20, 39]) {
      const frame = sample.packet.data.subarray(0, sample.offset + n);
      const r = parseIpv6(frame, sample.offset);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.protocol, "ipv6");
        assert.equal(r.error.field, "header");
        assert.equal(r.error.offset, sample.offset);
      }
    }
  });

  it("treats payload length 0 before a Hop-by-Hop header as a jumbogram running to the captured end", () => {
    const bytes = new Uint8Array(40 + 16);
    bytes[0] = 0x60;
    bytes[6] = IpProtocol.HopByHop;
    // Hop-by-Hop: next 59, length 1 (16 bytes), Jumbo Payload 0xc2 len 4 value 16, PadN 6.
    bytes.set([59, 1, 0xc2, 4, 0, 0, 0, 16, 1, 6, 0, 0, 0, 0, 0, 0], 40);
    const ip = Ipv6View.check(bytes);
    assert.ok(ip.ok);
    assert.equal(ip.value.jumbogram, true);
    assert.equal(ip.value.payloadEnd, 56);
    const repr = parseIpv6(bytes);
    assert.ok(repr.ok);
    assert.deepEqual(repr.value.extensions, [
      {
        kind: "hopByHop",
        options: [
          { kind: "jumboPayload", length: 16 },
          { kind: "padN", length: 6 },
        ],
      },
    ]);
    assert.equal(repr.value.upperProtocol, IpProtocol.Ipv6NoNext);
  });
});
