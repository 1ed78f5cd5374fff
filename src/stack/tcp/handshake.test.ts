import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TCP_ACK, TCP_RST, TCP_SYN } from "../../wire/index.ts";
import { connectedPair, pattern, TestNet } from "./tcp-harness.testing.ts";

const MS = 1_000_000n;
const S = 1_000_000_000n;

describe("three-way handshake (RFC 9293 §3.5)", () => {
  it("SYN, SYN-ACK, ACK with MSS and window-scale options; client established before its final ACK", () => {
    const net = new TestNet(1);
    const l = net.b.listen(80, { isn: 5000 });
    let outputsAtEstablished = -1;
    const client = net.a.connect({ remotePort: 80, localPort: 40000, isn: 1000 }, (e) => {
      e.onEstablished = () => {
        outputsAtEstablished = e.outputs.length;
      };
    });
    assert.equal(client.conn.state, "SYN-SENT");
    net.runFor(S);
    const [syn, synAck, ack] = net.trace;
    assert.ok(syn && synAck && ack);
    assert.equal(syn.repr.flags, TCP_SYN);
    assert.equal(syn.repr.seq, 1000);
    assert.deepEqual(syn.repr.options, [
      { kind: "mss", value: 1460 },
      { kind: "nop" },
      { kind: "windowScale", shift: 1 },
    ]);
    assert.equal(syn.repr.window, 65535);
    assert.equal(synAck.repr.flags, TCP_SYN | TCP_ACK);
    assert.equal(synAck.repr.seq, 5000);
    assert.equal(synAck.repr.ack, 1001);
    assert.equal(ack.repr.flags, TCP_ACK);
    assert.equal(ack.repr.seq, 1001);
    assert.equal(ack.repr.ack, 5001);
    assert.equal(ack.completesHandshake, true);
    assert.equal(outputsAtEstablished, 1, "onEstablished fired when only the SYN had been output");
    assert.ok(
      net.trace.every((r) => r === ack || !r.completesHandshake),
      "only the final ACK completes the handshake",
    );
    const server = l.accepted[0];
    assert.ok(server);
    assert.equal(client.establishedAtNs, 20n * MS);
    assert.equal(server.establishedAtNs, 30n * MS, "the server is established by the final ACK");
    assert.equal(client.conn.state, "ESTABLISHED");
    assert.equal(server.conn.state, "ESTABLISHED");
    assert.equal(client.conn.windowScaling, true);
    assert.deepEqual(server.conn.windowShifts, { receive: 1, send: 1 });
    assert.equal(l.listener.acceptQueueLength, 1);
    assert.equal(l.listener.accept(), server.conn);
    assert.equal(l.listener.acceptQueueLength, 0);
  });

  it("segments never exceed the smaller MSS; no MSS option means 536 (RFC 9293 §3.7.1)", () => {
    const net = new TestNet(2);
    const { client, server } = connectedPair(net, { mss: 1000 }, { mss: 1460 });
    assert.equal(client.conn.effectiveMss, 1000);
    assert.equal(server.conn.effectiveMss, 1000);
    client.sendAll(pattern(10_000));
    server.sendAll(pattern(10_000, 1));
    net.runFor(5n * S);
    assert.deepEqual(server.received(), pattern(10_000));
    assert.deepEqual(client.received(), pattern(10_000, 1));
    assert.ok(net.trace.every((r) => r.payload.length <= 1000));
    assert.ok(net.trace.some((r) => r.payload.length === 1000));

    const net2 = new TestNet(3);
    net2.b.listen(80);
    const c2 = net2.a.connect({ remotePort: 80 });
    // Strip the client's options from its SYN on the wire: the server must fall back to 536.
    const original = net2.transmit.bind(net2);
    net2.transmit = (from, repr, payload, done) =>
      original(from, repr.flags & TCP_SYN && from === net2.a ? { ...repr, options: [] } : repr, payload, done);
    c2.conn.abort();
    const c3 = net2.a.connect({ remotePort: 80, localPort: 40001 });
    net2.runFor(S);
    const s3 = net2.b.connections.get("80:40001");
    assert.ok(s3 && c3.established);
    assert.equal(s3.conn.effectiveMss, 536);
    assert.equal(s3.conn.windowScaling, false, "no window scale in the SYN: none either way");
    assert.equal(c3.conn.windowScaling, false);
  });

  it("window scaling is used only when both sides offer it (RFC 7323 §2)", () => {
    const net = new TestNet(4);
    const { client, server } = connectedPair(
      net,
      { windowScaling: false, receiveBufferSize: 1 << 20 },
      { receiveBufferSize: 1 << 20 },
    );
    assert.equal(client.conn.windowScaling, false);
    assert.equal(server.conn.windowScaling, false);
    const synAck = net.sent("b", (r) => (r.repr.flags & TCP_SYN) !== 0)[0];
    assert.ok(synAck && !synAck.repr.options.some((o) => o.kind === "windowScale"), "no WS in reply to a SYN without");

    const net2 = new TestNet(5);
    const big = connectedPair(net2, { receiveBufferSize: 1 << 20 }, { receiveBufferSize: 1 << 20 });
    assert.deepEqual(big.client.conn.windowShifts, { receive: 5, send: 5 });
    big.client.sendAll(pattern(3_000_000));
    net2.runFor(30n * S);
    assert.equal(big.server.received().length, 3_000_000);
    assert.deepEqual(big.server.received(), pattern(3_000_000));
    // A scaled window larger than 65535 bytes was advertised and used.
    assert.ok(net2.sent("b").some((r) => r.repr.window * 32 > 65535));
    assert.ok(big.client.conn.sendWindow > 65535);
  });

  it("simultaneous open: both SYN-SENT, both SYN-RECEIVED, both ESTABLISHED (RFC 9293 figure 8)", () => {
    const net = new TestNet(6);
    const a = net.a.connect({ localPort: 1000, remotePort: 2000, isn: 100 });
    const b = net.b.connect({ localPort: 2000, remotePort: 1000, isn: 300 });
    const states: string[] = [];
    net.runFor(15n * MS);
    states.push(a.conn.state, b.conn.state);
    net.runFor(S);
    assert.deepEqual(states, ["SYN-RECEIVED", "SYN-RECEIVED"]);
    assert.equal(a.conn.state, "ESTABLISHED");
    assert.equal(b.conn.state, "ESTABLISHED");
    assert.ok(a.established && b.established);
    const synAcks = net.trace.filter((r) => r.repr.flags === (TCP_SYN | TCP_ACK));
    assert.equal(synAcks.length, 2);
    assert.ok(!net.trace.some((r) => r.completesHandshake));
    a.sendAll(pattern(5000), true);
    b.sendAll(pattern(7000, 9), true);
    net.run();
    assert.deepEqual(b.received(), pattern(5000));
    assert.deepEqual(a.received(), pattern(7000, 9));
    assert.equal(a.closedReason, "closed");
    assert.equal(b.closedReason, "closed");
  });

  it("connect times out after the SYN retransmissions: 1 s, 2 s, 4 s (RFC 6298 §5.5)", () => {
    const net = new TestNet(7);
    net.dropIf = (r) => r.from === "a";
    const client = net.a.connect({ remotePort: 80 });
    net.run();
    const syns = net.sent("a").map((r) => Number(r.atNs / MS));
    assert.deepEqual(syns, [0, 1000, 3000]);
    assert.equal(client.closedReason, "timed-out");
    assert.equal(client.closedAtNs, 7n * S);
    assert.equal(client.conn.counters.retransmissions, 2);
    assert.equal(client.conn.state, "CLOSED");
  });

  it("maxSynRetransmissions sets the connect timeout", () => {
    const net = new TestNet(8);
    net.dropIf = () => true;
    const client = net.a.connect({ remotePort: 80, maxSynRetransmissions: 4 });
    net.run();
    assert.equal(net.sent("a").length, 5);
    assert.equal(client.closedAtNs, 31n * S);
  });

  it("a lost SYN-ACK is recovered: the client's SYN retransmission makes the server resend it", () => {
    const net = new TestNet(9);
    let dropped = 0;
    net.dropIf = (r) => r.from === "b" && r.repr.flags === (TCP_SYN | TCP_ACK) && dropped++ === 0;
    const l = net.b.listen(80);
    const client = net.a.connect({ remotePort: 80 });
    net.runFor(5n * S);
    const server = l.accepted[0];
    assert.ok(client.established && server?.established);
    assert.equal(server.conn.counters.drops.duplicate, 1, "the retransmitted SYN was recognised");
    assert.equal(client.establishedAtNs, 1020n * MS);
  });

  it("a lost final ACK is recovered by the client's first data segment", () => {
    const net = new TestNet(10);
    net.dropIf = (r) => r.completesHandshake;
    const l = net.b.listen(80);
    const client = net.a.connect({ remotePort: 80 });
    client.onEstablished = () => client.sendAll(pattern(3000));
    net.runFor(5n * S);
    const server = l.accepted[0];
    assert.ok(server?.established);
    assert.equal(server.establishedAtNs, 30n * MS);
    assert.deepEqual(server.received(), pattern(3000));
  });

  it("a lost final ACK with no data: the SYN-ACK retransmission draws a challenge ACK that completes it", () => {
    const net = new TestNet(11);
    net.dropIf = (r) => r.completesHandshake;
    const l = net.b.listen(80);
    const client = net.a.connect({ remotePort: 80 });
    net.runFor(5n * S);
    const server = l.accepted[0];
    assert.ok(client.established && server?.established);
    assert.equal(client.conn.counters.drops["syn-challenged"], 1);
    assert.equal(client.conn.counters.challengeAcks, 1);
    assert.equal(server.establishedAtNs, 1030n * MS);
  });

  it("connect to a port with no listener: RST|ACK, then onReset and onClosed('reset')", () => {
    const net = new TestNet(12);
    const client = net.a.connect({ remotePort: 81, isn: 77 });
    net.run();
    const rst = net.sent("b")[0];
    assert.ok(rst);
    assert.equal(rst.repr.flags, TCP_RST | TCP_ACK);
    assert.equal(rst.repr.seq, 0);
    assert.equal(rst.repr.ack, 78);
    assert.deepEqual(client.events, ["reset", "closed:reset"]);
    assert.equal(net.b.resetsSent, 1);
  });

  it("SYN-SENT ignores a RST whose ACK is not for our SYN, and answers a bad ACK with a RST", () => {
    const net = new TestNet(13);
    net.dropIf = (r) => r.from === "a" && r.repr.flags === TCP_SYN;
    const client = net.a.connect({ remotePort: 80, localPort: 40000, isn: 1000 });
    const base = {
      srcPort: 80,
      dstPort: 40000,
      window: 1000,
      urgentPointer: 0,
      options: [],
      checksum: 0,
      payloadLength: 0,
    };
    client.conn.input({ ...base, seq: 1, ack: 0, flags: TCP_RST }, new Uint8Array(0));
    client.conn.input({ ...base, seq: 1, ack: 5555, flags: TCP_RST | TCP_ACK }, new Uint8Array(0));
    assert.equal(client.conn.state, "SYN-SENT");
    assert.equal(client.conn.counters.drops["rst-bad-ack"], 2);
    client.conn.input({ ...base, seq: 1, ack: 5555, flags: TCP_SYN | TCP_ACK }, new Uint8Array(0));
    assert.equal(client.conn.state, "SYN-SENT");
    assert.equal(client.conn.counters.drops["bad-ack"], 1);
    const out = client.outputs.at(-1)?.seg.repr;
    assert.equal(out?.flags, TCP_RST);
    assert.equal(out?.seq, 5555);
    client.conn.input({ ...base, seq: 1, ack: 0, flags: TCP_ACK & 0 }, new Uint8Array(0));
    assert.equal(client.conn.counters.drops["no-syn"], 1);
    // A proper RST (its ACK acknowledges our SYN) resets.
    client.conn.input({ ...base, seq: 0, ack: 1001, flags: TCP_RST | TCP_ACK }, new Uint8Array(0));
    assert.equal(client.closedReason, "reset");
  });

  it("SYN-RECEIVED answers an ACK of something it never sent with a RST and stays half-open", () => {
    const net = new TestNet(14);
    const l = net.b.listen(80, { isn: 9000 });
    net.dropIf = (r) => r.from === "b";
    net.a.connect({ remotePort: 80, localPort: 40000, isn: 1000 });
    net.runFor(15n * MS);
    const server = l.accepted[0];
    assert.ok(server);
    const base = {
      srcPort: 40000,
      dstPort: 80,
      window: 1000,
      urgentPointer: 0,
      options: [],
      checksum: 0,
      payloadLength: 0,
    };
    server.conn.input({ ...base, seq: 1001, ack: 12345, flags: TCP_ACK }, new Uint8Array(0));
    assert.equal(server.conn.state, "SYN-RECEIVED");
    assert.equal(server.conn.counters.drops["bad-ack"], 1);
    const rst = server.outputs.at(-1)?.seg.repr;
    assert.equal(rst?.flags, TCP_RST);
    assert.equal(rst?.seq, 12345);
  });

  it("after a SYN timeout the RTO starts data transfer at 3 s (RFC 6298 §5.7)", () => {
    const net = new TestNet(15);
    let dropped = 0;
    net.dropIf = (r) => r.repr.flags === TCP_SYN && dropped++ === 0;
    net.b.listen(80);
    const client = net.a.connect({ remotePort: 80 });
    net.runFor(2n * S);
    assert.ok(client.established);
    assert.equal(client.conn.srttNs, undefined, "Karn: no sample from the retransmitted SYN");
    assert.equal(client.conn.rtoNs, 3n * S);
    client.conn.send(pattern(100));
    net.runFor(S);
    assert.ok(client.conn.rtoNs < 3n * S, "the first data sample brings it down");
  });
});
