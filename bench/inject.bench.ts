/**
 * Injection benchmark (issue "Callout services and the classic samples", bench point): the cost of a
 * pass-through inspect callout — clone every packet, block and absorb it, reinject the clone unchanged
 * (wfp-semantics.md D42, D34) — as a ratio against the same traffic without it, measured in the same run:
 *   (A) connections/s: 10 at a time, connect, 1 KiB each way, close;
 *   (B) bulk MB/s: one connection carrying 32 MiB in 64 KiB send() calls.
 * Two callouts, each on both hosts: "transport" (OUTBOUND_TRANSPORT / INBOUND_TRANSPORT with transport
 * send / receive injection, as the WDK inspect sample) and "network" (OUTBOUND_IPPACKET /
 * INBOUND_IPPACKET with network send / receive injection). Checks: every connection completes, every
 * byte arrives, every clone is injected and completes once, and each callout adds exactly one
 * classification per injected packet at every layer its re-entry crosses (D31), nothing else.
 * Rates are of wall-clock time; simulated time costs nothing.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type IpAddress, Ipv4Address } from "../src/base/index.ts";
import {
  CLASSIFY_OUT_FLAG_ABSORB,
  type CalloutClassifyFn,
  FilterEngine,
  type InFixedValues,
  indexedClassifier,
  RIGHT_ACTION_WRITE,
} from "../src/engine/index.ts";
import { FWPS_METADATA_FIELD, fieldIndex } from "../src/fwp/index.ts";
import {
  type ClassifyRecord,
  FWPS_INJECTION_TYPE,
  type NetBufferList,
  ndisRetreatNetBufferDataStart,
  Shim,
  type ShimMetadata,
} from "../src/shim/index.ts";
import { type Host, ms, Network, type Process, type TcpSocket } from "../src/stack/index.ts";

type Report = (line: string) => void;
type Variant = "none" | "transport" | "network";

const CONNECTIONS = 2_000;
const CONCURRENCY = 10;
const MESSAGE = 1024;
const BULK_BYTES = 32 * 1024 * 1024;
const BULK_CHUNK = 64 * 1024;
const ROUNDS = 3;
const SERVER = "10.0.0.2";

const gc: (() => void) | undefined = (() => {
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
})();

const now = (): number => Number(process.hrtime.bigint()) / 1e9;

interface Stats {
  injected: number;
  completed: number;
  failed: number;
  selfSeen: number;
  aleRequired: number;
}

const LAYERS: Record<Exclude<Variant, "none">, readonly string[]> = {
  transport: ["FWPM_LAYER_OUTBOUND_TRANSPORT_V4", "FWPM_LAYER_INBOUND_TRANSPORT_V4"],
  network: ["FWPM_LAYER_OUTBOUND_IPPACKET_V4", "FWPM_LAYER_INBOUND_IPPACKET_V4"],
};

const ALE_CLASSIFY_REQUIRED = FWPS_METADATA_FIELD.FWPS_METADATA_FIELD_ALE_CLASSIFY_REQUIRED;

function u32At(values: InFixedValues, index: number | undefined): number {
  const v = index === undefined ? undefined : values.incomingValues[index];
  return v?.type === "FWP_UINT32" ? v.value : 0;
}

/** The pass-through callout: clone, absorb, reinject unchanged; its own packets are permitted (D34). */
function passThrough(engine: FilterEngine, shim: Shim, variant: Exclude<Variant, "none">, stats: Stats): void {
  const fwps = shim.fwps;
  const T = FWPS_INJECTION_TYPE;
  const handle = fwps.injectionHandleCreate(
    "AF_INET",
    T.FWPS_INJECTION_TYPE_NETWORK | T.FWPS_INJECTION_TYPE_TRANSPORT,
  ).handle;
  if (handle === null) throw new Error("no injection handle");
  const done = (_c: unknown, nbl: NetBufferList): void => {
    stats.completed++;
    if (nbl.status !== "STATUS_SUCCESS") stats.failed++;
    fwps.freeCloneNetBufferList(nbl);
  };
  const inIf = fieldIndex("FWPM_LAYER_INBOUND_TRANSPORT_V4", "FWPM_CONDITION_INTERFACE_INDEX");
  const inIpIf = fieldIndex("FWPM_LAYER_INBOUND_IPPACKET_V4", "FWPM_CONDITION_INTERFACE_INDEX");
  const remote = fieldIndex("FWPM_LAYER_OUTBOUND_TRANSPORT_V4", "FWPM_CONDITION_IP_REMOTE_ADDRESS");
  const remoteOf = (values: InFixedValues): IpAddress => {
    const v = remote === undefined ? undefined : values.incomingValues[remote];
    return new Ipv4Address(v?.type === "FWP_UINT32" ? v.value : 0);
  };
  const classify: CalloutClassifyFn = (values, m, data, _c, _f, _fl, out) => {
    if ((out.rights & RIGHT_ACTION_WRITE) === 0) return;
    const state = fwps.queryPacketInjectionState(handle, data).state;
    if (state === 1 || state === 3) {
      stats.selfSeen++;
      out.actionType = "FWP_ACTION_PERMIT";
      return;
    }
    const meta = m as unknown as ShimMetadata;
    const inbound = values.layer.direction === "inbound";
    if (inbound && (meta.currentMetadataValues & ALE_CLASSIFY_REQUIRED) !== 0) {
      stats.aleRequired++;
      out.actionType = "FWP_ACTION_PERMIT";
      return;
    }
    const clone = fwps.allocateCloneNetBufferList(data).netBufferList;
    if (clone === null) throw new Error("clone failed");
    let status: string;
    if (variant === "network") {
      if (!inbound) status = fwps.injectNetworkSendAsync(handle, null, 0, 1, clone, done, null);
      else {
        ndisRetreatNetBufferDataStart(clone, meta.ipHeaderSize ?? 0);
        status = fwps.injectNetworkReceiveAsync(handle, null, 0, 1, u32At(values, inIpIf), 0, clone, done, null);
      }
    } else if (!inbound) {
      const args = { remoteAddress: remoteOf(values) };
      const ep = meta.transportEndpointHandle ?? 0n;
      status = fwps.injectTransportSendAsync(handle, null, ep, 0, args, "AF_INET", 1, clone, done, null);
    } else {
      ndisRetreatNetBufferDataStart(clone, (meta.ipHeaderSize ?? 0) + (meta.transportHeaderSize ?? 0));
      const ifIndex = u32At(values, inIf);
      status = fwps.injectTransportReceiveAsync(handle, null, null, 0, "AF_INET", 1, ifIndex, 0, clone, done, null);
    }
    if (status !== "STATUS_SUCCESS") throw new Error(`injection refused: ${status}`);
    stats.injected++;
    out.actionType = "FWP_ACTION_BLOCK";
    out.flags |= CLASSIFY_OUT_FLAG_ABSORB;
    out.rights &= ~RIGHT_ACTION_WRITE;
  };
  LAYERS[variant].forEach((layer, i) => {
    const calloutKey = `b3ac0000-0000-4000-8000-${(i + 1).toString(16).padStart(12, "0")}`;
    engine.addCallout({ calloutKey, name: `pass-through ${layer}`, applicableLayer: layer });
    engine.registerCallout({ calloutKey, classifyFn: classify });
    engine.addFilter({
      name: `pass-through ${layer}`,
      layer,
      action: { type: "FWP_ACTION_CALLOUT_TERMINATING", calloutKey },
    });
  });
}

interface Side {
  readonly host: Host;
  readonly shim: Shim;
  readonly app: Process;
}

interface Lan {
  readonly net: Network;
  readonly client: Side;
  readonly server: Side;
  readonly stats: Stats;
}

function buildLan(variant: Variant, seed: number, log?: (r: ClassifyRecord) => void): Lan {
  const net = new Network({ seed });
  net.link("lan", { delayNs: ms(0.1) });
  const stats: Stats = { injected: 0, completed: 0, failed: 0, selfSeen: 0, aleRequired: 0 };
  const side = (name: string, address: string, pid: number): Side => {
    const engine = new FilterEngine({ classifier: indexedClassifier });
    const shim = new Shim({ engine, clock: net.scheduler, host: name, ...(log ? { log } : {}) });
    const host = net.host(name, shim);
    net.attach(host, "eth0", "lan", { addresses: [`${address}/24`] });
    if (variant !== "none") passThrough(engine, shim, variant, stats);
    return { host, shim, app: host.process({ processId: pid, imagePath: `C:\\Apps\\${name}.exe` }) };
  };
  const client = side("client", "10.0.0.1", 3001);
  const server = side("server", SERVER, 3002);
  const [cn, sn] = [client.host.interfaces[0], server.host.interfaces[0]];
  if (cn === undefined || sn === undefined) throw new Error("unreachable");
  client.host.addStaticNeighbor(cn, Ipv4Address.parse(SERVER), sn.mac);
  server.host.addStaticNeighbor(sn, Ipv4Address.parse("10.0.0.1"), cn.mac);
  return { net, client, server, stats };
}

const classifications = (lan: Lan): number =>
  lan.client.shim.counters.classifications + lan.server.shim.counters.classifications;

interface Run {
  readonly seconds: number;
  readonly classifications: number;
  readonly stats: Stats;
  readonly units: number;
}

function checkStats(what: string, variant: Variant, s: Stats): void {
  if (variant === "none") return;
  if (s.completed !== s.injected || s.failed !== 0 || s.selfSeen !== s.injected)
    throw new Error(
      `${what} (${variant}): ${s.injected} injected, ${s.completed} completed, ${s.failed} failed, ${s.selfSeen} seen back`,
    );
}

function runConnections(variant: Variant, connections: number, seed: number, log?: (r: ClassifyRecord) => void): Run {
  const lan = buildLan(variant, seed, log);
  const request = new Uint8Array(MESSAGE).fill(0x51);
  const response = new Uint8Array(MESSAGE).fill(0x52);
  let done = 0;
  let started = 0;
  const listener = lan.server.host.tcp.socket(lan.server.app);
  listener.bind(undefined, 8080);
  listener.listen(CONCURRENCY * 4);
  listener.onAccept = (c: TcpSocket) => {
    let got = 0;
    c.onData = (b) => {
      got += b.length;
      if (got === MESSAGE) c.send(response);
    };
    c.onEnd = () => c.close();
  };
  const startOne = (): void => {
    started++;
    const s = lan.client.host.tcp.socket(lan.client.app);
    let got = 0;
    s.onConnect = () => s.send(request);
    s.onData = (b) => {
      got += b.length;
      if (got === MESSAGE) {
        done++;
        s.close();
        if (started < connections) startOne();
      }
    };
    s.connect(Ipv4Address.parse(SERVER), 8080);
  };
  const t = now();
  for (let i = 0; i < Math.min(CONCURRENCY, connections); i++) startOne();
  lan.net.run();
  const seconds = now() - t;
  if (done !== connections) throw new Error(`connections (${variant}): ${done} of ${connections} completed`);
  checkStats("connections", variant, lan.stats);
  return { seconds, classifications: classifications(lan), stats: lan.stats, units: connections };
}

function runBulk(variant: Variant, bytes: number, seed: number): Run {
  const lan = buildLan(variant, seed);
  let received = 0;
  const listener = lan.server.host.tcp.socket(lan.server.app);
  listener.bind(undefined, 5001);
  listener.listen();
  listener.onAccept = (c) => {
    c.onData = (b) => {
      received += b.length;
    };
    c.onEnd = () => c.close();
  };
  const chunk = new Uint8Array(BULK_CHUNK);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
  const s = lan.client.host.tcp.socket(lan.client.app);
  s.onConnect = () => {
    for (let sent = 0; sent < bytes; sent += BULK_CHUNK) s.send(chunk.subarray(0, Math.min(BULK_CHUNK, bytes - sent)));
    s.close();
  };
  const t = now();
  s.connect(Ipv4Address.parse(SERVER), 5001);
  lan.net.run();
  const seconds = now() - t;
  if (received !== bytes) throw new Error(`bulk (${variant}): ${received} of ${bytes} bytes arrived`);
  checkStats("bulk", variant, lan.stats);
  return { seconds, classifications: classifications(lan), stats: lan.stats, units: bytes };
}

/**
 * One connection with the log on, per variant: the callout must add one classification per injected
 * packet at each layer its re-entry crosses (D31), and change nothing else.
 */
function checkReentry(): string {
  const counts = (variant: Variant) => {
    const m = new Map<string, number>();
    const run = runConnections(variant, 1, 5, (r) => {
      const k = `${r.host} ${(r.layer.fwpmName ?? "").replace(/^FWPM_LAYER_|_V4$/g, "")}`;
      m.set(k, (m.get(k) ?? 0) + 1);
    });
    return { m, stats: run.stats };
  };
  const base = counts("none").m;
  const parts: string[] = [];
  for (const variant of ["transport", "network"] as const) {
    const { m, stats } = counts(variant);
    let extra = 0;
    for (const [k, n] of m) {
      const b = base.get(k) ?? 0;
      const grows =
        variant === "network"
          ? k.endsWith("IPPACKET")
          : k.endsWith("OUTBOUND_TRANSPORT") || k.endsWith("INBOUND_TRANSPORT") || k.endsWith("INBOUND_IPPACKET");
      if (!grows && n !== b) throw new Error(`${variant}: ${k} classified ${n} times, ${b} without the callout`);
      extra += n - b;
    }
    // Transport: outbound segments re-cross OUTBOUND_TRANSPORT; inbound ones INBOUND_IPPACKET and INBOUND_TRANSPORT.
    const expected =
      variant === "network"
        ? stats.injected
        : stats.injected +
          [...m].filter(([k]) => k.endsWith("INBOUND_TRANSPORT")).reduce((a, [k, n]) => a + n - (base.get(k) ?? 0), 0);
    if (extra !== expected)
      throw new Error(`${variant}: ${extra} extra classifications for ${stats.injected} injections`);
    parts.push(`${variant}: ${stats.injected} packets reinjected, +${extra} classifications`);
  }
  return parts.join("; ");
}

const best = (runs: readonly Run[]): Run => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const pad = (s: string, n: number): string => s.padStart(n);
const fmt = (x: number): string =>
  x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);

/** `ROUNDS` runs of each variant, rotating which goes first, a GC before each. */
function rounds(run: (v: Variant) => Run): Record<Variant, Run[]> {
  const out: Record<Variant, Run[]> = { none: [], transport: [], network: [] };
  const order: Variant[] = ["none", "transport", "network"];
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < order.length; i++) {
      const v = order[(i + r) % order.length] as Variant;
      gc?.();
      out[v].push(run(v));
    }
  }
  return out;
}

export async function runInjectBench(report: Report): Promise<void> {
  report(
    "inject: a pass-through inspect callout (clone, absorb, reinject every packet) on both hosts vs the same traffic without it (same run)",
  );
  report(`  checks: ${checkReentry()} for one connection`);
  // Warm-up (JIT).
  for (const v of ["none", "transport", "network"] as const) {
    runConnections(v, 200, 1);
    runBulk(v, 4 * 1024 * 1024, 1);
  }
  const sections: [string, string, (v: Variant) => Run, (r: Run) => number][] = [
    [
      `(A) ${CONNECTIONS} connections, ${CONCURRENCY} at a time, ${MESSAGE} B each way`,
      "conn/s",
      (v) => runConnections(v, CONNECTIONS, 2),
      (r) => r.units / r.seconds,
    ],
    [
      `(B) bulk: ${BULK_BYTES / 1048576} MiB one way in ${BULK_CHUNK / 1024} KiB writes`,
      "MB/s",
      (v) => runBulk(v, BULK_BYTES, 3),
      (r) => r.units / 1e6 / r.seconds,
    ],
  ];
  for (const [title, unit, run, rate] of sections) {
    const rs = rounds(run);
    report(`  ${title}; best of ${ROUNDS}`);
    report(
      `      ${"callout".padEnd(12)}${pad("wall", 9)}${pad(unit, 10)}${pad("classify/s", 12)}${pad("injected", 10)}   rounds (s)`,
    );
    const base = best(rs.none);
    for (const v of ["none", "transport", "network"] as const) {
      const r = best(rs[v]);
      report(
        `      ${v.padEnd(12)}${pad(`${r.seconds.toFixed(2)} s`, 9)}${pad(fmt(rate(r)), 10)}${pad(fmt(r.classifications / r.seconds), 12)}${pad(String(r.stats.injected), 10)}   ${rs[v].map((x) => x.seconds.toFixed(2)).join(" ")}`,
      );
    }
    report(
      `      with / without the callout, ${unit}: transport ${(base.seconds / best(rs.transport).seconds).toFixed(2)}, network ${(base.seconds / best(rs.network).seconds).toFixed(2)}`,
    );
  }
}
