import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type IpAddress, Ipv4Address, Ipv6Address } from "../../src/base/index.ts";
import { FilterEngine } from "../../src/engine/index.ts";
import { type ClassifyRecord, Shim } from "../../src/shim/index.ts";
import { type Host, ms, Network, type Process, seconds } from "../../src/stack/index.ts";
import { registerInspect, type TransportInspector } from "./inspect.ts";

interface Side {
  readonly host: Host;
  readonly engine: FilterEngine;
  readonly shim: Shim;
  readonly app: Process;
}

/** Two hosts on one switch with v4 and v6 addresses and static neighbours; the client runs the inspect callout. */
function lan(policy?: { blockedRemotePorts?: number[] }) {
  const net = new Network({ seed: 11 });
  net.link("lan", { delayNs: ms(1) });
  const log: ClassifyRecord[] = [];
  const side = (name: string, v4: string, v6: string, pid: number): Side => {
    const engine = new FilterEngine();
    const shim = new Shim({ engine, clock: net.scheduler, host: name, log: (r) => log.push(r) });
    const host = net.host(name, shim);
    net.attach(host, "eth0", "lan", { addresses: [`${v4}/24`, `${v6}/64`] });
    return { host, engine, shim, app: host.process({ processId: pid, imagePath: `C:\\Apps\\${name}.exe` }) };
  };
  const client = side("client", "10.0.0.1", "fd00::1", 100);
  const server = side("server", "10.0.0.2", "fd00::2", 200);
  const [cn, sn] = [client.host.interfaces[0], server.host.interfaces[0]];
  if (cn === undefined || sn === undefined) throw new Error("no NIC");
  for (const a of sn.addresses) client.host.addStaticNeighbor(cn, a.address, sn.mac);
  for (const a of cn.addresses) server.host.addStaticNeighbor(sn, a.address, cn.mac);
  // The sample's worker thread: inspection takes 50 µs of simulated time.
  const inspector: TransportInspector = registerInspect(client.engine, client.shim, {
    worker: (fn) => net.scheduler.after(ms(0.05), fn),
    ...(policy !== undefined ? { policy } : {}),
  });
  return { net, log, client, server, inspector };
}

/** A TCP echo of `size` bytes from client to `address`:80 and back; both sides close. */
function echo(t: ReturnType<typeof lan>, address: IpAddress, size: number) {
  const family = address.version;
  const l = t.server.host.tcp.socket(t.server.app, family);
  l.bind(undefined, 80);
  l.listen();
  let atServer = 0;
  l.onAccept = (c) => {
    c.onData = (b) => {
      atServer += b.length;
      c.send(b);
    };
    c.onEnd = () => c.close();
  };
  const received: Uint8Array[] = [];
  const c = t.client.host.tcp.socket(t.client.app, family);
  const message = new Uint8Array(size);
  for (let i = 0; i < size; i++) message[i] = (i * 7) & 0xff;
  c.onConnect = () => c.send(message);
  c.onData = (b) => {
    received.push(b);
    if (received.reduce((n, x) => n + x.length, 0) === size) c.close();
  };
  c.connect(address, 80);
  t.net.runFor(seconds(1));
  const back = new Uint8Array(size);
  let o = 0;
  for (const b of received) {
    back.set(b, o);
    o += b.length;
  }
  return { c, atServer, back, message };
}

const layer = (r: ClassifyRecord): string => (r.layer.fwpmName ?? "").replace(/^FWPM_LAYER_/, "");

describe("examples/callouts/inspect.ts (the WDK inspect sample, out-of-band inspection D42)", () => {
  for (const [v, address] of [
    [4, Ipv4Address.parse("10.0.0.2")],
    [6, Ipv6Address.parse("fd00::2")],
  ] as const) {
    it(`IPv${v}: every TCP segment is taken out, inspected later and reinjected; the echo comes back intact`, () => {
      const t = lan();
      const { c, atServer, back, message } = echo(t, address, 20_000);
      assert.equal(c.outcome, "connected");
      assert.equal(atServer, 20_000);
      assert.deepEqual(back, message, "the echo arrived byte for byte");
      const { inspected, counters } = t.inspector;
      assert.ok(inspected.some((p) => p.direction === "outbound" && p.remotePort === 80));
      assert.ok(inspected.some((p) => p.direction === "inbound" && p.remotePort === 80));
      assert.ok(inspected.every((p) => p.ipVersion === v && p.verdict === "reinjected"));
      assert.equal(counters.reinjected, counters.cloned);
      assert.equal(counters.completed, counters.reinjected, "one completion per injected clone (D35)");
      assert.equal(
        counters.selfInjectedPermitted,
        counters.reinjected,
        "each clone came back once and was let through",
      );
      assert.deepEqual(t.inspector.failures, []);
      // Outbound: every segment is indicated at OUTBOUND_TRANSPORT twice (the original, then the clone).
      const out = t.log.filter((r) => r.host === "client" && layer(r) === `OUTBOUND_TRANSPORT_V${v}`);
      const ip = t.log.filter((r) => r.host === "client" && layer(r) === `OUTBOUND_IPPACKET_V${v}`);
      assert.equal(out.length, 2 * ip.length);
      assert.ok(out.filter((r) => r.absorbed).length === ip.length, "half of them absorbed");
    });
  }

  it("UDP both ways: datagrams and replies are inspected and delivered", () => {
    const t = lan();
    const srv = t.server.host.udp.socket(t.server.app);
    srv.bind(undefined, 53);
    srv.onMessage = (m) => srv.sendTo(m.data, m.remoteAddress, m.remotePort);
    const cli = t.client.host.udp.socket(t.client.app);
    const replies: string[] = [];
    cli.onMessage = (m) => replies.push(new TextDecoder().decode(m.data));
    for (const q of ["one", "two", "three"]) cli.sendTo(new TextEncoder().encode(q), Ipv4Address.parse("10.0.0.2"), 53);
    t.net.runFor(ms(100));
    assert.deepEqual(replies, ["one", "two", "three"]);
    const { inspected, counters } = t.inspector;
    // The first reply opens the inbound flow at the client: ALE_CLASSIFY_REQUIRED, left to ALE (D22).
    assert.equal(counters.aleClassifyRequired, 0, "replies arrive on the flow the first datagram created");
    assert.deepEqual(
      inspected.map((p) => `${p.direction} ${p.remotePort} ${p.verdict}`),
      [
        "outbound 53 reinjected",
        "outbound 53 reinjected",
        "outbound 53 reinjected",
        "inbound 53 reinjected",
        "inbound 53 reinjected",
        "inbound 53 reinjected",
      ],
    );
  });

  it("with a policy the worker decides: datagrams to a blocked port are dropped, the rest delivered", () => {
    const t = lan({ blockedRemotePorts: [9999] });
    const got: string[] = [];
    for (const port of [53, 9999]) {
      const s = t.server.host.udp.socket(t.server.app);
      s.bind(undefined, port);
      s.onMessage = (m) => got.push(`${port}:${new TextDecoder().decode(m.data)}`);
    }
    const cli = t.client.host.udp.socket(t.client.app);
    const to = Ipv4Address.parse("10.0.0.2");
    cli.sendTo(new TextEncoder().encode("allowed"), to, 53);
    cli.sendTo(new TextEncoder().encode("blocked"), to, 9999);
    cli.sendTo(new TextEncoder().encode("allowed again"), to, 53);
    t.net.runFor(ms(100));
    assert.deepEqual(got, ["53:allowed", "53:allowed again"]);
    assert.deepEqual(
      t.inspector.inspected.map((p) => `${p.remotePort} ${p.verdict}`),
      ["53 reinjected", "9999 dropped", "53 reinjected"],
    );
    assert.equal(t.inspector.counters.dropped, 1);
    assert.equal(
      t.log.filter((r) => r.host === "server" && layer(r) === "INBOUND_IPPACKET_V4").length,
      2,
      "the blocked datagram never left the client",
    );
  });

  it("a TCP connection to a blocked port never gets its SYN out", () => {
    const t = lan({ blockedRemotePorts: [8080] });
    const l = t.server.host.tcp.socket(t.server.app);
    l.bind(undefined, 8080);
    l.listen();
    const c = t.client.host.tcp.socket(t.client.app);
    c.connect(Ipv4Address.parse("10.0.0.2"), 8080);
    t.net.runFor(seconds(5));
    assert.notEqual(c.outcome, "connected");
    assert.equal(t.log.filter((r) => r.host === "server" && r.packet === "SYN").length, 0);
    assert.ok(t.inspector.counters.dropped >= 2, "the SYN and its retransmissions were dropped");
  });
});
