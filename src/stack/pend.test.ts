/**
 * Pended ALE classifications through the simulated stack (wfp-semantics.md D19–D22, G11): what the socket
 * call does while a callout holds it, what the completion classifies, and what is flushed. The callouts
 * follow Windows-driver-samples network/trans/inspect (pend at AUTH_CONNECT / AUTH_RECV_ACCEPT, answer at
 * the completion's reauthorization, reinject the cloned packet with transport receive injection).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CLASSIFY_OUT_FLAG_ABSORB,
  type CalloutClassifyFn,
  type ClassifyOut,
  RIGHT_ACTION_WRITE,
} from "../engine/index.ts";
import {
  FWP_CONDITION_FLAG,
  FWP_CONDITION_REAUTHORIZE_REASON,
  FWPS_PACKET_INJECTION_STATE,
  type FwpmLayerName,
  fieldIndex,
} from "../fwp/index.ts";
import type { ClassifyRecord, NetBufferList, ShimMetadata } from "../shim/index.ts";
import { ndisRetreatNetBufferDataStart } from "../shim/index.ts";
import { addCallout } from "../shim/services/callout-fixtures.testing.ts";
import { addr, lan, layers, type TestHost, type TestNet } from "./net-fixtures.testing.ts";
import { ms, seconds } from "./sim/scheduler.ts";
import type { TcpSocket } from "./tcp-layer.ts";

const IS_REAUTHORIZE = FWP_CONDITION_FLAG.FWP_CONDITION_FLAG_IS_REAUTHORIZE;
const CLASSIFY_COMPLETION = FWP_CONDITION_REAUTHORIZE_REASON.FWP_CONDITION_REAUTHORIZE_REASON_CLASSIFY_COMPLETION;

function pair(): { t: TestNet; client: TestHost; server: TestHost } {
  const t = lan([
    { name: "client", addresses: ["10.0.0.1/24"] },
    { name: "server", addresses: ["10.0.0.2/24"] },
  ]);
  return { t, client: t.hosts.client as TestHost, server: t.hosts.server as TestHost };
}

function flagsOf(values: Parameters<CalloutClassifyFn>[0]): number {
  const i = fieldIndex(values.layer.fwpmName ?? values.layer.fwpsName, "FWPM_CONDITION_FLAGS");
  const v = i === undefined ? undefined : values.incomingValues[i];
  return v?.type === "FWP_UINT32" ? v.value : 0;
}

function hardDrop(out: ClassifyOut): void {
  out.actionType = "FWP_ACTION_BLOCK";
  out.flags |= CLASSIFY_OUT_FLAG_ABSORB;
  out.rights &= ~RIGHT_ACTION_WRITE;
}

/**
 * A callout that pends the initial authorization at `layer` and, at the completion's reauthorization
 * (IS_REAUTHORIZE), answers `decision()`. `pended` collects the completion contexts.
 */
function pender(h: TestHost, layer: FwpmLayerName, decision: () => "FWP_ACTION_PERMIT" | "FWP_ACTION_BLOCK") {
  const pended: unknown[] = [];
  const statuses: string[] = [];
  const reauths: number[] = [];
  addCallout(h.engine, layer, (values, meta, _d, _c, _f, _x, out) => {
    if ((out.rights & RIGHT_ACTION_WRITE) === 0) return;
    if ((flagsOf(values) & IS_REAUTHORIZE) !== 0) {
      const i = fieldIndex(layer, "FWPM_CONDITION_REAUTHORIZE_REASON");
      const r = i === undefined ? undefined : values.incomingValues[i];
      reauths.push(r?.type === "FWP_UINT32" ? r.value : -1);
      statuses.push(`reauth pend: ${h.shim.fwps.pendOperation(meta?.completionHandle).status}`);
      out.actionType = decision();
      return;
    }
    const r = h.shim.fwps.pendOperation(meta?.completionHandle);
    statuses.push(r.status);
    pended.push(r.completionContext);
    hardDrop(out);
  });
  const completeAll = () => {
    for (const c of pended.splice(0)) statuses.push(`complete: ${h.shim.fwps.completeOperation(c)}`);
  };
  return { pended, statuses, reauths, completeAll };
}

const at = (records: readonly ClassifyRecord[], layer: string) =>
  records.filter((r) => r.layer.fwpsName === `FWPS_LAYER_${layer}`);

describe("FwpsPendOperation0 at ALE_AUTH_CONNECT (TCP, D20)", () => {
  it("connect() returns; no SYN until completion; the completion reauthorizes (IS_REAUTHORIZE, CLASSIFY_COMPLETION) and PERMIT sends the SYN", () => {
    const { t, client, server } = pair();
    const l = server.host.tcp.socket(server.app);
    l.bind(undefined, 80);
    l.listen();
    const p = pender(client, "FWPM_LAYER_ALE_AUTH_CONNECT_V4", () => "FWP_ACTION_PERMIT");
    const from = t.log.length;
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(50));
    assert.deepEqual(p.statuses, ["STATUS_SUCCESS"]);
    assert.equal(c.outcome, undefined);
    assert.equal(c.state, "CLOSED");
    assert.deepEqual(at(t.slice("client", from), "OUTBOUND_TRANSPORT_V4"), [], "no SYN while pended");
    assert.equal(
      at(t.slice("client", from), "ALE_AUTH_CONNECT_V4_DISCARD").length,
      0,
      "absorbed: no discard indication",
    );
    const mark = t.log.length;
    p.completeAll();
    t.net.runFor(ms(20));
    assert.equal(c.outcome, "connected");
    const after = t.slice("client", mark);
    assert.deepEqual(layers(after).slice(0, 3), [
      "ALE_AUTH_CONNECT_V4",
      "OUTBOUND_TRANSPORT_V4",
      "OUTBOUND_IPPACKET_V4",
    ]);
    assert.equal((after[0]?.flags ?? 0) & IS_REAUTHORIZE, IS_REAUTHORIZE);
    assert.equal(after[0]?.facts.reauthorizeReason, CLASSIFY_COMPLETION);
    assert.deepEqual(p.reauths, [CLASSIFY_COMPLETION]);
    assert.deepEqual(p.statuses, ["STATUS_SUCCESS", "complete: STATUS_SUCCESS", "reauth pend: STATUS_FWP_CANNOT_PEND"]);
  });

  it("a BLOCK at the completion's reauthorization fails the connect (blocked, WSAEACCES) and nothing is sent", () => {
    const { t, client, server } = pair();
    const l = server.host.tcp.socket(server.app);
    l.bind(undefined, 80);
    l.listen();
    const p = pender(client, "FWPM_LAYER_ALE_AUTH_CONNECT_V4", () => "FWP_ACTION_BLOCK");
    const c = client.host.tcp.socket(client.app);
    const closes: string[] = [];
    c.onClose = (r) => closes.push(r);
    const from = t.log.length;
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(10));
    p.completeAll();
    t.net.runFor(ms(50));
    assert.equal(c.outcome, "blocked");
    assert.equal(c.error, "WSAEACCES");
    assert.deepEqual(closes, ["blocked"]);
    const after = t.slice("client", from);
    assert.deepEqual(at(after, "OUTBOUND_TRANSPORT_V4"), []);
    assert.equal(
      at(after, "ALE_AUTH_CONNECT_V4_DISCARD").length,
      1,
      "the final block is indicated at the discard layer",
    );
  });

  it("a socket closed while its connect is pended sends nothing when the callout completes", () => {
    const { t, client } = pair();
    const p = pender(client, "FWPM_LAYER_ALE_AUTH_CONNECT_V4", () => "FWP_ACTION_PERMIT");
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    c.close();
    const from = t.log.length;
    p.completeAll();
    t.net.runFor(ms(50));
    assert.deepEqual(at(t.slice("client", from), "OUTBOUND_TRANSPORT_V4"), []);
    assert.deepEqual(at(t.slice("client", from), "ALE_AUTH_CONNECT_V4"), [], "nothing is reauthorized");
  });
});

describe("FwpsPendOperation0 at ALE_AUTH_CONNECT (UDP, D20)", () => {
  it("the pended first datagram and those sent meanwhile are flushed; completion creates only state; the app resends", () => {
    const { t, client, server } = pair();
    const srv = server.host.udp.socket(server.app);
    const got: number[] = [];
    srv.onMessage = (m) => got.push(m.data.length);
    srv.bind(undefined, 53);
    const p = pender(client, "FWPM_LAYER_ALE_AUTH_CONNECT_V4", () => "FWP_ACTION_PERMIT");
    const s = client.host.udp.socket(client.app);
    s.sendTo(new Uint8Array(11), addr("10.0.0.2"), 53);
    s.sendTo(new Uint8Array(12), addr("10.0.0.2"), 53);
    t.net.runFor(ms(10));
    assert.deepEqual(got, []);
    assert.equal(s.counters.pendFlushed, 2);
    const mark = t.log.length;
    p.completeAll();
    t.net.runFor(ms(10));
    assert.deepEqual(layers(t.slice("client", mark)), ["ALE_AUTH_CONNECT_V4", "ALE_FLOW_ESTABLISHED_V4"]);
    assert.equal(t.slice("client", mark)[1]?.packet, "none", "state only: no datagram");
    const again = t.log.length;
    s.sendTo(new Uint8Array(13), addr("10.0.0.2"), 53);
    t.net.runFor(ms(10));
    assert.deepEqual(got, [13]);
    assert.deepEqual(at(t.slice("client", again), "ALE_AUTH_CONNECT_V4"), [], "the flow is authorized");
  });

  it("the callout may resend the datagram it cloned: transport send injection after completion reaches the server", () => {
    const { t, client, server } = pair();
    const srv = server.host.udp.socket(server.app);
    const got: number[] = [];
    srv.onMessage = (m) => got.push(m.data.length);
    srv.bind(undefined, 53);
    const fwps = client.shim.fwps;
    const handle = fwps.injectionHandleCreate("AF_UNSPEC", 0).handle;
    let kept: { clone: NetBufferList; ctx: unknown; endpoint: bigint } | undefined;
    addCallout(client.engine, "FWPM_LAYER_ALE_AUTH_CONNECT_V4", (values, meta, layerData, _c, _f, _x, out) => {
      if ((flagsOf(values) & IS_REAUTHORIZE) !== 0) {
        out.actionType = "FWP_ACTION_PERMIT";
        return;
      }
      const clone = fwps.allocateCloneNetBufferList(layerData).netBufferList as NetBufferList;
      const r = fwps.pendOperation(meta?.completionHandle);
      kept = {
        clone,
        ctx: r.completionContext,
        endpoint: (meta as unknown as ShimMetadata).transportEndpointHandle ?? 0n,
      };
      hardDrop(out);
    });
    addCallout(client.engine, "FWPM_LAYER_DATAGRAM_DATA_V4", (_v, _m, layerData, _c, _f, _x, out) => {
      out.actionType =
        fwps.queryPacketInjectionState(handle, layerData).state ===
        FWPS_PACKET_INJECTION_STATE.FWPS_PACKET_INJECTED_BY_SELF
          ? "FWP_ACTION_PERMIT"
          : "FWP_ACTION_CONTINUE";
    });
    const s = client.host.udp.socket(client.app);
    s.sendTo(new Uint8Array(21), addr("10.0.0.2"), 53);
    t.net.runFor(ms(5));
    const k = kept;
    assert.ok(k !== undefined);
    assert.equal(fwps.completeOperation(k.ctx), "STATUS_SUCCESS");
    t.net.runFor(ms(1));
    const status = fwps.injectTransportSendAsync(
      handle,
      null,
      k.endpoint,
      0,
      { remoteAddress: addr("10.0.0.2") },
      "AF_INET",
      1,
      k.clone,
      (_c, nbl) => fwps.freeCloneNetBufferList(nbl),
      null,
    );
    assert.equal(status, "STATUS_SUCCESS");
    t.net.runFor(ms(10));
    assert.deepEqual(got, [21]);
  });
});

/** The inspect sample's RECV_ACCEPT half: pend, later complete and reinject the clone; permit self-injected packets. */
function recvAcceptInspector(h: TestHost, t: TestNet, verdict: () => "permit" | "deny") {
  const fwps = h.shim.fwps;
  const handle = fwps.injectionHandleCreate("AF_UNSPEC", 0).handle;
  const events: string[] = [];
  addCallout(h.engine, "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", (values, metaIn, layerData, _c, _f, _x, out) => {
    if ((out.rights & RIGHT_ACTION_WRITE) === 0) return;
    const state = fwps.queryPacketInjectionState(handle, layerData).state;
    if (state === FWPS_PACKET_INJECTION_STATE.FWPS_PACKET_INJECTED_BY_SELF) {
      events.push("self-injected: permit");
      out.actionType = "FWP_ACTION_PERMIT";
      return;
    }
    const meta = metaIn as unknown as ShimMetadata;
    const clone = fwps.allocateCloneNetBufferList(layerData).netBufferList as NetBufferList;
    const r = fwps.pendOperation(meta.completionHandle);
    events.push(`pend ${r.status}`);
    const retreat = (meta.ipHeaderSize ?? 0) + (meta.transportHeaderSize ?? 0);
    const ifIndex =
      values.incomingValues[fieldIndex("FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", "FWPM_CONDITION_INTERFACE_INDEX") ?? 0];
    hardDrop(out);
    t.net.scheduler.after(ms(30), () => {
      events.push(`complete ${fwps.completeOperation(r.completionContext)}`);
      if (verdict() === "deny") {
        fwps.freeCloneNetBufferList(clone);
        return;
      }
      ndisRetreatNetBufferDataStart(clone, retreat);
      const s = fwps.injectTransportReceiveAsync(
        handle,
        null,
        null,
        0,
        "AF_INET",
        1,
        ifIndex?.type === "FWP_UINT32" ? ifIndex.value : 0,
        0,
        clone,
        (_ctx, nbl) => fwps.freeCloneNetBufferList(nbl),
        null,
      );
      events.push(`reinject ${s}`);
    });
  });
  return { events };
}

describe("FwpsPendOperation0 at ALE_AUTH_CONNECT (ICMP echo, D20 as for UDP) [INF]", () => {
  it("the pended first request and those sent meanwhile are flushed; completion creates only state; the next request goes out on the flow", () => {
    const { t, client } = pair();
    const p = pender(client, "FWPM_LAYER_ALE_AUTH_CONNECT_V4", () => "FWP_ACTION_PERMIT");
    const ping = client.host.icmp.socket(client.app, 4);
    const from = t.log.length;
    ping.ping(addr("10.0.0.2"), 0x42, 1);
    ping.ping(addr("10.0.0.2"), 0x42, 2);
    t.net.runFor(ms(10));
    assert.deepEqual(p.statuses, ["STATUS_SUCCESS"], "pended once: the second request found the flow held");
    assert.equal(ping.counters.pendFlushed, 2);
    assert.equal(ping.counters.sent, 0);
    assert.deepEqual(at(t.slice("client", from), "OUTBOUND_TRANSPORT_V4"), []);
    const mark = t.log.length;
    p.completeAll();
    t.net.runFor(ms(10));
    assert.deepEqual(layers(t.slice("client", mark)), ["ALE_AUTH_CONNECT_V4", "ALE_FLOW_ESTABLISHED_V4"]);
    assert.deepEqual(p.reauths, [CLASSIFY_COMPLETION]);
    assert.equal(t.slice("client", mark)[1]?.packet, "none", "state only: no request");
    const again = t.log.length;
    ping.ping(addr("10.0.0.2"), 0x42, 3);
    t.net.runFor(ms(10));
    assert.deepEqual(at(t.slice("client", again), "ALE_AUTH_CONNECT_V4"), [], "the flow is authorized");
    assert.equal(ping.counters.sent, 1);
    assert.deepEqual(
      ping.replies.map((r) => r.sequence),
      [3],
    );
  });

  it("a BLOCK at the completion leaves WSAEACCES as the socket's last error; the next request is authorized anew", () => {
    const { t, client } = pair();
    let answer: "FWP_ACTION_PERMIT" | "FWP_ACTION_BLOCK" = "FWP_ACTION_BLOCK";
    const p = pender(client, "FWPM_LAYER_ALE_AUTH_CONNECT_V4", () => answer);
    const ping = client.host.icmp.socket(client.app, 4);
    ping.ping(addr("10.0.0.2"), 0x42, 1);
    p.completeAll();
    t.net.runFor(ms(10));
    assert.equal(ping.lastError, "WSAEACCES");
    assert.equal(ping.counters.blocked, 1);
    assert.equal(ping.flows.size, 0, "the refused flow is gone");
    answer = "FWP_ACTION_PERMIT";
    const again = t.log.length;
    ping.ping(addr("10.0.0.2"), 0x42, 2);
    assert.equal(at(t.slice("client", again), "ALE_AUTH_CONNECT_V4").length, 1, "a new authorization, pended again");
    assert.equal(ping.counters.pendFlushed, 2);
  });

  it("a request ALE_AUTH_CONNECT blocks at once still throws WSAEACCES, and nothing is sent", () => {
    const { t, client } = pair();
    addCallout(client.engine, "FWPM_LAYER_ALE_AUTH_CONNECT_V4", (_v, _m, _d, _c, _f, _x, out) => hardDrop(out));
    const ping = client.host.icmp.socket(client.app, 4);
    const from = t.log.length;
    assert.throws(() => ping.ping(addr("10.0.0.2"), 0x42, 1), /WSAEACCES|ALE_AUTH_CONNECT blocked/);
    t.net.runFor(ms(10));
    assert.equal(ping.counters.blocked, 1);
    assert.equal(ping.flows.size, 0);
    assert.deepEqual(at(t.slice("client", from), "OUTBOUND_TRANSPORT_V4"), []);
  });

  it("a ping socket closed while its authorization is pended: the completion classifies nothing", () => {
    const { t, client } = pair();
    const p = pender(client, "FWPM_LAYER_ALE_AUTH_CONNECT_V4", () => "FWP_ACTION_PERMIT");
    const ping = client.host.icmp.socket(client.app, 4);
    ping.ping(addr("10.0.0.2"), 0x42, 1);
    ping.close();
    const from = t.log.length;
    p.completeAll();
    t.net.runFor(ms(10));
    assert.deepEqual(at(t.slice("client", from), "ALE_AUTH_CONNECT_V4"), [], "nothing is reauthorized");
    assert.deepEqual(at(t.slice("client", from), "OUTBOUND_TRANSPORT_V4"), []);
  });
});

describe("FwpsPendOperation0 at ALE_AUTH_RECV_ACCEPT (D20: no reauthorization; the callout reinjects)", () => {
  it("TCP: the pended SYN is held; the reinjected clone is classified again, permitted as self-injected, and the handshake completes", () => {
    const { t, client, server } = pair();
    const l = server.host.tcp.socket(server.app);
    const accepted: TcpSocket[] = [];
    l.onAccept = (c) => accepted.push(c);
    l.bind(undefined, 80);
    l.listen();
    const insp = recvAcceptInspector(server, t, () => "permit");
    const c = client.host.tcp.socket(client.app);
    const from = t.log.length;
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    assert.equal(c.outcome, undefined, "no SYN-ACK while pended");
    t.net.runFor(ms(100));
    assert.equal(c.outcome, "connected");
    assert.equal(accepted.length, 1);
    assert.deepEqual(insp.events, [
      "pend STATUS_SUCCESS",
      "complete STATUS_SUCCESS",
      "reinject STATUS_SUCCESS",
      "self-injected: permit",
    ]);
    const recv = at(t.slice("server", from), "ALE_AUTH_RECV_ACCEPT_V4");
    assert.equal(recv.length, 2, "the SYN, then its reinjected clone");
    assert.equal((recv[1]?.flags ?? 0) & IS_REAUTHORIZE, 0, "not a reauthorization");
  });

  it("TCP: to deny, the callout completes and discards the clone — no connection; retransmitted SYNs are classified anew", () => {
    const { t, client, server } = pair();
    const l = server.host.tcp.socket(server.app);
    l.bind(undefined, 80);
    l.listen();
    const insp = recvAcceptInspector(server, t, () => "deny");
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(seconds(2));
    assert.notEqual(c.outcome, "connected");
    assert.equal(insp.events[0], "pend STATUS_SUCCESS");
    assert.ok(
      insp.events.filter((e) => e.startsWith("pend")).length >= 2,
      "the retransmitted SYN is a new first packet",
    );
  });

  it("TCP: segments of the pended connection that arrive meanwhile are held, then flushed", () => {
    const { t, client, server } = pair();
    const l = server.host.tcp.socket(server.app);
    l.bind(undefined, 80);
    l.listen();
    const fwps = server.shim.fwps;
    let ctx: unknown;
    addCallout(server.engine, "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", (_v, meta, _d, _c, _f, _x, out) => {
      ctx ??= fwps.pendOperation(meta?.completionHandle).completionContext;
      hardDrop(out);
    });
    client.host.tcp.socket(client.app).connect(addr("10.0.0.2"), 80);
    t.net.runFor(seconds(4));
    assert.ok(server.host.tcp.counters.pendFlushed >= 1, "the SYN retransmissions were held");
    assert.equal(fwps.completeOperation(ctx), "STATUS_SUCCESS");
  });

  it("UDP: the first datagram is held; the reinjected clone reaches the app once", () => {
    const { t, client, server } = pair();
    const srv = server.host.udp.socket(server.app);
    const got: number[] = [];
    srv.onMessage = (m) => got.push(m.data.length);
    srv.bind(undefined, 53);
    const insp = recvAcceptInspector(server, t, () => "permit");
    const s = client.host.udp.socket(client.app);
    s.sendTo(new Uint8Array(31), addr("10.0.0.2"), 53);
    t.net.runFor(ms(10));
    s.sendTo(new Uint8Array(32), addr("10.0.0.2"), 53);
    t.net.runFor(ms(10));
    assert.deepEqual(got, []);
    assert.equal(srv.counters.pendFlushed, 2, "the pended one and the one held meanwhile");
    t.net.runFor(ms(100));
    assert.deepEqual(got, [31]);
    assert.deepEqual(insp.events, [
      "pend STATUS_SUCCESS",
      "complete STATUS_SUCCESS",
      "reinject STATUS_SUCCESS",
      "self-injected: permit",
    ]);
    s.sendTo(new Uint8Array(33), addr("10.0.0.2"), 53);
    t.net.runFor(ms(10));
    assert.deepEqual(got, [31, 33], "the flow is authorized now");
  });
});

describe("FwpsPendOperation0 at ALE_RESOURCE_ASSIGNMENT and ALE_AUTH_LISTEN (the bind and the listen wait)", () => {
  it("a pended bind holds the socket's listen() until completion; the completion classifies again (IS_REAUTHORIZE) [INF]", () => {
    const { t, client, server } = pair();
    const p = pender(server, "FWPM_LAYER_ALE_RESOURCE_ASSIGNMENT_V4", () => "FWP_ACTION_PERMIT");
    const l = server.host.tcp.socket(server.app);
    const accepted: TcpSocket[] = [];
    l.onAccept = (c) => accepted.push(c);
    l.bind(undefined, 80);
    l.listen();
    assert.equal(l.bound, false);
    assert.equal(l.state, "CLOSED");
    const mark = t.log.length;
    p.completeAll();
    t.net.runFor(ms(1));
    assert.equal(l.state, "LISTEN");
    const after = layers(t.slice("server", mark));
    assert.deepEqual(after, ["ALE_RESOURCE_ASSIGNMENT_V4", "ALE_AUTH_LISTEN_V4"]);
    client.host.tcp.socket(client.app).connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    assert.equal(accepted.length, 1);
    assert.deepEqual(p.statuses, ["STATUS_SUCCESS", "complete: STATUS_SUCCESS", "reauth pend: STATUS_FWP_CANNOT_PEND"]);
  });

  it("a bind refused at the completion fails with WSAEACCES and the queued listen() finds no bind", () => {
    const { t, server } = pair();
    const p = pender(server, "FWPM_LAYER_ALE_RESOURCE_ASSIGNMENT_V4", () => "FWP_ACTION_BLOCK");
    const l = server.host.tcp.socket(server.app);
    l.bind(undefined, 80);
    l.listen();
    p.completeAll();
    t.net.runFor(ms(1));
    assert.equal(l.bound, false);
    assert.equal(l.error, "WSAEINVAL", "listen before bind (the bind's WSAEACCES came first)");
  });

  it("an implicit bind pended inside connect(): the SYN leaves once the bind completes", () => {
    const { t, client, server } = pair();
    const l = server.host.tcp.socket(server.app);
    l.bind(undefined, 80);
    l.listen();
    const p = pender(client, "FWPM_LAYER_ALE_RESOURCE_ASSIGNMENT_V4", () => "FWP_ACTION_PERMIT");
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    assert.equal(c.outcome, undefined);
    p.completeAll();
    t.net.runFor(ms(20));
    assert.equal(c.outcome, "connected");
  });

  it("a pended listen: SYNs before the completion find no listener (RST); after it the socket accepts", () => {
    const { t, client, server } = pair();
    const p = pender(server, "FWPM_LAYER_ALE_AUTH_LISTEN_V4", () => "FWP_ACTION_PERMIT");
    const l = server.host.tcp.socket(server.app);
    l.bind(undefined, 80);
    l.listen();
    const early = client.host.tcp.socket(client.app);
    early.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    assert.equal(early.outcome, "refused");
    p.completeAll();
    t.net.runFor(ms(1));
    assert.equal(l.state, "LISTEN");
    const late = client.host.tcp.socket(client.app);
    late.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    assert.equal(late.outcome, "connected");
  });

  it("a listen refused at the completion: blocked, WSAEACCES", () => {
    const { t, server } = pair();
    const p = pender(server, "FWPM_LAYER_ALE_AUTH_LISTEN_V4", () => "FWP_ACTION_BLOCK");
    const l = server.host.tcp.socket(server.app);
    l.bind(undefined, 80);
    l.listen();
    p.completeAll();
    t.net.runFor(ms(1));
    assert.equal(l.outcome, "blocked");
    assert.equal(l.error, "WSAEACCES");
  });
});

describe("what cannot be pended (D19, D22, G11)", () => {
  it("a policy-change reauthorization carries a completion handle that cannot be pended", () => {
    const { t, client, server } = pair();
    const l = server.host.tcp.socket(server.app);
    l.bind(undefined, 80);
    l.listen();
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    const statuses: string[] = [];
    addCallout(client.engine, "FWPM_LAYER_ALE_AUTH_CONNECT_V4", (values, meta, _d, _c, _f, _x, out) => {
      statuses.push(
        `${(flagsOf(values) & IS_REAUTHORIZE) !== 0} ${client.shim.fwps.pendOperation(meta?.completionHandle).status}`,
      );
      out.actionType = "FWP_ACTION_CONTINUE";
    });
    c.send(new Uint8Array(10));
    t.net.runFor(ms(20));
    assert.deepEqual(statuses, ["true STATUS_FWP_CANNOT_PEND"]);
    assert.equal(c.outcome, "connected");
  });

  it("at ALE_FLOW_ESTABLISHED, DATAGRAM_DATA and the transport layers there is no completion handle", () => {
    const { t, client, server } = pair();
    server.host.udp.socket(server.app).bind(undefined, 53);
    const statuses: string[] = [];
    for (const layer of [
      "FWPM_LAYER_ALE_FLOW_ESTABLISHED_V4",
      "FWPM_LAYER_DATAGRAM_DATA_V4",
      "FWPM_LAYER_OUTBOUND_TRANSPORT_V4",
    ] as const) {
      addCallout(client.engine, layer, (_v, meta, _d, _c, _f, _x, out) => {
        statuses.push(
          `${layer.replace("FWPM_LAYER_", "")} ${client.shim.fwps.pendOperation(meta?.completionHandle).status}`,
        );
        out.actionType = "FWP_ACTION_CONTINUE";
      });
    }
    client.host.udp.socket(client.app).sendTo(new Uint8Array(1), addr("10.0.0.2"), 53);
    t.net.runFor(ms(5));
    assert.deepEqual(statuses, [
      "ALE_FLOW_ESTABLISHED_V4 STATUS_INVALID_PARAMETER",
      "DATAGRAM_DATA_V4 STATUS_INVALID_PARAMETER",
      "OUTBOUND_TRANSPORT_V4 STATUS_INVALID_PARAMETER",
    ]);
  });
});
