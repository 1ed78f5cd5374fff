/**
 * Packet injection through simulated hosts (wfp-semantics.md D.6, D.7): where each injection function
 * re-enters the stack (D31), the injection state every layer sees (D33), the loop rule (D34), completion
 * (D35), and the calls Windows refuses (D32, D36, D37).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ipv4Address, Ipv6Address, type IpAddress } from "../base/index.ts";
import {
  CLASSIFY_OUT_FLAG_ABSORB,
  type CalloutClassifyFn,
  type FilterEngine,
  type InFixedValues,
  RIGHT_ACTION_WRITE,
} from "../engine/index.ts";
import { FWPS_METADATA_FIELD, fieldIndex, type FwpValue, type Layer } from "../fwp/index.ts";
import {
  type ClassifyRecord,
  FWPS_INJECTION_TYPE,
  type InjectionHandle,
  type NetBufferList,
  type NtStatus,
  ndisRetreatNetBufferDataStart,
  type ShimMetadata,
} from "../shim/index.ts";
import { addr, lan, type TestHost, type TestNet } from "./net-fixtures.testing.ts";
import { ms, seconds } from "./sim/scheduler.ts";
import { Network } from "./network.ts";
import { FilterEngine as Engine } from "../engine/index.ts";
import { Shim } from "../shim/index.ts";

const T = FWPS_INJECTION_TYPE;
const ALL_TYPES = T.FWPS_INJECTION_TYPE_NETWORK | T.FWPS_INJECTION_TYPE_TRANSPORT | T.FWPS_INJECTION_TYPE_FORWARD;
const NOT_INJECTED = 0;
const SELF = 1;
const OTHER = 2;
const PREVIOUSLY_SELF = 3;
const ALE_CLASSIFY_REQUIRED = FWPS_METADATA_FIELD.FWPS_METADATA_FIELD_ALE_CLASSIFY_REQUIRED;

let nextKey = 0;

/** A terminating callout filter at `layer` (FWPM name) calling `classifyFn`. */
function calloutAt(engine: FilterEngine, layer: string, classifyFn: CalloutClassifyFn, weight?: number): void {
  nextKey++;
  const calloutKey = `c0ffee00-0000-4000-8000-${nextKey.toString(16).padStart(12, "0")}`;
  engine.addCallout({ calloutKey, name: `callout ${nextKey}`, applicableLayer: layer });
  engine.registerCallout({ calloutKey, classifyFn });
  engine.addFilter({
    name: `callout filter ${nextKey}`,
    layer,
    ...(weight !== undefined ? { weight: { type: "FWP_UINT8", value: weight } } : {}),
    action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey },
  });
}

function value(values: InFixedValues, condition: string): FwpValue | undefined {
  const i = fieldIndex(values.layer, condition);
  return i === undefined ? undefined : values.incomingValues[i];
}

function u32(values: InFixedValues, condition: string): number {
  const v = value(values, condition);
  return v?.type === "FWP_UINT32" ? v.value : 0;
}

function remoteAddress(values: InFixedValues): IpAddress {
  const v = value(values, "FWPM_CONDITION_IP_REMOTE_ADDRESS");
  if (v?.type === "FWP_UINT32") return new Ipv4Address(v.value);
  if (v?.type === "FWP_BYTE_ARRAY16_TYPE") return new Ipv6Address(v.value);
  throw new Error("no remote address");
}

const isV6 = (layer: Layer): boolean => layer.ipVersion === "V6";

const absorb = (out: { actionType: string; flags: number; rights: number }): void => {
  out.actionType = "FWP_ACTION_BLOCK";
  out.flags |= CLASSIFY_OUT_FLAG_ABSORB;
  out.rights &= ~RIGHT_ACTION_WRITE;
};

interface Reinjector {
  readonly handles: { readonly 4: InjectionHandle; readonly 6: InjectionHandle };
  injected: number;
  /** Indications of packets this callout had injected (INJECTED_BY_SELF or PREVIOUSLY_INJECTED_BY_SELF). */
  selfSeen: number;
  /** Inbound packets indicated with ALE_CLASSIFY_REQUIRED, permitted as D22 says. */
  aleRequired: number;
  readonly completions: NtStatus[];
  readonly refusals: NtStatus[];
}

interface ReinjectorOptions {
  /** Permit packets this callout injected (D34); false: reinject them too. */
  readonly checkState: boolean;
  /** Stop reinjecting after this many injections (the guard of the looping test). */
  readonly limit?: number;
  readonly context?: unknown;
}

/**
 * The D34 test callout: at each of `layers` it clones every packet, blocks and absorbs the original and
 * injects the clone unchanged with the function matching the layer (network send / receive, forward,
 * transport send / receive).
 */
function reinjector(h: TestHost, layers: readonly string[], options: ReinjectorOptions): Reinjector {
  const fwps = h.shim.fwps;
  const handle4 = fwps.injectionHandleCreate("AF_INET", ALL_TYPES).handle;
  const handle6 = fwps.injectionHandleCreate("AF_INET6", ALL_TYPES).handle;
  assert.ok(handle4 !== null && handle6 !== null);
  const r: Reinjector = {
    handles: { 4: handle4, 6: handle6 },
    injected: 0,
    selfSeen: 0,
    aleRequired: 0,
    completions: [],
    refusals: [],
  };
  const done = (_ctx: unknown, nbl: NetBufferList): void => {
    r.completions.push(nbl.status);
    fwps.freeCloneNetBufferList(nbl);
  };
  const classify: CalloutClassifyFn = (values, metaIn, data, _c, _filter, _flow, out) => {
    if ((out.rights & RIGHT_ACTION_WRITE) === 0) return;
    const layer = values.layer;
    const handle = isV6(layer) ? handle6 : handle4;
    const state = fwps.queryPacketInjectionState(handle, data).state;
    const permit = (): void => {
      out.actionType = "FWP_ACTION_PERMIT";
    };
    if (state === SELF || state === PREVIOUSLY_SELF) {
      r.selfSeen++;
      if (options.checkState) return permit();
    }
    if (options.limit !== undefined && r.injected >= options.limit) return permit();
    const meta = metaIn as unknown as ShimMetadata;
    if ((meta.currentMetadataValues & ALE_CLASSIFY_REQUIRED) !== 0) {
      r.aleRequired++;
      return permit();
    }
    const clone = fwps.allocateCloneNetBufferList(data).netBufferList;
    if (clone === null) return permit();
    const status = inject(h, handle, layer, values, meta, clone, done, options.context ?? null);
    if (status !== "STATUS_SUCCESS") {
      r.refusals.push(status);
      fwps.freeCloneNetBufferList(clone);
      return permit();
    }
    r.injected++;
    absorb(out);
  };
  for (const layer of layers) calloutAt(h.engine, layer, classify);
  return r;
}

/** The injection function for a clone taken at `layer` (D31's table). */
function inject(
  h: TestHost,
  handle: InjectionHandle,
  layer: Layer,
  values: InFixedValues,
  meta: ShimMetadata,
  clone: NetBufferList,
  done: (ctx: unknown, nbl: NetBufferList) => void,
  context: unknown,
): NtStatus {
  const fwps = h.shim.fwps;
  const af = isV6(layer) ? "AF_INET6" : "AF_INET";
  const compartment = meta.compartmentId ?? 0;
  const inbound = layer.direction === "inbound" || (layer.direction !== "outbound" && meta.packetDirection === 1);
  switch (layer.subFamily) {
    case "ip-packet":
      if (!inbound) return fwps.injectNetworkSendAsync(handle, context, 0, compartment, clone, done, null);
      ndisRetreatNetBufferDataStart(clone, meta.ipHeaderSize ?? 0);
      return fwps.injectNetworkReceiveAsync(
        handle,
        context,
        0,
        compartment,
        u32(values, "FWPM_CONDITION_INTERFACE_INDEX"),
        u32(values, "FWPM_CONDITION_SUB_INTERFACE_INDEX"),
        clone,
        done,
        null,
      );
    case "ip-forward":
      return fwps.injectForwardAsync(
        handle,
        context,
        0,
        af,
        compartment,
        u32(values, "FWPM_CONDITION_DESTINATION_INTERFACE_INDEX"),
        clone,
        done,
        null,
      );
    default:
      if (!inbound)
        return fwps.injectTransportSendAsync(
          handle,
          context,
          meta.transportEndpointHandle ?? 0n,
          0,
          { remoteAddress: remoteAddress(values) },
          af,
          compartment,
          clone,
          done,
          null,
        );
      ndisRetreatNetBufferDataStart(clone, (meta.ipHeaderSize ?? 0) + (meta.transportHeaderSize ?? 0));
      return fwps.injectTransportReceiveAsync(
        handle,
        context,
        null,
        0,
        af,
        compartment,
        u32(values, "FWPM_CONDITION_INTERFACE_INDEX"),
        u32(values, "FWPM_CONDITION_SUB_INTERFACE_INDEX"),
        clone,
        done,
        null,
      );
  }
}

/** An inspection callout recording the injection state of everything it sees, for a handle. */
function observer(engine: FilterEngine, h: TestHost, layer: string, handle: () => InjectionHandle) {
  const seen: { state: number; context: unknown }[] = [];
  calloutAt(
    engine,
    layer,
    (_v, _m, data, _c, _f, _fl, out) => {
      const s = h.shim.fwps.queryPacketInjectionState(handle(), data);
      seen.push({ state: s.state, context: s.injectionContext });
      out.actionType = "FWP_ACTION_CONTINUE";
    },
    15,
  );
  return seen;
}

const short = (r: ClassifyRecord): string =>
  (r.layer.fwpmName ?? r.layer.fwpsName).replace(/^FWPM_LAYER_|_V[46]$/g, "");

function pair(v: 4 | 6 = 4): TestNet {
  return lan([
    { name: "client", addresses: [v === 4 ? "10.0.0.1/24" : "fd00::1/64"] },
    { name: "server", addresses: [v === 4 ? "10.0.0.2/24" : "fd00::2/64"] },
  ]);
}

const host = (t: TestNet, name: string): TestHost => {
  const h = t.hosts[name];
  if (h === undefined) throw new Error(`no host ${name}`);
  return h;
};

/** A UDP server on port 53 of `server` collecting payloads, and a client socket. */
function udp(t: TestNet) {
  const server = host(t, "server");
  const client = host(t, "client");
  const srv = server.host.udp.socket(server.app, server.address.includes(":") ? 6 : 4);
  const got: string[] = [];
  srv.onMessage = (m) => got.push(new TextDecoder().decode(m.data));
  srv.bind(undefined, 53);
  const cli = client.host.udp.socket(client.app, client.address.includes(":") ? 6 : 4);
  return { server, client, srv, cli, got, to: addr(server.address) };
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

// -------------------------------------------------------------------------------------------------

describe("where injected packets re-enter (D31)", () => {
  it("network send: OUTBOUND_IPPACKET is indicated again (no earlier layer), then the wire, once", () => {
    const t = pair();
    const { client, cli, got, to } = udp(t);
    const r = reinjector(client, ["FWPM_LAYER_OUTBOUND_IPPACKET_V4"], { checkState: true, context: "ctx-1" });
    const seen = observer(client.engine, client, "FWPM_LAYER_OUTBOUND_IPPACKET_V4", () => r.handles[4]);
    const from = t.log.length;
    cli.sendTo(text("hello"), to, 53);
    assert.deepEqual(r.completions, [], "the injection runs after the classification, not inside it");
    t.net.runFor(ms(10));
    assert.deepEqual(t.slice("client", from).map(short), [
      "ALE_BIND_REDIRECT",
      "ALE_RESOURCE_ASSIGNMENT",
      "ALE_CONNECT_REDIRECT",
      "ALE_AUTH_CONNECT",
      "ALE_FLOW_ESTABLISHED",
      "DATAGRAM_DATA",
      "OUTBOUND_TRANSPORT",
      "OUTBOUND_IPPACKET",
      "OUTBOUND_IPPACKET",
    ]);
    assert.deepEqual(seen, [
      { state: NOT_INJECTED, context: null },
      { state: SELF, context: "ctx-1" },
    ]);
    assert.deepEqual(r.completions, ["STATUS_SUCCESS"], "completionFn ran once, after the injection (D35)");
    assert.deepEqual(got, ["hello"]);
    assert.equal(client.nic.counters.framesOut, 1, "one datagram on the wire");
  });

  it("network receive: the packet climbs the whole receive path again from INBOUND_IPPACKET, tagged at every layer", () => {
    const t = pair();
    const { server, cli, got, to } = udp(t);
    const r = reinjector(server, ["FWPM_LAYER_INBOUND_IPPACKET_V4"], { checkState: true });
    const atDatagram = observer(server.engine, server, "FWPM_LAYER_DATAGRAM_DATA_V4", () => r.handles[4]);
    const atTransport = observer(server.engine, server, "FWPM_LAYER_INBOUND_TRANSPORT_V4", () => r.handles[4]);
    const from = t.log.length;
    cli.sendTo(text("up"), to, 53);
    t.net.runFor(ms(10));
    assert.deepEqual(t.slice("server", from).map(short), [
      "INBOUND_IPPACKET",
      "INBOUND_IPPACKET",
      "INBOUND_TRANSPORT",
      "ALE_AUTH_RECV_ACCEPT",
      "ALE_FLOW_ESTABLISHED",
      "DATAGRAM_DATA",
    ]);
    assert.deepEqual(
      [...atTransport, ...atDatagram].map((s) => s.state),
      [SELF, SELF],
    );
    assert.deepEqual(got, ["up"]);
  });

  it("forward: the injected packet leaves by the forwarding path and is indicated at no WFP layer", () => {
    const net = new Network({ seed: 3 });
    net.link("a", { delayNs: ms(1) });
    net.link("b", { delayNs: ms(1) });
    const log: ClassifyRecord[] = [];
    const mk = (name: string) => {
      const engine = new Engine();
      const shim = new Shim({ engine, clock: net.scheduler, host: name, log: (x) => log.push(x) });
      return { engine, shim, host: net.host(name, shim) };
    };
    const client = mk("client");
    const router = mk("router");
    const server = mk("server");
    const cn = net.attach(client.host, "eth0", "a", { addresses: ["10.0.1.1/24"] });
    const ra = net.attach(router.host, "eth0", "a", { addresses: ["10.0.1.254/24"] });
    const rb = net.attach(router.host, "eth1", "b", { addresses: ["10.0.2.254/24"] });
    const sn = net.attach(server.host, "eth0", "b", { addresses: ["10.0.2.1/24"] });
    ra.forwarding = true;
    rb.forwarding = true;
    client.host.addRoute("0.0.0.0/0", cn, "10.0.1.254");
    server.host.addRoute("0.0.0.0/0", sn, "10.0.2.254");
    const routerHost: TestHost = {
      host: router.host,
      engine: router.engine,
      shim: router.shim,
      nic: ra,
      address: "10.0.1.254",
      app: router.host.system,
    };
    const r = reinjector(routerHost, ["FWPM_LAYER_IPFORWARD_V4"], { checkState: true });
    const srv = server.host.udp.socket(server.host.process({ processId: 7, imagePath: "C:\\srv.exe" }));
    const got: string[] = [];
    srv.onMessage = (m) => got.push(new TextDecoder().decode(m.data));
    srv.bind(undefined, 53);
    client.host.udp
      .socket(client.host.process({ processId: 8, imagePath: "C:\\cli.exe" }))
      .sendTo(text("via router"), Ipv4Address.parse("10.0.2.1"), 53);
    net.runFor(ms(50));
    assert.deepEqual(
      log.filter((x) => x.host === "router").map(short),
      ["IPFORWARD"],
      "forward-injected packets are never indicated again (F10)",
    );
    assert.equal(r.injected, 1);
    assert.deepEqual(r.completions, ["STATUS_SUCCESS"]);
    assert.deepEqual(got, ["via router"]);
    assert.equal(router.host.forwarder.counters.forwarded, 1);
  });

  it("transport send: DATAGRAM_DATA, OUTBOUND_TRANSPORT and OUTBOUND_IPPACKET again, each seeing the tag", () => {
    const t = pair();
    const { client, cli, got, to } = udp(t);
    const r = reinjector(client, ["FWPM_LAYER_OUTBOUND_TRANSPORT_V4"], { checkState: true, context: 42 });
    const atIp = observer(client.engine, client, "FWPM_LAYER_OUTBOUND_IPPACKET_V4", () => r.handles[4]);
    const atDatagram = observer(client.engine, client, "FWPM_LAYER_DATAGRAM_DATA_V4", () => r.handles[4]);
    cli.sendTo(text("first"), to, 53);
    t.net.runFor(ms(10));
    const from = t.log.length;
    cli.sendTo(text("second"), to, 53);
    t.net.runFor(ms(10));
    assert.deepEqual(t.slice("client", from).map(short), [
      "DATAGRAM_DATA",
      "OUTBOUND_TRANSPORT",
      "DATAGRAM_DATA",
      "OUTBOUND_TRANSPORT",
      "OUTBOUND_IPPACKET",
    ]);
    assert.deepEqual(atIp.slice(-1), [{ state: SELF, context: 42 }], "the IP layer sees the transport injector's tag");
    assert.deepEqual(
      atDatagram.slice(-2).map((s) => s.state),
      [NOT_INJECTED, SELF],
    );
    assert.deepEqual(got, ["first", "second"]);
  });

  it("transport send to another remote authorizes the new flow at ALE first (ALE if needed)", () => {
    const t = lan([
      { name: "client", addresses: ["10.0.0.1/24"] },
      { name: "server", addresses: ["10.0.0.2/24"] },
      { name: "other", addresses: ["10.0.0.3/24"] },
    ]);
    const { client, cli, to } = udp(t);
    const other = host(t, "other");
    const diverted: string[] = [];
    const o = other.host.udp.socket(other.app);
    o.onMessage = (m) => diverted.push(new TextDecoder().decode(m.data));
    o.bind(undefined, 53);
    const fwps = client.shim.fwps;
    const handle = fwps.injectionHandleCreate("AF_UNSPEC", 0).handle as InjectionHandle;
    calloutAt(client.engine, "FWPM_LAYER_OUTBOUND_TRANSPORT_V4", (values, m, data, _c, _f, _fl, out) => {
      if (fwps.queryPacketInjectionState(handle, data).state === SELF) {
        out.actionType = "FWP_ACTION_PERMIT";
        return;
      }
      const meta = m as unknown as ShimMetadata;
      const clone = fwps.allocateCloneNetBufferList(data).netBufferList as NetBufferList;
      void values;
      const s = fwps.injectTransportSendAsync(
        handle,
        null,
        meta.transportEndpointHandle ?? 0n,
        0,
        { remoteAddress: Ipv4Address.parse("10.0.0.3") },
        "AF_INET",
        1,
        clone,
        (_x, n) => fwps.freeCloneNetBufferList(n),
        null,
      );
      assert.equal(s, "STATUS_SUCCESS");
      absorb(out);
    });
    const from = t.log.length;
    cli.sendTo(text("diverted"), to, 53);
    t.net.runFor(ms(10));
    const steps = t.slice("client", from).map(short);
    assert.deepEqual(steps.slice(-6), [
      "ALE_CONNECT_REDIRECT",
      "ALE_AUTH_CONNECT",
      "ALE_FLOW_ESTABLISHED",
      "DATAGRAM_DATA",
      "OUTBOUND_TRANSPORT",
      "OUTBOUND_IPPACKET",
    ]);
    assert.deepEqual(diverted, ["diverted"]);
  });

  it("transport receive: INBOUND_IPPACKET, INBOUND_TRANSPORT, DATAGRAM_DATA again; the flow's first datagram is left to ALE", () => {
    const t = pair();
    const { server, cli, got, to } = udp(t);
    const r = reinjector(server, ["FWPM_LAYER_INBOUND_TRANSPORT_V4"], { checkState: true });
    cli.sendTo(text("first"), to, 53);
    t.net.runFor(ms(10));
    assert.equal(r.aleRequired, 1, "the first datagram carries ALE_CLASSIFY_REQUIRED and is permitted (D22)");
    assert.equal(r.injected, 0);
    const from = t.log.length;
    cli.sendTo(text("second"), to, 53);
    t.net.runFor(ms(10));
    assert.deepEqual(t.slice("server", from).map(short), [
      "INBOUND_IPPACKET",
      "INBOUND_TRANSPORT",
      "INBOUND_IPPACKET",
      "INBOUND_TRANSPORT",
      "DATAGRAM_DATA",
    ]);
    assert.deepEqual(got, ["first", "second"]);
    assert.deepEqual(r.completions, ["STATUS_SUCCESS"]);
  });

  it("IPv6 packets re-enter the same way with an AF_INET6 handle", () => {
    const t = pair(6);
    const { client, server, cli, got, to } = udp(t);
    reinjector(client, ["FWPM_LAYER_OUTBOUND_IPPACKET_V6", "FWPM_LAYER_OUTBOUND_TRANSPORT_V6"], { checkState: true });
    reinjector(server, ["FWPM_LAYER_INBOUND_IPPACKET_V6"], { checkState: true });
    cli.sendTo(text("six"), to, 53);
    cli.sendTo(text("six again"), to, 53);
    t.net.runFor(ms(10));
    assert.deepEqual(got, ["six", "six again"]);
  });
});

describe("the injection state (D33)", () => {
  it("NOT_INJECTED, INJECTED_BY_SELF, INJECTED_BY_OTHER and PREVIOUSLY_INJECTED_BY_SELF, with the injector's context", () => {
    const t = pair();
    const { client, cli, got, to } = udp(t);
    const fwps = client.shim.fwps;
    const a = fwps.injectionHandleCreate("AF_INET", ALL_TYPES).handle as InjectionHandle;
    const b = fwps.injectionHandleCreate("AF_INET", ALL_TYPES).handle as InjectionHandle;
    const free = (_x: unknown, n: NetBufferList): void => fwps.freeCloneNetBufferList(n);
    // A: transport send of everything not injected by A.
    calloutAt(client.engine, "FWPM_LAYER_OUTBOUND_TRANSPORT_V4", (values, m, data, _c, _f, _fl, out) => {
      const st = fwps.queryPacketInjectionState(a, data).state;
      if (st === SELF || st === PREVIOUSLY_SELF) {
        out.actionType = "FWP_ACTION_PERMIT";
        return;
      }
      const meta = m as unknown as ShimMetadata;
      const clone = fwps.allocateCloneNetBufferList(data).netBufferList as NetBufferList;
      const endpoint = meta.transportEndpointHandle ?? 0n;
      const args = { remoteAddress: remoteAddress(values) };
      fwps.injectTransportSendAsync(a, "A-ctx", endpoint, 0, args, "AF_INET", 1, clone, free, null);
      absorb(out);
    });
    // B: network send of everything not injected by B; records what both handles say.
    const states: [number, unknown, number, unknown][] = [];
    calloutAt(client.engine, "FWPM_LAYER_OUTBOUND_IPPACKET_V4", (_v, _m, data, _c, _f, _fl, out) => {
      const sa = fwps.queryPacketInjectionState(a, data);
      const sb = fwps.queryPacketInjectionState(b, data);
      states.push([sa.state, sa.injectionContext, sb.state, sb.injectionContext]);
      if (sb.state === SELF || sb.state === PREVIOUSLY_SELF) {
        out.actionType = "FWP_ACTION_PERMIT";
        return;
      }
      const clone = fwps.allocateCloneNetBufferList(data).netBufferList as NetBufferList;
      assert.equal(fwps.injectNetworkSendAsync(b, "B-ctx", 0, 1, clone, free, null), "STATUS_SUCCESS");
      absorb(out);
    });
    cli.sendTo(text("x"), to, 53);
    t.net.runFor(ms(10));
    assert.deepEqual(states, [
      [SELF, "A-ctx", OTHER, null],
      [PREVIOUSLY_SELF, "A-ctx", SELF, "B-ctx"],
    ]);
    assert.deepEqual(got, ["x"]);
  });

  it("a packet never injected is NOT_INJECTED for every handle, and layers without a packet are NOT_INJECTED", () => {
    const t = pair();
    const { client } = udp(t);
    const fwps = client.shim.fwps;
    const handle = fwps.injectionHandleCreate("AF_INET", 0).handle as InjectionHandle;
    assert.equal(fwps.queryPacketInjectionState(handle, undefined).state, NOT_INJECTED);
    assert.equal(fwps.queryPacketInjectionState(handle, { kind: "stream" }).state, NOT_INJECTED);
    assert.equal(fwps.queryPacketInjectionState(null, { kind: "packet", injection: { handle } }).state, NOT_INJECTED);
  });
});

// -------------------------------------------------------------------------------------------------

/** Classifications per host and layer. */
function countsByLayer(records: readonly ClassifyRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) {
    const k = `${r.host} ${short(r)}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

interface Session {
  readonly t: TestNet;
  readonly clientGot: number;
  readonly serverGot: number;
  readonly outcome: string | undefined;
}

/** A TCP connection: connect, 5,000 bytes each way, close; `setup` installs callouts before it starts. */
function tcpSession(setup: (t: TestNet) => void): Session {
  const t = pair();
  setup(t);
  const server = host(t, "server");
  const client = host(t, "client");
  const l = server.host.tcp.socket(server.app);
  let serverGot = 0;
  l.onAccept = (c) => {
    c.onData = (b) => {
      serverGot += b.length;
      if (serverGot === 5000) c.send(new Uint8Array(5000).fill(0x42));
    };
    c.onEnd = () => c.close();
  };
  l.bind(undefined, 80);
  l.listen();
  const c = client.host.tcp.socket(client.app);
  let clientGot = 0;
  c.onConnect = () => c.send(new Uint8Array(5000).fill(0x41));
  c.onData = (b) => {
    clientGot += b.length;
    if (clientGot === 5000) c.close();
  };
  c.connect(addr("10.0.0.2"), 80);
  t.net.runFor(seconds(300));
  return { t, clientGot, serverGot, outcome: c.outcome };
}

describe("the loop rule (D34)", () => {
  it("a callout that ignores the injection state keeps re-seeing its own packet (stopped after 100)", () => {
    const t = pair();
    const { client, cli, got, to } = udp(t);
    const r = reinjector(client, ["FWPM_LAYER_OUTBOUND_IPPACKET_V4"], { checkState: false, limit: 100 });
    const from = t.log.length;
    cli.sendTo(text("loop"), to, 53);
    t.net.runFor(ms(10));
    const ip = t.slice("client", from).filter((x) => short(x) === "OUTBOUND_IPPACKET");
    assert.equal(r.injected, 100);
    assert.equal(r.selfSeen, 100, "every re-indication is its own packet, INJECTED_BY_SELF");
    assert.equal(ip.length, 101, "one datagram, 101 classifications at OUTBOUND_IPPACKET: it would never stop");
    assert.deepEqual(got, ["loop"], "delivered once, when the guard let it go");
  });

  it("checking the state: exactly one extra classification per injection at the network layers; TCP still works", () => {
    const base = tcpSession(() => {});
    const injectors: Reinjector[] = [];
    const withCallout = tcpSession((t) => {
      for (const name of ["client", "server"])
        injectors.push(
          reinjector(host(t, name), ["FWPM_LAYER_OUTBOUND_IPPACKET_V4", "FWPM_LAYER_INBOUND_IPPACKET_V4"], {
            checkState: true,
          }),
        );
    });
    assert.equal(base.outcome, "connected");
    assert.equal(withCallout.outcome, "connected");
    assert.equal(withCallout.serverGot, 5000);
    assert.equal(withCallout.clientGot, 5000);
    const before = countsByLayer(base.t.log);
    const after = countsByLayer(withCallout.t.log);
    for (const [k, n] of before) {
      const ip = k.endsWith("IPPACKET");
      assert.equal(after.get(k), ip ? 2 * n : n, `${k}: ${ip ? "doubled" : "unchanged"}`);
    }
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
    for (const r of injectors) {
      assert.equal(r.selfSeen, r.injected, "each injected packet came back exactly once");
      assert.equal(r.completions.length, r.injected);
      assert.ok(r.completions.every((s) => s === "STATUS_SUCCESS"));
      assert.deepEqual(r.refusals, []);
    }
  });

  it("checking the state at the transport layers: one extra indication per re-entered layer; TCP still works", () => {
    const base = tcpSession(() => {});
    const injectors: Record<string, Reinjector> = {};
    const withCallout = tcpSession((t) => {
      for (const name of ["client", "server"])
        injectors[name] = reinjector(
          host(t, name),
          ["FWPM_LAYER_OUTBOUND_TRANSPORT_V4", "FWPM_LAYER_INBOUND_TRANSPORT_V4"],
          { checkState: true },
        );
    });
    assert.equal(withCallout.outcome, "connected");
    assert.equal(withCallout.serverGot, 5000);
    assert.equal(withCallout.clientGot, 5000);
    const before = countsByLayer(base.t.log);
    const after = countsByLayer(withCallout.t.log);
    for (const name of ["client", "server"]) {
      const n = (layer: string, m: Map<string, number>) => m.get(`${name} ${layer}`) ?? 0;
      const out = n("OUTBOUND_TRANSPORT", before);
      const inTransport = n("INBOUND_TRANSPORT", before);
      const r = injectors[name] as Reinjector;
      // Inbound: all but the ALE_CLASSIFY_REQUIRED ones (the SYN at the server) come back through IP.
      const reinjectedIn = inTransport - r.aleRequired;
      assert.equal(n("OUTBOUND_TRANSPORT", after), 2 * out, `${name}: OUTBOUND_TRANSPORT doubled`);
      assert.equal(
        n("OUTBOUND_IPPACKET", after),
        n("OUTBOUND_IPPACKET", before),
        `${name}: OUTBOUND_IPPACKET unchanged`,
      );
      assert.equal(n("INBOUND_TRANSPORT", after), inTransport + reinjectedIn);
      assert.equal(n("INBOUND_IPPACKET", after), n("INBOUND_IPPACKET", before) + reinjectedIn);
      assert.equal(r.injected, out + reinjectedIn);
      assert.equal(r.selfSeen, r.injected);
      assert.deepEqual(r.refusals, []);
    }
    assert.equal(injectors.server?.aleRequired, 1, "the server's SYN");
  });
});

// -------------------------------------------------------------------------------------------------

/** A callout at `layer` that hands each indicated packet to `take` (which returns its verdict). */
function grab(h: TestHost, layer: string, take: (data: unknown, meta: ShimMetadata, values: InFixedValues) => boolean) {
  calloutAt(h.engine, layer, (values, m, data, _c, _f, _fl, out) => {
    if (take(data, m as unknown as ShimMetadata, values)) out.actionType = "FWP_ACTION_PERMIT";
    else absorb(out);
  });
}

describe("what Windows refuses", () => {
  it("FwpsInjectionHandleCreate0: families AF_INET, AF_INET6, AF_UNSPEC and FWPS_INJECTION_TYPE_* flags only", () => {
    const t = pair();
    const fwps = host(t, "client").shim.fwps;
    assert.equal(fwps.injectionHandleCreate("AF_INET", T.FWPS_INJECTION_TYPE_NETWORK).status, "STATUS_SUCCESS");
    assert.equal(fwps.injectionHandleCreate("AF_UNSPEC", 0).status, "STATUS_SUCCESS");
    assert.equal(fwps.injectionHandleCreate("AF_IPX" as "AF_INET", 0).status, "STATUS_INVALID_PARAMETER");
    assert.equal(fwps.injectionHandleCreate("AF_INET", 0x100).status, "STATUS_INVALID_PARAMETER");
    const h = fwps.injectionHandleCreate("AF_INET", 0).handle;
    assert.equal(fwps.injectionHandleDestroy(h), "STATUS_SUCCESS");
    assert.equal(fwps.injectionHandleDestroy(h), "STATUS_INVALID_PARAMETER", "destroyed twice");
  });

  it("a shim with no stack attached: STATUS_FWP_TCPIP_NOT_READY (retry later)", () => {
    const shim = new Shim({ engine: new Engine(), clock: { nowNs: () => 0n } });
    assert.deepEqual(shim.fwps.injectionHandleCreate("AF_INET", 0), {
      status: "STATUS_FWP_TCPIP_NOT_READY",
      handle: null,
    });
  });

  it("network injection needs a NETWORK handle created for the packet's family (D32)", () => {
    const t = pair();
    const { client, cli, to } = udp(t);
    const fwps = client.shim.fwps;
    const transportOnly = fwps.injectionHandleCreate("AF_INET", 0).handle;
    const v6 = fwps.injectionHandleCreate("AF_INET6", T.FWPS_INJECTION_TYPE_NETWORK).handle;
    const unspec = fwps.injectionHandleCreate("AF_UNSPEC", T.FWPS_INJECTION_TYPE_NETWORK).handle;
    const statuses: NtStatus[] = [];
    let completions = 0;
    grab(client, "FWPM_LAYER_OUTBOUND_IPPACKET_V4", (data) => {
      for (const h of [transportOnly, v6, unspec]) {
        const clone = fwps.allocateCloneNetBufferList(data).netBufferList;
        statuses.push(fwps.injectNetworkSendAsync(h, null, 0, 1, clone, () => completions++, null));
      }
      return true;
    });
    cli.sendTo(text("x"), to, 53);
    t.net.runFor(ms(10));
    assert.deepEqual(statuses, [
      "STATUS_FWP_INJECT_HANDLE_STALE",
      "STATUS_INVALID_PARAMETER",
      "STATUS_INVALID_PARAMETER",
    ]);
    assert.equal(completions, 0, "completionFn never runs for a refused call (D35)");
  });

  it("a destroyed handle: STATUS_FWP_INJECT_HANDLE_CLOSING; an injection accepted before still completes", () => {
    const t = pair();
    const { client, cli, got, to } = udp(t);
    const fwps = client.shim.fwps;
    const h = fwps.injectionHandleCreate("AF_INET", T.FWPS_INJECTION_TYPE_NETWORK).handle as InjectionHandle;
    const statuses: NtStatus[] = [];
    const completed: NtStatus[] = [];
    grab(client, "FWPM_LAYER_OUTBOUND_IPPACKET_V4", (data) => {
      if (fwps.queryPacketInjectionState(h, data).state === SELF) return true;
      const first = fwps.allocateCloneNetBufferList(data).netBufferList;
      statuses.push(fwps.injectNetworkSendAsync(h, null, 0, 1, first, (_c, n) => completed.push(n.status), null));
      statuses.push(fwps.injectionHandleDestroy(h));
      const second = fwps.allocateCloneNetBufferList(data).netBufferList;
      statuses.push(
        fwps.injectNetworkSendAsync(h, null, 0, 1, second, () => completed.push("STATUS_UNSUCCESSFUL"), null),
      );
      return false;
    });
    cli.sendTo(text("once"), to, 53);
    t.net.runFor(ms(10));
    assert.deepEqual(statuses, ["STATUS_SUCCESS", "STATUS_SUCCESS", "STATUS_FWP_INJECT_HANDLE_CLOSING"]);
    assert.deepEqual(completed, ["STATUS_SUCCESS"]);
    assert.deepEqual(got, ["once"]);
  });

  it("completionFn is required (STATUS_FWP_NULL_POINTER); reserved flags, unknown compartments, NBLs the callout does not own: STATUS_INVALID_PARAMETER", () => {
    const t = pair();
    const { client, cli, to } = udp(t);
    const fwps = client.shim.fwps;
    const h = fwps.injectionHandleCreate("AF_INET", T.FWPS_INJECTION_TYPE_NETWORK).handle;
    const statuses: Record<string, NtStatus> = {};
    const ok = (): void => {};
    grab(client, "FWPM_LAYER_OUTBOUND_IPPACKET_V4", (data) => {
      if (fwps.queryPacketInjectionState(h, data).state === SELF) return true;
      const clone = () => fwps.allocateCloneNetBufferList(data).netBufferList;
      statuses.nullCompletion = fwps.injectNetworkSendAsync(h, null, 0, 1, clone(), null, null);
      statuses.flags = fwps.injectNetworkSendAsync(h, null, 1, 1, clone(), ok, null);
      statuses.compartment = fwps.injectNetworkSendAsync(h, null, 0, 7, clone(), ok, null);
      statuses.indicated = fwps.injectNetworkSendAsync(h, null, 0, 1, data as NetBufferList, ok, null);
      const freed = clone() as NetBufferList;
      fwps.freeCloneNetBufferList(freed);
      statuses.freed = fwps.injectNetworkSendAsync(h, null, 0, 1, freed, ok, null);
      const twice = clone();
      statuses.first = fwps.injectNetworkSendAsync(h, null, 0, 1, twice, ok, null);
      statuses.again = fwps.injectNetworkSendAsync(h, null, 0, 1, twice, ok, null);
      return false;
    });
    cli.sendTo(text("x"), to, 53);
    t.net.runFor(ms(10));
    assert.deepEqual(statuses, {
      nullCompletion: "STATUS_FWP_NULL_POINTER",
      flags: "STATUS_INVALID_PARAMETER",
      compartment: "STATUS_INVALID_PARAMETER",
      indicated: "STATUS_INVALID_PARAMETER",
      freed: "STATUS_INVALID_PARAMETER",
      first: "STATUS_SUCCESS",
      again: "STATUS_INVALID_PARAMETER",
    });
  });

  it("network receive of an NBL not retreated to its IP header, or on an unknown interface: STATUS_INVALID_PARAMETER", () => {
    const t = pair();
    const { server, cli, to } = udp(t);
    const fwps = server.shim.fwps;
    const h = fwps.injectionHandleCreate("AF_INET", T.FWPS_INJECTION_TYPE_NETWORK).handle;
    const statuses: NtStatus[] = [];
    grab(server, "FWPM_LAYER_INBOUND_IPPACKET_V4", (data, meta, values) => {
      const ifIndex = u32(values, "FWPM_CONDITION_INTERFACE_INDEX");
      const clone = fwps.allocateCloneNetBufferList(data).netBufferList as NetBufferList;
      statuses.push(fwps.injectNetworkReceiveAsync(h, null, 0, 1, ifIndex, 0, clone, () => {}, null));
      ndisRetreatNetBufferDataStart(clone, meta.ipHeaderSize ?? 0);
      statuses.push(fwps.injectNetworkReceiveAsync(h, null, 0, 1, 99, 0, clone, () => {}, null));
      return true;
    });
    cli.sendTo(text("x"), to, 53);
    t.net.runFor(ms(10));
    assert.deepEqual(statuses, ["STATUS_INVALID_PARAMETER", "STATUS_INVALID_PARAMETER"]);
  });

  it("transport send into a closed endpoint is refused; one that closes before the injection runs fails it (D36)", () => {
    const t = pair();
    const { client, cli, got, to } = udp(t);
    const fwps = client.shim.fwps;
    const h = fwps.injectionHandleCreate("AF_UNSPEC", T.FWPS_INJECTION_TYPE_TRANSPORT).handle as InjectionHandle;
    const statuses: NtStatus[] = [];
    const completed: NtStatus[] = [];
    let keep: { clone: NetBufferList; endpoint: bigint; remote: IpAddress } | undefined;
    grab(client, "FWPM_LAYER_OUTBOUND_TRANSPORT_V4", (data, meta, values) => {
      if (fwps.queryPacketInjectionState(h, data).state === SELF) return true;
      const clone = fwps.allocateCloneNetBufferList(data).netBufferList as NetBufferList;
      const endpoint = meta.transportEndpointHandle ?? 0n;
      const remote = remoteAddress(values);
      statuses.push(
        fwps.injectTransportSendAsync(
          h,
          null,
          endpoint,
          0,
          { remoteAddress: remote },
          "AF_INET",
          1,
          clone,
          (_c, n) => {
            completed.push(n.status);
          },
          null,
        ),
      );
      keep = { clone: fwps.allocateCloneNetBufferList(data).netBufferList as NetBufferList, endpoint, remote };
      cli.close(); // before the injection runs
      return false;
    });
    cli.sendTo(text("lost"), to, 53);
    t.net.runFor(ms(10));
    assert.deepEqual(statuses, ["STATUS_SUCCESS"], "accepted while the socket was open");
    assert.deepEqual(completed, ["STATUS_INVALID_PARAMETER"], "the endpoint died before the injection ran");
    assert.deepEqual(got, []);
    const k = keep as NonNullable<typeof keep>;
    const late = fwps.injectTransportSendAsync(
      h,
      null,
      k.endpoint,
      0,
      { remoteAddress: k.remote },
      "AF_INET",
      1,
      k.clone,
      () => {},
      null,
    );
    assert.equal(late, "STATUS_INVALID_PARAMETER", "refused at once after closesocket()");
    const unknown = fwps.injectTransportSendAsync(
      h,
      null,
      0xdeadn,
      0,
      { remoteAddress: k.remote },
      "AF_INET",
      1,
      k.clone,
      () => {},
      null,
    );
    assert.equal(unknown, "STATUS_INVALID_PARAMETER");
  });

  it("transport send needs sendArgs of the family (no raw sends in the model)", () => {
    const t = pair();
    const { client, cli, to } = udp(t);
    const fwps = client.shim.fwps;
    const h = fwps.injectionHandleCreate("AF_UNSPEC", 0).handle;
    const statuses: NtStatus[] = [];
    grab(client, "FWPM_LAYER_OUTBOUND_TRANSPORT_V4", (data, meta) => {
      const clone = () => fwps.allocateCloneNetBufferList(data).netBufferList;
      const ep = meta.transportEndpointHandle ?? 0n;
      statuses.push(fwps.injectTransportSendAsync(h, null, ep, 0, null, "AF_INET", 1, clone(), () => {}, null));
      const v6 = { remoteAddress: Ipv6Address.parse("fd00::2") };
      statuses.push(fwps.injectTransportSendAsync(h, null, ep, 0, v6, "AF_INET", 1, clone(), () => {}, null));
      statuses.push(fwps.injectTransportSendAsync(h, null, ep, 0, v6, "AF_INET6", 1, clone(), () => {}, null));
      return true;
    });
    cli.sendTo(text("x"), to, 53);
    t.net.runFor(ms(10));
    assert.deepEqual(statuses, ["STATUS_INVALID_PARAMETER", "STATUS_INVALID_PARAMETER", "STATUS_INVALID_PARAMETER"]);
  });

  it("transport receive of a packet indicated with ALE_CLASSIFY_REQUIRED: STATUS_FWP_INCOMPATIBLE_LAYER (D37)", () => {
    const t = pair();
    const { server, cli, got, to } = udp(t);
    const fwps = server.shim.fwps;
    const h = fwps.injectionHandleCreate("AF_INET", 0).handle;
    const statuses: NtStatus[] = [];
    grab(server, "FWPM_LAYER_INBOUND_TRANSPORT_V4", (data, meta, values) => {
      if ((meta.currentMetadataValues & ALE_CLASSIFY_REQUIRED) === 0) return true;
      const clone = fwps.allocateCloneNetBufferList(data).netBufferList as NetBufferList;
      ndisRetreatNetBufferDataStart(clone, (meta.ipHeaderSize ?? 0) + (meta.transportHeaderSize ?? 0));
      const ifIndex = u32(values, "FWPM_CONDITION_INTERFACE_INDEX");
      statuses.push(
        fwps.injectTransportReceiveAsync(h, null, null, 0, "AF_INET", 1, ifIndex, 0, clone, () => {}, null),
      );
      fwps.freeCloneNetBufferList(clone);
      return true;
    });
    cli.sendTo(text("first"), to, 53);
    t.net.runFor(ms(10));
    assert.deepEqual(statuses, ["STATUS_FWP_INCOMPATIBLE_LAYER"]);
    assert.deepEqual(got, ["first"]);
  });

  it("forward injection out of the loopback or an unknown interface: STATUS_INVALID_PARAMETER", () => {
    const t = pair();
    const { client, cli, to } = udp(t);
    const fwps = client.shim.fwps;
    const h = fwps.injectionHandleCreate("AF_UNSPEC", T.FWPS_INJECTION_TYPE_FORWARD).handle;
    const statuses: NtStatus[] = [];
    grab(client, "FWPM_LAYER_OUTBOUND_IPPACKET_V4", (data) => {
      for (const ifIndex of [1, 42]) {
        const clone = fwps.allocateCloneNetBufferList(data).netBufferList;
        statuses.push(fwps.injectForwardAsync(h, null, 0, "AF_INET", 1, ifIndex, clone, () => {}, null));
      }
      return true;
    });
    cli.sendTo(text("x"), to, 53);
    t.net.runFor(ms(10));
    assert.deepEqual(statuses, ["STATUS_INVALID_PARAMETER", "STATUS_INVALID_PARAMETER"]);
  });
});
