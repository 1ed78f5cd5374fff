import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type IpAddress, Ipv4Address, Ipv6Address } from "../../src/base/index.ts";
import { FilterEngine } from "../../src/engine/index.ts";
import { type ClassifyRecord, parseIpPacket, Shim, tcpSegmentLabel } from "../../src/shim/index.ts";
import { type Host, ms, Network, type Process, seconds } from "../../src/stack/index.ts";
import { Ipv4View, verifyTcpChecksum, verifyUdpChecksum } from "../../src/wire/index.ts";
import { type CapturedPacket, drive, fixChecksums, PacketCapture, type Verdict } from "./packet-capture.ts";

interface Side {
  readonly host: Host;
  readonly engine: FilterEngine;
  readonly shim: Shim;
  readonly app: Process;
}

function side(net: Network, log: ClassifyRecord[], name: string, pid: number): Side {
  const engine = new FilterEngine();
  const shim = new Shim({ engine, clock: net.scheduler, host: name, log: (r) => log.push(r) });
  const host = net.host(name, shim);
  return { host, engine, shim, app: host.process({ processId: pid, imagePath: `C:\\Apps\\${name}.exe` }) };
}

/** client and server on one switch, v4 and v6, static neighbours. */
function lan() {
  const net = new Network({ seed: 5 });
  net.link("lan", { delayNs: ms(1) });
  const log: ClassifyRecord[] = [];
  const client = side(net, log, "client", 100);
  const server = side(net, log, "server", 200);
  const cn = net.attach(client.host, "eth0", "lan", { addresses: ["10.0.0.1/24", "fd00::1/64"] });
  const sn = net.attach(server.host, "eth0", "lan", { addresses: ["10.0.0.2/24", "fd00::2/64"] });
  for (const a of sn.addresses) client.host.addStaticNeighbor(cn, a.address, sn.mac);
  for (const a of cn.addresses) server.host.addStaticNeighbor(sn, a.address, cn.mac);
  return { net, log, client, server };
}

/** Serves `captures` with `handler` while the simulation runs for `duration`, then closes them. */
async function run(
  net: Network,
  captures: readonly PacketCapture[],
  handler: (p: CapturedPacket, i: number) => Verdict,
  duration = seconds(1),
): Promise<void> {
  const served = captures.map((c, i) => c.serve((p) => handler(p, i)));
  await drive(net.scheduler, captures, net.scheduler.nowNs() + duration);
  for (const c of captures) c.close();
  await Promise.all(served);
}

/** A TCP echo of `size` bytes to `address`:`port`, the server listening on `listenPort`. */
function startEcho(t: ReturnType<typeof lan>, address: IpAddress, port: number, listenPort: number, size: number) {
  const l = t.server.host.tcp.socket(t.server.app, address.version);
  l.bind(undefined, listenPort);
  l.listen();
  const accepted: number[] = [];
  l.onAccept = (c) => {
    accepted.push(c.localPort);
    c.onData = (b) => c.send(b);
    c.onEnd = () => c.close();
  };
  const c = t.client.host.tcp.socket(t.client.app, address.version);
  const state = { got: 0 };
  c.onConnect = () => c.send(new Uint8Array(size).fill(0x61));
  c.onData = (b) => {
    state.got += b.length;
    if (state.got === size) c.close();
  };
  c.connect(address, port);
  return { c, state, accepted };
}

const ipLayer = (r: ClassifyRecord): boolean => /_IPPACKET_V[46]$/.test(r.layer.fwpmName ?? "");
const shortName = (r: ClassifyRecord): string => (r.layer.fwpmName ?? "").replace(/^FWPM_LAYER_/, "");

/** How the classify log names a captured TCP packet: layer and flows.json label. */
function captureLabel(p: CapturedPacket): string {
  const info = parseIpPacket(p.bytes);
  assert.ok(info.ok);
  const t = info.value.transport;
  return `${p.layer}_V${p.ipVersion} ${tcpSegmentLabel(t?.tcpFlags ?? 0, t?.payloadLength ?? 0)}`;
}

describe("examples/callouts/packet-capture.ts (every IP packet to user mode, verdicts and reinjection)", () => {
  it("sees every IP packet of both hosts, in the order the IP packet layers indicate them, each once; the traffic still flows", async () => {
    // The same TCP echo without the capture, for reference.
    const ref = lan();
    const refEcho = startEcho(ref, Ipv4Address.parse("10.0.0.2"), 80, 80, 10_000);
    ref.net.runFor(seconds(1));
    assert.equal(refEcho.state.got, 10_000);

    const t = lan();
    const captures = [
      new PacketCapture(t.client.engine, t.client.shim),
      new PacketCapture(t.server.engine, t.server.shim),
    ];
    const seen: string[][] = [[], []];
    const echo = startEcho(t, Ipv4Address.parse("10.0.0.2"), 80, 80, 10_000);
    await run(t.net, captures, (p, i) => {
      seen[i]?.push(captureLabel(p));
      return "permit";
    });
    assert.equal(echo.state.got, 10_000, "the echo came back whole");
    assert.equal(echo.c.outcome, "connected");
    const label = (r: ClassifyRecord): string => `${shortName(r)} ${r.packet}`;
    for (const [i, name] of ["client", "server"].entries()) {
      const mine = t.log.filter((r) => r.host === name && ipLayer(r));
      // Every indication was absorbed for user mode, in the order user mode then saw it...
      const absorbed = mine.filter((r) => r.absorbed).map(label);
      assert.deepEqual(
        seen[i],
        absorbed,
        `${name}: the capture saw every packet the IP packet layers indicated, in order`,
      );
      // ...and came back exactly once, reinjected and let through (D34), in the same order.
      assert.deepEqual(mine.filter((r) => !r.absorbed).map(label), absorbed);
      const c = captures[i] as PacketCapture;
      assert.equal(c.counters.captured, absorbed.length);
      assert.equal(c.counters.reinjectedSeen, absorbed.length);
      assert.equal(c.counters.completed, absorbed.length);
      assert.deepEqual(c.failures, []);
      // The same packets as without the capture (reinjection is asynchronous, so same-instant events may
      // interleave differently; the segments are the same).
      const kinds = (rs: string[]) => rs.filter((x) => !x.endsWith(" ACK")).sort();
      const reference = ref.log.filter((r) => r.host === name && ipLayer(r)).map(label);
      assert.deepEqual(kinds(absorbed), kinds(reference), `${name}: the same SYN, data and FIN segments`);
    }
  });

  it("a modified UDP payload reaches the receiver as modified, with a checksum that verifies (D39)", async () => {
    const t = lan();
    const capture = new PacketCapture(t.client.engine, t.client.shim, { layers: ["OUTBOUND_IPPACKET"] });
    const arriving = new PacketCapture(t.server.engine, t.server.shim, { layers: ["INBOUND_IPPACKET"] });
    const srv = t.server.host.udp.socket(t.server.app, 6);
    const got: string[] = [];
    srv.onMessage = (m) => got.push(new TextDecoder().decode(m.data));
    srv.bind(undefined, 53);
    const cli = t.client.host.udp.socket(t.client.app, 6);
    cli.sendTo(new TextEncoder().encode("hello, world"), Ipv6Address.parse("fd00::2"), 53);
    const checksums: string[] = [];
    await run(t.net, [capture, arriving], (p, i) => {
      const info = parseIpPacket(p.bytes);
      if (!info.ok || info.value.protocol !== 17) return "permit";
      const start = info.value.transport?.offset ?? 0;
      if (i === 1) {
        const pseudo = { version: 6 as const, src: info.value.src as Ipv6Address, dst: info.value.dst as Ipv6Address };
        checksums.push(verifyUdpChecksum(p.bytes, start, p.bytes.length, pseudo));
        return "permit";
      }
      const bytes = p.bytes.slice();
      bytes.set(new TextEncoder().encode("HELLO"), start + 8);
      return bytes;
    });
    assert.deepEqual(got, ["HELLO, world"]);
    assert.deepEqual(checksums, ["good"], "the datagram on the wire carries a correct checksum");
    assert.equal(capture.counters.modified, 1);
  });

  it("rewriting TCP ports (a port redirect in user mode): the server gets port 80, the client's stack keeps talking to 8080", async () => {
    const t = lan();
    const capture = new PacketCapture(t.client.engine, t.client.shim, { ipVersions: [4] });
    const echo = startEcho(t, Ipv4Address.parse("10.0.0.2"), 8080, 80, 50_000);
    const setPort = (bytes: Uint8Array, offset: number, port: number): void => {
      bytes[offset] = port >> 8;
      bytes[offset + 1] = port & 0xff;
    };
    let rewritten = 0;
    await run(
      t.net,
      [capture],
      (p) => {
        const info = parseIpPacket(p.bytes);
        const tr = info.ok ? info.value.transport : undefined;
        if (tr === undefined || !info.ok || info.value.protocol !== 6) return "permit";
        const bytes = p.bytes.slice();
        if (p.layer === "OUTBOUND_IPPACKET" && tr.dstPort === 8080) setPort(bytes, tr.offset + 2, 80);
        else if (p.layer === "INBOUND_IPPACKET" && tr.srcPort === 80) setPort(bytes, tr.offset, 8080);
        else return "permit";
        rewritten++;
        return bytes;
      },
      seconds(2),
    );
    assert.equal(echo.c.outcome, "connected");
    assert.equal(echo.c.remotePort, 8080, "the client's socket still talks to 8080");
    assert.deepEqual(echo.accepted, [80], "the server accepted on port 80");
    assert.equal(echo.state.got, 50_000, "every byte came back through the rewritten ports");
    assert.ok(rewritten > 10);
    assert.equal(t.server.host.tcp.counters.checksumErrors, 0, "the checksums were fixed after each rewrite");
    assert.equal(t.client.host.tcp.counters.checksumErrors, 0);
  });

  it("a drop verdict drops: pings dropped in user mode get no reply, other traffic passes", async () => {
    const t = lan();
    const capture = new PacketCapture(t.server.engine, t.server.shim, { layers: ["INBOUND_IPPACKET"] });
    const ping = t.client.host.icmp.socket(t.client.app);
    ping.ping(Ipv4Address.parse("10.0.0.2"), 1, 1);
    const srv = t.server.host.udp.socket(t.server.app);
    const got: string[] = [];
    srv.onMessage = (m) => got.push(new TextDecoder().decode(m.data));
    srv.bind(undefined, 53);
    t.client.host.udp.socket(t.client.app).sendTo(new TextEncoder().encode("dns"), Ipv4Address.parse("10.0.0.2"), 53);
    await run(t.net, [capture], (p) => (parseIpPacket(p.bytes).ok && p.bytes[9] === 1 ? "drop" : "permit"));
    assert.equal(ping.replies.length, 0);
    assert.deepEqual(got, ["dns"]);
    assert.equal(capture.counters.dropped, 1);
  });

  it("forwarded packets are captured once at IPFORWARD and sent on by forward injection", async () => {
    const net = new Network({ seed: 9 });
    net.link("a", { delayNs: ms(1) });
    net.link("b", { delayNs: ms(1) });
    const log: ClassifyRecord[] = [];
    const client = side(net, log, "client", 1);
    const router = side(net, log, "router", 2);
    const server = side(net, log, "server", 3);
    const cn = net.attach(client.host, "eth0", "a", { addresses: ["10.0.1.1/24", "fd01::1/64"] });
    const ra = net.attach(router.host, "eth0", "a", { addresses: ["10.0.1.254/24", "fd01::fe/64"] });
    const rb = net.attach(router.host, "eth1", "b", { addresses: ["10.0.2.254/24", "fd02::fe/64"] });
    const sn = net.attach(server.host, "eth0", "b", { addresses: ["10.0.2.1/24", "fd02::1/64"] });
    ra.forwarding = true;
    rb.forwarding = true;
    client.host.addRoute("0.0.0.0/0", cn, "10.0.1.254");
    client.host.addRoute("::/0", cn, "fd01::fe");
    server.host.addRoute("0.0.0.0/0", sn, "10.0.2.254");
    server.host.addRoute("::/0", sn, "fd02::fe");
    const capture = new PacketCapture(router.engine, router.shim);
    const got: string[] = [];
    const replies: string[] = [];
    for (const [family, to, port] of [
      [4, Ipv4Address.parse("10.0.2.1"), 53],
      [6, Ipv6Address.parse("fd02::1"), 54],
    ] as const) {
      const srv = server.host.udp.socket(server.app, family);
      srv.onMessage = (m) => {
        got.push(new TextDecoder().decode(m.data));
        srv.sendTo(m.data, m.remoteAddress, m.remotePort);
      };
      srv.bind(undefined, port);
      const s = client.host.udp.socket(client.app, family);
      s.onMessage = (m) => replies.push(new TextDecoder().decode(m.data));
      s.sendTo(new TextEncoder().encode(`v${family}`), to, port);
    }
    const layers: string[] = [];
    await run(net, [capture], (p) => {
      layers.push(`${p.layer}_V${p.ipVersion}`);
      return "permit";
    });
    assert.deepEqual(got.sort(), ["v4", "v6"]);
    assert.deepEqual(replies.sort(), ["v4", "v6"]);
    assert.deepEqual(layers.sort(), ["IPFORWARD_V4", "IPFORWARD_V4", "IPFORWARD_V6", "IPFORWARD_V6"]);
    const atRouter = log.filter((r) => r.host === "router").map(shortName);
    assert.deepEqual(atRouter.sort(), layers.slice().sort(), "forward-injected packets are not indicated again");
  });
});

describe("fixChecksums (D39)", () => {
  it("repairs the IPv4 header and TCP checksums after an edit", () => {
    const t = lan();
    const capture = new PacketCapture(t.client.engine, t.client.shim, {
      layers: ["OUTBOUND_IPPACKET"],
      ipVersions: [4],
    });
    t.client.host.tcp.socket(t.client.app).connect(Ipv4Address.parse("10.0.0.2"), 80);
    // The capture holds the SYN without a consumer: read it off the queue.
    const it = capture[Symbol.asyncIterator]();
    return it.next().then((r) => {
      assert.equal(r.done, false);
      const syn = (r.value as CapturedPacket).bytes.slice();
      const tcp = parseIpPacket(syn);
      assert.ok(tcp.ok);
      const offset = tcp.value.transport?.offset ?? 20;
      syn[offset + 2] = 0x1f; // destination port 80 → 8016
      syn[8] = 7; // TTL
      const pseudo = { version: 4 as const, src: tcp.value.src as Ipv4Address, dst: tcp.value.dst as Ipv4Address };
      const header = () => {
        const v = Ipv4View.check(syn, 0, syn.length);
        assert.ok(v.ok);
        return v.value.checksumValid();
      };
      assert.equal(verifyTcpChecksum(syn, offset, syn.length, pseudo), false, "the edit broke the TCP checksum");
      assert.equal(header(), false, "and the header's");
      assert.equal(fixChecksums(syn), true);
      assert.equal(verifyTcpChecksum(syn, offset, syn.length, pseudo), true);
      assert.equal(header(), true);
      assert.equal(fixChecksums(new Uint8Array([1, 2, 3])), false);
      capture.close();
    });
  });
});
