import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpRepr } from "../../wire/index.ts";
import { TCP_DROP_REASONS } from "./counters.ts";
import { seqAdd } from "./seq.ts";
import { connectedPair, type Endpoint, pattern, TestNet } from "./tcp-harness.testing.ts";

const MS = 1_000_000n;
const S = 1_000_000_000n;

function segment(over: Partial<TcpRepr>): TcpRepr {
  return {
    srcPort: 49152,
    dstPort: 80,
    seq: 0,
    ack: 0,
    flags: TCP_ACK,
    window: 1000,
    urgentPointer: 0,
    options: [],
    checksum: 0,
    payloadLength: 0,
    ...over,
  };
}

/** Any header at all, with numbers anywhere or near the live connection's. */
const anySegment = fc.record({
  atMs: fc.nat(3000),
  seqNear: fc.boolean(),
  seqOffset: fc.integer({ min: -70_000, max: 70_000 }),
  seqRaw: fc.integer({ min: 0, max: 0xffffffff }),
  ackNear: fc.boolean(),
  ackOffset: fc.integer({ min: -70_000, max: 70_000 }),
  ackRaw: fc.integer({ min: 0, max: 0xffffffff }),
  flags: fc.integer({ min: 0, max: 0x1ff }),
  window: fc.integer({ min: 0, max: 0xffff }),
  length: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })),
  options: fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant("mss" as const), value: fc.integer({ min: 0, max: 0xffff }) }),
      fc.record({ kind: fc.constant("windowScale" as const), shift: fc.integer({ min: 0, max: 255 }) }),
      fc.constant({ kind: "sackPermitted" as const }),
    ),
    { maxLength: 3 },
  ),
});

/** Segments a correct TCP must refuse without effect on the stream. */
const badSegment = fc.record({
  atMs: fc.nat(3000),
  kind: fc.constantFrom("old-data", "beyond-window", "rst-outside", "syn", "ack-unsent", "ack-ancient", "no-ack"),
  k: fc.integer({ min: 1, max: 1_000_000 }),
  length: fc.integer({ min: 1, max: 2000 }),
  rst: fc.boolean(),
});

function inject(net: TestNet, server: Endpoint, make: () => [TcpRepr, Uint8Array] | undefined, atMs: number): void {
  net.scheduler.after(BigInt(atMs) * MS, () => {
    if (server.conn.state === "CLOSED") return;
    const made = make();
    if (made !== undefined) net.b.deliver(made[0], made[1]);
  });
}

describe("hostile input", () => {
  it("arbitrary segments never throw and never grow memory beyond the buffers", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.array(anySegment, { maxLength: 60 }), (seed, segs) => {
        const net = new TestNet(seed);
        net.recordTrace = false;
        const { client, server } = connectedPair(net, {}, { receiveBufferSize: 20_000, maxReassemblyRanges: 8 });
        server.consumeMode = 50n * MS;
        client.sendAll(pattern(60_000));
        server.sendAll(pattern(20_000, 1));
        for (const g of segs) {
          inject(
            net,
            server,
            () => {
              const seq = g.seqNear ? seqAdd(server.conn.rcvNxt, g.seqOffset) : g.seqRaw;
              const ack = g.ackNear ? seqAdd(server.conn.sndUna, g.ackOffset) : g.ackRaw;
              const payload = pattern(g.length, g.seqOffset & 0xff);
              return [segment({ seq, ack, flags: g.flags, window: g.window, options: g.options }), payload];
            },
            g.atMs,
          );
        }
        net.runFor(20n * S);
        assert.equal(net.boundViolations, 0);
        const c = server.conn.counters;
        let drops = 0;
        for (const r of TCP_DROP_REASONS) drops += c.drops[r];
        assert.ok(c.segmentsIn >= segs.length || server.conn.state === "CLOSED");
        assert.ok(drops <= c.segmentsIn * 2, "at most a couple of reasons per segment");
        assert.ok(server.conn.reassembly.bytes <= 20_000);
      }),
      { seed: 99, numRuns: 120 },
    );
  });

  it("segments a correct TCP must refuse leave the stream intact: every byte still arrives in order", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.array(badSegment, { minLength: 1, maxLength: 40 }),
        (seed, segs) => {
          const net = new TestNet(seed, { jitterNs: 2n * MS });
          net.recordTrace = false;
          const { client, server } = connectedPair(net);
          client.sendAll(pattern(120_000, 3), true);
          server.sendAll(pattern(30_000, 4), true);
          for (const g of segs) {
            inject(
              net,
              server,
              () => {
                const c = server.conn;
                const payload = pattern(g.length, 0xee);
                const flags = g.rst ? TCP_ACK | TCP_RST : TCP_ACK | TCP_PSH;
                switch (g.kind) {
                  case "old-data":
                    // Wholly before RCV.NXT (a stale duplicate with different bytes).
                    return [segment({ seq: seqAdd(c.rcvNxt, -(g.length + (g.k % 50_000))), ack: c.sndUna }), payload];
                  case "beyond-window":
                    return [
                      segment({ seq: seqAdd(c.rcvNxt, c.receiveWindow + 1 + (g.k % 100_000)), ack: c.sndUna, flags }),
                      payload,
                    ];
                  case "rst-outside":
                    return [
                      segment({ seq: seqAdd(c.rcvNxt, c.receiveWindow + (g.k % 1_000_000)), flags: TCP_RST }),
                      payload.subarray(0, 0),
                    ];
                  case "syn":
                    // In TIME-WAIT a SYN beyond RCV.NXT is a legitimate new incarnation (tested elsewhere).
                    if (c.state === "TIME-WAIT") return undefined;
                    return [segment({ seq: seqAdd(c.rcvNxt, g.k), flags: TCP_SYN | (g.rst ? TCP_FIN : 0) }), payload];
                  case "ack-unsent":
                    return [
                      segment({ seq: c.rcvNxt, ack: seqAdd(c.sndNxt, 100_000 + g.k), flags: TCP_ACK | TCP_FIN }),
                      payload,
                    ];
                  case "ack-ancient":
                    return [segment({ seq: c.rcvNxt, ack: seqAdd(c.sndUna, -0x40000000 - g.k) }), payload];
                  case "no-ack":
                    return [segment({ seq: c.rcvNxt, flags: g.rst ? TCP_FIN : TCP_PSH }), payload];
                  default:
                    return undefined;
                }
              },
              g.atMs,
            );
          }
          net.run();
          assert.equal(net.boundViolations, 0);
          assert.deepEqual(server.received(), pattern(120_000, 3));
          assert.deepEqual(client.received(), pattern(30_000, 4));
          assert.equal(server.closedReason, "closed");
          assert.equal(client.closedReason, "closed");
        },
      ),
      { seed: 1234, numRuns: 100 },
    );
  });

  it("a reassembly queue at its range limit refuses new holes and counts them", () => {
    const net = new TestNet(100);
    const { server } = connectedPair(net, {}, { maxReassemblyRanges: 4 });
    const base = server.conn.rcvNxt;
    for (let i = 1; i <= 10; i++) {
      net.b.deliver(segment({ seq: seqAdd(base, i * 100), ack: server.conn.sndUna }), pattern(10));
    }
    assert.equal(server.conn.reassembly.ranges, 4);
    assert.equal(server.conn.reassembly.bytes, 40);
    assert.equal(server.conn.counters.drops["reassembly-full"], 6);
    assert.equal(server.conn.counters.outOfOrderSegments, 4);
  });

  it("a SYN carrying data: the SYN is taken, its data is not (counted)", () => {
    const net = new TestNet(101);
    const l = net.b.listen(80);
    net.b.deliver(segment({ srcPort: 7000, seq: 500, flags: TCP_SYN, payloadLength: 100 }), pattern(100));
    const e = l.accepted[0];
    assert.ok(e);
    assert.equal(e.conn.state, "SYN-RECEIVED");
    assert.equal(e.conn.rcvNxt, 501);
    assert.equal(e.conn.counters.drops["syn-data"], 1);
  });

  it("a peer MSS of 1 is raised to 64 and a window-scale shift above 14 is capped at 14 (RFC 7323 §2.3)", () => {
    const net = new TestNet(102);
    const l = net.b.listen(80, { receiveBufferSize: 1 << 20 });
    net.b.deliver(
      segment({
        srcPort: 7001,
        seq: 1,
        flags: TCP_SYN,
        options: [
          { kind: "mss", value: 1 },
          { kind: "windowScale", shift: 200 },
        ],
      }),
      new Uint8Array(0),
    );
    const e = l.accepted[0];
    assert.ok(e);
    assert.equal(e.conn.effectiveMss, 64);
    assert.deepEqual(e.conn.windowShifts, { receive: 5, send: 14 });
  });
});

describe("reentrant hosts", () => {
  it("a host that aborts inside onEstablished (FLOW_ESTABLISHED blocked): no final ACK, a RST instead", () => {
    const net = new TestNet(110);
    const l = net.b.listen(80);
    const client = net.a.connect({ remotePort: 80 }, (e) => {
      e.onEstablished = () => e.conn.abort();
    });
    net.runFor(S);
    assert.ok(!net.trace.some((r) => r.completesHandshake));
    assert.equal(net.sent("a").at(-1)?.repr.flags, TCP_RST | TCP_ACK);
    assert.equal(client.closedReason, "aborted");
    assert.equal(l.accepted[0]?.closedReason, "reset");
    assert.equal(l.listener.counters.halfOpenFailed, 1);
  });

  it("a host that aborts inside onData stops processing at once", () => {
    const net = new TestNet(111);
    const { client, server } = connectedPair(net);
    server.onData = () => server.conn.abort();
    client.sendAll(pattern(10_000));
    net.runFor(S);
    assert.equal(server.events.filter((e) => e.startsWith("data")).length, 1);
    assert.equal(server.closedReason, "aborted");
    assert.equal(client.closedReason, "reset");
  });

  it("send() inside onEstablished goes out right after the final ACK", () => {
    const net = new TestNet(112);
    net.b.listen(80);
    net.a.connect({ remotePort: 80 }, (e) => {
      e.onEstablished = () => e.conn.send(pattern(10));
    });
    net.runFor(S);
    const fromA = net.sent("a");
    assert.equal(fromA[1]?.completesHandshake, true);
    assert.equal(fromA[2]?.payload.length, 10);
  });
});
