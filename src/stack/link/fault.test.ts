import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SeededRng } from "../../base/index.ts";
import { ms, Scheduler } from "../sim/scheduler.ts";
import { FaultInjector, type FaultSpec } from "./fault.ts";
import { collect, ethernetFrame, type Received, udpPacket } from "./link-fixtures.testing.ts";
import { PointToPointLink } from "./point-to-point.ts";

/** Frame `i`: a real UDP frame whose payload carries i. */
function frame(i: number): Uint8Array {
  return ethernetFrame(
    "02:00:00:00:00:01",
    "02:00:00:00:00:02",
    udpPacket("10.0.0.1", "10.0.0.2", Uint8Array.of(i >>> 8, i & 0xff, 0xaa, 0x55)),
  );
}
const id = (f: Uint8Array) => ((f[42] as number) << 8) | (f[43] as number);

/** Sends `count` frames 100 µs apart from a through an injector on a's side; returns what b received. */
function run(seed: number, outbound: FaultSpec, count = 500): { got: Received[]; injector: FaultInjector } {
  const s = new Scheduler();
  const link = new PointToPointLink(s, { delayNs: ms(1) });
  const injector = new FaultInjector(s, link.a, { rng: new SeededRng(seed), outbound });
  const got = collect(s, link.b);
  for (let i = 0; i < count; i++) s.at(BigInt(i) * 100_000n, () => injector.transmit(frame(i)));
  s.run();
  return { got, injector };
}

const summary = (got: Received[]) => got.map((r) => `${r.atNs}:${Buffer.from(r.frame).toString("hex")}`);

describe("FaultInjector", () => {
  it("passes everything through untouched and synchronously when no fault is configured", () => {
    const { got, injector } = run(1, {});
    assert.equal(got.length, 500);
    got.forEach((r, i) => {
      assert.deepEqual(r.frame, frame(i));
      assert.equal(r.atNs, BigInt(i) * 100_000n + ms(1));
    });
    assert.deepEqual(injector.outbound, {
      frames: 500,
      lost: 0,
      corrupted: 0,
      duplicated: 0,
      reordered: 0,
      passed: 500,
    });
  });

  it("replays exactly from its seed, and a different seed gives a different run", () => {
    const faults: FaultSpec = { loss: 0.1, duplicate: 0.1, reorder: 0.1, corrupt: 0.1 };
    const first = run(7, faults);
    const again = run(7, faults);
    const other = run(8, faults);
    assert.deepEqual(summary(again.got), summary(first.got));
    assert.deepEqual(again.injector.outbound, first.injector.outbound);
    assert.notDeepEqual(summary(other.got), summary(first.got));
    const c = first.injector.outbound;
    for (const kind of ["lost", "duplicated", "reordered", "corrupted"] as const) {
      assert.ok(c[kind] > 20 && c[kind] < 90, `${kind}: ${c[kind]} of 500 at p = 0.1`);
    }
    assert.equal(c.passed, first.got.length);
    assert.equal(c.passed, c.frames - c.lost + c.duplicated);
  });

  it("loses frames at about the configured rate", () => {
    const { got, injector } = run(3, { loss: 0.3 }, 4000);
    assert.equal(got.length, 4000 - injector.outbound.lost);
    assert.ok(Math.abs(injector.outbound.lost - 1200) < 150, `lost ${injector.outbound.lost}`);
    for (let i = 1; i < got.length; i++) assert.ok(id(got[i]!.frame) > id(got[i - 1]!.frame));
  });

  it("picks the same frames to lose whether or not other faults are switched on", () => {
    const lostIds = (r: ReturnType<typeof run>) => {
      const seen = new Set(r.got.map((g) => id(g.frame)));
      return Array.from({ length: 500 }, (_, i) => i).filter((i) => !seen.has(i));
    };
    // (Duplication and reordering never alter bytes, so the ids stay readable.)
    assert.deepEqual(lostIds(run(5, { loss: 0.2, duplicate: 0.5, reorder: 0.5 })), lostIds(run(5, { loss: 0.2 })));
  });

  it("duplicates: the copy follows right behind, as a separate buffer", () => {
    const { got, injector } = run(1, { duplicate: 1 }, 10);
    assert.equal(got.length, 20);
    assert.deepEqual(
      got.map((r) => id(r.frame)),
      [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9],
    );
    assert.notEqual(got[0]!.frame, got[1]!.frame);
    assert.equal(injector.outbound.duplicated, 10);
  });

  it("reorders by holding frames back by a random extra delay in the configured range", () => {
    const range = { min: ms(1), max: ms(3) };
    const { got, injector } = run(11, { reorder: 0.3, reorderDelayNs: range });
    assert.equal(got.length, 500);
    const ids = got.map((r) => id(r.frame));
    assert.deepEqual(
      [...ids].sort((a, b) => a - b),
      Array.from({ length: 500 }, (_, i) => i),
    );
    assert.notDeepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    let held = 0;
    for (const r of got) {
      const extra = r.atNs - (BigInt(id(r.frame)) * 100_000n + ms(1));
      if (extra === 0n) continue;
      held++;
      assert.ok(extra >= range.min && extra <= range.max, `extra delay ${extra}`);
    }
    assert.equal(held, injector.outbound.reordered);
  });

  it("corrupts one byte per chosen frame; with corruptPayloadOnly the Ethernet header is never touched", () => {
    for (const payloadOnly of [false, true]) {
      const { got, injector } = run(21, { corrupt: 1, corruptPayloadOnly: payloadOnly }, 2000);
      let headerHits = 0;
      got.forEach((r, i) => {
        const sent = frame(i);
        const diffs = [...r.frame.keys()].filter((k) => r.frame[k] !== sent[k]);
        assert.equal(diffs.length, 1, `frame ${i}`);
        if (diffs[0]! < 14) headerHits++;
      });
      assert.equal(injector.outbound.corrupted, 2000);
      if (payloadOnly) assert.equal(headerHits, 0);
      else assert.ok(headerHits > 0, "14 of 74 bytes are header: some corruption lands there");
    }
  });

  it("never modifies the sender's buffer", () => {
    const s = new Scheduler();
    const link = new PointToPointLink(s);
    const injector = new FaultInjector(s, link.a, { rng: new SeededRng(2), outbound: { corrupt: 1, reorder: 1 } });
    collect(s, link.b);
    const f = frame(1);
    injector.transmit(f);
    s.run();
    assert.deepEqual(f, frame(1));
  });

  it("applies inbound faults to what the link delivers, separately from outbound", () => {
    const s = new Scheduler();
    const link = new PointToPointLink(s);
    const injector = new FaultInjector(s, link.a, { rng: new SeededRng(4), inbound: { loss: 1 } });
    const atA = collect(s, injector);
    const atB = collect(s, link.b);
    injector.transmit(frame(1));
    link.b.transmit(frame(2));
    s.run();
    assert.equal(atB.length, 1);
    assert.equal(atA.length, 0);
    assert.equal(injector.inbound.lost, 1);
    assert.equal(injector.outbound.passed, 1);
    injector.configure("inbound", {});
    link.b.transmit(frame(3));
    s.run();
    assert.equal(atA.length, 1);
    assert.equal(injector.inbound.frames, 2);
  });

  it("refuses probabilities outside [0, 1] and bad delay ranges", () => {
    const s = new Scheduler();
    const link = new PointToPointLink(s);
    const rng = new SeededRng(1);
    assert.throws(() => new FaultInjector(s, link.a, { rng, outbound: { loss: 1.5 } }), RangeError);
    assert.throws(() => new FaultInjector(s, link.a, { rng, inbound: { corrupt: Number.NaN } }), RangeError);
    assert.throws(
      () => new FaultInjector(s, link.a, { rng, outbound: { reorderDelayNs: { min: 5n, max: 1n } } }),
      RangeError,
    );
  });
});
