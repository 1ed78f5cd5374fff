import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv4View } from "../../wire/ipv4.ts";
import { Ipv6View } from "../../wire/ipv6.ts";
import type { Ipv6ExtensionRepr } from "../../wire/ipv6-ext.ts";
import { fragmentIpv4, fragmentIpv6 } from "./fragment.ts";
import {
  bytes,
  DST4,
  DST6,
  ipv4Fragment,
  ipv4Packet,
  ipv6Fragment,
  ipv6Packet,
  SRC4,
  SRC6,
} from "./fragment-fixtures.testing.ts";
import { Reassembler, type ReassemblerOptions, type ReassemblyResult } from "./reassembly.ts";

const SECOND = 1_000_000_000n;

function split4(packet: Uint8Array, mtu: number): Uint8Array[] {
  const r = fragmentIpv4(packet, mtu);
  assert.ok(r.ok);
  return r.value;
}

function split6(packet: Uint8Array, mtu: number, id: number): Uint8Array[] {
  const r = fragmentIpv6(packet, mtu, id);
  assert.ok(r.ok);
  return r.value;
}

/** Feeds packets at time 0; returns every result. */
function feed(r: Reassembler, packets: readonly Uint8Array[], nowNs = 0n): ReassemblyResult[] {
  return packets.map((p) => r.input(p, nowNs));
}

function kinds(results: readonly ReassemblyResult[]): string[] {
  return results.map((x) => (x.kind === "dropped" ? `dropped:${x.reason}` : x.kind));
}

function completed(result: ReassemblyResult | undefined): Uint8Array {
  assert.ok(result?.kind === "complete", `expected complete, got ${JSON.stringify(result)?.slice(0, 200)}`);
  return result.packet;
}

function dropped(result: ReassemblyResult | undefined): Extract<ReassemblyResult, { kind: "dropped" }> {
  assert.ok(result?.kind === "dropped", `expected dropped, got ${result?.kind}`);
  return result;
}

/** The reassembler holds nothing (its own accounting). */
function assertEmpty(r: Reassembler): void {
  assert.equal(r.datagramsHeld, 0);
  assert.equal(r.bytesHeld, 0);
}

describe("Reassembler: reassembly", () => {
  it("rebuilds an IPv4 datagram from fragments in any order: MF and offset clear, length and checksum right", () => {
    const packet = ipv4Packet({ payload: bytes(5000), protocol: 6, identification: 77 });
    const [a, b, c, d] = split4(packet, 1400) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const r = new Reassembler();
    const results = feed(r, [c, a, d, b]);
    assert.deepEqual(kinds(results), ["pending", "pending", "pending", "complete"]);
    const whole = completed(results[3]);
    assert.deepEqual(whole, packet);
    const v = Ipv4View.check(whole);
    assert.ok(v.ok);
    assert.equal(v.value.isFragment, false);
    assert.ok(v.value.checksumValid());
    assert.equal(results[3]?.kind === "complete" ? results[3].fragments : 0, 4);
    assertEmpty(r);
    assert.equal(r.counters.datagramsReassembled, 1);
    assert.equal(r.counters.fragmentsReceived, 4);
  });

  it("rebuilds an IPv6 packet without the Fragment header, Next Header and Payload Length fixed", () => {
    const hbh: Ipv6ExtensionRepr = { kind: "hopByHop", options: [{ kind: "routerAlert", value: 0 }] };
    const packet = ipv6Packet({ payload: bytes(4000), extensions: [hbh] });
    const pieces = split6(packet, 1500, 0xdead);
    const r = new Reassembler();
    const results = feed(r, [...pieces].reverse());
    const whole = completed(results.at(-1));
    assert.deepEqual(whole, packet);
    const v = Ipv6View.check(whole);
    assert.ok(v.ok);
    const chain = v.value.extensions();
    assert.ok(chain.ok);
    assert.equal(chain.value.fragment, undefined);
    assertEmpty(r);
  });

  it("keys IPv4 by (src, dst, protocol, id) and IPv6 by (src, dst, id)", () => {
    const r = new Reassembler();
    const udp = split4(ipv4Packet({ payload: bytes(3000), protocol: 17, identification: 5 }), 1500);
    const tcp = split4(ipv4Packet({ payload: bytes(3000, 9), protocol: 6, identification: 5 }), 1500);
    const other = split4(ipv4Packet({ payload: bytes(3000, 3), identification: 5, src: DST4, dst: SRC4 }), 1500);
    assert.deepEqual(kinds(feed(r, [udp[0], tcp[0], other[0]] as Uint8Array[])), ["pending", "pending", "pending"]);
    assert.equal(r.datagramsHeld, 3);
    const v6a = split6(ipv6Packet({ payload: bytes(3000), upperProtocol: 17 }), 1280, 5);
    const v6b = split6(ipv6Packet({ payload: bytes(3000, 1), upperProtocol: 6 }), 1280, 5);
    assert.equal(r.input(v6a[0] as Uint8Array, 0n).kind, "pending");
    // Same (src, dst, id) whatever the protocol: the second datagram's first fragment overlaps the first's.
    assert.equal(dropped(r.input(v6b[0] as Uint8Array, 0n)).reason, "overlap");
  });

  it("returns a packet that is not a fragment as a copy, with fragments 0", () => {
    const packet = ipv4Packet({ payload: bytes(40) });
    const r = new Reassembler();
    const result = r.input(packet, 0n);
    assert.deepEqual(completed(result), packet);
    assert.equal(result.kind === "complete" ? result.fragments : -1, 0);
    assert.notEqual(completed(result).buffer, packet.buffer);
    assert.equal(r.counters.notFragments, 1);
    assert.equal(r.counters.fragmentsReceived, 0);
  });

  it("ignores bytes past the length field (Ethernet padding) and copies what it keeps", () => {
    const packet = ipv4Packet({ payload: bytes(3000) });
    const pieces = split4(packet, 1500);
    const buffer = new Uint8Array(1600);
    const r = new Reassembler();
    let last: ReassemblyResult | undefined;
    for (const p of pieces) {
      buffer.fill(0xee);
      buffer.set(p);
      last = r.input(buffer.subarray(0, p.length + 20), 0n);
    }
    buffer.fill(0);
    // The caller's buffer was reused between calls and wiped after: the result does not depend on it.
    assert.deepEqual(completed(last), packet);
  });

  it("refuses malformed packets as values: garbage, truncated, not IP", () => {
    const r = new Reassembler();
    const truncated = ipv4Fragment(bytes(64), 0, true).subarray(0, 50);
    for (const bad of [new Uint8Array(0), new Uint8Array([0x45, 0, 0]), truncated, new Uint8Array(30).fill(0x20)]) {
      assert.equal(dropped(r.input(bad, 0n)).reason, "malformed");
    }
    const v6truncated = ipv6Fragment(bytes(64), 0, true, 1).subarray(0, 60);
    assert.equal(dropped(r.input(v6truncated, 0n)).reason, "malformed");
    assert.equal(r.counters.dropped.malformed, 5);
    assertEmpty(r);
  });
});

describe("Reassembler: overlapping fragments", () => {
  it("IPv4, default: drops the whole datagram and every later fragment of it (a tombstone)", () => {
    const r = new Reassembler();
    const a = ipv4Fragment(bytes(24), 0, true);
    const b = ipv4Fragment(bytes(48), 48, true);
    const overlapping = ipv4Fragment(bytes(48), 24, true); // [24, 72) overlaps [48, 96)
    const last = ipv4Fragment(bytes(8), 96, false);
    const results = feed(r, [a, b, overlapping, last]);
    assert.deepEqual(kinds(results), ["pending", "pending", "dropped:overlap", "dropped:discardedDatagram"]);
    assert.equal(dropped(results[2]).fragmentsDiscarded, 3);
    assert.equal(r.counters.dropped.overlap, 1);
    assert.equal(r.counters.fragmentsDiscarded, 4);
    assert.equal(r.datagramsHeld, 1, "the tombstone");
    assert.equal(r.bytesHeld, 0, "a tombstone holds no bytes");
    // The tombstone goes silently at the timeout; then the same key may be used again.
    assert.deepEqual(r.expire(60n * SECOND), []);
    assertEmpty(r);
    const fresh = split4(ipv4Packet({ payload: bytes(3000) }), 1500);
    assert.equal(feed(r, fresh, 61n * SECOND).at(-1)?.kind, "complete");
  });

  it("IPv4, acceptFirst: the bytes that came first win and the overlap is counted", () => {
    const r = new Reassembler({ ipv4Overlap: "acceptFirst" });
    const first = ipv4Fragment(new Uint8Array(24).fill(1), 0, true);
    const middle = ipv4Fragment(new Uint8Array(24).fill(2), 24, true);
    const rewrite = ipv4Fragment(new Uint8Array(32).fill(3), 16, true); // [16, 48): rewrites 16..48
    const tail = ipv4Fragment(new Uint8Array(8).fill(4), 48, false);
    const results = feed(r, [first, middle, rewrite, tail]);
    const whole = completed(results[3]);
    assert.deepEqual(
      whole.subarray(20),
      Uint8Array.from([...new Uint8Array(24).fill(1), ...new Uint8Array(24).fill(2), ...new Uint8Array(8).fill(4)]),
    );
    assert.equal(r.counters.overlapsTrimmed, 1);
    assertEmpty(r);
  });

  it("IPv6 (RFC 5722): drops the datagram, including fragments not yet received", () => {
    const r = new Reassembler();
    const results = feed(r, [
      ipv6Fragment(bytes(64), 0, true, 9),
      ipv6Fragment(bytes(64), 32, true, 9),
      ipv6Fragment(bytes(64), 64, false, 9),
    ]);
    assert.deepEqual(kinds(results), ["pending", "dropped:overlap", "dropped:discardedDatagram"]);
    assert.equal(r.counters.dropped.overlap, 1);
  });

  it("an exact duplicate is ignored; same place with other bytes is an overlap", () => {
    const r = new Reassembler();
    const a = ipv4Fragment(bytes(16), 0, true);
    const b = ipv4Fragment(bytes(8, 16), 16, false);
    const results = feed(r, [a, a.slice(), a]);
    assert.deepEqual(
      results.map((x) => x.kind === "pending" && x.duplicate),
      [false, true, true],
    );
    assert.equal(r.counters.duplicates, 2);
    assert.deepEqual(completed(r.input(b, 0n)).subarray(20), bytes(24));

    const other = ipv4Fragment(bytes(16, 100), 0, true);
    assert.deepEqual(kinds(feed(r, [a, other])), ["pending", "dropped:overlap"]);
  });

  it("with ignoreExactDuplicates false, a duplicate is an overlap", () => {
    const r = new Reassembler({ ignoreExactDuplicates: false });
    const a = ipv4Fragment(bytes(16), 0, true);
    assert.deepEqual(kinds(feed(r, [a, a])), ["pending", "dropped:overlap"]);
  });
});

describe("Reassembler: tiny fragments (RFC 1858, RFC 3128, RFC 7112)", () => {
  it("drops an IPv4 first fragment too small for the TCP header", () => {
    const r = new Reassembler();
    const tiny = ipv4Fragment(bytes(16), 0, true, { protocol: 6 });
    const result = dropped(r.input(tiny, 0n));
    assert.equal(result.reason, "tiny");
    assert.equal(r.counters.dropped.tiny, 1);
    assertEmpty(r);
    // 16 bytes hold a UDP header: not tiny.
    assert.equal(r.input(ipv4Fragment(bytes(16), 0, true, { protocol: 17 }), 0n).kind, "pending");
  });

  it("drops a TCP fragment at offset 8, which could rewrite the flags, and its datagram", () => {
    const r = new Reassembler();
    const results = feed(r, [
      ipv4Fragment(bytes(24), 0, true, { protocol: 6 }),
      ipv4Fragment(bytes(16), 8, false, { protocol: 6 }),
    ]);
    assert.deepEqual(kinds(results), ["pending", "dropped:tiny"]);
    assert.equal(dropped(results[1]).fragmentsDiscarded, 2);
    // The same shape over UDP is an ordinary overlap, not a tiny fragment.
    const u = new Reassembler();
    assert.deepEqual(kinds(feed(u, [ipv4Fragment(bytes(24), 0, true), ipv4Fragment(bytes(16), 8, false)])), [
      "pending",
      "dropped:overlap",
    ]);
  });

  it("accepts tiny fragments when the check is off", () => {
    const r = new Reassembler({ dropTinyFragments: false });
    const results = feed(r, [
      ipv4Fragment(bytes(8), 0, true, { protocol: 6 }),
      ipv4Fragment(bytes(16, 8), 8, false, { protocol: 6 }),
    ]);
    assert.deepEqual(completed(results[1]).subarray(20), bytes(24));
  });

  it("drops an IPv6 first fragment without the whole header chain, for Parameter Problem code 3", () => {
    const r = new Reassembler();
    // Next Header TCP but only 8 bytes of it.
    const shortTcp = dropped(r.input(ipv6Fragment(bytes(8), 0, true, 1, 6), 0n));
    assert.equal(shortTcp.reason, "tiny");
    assert.deepEqual(shortTcp.parameterProblem, { code: 3, pointer: 0 });
    // A Destination Options header (after the Fragment header) announcing 16 bytes, 8 present.
    const cut = new Uint8Array(16);
    cut[0] = 17;
    cut[1] = 1;
    const shortChain = dropped(r.input(ipv6Fragment(cut.subarray(0, 8), 0, true, 2, 60), 0n));
    assert.equal(shortChain.reason, "tiny");
    assert.equal(r.counters.dropped.tiny, 2);
    assertEmpty(r);
  });
});

describe("Reassembler: lengths", () => {
  it("drops a fragment past 65535 (ping of death), IPv4 and IPv6 (Parameter Problem at Fragment Offset)", () => {
    const r = new Reassembler();
    assert.equal(dropped(r.input(ipv4Fragment(bytes(16), 65520, false), 0n)).reason, "tooLong");
    const v6 = dropped(r.input(ipv6Fragment(bytes(16), 65528, false, 3), 0n));
    assert.equal(v6.reason, "tooLong");
    assert.deepEqual(v6.parameterProblem, { code: 0, pointer: 42 });
    assert.equal(r.counters.dropped.tooLong, 2);
    assertEmpty(r);
  });

  it("drops a datagram that only the first fragment's longer header pushes past 65535", () => {
    const r = new Reassembler();
    const options = [{ kind: "raw", type: 0x1e, data: new Uint8Array(38) } as const]; // not copied, 40 bytes
    // Later fragments carry 20-byte headers: 20 + 65480 + 35 = 65535 passes the per-fragment check.
    const fragments: Uint8Array[] = [ipv4Fragment(bytes(1480), 0, true, { options })];
    for (let offset = 1480; offset < 65480; offset += 1480) {
      fragments.push(ipv4Fragment(bytes(Math.min(1480, 65480 - offset)), offset, true));
    }
    fragments.push(ipv4Fragment(bytes(35), 65480, false));
    const results = feed(r, fragments);
    assert.ok(results.slice(0, -1).every((x) => x.kind === "pending"));
    const last = dropped(results.at(-1));
    assert.equal(last.reason, "tooLong");
    assert.equal(last.fragmentsDiscarded, fragments.length);
    assert.equal(r.bytesHeld, 0);
  });

  it("honours a lower maxDatagramLength", () => {
    const r = new Reassembler({ maxDatagramLength: 1000 });
    const pieces = split4(ipv4Packet({ payload: bytes(1200) }), 576);
    const results = feed(r, pieces);
    // 20 + 552 + 552 = 1124 > 1000: the second fragment condemns the datagram.
    assert.deepEqual(kinds(results), ["pending", "dropped:tooLong", "dropped:discardedDatagram"]);
    assert.equal(r.counters.dropped.tooLong, 1);
  });

  it("drops a fragment with more to follow whose length is not a multiple of 8 (IPv6: Parameter Problem at Payload Length)", () => {
    const r = new Reassembler();
    assert.equal(dropped(r.input(ipv4Fragment(bytes(18), 0, true), 0n)).reason, "badLength");
    const v6 = dropped(r.input(ipv6Fragment(bytes(20), 0, true, 1), 0n));
    assert.equal(v6.reason, "badLength");
    assert.deepEqual(v6.parameterProblem, { code: 0, pointer: 4 });
    assert.equal(dropped(r.input(ipv4Fragment(new Uint8Array(0), 80, false), 0n)).reason, "badLength");
  });

  it("drops a datagram with inconsistent ends: two different last fragments, data past the end", () => {
    const two = new Reassembler();
    assert.deepEqual(kinds(feed(two, [ipv4Fragment(bytes(8), 16, false), ipv4Fragment(bytes(16), 16, false)])), [
      "pending",
      "dropped:badLength",
    ]);
    const past = new Reassembler();
    assert.deepEqual(kinds(feed(past, [ipv4Fragment(bytes(8), 16, false), ipv4Fragment(bytes(16), 24, true)])), [
      "pending",
      "dropped:badLength",
    ]);
    const before = new Reassembler();
    assert.deepEqual(kinds(feed(before, [ipv4Fragment(bytes(16), 40, true), ipv4Fragment(bytes(8), 16, false)])), [
      "pending",
      "dropped:badLength",
    ]);
    for (const r of [two, past, before]) assert.equal(r.counters.dropped.badLength, 1);
  });
});

describe("Reassembler: resource limits", () => {
  it("drops a datagram at its 65th fragment by default", () => {
    const at = (n: number) => Array.from({ length: n }, (_, i) => ipv4Fragment(bytes(8), i * 8, i < n - 1));
    const ok = new Reassembler();
    assert.equal(feed(ok, at(64)).at(-1)?.kind, "complete");
    const r = new Reassembler();
    const results = feed(r, at(65));
    assert.ok(results.slice(0, 64).every((x) => x.kind === "pending"));
    const last = dropped(results[64]);
    assert.equal(last.reason, "tooManyFragments");
    assert.equal(last.fragmentsDiscarded, 65);
    assert.equal(r.counters.dropped.tooManyFragments, 1);
  });

  it("honours maxFragmentsPerDatagram", () => {
    const r = new Reassembler({ maxFragmentsPerDatagram: 3 });
    const pieces = split4(ipv4Packet({ payload: bytes(4000) }), 1000);
    assert.equal(pieces.length, 5);
    assert.deepEqual(kinds(feed(r, pieces)), [
      "pending",
      "pending",
      "pending",
      "dropped:tooManyFragments",
      "dropped:discardedDatagram",
    ]);
  });

  it("drops the oldest reassembly when maxDatagrams is reached", () => {
    const r = new Reassembler({ maxDatagrams: 2 });
    const d = [1, 2, 3].map((id) => split4(ipv4Packet({ payload: bytes(3000), identification: id }), 1500));
    feed(r, [d[0]?.[0], d[1]?.[0], d[2]?.[0]] as Uint8Array[]);
    assert.equal(r.datagramsHeld, 2);
    assert.equal(r.counters.dropped.overBudget, 1);
    assert.equal(r.counters.fragmentsDiscarded, 1);
    // Datagram 1 lost its first fragment: its other fragments start a new (evicting) reassembly.
    const rest1 = feed(r, d[0]?.slice(1) as Uint8Array[]);
    assert.ok(rest1.every((x) => x.kind === "pending"));
    assert.equal(feed(r, d[2]?.slice(1) as Uint8Array[]).at(-1)?.kind, "complete");
    assert.equal(r.counters.dropped.overBudget, 2, "datagram 2 made room for datagram 1's remains");
  });

  it("drops the oldest reassemblies when the byte budget is exceeded, and refuses what can never fit", () => {
    const r = new Reassembler({ maxBytes: 4000 });
    const a = split4(ipv4Packet({ payload: bytes(6000), identification: 1 }), 1500);
    const b = split4(ipv4Packet({ payload: bytes(6000), identification: 2 }), 1500);
    feed(r, [a[0], a[1]] as Uint8Array[]);
    assert.equal(r.bytesHeld, 1500 + 1480);
    r.input(b[0] as Uint8Array, 0n);
    assert.equal(r.counters.dropped.overBudget, 1, "a made room for b");
    assert.ok(r.bytesHeld <= 4000);
    assert.equal(r.datagramsHeld, 1);
    // b alone (6020 bytes) can never fit: when it outgrows the budget it is dropped itself.
    const results = feed(r, b.slice(1));
    assert.ok(results.some((x) => x.kind === "dropped" && x.reason === "overBudget"));
    assert.ok(r.bytesHeld <= 4000);
    const tiny = new Reassembler({ maxBytes: 100 });
    assert.equal(dropped(tiny.input(a[1] as Uint8Array, 0n)).reason, "overBudget");
    assertEmpty(tiny);
  });
});

describe("Reassembler: timeout (RFC 791, RFC 8200 §4.5)", () => {
  it("expires a reassembly 60 s after its first-arriving fragment and reports its first fragment", () => {
    const r = new Reassembler();
    const packet = ipv4Packet({ payload: bytes(3000), protocol: 17, identification: 0xbeef });
    const [first, second] = split4(packet, 1200) as [Uint8Array, Uint8Array];
    r.input(second, 10n * SECOND);
    r.input(first, 30n * SECOND);
    assert.equal(r.nextExpiryNs(), 70n * SECOND);
    assert.deepEqual(r.expire(70n * SECOND - 1n), []);
    const expired = r.expire(70n * SECOND);
    assert.equal(expired.length, 1);
    const e = expired[0];
    assert.ok(e !== undefined);
    assert.equal(e.version, 4);
    assert.equal(e.src.toString(), SRC4.toString());
    assert.equal(e.dst.toString(), DST4.toString());
    assert.equal(e.identification, 0xbeef);
    assert.equal(e.protocol, 17);
    assert.equal(e.fragments, 2);
    assert.deepEqual(e.firstFragment, first);
    assert.equal(r.counters.dropped.timeout, 1);
    assert.equal(r.counters.fragmentsDiscarded, 2);
    assertEmpty(r);
    assert.equal(r.nextExpiryNs(), undefined);
  });

  it("reports no first fragment when it never came (no ICMP then), IPv6 included", () => {
    const r = new Reassembler({ timeoutNs: 5n * SECOND });
    r.input(ipv6Fragment(bytes(64), 64, false, 44), 0n);
    const [e] = r.expire(5n * SECOND);
    assert.ok(e !== undefined);
    assert.equal(e.version, 6);
    assert.equal(e.src.toString(), SRC6.toString());
    assert.equal(e.dst.toString(), DST6.toString());
    assert.equal(e.identification, 44);
    assert.equal(e.firstFragment, undefined);
  });

  it("starts afresh when a fragment comes for an overdue datagram, and reports the old one at the next expire", () => {
    const r = new Reassembler();
    const pieces = split4(ipv4Packet({ payload: bytes(3000) }), 1500);
    r.input(pieces[0] as Uint8Array, 0n);
    const late = feed(r, pieces.slice(1), 61n * SECOND);
    assert.ok(
      late.every((x) => x.kind === "pending"),
      "the first fragment timed out",
    );
    assert.equal(r.nextExpiryNs(), 61n * SECOND, "a report is waiting");
    const [e] = r.expire(61n * SECOND);
    assert.deepEqual(e?.firstFragment, pieces[0]);
    assert.equal(r.datagramsHeld, 1, "the new reassembly");
  });

  it("takes a time that goes backwards as the latest time seen", () => {
    const r = new Reassembler();
    r.input(ipv4Fragment(bytes(8), 8, false), 100n * SECOND);
    r.input(ipv4Fragment(bytes(8), 8, false, { identification: 2 }), 0n);
    assert.equal(r.expire(159n * SECOND).length, 0);
    assert.equal(r.expire(160n * SECOND).length, 2);
  });
});

describe("Reassembler: IPv6 atomic fragments (RFC 6946)", () => {
  it("processes an atomic fragment on its own, even while a datagram with its id is pending", () => {
    const r = new Reassembler();
    const packet = ipv6Packet({ payload: bytes(5000) });
    const [first, ...rest] = split6(packet, 1280, 7) as [Uint8Array, ...Uint8Array[]];
    assert.equal(r.input(first, 0n).kind, "pending");
    const small = ipv6Packet({ payload: bytes(100, 50), upperProtocol: 6 });
    const atomic = ipv6Fragment(small.subarray(40), 0, false, 7, 6);
    const result = r.input(atomic, 0n);
    assert.deepEqual(completed(result), small);
    assert.equal(result.kind === "complete" ? result.fragments : 0, 1);
    assert.equal(r.counters.atomicFragments, 1);
    assert.deepEqual(completed(feed(r, rest).at(-1)), packet);
  });

  it("without isolation, an atomic fragment destroys the pending datagram with its id (what RFC 6946 prevents)", () => {
    const r = new Reassembler({ isolateAtomicFragments: false });
    const [first, ...rest] = split6(ipv6Packet({ payload: bytes(5000) }), 1280, 7) as [Uint8Array, ...Uint8Array[]];
    r.input(first, 0n);
    // It claims the datagram ends at 100 while 1232 bytes are held.
    assert.equal(dropped(r.input(ipv6Fragment(bytes(100), 0, false, 7), 0n)).reason, "badLength");
    assert.ok(feed(r, rest).every((x) => x.kind === "dropped" && x.reason === "discardedDatagram"));
    // Alone in the table it completes at once, as a one-fragment datagram.
    const alone = new Reassembler({ isolateAtomicFragments: false });
    assert.equal(completed(alone.input(ipv6Fragment(bytes(100), 0, false, 8), 0n)).length, 140);
    assert.equal(alone.counters.atomicFragments, 0);
  });
});

describe("Reassembler: options and counters", () => {
  it("rejects options out of range", () => {
    for (const bad of [
      { timeoutNs: 0n },
      { maxFragmentsPerDatagram: 0 },
      { maxDatagrams: 1.5 },
      { maxBytes: -1 },
      { maxDatagramLength: 70_000 },
    ] satisfies ReassemblerOptions[]) {
      assert.throws(
        () => new Reassembler(bad),
        RangeError,
        JSON.stringify(bad, (_, v) => String(v)),
      );
    }
  });

  it("fills defaults: 60 s, 64 fragments, drop overlaps", () => {
    const o = new Reassembler().options;
    assert.equal(o.timeoutNs, 60n * SECOND);
    assert.equal(o.maxFragmentsPerDatagram, 64);
    assert.equal(o.ipv4Overlap, "drop");
    assert.equal(o.ipv6Overlap, "drop");
    assert.equal(o.maxDatagramLength, 65535);
  });

  it("hands out counter snapshots", () => {
    const r = new Reassembler();
    const snapshot = r.counters;
    snapshot.dropped.overlap = 99;
    r.input(new Uint8Array(1), 0n);
    assert.equal(r.counters.dropped.overlap, 0);
    assert.equal(r.counters.dropped.malformed, 1);
  });
});
