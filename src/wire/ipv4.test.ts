import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatIpv4, Ipv4Address } from "../base/ip.ts";
import { formatWireError } from "./error.ts";
import { EtherType } from "./ethertype.ts";
import { IpProtocol } from "./ip-protocol.ts";
import { emitIpv4Header, type Ipv4Repr, Ipv4View, ipv4HeaderLength, parseIpv4, parseIpv4Options } from "./ipv4.ts";
import { first, fromHex, hex, networkPackets } from "./link-ip-fixtures.testing.ts";

const packets = networkPackets(EtherType.Ipv4);

/**
 * Two headers with options, built by hand from the layouts of RFC 791 §3.1 and RFC 2113 and checked
 * with TShark 4.0.17 (raw IPv4 link type), which decodes them as:
 *  WITH_OPTIONS_1: NOP; Record Route len 11 ptr 8 [10.0.0.1, 0.0.0.0]; Timestamp len 20 ptr 13
 *    overflow 0 flag 1 [(10.0.0.1, 3600000), (0.0.0.0, 0)]; Router Alert 0; EOL — IHL 15, DSCP 46.
 *  WITH_OPTIONS_2: LSRR len 7 ptr 4 [203.0.113.9]; SSRR len 7 ptr 8 [203.0.113.10]; unknown 0x9e
 *    (4 bytes); Timestamp len 12 ptr 9 overflow 3 flag 0 [2147483649, 42]; EOL — IHL 13.
 */
const WITH_OPTIONS_1 = fromHex(
  "4fb800441234400040113d9fc0000201c6336407" +
    "01070b080a0000010000000044140d010a0000010036ee80000000000000000094040000" +
    "00000000" +
    "04d2003500080000",
);
const WITH_OPTIONS_2 = fromHex(
  "4db8003c4321400040111682c0000201c6336407" +
    "830704cb007109890708cb00710a9e04abcd440c0930800000010000002a000000" +
    "04d2003500080000",
);

describe("IPv4 headers of every IPv4 packet in the captures", () => {
  it("finds a meaningful number of IPv4 packets over Ethernet, SLL, SLL2, NULL and raw IP", () => {
    assert.ok(packets.length > 900, `only ${packets.length}`);
    const linkTypes = new Set(packets.map((p) => p.packet.linkType));
    for (const lt of [0, 1, 101, 113, 228, 276]) assert.ok(linkTypes.has(lt), `link type ${lt}`);
  });

  it("agrees with TShark on every field", () => {
    for (const { path, packet, oracle, offset } of packets) {
      const where = `${path} #${packet.number}`;
      const checked = Ipv4View.check(packet.data, offset);
      assert.ok(checked.ok, where);
      const ip = checked.value;
      assert.equal(String(ip.version), first(oracle, "ip.version"), where);
      assert.equal(String(ip.headerLength), first(oracle, "ip.hdr_len"), where);
      assert.equal(String(ip.totalLength), first(oracle, "ip.len"), where);
      assert.equal(ip.identification, Number(first(oracle, "ip.id")), where);
      assert.equal(ip.dontFragment, first(oracle, "ip.flags.df") === "1", where);
      assert.equal(ip.moreFragments, first(oracle, "ip.flags.mf") === "1", where);
      // TShark reports the fragment offset in 8-byte units; the view in bytes.
      assert.equal(ip.fragmentOffset, 8 * Number(first(oracle, "ip.frag_offset")), where);
      assert.equal(String(ip.ttl), first(oracle, "ip.ttl"), where);
      assert.equal(String(ip.protocol), first(oracle, "ip.proto"), where);
      assert.equal(ip.checksum, Number(first(oracle, "ip.checksum")), where);
      assert.equal(formatIpv4(ip.srcAddress), first(oracle, "ip.src"), where);
      assert.equal(formatIpv4(ip.dstAddress), first(oracle, "ip.dst"), where);
      assert.equal(ip.payloadOffset, offset + ip.headerLength);
      assert.equal(ip.truncated, Number(oracle["frame.cap_len"]) - offset < ip.totalLength, where);
    }
  });

  it("parse → emit → parse is the identity and the emitted header equals the original", () => {
    let computed = 0;
    for (const { path, packet, offset } of packets) {
      const where = `${path} #${packet.number}`;
      const view = Ipv4View.check(packet.data, offset);
      const repr = parseIpv4(packet.data, offset);
      assert.ok(view.ok && repr.ok, where);
      if (view.value.reservedFlag) continue; // not representable; none in these captures
      const length = ipv4HeaderLength(repr.value);
      assert.equal(length, view.value.headerLength, where);
      const original = hex(packet.data.subarray(offset, offset + length));
      const kept = new Uint8Array(length);
      assert.equal(emitIpv4Header(repr.value, kept, 0, "keep"), length);
      assert.equal(hex(kept), original, where);
      // Where the capture's checksum is right, computing it must give the same bytes.
      if (view.value.checksumValid()) {
        const fresh = new Uint8Array(length);
        emitIpv4Header(repr.value, fresh, 0);
        assert.equal(hex(fresh), original, where);
        computed++;
      }
      const again = parseIpv4(kept);
      assert.ok(again.ok, where);
      assert.deepEqual(again.value, repr.value, where);
    }
    assert.ok(computed > 800, `only ${computed} headers with a valid checksum`);
  });

  it("reads fragments: identification, DF/MF and offsets in bytes (pcpp IPv4Frag: 0, 1480, 2960)", () => {
    const frags = packets.filter((p) => p.path === "ipv4_frag/pcpp__IPv4Frag.pcap");
    assert.equal(frags.length, 3);
    const views = frags.map(({ packet, offset }) => {
      const v = Ipv4View.check(packet.data, offset);
      assert.ok(v.ok);
      return v.value;
    });
    assert.deepEqual(
      views.map((v) => [v.identification, v.moreFragments, v.fragmentOffset, v.isFragment]),
      [
        [0x9c89, true, 0, true],
        [0x9c89, true, 1480, true],
        [0x9c89, false, 2960, true],
      ],
    );
    // Each fragment's payload ends where the next begins.
    assert.equal(views[0]!.totalLength - views[0]!.headerLength, views[1]!.fragmentOffset);
  });
});

describe("IPv4 options", () => {
  it("decodes NOP, Record Route, Timestamp with addresses, Router Alert and EOL as TShark does", () => {
    const repr = parseIpv4(WITH_OPTIONS_1);
    assert.ok(repr.ok);
    assert.equal(repr.value.dscp, 46);
    assert.deepEqual(repr.value.options, [
      { kind: "nop" },
      { kind: "recordRoute", pointer: 8, addresses: [Ipv4Address.parse("10.0.0.1"), Ipv4Address.ANY] },
      {
        kind: "timestamp",
        pointer: 13,
        overflow: 0,
        flag: 1,
        entries: [
          { address: Ipv4Address.parse("10.0.0.1"), timestamp: 3600000 },
          { address: Ipv4Address.ANY, timestamp: 0 },
        ],
      },
      { kind: "routerAlert", value: 0 },
      { kind: "eol" },
    ]);
    assert.equal(repr.value.payloadLength, 8);
  });

  it("decodes loose and strict source routes, keeps an unknown option as bytes, and timestamps only", () => {
    const repr = parseIpv4(WITH_OPTIONS_2);
    assert.ok(repr.ok);
    assert.deepEqual(repr.value.options, [
      { kind: "looseSourceRoute", pointer: 4, addresses: [Ipv4Address.parse("203.0.113.9")] },
      { kind: "strictSourceRoute", pointer: 8, addresses: [Ipv4Address.parse("203.0.113.10")] },
      { kind: "raw", type: 0x9e, data: Uint8Array.from([0xab, 0xcd]) },
      { kind: "timestamp", pointer: 9, overflow: 3, flag: 0, entries: [{ timestamp: 0x80000001 }, { timestamp: 42 }] },
      { kind: "eol" },
    ]);
  });

  it("emits headers with options byte for byte, checksum computed", () => {
    for (const original of [WITH_OPTIONS_1, WITH_OPTIONS_2]) {
      const repr = parseIpv4(original);
      assert.ok(repr.ok);
      const out = new Uint8Array(ipv4HeaderLength(repr.value));
      emitIpv4Header(repr.value, out, 0);
      assert.equal(hex(out), hex(original.subarray(0, out.length)));
      assert.deepEqual(parseIpv4(out), repr);
    }
  });

  it("keeps a known option with a misfitting length as raw bytes", () => {
    // Record Route of length 5: not 3 + 4n.
    const r = parseIpv4Options(Uint8Array.from([7, 5, 4, 1, 2, 0, 0, 0]), 0, 8);
    assert.ok(r.ok);
    assert.deepEqual(r.value[0], { kind: "raw", type: 7, data: Uint8Array.from([4, 1, 2]) });
  });

  it("pads options to a 4-byte boundary with End of Option List", () => {
    const repr: Ipv4Repr = {
      ...(parseIpv4(WITH_OPTIONS_1) as { value: Ipv4Repr }).value,
      options: [{ kind: "routerAlert", value: 0 }, { kind: "nop" }],
    };
    assert.equal(ipv4HeaderLength(repr), 28);
    const out = new Uint8Array(28);
    emitIpv4Header(repr, out, 0);
    assert.equal(hex(out.subarray(20)), "9404000001000000");
    assert.equal(out[0], 0x47);
  });

  it("rejects options that run past the header, lack a length, or have a length below 2", () => {
    const cases: [number[], number][] = [
      [[1, 7, 11, 4, 0, 0, 0, 0], 2],
      [[1, 1, 1, 131], 4],
      [[68, 1, 0, 0], 1],
    ];
    for (const [bytes, lengthAt] of cases) {
      const r = parseIpv4Options(Uint8Array.from(bytes), 0, bytes.length);
      assert.equal(r.ok, false, String(bytes));
      if (!r.ok) {
        assert.equal(r.error.field, "option.length");
        assert.equal(r.error.offset, lengthAt);
      }
    }
  });

  it("an option error inside a real frame names the absolute offset", () => {
    const frame = new Uint8Array(14 + WITH_OPTIONS_2.length);
    frame.set(WITH_OPTIONS_2, 14);
    frame[14 + 20 + 1] = 60; // LSRR length now runs past the 52-byte header
    const r = parseIpv4(frame, 14);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.offset, 14 + 21);
  });

  it("refuses to emit more than 40 bytes of options", () => {
    const base = (parseIpv4(WITH_OPTIONS_1) as { value: Ipv4Repr }).value;
    const repr: Ipv4Repr = { ...base, options: [{ kind: "raw", type: 0x9e, data: new Uint8Array(40) }] };
    assert.throws(() => emitIpv4Header(repr, new Uint8Array(100), 0), RangeError);
  });
});

describe("malformed IPv4 headers", () => {
  const sample = packets[0]!;
  const header = sample.packet.data.slice(sample.offset);

  function expectError(bytes: Uint8Array, offset: number, field: string, at: number): void {
    const r = Ipv4View.check(bytes, offset);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.protocol, "ipv4");
      assert.equal(r.error.field, field, formatWireError(r.error));
      assert.equal(r.error.offset, at);
    }
    assert.equal(parseIpv4(bytes, offset).ok, false);
  }

  it("IHL below 5 is an error on field ihl", () => {
    for (const ihl of [0, 1, 4]) {
      const bad = header.slice();
      bad[0] = 0x40 | ihl;
      expectError(bad, 0, "ihl", 0);
    }
  });

  it("a version other than 4 is an error", () => {
    const bad = header.slice();
    bad[0] = 0x65;
    expectError(bad, 0, "version", 0);
  });

  it("a header cut below 20 bytes is a truncation error at its start", () => {
    const frame = sample.packet.data.slice(0, sample.offset + 19);
    expectError(frame, sample.offset, "header", sample.offset);
    expectError(new Uint8Array(0), 0, "header", 0);
  });

  it("options beyond the captured bytes are a truncation error", () => {
    expectError(WITH_OPTIONS_1.slice(0, 40), 0, "options", 20);
  });

  it("a total length below the header length is an error on totalLength", () => {
    const bad = WITH_OPTIONS_1.slice();
    bad[2] = 0;
    bad[3] = 59;
    expectError(bad, 0, "totalLength", 2);
  });

  it("an absurd total length is not an error: the packet is reported truncated", () => {
    const big = header.slice();
    big[2] = 0xff;
    big[3] = 0xff;
    const r = Ipv4View.check(big);
    assert.ok(r.ok);
    assert.equal(r.value.truncated, true);
    assert.equal(r.value.payloadEnd, big.length);
    const repr = parseIpv4(big);
    assert.ok(repr.ok);
    assert.equal(repr.value.payloadLength, 0xffff - r.value.headerLength);
  });

  it("every prefix of a real header either parses or fails with an error, never throws", () => {
    for (let n = 0; n <= WITH_OPTIONS_1.length; n++) {
      const r = parseIpv4(WITH_OPTIONS_1.subarray(0, n));
      assert.equal(r.ok, n >= 60, `length ${n}`);
    }
  });
});

describe("in-place edits", () => {
  it("a TTL decrement with fillChecksum keeps the checksum valid and matches a fresh emit", () => {
    const { packet, offset } = packets.find((p) => p.path.includes("tcp_session"))!;
    const copy = packet.data.slice();
    const view = Ipv4View.check(copy, offset);
    assert.ok(view.ok);
    const ip = view.value;
    assert.ok(ip.checksumValid());
    ip.ttl = ip.ttl - 1;
    assert.equal(ip.checksumValid(), false);
    ip.fillChecksum();
    assert.ok(ip.checksumValid());
    const repr = parseIpv4(copy, offset);
    assert.ok(repr.ok);
    const out = new Uint8Array(ip.headerLength);
    emitIpv4Header(repr.value, out, 0);
    assert.equal(hex(out), hex(copy.subarray(offset, offset + ip.headerLength)));
  });

  it("rewrites addresses, DSCP/ECN and fragment fields", () => {
    const copy = WITH_OPTIONS_2.slice();
    const view = Ipv4View.check(copy);
    assert.ok(view.ok);
    const ip = view.value;
    ip.srcAddress = 0x0a000001;
    ip.dstAddress = 0xc0a80001;
    ip.dscp = 10;
    ip.ecn = 3;
    ip.moreFragments = true;
    ip.dontFragment = false;
    ip.fragmentOffset = 1480;
    ip.protocol = IpProtocol.Tcp;
    ip.fillChecksum();
    const repr = parseIpv4(copy);
    assert.ok(repr.ok);
    assert.equal(repr.value.src.toString(), "10.0.0.1");
    assert.equal(repr.value.dst.toString(), "192.168.0.1");
    assert.equal(repr.value.dscp, 10);
    assert.equal(repr.value.ecn, 3);
    assert.equal(repr.value.moreFragments, true);
    assert.equal(repr.value.dontFragment, false);
    assert.equal(repr.value.fragmentOffset, 1480);
    assert.equal(repr.value.protocol, IpProtocol.Tcp);
    assert.ok(ip.checksumValid());
  });

  it('checksum mode "wrong" writes a checksum that does not verify', () => {
    const repr = parseIpv4(WITH_OPTIONS_1);
    assert.ok(repr.ok);
    const out = new Uint8Array(60);
    emitIpv4Header(repr.value, out, 0, "wrong");
    const view = Ipv4View.check(out);
    assert.ok(view.ok);
    assert.equal(view.value.checksumValid(), false);
    assert.notEqual(view.value.checksum, repr.value.checksum);
  });
});
