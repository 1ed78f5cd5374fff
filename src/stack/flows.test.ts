/**
 * Every scenario of flows.json (wfp-semantics.md §F.2) runs on simulated hosts, and the classify log of
 * the scenario's role host — from the moment the operation starts, restricted to the packet kinds the
 * scenario names — equals the documented sequence: layer, packet, direction, the flags listed on each
 * step (and no flag that other steps list but this one does not), and the loopback side.
 * One scenario is compared as a prefix: ipv4-inbound-fragments lists the sequence up to
 * INBOUND_TRANSPORT, and its notes say that the upper layers follow.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FLOW_SCENARIOS, FWP_CONDITION_FLAG, type FlowScenario } from "../fwp/index.ts";
import type { ClassifyRecord } from "../shim/index.ts";
import { FilterEngine } from "../engine/index.ts";
import { Shim } from "../shim/index.ts";
import { Network } from "./network.ts";
import { addr, lan, type TestNet } from "./net-fixtures.testing.ts";
import { ms } from "./sim/scheduler.ts";

const V = {
  4: {
    client: "10.0.0.1",
    server: "10.0.0.2",
    clientCidr: "10.0.0.1/24",
    serverCidr: "10.0.0.2/24",
    loop: "127.0.0.1",
  },
  6: { client: "fd00::1", server: "fd00::2", clientCidr: "fd00::1/64", serverCidr: "fd00::2/64", loop: "::1" },
} as const;

interface Observed {
  readonly records: readonly ClassifyRecord[];
  readonly prefix?: boolean;
}

type Driver = (v: 4 | 6) => Observed;

function pair(v: 4 | 6, policies: { client?: unknown; server?: unknown } = {}, serverOptions = {}): TestNet {
  return lan([
    { name: "client", addresses: [V[v].clientCidr], policy: policies.client },
    { name: "server", addresses: [V[v].serverCidr], policy: policies.server, options: serverOptions },
  ]);
}

const h = (t: TestNet, name: string) => {
  const x = t.hosts[name];
  if (x === undefined) throw new Error(`no host ${name}`);
  return x;
};

/** A listening server on port 80 and a connected client (before the mark). */
function connected(v: 4 | 6, policies: { client?: unknown; server?: unknown } = {}) {
  const t = pair(v, policies);
  const server = h(t, "server");
  const client = h(t, "client");
  const l = server.host.tcp.socket(server.app, v);
  const accepted: import("./tcp-layer.ts").TcpSocket[] = [];
  l.onAccept = (c) => accepted.push(c);
  l.bind(undefined, 80);
  l.listen();
  const c = client.host.tcp.socket(client.app, v);
  c.connect(addr(V[v].server), 80);
  t.net.runFor(ms(20));
  assert.equal(c.outcome, "connected");
  return { t, c, accepted, server, client };
}

function udpPair(v: 4 | 6, policies: { client?: unknown; server?: unknown } = {}) {
  const t = pair(v, policies);
  const server = h(t, "server");
  const client = h(t, "client");
  const srv = server.host.udp.socket(server.app, v);
  const got: { remoteAddress: import("../base/index.ts").IpAddress; remotePort: number }[] = [];
  srv.onMessage = (m) => got.push(m);
  srv.bind(undefined, 53);
  const cli = client.host.udp.socket(client.app, v);
  return { t, srv, cli, got, server, client };
}

const filterAt = (layer: string, action: "permit" | "block", name = "test filter") => ({
  filters: [{ name, layer, action }],
});

const drivers: Record<string, Driver> = {
  "tcp-server-listen": (v) => {
    const t = pair(v);
    const server = h(t, "server");
    const from = t.log.length;
    const l = server.host.tcp.socket(server.app, v);
    l.bind(undefined, 80);
    l.listen();
    return { records: t.slice("server", from) };
  },
  "tcp-client-connect": (v) => {
    const t = pair(v);
    const server = h(t, "server");
    const l = server.host.tcp.socket(server.app, v);
    l.bind(undefined, 80);
    l.listen();
    const from = t.log.length;
    h(t, "client").host.tcp.socket(h(t, "client").app, v).connect(addr(V[v].server), 80);
    t.net.runFor(ms(20));
    return { records: t.slice("client", from) };
  },
  "tcp-server-accept": (v) => {
    const t = pair(v);
    const server = h(t, "server");
    const l = server.host.tcp.socket(server.app, v);
    l.bind(undefined, 80);
    l.listen();
    const from = t.log.length;
    h(t, "client").host.tcp.socket(h(t, "client").app, v).connect(addr(V[v].server), 80);
    t.net.runFor(ms(20));
    return { records: t.slice("server", from) };
  },
  "tcp-data-send": (v) => {
    const { t, c } = connected(v);
    const from = t.log.length;
    c.send(new Uint8Array(100));
    t.net.runFor(ms(20));
    return { records: t.slice("client", from) };
  },
  "tcp-data-receive": (v) => {
    const { t, c } = connected(v);
    const from = t.log.length;
    c.send(new Uint8Array(100));
    t.net.runFor(ms(20));
    return { records: t.slice("server", from) };
  },
  "tcp-syn-closed-port": (v) => {
    const t = pair(v);
    const from = t.log.length;
    const c = h(t, "client").host.tcp.socket(h(t, "client").app, v);
    c.connect(addr(V[v].server), 81);
    t.net.runFor(ms(20));
    assert.equal(c.outcome, "refused");
    return { records: t.slice("server", from) };
  },
  "tcp-reauth-success": (v) => {
    const { t, c, server } = connected(v);
    server.engine.addFilter({
      name: "permit after change",
      layer: `FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V${v}`,
      action: { type: "FWP_ACTION_PERMIT" },
    });
    const from = t.log.length;
    c.send(new Uint8Array(100));
    t.net.runFor(ms(5));
    return { records: t.slice("server", from) };
  },
  "tcp-reauth-failure": (v) => {
    const { t, c, server } = connected(v);
    server.engine.addFilter({
      name: "block after change",
      layer: `FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V${v}`,
      action: { type: "FWP_ACTION_BLOCK" },
    });
    const from = t.log.length;
    c.send(new Uint8Array(100));
    t.net.runFor(ms(5));
    return { records: t.slice("server", from) };
  },
  "tcp-connect-blocked": (v) => {
    const t = pair(v, { client: filterAt(`FWPM_LAYER_ALE_AUTH_CONNECT_V${v}`, "block") });
    const server = h(t, "server");
    const l = server.host.tcp.socket(server.app, v);
    l.bind(undefined, 80);
    l.listen();
    const from = t.log.length;
    const c = h(t, "client").host.tcp.socket(h(t, "client").app, v);
    assert.throws(() => c.connect(addr(V[v].server), 80), /WSAEACCES/);
    t.net.runFor(ms(20));
    return { records: t.slice("client", from) };
  },
  "tcp-accept-blocked": (v) => {
    const t = pair(v, { server: filterAt(`FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V${v}`, "block") });
    const server = h(t, "server");
    const l = server.host.tcp.socket(server.app, v);
    l.bind(undefined, 80);
    l.listen();
    const from = t.log.length;
    h(t, "client").host.tcp.socket(h(t, "client").app, v).connect(addr(V[v].server), 80);
    t.net.runFor(ms(20));
    return { records: t.slice("server", from) };
  },
  "tcp-data-send-with-stream-packet": (v) => {
    const { t, c } = connected(v, { client: filterAt(`FWPM_LAYER_STREAM_PACKET_V${v}`, "permit") });
    const from = t.log.length;
    c.send(new Uint8Array(100));
    t.net.runFor(ms(20));
    return { records: t.slice("client", from) };
  },
  "tcp-data-receive-with-stream-packet": (v) => {
    const { t, c } = connected(v, { server: filterAt(`FWPM_LAYER_STREAM_PACKET_V${v}`, "permit") });
    const from = t.log.length;
    c.send(new Uint8Array(100));
    t.net.runFor(ms(20));
    return { records: t.slice("server", from) };
  },
  "tcp-close-active": (v) => {
    const { t, c, accepted } = connected(v);
    const peer = accepted[0];
    assert.ok(peer !== undefined);
    peer.onEnd = () => t.net.scheduler.after(ms(1), () => peer.close());
    const from = t.log.length;
    c.close();
    t.net.runFor(ms(300_000));
    assert.equal(c.state, "CLOSED");
    return { records: t.slice("client", from) };
  },
  "tcp-loopback-connect": (v) => {
    const t = lan([{ name: "client", addresses: [V[v].clientCidr] }]);
    const me = h(t, "client");
    const l = me.host.tcp.socket(me.app, v);
    l.bind(addr(V[v].loop), 80);
    l.listen();
    const from = t.log.length;
    const c = me.host.tcp.socket(me.app, v);
    c.connect(addr(V[v].loop), 80);
    t.net.runFor(ms(20));
    assert.equal(c.outcome, "connected");
    return { records: t.slice("client", from) };
  },
  "tcp-dualstack-v4-client-to-v6-listener": () => {
    const t = lan([
      { name: "client", addresses: [V[4].clientCidr] },
      { name: "server", addresses: [V[4].serverCidr, V[6].serverCidr] },
    ]);
    const server = h(t, "server");
    const l = server.host.tcp.socket(server.app, 6, true);
    l.bind(undefined, 80);
    l.listen();
    const from = t.log.length;
    const c = h(t, "client").host.tcp.socket(h(t, "client").app, 4);
    c.connect(addr(V[4].server), 80);
    t.net.runFor(ms(20));
    assert.equal(c.outcome, "connected");
    const records = t.slice("server", from);
    const accept = records.find((r) => r.layer.fwpmName === "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6");
    assert.equal(
      accept?.facts.remoteAddress?.toString(),
      "::ffff:10.0.0.1",
      "IPv4-mapped addresses at the V6 ALE layers (F15)",
    );
    return { records };
  },
  "udp-server-bind": (v) => {
    const t = pair(v);
    const server = h(t, "server");
    const from = t.log.length;
    server.host.udp.socket(server.app, v).bind(undefined, 53);
    return { records: t.slice("server", from) };
  },
  "udp-client-first-send": (v) => {
    const { t, cli } = udpPair(v);
    const from = t.log.length;
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    return { records: t.slice("client", from) };
  },
  "udp-server-first-receive": (v) => {
    const { t, cli, got } = udpPair(v);
    const from = t.log.length;
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    assert.equal(got.length, 1);
    return { records: t.slice("server", from) };
  },
  "udp-closed-port": (v) => {
    const { t, cli } = udpPair(v);
    const from = t.log.length;
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 54);
    t.net.runFor(ms(20));
    assert.equal(cli.lastError, "WSAECONNRESET", "the ICMP port unreachable reached the sender");
    return { records: t.slice("server", from) };
  },
  "udp-reauth-success": (v) => {
    const { t, cli, server } = udpPair(v);
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    server.engine.addFilter({
      name: "permit after change",
      layer: `FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V${v}`,
      action: { type: "FWP_ACTION_PERMIT" },
    });
    const from = t.log.length;
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    return { records: t.slice("server", from) };
  },
  "udp-reauth-failure": (v) => {
    const { t, cli, server, got } = udpPair(v);
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    server.engine.addFilter({
      name: "block after change",
      layer: `FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V${v}`,
      action: { type: "FWP_ACTION_BLOCK" },
    });
    const from = t.log.length;
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    assert.equal(got.length, 1, "the second datagram never reaches the socket");
    return { records: t.slice("server", from) };
  },
  "udp-client-later-send": (v) => {
    const { t, cli } = udpPair(v);
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    const from = t.log.length;
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    return { records: t.slice("client", from) };
  },
  "udp-server-later-receive": (v) => {
    const { t, cli } = udpPair(v);
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    const from = t.log.length;
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    return { records: t.slice("server", from) };
  },
  "udp-server-reply": (v) => {
    const { t, cli, srv, got } = udpPair(v);
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    const m = got[0];
    assert.ok(m !== undefined);
    const from = t.log.length;
    srv.sendTo(new Uint8Array(40), m.remoteAddress, m.remotePort);
    t.net.runFor(ms(20));
    return { records: t.slice("server", from) };
  },
  "udp-client-receive-reply": (v) => {
    const { t, cli, srv, got } = udpPair(v);
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    const m = got[0];
    assert.ok(m !== undefined);
    const from = t.log.length;
    srv.sendTo(new Uint8Array(40), m.remoteAddress, m.remotePort);
    t.net.runFor(ms(20));
    assert.equal(cli.counters.received, 1);
    return { records: t.slice("client", from) };
  },
  "udp-socket-close": (v) => {
    const { t, cli } = udpPair(v);
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    const from = t.log.length;
    cli.close();
    return { records: t.slice("client", from) };
  },
  "icmp-echo-request-send": (v) => {
    const t = pair(v);
    const client = h(t, "client");
    const from = t.log.length;
    client.host.icmp.socket(client.app, v).ping(addr(V[v].server), 7, 1);
    t.net.runFor(ms(20));
    return { records: t.slice("client", from) };
  },
  "icmp-echo-reply-receive": (v) => {
    const t = pair(v);
    const client = h(t, "client");
    const p = client.host.icmp.socket(client.app, v);
    const from = t.log.length;
    p.ping(addr(V[v].server), 7, 1);
    t.net.runFor(ms(20));
    assert.equal(p.replies.length, 1);
    assert.equal(p.replies[0]?.rttNs, ms(2));
    return { records: t.slice("client", from) };
  },
  "icmp-echo-request-receive": (v) => {
    const t = pair(v);
    const client = h(t, "client");
    const from = t.log.length;
    client.host.icmp.socket(client.app, v).ping(addr(V[v].server), 7, 1);
    t.net.runFor(ms(20));
    return { records: t.slice("server", from) };
  },
  "icmp-error-inbound": (v) => {
    const { t, cli } = udpPair(v);
    const from = t.log.length;
    cli.sendTo(new Uint8Array(20), addr(V[v].server), 54);
    t.net.runFor(ms(20));
    return { records: t.slice("client", from) };
  },
  "ipv4-inbound-fragments": (v) => {
    const { t, cli, got } = udpPair(v);
    const from = t.log.length;
    cli.sendTo(new Uint8Array(5000), addr(V[v].server), 53);
    t.net.runFor(ms(20));
    assert.equal(got.length, 1);
    assert.equal(got[0] !== undefined && "data" in got[0] ? (got[0] as { data: Uint8Array }).data.length : 0, 5000);
    return { records: t.slice("server", from), prefix: true };
  },
  "ip-forward": (v) => forwardRun(v, 200, false),
  "ip-forward-fragments-no-grouping": (v) => forwardRun(v, 3500, false),
  "ip-forward-fragments-grouping": (v) => forwardRun(v, 3500, true),
};

/** client — router — server; the client sends one UDP datagram of `size` bytes to the server. */
function forwardRun(v: 4 | 6, size: number, group: boolean): Observed {
  const net = new Network({ seed: 3 });
  net.link("a", { delayNs: ms(1) });
  net.link("b", { delayNs: ms(1) });
  const log: ClassifyRecord[] = [];
  const mk = (name: string, options = {}) => {
    const engine = new FilterEngine();
    return net.host(name, new Shim({ engine, clock: net.scheduler, host: name, log: (r) => log.push(r) }), options);
  };
  const client = mk("client");
  const router = mk("router", { forwarding: { groupForwardedFragments: group } });
  const server = mk("server");
  const p = v === 4 ? { a: "10.0.1", b: "10.0.2", len: 24, sep: "." } : { a: "fd01:", b: "fd02:", len: 64, sep: ":" };
  const ip = (net: string, host: number) => (v === 4 ? `${net}.${host}` : `${net}:${host}`);
  const cn = net.attach(client, "eth0", "a", { addresses: [`${ip(p.a, 1)}/${p.len}`] });
  const ra = net.attach(router, "eth0", "a", { addresses: [`${ip(p.a, 254)}/${p.len}`] });
  const rb = net.attach(router, "eth1", "b", { addresses: [`${ip(p.b, 254)}/${p.len}`] });
  const sn = net.attach(server, "eth0", "b", { addresses: [`${ip(p.b, 1)}/${p.len}`] });
  ra.forwarding = true;
  rb.forwarding = true;
  client.addRoute(v === 4 ? "0.0.0.0/0" : "::/0", cn, ip(p.a, 254));
  server.addRoute(v === 4 ? "0.0.0.0/0" : "::/0", sn, ip(p.b, 254));
  const app = server.process({ processId: 7, imagePath: "C:\\srv.exe" });
  const srv = server.udp.socket(app, v);
  let received = 0;
  srv.onMessage = (m) => {
    received += m.data.length;
  };
  srv.bind(undefined, 53);
  const from = log.length;
  client.udp
    .socket(client.process({ processId: 8, imagePath: "C:\\cli.exe" }), v)
    .sendTo(new Uint8Array(size), addr(ip(p.b, 1)), 53);
  net.runFor(ms(5000));
  assert.equal(received, size, "the datagram crossed the router");
  return { records: log.slice(from).filter((r) => r.host === "router") };
}

const ALL_FLAGS = FWP_CONDITION_FLAG as Readonly<Record<string, number>>;

function compare(s: FlowScenario, observed: Observed): void {
  const labels = new Set(s.steps.map((x) => x.packet));
  const relevant = observed.records.filter((r) => labels.has(r.packet));
  const got = observed.prefix === true ? relevant.slice(0, s.steps.length) : relevant;
  // The side is compared where flows.json gives one (loopback).
  const show = (rs: readonly ClassifyRecord[]) =>
    rs
      .map((r, i) => {
        const side = s.steps[i]?.side ?? null;
        return `${r.layer.fwpmName} ${r.packet} ${r.direction}${side !== null ? ` ${r.side ?? "-"}` : ""}`;
      })
      .join("\n");
  const want = s.steps
    .map((x) => `${x.layer} ${x.packet} ${x.direction}${x.side !== null ? ` ${x.side}` : ""}`)
    .join("\n");
  assert.equal(show(got), want, `${s.scenario}: classify log differs from flows.json`);
  // A flag listed on some step of a layer must be clear on the steps of that layer that do not list it
  // (e.g. the fragment indicated "as an IP packet" has no IS_FRAGMENT).
  s.steps.forEach((step, i) => {
    const r = got[i] as ClassifyRecord;
    for (const f of step.flags) {
      assert.ok((r.flags & (ALL_FLAGS[f] ?? 0)) !== 0, `${s.scenario} step ${i + 1} (${step.layer}): ${f} expected`);
    }
    const sameLayerFlags = new Set(s.steps.filter((x) => x.layer === step.layer).flatMap((x) => x.flags));
    for (const f of sameLayerFlags) {
      if (step.flags.includes(f)) continue;
      assert.equal(r.flags & (ALL_FLAGS[f] ?? 0), 0, `${s.scenario} step ${i + 1} (${step.layer}): ${f} not expected`);
    }
  });
}

describe("flows.json: every documented packet flow, on simulated hosts", () => {
  for (const s of FLOW_SCENARIOS) {
    const base = s.scenario.replace(/-v6$/, "");
    it(`${s.scenario}${s.inferred ? " (inferred)" : ""}: ${s.steps.length} classifications`, () => {
      const driver = drivers[base];
      assert.ok(driver !== undefined, `no driver for ${s.scenario}`);
      compare(s, driver(s.ipVersion));
    });
  }
  it("covers all 61 scenarios", () => {
    assert.equal(FLOW_SCENARIOS.length, 61);
  });
});
