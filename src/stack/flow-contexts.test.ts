/**
 * Flow contexts through the simulated stack (wfp-semantics.md D14–D18): FLOW_HANDLE at every layer where a
 * flow exists, contexts delivered where they were associated for, and flowDeleteFn once for each context on
 * every way a flow ends — TCP close and reset, a failed reauthorization, UDP socket close, idle expiry,
 * FwpsFlowAbort0, a blocked authorization.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CalloutClassifyFn } from "../engine/index.ts";
import { type FwpmLayerName, fieldIndex } from "../fwp/index.ts";
import { addCallout, registerCallout } from "../shim/services/callout-fixtures.testing.ts";
import { addr, lan, type TestHost, type TestNet } from "./net-fixtures.testing.ts";
import { ms, seconds } from "./sim/scheduler.ts";
import type { TcpSocket } from "./tcp-layer.ts";

function pair(): { t: TestNet; client: TestHost; server: TestHost } {
  const t = lan([
    { name: "client", addresses: ["10.0.0.1/24"] },
    { name: "server", addresses: ["10.0.0.2/24"] },
  ]);
  return { t, client: t.hosts.client as TestHost, server: t.hosts.server as TestHost };
}

function listen(server: TestHost, port = 80): { accepted: TcpSocket[] } {
  const l = server.host.tcp.socket(server.app);
  const accepted: TcpSocket[] = [];
  l.onAccept = (c) => accepted.push(c);
  l.bind(undefined, port);
  l.listen();
  return { accepted };
}

/** A STREAM callout whose context a FLOW_ESTABLISHED callout associates (the classic pairing, D14). */
function streamContexts(h: TestHost, layer: "STREAM" | "DATAGRAM_DATA" = "STREAM") {
  const seen: bigint[] = [];
  const deleted: bigint[] = [];
  let next = 100n;
  const data = addCallout(
    h.engine,
    `FWPM_LAYER_${layer}_V4` as FwpmLayerName,
    (_v, _m, _d, _c, _f, ctx, out) => {
      seen.push(ctx);
      out.actionType = "FWP_ACTION_CONTINUE";
    },
    { flowDeleteFn: (_l, _c, ctx) => deleted.push(ctx) },
  );
  const statuses: string[] = [];
  addCallout(h.engine, "FWPM_LAYER_ALE_FLOW_ESTABLISHED_V4", (_v, meta, _d, _c, _f, _ctx, out) => {
    const s = h.shim.fwps.flowAssociateContext(
      meta?.flowHandle as bigint,
      data.layer.runtimeId,
      data.calloutId,
      next++,
    );
    statuses.push(s);
    out.actionType = "FWP_ACTION_CONTINUE";
  });
  return { seen, deleted, statuses };
}

describe("flow contexts on TCP connections", () => {
  it("associated at ALE_FLOW_ESTABLISHED for STREAM: delivered on every stream indication; flowDeleteFn once at close", () => {
    const { t, client, server } = pair();
    const { accepted } = listen(server);
    const ctx = streamContexts(client);
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    c.send(new Uint8Array(500));
    t.net.runFor(ms(20));
    accepted[0]?.send(new Uint8Array(300));
    t.net.runFor(ms(20));
    assert.deepEqual(ctx.statuses, ["STATUS_SUCCESS"]);
    assert.ok(ctx.seen.length >= 2);
    assert.ok(
      ctx.seen.every((x) => x === 100n),
      "every STREAM indication of the flow carries its context",
    );
    assert.deepEqual(ctx.deleted, []);
    c.close();
    accepted[0]?.close();
    t.net.runFor(seconds(5));
    assert.deepEqual(ctx.deleted, [], "the active closer's TCB lives through TIME-WAIT, and the flow with it [INF]");
    t.net.runFor(seconds(125));
    assert.deepEqual(ctx.deleted, [100n]);
  });

  it("flowDeleteFn runs when the connection is reset, and when a failed reauthorization tears it down (G10)", () => {
    const { t, client, server } = pair();
    listen(server);
    const ctx = streamContexts(client);
    const a = client.host.tcp.socket(client.app);
    a.connect(addr("10.0.0.2"), 80);
    const b = client.host.tcp.socket(client.app);
    b.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    assert.deepEqual(ctx.statuses, ["STATUS_SUCCESS", "STATUS_SUCCESS"]);
    a.abort();
    t.net.runFor(ms(20));
    assert.deepEqual(ctx.deleted, [100n], "reset");
    client.engine.addFilter({
      name: "block after the fact",
      layer: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
      action: { type: "FWP_ACTION_BLOCK" },
    });
    b.send(new Uint8Array(10));
    t.net.runFor(ms(20));
    assert.equal(b.outcome, "aborted");
    assert.deepEqual(ctx.deleted, [100n, 101n], "reauthorization teardown");
  });

  it("FwpsFlowAbort0 resets the connection (the peer sees a RST) and flowDeleteFn runs", () => {
    const { t, client, server } = pair();
    const { accepted } = listen(server);
    const ctx = streamContexts(client);
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    const flow = c.flow;
    assert.ok(flow !== undefined);
    assert.equal(client.shim.fwps.flowAbort(flow.flowHandle), "STATUS_SUCCESS");
    t.net.runFor(ms(20));
    assert.equal(c.outcome, "aborted");
    assert.equal(accepted[0]?.outcome, "reset");
    assert.deepEqual(ctx.deleted, [100n]);
    assert.equal(client.shim.fwps.flowAbort(flow.flowHandle), "STATUS_INVALID_PARAMETER", "the flow is gone");
  });

  it("FLOW_HANDLE exists at ALE_AUTH_CONNECT and ALE_AUTH_RECV_ACCEPT; a blocked connect deletes the contexts taken there", () => {
    const { t, client, server } = pair();
    listen(server);
    const deleted: bigint[] = [];
    const stream = registerCallout(client.engine, "FWPM_LAYER_STREAM_V4", () => {}, {
      flowDeleteFn: (_l, _c, x) => deleted.push(x),
    });
    const serverStream = registerCallout(server.engine, "FWPM_LAYER_STREAM_V4", () => {}, {
      flowDeleteFn: (_l, _c, x) => deleted.push(x),
    });
    let n = 0n;
    const associate =
      (h: TestHost, calloutId: number, block: (port: number) => boolean): CalloutClassifyFn =>
      (values, meta, _d, _c, _f, _x, out) => {
        n++;
        const status = h.shim.fwps.flowAssociateContext(meta?.flowHandle as bigint, 22, calloutId, n);
        assert.equal(status, "STATUS_SUCCESS");
        const i = fieldIndex(values.layer.fwpmName ?? values.layer.fwpsName, "FWPM_CONDITION_IP_REMOTE_PORT");
        const v = i === undefined ? undefined : values.incomingValues[i];
        const port = v?.type === "FWP_UINT16" ? v.value : 0;
        out.actionType = block(port) ? "FWP_ACTION_BLOCK" : "FWP_ACTION_CONTINUE";
      };
    // FWPS_LAYER_STREAM_V4 is run-time id 20; any flow layer would do, this one is never indicated here.
    addCallout(
      client.engine,
      "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
      associate(client, stream.calloutId, (p) => p === 81),
    );
    addCallout(
      server.engine,
      "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4",
      associate(server, serverStream.calloutId, () => false),
    );
    const ok = client.host.tcp.socket(client.app);
    ok.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    assert.equal(ok.outcome, "connected");
    assert.deepEqual(deleted, []);
    assert.throws(() => client.host.tcp.socket(client.app).connect(addr("10.0.0.2"), 81), /WSAEACCES/);
    assert.deepEqual(deleted, [3n], "the blocked connection's flow ended with its context");
  });

  it("every layer with FLOW_HANDLE can take a context for itself and gets it back on its next classifications", () => {
    const { t, client, server } = pair();
    listen(server);
    const layers: FwpmLayerName[] = [
      "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
      "FWPM_LAYER_INBOUND_TRANSPORT_V4",
      "FWPM_LAYER_STREAM_V4",
      "FWPM_LAYER_STREAM_PACKET_V4",
      "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
      "FWPM_LAYER_ALE_FLOW_ESTABLISHED_V4",
    ];
    const got = new Map<string, { statuses: string[]; contexts: bigint[] }>();
    for (const name of layers) {
      const rec = { statuses: [] as string[], contexts: [] as bigint[] };
      got.set(name, rec);
      let id = 0;
      const c = addCallout(
        client.engine,
        name,
        (values, meta, _d, _c, _f, ctx, out) => {
          rec.contexts.push(ctx);
          if (meta?.flowHandle !== undefined && ctx === 0n) {
            rec.statuses.push(
              client.shim.fwps.flowAssociateContext(meta.flowHandle as bigint, values.layer.runtimeId, id, 5n),
            );
          }
          out.actionType = "FWP_ACTION_CONTINUE";
        },
        { flowDeleteFn: () => {} },
      );
      id = c.calloutId;
    }
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    c.send(new Uint8Array(100));
    t.net.runFor(ms(20));
    c.send(new Uint8Array(100));
    t.net.runFor(ms(20));
    for (const [name, rec] of got) {
      assert.deepEqual(rec.statuses, ["STATUS_SUCCESS"], name);
      if (name.includes("ALE_")) continue;
      assert.ok(
        rec.contexts.slice(1).length > 0 && rec.contexts.slice(1).every((x) => x === 5n),
        `${name} ${rec.contexts}`,
      );
    }
  });
});

describe("flow contexts on UDP flows", () => {
  it("one context per (socket, remote) flow at DATAGRAM_DATA; closing the socket deletes each once", () => {
    const t = lan([
      { name: "client", addresses: ["10.0.0.1/24"] },
      { name: "a", addresses: ["10.0.0.2/24"] },
      { name: "b", addresses: ["10.0.0.3/24"] },
    ]);
    const client = t.hosts.client as TestHost;
    for (const n of ["a", "b"]) {
      const h = t.hosts[n] as TestHost;
      h.host.udp.socket(h.app).bind(undefined, 53);
    }
    const ctx = streamContexts(client, "DATAGRAM_DATA");
    const s = client.host.udp.socket(client.app);
    s.sendTo(new Uint8Array(10), addr("10.0.0.2"), 53);
    s.sendTo(new Uint8Array(10), addr("10.0.0.3"), 53);
    s.sendTo(new Uint8Array(10), addr("10.0.0.2"), 53);
    t.net.runFor(ms(20));
    // FLOW_ESTABLISHED comes before the first datagram's DATAGRAM_DATA (F.2 item 11).
    assert.deepEqual(ctx.seen, [100n, 101n, 100n]);
    s.close();
    assert.deepEqual(ctx.deleted.sort(), [100n, 101n]);
  });

  it("an idle UDP flow expires after 60 s (G4): flowDeleteFn runs and the next datagram is authorized again", () => {
    const { t, client, server } = pair();
    server.host.udp.socket(server.app).bind(undefined, 53);
    const ctx = streamContexts(client, "DATAGRAM_DATA");
    const s = client.host.udp.socket(client.app);
    s.sendTo(new Uint8Array(1), addr("10.0.0.2"), 53);
    t.net.runFor(seconds(62));
    client.host.housekeeping();
    assert.deepEqual(ctx.deleted, [100n]);
    s.sendTo(new Uint8Array(1), addr("10.0.0.2"), 53);
    assert.deepEqual(ctx.statuses, ["STATUS_SUCCESS", "STATUS_SUCCESS"]);
    assert.deepEqual(ctx.seen, [100n, 101n]);
  });

  it("FwpsFlowAbort0 drops a UDP flow: flowDeleteFn runs, the next datagram opens a new flow at ALE_AUTH_CONNECT", () => {
    const { t, client, server } = pair();
    server.host.udp.socket(server.app).bind(undefined, 53);
    const ctx = streamContexts(client, "DATAGRAM_DATA");
    const s = client.host.udp.socket(client.app);
    s.sendTo(new Uint8Array(1), addr("10.0.0.2"), 53);
    const flow = [...s.flows.values()][0];
    assert.ok(flow !== undefined);
    assert.equal(client.shim.fwps.flowAbort(flow.flowHandle), "STATUS_SUCCESS");
    t.net.runFor(ms(1));
    assert.deepEqual(ctx.deleted, [100n]);
    const from = t.log.length;
    s.sendTo(new Uint8Array(1), addr("10.0.0.2"), 53);
    assert.ok(t.slice("client", from).some((r) => r.layer.fwpsName === "FWPS_LAYER_ALE_AUTH_CONNECT_V4"));
  });
});
