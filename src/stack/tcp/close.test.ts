import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TCP_ACK, TCP_FIN, TCP_RST } from "../../wire/index.ts";
import type { TcpConnection } from "./connection.ts";
import { connectedPair, type Endpoint, pattern, TestNet } from "./tcp-harness.testing.ts";

const MS = 1_000_000n;
const S = 1_000_000_000n;

/**
 * Records every state a connection passes through, sampled after each scheduler event scheduled from now
 * on (and when `sample` is called).
 */
function watchStates(net: TestNet, ...eps: Endpoint[]): string[][] & { sample(): void } {
  const seen = eps.map((e) => [e.conn.state as string]);
  const step = (): void => {
    eps.forEach((e, i) => {
      const list = seen[i] as string[];
      if (list.at(-1) !== e.conn.state) list.push(e.conn.state);
    });
  };
  const original = net.scheduler.after.bind(net.scheduler);
  net.scheduler.after = (delay, fn) =>
    original(delay, () => {
      fn();
      step();
    });
  return Object.assign(seen, { sample: step });
}

const isFin = (r: { repr: { flags: number } }): boolean => (r.repr.flags & TCP_FIN) !== 0;

describe("connection close (RFC 9293 §3.6)", () => {
  it("client closes first: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT for 2·MSL = 120 s; server CLOSE-WAIT, LAST-ACK", () => {
    const net = new TestNet(30);
    const { client, server } = connectedPair(net);
    const states = watchStates(net, client, server);
    server.onRemoteFin = () => net.scheduler.after(5n * MS, () => server.conn.close());
    const t0 = net.now();
    client.conn.close();
    assert.equal(client.conn.state, "FIN-WAIT-1");
    net.run();
    assert.deepEqual(states[0], ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]);
    assert.deepEqual(states[1], ["ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]);
    assert.equal(server.closedReason, "closed");
    assert.equal(client.closedReason, "closed");
    // The server's FIN left at t0 + 15 ms and reached the client 10 ms later: TIME-WAIT from then.
    assert.equal(client.closedAtNs, t0 + 25n * MS + 120n * S);
    assert.equal(server.closedAtNs, t0 + 35n * MS);
  });

  it("server closes first: the roles swap", () => {
    const net = new TestNet(31);
    const { client, server } = connectedPair(net);
    const states = watchStates(net, client, server);
    client.onRemoteFin = () => net.scheduler.after(5n * MS, () => client.conn.close());
    server.conn.close();
    net.run();
    assert.deepEqual(states[1], ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]);
    assert.deepEqual(states[0], ["ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]);
  });

  it("simultaneous close: both FIN-WAIT-1, both CLOSING, both TIME-WAIT (RFC 9293 figure 13)", () => {
    const net = new TestNet(32);
    const { client, server } = connectedPair(net);
    const states = watchStates(net, client, server);
    client.conn.close();
    server.conn.close();
    states.sample();
    net.run();
    assert.deepEqual(states[0], ["ESTABLISHED", "FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]);
    assert.deepEqual(states[1], ["ESTABLISHED", "FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]);
    assert.equal(client.closedReason, "closed");
    assert.equal(server.closedReason, "closed");
  });

  it("the MSL is configurable: TIME-WAIT lasts twice it", () => {
    const net = new TestNet(33);
    const { client, server } = connectedPair(net, { mslNs: 5n * S });
    server.onRemoteFin = () => server.conn.close();
    const t0 = net.now();
    client.conn.close();
    net.runFor(9n * S);
    assert.equal(client.conn.state, "TIME-WAIT");
    net.run();
    assert.equal(client.closedAtNs, t0 + 20n * MS + 10n * S);
  });

  it("half-close: after the client's FIN the server keeps sending, and the client keeps receiving", () => {
    const net = new TestNet(34);
    const { client, server } = connectedPair(net);
    client.sendAll(pattern(3000), true);
    net.runFor(S);
    assert.equal(client.conn.state, "FIN-WAIT-2");
    assert.equal(server.conn.state, "CLOSE-WAIT");
    assert.ok(server.remoteFin);
    assert.equal(client.conn.send(pattern(1)), 0, "no more sending after shutdown");
    assert.equal(client.conn.writable, false);
    server.sendAll(pattern(80_000, 3), true);
    net.run();
    assert.deepEqual(server.received(), pattern(3000));
    assert.deepEqual(client.received(), pattern(80_000, 3));
    assert.equal(client.closedReason, "closed");
    assert.equal(server.closedReason, "closed");
  });

  it("a lost FIN is retransmitted", () => {
    const net = new TestNet(35);
    const { client, server } = connectedPair(net);
    let dropped = 0;
    net.dropIf = (r) => r.from === "a" && isFin(r) && dropped++ === 0;
    client.conn.shutdown();
    net.runFor(5n * S);
    assert.equal(net.sent("a", isFin).length, 2);
    assert.ok(server.remoteFin);
    assert.equal(client.conn.state, "FIN-WAIT-2");
    assert.equal(client.conn.counters.retransmissions, 1);
  });

  it("TIME-WAIT re-acknowledges a retransmitted FIN and restarts 2·MSL", () => {
    const net = new TestNet(36);
    const { client, server } = connectedPair(net);
    server.onRemoteFin = () => server.conn.close();
    let dropped = 0;
    // Lose the client's ACK of the server's FIN: the server retransmits its FIN.
    net.dropIf = (r) => r.from === "a" && !isFin(r) && r.payload.length === 0 && dropped++ === 0;
    const t0 = net.now();
    client.conn.close();
    net.run();
    const serverFins = net.sent("b", isFin);
    assert.equal(serverFins.length, 2);
    assert.equal(server.closedReason, "closed");
    assert.equal(client.closedReason, "closed");
    const second = serverFins[1]?.atNs ?? 0n;
    assert.equal(client.closedAtNs, second + 10n * MS + 120n * S, "2·MSL from the retransmitted FIN");
    assert.ok(second > t0);
    assert.equal(client.conn.counters.drops.duplicate, 1);
  });

  it("LAST-ACK gives up when its FIN is never acknowledged: timed-out", () => {
    const net = new TestNet(37);
    const { client, server } = connectedPair(net, {}, { maxRetransmissions: 2 });
    client.conn.shutdown();
    net.runFor(S);
    net.dropIf = () => true;
    server.conn.close();
    net.run();
    assert.equal(server.conn.state, "CLOSED");
    assert.equal(server.closedReason, "timed-out");
    assert.equal(net.sent("b", isFin).length, 3);
  });

  it("close() with unconsumed data resets the connection (RFC 2525 §2.17)", () => {
    const net = new TestNet(38);
    const { client, server } = connectedPair(net);
    server.consumeMode = "never";
    client.conn.send(pattern(500));
    net.runFor(S);
    assert.equal(server.conn.unconsumed, 500);
    server.conn.close();
    net.runFor(S);
    assert.equal(server.closedReason, "aborted");
    const rst = net.sent("b").at(-1);
    assert.equal(rst?.repr.flags, TCP_RST | TCP_ACK);
    assert.deepEqual(client.events.slice(-2), ["reset", "closed:reset"]);
  });

  it("data arriving after close() resets the connection (RFC 1122 §4.2.2.13)", () => {
    const net = new TestNet(39);
    const { client, server } = connectedPair(net);
    server.conn.close();
    client.conn.send(pattern(100));
    net.runFor(S);
    assert.equal(server.closedReason, "aborted");
    assert.equal(client.closedReason, "reset");
  });

  it("abort() sends a RST the peer accepts; in SYN-SENT it sends nothing", () => {
    const net = new TestNet(40);
    const { client, server } = connectedPair(net);
    client.conn.send(pattern(10));
    net.runFor(S);
    client.conn.abort();
    assert.equal(client.closedReason, "aborted");
    net.runFor(S);
    assert.equal(server.closedReason, "reset");
    assert.ok(server.resetSeen);

    const net2 = new TestNet(41);
    const c = net2.a.connect({ remotePort: 80 });
    c.conn.abort();
    net2.run();
    assert.equal(net2.sent("a").length, 1, "only the SYN");
    assert.equal(c.closedReason, "aborted");
  });

  it("close() in SYN-SENT deletes the TCB; shutdown() in SYN-SENT sends the FIN once established", () => {
    const net = new TestNet(42);
    const c = net.a.connect({ remotePort: 80 });
    c.conn.close();
    assert.equal(c.closedReason, "closed");

    const net2 = new TestNet(43);
    const l = net2.b.listen(80);
    const c2 = net2.a.connect({ remotePort: 80 });
    c2.conn.send(pattern(100));
    c2.conn.shutdown();
    net2.runFor(S);
    assert.equal(c2.conn.state, "FIN-WAIT-2");
    assert.deepEqual(l.accepted[0]?.received(), pattern(100));
    assert.ok(l.accepted[0]?.remoteFin);
  });

  it("FIN-WAIT-2 after close() gives up on a silent peer after finWait2TimeoutNs", () => {
    const net = new TestNet(44);
    const { client } = connectedPair(net, { finWait2TimeoutNs: 30n * S });
    const t0 = net.now();
    client.conn.close();
    net.runFor(S);
    assert.equal(client.conn.state, "FIN-WAIT-2");
    net.runFor(60n * S);
    assert.equal(client.closedReason, "timed-out");
    assert.equal(client.closedAtNs, t0 + 20n * MS + 30n * S);
  });

  it("a RST in TIME-WAIT at RCV.NXT ends the wait early, still as an orderly close (RFC 9293 §3.10.7.4)", () => {
    const net = new TestNet(45);
    const { client, server } = connectedPair(net);
    server.onRemoteFin = () => server.conn.close();
    client.conn.close();
    net.runFor(S);
    const c: TcpConnection = client.conn;
    assert.equal(c.state, "TIME-WAIT");
    c.input(
      {
        srcPort: 80,
        dstPort: 49152,
        seq: c.rcvNxt,
        ack: 0,
        flags: TCP_RST,
        window: 0,
        urgentPointer: 0,
        options: [],
        checksum: 0,
        payloadLength: 0,
      },
      new Uint8Array(0),
    );
    assert.equal(client.closedReason, "closed");
    assert.ok(!client.resetSeen, "not reported as a reset: the connection had completed");
  });
});
