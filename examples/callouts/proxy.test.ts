import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv4Address } from "../../src/base/index.ts";
import { FWP_CONDITION_FLAG, FWPS_CONNECTION_REDIRECT_STATE } from "../../src/fwp/index.ts";
import { ms, seconds, type TcpSocket } from "../../src/stack/index.ts";
import { type ExampleNet, exampleLan, hostOf } from "./hosts.testing.ts";
import { ConnectRedirectCallout, TransparentProxy, type TransparentProxyOptions } from "./proxy.ts";

const F = FWP_CONDITION_FLAG;
const REQUEST = "GET /index.html HTTP/1.0\r\nHost: 10.0.0.2\r\n\r\n";
const RESPONSE = `HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello`;
const text = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString("latin1");

/** A web server on 10.0.0.2:80 answering one request per connection, and what it saw. */
function webServer(n: ExampleNet) {
  const server = hostOf(n, "server");
  const l = server.host.tcp.socket(server.app);
  const seen: { from: string; request: string }[] = [];
  l.onAccept = (c: TcpSocket) => {
    const got: Uint8Array[] = [];
    c.onData = (b) => {
      got.push(b);
      if (text(got).endsWith("\r\n\r\n")) {
        seen.push({ from: `${c.remoteAddress}:${c.remotePort}`, request: text(got) });
        c.send(new TextEncoder().encode(RESPONSE));
        c.close();
      }
    };
  };
  l.bind(undefined, 80);
  l.listen();
  return seen;
}

function setup(proxyOptions: TransparentProxyOptions = {}, ignoreRedirectState = false) {
  const n = exampleLan({ client: "10.0.0.1", server: "10.0.0.2" });
  const client = hostOf(n, "client");
  const seen = webServer(n);
  const proxyProcess = client.host.process({ processId: 4711, imagePath: "C:\\Program Files\\Proxy\\proxy.exe" });
  const proxy = new TransparentProxy(client.host, proxyProcess, 8888, Ipv4Address.parse("127.0.0.1"), proxyOptions);
  const callout = new ConnectRedirectCallout(client.engine, client.shim.fwps, {
    proxy: { address: Ipv4Address.parse("127.0.0.1"), port: 8888 },
    proxyPid: 4711,
    ports: [80],
    ignoreRedirectState,
  });
  return { n, client, seen, proxy, callout };
}

/** The client app's HTTP request to 10.0.0.2:80; what came back. */
function browse(n: ExampleNet, port = 80) {
  const client = hostOf(n, "client");
  const s = client.host.tcp.socket(client.app);
  const got: Uint8Array[] = [];
  s.onData = (b) => got.push(b);
  s.onConnect = () => s.send(new TextEncoder().encode(REQUEST));
  s.onEnd = () => s.close();
  s.connect(Ipv4Address.parse("10.0.0.2"), port);
  return { s, got };
}

describe("examples/callouts/proxy.ts (connect redirect to a local proxy)", () => {
  it("the app talks to the real server through the proxy, which learned the destination from the redirect context", () => {
    const { n, client, seen, proxy, callout } = setup();
    const from = n.log.length;
    const b = browse(n);
    n.net.runFor(seconds(1));
    assert.equal(text(b.got), RESPONSE, "the app got the server's answer");
    assert.equal(b.s.outcome, "connected");
    assert.equal(b.s.remoteAddress?.toString(), "127.0.0.1", "its connection went to the proxy");
    assert.equal(b.s.remotePort, 8888);
    assert.equal(proxy.relays.length, 1);
    const relay = proxy.relays[0];
    assert.equal(`${relay?.original.address}:${relay?.original.port}`, "10.0.0.2:80");
    assert.equal(relay?.up, REQUEST.length);
    assert.equal(relay?.down, RESPONSE.length);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.request, REQUEST, "the server got the request unchanged");
    assert.equal(seen[0]?.from, `10.0.0.1:${relay?.outbound?.localPort}`, "from the proxy's own connection");
    // Loop protection: the proxy's connection carried the records and was left alone.
    assert.deepEqual(
      callout.decisions.map((d) => `${d.to} ${d.state} ${d.action}${d.status !== undefined ? ` ${d.status}` : ""}`),
      [
        `10.0.0.2:80 ${FWPS_CONNECTION_REDIRECT_STATE.FWPS_CONNECTION_NOT_REDIRECTED} redirected STATUS_SUCCESS`,
        `10.0.0.2:80 ${FWPS_CONNECTION_REDIRECT_STATE.FWPS_CONNECTION_REDIRECTED_BY_SELF} left alone`,
      ],
    );
    const mine = n.log.slice(from).filter((r) => r.host === "client");
    const redirects = mine.filter((r) => r.layer.fwpsName === "FWPS_LAYER_ALE_CONNECT_REDIRECT_V4");
    assert.equal(redirects.length, 2);
    assert.equal((redirects[0]?.flags ?? 0) & F.FWP_CONDITION_FLAG_IS_PROXY_CONNECTION, 0);
    assert.equal(
      (redirects[1]?.flags ?? 0) & F.FWP_CONDITION_FLAG_IS_PROXY_CONNECTION,
      F.FWP_CONDITION_FLAG_IS_PROXY_CONNECTION,
    );
    assert.ok(redirects[1]?.metadata.redirectRecords !== undefined, "REDIRECT_RECORD_HANDLE metadata");
    const auths = mine.filter((r) => r.layer.fwpsName === "FWPS_LAYER_ALE_AUTH_CONNECT_V4");
    assert.equal(
      auths[0]?.facts.remoteAddress?.toString(),
      "127.0.0.1",
      "AUTH_CONNECT sees the redirected remote (D30)",
    );
    assert.equal(
      (auths[0]?.flags ?? 0) & F.FWP_CONDITION_FLAG_IS_CONNECTION_REDIRECTED,
      F.FWP_CONDITION_FLAG_IS_CONNECTION_REDIRECTED,
    );
    assert.equal(auths[0]?.metadata.localRedirectTargetPID, 4711);
    assert.equal(auths[0]?.metadata.originalDestination, "10.0.0.2:80");
    assert.equal(auths[1]?.facts.remoteAddress?.toString(), "10.0.0.2", "the proxy's own connection goes out");
    assert.equal(client.shim.fwps.outstandingClassifyHandles, 0);
  });

  it("connections to other ports are not redirected", () => {
    const { n, proxy, callout } = setup();
    const server = hostOf(n, "server");
    const l = server.host.tcp.socket(server.app);
    const accepted: TcpSocket[] = [];
    l.onAccept = (c) => accepted.push(c);
    l.bind(undefined, 443);
    l.listen();
    const b = browse(n, 443);
    n.net.runFor(ms(50));
    assert.equal(b.s.remoteAddress?.toString(), "10.0.0.2");
    assert.equal(accepted.length, 1);
    assert.equal(proxy.relays.length, 0);
    assert.deepEqual(
      callout.decisions.map((d) => d.action),
      ["not ours"],
    );
  });

  it("without the redirect records (or with a callout that ignores the redirect state) the proxy's own connection is redirected to itself: the loop", () => {
    for (const variant of [
      { records: false, ignore: false },
      { records: true, ignore: true },
    ]) {
      const { n, seen, proxy, callout } = setup({ setRedirectRecords: variant.records, maxRelays: 3 }, variant.ignore);
      browse(n);
      n.net.runFor(seconds(1));
      assert.equal(seen.length, 0, "the server is never reached");
      assert.ok(proxy.relays.length >= 3, "the proxy keeps accepting its own connections");
      assert.ok(callout.decisions.filter((d) => d.action === "redirected").length >= 3);
    }
  });
});
