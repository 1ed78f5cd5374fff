import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SeededRng } from "../../base/index.ts";
import { ms, Scheduler } from "../sim/scheduler.ts";
import { collect } from "./link-fixtures.testing.ts";
import { PointToPointLink } from "./point-to-point.ts";

function frame(n: number, length = 64): Uint8Array {
  const f = new Uint8Array(length);
  f[0] = n & 0xff;
  f[1] = n >>> 8;
  return f;
}

const id = (f: Uint8Array) => (f[0] as number) | ((f[1] as number) << 8);

describe("PointToPointLink", () => {
  it("delivers each direction after its own propagation delay, never inside transmit", () => {
    const s = new Scheduler();
    const link = new PointToPointLink(s, { delayNs: ms(2), bToA: { delayNs: ms(5) } });
    const atB = collect(s, link.b);
    const atA = collect(s, link.a);
    link.a.transmit(frame(1));
    link.b.transmit(frame(2));
    assert.equal(atB.length + atA.length, 0);
    s.run();
    assert.deepEqual(
      atB.map((r) => [id(r.frame), r.atNs]),
      [[1, ms(2)]],
    );
    assert.deepEqual(
      atA.map((r) => [id(r.frame), r.atNs]),
      [[2, ms(5)]],
    );
    assert.equal(link.a.name, "p2p.a");
    assert.equal(link.b.name, "p2p.b");
  });

  it("hands the receiver its own copy: the sender may reuse its buffer at once", () => {
    const s = new Scheduler();
    const link = new PointToPointLink(s);
    const atB = collect(s, link.b);
    const buffer = frame(7);
    link.a.transmit(buffer);
    buffer.fill(0xee);
    s.run();
    assert.equal(atB.length, 1);
    assert.notEqual(atB[0]!.frame, buffer);
    assert.equal(id(atB[0]!.frame), 7);
  });

  it("serializes frames at the bandwidth: 1000 bytes at 8 Mbit/s take 1 ms each", () => {
    const s = new Scheduler();
    const link = new PointToPointLink(s, { delayNs: ms(10), bandwidthBps: 8_000_000 });
    const atB = collect(s, link.b);
    for (let i = 0; i < 3; i++) link.a.transmit(frame(i, 1000));
    s.run();
    assert.deepEqual(
      atB.map((r) => r.atNs),
      [ms(11), ms(12), ms(13)],
    );
    assert.equal(link.aToB.maxQueueDepth, 2);
  });

  it("counts the per-frame overhead in the serialization time", () => {
    const s = new Scheduler();
    const link = new PointToPointLink(s, { bandwidthBps: 1_000_000_000, overheadBytes: 24 });
    const atB = collect(s, link.b);
    link.a.transmit(frame(0, 1514));
    s.run();
    // (1514 + 24) × 8 bits at 1 Gbit/s.
    assert.equal(atB[0]!.atNs, 12_304n);
  });

  it("drops and counts frames that find the transmit queue full (tail drop)", () => {
    const s = new Scheduler();
    const link = new PointToPointLink(s, { bandwidthBps: 8_000_000, queueFrames: 2 });
    const atB = collect(s, link.b);
    for (let i = 0; i < 5; i++) link.a.transmit(frame(i, 1000));
    s.run();
    // Frame 0 is being serialized, 1 and 2 wait, 3 and 4 are dropped.
    assert.deepEqual(
      atB.map((r) => id(r.frame)),
      [0, 1, 2],
    );
    assert.equal(link.aToB.queueDrops, 2);
    assert.equal(link.aToB.framesDropped, 2);
    assert.equal(link.aToB.framesSent, 3);
    assert.equal(link.aToB.bytesSent, 3000);
    assert.equal(link.aToB.framesDelivered, 3);
    // Once the queue drains the link accepts frames again.
    link.a.transmit(frame(9, 1000));
    s.run();
    assert.equal(id(atB[3]!.frame), 9);
    assert.equal(link.counters.framesDropped, 2);
    assert.equal(link.counters.framesDelivered, 4);
  });

  it("keeps transmit order for frames of any size sent at any time", () => {
    const s = new Scheduler();
    const rng = new SeededRng(42);
    const link = new PointToPointLink(s, { delayNs: 1234n, bandwidthBps: 100_000_000, queueFrames: 10_000 });
    const atB = collect(s, link.b);
    let at = 0n;
    for (let i = 0; i < 2000; i++) {
      at += BigInt(rng.nextInt(200_000));
      const f = frame(i, 60 + rng.nextInt(1455));
      s.at(at, () => link.a.transmit(f));
    }
    s.run();
    assert.equal(atB.length, 2000);
    assert.deepEqual(
      atB.map((r) => id(r.frame)),
      Array.from({ length: 2000 }, (_, i) => i),
    );
    for (let i = 1; i < atB.length; i++) assert.ok(atB[i]!.atNs >= atB[i - 1]!.atNs);
  });

  it("drops and counts frames that reach a port nobody attached to", () => {
    const s = new Scheduler();
    const link = new PointToPointLink(s);
    link.a.transmit(frame(1));
    s.run();
    assert.equal(link.aToB.noReceiver, 1);
    assert.equal(link.aToB.framesDropped, 1);
    assert.equal(link.aToB.framesDelivered, 0);
  });

  it("refuses impossible settings", () => {
    const s = new Scheduler();
    assert.throws(() => new PointToPointLink(s, { delayNs: -1n }), RangeError);
    assert.throws(() => new PointToPointLink(s, { bandwidthBps: 0 }), RangeError);
    assert.throws(() => new PointToPointLink(s, { bandwidthBps: 1000, queueFrames: -1 }), RangeError);
  });
});
