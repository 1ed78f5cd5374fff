import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv4Address } from "../../base/ip.ts";
import { type Ipv4Option, Ipv4View, parseIpv4 } from "../../wire/ipv4.ts";
import { Ipv6View, parseIpv6 } from "../../wire/ipv6.ts";
import { type Ipv6ExtensionRepr, walkIpv6Extensions } from "../../wire/ipv6-ext.ts";
import { fragmentIpv4, fragmentIpv6, IPV4_MIN_MTU, IPV6_MIN_MTU } from "./fragment.ts";
import { bytes, ipv4Packet, ipv6Packet } from "./fragment-fixtures.testing.ts";
import { Reassembler } from "./reassembly.ts";

function fragments4(packet: Uint8Array, mtu: number): Uint8Array[] {
  const r = fragmentIpv4(packet, mtu);
  assert.ok(r.ok, r.ok ? "" : r.error.message);
  return r.value;
}

function fragments6(packet: Uint8Array, mtu: number, id = 0xabcdef01): Uint8Array[] {
  const r = fragmentIpv6(packet, mtu, id);
  assert.ok(r.ok, r.ok ? "" : r.error.message);
  return r.value;
}

function view4(b: Uint8Array): Ipv4View {
  const v = Ipv4View.check(b);
  assert.ok(v.ok);
  return v.value;
}

function reassembleAll(pieces: readonly Uint8Array[]): Uint8Array {
  const r = new Reassembler({ maxFragmentsPerDatagram: 10_000 });
  let out: Uint8Array | undefined;
  for (const p of pieces) {
    const res = r.input(p, 0n);
    if (res.kind === "complete") out = res.packet;
    else assert.equal(res.kind, "pending");
  }
  assert.ok(out !== undefined, "the datagram did not complete");
  return out;
}

const ROUTER_ALERT: Ipv4Option = { kind: "routerAlert", value: 0 };
const LSRR: Ipv4Option = {
  kind: "looseSourceRoute",
  pointer: 4,
  addresses: [Ipv4Address.parse("203.0.113.9"), Ipv4Address.parse("203.0.113.10")],
};
const RECORD_ROUTE: Ipv4Option = { kind: "recordRoute", pointer: 4, addresses: [Ipv4Address.ANY, Ipv4Address.ANY] };
const TIMESTAMP: Ipv4Option = { kind: "timestamp", pointer: 5, overflow: 0, flag: 0, entries: [{ timestamp: 0 }] };

describe("fragmentIpv4 (RFC 791 §3.2)", () => {
  it("returns a packet that fits as one copy of its bytes, without Ethernet padding", () => {
    const packet = ipv4Packet({ payload: bytes(100) });
    const padded = new Uint8Array(packet.length + 6);
    padded.set(packet);
    const [only, ...rest] = fragments4(padded, 1500);
    assert.deepEqual(rest, []);
    assert.deepEqual(only, packet);
    assert.notEqual(only?.buffer, padded.buffer);
  });

  it("cuts the payload at multiples of 8, MF on all but the last, each fragment within the MTU", () => {
    const packet = ipv4Packet({ payload: bytes(4000), identification: 0x9c89 });
    const pieces = fragments4(packet, 1500);
    assert.deepEqual(
      pieces.map((p) => p.length),
      [1500, 1500, 1060],
    );
    const reprs = pieces.map((p) => {
      const r = parseIpv4(p);
      assert.ok(r.ok);
      return r.value;
    });
    assert.deepEqual(
      reprs.map((r) => [r.fragmentOffset, r.moreFragments, r.payloadLength, r.identification]),
      [
        [0, true, 1480, 0x9c89],
        [1480, true, 1480, 0x9c89],
        [2960, false, 1040, 0x9c89],
      ],
    );
    for (const p of pieces) assert.ok(view4(p).checksumValid(), "header checksum");
    assert.deepEqual(pieces[1]?.subarray(20), packet.subarray(20 + 1480, 20 + 2960));
  });

  it("uses the whole MTU when it is not a multiple of 8, except for the last fragment's rounding", () => {
    const pieces = fragments4(ipv4Packet({ payload: bytes(1000) }), 579);
    // 579 - 20 = 559 → 552 bytes per fragment; the last gets the remaining 448.
    assert.deepEqual(
      pieces.map((p) => view4(p).totalLength - 20),
      [552, 448],
    );
  });

  it("keeps every option in the first fragment and only copied options in later ones", () => {
    const options = [RECORD_ROUTE, ROUTER_ALERT, { kind: "nop" } as const, LSRR, TIMESTAMP];
    const packet = ipv4Packet({ payload: bytes(3000), options });
    const originalHeaderLength = view4(packet).headerLength;
    const pieces = fragments4(packet, 1000);
    const first = pieces[0] as Uint8Array;
    assert.equal(view4(first).headerLength, originalHeaderLength);
    // Apart from total length, flags/offset and checksum the first header is the original header.
    for (const at of [0, 1, 4, 5, 8, 9, ...Array.from({ length: originalHeaderLength - 12 }, (_, i) => 12 + i)]) {
      assert.equal(first[at], packet[at], `first fragment header byte ${at}`);
    }
    for (const later of pieces.slice(1)) {
      const r = parseIpv4(later);
      assert.ok(r.ok);
      const kinds = r.value.options.map((o) => o.kind).filter((k) => k !== "eol");
      assert.deepEqual(kinds, ["routerAlert", "looseSourceRoute"]);
      assert.equal(view4(later).headerLength, 20 + 4 + 12);
      assert.ok(view4(later).checksumValid());
    }
  });

  it("refuses a packet with DF set that does not fit: needsFragmentation with the MTU", () => {
    const packet = ipv4Packet({ payload: bytes(2000), dontFragment: true });
    const r = fragmentIpv4(packet, 1400);
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "needsFragmentation");
    assert.equal(r.error.kind === "needsFragmentation" ? r.error.mtu : 0, 1400);
    assert.equal(fragmentIpv4(packet, 2020).ok, true, "DF set but it fits");
  });

  it("refuses an MTU below 68 and works at 68 with a 60-byte header (8 bytes per fragment)", () => {
    const r = fragmentIpv4(ipv4Packet({ payload: bytes(100) }), IPV4_MIN_MTU - 1);
    assert.ok(!r.ok);
    assert.equal(r.error.kind, "mtuTooSmall");
    const options = [{ kind: "raw", type: 0x88, data: bytes(38) } as const]; // copied, 40 bytes
    const packet = ipv4Packet({ payload: bytes(40), options });
    const pieces = fragments4(packet, IPV4_MIN_MTU);
    assert.equal(pieces.length, 5);
    for (const p of pieces) assert.equal(p.length, 68);
    assert.deepEqual(reassembleAll(pieces), packet);
  });

  it("re-fragments a fragment: offsets continue from its own, and its MF stays on its last piece", () => {
    const packet = ipv4Packet({ payload: bytes(4000), options: [ROUTER_ALERT, RECORD_ROUTE] });
    const [a, b, c] = fragments4(packet, 1500) as [Uint8Array, Uint8Array, Uint8Array];
    const middle = fragments4(b, 576);
    const base = view4(b).fragmentOffset;
    assert.equal(base, 1464, "36-byte first header: 1464 bytes in the first fragment");
    // b's header is 24 bytes (the copied router alert only): 552 bytes per piece.
    assert.deepEqual(
      middle.map((p) => [view4(p).fragmentOffset, view4(p).moreFragments, view4(p).totalLength]),
      [
        [base, true, 576],
        [base + 552, true, 576],
        [base + 1104, true, 24 + 1472 - 1104],
      ],
    );
    const last = fragments4(c, 576);
    assert.equal(view4(last.at(-1) as Uint8Array).moreFragments, false);
    assert.ok(last.slice(0, -1).every((p) => view4(p).moreFragments));
    assert.deepEqual(reassembleAll([...last, a, ...middle]), packet);
  });

  it("reports malformed input as a value: not IPv4, truncated, options that run past the header", () => {
    for (const bad of [
      new Uint8Array([0x60, 0, 0, 0]),
      ipv4Packet({ payload: bytes(100) }).subarray(0, 80),
      (() => {
        const p = ipv4Packet({ payload: bytes(100), options: [ROUTER_ALERT] });
        p[21] = 9; // router alert length 9 in a 4-byte option area
        return p;
      })(),
    ]) {
      const r = fragmentIpv4(bad, 68);
      assert.ok(!r.ok);
      assert.equal(r.error.kind, "malformed", r.error.message);
    }
  });
});

const HOP_BY_HOP: Ipv6ExtensionRepr = { kind: "hopByHop", options: [{ kind: "routerAlert", value: 0 }] };
const DEST_BEFORE_ROUTING: Ipv6ExtensionRepr = { kind: "destinationOptions", options: [{ kind: "padN", length: 4 }] };
const ROUTING: Ipv6ExtensionRepr = { kind: "routing", routingType: 0, segmentsLeft: 0, data: new Uint8Array(20) };
const FINAL_DEST: Ipv6ExtensionRepr = {
  kind: "destinationOptions",
  options: [{ kind: "other", type: 0x1e, data: bytes(10), action: "skip", mayChange: false }],
};

describe("fragmentIpv6 (RFC 8200 §4.5)", () => {
  it("returns a packet that fits as one copy, without a Fragment header", () => {
    const packet = ipv6Packet({ payload: bytes(1240) });
    const [only, ...rest] = fragments6(packet, IPV6_MIN_MTU);
    assert.deepEqual(rest, []);
    assert.deepEqual(only, packet);
  });

  it("inserts a Fragment header after the base header and fixes Payload Length", () => {
    const packet = ipv6Packet({ payload: bytes(3000) });
    const pieces = fragments6(packet, 1280, 0xf88eb466);
    for (const p of pieces) assert.ok(p.length <= 1280);
    const infos = pieces.map((p) => {
      const v = Ipv6View.check(p);
      assert.ok(v.ok);
      assert.equal(v.value.payloadLength, p.length - 40);
      assert.equal(v.value.nextHeader, 44);
      const chain = v.value.extensions();
      assert.ok(chain.ok);
      const f = chain.value.fragment;
      assert.ok(f !== undefined);
      assert.equal(f.headerOffset, 40);
      assert.equal(p[40], 17, "the Fragment header's Next Header is the original one");
      return [f.fragmentOffset, f.moreFragments, f.identification, p.length];
    });
    assert.deepEqual(infos, [
      [0, true, 0xf88eb466, 1280],
      [1232, true, 0xf88eb466, 1280],
      [2464, false, 0xf88eb466, 40 + 8 + 536],
    ]);
  });

  it("repeats the Unfragmentable Part (through the last Routing header) in every fragment", () => {
    const extensions = [HOP_BY_HOP, DEST_BEFORE_ROUTING, ROUTING, FINAL_DEST];
    const packet = ipv6Packet({ payload: bytes(4000), extensions });
    const pieces = fragments6(packet, 1500);
    const original = parseIpv6(packet);
    assert.ok(original.ok);
    pieces.forEach((p, i) => {
      const r = parseIpv6(p);
      assert.ok(r.ok);
      const kinds = r.value.extensions.map((e) => e.kind);
      if (i === 0) {
        // The walk continues after an offset-zero Fragment header: the final Destination Options follow.
        assert.deepEqual(kinds, ["hopByHop", "destinationOptions", "routing", "fragment", "destinationOptions"]);
        assert.equal(r.value.upperProtocol, 17);
      } else assert.deepEqual(kinds, ["hopByHop", "destinationOptions", "routing", "fragment"]);
      assert.deepEqual(r.value.extensions.slice(0, 3), original.value.extensions.slice(0, 3));
    });
    assert.deepEqual(reassembleAll(pieces), packet);
  });

  it("with only Hop-by-Hop, keeps it unfragmentable and fragments a Destination Options header after it", () => {
    const packet = ipv6Packet({ payload: bytes(2000), extensions: [HOP_BY_HOP, FINAL_DEST] });
    const pieces = fragments6(packet, 1280);
    for (const p of pieces) {
      assert.equal(p[6], 0, "base header announces Hop-by-Hop");
      assert.equal(p[40], 44, "Hop-by-Hop announces the Fragment header");
      assert.equal(p[48], 60, "the Fragment header announces Destination Options");
    }
    assert.deepEqual(reassembleAll(pieces), packet);
  });

  it("refuses an MTU below 1280, a packet already fragmented, and a jumbogram", () => {
    const packet = ipv6Packet({ payload: bytes(3000) });
    const small = fragmentIpv6(packet, IPV6_MIN_MTU - 1, 1);
    assert.equal(small.ok ? "" : small.error.kind, "mtuTooSmall");
    const again = fragmentIpv6(fragments6(packet, 1280)[0] as Uint8Array, 1280, 2);
    assert.equal(again.ok ? "" : again.error.kind, "alreadyFragmented");
    const jumbo = ipv6Packet({
      payload: bytes(2000),
      extensions: [{ kind: "hopByHop", options: [{ kind: "jumboPayload", length: 2008 }] }],
    });
    jumbo[4] = 0;
    jumbo[5] = 0;
    const j = fragmentIpv6(jumbo, 1280, 3);
    assert.equal(j.ok ? "" : j.error.kind, "jumbogram");
  });

  it("refuses headers that leave no room: a huge Unfragmentable Part, a header chain past the first fragment", () => {
    const bigRouting: Ipv6ExtensionRepr = {
      kind: "routing",
      routingType: 0,
      segmentsLeft: 0,
      data: new Uint8Array(1236),
    };
    const a = fragmentIpv6(ipv6Packet({ payload: bytes(100), extensions: [bigRouting] }), 1280, 1);
    assert.equal(a.ok ? "" : a.error.kind, "headersTooLong");
    const bigDest: Ipv6ExtensionRepr = {
      kind: "destinationOptions",
      options: Array.from({ length: 6 }, () => ({ kind: "padN", length: 250 }) as const),
    };
    const b = fragmentIpv6(ipv6Packet({ payload: bytes(100), extensions: [bigDest] }), 1280, 1);
    assert.equal(b.ok ? "" : b.error.kind, "headersTooLong");
  });

  it("keeps the whole header chain in the first fragment (RFC 7112)", () => {
    const packet = ipv6Packet({ payload: bytes(3000), extensions: [FINAL_DEST], upperProtocol: 6 });
    const first = fragments6(packet, 1280)[0] as Uint8Array;
    const chain = walkIpv6Extensions(first, 48, first[40] as number, first.length);
    assert.ok(chain.ok);
    assert.equal(chain.value.upperProtocol, 6);
    assert.ok(chain.value.upperOffset + 20 <= first.length);
  });

  it("throws RangeError for an identification that is not an unsigned 32-bit value", () => {
    const packet = ipv6Packet({ payload: bytes(10) });
    assert.throws(() => fragmentIpv6(packet, 1280, -1), RangeError);
    assert.throws(() => fragmentIpv6(packet, 1280, 2 ** 32), RangeError);
  });

  it("reports malformed input as a value", () => {
    const truncated = ipv6Packet({ payload: bytes(3000) }).subarray(0, 2000);
    const r = fragmentIpv6(truncated, 1280, 1);
    assert.equal(r.ok ? "" : r.error.kind, "malformed");
    const v4 = fragmentIpv6(ipv4Packet({ payload: bytes(10) }), 1280, 1);
    assert.equal(v4.ok ? "" : v4.error.kind, "malformed");
  });
});
