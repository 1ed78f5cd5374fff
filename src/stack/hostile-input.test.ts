/**
 * Hostile input against a whole host: an attacker on the segment puts hand-built frames on the wire —
 * overlapping, tiny and flooding fragments, SYN and connection floods, blind RSTs and SYNs, ICMP errors
 * about other flows or about nothing, malformed headers, bad checksums, frames for other MACs. After each
 * attack: the drop is visible in a counter, the victim's memory-holding structures (reassembly buffers,
 * ALE flow table, half-open and established connections, TCP sockets, neighbour cache) are within their
 * bounds, and honest TCP and UDP traffic between two other hosts still works over IPv4 and IPv6.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SeededRng } from "../base/index.ts";
import { EtherType, emitEthernetHeader, TCP_ACK, TCP_RST, TCP_SYN } from "../wire/index.ts";
import {
  type Arena,
  arena,
  assertBounded,
  assertHonestTrafficWorks,
  CLIENT4,
  CLIENT6,
  echoRequest,
  flip,
  icmpError,
  inject,
  ip,
  ipv4,
  ipv6,
  MALLORY4,
  MALLORY6,
  SERVER4,
  SERVER6,
  tcp,
  udp,
} from "./hostile-fixtures.testing.ts";
import { addr } from "./net-fixtures.testing.ts";
import { ms, seconds } from "./sim/scheduler.ts";
import { pattern, sameBytes, tcpExchange } from "./traffic.testing.ts";

const UDP = 17;
const TCP = 6;

/** A UDP socket on the server that must receive nothing from the attack. */
function sink(a: Arena, family: 4 | 6, port: number) {
  const s = a.server.host.udp.socket(a.server.app, family);
  s.bind(undefined, port);
  const got: Uint8Array[] = [];
  s.onMessage = (m) => got.push(m.data);
  return { socket: s, got };
}

describe("hostile input: fragments", () => {
  it("overlapping fragments discard their datagram (RFC 5722 for IPv6, Windows for IPv4), counted", () => {
    const a = arena();
    const v4 = sink(a, 4, 7000);
    const v6 = sink(a, 6, 7001);
    const before = a.server.host.ip.reassembler.counters.dropped.overlap;
    // 48 bytes of UDP in two fragments; the second starts 8 bytes early and would rewrite bytes 16–23.
    const d4 = udp(MALLORY4, SERVER4, 5000, 7000, pattern(40, 1));
    inject(a, ipv4(MALLORY4, SERVER4, UDP, d4.subarray(0, 24), { id: 1, more: true }));
    inject(a, ipv4(MALLORY4, SERVER4, UDP, d4.subarray(16), { id: 1, offset: 16 }));
    const d6 = udp(MALLORY6, SERVER6, 5000, 7001, pattern(40, 2));
    inject(a, ipv6(MALLORY6, SERVER6, UDP, d6.subarray(0, 24), { offset: 0, more: true, id: 2 }));
    inject(a, ipv6(MALLORY6, SERVER6, UDP, d6.subarray(16), { offset: 16, more: false, id: 2 }));
    // The same datagram again, complete and clean, now arrives in the tombstone's shadow: dropped too.
    inject(a, ipv4(MALLORY4, SERVER4, UDP, d4.subarray(24), { id: 1, offset: 24 }));
    a.t.net.runFor(ms(50));
    const r = a.server.host.ip.reassembler.counters;
    assert.equal(r.dropped.overlap - before, 2);
    assert.ok(r.dropped.discardedDatagram >= 1);
    assert.deepEqual([v4.got.length, v6.got.length], [0, 0]);
    // A well-formed fragmented datagram from the attacker's address is still accepted afterwards.
    inject(a, ipv4(MALLORY4, SERVER4, UDP, d4.subarray(0, 24), { id: 3, more: true }));
    inject(a, ipv4(MALLORY4, SERVER4, UDP, d4.subarray(24), { id: 3, offset: 24 }));
    a.t.net.runFor(ms(50));
    assert.equal(v4.got.length, 1);
    assert.ok(sameBytes(v4.got[0] as Uint8Array, pattern(40, 1)));
    assertBounded(a);
    assertHonestTrafficWorks(a);
  });

  it("tiny first fragments and TCP fragments at offset 8 are dropped (RFC 1858, RFC 3128, RFC 7112)", () => {
    const a = arena();
    const l = a.server.host.tcp.socket(a.server.app, 4);
    l.bind(undefined, 80);
    l.listen();
    const before = a.server.host.ip.reassembler.counters.dropped.tiny;
    const syn = tcp(MALLORY4, SERVER4, { srcPort: 40001, dstPort: 80, flags: TCP_SYN, seq: 7 });
    // First fragment: 8 bytes of TCP header (ports and sequence number), the flags in the next one.
    inject(a, ipv4(MALLORY4, SERVER4, TCP, syn.subarray(0, 8), { id: 10, more: true }));
    inject(a, ipv4(MALLORY4, SERVER4, TCP, syn.subarray(8), { id: 10, offset: 8 }));
    // An IPv6 first fragment without the whole TCP header.
    const syn6 = tcp(MALLORY6, SERVER6, { srcPort: 40002, dstPort: 80, flags: TCP_SYN, seq: 7 });
    inject(a, ipv6(MALLORY6, SERVER6, TCP, syn6.subarray(0, 8), { offset: 0, more: true, id: 11 }));
    inject(a, ipv6(MALLORY6, SERVER6, TCP, syn6.subarray(8), { offset: 8, more: false, id: 11 }));
    a.t.net.runFor(ms(50));
    const r = a.server.host.ip.reassembler.counters;
    assert.ok(r.dropped.tiny - before >= 3, `tiny drops: ${r.dropped.tiny - before}`);
    assert.equal(l.listener?.counters.synsReceived, 0, "no SYN reached the listener");
    assert.equal(a.server.host.tcp.counters.segmentsIn, 0);
    l.close();
    assertBounded(a);
    assertHonestTrafficWorks(a);
  });

  it("a flood of 30,000 fragments keeps reassembly within its budget while honest datagrams get through", () => {
    const maxDatagrams = 256;
    const maxBytes = 512 * 1024;
    const a = arena({ reassembly: { maxDatagrams, maxBytes } });
    const honest = sink(a, 4, 7100);
    const rng = new SeededRng(99);
    const chunk = pattern(1480, 3);
    let highBytes = 0;
    let highDatagrams = 0;
    for (let batch = 0; batch < 30; batch++) {
      for (let i = 0; i < 1000; i++) {
        const v6 = rng.chance(0.3);
        const len = 8 * (1 + rng.nextInt(180));
        const offset = 8 * rng.nextInt(6000);
        const more = rng.chance(0.9);
        const id = rng.nextU32();
        if (v6) {
          const src = `fd00::${(1 + rng.nextInt(0xfffe)).toString(16)}`;
          inject(a, ipv6(src, SERVER6, UDP, chunk.subarray(0, len), { offset, more, id }));
        } else {
          const src = `10.0.${rng.nextInt(256)}.${rng.nextInt(256)}`;
          inject(
            a,
            ipv4(src, SERVER4, rng.pick([TCP, UDP]), chunk.subarray(0, len), { id: id & 0xffff, more, offset }),
          );
        }
      }
      a.t.net.runFor(ms(2));
      const r = a.server.host.ip.reassembler;
      highBytes = Math.max(highBytes, r.bytesHeld);
      highDatagrams = Math.max(highDatagrams, r.datagramsHeld);
      assert.ok(r.bytesHeld <= maxBytes && r.datagramsHeld <= maxDatagrams);
      if (batch % 10 === 5) {
        // Mid-flood, an honest fragmented datagram: its fragments arrive together and complete.
        const d = udp(CLIENT4, SERVER4, 5555, 7100, pattern(2000, batch));
        a.client.host.transmit(
          a.client.nic,
          a.server.nic.mac,
          EtherType.Ipv4,
          ipv4(CLIENT4, SERVER4, UDP, d.subarray(0, 1480), { id: batch, more: true }),
        );
        a.client.host.transmit(
          a.client.nic,
          a.server.nic.mac,
          EtherType.Ipv4,
          ipv4(CLIENT4, SERVER4, UDP, d.subarray(1480), { id: batch, offset: 1480 }),
        );
      }
    }
    a.t.net.runFor(ms(10));
    const c = a.server.host.ip.reassembler.counters;
    assert.ok(c.fragmentsReceived >= 30_000);
    assert.ok(c.dropped.overBudget > 1000, `overBudget: ${c.dropped.overBudget}`);
    assert.ok(
      highDatagrams === maxDatagrams || highBytes > 0.9 * maxBytes,
      `a limit was reached: ${highBytes} bytes, ${highDatagrams} datagrams`,
    );
    assert.equal(honest.got.length, 3, "the honest datagrams sent mid-flood were reassembled");
    honest.socket.close();
    assertBounded(a);
    assertHonestTrafficWorks(a);
  });
});

describe("hostile input: connection floods", () => {
  it("a SYN flood from spoofed on-link sources fills the half-open queue and no more; honest clients connect after it", () => {
    const a = arena();
    const l4 = a.server.host.tcp.socket(a.server.app, 4);
    l4.bind(undefined, 80);
    l4.listen();
    const l6 = a.server.host.tcp.socket(a.server.app, 6);
    l6.bind(undefined, 8080);
    l6.listen();
    const rng = new SeededRng(5);
    let neighbours = 0;
    // Three waves of 2,500 SYNs per IP version over 1 s each, 10 s apart (the half-open entries of a wave
    // give up after the SYN-ACK's retransmissions, 1 + 2 + 4 s).
    for (let wave = 0; wave < 3; wave++) {
      for (let step = 0; step < 10; step++) {
        for (let i = 0; i < 250; i++) {
          const s4 = `10.0.${1 + rng.nextInt(250)}.${1 + rng.nextInt(254)}`;
          const s6 = `fd00::${(0x100 + rng.nextInt(0xfe00)).toString(16)}:${rng.nextInt(0xffff).toString(16)}`;
          const port = 1024 + rng.nextInt(60000);
          inject(
            a,
            ipv4(
              s4,
              SERVER4,
              TCP,
              tcp(s4, SERVER4, { srcPort: port, dstPort: 80, flags: TCP_SYN, seq: rng.nextU32(), ack: 0 }),
            ),
          );
          inject(
            a,
            ipv6(
              s6,
              SERVER6,
              TCP,
              tcp(s6, SERVER6, { srcPort: port, dstPort: 8080, flags: TCP_SYN, seq: rng.nextU32(), ack: 0 }),
            ),
          );
        }
        a.t.net.runFor(ms(100));
        for (const l of [l4, l6]) assert.ok((l.listener?.synReceivedCount ?? 0) <= (l.listener?.maxSynReceived ?? 0));
        assertBounded(a, { connections: 2 * 256, sockets: 2 * 256 + 2 });
        neighbours = Math.max(neighbours, a.server.host.neighborCache(a.server.nic)?.entries().length ?? 0);
      }
      if (wave === 0) {
        // During the flood an honest client is refused like the flood's SYNs: every half-open slot is
        // taken, its SYN and both retransmissions are dropped, and connect() times out (no SYN cookies).
        const c = a.client.host.tcp.socket(a.client.app, 4);
        c.connect(addr(SERVER4), 80);
        a.t.net.runFor(seconds(9));
        assert.equal(c.outcome, "timed-out");
      } else a.t.net.runFor(seconds(9));
    }
    for (const l of [l4, l6]) {
      const k = l.listener?.counters;
      assert.ok(k !== undefined && k.synDropsHalfOpenFull > 1000, `half-open-full drops: ${k?.synDropsHalfOpenFull}`);
      assert.ok(k.synsAdmitted >= 3 * 256, `admitted: ${k.synsAdmitted}`);
    }
    assert.ok(a.server.host.tcp.counters.synDropsBacklog > 2000);
    // Each SYN-ACK went to a spoofed address nobody answers for: one INCOMPLETE neighbour entry per
    // half-open connection (a refused SYN costs none), and the SYN-ACKs were dropped unresolved.
    assert.ok(neighbours >= 2 * 256 && neighbours <= 1024, `neighbour cache high-water mark ${neighbours}`);
    assert.ok((a.server.host.ip.counters.discards.AddressResolutionFailure ?? 0) > 1000);
    // The flood is over: the half-open entries time out and their sockets are forgotten.
    a.t.net.runFor(seconds(20));
    assert.equal(l4.listener?.synReceivedCount, 0);
    assert.equal(l6.listener?.synReceivedCount, 0);
    assertBounded(a, { connections: 0, sockets: 2 });
    const got: Uint8Array[] = [];
    l4.onAccept = (s) => {
      s.onData = (b) => got.push(b);
    };
    const c = a.client.host.tcp.socket(a.client.app, 4);
    c.onConnect = () => c.send(pattern(5000, 1));
    c.connect(addr(SERVER4), 80);
    a.t.net.runFor(seconds(1));
    assert.equal(c.outcome, "connected", "an honest client connects to the flooded port after the flood");
    assert.equal(
      got.reduce((n, b) => n + b.length, 0),
      5000,
    );
    c.abort();
    a.t.net.runFor(seconds(1));
    l4.close();
    l6.close();
    assertHonestTrafficWorks(a);
    assertBounded(a, { sockets: 4 });
  });

  it("a connection flood (completed handshakes, then aborts) does not use up the listener's backlog", () => {
    const a = arena();
    const l = a.server.host.tcp.socket(a.server.app, 4);
    l.bind(undefined, 80);
    l.listen();
    let accepted = 0;
    l.onAccept = (s) => {
      accepted++;
      s.onEnd = () => s.close();
    };
    for (let i = 0; i < 300; i++) {
      const c = a.mallory.host.tcp.socket(a.mallory.app, 4);
      c.onConnect = () => a.t.net.scheduler.after(ms(1), () => c.abort());
      c.connect(addr(SERVER4), 80);
      if (i % 50 === 49) a.t.net.runFor(ms(100));
    }
    a.t.net.runFor(seconds(1));
    assert.equal(accepted, 300, "each completed handshake was accepted (the backlog is a queue, not a lifetime quota)");
    assert.equal(a.server.host.tcp.connectionCount, 0, "every reset connection is gone");
    const c = a.client.host.tcp.socket(a.client.app, 4);
    c.connect(addr(SERVER4), 80);
    a.t.net.runFor(seconds(1));
    assert.equal(c.outcome, "connected");
    assert.equal(l.listener?.counters.synDropsAcceptQueueFull, 0);
    c.abort();
    a.t.net.runFor(seconds(1));
    l.close();
    assertBounded(a, { sockets: 2 });
    assertHonestTrafficWorks(a);
  });
});

describe("hostile input: blind attacks on a live connection (RFC 5961)", () => {
  for (const v of [4, 6] as const) {
    it(`a RST or SYN with a wrong sequence number draws a challenge ACK and the connection survives (IPv${v})`, () => {
      const a = arena();
      const [client, server] = v === 4 ? [CLIENT4, SERVER4] : [CLIENT6, SERVER6];
      const up = pattern(60_000, v);
      const x = tcpExchange(a.client, a.server, { family: v, port: 80, to: addr(server), up, down: pattern(0, 0) });
      // The server sends nothing and closes once the client's FIN arrives; the client sends its data in
      // two halves, 200 ms apart, so the attack lands on an ESTABLISHED connection mid-transfer.
      x.listener.onAccept = (s) => {
        x.server = s;
        s.onData = (b) => x.atServer.push(b);
        s.onEnd = () => {
          x.serverSawFin = true;
          s.close();
        };
      };
      x.client.onConnect = () => {
        x.client.send(up.subarray(0, 30_000));
        a.t.net.scheduler.after(ms(200), () => {
          x.client.send(up.subarray(30_000));
          x.client.shutdown();
        });
      };
      a.t.net.runFor(ms(100));
      const conn = x.server?.connection;
      assert.ok(conn !== undefined && conn.state === "ESTABLISHED");
      const sport = x.client.localPort;
      const nxt = conn.rcvNxt;
      const blind = (seq: number, flags: number) =>
        inject(a, ip(client, server, TCP, tcp(client, server, { srcPort: sport, dstPort: 80, seq, ack: 0, flags })));
      const before = { ...conn.counters.drops };
      const challenges = conn.counters.challengeAcks;
      blind((nxt + 1000) >>> 0, TCP_RST); // in the window, not at RCV.NXT
      blind((nxt + 0x40000000) >>> 0, TCP_RST); // far outside the window
      blind((nxt + 10) >>> 0, TCP_SYN); // a SYN on a synchronized connection
      blind((nxt - 5000) >>> 0, TCP_RST | TCP_ACK);
      a.t.net.runFor(ms(500));
      const d = conn.counters.drops;
      assert.equal(d["rst-in-window"] - before["rst-in-window"], 1);
      assert.equal(d["rst-out-of-window"] - before["rst-out-of-window"], 2);
      assert.equal(d["syn-challenged"] - before["syn-challenged"], 1);
      assert.equal(conn.counters.challengeAcks - challenges, 2, "RFC 5961 §3.2 and §4: a challenge ACK each");
      a.t.net.runFor(seconds(300));
      assert.ok(sameBytes(x.atServer.bytes(), up), "every byte arrived, once");
      assert.ok(x.serverSawFin && x.clientSawFin);
      assert.equal(conn.closeReason, "closed", "the connection ended by its close handshake, not by a reset");
      x.listener.close();
      assertBounded(a);
      assertHonestTrafficWorks(a);
    });
  }
});

describe("hostile input: ICMP errors", () => {
  it("errors quoting other flows are ignored and counted; path MTU only follows errors about our own flows", () => {
    const a = arena();
    const x = tcpExchange(a.client, a.server, {
      family: 4,
      port: 80,
      to: addr(SERVER4),
      up: pattern(0, 0),
      down: pattern(0, 0),
    });
    x.listener.onAccept = (s) => {
      x.server = s;
      s.onData = (b) => x.atServer.push(b);
    };
    x.client.onConnect = () => {};
    const u = a.server.host.udp.socket(a.server.app, 4);
    u.bind(undefined, 5353);
    a.t.net.runFor(ms(50));
    const icmp = a.server.host.icmp.counters;
    const foreign = icmp.foreignQuotes;
    const errorsIn = icmp.errorsIn;
    const clientPort = x.client.localPort;
    const quote = (src: string, dst: string, protocol: number, sport: number, dport: number) =>
      ip(
        src,
        dst,
        protocol,
        protocol === TCP
          ? tcp(src, dst, { srcPort: sport, dstPort: dport })
          : udp(src, dst, sport, dport, pattern(8, 1)),
      ).subarray(0, 48);
    // Port unreachable about a UDP datagram no socket sent; about one from an address that is not ours.
    inject(a, icmpError(MALLORY4, SERVER4, "unreachable", 3, quote(SERVER4, CLIENT4, UDP, 5354, 53)));
    inject(a, icmpError(MALLORY4, SERVER4, "unreachable", 3, quote(MALLORY4, CLIENT4, UDP, 5353, 53)));
    // "Fragmentation needed" (MTU 576) about a TCP segment of no connection, to the honest client.
    inject(a, icmpError(MALLORY4, SERVER4, "too-big", 0, quote(SERVER4, CLIENT4, TCP, 80, clientPort + 1), 576));
    // Host unreachable about a TCP segment of no connection.
    inject(a, icmpError(MALLORY4, SERVER4, "unreachable", 1, quote(SERVER4, CLIENT4, TCP, 81, clientPort)));
    // IPv6: packet too big (1280) about a flow that does not exist.
    inject(a, icmpError(MALLORY6, SERVER6, "too-big", 0, quote(SERVER6, CLIENT6, TCP, 80, 40000), 1280));
    a.t.net.runFor(ms(50));
    assert.equal(icmp.errorsIn - errorsIn, 5);
    assert.equal(icmp.foreignQuotes - foreign, 5);
    assert.equal(u.counters.errors, 0, "the UDP socket on 5353 was not told of an error about port 5354");
    assert.equal(a.server.host.ip.pathMtu.size, 0, "no path MTU was lowered on the attacker's word");
    assert.equal(x.server?.error, undefined);
    // A flood of "fragmentation needed" quoting 2,000 made-up destinations leaves the path MTU table empty.
    for (let i = 0; i < 2000; i++) {
      const dst = `10.0.${i >> 8}.${i & 0xff}`;
      inject(a, icmpError(MALLORY4, SERVER4, "too-big", 0, quote(SERVER4, dst, TCP, 80, 40000 + i), 576));
    }
    a.t.net.runFor(ms(50));
    assert.equal(a.server.host.ip.pathMtu.size, 0);
    // Control: the same error about the live connection is acted on (RFC 1191).
    const conn = x.server?.connection;
    assert.ok(conn !== undefined);
    inject(a, icmpError(MALLORY4, SERVER4, "too-big", 0, quote(SERVER4, CLIENT4, TCP, 80, clientPort), 1000));
    a.t.net.runFor(ms(50));
    assert.equal(a.server.host.ip.pathMtu.get(CLIENT4), 1000);
    assert.equal(conn.effectiveMss, 960);
    x.client.abort();
    u.close();
    x.listener.close();
    a.t.net.runFor(seconds(1));
    assertBounded(a);
    assertHonestTrafficWorks(a);
  });

  it("errors quoting garbage are counted and ignored", () => {
    const a = arena();
    const icmp = a.server.host.icmp.counters;
    const bad = icmp.badQuotes;
    const garbage = [
      pattern(7, 1), // shorter than an IP header
      Uint8Array.of(0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17), // an IPv4 header cut in half
      Uint8Array.of(0x75, ...pattern(30, 2)), // version 7
      Uint8Array.of(0x4f, 0, 0, 20, ...pattern(16, 3)), // IHL 15 (60 bytes) in 20
    ];
    for (const g of garbage) inject(a, icmpError(MALLORY4, SERVER4, "unreachable", 3, g));
    for (const g of [pattern(20, 4), Uint8Array.of(0x60, 0, 0, 0, 0, 8, 17, 64)])
      inject(a, icmpError(MALLORY6, SERVER6, "unreachable", 4, g));
    a.t.net.runFor(ms(50));
    assert.equal(icmp.badQuotes - bad, 6);
    assertBounded(a);
    assertHonestTrafficWorks(a);
  });
});

describe("hostile input: malformed headers, bad checksums, other MACs", () => {
  it("malformed IP, TCP and UDP headers are dropped and counted (MalformedHeader, BadLength)", () => {
    const a = arena();
    const l = a.server.host.tcp.socket(a.server.app, 4);
    l.bind(undefined, 80);
    l.listen();
    const u = sink(a, 4, 7000);
    const good4 = ipv4(MALLORY4, SERVER4, UDP, udp(MALLORY4, SERVER4, 5000, 7000, pattern(20, 1)));
    const syn = ipv4(MALLORY4, SERVER4, TCP, tcp(MALLORY4, SERVER4, { flags: TCP_SYN, dstPort: 80 }));
    const set = (p: Uint8Array, at: number, ...v: number[]) => {
      const out = p.slice();
      out.set(v, at);
      return out;
    };
    const fixChecksum = (p: Uint8Array) => {
      const out = p.slice();
      out[10] = 0;
      out[11] = 0;
      let sum = 0;
      for (let i = 0; i < 20; i += 2) sum += ((out[i] as number) << 8) | (out[i + 1] as number);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      const c = ~sum & 0xffff;
      out[10] = c >>> 8;
      out[11] = c & 0xff;
      return out;
    };
    const M = "MalformedHeader";
    const malformed: [Uint8Array, "MalformedHeader" | "BadLength", string][] = [
      [good4.subarray(0, 12), M, "IPv4 header cut short"],
      [fixChecksum(set(good4, 0, 0x44)), M, "IHL 4"],
      [fixChecksum(set(good4, 2, 0x10, 0x00)), "BadLength", "total length 4,096 in a 48-byte packet"],
      [fixChecksum(set(good4, 2, 0x00, 0x10)), M, "total length 16, shorter than the header"],
      [set(good4, 0, 0x55), M, "version 5"],
      [fixChecksum(set(good4, 24, 0x00, 0x04)), M, "UDP length 4 (< 8)"],
      [fixChecksum(set(good4, 24, 0x04, 0x00)), M, "UDP length 1,024 beyond the datagram"],
      [fixChecksum(set(syn, 32, 0x30)), M, "TCP data offset 3"],
      [fixChecksum(set(syn, 32, 0xf0)), M, "TCP data offset 15 (60 bytes) in 20"],
      [fixChecksum(set(syn.subarray(0, 30), 2, 0, 30)), M, "TCP header cut at 10 bytes"],
      [ipv6(MALLORY6, SERVER6, UDP, pattern(4, 5)), M, "IPv6: UDP header cut short"],
      [
        set(ipv6(MALLORY6, SERVER6, UDP, udp(MALLORY6, SERVER6, 1, 7001, pattern(8, 6))), 4, 0x10, 0x00),
        "BadLength",
        "IPv6 payload length 4,096 in a 56-byte packet",
      ],
      [set(ipv6(MALLORY6, SERVER6, 0, pattern(8, 7)), 40, 17, 200), M, "IPv6 hop-by-hop header longer than the packet"],
    ];
    const discards = a.server.host.ip.counters.discards;
    for (const [p, reason, what] of malformed) {
      const before = discards[reason] ?? 0;
      inject(a, p);
      a.t.net.runFor(ms(5));
      assert.equal((discards[reason] ?? 0) - before, 1, `${what}: counted as ${reason}`);
    }
    assert.equal(u.got.length, 0);
    assert.equal(l.listener?.counters.synsReceived, 0);
    assert.equal(a.server.host.tcp.counters.resetsSent, 0);
    l.close();
    u.socket.close();
    assertBounded(a);
    assertHonestTrafficWorks(a);
  });

  it("bad IPv4 header, TCP, UDP and ICMP checksums are dropped and counted, never answered", () => {
    const a = arena();
    const u4 = sink(a, 4, 7000);
    const u6 = sink(a, 6, 7001);
    const h = a.server.host;
    const good = {
      udp4: ipv4(MALLORY4, SERVER4, UDP, udp(MALLORY4, SERVER4, 5000, 7000, pattern(20, 1))),
      udp6: ipv6(MALLORY6, SERVER6, UDP, udp(MALLORY6, SERVER6, 5000, 7001, pattern(20, 2))),
      syn4: ipv4(MALLORY4, SERVER4, TCP, tcp(MALLORY4, SERVER4, { flags: TCP_SYN, dstPort: 81 })),
      syn6: ipv6(MALLORY6, SERVER6, TCP, tcp(MALLORY6, SERVER6, { flags: TCP_SYN, dstPort: 81 })),
      ping4: echoRequest(MALLORY4, SERVER4, 9, 1),
      ping6: echoRequest(MALLORY6, SERVER6, 9, 1),
    };
    // Control: the good packets are delivered, answered with a RST (closed port) and echo replies.
    for (const p of Object.values(good)) inject(a, p);
    a.t.net.runFor(ms(50));
    assert.deepEqual([u4.got.length, u6.got.length], [1, 1]);
    assert.equal(h.tcp.counters.resetsSent, 2);
    assert.equal(h.icmp.counters.echoRepliesOut, 2);
    const start = {
      ip: h.ip.counters.discards.BadChecksum ?? 0,
      tcp: h.tcp.counters.checksumErrors,
      udp: h.udp.counters.checksumErrors,
      icmp: h.icmp.counters.checksumErrors,
    };
    const zeroChecksum6 = good.udp6.slice();
    zeroChecksum6[46] = 0;
    zeroChecksum6[47] = 0;
    const bad = [
      flip(good.udp4, 10), // IPv4 header checksum
      flip(good.udp4, 8), // TTL changed, header checksum not updated
      flip(good.udp4, 40), // UDP payload byte
      flip(good.udp6, 50),
      zeroChecksum6, // RFC 8200 §8.1: a zero UDP checksum over IPv6 is invalid
      flip(good.syn4, 37), // TCP header byte
      flip(good.syn6, 53),
      flip(good.ping4, 30), // ICMP payload byte
      flip(good.ping6, 50),
    ];
    for (const p of bad) inject(a, p);
    a.t.net.runFor(ms(50));
    assert.equal((h.ip.counters.discards.BadChecksum ?? 0) - start.ip, 2, "IPv4 header checksums");
    assert.equal(h.udp.counters.checksumErrors - start.udp, 3, "UDP checksums");
    assert.equal(h.tcp.counters.checksumErrors - start.tcp, 2, "TCP checksums");
    assert.equal(h.icmp.counters.checksumErrors - start.icmp, 2, "ICMP checksums");
    assert.deepEqual([u4.got.length, u6.got.length], [1, 1], "no bad datagram delivered");
    assert.equal(h.tcp.counters.resetsSent, 2, "no RST for a bad segment");
    assert.equal(h.icmp.counters.echoRepliesOut, 2, "no echo reply to a bad request");
    // A zero UDP checksum over IPv4 means "none" (RFC 768): accepted.
    const none4 = good.udp4.slice();
    none4[26] = 0;
    none4[27] = 0;
    inject(a, none4);
    a.t.net.runFor(ms(50));
    assert.equal(u4.got.length, 2);
    u4.socket.close();
    u6.socket.close();
    assertBounded(a);
    assertHonestTrafficWorks(a);
  });

  it("frames for other MACs (a MAC flood), unknown EtherTypes and runt frames are dropped; the switch table stays bounded", () => {
    const a = arena();
    const nic = a.server.nic;
    const u = sink(a, 4, 7000);
    const packet = ipv4(MALLORY4, SERVER4, UDP, udp(MALLORY4, SERVER4, 5000, 7000, pattern(20, 1)));
    const rng = new SeededRng(3);
    const frame = (dst: string, src: string, etherType: number, payload: Uint8Array) => {
      const f = new Uint8Array(14 + payload.length);
      emitEthernetHeader({ dst, src, etherType, tags: [] }, f, 0);
      f.set(payload, 14);
      return f;
    };
    const mac = () =>
      [2, rng.nextInt(256), rng.nextInt(256), rng.nextInt(256), rng.nextInt(256), rng.nextInt(256)]
        .map((b) => b.toString(16).padStart(2, "0"))
        .join(":");
    const dropped = nic.counters.framesDropped;
    const packetsIn = a.server.host.ip.counters.packetsIn;
    const port = a.mallory.nic.port;
    assert.ok(port !== undefined);
    // 10,000 unicast frames for MACs nobody has (the switch floods them to every port), each from a new
    // random MAC: a MAC flood, more source addresses than the switch's filtering database holds.
    for (let i = 0; i < 10_000; i++) port.transmit(frame(mac(), mac(), EtherType.Ipv4, packet));
    // Frames for the server's MAC with an EtherType it does not speak, and runts.
    for (let i = 0; i < 10; i++) port.transmit(frame(nic.macText, a.mallory.nic.macText, 0x88b5, packet));
    // Runts: long enough for the switch (both MACs) but not for an Ethernet header.
    for (let i = 0; i < 10; i++)
      port.transmit(frame(nic.macText, a.mallory.nic.macText, EtherType.Ipv4, packet).subarray(0, 12 + (i % 2)));
    a.t.net.runFor(ms(50));
    assert.equal(nic.counters.framesDropped - dropped, 10_020);
    const lan = a.t.net.segment("lan");
    assert.ok(lan !== undefined && lan.learnedCount <= 8192, `the switch learned ${lan?.learnedCount} MACs`);
    assert.ok(lan.counters.learningRefused > 1000);
    assert.equal(a.server.host.ip.counters.packetsIn, packetsIn, "nothing reached IP");
    assert.equal(u.got.length, 0);
    u.socket.close();
    assertBounded(a);
    assertHonestTrafficWorks(a);
  });
});
