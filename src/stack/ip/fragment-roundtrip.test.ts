/**
 * Property tests (fast-check, fixed seeds): for random packets, options, extension chains and MTUs,
 * the fragments obey RFC 791 / RFC 8200, re-parse with the wire parsers, and — delivered in a random
 * order with random duplicates — reassemble into the original packet, byte for byte.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Ipv4Address } from "../../base/ip.ts";
import { SeededRng } from "../../base/rng.ts";
import { type Ipv4Option, Ipv4View, parseIpv4 } from "../../wire/ipv4.ts";
import { parseIpv6 } from "../../wire/ipv6.ts";
import { type Ipv6ExtensionRepr, type Ipv6Option, walkIpv6Extensions } from "../../wire/ipv6-ext.ts";
import { fragmentIpv4, fragmentIpv6 } from "./fragment.ts";
import { ipv4Packet, ipv6Packet, shuffled } from "./fragment-fixtures.testing.ts";
import { Reassembler, type ReassemblerOptions } from "./reassembly.ts";

const address = fc.integer({ min: 0, max: 0xffffffff }).map((v) => new Ipv4Address(v));

const ipv4Option: fc.Arbitrary<Ipv4Option> = fc.oneof(
  fc.constant({ kind: "nop" } as const),
  fc.record({
    kind: fc.constantFrom("recordRoute", "looseSourceRoute", "strictSourceRoute"),
    pointer: fc.constant(4),
    addresses: fc.array(address, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant("timestamp" as const),
    pointer: fc.constant(5),
    overflow: fc.constant(0),
    flag: fc.constant(0),
    entries: fc.array(fc.record({ timestamp: fc.integer({ min: 0, max: 0xffffffff }) }), { maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant("routerAlert" as const), value: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({
    kind: fc.constant("raw" as const),
    type: fc.integer({ min: 2, max: 255 }),
    data: fc.uint8Array({ maxLength: 8 }),
  }),
);

function optionLength(o: Ipv4Option): number {
  switch (o.kind) {
    case "eol":
    case "nop":
      return 1;
    case "recordRoute":
    case "looseSourceRoute":
    case "strictSourceRoute":
      return 3 + 4 * o.addresses.length;
    case "timestamp":
      return 4 + 4 * o.entries.length;
    case "routerAlert":
      return 4;
    case "raw":
      return 2 + o.data.length;
  }
}

/** Options that fit in the 40-byte option area. */
const ipv4Options = fc.array(ipv4Option, { maxLength: 8 }).map((all) => {
  const kept: Ipv4Option[] = [];
  let used = 0;
  for (const o of all) {
    if (used + optionLength(o) > 40) continue;
    used += optionLength(o);
    kept.push(o);
  }
  return kept;
});

function randomBytes(n: number, seed: number): Uint8Array {
  return new SeededRng(seed).bytes(n);
}

/**
 * Arrival order, as indices into the fragment list: shuffled, with some fragments delivered twice. A
 * packet that was not fragmented is delivered once (a copy would be a second datagram, not a duplicate).
 */
function arrival(count: number, seed: number): number[] {
  const rng = new SeededRng(seed);
  const order = shuffled(
    Array.from({ length: count }, (_, i) => i),
    rng,
  );
  const duplicates = count < 2 ? 0 : rng.nextInt(Math.min(4, count) + 1);
  for (let i = 0; i < duplicates; i++) order.splice(rng.nextInt(order.length + 1), 0, rng.nextInt(count));
  return order;
}

/**
 * Feeds the fragments in the order `arrival` gives. The datagram must complete exactly when the last
 * distinct fragment arrives, and equal `packet`. Duplicates that arrive after that start a new
 * reassembly (as in any stack); if all of them came, it completes again with the same bytes.
 */
function reassembleInOrder(
  packet: Uint8Array,
  fragments: readonly Uint8Array[],
  seed: number,
  options: ReassemblerOptions,
): void {
  const r = new Reassembler(options);
  const seen = new Set<number>();
  let completions = 0;
  arrival(fragments.length, seed).forEach((index, i) => {
    const before = seen.size;
    seen.add(index);
    const res = r.input((fragments[index] as Uint8Array).slice(), BigInt(i) * 1000n);
    const completesNow = before < fragments.length && seen.size === fragments.length;
    if (res.kind === "complete") {
      assert.ok(completesNow || completions > 0, `completed early, at arrival ${i}`);
      assert.deepEqual(res.packet, packet);
      completions++;
    } else {
      assert.equal(res.kind, "pending", res.kind === "dropped" ? res.message : "");
      assert.ok(!completesNow, `no completion when the last fragment arrived (arrival ${i})`);
    }
  });
  assert.ok(completions >= 1);
  assert.equal(r.counters.dropped.overlap, 0);
}

function checkIpv4Fragments(packet: Uint8Array, fragments: readonly Uint8Array[], mtu: number): void {
  const original = Ipv4View.check(packet);
  assert.ok(original.ok);
  const payload = packet.subarray(original.value.headerLength);
  const rebuilt = new Uint8Array(payload.length);
  fragments.forEach((f, i) => {
    assert.ok(f.length <= mtu, `fragment ${i} is ${f.length} bytes, MTU ${mtu}`);
    const r = parseIpv4(f);
    assert.ok(r.ok, r.ok ? "" : r.error.reason);
    const v = Ipv4View.check(f);
    assert.ok(v.ok && v.value.checksumValid(), "header checksum");
    const last = i === fragments.length - 1;
    assert.equal(r.value.moreFragments, !last);
    assert.equal(r.value.fragmentOffset % 8, 0);
    if (!last) assert.equal(r.value.payloadLength % 8, 0);
    assert.equal(r.value.identification, original.value.identification);
    assert.equal(r.value.protocol, original.value.protocol);
    if (i > 0) {
      for (const o of r.value.options) {
        const copied = o.kind === "routerAlert" || o.kind === "looseSourceRoute" || o.kind === "strictSourceRoute";
        assert.ok(copied || o.kind === "eol" || (o.kind === "raw" && o.type >= 0x80), `option ${o.kind} copied`);
      }
    }
    rebuilt.set(f.subarray(v.value.headerLength), r.value.fragmentOffset);
  });
  assert.deepEqual(rebuilt, payload);
}

describe("IPv4 fragment → reassemble round trip (property)", () => {
  it("with default defences and MTUs from 576 to 9000", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30_000 }),
        fc.integer({ min: 576, max: 9000 }),
        ipv4Options,
        fc.constantFrom(1, 6, 17, 47, 253),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer(),
        (length, mtu, options, protocol, identification, seed) => {
          const packet = ipv4Packet({ payload: randomBytes(length, seed), options, protocol, identification });
          const r = fragmentIpv4(packet, mtu);
          assert.ok(r.ok, r.ok ? "" : r.error.message);
          checkIpv4Fragments(packet, r.value, mtu);
          reassembleInOrder(packet, r.value, seed, {});
        },
      ),
      { seed: 0x5eed4, numRuns: 150 },
    );
  });

  it("with any MTU from 68 (tiny-fragment checks off, many fragments allowed)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4000 }),
        fc.integer({ min: 68, max: 1500 }),
        ipv4Options,
        fc.constantFrom(6, 17),
        fc.integer(),
        (length, mtu, options, protocol, seed) => {
          const packet = ipv4Packet({ payload: randomBytes(length, seed), options, protocol });
          const r = fragmentIpv4(packet, mtu);
          assert.ok(r.ok, r.ok ? "" : r.error.message);
          checkIpv4Fragments(packet, r.value, mtu);
          reassembleInOrder(packet, r.value, seed, { dropTinyFragments: false, maxFragmentsPerDatagram: 1000 });
        },
      ),
      { seed: 0x68, numRuns: 100 },
    );
  });

  it("after re-fragmentation of some fragments on a smaller-MTU hop", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3000, max: 20_000 }),
        fc.integer({ min: 1400, max: 9000 }),
        fc.integer({ min: 576, max: 1399 }),
        ipv4Options,
        fc.integer(),
        (length, firstMtu, secondMtu, options, seed) => {
          const packet = ipv4Packet({ payload: randomBytes(length, seed), options });
          const first = fragmentIpv4(packet, firstMtu);
          assert.ok(first.ok);
          const rng = new SeededRng(seed);
          const hop = first.value.flatMap((f) => {
            if (!rng.chance(0.5)) return [f];
            const again = fragmentIpv4(f, secondMtu);
            assert.ok(again.ok);
            for (const p of again.value) assert.ok(p.length <= secondMtu);
            return again.value;
          });
          reassembleInOrder(packet, hop, seed, {});
        },
      ),
      { seed: 0x2e, numRuns: 100 },
    );
  });
});

const ipv6TlvOption: fc.Arbitrary<Ipv6Option> = fc.oneof(
  fc.constant({ kind: "pad1" } as const),
  fc.record({ kind: fc.constant("padN" as const), length: fc.integer({ min: 0, max: 12 }) }),
  fc.record({ kind: fc.constant("routerAlert" as const), value: fc.integer({ min: 0, max: 0xffff }) }),
);

const optionsHeader = fc.array(ipv6TlvOption, { maxLength: 4 });
const routing = fc
  .integer({ min: 0, max: 3 })
  .map(
    (n): Ipv6ExtensionRepr => ({ kind: "routing", routingType: 0, segmentsLeft: 0, data: new Uint8Array(4 + 16 * n) }),
  );

/** A chain in RFC 8200 §4.1 order: [Hop-by-Hop] [[Destination Options] Routing] [Destination Options]. */
const ipv6Chain: fc.Arbitrary<Ipv6ExtensionRepr[]> = fc
  .record({
    hopByHop: fc.option(optionsHeader, { nil: undefined }),
    beforeRouting: fc.option(optionsHeader, { nil: undefined }),
    routing: fc.option(routing, { nil: undefined }),
    final: fc.option(optionsHeader, { nil: undefined }),
  })
  .map(({ hopByHop, beforeRouting, routing: r, final }) => {
    const chain: Ipv6ExtensionRepr[] = [];
    if (hopByHop !== undefined) chain.push({ kind: "hopByHop", options: hopByHop });
    if (r !== undefined) {
      if (beforeRouting !== undefined) chain.push({ kind: "destinationOptions", options: beforeRouting });
      chain.push(r);
    }
    if (final !== undefined) chain.push({ kind: "destinationOptions", options: final });
    return chain;
  });

describe("IPv6 fragment → reassemble round trip (property)", () => {
  it("with random extension chains, MTUs from 1280 to 9000 and default defences", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30_000 }),
        fc.integer({ min: 1280, max: 9000 }),
        ipv6Chain,
        fc.constantFrom(6, 17, 58, 59),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer(),
        (length, mtu, extensions, upperProtocol, identification, seed) => {
          const packet = ipv6Packet({ payload: randomBytes(length, seed), extensions, upperProtocol });
          const r = fragmentIpv6(packet, mtu, identification);
          assert.ok(r.ok, r.ok ? "" : r.error.message);
          const fragments = r.value;
          if (packet.length <= mtu) assert.deepEqual(fragments, [packet]);
          else {
            const lastUnfragmentable = extensions.findLastIndex(
              (e, i) => e.kind === "routing" || (e.kind === "hopByHop" && i === 0),
            );
            const chain = walkIpv6Extensions(packet, 40, packet[6] as number);
            assert.ok(chain.ok);
            const boundary = chain.value.headers[lastUnfragmentable];
            const unfragmentable = boundary === undefined ? 40 : boundary.offset + boundary.length;
            const nextHeaderAt = boundary === undefined ? 6 : boundary.offset;
            fragments.forEach((f, i) => {
              assert.ok(f.length <= mtu);
              const parsed = parseIpv6(f);
              assert.ok(parsed.ok, parsed.ok ? "" : parsed.error.reason);
              assert.equal(parsed.value.payloadLength, f.length - 40);
              // The Unfragmentable Part is the original's, but for Payload Length and the Next Header byte.
              for (let at = 0; at < unfragmentable; at++) {
                if (at === 4 || at === 5) continue;
                assert.equal(f[at], at === nextHeaderAt ? 44 : packet[at], `byte ${at} of fragment ${i}`);
              }
              assert.equal(f[unfragmentable], packet[nextHeaderAt], "the Fragment header's Next Header");
              const fh = parsed.value.extensions[lastUnfragmentable + 1];
              assert.ok(fh?.kind === "fragment");
              assert.equal(fh.identification, identification);
              assert.equal(fh.moreFragments, i < fragments.length - 1);
              assert.equal(fh.fragmentOffset % 8, 0);
            });
          }
          reassembleInOrder(packet, fragments, seed, {});
        },
      ),
      { seed: 0x5eed6, numRuns: 150 },
    );
  });
});
