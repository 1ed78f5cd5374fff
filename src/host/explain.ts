/**
 * The composition root of `openwfp explain`: what happens to one connection under a policy, and which
 * filter decides. The connection is played out on two simulated hosts — the local one with the policy's
 * engine (its every classification traced), a peer with no policy — so it crosses exactly the layers
 * flows.json documents, in that order: bind, listen or connect, the handshake, a little data each way,
 * the close. The first layer that blocks ends the walk as Windows ends the connection (connect() fails,
 * the SYN is dropped, the datagram is discarded), and the report says it in one sentence, naming the
 * deciding filter and any permit it overrode. Callouts whose code openwfp does not have get an explicit,
 * reported assumption (default: continue; `callouts`).
 */
import { type IpAddress, OpenWfpError, parseIpAddress } from "../base/index.ts";
import { type ClassifyResult, FilterEngine } from "../engine/index.ts";
import { FWPM_SUBLAYER } from "../fwp/index.ts";
import type { ClassifyRecord } from "../shim/index.ts";
import { Shim } from "../shim/index.ts";
import { type Host, ms, Network, SocketFailure, type TcpSocket } from "../stack/index.ts";
import { type CalloutAssumption, loadPolicySource, type PolicySourceSpec } from "./policy-source.ts";

export type ExplainProtocol = "tcp" | "udp" | "icmp";

/** The socket property names `socketProperties` is made of (re-exported for the front ends). */
export { SOCKET_PROPERTY_NAMES, socketPropertyBit } from "../shim/index.ts";

export interface ExplainRequest {
  readonly source: PolicySourceSpec;
  readonly callouts?: ReadonlyMap<string, string>;
  readonly protocol: ExplainProtocol;
  readonly local: { readonly address: IpAddress; readonly port: number };
  readonly remote: { readonly address: IpAddress; readonly port: number };
  /** The remote end opens the connection (default: the local app does). */
  readonly inbound?: boolean;
  /** Inbound: no socket listens on the local port. */
  readonly closed?: boolean;
  /** The local app's Win32 image path (default C:\Windows\System32\svchost.exe). */
  readonly app?: string;
  /** The local app's user SID (default S-1-5-18). */
  readonly user?: string;
  /** IF_INDEX of the local interface (default 2). */
  readonly interfaceIndex?: number;
  /** NET_LUID of the local interface (default: Ethernet, NetLuidIndex = IF_INDEX). */
  readonly interfaceLuid?: bigint;
  /** INTERFACE_QUARANTINE_EPOCH of the local interface (default 0: not un-quarantined). */
  readonly quarantineEpoch?: bigint;
  /** The local socket's FWP_CONDITION_SOCKET_PROPERTY_FLAG_* bits (ALE_SIO_FIREWALL_SYSTEM_PORT; default 0). */
  readonly socketProperties?: number;
}

/** One classification of the walk, on the local host. */
export interface ExplainStep {
  readonly record: ClassifyRecord;
  readonly result: ClassifyResult;
}

export interface ExplainReport {
  readonly connection: string;
  readonly policy: string;
  readonly steps: readonly ExplainStep[];
  readonly verdict: "permitted" | "blocked";
  /** The classification that blocked, if one did. */
  readonly blockedAt?: ExplainStep;
  readonly sentence: string;
  readonly assumptions: readonly CalloutAssumption[];
  /** What the apps saw (e.g. "connect() failed: WSAEACCES", "connected, 64 bytes echoed"). */
  readonly outcome: string;
  /** Hints about the walk's assumptions that decided it (e.g. a quarantined interface). */
  readonly notes: readonly string[];
}

/** Parses "ADDRESS:PORT" or "[V6]:PORT" (port optional for ICMP). */
export function parseHostPort(text: string, what: string, portRequired: boolean): { address: IpAddress; port: number } {
  const m =
    /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ??
    /^([^:\s]+)(?::(\d+))?$/.exec(text) ??
    (text.includes(":") ? [text, text, undefined] : null);
  const bad = (why: string): never => {
    throw new OpenWfpError(
      "E_USAGE",
      `${what}: ${why} (expected ADDRESS:PORT, IPv6 as [ADDRESS]:PORT), got ${JSON.stringify(text)}`,
      { path: what },
    );
  };
  if (m === null) return bad("not an address");
  let address: IpAddress;
  try {
    address = parseIpAddress(m[1] as string);
  } catch {
    return bad("not an address");
  }
  const portText = m[2];
  if (portText === undefined) {
    if (portRequired) bad("a port is required");
    return { address, port: 0 };
  }
  const port = Number(portText);
  if (port > 65535) bad("port above 65535");
  return { address, port };
}

function describeFilter(r: ClassifyResult): string {
  const f = r.decidingFilter;
  if (f === null) return "no filter (nothing matched: PERMIT, C15)";
  return `filter ${f.filterId} "${f.name}" (sublayer ${f.sublayer.name})`;
}

/**
 * The permits a block overrode, from the trace: sublayers evaluated *before* the deciding one whose PERMIT
 * was applied to the running decision (a permit of a later sublayer was ignored, not overridden), each said
 * soft or hard (a hard permit is overridden only by a callout veto, C7).
 */
function overriddenPermits(r: ClassifyResult): string[] {
  const out: string[] = [];
  if (r.decidingFilter === null) return out;
  for (const s of r.trace?.sublayers ?? []) {
    if (s.terminatingFilter === r.decidingFilter) break;
    if (s.outcome?.action === "FWP_ACTION_PERMIT" && s.apply === "set" && s.terminatingFilter !== null) {
      out.push(
        `${s.outcome.hard ? "hard" : "soft"} permit from filter ${s.terminatingFilter.filterId} "${s.terminatingFilter.name}" (sublayer ${s.sublayer.name})`,
      );
    }
  }
  return out;
}

/** FWPS_DISCARD_MODULE_GENERAL: a discard-layer indication that echoes a WFP block (F20). */
const DISCARD_MODULE_GENERAL = 2;

/**
 * The classification that blocked the connection: the first BLOCK at a layer other than a discard layer,
 * or a BLOCK at a discard layer of a packet the stack itself was discarding (no listener, port unreachable:
 * the filter suppresses the stack's answer, the RST or the ICMP error — C17, F6, "stealth"). A discard-layer
 * indication that only echoes an earlier WFP block (module GENERAL) never counts.
 */
function blockingStep(steps: readonly ExplainStep[]): ExplainStep | undefined {
  return steps.find((s) => {
    if (s.result.action !== "FWP_ACTION_BLOCK") return false;
    if (!s.record.layer.isDiscard) return true;
    const d = s.record.metadata.discardMetadata;
    return d !== undefined && d.discardModule !== DISCARD_MODULE_GENERAL;
  });
}

function layerName(r: ClassifyRecord): string {
  return r.layer.fwpmName ?? r.layer.fwpsName;
}

/** Plays the connection out and explains it. */
export async function explain(request: ExplainRequest): Promise<ExplainReport> {
  const source = await loadPolicySource(request.source, request.callouts);
  try {
    return walk(request, source.engine, source.description, source.assumptions);
  } finally {
    source.close();
  }
}

/** The connection of a request: everything but where the policy comes from. */
export type ExplainConnection = Omit<ExplainRequest, "source" | "callouts">;

/** The walk on an engine already loaded (tests, diff, `runExplain` with a loaded source). */
export function walk(
  request: ExplainConnection,
  engine: FilterEngine,
  policy: string,
  assumptions: readonly CalloutAssumption[] = [],
): ExplainReport {
  const { local, remote, protocol } = request;
  if (local.address.version !== remote.address.version) {
    throw new OpenWfpError("E_USAGE", "the local and remote addresses are of different IP versions");
  }
  const v = local.address.version;
  const loopback = local.address.equals(remote.address) || local.address.isLoopback();
  const net = new Network({ seed: 1 });
  net.link("lan", { delayNs: ms(1) });
  const records: ClassifyRecord[] = [];
  const localShim = new Shim({ engine, clock: net.scheduler, host: "local", trace: true, log: (r) => records.push(r) });
  const me = net.host("local", localShim);
  const hostLen = v === 4 ? 32 : 128;
  let peer: Host = me;
  let nicFacts: { readonly luid: bigint; readonly quarantineEpoch?: bigint } | undefined;
  if (!loopback) {
    const nic = net.attach(me, "eth0", "lan", {
      addresses: [`${local.address}/${hostLen}`],
      ...(request.interfaceIndex !== undefined ? { index: request.interfaceIndex } : {}),
      ...(request.interfaceLuid !== undefined ? { luid: request.interfaceLuid } : {}),
      ...(request.quarantineEpoch !== undefined ? { quarantineEpoch: request.quarantineEpoch } : {}),
    });
    nicFacts = nic.facts;
    peer = net.host("remote", new Shim({ engine: new FilterEngine(), clock: net.scheduler, host: "remote" }));
    const pnic = net.attach(peer, "eth0", "lan", { addresses: [`${remote.address}/${hostLen}`] });
    me.addRoute(`${remote.address}/${hostLen}`, nic);
    peer.addRoute(`${local.address}/${hostLen}`, pnic);
    me.addStaticNeighbor(nic, remote.address, pnic.mac);
    peer.addStaticNeighbor(pnic, local.address, nic.mac);
  }
  const app = me.process({
    processId: 4242,
    imagePath: request.app ?? "C:\\Windows\\System32\\svchost.exe",
    userSid: request.user ?? "S-1-5-18",
  });
  const peerApp = peer.process({ processId: 5151, imagePath: "C:\\peer\\peer.exe" });
  const payload = new TextEncoder().encode("openwfp explain");
  let outcome = "";
  const fail = (e: unknown, what: string): void => {
    if (e instanceof SocketFailure) outcome = `${what} failed: ${e.code}`;
    else throw e;
  };
  const inbound = request.inbound === true;
  const socketProperties = request.socketProperties ?? 0;
  const [serverHost, serverApp, serverEnd, clientHost, clientApp, clientEnd] = inbound
    ? [me, app, local, peer, peerApp, remote]
    : [peer, peerApp, remote, me, app, local];
  if (protocol === "tcp") {
    let server: TcpSocket | undefined;
    let echoed = 0;
    if (!(inbound && request.closed === true)) {
      server = serverHost.tcp.socket(serverApp, v);
      if (inbound) server.socketProperties = socketProperties;
      server.onAccept = (c) => {
        c.onData = (b) => c.send(b);
        c.onEnd = () => net.scheduler.after(ms(1), () => c.close());
      };
      try {
        server.bind(serverEnd.address, serverEnd.port);
        server.listen();
      } catch (e) {
        fail(e, inbound ? "bind/listen" : "the peer's listen");
      }
    }
    const client = clientHost.tcp.socket(clientApp, v);
    if (!inbound) client.socketProperties = socketProperties;
    client.onData = (b) => {
      echoed += b.length;
      if (echoed >= payload.length) client.close();
    };
    client.onConnect = () => client.send(payload);
    if (outcome === "") {
      try {
        if (clientEnd.port !== 0) client.bind(clientEnd.address, clientEnd.port);
        client.connect(serverEnd.address, serverEnd.port);
      } catch (e) {
        fail(e, inbound ? "the peer's connect()" : "connect()");
      }
    }
    net.runFor(ms(300_000));
    if (outcome === "") {
      outcome =
        client.outcome === "connected"
          ? `connected; ${echoed} of ${payload.length} bytes echoed back`
          : `${inbound ? "the peer's " : ""}connect(): ${client.outcome ?? "no answer"}${client.error !== undefined ? ` (${client.error})` : ""}`;
    }
  } else if (protocol === "udp") {
    let received = 0;
    if (!(inbound && request.closed === true)) {
      const server = serverHost.udp.socket(serverApp, v);
      if (inbound) server.socketProperties = socketProperties;
      server.onMessage = (m) => {
        try {
          server.sendTo(m.data, m.remoteAddress, m.remotePort);
        } catch (e) {
          fail(e, "the reply");
        }
      };
      try {
        server.bind(serverEnd.address, serverEnd.port);
      } catch (e) {
        fail(e, inbound ? "bind()" : "the peer's bind()");
      }
    }
    const client = clientHost.udp.socket(clientApp, v);
    if (!inbound) client.socketProperties = socketProperties;
    client.onMessage = (m) => {
      received += m.data.length;
    };
    if (outcome === "") {
      try {
        if (clientEnd.port !== 0) client.bind(clientEnd.address, clientEnd.port);
        client.sendTo(payload, serverEnd.address, serverEnd.port);
      } catch (e) {
        fail(e, inbound ? "the peer's sendto()" : "sendto()");
      }
    }
    net.runFor(ms(5_000));
    if (outcome === "")
      outcome =
        received > 0
          ? `the datagram was answered (${received} bytes)`
          : `no answer${client.lastError !== undefined ? ` (${client.lastError})` : ""}`;
  } else {
    const pinger = clientHost.icmp.socket(clientApp, v);
    try {
      pinger.ping(serverEnd.address, 1, 1);
    } catch (e) {
      fail(e, "the echo request");
    }
    net.runFor(ms(5_000));
    if (outcome === "") outcome = pinger.replies.length > 0 ? "the echo request was answered" : "no echo reply";
  }
  net.close();
  const steps: ExplainStep[] = records.map((record) => ({ record, result: record.result }));
  const blockedAt = blockingStep(steps);
  const connection = `${protocol.toUpperCase()} ${inbound ? `${fmt(remote)} → ${fmt(local)} (inbound${request.closed === true ? ", nobody listening" : ""})` : `${fmt(local)} → ${fmt(remote)} (outbound)`}`;
  let sentence: string;
  if (blockedAt !== undefined) {
    const r = blockedAt.result;
    const overridden = overriddenPermits(r);
    sentence = `${connection}: blocked at ${layerName(blockedAt.record)} by ${describeFilter(r)}${
      overridden.length > 0 ? `, overriding a ${overridden.join(" and a ")}` : ""
    }${r.vetoed ? " (a callout veto)" : ""}${
      blockedAt.record.layer.isDiscard
        ? " (the stack was discarding the packet; the block suppresses its answer, so no RST or ICMP error is sent)"
        : ""
    }.`;
  } else {
    const auth = steps.find((s) => s.record.layer.subFamily === (inbound ? "auth-recv-accept" : "auth-connect"));
    const stackDiscard = steps.find(
      (s) =>
        s.record.layer.isDiscard &&
        s.record.metadata.discardMetadata !== undefined &&
        s.record.metadata.discardMetadata.discardModule !== DISCARD_MODULE_GENERAL,
    );
    sentence = `${connection}: permitted at every layer it crossed (${steps.length} classifications)${
      auth !== undefined ? `; ${layerName(auth.record)} was decided by ${describeFilter(auth.result)}` : ""
    }${
      stackDiscard !== undefined
        ? `; the stack discarded the ${stackDiscard.record.packet} at ${layerName(stackDiscard.record)}, where no filter blocked it, so the stack's answer (a RST or an ICMP error) went out`
        : ""
    }.`;
  }
  return {
    connection,
    policy,
    steps,
    verdict: blockedAt === undefined ? "permitted" : "blocked",
    ...(blockedAt !== undefined ? { blockedAt } : {}),
    sentence,
    assumptions,
    outcome,
    notes: blockedAt === undefined ? [] : quarantineNotes(blockedAt, engine, nicFacts),
  };
}

/**
 * A block by Windows Firewall's quarantine sublayer on the walk's NIC: say which (NET_LUID, epoch) pairs the
 * policy's "Interface Un-quarantine filter"s admit, and how to ask about one of those interfaces instead.
 */
function quarantineNotes(
  step: ExplainStep,
  engine: FilterEngine,
  nic: { readonly luid: bigint; readonly quarantineEpoch?: bigint } | undefined,
): string[] {
  const f = step.result.decidingFilter;
  if (f === null || f.sublayer.subLayerKey !== FWPM_SUBLAYER.FWPM_SUBLAYER_MPSSVC_QUARANTINE || nic === undefined)
    return [];
  const known: string[] = [];
  for (const u of engine.filters(step.record.layer)) {
    if (u.sublayer.subLayerKey !== f.sublayer.subLayerKey || u.action.type !== "FWP_ACTION_PERMIT") continue;
    const equal = (name: string) =>
      u.conditions.find((c) => c.conditionName === name && c.matchType === "FWP_MATCH_EQUAL")?.value;
    const epoch = equal("FWPM_CONDITION_INTERFACE_QUARANTINE_EPOCH");
    const luid = equal("FWPM_CONDITION_IP_ARRIVAL_INTERFACE") ?? equal("FWPM_CONDITION_IP_LOCAL_INTERFACE");
    if (epoch?.type !== "FWP_UINT64" || luid?.type !== "FWP_UINT64") continue;
    known.push(`NET_LUID ${hex64(luid.value)} epoch ${epoch.value} (filter ${u.filterId})`);
  }
  const here = `NET_LUID ${hex64(nic.luid)}, epoch ${nic.quarantineEpoch ?? 0n}`;
  if (known.length === 0) return [`the walk's interface (${here}) is quarantined by Windows Firewall`];
  return [
    `the walk's interface (${here}) is one Windows Firewall has not un-quarantined; the policy un-quarantines ${known.join(", ")} — to ask about one of those, add --interface-luid and --quarantine-epoch`,
  ];
}

const hex64 = (v: bigint): string => `0x${v.toString(16).padStart(16, "0")}`;

function fmt(e: { readonly address: IpAddress; readonly port: number }): string {
  const a = e.address.version === 6 ? `[${e.address}]` : `${e.address}`;
  return e.port === 0 ? `${e.address}` : `${a}:${e.port}`;
}
