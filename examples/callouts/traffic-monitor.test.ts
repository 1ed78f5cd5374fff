import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Ipv4Address, Ipv6Address } from "../../src/base/index.ts";
import { simulate } from "../../src/host/index.ts";
import { ms, seconds, type TcpSocket } from "../../src/stack/index.ts";
import { exampleLan, hostOf } from "./hosts.testing.ts";
import { type FlowReport, monitors, TrafficMonitor } from "./traffic-monitor.ts";

const brief = (r: FlowReport) =>
  `${r.protocol} ${r.direction} ${r.remotePort === 7 || r.localPort === 7 ? "echo" : r.remotePort} out=${r.bytesOut} in=${r.bytesIn}`;

describe("examples/callouts/traffic-monitor.ts (flow contexts)", () => {
  it("per-flow byte counts equal what the apps sent and received, reported once when each flow ends", () => {
    const n = exampleLan({ client: "10.0.0.1", server: "10.0.0.2" });
    const client = hostOf(n, "client");
    const server = hostOf(n, "server");
    const atClient = new TrafficMonitor(client.engine, client.shim.fwps);
    const atServer = new TrafficMonitor(server.engine, server.shim.fwps);
    // A TCP echo on port 7 and a UDP service that answers every datagram with 50 bytes.
    const l = server.host.tcp.socket(server.app);
    const accepted: TcpSocket[] = [];
    l.onAccept = (c) => {
      accepted.push(c);
      c.onData = (b) => c.send(b);
      c.onEnd = () => c.close();
    };
    l.bind(undefined, 7);
    l.listen();
    const udpServer = server.host.udp.socket(server.app);
    udpServer.onMessage = (m) => udpServer.sendTo(new Uint8Array(50), m.remoteAddress, m.remotePort);
    udpServer.bind(undefined, 53);

    const c = client.host.tcp.socket(client.app);
    c.onConnect = () => {
      c.send(new Uint8Array(700));
      c.send(new Uint8Array(500));
      c.send(new Uint8Array(300));
    };
    c.connect(Ipv4Address.parse("10.0.0.2"), 7);
    const u = client.host.udp.socket(client.app);
    for (const size of [100, 200, 300]) u.sendTo(new Uint8Array(size), Ipv4Address.parse("10.0.0.2"), 53);
    n.net.runFor(ms(100));
    assert.equal(c.bytesReceived, 1500, "the echo came back");
    assert.equal(atClient.reports.length, 0, "nothing ended yet");
    assert.equal(atClient.live.size, 2);
    c.close();
    u.close();
    udpServer.close();
    n.net.runFor(seconds(130));

    assert.deepEqual(atClient.failures, []);
    assert.deepEqual(atClient.reports.map(brief).sort(), [
      "tcp outbound echo out=1500 in=1500",
      "udp outbound 53 out=600 in=150",
    ]);
    const tcp = atClient.reports.find((r) => r.protocol === "tcp") as FlowReport;
    assert.equal(tcp.bytesOut, c.bytesSent);
    assert.equal(tcp.bytesIn, c.bytesReceived);
    assert.equal(tcp.remoteAddress, "10.0.0.2");
    assert.equal(tcp.localPort, c.localPort);
    const udp = atClient.reports.find((r) => r.protocol === "udp") as FlowReport;
    assert.equal(udp.bytesOut, u.counters.bytesSent);
    assert.equal(udp.bytesIn, u.counters.bytesReceived);
    assert.equal(udp.indicationsOut, 3);
    // The server's view of the same flows.
    const serverView = atServer.reports
      .map((r) => `${r.protocol} ${r.direction} out=${r.bytesOut} in=${r.bytesIn}`)
      .sort();
    assert.deepEqual(serverView, ["tcp inbound out=1500 in=1500", "udp inbound out=150 in=600"]);
    assert.equal(atClient.live.size + atServer.live.size, 0, "every context came back through flowDeleteFn");
  });

  it("counts IPv6 flows too, one report per flow (two connections, two reports)", () => {
    const n = exampleLan({ client: ["10.0.0.1", "fd00::1"], server: ["10.0.0.2", "fd00::2"] });
    const client = hostOf(n, "client");
    const server = hostOf(n, "server");
    const monitor = new TrafficMonitor(client.engine, client.shim.fwps);
    const l = server.host.tcp.socket(server.app, 6);
    l.onAccept = (s) => {
      s.onEnd = () => s.close();
    };
    l.bind(undefined, 80);
    l.listen();
    const sockets = [123, 456].map((size) => {
      const s = client.host.tcp.socket(client.app, 6);
      s.onConnect = () => {
        s.send(new Uint8Array(size));
        s.close();
      };
      s.connect(Ipv6Address.parse("fd00::2"), 80);
      return s;
    });
    n.net.runFor(seconds(130));
    assert.deepEqual(monitor.reports.map((r) => `${r.ipVersion} ${r.bytesOut}`).sort(), ["6 123", "6 456"]);
    assert.equal(monitor.reports[0]?.remoteAddress, "fd00::2");
    assert.ok(sockets.every((s) => s.bytesSent > 0));
  });

  it("as a scenario module with the host's fwps: the client's reports match the apps' byte counts", async () => {
    const r = await simulate({ scenarioPath: join(import.meta.dirname, "../scenarios/traffic-monitor.json") });
    const app = r.apps.find((a) => a.app === "client");
    const tcp = app?.sockets.find((s) => s.socket === "tcp");
    const udp = app?.sockets.find((s) => s.socket === "udp");
    const monitor = monitors.get("client");
    assert.ok(monitor !== undefined && tcp !== undefined && udp !== undefined);
    const byProtocol = (p: string) => monitor.reports.find((x) => x.protocol === p);
    assert.equal(byProtocol("tcp")?.bytesOut, tcp.bytesSent);
    assert.equal(byProtocol("tcp")?.bytesIn, tcp.bytesReceived);
    assert.equal(byProtocol("udp")?.bytesOut, udp.bytesSent);
    assert.equal(byProtocol("udp")?.bytesIn, udp.bytesReceived);
    assert.equal(tcp.bytesSent, 1000);
    assert.equal(udp.bytesSent, 164);
    assert.equal(monitors.get("server")?.reports.length, 2);
  });
});
