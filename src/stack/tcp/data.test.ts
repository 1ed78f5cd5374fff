import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TCP_FIN, TCP_SYN } from "../../wire/index.ts";
import { connectedPair, pattern, TestNet, type WireRecord } from "./tcp-harness.testing.ts";

const MS = 1_000_000n;
const S = 1_000_000_000n;
const isData = (r: WireRecord): boolean => r.payload.length > 0;

describe("data transfer", () => {
  it("moves data both ways at once, segmented at the MSS, every byte once and in order", () => {
    const net = new TestNet(20);
    const { client, server } = connectedPair(net);
    client.sendAll(pattern(200_000, 1));
    server.sendAll(pattern(150_000, 2));
    net.runFor(20n * S);
    assert.deepEqual(server.received(), pattern(200_000, 1));
    assert.deepEqual(client.received(), pattern(150_000, 2));
    assert.equal(client.conn.counters.bytesIn, 150_000);
    assert.equal(client.conn.counters.bytesOut, 200_000);
    assert.equal(client.conn.counters.retransmissions, 0);
    assert.ok(net.trace.every((r) => r.payload.length <= 1460));
    // Full-sized segments, except where the sender's buffer ran dry before the application refilled it.
    const short = net.sent("a", (r) => isData(r) && r.payload.length < 1460);
    assert.ok(short.length <= 4, `${short.length} short segments`);
  });

  it("send() takes at most the free buffer space, and onWritable follows the acknowledgment", () => {
    const net = new TestNet(21);
    const { client, server } = connectedPair(net, { sendBufferSize: 4000 });
    assert.equal(client.conn.send(pattern(10_000)), 4000);
    assert.equal(client.conn.send(pattern(1)), 0);
    assert.equal(client.conn.sendBufferFree, 0);
    net.runFor(S);
    assert.ok(client.events.includes("writable"));
    assert.equal(client.conn.sendBufferFree, 4000);
    assert.equal(server.received().length, 4000);
  });

  it("Nagle (RFC 9293 §3.7.4): small writes wait while data is unacknowledged; off by default", () => {
    const writes = (nagle: boolean): number => {
      const net = new TestNet(22);
      const { client } = connectedPair(net, { nagle });
      for (let i = 0; i < 10; i++) {
        client.conn.send(pattern(10, i));
        net.runFor(1n * MS);
      }
      net.runFor(S);
      return net.sent("a", isData).length;
    };
    assert.equal(writes(false), 10);
    assert.equal(writes(true), 2, "the first goes at once, the other nine coalesce behind it");
  });

  it("delayed ACK: a lone segment is acknowledged after 200 ms, every second full segment at once", () => {
    const net = new TestNet(23);
    const { client, server } = connectedPair(net, {}, { delayedAck: true });
    const t0 = net.now();
    client.conn.send(pattern(100));
    net.runFor(S);
    const ack1 = net.sent("b", (r) => r.atNs > t0)[0];
    assert.ok(ack1);
    assert.equal(ack1.atNs - t0, 10n * MS + 200n * MS);
    const t1 = net.now();
    client.conn.send(pattern(2920));
    net.runFor(S);
    const acks = net.sent("b", (r) => r.atNs > t1);
    assert.equal(acks.length, 1);
    assert.equal(acks[0]?.atNs, t1 + 10n * MS, "two full segments: acknowledged immediately");
    assert.equal(server.received().length, 3020);
  });

  it("fast retransmit after three duplicate ACKs (RFC 5681 §3.2), without waiting for the RTO", () => {
    const net = new TestNet(24);
    const { client, server } = connectedPair(net);
    let n = 0;
    net.dropIf = (r) => r.from === "a" && isData(r) && ++n === 3;
    const t0 = net.now();
    client.sendAll(pattern(30_000, 5));
    net.runFor(10n * S);
    assert.deepEqual(server.received(), pattern(30_000, 5));
    const c = client.conn.counters;
    assert.equal(c.fastRetransmits, 1);
    assert.equal(c.timeouts, 0);
    assert.ok(c.duplicateAcksIn >= 3);
    assert.equal(server.conn.counters.outOfOrderSegments > 0, true);
    const resent = net
      .sent("a", (r) => isData(r) && r.atNs >= t0)
      .filter((r, i, all) => all.findIndex((x) => x.repr.seq === r.repr.seq) !== i);
    assert.equal(resent.length, 1);
    assert.ok((resent[0]?.atNs ?? 0n) - t0 < 300n * MS, "well before the minimum RTO");
  });

  it("RTO retransmission of a lost last segment, with the RFC 6298 estimate from the path's RTT", () => {
    const net = new TestNet(25, { delayNs: 50n * MS });
    const { client, server } = connectedPair(net);
    client.sendAll(pattern(20_000));
    net.runFor(2n * S);
    const srtt = client.conn.srttNs ?? 0;
    assert.ok(Math.abs(srtt - 100e6) < 1e6, `SRTT ${srtt} near the 100 ms round trip`);
    let dropped = false;
    net.dropIf = (r) => r.from === "a" && isData(r) && !dropped && (dropped = true);
    const t0 = net.now();
    const rto = client.conn.rtoNs;
    assert.ok(rto >= 300n * MS);
    client.conn.send(pattern(100, 9));
    net.runFor(5n * S);
    const copies = net.sent("a", (r) => isData(r) && r.atNs >= t0);
    assert.equal(copies.length, 2);
    assert.equal((copies[1]?.atNs ?? 0n) - (copies[0]?.atNs ?? 0n), rto);
    assert.equal(client.conn.counters.timeouts, 1);
    assert.equal(server.received().length, 20_100);
  });

  it("gives up after maxRetransmissions with exponential backoff: onClosed('timed-out')", () => {
    const net = new TestNet(26);
    const { client, server } = connectedPair(net, { maxRetransmissions: 3, rtoInitialNs: S });
    net.dropIf = (r) => r.from === "a";
    const t0 = net.now();
    client.conn.send(pattern(500));
    net.run();
    const times = net.sent("a", (r) => r.atNs >= t0).map((r) => r.atNs - t0);
    const rto = times[1] ?? 0n;
    assert.equal(times.length, 4);
    assert.deepEqual(times, [0n, rto, 3n * rto, 7n * rto]);
    assert.equal(client.closedReason, "timed-out");
    assert.equal(client.closedAtNs, t0 + 15n * rto);
    assert.equal(client.conn.counters.timeouts, 4);
    assert.equal(server.conn.state, "ESTABLISHED", "the peer knows nothing of it");
  });

  it("Karn's rule: a retransmitted segment gives no RTT sample", () => {
    const net = new TestNet(27, { delayNs: 5n * MS });
    const { client } = connectedPair(net);
    const before = client.conn.srttNs;
    net.dropIf = (r) => r.from === "a" && isData(r) && r.atNs === net.now();
    client.conn.send(pattern(10));
    net.dropIf = undefined;
    net.runFor(5n * S);
    assert.equal(client.conn.counters.retransmissions, 1);
    assert.equal(client.conn.srttNs, before, "the ambiguous ACK was not sampled");
  });

  it("a smaller path MTU (setMss) resends outstanding data in smaller segments at once", () => {
    const net = new TestNet(28);
    const { client, server } = connectedPair(net);
    net.dropIf = (r) => r.from === "a" && r.payload.length > 1000; // the path now drops big packets
    const t0 = net.now();
    client.sendAll(pattern(5000, 4));
    net.runFor(1n * MS);
    client.conn.setMss(1000);
    net.runFor(5n * S);
    assert.deepEqual(server.received(), pattern(5000, 4));
    assert.equal(client.conn.effectiveMss, 1000);
    assert.equal(client.conn.counters.timeouts, 0);
    assert.ok(net.sent("a", (r) => r.atNs > t0 && !r.lost).every((r) => r.payload.length <= 1000));
  });

  it("FIN and data keep their order: the FIN follows the last byte", () => {
    const net = new TestNet(29);
    const { client, server } = connectedPair(net);
    client.sendAll(pattern(1000), true);
    net.runFor(S);
    const fins = net.sent("a", (r) => (r.repr.flags & TCP_FIN) !== 0);
    const data = net.sent("a", isData);
    assert.equal(fins.length, 1);
    assert.equal(data.length, 1);
    assert.equal(fins[0]?.repr.seq, ((data[0]?.repr.seq ?? 0) + 1000) >>> 0, "the FIN takes the number after the data");
    assert.deepEqual(server.events.slice(-2), ["data:1000", "fin"]);
    assert.ok(!net.trace.some((r) => r.repr.flags & TCP_SYN && r.atNs > 0n && r.from === "a"));
  });
});
