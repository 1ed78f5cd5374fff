import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv6Address } from "../base/ip.ts";
import { decodePacket } from "./decode.ts";
import { formatWireError } from "./error.ts";
import { EtherType } from "./ethertype.ts";
import { IpProtocol } from "./ip-protocol.ts";
import {
  emitIpv6Extensions,
  type Ipv6ExtensionRepr,
  ipv6ExtensionsLength,
  ipv6OptionAction,
  ipv6OptionMayChange,
  ipv6PseudoHeaderDestination,
  parseIpv6Options,
  walkIpv6Extensions,
} from "./ipv6-ext.ts";
import { emitIpv6Header, Ipv6View, ipv6HeaderLength, parseIpv6 } from "./ipv6.ts";
import { first, fromHex, hex, networkPackets } from "./link-ip-fixtures.testing.ts";

const ipv6Packets = networkPackets(EtherType.Ipv6);

function packetsOf(path: string) {
  const found = ipv6Packets.filter((p) => p.path === path);
  assert.ok(found.length > 0, path);
  return found;
}

const address = (text: string) => Ipv6Address.parse(text).bytes;

describe("extension headers of pcpp ipv6_options (pcapng), against TShark's dissection", () => {
  const frames = packetsOf("ipv6/pcpp__ipv6_options.pcap");

  function repr(n: number) {
    const p = frames[n - 1]!;
    const r = parseIpv6(p.packet.data, p.offset);
    if (!r.ok) assert.fail(formatWireError(r.error));
    return r.value;
  }

  it("frame 1: Hop-by-Hop (Router Alert MLD, PadN), Destination Options (unknown 11, PadN), Routing type 0, AH, OSPF", () => {
    const r = repr(1);
    assert.equal(r.nextHeader, IpProtocol.HopByHop);
    assert.equal(r.trafficClass, 0xe0);
    assert.deepEqual(r.extensions, [
      {
        kind: "hopByHop",
        options: [
          { kind: "routerAlert", value: 0 },
          { kind: "padN", length: 0 },
        ],
      },
      {
        kind: "destinationOptions",
        options: [
          { kind: "other", type: 11, data: Uint8Array.from([9]), action: "skip", mayChange: false },
          { kind: "padN", length: 1 },
        ],
      },
      {
        kind: "routing",
        routingType: 0,
        segmentsLeft: 1,
        data: Uint8Array.from([0, 0, 0, 0, ...address("2200::210:2:0:0:4")]),
      },
      { kind: "authentication", spi: 0x100, sequence: 32, icv: fromHex("35482148b2435a23dcdd5536") },
    ]);
    assert.equal(r.upperProtocol, IpProtocol.Ospf);
  });

  it("frame 2: Routing type 0 with two addresses, segments left 2, then ICMPv6", () => {
    const r = repr(2);
    assert.deepEqual(r.extensions, [
      {
        kind: "routing",
        routingType: 0,
        segmentsLeft: 2,
        data: Uint8Array.from([0, 0, 0, 0, ...address("2200::210:2:0:0:4"), ...address("2200::240:2:0:0:4")]),
      },
    ]);
    assert.equal(r.upperProtocol, IpProtocol.Icmpv6);
  });

  it("frame 4: AH alone (length 4 → 24 bytes), then OSPF", () => {
    const p = frames[3]!;
    const ip = Ipv6View.check(p.packet.data, p.offset);
    assert.ok(ip.ok);
    const chain = ip.value.extensions();
    assert.ok(chain.ok);
    assert.deepEqual(chain.value.headers, [{ type: IpProtocol.Ah, offset: p.offset + 40, length: 24 }]);
    assert.equal(chain.value.upperOffset, p.offset + 64);
    assert.equal(chain.value.upperProtocol, IpProtocol.Ospf);
    assert.equal(chain.value.fragment, undefined);
  });

  it("frame 6: Destination Options then UDP", () => {
    const r = repr(6);
    assert.equal(r.extensions[0]?.kind, "destinationOptions");
    assert.equal(r.upperProtocol, IpProtocol.Udp);
  });
});

describe("IPv6 fragments", () => {
  const fragmented = ipv6Packets.filter((p) => p.oracle["ipv6.fraghdr.ident"] !== undefined);

  it("agrees with TShark on identification, offset (TShark: 8-byte units), M flag and next header", () => {
    assert.ok(fragmented.length >= 13, `only ${fragmented.length}`);
    for (const { path, packet, oracle, offset } of fragmented) {
      const where = `${path} #${packet.number}`;
      const ip = Ipv6View.check(packet.data, offset);
      assert.ok(ip.ok, where);
      const chain = ip.value.extensions();
      assert.ok(chain.ok, where);
      const frag = chain.value.fragment;
      assert.ok(frag !== undefined, where);
      assert.equal(frag.identification, Number(first(oracle, "ipv6.fraghdr.ident")), where);
      assert.equal(frag.fragmentOffset, 8 * Number(first(oracle, "ipv6.fraghdr.offset")), where);
      assert.equal(frag.moreFragments, first(oracle, "ipv6.fraghdr.more") === "1", where);
      assert.equal(chain.value.upperProtocol, Number(first(oracle, "ipv6.fraghdr.nxt")), where);
      assert.equal(frag.headerOffset, chain.value.headers.find((h) => h.type === IpProtocol.Ipv6Frag)!.offset);
    }
  });

  it("stops the walk after the Fragment header of a non-first fragment", () => {
    // pcpp ipv6-frag frame 4: offset 1448, next header UDP; the bytes after are UDP payload, not a header.
    const p = packetsOf("ipv6_frag/pcpp__ipv6-frag.pcap")[3]!;
    const ip = Ipv6View.check(p.packet.data, p.offset);
    assert.ok(ip.ok);
    const chain = ip.value.extensions();
    assert.ok(chain.ok);
    assert.equal(chain.value.fragment?.fragmentOffset, 1448);
    assert.equal(chain.value.upperOffset, p.offset + 48);
    const repr = parseIpv6(p.packet.data, p.offset);
    assert.ok(repr.ok);
    assert.deepEqual(repr.value.extensions, [
      { kind: "fragment", fragmentOffset: 1448, moreFragments: true, identification: 0xf88eb466 },
    ]);
  });

  it("an atomic fragment (offset 0, M clear) is walked through to TCP (zeek ipv6-http-atomic-frag)", () => {
    const atomic = packetsOf("ipv6_frag/zeek__ipv6-http-atomic-frag.pcap").filter(
      (p) => p.oracle["ipv6.fraghdr.ident"] !== undefined,
    );
    assert.ok(atomic.length > 0);
    for (const p of atomic) {
      const chain = Ipv6View.check(p.packet.data, p.offset);
      assert.ok(chain.ok);
      const c = chain.value.extensions();
      assert.ok(c.ok);
      assert.deepEqual(c.value.fragment && [c.value.fragment.fragmentOffset, c.value.fragment.moreFragments], [
        0,
        false,
      ]);
      assert.equal(c.value.upperProtocol, IpProtocol.Tcp);
    }
  });
});

/** A 40-byte IPv6 header (next header `next`, payload length `length`) followed by `rest`. */
function packet(next: number, rest: number[], payloadLength = rest.length): Uint8Array {
  const bytes = new Uint8Array(40 + rest.length);
  bytes[0] = 0x60;
  bytes[4] = payloadLength >>> 8;
  bytes[5] = payloadLength & 0xff;
  bytes[6] = next;
  bytes[7] = 64;
  bytes.set(rest, 40);
  return bytes;
}

describe("the chain-walk rules of RFC 8200 §4", () => {
  it("an unrecognised Next Header value ends the chain and is reported with upperRecognised false", () => {
    // Destination Options (8 bytes, PadN 4) → 253 (experimental).
    const bytes = packet(IpProtocol.Ipv6Opts, [253, 0, 1, 4, 0, 0, 0, 0, 0xde, 0xad]);
    const chain = walkIpv6Extensions(bytes, 40, IpProtocol.Ipv6Opts, bytes.length);
    assert.ok(chain.ok);
    assert.equal(chain.value.upperProtocol, 253);
    assert.equal(chain.value.upperRecognised, false);
    assert.equal(chain.value.upperOffset, 48);
    const unassigned = walkIpv6Extensions(packet(200, []), 40, 200);
    assert.ok(unassigned.ok);
    assert.equal(unassigned.value.upperRecognised, false);
    assert.equal(unassigned.value.upperProtocol, 200);
  });

  it("Hop-by-Hop anywhere but first is not recognised", () => {
    const bytes = packet(IpProtocol.Ipv6Opts, [IpProtocol.HopByHop, 0, 1, 4, 0, 0, 0, 0]);
    const chain = walkIpv6Extensions(bytes, 40, IpProtocol.Ipv6Opts);
    assert.ok(chain.ok);
    assert.equal(chain.value.headers.length, 1);
    assert.equal(chain.value.upperProtocol, IpProtocol.HopByHop);
    assert.equal(chain.value.upperRecognised, false);
  });

  it("ESP and No Next Header end the chain and are recognised", () => {
    for (const terminal of [IpProtocol.Esp, IpProtocol.Ipv6NoNext]) {
      const bytes = packet(IpProtocol.Ipv6Opts, [terminal, 0, 1, 4, 0, 0, 0, 0, 1, 2, 3, 4]);
      const chain = walkIpv6Extensions(bytes, 40, IpProtocol.Ipv6Opts);
      assert.ok(chain.ok);
      assert.equal(chain.value.upperProtocol, terminal);
      assert.equal(chain.value.upperRecognised, true);
      assert.equal(chain.value.upperOffset, 48);
    }
  });

  it("walks Mobility (135) with the RFC 6564 uniform format and round-trips it", () => {
    const bytes = packet(IpProtocol.Mobility, [IpProtocol.Ipv6NoNext, 1, ...new Array<number>(14).fill(7)]);
    const repr = parseIpv6(bytes);
    assert.ok(repr.ok);
    assert.deepEqual(repr.value.extensions, [
      { kind: "generic", type: IpProtocol.Mobility, data: new Uint8Array(14).fill(7) },
    ]);
    const out = new Uint8Array(ipv6HeaderLength(repr.value));
    emitIpv6Header(repr.value, out, 0);
    assert.equal(hex(out), hex(bytes));
  });
});

describe("extension chains longer than the packet", () => {
  function expectError(bytes: Uint8Array, field: string, offset: number): void {
    const r = parseIpv6(bytes);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.protocol, "ipv6");
      assert.equal(r.error.field, field, formatWireError(r.error));
      assert.equal(r.error.offset, offset);
    }
  }

  it("a Hop-by-Hop length past the payload names hopByHop.length and its offset", () => {
    expectError(packet(IpProtocol.HopByHop, [IpProtocol.Tcp, 200, 1, 4, 0, 0, 0, 0]), "hopByHop.length", 41);
  });

  it("an absurd length in the last of many headers is caught at that header", () => {
    const rest: number[] = [];
    for (let i = 0; i < 100; i++) rest.push(IpProtocol.Ipv6Opts, 0, 1, 4, 0, 0, 0, 0);
    rest.push(IpProtocol.Tcp, 255, 1, 4, 0, 0, 0, 0);
    const bytes = packet(IpProtocol.Ipv6Opts, rest);
    expectError(bytes, "destinationOptions.length", 40 + 800 + 1);
  });

  it("a chain cut before the next header's first two bytes names nextHeader", () => {
    expectError(
      packet(IpProtocol.Ipv6Route, [IpProtocol.Ipv6Opts, 0, 0, 0, 0, 0, 0, 0, 6]),
      "destinationOptions.nextHeader",
      48,
    );
  });

  it("the chain is bounded by the payload length, not by the captured bytes", () => {
    // 16 bytes captured after the header but the payload length says 8: the second header is outside.
    const bytes = packet(IpProtocol.Ipv6Opts, [IpProtocol.Ipv6Opts, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0], 8);
    expectError(bytes, "destinationOptions.nextHeader", 48);
  });

  it("a fragment header cut short names fragment", () => {
    expectError(packet(IpProtocol.Ipv6Frag, [IpProtocol.Udp, 0, 0, 0, 0, 0]), "fragment", 40);
  });

  it("an AH shorter than its fixed fields is an error", () => {
    expectError(packet(IpProtocol.Ah, [IpProtocol.Tcp, 0, 0, 0, 0, 0, 0, 0]), "authentication.length", 41);
  });

  it("an option overrunning its header names the option length byte", () => {
    // Hop-by-Hop of 8 bytes whose PadN claims 5 data bytes where 4 remain.
    expectError(packet(IpProtocol.HopByHop, [IpProtocol.Tcp, 0, 1, 5, 0, 0, 0, 0]), "hopByHop.option.length", 43);
  });

  it("a walk over 64 KiB of 8-byte headers terminates with the right count", () => {
    const count = 8000;
    const bytes = new Uint8Array(count * 8 + 1);
    for (let i = 0; i < count; i++) bytes.set([IpProtocol.Ipv6Opts, 0, 1, 4], i * 8);
    const chain = walkIpv6Extensions(bytes, 0, IpProtocol.Ipv6Opts);
    assert.equal(chain.ok, false);
    if (!chain.ok) assert.equal(chain.error.offset, count * 8);
  });
});

describe("options of Hop-by-Hop and Destination Options headers", () => {
  it("spells out the action and may-change bits of RFC 8200 §4.2", () => {
    assert.equal(ipv6OptionAction(0x1e), "skip");
    assert.equal(ipv6OptionAction(0x5e), "discard");
    assert.equal(ipv6OptionAction(0x9e), "discardAndReport");
    assert.equal(ipv6OptionAction(0xde), "discardAndReportUnlessMulticast");
    assert.equal(ipv6OptionMayChange(0x3e), true);
    assert.equal(ipv6OptionMayChange(0x1e), false);
    const r = parseIpv6Options(Uint8Array.from([0x9e, 1, 7, 0x3e, 0, 0]), 0, 6);
    assert.ok(r.ok);
    assert.deepEqual(r.value, [
      { kind: "other", type: 0x9e, data: Uint8Array.from([7]), action: "discardAndReport", mayChange: false },
      { kind: "other", type: 0x3e, data: new Uint8Array(0), action: "skip", mayChange: true },
      { kind: "pad1" },
    ]);
  });

  it("a Router Alert with the wrong length is kept as another option", () => {
    const r = parseIpv6Options(Uint8Array.from([5, 3, 0, 0, 0]), 0, 5);
    assert.ok(r.ok);
    assert.equal(r.value[0]?.kind, "other");
  });

  it("emit pads options headers to 8 bytes with Pad1 or PadN", () => {
    const chain: Ipv6ExtensionRepr[] = [
      { kind: "hopByHop", options: [{ kind: "routerAlert", value: 0 }] },
      {
        kind: "destinationOptions",
        options: [{ kind: "other", type: 0x1e, data: Uint8Array.from([1, 2, 3]), action: "skip", mayChange: false }],
      },
    ];
    assert.equal(ipv6ExtensionsLength(chain), 16);
    const out = new Uint8Array(16);
    assert.equal(emitIpv6Extensions(chain, IpProtocol.Udp, out, 0), 16);
    assert.equal(hex(out), "3c0005020000010011001e0301020300");
    // 3c 00 | RA | PadN 0 ; 11 00 | 1e 03 010203 | Pad1
  });

  it("emit writes fragment, routing and AH headers that parse back identically", () => {
    const chain: Ipv6ExtensionRepr[] = [
      { kind: "routing", routingType: 4, segmentsLeft: 0, data: new Uint8Array(20).fill(0xaa) },
      { kind: "fragment", fragmentOffset: 1232, moreFragments: true, identification: 0xdeadbeef },
      { kind: "authentication", spi: 7, sequence: 9, icv: new Uint8Array(12).fill(0x55) },
    ];
    const length = ipv6ExtensionsLength(chain);
    const bytes = new Uint8Array(40 + length);
    const repr = {
      src: Ipv6Address.LOOPBACK,
      dst: Ipv6Address.LOOPBACK,
      trafficClass: 0,
      flowLabel: 1,
      hopLimit: 64,
      nextHeader: IpProtocol.Ipv6Route,
      payloadLength: length,
      extensions: chain,
      upperProtocol: IpProtocol.Tcp,
    };
    assert.equal(emitIpv6Header(repr, bytes, 0), 40 + length);
    const back = parseIpv6(bytes);
    assert.ok(back.ok);
    // A non-first fragment ends the walk: only routing and fragment are read back.
    assert.deepEqual(back.value.extensions, chain.slice(0, 2));
    assert.equal(back.value.upperProtocol, IpProtocol.Ah);
    const firstFragment = { ...repr, extensions: [chain[0]!, { ...chain[1]!, fragmentOffset: 0 }, chain[2]!] };
    emitIpv6Header(firstFragment as typeof repr, bytes, 0);
    const all = parseIpv6(bytes);
    assert.ok(all.ok);
    assert.deepEqual(all.value, firstFragment);
  });

  it("emit refuses a routing header whose length is not a multiple of 8", () => {
    const chain: Ipv6ExtensionRepr[] = [{ kind: "routing", routingType: 0, segmentsLeft: 0, data: new Uint8Array(3) }];
    assert.throws(() => emitIpv6Extensions(chain, IpProtocol.Tcp, new Uint8Array(64), 0), RangeError);
  });
});

describe("the pseudo-header destination behind a Routing header (RFC 8200 §8.1)", () => {
  const final = address("2001:db8::99");
  /** A Routing header of `routingType` with `segmentsLeft` and the given 16-byte entries, walked. */
  function routing(routingType: number, segmentsLeft: number, entries: Uint8Array[]) {
    const bytes = new Uint8Array(8 + 16 * entries.length);
    bytes[0] = IpProtocol.Udp;
    bytes[1] = entries.length * 2;
    bytes[2] = routingType;
    bytes[3] = segmentsLeft;
    for (const [i, e] of entries.entries()) bytes.set(e, 8 + 16 * i);
    const chain = walkIpv6Extensions(bytes, 0, IpProtocol.Ipv6Route);
    if (!chain.ok) assert.fail(formatWireError(chain.error));
    return { bytes, headers: chain.value.headers };
  }
  const at = (r: { bytes: Uint8Array; headers: readonly { type: number; offset: number; length: number }[] }) => {
    const where = ipv6PseudoHeaderDestination(r.bytes, r.headers);
    return typeof where === "number" ? hex(r.bytes.subarray(where, where + 16)) : where;
  };

  it("type 0 with segments left: the last address", () => {
    assert.equal(at(routing(0, 1, [address("2001:db8::1"), final])), hex(final));
  });
  it("type 2 (Mobile IPv6 home address): its one address", () => {
    assert.equal(at(routing(2, 1, [final])), hex(final));
  });
  it("type 4 (Segment Routing): Segment List[0], the last segment", () => {
    assert.equal(at(routing(4, 2, [final, address("2001:db8::2"), address("2001:db8::1")])), hex(final));
  });
  it("no segments left, or no Routing header: the IPv6 header's destination", () => {
    assert.equal(at(routing(0, 0, [final])), "current");
    assert.equal(ipv6PseudoHeaderDestination(new Uint8Array(0), []), "current");
  });
  it("a routing type whose final destination cannot be told (RPL, type 3), or no address: unknown", () => {
    assert.equal(at(routing(3, 1, [final])), undefined);
    assert.equal(at(routing(0, 1, [])), undefined);
  });

  it("decode verifies the checksums of pcpp ipv6_options #2 (ICMPv6) and #3 (UDP) with the final destination", () => {
    const frames = packetsOf("ipv6/pcpp__ipv6_options.pcap");
    for (const n of [2, 3]) {
      const frame = frames[n - 1]!.packet;
      assert.deepEqual(decodePacket(frame.linkType, frame.data).badChecksums, [], `frame ${n}`);
      // The final destination is the Routing header's last address: change one of its bytes and the
      // checksum no longer verifies; change the current destination instead and it still does.
      const ip = frames[n - 1]!.offset;
      const chain = walkIpv6Extensions(frame.data, ip + 40, frame.data[ip + 6] as number);
      if (!chain.ok) assert.fail(formatWireError(chain.error));
      const header = chain.value.headers.find((h) => h.type === IpProtocol.Ipv6Route)!;
      const end = header.offset + header.length;
      const finalChanged = frame.data.slice();
      finalChanged[end - 1] = (finalChanged[end - 1] as number) ^ 1;
      assert.equal(decodePacket(frame.linkType, finalChanged).badChecksums.length, 1, `frame ${n}, final changed`);
      const currentChanged = frame.data.slice();
      const dst = ip + 39;
      currentChanged[dst] = (currentChanged[dst] as number) ^ 1;
      assert.deepEqual(decodePacket(frame.linkType, currentChanged).badChecksums, [], `frame ${n}, current changed`);
    }
  });
});
