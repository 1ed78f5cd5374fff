import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpRepr } from "../../wire/index.ts";
import { listenAction, TcpListener } from "./listener.ts";
import { pattern, TestNet } from "./tcp-harness.testing.ts";

const MS = 1_000_000n;
const S = 1_000_000_000n;

const syn = (srcPort: number, seq = 1000): TcpRepr => ({
  srcPort,
  dstPort: 80,
  seq,
  ack: 0,
  flags: TCP_SYN,
  window: 65535,
  urgentPointer: 0,
  options: [{ kind: "mss", value: 1460 }],
  checksum: 0,
  payloadLength: 0,
});

describe("listener (RFC 9293 §3.10.7.2)", () => {
  it("LISTEN ignores a RST, resets an ACK, accepts a SYN and drops anything else", () => {
    assert.equal(listenAction({ ...syn(1), flags: TCP_RST }), "drop");
    assert.equal(listenAction({ ...syn(1), flags: TCP_ACK }), "reset");
    assert.equal(listenAction({ ...syn(1), flags: TCP_SYN | TCP_ACK }), "reset");
    assert.equal(listenAction(syn(1)), "accept-syn");
    assert.equal(listenAction({ ...syn(1), flags: TCP_FIN }), "drop");
  });

  it("a SYN flood fills at most maxSynReceived half-open slots; the rest are dropped and counted", () => {
    const net = new TestNet(80);
    const l = net.b.listen(80, {}, { maxSynReceived: 16 });
    net.dropIf = (r) => r.from === "b"; // spoofed sources: nobody answers the SYN-ACKs
    for (let port = 1; port <= 1000; port++) net.b.deliver(syn(port, port * 7919), new Uint8Array(0));
    assert.equal(l.listener.synReceivedCount, 16);
    assert.equal(l.listener.counters.synDropsHalfOpenFull, 984);
    assert.equal(net.b.connections.size, 16, "no state for refused SYNs");
    // The half-open connections give up after their SYN-ACK retransmissions (1 s + 2 s + 4 s).
    net.runFor(8n * S);
    assert.equal(l.listener.synReceivedCount, 0);
    assert.equal(l.listener.counters.halfOpenFailed, 16);
    assert.ok(l.accepted.every((e) => e.closedReason === "timed-out"));
    assert.equal(net.b.connections.size, 0);
    // A real client gets through afterwards.
    net.dropIf = undefined;
    const client = net.a.connect({ remotePort: 80, localPort: 5000 });
    net.runFor(S);
    assert.ok(client.established);
  });

  it("a full accept queue refuses SYNs until the application accepts; the client's retransmission succeeds", () => {
    const net = new TestNet(81);
    const l = net.b.listen(80, {}, { backlog: 2 });
    const c1 = net.a.connect({ remotePort: 80, localPort: 5001 });
    const c2 = net.a.connect({ remotePort: 80, localPort: 5002 });
    net.runFor(100n * MS);
    assert.equal(l.listener.acceptQueueLength, 2);
    const c3 = net.a.connect({ remotePort: 80, localPort: 5003 });
    net.runFor(100n * MS);
    assert.equal(l.listener.counters.synDropsAcceptQueueFull, 1);
    assert.equal(c3.conn.state, "SYN-SENT");
    assert.ok(c1.established && c2.established);
    const first = l.listener.accept();
    assert.equal(first, l.accepted[0]?.conn);
    assert.equal(l.listener.counters.accepted, 1);
    net.runFor(2n * S);
    assert.ok(c3.established, "the SYN retransmitted after 1 s found room");
    assert.equal(c3.establishedAtNs, 1020n * MS + 100n * MS);
    assert.equal(l.listener.acceptQueueLength, 2);
  });

  it("close() aborts queued connections with a RST and refuses new SYNs", () => {
    const net = new TestNet(82);
    const l = net.b.listen(80);
    const c1 = net.a.connect({ remotePort: 80, localPort: 5001 });
    net.runFor(S);
    l.listener.close();
    net.runFor(S);
    assert.equal(c1.closedReason, "reset");
    assert.equal(l.listener.acceptSyn(l.accepted[0]?.env ?? c1.env, syn(9), {}), undefined);
  });

  it("the counting primitives bound what the host tracks itself", () => {
    const l = new TcpListener({ backlog: 1, maxSynReceived: 2 });
    assert.ok(l.admitSyn());
    assert.ok(l.admitSyn());
    assert.ok(!l.admitSyn(), "two half-open already");
    assert.equal(l.counters.synDropsHalfOpenFull, 1);
    assert.ok(l.established());
    assert.equal(l.synReceivedCount, 1);
    assert.equal(l.acceptQueueLength, 1);
    assert.ok(!l.established(), "the accept queue overflowed");
    assert.equal(l.counters.acceptQueueOverflows, 1);
    assert.ok(!l.admitSyn(), "accept queue full");
    l.dequeued();
    assert.ok(l.admitSyn());
    l.synFailed();
    assert.equal(l.synReceivedCount, 0);
    assert.throws(() => new TcpListener({ backlog: 0 }), RangeError);
  });

  it("a SYN for a connection in TIME-WAIT with a higher sequence number opens a new incarnation", () => {
    const net = new TestNet(83);
    const l = net.b.listen(80, { isn: 10 });
    const c = net.a.connect({ remotePort: 80, localPort: 6000, isn: 1000 });
    net.runFor(S);
    const s1 = l.accepted[0];
    assert.ok(s1);
    s1.conn.close(); // the server closes first: it holds the TIME-WAIT
    c.onRemoteFin = () => c.conn.close();
    net.runFor(S);
    assert.equal(s1.conn.state, "TIME-WAIT");
    assert.ok(!s1.conn.acceptsNewSyn(syn(6000, 500)), "an older sequence number may be an old duplicate");
    assert.ok(s1.conn.acceptsNewSyn({ ...syn(6000, 5_000_000), dstPort: 80 }));
    const c2 = net.a.connect({ remotePort: 80, localPort: 6000, isn: 5_000_000 });
    net.runFor(S);
    assert.ok(c2.established);
    assert.equal(s1.closedReason, "aborted");
    const s2 = l.accepted[1];
    assert.ok(s2?.established);
    c2.conn.send(pattern(100));
    net.runFor(S);
    assert.deepEqual(s2.received(), pattern(100));
  });
});
