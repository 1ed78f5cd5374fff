/**
 * The scenario document of `openwfp simulate` (docs/scenarios.md): links, hosts with interfaces, routes
 * and static neighbours, apps (a process: id, image path, user) and their socket actions at given
 * times. Policies are opaque here (the composition root loads them). Parsing checks every member and
 * names the path of the first fault: `apps[1].actions[0].to: expected ADDRESS:PORT`.
 */
import { describeError, type IpAddress, OpenWfpError } from "../../base/index.ts";
import { SOCKET_PROPERTY_NAMES, socketPropertyBit } from "../../shim/index.ts";
import { parseMac } from "../../wire/index.ts";
import { parseAddress } from "../host.ts";
import type { FaultSpec } from "../link/fault.ts";

export interface ScenarioLink {
  readonly name: string;
  readonly type: "segment" | "point-to-point";
  readonly delayNs: bigint;
  readonly bandwidthBps?: number;
}

export interface ScenarioInterface {
  readonly name: string;
  readonly link: string;
  readonly addresses: readonly string[];
  readonly mtu?: number;
  readonly mac?: Uint8Array;
  /** IF_INDEX (default 2, 3, … in order). */
  readonly index?: number;
  /** NET_LUID (default from IF_TYPE and the index). */
  readonly luid?: bigint;
  /** INTERFACE_QUARANTINE_EPOCH (default 0: not un-quarantined). */
  readonly quarantineEpoch?: bigint;
  readonly faults?: { readonly outbound?: FaultSpec; readonly inbound?: FaultSpec; readonly seed?: number };
}

export interface ScenarioRoute {
  readonly prefix: string;
  readonly via?: string;
  readonly interface: string;
  readonly metric: number;
}

export interface ScenarioNeighbor {
  readonly interface: string;
  readonly address: IpAddress;
  readonly mac: Uint8Array;
}

export interface ScenarioHost {
  readonly name: string;
  readonly interfaces: readonly ScenarioInterface[];
  readonly routes: readonly ScenarioRoute[];
  readonly neighbors: readonly ScenarioNeighbor[];
  readonly forwarding: boolean;
  readonly groupForwardedFragments: boolean;
  /** The host's policy (a policy document or a file name), opaque here; undefined: the scenario's. */
  readonly policy?: unknown;
}

export interface SocketEndpoint {
  readonly address: IpAddress;
  readonly port: number;
}

/** What a listening socket (or a bound UDP socket) does with what it receives. */
export interface ServeBehaviour {
  /** Send back every byte or datagram received. */
  readonly echo: boolean;
  /** Bytes to send once, on accept (TCP) or on the first datagram (UDP). */
  readonly send: number;
  /** TCP: close once the peer closed (default true) — after `closeDelayNs`. */
  readonly closeOnEnd: boolean;
  readonly closeDelayNs: bigint;
}

export type ScenarioAction =
  | {
      readonly at: bigint;
      readonly op: "listen";
      readonly socket: string;
      readonly protocol: "tcp";
      readonly port: number;
      readonly address?: IpAddress;
      readonly family: 4 | 6;
      readonly dualMode: boolean;
      readonly backlog?: number;
      readonly serve: ServeBehaviour;
      /** FWP_CONDITION_SOCKET_PROPERTY_FLAG_* bits of the socket (ALE_SIO_FIREWALL_SYSTEM_PORT); 0 when absent. */
      readonly socketProperties: number;
    }
  | {
      readonly at: bigint;
      readonly op: "connect";
      readonly socket: string;
      readonly protocol: "tcp";
      readonly to: SocketEndpoint;
      readonly family: 4 | 6;
      readonly dualMode: boolean;
      readonly localPort?: number;
      readonly socketProperties: number;
    }
  | { readonly at: bigint; readonly op: "send"; readonly socket: string; readonly data: Uint8Array }
  /** The app reads what has arrived (at most `bytes`; all when absent): recv() / recvfrom(). */
  | { readonly at: bigint; readonly op: "receive"; readonly socket: string; readonly bytes?: number }
  | { readonly at: bigint; readonly op: "shutdown" | "close" | "abort"; readonly socket: string }
  | {
      readonly at: bigint;
      readonly op: "bind";
      readonly socket: string;
      readonly protocol: "udp";
      readonly port: number;
      readonly address?: IpAddress;
      readonly family: 4 | 6;
      readonly dualMode: boolean;
      readonly serve: ServeBehaviour;
      readonly socketProperties: number;
    }
  | {
      readonly at: bigint;
      readonly op: "sendto";
      readonly socket: string;
      readonly to: SocketEndpoint;
      readonly data: Uint8Array;
      readonly family: 4 | 6;
    }
  | {
      readonly at: bigint;
      readonly op: "ping";
      readonly socket: string;
      readonly to: IpAddress;
      readonly count: number;
      readonly intervalNs: bigint;
      readonly identifier: number;
      readonly size: number;
    };

export interface ScenarioApp {
  readonly name: string;
  readonly host: string;
  readonly process: {
    readonly processId: number;
    readonly imagePath: string;
    readonly userSid?: string;
    readonly groupSids?: readonly string[];
  };
  readonly actions: readonly ScenarioAction[];
}

export interface Scenario {
  readonly name: string;
  readonly seed: number;
  /** How long to run, at most (default 300 s). */
  readonly durationNs: bigint;
  /** The default policy of every host (opaque here). */
  readonly policy?: unknown;
  /** Declarative or module callouts (opaque here; the composition root registers them). */
  readonly callouts?: unknown;
  readonly links: readonly ScenarioLink[];
  readonly hosts: readonly ScenarioHost[];
  readonly apps: readonly ScenarioApp[];
}

/** A scenario member is wrong: code E_SCENARIO with the path. */
export class ScenarioError extends OpenWfpError {
  constructor(path: string, message: string) {
    super("E_SCENARIO", message, { path });
    this.name = "ScenarioError";
  }
}

type Obj = Readonly<Record<string, unknown>>;

function obj(v: unknown, path: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ScenarioError(path, "expected an object");
  return v as Obj;
}

function arr(v: unknown, path: string): readonly unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ScenarioError(path, "expected an array");
  return v;
}

function str(v: unknown, path: string): string {
  if (typeof v !== "string" || v === "") throw new ScenarioError(path, "expected a non-empty string");
  return v;
}

function optStr(v: unknown, path: string): string | undefined {
  return v === undefined ? undefined : str(v, path);
}

function num(v: unknown, path: string, min: number, max: number, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    throw new ScenarioError(path, `expected a number from ${min} to ${max}`);
  }
  return v;
}

function int(v: unknown, path: string, min: number, max: number, fallback?: number): number {
  const n = num(v, path, min, max, fallback);
  if (!Number.isInteger(n)) throw new ScenarioError(path, "expected a whole number");
  return n;
}

/** A UINT64: a whole number, or a string in decimal or 0x hex (for values past 2^53). */
export function uint64(v: unknown, path: string): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(v)) {
    const n = BigInt(v);
    if (n <= 0xffff_ffff_ffff_ffffn) return n;
  }
  throw new ScenarioError(path, "expected a UINT64: a whole number, or a string in decimal or 0x hex");
}

function bool(v: unknown, path: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") throw new ScenarioError(path, "expected true or false");
  return v;
}

function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1_000_000));
}

function address(v: unknown, path: string): IpAddress {
  const text = str(v, path);
  try {
    return parseAddress(text);
  } catch (e) {
    throw new ScenarioError(path, describeError(e));
  }
}

/** "10.0.0.2:80" or "[fd00::2]:80". */
export function parseEndpoint(v: unknown, path: string): SocketEndpoint {
  const text = str(v, path);
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (m === null)
    throw new ScenarioError(path, `expected ADDRESS:PORT (IPv6 as [ADDRESS]:PORT), got ${JSON.stringify(text)}`);
  const port = Number(m[2]);
  if (port > 65535) throw new ScenarioError(path, `port ${port} is above 65535`);
  return { address: address(m[1], path), port };
}

function known(o: Obj, path: string, members: readonly string[]): void {
  for (const k of Object.keys(o))
    if (!members.includes(k))
      throw new ScenarioError(`${path}.${k}`, `unknown member (expected one of ${members.join(", ")})`);
}

function faultSpec(v: unknown, path: string): FaultSpec {
  const o = obj(v, path);
  known(o, path, ["loss", "duplicate", "reorder", "corrupt", "reorderDelayMs", "corruptPayloadOnly"]);
  const p = (k: string) => num(o[k], `${path}.${k}`, 0, 1, 0);
  let reorderDelayNs: FaultSpec["reorderDelayNs"];
  if (o.reorderDelayMs !== undefined) {
    const r = arr(o.reorderDelayMs, `${path}.reorderDelayMs`);
    if (r.length !== 2) throw new ScenarioError(`${path}.reorderDelayMs`, "expected [min, max] in milliseconds");
    const min = num(r[0], `${path}.reorderDelayMs[0]`, 0, 4000);
    const max = num(r[1], `${path}.reorderDelayMs[1]`, min, 4000);
    reorderDelayNs = { min: msToNs(min), max: msToNs(max) };
  }
  return {
    loss: p("loss"),
    duplicate: p("duplicate"),
    reorder: p("reorder"),
    corrupt: p("corrupt"),
    ...(reorderDelayNs !== undefined ? { reorderDelayNs } : {}),
    corruptPayloadOnly: bool(o.corruptPayloadOnly, `${path}.corruptPayloadOnly`, false),
  };
}

function serveBehaviour(v: unknown, path: string): ServeBehaviour {
  if (v === undefined) return { echo: false, send: 0, closeOnEnd: true, closeDelayNs: 1_000_000n };
  const o = obj(v, path);
  known(o, path, ["echo", "send", "closeOnEnd", "closeDelayMs"]);
  return {
    echo: bool(o.echo, `${path}.echo`, false),
    send: int(o.send, `${path}.send`, 0, 1 << 30, 0),
    closeOnEnd: bool(o.closeOnEnd, `${path}.closeOnEnd`, true),
    closeDelayNs: msToNs(num(o.closeDelayMs, `${path}.closeDelayMs`, 0, 3_600_000, 1)),
  };
}

function payload(o: Obj, path: string): Uint8Array {
  if (o.text !== undefined) return new TextEncoder().encode(str(o.text, `${path}.text`));
  const n = int(o.bytes, `${path}.bytes`, 0, 1 << 30, 0);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

function family(o: Obj, path: string, fallback: 4 | 6): 4 | 6 {
  const f = int(o.family, `${path}.family`, 4, 6, fallback);
  if (f !== 4 && f !== 6) throw new ScenarioError(`${path}.family`, "expected 4 or 6");
  return f;
}

/**
 * `socketProperties`: a list of FWP_CONDITION_SOCKET_PROPERTY_FLAG_* names, with or without that prefix
 * (`["ALLOW_EDGE_TRAFFIC"]`), or the bits as a number; absent: 0, an ordinary socket.
 */
function socketProperties(v: unknown, path: string): number {
  if (v === undefined) return 0;
  if (typeof v === "number") return int(v, path, 0, 7);
  let bits = 0;
  arr(v, path).forEach((item, i) => {
    const name = str(item, `${path}[${i}]`);
    const bit = socketPropertyBit(name);
    if (bit === undefined) {
      const names = SOCKET_PROPERTY_NAMES;
      throw new ScenarioError(
        `${path}[${i}]`,
        `unknown socket property ${JSON.stringify(name)} (one of ${names.join(", ")})`,
      );
    }
    bits |= bit;
  });
  return bits;
}

function action(v: unknown, path: string): ScenarioAction {
  const o = obj(v, path);
  const at = msToNs(num(o.at, `${path}.at`, 0, 1e9, 0));
  const op = str(o.op, `${path}.op`);
  const socket = str(o.socket ?? (op === "ping" ? "ping" : undefined), `${path}.socket`);
  switch (op) {
    case "listen": {
      known(o, path, [
        "at",
        "op",
        "socket",
        "protocol",
        "port",
        "address",
        "family",
        "dualMode",
        "backlog",
        "serve",
        "socketProperties",
      ]);
      if (o.protocol !== undefined && o.protocol !== "tcp")
        throw new ScenarioError(`${path}.protocol`, "listen is for tcp");
      const a = o.address === undefined ? undefined : address(o.address, `${path}.address`);
      return {
        at,
        op,
        socket,
        protocol: "tcp",
        port: int(o.port, `${path}.port`, 1, 65535),
        ...(a !== undefined ? { address: a } : {}),
        family: family(o, path, a?.version ?? 4),
        dualMode: bool(o.dualMode, `${path}.dualMode`, false),
        ...(o.backlog !== undefined ? { backlog: int(o.backlog, `${path}.backlog`, 1, 65535) } : {}),
        serve: serveBehaviour(o.serve, `${path}.serve`),
        socketProperties: socketProperties(o.socketProperties, `${path}.socketProperties`),
      };
    }
    case "connect": {
      known(o, path, ["at", "op", "socket", "protocol", "to", "family", "dualMode", "localPort", "socketProperties"]);
      const to = parseEndpoint(o.to, `${path}.to`);
      return {
        at,
        op,
        socket,
        protocol: "tcp",
        to,
        family: family(o, path, to.address.version),
        dualMode: bool(o.dualMode, `${path}.dualMode`, false),
        ...(o.localPort !== undefined ? { localPort: int(o.localPort, `${path}.localPort`, 1, 65535) } : {}),
        socketProperties: socketProperties(o.socketProperties, `${path}.socketProperties`),
      };
    }
    case "send":
      known(o, path, ["at", "op", "socket", "bytes", "text"]);
      return { at, op, socket, data: payload(o, path) };
    case "receive":
      known(o, path, ["at", "op", "socket", "bytes"]);
      return { at, op, socket, ...(o.bytes !== undefined ? { bytes: int(o.bytes, `${path}.bytes`, 1, 1 << 30) } : {}) };
    case "shutdown":
    case "close":
    case "abort":
      known(o, path, ["at", "op", "socket"]);
      return { at, op, socket };
    case "bind": {
      known(o, path, [
        "at",
        "op",
        "socket",
        "protocol",
        "port",
        "address",
        "family",
        "dualMode",
        "serve",
        "socketProperties",
      ]);
      if (o.protocol !== "udp")
        throw new ScenarioError(`${path}.protocol`, 'bind is for "udp" (TCP binds at listen and connect)');
      const a = o.address === undefined ? undefined : address(o.address, `${path}.address`);
      return {
        at,
        op,
        socket,
        protocol: "udp",
        port: int(o.port, `${path}.port`, 0, 65535),
        ...(a !== undefined ? { address: a } : {}),
        family: family(o, path, a?.version ?? 4),
        dualMode: bool(o.dualMode, `${path}.dualMode`, false),
        serve: serveBehaviour(o.serve, `${path}.serve`),
        socketProperties: socketProperties(o.socketProperties, `${path}.socketProperties`),
      };
    }
    case "sendto": {
      known(o, path, ["at", "op", "socket", "to", "bytes", "text", "family"]);
      const to = parseEndpoint(o.to, `${path}.to`);
      return { at, op, socket, to, data: payload(o, path), family: family(o, path, to.address.version) };
    }
    case "ping":
      known(o, path, ["at", "op", "socket", "to", "count", "intervalMs", "id", "size"]);
      return {
        at,
        op,
        socket,
        to: address(o.to, `${path}.to`),
        count: int(o.count, `${path}.count`, 1, 100_000, 1),
        intervalNs: msToNs(num(o.intervalMs, `${path}.intervalMs`, 0, 3_600_000, 1000)),
        identifier: int(o.id, `${path}.id`, 0, 65535, 1),
        size: int(o.size, `${path}.size`, 0, 65000, 32),
      };
    default:
      throw new ScenarioError(
        `${path}.op`,
        `unknown op ${JSON.stringify(op)} (listen, connect, send, receive, shutdown, close, abort, bind, sendto, ping)`,
      );
  }
}

/** Parses and checks a scenario document (already JSON-parsed). Throws ScenarioError with the path. */
export function parseScenario(input: unknown): Scenario {
  const o = obj(input, "$");
  known(o, "$", ["name", "seed", "durationMs", "policy", "callouts", "links", "hosts", "apps", "description"]);
  const links = arr(o.links, "links").map((v, i): ScenarioLink => {
    const p = `links[${i}]`;
    const l = obj(v, p);
    known(l, p, ["name", "type", "delayMs", "bandwidthMbps"]);
    const type = l.type === undefined ? "segment" : str(l.type, `${p}.type`);
    if (type !== "segment" && type !== "point-to-point")
      throw new ScenarioError(`${p}.type`, 'expected "segment" or "point-to-point"');
    return {
      name: str(l.name, `${p}.name`),
      type,
      delayNs: msToNs(num(l.delayMs, `${p}.delayMs`, 0, 60_000, 1)),
      ...(l.bandwidthMbps !== undefined
        ? { bandwidthBps: num(l.bandwidthMbps, `${p}.bandwidthMbps`, 0.001, 1e6) * 1e6 }
        : {}),
    };
  });
  const linkNames = new Set<string>();
  links.forEach((l, i) => {
    if (linkNames.has(l.name)) throw new ScenarioError(`links[${i}].name`, `duplicate link ${l.name}`);
    linkNames.add(l.name);
  });
  const hosts = arr(o.hosts, "hosts").map((v, i): ScenarioHost => {
    const p = `hosts[${i}]`;
    const h = obj(v, p);
    known(h, p, ["name", "interfaces", "routes", "neighbors", "forwarding", "groupForwardedFragments", "policy"]);
    const interfaces = arr(h.interfaces, `${p}.interfaces`).map((iv, j): ScenarioInterface => {
      const ip = `${p}.interfaces[${j}]`;
      const n = obj(iv, ip);
      known(n, ip, ["name", "link", "addresses", "mtu", "mac", "index", "luid", "quarantineEpoch", "faults"]);
      const link = str(n.link, `${ip}.link`);
      if (!linkNames.has(link)) throw new ScenarioError(`${ip}.link`, `no link named ${link}`);
      const addresses = arr(n.addresses, `${ip}.addresses`).map((a, k) => {
        const t = str(a, `${ip}.addresses[${k}]`);
        address(t.split("/")[0], `${ip}.addresses[${k}]`);
        return t;
      });
      const mac = n.mac === undefined ? undefined : parseMac(str(n.mac, `${ip}.mac`));
      if (n.mac !== undefined && mac === undefined) throw new ScenarioError(`${ip}.mac`, "expected aa:bb:cc:dd:ee:ff");
      let faults: ScenarioInterface["faults"];
      if (n.faults !== undefined) {
        const f = obj(n.faults, `${ip}.faults`);
        known(f, `${ip}.faults`, ["outbound", "inbound", "seed"]);
        faults = {
          ...(f.outbound !== undefined ? { outbound: faultSpec(f.outbound, `${ip}.faults.outbound`) } : {}),
          ...(f.inbound !== undefined ? { inbound: faultSpec(f.inbound, `${ip}.faults.inbound`) } : {}),
          ...(f.seed !== undefined ? { seed: int(f.seed, `${ip}.faults.seed`, 0, 0xffffffff) } : {}),
        };
      }
      return {
        name: str(n.name, `${ip}.name`),
        link,
        addresses,
        ...(n.mtu !== undefined ? { mtu: int(n.mtu, `${ip}.mtu`, 576, 65535) } : {}),
        ...(mac !== undefined ? { mac } : {}),
        ...(n.index !== undefined ? { index: int(n.index, `${ip}.index`, 2, 0xffffffff) } : {}),
        ...(n.luid !== undefined ? { luid: uint64(n.luid, `${ip}.luid`) } : {}),
        ...(n.quarantineEpoch !== undefined
          ? { quarantineEpoch: uint64(n.quarantineEpoch, `${ip}.quarantineEpoch`) }
          : {}),
        ...(faults !== undefined ? { faults } : {}),
      };
    });
    const ifNames = new Set(interfaces.map((n) => n.name));
    interfaces.forEach((n, j) => {
      if (n.index !== undefined && interfaces.some((o, k) => k < j && o.index === n.index))
        throw new ScenarioError(`${p}.interfaces[${j}].index`, `interface index ${n.index} is taken`);
    });
    const routes = arr(h.routes, `${p}.routes`).map((rv, j): ScenarioRoute => {
      const rp = `${p}.routes[${j}]`;
      const r = obj(rv, rp);
      known(r, rp, ["prefix", "via", "interface", "metric"]);
      const iface = str(r.interface, `${rp}.interface`);
      if (!ifNames.has(iface)) throw new ScenarioError(`${rp}.interface`, `no interface named ${iface}`);
      const via = optStr(r.via, `${rp}.via`);
      if (via !== undefined) address(via, `${rp}.via`);
      return {
        prefix: str(r.prefix, `${rp}.prefix`),
        ...(via !== undefined ? { via } : {}),
        interface: iface,
        metric: int(r.metric, `${rp}.metric`, 0, 0xffff, 0),
      };
    });
    const neighbors = arr(h.neighbors, `${p}.neighbors`).map((nv, j): ScenarioNeighbor => {
      const np = `${p}.neighbors[${j}]`;
      const n = obj(nv, np);
      known(n, np, ["interface", "address", "mac"]);
      const iface = str(n.interface, `${np}.interface`);
      if (!ifNames.has(iface)) throw new ScenarioError(`${np}.interface`, `no interface named ${iface}`);
      const mac = parseMac(str(n.mac, `${np}.mac`));
      if (mac === undefined) throw new ScenarioError(`${np}.mac`, "expected aa:bb:cc:dd:ee:ff");
      return { interface: iface, address: address(n.address, `${np}.address`), mac };
    });
    return {
      name: str(h.name, `${p}.name`),
      interfaces,
      routes,
      neighbors,
      forwarding: bool(h.forwarding, `${p}.forwarding`, false),
      groupForwardedFragments: bool(h.groupForwardedFragments, `${p}.groupForwardedFragments`, false),
      ...(h.policy !== undefined ? { policy: h.policy } : {}),
    };
  });
  const hostNames = new Set<string>();
  hosts.forEach((h, i) => {
    if (hostNames.has(h.name)) throw new ScenarioError(`hosts[${i}].name`, `duplicate host ${h.name}`);
    hostNames.add(h.name);
  });
  const apps = arr(o.apps, "apps").map((v, i): ScenarioApp => {
    const p = `apps[${i}]`;
    const a = obj(v, p);
    known(a, p, ["name", "host", "process", "actions"]);
    const host = str(a.host, `${p}.host`);
    if (!hostNames.has(host)) throw new ScenarioError(`${p}.host`, `no host named ${host}`);
    const pr = obj(a.process ?? {}, `${p}.process`);
    known(pr, `${p}.process`, ["pid", "image", "user", "groups"]);
    const groups = arr(pr.groups, `${p}.process.groups`).map((g, k) => str(g, `${p}.process.groups[${k}]`));
    const user = optStr(pr.user, `${p}.process.user`);
    return {
      name: str(a.name, `${p}.name`),
      host,
      process: {
        processId: int(pr.pid, `${p}.process.pid`, 0, 0xffffffff, 1000 + i * 4),
        imagePath:
          optStr(pr.image, `${p}.process.image`) ??
          `C:\\Program Files\\${str(a.name, `${p}.name`)}\\${str(a.name, `${p}.name`)}.exe`,
        ...(user !== undefined ? { userSid: user } : {}),
        ...(groups.length > 0 ? { groupSids: groups } : {}),
      },
      actions: arr(a.actions, `${p}.actions`).map((x, j) => action(x, `${p}.actions[${j}]`)),
    };
  });
  return {
    name: optStr(o.name, "name") ?? "scenario",
    seed: int(o.seed, "seed", 0, 0xffffffff, 1),
    durationNs: msToNs(num(o.durationMs, "durationMs", 0, 86_400_000, 300_000)),
    ...(o.policy !== undefined ? { policy: o.policy } : {}),
    ...(o.callouts !== undefined ? { callouts: o.callouts } : {}),
    links,
    hosts,
    apps,
  };
}
