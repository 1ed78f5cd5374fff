import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpRepr } from "../../wire/index.ts";
import { resetFor } from "./reset.ts";
import { seqAdd } from "./seq.ts";
import { connectedPair, type Endpoint, pattern, TestNet } from "./tcp-harness.testing.ts";

const S = 1_000_000_000n;

/** An established pair with the server's view of the client's numbers. */
function established(seed: number): { net: TestNet; client: Endpoint; server: Endpoint } {
  const net = new TestNet(seed);
  const { client, server } = connectedPair(net);
  return { net, client, server };
}

/** A segment from the client to the server (ports and numbers from the live connection unless given). */
function fromClient(server: Endpoint, over: Partial<TcpRepr>): TcpRepr {
  return {
    srcPort: 49152,
    dstPort: 80,
    seq: server.conn.rcvNxt,
    ack: server.conn.sndNxt,
    flags: TCP_ACK,
    window: 1000,
    urgentPointer: 0,
    options: [],
    checksum: 0,
    payloadLength: 0,
    ...over,
  };
}

/** Segments the server output after `from`. */
const outputsSince = (e: Endpoint, from: number): TcpRepr[] => e.outputs.slice(from).map((o) => o.seg.repr);

describe("RST and SYN handling in synchronized states (RFC 5961)", () => {
  it("a RST exactly at RCV.NXT resets the connection", () => {
    const { server } = established(50);
    server.conn.input(fromClient(server, { flags: TCP_RST }), new Uint8Array(0));
    assert.deepEqual(server.events.slice(-2), ["reset", "closed:reset"]);
    assert.equal(server.conn.state, "CLOSED");
  });

  it("a RST in the window but not at RCV.NXT draws a challenge ACK and changes nothing (§3.2)", () => {
    const { server } = established(51);
    const n = server.outputs.length;
    const rcvNxt = server.conn.rcvNxt;
    server.conn.input(fromClient(server, { seq: seqAdd(rcvNxt, 100), flags: TCP_RST }), new Uint8Array(0));
    assert.equal(server.conn.state, "ESTABLISHED");
    const [ack] = outputsSince(server, n);
    assert.equal(ack?.flags, TCP_ACK);
    assert.equal(ack?.ack, rcvNxt);
    assert.equal(ack?.seq, server.conn.sndNxt);
    assert.equal(server.conn.counters.drops["rst-in-window"], 1);
    assert.equal(server.conn.counters.challengeAcks, 1);
  });

  it("a RST outside the window is dropped silently and counted", () => {
    const { server } = established(52);
    const n = server.outputs.length;
    for (const seq of [seqAdd(server.conn.rcvNxt, -1), seqAdd(server.conn.rcvNxt, 70_000), 0x7fffffff]) {
      server.conn.input(fromClient(server, { seq, flags: TCP_RST | TCP_ACK }), new Uint8Array(0));
    }
    assert.equal(server.conn.state, "ESTABLISHED");
    assert.equal(outputsSince(server, n).length, 0);
    assert.equal(server.conn.counters.drops["rst-out-of-window"], 3);
  });

  it("a SYN in a synchronized state draws a challenge ACK whatever its sequence number (§4)", () => {
    const { server } = established(53);
    const n = server.outputs.length;
    server.conn.input(fromClient(server, { flags: TCP_SYN }), new Uint8Array(0));
    server.conn.input(fromClient(server, { seq: 12345, flags: TCP_SYN }), new Uint8Array(0));
    assert.equal(server.conn.state, "ESTABLISHED");
    const out = outputsSince(server, n);
    assert.equal(out.length, 2);
    assert.ok(out.every((r) => r.flags === TCP_ACK && r.ack === server.conn.rcvNxt));
    assert.equal(server.conn.counters.drops["syn-challenged"], 2);
  });

  it("challenge ACKs are rate-limited per second (§7)", () => {
    const { net, server } = established(54);
    const n = server.outputs.length;
    for (let i = 0; i < 25; i++) {
      server.conn.input(
        fromClient(server, { seq: seqAdd(server.conn.rcvNxt, 10 + i), flags: TCP_RST }),
        new Uint8Array(0),
      );
    }
    assert.equal(outputsSince(server, n).length, 10);
    assert.equal(server.conn.counters.challengeAcksSuppressed, 15);
    net.runFor(S);
    server.conn.input(fromClient(server, { seq: seqAdd(server.conn.rcvNxt, 5), flags: TCP_RST }), new Uint8Array(0));
    assert.equal(server.conn.counters.challengeAcks, 11, "a new second, a new allowance");
  });

  it("an abort's RST beyond the peer's RCV.NXT (its data was lost) takes effect through the challenge ACK", () => {
    const { net, client, server } = established(55);
    // Data in flight from the client is lost, then the client aborts: its RST (SEQ = SND.MAX) is in the
    // server's window but not at RCV.NXT; the server's challenge ACK reaches a closed port, whose reset
    // (SEQ = the ACK) is exact.
    net.dropIf = (r) => r.from === "a" && r.payload.length > 0;
    client.conn.send(pattern(500));
    client.conn.abort();
    net.runFor(S);
    assert.equal(server.conn.counters.drops["rst-in-window"], 1);
    assert.equal(server.closedReason, "reset");
    assert.equal(net.a.resetsSent, 1);
  });
});

describe("ACK validation (RFC 9293 §3.10.7.4, RFC 5961 §5)", () => {
  it("an ACK of data never sent is answered with an ACK and dropped", () => {
    const { server } = established(56);
    const n = server.outputs.length;
    server.conn.input(
      fromClient(server, { ack: seqAdd(server.conn.sndNxt, 10), flags: TCP_ACK | TCP_PSH }),
      pattern(10),
    );
    assert.equal(server.conn.counters.drops["ack-unsent"], 1);
    assert.equal(server.received().length, 0, "its data is not taken");
    const [ack] = outputsSince(server, n);
    assert.equal(ack?.flags, TCP_ACK);
  });

  it("an ACK older than SND.UNA − MAX.SND.WND draws a challenge ACK (§5.2)", () => {
    const { server } = established(57);
    server.conn.input(fromClient(server, { ack: seqAdd(server.conn.sndUna, -200_000) }), pattern(10));
    assert.equal(server.conn.counters.drops["bad-ack"], 1);
    assert.equal(server.conn.counters.challengeAcks, 1);
    assert.equal(server.received().length, 0);
  });

  it("a slightly old ACK (within MAX.SND.WND) is a duplicate: its data is still taken", () => {
    const { net, client, server } = established(58);
    server.conn.send(pattern(3000));
    net.runFor(S);
    assert.equal(client.received().length, 3000);
    server.conn.input(fromClient(server, { ack: seqAdd(server.conn.sndUna, -1000) }), pattern(10));
    assert.deepEqual(server.received(), pattern(10));
  });

  it("pure window updates are not duplicate ACKs (RFC 5681 §2): no fast retransmit", () => {
    const { net, client, server } = established(64);
    net.dropIf = (r) => r.from === "a" && r.payload.length > 0; // keep data outstanding
    client.conn.send(pattern(3000));
    for (let w = 0; w < 5; w++) {
      client.conn.input(
        {
          ...fromClient(server, {}),
          srcPort: 80,
          dstPort: 49152,
          seq: client.conn.rcvNxt,
          ack: client.conn.sndUna,
          window: 20_000 + w,
        },
        new Uint8Array(0),
      );
    }
    assert.equal(client.conn.counters.duplicateAcksIn, 0);
    assert.equal(client.conn.counters.fastRetransmits, 0);
  });

  it("an older segment does not undo a newer window (SND.WL1 / SND.WL2)", () => {
    const { client } = established(65);
    const shift = client.conn.windowShifts.send;
    const from = (seq: number, window: number): TcpRepr => ({
      srcPort: 80,
      dstPort: 49152,
      seq,
      ack: client.conn.sndUna,
      flags: TCP_ACK,
      window,
      urgentPointer: 0,
      options: [],
      checksum: 0,
      payloadLength: 0,
    });
    const r = client.conn.rcvNxt;
    client.conn.input(from(seqAdd(r, 500), 2000), new Uint8Array(0));
    assert.equal(client.conn.sendWindow, 2000 * 2 ** shift);
    client.conn.input(from(r, 100), new Uint8Array(0)); // sent before the other, delivered after
    assert.equal(client.conn.sendWindow, 2000 * 2 ** shift);
  });

  it("a segment without ACK in a synchronized state is dropped", () => {
    const { server } = established(59);
    server.conn.input(fromClient(server, { flags: TCP_PSH }), pattern(5));
    assert.equal(server.conn.counters.drops["no-ack"], 1);
    assert.equal(server.received().length, 0);
  });
});

describe("sequence checks (RFC 9293 §3.10.7.4 first check)", () => {
  it("a duplicate segment is acknowledged, dropped and counted; data beyond the window is dropped", () => {
    const { net, client, server } = established(60);
    client.conn.send(pattern(1000));
    net.runFor(S);
    const n = server.outputs.length;
    const old = seqAdd(server.conn.rcvNxt, -1000);
    server.conn.input(fromClient(server, { seq: old }), pattern(1000));
    assert.equal(server.conn.counters.drops.duplicate, 1);
    assert.equal(outputsSince(server, n)[0]?.flags, TCP_ACK);
    server.conn.input(fromClient(server, { seq: seqAdd(server.conn.rcvNxt, 100_000) }), pattern(10));
    assert.equal(server.conn.counters.drops["outside-window"], 1);
    assert.equal(server.received().length, 1000);
  });

  it("a segment overlapping RCV.NXT is trimmed to its new bytes", () => {
    const { server } = established(61);
    const start = server.conn.rcvNxt;
    server.conn.input(fromClient(server, { seq: start }), pattern(100));
    server.conn.input(fromClient(server, { seq: seqAdd(start, 50) }), pattern(150).subarray(50));
    assert.deepEqual(server.received(), pattern(150));
  });

  it("a FIN out of order waits for the data before it", () => {
    const { server } = established(62);
    const start = server.conn.rcvNxt;
    server.conn.input(fromClient(server, { seq: seqAdd(start, 100), flags: TCP_ACK | TCP_FIN }), new Uint8Array(0));
    assert.equal(server.remoteFin, false);
    server.conn.input(fromClient(server, { seq: start }), pattern(100));
    assert.equal(server.remoteFin, true);
    assert.equal(server.conn.state, "CLOSE-WAIT");
    assert.deepEqual(server.received(), pattern(100));
  });

  it("a FIN just past the window is not taken, the data before it is", () => {
    const net = new TestNet(66);
    const { server } = connectedPair(net, {}, { receiveBufferSize: 1000 });
    server.consumeMode = "never";
    server.conn.input(fromClient(server, { flags: TCP_ACK | TCP_FIN }), pattern(1000));
    assert.equal(server.received().length, 1000);
    assert.equal(server.remoteFin, false);
    assert.equal(server.conn.state, "ESTABLISHED");
    assert.equal(server.conn.counters.drops["outside-window"], 1);
  });

  it("wrong ports are counted and ignored", () => {
    const { server } = established(63);
    server.conn.input(fromClient(server, { srcPort: 1 }), pattern(10));
    assert.equal(server.conn.counters.drops["wrong-port"], 1);
    server.conn.abort();
    server.conn.input(fromClient(server, {}), pattern(10));
    assert.equal(server.conn.counters.drops.closed, 1);
  });
});

describe("resetFor (RFC 9293 §3.10.7.1)", () => {
  const base: TcpRepr = {
    srcPort: 1234,
    dstPort: 80,
    seq: 1000,
    ack: 0,
    flags: TCP_SYN,
    window: 100,
    urgentPointer: 0,
    options: [],
    checksum: 0,
    payloadLength: 0,
  };
  it("answers a segment without ACK with <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, counting SYN and FIN", () => {
    const r = resetFor(base, 0);
    assert.deepEqual(
      { src: r.srcPort, dst: r.dstPort, seq: r.seq, ack: r.ack, flags: r.flags, window: r.window },
      { src: 80, dst: 1234, seq: 0, ack: 1001, flags: TCP_RST | TCP_ACK, window: 0 },
    );
    assert.equal(resetFor({ ...base, flags: TCP_SYN | TCP_FIN }, 10).ack, 1012);
    assert.equal(resetFor({ ...base, seq: 0xffffffff, flags: TCP_PSH }, 3).ack, 2);
  });
  it("answers a segment with ACK with <SEQ=SEG.ACK><CTL=RST>", () => {
    const r = resetFor({ ...base, flags: TCP_ACK, ack: 777 }, 50);
    assert.equal(r.flags, TCP_RST);
    assert.equal(r.seq, 777);
    assert.equal(r.ack, 0);
  });
  it("never answers a RST", () => {
    assert.throws(() => resetFor({ ...base, flags: TCP_RST }, 0), RangeError);
  });
});
