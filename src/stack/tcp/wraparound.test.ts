import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connectedPair, pattern, TestNet } from "./tcp-harness.testing.ts";

const MS = 1_000_000n;

describe("sequence numbers wrap at 2^32", () => {
  it("a transfer with ISNs just below 2^32 crosses zero in both directions, with loss and reordering", () => {
    const net = new TestNet(90, { loss: 0.05, jitterNs: 4n * MS });
    const isnA = 0xffffffff - 3000;
    const isnB = 0xffffffff - 70_000;
    const { client, server } = connectedPair(
      net,
      { isn: isnA, maxRetransmissions: 20, maxSynRetransmissions: 20 },
      { isn: isnB, maxRetransmissions: 20, maxSynRetransmissions: 20 },
    );
    client.sendAll(pattern(150_000, 1), true);
    server.sendAll(pattern(120_000, 2), true);
    net.run();
    assert.deepEqual(server.received(), pattern(150_000, 1));
    assert.deepEqual(client.received(), pattern(120_000, 2));
    assert.equal(client.closedReason, "closed");
    assert.equal(server.closedReason, "closed");
    for (const side of ["a", "b"] as const) {
      const seqs = net.sent(side, (r) => r.payload.length > 0).map((r) => r.repr.seq);
      assert.ok(
        seqs.some((s) => s > 0xf0000000),
        `${side} sent below the wrap`,
      );
      assert.ok(
        seqs.some((s) => s < 0x10000000),
        `${side} sent above the wrap`,
      );
    }
    assert.ok(client.conn.counters.retransmissions > 0, "loss was exercised");
    assert.equal(net.wireErrors, 0);
  });

  it("the ISN 2^32 − 1 itself: the SYN takes the last number, data starts at 0", () => {
    const net = new TestNet(91);
    const { client, server } = connectedPair(net, { isn: 0xffffffff });
    client.sendAll(pattern(10), true);
    net.run();
    assert.equal(net.sent("a", (r) => r.payload.length > 0)[0]?.repr.seq, 0);
    assert.deepEqual(server.received(), pattern(10));
  });
});
