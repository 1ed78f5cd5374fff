import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { join } from "node:path";
import { Ipv4Address } from "../../src/base/index.ts";
import { simulate } from "../../src/host/index.ts";
import { ms, type TcpSocket } from "../../src/stack/index.ts";
import { samples, WfpSample } from "./blocker.ts";
import { exampleLan, hostOf } from "./hosts.testing.ts";

function serve(server: ReturnType<typeof hostOf>, port: number): TcpSocket[] {
  const l = server.host.tcp.socket(server.app);
  const accepted: TcpSocket[] = [];
  l.onAccept = (c) => accepted.push(c);
  l.bind(undefined, port);
  l.listen();
  return accepted;
}

describe("examples/callouts/blocker.ts (WinKernelDev WfpSample)", () => {
  it("after IOCTL_WFP_SAMPLE_ADD_RULE for port 8080, connections to 8080 end at ALE_FLOW_ESTABLISHED; port 80 works", () => {
    const n = exampleLan({ client: "10.0.0.1", server: "10.0.0.2" });
    const client = hostOf(n, "client");
    const server = hostOf(n, "server");
    const at80 = serve(server, 80);
    const at8080 = serve(server, 8080);
    const sample = new WfpSample(client.engine);
    assert.equal(sample.addRule({ remotePort: 8080 }), true);
    assert.equal(sample.addRule({ remotePort: 70000 }), false);
    const ok = client.host.tcp.socket(client.app);
    ok.connect(Ipv4Address.parse("10.0.0.2"), 80);
    const blocked = client.host.tcp.socket(client.app);
    blocked.connect(Ipv4Address.parse("10.0.0.2"), 8080);
    n.net.runFor(ms(50));
    assert.equal(ok.outcome, "connected");
    assert.equal(blocked.outcome, "blocked");
    assert.equal(blocked.error, "WSAECONNABORTED");
    assert.equal(at80.length, 1);
    assert.equal(at8080.length, 0, "the server never hands the connection to its app: the client reset it");
    assert.deepEqual(
      sample.seen.map((s) => `${s.remotePort} ${s.protocol} ${s.direction} ${s.action}`),
      ["80 6 0 FWP_ACTION_PERMIT", "8080 6 0 FWP_ACTION_BLOCK"],
    );
    const established = n.log.filter(
      (r) => r.host === "client" && r.layer.fwpsName === "FWPS_LAYER_ALE_FLOW_ESTABLISHED_V4",
    );
    assert.equal(established[1]?.decidingFilter?.filterId, sample.filterId);
  });

  it("UDP to a blocked port: the datagram and its flow are dropped at FLOW_ESTABLISHED; unloading the driver lets it through", () => {
    const n = exampleLan({ client: "10.0.0.1", server: "10.0.0.2" });
    const client = hostOf(n, "client");
    const server = hostOf(n, "server");
    const got: number[] = [];
    const srv = server.host.udp.socket(server.app);
    srv.onMessage = (m) => got.push(m.data.length);
    srv.bind(undefined, 8080);
    const sample = new WfpSample(client.engine);
    sample.addRule({ remotePort: 8080 });
    const s = client.host.udp.socket(client.app);
    s.sendTo(new Uint8Array(4), Ipv4Address.parse("10.0.0.2"), 8080);
    n.net.runFor(ms(10));
    assert.deepEqual(got, []);
    sample.unload();
    s.sendTo(new Uint8Array(5), Ipv4Address.parse("10.0.0.2"), 8080);
    n.net.runFor(ms(10));
    assert.deepEqual(got, [5]);
  });

  it("as a scenario callout module: the client's connection to 8080 is blocked, the one to 80 connects", async () => {
    const r = await simulate({ scenarioPath: join(import.meta.dirname, "../scenarios/wfp-sample-blocker.json") });
    const curl = r.apps.find((a) => a.app === "curl");
    assert.equal(curl?.sockets.find((s) => s.socket === "web")?.outcome, "connected");
    assert.equal(curl?.sockets.find((s) => s.socket === "alt")?.outcome, "blocked");
    assert.ok(samples.has("client"));
    assert.equal(samples.has("server"), false);
  });
});
