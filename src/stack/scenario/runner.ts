/**
 * Runs a scenario: builds the network (links, hosts, NICs, routes, static neighbours), gives each host
 * the shim its composer made, schedules every app's actions at their times, runs the simulated clock,
 * and collects the classify log and each app's outcome. Socket failures (a blocked connect, a refused
 * bind) are outcomes, not exceptions.
 */
import type { Clock } from "../../base/index.ts";
import type { CaptureSink } from "../../capture/index.ts";
import type { ClassifyRecord, Shim } from "../../shim/index.ts";
import type { Host } from "../host.ts";
import { Network } from "../network.ts";
import type { NetInterface } from "../nic.ts";
import { SocketFailure } from "../sockets.ts";
import type { TcpSocket } from "../tcp-layer.ts";
import type { UdpSocket } from "../udp-layer.ts";
import type { PingSocket } from "../icmp-layer.ts";
import type { Scenario, ScenarioAction, ScenarioApp, ScenarioHost, ServeBehaviour } from "./format.ts";

export interface RunScenarioOptions {
  /** The shim of each host (its engine and policy are the composer's business). */
  readonly shimFor: (host: ScenarioHost, clock: Clock) => Shim;
  /** Records every frame of every NIC (pcapng, one interface per NIC). */
  readonly capture?: CaptureSink;
  /** Called once the network is built, before the clock starts (tests reach into hosts here). */
  readonly onBuilt?: (network: Network) => void;
}

export interface SocketOutcome {
  readonly socket: string;
  readonly protocol: "tcp" | "udp" | "icmp";
  /** tcp: connected, refused, timed-out, blocked, reset, aborted, unreachable, listening; udp: bound, blocked, error; icmp: replies. */
  outcome: string;
  error?: string;
  bytesSent: number;
  bytesReceived: number;
  /** UDP datagrams / ICMP echoes sent and received. */
  datagramsSent?: number;
  datagramsReceived?: number;
  /** TCP listeners: connections accepted. */
  accepted?: number;
  /** Bytes (TCP) or datagrams (UDP) the app read with "receive" actions. */
  read?: number;
}

export interface AppOutcome {
  readonly app: string;
  readonly host: string;
  readonly sockets: SocketOutcome[];
  /** Action failures, in order ("apps[0].actions[2]: WSAEACCES: ..."). */
  readonly errors: string[];
}

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly network: Network;
  readonly log: ClassifyRecord[];
  readonly apps: AppOutcome[];
  readonly startNs: bigint;
}

type AnySocket = { kind: "tcp"; s: TcpSocket } | { kind: "udp"; s: UdpSocket } | { kind: "icmp"; s: PingSocket };

export function runScenario(scenario: Scenario, options: RunScenarioOptions): ScenarioResult {
  const net = new Network({
    seed: scenario.seed,
    ...(options.capture !== undefined ? { capture: options.capture } : {}),
  });
  const log: ClassifyRecord[] = [];
  for (const l of scenario.links) {
    net.link(l.name, {
      type: l.type,
      delayNs: l.delayNs,
      ...(l.bandwidthBps !== undefined ? { bandwidthBps: l.bandwidthBps } : {}),
    });
  }
  const hosts = new Map<string, Host>();
  for (const h of scenario.hosts) {
    const shim = options.shimFor(h, net.scheduler);
    const previous = shim.log;
    shim.log = (r) => {
      log.push(r);
      previous?.(r);
    };
    const host = net.host(h.name, shim, { forwarding: { groupForwardedFragments: h.groupForwardedFragments } });
    hosts.set(h.name, host);
    const nics = new Map<string, NetInterface>();
    for (const i of h.interfaces) {
      const nic = net.attach(host, i.name, i.link, {
        addresses: i.addresses,
        ...(i.mtu !== undefined ? { mtu: i.mtu } : {}),
        ...(i.mac !== undefined ? { mac: i.mac } : {}),
        ...(i.index !== undefined ? { index: i.index } : {}),
        ...(i.luid !== undefined ? { luid: i.luid } : {}),
        ...(i.quarantineEpoch !== undefined ? { quarantineEpoch: i.quarantineEpoch } : {}),
        ...(i.faults !== undefined ? { faults: i.faults } : {}),
      });
      nic.forwarding = h.forwarding;
      nics.set(i.name, nic);
    }
    for (const r of h.routes) host.addRoute(r.prefix, nics.get(r.interface) as NetInterface, r.via, r.metric);
    for (const n of h.neighbors) host.addStaticNeighbor(nics.get(n.interface) as NetInterface, n.address, n.mac);
  }
  options.onBuilt?.(net);
  const start = net.scheduler.nowNs();
  const apps: AppOutcome[] = [];
  scenario.apps.forEach((app, index) => {
    apps.push(scheduleApp(net, hosts.get(app.host) as Host, app, index, start));
  });
  const end = start + scenario.durationNs;
  // Housekeeping (reassembly and ALE flow expiry) once a simulated second.
  const tick = (): void => {
    for (const h of hosts.values()) h.housekeeping();
    if (net.scheduler.nowNs() + 1_000_000_000n <= end) net.scheduler.after(1_000_000_000n, tick);
  };
  net.scheduler.after(1_000_000_000n, tick);
  net.run(end);
  for (const a of apps) refresh(a);
  net.close();
  return { scenario, network: net, log, apps, startNs: start };
}

const tracked = new WeakMap<AppOutcome, Map<string, AnySocket>>();

function refresh(a: AppOutcome): void {
  const sockets = tracked.get(a);
  if (sockets === undefined) return;
  for (const o of a.sockets) {
    const t = sockets.get(o.socket);
    if (t === undefined) continue;
    if (t.kind === "tcp") {
      const s = t.s;
      o.outcome =
        s.listener !== undefined
          ? "listening"
          : // A call refused at once (a bind blocked at ALE_RESOURCE_ASSIGNMENT) was recorded as blocked.
            (s.outcome ??
            (o.outcome === "blocked" ? "blocked" : s.connection === undefined ? "not-connected" : "connecting"));
      if (s.error !== undefined) o.error = s.error;
      o.bytesSent = s.bytesSent;
      o.bytesReceived = s.bytesReceived;
      if (s.listener !== undefined) {
        o.accepted = s.accepted.length;
        o.bytesSent = s.accepted.reduce((n, c) => n + c.bytesSent, 0);
        o.bytesReceived = s.accepted.reduce((n, c) => n + c.bytesReceived, 0);
      }
    } else if (t.kind === "udp") {
      const s = t.s;
      if (o.outcome !== "blocked" && o.outcome !== "error") o.outcome = s.bound ? "bound" : "unbound";
      if (s.lastError !== undefined) o.error = s.lastError;
      o.bytesSent = s.counters.bytesSent;
      o.bytesReceived = s.counters.bytesReceived;
      o.datagramsSent = s.counters.sent;
      o.datagramsReceived = s.counters.received;
    } else {
      const s = t.s;
      o.datagramsSent = s.counters.sent;
      o.datagramsReceived = s.counters.replies;
      if (o.outcome !== "blocked") o.outcome = s.counters.replies > 0 ? "replied" : "no-reply";
    }
  }
}

function scheduleApp(net: Network, host: Host, app: ScenarioApp, appIndex: number, start: bigint): AppOutcome {
  const process = host.process(app.process, app.name);
  const outcome: AppOutcome = { app: app.name, host: app.host, sockets: [], errors: [] };
  const sockets = new Map<string, AnySocket>();
  tracked.set(outcome, sockets);
  const record = (name: string, protocol: SocketOutcome["protocol"]): SocketOutcome => {
    let o = outcome.sockets.find((x) => x.socket === name);
    if (o === undefined) {
      o = { socket: name, protocol, outcome: "new", bytesSent: 0, bytesReceived: 0 };
      outcome.sockets.push(o);
    }
    return o;
  };
  app.actions.forEach((action, actionIndex) => {
    const path = `apps[${appIndex}].actions[${actionIndex}]`;
    net.scheduler.at(start + action.at, () => {
      try {
        perform(net, host, process, action, sockets, record);
      } catch (e) {
        if (!(e instanceof SocketFailure)) throw e;
        outcome.errors.push(`${path}: ${e.message}`);
        const o = outcome.sockets.find((x) => x.socket === action.socket);
        if (o !== undefined) {
          o.error = e.code;
          if (e.code === "WSAEACCES") o.outcome = "blocked";
          else if (o.protocol === "udp") o.outcome = "error";
        }
      }
    });
  });
  return outcome;
}

function perform(
  net: Network,
  host: Host,
  process: ReturnType<Host["process"]>,
  a: ScenarioAction,
  sockets: Map<string, AnySocket>,
  record: (name: string, protocol: SocketOutcome["protocol"]) => SocketOutcome,
): void {
  const existing = sockets.get(a.socket);
  switch (a.op) {
    case "listen": {
      const s = host.tcp.socket(process, a.family, a.dualMode);
      s.socketProperties = a.socketProperties;
      sockets.set(a.socket, { kind: "tcp", s });
      record(a.socket, "tcp");
      s.onAccept = (c) => serveTcp(net, c, a.serve);
      s.bind(a.address, a.port);
      s.listen(a.backlog);
      return;
    }
    case "connect": {
      const s = host.tcp.socket(process, a.family, a.dualMode);
      s.socketProperties = a.socketProperties;
      sockets.set(a.socket, { kind: "tcp", s });
      record(a.socket, "tcp");
      if (a.localPort !== undefined) s.bind(undefined, a.localPort);
      s.connect(a.to.address, a.to.port);
      return;
    }
    case "send": {
      if (existing?.kind !== "tcp") throw new SocketFailure("WSAENOTCONN", `no TCP socket named ${a.socket}`);
      const s = existing.s;
      const go = () => s.send(a.data);
      if (s.outcome === "connected") go();
      else {
        const before = s.onConnect;
        s.onConnect = () => {
          before?.();
          go();
        };
      }
      return;
    }
    case "receive": {
      if (existing === undefined) throw new SocketFailure("WSAENOTCONN", `no socket named ${a.socket}`);
      const o = record(a.socket, existing.kind);
      if (existing.kind === "tcp") {
        // recv(): what has arrived and the app has not read yet, up to `bytes`.
        const q = existing.s.received;
        let want = a.bytes ?? Number.POSITIVE_INFINITY;
        let got = 0;
        while (want > 0 && q.length > 0) {
          const head = q[0] as Uint8Array;
          if (head.length <= want) {
            q.shift();
            got += head.length;
            want -= head.length;
          } else {
            q[0] = head.subarray(want);
            got += want;
            want = 0;
          }
        }
        o.read = (o.read ?? 0) + got;
      } else if (existing.kind === "udp") {
        // recvfrom(): one datagram per read, up to `bytes` datagrams.
        const q = existing.s.queue;
        const n = Math.min(q.length, a.bytes ?? q.length);
        q.splice(0, n);
        o.read = (o.read ?? 0) + n;
      } else throw new SocketFailure("WSAEINVAL", `${a.socket} is a ping socket: its replies are counted, not read`);
      return;
    }
    case "shutdown":
    case "close":
    case "abort": {
      if (existing === undefined) throw new SocketFailure("WSAENOTCONN", `no socket named ${a.socket}`);
      if (existing.kind === "tcp") {
        if (a.op === "shutdown") existing.s.shutdown();
        else if (a.op === "close") existing.s.close();
        else existing.s.abort();
      } else existing.s.close();
      return;
    }
    case "bind": {
      const s = host.udp.socket(process, a.family, a.dualMode);
      s.socketProperties = a.socketProperties;
      sockets.set(a.socket, { kind: "udp", s });
      record(a.socket, "udp");
      serveUdp(s, a.serve);
      s.bind(a.address, a.port);
      return;
    }
    case "sendto": {
      let s: UdpSocket;
      if (existing === undefined) {
        s = host.udp.socket(process, a.family, false);
        sockets.set(a.socket, { kind: "udp", s });
      } else if (existing.kind === "udp") s = existing.s;
      else throw new SocketFailure("WSAEINVAL", `${a.socket} is not a UDP socket`);
      record(a.socket, "udp");
      s.sendTo(a.data, a.to.address, a.to.port);
      return;
    }
    case "ping": {
      let s: PingSocket;
      if (existing === undefined) {
        s = host.icmp.socket(process, a.to.version);
        sockets.set(a.socket, { kind: "icmp", s });
      } else if (existing.kind === "icmp") s = existing.s;
      else throw new SocketFailure("WSAEINVAL", `${a.socket} is not a ping socket`);
      const o = record(a.socket, "icmp");
      for (let i = 0; i < a.count; i++) {
        net.scheduler.after(a.intervalNs * BigInt(i), () => {
          try {
            s.ping(a.to, a.identifier, i + 1, new Uint8Array(a.size));
          } catch (e) {
            if (!(e instanceof SocketFailure)) throw e;
            o.error = e.code;
            if (e.code === "WSAEACCES") o.outcome = "blocked";
          }
        });
      }
      return;
    }
  }
}

function serveTcp(net: Network, c: TcpSocket, b: ServeBehaviour): void {
  if (b.send > 0) {
    const data = new Uint8Array(b.send);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13 + 1) & 0xff;
    c.send(data);
  }
  if (b.echo) c.onData = (bytes) => c.send(bytes);
  if (b.closeOnEnd) c.onEnd = () => net.scheduler.after(b.closeDelayNs, () => c.close());
}

function serveUdp(s: UdpSocket, b: ServeBehaviour): void {
  let first = true;
  s.onMessage = (m) => {
    try {
      if (first && b.send > 0) s.sendTo(new Uint8Array(b.send), m.remoteAddress, m.remotePort);
      first = false;
      if (b.echo) s.sendTo(m.data, m.remoteAddress, m.remotePort);
    } catch (e) {
      if (!(e instanceof SocketFailure)) throw e;
    }
  };
}
