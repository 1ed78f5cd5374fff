import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { describe as describeSegment, type Endpoint, pattern, TestNet } from "./tcp-harness.testing.ts";

const MS = 1_000_000n;

/** One scenario: what each side sends, how each is tuned, and how bad the channel is. */
const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
  aToB: fc.nat(40_000),
  bToA: fc.nat(40_000),
  loss: fc.double({ min: 0, max: 0.2, noNaN: true }),
  duplicate: fc.double({ min: 0, max: 0.1, noNaN: true }),
  delayMs: fc.integer({ min: 1, max: 40 }),
  jitterMs: fc.integer({ min: 0, max: 30 }),
  isnA: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0xffff0000, max: 0xffffffff })),
  isnB: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0xffff0000, max: 0xffffffff })),
  mssA: fc.integer({ min: 64, max: 1460 }),
  mssB: fc.integer({ min: 64, max: 1460 }),
  rcvBufA: fc.integer({ min: 1000, max: 200_000 }),
  rcvBufB: fc.integer({ min: 1000, max: 200_000 }),
  sndBufA: fc.integer({ min: 1000, max: 100_000 }),
  sndBufB: fc.integer({ min: 1000, max: 100_000 }),
  nagle: fc.boolean(),
  delayedAck: fc.boolean(),
  windowScaling: fc.boolean(),
  congestionControl: fc.boolean(),
  consumeDelayMs: fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }),
  shutdownDelayMs: fc.integer({ min: 0, max: 500 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function runScenario(p: Scenario, record = false): { a: Endpoint; b: Endpoint; net: TestNet } {
  const net = new TestNet(p.seed, {
    delayNs: BigInt(p.delayMs) * MS,
    jitterNs: BigInt(p.jitterMs) * MS,
    loss: p.loss,
    duplicate: p.duplicate,
  });
  net.recordTrace = record;
  // Generous retry limits: at 20% loss a segment or its ACK is lost a third of the time.
  const common = {
    nagle: p.nagle,
    delayedAck: p.delayedAck,
    windowScaling: p.windowScaling,
    congestionControl: p.congestionControl,
    maxRetransmissions: 40,
    maxSynRetransmissions: 40,
    rtoMaxNs: 4000n * MS,
  };
  const dataA = pattern(p.aToB, 1);
  const dataB = pattern(p.bToA, 2);
  const start = (e: Endpoint, data: Uint8Array): void => {
    if (p.consumeDelayMs !== undefined) e.consumeMode = BigInt(p.consumeDelayMs) * MS;
    e.onEstablished = () => {
      net.scheduler.after(BigInt(p.shutdownDelayMs) * MS, () => e.sendAll(data, true));
    };
  };
  net.b.listen(
    80,
    { ...common, isn: p.isnB, mss: p.mssB, receiveBufferSize: p.rcvBufB, sendBufferSize: p.sndBufB },
    {},
    (e) => start(e, dataB),
  );
  const a = net.a.connect(
    { ...common, remotePort: 80, isn: p.isnA, mss: p.mssA, receiveBufferSize: p.rcvBufA, sendBufferSize: p.sndBufA },
    (e) => start(e, dataA),
  );
  net.run(3_000_000);
  const b = net.b.listeners.get(80)?.accepted[0];
  assert.ok(b, "the server accepted");
  return { a, b, net };
}

describe("property: a lossy, reordering, duplicating channel", () => {
  it("delivers every byte exactly once and in order both ways, and both sides close properly", () => {
    fc.assert(
      fc.property(scenario, (p) => {
        const { a, b, net } = runScenario(p);
        assert.equal(net.wireErrors, 0);
        assert.equal(net.boundViolations, 0, "memory stayed within the buffers");
        assert.deepEqual(b.received(), pattern(p.aToB, 1));
        assert.deepEqual(a.received(), pattern(p.bToA, 2));
        assert.ok(a.remoteFin && b.remoteFin, "each saw the other's FIN");
        assert.equal(a.closedReason, "closed", `a: ${a.events.slice(-4)}`);
        assert.equal(b.closedReason, "closed", `b: ${b.events.slice(-4)}`);
        assert.equal(a.conn.state, "CLOSED");
        assert.equal(b.conn.state, "CLOSED");
        assert.equal(net.scheduler.pending, 0, "no timer left behind");
      }),
      { seed: 20240917, numRuns: 150 },
    );
  });

  it("is deterministic: the same scenario gives the same segments at the same instants", () => {
    const [p] = fc.sample(scenario, { seed: 5, numRuns: 1 });
    assert.ok(p);
    const lossy = { ...p, loss: 0.1, duplicate: 0.05, jitterMs: 10, aToB: 20_000, bToA: 10_000 };
    const trace = (): string[] => runScenario(lossy, true).net.trace.map((r) => `${r.atNs} ${describeSegment(r)}`);
    const first = trace();
    assert.ok(first.length > 20);
    assert.deepEqual(trace(), first);
  });
});
