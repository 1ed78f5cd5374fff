/**
 * Connect and bind redirection through the simulated stack (wfp-semantics.md D24–D30): only what a callout
 * applies through FwpsApplyModifiedLayerData0 moves a connection or a bind; ALE_AUTH_CONNECT sees the
 * redirected remote with IS_CONNECTION_REDIRECTED and ORIGINAL_DESTINATION; a redirection to a local proxy
 * leaves redirect records that the proxy carries to its outbound socket, where they stop the redirecting
 * callout from redirecting again. The classify-handle pend of the redirect layers is here too (D21, D27).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CalloutClassifyFn, type ClassifyOut, RIGHT_ACTION_WRITE } from "../engine/index.ts";
import { FWP_CONDITION_FLAG, FWPS_CONNECTION_REDIRECT_STATE, fieldIndex } from "../fwp/index.ts";
import type {
  BindRequest,
  ClassifyHandle,
  ConnectRequest,
  RedirectHandle,
  ShimMetadata,
  SocketAddress,
} from "../shim/index.ts";
import { RedirectRecords } from "../shim/index.ts";
import { addCallout } from "../shim/services/callout-fixtures.testing.ts";
import { addr, lan, layers, type TestHost, type TestNet } from "./net-fixtures.testing.ts";
import { ms, seconds } from "./sim/scheduler.ts";
import type { TcpSocket } from "./tcp-layer.ts";

const F = FWP_CONDITION_FLAG;
const PROVIDER = "5e1f0000-0000-4000-8000-0000000000f1";

function net3(): { t: TestNet; client: TestHost; a: TestHost; b: TestHost } {
  const t = lan([
    { name: "client", addresses: ["10.0.0.1/24"] },
    { name: "a", addresses: ["10.0.0.2/24"] },
    { name: "b", addresses: ["10.0.0.3/24"] },
  ]);
  return { t, client: t.hosts.client as TestHost, a: t.hosts.a as TestHost, b: t.hosts.b as TestHost };
}

function listener(h: TestHost, port: number, family: 4 | 6 = 4): TcpSocket[] {
  const l = h.host.tcp.socket(h.app, family);
  const accepted: TcpSocket[] = [];
  l.onAccept = (c) => accepted.push(c);
  l.bind(undefined, port);
  l.listen();
  return accepted;
}

interface Redirect {
  readonly to: SocketAddress;
  readonly handle?: RedirectHandle;
  readonly pid?: number;
  readonly context?: unknown;
}

/** The D26 sequence at CONNECT_REDIRECT: query state, acquire, edit, apply, PERMIT, release. */
function connectRedirector(
  h: TestHost,
  decide: (r: ConnectRequest, state: number) => Redirect | undefined,
  handle?: RedirectHandle,
) {
  const fwps = h.shim.fwps;
  const log: string[] = [];
  const layer = "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4";
  addCallout(h.engine, layer, (_v, metaIn, layerData, classifyContext, filter, _x, out) => {
    const meta = metaIn as unknown as ShimMetadata;
    const state = handle === undefined ? 0 : fwps.queryConnectionRedirectState(meta.redirectRecords, handle).state;
    const d = decide(layerData as ConnectRequest, state);
    if (d === undefined) {
      log.push(`leave state=${state}`);
      out.actionType = "FWP_ACTION_CONTINUE";
      return;
    }
    const h2 = fwps.acquireClassifyHandle(classifyContext).classifyHandle;
    const w = fwps.acquireWritableLayerDataPointer(h2, filter.filterId, 0, out).writableLayerData as ConnectRequest;
    w.remoteAddressAndPort = d.to;
    if (d.handle !== undefined) w.localRedirectHandle = d.handle;
    if (d.pid !== undefined) w.localRedirectTargetPID = d.pid;
    if (d.context !== undefined) w.localRedirectContext = d.context;
    log.push(`apply ${fwps.applyModifiedLayerData(h2, w, 0)}`);
    out.actionType = "FWP_ACTION_PERMIT";
    fwps.releaseClassifyHandle(h2);
  });
  return { log };
}

describe("connect redirection (D24–D30)", () => {
  it("a TCP connection redirected to another server reaches it; AUTH_CONNECT sees the new remote, IS_CONNECTION_REDIRECTED and ORIGINAL_DESTINATION", () => {
    const { t, client, a, b } = net3();
    const atA = listener(a, 80);
    const atB = listener(b, 8080);
    const r = connectRedirector(client, () => ({ to: { address: addr("10.0.0.3"), port: 8080 } }));
    const from = t.log.length;
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    assert.deepEqual(r.log, ["apply STATUS_SUCCESS"]);
    assert.equal(c.outcome, "connected");
    assert.equal(c.remoteAddress?.toString(), "10.0.0.3");
    assert.equal(c.remotePort, 8080);
    assert.equal(atA.length, 0);
    assert.equal(atB.length, 1);
    const auth = t.slice("client", from).find((x) => x.layer.fwpsName === "FWPS_LAYER_ALE_AUTH_CONNECT_V4");
    assert.equal(auth?.facts.remoteAddress?.toString(), "10.0.0.3");
    assert.equal(auth?.facts.remotePort, 8080);
    assert.equal(
      (auth?.flags ?? 0) & F.FWP_CONDITION_FLAG_IS_CONNECTION_REDIRECTED,
      F.FWP_CONDITION_FLAG_IS_CONNECTION_REDIRECTED,
    );
    assert.equal(auth?.metadata.originalDestination, "10.0.0.2:80");
    assert.equal(c.redirectRecords, undefined, "not to a local process: no redirect record");
  });

  it("a callout that only writes to the indicated FWPS_CONNECT_REQUEST0 changes nothing (D25)", () => {
    const { t, client, a, b } = net3();
    const atA = listener(a, 80);
    listener(b, 80);
    addCallout(client.engine, "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4", (_v, _m, layerData, _c, _f, _x, out) => {
      (layerData as ConnectRequest).remoteAddressAndPort = { address: addr("10.0.0.3"), port: 80 };
      out.actionType = "FWP_ACTION_PERMIT";
    });
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    assert.equal(atA.length, 1);
    assert.equal(c.remoteAddress?.toString(), "10.0.0.2");
  });

  it("a redirect to a local process without a redirect handle is refused and the connection goes where the app asked (D29)", () => {
    const { t, client, a } = net3();
    const atA = listener(a, 80);
    const local = listener(client, 9000);
    const r = connectRedirector(client, () => ({ to: { address: addr("127.0.0.1"), port: 9000 }, pid: 1000 }));
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    assert.deepEqual(r.log, ["apply STATUS_INVALID_PARAMETER"]);
    assert.equal(atA.length, 1);
    assert.equal(local.length, 0);
  });

  it("a local proxy: records on the accepted socket, IS_PROXY_CONNECTION on its outbound one, and REDIRECTED_BY_SELF stops a second redirect", () => {
    const { t, client, a } = net3();
    const atA = listener(a, 80);
    const proxyApp = client.host.process({ processId: 4711, imagePath: "C:\\Apps\\proxy.exe" });
    const pl = client.host.tcp.socket(proxyApp);
    const toProxy: TcpSocket[] = [];
    pl.onAccept = (s) => toProxy.push(s);
    pl.bind(undefined, 9000);
    pl.listen();
    const handle = client.shim.fwps.redirectHandleCreate(PROVIDER).redirectHandle as RedirectHandle;
    const r = connectRedirector(
      client,
      (req, state) =>
        state === FWPS_CONNECTION_REDIRECT_STATE.FWPS_CONNECTION_REDIRECTED_BY_SELF ||
        state === FWPS_CONNECTION_REDIRECT_STATE.FWPS_CONNECTION_PREVIOUSLY_REDIRECTED_BY_SELF
          ? undefined
          : {
              to: { address: addr("127.0.0.1"), port: 9000 },
              handle,
              pid: 4711,
              context: { ...req.remoteAddressAndPort },
            },
      handle,
    );
    const from = t.log.length;
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    assert.equal(c.outcome, "connected");
    assert.equal(toProxy.length, 1);
    const auth = t.slice("client", from).find((x) => x.layer.fwpsName === "FWPS_LAYER_ALE_AUTH_CONNECT_V4");
    assert.equal(auth?.metadata.localRedirectTargetPID, 4711);
    const accepted = toProxy[0] as TcpSocket;
    const records = accepted.queryRedirectRecords();
    const original = accepted.queryRedirectContext() as SocketAddress;
    assert.equal(original.address.toString(), "10.0.0.2");
    assert.equal(original.port, 80);
    // The proxy's outbound connection, with the records set (SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS).
    const out = client.host.tcp.socket(proxyApp);
    out.setRedirectRecords(records);
    const mark = t.log.length;
    out.connect(original.address, original.port);
    t.net.runFor(ms(20));
    assert.equal(out.outcome, "connected");
    assert.equal(atA.length, 1, "the proxy reached the real server");
    assert.deepEqual(r.log, [
      "apply STATUS_SUCCESS",
      `leave state=${FWPS_CONNECTION_REDIRECT_STATE.FWPS_CONNECTION_REDIRECTED_BY_SELF}`,
    ]);
    const redirect = t.slice("client", mark).find((x) => x.layer.fwpsName === "FWPS_LAYER_ALE_CONNECT_REDIRECT_V4");
    assert.equal(
      (redirect?.flags ?? 0) & F.FWP_CONDITION_FLAG_IS_PROXY_CONNECTION,
      F.FWP_CONDITION_FLAG_IS_PROXY_CONNECTION,
    );
    assert.equal(redirect?.metadata.redirectRecords, records);
  });

  it("SIO_QUERY on a connection that was not redirected and SIO_SET with anything but records: WSAEINVAL", () => {
    const { t, client, a } = net3();
    listener(a, 80);
    const c = client.host.tcp.socket(client.app);
    assert.throws(() => c.setRedirectRecords({} as RedirectRecords), /WSAEINVAL/);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    assert.throws(() => c.queryRedirectRecords(), /WSAEINVAL/);
    assert.throws(() => c.queryRedirectContext(), /WSAEINVAL/);
    assert.throws(() => c.setRedirectRecords(new RedirectRecords([])), /WSAEINVAL/, "already connected");
  });

  it("UDP: datagrams to A are sent to B; B's replies come back as from A (D24) [INF]", () => {
    const { t, client, a, b } = net3();
    const atA: number[] = [];
    const sa = a.host.udp.socket(a.app);
    sa.onMessage = (m) => atA.push(m.data.length);
    sa.bind(undefined, 53);
    const sb = b.host.udp.socket(b.app);
    sb.onMessage = (m) => sb.sendTo(new Uint8Array([9, 9, 9]), m.remoteAddress, m.remotePort);
    sb.bind(undefined, 5353);
    connectRedirector(client, () => ({ to: { address: addr("10.0.0.3"), port: 5353 } }));
    const s = client.host.udp.socket(client.app);
    const replies: string[] = [];
    s.onMessage = (m) => replies.push(`${m.remoteAddress}:${m.remotePort} ${m.data.length}`);
    const from = t.log.length;
    s.sendTo(new Uint8Array(5), addr("10.0.0.2"), 53);
    s.sendTo(new Uint8Array(6), addr("10.0.0.2"), 53);
    t.net.runFor(ms(20));
    assert.deepEqual(atA, []);
    assert.deepEqual(replies, ["10.0.0.2:53 3", "10.0.0.2:53 3"]);
    const mine = t.slice("client", from);
    assert.equal(mine.filter((x) => x.layer.fwpsName === "FWPS_LAYER_ALE_CONNECT_REDIRECT_V4").length, 1, "one flow");
    const auth = mine.find((x) => x.layer.fwpsName === "FWPS_LAYER_ALE_AUTH_CONNECT_V4");
    assert.equal(auth?.facts.remoteAddress?.toString(), "10.0.0.3");
    assert.equal(auth?.metadata.originalDestination, "10.0.0.2:53");
  });
});

/** A BIND_REDIRECT callout moving binds for `fromPort` (any port: -1) to `to` (D24). */
function bindRedirector(h: TestHost, fromPort: number, to: (r: BindRequest) => SocketAddress) {
  const fwps = h.shim.fwps;
  const statuses: string[] = [];
  addCallout(h.engine, "FWPM_LAYER_ALE_BIND_REDIRECT_V4", (_v, _m, layerData, classifyContext, filter, _x, out) => {
    const req = layerData as BindRequest;
    if (fromPort !== -1 && req.localAddressAndPort.port !== fromPort) {
      out.actionType = "FWP_ACTION_CONTINUE";
      return;
    }
    const handle = fwps.acquireClassifyHandle(classifyContext).classifyHandle;
    const w = fwps.acquireWritableLayerDataPointer(handle, filter.filterId, 0, out).writableLayerData as BindRequest;
    w.localAddressAndPort = to(req);
    statuses.push(fwps.applyModifiedLayerData(handle, w, 0));
    out.actionType = "FWP_ACTION_PERMIT";
    fwps.releaseClassifyHandle(handle);
  });
  return { statuses };
}

describe("bind redirection (D24)", () => {
  it("TCP: a listener's bind to port 80 is moved to 8080; RESOURCE_ASSIGNMENT sees 8080, clients reach 8080", () => {
    const { t, client, a } = net3();
    const r = bindRedirector(a, 80, (req) => ({ address: req.localAddressAndPort.address, port: 8080 }));
    const from = t.log.length;
    const accepted = listener(a, 80);
    assert.deepEqual(r.statuses, ["STATUS_SUCCESS"]);
    const ra = t.slice("a", from).find((x) => x.layer.fwpsName === "FWPS_LAYER_ALE_RESOURCE_ASSIGNMENT_V4");
    assert.equal(ra?.facts.localPort, 8080);
    const to80 = client.host.tcp.socket(client.app);
    to80.connect(addr("10.0.0.2"), 80);
    const to8080 = client.host.tcp.socket(client.app);
    to8080.connect(addr("10.0.0.2"), 8080);
    t.net.runFor(ms(20));
    assert.equal(to80.outcome, "refused");
    assert.equal(to8080.outcome, "connected");
    assert.equal(accepted.length, 1);
  });

  it("UDP: a client's implicit bind is moved to port 40000: the server sees datagrams from it", () => {
    const { t, client, a } = net3();
    const from: number[] = [];
    const sa = a.host.udp.socket(a.app);
    sa.onMessage = (m) => from.push(m.remotePort);
    sa.bind(undefined, 53);
    // The implicit bind asks for port 0; the request shows the ephemeral port chosen, so match any port.
    bindRedirector(client, -1, (req) => ({ address: req.localAddressAndPort.address, port: 40000 }));
    const s = client.host.udp.socket(client.app);
    const mark = t.log.length;
    s.sendTo(new Uint8Array(1), addr("10.0.0.2"), 53);
    t.net.runFor(ms(20));
    assert.equal(s.localPort, 40000);
    assert.deepEqual(from, [40000]);
    const ra = t.slice("client", mark).find((x) => x.layer.fwpsName === "FWPS_LAYER_ALE_RESOURCE_ASSIGNMENT_V4");
    assert.equal(ra?.facts.localPort, 40000);
    assert.equal((ra?.flags ?? 0) & F.FWP_CONDITION_FLAG_IS_IMPLICIT_BIND, F.FWP_CONDITION_FLAG_IS_IMPLICIT_BIND);
  });

  it("UDP: an explicit bind to port 5000 moved to 5001; a redirect to an address this host does not own fails the bind (WSAEADDRNOTAVAIL)", () => {
    const { t, client, a } = net3();
    const from: number[] = [];
    const sa = a.host.udp.socket(a.app);
    sa.onMessage = (m) => from.push(m.remotePort);
    sa.bind(undefined, 53);
    bindRedirector(client, 5000, (req) => ({ address: req.localAddressAndPort.address, port: 5001 }));
    bindRedirector(client, 6000, () => ({ address: addr("10.9.9.9"), port: 6000 }));
    const s = client.host.udp.socket(client.app);
    s.bind(undefined, 5000);
    assert.equal(s.localPort, 5001);
    s.sendTo(new Uint8Array(1), addr("10.0.0.2"), 53);
    t.net.runFor(ms(20));
    assert.deepEqual(from, [5001]);
    assert.throws(() => client.host.udp.socket(client.app).bind(undefined, 6000), /WSAEADDRNOTAVAIL/);
  });
});

describe("pending the redirect layers and ENDPOINT_CLOSURE (FwpsPendClassify0, D21, D27)", () => {
  /** Pends every classification at `layer`; `later(handle, filterId)` completes it. */
  function pendClassifyAt(h: TestHost, layer: "CONNECT_REDIRECT" | "BIND_REDIRECT" | "ENDPOINT_CLOSURE") {
    const fwps = h.shim.fwps;
    const pended: { handle: ClassifyHandle; filterId: bigint }[] = [];
    const fn: CalloutClassifyFn = (_v, _m, _d, classifyContext, filter, _x, out) => {
      if ((out.rights & RIGHT_ACTION_WRITE) === 0) return;
      const handle = fwps.acquireClassifyHandle(classifyContext).classifyHandle as ClassifyHandle;
      assert.equal(fwps.pendClassify(handle, filter.filterId, 0, out), "STATUS_SUCCESS");
      pended.push({ handle, filterId: filter.filterId });
      out.actionType = "FWP_ACTION_BLOCK";
      out.rights &= ~RIGHT_ACTION_WRITE;
    };
    addCallout(h.engine, `FWPM_LAYER_ALE_${layer}_V4`, fn);
    return { pended };
  }

  const permitOut = (): ClassifyOut => ({ actionType: "FWP_ACTION_PERMIT", rights: RIGHT_ACTION_WRITE, flags: 0 });

  it("CONNECT_REDIRECT: connect() returns; AUTH_CONNECT and the SYN follow the completion", () => {
    const { t, client, a } = net3();
    listener(a, 80);
    const p = pendClassifyAt(client, "CONNECT_REDIRECT");
    const from = t.log.length;
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    assert.equal(c.outcome, undefined);
    assert.deepEqual(layers(t.slice("client", from)), [
      "ALE_BIND_REDIRECT_V4",
      "ALE_RESOURCE_ASSIGNMENT_V4",
      "ALE_CONNECT_REDIRECT_V4",
    ]);
    const job = p.pended[0];
    assert.ok(job !== undefined);
    assert.equal(client.shim.fwps.completeClassify(job.handle, 0, permitOut()), "STATUS_SUCCESS");
    client.shim.fwps.releaseClassifyHandle(job.handle);
    t.net.runFor(ms(20));
    assert.equal(c.outcome, "connected");
    assert.equal(client.shim.fwps.outstandingClassifyHandles, 0);
  });

  it("the asynchronous redirect (D27): acquire, modify and apply after classifyFn returned, then complete", () => {
    const { t, client, a, b } = net3();
    const atA = listener(a, 80);
    const atB = listener(b, 80);
    const p = pendClassifyAt(client, "CONNECT_REDIRECT");
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(30));
    const job = p.pended[0];
    assert.ok(job !== undefined);
    const fwps = client.shim.fwps;
    const out = permitOut();
    const w = fwps.acquireWritableLayerDataPointer(job.handle, job.filterId, 0, out)
      .writableLayerData as ConnectRequest;
    w.remoteAddressAndPort = { address: addr("10.0.0.3"), port: 80 };
    assert.equal(
      fwps.applyModifiedLayerData(job.handle, w, 1),
      "STATUS_SUCCESS",
      "REAUTHORIZE_IF_MODIFIED_BY_OTHERS is fine here",
    );
    out.actionType = "FWP_ACTION_PERMIT";
    out.rights |= RIGHT_ACTION_WRITE;
    fwps.completeClassify(job.handle, 0, out);
    fwps.releaseClassifyHandle(job.handle);
    t.net.runFor(ms(20));
    assert.equal(c.outcome, "connected");
    assert.deepEqual([atA.length, atB.length], [0, 1]);
  });

  it("completing with a null classifyOut classifies the indication again", () => {
    const { t, client, a } = net3();
    listener(a, 80);
    let calls = 0;
    const fwps = client.shim.fwps;
    addCallout(client.engine, "FWPM_LAYER_ALE_CONNECT_REDIRECT_V4", (_v, _m, _d, classifyContext, filter, _x, out) => {
      calls++;
      if (calls > 1) {
        out.actionType = "FWP_ACTION_PERMIT";
        return;
      }
      const handle = fwps.acquireClassifyHandle(classifyContext).classifyHandle;
      fwps.pendClassify(handle, filter.filterId, 0, out);
      fwps.releaseClassifyHandle(handle);
      t.net.scheduler.after(ms(5), () => fwps.completeClassify(handle, 0, null));
      out.actionType = "FWP_ACTION_BLOCK";
      out.rights = 0;
    });
    const c = client.host.tcp.socket(client.app);
    c.connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(30));
    assert.equal(calls, 2);
    assert.equal(c.outcome, "connected");
  });

  it("BIND_REDIRECT: the bind (and the listen behind it) completes with the classify", () => {
    const { t, a } = net3();
    const p = pendClassifyAt(a, "BIND_REDIRECT");
    const l = a.host.tcp.socket(a.app);
    l.bind(undefined, 80);
    l.listen();
    assert.equal(l.state, "CLOSED");
    const job = p.pended[0];
    assert.ok(job !== undefined);
    const mark = t.log.length;
    a.shim.fwps.completeClassify(job.handle, 0, permitOut());
    t.net.runFor(ms(1));
    assert.equal(l.state, "LISTEN");
    assert.deepEqual(layers(t.slice("a", mark)), ["ALE_RESOURCE_ASSIGNMENT_V4", "ALE_AUTH_LISTEN_V4"]);
  });

  it("ENDPOINT_CLOSURE: flowDeleteFn and RESOURCE_RELEASE wait for the completion (F13 order kept)", () => {
    const { t, client, a } = net3();
    a.host.udp.socket(a.app).bind(undefined, 53);
    const deleted: bigint[] = [];
    const dd = addCallout(
      client.engine,
      "FWPM_LAYER_DATAGRAM_DATA_V4",
      (_v, meta, _d, _c, _f, ctx, out) => {
        if (ctx === 0n)
          client.shim.fwps.flowAssociateContext(meta?.flowHandle as bigint, dd.layer.runtimeId, dd.calloutId, 8n);
        out.actionType = "FWP_ACTION_CONTINUE";
      },
      { flowDeleteFn: (_l, _c, ctx) => deleted.push(ctx) },
    );
    const p = pendClassifyAt(client, "ENDPOINT_CLOSURE");
    const s = client.host.udp.socket(client.app);
    s.sendTo(new Uint8Array(1), addr("10.0.0.2"), 53);
    const mark = t.log.length;
    s.close();
    assert.deepEqual(layers(t.slice("client", mark)), ["ALE_ENDPOINT_CLOSURE_V4"]);
    assert.deepEqual(deleted, []);
    const job = p.pended[0];
    assert.ok(job !== undefined);
    client.shim.fwps.completeClassify(job.handle, 0, permitOut());
    client.shim.fwps.releaseClassifyHandle(job.handle);
    t.net.runFor(ms(1));
    assert.deepEqual(deleted, [8n]);
    assert.deepEqual(layers(t.slice("client", mark)), ["ALE_ENDPOINT_CLOSURE_V4", "ALE_RESOURCE_RELEASE_V4"]);
  });

  it("UDP CONNECT_REDIRECT pended: the datagram waits (it is not flushed) and later sendto calls queue behind it", () => {
    const { t, client, a } = net3();
    const got: number[] = [];
    const sa = a.host.udp.socket(a.app);
    sa.onMessage = (m) => got.push(m.data.length);
    sa.bind(undefined, 53);
    const p = pendClassifyAt(client, "CONNECT_REDIRECT");
    const s = client.host.udp.socket(client.app);
    s.sendTo(new Uint8Array(1), addr("10.0.0.2"), 53);
    s.sendTo(new Uint8Array(2), addr("10.0.0.2"), 53);
    t.net.runFor(ms(10));
    assert.deepEqual(got, []);
    const job = p.pended[0];
    assert.ok(job !== undefined);
    client.shim.fwps.completeClassify(job.handle, 0, permitOut());
    t.net.runFor(seconds(1));
    assert.deepEqual(got, [1, 2]);
    assert.equal(p.pended.length, 1, "the second datagram found the flow");
  });
});

describe("FLAGS at CONNECT_REDIRECT", () => {
  it("no IS_PROXY_CONNECTION for an ordinary connection", () => {
    const { t, client, a } = net3();
    listener(a, 80);
    const from = t.log.length;
    client.host.tcp.socket(client.app).connect(addr("10.0.0.2"), 80);
    t.net.runFor(ms(20));
    const redirect = t.slice("client", from).find((x) => x.layer.fwpsName === "FWPS_LAYER_ALE_CONNECT_REDIRECT_V4");
    assert.equal((redirect?.flags ?? 0) & F.FWP_CONDITION_FLAG_IS_PROXY_CONNECTION, 0);
    assert.equal(redirect?.metadata.redirectRecords, undefined);
    assert.ok(fieldIndex("FWPM_LAYER_ALE_CONNECT_REDIRECT_V4", "FWPM_CONDITION_FLAGS") !== undefined);
  });
});
