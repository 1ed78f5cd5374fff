/**
 * Fragment floods (seeded): 100,000 hostile fragments — random keys, offsets, lengths and flags, with
 * colliding identifications that produce overlaps, inconsistent lengths, tiny and oversized fragments,
 * plus garbage — interleaved with legitimate datagrams. The reassembler's own accounting must stay
 * within its limits after every packet, and the legitimate datagrams must come out intact while the
 * budget allows.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv4Address, Ipv6Address } from "../../base/ip.ts";
import { SeededRng } from "../../base/rng.ts";
import { fragmentIpv4, fragmentIpv6 } from "./fragment.ts";
import {
  ipv4Fragment,
  ipv4Packet,
  ipv6Fragment,
  ipv6Packet,
  shuffled,
  udpDatagram,
} from "./fragment-fixtures.testing.ts";
import { Reassembler } from "./reassembly.ts";

const FLOOD = 100_000;
const MAX_DATAGRAMS = 256;
const MAX_BYTES = 256 * 1024;
const MS = 1_000_000n;

const FLOOD_SRC4 = [0x0a000001, 0x0a000002, 0xc0a80001, 0xac100005].map((v) => new Ipv4Address(v));
const FLOOD_SRC6 = ["2001:db8:f::1", "2001:db8:f::2"].map((t) => Ipv6Address.parse(t));
const LEGIT_SRC4 = Ipv4Address.parse("10.99.0.1");
const LEGIT_DST4 = Ipv4Address.parse("10.99.0.2");
const LEGIT_SRC6 = Ipv6Address.parse("2001:db8:99::1");
const LEGIT_DST6 = Ipv6Address.parse("2001:db8:99::2");

/** One hostile packet: mostly fragments of colliding datagrams, sometimes garbage. */
function floodPacket(rng: SeededRng, pool: Uint8Array): Uint8Array {
  const roll = rng.nextFloat();
  if (roll < 0.02) return pool.slice(rng.nextInt(1000), rng.nextInt(1000) + rng.nextInt(80));
  const narrow = rng.chance(0.5); // few identifications and small offsets: many collisions
  const offset = 8 * (narrow ? rng.nextInt(64) : rng.nextInt(8192));
  const length = rng.chance(0.8) ? 8 * rng.nextInt(186) : rng.nextInt(1481);
  const more = rng.chance(0.8);
  const start = rng.nextInt(pool.length - 1500);
  const data = pool.subarray(start, start + length);
  if (roll < 0.7) {
    const identification = narrow ? rng.nextInt(32) : rng.nextInt(0x10000);
    const protocol = rng.pick([6, 17, 1]);
    return ipv4Fragment(data, offset, more, { identification, protocol, src: rng.pick(FLOOD_SRC4) });
  }
  const identification = narrow ? rng.nextInt(32) : rng.nextU32();
  const packet = ipv6Fragment(data, offset, more, identification, rng.pick([6, 17, 58]));
  rng.pick(FLOOD_SRC6).writeTo(packet, 8);
  return packet;
}

interface Legit {
  readonly packet: Uint8Array;
  readonly fragments: Uint8Array[];
}

function legitDatagram(rng: SeededRng, n: number): Legit {
  const data = rng.bytes(3000 + rng.nextInt(6000));
  if (n % 2 === 0) {
    const udp = udpDatagram(data, { version: 4, src: LEGIT_SRC4, dst: LEGIT_DST4 });
    const packet = ipv4Packet({ payload: udp, identification: n, src: LEGIT_SRC4, dst: LEGIT_DST4 });
    const r = fragmentIpv4(packet, 1500);
    assert.ok(r.ok);
    return { packet, fragments: shuffled(r.value, rng) };
  }
  const udp = udpDatagram(data, { version: 6, src: LEGIT_SRC6, dst: LEGIT_DST6 });
  const packet = ipv6Packet({ payload: udp, src: LEGIT_SRC6, dst: LEGIT_DST6 });
  const r = fragmentIpv6(packet, 1280, n);
  assert.ok(r.ok);
  return { packet, fragments: shuffled(r.value, rng) };
}

describe("Reassembler under a fragment flood", () => {
  it("stays within its datagram and byte limits, and legitimate datagrams still reassemble", () => {
    const rng = new SeededRng(0xf100d);
    const pool = rng.bytes(70_000);
    const r = new Reassembler({ maxDatagrams: MAX_DATAGRAMS, maxBytes: MAX_BYTES });
    let now = 0n;
    let peakBytes = 0;
    let peakDatagrams = 0;
    const check = (): void => {
      assert.ok(r.datagramsHeld <= MAX_DATAGRAMS, `${r.datagramsHeld} datagrams held`);
      assert.ok(r.bytesHeld <= MAX_BYTES && r.bytesHeld >= 0, `${r.bytesHeld} bytes held`);
      peakBytes = Math.max(peakBytes, r.bytesHeld);
      peakDatagrams = Math.max(peakDatagrams, r.datagramsHeld);
    };
    let legitSent = 0;
    let legitDone = 0;
    let sent = 0;
    while (sent < FLOOD) {
      // Every ~2000 hostile packets, a legitimate datagram whose fragments are spread over at most
      // 20 hostile packets each: fewer new datagrams than the table holds arrive in between.
      const legit = sent % 2000 === 0 ? legitDatagram(rng, legitSent++) : undefined;
      for (const fragment of legit?.fragments ?? [undefined]) {
        if (fragment !== undefined) {
          const result = r.input(fragment, now);
          if (result.kind === "complete") {
            assert.deepEqual(result.packet, legit?.packet, "a legitimate datagram comes out intact");
            legitDone++;
          } else assert.equal(result.kind, "pending", result.kind === "dropped" ? result.message : "");
          check();
        }
        const burst = legit === undefined ? 1 : rng.nextInt(21);
        for (let i = 0; i < burst && sent < FLOOD; i++) {
          r.input(floodPacket(rng, pool), now);
          sent++;
          now += MS;
          check();
          if (sent % 1000 === 0) {
            r.expire(now);
            check();
          }
        }
      }
    }
    assert.equal(legitDone, legitSent, "every legitimate datagram reassembled");
    assert.ok(legitSent >= 50);
    const c = r.counters;
    // The flood did press on every defence, so the bounds above were exercised, not idle.
    assert.ok(peakBytes > MAX_BYTES / 2, `peak ${peakBytes} bytes`);
    assert.equal(peakDatagrams, MAX_DATAGRAMS);
    for (const reason of [
      "overBudget",
      "overlap",
      "badLength",
      "tiny",
      "tooLong",
      "malformed",
      "discardedDatagram",
    ] as const) {
      assert.ok(c.dropped[reason] > 0, `no ${reason} drops`);
    }
    assert.ok(c.fragmentsReceived > FLOOD * 0.95);
    r.expire(now + 61_000n * MS);
    assert.equal(r.datagramsHeld, 0);
    assert.equal(r.bytesHeld, 0, "the byte accounting balances once everything has gone");
  });

  it("drops the legitimate datagram instead when the flood outruns the table between its fragments", () => {
    const rng = new SeededRng(7);
    const pool = rng.bytes(70_000);
    const r = new Reassembler({ maxDatagrams: 64, maxBytes: MAX_BYTES });
    const legit = legitDatagram(rng, 0);
    const [first, ...rest] = legit.fragments as [Uint8Array, ...Uint8Array[]];
    assert.equal(r.input(first, 0n).kind, "pending");
    // 2000 fresh datagrams (wide identifications) push it out of the 64-entry table.
    for (let i = 0; i < 2000; i++) {
      const data = pool.subarray(i, i + 64);
      r.input(ipv4Fragment(data, 64, true, { identification: i, src: FLOOD_SRC4[0] as Ipv4Address }), 0n);
    }
    const after = rest.map((f) => r.input(f, 0n));
    assert.ok(
      after.every((x) => x.kind === "pending"),
      "its first fragment is gone: it cannot complete",
    );
    assert.ok(r.counters.dropped.overBudget >= 2000 - 64);
    assert.ok(r.datagramsHeld <= 64);
  });
});
