import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seqAdd, seqGe } from "./seq.ts";
import { connectedPair, pattern, TestNet, type WireRecord } from "./tcp-harness.testing.ts";

const MS = 1_000_000n;
const S = 1_000_000_000n;

describe("flow control: the receive window (RFC 9293 §3.8.6)", () => {
  it("a receiver that never consumes closes its window: the sender stalls, probes, and resumes on consume", () => {
    const net = new TestNet(70);
    const { client, server } = connectedPair(net, {}, { receiveBufferSize: 16_384 });
    server.consumeMode = "never";
    client.sendAll(pattern(100_000, 2));
    net.runFor(5n * S);
    assert.equal(server.conn.unconsumed, 16_384, "the whole buffer is waiting for the application");
    assert.equal(server.conn.receiveWindow, 0);
    assert.equal(client.conn.sendWindow, 0);
    const probesEarly = client.conn.counters.windowProbes;
    assert.ok(probesEarly >= 1, "the persist timer probes the closed window");
    net.runFor(600n * S);
    const probes = client.conn.counters.windowProbes;
    assert.ok(probes > probesEarly, "probing continues");
    assert.ok(probes < 20, `with exponential backoff (${probes} probes in 10 minutes)`);
    assert.equal(client.conn.state, "ESTABLISHED", "a peer that answers probes is never timed out");
    assert.equal(server.conn.counters.drops["outside-window"], probes, "each probe byte was refused");
    assert.equal(server.received().length, 16_384);
    // The application reads: the window reopens and the transfer completes.
    server.consumeMode = "now";
    server.conn.consume(server.conn.unconsumed);
    net.runFor(30n * S);
    assert.deepEqual(server.received(), pattern(100_000, 2));
  });

  it("probes back off exponentially up to the maximum RTO", () => {
    const net = new TestNet(71);
    const { client, server } = connectedPair(net, { rtoMaxNs: 8n * S }, { receiveBufferSize: 2000 });
    server.consumeMode = "never";
    client.sendAll(pattern(10_000));
    net.runFor(120n * S);
    const probes = net.sent("a", (r) => r.payload.length === 1).map((r) => r.atNs);
    const gaps = probes.slice(1).map((t, i) => Number((t - (probes[i] ?? 0n)) / MS));
    assert.ok(gaps.length >= 5);
    for (let i = 1; i < gaps.length; i++) assert.ok((gaps[i] ?? 0) >= (gaps[i - 1] ?? 0), `gaps ${gaps}`);
    assert.equal(gaps.at(-1), 8000);
  });

  it("a closed window opened by consume() is announced at once with a window update", () => {
    const net = new TestNet(72);
    const { client, server } = connectedPair(net, {}, { receiveBufferSize: 8192 });
    server.consumeMode = "never";
    client.sendAll(pattern(20_000));
    net.runFor(2n * S);
    assert.equal(server.conn.receiveWindow, 0);
    const t0 = net.now();
    server.conn.consume(4096);
    const update = net.sent("b", (r) => r.atNs === t0)[0];
    assert.ok(update, "an ACK goes out in the same instant");
    assert.equal(update.repr.window * 2 ** server.conn.windowShifts.receive, 4096);
  });

  it("the right edge of the advertised window never moves left", () => {
    const net = new TestNet(73, { jitterNs: 3n * MS, loss: 0.05 });
    const { client, server } = connectedPair(net, {}, { receiveBufferSize: 10_000 });
    server.consumeMode = 7n * MS;
    client.sendAll(pattern(200_000, 9), true);
    net.runFor(120n * S);
    assert.deepEqual(server.received(), pattern(200_000, 9));
    const shift = server.conn.windowShifts.receive;
    let right: number | undefined;
    const fromB = net.sent("b", (r: WireRecord) => (r.repr.flags & 0x10) !== 0 && (r.repr.flags & 0x02) === 0);
    for (const r of fromB) {
      const edge = seqAdd(r.repr.ack, r.repr.window * 2 ** shift);
      if (right !== undefined) assert.ok(seqGe(edge, right - (2 ** shift - 1)), "no shrinking beyond rounding");
      right = right === undefined || seqGe(edge, right) ? edge : right;
    }
  });

  it("receiver-side SWS avoidance: reading a byte at a time does not advertise tiny windows", () => {
    const net = new TestNet(74);
    const { client, server } = connectedPair(net, { mss: 536 }, { receiveBufferSize: 4000, mss: 536 });
    server.consumeMode = "never";
    client.sendAll(pattern(8000));
    net.runFor(2n * S);
    assert.equal(server.conn.receiveWindow, 0);
    const before = net.trace.length;
    for (let i = 0; i < 200; i++) server.conn.consume(1);
    assert.equal(net.trace.length, before, "200 one-byte reads: no window update yet");
    for (let i = 0; i < 400; i++) server.conn.consume(1);
    assert.equal(net.trace.length, before + 1, "one update, when the window could take a full segment");
    assert.equal(net.trace.at(-1)?.repr.window, 536);
  });

  it("a window that reopens by less than an MSS is still advertised as closed (RFC 9293 §3.8.6.2.2)", () => {
    const net = new TestNet(77);
    const { client, server } = connectedPair(net, {}, { receiveBufferSize: 8000 });
    server.consumeMode = "never";
    client.sendAll(pattern(20_000));
    net.runFor(2n * S);
    assert.equal(server.conn.receiveWindow, 0);
    server.conn.consume(100);
    const t0 = net.now();
    net.runFor(10n * S); // the sender's probes are answered meanwhile
    const answers = net.sent("b", (r) => r.atNs > t0);
    assert.ok(answers.length > 0);
    assert.ok(
      answers.every((r) => r.repr.window === 0),
      "100 free bytes are not offered",
    );
  });

  it("sender-side SWS avoidance: a small usable window with data in flight waits for the ACK", () => {
    const net = new TestNet(75);
    const { client, server } = connectedPair(net, { mss: 1000 }, { receiveBufferSize: 2500, mss: 1000 });
    client.sendAll(pattern(20_000));
    net.runFor(5n * S);
    assert.deepEqual(server.received(), pattern(20_000));
    // With a 2500-byte window, segments of 1000, 1000, then either 500 (window-limited, nothing in flight) ...
    const sizes = net.sent("a", (r) => r.payload.length > 0).map((r) => r.payload.length);
    assert.ok(
      sizes.every((n) => n === 1000 || n === 500),
      `sizes ${[...new Set(sizes)]}`,
    );
  });

  it("probes nobody answers give up after maxRetransmissions: timed-out", () => {
    const net = new TestNet(76);
    const { client, server } = connectedPair(net, { maxRetransmissions: 3 }, { receiveBufferSize: 4000 });
    server.consumeMode = "never";
    client.sendAll(pattern(10_000));
    net.runFor(2n * S);
    assert.equal(client.conn.sendWindow, 0);
    net.dropIf = () => true; // the peer vanished
    net.runFor(600n * S);
    assert.equal(client.closedReason, "timed-out");
    assert.equal(server.conn.state, "ESTABLISHED");
  });
});
